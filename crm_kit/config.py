"""Every path the kit uses, defined once; and the one implementation of a run folder.

Layout of a checkout (cookiecutter-data-science style)::

    notebooks/            the narrated notebooks        -> notebooks_dir()
    params/               run files and data specs
    data/demo/            the generated demo store       -> demo_dir()      ($CRM_KIT_DEMO_DIR)
    data/cache/           public datasets, store caches  -> cache_root()    ($CRM_KIT_CACHE)
    reports/<run>/<ts>/   run folders                    -> reports_root()   ($CRM_KIT_REPORTS)

Raw data is never written to: every folder above except ``data/`` and
``reports/`` is read only, and a run folder is always new.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

from .errors import DataError

__all__ = [
    "project_root",
    "notebooks_dir",
    "reports_root",
    "demo_dir",
    "cache_root",
    "store_cache_dir",
    "resolve_path",
    "search_roots",
    "shown",
    "run_folder",
    "check_run_name",
    "point_latest",
]


def project_root() -> Path:
    """The checkout that holds ``crm_kit`` (where ``params/``, ``notebooks/`` and ``data/`` live)."""
    return Path(__file__).resolve().parent.parent


def notebooks_dir() -> Path:
    """``notebooks/``: the cycle's notebooks."""
    return project_root() / "notebooks"


def reports_root() -> Path:
    """``reports/`` (git-ignored), or ``$CRM_KIT_REPORTS``: run folders live below it unless ``--output`` says otherwise."""
    env = os.environ.get("CRM_KIT_REPORTS")
    return Path(env) if env else project_root() / "reports"


def demo_dir() -> Path:
    """``data/demo`` (git-ignored), or ``$CRM_KIT_DEMO_DIR``: the default demo store."""
    env = os.environ.get("CRM_KIT_DEMO_DIR")
    return Path(env) if env else project_root() / "data" / "demo"


def cache_root() -> Path:
    """``$CRM_KIT_CACHE``, else ``data/cache``: public datasets and cleaned-store caches."""
    env = os.environ.get("CRM_KIT_CACHE")
    return Path(env) if env else project_root() / "data" / "cache"


def store_cache_dir() -> Path:
    """``<cache_root>/stores``: cleaned stores as DuckDB files, keyed by spec and input files."""
    return cache_root() / "stores"


def shown(path: str | os.PathLike) -> str:
    """A path as a report may show it: relative to the project (``reports/demo/2025…``), never the machine's own."""
    p = Path(path).resolve()
    for base in (project_root(), reports_root().parent):
        try:
            return str(p.relative_to(base.resolve()))
        except ValueError:
            continue
    return p.name


def search_roots() -> list[Path]:
    """Where a relative path is looked for, in order: the directory the user started ``crm-kit`` in
    (``$CRM_KIT_CWD``, set by the runner for its kernels), the working directory, the project root."""
    roots = [Path(os.environ["CRM_KIT_CWD"])] if os.environ.get("CRM_KIT_CWD") else []
    for root in (Path.cwd(), project_root()):
        if root not in roots:
            roots.append(root)
    return roots


def resolve_path(path: str | os.PathLike, *, must_exist: bool = False) -> Path:
    """Resolve a user path: absolute, else relative to :func:`search_roots` (first match wins).

    ``crm-kit run`` passes the directory it was started in to the notebooks'
    kernels, so a path in a run file means what it means in the user's shell;
    a notebook opened by hand (working directory ``notebooks/``) still finds
    paths written relative to the project root. ``~`` and environment
    variables (``$CRM_KIT_DATA``) are expanded.
    """
    p = Path(os.path.expandvars(os.path.expanduser(str(path))))
    candidates = [p] if p.is_absolute() else [root / p for root in search_roots()]
    for c in candidates:
        if c.exists():
            return c.resolve()
    if must_exist:
        tried = ", ".join(str(c) for c in candidates)
        raise DataError(f"file not found: '{path}' (looked in {tried}); check the path in params")
    return candidates[-1]


