"""The data spec: what a store is read from, checked completely before anything is read.

A data spec names each canonical table's source and maps the user's column
names to the canonical ones::

    tables:
      transactions: {path: lines.parquet, columns: {customer_id: member_no, ...}}
      customers: {path: members.csv}
    cleaning: {cancellation_prefix: C}
    window: {start: 2010-12-01, end: 2011-12-10}
    engine: {backend: duckdb, memory_limit: 8GB}

:func:`check_spec` validates every table's keys, every column map, the
cleaning rules, the window and the engine options, so a typo in
``tables.products`` is reported before the transactions are read.

A *source* is a named spec maker: ``data: demo`` asks the source registered
as ``demo`` (by :mod:`crm_kit.demo`, which sits above the store) for its spec;
a spec's own keys beside it (``data: {source: demo, engine: spark}``) override
what the source says. ``engine: spark`` (a backend's name alone) is
``engine: {backend: pyspark}``.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Callable, Mapping

import pandas as pd

from ..config import resolve_path
from ..params import read_yaml
from ..errors import ParameterError

__all__ = [
    "CANONICAL_COLUMNS",
    "PERSONAL_FIELDS",
    "STATUS_LISTS",
    "status_key",
    "CLEANING_DEFAULTS",
    "CLEANING_MEANINGS",
    "CLEANING_CHOICES",
    "EARLIEST_SIGNUP",
    "TABLE_KEYS",
    "NON_PRODUCT_DEFAULTS",
    "non_product_rule",
    "orders_are_days",
    "NO_ORDER_ID_ADVICE",
    "CheckedSpec",
    "load_data_spec",
    "check_spec",
    "register_source",
    "resolve_source",
    "source_overrides",
    "SOURCE_SPEC_KEYS",
    "ENGINE_ALIASES",
    "engine_choices",
]

#: canonical columns per table: name -> (required, kind)
CANONICAL_COLUMNS: dict[str, dict[str, tuple[bool, str]]] = {
    "transactions": {
        "customer_id": (True, "id"),
        "order_id": (True, "id"),
        "ts": (True, "timestamp"),
        # optional: a store without products (a till export without items, amounts per order) loads; the
        # product steps say they were skipped
        "product_id": (False, "id"),
        # optional: one item per line when the export has no quantity
        "quantity": (False, "number"),
        "amount": (True, "number"),
        "unit_price": (False, "number"),
        "promo": (False, "bool"),
        "store": (False, "id"),
        "channel": (False, "id"),
        # the product's text on the receipt (UCI Online Retail's Description): names products without a catalogue
        "description": (False, "text"),
        # the order's (or line's) status, read through cleaning.statuses: which lines are purchases
        "status": (False, "text"),
        # the line's kind (sale, return, refund...): cleaning.return_types names the values that mark a return
        "line_type": (False, "text"),
        # money refunded on this row (on a file of one row per order: the order's refund); returns: net subtracts
        # it on the row's date, returns: drop leaves it out
        "refunded": (False, "number"),
        # units of this line refunded or returned (Shopee's 'Returned quantity'); returns: net subtracts
        # amount x returned_quantity / quantity on the line's date, returns: drop leaves it out
        "returned_quantity": (False, "number"),
    },
    # one row per order, joined to the line items by order_id: its fields are written once per order and flow
    # to every line of it
    "orders": {
        "order_id": (True, "id"),
        "customer_id": (False, "id"),
        "ts": (False, "timestamp"),
        "status": (False, "text"),
        # the order's total: its sales when the lines file has no line of it (or there is no lines file)
        "amount": (False, "number"),
        # money refunded on the order: returns: net subtracts it, on the order's date
        "refunded": (False, "number"),
        "store": (False, "id"),
        "channel": (False, "id"),
        "line_type": (False, "text"),
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

#: what to do when an export has no order (receipt, invoice) id: the one fix that keeps every figure right
NO_ORDER_ID_ADVICE = (
    "a constant order id makes every customer a single visit with a ticket equal to all their spend; when the "
    "export has no order id, map it to null (tables.transactions.columns.order_id: null): a purchase is then a "
    "customer's day (the BG/NBD convention), and identical lines of that day are separate items, all kept")


def orders_are_days(tspec: Mapping[str, Any]) -> bool:
    """Whether a transactions spec says it has no order id (``columns.order_id: null``): a purchase is a customer's day."""
    columns = tspec.get("columns") or {}
    return isinstance(columns, Mapping) and "order_id" in columns and columns["order_id"] is None


