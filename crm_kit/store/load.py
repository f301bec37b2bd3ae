"""Loading a store: check the spec, read, clean, cache — one straight path."""

from __future__ import annotations

import logging
import os
from contextlib import nullcontext, suppress
from typing import Any, Mapping

import ibis
import pandas as pd

from ..config import resolve_path, store_cache_dir
from ..errors import CRMKitError, DataError, MissingColumnError, ParameterError
from .cache import (PARQUET_BACKENDS, _cache_key, _cache_writer, _open_cached, _write_frames, _write_lines,
                    _write_orders, explain_cache_miss, parquet_store, store_calendar)
from .cast import _cast_columns
from .catalogue import _product_lines, find_non_products, name_products
from .clean import _clean_signups, _clean_transactions, _materialise, _stage_lines
from .connect import _connect
from .coverage import coverage_table, normalise_arms
from .engine_errors import engine_error
from .model import Store
from .prepare import _prepare_table
from .read import _read_table
from .source import _is_uri, source_files
from .spec import PERSONAL_FIELDS, check_spec, load_data_spec, resolve_source

__all__ = ["load_store", "load_personal", "store_calendar_of"]

_log = logging.getLogger("crm_kit.store")


def _drop(con, name: str) -> None:
    """Drop a session table or view the loading staged, whichever it is."""
    for drop in (con.drop_table, con.drop_view):
        try:
            drop(name, force=True)
        except Exception:  # noqa: BLE001 - a view is not a table and the other way round, per backend
            pass


def _load_small(con, name, tspec, key):
    table = _prepare_table(con, name, tspec)
    df = con.to_pandas(table)
    dup = df[key].duplicated()
    if dup.any():
        raise DataError(
            f"{name}: {int(dup.sum()):,} repeated {key}(s) (e.g. {df.loc[dup, key].iloc[0]!r}); "
            f"{name} must hold one row per {key.removesuffix('_id')}"
        )
    # in key order: an engine hands rows back in any order (a distributed one in its partitions'), and every mean
    # or sum later taken over these rows would move in its last bit with it
    return df.sort_values(key, kind="stable").reset_index(drop=True)


def _load_contacts(con, tspec: Mapping[str, Any]) -> pd.DataFrame:
    """The contacts table; with ``responses``, ``responded`` is whether a response row matches.

    Many systems keep the sends and the redemptions apart (the Complete
    Journey: ``campaigns`` and ``coupon_redemptions``). ``responses`` names
    the second file and maps its ``customer_id`` and ``campaign_id``; a
    contact responded when that customer has a response for that campaign.
    """
    contacts = con.to_pandas(_prepare_table(con, "contacts", {k: v for k, v in tspec.items() if k != "responses"}))
    rspec = tspec.get("responses")
    if rspec is None:
        return contacts
    where = "tables.contacts.responses"
    if not isinstance(rspec, Mapping) or set(rspec) - {"path", "table", "format", "columns"}:
        raise ParameterError(f"{where} takes path (or table), format and columns (customer_id, campaign_id)")
    if "responded" in contacts.columns:
        raise ParameterError("tables.contacts has a responded column and a responses file; keep one")
    raw = _read_table(con, "contacts_responses", rspec)
    mapping = dict(rspec.get("columns") or {})
    selected = {}
    for col in ("customer_id", "campaign_id"):
        source = mapping.get(col, col)
        if source not in raw.columns:
            raise MissingColumnError(
                f"{where} has no column '{source}' for '{col}'; map it: {where}.columns.{col}: <your column name>. "
                f"Columns present: {', '.join(raw.columns)}"
            )
        selected[col] = raw[source]
    exprs, _ = _cast_columns(con, "contacts", selected)
    pairs = con.to_pandas(raw.select(**exprs).distinct())
    key = pd.MultiIndex.from_frame(pairs[["customer_id", "campaign_id"]].astype(str))
    contacts["responded"] = pd.MultiIndex.from_frame(contacts[["customer_id", "campaign_id"]].astype(str)).isin(key)
    return contacts


