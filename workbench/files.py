"""Write-then-rename: a file the user sees is either the old one or the complete new one.

Every file the workbench writes for a user (reports, exports, cast cards, training data) goes
through these helpers. Each writes a temporary file in the target's own folder, flushes it to
disk (``fsync``), renames it over the target in one step and flushes the folder, so a crash, a
full disk or an error half-way leaves the previous file as it was and no temporary file behind.

* A new file gets the user's normal mode (``0o666`` less the umask, as ``open()`` would give);
  a replaced file keeps the mode it had.
* A symbolic link at the target is replaced by the new file, never written through: nothing is
  written outside the folder the user named.
* Temporary names are ``.NAME.RANDOM.tmp``: hidden, and never matched by a reader that scans a
  folder for ``*.json`` or ``*.ipynb`` (``atomic_path(..., keep_suffix=True)`` adds the target's
  suffix for writers that pick a format from the file name).

Only the standard library is used here: every layer may import this module.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_dir", "atomic_path", "atomic_write_bytes", "atomic_write_text"]

_NEW_FILE_MODE = 0o666  # the kernel applies the umask on creation
_NEW_DIR_MODE = 0o777
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


def _temp_name(target: Path, keep_suffix: bool = False) -> Path:
    tail = target.suffix if keep_suffix else ""
    return target.with_name(f".{target.name}.{os.urandom(4).hex()}.tmp{tail}")


def _kept_mode(target: Path) -> int | None:
    """The permission bits of the regular file at ``target``, or None (no file, a link, a folder)."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return None
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else None


def _create_temp(target: Path, mode: int | None, keep_suffix: bool = False) -> tuple[Path, int]:
    """A new empty temporary file beside ``target``, open for writing: (path, file descriptor)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC | _O_NOFOLLOW | _O_BINARY
    for _ in range(100):
        tmp = _temp_name(target, keep_suffix)
        try:
            fd = os.open(tmp, flags, _NEW_FILE_MODE)
        except FileExistsError:
            continue
        try:
            wanted = mode if mode is not None else _kept_mode(target)
            if wanted is not None and hasattr(os, "fchmod"):
                os.fchmod(fd, wanted)
            elif wanted is not None:
                os.chmod(tmp, wanted)
        except BaseException:
            os.close(fd)
            _remove(tmp)
            raise
        return tmp, fd
    raise FileExistsError(f"could not create a temporary file beside {target}")


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk, where the platform and file system allow it."""
    if os.name == "nt" or not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some file systems refuse fsync on a folder
            os.fsync(fd)
    finally:
        os.close(fd)


def _commit(tmp: Path, target: Path) -> None:
    os.replace(tmp, target)  # replaces a link at ``target`` itself, never what it points to
    _fsync_dir(target.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (see the module notes); returns the path.

    ``mode`` sets the permission bits exactly (e.g. ``0o600``); by default a new file gets
    ``0o666`` less the umask and a replaced file keeps its mode. The parent folder must exist.
    """
    target = Path(path)
    tmp, fd = _create_temp(target, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _commit(tmp, target)
    except BaseException:
        _remove(tmp)
        raise
    return target


def atomic_write_text(
    path: str | os.PathLike[str], text: str, encoding: str = "utf-8", mode: int | None = None
) -> Path:
    """Write ``text`` to ``path`` atomically, encoded with ``encoding``; newlines are written as given."""
    return atomic_write_bytes(path, text.encode(encoding), mode=mode)


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str], mode: int | None = None, keep_suffix: bool = False
) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that produces the file itself.

    The block writes the file at the yielded path (Pillow's ``save``, papermill, ...); when the
    block ends without an error the file is flushed to disk and renamed over ``path``. When it
    raises, the temporary file is removed and ``path`` is left as it was. The temporary file
    exists (empty, with the final mode) when the block starts. ``keep_suffix=True`` ends its name
    in ``path``'s suffix (``.pitch.ipynb.1a2b3c4d.tmp.ipynb``) for writers that choose a format by
    the file name; leave it off in a folder that others scan by suffix.
    """
    target = Path(path)
    tmp, fd = _create_temp(target, mode, keep_suffix)
    os.close(fd)
    try:
        yield tmp
        if not os.path.isfile(tmp) or os.path.islink(tmp):
            raise FileNotFoundError(f"the writer left no file at {tmp} for {target}")
        fd = os.open(tmp, os.O_RDONLY | _O_CLOEXEC | _O_NOFOLLOW)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _commit(tmp, target)
    except BaseException:
        _remove(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh temporary folder beside ``path`` that replaces ``path`` only if the block succeeds.

    The folder gets the user's normal mode (``0o777`` less the umask), or the mode of the folder
    it replaces; its files are flushed to disk before the swap. A link at ``path`` is replaced,
    not followed; a file there is an error (:class:`FileExistsError`). The parent folder is
    created when missing.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        tmp = _temp_name(target)
        try:
            os.mkdir(tmp, _NEW_DIR_MODE)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"could not create a temporary folder beside {target}")
    try:
        with contextlib.suppress(FileNotFoundError):
            st = os.lstat(target)
            if stat.S_ISDIR(st.st_mode):
                os.chmod(tmp, stat.S_IMODE(st.st_mode))
            elif not stat.S_ISLNK(st.st_mode):
                raise FileExistsError(f"{target} exists and is not a folder")
        yield tmp
        for root, _dirs, files in os.walk(tmp):
            for name in files:
                f = os.path.join(root, name)
                if os.path.islink(f):
                    continue
                fd = os.open(f, os.O_RDONLY | _O_CLOEXEC)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if os.path.lexists(target):
        old = target.with_name(f".{target.name}.{os.urandom(4).hex()}.old")
        os.replace(target, old)  # a folder or a link moves aside; put back below if the swap fails
    try:
        os.replace(tmp, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(target.parent)
    if old is not None:
        if os.path.islink(old) or not os.path.isdir(old):
            _remove(old)
        else:
            shutil.rmtree(old, ignore_errors=True)
