"""Atomic file writes: the one home of the write-then-rename plumbing.

Guarantees:

- A reader never sees half a file: :func:`atomic_write` writes a temporary file in the
  target's folder and ``os.replace``-s it into place.
- Outputs get the umask's normal mode (``0o666 & ~umask``, 0644 under umask 022), as
  ``open(path, "w")`` would give them: the temporary file is created with mode 0o666
  and the kernel applies the umask (``tempfile.mkstemp`` would leave 0600).
- A multi-file output (an index plus side data: ``.pvd`` + per-step ``.vtu``, ``.xdmf``
  + ``.h5``) is atomic as a set (:func:`atomic_write_set`): it is written in a temporary
  folder under names no other write uses, then its side data is renamed into place and
  the index replaced in one short section that holds a lock on the folder. The index
  always points at one writer's complete side data; concurrent writers leave the last
  one's output and remove the side data of the index they replaced.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Callable

_TOKEN_HEX = 12   # side data of a set is named "<index name>.<12 hex digits>[.ext]"


def _create_temp(folder: Path, name: str, suffix: str) -> str:
    """A new empty file ``folder/.name.XXXX<suffix>`` with mode 0o666 & ~umask."""
    while True:
        tmp = folder / f".{name}.{secrets.token_hex(4)}{suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return str(tmp)


def _prepare(path: Path, create: Callable[[], str]) -> str:
    """Make the parent folder and the temporary entry; OSErrors name the target, not the temp."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return create()
    except OSError as exc:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:  # mkdir says "File exists", which hides the cause
            raise NotADirectoryError(errno.ENOTDIR, f"cannot write {str(path)!r}: "
                                                    f"{str(blocker)!r} is a file, not a folder") from None
        raise type(exc)(exc.errno, f"cannot write {str(path)!r}: {exc.strerror}") from None


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> Path:
    """Call ``write(tmp_path)`` then move the file into place, so a reader never sees half a file.

    The file gets the umask's normal mode (0644 under umask 022).

    Raises:
        OSError: the folder cannot be created or written (the message names ``path``).
    """
    path = Path(path)
    tmp = _prepare(path, lambda: _create_temp(path.parent, path.name, path.suffix))
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


@contextlib.contextmanager
def _folder_lock(folder: Path):
    """An exclusive ``flock`` on the folder itself (no lock file left behind); no-op without fcntl."""
    try:
        import fcntl
    except ImportError:  # Windows: the index swap is still atomic; concurrent cleanup is not serialised
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)                              # closing releases the lock


def atomic_write_set(index: str | os.PathLike, write: Callable[[Path, str], object]) -> Path:
    """Write an index file and its side data atomically as a set.

    ``write(folder, data)`` writes the index as ``folder / index.name`` and any side data
    (files or folders) in ``folder`` under names starting with ``data`` (``"<index name>.<token>"``,
    e.g. ``u.xdmf.3fa2c1d0e4b5``, unique to this write), referring to them by those names. Then, holding a lock on
    the target folder, the side data is renamed beside the index, the index replaced,
    and the side data of every earlier write of this index removed.

    Returns:
        The index path.

    Raises:
        OSError: the folder cannot be created or written (the message names ``index``).
    """
    index = Path(index)
    folder = index.parent
    tmp = Path(_prepare(index, lambda: tempfile.mkdtemp(dir=folder, prefix=f".{index.name}.")))
    data = f"{index.name}.{secrets.token_hex(_TOKEN_HEX // 2)}"
    try:
        write(tmp, data)
        side = [p for p in tmp.iterdir() if p.name != index.name]
        if any(not p.name.startswith(data) for p in side):
            raise RuntimeError(f"side data must be named {data}*, got {sorted(p.name for p in side)}")
        earlier = re.compile(re.escape(index.name) + rf"\.[0-9a-f]{{{_TOKEN_HEX}}}(\.\w+)?$")
        with _folder_lock(folder):
            for p in side:
                os.replace(p, folder / p.name)
            os.replace(tmp / index.name, index)
            for old in folder.iterdir():
                if earlier.match(old.name) and not old.name.startswith(data):
                    shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return index


def replace_block(path: str | os.PathLike, start: str, end: str, block: str) -> bool:
    """Replace the text between the markers ``start`` and ``end`` of a text file (markers kept), atomically.

    Returns:
        False (and leaves the file alone) when the file lacks either marker.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        return False
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    atomic_write(path, lambda tmp: Path(tmp).write_text(f"{head}{start}\n{block}\n{end}{tail}", encoding="utf-8"))
    return True
