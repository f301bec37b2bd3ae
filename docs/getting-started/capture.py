"""Capture the outputs the getting-started pages show, by running the commands (run by hand, then commit).

The pages never show typed output: each block under ``output/`` is what the command printed when this
script ran it, with the machine's own folders cut from the paths and the progress bars' redrawn lines
left out (their last state kept). ``tests/test_docs.py`` runs the cheap commands again and compares.

    python docs/getting-started/capture.py versions
    python docs/getting-started/capture.py first-run [LOG]       # crm-kit run params/demo.yaml (minutes),
                                                                  # or the log of that command run by hand
    python docs/getting-started/capture.py own-data EXPORTS_DIR [--only-run]   # init, check and run on a copy
                                                                                # of the exports (or the run alone)

``own-data`` copies the files of EXPORTS_DIR into ``exports/`` of a scratch folder and runs, there,
``crm-kit init exports --output mine``, ``crm-kit check mine/data.yaml`` and
``crm-kit run mine/run.yaml --month last`` (every step the run file names). The pages use the UCI Online Retail export (three monthly
parts, ``crm-kit fetch online_retail --download``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUTPUT = HERE / "output"
BIN = Path(sys.executable).parent
#: the folder the own-data pages show in place of the scratch folder the commands ran in
SHOP = "/home/you/shop"


def clean(text: str, *, folders: tuple[str, ...] = ()) -> str:
    """A console capture as a reader sees its end: progress bars at their last state, no machine paths."""
    text = text.replace("\x1b[A", "")
    lines: list[str] = []
    bars: dict[str, int] = {}
    for raw in re.split(r"\r\n|\n", text):
        line = raw.split("\r")[-1].rstrip() if "\r" in raw else raw.rstrip()
        if not line.strip():
            continue
        bar = re.match(r"^(.*?):\s+\d+%\|", line)
        if bar:  # one line per progress bar, its last state
            if bar.group(1) in bars:
                lines[bars[bar.group(1)]] = line
            else:
                bars[bar.group(1)] = len(lines)
                lines.append(line)
            continue
        lines.append(line)
    out = "\n".join(lines) + "\n"
    for folder in sorted(folders, key=len, reverse=True):
        out = out.replace(folder.rstrip("/") + "/", "")
    return out


def run(command: list[str], cwd: Path, folders: tuple[str, ...] = ()) -> str:
    env = {**os.environ, "COLUMNS": "100", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    # one stream, in the order a terminal shows it (progress bars go to stderr, the report's path to stdout)
    proc = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    shown = shlex.join(["crm-kit" if c.endswith("/crm-kit") else "python" if c == sys.executable else c
                        for c in command])
    return f"$ {shown}\n" + clean(proc.stdout, folders=(*folders, str(cwd), str(ROOT)))


def versions() -> dict[str, str]:
    return {"versions.txt": run([str(BIN / "crm-kit"), "--version"], ROOT)
            + run([sys.executable, "-c", "import crm_kit; print(crm_kit.__version__)"], ROOT)}


def first_run() -> dict[str, str]:
    return {"first-run.txt": run([str(BIN / "crm-kit"), "run", "params/demo.yaml"], ROOT)}


def own_data(exports: Path, *, only_run: bool = False) -> dict[str, str]:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(exports, work / "exports")
        if only_run:  # init again quietly (its capture kept), then the run alone
            subprocess.run([str(BIN / "crm-kit"), "init", "exports", "--output", "mine"], cwd=work,
                           capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            return {"own-run.txt": run([str(BIN / "crm-kit"), "run", "mine/run.yaml", "--month", "last"], work)}
        out["init.txt"] = run([str(BIN / "crm-kit"), "init", "exports", "--output", "mine"], work)
        # init writes the exports' folder as an absolute path: the scratch folder is shown as a shop's own
        out["data-yaml.txt"] = (work / "mine" / "data.yaml").read_text(encoding="utf-8").replace(
            str(work.resolve()), SHOP).replace(str(work), SHOP)
        out["check.txt"] = run([str(BIN / "crm-kit"), "check", "mine/data.yaml"], work)
        out["own-run.txt"] = run([str(BIN / "crm-kit"), "run", "mine/run.yaml", "--month", "last"], work)
    return out


def from_log(log: Path, command: str) -> str:
    """A capture made by hand (``COMMAND > log 2>&1`` at the project's root), cleaned the same way."""
    return f"$ {command}\n" + clean(log.read_text(encoding="utf-8"), folders=(str(ROOT),))


def main(argv: list[str]) -> None:
    what = argv[0]
    if what == "first-run" and len(argv) > 1:  # the log of a run already made
        written = {"first-run.txt": from_log(Path(argv[1]), "crm-kit run params/demo.yaml")}
    elif what in ("versions", "first-run"):
        written = {"versions": versions, "first-run": first_run}[what]()
    else:
        written = own_data(Path(argv[1]), only_run="--only-run" in argv)
    OUTPUT.mkdir(exist_ok=True)
    for name, text in written.items():
        (OUTPUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {(OUTPUT / name).relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
