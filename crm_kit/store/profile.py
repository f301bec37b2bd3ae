"""Profiling a table: every column over all rows, in the engine, counted per candidate layout.

The second room of the reading path (sniff → profile → decide → read → cast).
The table is read by the reader the run uses (:func:`crm_kit.store.read._read_table`,
every cell as text) and profiled in **one scan**: the engine unpivots the
columns into (column, value) pairs, counts each distinct value once, and
writes each distinct value's *shape* — every digit as ``9``, every run of
ASCII letters as ``a`` (``￥1,286.01`` is ``￥9,999.99``, ``EUR 12.50`` is ``a 99.99``,
``05.01.2025 13:45`` is ``99.99.9999 99:99``). A column's layouts are then read from its shapes and
their counts: which thousands and decimal separators read every number
(:func:`crm_kit.store.layouts.number_locales`), which currency signs or
codes stand before or after it, which date layout reads every date, whether
the first or the second number of a date ever exceeds 12 (day first or month
first), UTC offsets and named zones, seconds or milliseconds since 1970, ids,
flags and blank columns. A 2,000-column file is one query (its size does not
grow with the columns), and a column blank on every row is a profile with no
values, not an error.

Every figure is over all rows: ``12,034 of 12,034 values parse as %d.%m.%Y``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from .layouts import (
    CURRENCY_CODES,
    CURRENCY_SIGNS,
    ZONE_SUFFIX,
    date_format,
    number_locales,
)

__all__ = ["ColumnProfile", "TableProfile", "OrderBlanks", "profile_table", "profile_relation", "order_blanks"]

#: the name of the synthetic column that counts the rows
_ROWS = "\x01rows"
#: shapes are cut to this many characters (money and dates are shorter; long texts are text whatever their end)
_SHAPE_CHARS = 40
#: how many of the most frequent values are kept per column
_TOP = 12
#: texts that mean no value (as the reader's null tokens)
_NULLS = {"", "null", "none", "nil", "n/a", "na", "nan", "#n/a", "-", "--", "?", "(null)", "<null>", "空", "无"}
_FLAGS = {"0", "1", "true", "false", "t", "f", "yes", "no", "y", "n", "是", "否", "1.0", "0.0"}
_CODES = {c for c in CURRENCY_CODES if c.isalpha()}  # zł, Kč and руб too (any script's letters)
#: a number's shape: sign, currency before, sign, digits with separators, sign, currency after, sign
_NUMBER = re.compile(rf"^(?P<s1>[-+]?) ?(?P<c1>[{CURRENCY_SIGNS}]|a?\$|a|元|円)?\.?[ \u00a0\u202f]?(?P<s2>[-+]?) ?"
                     r"(?P<num>9(?:[9.,' \u00a0\u202f]*9)?)(?P<s3>-?)[ \u00a0\u202f]?"
                     rf"(?P<c2>[{CURRENCY_SIGNS}]|a|元|円|圆)?\.?(?P<s4>-?)$")
#: a person's name as written in a customer column: two to four words of letters, each starting with a capital
#: (RE2 in the engine; a quote doubled for SQL)
_NAME_RE = r"^\s*\p{Lu}[\p{L}''.-]*(\s+\p{Lu}[\p{L}''.-]*){1,3}\s*$"
#: the reader's number layouts, most preferred first when several read every value
_LOCALE_ORDER = [("", "."), (",", "."), ("", ","), (".", ","), (" ", ","), ("\u00a0", ","), ("\u202f", ","),
                 ("'", "."), (" ", "."), ("\u00a0", "."), ("\u202f", "."), ("'", ",")]


@dataclass
class ColumnProfile:
    """What one column holds, over all rows."""

    name: str
    rows: int
    #: values that are neither blank nor a null token
    values: int
    distinct: int
    #: the most frequent values and their counts
    top: list[tuple[str, int]] = field(default_factory=list)
    #: per shape: values, distinct values, smallest and largest value
    shapes: dict[str, tuple[int, int, str, str]] = field(default_factory=dict)
    #: values that read as numbers per (thousands, decimal) layout
    number_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    #: the currency signs and codes found, with their counts
    currencies: dict[str, int] = field(default_factory=dict)
    negative: int = 0
    zero: int = 0
    integer: int = 0
    #: numbers with one or two decimals
    decimals: int = 0
    #: values per timestamp layout, and whether the reader takes the layout by itself
    ts_counts: dict[str, int] = field(default_factory=dict)
    ts_self: set[str] = field(default_factory=set)
    #: the largest first and second number of the day-month dates (a day above 12 says which is the day)
    first_max: int = 0
    second_max: int = 0
    offsets: int = 0
    zones: int = 0
    #: time-zone abbreviations after the times ('07:53 PM EDT'), with their counts
    zone_names: dict[str, int] = field(default_factory=dict)
    times: int = 0
    epoch: str | None = None
    epoch_count: int = 0
    flags: int = 0
    idlike: int = 0
    #: values written as a person's name: two to four words, each starting with a capital letter, no digit
    #: ('David Wilson', 'J. SMITH', 'José Núñez')
    namelike: int = 0
    #: values equal to the column's own header (a header repeated inside the file)
    header_like: int = 0
    mean_length: float = 0.0
    #: ids written as one letter and digits (C489449): distinct ids per letter
    prefixes: dict[str, int] = field(default_factory=dict)
    smallest: float | None = None
    largest: float | None = None

    # -------------------------------------------------------------------------------- the decisions a column allows

    def share(self, count: int) -> float:
        """``count`` as a share of the column's values (0 when it has none)."""
        return count / self.values if self.values else 0.0

    def numbers(self, thousands: str | None = None, decimal: str = ".") -> int:
        """Values that read as numbers with these separators (the best layout when ``thousands`` is None)."""
        if thousands is None:
            return max(self.number_counts.values(), default=0)
        return self.number_counts.get((thousands, decimal), 0)

    def best_locale(self) -> tuple[tuple[str, str], int]:
        """The (thousands, decimal) layout that reads the most values (the simplest among equals), and how many."""
        if not self.number_counts:
            return ("", "."), 0
        top = max(self.number_counts.values())
        pick = next(loc for loc in _LOCALE_ORDER if self.number_counts.get(loc, 0) == top)
        return pick, top

    def ts_layout(self) -> tuple[str | None, int, str]:
        """The timestamp layout most values parse with, how many, and a word on the choice.

        ``None`` as the layout is the reader's own (ISO, year first, with or
        without an offset); ``epoch`` / ``epoch_ms`` are seconds or
        milliseconds since 1970.
        """
        if self.epoch and self.epoch_count >= max(self.ts_counts.values(), default=0):
            return self.epoch, self.epoch_count, ("numbers of " + ("milliseconds" if self.epoch == "epoch_ms"
                                                                  else "seconds") + " since 1970 (UTC)")
        if not self.ts_counts:
            return None, 0, ""
        self_read = sum(n for f, n in self.ts_counts.items() if f in self.ts_self)
        told = {f: n for f, n in self.ts_counts.items() if f not in self.ts_self}
        if self_read >= max(told.values(), default=0):
            return None, self_read, "read as it is"
        fmt = max(told, key=told.get)
        if "%d" in fmt and "%m" in fmt and fmt.index("%d") < fmt.index("%m") and self.first_max <= 12 < self.second_max:
            # a second number above 12 (1/13/24) is a day: month first, when that layout reads as many values
            swapped = fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
            fmt = swapped if told.get(swapped, 0) >= told[fmt] else fmt
        count = told[fmt]
        twin = fmt.replace("%d", "%D").replace("%m", "%d").replace("%D", "%m")
        if twin in told and told[twin] == count and fmt.startswith("%d") and self.second_max > 12 >= self.first_max:
            fmt = twin  # day-month layouts read the same shapes: a second number above 12 says month first
        if "%d" in fmt and "%m" in fmt and fmt.index("%d") < fmt.index("%m"):
            note = f"day first (a first number up to {self.first_max}, above 12)" if self.first_max > 12 else \
                "AMBIGUOUS: no value has a number above 12 in the first or second place, so day-first and " \
                "month-first both read it"
        elif "%m" in fmt and "%d" in fmt and fmt.index("%m") < fmt.index("%d") and fmt[:2] == "%m":
            note = f"month first (a second number up to {self.second_max}, above 12)"
        else:
            note = "a layout the reader needs told"
        return fmt, count, note


