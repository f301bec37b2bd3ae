"""Reading a table's cells as exported: the format checked against the content, every column as text, parts
read one by one, and the source's columns mapped to canonical names.

The reading path's third step (:mod:`~crm_kit.store.source` → :mod:`~crm_kit.store.convert` → read →
:mod:`~crm_kit.store.derive` → :mod:`~crm_kit.store.cast`): the engine is given the file (or its converted copy) and reads every column as
text; parts of a glob whose headers differ in case or spaces are read one by one and stacked; the data spec's
``columns`` mapping names the canonical columns. Typing the values is :mod:`~crm_kit.store.cast`'s.
"""

from __future__ import annotations

import contextlib
import difflib
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import ibis

from ..errors import DataError, MissingColumnError, ParameterError
from .convert import (
    _excel_as_parquet,
    _mixed_line_endings,
    _open_text_sample,
    _sniff,
    _transcoded,
    _unzipped,
    _without_footer,
)
from .engine_errors import _clip, engine_error
from .sniff import DESCRIBE, detect_encoding, refusal
from .source import _source_location, source_files
from .spec import CANONICAL_COLUMNS, PERSONAL_FIELDS

__all__: list[str] = []


_UTF8 = {"utf-8", "utf8", "utf-8-sig", "ascii", "us-ascii"}
_UTF16 = {"utf-16", "utf16", "utf-16le", "utf-16be"}
_LATIN1 = {"latin-1", "latin1", "iso-8859-1", "iso8859-1"}


def _guess_format(path: str) -> str:
    low = path.lower()
    if low.endswith((".parquet", ".pq")):
        return "parquet"
    if low.endswith((".csv", ".tsv", ".txt", ".dat", ".tab", ".gz", ".zst")):  # compressed: text (DuckDB unpacks)
        return "csv"
    if low.endswith((".xlsx", ".xlsm", ".xls")):
        return "excel"
    if low.endswith((".duckdb", ".db")):
        return "duckdb"
    raise ParameterError(f"cannot tell the format of '{path}'; set format: csv, parquet, excel or duckdb")


def _claimed_format(tspec: Mapping[str, Any], location: str) -> tuple[str, bool]:
    """The format the spec says (explicit) or the file name suggests: (format, explicit)."""
    if tspec.get("format"):
        return str(tspec["format"]), True
    return _guess_format(location), False


def _read_table(con, name: str, tspec: Mapping[str, Any]):
    if "table" in tspec and "path" not in tspec:
        try:
            return con.table(tspec["table"])
        except Exception as exc:  # backend-specific
            try:
                present = [str(t) for t in con.list_tables()]
            except Exception:  # noqa: BLE001 - only for the hint
                present = []
            close = difflib.get_close_matches(str(tspec["table"]).split(".")[-1].strip('"`'), present, n=1)
            hint = (f"; did you mean '{close[0]}'?" if close else "") + (
                f" Tables there: {_clip(', '.join(present), 200)}" if present else "")
            raise DataError(f"{name}: table '{_clip(tspec['table'], 80)}' not found in the connection (write the "
                            f"name as the database shows it, without quotes){hint}") from exc
    paths = tspec.get("path")
    if paths is None:
        raise ParameterError(f"{name}: give a 'path' (CSV/Parquet/Excel/DuckDB file) or a 'table' name")
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    resolved = [_source_location(p) for p in paths]
    if any(str(r).lower().endswith(".zip") for r in resolved):
        # a zipped export: its one file, unpacked into the cache (the archive itself is only read)
        unzipped = [str(_unzipped(Path(f), name)) for p in paths for f in source_files(p)]
        return _read_table(con, name, {**tspec, "path": unzipped if len(unzipped) > 1 else unzipped[0]})
    fmt, explicit = _claimed_format(tspec, resolved[0])
    files = [Path(f) for p in paths for f in source_files(p)]
    kinds = {f: _sniff(f) for f in files}
    for f, kind in kinds.items():
        _check_content(name, f, kind, fmt, explicit)
    where = resolved if len(resolved) > 1 else resolved[0]
    try:
        if fmt == "parquet":
            return con.read_parquet(where)
        if fmt == "excel":
            if len(files) != 1:
                raise ParameterError(f"{name}: read one Excel workbook at a time (path matches {len(files)} files)")
            return con.read_parquet(str(_excel_as_parquet(files[0], tspec)))
        if fmt == "csv":
            return _read_text(con, name, tspec, files, kinds, where)
        if fmt == "duckdb":
            src = ibis.duckdb.connect(resolved[0], read_only=True)
            try:
                table = _database_table(src, name, tspec, Path(resolved[0]))
                return con.create_table(f"_src_{name}", src.to_pyarrow(src.table(table)), temp=True)
            finally:
                with contextlib.suppress(Exception):
                    src.disconnect()
    except (ParameterError, DataError):
        raise
    except Exception as exc:  # noqa: BLE001 - the engine's reading errors become one line naming the file and the fix
        raise engine_error(exc, name, files, fmt) from exc
    raise ParameterError(f"{name}: unknown format '{fmt}' (use csv, parquet, excel or duckdb)")


