"""Where a table's files are, and what they hold: paths and globs resolved to files, and their content digests.

The first step of the reading path (source → convert → read → derive → cast; :mod:`crm_kit.store.sniff` and
:mod:`crm_kit.store.profile` look at the same files for ``crm-kit init``): a table's ``path`` — one file, a
glob over monthly parts, or a remote URI the engine reads itself — becomes the local files it stands for, and
each file's digest (whole, or sampled blocks of a large one) keys the caches built from it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..config import resolve_path, search_roots
from ..errors import DataError

__all__ = ["DIGEST_BLOCK", "DIGEST_BLOCKS", "DIGEST_WHOLE", "sampled_digest", "source_files"]


def _is_uri(path: Any) -> bool:
    return "://" in str(path)


def _has_glob(path: Any) -> bool:
    return any(ch in str(path) for ch in "*?[")


def _glob(path: str | os.PathLike) -> tuple[str, list[Path]]:
    """Expand a glob from the cwd, else from the project root: (absolute pattern, sorted matches)."""
    text = os.path.expandvars(os.path.expanduser(str(path)))
    if Path(text).is_absolute():
        bases, pattern = [Path(Path(text).anchor)], str(Path(text).relative_to(Path(text).anchor))
    else:
        bases, pattern = search_roots(), text
    for base in bases:
        found = sorted(base.glob(pattern))
        dangling = [m for m in found if m.is_symlink() and not m.exists()]
        if dangling:
            raise DataError(f"{dangling[0]} (matched by '{path}') is a link to {os.readlink(dangling[0])}, which does "
                            "not exist; restore the file it points to or remove the link")
        matches = sorted(m.resolve() for m in found)
        if matches:
            return str(base.resolve() / pattern), matches
    raise DataError(f"no file matches '{path}' (looked from {', '.join(str(b) for b in bases)}); check the path in params")


def source_files(path: str | os.PathLike) -> list[Path]:
    """The local files a table path stands for: one file, or every match of a glob (``lines/*.parquet``).

    Raises when nothing matches. Remote URIs (``s3a://``, ``hdfs://``...) have
    no local files: the engine reads them, and the result is ``[]``.
    """
    if _is_uri(path):
        return []
    if _has_glob(path):
        return _glob(path)[1]
    found = resolve_path(path, must_exist=True)
    if found.is_dir():
        raise DataError(_folder_advice(path, found))
    return [found]


def _folder_advice(path: str | os.PathLike, folder: Path) -> str:
    """What to write when a table's path names a folder: a glob over the files of the kind it holds."""
    from collections import Counter

    kinds = Counter("".join(f.suffixes[-2:]).lower() if f.suffix.lower() in (".gz", ".zst") else f.suffix.lower()
                    for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
    if not kinds:
        return f"{path} is a folder with no files in it; point the table's path at a file"
    ext, count = kinds.most_common(1)[0]
    glob = str(Path(str(path)) / f"*{ext}")
    return (f"{path} is a folder, not a file; point the table's path at its files with a glob: path: '{glob}' "
            f"({count} {ext or 'extension-less'} file(s) there, read as one table)")


def _source_location(path: str | os.PathLike) -> str:
    """What the engine is given: a URI as written, a glob made absolute, else the resolved file."""
    if _is_uri(path):
        return os.path.expandvars(str(path))
    if _has_glob(path):
        return _glob(path)[0]
    return str(source_files(path)[0])


#: bytes read from each of :data:`DIGEST_BLOCKS` places of an input file for its content digest
DIGEST_BLOCK = 1 << 16
DIGEST_BLOCKS = 64
#: files up to this size are hashed whole (about 0.3 s for 256 MB); larger ones at sampled blocks
DIGEST_WHOLE = 256 << 20


def sampled_digest(path, size: int | None = None) -> str:
    """A digest of a file's content: all of it up to :data:`DIGEST_WHOLE`, else blocks at fixed places.

    A file rewritten with the same size and time (``cp -p``, ``rsync -t``, ``tar``) gets another key. An export
    of up to 256 MB is hashed whole, so any changed byte is seen; a larger one is read at 64 places (4 MB,
    not the file, before every load), where a change confined to bytes between the sampled blocks is not seen
    — a monthly export rewritten in place changes everywhere.
    """
    import hashlib

    size = os.path.getsize(path) if size is None else size
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as fh:
        if size <= DIGEST_WHOLE:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                digest.update(chunk)
        else:
            step = (size - DIGEST_BLOCK) / (DIGEST_BLOCKS - 1)
            for i in range(DIGEST_BLOCKS):
                fh.seek(int(i * step))
                digest.update(fh.read(DIGEST_BLOCK))
    return digest.hexdigest()
