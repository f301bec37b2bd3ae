"""Connect to a data source, map its columns to the canonical schema, validate, clean.

The canonical tables (see DESIGN.md):

``transactions``
    one row per line item: customer_id, order_id, ts, product_id, quantity,
    amount (line revenue after discount); optional unit_price, promo, store,
    channel. ``amount`` may be derived as ``quantity * unit_price`` when the
    source has no revenue column (UCI Online Retail).
``customers``
    one row per member: customer_id and the member-form fields. Personal
    fields (name, phone, ...) are never loaded into analysis tables.
``products``
    product_id, name, category, brand, unit_price, stock.
``contacts``
    campaign exposure: customer_id, campaign_id, round, arm, channel,
    contacted_at, responded.

Input files are only ever read: every cleaning step is a filter in the
engine, and what it removed is reported in :attr:`Store.cleaning_report`.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import ibis
import pandas as pd
import yaml

from .errors import DataError, MissingColumnError, ParameterError

__all__ = [
    "CANONICAL_COLUMNS",
    "PERSONAL_FIELDS",
    "CLEANING_DEFAULTS",
    "Store",
    "load_store",
    "load_personal",
    "load_data_spec",
    "resolve_path",
    "project_root",
]

#: canonical columns per table: name -> (required, kind)
CANONICAL_COLUMNS: dict[str, dict[str, tuple[bool, str]]] = {
    "transactions": {
        "customer_id": (True, "id"),
        "order_id": (True, "id"),
        "ts": (True, "timestamp"),
        "product_id": (True, "id"),
        "quantity": (True, "number"),
        "amount": (True, "number"),
        "unit_price": (False, "number"),
        "promo": (False, "bool"),
        "store": (False, "id"),
        "channel": (False, "id"),
    },
    "customers": {
        "customer_id": (True, "id"),
        "signup_date": (False, "timestamp"),
        "gender": (False, "text"),
        "age": (False, "number"),
        "age_band": (False, "text"),
        "occupation": (False, "text"),
        "job_level": (False, "text"),
        "marital_status": (False, "text"),
        "personal_income": (False, "text"),
        "household_income": (False, "text"),
        "household_size": (False, "number"),
        "hobby": (False, "text"),
        "preferred_channel": (False, "text"),
        "uses_wechat": (False, "bool"),
        "housing": (False, "text"),
        "housing_area": (False, "text"),
        "owns_car": (False, "bool"),
        "region": (False, "text"),
        "birthday_type": (False, "text"),
    },
    "products": {
        "product_id": (True, "id"),
        "name": (False, "text"),
        "category": (False, "text"),
        "brand": (False, "text"),
        "unit_price": (False, "number"),
        "stock": (False, "number"),
    },
    "contacts": {
        "customer_id": (True, "id"),
        "campaign_id": (True, "id"),
        "round": (True, "number"),
        "arm": (True, "text"),
        "channel": (False, "text"),
        "contacted_at": (False, "timestamp"),
        "responded": (False, "bool"),
    },
}

#: member-form fields that identify a person; never part of an analysis table
PERSONAL_FIELDS = frozenset(
    {
        "name",
        "phone",
        "email",
        "wechat_id",
        "id_type",
        "id_number",
        "address",
        "postcode",
        "photo",
        "birthday",
    }
)

#: cleaning rules and their defaults; every rule is a named parameter
CLEANING_DEFAULTS: dict[str, Any] = {
    # lines without a customer id: kept in store totals, left out of customer analyses
    "anonymous": "exclude",  # exclude | error
    # negative quantities, and orders whose id starts with cancellation_prefix
    "returns": "drop",  # drop | net | error
    "cancellation_prefix": None,  # e.g. "C" for UCI Online Retail
    # lines with zero or negative price (amount <= 0 with a positive quantity)
    "nonpositive_price": "drop",  # drop | error
    # lines with a quantity of zero: nothing was sold
    "zero_quantity": "drop",  # drop | error
    # exactly repeated lines (every column equal)
    "duplicates": "drop",  # drop | keep | error
    # lines whose timestamp falls outside window.start .. window.end
    "out_of_window": "drop",  # drop | error
}

_CHOICES = {
    "anonymous": {"exclude", "error"},
    "returns": {"drop", "net", "error"},
    "nonpositive_price": {"drop", "error"},
    "zero_quantity": {"drop", "error"},
    "duplicates": {"drop", "keep", "error"},
    "out_of_window": {"drop", "error"},
}

_IBIS_TYPE = {"number": "float64", "timestamp": "timestamp", "bool": "boolean"}


def project_root() -> Path:
    """Return the checkout that holds ``crm_kit`` (where ``params/`` and ``data/`` live)."""
    return Path(__file__).resolve().parent.parent


def resolve_path(path: str | os.PathLike, *, must_exist: bool = False) -> Path:
    """Resolve a user path: absolute, else relative to the cwd, else to the project root.

    Notebooks run with their own folder as working directory, so paths in
    params files are written relative to the project root and still resolve.
    ``~`` and environment variables (``$CRM_KIT_DATA``) are expanded.
    """
    p = Path(os.path.expandvars(os.path.expanduser(str(path))))
    if p.is_absolute():
        candidates = [p]
    else:
        candidates = [Path.cwd() / p, project_root() / p]
    for c in candidates:
        if c.exists():
            return c.resolve()
    if must_exist:
        tried = ", ".join(str(c) for c in candidates)
        raise DataError(f"file not found: '{path}' (looked in {tried}); check the path in params")
    return candidates[-1]


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


def load_data_spec(spec: str | Mapping[str, Any]) -> dict[str, Any]:
    """Turn the ``data`` parameter into a spec dictionary.

    ``"demo"`` means the bundled demo store (generated on first use);
    a string ending in ``.yaml``/``.yml`` is read as a spec file; a mapping
    is used as it is.
    """
    if isinstance(spec, Mapping):
        return dict(spec)
    if not isinstance(spec, str):
        raise ParameterError(
            f"data must be 'demo', a path to a data YAML, or a mapping; got {type(spec).__name__}"
        )
    if spec == "demo" or spec.startswith("demo:"):
        return {"source": "demo", **({"n_members": int(spec.split(":")[1])} if ":" in spec else {})}
    if spec.endswith((".yaml", ".yml")):
        path = resolve_path(spec, must_exist=True)
        with open(path, encoding="utf-8") as fh:
            loaded = yaml.safe_load(fh) or {}
        if not isinstance(loaded, Mapping):
            raise ParameterError(f"data spec {path} must hold a mapping at the top level")
        return dict(loaded.get("data", loaded))
    raise ParameterError(
        f"data='{spec}' is neither 'demo' nor a .yaml data spec; fix the data parameter"
    )


@dataclass
class Store:
    """A validated, cleaned store: engine tables plus what cleaning did.

    Attributes
    ----------
    con
        The Ibis backend connection (DuckDB by default).
    transactions
        Ibis table of customer line items after cleaning (canonical columns,
        plus ``category``/``brand`` joined from products when available).
    all_lines
        Ibis table of every valid line, anonymous ones included: store totals.
    customers, products, contacts
        pandas frames (or ``None`` when the source has no such table).
    cleaning_report
        One row per cleaning rule: rows and sales it removed and the action.
    spec
        The data spec the store was loaded from.
    """

    con: Any
    transactions: Any
    all_lines: Any
    customers: pd.DataFrame | None
    products: pd.DataFrame | None
    contacts: pd.DataFrame | None
    cleaning_report: pd.DataFrame
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def has_promo(self) -> bool:
        """Whether line items carry a promotion flag."""
        return "promo" in self.transactions.columns

    @property
    def has_categories(self) -> bool:
        """Whether line items carry a product category."""
        return "category" in self.transactions.columns

    def health(self) -> pd.DataFrame:
        """Data-health figures: rows, customers, date range, anonymous share of sales."""
        t = self.all_lines
        agg = t.aggregate(
            rows=t.count(),
            sales=t.amount.sum(),
            anon_rows=t.customer_id.isnull().sum(),
            anon_sales=t.customer_id.isnull().ifelse(t.amount, 0).sum(),
            customers=t.customer_id.nunique(),
            orders=t.order_id.nunique(),
            first=t.ts.min(),
            last=t.ts.max(),
        )
        row = self.con.to_pandas(agg).iloc[0]
        removed = int(self.cleaning_report["rows_removed"].sum())
        items = [
            ("line items kept (all)", int(row["rows"])),
            ("line items removed by cleaning", removed),
            ("orders", int(row["orders"])),
            ("customers", int(row["customers"])),
            ("first transaction", pd.Timestamp(row["first"])),
            ("last transaction", pd.Timestamp(row["last"])),
            ("sales (all lines)", round(float(row["sales"] or 0), 2)),
            ("anonymous line items", int(row["anon_rows"])),
            (
                "anonymous share of sales",
                round(float(row["anon_sales"] or 0) / float(row["sales"]), 4) if row["sales"] else 0.0,
            ),
        ]
        return pd.DataFrame(items, columns=["figure", "value"])


# --------------------------------------------------------------------------- reading


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


_TABLE_KEYS = ("path", "table", "format", "columns", "constants", "ts_format", "responses")


def _check_table_spec(name: str, tspec: Mapping[str, Any]) -> dict[str, Any]:
    """Refuse unknown keys and malformed ``constants`` in one table's spec; return the constants."""
    if not isinstance(tspec, Mapping):
        raise ParameterError(f"tables.{name} must be a mapping with path (or table) and columns")
    unknown = sorted(set(tspec) - set(_TABLE_KEYS))
    if unknown:
        hints = [h for k in unknown for h in difflib.get_close_matches(k, _TABLE_KEYS, n=1)]
        maybe = f" (did you mean {hints}?)" if hints else ""
        raise ParameterError(f"tables.{name} has unknown key(s) {unknown}{maybe}; known keys are {list(_TABLE_KEYS)}")
    if "responses" in tspec and name != "contacts":
        raise ParameterError(f"tables.{name}.responses: only the contacts table takes a responses file")
    constants = tspec.get("constants") or {}
    if not isinstance(constants, Mapping):
        raise ParameterError(f"tables.{name}.constants must map canonical columns to values, e.g. arm: treatment")
    canon = CANONICAL_COLUMNS[name]
    bad = sorted(set(constants) - set(canon))
    if bad:
        raise ParameterError(f"tables.{name}.constants names unknown canonical column(s) {bad}; known: {sorted(canon)}")
    both = sorted(set(constants) & {k for k, v in (tspec.get("columns") or {}).items() if v is not None})
    if both:
        raise ParameterError(f"tables.{name}: {both} is both mapped to a column and given as a constant; keep one")
    nulls = sorted(k for k, v in constants.items() if v is None)
    if nulls:
        raise ParameterError(f"tables.{name}.constants: {nulls} has no value; give one or drop the key")
    return dict(constants)


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


