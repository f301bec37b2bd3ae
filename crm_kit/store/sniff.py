"""Sniffing a file: what its bytes say before any table is read.

The first room of the reading path that ``crm-kit init`` and the loader share
(sniff → profile → decide → read → cast). From a file's bytes alone it tells

* its type (:func:`file_kind`): delimited text (plain, gzip or zstd), an Excel
  workbook, an old ``.xls``, Parquet, a DuckDB database, a zip archive — and
  what the kit never reads (PDF, JSON lines, images, random bytes), named in
  a one-line refusal (:func:`refusal`);
* a text file's encoding (:func:`detect_encoding`): a byte-order mark, valid
  UTF-8, UTF-16 without a mark, else `charset-normalizer
  <https://charset-normalizer.readthedocs.io>`_ restricted to the encodings
  real exports come in (GB18030/GBK, Big5, Shift-JIS, EUC-KR, cp1252,
  cp1251...);
* its dialect and layout (:func:`sniff`): delimiter (or runs of spaces),
  the line endings, and the title or note lines above the header, counted
  as raw lines (blank ones included) so that ``skip_rows`` is what the
  reader skips;
* for a workbook, the sheet that holds the table (a notes sheet first is
  passed over) and the title rows above its header.

Everything here reads at most :data:`HEAD_BYTES` of a file; what only the
whole file can tell (layouts, separators, totals) is the profile's job
(:mod:`crm_kit.store.profile`).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataError

__all__ = ["HEAD_BYTES", "Sniffed", "file_kind", "refusal", "read_head", "detect_encoding", "sniff",
           "header_index", "find_delimiter", "excel_sheets", "footer_lines"]

#: bytes of a file's start that sniffing reads
HEAD_BYTES = 1 << 20
#: lines of the head that the header is looked for in
HEADER_LINES = 30

# Python's csv module refuses a field over 128 KB by default; a 12 MB text cell is read, not a traceback
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

#: what a file of each kind is, in a message
DESCRIBE = {"parquet": "a Parquet file", "excel": "an Excel workbook (.xlsx)", "xls": "an old Excel workbook (.xls)",
            "duckdb": "a DuckDB database", "gzip": "gzip-compressed text", "zstd": "zstd-compressed text",
            "text": "text (CSV or similar)", "zip": "a zip archive", "pdf": "a PDF document",
            "json": "JSON (or JSON lines)", "image": "an image", "sqlite": "an SQLite database",
            "archive": "a 7-Zip or RAR archive", "binary": "binary data (not text, not a known table format)",
            "empty": "nothing (0 bytes)"}


def file_kind(path: str | Path) -> str:
    """What a file holds, told from its bytes.

    One of ``text``, ``gzip``, ``zstd``, ``parquet``, ``excel``, ``xls``,
    ``duckdb``, ``zip`` (an archive that is not a workbook), ``empty``, or a
    kind the kit does not read: ``pdf``, ``json``, ``image``, ``sqlite``,
    ``archive``, ``binary``.
    """
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head:
        return "empty"
    if head[:4] == b"PAR1":
        return "parquet"
    if head[:4] == b"PK\x03\x04":
        return "excel" if _is_workbook(path) else "zip"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    if head[8:12] == b"DUCK":
        return "duckdb"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if head[:5] == b"%PDF-":
        return "pdf"
    if head[:16] == b"SQLite format 3\x00":
        return "sqlite"
    if head[:8] == b"\x89PNG\r\n\x1a\n" or head[:3] == b"\xff\xd8\xff" or head[:6] in (b"GIF87a", b"GIF89a"):
        return "image"
    if head[:6] == b"7z\xbc\xaf\x27\x1c" or head[:4] == b"Rar!":
        return "archive"
    if _is_json(head):
        return "json"
    if _is_binary(head):
        return "binary"
    return "text"


def _is_workbook(path: str | Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return str(path).lower().endswith((".xlsx", ".xlsm"))  # a damaged workbook is still a workbook
    return "xl/workbook.xml" in names or any(n.startswith("xl/") for n in names)


def _is_json(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text[:1] in (b"{", b"["):
        return False
    first = text.split(b"\n", 1)[0].strip()
    try:
        json.loads(first.decode("utf-8"))
        return True
    except (ValueError, UnicodeDecodeError):
        # a pretty-printed document or a cut line: JSON when it opens like one and has no delimiter-separated header
        return text[:1] == b"[" and text[1:40].lstrip()[:1] in (b"{", b"[", b"\"") or \
            text[:1] == b"{" and b"\":" in text[:200]


def _is_binary(head: bytes) -> bool:
    """NUL bytes (not UTF-16) or many control bytes: not text in any encoding exports use."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_mark(head):
        return False
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return control > max(8, len(head) // 100)


def _utf16_without_mark(head: bytes) -> str | None:
    """``utf-16-le`` / ``utf-16-be`` for text whose every other byte is NUL (ASCII in UTF-16), else None."""
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.6 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.6 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def refusal(path: str | Path, kind: str) -> str | None:
    """One line for a file of a kind the kit does not read (the problem and the fix), or None."""
    name = Path(path).name
    if kind == "empty":
        return f"{name} is empty (0 bytes); point the table's path at a file with data"
    if kind == "xls":
        return (f"{name} is an old Excel workbook (.xls), which the kit does not read; save it as .xlsx (or CSV) "
                "and point the path at that")
    if kind == "json":
        return (f"{name} holds JSON (or JSON lines), not a table the kit reads; export CSV, Excel or Parquet, or "
                f"convert it: duckdb -c \"COPY (FROM '{name}') TO '{Path(name).stem}.csv'\"")
    if kind in ("pdf", "image"):
        return (f"{name} is {DESCRIBE[kind]}, not a table; export the data itself as CSV, Excel (.xlsx) or "
                "Parquet from the system that made it")
    if kind in ("sqlite", "archive", "binary"):
        return (f"{name} holds {DESCRIBE[kind]}; the kit reads CSV/TSV text, Excel (.xlsx), Parquet, DuckDB and a zip "
                "of one of them: export the table in one of those")
    return None


def read_head(path: str | Path, kind: str = "text", size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of a text file (decompressed when it is gzip)."""
    if kind == "gzip":
        import gzip

        with gzip.open(path, "rb") as fh:
            return fh.read(size)
    with open(path, "rb") as fh:
        return fh.read(size)


#: the encodings charset-normalizer chooses among (those real exports come in)
CANDIDATE_ENCODINGS = ("gb18030", "big5", "shift_jis", "euc_kr", "cp1252", "cp1251", "cp1250", "cp1253", "cp1254",
                       "iso8859_7", "koi8_r")
#: how much less likely an encoding is in shops' exports (added to charset-normalizer's mess ratio)
_PRIOR = {"gb18030": 0.0, "shift_jis": 0.0, "cp1252": 0.0, "big5": 0.05, "cp1250": 0.05}
#: what charset-normalizer's names are written as in a data spec
_SPEC_NAMES = {"gb18030": "gb18030", "gbk": "gb18030", "gb2312": "gb18030", "big5": "big5", "shift_jis": "shift_jis",
               "cp932": "shift_jis", "euc_kr": "euc_kr", "cp949": "euc_kr", "cp1252": "cp1252", "latin_1": "cp1252",
               "iso8859_15": "cp1252", "cp1251": "cp1251", "cp1250": "cp1250", "cp1253": "cp1253", "cp1254": "cp1254",
               "iso8859_7": "iso8859_7", "koi8_r": "koi8_r"}


def detect_encoding(sample: bytes) -> str | None:
    """The encoding of a text sample, as a data spec writes it; ``None`` when no candidate reads it.

    A byte-order mark (``utf-8-sig``, ``utf-16``); valid UTF-8 (``utf-8``, a
    character cut by the sample's end allowed); UTF-16 without a mark
    (``utf-16-le``/``utf-16-be``); else the best of
    :data:`CANDIDATE_ENCODINGS` by charset-normalizer, measured on the lines
    that hold bytes above ASCII. Chinese GBK is written ``gb18030``, its
    superset, so a rare character in row 40,000 still reads.
    """
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    wide = _utf16_without_mark(sample)
    if wide:
        return wide
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":  # a character cut by the sample's end
            return "utf-8"
    lines = [ln for ln in sample.split(b"\n") if any(b > 127 for b in ln)]
    if len(sample) >= HEAD_BYTES // 2 and lines:
        lines = lines[:-1] or lines  # the last line may be cut by the sample's end
    text = b"\n".join(lines)[:1 << 16]
    from charset_normalizer import from_bytes

    found = list(from_bytes(text, cp_isolation=list(CANDIDATE_ENCODINGS), threshold=0.5))
    if not found:
        return None
    # charset-normalizer's mess ratio, less its language coherence, plus a prior: shops' exports come in GBK,
    # Shift-JIS and cp1252 far more often than in EUC-KR or cp1251, which read a short Chinese or French text
    # with a lower mess ratio now and then
    best = min(found, key=lambda m: m.chaos - 0.5 * m.coherence + _PRIOR.get(m.encoding, 0.1))
    name = _SPEC_NAMES.get(best.encoding, best.encoding)
    import codecs

    try:
        codecs.getincrementaldecoder(name)().decode(sample, final=False)  # a character cut by the end is no fault
    except UnicodeDecodeError:
        return None
    return name


def decode(sample: bytes, encoding: str) -> str:
    """A sample as text (a character cut by the sample's end, or a stray byte, read as U+FFFD)."""
    return sample.decode("utf-16" if encoding == "utf-16" else encoding, errors="replace")


# ------------------------------------------------------------------------------------------------ dialect and layout


def _split(lines: Sequence[str], delimiter: str) -> list[list[str]]:
    if delimiter == "whitespace":
        return [ln.split() for ln in lines]
    return list(csv.reader(lines, delimiter=delimiter))


def find_delimiter(lines: Sequence[str]) -> tuple[str, str]:
    """The delimiter that splits the lines into the same number of fields (or ``whitespace``), and why."""
    lines = [ln for ln in lines if ln.strip()][:200]
    best, best_score, best_share = None, 0.0, 0.0
    for delim in (",", ";", "\t", "|"):
        counts = [len(r) for r in _split(lines, delim)]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        share = counts.count(mode) / len(counts)
        score = share + 0.01 * min(mode, 50)  # the same share: more fields is the likelier delimiter
        if score > best_score:
            best, best_score, best_share = delim, score, share
    spaces = [len(ln.split()) for ln in lines]
    mode = max(set(spaces), key=spaces.count) if spaces else 0
    if mode >= 3 and spaces.count(mode) / len(spaces) > max(best_share, 0.9) and not any("\t" in ln for ln in lines[:5]):
        return "whitespace", f"{spaces.count(mode)} of {len(spaces)} head lines split into {mode} fields on spaces"
    if best is None:
        return ",", "no delimiter splits the lines evenly: one column, read with commas"
    shown = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}[best]
    return best, f"{shown}: splits {best_share:.0%} of the head lines into the same number of fields"


def _numeric(cell: str) -> bool:
    return bool(re.fullmatch(r"[\s¥￥$€£+\-]*\d[\d\s.,:/\-']*[\s¥￥$€£%元-]*", cell))


def header_index(rows: Sequence[Sequence[str]]) -> int:
    """The index of the header among raw rows (blank ones included): the first row as wide as the data whose
    cells are mostly filled and mostly words."""
    filled = [r for r in rows if any(str(c).strip() for c in r)]
    if not filled:
        return 0
    widths = [sum(1 for c in r if str(c).strip()) if len(r) == 1 else len(r) for r in filled[:200]]
    mode = max(set(widths), key=widths.count)
    for i, row in enumerate(rows[:HEADER_LINES]):
        cells = [str(c).strip() for c in row]
        used = [c for c in cells if c]
        if len(cells) < mode or len(used) < max(2, (mode + 1) // 2) or (len(cells) > mode and len(used) < mode):
            continue
        if sum(1 for c in used if _numeric(c)) <= len(used) // 3:
            return i
    return 0


@dataclass
class Sniffed:
    """How one file is written, as far as its bytes tell."""

    path: Path
    kind: str
    encoding: str | None = None
    delimiter: str | None = None
    #: raw lines (or workbook rows) above the header
    skip_rows: int = 0
    #: raw lines after the data at the file's end (a record count, a seller id; blank ones included)
    skip_footer: int = 0
    header: list[str] = field(default_factory=list)
    #: ``LF``, ``CRLF``, ``CR`` or ``mixed``
    line_endings: str = "LF"
    #: a workbook's sheet to read (None: the first) and every sheet with its size
    sheet: str | int | list[str] | None = None
    sheets: list[tuple[str, int, int]] = field(default_factory=list)
    #: the longest line of the head, in bytes
    longest_line: int = 0
    evidence: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)

    def options(self) -> dict[str, Any]:
        """The read options of a data spec this file needs (none when the defaults read it)."""
        out: dict[str, Any] = {}
        if self.encoding not in (None, "utf-8", "utf-8-sig", "ascii"):
            out["encoding"] = self.encoding
        if self.delimiter not in (None, ","):
            out["delimiter"] = self.delimiter
        if self.skip_rows:
            out["skip_rows"] = self.skip_rows
        if self.skip_footer:
            out["skip_footer"] = self.skip_footer
        if self.sheet not in (None, 0):
            out["sheet"] = self.sheet
        return out


def sniff(path: str | Path) -> Sniffed:
    """How ``path`` is written: its type, encoding, delimiter, line endings, title lines and header.

    Raises
    ------
    DataError
        For a file the kit does not read (PDF, JSON, an ``.xls``, binary
        data...), in one line naming the fix.
    """
    path = Path(path)
    kind = file_kind(path)
    why = refusal(path, kind)
    if why:
        raise DataError(why)
    if kind == "excel":
        return _sniff_workbook(path)
    if kind in ("parquet", "duckdb", "zip"):
        return Sniffed(path, kind, evidence=[DESCRIBE[kind][0].upper() + DESCRIBE[kind][1:]])
    raw = read_head(path, kind)
    found = Sniffed(path, kind)
    encoding = detect_encoding(raw)
    if encoding is None:
        raise DataError(f"{path.name}: cannot tell its encoding (not UTF-8, UTF-16, GB18030, Big5, Shift-JIS, "
                        "cp1252...); set the table's encoding: (e.g. latin-1, cp1250) or save it as UTF-8")
    found.encoding = encoding
    found.evidence.append(f"encoding {encoding}" + (" (a byte-order mark)" if encoding in ("utf-8-sig", "utf-16")
                                                    else " (no byte-order mark)" if encoding.startswith("utf-16")
                                                    else ""))
    text = decode(raw, encoding)
    crlf, lf, cr = text.count("\r\n"), text.count("\n") - text.count("\r\n"), text.count("\r") - text.count("\r\n")
    found.line_endings = "mixed" if sum(1 for x in (crlf, lf, cr) if x) > 1 else "CRLF" if crlf else "CR" if cr else "LF"
    if found.line_endings == "mixed":
        found.evidence.append(f"mixed line endings ({crlf:,} CRLF, {lf:,} LF{f', {cr:,} CR' if cr else ''}): read "
                              "as the same line breaks")
    lines = re.split(r"\r\n|\n|\r", text)  # line breaks only (str.splitlines also breaks at \x0b, \u2028...)
    if lines and lines[-1] == "":
        lines = lines[:-1]
    if len(raw) >= HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # likely cut by the head's end
    found.longest_line = max((len(ln.encode("utf-8")) for ln in lines), default=0)
    delimiter, why = find_delimiter(lines)
    found.delimiter = delimiter
    found.evidence.append(f"delimiter: {why}")
    rows = _split(lines[:HEADER_LINES + 200], delimiter) if delimiter != "whitespace" else \
        [ln.split() for ln in lines[:HEADER_LINES + 200]]
    head = header_index(rows)
    found.skip_rows = head
    if head:
        notes = [ln.strip() for ln in lines[:head] if ln.strip()]
        blank = sum(1 for ln in lines[:head] if not ln.strip())
        found.evidence.append(f"{head} line(s) above the header ({len(notes)} of text"
                              + (f", {blank} blank" if blank else "") + ")")
    found.header = [str(c).strip() for c in rows[head]] if rows else []
    if kind == "text" and delimiter != "whitespace" and len(found.header) >= 3:
        tail = lines if len(raw) < HEAD_BYTES else _tail_lines(path, encoding)
        footer, notes = footer_lines(tail, delimiter, len(found.header))
        if footer:
            found.skip_footer = footer
            found.evidence.append(f"{footer} line(s) after the data ({len(notes)} of text: "
                                  + "; ".join(repr(n[:60]) for n in notes[:2])
                                  + f"{', ' + str(footer - len(notes)) + ' blank' if footer > len(notes) else ''}): "
                                  "not rows of the table (a record count, a seller id), skipped")
    return found


#: bytes of a text file's end read for the lines after its data
TAIL_BYTES = 1 << 16


def _tail_lines(path: Path, encoding: str) -> list[str]:
    """The whole lines in the last :data:`TAIL_BYTES` of a text file (the first, likely cut, dropped)."""
    size = path.stat().st_size
    start = max(0, size - TAIL_BYTES)
    start -= start % 2  # a UTF-16 character starts at an even byte
    with open(path, "rb") as fh:
        fh.seek(start)
        text = fh.read().decode(encoding.replace("-sig", ""), errors="replace")
    lines = re.split(r"\r\n|\n|\r", text)
    if lines and lines[-1] == "":
        lines = lines[:-1]
    return lines[1:] if start else lines


def footer_lines(lines: Sequence[str], delimiter: str, width: int) -> tuple[int, list[str]]:
    """How many of the last ``lines`` are no rows of a table ``width`` columns wide: blank lines and notes (a
    record count, a seller id) that hold fewer fields than the header and fewer than half of them filled. Only
    lines after the last full-width row count, and at least one must hold text (blank lines alone are no footer).

    A last line cut short (``c7,o999,2025-02-`` of six columns: half of them filled) is a row, not a note: the
    reader says it is cut short.
    """
    count, notes = 0, []
    for line in reversed(lines):
        if not line.strip():
            count += 1
            continue
        cells = next(csv.reader([line], delimiter=delimiter), [])
        used = [c for c in cells if c.strip()]
        if len(cells) < width and len(used) < max(2, width // 2) and len(cells) <= 2:
            count += 1
            notes.append(line.strip())
            continue
        if len(cells) != width:
            return 0, []  # the data ends in a row that is not the table's: not a footer the kit can tell
        break
    else:
        return 0, []
    return (count, notes[::-1]) if notes else (0, [])


# ------------------------------------------------------------------------------------------------ workbooks


def excel_sheets(path: str | Path, rows: int = HEADER_LINES + 50) -> list[tuple[str, list[list[str]], int]]:
    """Every sheet of a workbook: its name, its first ``rows`` rows as text, and its number of rows."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a damaged workbook, whatever openpyxl says
        raise DataError(f"{Path(path).name} cannot be opened as an Excel workbook ({str(exc)[:80]}); save it again "
                        "as .xlsx or CSV") from exc
    out = []
    try:
        for ws in book.worksheets:
            head = []
            for row in ws.iter_rows(max_row=rows, values_only=True):
                head.append(["" if v is None else (v.isoformat(sep=" ") if hasattr(v, "isoformat") else str(v))
                             for v in row])
            total = ws.max_row if ws.max_row is not None else len(head)
            out.append((ws.title, head, int(total)))
    finally:
        book.close()
    return out


def _table_size(head: list[list[str]], total: int) -> int:
    """How much of a table a sheet holds: its rows times its usual number of filled cells."""
    widths = [sum(1 for c in r if str(c).strip()) for r in head]
    widths = [w for w in widths if w]
    if not widths:
        return 0
    mode = max(set(widths), key=widths.count)
    return max(total, len(head)) * mode if mode >= 2 else 0


def _sniff_workbook(path: Path) -> Sniffed:
    sheets = excel_sheets(path)
    found = Sniffed(path, "excel", sheets=[(name, total, max((len(r) for r in head), default=0))
                                           for name, head, total in sheets])
    if not sheets:
        raise DataError(f"{path.name} has no sheet; save the table as .xlsx or CSV")
    sizes = [_table_size(head, total) for _name, head, total in sheets]
    pick = max(range(len(sheets)), key=lambda i: (sizes[i], -i))
    name, head, _total = sheets[pick]
    found.evidence.append(f"Excel workbook, sheet {name!r}")
    skip = header_index(head)
    # the sheets under the same header above the same number of rows are parts of one table (a sheet per month)
    alike = [i for i, (_n, h, _t) in enumerate(sheets)
             if sizes[i] and len(h) > skip and header_index(h) == skip
             and [c.strip() for c in h[skip]] == [c.strip() for c in head[skip]]] if head and len(head) > skip else [pick]
    if len(alike) > 1:
        found.sheet = [sheets[i][0] for i in alike]
        others = [repr(s[0]) for i, s in enumerate(sheets) if i not in alike]
        found.evidence.append(f"{len(sheets)} sheets: {len(alike)} with the same header read as one table "
                              f"({', '.join(repr(x) for x in found.sheet)})" + (f", not {', '.join(others)}" if others
                                                                                 else ""))
    elif len(sheets) > 1:
        found.sheet = name
        others = ", ".join(repr(s[0]) for i, s in enumerate(sheets) if i != pick)
        found.evidence.append(f"{len(sheets)} sheets: {name!r} holds the table ({sizes[pick]:,} cells), not {others}")
    found.skip_rows = skip
    if found.skip_rows:
        found.evidence.append(f"{found.skip_rows} row(s) above the header")
    found.header = [c.strip() for c in head[found.skip_rows]] if head else []
    return found