def _database_table(src, name: str, tspec: Mapping[str, Any], path: Path) -> str:
    """The table of a DuckDB file a spec names (``table``, else the table's own name), checked against the file's
    tables: a name not there gets the closest one and the list."""
    wanted = str(tspec.get("table", name))
    present = [str(t) for t in src.list_tables()]
    if wanted in present:
        return wanted
    bare = wanted.split(".")[-1].strip('"`')
    if bare in present:
        return bare
    if not present:
        raise DataError(f"{name}: the DuckDB file {path.name} holds no table; point tables.{name}.path at the database "
                        "the export wrote, or export the table again")
    close = difflib.get_close_matches(bare, present, n=1, cutoff=0.5) or \
        [t for t in present if t.lower() == bare.lower()][:1]
    hint = f"did you mean '{close[0]}'? " if close else ""
    said = "" if "table" in tspec else f" (no tables.{name}.table given, so the table named {name})"
    raise DataError(f"{name}: the DuckDB file {path.name} has no table '{_clip(wanted, 80)}'{said}; {hint}set "
                    f"tables.{name}.table to one of: {_clip(', '.join(present), 200)}")


def _check_content(name: str, path: Path, kind: str, fmt: str, explicit: bool) -> None:
    """Refuse a file whose content is not the format it claims, naming what it holds and the fix."""
    why = refusal(path, kind)
    if why:
        raise DataError(f"{name}: {why}")
    if kind == "zip":
        raise DataError(f"{name}: {path.name} is a zip archive; unzip it, or name it .zip (the kit reads the one file "
                        "inside a zip)")
    fits = {"csv": ("text", "gzip", "zstd"), "parquet": ("parquet",), "excel": ("excel",), "duckdb": ("duckdb",)}
    if kind not in fits.get(fmt, (kind,)):
        claim = f"tables.{name}.format says {fmt}" if explicit else f"its name says {fmt}"
        right = {"parquet": "parquet", "excel": "excel", "duckdb": "duckdb"}.get(kind, "csv")
        raise DataError(f"{name}: {path.name} holds {DESCRIBE.get(kind, kind)}, but {claim}; "
                        f"set tables.{name}.format: {right} (or rename the file)")


