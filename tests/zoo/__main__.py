"""``python -m zoo OUTDIR [SHAPE ...]`` (from tests/): write the zoo's exports and each shape's truth.csv."""

import sys
from pathlib import Path

from . import SHAPES, generate

if __name__ == "__main__":
    out = Path(sys.argv[1])
    for name in sys.argv[2:] or list(SHAPES):
        export = generate(name, out / name)
        export.truth.to_csv(out / name / "truth.csv")
        print(f"{name:<22} {', '.join(str(f.relative_to(out)) for f in export.files)}")
