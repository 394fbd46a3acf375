"""Atomic file replacement: write a temporary file beside the target, flush and ``fsync`` it,
``os.replace`` it over the target, then ``fsync`` the directory.

Note [Atomic checkpoint writes]: a reader (or a process started after a crash) sees either
the old file or the new one, never a partial one. ``os.replace`` is atomic on POSIX and on
Windows within one file system, hence the temporary file in the *same* directory. The file's
``fsync`` makes its bytes durable before the rename publishes them, and the directory's
``fsync`` makes the rename itself durable (without it a power cut can bring back the old
name). A process killed mid-write leaves only a hidden ``.<name>.*.tmp`` file, which nothing
here ever reads as a checkpoint.
"""

from __future__ import annotations

import os
import tempfile
from typing import IO, Callable


def write_atomically(path: str, write: Callable[[IO[bytes]], None]) -> str:
    """Call ``write(file)`` on a temporary file and atomically move it to ``path``.

    Usage: ``write_atomically("ckpt.npz", lambda f: f.write(data))``
    """
    directory, name = os.path.split(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise
    fsync_directory(directory)
    return path


def fsync_directory(directory: str) -> None:
    """Make the entries of ``directory`` (a rename, a removal) durable.

    Usage: ``fsync_directory("checkpoints")``
    """
    if os.name != "posix":  # Windows cannot open a directory; its renames are journaled
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
