"""Reading a table: connect to the engine, read the source, map columns to canonical names, type them.

Every value that does not parse is reported with examples and the fix; the
source file itself is only read.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Mapping

import ibis

from ..config import project_root, resolve_path
from ..errors import DataError, MissingColumnError, ParameterError
from .spec import _IBIS_TYPE, CANONICAL_COLUMNS, PERSONAL_FIELDS, _check_table_spec

__all__ = ["source_files"]


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
        bases, pattern = [Path.cwd(), project_root()], text
    for base in bases:
        matches = sorted(m.resolve() for m in base.glob(pattern))
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
    return [resolve_path(path, must_exist=True)]


def _source_location(path: str | os.PathLike) -> str:
    """What the engine is given: a URI as written, a glob made absolute, else the resolved file."""
    if _is_uri(path):
        return os.path.expandvars(str(path))
    if _has_glob(path):
        return _glob(path)[0]
    return str(resolve_path(path, must_exist=True))



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
        if engine.get("memory_limit"):
            con.raw_sql(f"SET memory_limit='{engine['memory_limit']}'")
        if engine.get("threads"):
            con.raw_sql(f"SET threads={int(engine['threads'])}")
        if engine.get("temp_directory"):
            con.raw_sql(f"SET temp_directory='{engine['temp_directory']}'")
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


def _spark_connection(options: Mapping[str, Any]):
    """An Ibis PySpark connection built from params: ``master``, ``app_name`` and ``config`` (Spark settings).

    ``master: spark://host:7077`` (or ``yarn``, ``k8s://...``, ``local[4]``) points the
    kit at a cluster; ``config`` passes any ``spark.*`` setting. ``$VARS`` are expanded.
    Spark allows one session per process: ``getOrCreate`` returns an active
    session as it is, whatever ``master`` says here.
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
    for key, value in (options.get("config") or {}).items():
        builder = builder.config(key, os.path.expandvars(str(value)))
    return ibis.pyspark.connect(builder.getOrCreate())


def _read_table(con, name: str, tspec: Mapping[str, Any]):
    if "table" in tspec and "path" not in tspec:
        try:
            return con.table(tspec["table"])
        except Exception as exc:  # backend-specific
            raise DataError(f"{name}: table '{tspec['table']}' not found in the connection") from exc
    paths = tspec.get("path")
    if paths is None:
        raise ParameterError(f"{name}: give a 'path' (CSV/Parquet/DuckDB file) or a 'table' name")
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    resolved = [_source_location(p) for p in paths]
    fmt = tspec.get("format") or _guess_format(resolved[0])
    if fmt == "parquet":
        return con.read_parquet(resolved if len(resolved) > 1 else resolved[0])
    if fmt == "csv":
        # read every column as text: parsing (and its failures) is ours to report
        return con.read_csv(resolved if len(resolved) > 1 else resolved[0], all_varchar=True)
    if fmt == "duckdb":
        src = ibis.duckdb.connect(resolved[0], read_only=True)
        return con.create_table(
            f"_src_{name}", src.to_pyarrow(src.table(tspec.get("table", name))), temp=True
        )
    raise ParameterError(f"{name}: unknown format '{fmt}' (use parquet, csv or duckdb)")


def _guess_format(path: str) -> str:
    low = path.lower()
    if low.endswith((".parquet", ".pq")):
        return "parquet"
    if low.endswith((".csv", ".csv.gz", ".tsv", ".txt", ".csv.zst")):
        return "csv"
    if low.endswith((".duckdb", ".db")):
        return "duckdb"
    raise ParameterError(f"cannot tell the format of '{path}'; set format: parquet|csv|duckdb")