#: cleaning rules and their defaults; every rule is a named parameter
CLEANING_DEFAULTS: dict[str, Any] = {
    # lines without a customer id: kept in store totals, left out of customer analyses
    "anonymous": "exclude",  # exclude | error
    # negative quantities or negative amounts, and orders whose id starts with cancellation_prefix; net
    # subtracts them from sales whichever column carried the sign
    "returns": "drop",  # drop | net | error
    "cancellation_prefix": None,  # e.g. "C" for UCI Online Retail
    # lines with a positive quantity and an amount of exactly zero (free items): keep_zero counts them as
    # purchases with no revenue (a visit, a customer: the BTYD convention and a till's); a negative amount is
    # a return (see returns)
    "nonpositive_price": "keep_zero",  # keep_zero | drop | error
    # lines with a quantity of zero: nothing was sold
    "zero_quantity": "drop",  # drop | error
    # exactly repeated lines (every column equal)
    "duplicates": "drop",  # drop | keep | error
    # lines whose timestamp falls outside window.start .. window.end
    "out_of_window": "drop",  # drop | error
    # lines missing a timestamp, amount, quantity, order or product (blank, NULL, NaN, inf): never zero
    "missing_values": "drop",  # drop | error
    # totals and subtotals exported as if they were lines (an id reading 合计, Total...)
    "summary_rows": "drop",  # drop | error
    # an amount or quantity a million times the median line (a barcode read as money), or a wordless
    # customer id among member numbers
    "implausible_lines": "drop",  # drop | keep | error
    # a join between tables (members and buyers, products, contacts) matching less than this share of its
    # smaller side stops the load with the likely cause (leading zeros, spaces, case, decimals)
    "min_coverage": 0.5,
    # lines that sell no product (postage, fees, gift cards, bags, discounts): kept in sales totals,
    # left out of product analyses; "default" (the list below), false, or {ids: [...], patterns: [...]}
    "non_products": "default",
    # which values of the mapped status column (orders or lines) are purchases and which are not; a value in
    # neither list stops the load naming it: {purchase: [paid, completed], not_purchase: [cancelled, refunded]}
    "statuses": None,
    # an order-id prefix that marks a return order (RET-): a return, never a visit or a buyer
    "return_prefix": None,
    # values of the mapped line_type column (lines or orders) that mark a return: [return, refund]
    "return_types": None,
    # line items whose order_id is not in the orders table: drop (counted, with examples) or error
    "lines_without_order": "drop",  # drop | error
    # member sign-up dates before EARLIEST_SIGNUP (a placeholder such as 1900-01-01) or after the day of the load
    # (a date in the future): blanked, so membership years leave them out
    "implausible_signups": "blank",  # blank | keep | error
}

#: the earliest member sign-up date the kit believes; earlier dates are placeholders (1900-01-01, 0001-01-01)
EARLIEST_SIGNUP = "1950-01-01"

#: what each cleaning rule does (``cleaning.<rule>`` in a data spec); its choices are in :data:`CLEANING_CHOICES`
CLEANING_MEANINGS: dict[str, str] = {
    "anonymous": "lines without a customer id: kept in store totals, left out of customer analyses (exclude)",
    "returns": "negative quantities or amounts, orders whose id starts with cancellation_prefix or return_prefix, "
               "lines whose line_type is one of return_types, refunded amounts (orders.refunded, "
               "transactions.refunded) and returned units (transactions.returned_quantity: amount x returned / "
               "quantity): left out (drop) or subtracted from sales whichever column carried the sign (net); never "
               "visits or buyers",
    "cancellation_prefix": "an order-id prefix that marks a cancelled order, e.g. C for UCI Online Retail: treated "
                           "as a return (see returns), never a visit or a buyer",
    "nonpositive_price": "lines with a positive quantity and an amount of exactly zero (free items): purchases with "
                         "no revenue (keep_zero), or left out (drop)",
    "zero_quantity": "lines with a quantity of zero: nothing was sold",
    "duplicates": "exactly repeated lines (every column equal); keep when the export has no order id",
    "out_of_window": "lines whose timestamp falls outside window.start .. window.end",
    "missing_values": "lines missing a timestamp, amount, quantity, order or product (blank, NULL, NaN, inf): "
                      "never counted as zero",
    "summary_rows": "totals and subtotals exported as if they were lines (an id reading 合计, Total...)",
    "implausible_lines": "an amount or quantity a million times the median line (a barcode read as money), or a "
                         "wordless customer id among member numbers",
    "min_coverage": "a join between tables (members and buyers, products, contacts) matching less than this share "
                    "of its smaller side stops the load with the likely cause",
    "non_products": "lines that sell no product (postage, fees, gift cards, bags, discounts): kept in sales, out "
                    "of product analyses; default (the kit's list), false, or {ids: [...], patterns: [...]}",
    "statuses": "which values of the mapped status column (orders or lines; compared trimmed, any case) are purchases "
                "and which are not: {purchase: [paid, completed, 已完成], not_purchase: [cancelled, refunded, 已取消]}; "
                "non-purchases are removed and counted; a value in neither list stops the load naming it",
    "return_prefix": "an order-id prefix that marks a return order (e.g. RET-): a return, never a visit or a buyer; "
                     "returns: net subtracts it from sales on its own date, drop leaves it out",
    "return_types": "values of the mapped line_type column (lines or orders) that mark a return, e.g. [return, "
                    "refund]: counted as returns, never as visits or buyers",
    "lines_without_order": "line items whose order_id is not in the orders table: left out and counted, with "
                           "examples of the ids (drop), or the load stops (error)",
    "implausible_signups": "member sign-up dates before 1950-01-01 (a placeholder such as 1900-01-01) or after the "
                           "day of the load (a date in the future): left empty so membership years leave them out "
                           "(blank), kept as written (keep), or the load stops (error)",
}

#: ids that are labels of a summary row, not a customer, order or product (compared trimmed, any case)
SUMMARY_LABELS = ["合计", "总计", "小计", "总和", "汇总", "合計", "總計", "小計", "total", "totals", "grand total",
                  "subtotal", "sub-total", "sum", "summe", "gesamt", "total general"]
#: a line whose amount or quantity exceeds this many times the median line's is implausible
IMPLAUSIBLE_FACTOR = 1e6

#: product ids (whole id, any case) and description patterns (regular expressions, searched in the
#: product's name or description, any case) that mark a line as no product
NON_PRODUCT_DEFAULTS: dict[str, list[str]] = {
    "ids": ["POST", "DOT", "C2", "M", "D", "S", "B", "CRUK", "BANK CHARGES", "AMAZONFEE", "ADJUST", "ADJUST2",
            "TEST001", "TEST002", r"gift_\d+_\d+"],
    "patterns": [r"^postage$", r"^dotcom postage$", r"^carriage$", r"^manual$", r"^discount$", r"^bank charges$",
                 r"amazon fee", r"^adjust bad debt", r"^samples$", r"cruk commission", r"gift (voucher|card)",
                 r"^(plastic|paper|carrier) bag( charge)?$", r"bag charge", r"delivery (charge|fee)", r"shipping fee",
                 r"service (charge|fee)", "运费", "快递费", "购物袋", "塑料袋", "礼品卡", "折扣", "手续费"],
}

