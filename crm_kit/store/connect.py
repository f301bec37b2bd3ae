"""The engine connection: DuckDB with its memory cap and spill folder, or a Spark session.

Every step of the reading path (:mod:`~crm_kit.store.source` → :mod:`~crm_kit.store.convert` →
:mod:`~crm_kit.store.read` → :mod:`~crm_kit.store.derive` → :mod:`~crm_kit.store.cast`) runs its queries on the connection made here: the
share of the machine's memory the engine may hold (less when a run executes notebooks side by side), the
scratch and spill folders (a read-only cache costs a warning, never the load), stale spill folders of ended
processes removed, and Spark's session with its quiet logging.
"""

from __future__ import annotations

import itertools
import logging
import os
from pathlib import Path
from typing import Any, Mapping

import ibis

from ..errors import ParameterError

_log = logging.getLogger("crm_kit.store")

__all__ = ["MEMORY_SHARE", "SIDE_BY_SIDE_SHARE", "SIDE_BY_SIDE_VARIABLE", "SPARK_DEFAULTS", "engine_memory", "memory_share", "scratch_dir"]


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
