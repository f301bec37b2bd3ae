"""The export zoo: generated imitations of real platforms' exports, each with its truth (see README.md).

    from zoo import SHAPES, generate
    export = generate("shopify", tmp_path)     # export.files -> crm-kit init; export.truth: monthly figures
    python -m zoo OUTDIR [SHAPE ...]           # write shapes to look at (run from tests/)
"""

from .shapes import SHAPES, Shape, ZooExport, generate, money
from .world import Features, World, make_world, truth

__all__ = ["SHAPES", "Shape", "ZooExport", "generate", "money", "Features", "World", "make_world", "truth"]