#: the values each cleaning rule accepts (rules not listed take a number or a mapping: see CLEANING_MEANINGS)
CLEANING_CHOICES = _CHOICES = {
    "anonymous": {"exclude", "error"},
    "returns": {"drop", "net", "error"},
    "nonpositive_price": {"drop", "keep_zero", "error"},
    "zero_quantity": {"drop", "error"},
    "duplicates": {"drop", "keep", "error"},
    "out_of_window": {"drop", "error"},
    "missing_values": {"drop", "error"},
    "summary_rows": {"drop", "error"},
    "implausible_lines": {"drop", "keep", "error"},
    "lines_without_order": {"drop", "error"},
    "implausible_signups": {"blank", "keep", "error"},
}




#: named sources: ``data: NAME`` or ``data: NAME:N`` -> a function returning the spec
_SOURCES: dict[str, Callable[..., dict[str, Any]]] = {}


def register_source(name: str, make_spec: Callable[..., dict[str, Any]]) -> None:
    """Register a named data source (``data: demo``); ``make_spec(**options)`` returns its spec.

    The demo store registers itself this way, so the store package never
    imports the demo that is built on top of it.
    """
    _SOURCES[name] = make_spec


#: named per-customer outcome tables (``outcome_table: demo``): name -> a function returning the table's path
_OUTCOME_SOURCES: dict[str, Callable[[], Any]] = {}


def register_outcome_source(name: str, make_path: Callable[[], Any]) -> None:
    """Register a named outcome table (notebook 06's ``outcome_table: demo``), as :func:`register_source` does specs."""
    _OUTCOME_SOURCES[name] = make_path


def outcome_source(path: str) -> str:
    """The file of an outcome table: a registered name's (written on first use), else ``path`` as given."""
    return str(_OUTCOME_SOURCES[path]()) if path in _OUTCOME_SOURCES else path


#: keys of a data spec itself that may stand beside ``source:``; they override what the source's spec says
#: (``data: {source: demo, engine: spark}`` is the demo store on Spark)
SOURCE_SPEC_KEYS = ("engine", "window", "cleaning", "cache", "month", "currency", "name", "description")


def source_overrides(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The data-spec keys (:data:`SOURCE_SPEC_KEYS`) given beside ``source:``, to lay over the source's own spec.

    A step that rebuilds a named source's spec (the demo's campaign variants) lays these over what it built,
    so the engine, window or month the user named is kept.
    """
    return {k: spec[k] for k in SOURCE_SPEC_KEYS if spec.get(k) is not None}


def resolve_source(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A spec with ``source: NAME`` replaced by what that source's maker returns.

    The keys of a spec itself (:data:`SOURCE_SPEC_KEYS`: ``engine``, ``window``...) given beside ``source``
    are laid over the maker's spec; every other key is an option of the source (the demo's ``n_members``,
    ``seed``, ``folder``, ``plant``), and one the source does not take is refused naming those it does.
    """
    name = spec.get("source")
    if name is None:
        return dict(spec)
    if name not in _SOURCES:
        raise ParameterError(f"data source '{name}' is not known; known sources: {sorted(_SOURCES)}")
    make = _SOURCES[name]
    options = {k: v for k, v in spec.items() if k != "source" and k not in SOURCE_SPEC_KEYS and v is not None}
    takes = _source_options(make)
    unknown = sorted(set(options) - set(takes)) if takes is not None else []
    if unknown:
        hints = [h for k in unknown for h in difflib.get_close_matches(k, [*takes, *SOURCE_SPEC_KEYS], n=1)]
        maybe = f" (did you mean {hints}?)" if hints else ""
        raise ParameterError(f"data source '{name}' has no option(s) {unknown}{maybe}; it takes {sorted(takes)}, "
                             f"and a data spec's own keys {list(SOURCE_SPEC_KEYS)}")
    return {**make(**options), **source_overrides(spec)}


