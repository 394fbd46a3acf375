"""``CheckpointManager``: numbered checkpoints in one directory, the newest ``max_to_keep``
kept, and ``latest_checkpoint(directory)``.

Note [Checkpoint directory]: a directory holds ``<name>-<n>.npz`` files and a small JSON
index, ``checkpoint.json`` (``{"latest": ..., "checkpoints": [...]}``, names relative to the
directory), the role of TF's ``checkpoint`` file. A save writes the new ``.npz`` atomically,
then the index atomically, then removes the pruned files, so the index only ever names
complete files: a process killed at any point leaves ``latest_checkpoint`` at the previous
checkpoint or the new one. Files left behind by a kill (an unlisted ``<name>-<n>.npz``, or a
pruned file not yet removed) are adopted when a manager opens the directory and pruned by
its next save; hidden ``.*.tmp`` files of a killed write are never read.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from autojit.errors import CheckpointError, InvalidArgumentError
from autojit.train import files
from autojit.train.checkpoint import Checkpoint

INDEX = "checkpoint.json"


def latest_checkpoint(directory: str | os.PathLike) -> str | None:
    """The path of the newest complete checkpoint in ``directory``, or None when there is
    none (no directory, no index yet). Usage: ``ckpt.restore(aj.train.latest_checkpoint(d))``
    """
    state = _read_index(os.fspath(directory), "latest_checkpoint")
    latest = state.get("latest")
    if latest is None:
        return None
    path = os.path.join(os.fspath(directory), latest)
    return path if os.path.exists(path) else None


class CheckpointManager:
    """Save numbered checkpoints of ``checkpoint`` into ``directory``, keeping the newest
    ``max_to_keep`` (all when None).

    Usage::

        manager = aj.train.CheckpointManager(ckpt, "checkpoints", max_to_keep=3)
        ckpt.restore(manager.latest_checkpoint) if manager.latest_checkpoint else None
        manager.save()                           # checkpoints/ckpt-1.npz, ckpt-2.npz, ...

    The directory's layout and crash behaviour: Note [Checkpoint directory].
    """

    def __init__(self, checkpoint: Checkpoint, directory: str | os.PathLike,
                 max_to_keep: int | None = 5, checkpoint_name: str = "ckpt"):
        if not isinstance(checkpoint, Checkpoint):
            raise InvalidArgumentError(f"CheckpointManager: expected an aj.train.Checkpoint, "
                                       f"got {type(checkpoint).__name__}")
        if max_to_keep is not None and (isinstance(max_to_keep, bool)
                                        or not isinstance(max_to_keep, int) or max_to_keep < 1):
            raise InvalidArgumentError(f"CheckpointManager: expected max_to_keep to be a "
                                       f"positive int or None, got {max_to_keep!r}")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", checkpoint_name):
            raise InvalidArgumentError(f"CheckpointManager: checkpoint_name {checkpoint_name!r} "
                                       "must be a plain file name (letters, digits, _ . -)")
        self._checkpoint = checkpoint
        self._directory = os.fspath(directory)
        self._max_to_keep = max_to_keep
        self._pattern = re.compile(re.escape(checkpoint_name) + r"-(\d+)\.npz")
        self._name = checkpoint_name
        # Oldest first, by save: the index's order, after any files it does not list
        # (left by a killed save or prune; Note [Checkpoint directory]), which go first.
        state = _read_index(self._directory, "CheckpointManager")
        listed = [n for n in state.get("checkpoints", []) if isinstance(n, str)
                  and self._pattern.fullmatch(n) and self._exists(n)]
        found = os.listdir(self._directory) if os.path.isdir(self._directory) else []
        orphans = sorted((n for n in found if self._pattern.fullmatch(n) and n not in listed),
                         key=self._number)
        self._names = orphans + list(dict.fromkeys(listed))

    @property
    def directory(self) -> str:
        """The directory checkpoints are written to. Usage: ``manager.directory``"""
        return self._directory

    @property
    def checkpoints(self) -> list[str]:
        """The paths of the kept checkpoints, oldest first. Usage: ``manager.checkpoints``"""
        return [os.path.join(self._directory, name) for name in self._names]

    @property
    def latest_checkpoint(self) -> str | None:
        """The newest complete checkpoint's path (as ``latest_checkpoint(directory)``), or
        None before the first save. Usage: ``ckpt.restore(manager.latest_checkpoint)``
        """
        return latest_checkpoint(self._directory)

    def save(self, checkpoint_number: int | None = None) -> str:
        """Write checkpoint number ``checkpoint_number`` (default: one past the newest),
        update the index, prune to ``max_to_keep``; return the new path.

        Usage: ``path = manager.save()``
        """
        if checkpoint_number is None:
            checkpoint_number = max(map(self._number, self._names), default=0) + 1
        elif isinstance(checkpoint_number, bool) or not isinstance(checkpoint_number, int) \
                or checkpoint_number < 0:
            raise InvalidArgumentError(f"CheckpointManager.save: expected checkpoint_number "
                                       f"to be an int >= 0, got {checkpoint_number!r}")
        name = f"{self._name}-{checkpoint_number}.npz"
        os.makedirs(self._directory, exist_ok=True)
        path = self._checkpoint.write(os.path.join(self._directory, name))
        names = [n for n in self._names if n != name] + [name]  # newest last, any number
        pruned: list[str] = []
        if self._max_to_keep is not None and len(names) > self._max_to_keep:
            pruned = names[:len(names) - self._max_to_keep]
            names = names[len(names) - self._max_to_keep:]
        state = {"latest": name, "checkpoints": names}
        files.write_atomically(os.path.join(self._directory, INDEX),
                               lambda file: file.write(json.dumps(state, indent=1).encode()))
        self._names = names
        for old in pruned:
            try:
                os.remove(os.path.join(self._directory, old))
            except FileNotFoundError:
                pass  # another process pruned it first
        if pruned:
            files.fsync_directory(self._directory)
        return path

    def _exists(self, name: str) -> bool:
        return os.path.exists(os.path.join(self._directory, name))

    def _number(self, name: str) -> int:
        return int(self._pattern.fullmatch(name).group(1))

    def __repr__(self) -> str:
        return (f"<aj.train.CheckpointManager {self._directory!r} "
                f"{len(self._names)} checkpoint(s), max_to_keep={self._max_to_keep}>")


def _read_index(directory: str, where: str) -> dict[str, Any]:
    path = os.path.join(directory, INDEX)
    try:
        with open(path, "rb") as file:
            text = file.read()
    except (FileNotFoundError, NotADirectoryError):
        return {}
    try:
        state = json.loads(text)
    except ValueError as exc:
        raise CheckpointError(f"{where}: the checkpoint index {path!r} is not valid JSON "
                              f"({exc}); remove it to start the directory afresh") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{where}: the checkpoint index {path!r} is not a JSON object")
    return state