# --------------------------------------------------------------------------- cleaning


def _validate_cleaning(cleaning: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(cleaning) - set(CLEANING_DEFAULTS)
    if unknown:
        raise ParameterError(
            f"unknown cleaning rule(s) {sorted(unknown)}; known rules: {sorted(CLEANING_DEFAULTS)}"
        )
    rules = {**CLEANING_DEFAULTS, **cleaning}
    for key, allowed in _CHOICES.items():
        if rules[key] not in allowed:
            raise ParameterError(
                f"cleaning.{key} = {rules[key]!r} is not one of {sorted(allowed)}"
            )
    return rules


def _window_bounds(window: Mapping[str, Any] | None):
    window = window or {}
    start = pd.Timestamp(window["start"]) if window.get("start") else None
    end = pd.Timestamp(window["end"]) if window.get("end") else None
    if start is not None and end is not None and end <= start:
        raise ParameterError(f"window.end ({end.date()}) must come after window.start ({start.date()})")
    return start, end


def _materialise(con, name: str, expr):
    """A session-scoped table of ``expr``; a temporary view where the backend has no temp tables (PySpark)."""
    try:
        return con.create_table(name, expr, temp=True, overwrite=True)
    except NotImplementedError:
        return con.create_view(name, expr, overwrite=True)


def _clean_transactions(con, lines, rules, window):
    """Apply the cleaning rules in order, recording what each removed.

    ``lines`` is the pair (all lines, lines without exact repeats). The work
    is a fixed number of engine passes whatever the number of rules: one
    aggregate over the source, one materialisation of the de-duplicated
    lines, one aggregate of every rule's mask, one materialisation of what
    is kept. Rules apply in order: a line counts under the first rule that
    catches it.
    """
    lines, distinct = lines
    start, end = _window_bounds(window)
    report = []

    raw = con.to_pandas(lines.aggregate(n=lines.count(), s=lines.amount.sum())).iloc[0]
    n_raw, s_raw = int(raw["n"]), 0.0 if pd.isna(raw["s"]) else float(raw["s"])
    if rules["duplicates"] == "keep":
        base = _materialise(con, "_lines_typed", lines)
        report.append({"rule": "exact duplicate lines", "action": "keep", "rows_found": 0,
                       "rows_removed": 0, "sales_removed": 0.0})
    else:
        base = _materialise(con, "_lines_typed", distinct)
        kept = con.to_pandas(base.aggregate(n=base.count(), s=base.amount.sum())).iloc[0]
        n_dup = n_raw - int(kept["n"])
        s_dup = s_raw - (0.0 if pd.isna(kept["s"]) else float(kept["s"]))
        if n_dup and rules["duplicates"] == "error":
            raise DataError(
                f"transactions: {n_dup:,} exact duplicate line(s); remove them at the source "
                "or set cleaning.duplicates: drop"
            )
        report.append({"rule": "exact duplicate lines", "action": "drop" if n_dup else "none found",
                       "rows_found": n_dup, "rows_removed": n_dup, "sales_removed": round(s_dup, 2) + 0.0})

    t = base
    window_mask = ibis.literal(False)
    if start is not None:
        window_mask = window_mask | (t.ts < start)
    if end is not None:
        window_mask = window_mask | (t.ts >= end)
    returns_mask = t.quantity < 0
    if rules["cancellation_prefix"]:
        returns_mask = returns_mask | t.order_id.startswith(str(rules["cancellation_prefix"]))
    price_mask = (t.quantity > 0) & (t.amount <= 0)
    anon_mask = t.customer_id.isnull() | (t.customer_id.strip() == "")

    steps = []  # (rule, mask, action, fix)
    if start is not None or end is not None:
        steps.append(("timestamps outside the analysis window", window_mask, rules["out_of_window"],
                      "widen window.start/window.end in params or set cleaning.out_of_window: drop"))
    steps.append(("returns / cancellations (negative quantity or cancelled order)", returns_mask,
                  "keep" if rules["returns"] == "net" else rules["returns"],
                  "set cleaning.returns: drop (leave them out) or net (subtract them from sales)"))
    steps.append(("zero or negative price", price_mask, rules["nonpositive_price"],
                  "fix prices at the source or set cleaning.nonpositive_price: drop"))
    steps.append(("zero quantity", t.quantity == 0, rules["zero_quantity"],
                  "remove them at the source or set cleaning.zero_quantity: drop"))

    # each rule counts the lines no earlier dropping rule caught
    earlier = ibis.literal(False)
    aggs = {}
    firsts = []
    for i, (_rule, mask, action, _fix) in enumerate(steps):
        first = mask & ~earlier
        firsts.append(first)
        aggs[f"n{i}"] = first.ifelse(1, 0).sum()
        aggs[f"s{i}"] = first.ifelse(t.amount, 0.0).sum()
        if action != "keep":
            earlier = earlier | mask
    anon_first = anon_mask & ~earlier
    aggs["n_anon"] = anon_first.ifelse(1, 0).sum()
    aggs["s_anon"] = anon_first.ifelse(t.amount, 0.0).sum()
    counts = con.to_pandas(t.aggregate(**aggs)).iloc[0].fillna(0)

    for i, (rule, _mask, action, fix) in enumerate(steps):
        n, s = int(counts[f"n{i}"]), float(counts[f"s{i}"])
        if n and action == "error":
            raise DataError(f"transactions: {n:,} line(s) {rule} (sales {s:,.2f}); {fix}")
        removed = action == "drop"
        shown = action if n else "none found"
        if rule.startswith("returns") and rules["returns"] == "net":
            shown = "net (kept, negative)" if n else "none found"
        report.append({"rule": rule, "action": shown, "rows_found": n,
                       "rows_removed": n if removed else 0, "sales_removed": round(s, 2) if removed else 0.0})

    n_anon, s_anon = int(counts["n_anon"]), float(counts["s_anon"])
    if n_anon and rules["anonymous"] == "error":
        raise DataError(
            f"transactions: {n_anon:,} line(s) have no customer id (sales {s_anon:,.2f}); "
            "map tables.transactions.columns.customer_id to the member id, or set "
            "cleaning.anonymous: exclude to keep them in store totals only"
        )
    report.append({"rule": "no customer id (kept in store totals only)", "action": "exclude" if n_anon else "none found",
                   "rows_found": n_anon, "rows_removed": n_anon, "sales_removed": round(s_anon, 2)})

    dropped_any = any(int(counts[f"n{i}"]) for i, st in enumerate(steps) if st[2] == "drop")
    if dropped_any:
        kept_lines = t.filter(~earlier).mutate(customer_id=anon_mask.ifelse(ibis.null("string"), t.customer_id))
        all_lines = _materialise(con, "all_lines_clean", kept_lines)
    else:
        all_lines = t.mutate(customer_id=anon_mask.ifelse(ibis.null("string"), t.customer_id)) if n_anon else t
    customer_lines = all_lines.filter(all_lines.customer_id.notnull())
    report = pd.DataFrame(report)[["rule", "action", "rows_found", "rows_removed", "sales_removed"]]
    return customer_lines, all_lines, report


def _load_small(con, name, tspec, key):
    table = _prepare_table(con, name, tspec)
    df = con.to_pandas(table)
    dup = df[key].duplicated()
    if dup.any():
        raise DataError(
            f"{name}: {int(dup.sum()):,} repeated {key}(s) (e.g. {df.loc[dup, key].iloc[0]!r}); "
            f"{name} must hold one row per {key.removesuffix('_id')}"
        )
    return df


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
    exprs, _ = _cast_columns(con, "contacts", selected, ts_format=None)
    pairs = con.to_pandas(raw.select(**exprs).distinct())
    key = pd.MultiIndex.from_frame(pairs[["customer_id", "campaign_id"]].astype(str))
    contacts["responded"] = pd.MultiIndex.from_frame(contacts[["customer_id", "campaign_id"]].astype(str)).isin(key)
    return contacts


def load_store(spec: str | Mapping[str, Any] = "demo", *, verbose: bool = False) -> Store:
    """Load, validate and clean a store described by a data spec.

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
    """
    spec = load_data_spec(spec)
    if spec.get("source") == "demo":
        from .datasets import demo_data_spec

        spec = demo_data_spec(n_members=spec.get("n_members"), seed=spec.get("seed"))
    unknown = set(spec) - {"source", "tables", "cleaning", "window", "engine", "description", "name", "cache"}
    if unknown:
        raise ParameterError(
            f"data spec has unknown key(s) {sorted(unknown)}; use tables, cleaning, window, engine"
        )
    tables = spec.get("tables") or {}
    unknown_tables = set(tables) - set(CANONICAL_COLUMNS) - {"personal"}
    if unknown_tables:
        raise ParameterError(
            f"data spec names unknown table(s) {sorted(unknown_tables)}; known: {sorted(CANONICAL_COLUMNS)}"
        )
    if "transactions" not in tables:
        raise ParameterError("data spec has no tables.transactions; every analysis needs it")
    rules = _validate_cleaning(spec.get("cleaning") or {})
    con = _connect(spec)

    key = _cache_key(spec)
    if key is not None:
        cached = _open_cached(con, key, spec)
        if cached is not None:
            if verbose:
                print(cached.cleaning_report.to_string(index=False))
            return cached

    lines = _prepare_table(con, "transactions", tables["transactions"], with_distinct=True)
    customer_lines, all_lines, report = _clean_transactions(con, lines, rules, spec.get("window"))

    products = _load_small(con, "products", tables["products"], "product_id") if "products" in tables else None
    customers = _load_small(con, "customers", tables["customers"], "customer_id") if "customers" in tables else None
    contacts = _load_contacts(con, tables["contacts"]) if "contacts" in tables else None

    if products is not None:
        extra = [c for c in ("category", "brand") if c in products.columns and c not in customer_lines.columns]
        if extra:
            ptab = ibis.memtable(products[["product_id", *extra]])
            customer_lines = customer_lines.left_join(ptab, "product_id").drop("product_id_right")
    if verbose:
        print(report.to_string(index=False))
    store = Store(
        con=con,
        transactions=customer_lines,
        all_lines=all_lines,
        customers=customers,
        products=products,
        contacts=contacts,
        cleaning_report=report,
        spec=spec,
    )
    if key is not None:
        _write_cache(store, key)
        cached = _open_cached(con, key, spec)
        if cached is not None:
            return cached
    return store


# --------------------------------------------------------------------------- cleaned-store cache

_CACHE_VERSION = "1"


def _store_cache_dir() -> Path:
    env = os.environ.get("CRM_KIT_CACHE")
    return (Path(env) if env else project_root() / "data" / "cache") / "stores"


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
    path = _store_cache_dir() / f"{key}.duckdb"
    if not path.exists():
        return None
    alias = f"store_{key}"
    try:
        con.raw_sql(f"ATTACH '{path}' AS {alias} (READ_ONLY)")
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
        spec=dict(spec),
    )


