"""One table from its source to typed canonical columns: read, derive, map and cast, every value checked.

The reading path composed (:mod:`~crm_kit.store.source` → :mod:`~crm_kit.store.convert` →
:mod:`~crm_kit.store.read` → :mod:`~crm_kit.store.derive` → :mod:`~crm_kit.store.cast`), as the loader
(:mod:`crm_kit.store.load`) and the cleaning (:mod:`crm_kit.store.clean`) take it: one pass over the source
checks that every mapped value parses, then the typed table stays lazy. A file read as one column, or a header
below a title, is told with its fix here.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import ibis

from ..errors import DataError, MissingColumnError
from .cast import _cast_columns, _check_parse, _plain_probes
from .convert import _open_text_sample, _sniff
from .derive import fill_down, hashed, joined_times
from .engine_errors import _clip, _last_line
from .read import _header_key, _map_columns, _read_table
from .sniff import detect_encoding
from .source import _is_uri, source_files
from .spec import CANONICAL_COLUMNS, _check_table_spec

__all__: list[str] = []


def _typed(con, name: str, base, tspec: Mapping[str, Any], *, plain: frozenset = frozenset(),
           with_probes: bool = False, optional: frozenset = frozenset()):
    """The source mapped to canonical names and typed, with the parsing checks (and the plain-column probes)."""
    constants = _check_table_spec(name, tspec)
    mapping = dict(tspec.get("columns") or {})
    selected = _map_columns(name, base, mapping, derive_amount=name == "transactions", constants=constants,
                            optional=optional)
    probes = _plain_probes(con, name, selected, tspec) if with_probes else {}
    for col, value in constants.items():
        # a text literal, parsed and checked like a source value of that column
        selected[col] = ibis.literal(str(value).lower() if isinstance(value, bool) else str(value))
    exprs, checks = _cast_columns(con, name, selected, tspec=tspec, plain=plain)
    typed = base.select(**exprs)
    if name == "transactions" and "amount" not in typed.columns:
        if "unit_price" not in typed.columns:
            raise MissingColumnError(
                "transactions has no column 'amount' (and no 'unit_price' to derive it from); "
                "map one in params: tables.transactions.columns.amount (line revenue) "
                "or tables.transactions.columns.unit_price"
            )
        if "quantity" not in typed.columns:
            raise MissingColumnError(
                "transactions has no column 'amount' and no 'quantity' to multiply 'unit_price' by; map "
                "tables.transactions.columns.amount (line revenue) or tables.transactions.columns.quantity")
        typed = typed.mutate(amount=typed.quantity * typed.unit_price)
    if name == "transactions" and "quantity" not in typed.columns:
        # an export without quantities (a till's amounts, one per line): one item per line
        typed = typed.mutate(quantity=ibis.literal(1.0))
    if name == "transactions" and "order_id" not in typed.columns:
        # no order id in the export (order_id: null): a purchase is a customer's day, the BG/NBD convention
        typed = typed.mutate(order_id=typed.customer_id.fill_null("") + "|" + typed.ts.date().cast("string"))
    if with_probes:
        return typed, checks, probes
    return typed, checks


def _prepare_table(con, name: str, tspec: Mapping[str, Any], *, notes: dict | None = None,
                   optional: frozenset = frozenset()):
    """Read, map and type a table, checking every value parses: one pass over the source, then a lazy table.

    Id and text columns whose values are all plain pass through as read
    (:func:`~crm_kit.store.cast._plain_probes`); the others are trimmed and cleaned of null
    tokens. ``notes``, when given, receives ``costly`` (why reading the
    typed table again would cost nearly a parse of the source: text columns
    to clean, a text file's numbers and times; then it is worth writing
    once) and ``plain`` (the columns passed through).
    """
    raw, tspec = joined_times(_read_table(con, name, tspec), tspec)
    raw = hashed(fill_down(raw, tspec), tspec)
    try:
        typed, checks, probes = _typed(con, name, raw, tspec, with_probes=True, optional=optional)
    except MissingColumnError:
        only = str(raw.columns[0]) if len(raw.columns) == 1 else ""
        mark = next((d for d in (",", ";", "\t", "|") if d in only), None)
        if mark and not tspec.get("delimiter"):
            paths = tspec.get("path")
            files = [f for p in ([paths] if isinstance(paths, (str, os.PathLike)) else list(paths or []))
                     if not _is_uri(p) for f in source_files(p)]
            last = next((_last_line(files, f.name) for f in files[-1:]), None)
            if last is not None and (last.count(mark) < only.count(mark) or last.count('"') % 2):
                raise DataError(f"{name}: the last line of {files[-1].name} is cut short ({_clip(last, 60)}: "
                                f"{last.count(mark) + 1} of {only.count(mark) + 1} fields"
                                f"{', a quote never closes' if last.count(chr(34)) % 2 else ''}): the export or the "
                                "copy was interrupted; export or copy the file again (or delete that line)") from None
            shown = {"\t": "'\\t'", "|": "'|'"}.get(mark, repr(mark))
            raise MissingColumnError(
                f"{name}: the file was read as one column ({_clip(only, 60)}): the reader could not tell its "
                f"delimiter; set tables.{name}.delimiter: {shown} (a quote that never closes, as in a last line "
                "cut short, is the usual cause)") from None
        below = _header_below(name, tspec)
        if below is None:
            raise
        raise MissingColumnError(f"{name}: the header is line {below + 1} of the file, below {below} line(s) of "
                                 f"title, so the columns read as {_clip(', '.join(map(str, raw.columns)), 80)}; set "
                                 f"tables.{name}.skip_rows: {below}") from None
    n, plain = _check_parse(con, name, raw, checks, tspec.get("constants") or {}, tspec, probes, notes=notes)
    if n == 0:
        raise DataError(f"{name} is empty (0 rows); point tables.{name}.path at a file with data")
    if plain:
        typed = _typed(con, name, raw, tspec, plain=plain, optional=optional)[0]
    if notes is not None:
        canon = CANONICAL_COLUMNS[name]
        costly = []
        texts = [c for c in typed.columns if c in canon and canon[c][1] in ("id", "text") and c not in plain]
        if texts:
            costly.append(f"text columns to clean: {texts}")
        parsed = [c for c in checks if c not in (tspec.get("constants") or {})]
        if parsed:
            costly.append(f"values parsed from text: {parsed}")
        notes.update(costly=costly, plain=plain)
    return typed


def _header_below(name: str, tspec: Mapping[str, Any]) -> int | None:
    """The number of lines above a text file's real header (a title, a blank line), or None when it starts with it.

    The header is the first of the first 30 lines that names a column the
    table's mapping asks for (or a canonical name when nothing is mapped).
    """
    import csv

    if tspec.get("skip_rows") or tspec.get("path") is None or tspec.get("format", "csv") != "csv":
        return None
    try:
        files = source_files(tspec["path"] if isinstance(tspec["path"], (str, os.PathLike)) else tspec["path"][0])
        if not files or _sniff(files[0]) != "text":
            return None
        sample = _open_text_sample(files[0], "text", 1 << 16)
        text = sample.decode(tspec.get("encoding") or detect_encoding(sample) or "utf-8", errors="replace")
    except (OSError, DataError, LookupError):
        return None
    wanted = {_header_key(v) for v in (tspec.get("columns") or {}).values() if v} or \
        {_header_key(c) for c in CANONICAL_COLUMNS[name]}
    delimiter = tspec.get("delimiter") if tspec.get("delimiter") not in (None, "whitespace") else None
    lines = text.splitlines()[:30]
    for i, line in enumerate(lines):
        try:
            cells = next(csv.reader([line], delimiter=delimiter or max(",;\t|", key=line.count)))
        except (csv.Error, StopIteration):
            continue
        if len({_header_key(c) for c in cells} & wanted) >= min(2, len(wanted)):
            return i if i > 0 else None
    return None
