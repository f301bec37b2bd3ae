"""Typing a table's text: null tokens, trimming, numbers in any locale, timestamps in any layout and zone, and
the checks that every value parsed.

The reading path's last step (:mod:`~crm_kit.store.source` → :mod:`~crm_kit.store.convert` →
:mod:`~crm_kit.store.read` → :mod:`~crm_kit.store.derive` → cast): each canonical column's text becomes its type in one engine expression
(the layouts are :mod:`crm_kit.store.layouts`', the same ``crm-kit init`` counts in its profile); one pass
over the source then counts what does not parse, and every such value is reported with examples and the fix.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Mapping

import ibis
import ibis.expr.datatypes as dt

from ..errors import DataError
from .engine_errors import _clip
from .layouts import (
    AMBIGUOUS_ZONES,
    MONEY_EDGE,
    TRAILING_MINUS,
    ZONE_ABBREVIATIONS,
    ZONE_SUFFIX,
    zone_offset_text,
)
from .spec import CANONICAL_COLUMNS, EPOCH_FORMATS

_log = logging.getLogger("crm_kit.store")

__all__ = ["NULL_TOKENS", "UNICODE_SPACES"]


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