def _write_cache(store: Store, key: str) -> None:
    """Write the cleaned tables to ``data/cache/stores/<key>.duckdb`` (atomically, under a lock)."""
    import fcntl

    folder = _store_cache_dir()
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
        con.raw_sql(f"ATTACH '{tmp}' AS cache_out")
        try:
            for name, expr in (("transactions_clean", store.transactions), ("all_lines_clean", store.all_lines)):
                # materialise in the session first: that registers any in-memory frame the expression joins
                staged = con.create_table(f"_stage_{name}", expr, temp=True, overwrite=True)
                con.raw_sql(f"CREATE TABLE cache_out.main.{name} AS SELECT * FROM {staged.get_name()}")
                con.drop_table(f"_stage_{name}", force=True)
            raw = con.con
            for name, df in (("customers", store.customers), ("products", store.products),
                             ("contacts", store.contacts), ("cleaning_report", store.cleaning_report)):
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


def load_personal(spec: str | Mapping[str, Any], customer_ids: Any, *, fields: Any = ("name", "phone", "wechat_id")) -> pd.DataFrame:
    """Read personal contact fields for the given customers — only when a step explicitly asks.

    The data spec names them in a separate table ``personal`` (customer_id
    plus any of :data:`PERSONAL_FIELDS`); :func:`load_store` never reads it.
    """
    spec = load_data_spec(spec)
    if spec.get("source") == "demo":
        from .datasets import demo_data_spec

        spec = demo_data_spec(n_members=spec.get("n_members"), seed=spec.get("seed"))
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