def _source_options(make: Callable[..., Any]) -> list[str] | None:
    """The keyword options a source's maker takes (``None`` when it takes any)."""
    import inspect

    params = inspect.signature(make).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _demo_size(text: str) -> int:
    """The members of ``demo:N``: a whole number, with ``k`` for thousands (``demo:3k`` = 3,000)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kK]?)\s*", text)
    if not match:
        raise ParameterError(f"data='demo:{text[:40]}': give the demo's members as a whole number, e.g. demo:3000 "
                             "(or demo:3k)")
    size = float(match.group(1)) * (1000 if match.group(2) else 1)
    if size != int(size) or size < 100:
        raise ParameterError(f"data='demo:{text[:40]}': the demo needs a whole number of members, at least 100")
    return int(size)


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
        return {"source": "demo", **({"n_members": _demo_size(spec.split(":", 1)[1])} if ":" in spec else {})}
    if spec.endswith((".yaml", ".yml")):
        path = resolve_path(spec, must_exist=True)
        loaded = read_yaml(path)
        if not isinstance(loaded, Mapping):
            raise ParameterError(f"data spec {path} must hold a mapping at the top level")
        return dict(loaded.get("data", loaded))
    raise ParameterError(
        f"data='{spec}' is neither 'demo' nor a .yaml data spec; fix the data parameter"
    )



#: what each key of a table's spec means (``tables.<table>.<key>``); the keys the spec check accepts
TABLE_KEYS: dict[str, str] = {
    "path": "a file (CSV, TSV, gzip/zstd/zip of one, Parquet, Excel .xlsx, DuckDB), a glob of monthly parts "
            "(`parts/*.csv`, matched by column name), or a list of files; relative to the spec's folder",
    "table": "a table of the engine's database (`engine.database`, PostgreSQL, Spark) instead of a file",
    "format": "csv, parquet, excel or duckdb, when the file's name does not say",
    "columns": "canonical name -> your column's name; a time written as a date and a time of day in two columns "
               "is both, date first: `ts: [Date, Time]` (read as one text, 'date time', with `ts_format` for the "
               "two together, e.g. '%m/%d/%y %I:%M %p')",
    "constants": "canonical name -> one value for every row (e.g. `arm: treatment` for a contact list without arms)",
    "ts_format": "the timestamps' layout in strptime codes ('%d/%m/%Y %H:%M', '%d/%m/%y'), or epoch / epoch_ms",
    "timezone": "the zone to analyse in; times with a UTC offset (+02:00) or a zone's abbreviation (EDT, CET, "
                "UTC...) are converted to it (one offset on every time needs none: it is read as that offset's "
                "local time); an abbreviation naming several clocks (CST, IST, BST, AST, GST, SST, ECT) is read on "
                "this zone's clock, and without it the load stops naming the value",
    "responses": "contacts only: a separate file of who responded",
    "encoding": "the text encoding when it is not UTF-8 (gbk, gb18030, utf-16, cp1252, latin-1...)",
    "encoding_errors": "strict (default: a byte the encoding cannot read stops the load) or replace",
    "delimiter": "one character (',', ';', '|', a tab) or whitespace",
    "header": "false when the file has no header line",
    "skip_rows": "lines above the header (a title, a blank line)",
    "skip_footer": "lines after the data at the end of each file (a record count, a seller id; blank ones included)",
    "hashed": "canonical id columns read from personal data (an email, a phone as the customer's key): the reader "
              "keeps a SHA-256 digest of the trimmed, lower-cased value (16 hex digits), never the value "
              "(e.g. [customer_id])",
    "fill_down": "canonical columns written once per order (on its first row) and blank on its other rows: a blank "
                 "cell takes the last filled value above it, in file order (e.g. [order_id, customer_id, ts, status])",
    "decimal": "'.' or ',' (1.234,56)",
    "thousands": "the thousands separator: ',', '.', ' ', \"'\"",
    "na_values": "texts that mean no value, besides the usual (NULL, NA, -, 空...)",
    "guest_ids": "customer ids that stand for no customer (a shop's guest checkout written as customer 0): read as "
                 "missing, an anonymous line (e.g. ['0'])",
    "sheet": "an Excel workbook's sheet, by name or number (0 = the first); a list of sheets with one header is one table",
    "quote": "the quote character of a CSV (default '\"'; '' for none)",
    "escape": "the escape character inside quotes (default '\"', as in standard CSV)",
    "max_line_size": "the longest line in bytes, when a text cell is very long (the reader's default is 2,000,000)",
}
_TABLE_KEYS = tuple(TABLE_KEYS)


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
    if name == "transactions" and "order_id" in constants:
        raise ParameterError(f"tables.transactions.constants.order_id: {NO_ORDER_ID_ADVICE}")
    _check_fill_down(name, tspec)
    _check_hashed(name, tspec)
    _check_read_options(name, tspec)
    return dict(constants)


def _check_fill_down(name: str, tspec: Mapping[str, Any]) -> None:
    """``fill_down``: a list of the table's canonical columns, each mapped to a column of the file."""
    if "fill_down" not in tspec:
        return
    value = tspec["fill_down"]
    where = f"tables.{name}.fill_down"
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ParameterError(f"{where} = {value!r}: give a list of canonical columns written once per order, e.g. "
                             "[customer_id, ts, status]")
    canon = CANONICAL_COLUMNS[name]
    unknown = [v for v in value if v not in canon]
    if unknown:
        hints = [h for k in unknown for h in difflib.get_close_matches(k, list(canon), n=1)]
        maybe = f" (did you mean {hints}?)" if hints else ""
        raise ParameterError(f"{where} names unknown canonical column(s) {unknown}{maybe}; known: {sorted(canon)}")
    mapping = tspec.get("columns") or {}
    unmapped = [v for v in value if mapping.get(v) is None]
    if unmapped:
        raise ParameterError(f"{where}: {unmapped} is not mapped to a column in tables.{name}.columns; map it "
                             "there (fill_down carries a mapped column's values down) or drop it from fill_down")


def _check_hashed(name: str, tspec: Mapping[str, Any]) -> None:
    """``hashed``: a list of the table's mapped id columns."""
    if "hashed" not in tspec:
        return
    value = tspec["hashed"]
    where = f"tables.{name}.hashed"
    canon = CANONICAL_COLUMNS[name]
    ids = [c for c, (_req, kind) in canon.items() if kind == "id"]
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ParameterError(f"{where} = {value!r}: give a list of id columns read from personal data, e.g. "
                             "[customer_id]")
    bad = [v for v in value if v not in ids]
    if bad:
        hints = [h for k in bad for h in difflib.get_close_matches(k, ids, n=1)]
        maybe = f" (did you mean {hints}?)" if hints else ""
        raise ParameterError(f"{where} names {bad}, which is no id column{maybe}; id columns: {ids}")
    unmapped = [v for v in value if (tspec.get("columns") or {}).get(v) is None]
    if unmapped:
        raise ParameterError(f"{where}: {unmapped} is not mapped in tables.{name}.columns; map it or drop it")


