"""The cleaned-store cache: one DuckDB file per spec and set of input files."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Mapping

import ibis
import numpy as np
import pandas as pd

from ..config import store_cache_dir
from .connect import _process_runs
from .model import Store
from .money import money_sum, units_sum
from .source import _is_uri, sampled_digest, source_files

__all__ = ["PARQUET_BACKENDS", "parquet_store", "remove_unreachable_stores", "store_calendar"]

_log = logging.getLogger("crm_kit.store")


_CACHE_VERSION = "10"  # 10: the order table sums units exactly (units_sum)

#: the engines that read a cleaned store as Parquet (:func:`parquet_store`) instead of cleaning the source
#: themselves: the store of a spec's local files is cleaned once by the embedded DuckDB, whatever the engine
PARQUET_BACKENDS = ("pyspark",)


def _quoted(path) -> str:
    """A file path as an SQL string literal (a quote in a folder name cannot end the statement)."""
    return "'" + str(path).replace("'", "''") + "'"


def _kit_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("crm-kit")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "dev"


def _cache_inputs(spec: Mapping[str, Any]) -> dict | None:
    """What a cleaned store depends on, as plain JSON; None when the spec's store is not cached.

    The cache layout and kit versions, each source file's table, path, size,
    modification time and content digest (:func:`sampled_digest`; a table's own files and its responses file), and
    the spec's tables, cleaning and window. :func:`_cache_key` hashes it and
    it is kept beside the cached store as its manifest, so that
    :func:`explain_cache_miss` compares the same listing. Only file sources
    are cached: on the embedded DuckDB engine, and on the engines of
    :data:`PARQUET_BACKENDS`, which read the same store exported as Parquet
    (:func:`parquet_store`); the engine is not part of the key, so every engine
    reads the store one cleaning wrote (``cache: false`` in the spec turns it off).
    """
    engine = spec.get("engine") or {}
    backend = engine.get("backend", "duckdb")
    if not spec.get("cache", True) or backend not in ("duckdb", *PARQUET_BACKENDS) or engine.get("database"):
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
                files.append([name, str(rp), st.st_size, st.st_mtime_ns, sampled_digest(rp, st.st_size)])
    inputs = {"v": _CACHE_VERSION, "kit": _kit_version(), "files": files,
              "spec": {k: spec.get(k) for k in ("tables", "cleaning", "window")}}
    return json.loads(json.dumps(inputs, default=str))


def _cache_key(spec: Mapping[str, Any]) -> str | None:
    """A key for the cleaned store (a hash of :func:`_cache_inputs`), or None when it is not cached.

    A changed input file gives a new key, so a stale cache is never read.
    """
    import hashlib

    inputs = _cache_inputs(spec)
    if inputs is None:
        return None
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:24]


def explain_cache_miss(spec: Mapping[str, Any]) -> str:
    """Why no cleaned store was in the cache for this spec, compared with the nearest one that is.

    The nearest is the most recent cached store read from the same
    transactions file(s). The answer names what differs: a file's size or
    time (the file changed since), the cleaning rules, the window, the
    table mappings, or the kit's version — or says no store of these files
    was cached before.
    """
    inputs = _cache_inputs(spec)
    if inputs is None:
        return "this store is not cached (cache: false, a database or a remote source): reading and cleaning it"
    mine = {f[1] for f in inputs["files"] if f[0] == "transactions"}
    candidates = []
    for manifest in store_cache_dir().glob("*.json"):
        try:
            other = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        if {f[1] for f in other.get("files", []) if f[0] == "transactions"} == mine:
            candidates.append((manifest.stat().st_mtime, other))
    if not candidates:
        return "no cleaned store of these files in the cache yet: reading and cleaning them (written once)"
    other = max(candidates, key=lambda c: c[0])[1]
    reasons = []
    before = {f[1]: f for f in other["files"]}
    for f in inputs["files"]:
        old = before.get(f[1])
        if old is None:
            reasons.append(f"{Path(f[1]).name} is new")
        elif old[2:] != f[2:]:
            reasons.append(f"{Path(f[1]).name} changed (size {old[2]:,} -> {f[2]:,} bytes, a new modification time "
                           "or other content)")
    for part in ("cleaning", "window", "tables"):
        if other["spec"].get(part) != inputs["spec"].get(part):
            reasons.append(f"the data spec's {part} changed")
    if other.get("kit") != inputs["kit"] or other.get("v") != inputs["v"]:
        reasons.append(f"the kit changed ({other.get('kit')} -> {inputs['kit']}, cache layout {other.get('v')} -> "
                       f"{inputs['v']})")
    return "cache miss: " + ("; ".join(reasons) or "the cached store was removed") + "; reading and cleaning again"


def _unreachable(manifest: Mapping[str, Any]) -> str | None:
    """Why no spec can reach the cached store of this manifest any more, or None when one still can.

    Its key hashed the kit's cache layout and version and each input file's
    size and modification time: a store written by another layout or
    version, or from a file that has since changed or gone, is never served
    again.
    """
    current = {"v": _CACHE_VERSION, "kit": _kit_version()}
    for field, value in current.items():
        if manifest.get(field) != value:
            return f"written by cache layout {manifest.get('v')} / kit {manifest.get('kit')}"
    for _table, path, size, mtime_ns, *digest in manifest.get("files", []):
        try:
            st = Path(path).stat()
        except OSError:
            return f"{Path(path).name} is gone"
        if (st.st_size, st.st_mtime_ns) != (size, mtime_ns):
            return f"{Path(path).name} changed since"
        with contextlib.suppress(OSError):
            if digest and sampled_digest(path, st.st_size) != digest[0]:
                return f"{Path(path).name} changed since (same size and time, other content)"
    return None


def remove_unreachable_stores(folder: Path | None = None, *, keep: str | None = None) -> list[tuple[Path, str]]:
    """Remove the cached stores no spec can reach any more, and the half-written ones of dead processes.

    A monthly run on a new export writes a new cleaned store (gigabytes at
    retail scale) and the store of last month's file is never read again:
    its key holds that file's size and time. Stores whose manifest shows an
    input file changed or gone, or another cache layout or kit version, are
    removed, each under its own lock (a store being written is left); so
    are ``.<key>.<pid>.tmp`` files of processes killed while writing. A
    store without a manifest, or whose files are all unchanged (another
    cleaning, window or mapping of the same files), is kept. A process
    still reading a removed store keeps reading it (the file goes when it
    closes).

    Parameters
    ----------
    folder
        The stores folder (default: the cache's).
    keep
        A key never removed (the store just written).

    Returns
    -------
    list of (path, reason)
        What was removed and why.
    """
    import fcntl
    import re
    import shutil

    folder = Path(folder) if folder is not None else store_cache_dir()
    removed: list[tuple[Path, str]] = []
    try:
        manifests = sorted(folder.glob("*.json"))
        temporaries = sorted(folder.glob(".*.tmp"))
    except OSError:
        return removed
    for tmp in temporaries:
        match = re.fullmatch(r"\.([\w-]+)\.(\d+)\.tmp", tmp.name)
        if match and int(match.group(2)) != os.getpid() and not _process_runs(int(match.group(2))):
            try:
                if tmp.is_dir():  # a Parquet export cut short
                    shutil.rmtree(tmp)
                tmp.unlink(missing_ok=True)
                tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)  # DuckDB's log beside it, if any
            except OSError:
                continue
            removed.append((tmp, f"half-written by process {match.group(2)}, which no longer runs"))
    for manifest_path in manifests:
        key = manifest_path.stem
        store = folder / f"{key}.duckdb"
        if key == keep or not store.exists():
            continue
        try:
            why = _unreachable(json.loads(manifest_path.read_text()))
        except (OSError, ValueError, TypeError):
            continue  # not a manifest the kit wrote
        if why is None:
            continue
        try:
            with open(folder / f".{key}.lock", "w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # being written or removed by another process
                shutil.rmtree(folder / f"{key}.parquet", ignore_errors=True)  # its Parquet export, if any
                for path in (store, folder / f"{key}.duckdb.wal", manifest_path, folder / f".{key}.lock"):
                    path.unlink(missing_ok=True)
        except OSError:
            continue  # a cache folder this user may not change: the store stays, the load goes on
        removed.append((store, why))
    return removed


def _open_cached(con, key: str, spec: Mapping[str, Any]) -> Store | None:
    path = store_cache_dir() / f"{key}.duckdb"
    if not path.exists():
        return None
    alias = f"store_{key}"
    try:
        con.raw_sql(f"ATTACH {_quoted(path)} AS {alias} (READ_ONLY)")
    except Exception as exc:  # noqa: BLE001 - already attached, or a broken file: rebuild instead
        attached = {r[0] for r in con.raw_sql("SELECT database_name FROM duckdb_databases()").fetchall()}
        if alias not in attached:
            # a file DuckDB cannot open (emptied, cut short, overwritten): removed, so the store is written again
            _log.warning("the cached store %s is unreadable (%s): it is removed and rebuilt", path.name,
                         str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__)
            with contextlib.suppress(OSError):
                path.unlink()
                path.with_name(path.name + ".wal").unlink(missing_ok=True)
            return None
    present = set(con.list_tables(database=(alias, "main")))
    if not {"all_lines_clean", "cleaning_report"} <= present:
        # an emptied or half-deleted store (a disk cleaner, a copy cut short): rebuilt, never an error on every run
        _log.warning("the cached store %s is unreadable (tables missing): it is removed and rebuilt", path.name)
        with contextlib.suppress(Exception):
            con.raw_sql(f"DETACH {alias}")
        with contextlib.suppress(OSError):
            path.unlink()
        return None

    def frame(name):
        return con.to_pandas(con.table(name, database=alias)) if name in present else None

    all_lines = con.table("all_lines_clean", database=alias)
    return Store(
        con=con,
        transactions=all_lines.filter(all_lines.customer_id.notnull()),
        all_lines=all_lines,
        customers=frame("customers"),
        products=frame("products"),
        contacts=frame("contacts"),
        cleaning_report=frame("cleaning_report"),
        non_products=frame("non_products"),
        coverage=frame("coverage"),
        spec=dict(spec),
        orders=con.table("orders_clean", database=alias) if "orders_clean" in present else None,
    )


@contextmanager
def _cache_writer(con, key: str, spec: Mapping[str, Any] | None = None):
    """The database to write a cleaned store into: ``cache_out``, renamed to ``<key>.duckdb`` on success.

    Held under a lock, so two processes loading the same store write it
    once; yields ``None`` when the cache already holds it. A manifest of
    the inputs (``<key>.json``) is kept beside it to explain later misses. On an error the
    half-written file is removed, and nothing stale can be read.
    """
    import fcntl

    folder = store_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / f".{key}.lock", "w")
    except OSError as exc:
        # a read-only cache folder, or a cache path that is a file: the run goes on without the cache
        _log.warning("the store cache %s cannot be written (%s): the store is cleaned in memory and not cached; "
                     "set CRM_KIT_CACHE to a folder you can write, or cache: false in the data spec to say so",
                     folder, exc.strerror or exc)
        yield ""
        return
    final = folder / f"{key}.duckdb"
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if final.exists():
            yield None
            return
        tmp = folder / f".{key}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        con.raw_sql(f"ATTACH {_quoted(tmp)} AS cache_out")
        try:
            yield "cache_out"
        except BaseException:
            with contextlib.suppress(Exception):  # a full disk may have left it detached already
                con.raw_sql("DETACH cache_out")
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
            raise
        try:  # detaching checkpoints the file: a full disk shows here too
            con.raw_sql("DETACH cache_out")
            if spec is not None:
                (folder / f"{key}.json").write_text(json.dumps(_cache_inputs(spec), indent=1))
            tmp.rename(final)
        except BaseException:
            with contextlib.suppress(Exception):
                con.raw_sql("DETACH cache_out")
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
            raise
    for path, why in remove_unreachable_stores(folder, keep=key):
        _log.info("removed %s from the store cache: %s", path.name, why)


def _write_lines(con, expr, database: str | None):
    """The cleaned lines written once: into the cache database when there is one, else a session table."""
    if database is None:
        from .clean import _materialise

        return _materialise(con, "all_lines_clean", expr)
    con.raw_sql(f"CREATE TABLE {database}.main.all_lines_clean AS {con.compile(expr)}")
    return con.table("all_lines_clean", database=database)


#: the engines that get an order table: they have session tables to write it into (Spark has views only, and a
#: view of the order table would re-aggregate the lines on every query)
ORDER_TABLE_BACKENDS = ("duckdb", "postgres")

#: at most this many 64-bit category masks in the order table (256 categories); beyond, counts read the lines
MAX_CATEGORY_MASKS = 4


def _category_index(con, lines):
    """The lines with ``category_index`` (rank of the category in sorted order) and the names of the masks it needs."""
    categories = lines.select("category").distinct().filter(lambda x: x.category.notnull())
    n = int(con.execute(categories.count()))
    if n == 0 or n > 64 * MAX_CATEGORY_MASKS:
        return lines, []
    # at most 256 names: numbered here, not by a window over the engine's table with no partition
    names = sorted(con.to_pandas(categories)["category"].tolist())
    index = ibis.memtable(pd.DataFrame({"category": names, "category_index": np.arange(n, dtype="int64")}),
                          schema={"category": categories.schema()["category"], "category_index": "int64"})
    lines = lines.left_join(index, "category").drop("category_right")
    return lines, [f"categories_{k}" for k in range((n + 63) // 64)]


def _write_orders(con, lines, database: str | None):
    """The order table (:attr:`Store.orders`) of the cleaned customer lines, written beside them.

    One row per customer and order: ``ts`` and ``ts_last`` (its first and
    last line's time), ``day``, ``amount`` (sales), ``quantity`` (items)
    and ``lines``, and ``is_return`` when the store keeps returns (every
    line of the order a return: no visit); a customer's visits are then
    its rows (its purchase rows), counted without a DISTINCT. When the lines carry a category (at most
    :data:`MAX_CATEGORY_MASKS` x 64 of them), ``categories_0``, ... are bit
    masks of the order's categories (bit ``i`` of mask ``k`` = the
    ``64k + i``-th category in sorted order), so that the distinct
    categories of any set of orders are the set bits of their OR. Built
    only when every order lies within one day, so that any range of whole
    days selects the same purchases from it as from the lines; otherwise
    (and on engines other than :data:`ORDER_TABLE_BACKENDS`) ``None``, and
    queries read the lines. The category masks are DuckDB's only.
    """
    backend = getattr(con, "name", "")
    if backend not in ORDER_TABLE_BACKENDS:
        return None
    t = lines.filter(lines.customer_id.notnull())
    # the masks are unsigned 64-bit integers, which only DuckDB has; elsewhere category counts read the lines
    t, masks = _category_index(con, t) if "category" in t.columns and backend == "duckdb" else (t, [])
    aggs = dict(ts=t.ts.min(), ts_last=t.ts.max(), amount=money_sum(t.amount), quantity=units_sum(t.quantity), lines=t.count())
    returned = ["is_return"] if "is_return" in t.columns else []
    if returned:
        # an order of returns only (a RET- order, a refund alone) is no visit; an order with one purchase line is
        aggs["is_return"] = t.is_return.all()
    if masks:
        for k, name in enumerate(masks):
            bit = ibis.literal(1, "uint64") << (t.category_index % 64).cast("uint64")
            aggs[name] = ((t.category_index // 64) == k).ifelse(bit, ibis.literal(0, "uint64")).bit_or()
    orders = t.group_by(["customer_id", "order_id"]).aggregate(**aggs)
    staged = con.create_table("_orders_staged", orders, temp=True, overwrite=True)
    try:
        spanning = con.execute(staged.filter(staged.ts.date() != staged.ts_last.date()).count())
        if spanning:
            return None
        select = staged.select("customer_id", "order_id", day=staged.ts.date(), ts=staged.ts, ts_last=staged.ts_last,
                               amount=staged.amount, quantity=staged.quantity, lines=staged.lines,
                               **{name: staged[name] for name in returned},
                               **{name: staged[name].fill_null(0) for name in masks})
        if database is None:
            return con.create_table("orders_clean", select, temp=True, overwrite=True)
        con.raw_sql(f"CREATE TABLE {database}.main.orders_clean AS {con.compile(select)}")
        return con.table("orders_clean", database=database)
    finally:
        con.drop_table("_orders_staged", force=True)


def _write_frames(store: Store, database: str) -> None:
    """The store's small tables (customers, products, contacts, what cleaning did) into the cache database."""
    raw = store.con.con
    for name, df in (("customers", store.customers), ("products", store.products),
                     ("contacts", store.contacts), ("cleaning_report", store.cleaning_report),
                     ("non_products", store.non_products), ("coverage", store.coverage)):
        if df is not None:
            raw.register("_crm_kit_frame", df)
            raw.execute(f"CREATE TABLE {database}.main.{name} AS SELECT * FROM _crm_kit_frame")
            raw.unregister("_crm_kit_frame")


def parquet_store(con, key: str) -> Path | None:
    """The cleaned store of ``key`` as Parquet, for the engines that read files: its folder, exported once.

    ``<key>.parquet/`` beside ``<key>.duckdb`` holds ``lines.parquet``
    (:attr:`Store.all_lines`) and, when the store has one, ``orders.parquet``
    (:attr:`Store.orders` without the category masks: unsigned integers, which
    few engines have). ``con`` is a DuckDB connection with the cached store
    attached (:func:`_open_cached`). Exported under the store's lock into a
    temporary folder renamed when complete, so a reader never sees half a
    store and a second process waits and reads it. None when the cache folder
    cannot be written.
    """
    import fcntl
    import shutil

    folder = store_cache_dir()
    final = folder / f"{key}.parquet"
    if (final / "lines.parquet").exists():
        return final
    alias = f"store_{key}"
    try:
        lock = open(folder / f".{key}.lock", "w")
    except OSError as exc:
        _log.warning("the store cache %s cannot be written (%s): the engine cleans the store itself", folder,
                     exc.strerror or exc)
        return None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / "lines.parquet").exists():
            return final
        tmp = folder / f".{key}-parquet.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir(parents=True)
            con.raw_sql(f"COPY (SELECT * FROM {alias}.main.all_lines_clean) TO {_quoted(tmp / 'lines.parquet')} "
                        "(FORMAT parquet)")
            if "orders_clean" in set(con.list_tables(database=(alias, "main"))):
                columns = [c for c in con.table("orders_clean", database=alias).columns
                           if not c.startswith("categories_")]
                listed = ", ".join(f'"{c}"' for c in columns)
                con.raw_sql(f"COPY (SELECT {listed} FROM {alias}.main.orders_clean) TO "
                            f"{_quoted(tmp / 'orders.parquet')} (FORMAT parquet)")
            shutil.rmtree(final, ignore_errors=True)  # a folder left without its lines
            tmp.rename(final)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            _log.warning("the cleaned store could not be exported as Parquet into %s (%s): the engine cleans the "
                         "store itself", folder, exc.strerror or exc)
            return None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final


def store_calendar(key: str) -> tuple[Any, Any] | None:
    """The first and the last line time of the cached store ``key`` (one min/max query on its file), or None.

    None when the cache holds no such store or its file cannot be read (the
    next load rebuilds it).
    """
    import duckdb

    path = store_cache_dir() / f"{key}.duckdb"
    if not path.exists():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute("SELECT min(ts), max(ts) FROM all_lines_clean").fetchone()
    except duckdb.Error:
        return None
