"""The cleaned-store cache: one DuckDB file per spec and set of input files."""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

from ..config import store_cache_dir
from .model import Store
from .read import _is_uri, source_files

__all__: list[str] = []  # used through crm_kit.store.load


_CACHE_VERSION = "3"


def _quoted(path) -> str:
    """A file path as an SQL string literal (a quote in a folder name cannot end the statement)."""
    return "'" + str(path).replace("'", "''") + "'"


def _cache_key(spec: Mapping[str, Any]) -> str | None:
    """A key for the cleaned store: the spec, each source file's path, size and modification time.

    Only file sources on the embedded DuckDB engine are cached (``cache: false``
    in the spec turns it off); a changed input file gives a new key, so a stale
    cache is never read.
    """
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    engine = spec.get("engine") or {}
    if not spec.get("cache", True) or engine.get("backend", "duckdb") != "duckdb" or engine.get("database"):
        return None
    files = []
    for name, tspec in sorted((spec.get("tables") or {}).items()):
        if name == "personal":
            continue
        paths = tspec.get("path")
        if paths is None:
            return None
        paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        responses = tspec.get("responses") if isinstance(tspec.get("responses"), Mapping) else {}
        if responses:
            if responses.get("path") is None:
                return None
            paths.append(responses["path"])
        for p in paths:
            if _is_uri(p):
                return None  # remote data: no local file to key a cache on
            for rp in source_files(p):
                st = rp.stat()
                files.append((name, str(rp), st.st_size, st.st_mtime_ns))
    try:
        kit = version("crm-kit")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        kit = "dev"
    payload = json.dumps(
        {"v": _CACHE_VERSION, "kit": kit, "files": files,
         "spec": {k: spec.get(k) for k in ("tables", "cleaning", "window")}},
        sort_keys=True, default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _open_cached(con, key: str, spec: Mapping[str, Any]) -> Store | None:
    path = store_cache_dir() / f"{key}.duckdb"
    if not path.exists():
        return None
    alias = f"store_{key}"
    try:
        con.raw_sql(f"ATTACH {_quoted(path)} AS {alias} (READ_ONLY)")
    except Exception:  # noqa: BLE001 - already attached, or a broken file: rebuild instead
        attached = {r[0] for r in con.raw_sql("SELECT database_name FROM duckdb_databases()").fetchall()}
        if alias not in attached:
            return None
    present = set(con.list_tables(database=(alias, "main")))

    def frame(name):
        return con.to_pandas(con.table(name, database=alias)) if name in present else None

    return Store(
        con=con,
        transactions=con.table("transactions_clean", database=alias),
        all_lines=con.table("all_lines_clean", database=alias),
        customers=frame("customers"),
        products=frame("products"),
        contacts=frame("contacts"),
        cleaning_report=frame("cleaning_report"),
        non_products=frame("non_products"),
        coverage=frame("coverage"),
        spec=dict(spec),
    )


def _write_cache(store: Store, key: str) -> None:
    """Write the cleaned tables to ``data/cache/stores/<key>.duckdb`` (atomically, under a lock)."""
    import fcntl

    folder = store_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{key}.duckdb"
    with open(folder / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if final.exists():
            return
        tmp = folder / f".{key}.{os.getpid()}.tmp"
        if tmp.exists():
            tmp.unlink()
        con = store.con
        con.raw_sql(f"ATTACH {_quoted(tmp)} AS cache_out")
        try:
            for name, expr in (("transactions_clean", store.transactions), ("all_lines_clean", store.all_lines)):
                # materialise in the session first: that registers any in-memory frame the expression joins
                staged = con.create_table(f"_stage_{name}", expr, temp=True, overwrite=True)
                con.raw_sql(f"CREATE TABLE cache_out.main.{name} AS SELECT * FROM {staged.get_name()}")
                con.drop_table(f"_stage_{name}", force=True)
            raw = con.con
            for name, df in (("customers", store.customers), ("products", store.products),
                             ("contacts", store.contacts), ("cleaning_report", store.cleaning_report),
                             ("non_products", store.non_products), ("coverage", store.coverage)):
                if df is not None:
                    raw.register("_crm_kit_frame", df)
                    raw.execute(f"CREATE TABLE cache_out.main.{name} AS SELECT * FROM _crm_kit_frame")
                    raw.unregister("_crm_kit_frame")
        except Exception:
            con.raw_sql("DETACH cache_out")
            tmp.unlink(missing_ok=True)
            raise
        con.raw_sql("DETACH cache_out")
        tmp.rename(final)


