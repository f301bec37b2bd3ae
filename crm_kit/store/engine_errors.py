"""An engine's error while a table is read, translated into the kit's one line naming the problem and the fix.

The reading path's errors (:mod:`~crm_kit.store.read`, :mod:`~crm_kit.store.cast`) never reach a user raw:
DuckDB's or pyarrow's message about a byte it cannot decode, a line with too many fields, a broken Parquet
page or parts whose headers differ becomes a :class:`~crm_kit.errors.DataError` that names the file, the line
and the data spec's key to set.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from ..errors import DataError
from .convert import _sniff

__all__ = ["engine_error"]


def _last_line(files: Sequence[Path], name: str) -> str | None:
    """The last non-empty line of the text file called ``name`` among ``files`` (from its last 64 KB), or None."""
    path = next((Path(f) for f in files if Path(f).name == name), None)
    if path is None or not path.exists() or _sniff(path) != "text":
        return None
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - (1 << 16)))
        tail = fh.read().decode("utf-8", errors="replace").rstrip("\r\n")
    return tail.rsplit("\n", 1)[-1].strip()


def _is_last_line(files: Sequence[Path], name: str, line: str) -> bool:
    """Whether ``line`` is the last non-empty line of the file called ``name``."""
    return _last_line(files, name) == line.strip()


def _clip(text: str, limit: int = 120) -> str:
    """One line of a value, at most ``limit`` characters (a 3 MB cell never fills a message)."""
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= limit else line[:limit] + f"… ({len(line):,} characters)"


def engine_error(exc: BaseException, name: str, files: Sequence[Path] = (), fmt: str = "") -> DataError:
    """The kit's one line for an engine's (DuckDB's, pyarrow's) error while a table is read.

    What went wrong, where (the file, the line), and the option that fixes
    it; the engine's own text is cut to its first line and at most
    120 characters of a value are quoted.

    Parameters
    ----------
    exc
        The engine's exception.
    name
        The table being read (``transactions``, ``customers``...).
    files
        The table's files, to name one when the engine does not.
    fmt
        The format the table was read as (``csv``, ``parquet``...).
    """
    text = str(exc)
    found = re.search(r"^\s*file = (.+)$", text, re.M) or re.search(r'(?:file|File) "([^"]+)"', text)
    file = Path(found.group(1).strip()).name if found else (files[0].name if len(files) == 1 else "")
    line = re.search(r"CSV Error on Line: (\d+)", text)
    where = (file or f"the {name} file") + (f", line {int(line.group(1)):,}" if line else "")
    opt = f"tables.{name}"
    size = re.search(r"Maximum line size of (\d+) bytes exceeded\. Actual Size:\s*(\d+)", text)
    if size:
        need = -(-int(size.group(2)) * 2 // 1_000_000) * 1_000_000
        return DataError(f"{name}: {file or 'the ' + name + ' file'} has a line of {int(size.group(2)):,} bytes, over the reader's limit of "
                         f"{int(size.group(1)):,} (a very long text cell); set {opt}.max_line_size: {need}")
    if "Invalid unicode" in text or "not utf-8" in text.lower() or isinstance(exc, UnicodeDecodeError):
        return DataError(f"{name}: {where} holds bytes that are not UTF-8, though the start of the file is; set "
                         f"{opt}.encoding to the file's encoding (gb18030, cp1252, latin-1...), or "
                         f"{opt}.encoding_errors: replace to read those bytes as \ufffd")
    fields = re.search(r"Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)", text)
    if fields:
        original = re.search(r"Original Line:\s*(.*)", text)
        shown = f" ({_clip(original.group(1), 80)})" if original else ""
        if original and int(fields.group(2)) < int(fields.group(1)) and _is_last_line(files, file, original.group(1)):
            return DataError(f"{name}: the last line of {file} is cut short ({fields.group(2)} of {fields.group(1)} "
                             f"fields{shown}): the export or the copy was interrupted; export or copy the file "
                             "again (or delete that line)")
        return DataError(f"{name}: {where} has {fields.group(2)} fields where the header has {fields.group(1)}"
                         f"{shown}; if a text holds the delimiter, quote it in the export or set {opt}.quote / "
                         f"{opt}.escape to the characters the file uses, or set {opt}.delimiter")
    if "Error when sniffing" in text:
        last = _last_line(files, file)
        if last is not None and last.count('"') % 2:
            return DataError(f"{name}: the last line of {file} opens a quote that never closes "
                             f"({_clip(last, 60)}): the line is cut short — the export or the copy was interrupted; "
                             "export or copy the file again (or delete that line)")
        return DataError(f"{name}: the reader could not tell how {file or 'the file'} is written; set "
                         f"{opt}.delimiter, {opt}.quote ('' for none) and {opt}.header, or check that it is a "
                         "delimited text file")
    if "Unterminated quoted field" in text or "unterminated quote" in text.lower():
        return DataError(f"{name}: {where} opens a quoted field that never closes (a line cut short, or a stray "
                         f"quote); re-export the file whole, or set {opt}.quote: '' if quotes are plain characters")
    if fmt == "parquet" or "parquet" in text.lower() or "decompression" in text.lower():
        return DataError(f"{name}: {where} is a damaged Parquet file ({_clip(text.split(':', 1)[-1], 80)}); copy or "
                         "export it again (the kit cannot read past a broken page)")
    if "Schema mismatch" in text:
        column = re.search(r'Column with name: "([^"]+)"', text)
        current = re.search(r"Current file: (.+)", text)
        return DataError(f"{name}: the part {Path(current.group(1).strip()).name if current else '?'} has other "
                         f"columns than the first part{' (no ' + column.group(1) + ')' if column else ''}; make the "
                         "parts' headers agree, or read them as separate tables")
    first = _clip(re.sub(r"^[\w ]*Error:\s*", "", text.strip()) or type(exc).__name__)
    return DataError(f"{name}: cannot read {where}{' as ' + fmt if fmt else ''} ({first}); check {opt}.path and, for "
                     "text files, delimiter, header, skip_rows and encoding")
