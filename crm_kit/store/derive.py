"""Columns derived from the raw table before it is typed: joined date and time, cells filled down, emails hashed.

Between reading (:mod:`~crm_kit.store.read`) and casting (:mod:`~crm_kit.store.cast`) on the reading path: a
date and its time of day in two columns become one text, an order's fields written on its first line only are
filled down its other lines (in file order), and an email used as the customer key is replaced by its digest.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import MissingColumnError
from .cast import _trim

__all__ = ["fill_down", "hashed", "joined_times"]


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
