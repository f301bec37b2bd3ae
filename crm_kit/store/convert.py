"""Files the engine cannot read as exported, converted once into the cache: text, workbooks, archives.

The reading path's second step (:mod:`~crm_kit.store.source` → convert → :mod:`~crm_kit.store.read` →
:mod:`~crm_kit.store.derive` → :mod:`~crm_kit.store.cast`): a text file in another encoding than UTF-8, or with mixed line endings, is
transcoded; lines after the data (a record count) are cut off; an Excel workbook's sheets (merged cells
filled) become Parquet; a zipped export is unpacked. The source file itself is only read; each converted copy
is keyed by the source's digest.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from pathlib import Path
from typing import Any, Mapping

from ..errors import DataError
from .connect import scratch_dir
from .sniff import file_kind, read_head
from .source import sampled_digest

_log = logging.getLogger("crm_kit.store")

__all__: list[str] = []


def _sniff(path: Path) -> str:
    """What a file holds, from its bytes (:func:`crm_kit.store.sniff.file_kind`)."""
    return file_kind(path)


def _open_text_sample(path: Path, kind: str, size: int = 1 << 20) -> bytes:
    return read_head(path, kind, size)


def _mixed_line_endings(path: Path, kind: str) -> bool:
    """Whether the start of a text file ends its lines in CRLF and in LF both."""
    head = _open_text_sample(path, kind, 1 << 20)
    crlf = head.count(b"\r\n")
    return bool(crlf) and head.count(b"\n") > crlf


def _transcoded(path: Path, kind: str, encoding: str, delimiter: str | None, errors: str = "strict", *,
                newlines: bool = False) -> Path:
    """A UTF-8 comma-separated copy of a text file in the cache (the input is never touched).

    With ``errors="replace"`` a byte the encoding cannot read becomes U+FFFD
    (and the table's cleaning report counts the lines that hold one).
    """
    import csv
    import hashlib

    st = path.stat()
    key = hashlib.sha256(f"{path}|{st.st_size}|{st.st_mtime_ns}|{sampled_digest(path, st.st_size)}|{encoding}|"
                         f"{errors}|{delimiter}|{newlines}".encode()).hexdigest()[:24]
    folder = scratch_dir("converted")
    target = folder / f"{key}.csv"
    if target.exists():
        return target
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    if kind == "gzip":
        import gzip

        source = gzip.open(path, "rt", encoding=encoding, errors=errors, newline=None if newlines else "")
    elif kind == "zstd":
        raise DataError(f"{path.name} is zstd-compressed {encoding} text, which the engine reads only as UTF-8; "
                        f"decompress it (zstd -d {path.name}) and point the table's path at the .csv")
    else:
        source = open(path, encoding=encoding, errors=errors, newline=None if newlines else "")
    try:
        with source as src, open(tmp, "w", encoding="utf-8", newline="") as out:
            if delimiter == "whitespace":
                writer = csv.writer(out)
                for line in src:
                    if line.strip():
                        writer.writerow(line.split())
            else:
                replaced = 0
                for chunk in iter(lambda: src.read(1 << 20), ""):
                    replaced += chunk.count("\ufffd") if errors == "replace" else 0
                    out.write(chunk)
                if replaced:
                    _log.warning(
                        "%s: %d character(s) could not be read as %s and read as \ufffd (encoding_errors: replace)",
                        path.name, replaced, encoding)
    except UnicodeDecodeError as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(f"{path.name} is not valid {encoding} text (byte {exc.start:,} of a block cannot be read); "
                        "set the table's encoding: (e.g. gbk, gb18030, utf-16, latin-1), or encoding_errors: replace "
                        "to read such bytes as \ufffd") from exc
    tmp.rename(target)
    return target


def _without_footer(path: Path, lines: int, name: str, *, shown: str | None = None) -> Path:
    """A copy of a text file without its last ``lines`` lines (``skip_footer``: a record count, a seller id), in
    the cache; the input is never touched.

    The lines are found from the file's end, a block at a time, and the rest is copied as bytes: the cost is a copy
    of the file, and only for a table that says ``skip_footer``. Blank lines count as lines (as ``skip_rows``).
    """
    import hashlib
    import shutil

    st = path.stat()
    key = hashlib.sha256(f"footer|{path}|{st.st_size}|{st.st_mtime_ns}|{lines}".encode()).hexdigest()[:24]
    folder = scratch_dir("converted")
    target = folder / f"{key}{path.suffix or '.csv'}"
    if target.exists():
        return target
    size = st.st_size
    block = min(size, 1 << 16)
    with open(path, "rb") as fh:
        while True:
            fh.seek(size - block)
            tail = fh.read(block)
            # the file's own last line break ends its last line; it does not start another
            body = tail[:-2] if tail.endswith(b"\r\n") else tail[:-1] if tail.endswith((b"\n", b"\r")) else tail
            breaks = [m.start() for m in re.finditer(rb"\r\n|\n|\r", body)]
            if len(breaks) >= lines or block >= size:
                break
            block = min(size, block * 4)
        if len(breaks) < lines:
            raise DataError(f"{name}: {shown or path.name} has {len(breaks) + 1} line(s), not more than "
                            f"tables.{name}.skip_footer: {lines}; lower skip_footer to the lines after the data")
        end = next(m.end() for m in re.finditer(rb"\r\n|\n|\r", body[breaks[-lines]:]))
        cut = size - block + breaks[-lines] + end
        fh.seek(0)
        tmp = folder / f".{key}.{os.getpid()}.tmp"
        with open(tmp, "wb") as out:
            left = cut
            while left > 0:
                chunk = fh.read(min(left, 1 << 20))
                if not chunk:
                    break
                out.write(chunk)
                left -= len(chunk)
    shutil.move(tmp, target)
    return target


def _excel_as_parquet(path: Path, tspec: Mapping[str, Any]) -> Path:
    """A sheet of an .xlsx workbook, every cell as text, kept as Parquet in the cache."""
    import hashlib

    import pandas as pd

    from ..config import cache_root

    sheet = tspec.get("sheet", 0)
    st = path.stat()
    key = hashlib.sha256(f"merged|{path}|{st.st_size}|{st.st_mtime_ns}|{sheet}|{tspec.get('header', True)}|"
                         f"{tspec.get('skip_rows', 0)}".encode()).hexdigest()[:24]
    folder = cache_root() / "converted"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{key}.parquet"
    if target.exists():
        return target
    try:
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True)
        names = book.sheetnames
        book.close()
    except Exception as exc:  # noqa: BLE001 - a damaged workbook, whatever openpyxl says
        raise DataError(f"{path.name} cannot be opened as an Excel workbook ({exc}); save it again as .xlsx or CSV") from exc
    # several sheets of one table (a sheet per month, each with the same header) are read as one
    frames = [_excel_sheet_frame(path, one, names, tspec) for one in (sheet if isinstance(sheet, list) else [sheet])]
    if len(frames) > 1 and any(list(f.columns) != list(frames[0].columns) for f in frames):
        other = next(i for i, f in enumerate(frames) if list(f.columns) != list(frames[0].columns))
        raise DataError(f"{path.name}: the sheets {sheet[0]!r} and {sheet[other]!r} have different headers; read "
                        "sheets with the same columns as one table (sheet: [..]) and the others as tables of their own")
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.dropna(how="all")
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    frame.to_parquet(tmp, index=False)
    tmp.rename(target)
    return target


def _excel_sheet_frame(path: Path, sheet: str | int, names: list[str], tspec: Mapping[str, Any]):
    """One sheet of a workbook as a frame of text cells under its header (merged cells filled)."""
    import pandas as pd

    if isinstance(sheet, str) and sheet not in names:
        hint = difflib.get_close_matches(sheet, names, n=1)
        raise DataError(f"{path.name} has no sheet {sheet!r}{f' (did you mean {hint[0]!r}?)' if hint else ''}; "
                        f"its sheets: {names}; set the table's sheet:")
    if isinstance(sheet, int) and not 0 <= sheet < len(names):
        raise DataError(f"{path.name} has {len(names)} sheet(s) {names}; sheet: {sheet} is not one of them")
    grid = pd.read_excel(path, sheet_name=sheet, dtype=str, header=None, engine="openpyxl")
    # a merged cell holds its value in its first cell only: every cell of the range gets it (a receipt's date
    # merged over its lines belongs to each line; dropped, the lines would look like repeats)
    for top, left, bottom, right in _merged_ranges(path, names[sheet] if isinstance(sheet, int) else sheet):
        if top - 1 < len(grid) and left - 1 < grid.shape[1]:
            grid.iloc[top - 1:bottom, left - 1:right] = grid.iat[top - 1, left - 1]
    grid = grid.iloc[int(tspec.get("skip_rows", 0) or 0):]
    if tspec.get("header", True):
        header = ["" if pd.isna(h) else str(h) for h in grid.iloc[0]] if len(grid) else []
        seen: dict[str, int] = {}
        names_out = []
        for i, h in enumerate(header):
            h = h.strip() or f"Unnamed: {i}"
            seen[h] = seen.get(h, -1) + 1
            names_out.append(h if not seen[h] else f"{h}.{seen[h]}")
        frame = grid.iloc[1:].reset_index(drop=True)
        frame.columns = names_out
    else:
        frame = grid.reset_index(drop=True)
        frame.columns = [str(c) for c in range(grid.shape[1])]
    return frame


def _merged_ranges(path: Path, sheet: str) -> list[tuple[int, int, int, int]]:
    """The merged cell ranges of a workbook's sheet as (first row, first column, last row, last column), 1-based.

    Read from the sheet's XML (``<mergeCell ref="A2:A5"/>``): openpyxl's
    read-only mode, which reads large workbooks fast, does not report them.
    """
    import re as _re
    import zipfile

    from openpyxl.utils.cell import range_boundaries

    try:
        with zipfile.ZipFile(path) as archive:
            book = archive.read("xl/workbook.xml").decode("utf-8", "replace")
            rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
            found = next((m for m in _re.finditer(r"<(?:\w+:)?sheet\b[^>]*>", book)
                          if _re.search(r'name="([^"]*)"', m.group(0)) and
                          _xml_text(_re.search(r'name="([^"]*)"', m.group(0)).group(1)) == sheet), None)
            if found is None:
                return []
            rid = _re.search(r'r:id="([^"]+)"', found.group(0))
            target = None
            for tag in _re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", rels):
                ident, where = _re.search(r'\bId="([^"]+)"', tag), _re.search(r'\bTarget="([^"]+)"', tag)
                if rid and ident and where and ident.group(1) == rid.group(1):
                    target = where.group(1)
            if target is None:
                return []
            member = target.lstrip("/") if target.startswith("/") else "xl/" + target
            xml = archive.read(member).decode("utf-8", "replace")
    except (KeyError, OSError, zipfile.BadZipFile):
        return []
    out = []
    for ref in _re.findall(r'<(?:\w+:)?mergeCell\b[^>]*ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"', xml):
        left, top, right, bottom = range_boundaries(ref)
        out.append((top, left, bottom, right))
    return out


def _xml_text(text: str) -> str:
    import html

    return html.unescape(text)


def _unzipped(path: Path, name: str) -> Path:
    """The one file of a zip archive, unpacked once into the cache (``stores/unzipped/<digest>/``)."""
    import zipfile

    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{name}: {path.name} is not a readable zip archive ({exc}); unzip it by hand and point "
                        f"tables.{name}.path at the file inside") from exc
    with archive:
        members = [m for m in archive.namelist() if not m.endswith("/") and not m.startswith(("__MACOSX/", "."))]
        if len(members) != 1:
            shown = ", ".join(members[:5]) + (", ..." if len(members) > 5 else "")
            raise DataError(f"{name}: {path.name} is a zip of {len(members)} files ({shown}); unzip it and point "
                            f"tables.{name}.path at the one to read (or at all of them with a glob, parts/*.csv)")
        target = scratch_dir("unzipped") / sampled_digest(path) / Path(members[0]).name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            with archive.open(members[0]) as src, open(partial, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            os.replace(partial, target)
    return target
