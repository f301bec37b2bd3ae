"""Reading a table: connect to the engine, read the source, map columns to canonical names, type them.

Every value that does not parse is reported with examples and the fix; the
source file itself is only read.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import logging
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import ibis
import ibis.expr.datatypes as dt

from ..config import resolve_path, search_roots
from ..errors import DataError, MissingColumnError, ParameterError
from .layouts import (
    AMBIGUOUS_ZONES,
    MONEY_EDGE,
    TRAILING_MINUS,
    ZONE_ABBREVIATIONS,
    ZONE_SUFFIX,
    zone_offset_text,
)
from .sniff import DESCRIBE, detect_encoding, file_kind, read_head, refusal
from .spec import CANONICAL_COLUMNS, EPOCH_FORMATS, PERSONAL_FIELDS, _check_table_spec

_log = logging.getLogger("crm_kit.store")

__all__ = ["source_files", "detect_encoding", "NULL_TOKENS"]


def _is_uri(path: Any) -> bool:
    return "://" in str(path)


def _has_glob(path: Any) -> bool:
    return any(ch in str(path) for ch in "*?[")


def _glob(path: str | os.PathLike) -> tuple[str, list[Path]]:
    """Expand a glob from the cwd, else from the project root: (absolute pattern, sorted matches)."""
    text = os.path.expandvars(os.path.expanduser(str(path)))
    if Path(text).is_absolute():
        bases, pattern = [Path(Path(text).anchor)], str(Path(text).relative_to(Path(text).anchor))
    else:
        bases, pattern = search_roots(), text
    for base in bases:
        found = sorted(base.glob(pattern))
        dangling = [m for m in found if m.is_symlink() and not m.exists()]
        if dangling:
            raise DataError(f"{dangling[0]} (matched by '{path}') is a link to {os.readlink(dangling[0])}, which does "
                            "not exist; restore the file it points to or remove the link")
        matches = sorted(m.resolve() for m in found)
        if matches:
            return str(base.resolve() / pattern), matches
    raise DataError(f"no file matches '{path}' (looked from {', '.join(str(b) for b in bases)}); check the path in params")


def source_files(path: str | os.PathLike) -> list[Path]:
    """The local files a table path stands for: one file, or every match of a glob (``lines/*.parquet``).

    Raises when nothing matches. Remote URIs (``s3a://``, ``hdfs://``...) have
    no local files: the engine reads them, and the result is ``[]``.
    """
    if _is_uri(path):
        return []
    if _has_glob(path):
        return _glob(path)[1]
    found = resolve_path(path, must_exist=True)
    if found.is_dir():
        raise DataError(_folder_advice(path, found))
    return [found]


def _folder_advice(path: str | os.PathLike, folder: Path) -> str:
    """What to write when a table's path names a folder: a glob over the files of the kind it holds."""
    from collections import Counter

    kinds = Counter("".join(f.suffixes[-2:]).lower() if f.suffix.lower() in (".gz", ".zst") else f.suffix.lower()
                    for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
    if not kinds:
        return f"{path} is a folder with no files in it; point the table's path at a file"
    ext, count = kinds.most_common(1)[0]
    glob = str(Path(str(path)) / f"*{ext}")
    return (f"{path} is a folder, not a file; point the table's path at its files with a glob: path: '{glob}' "
            f"({count} {ext or 'extension-less'} file(s) there, read as one table)")


def _source_location(path: str | os.PathLike) -> str:
    """What the engine is given: a URI as written, a glob made absolute, else the resolved file."""
    if _is_uri(path):
        return os.path.expandvars(str(path))
    if _has_glob(path):
        return _glob(path)[0]
    return str(source_files(path)[0])



#: the share of the machine's memory DuckDB may hold before it spills to disk (``engine.memory_limit`` overrides)
MEMORY_SHARE = 0.4
#: the share all kernels' engines hold together when a run executes notebooks side by side (``crm-kit run``)
SIDE_BY_SIDE_SHARE = 0.5
#: set by the runner to the number of kernels it runs side by side
SIDE_BY_SIDE_VARIABLE = "CRM_KIT_SIDE_BY_SIDE"


def memory_share() -> float:
    """The share of memory this process's engine may hold.

    :data:`MEMORY_SHARE` alone; its part of :data:`SIDE_BY_SIDE_SHARE` when
    the runner has started it beside other kernels (it sets
    :data:`SIDE_BY_SIDE_VARIABLE` to their number).
    """
    try:
        kernels = int(os.environ.get(SIDE_BY_SIDE_VARIABLE, "1"))
    except ValueError:
        kernels = 1
    return MEMORY_SHARE if kernels <= 1 else SIDE_BY_SIDE_SHARE / kernels


def _machine_memory(proc_cgroup: Path = Path("/proc/self/cgroup"), cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """Bytes of memory this process may use: the machine's, or its control group's limit when lower.

    Reads the memory limit of the process's own control group and of each
    group above it (a limit anywhere up the tree applies), under cgroup v2
    (``memory.max``) or v1 (``memory/…/memory.limit_in_bytes``), so that a
    container or a ``systemd-run -p MemoryMax=12G`` run sizes the engine to
    what it is given, not to the machine.
    """
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":
            base, name = cgroup_root, "memory.max"
        elif "memory" in controllers.split(","):
            base, name = cgroup_root / "memory", "memory.limit_in_bytes"
        else:
            continue
        parts = [part for part in path.strip().split("/") if part]
        for depth in range(len(parts), -1, -1):
            try:
                cap = (base.joinpath(*parts[:depth]) / name).read_text().strip()
            except OSError:
                continue
            if cap.isdigit():
                total = min(total, int(cap))
    return total


def engine_memory(engine: Mapping[str, Any]) -> tuple[str, str]:
    """DuckDB's memory cap and spill folder: ``engine.memory_limit`` / ``engine.temp_directory``, else the defaults.

    By default DuckDB may hold :func:`memory_share` of the machine's memory
    (its own default is 80 %, which leaves a notebook kernel, pandas and the
    browser too little) and spills beyond it to ``<cache>/spill``: a large
    store then runs slower instead of failing or swapping. Each connection
    spills into its own subfolder (``<pid>-<n>``, which DuckDB creates and
    removes when it closes): DuckDB names its spill files the same in every
    database, and two kernels of a run spilling into one folder read each
    other's files. Folders left by killed processes are removed by the next
    connection (:func:`_remove_stale_spills`).
    """
    from ..config import cache_root

    limit = engine.get("memory_limit") or f"{max(1, int(_machine_memory() * memory_share() / 2**20))}MiB"
    if engine.get("temp_directory"):
        spill = Path(os.path.expandvars(str(engine["temp_directory"])))
    else:
        spill = _writable_folder(cache_root() / "spill") or _fallback_spill()
    return str(limit).replace("'", ""), str(spill / f"{os.getpid()}-{next(_CONNECTIONS)}")


def _writable_folder(folder: Path) -> Path | None:
    """``folder``, made if missing, when this process can write in it; else None (read-only, or a file on the way)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK) else None


def scratch_dir(name: str) -> Path:
    """``<cache>/<name>``, the kit's working copies (converted text, unpacked archives), made when missing.

    When the cache folder cannot be written (read-only, or a path through a
    file) the system's temporary folder holds them instead: the run goes on,
    only the cache is lost.
    """
    import tempfile

    from ..config import cache_root

    folder = _writable_folder(cache_root() / name)
    if folder is None:
        folder = Path(tempfile.gettempdir()) / f"crm-kit-{os.getuid() if hasattr(os, 'getuid') else 'user'}" / name
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def _fallback_spill() -> Path:
    """The spill folder when the cache folder cannot hold it: the system's temporary folder, one per user.

    A read-only cache folder, or a cache path that is a file, then costs
    only the cache (the store is built without it), never the run.
    """
    import tempfile

    from ..config import cache_root

    folder = Path(tempfile.gettempdir()) / f"crm-kit-spill-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    _log.info("the cache folder %s cannot be written: DuckDB spills to %s", cache_root(), folder)
    return folder


#: numbers the connections of this process (each gets its own spill folder)
_CONNECTIONS = itertools.count(1)


def _process_runs(pid: int) -> bool:
    """Whether a process with this id runs (or may: one of another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _remove_stale_spills(folder: Path) -> list[Path]:
    """Remove the spill folders (``<pid>-<n>``) in ``folder`` whose process no longer runs; return them.

    DuckDB removes its spill folder when a connection closes; a kernel
    killed hard (out of memory, ``kill -9``) leaves it behind, possibly
    gigabytes. Each new connection clears those of dead processes. Only
    folders named as the kit names them are touched; a folder whose
    process id is in use again is kept.
    """
    import re
    import shutil

    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = re.fullmatch(r"(\d+)-\d+", entry.name)
        if not match or not entry.is_dir() or int(match.group(1)) == os.getpid() or _process_runs(int(match.group(1))):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _connect(spec: Mapping[str, Any]):
    engine = spec.get("engine", {}) or {}
    backend = engine.get("backend", "duckdb")
    if backend == "duckdb":
        con = ibis.duckdb.connect(engine.get("database", ":memory:"))
        if not engine.get("progress_bar", False):
            # DuckDB's bar writes to stdout, which clutters notebooks and logs
            for setting in ("enable_progress_bar", "enable_progress_bar_print"):
                try:
                    con.raw_sql(f"SET {setting}=false")
                except Exception:  # noqa: BLE001 - in Jupyter, DuckDB refuses without ipywidgets
                    pass
        limit, spill = engine_memory(engine)
        Path(spill).parent.mkdir(parents=True, exist_ok=True)  # DuckDB makes the last folder only
        _remove_stale_spills(Path(spill).parent)
        con.raw_sql(f"SET memory_limit='{limit}'")
        con.raw_sql("SET temp_directory='{}'".format(spill.replace("'", "''")))
        if engine.get("threads"):
            con.raw_sql(f"SET threads={int(engine['threads'])}")
        return con
    if backend == "connection":
        return engine["connection"]
    if backend == "pyspark":
        return _spark_connection(engine.get("options") or {})
    try:
        connect = getattr(ibis, backend).connect
    except AttributeError as exc:
        raise ParameterError(f"engine.backend '{backend}' is not an Ibis backend") from exc
    kwargs = {k: os.path.expandvars(str(v)) for k, v in (engine.get("options") or {}).items()}
    return connect(**kwargs)


#: Spark's logging for a session the kit starts: warnings and errors on stderr (a run moves them to run.log), the
#: start-up notices and the missing native Hadoop library (no news on one machine) left out
SPARK_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.hadoop.name = org.apache.hadoop.util.NativeCodeLoader
logger.hadoop.level = error
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = warn
"""

#: what a Spark session the kit starts is given unless the spec's ``config`` says otherwise: no stage progress bars
#: on stderr (they filled the report) and the logging of :data:`SPARK_LOG4J2`
SPARK_DEFAULTS = {"spark.ui.showConsoleProgress": "false"}


def _spark_log_config() -> str:
    """The file of :data:`SPARK_LOG4J2`, written once under the kit's cache folder; its path."""
    from ..config import cache_root

    path = cache_root() / "spark" / "log4j2.properties"
    try:
        if not path.exists() or path.read_text() != SPARK_LOG4J2:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(SPARK_LOG4J2)
            os.replace(tmp, path)
    except OSError:
        return ""  # a read-only cache: Spark's own logging then
    return str(path)


def _spark_connection(options: Mapping[str, Any]):
    """An Ibis PySpark connection built from params: ``master``, ``app_name`` and ``config`` (Spark settings).

    ``master: spark://host:7077`` (or ``yarn``, ``k8s://...``, ``local[4]``) points the
    kit at a cluster; ``config`` passes any ``spark.*`` setting. ``$VARS`` are expanded.
    Spark allows one session per process: ``getOrCreate`` returns an active
    session as it is, whatever ``master`` says here. A session the kit starts shows
    no stage progress bars and logs warnings only (:data:`SPARK_DEFAULTS`,
    :data:`SPARK_LOG4J2`), unless ``config`` sets ``spark.ui.showConsoleProgress`` or
    ``spark.driver.extraJavaOptions``.
    """
    unknown = set(options) - {"master", "app_name", "config"}
    if unknown:
        raise ParameterError(f"engine.options for pyspark: unknown key(s) {sorted(unknown)}; use master, app_name, config")
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ParameterError("engine.backend pyspark needs PySpark: pip install 'crm-kit[dev]' or pyspark") from exc
    builder = SparkSession.builder.appName(os.path.expandvars(str(options.get("app_name", "crm-kit"))))
    if options.get("master"):
        builder = builder.master(os.path.expandvars(str(options["master"])))
    config = {**SPARK_DEFAULTS, **(options.get("config") or {})}
    if "spark.driver.extraJavaOptions" not in config and (log_config := _spark_log_config()):
        config["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile=file:{log_config}"
    for key, value in config.items():
        builder = builder.config(key, os.path.expandvars(str(value)))
    return ibis.pyspark.connect(builder.getOrCreate())


_UTF8 = {"utf-8", "utf8", "utf-8-sig", "ascii", "us-ascii"}
_UTF16 = {"utf-16", "utf16", "utf-16le", "utf-16be"}
_LATIN1 = {"latin-1", "latin1", "iso-8859-1", "iso8859-1"}


def _sniff(path: Path) -> str:
    """What a file holds, from its bytes (:func:`crm_kit.store.sniff.file_kind`)."""
    return file_kind(path)


def _open_text_sample(path: Path, kind: str, size: int = 1 << 20) -> bytes:
    return read_head(path, kind, size)


def _mixed_line_endings(path: Path, kind: str) -> bool:
    """Whether the start of a text file ends its lines in CRLF and in LF both."""
    head = _open_text_sample(path, kind, 1 << 20)
    crlf = head.count(b"\r\n")
    return bool(crlf) and head.count(b"\n") > crlf


def _transcoded(path: Path, kind: str, encoding: str, delimiter: str | None, errors: str = "strict", *,
                newlines: bool = False) -> Path:
    """A UTF-8 comma-separated copy of a text file in the cache (the input is never touched).

    With ``errors="replace"`` a byte the encoding cannot read becomes U+FFFD
    (and the table's cleaning report counts the lines that hold one).
    """
    import csv
    import hashlib

    st = path.stat()
    key = hashlib.sha256(f"{path}|{st.st_size}|{st.st_mtime_ns}|{sampled_digest(path, st.st_size)}|{encoding}|"
                         f"{errors}|{delimiter}|{newlines}".encode()).hexdigest()[:24]
    folder = scratch_dir("converted")
    target = folder / f"{key}.csv"
    if target.exists():
        return target
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    if kind == "gzip":
        import gzip

        source = gzip.open(path, "rt", encoding=encoding, errors=errors, newline=None if newlines else "")
    elif kind == "zstd":
        raise DataError(f"{path.name} is zstd-compressed {encoding} text, which the engine reads only as UTF-8; "
                        f"decompress it (zstd -d {path.name}) and point the table's path at the .csv")
    else:
        source = open(path, encoding=encoding, errors=errors, newline=None if newlines else "")
    try:
        with source as src, open(tmp, "w", encoding="utf-8", newline="") as out:
            if delimiter == "whitespace":
                writer = csv.writer(out)
                for line in src:
                    if line.strip():
                        writer.writerow(line.split())
            else:
                replaced = 0
                for chunk in iter(lambda: src.read(1 << 20), ""):
                    replaced += chunk.count("\ufffd") if errors == "replace" else 0
                    out.write(chunk)
                if replaced:
                    _log.warning(
                        "%s: %d character(s) could not be read as %s and read as \ufffd (encoding_errors: replace)",
                        path.name, replaced, encoding)
    except UnicodeDecodeError as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(f"{path.name} is not valid {encoding} text (byte {exc.start:,} of a block cannot be read); "
                        "set the table's encoding: (e.g. gbk, gb18030, utf-16, latin-1), or encoding_errors: replace "
                        "to read such bytes as \ufffd") from exc
    tmp.rename(target)
    return target


def _without_footer(path: Path, lines: int, name: str, *, shown: str | None = None) -> Path:
    """A copy of a text file without its last ``lines`` lines (``skip_footer``: a record count, a seller id), in
    the cache; the input is never touched.

    The lines are found from the file's end, a block at a time, and the rest is copied as bytes: the cost is a copy
    of the file, and only for a table that says ``skip_footer``. Blank lines count as lines (as ``skip_rows``).
    """
    import hashlib
    import shutil

    st = path.stat()
    key = hashlib.sha256(f"footer|{path}|{st.st_size}|{st.st_mtime_ns}|{lines}".encode()).hexdigest()[:24]
    folder = scratch_dir("converted")
    target = folder / f"{key}{path.suffix or '.csv'}"
    if target.exists():
        return target
    size = st.st_size
    block = min(size, 1 << 16)
    with open(path, "rb") as fh:
        while True:
            fh.seek(size - block)
            tail = fh.read(block)
            # the file's own last line break ends its last line; it does not start another
            body = tail[:-2] if tail.endswith(b"\r\n") else tail[:-1] if tail.endswith((b"\n", b"\r")) else tail
            breaks = [m.start() for m in re.finditer(rb"\r\n|\n|\r", body)]
            if len(breaks) >= lines or block >= size:
                break
            block = min(size, block * 4)
        if len(breaks) < lines:
            raise DataError(f"{name}: {shown or path.name} has {len(breaks) + 1} line(s), not more than "
                            f"tables.{name}.skip_footer: {lines}; lower skip_footer to the lines after the data")
        end = next(m.end() for m in re.finditer(rb"\r\n|\n|\r", body[breaks[-lines]:]))
        cut = size - block + breaks[-lines] + end
        fh.seek(0)
        tmp = folder / f".{key}.{os.getpid()}.tmp"
        with open(tmp, "wb") as out:
            left = cut
            while left > 0:
                chunk = fh.read(min(left, 1 << 20))
                if not chunk:
                    break
                out.write(chunk)
                left -= len(chunk)
    shutil.move(tmp, target)
    return target


def _excel_as_parquet(path: Path, tspec: Mapping[str, Any]) -> Path:
    """A sheet of an .xlsx workbook, every cell as text, kept as Parquet in the cache."""
    import hashlib

    import pandas as pd

    from ..config import cache_root

    sheet = tspec.get("sheet", 0)
    st = path.stat()
    key = hashlib.sha256(f"merged|{path}|{st.st_size}|{st.st_mtime_ns}|{sheet}|{tspec.get('header', True)}|"
                         f"{tspec.get('skip_rows', 0)}".encode()).hexdigest()[:24]
    folder = cache_root() / "converted"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{key}.parquet"
    if target.exists():
        return target
    try:
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True)
        names = book.sheetnames
        book.close()
    except Exception as exc:  # noqa: BLE001 - a damaged workbook, whatever openpyxl says
        raise DataError(f"{path.name} cannot be opened as an Excel workbook ({exc}); save it again as .xlsx or CSV") from exc
    # several sheets of one table (a sheet per month, each with the same header) are read as one
    frames = [_excel_sheet_frame(path, one, names, tspec) for one in (sheet if isinstance(sheet, list) else [sheet])]
    if len(frames) > 1 and any(list(f.columns) != list(frames[0].columns) for f in frames):
        other = next(i for i, f in enumerate(frames) if list(f.columns) != list(frames[0].columns))
        raise DataError(f"{path.name}: the sheets {sheet[0]!r} and {sheet[other]!r} have different headers; read "
                        "sheets with the same columns as one table (sheet: [..]) and the others as tables of their own")
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.dropna(how="all")
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    frame.to_parquet(tmp, index=False)
    tmp.rename(target)
    return target


def _excel_sheet_frame(path: Path, sheet: str | int, names: list[str], tspec: Mapping[str, Any]):
    """One sheet of a workbook as a frame of text cells under its header (merged cells filled)."""
    import pandas as pd

    if isinstance(sheet, str) and sheet not in names:
        hint = difflib.get_close_matches(sheet, names, n=1)
        raise DataError(f"{path.name} has no sheet {sheet!r}{f' (did you mean {hint[0]!r}?)' if hint else ''}; "
                        f"its sheets: {names}; set the table's sheet:")
    if isinstance(sheet, int) and not 0 <= sheet < len(names):
        raise DataError(f"{path.name} has {len(names)} sheet(s) {names}; sheet: {sheet} is not one of them")
    grid = pd.read_excel(path, sheet_name=sheet, dtype=str, header=None, engine="openpyxl")
    # a merged cell holds its value in its first cell only: every cell of the range gets it (a receipt's date
    # merged over its lines belongs to each line; dropped, the lines would look like repeats)
    for top, left, bottom, right in _merged_ranges(path, names[sheet] if isinstance(sheet, int) else sheet):
        if top - 1 < len(grid) and left - 1 < grid.shape[1]:
            grid.iloc[top - 1:bottom, left - 1:right] = grid.iat[top - 1, left - 1]
    grid = grid.iloc[int(tspec.get("skip_rows", 0) or 0):]
    if tspec.get("header", True):
        header = ["" if pd.isna(h) else str(h) for h in grid.iloc[0]] if len(grid) else []
        seen: dict[str, int] = {}
        names_out = []
        for i, h in enumerate(header):
            h = h.strip() or f"Unnamed: {i}"
            seen[h] = seen.get(h, -1) + 1
            names_out.append(h if not seen[h] else f"{h}.{seen[h]}")
        frame = grid.iloc[1:].reset_index(drop=True)
        frame.columns = names_out
    else:
        frame = grid.reset_index(drop=True)
        frame.columns = [str(c) for c in range(grid.shape[1])]
    return frame


def _merged_ranges(path: Path, sheet: str) -> list[tuple[int, int, int, int]]:
    """The merged cell ranges of a workbook's sheet as (first row, first column, last row, last column), 1-based.

    Read from the sheet's XML (``<mergeCell ref="A2:A5"/>``): openpyxl's
    read-only mode, which reads large workbooks fast, does not report them.
    """
    import re as _re
    import zipfile

    from openpyxl.utils.cell import range_boundaries

    try:
        with zipfile.ZipFile(path) as archive:
            book = archive.read("xl/workbook.xml").decode("utf-8", "replace")
            rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
            found = next((m for m in _re.finditer(r"<(?:\w+:)?sheet\b[^>]*>", book)
                          if _re.search(r'name="([^"]*)"', m.group(0)) and
                          _xml_text(_re.search(r'name="([^"]*)"', m.group(0)).group(1)) == sheet), None)
            if found is None:
                return []
            rid = _re.search(r'r:id="([^"]+)"', found.group(0))
            target = None
            for tag in _re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", rels):
                ident, where = _re.search(r'\bId="([^"]+)"', tag), _re.search(r'\bTarget="([^"]+)"', tag)
                if rid and ident and where and ident.group(1) == rid.group(1):
                    target = where.group(1)
            if target is None:
                return []
            member = target.lstrip("/") if target.startswith("/") else "xl/" + target
            xml = archive.read(member).decode("utf-8", "replace")
    except (KeyError, OSError, zipfile.BadZipFile):
        return []
    out = []
    for ref in _re.findall(r'<(?:\w+:)?mergeCell\b[^>]*ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"', xml):
        left, top, right, bottom = range_boundaries(ref)
        out.append((top, left, bottom, right))
    return out


def _xml_text(text: str) -> str:
    import html

    return html.unescape(text)


#: bytes read from each of :data:`DIGEST_BLOCKS` places of an input file for its content digest
DIGEST_BLOCK = 1 << 16
DIGEST_BLOCKS = 64
#: files up to this size are hashed whole (about 0.3 s for 256 MB); larger ones at sampled blocks
DIGEST_WHOLE = 256 << 20


def sampled_digest(path, size: int | None = None) -> str:
    """A digest of a file's content: all of it up to :data:`DIGEST_WHOLE`, else blocks at fixed places.

    A file rewritten with the same size and time (``cp -p``, ``rsync -t``, ``tar``) gets another key. An export
    of up to 256 MB is hashed whole, so any changed byte is seen; a larger one is read at 64 places (4 MB,
    not the file, before every load), where a change confined to bytes between the sampled blocks is not seen
    — a monthly export rewritten in place changes everywhere.
    """
    import hashlib

    size = os.path.getsize(path) if size is None else size
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as fh:
        if size <= DIGEST_WHOLE:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                digest.update(chunk)
        else:
            step = (size - DIGEST_BLOCK) / (DIGEST_BLOCKS - 1)
            for i in range(DIGEST_BLOCKS):
                fh.seek(int(i * step))
                digest.update(fh.read(DIGEST_BLOCK))
    return digest.hexdigest()


def _unzipped(path: Path, name: str) -> Path:
    """The one file of a zip archive, unpacked once into the cache (``stores/unzipped/<digest>/``)."""
    import zipfile

    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{name}: {path.name} is not a readable zip archive ({exc}); unzip it by hand and point "
                        f"tables.{name}.path at the file inside") from exc
    with archive:
        members = [m for m in archive.namelist() if not m.endswith("/") and not m.startswith(("__MACOSX/", "."))]
        if len(members) != 1:
            shown = ", ".join(members[:5]) + (", ..." if len(members) > 5 else "")
            raise DataError(f"{name}: {path.name} is a zip of {len(members)} files ({shown}); unzip it and point "
                            f"tables.{name}.path at the one to read (or at all of them with a glob, parts/*.csv)")
        target = scratch_dir("unzipped") / sampled_digest(path) / Path(members[0]).name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            with archive.open(members[0]) as src, open(partial, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            os.replace(partial, target)
    return target


def _guess_format(path: str) -> str:
    low = path.lower()
    if low.endswith((".parquet", ".pq")):
        return "parquet"
    if low.endswith((".csv", ".tsv", ".txt", ".dat", ".tab", ".gz", ".zst")):  # compressed: text (DuckDB unpacks)
        return "csv"
    if low.endswith((".xlsx", ".xlsm", ".xls")):
        return "excel"
    if low.endswith((".duckdb", ".db")):
        return "duckdb"
    raise ParameterError(f"cannot tell the format of '{path}'; set format: csv, parquet, excel or duckdb")


def _claimed_format(tspec: Mapping[str, Any], location: str) -> tuple[str, bool]:
    """The format the spec says (explicit) or the file name suggests: (format, explicit)."""
    if tspec.get("format"):
        return str(tspec["format"]), True
    return _guess_format(location), False


def _read_table(con, name: str, tspec: Mapping[str, Any]):
    if "table" in tspec and "path" not in tspec:
        try:
            return con.table(tspec["table"])
        except Exception as exc:  # backend-specific
            try:
                present = [str(t) for t in con.list_tables()]
            except Exception:  # noqa: BLE001 - only for the hint
                present = []
            close = difflib.get_close_matches(str(tspec["table"]).split(".")[-1].strip('"`'), present, n=1)
            hint = (f"; did you mean '{close[0]}'?" if close else "") + (
                f" Tables there: {_clip(', '.join(present), 200)}" if present else "")
            raise DataError(f"{name}: table '{_clip(tspec['table'], 80)}' not found in the connection (write the "
                            f"name as the database shows it, without quotes){hint}") from exc
    paths = tspec.get("path")
    if paths is None:
        raise ParameterError(f"{name}: give a 'path' (CSV/Parquet/Excel/DuckDB file) or a 'table' name")
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    resolved = [_source_location(p) for p in paths]
    if any(str(r).lower().endswith(".zip") for r in resolved):
        # a zipped export: its one file, unpacked into the cache (the archive itself is only read)
        unzipped = [str(_unzipped(Path(f), name)) for p in paths for f in source_files(p)]
        return _read_table(con, name, {**tspec, "path": unzipped if len(unzipped) > 1 else unzipped[0]})
    fmt, explicit = _claimed_format(tspec, resolved[0])
    files = [Path(f) for p in paths for f in source_files(p)]
    kinds = {f: _sniff(f) for f in files}
    for f, kind in kinds.items():
        _check_content(name, f, kind, fmt, explicit)
    where = resolved if len(resolved) > 1 else resolved[0]
    try:
        if fmt == "parquet":
            return con.read_parquet(where)
        if fmt == "excel":
            if len(files) != 1:
                raise ParameterError(f"{name}: read one Excel workbook at a time (path matches {len(files)} files)")
            return con.read_parquet(str(_excel_as_parquet(files[0], tspec)))
        if fmt == "csv":
            return _read_text(con, name, tspec, files, kinds, where)
        if fmt == "duckdb":
            src = ibis.duckdb.connect(resolved[0], read_only=True)
            try:
                table = _database_table(src, name, tspec, Path(resolved[0]))
                return con.create_table(f"_src_{name}", src.to_pyarrow(src.table(table)), temp=True)
            finally:
                with contextlib.suppress(Exception):
                    src.disconnect()
    except (ParameterError, DataError):
        raise
    except Exception as exc:  # noqa: BLE001 - the engine's reading errors become one line naming the file and the fix
        raise engine_error(exc, name, files, fmt) from exc
    raise ParameterError(f"{name}: unknown format '{fmt}' (use csv, parquet, excel or duckdb)")


def _database_table(src, name: str, tspec: Mapping[str, Any], path: Path) -> str:
    """The table of a DuckDB file a spec names (``table``, else the table's own name), checked against the file's
    tables: a name not there gets the closest one and the list."""
    wanted = str(tspec.get("table", name))
    present = [str(t) for t in src.list_tables()]
    if wanted in present:
        return wanted
    bare = wanted.split(".")[-1].strip('"`')
    if bare in present:
        return bare
    if not present:
        raise DataError(f"{name}: the DuckDB file {path.name} holds no table; point tables.{name}.path at the database "
                        "the export wrote, or export the table again")
    close = difflib.get_close_matches(bare, present, n=1, cutoff=0.5) or \
        [t for t in present if t.lower() == bare.lower()][:1]
    hint = f"did you mean '{close[0]}'? " if close else ""
    said = "" if "table" in tspec else f" (no tables.{name}.table given, so the table named {name})"
    raise DataError(f"{name}: the DuckDB file {path.name} has no table '{_clip(wanted, 80)}'{said}; {hint}set "
                    f"tables.{name}.table to one of: {_clip(', '.join(present), 200)}")


def _check_content(name: str, path: Path, kind: str, fmt: str, explicit: bool) -> None:
    """Refuse a file whose content is not the format it claims, naming what it holds and the fix."""
    why = refusal(path, kind)
    if why:
        raise DataError(f"{name}: {why}")
    if kind == "zip":
        raise DataError(f"{name}: {path.name} is a zip archive; unzip it, or name it .zip (the kit reads the one file "
                        "inside a zip)")
    fits = {"csv": ("text", "gzip", "zstd"), "parquet": ("parquet",), "excel": ("excel",), "duckdb": ("duckdb",)}
    if kind not in fits.get(fmt, (kind,)):
        claim = f"tables.{name}.format says {fmt}" if explicit else f"its name says {fmt}"
        right = {"parquet": "parquet", "excel": "excel", "duckdb": "duckdb"}.get(kind, "csv")
        raise DataError(f"{name}: {path.name} holds {DESCRIBE.get(kind, kind)}, but {claim}; "
                        f"set tables.{name}.format: {right} (or rename the file)")


def _read_text(con, name: str, tspec: Mapping[str, Any], files: list[Path], kinds: dict, where):
    """A delimited text table: encoding found or given, every column read as text."""
    encoding = tspec.get("encoding")
    delimiter = tspec.get("delimiter")
    if encoding is None and files and kinds[files[0]] == "zstd":
        encoding = "utf-8"  # the engine reads zstd itself; a file in another encoding says so when read
    if encoding is None and files:
        sample = _open_text_sample(files[0], kinds[files[0]])
        encoding = detect_encoding(sample)
        if encoding is None:
            raise DataError(f"{name}: cannot tell the encoding of {files[0].name}: it reads as none of UTF-8, UTF-16, "
                            f"GB18030, Big5, Shift-JIS or cp1252; set tables.{name}.encoding (e.g. latin-1, cp1250)")
    encoding = (encoding or "utf-8").lower()
    # standard CSV quoting said, not sniffed: the engine's sniffer decides from a sample, and a first quoted field
    # after it (line 25,000 of an export) would otherwise stop the read
    options: dict[str, Any] = {"all_varchar": True, "header": bool(tspec.get("header", True)),
                               "quote": tspec.get("quote", '"'), "escape": tspec.get("escape", '"')}
    if tspec.get("skip_rows"):
        options["skip"] = int(tspec["skip_rows"])
    if tspec.get("max_line_size"):
        options["max_line_size"] = int(tspec["max_line_size"])
        options["buffer_size"] = max(int(tspec["max_line_size"]) * 2, 32 << 20)
    if delimiter and delimiter != "whitespace":
        options["delim"] = delimiter
    errors = tspec.get("encoding_errors", "strict")
    native = (encoding in _UTF8 or encoding in _UTF16 or encoding in _LATIN1) and errors == "strict"
    # a file whose lines end in CRLF and LF both (parts pasted together on two systems) is copied with one line
    # break: the engine's sniffer refuses mixed endings
    mixed = [f for f in files if kinds[f] in ("text", "gzip") and _mixed_line_endings(f, kinds[f])]
    footer = int(tspec.get("skip_footer") or 0)
    if footer and (encoding in _UTF16 or any(kinds[f] != "text" for f in files)):
        native = False  # the lines after the data are cut from a plain UTF-8 copy
    if native and delimiter != "whitespace" and not mixed:
        if encoding in _UTF16:
            options["encoding"] = "utf-16"
        elif encoding in _LATIN1:
            options["encoding"] = "latin-1"
        if footer:
            cut = [str(_without_footer(f, footer, name)) for f in files]
            return _read_parts(con, name, cut if len(cut) > 1 else cut[0], options, shown=[f.name for f in files])
        return _read_parts(con, name, [str(f) for f in files] if len(files) > 1 else where, options)
    converted = [str(_transcoded(f, kinds[f], encoding, delimiter, errors, newlines=f in mixed)) for f in files]
    if footer:
        converted = [str(_without_footer(Path(c), footer, name, shown=f.name)) for c, f in zip(converted, files)]
    if delimiter == "whitespace":
        options["delim"] = ","
    return _read_parts(con, name, converted if len(converted) > 1 else converted[0], options,
                       shown=[f.name for f in files])


def _header_key(column: str) -> str:
    """A column name as parts are matched: stray spaces (any kind) and case do not count."""
    return "".join(str(column).split()).casefold()


def _read_parts(con, name: str, where, options: dict, *, shown: Sequence[str] | None = None):
    """One text table from one file or several parts; parts whose headers differ by spaces or case are matched.

    Monthly exports are often written by hand-edited templates: ``Customer_ID``
    one month, ``customer_id `` the next. Each part is read on its own and its
    columns renamed to the first part's when the names agree but for spaces
    and case; a part that lacks a column, or has one more, is refused naming
    the file and the column.
    """
    if isinstance(where, (str, os.PathLike)) or len(where) == 1:
        return con.read_csv(where if isinstance(where, (str, os.PathLike)) else where[0], **options)
    names = list(shown) if shown else [Path(w).name for w in where]
    parts = [con.read_csv(w, **options) for w in where]
    first = list(parts[0].columns)
    if all(list(p.columns) == first for p in parts[1:]):
        return con.read_csv(list(where), **options)
    wanted = {_header_key(c): c for c in first}
    matched = [parts[0]]
    for part, file in zip(parts[1:], names[1:]):
        own = {_header_key(c): c for c in part.columns}
        missing = [wanted[k] for k in wanted if k not in own]
        extra = [own[k] for k in own if k not in wanted]
        if missing or extra:
            what = (f"has no column '{missing[0]}' (the first part {names[0]} has it)" if missing else
                    f"has a column '{extra[0]}' that the first part {names[0]} does not")
            raise DataError(f"{name}: the part {file} {what}; its columns: {', '.join(map(str, part.columns))}; "
                            f"make the parts' headers agree (spaces and case may differ) or read {file} as a table "
                            "of its own")
        matched.append(part.select(**{wanted[k]: part[c] for k, c in own.items()}).select(first))
    return ibis.union(*matched, distinct=False)


#: canonical columns read only when the spec maps them: a column that happens to be called ``status`` in an
#: export is not silently read as the purchase status (which needs ``cleaning.statuses``)
MAPPED_ONLY = frozenset({"status", "line_type"})


def _map_columns(name: str, raw, mapping: Mapping[str, str], *, derive_amount: bool,
                 constants: Mapping[str, Any] | None = None, optional: frozenset = frozenset()):
    """Select and rename source columns to canonical names; raise on missing required ones.

    ``constants`` are canonical columns the source does not hold but whose
    value is the same on every row (``arm: treatment``); they are skipped here
    and added by :func:`_typed`. Required columns named in ``optional`` come
    from elsewhere when the source lacks them (the line items' customer and
    time from an orders table).
    """
    canon = CANONICAL_COLUMNS[name]
    constants = constants or {}
    unknown = set(mapping) - set(canon) - PERSONAL_FIELDS
    if unknown:
        raise ParameterError(
            f"{name}: columns maps unknown canonical name(s) {sorted(unknown)}; "
            f"known names are {sorted(canon)}"
        )
    present = list(raw.columns)
    explicitly_used = {v for v in mapping.values() if v is not None}
    selected = {}
    for col, (required, _kind) in canon.items():
        if col in constants:
            continue
        if col in mapping and mapping[col] is None:
            if required and not (name == "transactions" and col == "order_id"):
                raise ParameterError(f"{name}.{col} is required and cannot be mapped to null")
            continue  # 'household_size: null' means: do not read that column ('order_id: null': no order id)
        if col in MAPPED_ONLY and col not in mapping:
            continue
        source = mapping.get(col, col)
        if col in optional and col not in mapping and source not in present:
            continue
        if col not in mapping and source in explicitly_used:
            # 'age_band: age' claims the source column 'age'; it is not also the canonical 'age'
            continue
        if source not in present and source is not None:
            # a header written with stray spaces or another case (' Amount') is the same column
            alike = [p for p in present if str(p).strip().lower() == str(source).strip().lower()]
            if len(alike) == 1:
                source = alike[0]
        if source in present:
            _refuse_repeated_header(name, col, source, present, explicitly_used)
            selected[col] = raw[source]
        elif required and not (col == "amount" and derive_amount):
            hint = difflib.get_close_matches(source, present, n=1, cutoff=0.5)
            maybe = f" (did you mean '{hint[0]}'?)" if hint else ""
            otherwise = (f"or, when the export has no order id, tables.{name}.columns.order_id: null — a purchase is "
                         "then a customer's day" if (name, col) == ("transactions", "order_id")
                         else f"or, when every row has the same value, tables.{name}.constants.{col}: <value>")
            raise MissingColumnError(
                f"{name} has no column '{source}' for '{col}'{maybe}; "
                f"map it in params: tables.{name}.columns.{col}: <your column name> ({otherwise}). "
                f"Columns present: {', '.join(present)}"
            )
        elif col in mapping:
            raise MissingColumnError(
                f"{name}: params map '{col}' to '{source}', which is not a column; "
                f"fix tables.{name}.columns.{col}. Columns present: {', '.join(present)}"
            )
    return selected


def _refuse_repeated_header(name: str, col: str, source: str, present: Sequence[str], used: set) -> None:
    """Refuse a mapped column whose header the file repeats: which copy holds the figure is a guess.

    A header naming ``amount`` twice is read as ``amount`` and ``amount_1``
    (DuckDB) or ``amount.1`` (spreadsheets through pandas). Taking the first
    silently sums whichever copy came first (a list price instead of what was
    paid), and lines that differ only in the other copy look like repeats.
    """
    copies = [p for p in present if p in (f"{source}_1", f"{source}.1") and p not in used]
    if copies:
        first, second = present.index(source) + 1, present.index(copies[0]) + 1
        raise ParameterError(
            f"{name}: the header names '{source}' twice (columns {first} and {second}), so which one is {col} is a "
            f"guess; rename one of them in the export, or map tables.{name}.columns.{col}: {copies[0]} to take the "
            f"second (column {second})")


#: cell texts that mean "no value" in exports (spreadsheets, POS systems, databases); ``na_values`` adds more
NULL_TOKENS = ("", "null", "none", "nil", "n/a", "na", "nan", "#n/a", "-", "--", "?", "(null)", "<null>", "空", "无")
#: texts that read as a number but are none: missing, not zero
_NON_FINITE = ("nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity")
#: a UTC offset or Z at the end of a timestamp text
_OFFSET = r"(Z|z|[+-]\d{2}:?\d{2})$"


@ibis.udf.scalar.builtin(name="try_strptime")
def _try_strptime(value: str, fmt: str) -> dt.timestamp:  # noqa: D103 - DuckDB's own function
    ...


@ibis.udf.scalar.builtin(name="timezone")
def _local_time(zone: str, ts: dt.Timestamp(timezone="UTC")) -> dt.timestamp:  # noqa: D103 - DuckDB's own function
    ...


@ibis.udf.scalar.builtin(name="timezone")
def _utc_instant(zone: str, ts: dt.timestamp) -> dt.Timestamp(timezone="UTC"):  # DuckDB's own function
    ...


def _zone_name(s):
    """The zone abbreviation after a time ('07:53 PM EDT' → 'EDT'), '' when none (AM and PM are none)."""
    name = s.re_extract(ZONE_SUFFIX, 2).fill_null("")
    return name.isin(["AM", "PM"]).ifelse("", name)


def _zone_offset(name):
    """A zone abbreviation's UTC offset as the reader compares offsets ('-0500'); null when unknown or ambiguous."""
    return name.substitute({k: zone_offset_text(v) for k, v in ZONE_ABBREVIATIONS.items()}, else_=ibis.null("string"))


def _null_tokens(tspec: Mapping[str, Any]) -> list[str]:
    extra = tspec.get("na_values") or []
    return sorted({t.lower() for t in NULL_TOKENS} | {str(t).strip().lower() for t in extra})


#: spaces a plain strip keeps: no-break, full-width (U+3000), the typographic ones, zero-width and the byte-order mark
UNICODE_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b" \
                 "\u2028\u2029\u202f\u205f\u3000\ufeff"
#: leading or trailing white space of any kind (the characters written out: every backend's regex reads them)
_EDGE_SPACE = f"^[\\s{UNICODE_SPACES}]+|[\\s{UNICODE_SPACES}]+$"
#: an odd space at an edge: a tab, a line break or one of :data:`UNICODE_SPACES` (an ordinary space is no news)
_ODD_EDGE_SPACE = f"^[\\t\\n\\r\\f\\v{UNICODE_SPACES}]|[\\t\\n\\r\\f\\v{UNICODE_SPACES}]$"


def _trim(s):
    """Text without white space of any kind at either end: '会员001\u3000' and 'C17\u00a0' are '会员001' and 'C17'."""
    return s.re_replace(_EDGE_SPACE, "")


def _text(value, tokens: list[str]):
    """The value as trimmed text (every Unicode space), with null-like tokens (``NULL``, ``N/A``, ``-``...) made null."""
    s = _trim(value.cast("string"))
    return s.lower().isin(tokens).ifelse(ibis.null("string"), s)


def _number(value, tspec: Mapping[str, Any], tokens: list[str]):
    """A number from text: currency sign or code, thousands separator and decimal comma handled; NaN and inf are missing.

    The layouts are :mod:`crm_kit.store.layouts`' (the same that ``crm-kit init`` counts in its profile).
    """
    if value.type().is_numeric():
        f = value.cast("float64")
        return (f.isnan() | f.isinf()).ifelse(ibis.null("float64"), f), None
    s = _text(value, tokens + list(_NON_FINITE))
    # a currency sign or code before or after the number (-€12, € -12, 12,50 €, EUR 12.50), a minus at the end (12.50-)
    s = s.re_replace(MONEY_EDGE, r"\1").re_replace(TRAILING_MINUS, r"-\1")
    thousands, decimal = tspec.get("thousands"), tspec.get("decimal", ".")
    if thousands:
        s = s.replace(str(thousands), "")
    if decimal == ",":
        s = s.replace(",", ".")
    parsed = s.try_cast("float64")
    missing = value.isnull() | value.cast("string").strip().lower().isin(tokens + list(_NON_FINITE))
    return parsed, missing


def _timestamp(value, tspec: Mapping[str, Any], tokens: list[str]):
    """A timestamp from text or numbers: ISO, YYYYMMDD, a stated format; offsets converted to the stated zone."""
    zone, fmt = tspec.get("timezone"), tspec.get("ts_format")
    if value.type().is_timestamp():
        if value.type().timezone is not None:
            return (_local_time(zone, value) if zone else value.cast("timestamp")), None
        return value, None
    if value.type().is_date():
        return value.cast("timestamp"), None
    s = _text(value, tokens)
    # a zone abbreviation after the time ('30-Jun-2024 07:53 PM EDT'): the time is read without it, then moved by
    # the abbreviation's offset (ZONE_ABBREVIATIONS) as a numeric offset would be
    named = _zone_name(s)
    minutes = named.substitute({k: v for k, v in ZONE_ABBREVIATIONS.items()}, else_=ibis.null("int64"))
    s = (named != "").ifelse(s.re_replace(r"\s+[A-Z]{2,5}$", ""), s)
    if fmt in EPOCH_FORMATS:
        # seconds (or milliseconds) since 1970-01-01 UTC, as numbers or as text; the stated zone's local time
        number = value.cast("float64") if value.type().is_numeric() else s.try_cast("float64")
        scale = 1 if EPOCH_FORMATS[fmt] == "s" else 1000
        seconds = (number / scale).round().cast("int64")
        parsed = ibis.timestamp("1970-01-01 00:00:00") + seconds.as_interval("s")  # naive: no session zone involved
        if zone:
            parsed = _local_time(zone, parsed.cast(dt.Timestamp(timezone="UTC")))
        missing = value.isnull() | value.cast("string").strip().lower().isin(tokens)
        return parsed, missing
    if fmt:
        parsed = _try_strptime(s, str(fmt))
        if "%z" not in str(fmt):
            # a told layout with a UTC offset after it ('Fri, 15 Mar 2024 10:22:11 +0000', RFC 2822): the layout reads
            # the wall clock; with a timezone the offset moves it as an abbreviation's does (below)
            offset = s.re_extract(r"\s*([+-])(\d{2}):?(\d{2})$", 0)
            told = _try_strptime(s.re_replace(r"\s*[+-]\d{2}:?\d{2}$", ""), str(fmt))
            parsed = (offset != "").ifelse(told, parsed)
            sign = (s.re_extract(r"([+-])\d{2}:?\d{2}$", 1) == "-").ifelse(-1, 1)
            offset_minutes = sign * (s.re_extract(r"[+-](\d{2}):?\d{2}$", 1).try_cast("int64") * 60
                                     + s.re_extract(r"[+-]\d{2}:?(\d{2})$", 1).try_cast("int64"))
            minutes = minutes.coalesce((offset != "").ifelse(offset_minutes, ibis.null("int64")))
    else:
        # ISO text, or a YYYYMMDD date written as a number or as text (POS and ERP exports)
        parsed = s.re_search(r"^\d{8}$").ifelse(_try_strptime(s, "%Y%m%d"), s.try_cast("timestamp"))
        # the unambiguous layouts of Chinese and Japanese exports: 2025/01/05 (13:45), 2025年1月5日; a day-first or
        # month-first date (05/01/2025) is ambiguous and needs ts_format
        four_digit_year = s.re_search(r"^\d{4}\D")  # strptime's %Y takes '01' as the year 1: 01/01/25 is not one
        for layout in ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日 %H:%M:%S",
                       "%Y年%m月%d日 %H:%M", "%Y年%m月%d日"):
            parsed = parsed.coalesce(four_digit_year.ifelse(_try_strptime(s, layout), ibis.null("timestamp")))
    if not zone and not fmt:
        # one UTC offset on every value (+08:00) is that offset's local time; several offsets are refused when
        # checked (_check_parse), as they name no single clock
        bare = s.re_replace(r"\s*" + _OFFSET, "")
        parsed = s.re_search(_OFFSET).ifelse(bare.try_cast("timestamp"), parsed)
    if zone:
        with_offset = _local_time(zone, s.try_cast(dt.Timestamp(timezone="UTC")))
        parsed = s.re_search(_OFFSET).ifelse(with_offset.coalesce(parsed), parsed)
        # a known abbreviation: the instant (wall clock minus its offset, in UTC) on the stated zone's clock; an
        # ambiguous one (CST) is read on the stated zone's clock, which the user named as its meaning
        moved = _local_time(zone, _utc_instant("UTC", parsed - minutes.as_interval("m")))
        parsed = minutes.notnull().ifelse(moved, parsed)
    missing = value.isnull() | value.cast("string").strip().lower().isin(tokens)
    return parsed, missing


def _cast_columns(con, name: str, selected: dict, *, tspec: Mapping[str, Any] | None = None,
                  plain: frozenset = frozenset()):
    """Cast mapped columns to canonical types; what does not parse is checked by :func:`_check_parse`.

    Ids and texts are trimmed and null-like tokens (``NULL``, ``N/A``, ``-``,
    blank...) become missing — an anonymous line, never a customer called
    "NULL". Numbers accept a currency sign, ``thousands`` and a ``decimal``
    comma; NaN and infinity are missing, not numbers. Timestamps accept ISO
    text, YYYYMMDD (text or number) or ``ts_format``; a text with a UTC offset
    is converted to ``timezone``. Id and text columns named in ``plain`` were
    found to hold only clean values (letters, digits, ``_`` and ``-``, no
    null token: :func:`_plain_probes`) and pass through untouched, which
    saves most of the typing work on a large file.
    """
    tspec = tspec or {}
    canon = CANONICAL_COLUMNS[name]
    tokens = _null_tokens(tspec)
    exprs = {}
    checks = {}
    guests = [str(g) for g in tspec.get("guest_ids") or []]
    for col, value in selected.items():
        kind = canon[col][1]
        if col == "customer_id" and guests:
            # a guest checkout's placeholder id (BigCommerce's customer 0): no customer, an anonymous line
            text = _text(value.cast("string"), tokens).re_replace(r"^(-?\d+)\.0+$", r"\1")
            exprs[col] = text.isin(guests).ifelse(ibis.null("string"), text)
            continue
        if kind in ("id", "text"):
            if col in plain:
                exprs[col] = value
                continue
            if value.type().is_floating():
                # ids read as floats (17850.0) become '17850', not '17850.0'; NaN is no id
                exprs[col] = (value.isnan() | value.isinf()).ifelse(ibis.null("string"),
                                                                    value.cast("int64").cast("string"))
            else:
                # '17850.0' written out by a spreadsheet is the id '17850'
                exprs[col] = _text(value, tokens).re_replace(r"^(-?\d+)\.0+$", r"\1")
            continue
        if kind == "timestamp" and value.type().is_timestamp() and value.type().timezone is not None \
                and not tspec.get("timezone"):
            raise DataError(f"{name}.{col} holds time-zone-aware timestamps ({value.type().timezone}); say which zone "
                            f"to analyse in: tables.{name}.timezone: Asia/Shanghai (or UTC, Europe/London...)")
        if kind == "number":
            parsed, missing = _number(value, tspec, tokens)
        elif kind == "timestamp":
            parsed, missing = _timestamp(value, tspec, tokens)
        elif value.type().is_boolean():
            parsed, missing = value, None
        else:
            s = value.cast("string").lower().strip()
            parsed = (
                s.isin(["1", "true", "t", "yes", "y", "1.0", "是"])
                .ifelse(True, s.isin(["0", "false", "f", "no", "n", "0.0", "", "否"]).ifelse(False, None))
            )
            missing = value.isnull() | s.isin(tokens)
        exprs[col] = parsed
        if missing is not None:
            checks[col] = (value, parsed, missing)
    return exprs, checks


#: a text value made of these characters only is an id as it stands: nothing to trim, no decimal to drop
_PLAIN_ID = r"^[0-9A-Za-z_\-]+$"


def _plain_probes(con, name: str, selected: Mapping[str, Any], tspec: Mapping[str, Any]) -> dict:
    """Per id/text column read as text, an aggregate counting the values that need the full text treatment.

    A value needs it when it has a character beyond letters, digits, ``_``
    and ``-`` (spaces to trim, a ``.0`` to drop, a null token such as
    ``(null)``) or is itself a null token made of those characters (``NA``,
    ``none``, ``-``). A column where none does is passed through as read.
    Only on DuckDB, where the probe rides along the parsing checks' one pass.
    """
    if getattr(con, "name", "") != "duckdb":
        return {}
    import re

    plain_tokens = [t for t in _null_tokens(tspec) if re.fullmatch(_PLAIN_ID[1:-1], t)]
    probes = {}
    canon = CANONICAL_COLUMNS[name]
    for col, value in selected.items():
        if canon[col][1] not in ("id", "text") or not value.type().is_string():
            continue
        dirty = ~value.re_search(_PLAIN_ID)
        if plain_tokens:
            dirty = dirty | value.lower().isin(plain_tokens)
        probes[col] = dirty.fill_null(False).ifelse(1, 0).sum()
        if canon[col][1] == "id":
            probes[f"{ODD_SPACES}{col}"] = value.re_search(_ODD_EDGE_SPACE).fill_null(False).ifelse(1, 0).sum()
            probes[f"{SCIENTIFIC}{col}"] = value.re_search(_SCIENTIFIC_ID).fill_null(False).ifelse(1, 0).sum()
    return probes


#: the probe prefix of ids a spreadsheet wrote in scientific notation (6.22848E+15), their digits lost
SCIENTIFIC = "_scientific_"
#: a load is refused when at least this many ids, and this share of the rows, are in scientific notation; fewer
#: (one odd id among millions, as in the Complete Journey's baskets) are kept with a warning
SCIENTIFIC_MIN = 10
SCIENTIFIC_SHARE = 0.001
_SCIENTIFIC_ID = r"^\s*\d(\.\d+)?[eE]\+?\d+\s*$"


#: the probe (and note) prefix of the ids found with a tab or a Unicode space at an edge, which the typing trims
ODD_SPACES = "_odd_spaces_"


def _check_parse(con, name, raw_table, checks, constants: Mapping[str, Any] | None = None, tspec=None,
                 probes: Mapping[str, Any] | None = None, notes: dict | None = None) -> tuple[int, frozenset]:
    """One pass over the source: its rows, every value that does not parse, and the plain text columns.

    Returns
    -------
    (rows, plain)
        The number of source rows and the id/text columns :func:`_cast_columns`
        may pass through untouched.

    Raises
    ------
    DataError
        Naming the column, how many values fail, examples and the fix.
    """
    constants = constants or {}
    tspec = tspec or {}
    probes = probes or {}
    aggs = {"_rows": raw_table.count()}
    watched = {}
    for i, (col, (value, parsed, missing)) in enumerate(checks.items()):
        kind = CANONICAL_COLUMNS[name][col][1]
        if col in constants:
            if con.execute(parsed.name("v").as_table().limit(1))["v"].isna().iloc[0]:
                raise DataError(f"tables.{name}.constants.{col} = {constants[col]!r} cannot be read as {kind}; fix the value")
            continue
        bad = ~missing.fill_null(True) & parsed.isnull()
        aggs[f"_bad{i}"] = bad.ifelse(1, 0).sum()
        offset = None
        if kind == "timestamp":
            aggs[f"_ancient{i}"] = (parsed.year() < 1900).ifelse(1, 0).sum()
        if kind == "timestamp" and not tspec.get("timezone") and not value.type().is_timestamp():
            text = value.cast("string").strip()
            named = _zone_name(text)
            ambiguous = named.isin(list(AMBIGUOUS_ZONES))
            offset = (text.re_search(_OFFSET) | (named != "")).fill_null(False)
            numeric = text.re_extract(_OFFSET, 1).replace(":", "").nullif("")
            numeric = numeric.isin(["Z", "z"]).ifelse("+0000", numeric)
            aggs[f"_offset{i}"] = offset.ifelse(1, 0).sum()
            aggs[f"_offsets{i}"] = numeric.coalesce(_zone_offset(named), ambiguous.ifelse(named, ibis.null("string"))
                                                    ).nunique()
            aggs[f"_ambiguous{i}"] = ambiguous.fill_null(False).ifelse(1, 0).sum()
            aggs[f"_filled{i}"] = (~missing.fill_null(True)).ifelse(1, 0).sum()
        watched[col] = (i, kind, value, bad, offset, parsed)
    for col, probe in probes.items():
        aggs[f"_dirty_{col}"] = probe
    counts = con.to_pandas(raw_table.aggregate(**aggs)).iloc[0].fillna(0)
    for col, (i, kind, value, bad, offset, parsed) in watched.items():
        n_bad = int(counts[f"_bad{i}"])
        if n_bad:
            examples = con.to_pandas(raw_table.filter(bad).select(v=value.cast("string")).limit(3))["v"].tolist()
            header = value.get_name() if hasattr(value, "get_name") else None
            if header and any(str(e).strip() == str(header).strip() for e in examples):
                raise DataError(f"{name}: the header row appears again inside the file (the {col} column reads "
                                f"{_clip(header, 40)!r} as a value): an export concatenated twice, or a second header "
                                "row; remove the repeated header lines (and any repeated rows), then load again")
            if kind == "timestamp" and all(re.fullmatch(r"\d{10}(\.\d+)?", str(e).strip()) for e in examples):
                fix = f"they look like seconds since 1970: set tables.{name}.ts_format: epoch"
            elif kind == "timestamp" and all(re.fullmatch(r"\d{13}", str(e).strip()) for e in examples):
                fix = f"they look like milliseconds since 1970: set tables.{name}.ts_format: epoch_ms"
            elif kind == "timestamp" and all(re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2}( .*)?", str(e).strip())
                                             for e in examples):
                fix = (f"the years have two digits: set tables.{name}.ts_format to the layout, e.g. '%d/%m/%y' (day "
                       "first), '%m/%d/%y' (month first) or '%y/%m/%d'")
            elif kind == "timestamp":
                fix = (f"give its format in params (tables.{name}.ts_format, e.g. '%d/%m/%Y %H:%M' or '%Y%m%d') "
                       "or fix the source")
            elif kind == "number":
                fix = (f"if they use a decimal comma or a thousands separator, set tables.{name}.decimal: ',' or "
                       f"tables.{name}.thousands; otherwise clean the source column or map another column")
            else:
                fix = "clean the source column or map another column"
            raise DataError(
                f"{name}.{col}: {n_bad:,} value(s) cannot be read as {kind} "
                f"(e.g. {examples}); {fix}"
            )
        if kind == "timestamp" and int(counts.get(f"_ancient{i}", 0)):
            examples = con.to_pandas(raw_table.filter(parsed.year() < 1900).select(v=value.cast("string"))
                                     .limit(3))["v"].tolist()
            raise DataError(f"{name}.{col}: {int(counts[f'_ancient{i}']):,} value(s) read as dates before 1900 (e.g. "
                            f"{[_clip(e, 40) for e in examples]}): the years look cut to two digits; set "
                            f"tables.{name}.ts_format with %y for the year, e.g. '%d/%m/%y' or '%y/%m/%d'")
        if offset is not None and int(counts[f"_ambiguous{i}"]):
            text = value.cast("string").strip()
            example = con.to_pandas(raw_table.filter(_zone_name(text).isin(list(AMBIGUOUS_ZONES)))
                                    .select(v=value.cast("string")).limit(1))["v"].iloc[0]
            abbreviation = re.search(ZONE_SUFFIX, str(example).strip()).group(2)
            raise DataError(
                f"{name}.{col}: {int(counts[f'_ambiguous{i}']):,} time(s) end in {abbreviation} (e.g. "
                f"{_clip(example, 40)!r}), which names several clocks: {AMBIGUOUS_ZONES[abbreviation]}; the kit does not "
                f"guess — say which is the shop's: tables.{name}.timezone: America/Chicago (or Asia/Shanghai, "
                f"Asia/Kolkata...), and times ending in {abbreviation} are read on that zone's clock")
        if (offset is not None and int(counts[f"_offset{i}"]) and int(counts[f"_offsets{i}"]) == 1
                and int(counts[f"_offset{i}"]) == int(counts[f"_filled{i}"])):
            one = con.to_pandas(raw_table.filter(offset).select(v=value.cast("string")).limit(1))["v"].iloc[0]
            found = re.search(_OFFSET, str(one).strip()) or re.search(ZONE_SUFFIX, str(one).strip())
            shared_offset = found.group(1) if found.re.pattern == _OFFSET else found.group(2)
            if notes is not None:
                notes.setdefault("single_offset", {})[col] = shared_offset
            _log.info("%s.%s: every timestamp carries the UTC offset %s: read as that offset's local time (set "
                      "tables.%s.timezone to convert to another zone)", name, col, shared_offset, name)
            offset = None
        if offset is not None and int(counts[f"_offset{i}"]):
            examples = con.to_pandas(raw_table.filter(offset).select(v=value.cast("string")).limit(2))["v"].tolist()
            raise DataError(
                f"{name}.{col}: timestamps carry several UTC offsets (e.g. {examples}), or some have one and some "
                f"none: read as wall-clock time they would match no one clock; say which zone to analyse in: tables.{name}.timezone: Asia/Shanghai (or UTC, "
                "Europe/London...), and every time is converted to it"
            )
    for col in probes:
        found = int(counts[f"_dirty_{col}"]) if col.startswith(SCIENTIFIC) else 0
        if not found:
            continue
        real = col.removeprefix(SCIENTIFIC)
        if found >= max(SCIENTIFIC_MIN, SCIENTIFIC_SHARE * int(counts["_rows"])):
            raise DataError(f"{name}.{real}: {found:,} id(s) are written in scientific "
                            "notation (like 6.22848E+15): a spreadsheet rounded them, so different customers, orders "
                            "or products now share an id; re-export the file with that column formatted as text (in "
                            "Excel: select the column, Format Cells, Text, before saving as CSV)")
        _log.warning(
            "%s.%s: %d id(s) of %d look like scientific notation (6.22848E+15): kept as written; if the export went "
            "through a spreadsheet, re-export that column as text", name, real, found, int(counts["_rows"]))
    plain = frozenset(col for col in probes if not col.startswith((ODD_SPACES, SCIENTIFIC))
                      and int(counts[f"_dirty_{col}"]) == 0)
    if notes is not None:
        notes["odd_spaces"] = {col.removeprefix(ODD_SPACES): int(counts[f"_dirty_{col}"]) for col in probes
                               if col.startswith(ODD_SPACES) and int(counts[f"_dirty_{col}"])}
    return int(counts["_rows"]), plain


def _typed(con, name: str, base, tspec: Mapping[str, Any], *, plain: frozenset = frozenset(),
           with_probes: bool = False, optional: frozenset = frozenset()):
    """The source mapped to canonical names and typed, with the parsing checks (and the plain-column probes)."""
    constants = _check_table_spec(name, tspec)
    mapping = dict(tspec.get("columns") or {})
    selected = _map_columns(name, base, mapping, derive_amount=name == "transactions", constants=constants,
                            optional=optional)
    probes = _plain_probes(con, name, selected, tspec) if with_probes else {}
    for col, value in constants.items():
        # a text literal, parsed and checked like a source value of that column
        selected[col] = ibis.literal(str(value).lower() if isinstance(value, bool) else str(value))
    exprs, checks = _cast_columns(con, name, selected, tspec=tspec, plain=plain)
    typed = base.select(**exprs)
    if name == "transactions" and "amount" not in typed.columns:
        if "unit_price" not in typed.columns:
            raise MissingColumnError(
                "transactions has no column 'amount' (and no 'unit_price' to derive it from); "
                "map one in params: tables.transactions.columns.amount (line revenue) "
                "or tables.transactions.columns.unit_price"
            )
        if "quantity" not in typed.columns:
            raise MissingColumnError(
                "transactions has no column 'amount' and no 'quantity' to multiply 'unit_price' by; map "
                "tables.transactions.columns.amount (line revenue) or tables.transactions.columns.quantity")
        typed = typed.mutate(amount=typed.quantity * typed.unit_price)
    if name == "transactions" and "quantity" not in typed.columns:
        # an export without quantities (a till's amounts, one per line): one item per line
        typed = typed.mutate(quantity=ibis.literal(1.0))
    if name == "transactions" and "order_id" not in typed.columns:
        # no order id in the export (order_id: null): a purchase is a customer's day, the BG/NBD convention
        typed = typed.mutate(order_id=typed.customer_id.fill_null("") + "|" + typed.ts.date().cast("string"))
    if with_probes:
        return typed, checks, probes
    return typed, checks


def _prepare_table(con, name: str, tspec: Mapping[str, Any], *, notes: dict | None = None,
                   optional: frozenset = frozenset()):
    """Read, map and type a table, checking every value parses: one pass over the source, then a lazy table.

    Id and text columns whose values are all plain pass through as read
    (:func:`_plain_probes`); the others are trimmed and cleaned of null
    tokens. ``notes``, when given, receives ``costly`` (why reading the
    typed table again would cost nearly a parse of the source: text columns
    to clean, a text file's numbers and times; then it is worth writing
    once) and ``plain`` (the columns passed through).
    """
    raw, tspec = joined_times(_read_table(con, name, tspec), tspec)
    raw = hashed(fill_down(raw, tspec), tspec)
    try:
        typed, checks, probes = _typed(con, name, raw, tspec, with_probes=True, optional=optional)
    except MissingColumnError:
        only = str(raw.columns[0]) if len(raw.columns) == 1 else ""
        mark = next((d for d in (",", ";", "\t", "|") if d in only), None)
        if mark and not tspec.get("delimiter"):
            paths = tspec.get("path")
            files = [f for p in ([paths] if isinstance(paths, (str, os.PathLike)) else list(paths or []))
                     if not _is_uri(p) for f in source_files(p)]
            last = next((_last_line(files, f.name) for f in files[-1:]), None)
            if last is not None and (last.count(mark) < only.count(mark) or last.count('"') % 2):
                raise DataError(f"{name}: the last line of {files[-1].name} is cut short ({_clip(last, 60)}: "
                                f"{last.count(mark) + 1} of {only.count(mark) + 1} fields"
                                f"{', a quote never closes' if last.count(chr(34)) % 2 else ''}): the export or the "
                                "copy was interrupted; export or copy the file again (or delete that line)") from None
            shown = {"\t": "'\\t'", "|": "'|'"}.get(mark, repr(mark))
            raise MissingColumnError(
                f"{name}: the file was read as one column ({_clip(only, 60)}): the reader could not tell its "
                f"delimiter; set tables.{name}.delimiter: {shown} (a quote that never closes, as in a last line "
                "cut short, is the usual cause)") from None
        below = _header_below(name, tspec)
        if below is None:
            raise
        raise MissingColumnError(f"{name}: the header is line {below + 1} of the file, below {below} line(s) of "
                                 f"title, so the columns read as {_clip(', '.join(map(str, raw.columns)), 80)}; set "
                                 f"tables.{name}.skip_rows: {below}") from None
    n, plain = _check_parse(con, name, raw, checks, tspec.get("constants") or {}, tspec, probes, notes=notes)
    if n == 0:
        raise DataError(f"{name} is empty (0 rows); point tables.{name}.path at a file with data")
    if plain:
        typed = _typed(con, name, raw, tspec, plain=plain, optional=optional)[0]
    if notes is not None:
        canon = CANONICAL_COLUMNS[name]
        costly = []
        texts = [c for c in typed.columns if c in canon and canon[c][1] in ("id", "text") and c not in plain]
        if texts:
            costly.append(f"text columns to clean: {texts}")
        parsed = [c for c in checks if c not in (tspec.get("constants") or {})]
        if parsed:
            costly.append(f"values parsed from text: {parsed}")
        notes.update(costly=costly, plain=plain)
    return typed


def _quoted(column: str) -> str:
    return '"' + str(column).replace('"', '""') + '"'


def joined_times(raw, tspec: Mapping[str, Any]):
    """A time written in two columns (``ts: [Date, Time]``) as one text column, 'date time', and the spec mapping it.

    The date (a typed date or timestamp is taken at its day) and the time of day are trimmed and joined by a
    space in the engine; a blank time leaves the date alone. The new column is named after the two
    ('Date Time'), and ``tspec``'s ``columns`` point at it, so the rest of the reading path sees one column.

    Returns
    -------
    (ibis.Table, Mapping)
        ``raw`` and ``tspec`` themselves when no column is mapped to two.
    """
    mapping = tspec.get("columns") or {}
    joined = {c: v for c, v in mapping.items() if isinstance(v, (list, tuple))}
    if not joined:
        return raw, tspec
    new = dict(mapping)
    for col, parts in joined.items():
        missing = [p for p in parts if p not in raw.columns]
        if missing:
            raise MissingColumnError(f"tables has no column {missing[0]!r} for {col}: {list(parts)}; map "
                                     f"columns.{col} to the date's and the time's columns. Columns present: "
                                     f"{', '.join(map(str, raw.columns))}")
        day, clock = raw[parts[0]], raw[parts[1]]
        if day.type().is_timestamp() or day.type().is_date():
            day = day.date()
        day = _trim(day.cast("string"))
        clock = _trim(clock.cast("string"))
        value = day.concat((clock.isnull() | (clock == "")).ifelse("", " " + clock))
        target = " ".join(map(str, parts))
        while target in raw.columns:
            target += "_"
        raw, new[col] = raw.mutate(**{target: value}), target
    return raw, {**tspec, "columns": new}


def fill_down(raw, tspec: Mapping[str, Any]):
    """The source table with the columns of ``fill_down`` carried down: a blank cell takes the last filled value
    above it, in file order.

    Exports that write an order's fields once (Shopify's orders export, Odoo's
    sale-order lines) leave them blank on the order's other rows;
    ``tables.<table>.fill_down: [customer_id, ts, status]`` gives each row
    its order's values. The reader numbers the rows as the file holds them
    (files and sheets in their order) and the engine carries the values
    down in one window, ``last_value(... IGNORE NULLS) OVER (ORDER BY row)``:
    no loop over rows. Blank means empty or only spaces.

    Parameters
    ----------
    raw : ibis.Table
        The table as read (source column names).
    tspec : mapping
        The table's spec: ``fill_down`` lists canonical names, read through
        its ``columns`` mapping.

    Returns
    -------
    ibis.Table
        ``raw`` itself when nothing is to be filled, else a new table with
        the same columns.
    """
    wanted = list(tspec.get("fill_down") or [])
    if not wanted:
        return raw
    mapping = tspec.get("columns") or {}
    sources = [str(mapping[c]) for c in wanted if mapping.get(c) is not None and str(mapping[c]) in raw.columns]
    if not sources:
        return raw
    row = "_crm_kit_file_row"
    filled = []
    for col in sources:
        q = _quoted(col)
        blank = f"NULLIF(TRIM(CAST({q} AS VARCHAR)), '') IS NULL"
        filled.append(f"CASE WHEN {blank} THEN last_value(CASE WHEN {blank} THEN NULL ELSE {q} END IGNORE NULLS) "
                      f"OVER (ORDER BY {row} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) ELSE {q} END AS {q}")
    # row_number() OVER () numbers the rows in the order the scan delivers them, which is the files' order
    # (the engine keeps insertion order); the window then orders by that number
    query = (f"SELECT * EXCLUDE ({row}) REPLACE ({', '.join(filled)}) FROM "
             f"(SELECT *, row_number() OVER () AS {row} FROM _crm_kit_unfilled)")
    return raw.alias("_crm_kit_unfilled").sql(query, dialect="duckdb")


def hashed(raw, tspec: Mapping[str, Any]):
    """The source table with the id columns of ``hashed`` replaced by a digest: the first 16 hex digits of the
    SHA-256 of the trimmed, lower-cased value (blank stays blank), computed by the engine.

    An export whose only customer key is an email (Shopify's orders export) is read with
    ``hashed: [customer_id]``: the same address gives the same customer, and the address itself never enters
    the store, a report or an export.
    """
    wanted = list(tspec.get("hashed") or [])
    mapping = tspec.get("columns") or {}
    sources = [str(mapping[c]) for c in wanted if mapping.get(c) is not None and str(mapping[c]) in raw.columns]
    if not sources:
        return raw
    digests = []
    for col in sources:
        q = _quoted(col)
        digests.append(f"CASE WHEN NULLIF(TRIM(CAST({q} AS VARCHAR)), '') IS NULL THEN NULL "
                       f"ELSE left(sha256(lower(trim(CAST({q} AS VARCHAR)))), 16) END AS {q}")
    return raw.alias("_crm_kit_unhashed").sql(f"SELECT * REPLACE ({', '.join(digests)}) FROM _crm_kit_unhashed",
                                              dialect="duckdb")


def _header_below(name: str, tspec: Mapping[str, Any]) -> int | None:
    """The number of lines above a text file's real header (a title, a blank line), or None when it starts with it.

    The header is the first of the first 30 lines that names a column the
    table's mapping asks for (or a canonical name when nothing is mapped).
    """
    import csv

    if tspec.get("skip_rows") or tspec.get("path") is None or tspec.get("format", "csv") != "csv":
        return None
    try:
        files = source_files(tspec["path"] if isinstance(tspec["path"], (str, os.PathLike)) else tspec["path"][0])
        if not files or _sniff(files[0]) != "text":
            return None
        sample = _open_text_sample(files[0], "text", 1 << 16)
        text = sample.decode(tspec.get("encoding") or detect_encoding(sample) or "utf-8", errors="replace")
    except (OSError, DataError, LookupError):
        return None
    wanted = {_header_key(v) for v in (tspec.get("columns") or {}).values() if v} or \
        {_header_key(c) for c in CANONICAL_COLUMNS[name]}
    delimiter = tspec.get("delimiter") if tspec.get("delimiter") not in (None, "whitespace") else None
    lines = text.splitlines()[:30]
    for i, line in enumerate(lines):
        try:
            cells = next(csv.reader([line], delimiter=delimiter or max(",;\t|", key=line.count)))
        except (csv.Error, StopIteration):
            continue
        if len({_header_key(c) for c in cells} & wanted) >= min(2, len(wanted)):
            return i if i > 0 else None
    return None


def _last_line(files: Sequence[Path], name: str) -> str | None:
    """The last non-empty line of the text file called ``name`` among ``files`` (from its last 64 KB), or None."""
    path = next((Path(f) for f in files if Path(f).name == name), None)
    if path is None or not path.exists() or _sniff(path) != "text":
        return None
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - (1 << 16)))
        tail = fh.read().decode("utf-8", errors="replace").rstrip("\r\n")
    return tail.rsplit("\n", 1)[-1].strip()


def _is_last_line(files: Sequence[Path], name: str, line: str) -> bool:
    """Whether ``line`` is the last non-empty line of the file called ``name``."""
    return _last_line(files, name) == line.strip()


def _clip(text: str, limit: int = 120) -> str:
    """One line of a value, at most ``limit`` characters (a 3 MB cell never fills a message)."""
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= limit else line[:limit] + f"… ({len(line):,} characters)"


def engine_error(exc: BaseException, name: str, files: Sequence[Path] = (), fmt: str = "") -> DataError:
    """The kit's one line for an engine's (DuckDB's, pyarrow's) error while a table is read.

    What went wrong, where (the file, the line), and the option that fixes
    it; the engine's own text is cut to its first line and at most
    120 characters of a value are quoted.

    Parameters
    ----------
    exc
        The engine's exception.
    name
        The table being read (``transactions``, ``customers``...).
    files
        The table's files, to name one when the engine does not.
    fmt
        The format the table was read as (``csv``, ``parquet``...).
    """
    text = str(exc)
    found = re.search(r"^\s*file = (.+)$", text, re.M) or re.search(r'(?:file|File) "([^"]+)"', text)
    file = Path(found.group(1).strip()).name if found else (files[0].name if len(files) == 1 else "")
    line = re.search(r"CSV Error on Line: (\d+)", text)
    where = (file or f"the {name} file") + (f", line {int(line.group(1)):,}" if line else "")
    opt = f"tables.{name}"
    size = re.search(r"Maximum line size of (\d+) bytes exceeded\. Actual Size:\s*(\d+)", text)
    if size:
        need = -(-int(size.group(2)) * 2 // 1_000_000) * 1_000_000
        return DataError(f"{name}: {file or 'the ' + name + ' file'} has a line of {int(size.group(2)):,} bytes, over the reader's limit of "
                         f"{int(size.group(1)):,} (a very long text cell); set {opt}.max_line_size: {need}")
    if "Invalid unicode" in text or "not utf-8" in text.lower() or isinstance(exc, UnicodeDecodeError):
        return DataError(f"{name}: {where} holds bytes that are not UTF-8, though the start of the file is; set "
                         f"{opt}.encoding to the file's encoding (gb18030, cp1252, latin-1...), or "
                         f"{opt}.encoding_errors: replace to read those bytes as \ufffd")
    fields = re.search(r"Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)", text)
    if fields:
        original = re.search(r"Original Line:\s*(.*)", text)
        shown = f" ({_clip(original.group(1), 80)})" if original else ""
        if original and int(fields.group(2)) < int(fields.group(1)) and _is_last_line(files, file, original.group(1)):
            return DataError(f"{name}: the last line of {file} is cut short ({fields.group(2)} of {fields.group(1)} "
                             f"fields{shown}): the export or the copy was interrupted; export or copy the file "
                             "again (or delete that line)")
        return DataError(f"{name}: {where} has {fields.group(2)} fields where the header has {fields.group(1)}"
                         f"{shown}; if a text holds the delimiter, quote it in the export or set {opt}.quote / "
                         f"{opt}.escape to the characters the file uses, or set {opt}.delimiter")
    if "Error when sniffing" in text:
        last = _last_line(files, file)
        if last is not None and last.count('"') % 2:
            return DataError(f"{name}: the last line of {file} opens a quote that never closes "
                             f"({_clip(last, 60)}): the line is cut short — the export or the copy was interrupted; "
                             "export or copy the file again (or delete that line)")
        return DataError(f"{name}: the reader could not tell how {file or 'the file'} is written; set "
                         f"{opt}.delimiter, {opt}.quote ('' for none) and {opt}.header, or check that it is a "
                         "delimited text file")
    if "Unterminated quoted field" in text or "unterminated quote" in text.lower():
        return DataError(f"{name}: {where} opens a quoted field that never closes (a line cut short, or a stray "
                         f"quote); re-export the file whole, or set {opt}.quote: '' if quotes are plain characters")
    if fmt == "parquet" or "parquet" in text.lower() or "decompression" in text.lower():
        return DataError(f"{name}: {where} is a damaged Parquet file ({_clip(text.split(':', 1)[-1], 80)}); copy or "
                         "export it again (the kit cannot read past a broken page)")
    if "Schema mismatch" in text:
        column = re.search(r'Column with name: "([^"]+)"', text)
        current = re.search(r"Current file: (.+)", text)
        return DataError(f"{name}: the part {Path(current.group(1).strip()).name if current else '?'} has other "
                         f"columns than the first part{' (no ' + column.group(1) + ')' if column else ''}; make the "
                         "parts' headers agree, or read them as separate tables")
    first = _clip(re.sub(r"^[\w ]*Error:\s*", "", text.strip()) or type(exc).__name__)
    return DataError(f"{name}: cannot read {where}{' as ' + fmt if fmt else ''} ({first}); check {opt}.path and, for "
                     "text files, delimiter, header, skip_rows and encoding")
