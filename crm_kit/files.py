"""Writing files the kit creates for a user: whole or not at all, never over a file that is there.

``crm-kit init`` writes a draft a user then edits and runs; a draft half written (a full disk, a signal) or
written over another process's draft would be read later as if it were whole. :func:`write_new` writes every
file into a private staging folder first, flushed to the disk, then gives each its name with a hard link — an
operation that fails when the name is taken, so of two processes writing into one folder exactly one succeeds
— and on any error removes what it published and what it staged.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping

from .errors import DataError

__all__ = ["write_new", "write_error"]

#: errors of ``os.link`` on a file system without hard links (FAT, some network shares): create-exclusive instead
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def write_error(path: Path, exc: OSError, *, fix: str = "") -> DataError:
    """The kit's one line for an operating-system error writing ``path``: the file, the cause, the fix."""
    code = getattr(exc, "errno", None)
    cause = exc.strerror or str(exc) or type(exc).__name__
    if code in (errno.ENOSPC, errno.EDQUOT):
        advice = "free some space on that disk (or choose another folder) and run again"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        advice = "choose a folder you may write, or change its permissions, and run again"
    else:
        advice = "check the folder and run again"
    return DataError(f"cannot write {path}: {cause}; {fix or advice} (nothing was left half written)")


def write_new(files: Mapping[Path, str]) -> None:
    """Write each ``path: text`` (UTF-8) whole, only if no file has that name; all of them or none.

    Raises
    ------
    DataError
        A name is taken (before or while writing: another process wrote it), or the operating system refused
        a write (a full disk, no permission): the message names the file. Nothing written is left behind.
    """
    paths = [Path(p) for p in files]
    for path in paths:
        if path.exists() or path.is_symlink():
            raise DataError(f"{path} exists: the kit never overwrites a file; choose another folder or move it")
    folder = paths[0].parent if paths else Path(".")
    try:
        stage = Path(tempfile.mkdtemp(prefix=".crm-kit-writing-", dir=folder))
    except OSError as exc:
        raise write_error(folder, exc) from None
    published: list[tuple[Path, int]] = []
    try:
        staged = {}
        for path, text in files.items():
            tmp = stage / Path(path).name
            try:
                with open(tmp, "x", encoding="utf-8") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as exc:
                raise write_error(Path(path), exc) from None
            staged[Path(path)] = tmp
        for path, tmp in staged.items():
            published.append((path, _publish(tmp, path)))
    except BaseException:
        for path, inode in published:  # only what this call published: another process's file stays
            try:
                if os.lstat(path).st_ino == inode:
                    path.unlink()
            except OSError:
                pass
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _publish(tmp: Path, path: Path) -> int:
    """Give the staged file ``tmp`` the name ``path`` if no file has it; the inode published."""
    taken = DataError(f"{path} was written by another process at the same moment (two crm-kit init into one "
                      "folder?): the kit never overwrites a file; keep that one, or choose another folder")
    try:
        os.link(tmp, path)
        return os.lstat(path).st_ino
    except FileExistsError:
        raise taken from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise write_error(path, exc) from None
    # no hard links here: create the name exclusively and copy the content into it
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise taken from None
    except OSError as exc:
        raise write_error(path, exc) from None
    inode = os.fstat(fd).st_ino
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(tmp.read_bytes())
            out.flush()
            os.fsync(out.fileno())
    except BaseException as exc:
        path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise write_error(path, exc) from None
        raise
    return inode