def _read_text(con, name: str, tspec: Mapping[str, Any], files: list[Path], kinds: dict, where):
    """A delimited text table: encoding found or given, every column read as text."""
    encoding = tspec.get("encoding")
    delimiter = tspec.get("delimiter")
    if encoding is None and files and kinds[files[0]] == "zstd":
        encoding = "utf-8"  # the engine reads zstd itself; a file in another encoding says so when read
    if encoding is None and files:
        sample = _open_text_sample(files[0], kinds[files[0]])
        encoding = detect_encoding(sample)
        if encoding is None:
            raise DataError(f"{name}: cannot tell the encoding of {files[0].name}: it reads as none of UTF-8, UTF-16, "
                            f"GB18030, Big5, Shift-JIS or cp1252; set tables.{name}.encoding (e.g. latin-1, cp1250)")
    encoding = (encoding or "utf-8").lower()
    # standard CSV quoting said, not sniffed: the engine's sniffer decides from a sample, and a first quoted field
    # after it (line 25,000 of an export) would otherwise stop the read
    options: dict[str, Any] = {"all_varchar": True, "header": bool(tspec.get("header", True)),
                               "quote": tspec.get("quote", '"'), "escape": tspec.get("escape", '"')}
    if tspec.get("skip_rows"):
        options["skip"] = int(tspec["skip_rows"])
    if tspec.get("max_line_size"):
        options["max_line_size"] = int(tspec["max_line_size"])
        options["buffer_size"] = max(int(tspec["max_line_size"]) * 2, 32 << 20)
    if delimiter and delimiter != "whitespace":
        options["delim"] = delimiter
    errors = tspec.get("encoding_errors", "strict")
    native = (encoding in _UTF8 or encoding in _UTF16 or encoding in _LATIN1) and errors == "strict"
    # a file whose lines end in CRLF and LF both (parts pasted together on two systems) is copied with one line
    # break: the engine's sniffer refuses mixed endings
    mixed = [f for f in files if kinds[f] in ("text", "gzip") and _mixed_line_endings(f, kinds[f])]
    footer = int(tspec.get("skip_footer") or 0)
    if footer and (encoding in _UTF16 or any(kinds[f] != "text" for f in files)):
        native = False  # the lines after the data are cut from a plain UTF-8 copy
    if native and delimiter != "whitespace" and not mixed:
        if encoding in _UTF16:
            options["encoding"] = "utf-16"
        elif encoding in _LATIN1:
            options["encoding"] = "latin-1"
        if footer:
            cut = [str(_without_footer(f, footer, name)) for f in files]
            return _read_parts(con, name, cut if len(cut) > 1 else cut[0], options, shown=[f.name for f in files])
        return _read_parts(con, name, [str(f) for f in files] if len(files) > 1 else where, options)
    converted = [str(_transcoded(f, kinds[f], encoding, delimiter, errors, newlines=f in mixed)) for f in files]
    if footer:
        converted = [str(_without_footer(Path(c), footer, name, shown=f.name)) for c, f in zip(converted, files)]
    if delimiter == "whitespace":
        options["delim"] = ","
    return _read_parts(con, name, converted if len(converted) > 1 else converted[0], options,
                       shown=[f.name for f in files])


def _header_key(column: str) -> str:
    """A column name as parts are matched: stray spaces (any kind) and case do not count."""
    return "".join(str(column).split()).casefold()


def _read_parts(con, name: str, where, options: dict, *, shown: Sequence[str] | None = None):
    """One text table from one file or several parts; parts whose headers differ by spaces or case are matched.

    Monthly exports are often written by hand-edited templates: ``Customer_ID``
    one month, ``customer_id `` the next. Each part is read on its own and its
    columns renamed to the first part's when the names agree but for spaces
    and case; a part that lacks a column, or has one more, is refused naming
    the file and the column.
    """
    if isinstance(where, (str, os.PathLike)) or len(where) == 1:
        return con.read_csv(where if isinstance(where, (str, os.PathLike)) else where[0], **options)
    names = list(shown) if shown else [Path(w).name for w in where]
    parts = [con.read_csv(w, **options) for w in where]
    first = list(parts[0].columns)
    if all(list(p.columns) == first for p in parts[1:]):
        return con.read_csv(list(where), **options)
    wanted = {_header_key(c): c for c in first}
    matched = [parts[0]]
    for part, file in zip(parts[1:], names[1:]):
        own = {_header_key(c): c for c in part.columns}
        missing = [wanted[k] for k in wanted if k not in own]
        extra = [own[k] for k in own if k not in wanted]
        if missing or extra:
            what = (f"has no column '{missing[0]}' (the first part {names[0]} has it)" if missing else
                    f"has a column '{extra[0]}' that the first part {names[0]} does not")
            raise DataError(f"{name}: the part {file} {what}; its columns: {', '.join(map(str, part.columns))}; "
                            f"make the parts' headers agree (spaces and case may differ) or read {file} as a table "
                            "of its own")
        matched.append(part.select(**{wanted[k]: part[c] for k, c in own.items()}).select(first))
    return ibis.union(*matched, distinct=False)