def _build_store(con, spec, database: str | None) -> Store:
    """Read, clean and write a store: the cleaned lines and order table into ``database`` (the cache) or the session."""
    tables, rules = spec["tables"], spec.rules
    staged, notes = _stage_lines(con, tables, rules)
    cleaned, report = _clean_transactions(con, staged, rules, spec.get("window"), notes)
    for row in report[report["customers_removed"] > 0].to_dict("records"):
        # never silent: a rule that removes whole customers says so where the load is logged, beside the report
        _log.warning("cleaning rule '%s' removed %d customer(s) entirely (%d line(s), sales %.2f): see the cleaning "
                     "report", row["rule"], row["customers_removed"], row["rows_removed"], row["sales_removed"])

    products = _load_small(con, "products", tables["products"], "product_id") if "products" in tables else None
    customers = _load_small(con, "customers", tables["customers"], "customer_id") if "customers" in tables else None
    customers, signups, said = _clean_signups(customers, rules["implausible_signups"])
    if said:
        _log.warning("%s", said)
    contacts = _load_contacts(con, tables["contacts"]) if "contacts" in tables else None

    if "description" in cleaned.columns:
        # names move to the product table; the lines stay lean
        per_product = _product_lines(con, cleaned)
        cleaned = cleaned.drop("description")
    if products is not None:
        extra = [c for c in ("category", "brand") if c in products.columns and c not in cleaned.columns]
        if extra:
            # a session table, not a memtable: the lines are written by SQL compiled from this expression
            fields = _materialise(con, "_product_fields", ibis.memtable(products[["product_id", *extra]]))
            cleaned = cleaned.left_join(fields, "product_id").drop("product_id_right")

    # the cleaned lines are written once, into the cache when there is one; every later pass reads them
    all_lines = _write_lines(con, cleaned, database)
    orders = _write_orders(con, all_lines, database)
    if getattr(con, "name", "") == "duckdb":  # elsewhere the cleaned lines may be a view over these
        for name in ("_lines_typed", "_orders_typed", "_lines_distinct", "_repeat_candidates", "_repeat_kept", "_repeated_hashes",
                     "_repeat_orders", "_product_fields"):
            _drop(con, name)
    if notes.get("no_products"):
        per_product = pd.DataFrame({"product_id": pd.Series(dtype=str), "lines": pd.Series(dtype="int64"),
                                    "sales": pd.Series(dtype=float)})
    elif "description" not in staged.columns:
        per_product = _product_lines(con, all_lines)

    if contacts is not None:
        contacts = normalise_arms(contacts)
    coverage = coverage_table(con, all_lines, customers, products, contacts, products_given=products is not None,
                              min_coverage=rules["min_coverage"])
    products = name_products(products, per_product)
    non_products = find_non_products(per_product, products, rules["non_products"])
    report = pd.concat([report, pd.DataFrame([{
        "rule": "non-products (postage, fees, gift cards, bags, discounts): kept in sales, out of product analyses",
        "action": f"marked {len(non_products)} product id(s)" if len(non_products) else "none found",
        "rows_found": int(non_products["lines"].sum()), "rows_removed": 0, "sales_removed": 0.0,
        "customers_removed": 0}, *([signups] if signups else [])])],
        ignore_index=True)
    store = Store(
        con=con,
        transactions=all_lines.filter(all_lines.customer_id.notnull()),
        all_lines=all_lines,
        customers=customers,
        products=products,
        contacts=contacts,
        cleaning_report=report,
        spec=dict(spec),
        non_products=non_products,
        coverage=coverage,
        orders=orders,
    )
    if database:
        _write_frames(store, database)
    return store


