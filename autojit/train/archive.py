"""The checkpoint file: a ``.npz`` archive (a zip of ``.npy`` arrays, stored uncompressed)
whose first member, ``index.json``, lists each array's path, shape and dtype.

Note [Checkpoint format]: member ``<path>.npy`` holds the value of the variable at
structural path ``<path>`` (``model/layers/0/w``), so ``np.load(file)["model/layers/0/w"]``
reads one without autojit. Nothing in the file is code: arrays are read with
``allow_pickle=False`` after their header has been checked, so an object array (which
would need unpickling) is refused before a byte of it is read. ``read_archive`` reads and
checks *everything* (zip structure, CRCs, the index, every header against the index) before
it returns, so a caller can validate a whole restore before changing any Variable.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import IO, Any

import numpy as np

from autojit.errors import CheckpointError

FORMAT = "autojit.checkpoint"
VERSION = 1
INDEX = "index.json"
_NPY_MAGIC = b"\x93NUMPY"


def write_archive(file: IO[bytes], arrays: list[tuple[str, np.ndarray]],
                  metadata: dict[str, Any]) -> None:
    """Write ``arrays`` (``(path, host array)`` pairs) and ``metadata`` to ``file``.

    Usage: ``write_archive(f, [("model/w", w.numpy())], {"save_counter": 1})``
    """
    index = {"format": FORMAT, "version": VERSION, **metadata,
             "variables": [{"path": path, "shape": list(array.shape),
                            "dtype": array.dtype.name} for path, array in arrays]}
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(INDEX, json.dumps(index, indent=1))
        for path, array in arrays:
            with archive.open(path + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array, order="C"),
                                          allow_pickle=False)


def read_archive(path: Any, where: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and check a whole checkpoint file: ``(index, {path: array})``. Any problem is a
    ``CheckpointError`` that names the file and says what is wrong with it.

    Usage: ``index, arrays = read_archive("ckpt-3.npz", "Checkpoint.restore")``
    """
    filename = _check_path(path, where)
    try:
        with zipfile.ZipFile(filename) as archive:
            index = _read_index(archive, filename, where)
            arrays = {entry["path"]: _read_member(archive, entry, filename, where)
                      for entry in index["variables"]}
            expected = {INDEX} | {entry["path"] + ".npy" for entry in index["variables"]}
            extra = sorted(set(archive.namelist()) - expected)
            if extra:
                raise CheckpointError(f"{where}: {filename!r} holds members its index does "
                                      f"not list: {extra[:5]}; the file is not a checkpoint "
                                      "written by aj.train")
    except zipfile.BadZipFile as exc:
        raise CheckpointError(f"{where}: {filename!r} is corrupted or truncated ({exc}); "
                              "restore an earlier checkpoint") from None
    except OSError as exc:
        raise CheckpointError(f"{where}: cannot read {filename!r}: {exc}") from None
    return index, arrays


def _check_path(path: Any, where: str) -> str:
    if path is None:
        raise CheckpointError(f"{where}: no checkpoint to restore: the path is None "
                              "(latest_checkpoint(directory) is None while the directory "
                              "holds no complete checkpoint)")
    if not isinstance(path, (str, os.PathLike)):
        raise CheckpointError(f"{where}: expected a checkpoint file path, got "
                              f"{type(path).__name__} {path!r:.60}")
    filename = os.fspath(path)
    if os.path.isdir(filename):
        raise CheckpointError(f"{where}: {filename!r} is a directory; pass a checkpoint file "
                              "such as aj.train.latest_checkpoint(directory)")
    if not os.path.exists(filename):
        raise CheckpointError(f"{where}: no checkpoint file at {filename!r}")
    with open(filename, "rb") as file:
        head = file.read(len(_NPY_MAGIC))
    if head == _NPY_MAGIC:
        raise CheckpointError(f"{where}: {filename!r} is a single NumPy array (np.save), "
                              "not a checkpoint; it was not loaded")
    if not zipfile.is_zipfile(filename):
        raise CheckpointError(f"{where}: {filename!r} is not a checkpoint: it is not a .npz "
                              "(zip) archive, or it is truncated")
    return filename


def _read_index(archive: zipfile.ZipFile, filename: str, where: str) -> dict[str, Any]:
    try:
        text = archive.read(INDEX)
    except KeyError:
        raise CheckpointError(f"{where}: {filename!r} has no {INDEX}; it is a .npz archive "
                              "but not a checkpoint written by aj.train") from None
    try:
        index = json.loads(text)
    except ValueError as exc:
        raise CheckpointError(f"{where}: the {INDEX} of {filename!r} is not valid JSON "
                              f"({exc})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise CheckpointError(f"{where}: {filename!r} is not an aj.train checkpoint (its "
                              f"{INDEX} does not say format {FORMAT!r})")
    if index.get("version") != VERSION:
        raise CheckpointError(f"{where}: {filename!r} is checkpoint format version "
                              f"{index.get('version')!r}; this autojit reads version {VERSION}")
    entries = index.get("variables")
    if not isinstance(entries, list) or not all(_valid_entry(entry) for entry in entries):
        raise CheckpointError(f"{where}: the {INDEX} of {filename!r} is malformed (expected "
                              "'variables': a list of {path, shape, dtype})")
    paths = [entry["path"] for entry in entries]
    if len(set(paths)) != len(paths):
        raise CheckpointError(f"{where}: the {INDEX} of {filename!r} lists a path twice")
    return index


def _valid_entry(entry: Any) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("path"), str)
            and isinstance(entry.get("dtype"), str) and isinstance(entry.get("shape"), list)
            and all(isinstance(d, int) and d >= 0 for d in entry["shape"]))


def _read_member(archive: zipfile.ZipFile, entry: dict, filename: str,
                 where: str) -> np.ndarray:
    name = entry["path"] + ".npy"
    if name not in archive.NameToInfo:
        raise CheckpointError(f"{where}: {filename!r} lists {entry['path']!r} in its index "
                              f"but has no member {name!r}")
    # The header first: its dtype must not hold objects, and it must match the index.
    with archive.open(name) as member:
        try:
            version = np.lib.format.read_magic(member)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(member)
        except ValueError as exc:
            raise CheckpointError(f"{where}: member {name!r} of {filename!r} is not a valid "
                                  f".npy array ({exc})") from None
    if dtype.hasobject:
        raise CheckpointError(f"{where}: member {name!r} of {filename!r} holds Python objects "
                              "(dtype object); refused, since loading it would unpickle code")
    if list(shape) != entry["shape"] or dtype.name != entry["dtype"]:
        raise CheckpointError(f"{where}: member {name!r} of {filename!r} is "
                              f"{dtype.name}{list(shape)} but the index says "
                              f"{entry['dtype']}{entry['shape']}")
    with archive.open(name) as member:  # reading to the end checks the CRC
        try:
            return np.lib.format.read_array(member, allow_pickle=False)
        except ValueError as exc:
            raise CheckpointError(f"{where}: member {name!r} of {filename!r} is truncated or "
                                  f"corrupted ({exc})") from None