#: canonical columns read only when the spec maps them: a column that happens to be called ``status`` in an
#: export is not silently read as the purchase status (which needs ``cleaning.statuses``)
MAPPED_ONLY = frozenset({"status", "line_type"})


def _map_columns(name: str, raw, mapping: Mapping[str, str], *, derive_amount: bool,
                 constants: Mapping[str, Any] | None = None, optional: frozenset = frozenset()):
    """Select and rename source columns to canonical names; raise on missing required ones.

    ``constants`` are canonical columns the source does not hold but whose
    value is the same on every row (``arm: treatment``); they are skipped here
    and added by :func:`~crm_kit.store.prepare._typed`. Required columns named in ``optional`` come
    from elsewhere when the source lacks them (the line items' customer and
    time from an orders table).
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
            if required and not (name == "transactions" and col == "order_id"):
                raise ParameterError(f"{name}.{col} is required and cannot be mapped to null")
            continue  # 'household_size: null' means: do not read that column ('order_id: null': no order id)
        if col in MAPPED_ONLY and col not in mapping:
            continue
        source = mapping.get(col, col)
        if col in optional and col not in mapping and source not in present:
            continue
        if col not in mapping and source in explicitly_used:
            # 'age_band: age' claims the source column 'age'; it is not also the canonical 'age'
            continue
        if source not in present and source is not None:
            # a header written with stray spaces or another case (' Amount') is the same column
            alike = [p for p in present if str(p).strip().lower() == str(source).strip().lower()]
            if len(alike) == 1:
                source = alike[0]
        if source in present:
            _refuse_repeated_header(name, col, source, present, explicitly_used)
            selected[col] = raw[source]
        elif required and not (col == "amount" and derive_amount):
            hint = difflib.get_close_matches(source, present, n=1, cutoff=0.5)
            maybe = f" (did you mean '{hint[0]}'?)" if hint else ""
            otherwise = (f"or, when the export has no order id, tables.{name}.columns.order_id: null — a purchase is "
                         "then a customer's day" if (name, col) == ("transactions", "order_id")
                         else f"or, when every row has the same value, tables.{name}.constants.{col}: <value>")
            raise MissingColumnError(
                f"{name} has no column '{source}' for '{col}'{maybe}; "
                f"map it in params: tables.{name}.columns.{col}: <your column name> ({otherwise}). "
                f"Columns present: {', '.join(present)}"
            )
        elif col in mapping:
            raise MissingColumnError(
                f"{name}: params map '{col}' to '{source}', which is not a column; "
                f"fix tables.{name}.columns.{col}. Columns present: {', '.join(present)}"
            )
    return selected


def _refuse_repeated_header(name: str, col: str, source: str, present: Sequence[str], used: set) -> None:
    """Refuse a mapped column whose header the file repeats: which copy holds the figure is a guess.

    A header naming ``amount`` twice is read as ``amount`` and ``amount_1``
    (DuckDB) or ``amount.1`` (spreadsheets through pandas). Taking the first
    silently sums whichever copy came first (a list price instead of what was
    paid), and lines that differ only in the other copy look like repeats.
    """
    copies = [p for p in present if p in (f"{source}_1", f"{source}.1") and p not in used]
    if copies:
        first, second = present.index(source) + 1, present.index(copies[0]) + 1
        raise ParameterError(
            f"{name}: the header names '{source}' twice (columns {first} and {second}), so which one is {col} is a "
            f"guess; rename one of them in the export, or map tables.{name}.columns.{col}: {copies[0]} to take the "
            f"second (column {second})")