def _engine_error_of(exc: BaseException, spec: Mapping[str, Any]) -> DataError:
    """:func:`engine_error` for the table whose file the engine's message names (else the transactions)."""
    text = str(exc)
    tables = {}
    for name, tspec in (spec.get("tables") or {}).items():
        paths = tspec.get("path")
        paths = [] if paths is None else [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        try:
            tables[name] = [f for p in paths if not _is_uri(p) for f in source_files(p)]
        except Exception:  # noqa: BLE001 - only for naming the file; the engine's error is what is reported
            tables[name] = []
    named = next((name for name, files in tables.items() if any(str(f) in text or f.name in text for f in files)),
                 "transactions")
    return engine_error(exc, named, tables.get(named, []))


def _build_checked(con, spec, database: str | None) -> Store:
    """:func:`_build_store`, with the engine's errors as the kit's one line (a full disk: the folder and the fix)."""
    try:
        return _build_store(con, spec, database)
    except CRMKitError:
        raise
    except Exception as exc:  # noqa: BLE001 - the engine reads lazily: a file's fault shows while cleaning
        if not type(exc).__module__.split(".")[0].lstrip("_") in ("duckdb", "pyarrow", "ibis"):
            raise
        if _disk_full(exc) and database is None:
            spill = _spill_folder(con)
            raise DataError(f"the engine ran out of disk space while cleaning the data ({_first_line(exc)}); free "
                            f"space in {spill or 'its temporary folder'}, or set engine.temp_directory in the data "
                            "spec to a folder on a disk with room") from exc
        if _disk_full(exc):
            raise
        raise _engine_error_of(exc, spec) from exc


#: what the engine says when a disk is full (DuckDB writing a database, its write-ahead log or spill files)
_DISK_FULL = ("no space left on device", "disk is full", "not enough space", "could not write file",
              "failed to commit", "disk quota exceeded")


def _disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a full disk."""
    import errno

    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(word in str(exc).lower() for word in _DISK_FULL):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:160] + ("…" if len(text) > 160 else "")


def _spill_folder(con) -> str | None:
    try:
        return str(con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0]) or None
    except Exception:  # noqa: BLE001 - only for the message
        return None


def _reset_session(con) -> None:
    """Drop the session tables a failed build staged, so the build can run again on the same connection."""
    if getattr(con, "name", "") != "duckdb":
        return
    try:
        names = [r[0] for r in con.raw_sql("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()]
        names += [r[0] for r in con.raw_sql("SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal")
                  .fetchall()]
    except Exception:  # noqa: BLE001 - nothing to drop
        return
    for name in names:
        _drop(con, name)


def load_store(spec: str | Mapping[str, Any] = "demo", *, verbose: bool = False) -> Store:
    r"""Load, validate and clean a store described by a data spec.

    Parameters
    ----------
    spec
        ``"demo"`` (the demo store, generated on first use into ``data/demo``),
        a path to a data YAML, or a mapping with keys ``tables`` (per table:
        ``path`` or ``table``, optional ``format``, ``columns`` mapping
        canonical -> source names, ``constants`` canonical -> one value for
        every row, ``ts_format``), ``cleaning`` (see
        :data:`CLEANING_DEFAULTS`), ``window`` (``start``/``end``) and
        ``engine`` (``backend``, ``memory_limit``, ``threads``...).
    verbose
        Print the cleaning summary.

    Returns
    -------
    Store

    Examples
    --------
    A till export of six lines, one of them an exact duplicate, mapped to the kit's column names:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import crm_kit
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "sales.csv").write_text(
    ...     "receipt,member,time,sku,qty,paid\n"
    ...     "r1,a,2025-08-03 10:00,p1,1,30\n"
    ...     "r2,a,2025-09-20 11:00,p2,2,50\n"
    ...     "r3,b,2025-08-05 12:00,p1,1,20\n"
    ...     "r3,b,2025-08-05 12:00,p1,1,20\n"
    ...     "r4,c,2025-08-30 09:00,p3,1,10\n"
    ...     "r5,c,2025-09-10 18:30,p1,3,45\n")
    >>> store = crm_kit.load_store({"tables": {"transactions": {
    ...     "path": str(folder / "sales.csv"),
    ...     "columns": {"order_id": "receipt", "customer_id": "member", "ts": "time",
    ...                 "product_id": "sku", "quantity": "qty", "amount": "paid"}}}})
    >>> store.transactions.count().execute()  # the duplicate is gone
    5
    >>> store.cleaning_report[["action", "rows_removed", "sales_removed"]].iloc[0]
    action            drop
    rows_removed         1
    sales_removed     20.0
    Name: 0, dtype: object
    >>> store.cleaning_report["rule"].iloc[0]
    'exact duplicate lines'
    """
    spec = check_spec(resolve_source(load_data_spec(spec)))
    key = _cache_key(spec)
    if key is not None and (spec.get("engine") or {}).get("backend") in PARQUET_BACKENDS:
        store = _load_from_parquet(spec, verbose=verbose)
        if store is not None:
            return store
        key = None  # the cache cannot be written: the engine reads and cleans the source itself
    con = _connect(spec)

    if key is not None:
        cached = _open_cached(con, key, spec)
        if cached is not None:
            if verbose:
                print(cached.cleaning_report.to_string(index=False))
            return cached
        why = explain_cache_miss(spec)
        _log.info(why)
        if verbose:
            print(why)

    # the lock is taken before the work: a second process loading the same store waits, then reads the cache
    try:
        with (_cache_writer(con, key, spec) if key is not None else nullcontext("")) as database:
            if database is None:  # another process wrote this store while this one waited
                return _open_cached(con, key, spec)
            store = _build_checked(con, spec, database or None)
    except Exception as exc:  # noqa: BLE001 - only a full disk under the cache is handled here
        if key is None or not _disk_full(exc):
            raise
        # the cache's disk is full (its half-written file is already removed): the store is cleaned in memory
        _log.warning("the store cache %s ran out of disk space (%s): the store is cleaned in memory and not cached; "
                     "free space there or set CRM_KIT_CACHE to a folder on a disk with room", store_cache_dir(),
                     _first_line(exc))
        key = None
        _reset_session(con)
        store = _build_checked(con, spec, None)
    report = store.cleaning_report
    if verbose:
        print(report.to_string(index=False))
    if key is not None:
        cached = _open_cached(con, key, spec)
        if cached is not None:
            return cached
    return store


def _embedded_spec(spec):
    """The spec on the embedded DuckDB engine (the one that cleans the store of local files for every engine)."""
    from .spec import CheckedSpec

    embedded = CheckedSpec({**spec, "engine": {"backend": "duckdb"}})
    embedded.rules, embedded.window = spec.rules, spec.window
    return embedded


def _load_from_parquet(spec, *, verbose: bool = False) -> Store | None:
    """The store of an engine in :data:`PARQUET_BACKENDS` (Spark): cleaned once, read from Parquet.

    The embedded DuckDB reads and cleans the spec's local files into the
    store cache (or opens the store a step before it wrote), the cleaned lines
    and order table are exported once as Parquet (:func:`parquet_store`), and
    the spec's engine reads them: every step of a run, every run of the same
    files, reads one cleaning instead of re-cleaning the source in each kernel.
    The small tables (customers, products, contacts, the cleaning report) are
    the cached store's. None when the cache cannot be written (the engine then
    cleans the source itself).
    """
    embedded = load_store(_embedded_spec(spec), verbose=verbose)
    key = _cache_key(spec)
    try:
        folder = parquet_store(embedded.con, key) if _cached_file(key) else None
        if folder is None:
            return None
        con = _connect(spec)
        try:
            lines = con.read_parquet(str(folder / "lines.parquet"))
            orders = con.read_parquet(str(folder / "orders.parquet")) if (folder / "orders.parquet").exists() else None
        except Exception as exc:  # noqa: BLE001 - the engine's reading error, as the kit's line
            raise DataError(f"the engine could not read the cleaned store {folder} ({_first_line(exc)}); remove "
                            "that folder to export it again, or set cache: false in the data spec") from exc
    finally:
        with suppress(Exception):
            embedded.con.disconnect()
    return Store(con=con, transactions=lines.filter(lines.customer_id.notnull()), all_lines=lines,
                 customers=embedded.customers, products=embedded.products, contacts=embedded.contacts,
                 cleaning_report=embedded.cleaning_report, non_products=embedded.non_products,
                 coverage=embedded.coverage, spec=dict(spec), orders=orders)


def store_calendar_of(spec: str | Mapping[str, Any] = "demo") -> tuple[pd.Timestamp, pd.Timestamp]:
    r"""The first and the last line time of a spec's cleaned store, without loading it on the spec's engine.

    The same two times as the cleaned store's lines give (anonymous lines
    included; lines a cleaning rule drops — cancelled statuses, returns, dates
    outside the window, implausible lines — left out), from the cheapest place
    that knows them:

    - a store of local files: one min/max query on its cached DuckDB file, after
      the embedded DuckDB cleaned it once when the cache does not hold it yet
      (every step of the run reads that store next, on any engine);
    - a store the cache cannot hold (``cache: false``, a database table, a remote
      path) on DuckDB: loaded here, as a step would;
    - the same on another engine (Spark): loaded in a child process that ends
      with the answer, so no engine session (no Java process) stays with the caller.

    Raises
    ------
    DataError
        When the data has no dated line, or cannot be read (the reading error's line).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from crm_kit.store import store_calendar_of
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "sales.csv").write_text(
    ...     "order,member,time,amount\n"
    ...     "r1,a,2025-08-03 10:00,30\n"
    ...     "r2,b,2025-09-20 11:00,50\n"
    ...     "r3,b,2025-09-21 12:00,-50\n")
    >>> first, last = store_calendar_of({"tables": {"transactions": {"path": str(folder / "sales.csv"),
    ...     "columns": {"order_id": "order", "customer_id": "member", "ts": "time", "amount": "amount"}}},
    ...     "cache": False})
    >>> str(first), str(last)  # the negative line is cleaned away: the data ends on the 20th
    ('2025-08-03 10:00:00', '2025-09-20 11:00:00')
    """
    spec = check_spec(resolve_source(load_data_spec(spec)))
    key = _cache_key(spec)
    if key is not None:
        calendar = store_calendar(key)
        if calendar is None:
            # the store every step reads next, cleaned once here by the embedded engine
            embedded = load_store(_embedded_spec(spec))
            with suppress(Exception):
                embedded.con.disconnect()
            calendar = store_calendar(key)
        if calendar is not None:
            return _checked_calendar(*calendar)
    backend = (spec.get("engine") or {}).get("backend", "duckdb")
    if backend in ("duckdb", "connection"):
        return _loaded_calendar(spec)
    return _calendar_in_child(spec)


def _loaded_calendar(spec) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The calendar of the store loaded in this process, on the spec's engine."""
    store = load_store(spec)
    lines = store.all_lines
    row = store.con.to_pandas(lines.aggregate(first=lines.ts.min(), last=lines.ts.max())).iloc[0]
    return _checked_calendar(row["first"], row["last"])


