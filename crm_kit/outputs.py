"""The run's output folder: where each step writes tables the next steps read.

A scheduled run gets ``reports/<run-name>/<timestamp>/`` from ``crm-kit run``;
an interactive notebook with no ``output_dir`` gets a new
``reports/interactive/<timestamp>/``. Nothing is ever overwritten: a folder
that exists gets a numbered sibling. Reading looks in the run's folder first,
then in the newest earlier run that has the file.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .data import PERSONAL_FIELDS, project_root, resolve_path
from .errors import DataError

__all__ = ["run_folder", "write_table", "write_json", "write_yaml", "find_output", "read_table", "read_json", "reports_root"]


def reports_root() -> Path:
    """``reports/`` in the project (git-ignored)."""
    return project_root() / "reports"


def run_folder(output_dir: str = "", *, run_name: str = "interactive") -> Path:
    """The folder of this run: ``output_dir`` as given, or a new timestamped one."""
    if output_dir:
        folder = resolve_path(output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = reports_root() / run_name / stamp
    folder, i = base, 1
    while folder.exists():
        folder = base.with_name(f"{stamp}-{i}")
        i += 1
    folder.mkdir(parents=True)
    return folder


def _refuse_personal(df: pd.DataFrame, allow_personal: bool) -> None:
    leaked = PERSONAL_FIELDS & set(df.columns)
    if leaked and not allow_personal:
        raise DataError(f"refusing to export personal field(s) {sorted(leaked)}; drop them or ask explicitly")


def write_table(df: pd.DataFrame, folder: Path, name: str, *, allow_personal: bool = False) -> Path:
    """Write a table as Parquet (and CSV beside it for spreadsheet users); never overwrite."""
    _refuse_personal(df, allow_personal)
    path = Path(folder) / f"{name}.parquet"
    if path.exists():
        raise DataError(f"{path} exists already; a run never overwrites its outputs — use a new output_dir")
    df.to_parquet(path, index=False)
    df.to_csv(path.with_suffix(".csv"), index=False)
    return path


def write_json(obj: Any, folder: Path, name: str) -> Path:
    """Write a JSON document (numbers, dates and numpy types made plain); never overwrite."""
    path = Path(folder) / f"{name}.json"
    if path.exists():
        raise DataError(f"{path} exists already; a run never overwrites its outputs — use a new output_dir")
    path.write_text(json.dumps(obj, indent=2, default=_plain, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_yaml(obj: Any, folder: Path, name: str) -> Path:
    """Write the same document as :func:`write_json` in YAML, for people who read it; never overwrite."""
    import yaml

    path = Path(folder) / f"{name}.yaml"
    if path.exists():
        raise DataError(f"{path} exists already; a run never overwrites its outputs — use a new output_dir")
    plain = json.loads(json.dumps(obj, default=_plain, ensure_ascii=False))
    path.write_text(yaml.safe_dump(plain, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if isinstance(value, pd.Period):
        return str(value)
    return str(value)


def find_output(name: str, folder: Path | None) -> Path | None:
    """The newest file ``name`` from this run's folder, else from earlier runs of the same run name.

    ``reports/<run>/<timestamp>/``: a run looks in its own folder, then in its
    siblings (earlier runs of ``<run>``, e.g. the design run a month before
    the results run) — never in another run's folders, which may hold another
    store's campaign. Without a folder, anywhere under ``reports/``.
    """
    if folder is not None and (Path(folder) / name).exists():
        return Path(folder) / name
    root = Path(folder).parent if folder is not None else reports_root()
    if not root.exists():
        return None
    pattern = f"*/{name}" if folder is not None else f"**/{name}"
    found = sorted((p for p in root.glob(pattern) if not p.parent.is_symlink()),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    return found[0] if found else None


def read_table(name: str, folder: Path | None) -> pd.DataFrame | None:
    """Read ``name.parquet`` via :func:`find_output`, or ``None``."""
    path = find_output(f"{name}.parquet", folder)
    return pd.read_parquet(path) if path else None


def read_json(name: str, folder: Path | None) -> Any:
    """Read ``name.json`` via :func:`find_output`, or ``None``."""
    path = find_output(f"{name}.json", folder)
    return json.loads(path.read_text(encoding="utf-8")) if path else None
