"""The evidence a draft is decided from, and the records it is kept in: a file's profile over all rows, per
column, and :class:`TableDraft` / :class:`Draft`.

The glue between the path's **profile** room (:mod:`crm_kit.store.profile`, every column counted per layout in
one engine query) and its **decide** room (:mod:`crm_kit.draft.roles` and the modules beside it): a file is read
by the run's reader, profiled, and each column's counts are seen as a :class:`Profile`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..store.profile import ColumnProfile, TableProfile, profile_relation
from ..store.sniff import Sniffed

__all__ = ["Draft", "Profile", "TableDraft", "profile"]


@dataclass
class Sample:
    """One file as the reading path saw it: how it is written (sniffed) and its first rows, every cell as text.

    Decisions are taken from the table's :class:`~crm_kit.store.profile.TableProfile` (all rows), never from
    ``frame``, which is kept for display.
    """

    path: Path
    kind: str
    frame: pd.DataFrame
    tail: pd.DataFrame | None = None
    options: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)


#: rows of each table kept for display (decisions use every row)
HEAD_ROWS = 200


def _profile_source(location: str, sniffed: Sniffed, con) -> tuple[dict[str, Any], TableProfile, pd.DataFrame,
                                                                      list[str], Any]:
    """The table's read options, its profile over all rows, its first rows and the relation, read by the run's reader.

    A line longer than the reader's limit is retried once with the limit the
    reader's message names (a 12 MB text cell is read, not a traceback).
    """
    from ..store.read import _read_table

    options = sniffed.options()
    extra: dict[str, Any] = {}
    if sniffed.kind in ("text", "gzip", "zstd"):
        extra = {"format": "csv", "delimiter": sniffed.delimiter or ","}
        if sniffed.kind == "zstd":
            extra["encoding"] = "utf-8"
    elif sniffed.kind == "excel":
        extra = {"format": "excel"}
    elif sniffed.kind == "parquet":
        extra = {"format": "parquet"}
    evidence = []
    for _attempt in range(2):
        tspec = {"path": location, **options, **extra}
        try:
            raw = _read_table(con, "init", tspec)
            import ibis

            head = con.con.execute(f"SELECT COLUMNS(*)::VARCHAR FROM ({ibis.to_sql(raw, dialect='duckdb')}) AS t "
                                   f"LIMIT {HEAD_ROWS}").df()
            return options, profile_relation(con, raw), head, evidence, raw
        except DataError as exc:
            size = re.search(r"max_line_size: (\d+)", str(exc))
            if not size or "max_line_size" in options:
                raise DataError(str(exc).replace("init: ", f"{Path(location).name}: ", 1)) from None
            options["max_line_size"] = int(size.group(1))
            evidence.append(f"max_line_size: {int(size.group(1)):,} — a line longer than the reader's 2,000,000 bytes")
    raise AssertionError("unreachable")


@dataclass
class Profile:
    """What a column's values look like, over all rows (shares of its filled values)."""

    values: int
    filled: float
    distinct: float
    number: float
    integer: float
    decimals: float
    negative: float
    zero: float
    flag: float
    timestamp: float
    ts_format: str | None
    ts_note: str
    idlike: float
    money_signs: bool
    mean_length: float
    #: distinct values, and the most frequent value's share of the filled ones
    distinct_count: int = 0
    top_share: float = 0.0
    #: every figure behind the column's reading, in words ("12,034 of 12,034 values parse as %d.%m.%Y")
    evidence: str = ""
    column: ColumnProfile | None = None


def _as_profile(c: ColumnProfile, locale: tuple[str, str] | None = None) -> Profile:
    """A column's profile as the role decisions read it: shares over all its filled values."""
    n = c.values
    share = c.share
    fmt, ts_count, note = c.ts_layout()
    numbers = c.numbers(*locale) if locale else c.numbers()
    numeric_text = c.numbers("", ".")
    timestamp = share(ts_count)
    if share(numeric_text) > 0.5 and timestamp < 0.95 and fmt not in ("epoch", "epoch_ms"):
        timestamp = 0.0  # a column of numbers is not made a date by a few that read as one
    if c.times and c.times >= ts_count:
        note = "times of day alone"
    top_share = c.top[0][1] / n if c.top and n else 0.0
    return Profile(values=n, filled=c.values / c.rows if c.rows else 0.0, distinct=c.distinct / max(n, 1),
                   number=share(numbers), integer=share(c.integer), decimals=share(c.decimals),
                   negative=share(c.negative), zero=share(c.zero), flag=share(c.flags), timestamp=timestamp,
                   ts_format=fmt, ts_note=note, idlike=share(c.idlike), money_signs=bool(c.currencies),
                   mean_length=c.mean_length, distinct_count=c.distinct, top_share=top_share, column=c)


def profile(values: pd.Series, options: dict[str, Any] | None = None) -> Profile:
    """The profile of one column of values (every value, counted in the engine), as the role decisions read it.

    A convenience for a column in hand; the draft profiles whole files with
    :func:`crm_kit.store.profile.profile_table`.
    """
    import ibis

    from ..store.connect import _connect

    options = options or {}
    con = _connect({})
    frame = pd.DataFrame({"v": values.astype("string")})
    table = con.create_table("_profile_column", ibis.memtable(frame), temp=True, overwrite=True)
    column = profile_relation(con, table)["v"]
    locale = (options.get("thousands") or "", options.get("decimal") or ".")
    return _as_profile(column, locale if options.get("thousands") or options.get("decimal") else None)


@dataclass
class TableDraft:
    """One table's draft: its role, source, read options, column mapping and the evidence of every choice."""

    role: str
    path: str
    samples: list[Sample]
    columns: dict[str, str | None]
    evidence: dict[str, str]
    options: dict[str, Any]
    #: how the file is written, and why each read option was chosen
    reading: list[str] = field(default_factory=list)
    #: the cleaning choices' reasons
    notes: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    cleaning: dict[str, Any] = field(default_factory=dict)
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    personal: list[str] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)
    #: the table over all rows (every column profiled in the engine)
    profile: TableProfile | None = None
    #: rows of the table (all files)
    rows: int = 0
    #: whether the draft was loaded by the run's loader and every mapped value parsed
    loaded: bool = False
    #: the table as the run's reader reads it (every column as text), for decisions over all rows
    relation: Any = None
    #: columns a header took for the customer but whose values cannot be one (a category), with the reason
    rejected_keys: list[str] = field(default_factory=list)
    #: those columns' names
    rejected_key_columns: list[str] = field(default_factory=list)

    def spec(self) -> dict[str, Any]:
        """The table's part of the data spec, as ``data.yaml`` writes it."""
        path = _absolute(self.path)
        return {"path": path, **self.options, "columns": dict(self.columns)}


def _absolute(path: str) -> str:
    """A table's path as data.yaml writes it: absolute, so the spec reads the same files from any folder (a glob's
    folder made absolute, its pattern kept)."""
    if not any(c in path for c in "*?["):
        return str(Path(path).resolve())
    parts = Path(path).parts
    fixed = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[")), len(parts))
    return str(Path(*parts[:fixed]).resolve().joinpath(*parts[fixed:])) if fixed else path


@dataclass
class Draft:
    """Every table found, the month to analyse, and what could not be decided."""

    tables: list[TableDraft]
    month: str | None
    undecided: list[str]

    def table(self, role: str) -> TableDraft | None:
        """The first table of ``role`` (transactions, customers, products, contacts, outcomes), or None."""
        return next((t for t in self.tables if t.role == role), None)