def _checked_calendar(first, last) -> tuple[pd.Timestamp, pd.Timestamp]:
    if first is None or pd.isna(first):
        raise DataError("the data has no dated line: no month can be derived from it")
    return pd.Timestamp(first), pd.Timestamp(last)


def _calendar_in_child(spec) -> tuple[pd.Timestamp, pd.Timestamp]:
    """:func:`store_calendar_of` of a spec loaded in a child process (its engine's session ends with it).

    The child loads the store itself (:func:`_loaded_calendar`), never spawning one of its own.
    """
    import json
    import subprocess
    import sys

    code = ("import json, sys\n"
            "from crm_kit.store.load import _loaded_calendar\n"
            "try:\n"
            "    first, last = _loaded_calendar(json.load(sys.stdin))\n"
            "    print(json.dumps({'first': str(first), 'last': str(last)}))\n"
            "except Exception as exc:\n"
            "    print(json.dumps({'error': type(exc).__name__, 'message': str(exc)}))\n")
    try:
        done = subprocess.run([sys.executable, "-c", code], input=json.dumps(dict(spec), default=str), text=True,
                              capture_output=True, check=False)
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, ValueError, IndexError) as exc:
        raise DataError(f"the data's first and last day could not be read in a child process ({exc}); "
                        "give the month (not last) or check the data with crm-kit check") from exc
    if "error" in answer:
        raised = ParameterError if answer["error"] == "ParameterError" else DataError
        raise raised(answer["message"])
    return pd.Timestamp(answer["first"]), pd.Timestamp(answer["last"])