def _check_read_options(name: str, tspec: Mapping[str, Any]) -> None:
    """The options of how a file is read: each of the right kind, with the fix named."""
    import codecs
    import zoneinfo

    where = f"tables.{name}"
    if "encoding" in tspec:
        try:
            codecs.lookup(str(tspec["encoding"]))
        except LookupError as exc:
            raise ParameterError(f"{where}.encoding = {tspec['encoding']!r} is no known encoding; use e.g. utf-8, "
                                 "gbk, gb18030, utf-16, latin-1") from exc
    delimiter = tspec.get("delimiter")
    if delimiter is not None and delimiter != "whitespace" and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise ParameterError(f"{where}.delimiter = {delimiter!r}: give one character (',', ';', '|', a tab) or "
                             "whitespace (columns separated by runs of spaces)")
    if "header" in tspec and not isinstance(tspec["header"], bool):
        raise ParameterError(f"{where}.header must be true or false")
    skip = tspec.get("skip_rows")
    if skip is not None and (isinstance(skip, bool) or not isinstance(skip, int) or skip < 0):
        raise ParameterError(f"{where}.skip_rows = {skip!r}: give the number of lines above the header, e.g. 1")
    footer = tspec.get("skip_footer")
    if footer is not None and (isinstance(footer, bool) or not isinstance(footer, int) or footer < 0):
        raise ParameterError(f"{where}.skip_footer = {footer!r}: give the number of lines after the data at the end "
                             "of each file (a record count, a seller id), e.g. 2")
    if footer and tspec.get("format") in ("parquet", "excel", "duckdb"):
        raise ParameterError(f"{where}.skip_footer: only a text file (CSV, TSV) has lines after its data; drop it")
    decimal = tspec.get("decimal", ".")
    if decimal not in (".", ","):
        raise ParameterError(f"{where}.decimal = {decimal!r}: use '.' or ','")
    thousands = tspec.get("thousands")
    if thousands is not None and (thousands not in (",", ".", " ", "\u00a0", "'", "_") or thousands == decimal):
        raise ParameterError(f"{where}.thousands = {thousands!r}: use ',', '.', ' ', or \"'\" (and not the decimal mark)")
    for key in ("quote", "escape"):
        value = tspec.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > 1):
            raise ParameterError(f"{where}.{key} = {value!r}: give one character (the default is '\"', as in "
                                 "standard CSV), or '' for none")
    errors = tspec.get("encoding_errors")
    if errors is not None and errors not in ("strict", "replace"):
        raise ParameterError(f"{where}.encoding_errors = {errors!r}: use strict (refuse a byte the encoding cannot "
                             "read, the default) or replace (read it as \ufffd; the load's log counts them)")
    longest = tspec.get("max_line_size")
    if longest is not None and (isinstance(longest, bool) or not isinstance(longest, int) or longest < 1000):
        raise ParameterError(f"{where}.max_line_size = {longest!r}: give the longest line in bytes, e.g. 10000000")
    fmt_ts = tspec.get("ts_format")
    if fmt_ts is not None:
        _check_ts_format(where, fmt_ts)
    na = tspec.get("na_values")
    if na is not None and (not isinstance(na, (list, tuple)) or not all(isinstance(v, (str, int, float)) for v in na)):
        raise ParameterError(f"{where}.na_values must be a list of texts that mean 'no value', e.g. [NULL, '-']")
    if "sheet" in tspec and not (isinstance(tspec["sheet"], (str, int)) or (
            isinstance(tspec["sheet"], list) and tspec["sheet"] and all(isinstance(x, (str, int)) for x in tspec["sheet"]))):
        raise ParameterError(f"{where}.sheet: give the sheet's name or its number (0 = the first), or a list of sheets "
                             "with the same header read as one table")
    zone = tspec.get("timezone")
    if zone is not None:
        try:
            zoneinfo.ZoneInfo(str(zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ParameterError(f"{where}.timezone = {zone!r} is no time zone; use e.g. Asia/Shanghai, UTC, "
                                 "Europe/London") from exc
    fmt = tspec.get("format")
    if fmt is not None and fmt not in ("csv", "parquet", "duckdb", "excel"):
        raise ParameterError(f"{where}.format = {fmt!r}: use csv, parquet, excel or duckdb")



def non_product_rule(value: Any) -> dict[str, list[str]]:
    """The ``non_products`` cleaning rule as id and pattern lists: the defaults, none, or the user's own."""
    if value in ("default", True, None):
        return {k: list(v) for k, v in NON_PRODUCT_DEFAULTS.items()}
    if value is False or value == "none":
        return {"ids": [], "patterns": []}
    if not isinstance(value, Mapping) or set(value) - {"ids", "patterns", "extend"}:
        raise ParameterError("cleaning.non_products takes default, false, or a mapping with ids and/or patterns "
                             "(and extend: true to add them to the defaults)")
    rule = {k: [str(x) for x in (value.get(k) or [])] for k in ("ids", "patterns")}
    for pattern in rule["ids"] + rule["patterns"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ParameterError(f"cleaning.non_products: {pattern!r} is not a valid pattern ({exc})") from exc
    if value.get("extend"):
        rule = {k: NON_PRODUCT_DEFAULTS[k] + rule[k] for k in rule}
    return rule


def _validate_cleaning(cleaning: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(cleaning) - set(CLEANING_DEFAULTS)
    if unknown:
        hints = [h for k in sorted(unknown) for h in difflib.get_close_matches(str(k), list(CLEANING_DEFAULTS), n=1)]
        maybe = f" (did you mean {hints}?)" if hints else ""
        raise ParameterError(
            f"unknown cleaning rule(s) {sorted(unknown)}{maybe}; known rules: {sorted(CLEANING_DEFAULTS)}"
        )
    rules = {**CLEANING_DEFAULTS, **cleaning}
    rules["non_products"] = non_product_rule(rules["non_products"])
    cov = rules["min_coverage"]
    if isinstance(cov, bool) or not isinstance(cov, (int, float)) or not 0 <= cov <= 1:
        raise ParameterError(f"cleaning.min_coverage = {cov!r}: give a share between 0 and 1 (0.5 by default)")
    for key, allowed in _CHOICES.items():
        if rules[key] not in allowed:
            raise ParameterError(
                f"cleaning.{key} = {rules[key]!r} is not one of {sorted(allowed)}"
            )
    rules["statuses"] = _check_statuses(rules["statuses"])
    for key in ("cancellation_prefix", "return_prefix"):
        prefix = rules[key]
        if prefix is not None and (not isinstance(prefix, (str, int)) or isinstance(prefix, bool)
                                   or not str(prefix).strip()):
            raise ParameterError(f"cleaning.{key} = {prefix!r}: give the text order ids start with, e.g. "
                                 f"{'C' if key == 'cancellation_prefix' else 'RET-'}, or leave the key out")
    types = rules["return_types"]
    if isinstance(types, (str, int)) and not isinstance(types, bool):
        types = [types]
    if types is not None and (not isinstance(types, (list, tuple)) or not types
                              or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in types)):
        raise ParameterError(f"cleaning.return_types = {types!r}: give a list of the line_type values that mark a "
                             "return, e.g. [return, refund]")
    rules["return_types"] = None if types is None else [str(v).strip().lower() for v in types]
    return rules


#: the lists of ``cleaning.statuses``
STATUS_LISTS = ("purchase", "not_purchase")


def status_key(value: Any) -> str:
    """A status as the lists compare it: trimmed, any case (``None`` and blank are ``''``)."""
    return "" if value is None else str(value).strip().lower()


def _check_statuses(value: Any) -> dict[str, list[str]] | None:
    """``cleaning.statuses`` as two lists of compared values (:func:`status_key`), or None; refused with the fix."""
    if value is None:
        return None
    example = "{purchase: [paid, completed], not_purchase: [cancelled, refunded]}"
    if not isinstance(value, Mapping):
        raise ParameterError(f"cleaning.statuses = {str(value)[:60]!r}: give the two lists, e.g. {example}")
    unknown = sorted(set(map(str, value)) - set(STATUS_LISTS))
    if unknown:
        hints = [h for k in unknown for h in difflib.get_close_matches(k, STATUS_LISTS, n=1, cutoff=0.5)]
        maybe = f" (did you mean {hints}?)" if hints else ""
        raise ParameterError(f"cleaning.statuses has unknown key(s) {unknown}{maybe}; use purchase and not_purchase, "
                             f"e.g. {example}")
    lists = {}
    for key in STATUS_LISTS:
        items = value.get(key) or []
        if isinstance(items, (str, int)) and not isinstance(items, bool):
            items = [items]
        if not isinstance(items, (list, tuple)) or not all(
                v is None or (isinstance(v, (str, int, float)) and not isinstance(v, bool)) for v in items):
            raise ParameterError(f"cleaning.statuses.{key} = {str(items)[:60]!r}: give a list of status values, "
                                 f"e.g. {example}")
        lists[key] = [status_key(v) for v in items]
    both = sorted(set(lists["purchase"]) & set(lists["not_purchase"]))
    if both:
        raise ParameterError(f"cleaning.statuses: {both} is in both purchase and not_purchase; keep it in one")
    if not lists["purchase"]:
        raise ParameterError(f"cleaning.statuses.purchase is empty: name the statuses of real purchases, e.g. "
                             f"{example}")
    return lists


def _window_day(window: Mapping[str, Any], key: str):
    """One end of the window as a timestamp: ISO, ``2025/06/01``, ``2025.06.01`` or ``2025年6月1日``; else one line."""
    value = window.get(key)
    if not value:
        return None
    text = str(value).strip()
    chinese = re.fullmatch(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?", text)
    if chinese:
        text = "-".join(chinese.groups())
    elif re.fullmatch(r"\d{4}[./]\d{1,2}[./]\d{1,2}", text):
        text = re.sub(r"[./]", "-", text)
    try:
        day = pd.Timestamp(text)
    except (ValueError, TypeError):
        day = None
    if day is None or day is pd.NaT or not re.match(r"\d{4}", text):
        raise ParameterError(f"window.{key} = {str(value)[:60]!r}: give a date as YYYY-MM-DD (2025-06-01; 2025/06/01 "
                             "and 2025年6月1日 are read too)")
    return day


def _window_bounds(window: Mapping[str, Any] | None):
    window = window or {}
    start = _window_day(window, "start")
    end = _window_day(window, "end")
    if start is not None and end is not None and end <= start:
        raise ParameterError(f"window.end ({end.date()}) must come after window.start ({start.date()})")
    return start, end




_SPEC_KEYS = ("source", "tables", "cleaning", "window", "engine", "description", "name", "cache", "currency", "month")
_ENGINE_KEYS = {
    "duckdb": {"backend", "database", "memory_limit", "threads", "temp_directory", "progress_bar"},
    "connection": {"backend", "connection"},
    "pyspark": {"backend", "options"},
}
_SIZE = re.compile(r"^\d+(\.\d+)?\s*[KMGT]i?B$", re.IGNORECASE)


class CheckedSpec(dict):
    """A data spec that passed :func:`check_spec`; ``rules`` holds the cleaning rules with defaults."""

    rules: dict[str, Any]
    window: tuple[Any, Any]


def _check_column_map(name: str, tspec: Mapping[str, Any]) -> None:
    mapping = tspec.get("columns") or {}
    if not isinstance(mapping, Mapping):
        raise ParameterError(f"tables.{name}.columns must map canonical names to your column names")
    canon = CANONICAL_COLUMNS.get(name, {})
    if name == "personal":
        return
    unknown = set(mapping) - set(canon) - PERSONAL_FIELDS
    if unknown:
        raise ParameterError(
            f"{name}: columns maps unknown canonical name(s) {sorted(unknown)}; "
            f"known names are {sorted(canon)}"
        )
    for col, source in mapping.items():
        if source is None and canon.get(col, (False,))[0] and not (name == "transactions" and col == "order_id"):
            raise ParameterError(f"{name}.{col} is required and cannot be mapped to null")
        if isinstance(source, (list, tuple)) and (
                canon.get(col, (False, ""))[1] != "timestamp" or len(source) != 2
                or not all(isinstance(x, str) and x for x in source)):
            raise ParameterError(f"tables.{name}.columns.{col} = {list(source)!r}: only a time column takes two "
                                 "columns, the date's and the time of day's, e.g. ts: [Date, Time]")


def _check_responses(tspec: Mapping[str, Any]) -> None:
    rspec = tspec.get("responses")
    if rspec is None:
        return
    where = "tables.contacts.responses"
    if not isinstance(rspec, Mapping) or set(rspec) - {"path", "table", "format", "columns"}:
        raise ParameterError(f"{where} takes path (or table), format and columns (customer_id, campaign_id)")
    if "responded" in (tspec.get("columns") or {}) or "responded" in (tspec.get("constants") or {}):
        raise ParameterError("tables.contacts has a responded column and a responses file; keep one")


#: other names of a backend a spec may use: ``engine: spark`` is ``engine: {backend: pyspark}``
ENGINE_ALIASES = {"spark": "pyspark"}


def engine_choices() -> list[str]:
    """The engines a data spec can name: ``duckdb``, ``pyspark`` (or ``spark``), ``connection`` and every Ibis
    backend installed (``postgres``, ``bigquery``, ``snowflake``...)."""
    from importlib.metadata import entry_points

    return sorted({"duckdb", "pyspark", "connection", *ENGINE_ALIASES,
                   *(e.name for e in entry_points(group="ibis.backends"))})


def _check_engine(engine: Any) -> dict[str, Any]:
    """The engine options checked, as a mapping: ``engine: spark`` (a backend's name alone) is ``{backend: pyspark}``."""
    if engine is None:
        return {}
    if isinstance(engine, str):
        engine = {"backend": engine}
    if not isinstance(engine, Mapping):
        raise ParameterError("engine must be a backend's name (duckdb, spark...) or a mapping, e.g. "
                             "{backend: duckdb, memory_limit: 8GB}")
    raw = engine.get("backend", "duckdb")
    backend = ENGINE_ALIASES.get(str(raw).strip().lower(), str(raw).strip().lower()) if isinstance(raw, str) else raw
    choices = engine_choices()
    if not isinstance(backend, str) or backend not in choices:
        hints = difflib.get_close_matches(str(raw).lower(), choices, n=1)
        maybe = f" (did you mean '{hints[0]}'?)" if hints else ""
        raise ParameterError(f"engine.backend = {raw!r} is not an engine the kit knows{maybe}; use one of {choices} "
                             "(an Ibis backend needs its extra installed: pip install 'ibis-framework[NAME]')")
    engine = {**engine, "backend": backend}
    allowed = _ENGINE_KEYS.get(backend, {"backend", "options"})
    unknown = sorted(set(engine) - allowed)
    if unknown:
        hints = [h for k in unknown for h in difflib.get_close_matches(k, sorted(allowed), n=1)]
        maybe = f" (did you mean {hints}?)" if hints else ""
        raise ParameterError(f"engine has unknown key(s) {unknown}{maybe} for backend '{backend}'; known: {sorted(allowed)}")
    if backend == "duckdb":
        limit = engine.get("memory_limit")
        if limit is not None and not _SIZE.match(str(limit).strip()):
            raise ParameterError(f"engine.memory_limit = {limit!r} is not a size; write e.g. 8GB or 512MB")
        threads = engine.get("threads")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ParameterError(f"engine.threads = {threads!r} must be a whole number of at least 1")
        temp = engine.get("temp_directory")
        if temp is not None and (not isinstance(temp, str) or "'" in temp or "\n" in temp):
            raise ParameterError(f"engine.temp_directory = {temp!r} must be a plain folder path")
    if backend == "pyspark":
        options = engine.get("options") or {}
        if not isinstance(options, Mapping):
            raise ParameterError("engine.options for pyspark must be a mapping of master, app_name, config")
        unknown = set(options) - {"master", "app_name", "config"}
        if unknown:
            raise ParameterError(f"engine.options for pyspark: unknown key(s) {sorted(unknown)}; use master, app_name, config")
    return dict(engine)


def _mapped(tspec: Any, col: str) -> bool:
    """Whether a table's spec maps (or sets as a constant) a canonical column."""
    if not isinstance(tspec, Mapping):
        return False
    columns, constants = tspec.get("columns") or {}, tspec.get("constants") or {}
    return (isinstance(columns, Mapping) and columns.get(col) is not None) or (
        isinstance(constants, Mapping) and constants.get(col) is not None)


def _check_shapes(tables: Mapping[str, Any], rules: Mapping[str, Any]) -> None:
    """The orders table, statuses and return types agree with the tables: each refused with the fix."""
    lines, orders = tables.get("transactions"), tables.get("orders")
    where = [n for n in ("transactions", "orders") if n in tables]
    if rules.get("statuses") and not any(_mapped(tables[n], "status") for n in where):
        raise ParameterError("cleaning.statuses is given but no status column is mapped; map it: "
                             "tables.orders.columns.status (or tables.transactions.columns.status): <your column>")
    if rules.get("return_types") and not any(_mapped(tables[n], "line_type") for n in where):
        raise ParameterError("cleaning.return_types is given but no line_type column is mapped; map it: "
                             "tables.transactions.columns.line_type (or tables.orders.columns.line_type): <your column>")
    if orders is None:
        return
    if lines is not None and orders_are_days(lines):
        raise ParameterError("tables.orders is joined to the line items by order_id, but "
                             "tables.transactions.columns.order_id is null; map the lines' order id")
    if lines is None and not _mapped(orders, "amount"):
        raise ParameterError("tables.orders without tables.transactions needs the order totals: map "
                             "tables.orders.columns.amount: <your column> (or add the line items as tables.transactions)")
    for col in ("customer_id", "ts"):
        if lines is None and not _mapped(orders, col) and (orders.get("columns") or {}).get(col, col) is None:
            raise ParameterError(f"tables.orders.{col} is needed when there is no tables.transactions; map it")


def check_spec(spec: Mapping[str, Any]) -> CheckedSpec:
    """Check a whole data spec before anything is read; return it with its cleaning rules.

    Every table's keys (with suggestions for near misses), every column map
    (unknown canonical names, required columns mapped to null), ``constants``
    and ``responses``, the cleaning rules, the window and the engine options.

    Raises
    ------
    ParameterError
        Naming the key and the fix.
    """
    unknown = set(spec) - set(_SPEC_KEYS)
    if unknown:
        raise ParameterError(
            f"data spec has unknown key(s) {sorted(unknown)}; use tables, cleaning, window, engine"
        )
    tables = spec.get("tables") or {}
    if not isinstance(tables, Mapping):
        raise ParameterError("data spec: tables must map table names (transactions, customers...) to their sources")
    unknown_tables = set(tables) - set(CANONICAL_COLUMNS) - {"personal"}
    if unknown_tables:
        hints = [h for k in unknown_tables for h in difflib.get_close_matches(k, list(CANONICAL_COLUMNS), n=1)]
        maybe = f" (did you mean {hints}?)" if hints else ""
        raise ParameterError(
            f"data spec names unknown table(s) {sorted(unknown_tables)}{maybe}; known: {sorted(CANONICAL_COLUMNS)}"
        )
    if "transactions" not in tables and "orders" not in tables:
        raise ParameterError("data spec has no tables.transactions; every analysis needs it (or tables.orders with "
                             "an amount per order)")
    for name, tspec in tables.items():
        if name == "personal":
            if not isinstance(tspec, Mapping) or "path" not in tspec:
                raise ParameterError("tables.personal needs a path (and columns)")
            continue
        _check_table_spec(name, tspec)
        _check_column_map(name, tspec)
        if "path" not in tspec and "table" not in tspec:
            raise ParameterError(f"{name}: give a 'path' (CSV/Parquet/DuckDB file) or a 'table' name")
    if "contacts" in tables:
        _check_responses(tables["contacts"])
    month = spec.get("month")
    if month is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", str(month)):
        raise ParameterError(f"data spec: month = {month!r}: give the month the data is analysed at by default as "
                             "YYYY-MM (e.g. 2025-09), or leave it out for the data's last complete month")
    currency = spec.get("currency", "")
    if not isinstance(currency, str) or len(currency) > 4:
        raise ParameterError(f"currency = {currency!r}: give the sign or code shown on money, e.g. ¥, £, $, EUR")
    checked = CheckedSpec(spec)
    checked.rules = _validate_cleaning(spec.get("cleaning") or {})
    _check_shapes(tables, checked.rules)
    if orders_are_days(tables.get("transactions") or {}):
        checked.rules["orders"] = "customer_day"
        if "duplicates" not in (spec.get("cleaning") or {}):
            # without a receipt id two identical lines of one day are two items bought, not a repeated export
            checked.rules["duplicates"] = "keep"
    checked.window = _window_bounds(spec.get("window"))
    if spec.get("engine") is not None:
        checked["engine"] = _check_engine(spec.get("engine"))
    return checked


#: ``ts_format`` values that mean a number of seconds (or milliseconds) since 1970-01-01 UTC
EPOCH_FORMATS = {"%s": "s", "epoch": "s", "epoch_s": "s", "epoch_ms": "ms"}
_STRPTIME_CODES = set("aAbBcdfgGHIjmMpSuUVwWxXyYzZ%")


def _check_ts_format(where: str, fmt: Any) -> None:
    """A ``ts_format`` the engine can read: strptime codes DuckDB knows, or an epoch (:data:`EPOCH_FORMATS`)."""
    if not isinstance(fmt, str) or not fmt.strip():
        raise ParameterError(f"{where}.ts_format = {fmt!r}: give a strptime layout such as '%d/%m/%Y %H:%M', "
                             "or epoch (seconds since 1970) / epoch_ms")
    if fmt in EPOCH_FORMATS:
        return
    codes = re.findall(r"%-?(.)", fmt)
    unknown = sorted({c for c in codes if c not in _STRPTIME_CODES})
    if unknown:
        raise ParameterError(f"{where}.ts_format = {fmt!r}: {', '.join('%' + c for c in unknown)} is not a layout "
                             "code the engine reads; use %Y %m %d %H %M %S (and %y %b %B %p %z ...), or epoch / "
                             "epoch_ms for numbers of seconds / milliseconds since 1970")
    if not codes:
        raise ParameterError(f"{where}.ts_format = {fmt!r} has no % code; write the layout, e.g. '%Y-%m-%d'")