def _map_columns(name: str, raw, mapping: Mapping[str, str], *, derive_amount: bool,
                 constants: Mapping[str, Any] | None = None):
    """Select and rename source columns to canonical names; raise on missing required ones.

    ``constants`` are canonical columns the source does not hold but whose
    value is the same on every row (``arm: treatment``); they are skipped here
    and added by :func:`_typed`.
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
            if required:
                raise ParameterError(f"{name}.{col} is required and cannot be mapped to null")
            continue  # 'household_size: null' means: do not read that column
        source = mapping.get(col, col)
        if col not in mapping and source in explicitly_used:
            # 'age_band: age' claims the source column 'age'; it is not also the canonical 'age'
            continue
        if source in present:
            selected[col] = raw[source]
        elif required and not (col == "amount" and derive_amount):
            hint = difflib.get_close_matches(source, present, n=1, cutoff=0.5)
            maybe = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise MissingColumnError(
                f"{name} has no column '{source}' for '{col}'{maybe}; "
                f"map it in params: tables.{name}.columns.{col}: <your column name> "
                f"(or, when every row has the same value, tables.{name}.constants.{col}: <value>). "
                f"Columns present: {', '.join(present)}"
            )
        elif col in mapping:
            raise MissingColumnError(
                f"{name}: params map '{col}' to '{source}', which is not a column; "
                f"fix tables.{name}.columns.{col}. Columns present: {', '.join(present)}"
            )
    return selected


def _cast_columns(con, name: str, selected: dict, *, ts_format: str | None):
    """Cast mapped columns to canonical types; error on values that do not parse."""
    canon = CANONICAL_COLUMNS[name]
    exprs = {}
    checks = {}
    for col, value in selected.items():
        kind = canon[col][1]
        if kind in ("id", "text"):
            if value.type().is_floating():
                # ids read as floats (17850.0) become '17850', not '17850.0'
                exprs[col] = value.cast("int64").cast("string")
            else:
                # '17850.0' written out by a spreadsheet is the id '17850'
                exprs[col] = value.cast("string").strip().re_replace(r"^(-?\d+)\.0+$", r"\1")
            continue
        target = _IBIS_TYPE[kind]
        if kind == "timestamp" and value.type().is_timestamp():
            exprs[col] = value
            continue
        if kind == "timestamp" and value.type().is_date():
            exprs[col] = value.cast("timestamp")
            continue
        if kind == "number" and value.type().is_numeric():
            exprs[col] = value.cast("float64")
            continue
        if kind == "bool" and value.type().is_boolean():
            exprs[col] = value
            continue
        if kind == "bool":
            s = value.cast("string").lower().strip()
            parsed = (
                s.isin(["1", "true", "t", "yes", "y", "1.0"])
                .ifelse(True, s.isin(["0", "false", "f", "no", "n", "0.0", ""]).ifelse(False, None))
            )
        elif kind == "timestamp" and ts_format and value.type().is_string():
            parsed = value.as_timestamp(ts_format)
        else:
            parsed = value.cast("string").strip().try_cast(target)
        exprs[col] = parsed
        checks[col] = (value, parsed)
    return exprs, checks


def _check_parse(con, name, raw_table, checks, constants: Mapping[str, Any] | None = None):
    constants = constants or {}
    for col, (value, parsed) in checks.items():
        if col in constants:
            if con.execute(parsed.name("v").as_table().limit(1))["v"].isna().iloc[0]:
                kind = CANONICAL_COLUMNS[name][col][1]
                raise DataError(f"tables.{name}.constants.{col} = {constants[col]!r} cannot be read as {kind}; fix the value")
            continue
        bad = raw_table.filter(value.notnull() & (value.cast("string").strip() != "") & parsed.isnull())
        n_bad = int(con.execute(bad.count()))
        if n_bad:
            examples = con.to_pandas(bad.select(v=value.cast("string")).limit(3))["v"].tolist()
            kind = CANONICAL_COLUMNS[name][col][1]
            fix = (
                "give its format in params (tables.transactions.ts_format, e.g. '%d/%m/%Y %H:%M') "
                "or fix the source"
                if kind == "timestamp"
                else "clean the source column or map another column"
            )
            raise DataError(
                f"{name}.{col}: {n_bad:,} value(s) cannot be read as {kind} "
                f"(e.g. {examples}); {fix}"
            )


def _scalar(con, expr) -> Any:
    return con.execute(expr)


def _typed(con, name: str, base, tspec: Mapping[str, Any]):
    constants = _check_table_spec(name, tspec)
    mapping = dict(tspec.get("columns") or {})
    selected = _map_columns(name, base, mapping, derive_amount=name == "transactions", constants=constants)
    for col, value in constants.items():
        # a text literal, parsed and checked like a source value of that column
        selected[col] = ibis.literal(str(value).lower() if isinstance(value, bool) else str(value))
    exprs, checks = _cast_columns(con, name, selected, ts_format=tspec.get("ts_format"))
    typed = base.select(**exprs)
    if name == "transactions" and "amount" not in typed.columns:
        if "unit_price" not in typed.columns:
            raise MissingColumnError(
                "transactions has no column 'amount' (and no 'unit_price' to derive it from); "
                "map one in params: tables.transactions.columns.amount (line revenue) "
                "or tables.transactions.columns.unit_price"
            )
        typed = typed.mutate(amount=typed.quantity * typed.unit_price)
    return typed, checks


def _prepare_table(con, name: str, tspec: Mapping[str, Any], *, with_distinct: bool = False):
    """Read, map and type a table; with ``with_distinct`` also the same with exact repeats removed.

    Exact repeats are judged on every source column, so two lines that differ
    only in a column the kit does not use (a description) are not repeats.
    """
    raw = _read_table(con, name, tspec)
    typed, checks = _typed(con, name, raw, tspec)
    _check_parse(con, name, raw, checks, tspec.get("constants") or {})
    n = int(_scalar(con, typed.count()))
    if n == 0:
        raise DataError(f"{name} is empty (0 rows); point tables.{name}.path at a file with data")
    if with_distinct:
        return typed, _typed(con, name, raw.distinct(), tspec)[0]
    return typed