def _cached_file(key: str) -> bool:
    return (store_cache_dir() / f"{key}.duckdb").exists()


def load_personal(spec: str | Mapping[str, Any], customer_ids: Any, *, fields: Any = ("name", "phone", "wechat_id")) -> pd.DataFrame:
    """Read personal contact fields for the given customers — only when a step explicitly asks.

    The data spec names them in a separate table ``personal`` (customer_id
    plus any of :data:`PERSONAL_FIELDS`); :func:`load_store` never reads it.
    """
    spec = resolve_source(load_data_spec(spec))
    tspec = (spec.get("tables") or {}).get("personal")
    if not tspec:
        raise DataError("the data spec has no tables.personal: there are no contact details to export")
    bad = set(fields) - PERSONAL_FIELDS
    if bad:
        raise ParameterError(f"{sorted(bad)} are not personal fields; choose from {sorted(PERSONAL_FIELDS)}")
    path = resolve_path(tspec["path"], must_exist=True)
    df = pd.read_parquet(path) if str(path).endswith(".parquet") else pd.read_csv(path, dtype=str)
    mapping = {v: k for k, v in (tspec.get("columns") or {}).items()}
    df = df.rename(columns=mapping)
    missing = [f for f in ("customer_id", *fields) if f not in df.columns]
    if missing:
        raise MissingColumnError(f"personal has no column(s) {missing}; map them in params: tables.personal.columns")
    df["customer_id"] = df["customer_id"].astype(str)
    wanted = pd.Index(pd.Series(list(customer_ids), dtype=str), name="customer_id")
    return df.set_index("customer_id").reindex(wanted)[list(fields)].reset_index()