@dataclass
class TableProfile:
    """Every column of one table, over all rows."""

    rows: int
    columns: dict[str, ColumnProfile]

    def __getitem__(self, name: str) -> ColumnProfile:
        return self.columns[name]

    def header_repeats(self) -> int:
        """How many rows repeat the header (a second header row, or an export concatenated twice)."""
        hits = [c.header_like for c in self.columns.values() if c.name.strip()]
        if len(hits) < 2:
            return 0
        repeated = sorted(hits)[len(hits) // 2]  # most columns agree: a whole row equal to the header
        return repeated if sum(1 for h in hits if h) >= max(2, len(hits) // 2) else 0

    def locale(self, columns: list[str] | None = None) -> tuple[tuple[str, str], int, int]:
        """The one (thousands, decimal) layout that reads the most number values of ``columns`` (all numeric
        columns when None): the layout, the values it reads and the values that are numbers in some layout."""
        cols = [self.columns[c] for c in (columns if columns is not None else self.columns) if c in self.columns]
        cols = [c for c in cols if c.values and c.numbers() >= 0.9 * c.values]
        totals: dict[tuple[str, str], int] = {}
        for c in cols:
            for loc, n in c.number_counts.items():
                totals[loc] = totals.get(loc, 0) + n
        best = sum(c.numbers() for c in cols)
        if not totals:
            return ("", "."), 0, 0
        top = max(totals.values())
        pick = next(loc for loc in _LOCALE_ORDER if totals.get(loc, 0) == top)
        return pick, top, best


def profile_table(tspec: Mapping[str, Any], name: str = "transactions", *, con=None) -> TableProfile:
    """Profile a table of a data spec, read by the reader the run uses, every column over all rows.

    Parameters
    ----------
    tspec
        The table's spec (``path`` and read options: encoding, delimiter,
        skip_rows, sheet...); ``columns`` is not needed.
    name
        The table's name in messages.
    con
        An Ibis DuckDB connection (a new one when None).
    """
    from .connect import _connect
    from .read import _read_table

    con = con or _connect({})
    raw = _read_table(con, name, {k: v for k, v in tspec.items() if k != "columns"})
    return profile_relation(con, raw)


def profile_relation(con, table) -> TableProfile:
    """Profile an Ibis table (every column as text) in one scan; see the module docstring."""
    import ibis

    sql = ibis.to_sql(table, dialect="duckdb")
    db = con.con
    # digits by translate (cheap with a short map); a run of Latin or Cyrillic letters as one 'a' (zł, Kč and руб are
    # one word each), only where there are letters; Chinese and Japanese characters stay (年月日, 元, 円)
    digits = "translate(trim(v), '012345678', '999999999')"
    letters = r"[A-Za-z\p{Latin}\p{Cyrillic}]"
    shape = (f"left(CASE WHEN regexp_matches(v, '{letters}') THEN regexp_replace({digits}, '{letters}+', 'a', 'g') "
             f"ELSE {digits} END, {_SHAPE_CHARS})")
    daymonth = r"regexp_matches(shape, '^9{1,2}[-/.]9{1,2}[-/.]9')"
    query = f"""
        CREATE OR REPLACE TEMP TABLE _crm_profile_values AS
        WITH src AS (SELECT COLUMNS(*)::VARCHAR, 'x' AS "{_ROWS}" FROM ({sql}) AS t),
        long AS (UNPIVOT src ON COLUMNS(*) INTO NAME col VALUE v),
        vals AS (SELECT col, v, count(*) AS n FROM long GROUP BY ALL)
        SELECT col, v, n, {shape} AS shape FROM vals"""
    db.execute(query)
    per_shape = db.execute(f"""
        SELECT col, shape, sum(n)::BIGINT AS n, count(*) AS d, min(v) AS lo, max(v) AS hi,
               max(CASE WHEN {daymonth} THEN TRY_CAST(regexp_extract(v, '^\\s*(\\d+)', 1) AS INTEGER) END) AS f1,
               max(CASE WHEN {daymonth} THEN TRY_CAST(regexp_extract(v, '^\\s*\\d+\\D(\\d+)', 1) AS INTEGER) END) AS f2,
               min(TRY_CAST(v AS DOUBLE)) AS nlo, max(TRY_CAST(v AS DOUBLE)) AS nhi,
               sum(CASE WHEN regexp_matches(v, '^[^1-9]*$') THEN n ELSE 0 END)::BIGINT AS zeros,
               count(DISTINCT CASE WHEN regexp_matches(shape, '[+-]99:?99$')
                     THEN replace(regexp_extract(v, '([+-]\d\d:?\d\d)$', 1), ':', '') END) AS offsets,
               sum(CASE WHEN trim(v) = col THEN n ELSE 0 END)::BIGINT AS header_like,
               histogram(upper(left(trim(v), 1))) FILTER (WHERE regexp_matches(shape, '^\s*a9+\s*$')) AS letters
        FROM _crm_profile_values WHERE shape LIKE '%9%' GROUP BY col, shape""").fetchall()
    per_column = db.execute(f"""
        SELECT col, sum(n)::BIGINT AS n, count(*) AS d, max_by(v, n, {_TOP}) AS top, max(n, {_TOP}) AS topn,
               sum(n * length(v))::DOUBLE / sum(n) AS mean_length,
               sum(CASE WHEN shape NOT LIKE '%9%' AND trim(v) = col THEN n ELSE 0 END)::BIGINT AS header_like,
               sum(CASE WHEN regexp_matches(shape, '^[9a_-]+$') THEN n ELSE 0 END)::BIGINT AS idlike,
               sum(CASE WHEN regexp_matches(v, '{_NAME_RE}') THEN n ELSE 0 END)::BIGINT AS namelike,
               sum(CASE WHEN lower(trim(v)) IN ({", ".join(repr(t) for t in sorted(_NULLS))}) THEN n ELSE 0 END)::BIGINT
                   AS nulls,
               sum(CASE WHEN lower(trim(v)) IN ({", ".join(repr(t) for t in sorted(_FLAGS))}) THEN n ELSE 0 END)::BIGINT
                   AS flags
        FROM _crm_profile_values GROUP BY col""").fetchall()
    zone_sql = ZONE_SUFFIX.replace("'", "''")
    abbreviations = db.execute(f"""
        SELECT col, regexp_extract(trim(v), '{zone_sql}', 2) AS z, sum(n)::BIGINT FROM _crm_profile_values
        WHERE regexp_matches(trim(v), '{zone_sql}') AND regexp_extract(trim(v), '{zone_sql}', 2) NOT IN ('AM', 'PM')
        GROUP BY ALL""").fetchall()
    db.execute("DROP TABLE IF EXISTS _crm_profile_values")
    rows = next((int(r[1]) for r in per_column if r[0] == _ROWS), 0)
    columns: dict[str, ColumnProfile] = {}
    names = [c for c in table.columns]
    by_col = {r[0]: r for r in per_column}
    for c in names:
        r = by_col.get(c)
        if r is None:  # blank on every row
            columns[c] = ColumnProfile(c, rows, 0, 0)
            continue
        _col, n, d, top, topn, mean_length, header_like, idlike, namelike, nulls, flags = r
        columns[c] = ColumnProfile(c, rows, int(n) - int(nulls), int(d),
                                   top=[(str(v), int(k)) for v, k in zip(top or [], topn or [])],
                                   header_like=int(header_like), idlike=int(idlike), flags=int(flags),
                                   namelike=int(namelike),
                                   mean_length=float(mean_length or 0.0))
    for col, shp, n, d, lo, hi, f1, f2, nlo, nhi, zeros, offsets, header_like, letters in per_shape:
        if col not in columns:
            continue
        for letter, k in (letters or {}).items():
            columns[col].prefixes[letter] = columns[col].prefixes.get(letter, 0) + int(k)
        _add_shape(columns[col], shp, int(n), int(d), lo, hi, f1, f2, nlo, nhi, int(zeros), int(offsets))
        columns[col].header_like += int(header_like)
    for col, z, n in abbreviations:
        if col in columns:
            columns[col].zone_names[str(z)] = int(n)
    return TableProfile(rows, columns)


def _zone_free(shape: str, lo: str, hi: str) -> str:
    """A time's shape without a zone abbreviation after it ('... 99:99 a a' of '07:53 PM EDT' is '... 99:99 a');
    a shape's words after a time are AM / PM or a zone, told apart by its smallest and largest value."""
    if not shape.endswith(" a"):
        return shape
    words = {str(x).strip().rsplit(None, 1)[-1] for x in (lo, hi) if x and str(x).strip()}
    if words and all(re.fullmatch(r"[A-Z]{2,5}", w) and w not in ("AM", "PM") for w in words):
        return shape[:-2]
    return shape


def _add_shape(p: ColumnProfile, shape: str, n: int, d: int, lo: str, hi: str, f1, f2, nlo, nhi, zeros: int,
               offsets: int) -> None:
    """Count one shape of a column into its candidate layouts."""
    p.shapes[shape] = (n, d, lo, hi)
    if nlo is not None:
        p.smallest = nlo if p.smallest is None else min(p.smallest, nlo)
        p.largest = nhi if p.largest is None else max(p.largest, nhi)
    m = _NUMBER.match(shape.strip())
    if m and _currency_ok(m, lo, hi):
        for loc in number_locales(m.group("num")):
            p.number_counts[loc] = p.number_counts.get(loc, 0) + n
        sign = m.group("c1") or m.group("c2")
        if sign:
            mark = _currency_of(lo, sign)
            p.currencies[mark] = p.currencies.get(mark, 0) + n
        if "-" in (m.group("s1") + m.group("s2") + m.group("s3") + m.group("s4")):
            p.negative += n
        p.zero += zeros
        num = m.group("num")
        if re.fullmatch(r"9+|9{1,3}(?:[,. '\u00a0\u202f]999)+", num) and not re.fullmatch(r"9{1,3}[.,]999", num):
            p.integer += n
        if re.search(r"[.,]9{1,2}$", num):
            p.decimals += n
        if re.fullmatch(r"9{10}", num) and not sign and nlo is not None and 946_684_800 <= nlo and nhi <= 2_208_988_800:
            p.epoch, p.epoch_count = "epoch", p.epoch_count + n
        if re.fullmatch(r"9{13}", num) and not sign and nlo is not None and 946_684_800e3 <= nlo and nhi <= 2_208_988_800e3:
            p.epoch, p.epoch_count = "epoch_ms", p.epoch_count + n
    timeshape = _zone_free(shape.strip(), lo, hi)
    for order in ("dmy", "mdy"):
        fmt, kind = date_format(timeshape, order)
        if kind == "time" and order == "dmy":
            p.times += n
        if not fmt:
            continue
        if fmt == "%Y%m%d" and not (nlo is not None and 19000101 <= nlo and nhi <= 21001231):
            continue
        p.ts_counts[fmt] = p.ts_counts.get(fmt, 0) + n
        if kind == "self":
            p.ts_self.add(fmt)
        if kind == "zone" and order == "dmy":
            p.zones += n
        if re.search(r"[+-]99:?99$|a$", shape) and kind == "self" and order == "dmy":
            p.offsets = max(p.offsets, offsets or 1)
        if fmt.startswith(("%d", "%m")):
            p.first_max, p.second_max = max(p.first_max, int(f1 or 0)), max(p.second_max, int(f2 or 0))
        if fmt.startswith(("%Y", "%b")) or "%b" in fmt or "%Y%m%d" == fmt:
            break  # a year-first layout is the same whatever the order


def _currency_ok(m: re.Match, lo: str, hi: str) -> bool:
    """Letters beside a number are a currency code (EUR 12, 12 USD), not a word (12 pcs)."""
    for group in ("c1", "c2"):
        sign = m.group(group)
        if sign and "a" in sign:
            letters = {"".join(ch for ch in str(x) if ch.isalpha()) for x in (lo, hi) if x}
            if not letters or not all(x in _CODES for x in letters):
                return False
    return True


def _currency_of(example: str, sign: str) -> str:
    if "a" in sign:
        return "".join(ch for ch in str(example or "") if ch.isalpha() or ch == "$") or sign
    return sign


@dataclass
class OrderBlanks:
    """Where a table's blanks fall relative to its order key, in file order, over all rows (:func:`order_blanks`).

    A row is an order's *continuation* when its key is blank (Odoo writes the order reference once) or equal to
    the key of the row above (Shopify repeats it); every other row *leads* an order.
    """

    rows: int
    key: str
    #: the first row's key is blank (nothing above to belong to)
    first_blank: bool
    #: rows whose key is blank, and rows whose key repeats the row above's
    key_blank: int
    repeats: int
    #: per column: blanks on leading rows, on key-blank rows, on repeating rows
    blanks: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def leads(self) -> int:
        """Rows that lead an order (its key filled and not the row above's)."""
        return self.rows - self.key_blank - self.repeats


def order_blanks(con, table, key: str, columns: list[str]) -> OrderBlanks:
    """Count, in one query over all rows in file order, each column's blanks on the rows that lead an order, on the
    rows whose order key is blank, and on the rows that repeat the key of the row above.

    This is the evidence for ``fill_down``: an order's fields written once per order are blank on exactly the
    continuation rows and filled on every leading row; a column blank at random is blank on leading rows too.
    Blank means null, empty or spaces only.
    """
    import ibis

    def q(c: str) -> str:
        return '"' + str(c).replace('"', '""') + '"'

    def blank(c: str) -> str:
        return f"(NULLIF(TRIM(CAST({q(c)} AS VARCHAR)), '') IS NULL)"

    sql = ibis.to_sql(table, dialect="duckdb")
    cols = [c for c in dict.fromkeys(columns) if c in table.columns]
    counts = ", ".join(f"count_if({blank(c)} AND NOT _kb AND NOT _rep), count_if({blank(c)} AND _kb), "
                       f"count_if({blank(c)} AND _rep)" for c in cols)
    query = f"""
        WITH r AS (SELECT *, row_number() OVER () AS _crm_row FROM ({sql}) AS t),
        k AS (SELECT *, {blank(key)} AS _kb,
                     coalesce(NOT {blank(key)} AND CAST({q(key)} AS VARCHAR) =
                              lag(CAST({q(key)} AS VARCHAR)) OVER (ORDER BY _crm_row), false) AS _rep FROM r)
        SELECT count(*), coalesce(bool_or(_crm_row = 1 AND _kb), false), count_if(_kb), count_if(_rep)
               {", " + counts if counts else ""} FROM k"""
    row = con.con.execute(query).fetchone()
    out = OrderBlanks(int(row[0]), key, bool(row[1]), int(row[2]), int(row[3]))
    for i, c in enumerate(cols):
        out.blanks[c] = tuple(int(x) for x in row[4 + 3 * i: 7 + 3 * i])
    return out