def run_folder(output_dir: str | os.PathLike = "", *, run_name: str = "interactive",
               root: str | os.PathLike | None = None, link_latest: bool = False) -> Path:
    """The folder of a run: ``output_dir`` as given, else a new ``<root>/<run_name>/<timestamp>/``.

    A timestamped folder is never reused: when one of that second exists, a
    numbered sibling (``<timestamp>-1``) is made. With ``link_latest``,
    ``<root>/<run_name>/latest`` then points at the new folder.

    Parameters
    ----------
    output_dir
        A folder chosen by the caller (papermill passes the run's folder);
        created when missing and used as it is.
    run_name
        The run's name: ``interactive`` for notebooks opened by hand.
    root
        Where run folders live (default :func:`reports_root`).
    link_latest
        Point ``latest`` at the new folder (scheduled runs).
    """
    if output_dir:
        folder = resolve_path(output_dir)
        _make_dir(folder, exist_ok=True)
        return folder
    check_run_name(run_name)
    base_root = Path(root) if root else reports_root()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = base_root / run_name / stamp
    folder, i = base, 1
    while True:
        try:
            _make_dir(folder, exist_ok=False)
            break
        except FileExistsError:  # a run of the same name started this second: take the next number
            folder = base.with_name(f"{stamp}-{i}")
            i += 1
    if link_latest:
        point_latest(folder)
    return folder


def _make_dir(folder: Path, *, exist_ok: bool) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=exist_ok)
    except FileExistsError:
        if folder.exists() and not folder.is_dir():
            raise DataError(f"cannot make the run folder {folder}: a file of that name is in the way; "
                            "choose another --output") from None
        raise
    except PermissionError as exc:
        raise DataError(f"cannot make the run folder {folder}: permission denied; choose an --output you may "
                        "write to") from exc
    except NotADirectoryError as exc:
        raise DataError(f"cannot make the run folder {folder}: part of its path is a file, not a folder; "
                        "choose another --output") from exc
    except OSError as exc:
        raise DataError(f"cannot make the run folder {folder}: {exc.strerror}; choose another --output") from exc


_RUN_NAME = re.compile(r"^[\w][\w.-]*$")


def check_run_name(run_name: str) -> str:
    """A run name is one folder name: letters, digits, ``_ . -``; no path, no ``..``."""
    if not isinstance(run_name, str) or not _RUN_NAME.match(run_name) or run_name.strip(".") == "":
        raise DataError(f"run name {run_name!r} must be one folder name (letters, digits, '_', '.', '-'), "
                        "not a path; fix --run-name or run_name in the run file")
    return run_name


def latest_problem(run_dir: Path) -> str | None:
    """Why ``<run_dir>/latest`` cannot be pointed at a new run, or None when it can.

    ``latest`` is the kit's link; a real folder or file of that name (a copy
    made by hand, an unpacked backup) would stay on the old figures without
    a word, so the run says so before it starts.
    """
    latest = Path(run_dir) / "latest"
    if latest.is_symlink() or not latest.exists():
        return None
    kind = "a folder" if latest.is_dir() else "a file"
    return (f"{latest} is {kind}, not the kit's link to the newest run, so it would stay on old figures; "
            f"rename it (mv {latest} {latest}-kept) and run again")


def point_latest(folder: Path) -> None:
    """Point the run name's ``latest`` link at ``folder``, atomically (a concurrent run never sees it missing).

    Raises :class:`~crm_kit.errors.DataError` naming the fix when it cannot
    (see :func:`latest_problem`), never leaves ``latest`` on an old run in silence.
    """
    latest = folder.parent / "latest"
    problem = latest_problem(folder.parent)
    if problem:
        raise DataError(problem)
    tmp = folder.parent / f".latest.{os.getpid()}.{folder.name}"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(folder.name)
        os.replace(tmp, latest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(f"the run is complete in {folder}, but {latest} could not be pointed at it "
                        f"({exc.strerror or exc}); check that {folder.parent} may be written") from None
