"""``Checkpoint``: save and restore the Variables of Modules, optimizers and Variables
(nested in lists, tuples and dicts), keyed by structural path such as ``model/layers/0/w``.

Note [Checkpoint paths]: paths follow the objects, as TF's object graph does, not the
Variables' names: ``Checkpoint(model=m, optimizer=opt)`` walks ``m``'s attributes in the
order of Note [Module discovery] (sorted names, into lists, tuples and dicts), giving
``model/layers/0/w``. A Variable reached twice (tied weights) is saved once, under the
first path. An optimizer saves ``<path>/iterations``, its learning rate when that is a
Variable, and each slot as ``<path>/slots/<path of its variable>/<slot name>``
(``optimizer/slots/model/layers/0/w/m``), so slots follow their variables into a freshly
built model. A slot whose variable no object of the Checkpoint holds is an error at save
time (TF drops it silently; a resumed run would then differ without a word).

Note [Restoring slots]: restoring into an optimizer that has no slots yet *creates* them
(``Optimizer.build``) and fills them, rather than deferring the values until the first
``apply_gradients`` as TF does. Then ``opt.variables`` is complete right after restore, a
traced train step captures the restored slots on its first trace, and every value is
checked against its variable before anything changes (a deferred value could only be
checked later, after other Variables had been overwritten).

Restore is all or nothing: the whole file is read and checked (Note [Checkpoint format]),
then every value is matched to a Variable by path, shape and dtype; only when all match are
slots created and Variables assigned. A missing value, an unexpected one, or a mismatch is
a ``CheckpointError`` naming the path and the Variable, and leaves every Variable as it was.
Values pass through host memory, so Variables on a GPU save and restore the same way.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from autojit.errors import CheckpointError, InvalidArgumentError
from autojit.module import _SKIP, Module, _sort_key
from autojit.ops import core, shapes
from autojit.optimizers import Optimizer
from autojit.train import archive, files
from autojit.variables import Variable


class Checkpoint:
    """Save and restore the Variables of the objects passed as keywords.

    Usage::

        ckpt = aj.train.Checkpoint(model=model, optimizer=opt, epoch=epoch_variable)
        path = ckpt.save("/tmp/run/ckpt")        # "/tmp/run/ckpt-1.npz"
        ckpt.restore(path)                       # all or nothing; CheckpointError on mismatch

    Objects are Modules, optimizers (their ``iterations``, slots, and a Variable learning
    rate), Variables, and lists, tuples or dicts of them. ``ckpt.model`` returns an object
    passed in. The file format is in Note [Checkpoint format]; paths in
    Note [Checkpoint paths]; restoring an optimizer's slots in Note [Restoring slots].
    """

    def __init__(self, **objects: Any):
        if not objects:
            raise InvalidArgumentError("Checkpoint: nothing to track; pass the objects as "
                                       "keywords, e.g. Checkpoint(model=model, optimizer=opt)")
        for name, value in objects.items():
            _check_trackable(name, value)
        self._objects = dict(objects)
        self._save_counter = 0

    @property
    def save_counter(self) -> int:
        """How many times ``save`` has run (``restore`` sets it from the file).

        Usage: ``ckpt.save_counter``
        """
        return self._save_counter

    def __getattr__(self, name: str) -> Any:
        objects = self.__dict__.get("_objects", {})
        if name in objects:
            return objects[name]
        raise AttributeError(f"Checkpoint has no object {name!r}; it tracks {sorted(objects)}")

    # --- writing -----------------------------------------------------------------------------
    def save(self, file_prefix: str | os.PathLike) -> str:
        """Write a new numbered checkpoint ``<file_prefix>-<n>.npz`` and return its path.

        Usage: ``path = ckpt.save("checkpoints/ckpt")``  (``checkpoints/ckpt-1.npz``)
        """
        number = self._save_counter + 1
        path = f"{os.fspath(file_prefix)}-{number}.npz"
        self._write(path, number, "Checkpoint.save")
        self._save_counter = number
        return path

    def write(self, path: str | os.PathLike) -> str:
        """Write the checkpoint to exactly ``path`` (atomically, see Note [Atomic checkpoint
        writes]) and return it. Usage: ``ckpt.write("model.npz")``
        """
        path = os.fspath(path)
        self._write(path, self._save_counter, "Checkpoint.write")
        return path

    def _write(self, path: str, save_counter: int, where: str) -> None:
        with core.eager_scope():
            entries = _Walk(self._objects, where).entries()
            arrays = [(key, var.numpy()) for key, var in entries]
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        files.write_atomically(path, lambda file: archive.write_archive(
            file, arrays, {"save_counter": save_counter}))

    # --- reading -----------------------------------------------------------------------------
    def restore(self, path: str | os.PathLike | None) -> str:
        """Restore every tracked Variable from ``path`` (and ``save_counter``), all or nothing.

        Usage: ``ckpt.restore(aj.train.latest_checkpoint("checkpoints"))``
        """
        index = self._restore(path, "Checkpoint.restore")
        counter = index.get("save_counter", 0)
        self._save_counter = counter if isinstance(counter, int) else 0
        return os.fspath(path)

    def read(self, path: str | os.PathLike) -> str:
        """Restore every tracked Variable from a file made by ``write`` (leaves
        ``save_counter`` alone). Usage: ``ckpt.read("model.npz")``
        """
        self._restore(path, "Checkpoint.read")
        return os.fspath(path)

    def _restore(self, path: Any, where: str) -> dict:
        index, arrays = archive.read_archive(path, where)
        filename = os.fspath(path)
        with core.eager_scope():
            walk = _Walk(self._objects, where)
            targets, builds = walk.plan(arrays, filename)
            # Everything matched: only now change anything.
            for optimizer, var_list in builds:
                optimizer.build(var_list)
            for key, target in targets.items():
                var = target if isinstance(target, Variable) else target[0].get_slot(
                    target[1], target[2])
                var.assign(arrays[key])
        return index

    def __repr__(self) -> str:
        return f"<aj.train.Checkpoint tracking {sorted(self._objects)}>"


# ----------------------------------------------------------------------------- the walk


def _check_trackable(path: str, value: Any) -> None:
    if isinstance(value, (Variable, Module, Optimizer)):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_trackable(f"{path}/{i}", item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check_trackable(f"{path}/{_component(key)}", item)
        return
    raise InvalidArgumentError(f"Checkpoint: cannot track {path!r}, a {type(value).__name__}; "
                               "expected a Module, an optimizer, a Variable, or a list, tuple "
                               "or dict of them")


def _component(key: Any) -> str:
    # A dict key becomes one path component: escape the separator (and the escape).
    return str(key).replace("%", "%25").replace("/", "%2F")


def _describe(var: Variable) -> str:
    return f"{var.name!r}"


class _Walk:
    """The Variables reachable from a Checkpoint's objects, by path (Note [Checkpoint paths])."""

    def __init__(self, objects: dict[str, Any], where: str):
        self.where = where
        self.variables: list[tuple[str, Variable]] = []
        self.optimizers: list[tuple[str, Optimizer]] = []
        self.modules: list[tuple[str, Module]] = []
        self.aliases: list[tuple[str, Any]] = []  # a Variable or Module reached again: its path
        self._path_of: dict[int, str] = {}
        self._seen: set[int] = set()
        for name, value in objects.items():
            self._visit(_component(name), value)

    def _visit(self, path: str, value: Any) -> None:
        if isinstance(value, Variable):
            if id(value) not in self._path_of:
                self._path_of[id(value)] = path
                self.variables.append((path, value))
            else:
                self.aliases.append((path, value))
            return
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                self._visit(f"{path}/{i}", item)
            return
        if isinstance(value, dict):
            for key in sorted(value, key=_sort_key):
                self._visit(f"{path}/{_component(key)}", value[key])
            return
        if not isinstance(value, (Module, Optimizer)):
            return
        if id(value) in self._seen:
            self.aliases.append((path, value))
            return
        self._seen.add(id(value))
        if isinstance(value, Module):
            self.modules.append((path, value))
            attrs = vars(value)
            for key in sorted(attrs):
                if key not in _SKIP:
                    self._visit(f"{path}/{_component(key)}", attrs[key])
            return
        self.optimizers.append((path, value))
        self._visit(f"{path}/iterations", value.iterations)
        if isinstance(value.learning_rate, Variable):
            self._visit(f"{path}/learning_rate", value.learning_rate)

    def _slot_base(self, opt_path: str, var: Variable) -> str:
        var_path = self._path_of.get(id(var))
        if var_path is None:
            raise CheckpointError(
                f"{self.where}: optimizer {opt_path!r} has slots for variable {var.name!r}, "
                "which no object of this Checkpoint holds; track the model that owns it too, "
                f"e.g. Checkpoint(model=model, {opt_path.split('/')[0]}=optimizer)")
        return f"{opt_path}/slots/{var_path}/"

    def entries(self) -> list[tuple[str, Variable]]:
        """Every ``(path, Variable)`` to save: plain Variables, then each optimizer's slots."""
        result = list(self.variables)
        for opt_path, optimizer in self.optimizers:
            for var, slots in optimizer.slot_variables():
                base = self._slot_base(opt_path, var)
                result.extend((base + name, slots[name]) for name in optimizer.slot_names)
        return result

    def plan(self, arrays: dict[str, np.ndarray], filename: str) -> tuple[dict, list]:
        """Match the file's ``arrays`` to Variables: ``({path: Variable or (optimizer, var,
        slot name)}, [(optimizer, variables whose slots to create)])``, or a CheckpointError
        naming every path that does not match."""
        targets: dict[str, Any] = dict(self.entries())
        specs = {key: var for key, var in targets.items()}  # what each value must look like
        builds = []
        for opt_path, optimizer in self.optimizers:
            has_slots = {id(var) for var, _ in optimizer.slot_variables()}
            prefix = f"{opt_path}/slots/"
            in_file = {key.rsplit("/", 1)[0] + "/" for key in arrays if key.startswith(prefix)}
            to_build = []
            for _, var in self.variables:
                if id(var) in has_slots or not optimizer.slot_names:
                    continue
                base = self._slot_base(opt_path, var)
                if base in in_file:
                    to_build.append(var)  # Note [Restoring slots]: create, then fill
                    for name in optimizer.slot_names:
                        targets[base + name] = (optimizer, var, name)
                        specs[base + name] = var
            if to_build:
                builds.append((optimizer, to_build))
        self._check(arrays, specs, filename)
        return targets, builds

    def _check(self, arrays: dict[str, np.ndarray], specs: dict[str, Variable],
               filename: str) -> None:
        problems = []
        missing = [key for key in specs if key not in arrays]
        if missing:
            listed = ", ".join(f"{key!r} (variable {_describe(specs[key])}, "
                               f"{specs[key].dtype.name}{shapes.fmt(specs[key].shape)})"
                               for key in missing[:8])
            more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
            problems.append(f"it has no value for {listed}{more}")
        unexpected = [key for key in arrays if key not in specs]
        if unexpected:
            listed = ", ".join(f"{key!r} ({arrays[key].dtype.name}"
                               f"{shapes.fmt(arrays[key].shape)})" for key in unexpected[:8])
            more = f" and {len(unexpected) - 8} more" if len(unexpected) > 8 else ""
            problems.append(f"it holds values no object of this Checkpoint takes: "
                            f"{listed}{more}")
        mismatched = []
        for key, var in specs.items():
            value = arrays.get(key)
            if value is None:
                continue
            if tuple(value.shape) != tuple(var.shape) or value.dtype != var.dtype:
                mismatched.append(f"{key!r} is {value.dtype.name}{shapes.fmt(value.shape)} in "
                                  f"the file but variable {_describe(var)} expects "
                                  f"{var.dtype.name}{shapes.fmt(var.shape)}")
        problems.extend(mismatched[:8])
        if len(mismatched) > 8:
            problems.append(f"and {len(mismatched) - 8} more of a different shape or dtype")
        if problems:
            raise CheckpointError(f"{self.where}: {filename!r} does not match the objects of "
                                  f"this Checkpoint: {'; '.join(problems)}. Nothing was "
                                  "restored; build the objects as they were when saved")
