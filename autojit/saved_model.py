"""``aj.saved_model``: save a Module with the graphs its ``@aj.function``s traced, and load it
back where its Python class is not available (as ``tf.saved_model``).

Note [Saved models]: ``save(obj, export_dir)`` writes one file, ``export_dir/saved_model.npz``,
in the checkpoint format (Note [Checkpoint format]): the value of every Variable the object
holds (``variables/<path>``, paths as Note [Checkpoint paths] with the object as ``root``,
optimizer slots included), the arrays its graphs hold as constants (``constants/<n>``), and
in the index, as JSON, the object's tree of Modules (each with its ``trainable``) and, for
each Function attribute of each Module (a method decorated with ``@aj.function``, or one
assigned to an attribute), every concrete function it has traced: its optimized graph
(Note [Saved graphs]), the arguments it was traced with (tensors by their type, Python values
by value), the Python function's parameters, and the structure of its outputs. A Function with an
``input_signature`` that was never called is traced for it first; one without, never
called, has no graph and is left out with a warning (as TF). Nothing in the file is code:
loading runs none of the saving program's Python, only this autojit's op kernels.

``load(export_dir)`` rebuilds the tree as ``Restored`` Modules (``loaded.dense.w``,
``loaded.variables`` in the order the original listed them) holding new Variables with the
saved values, names and trainable flags, and ``RestoredFunction`` attributes that choose a
concrete function by the call's arguments (binding them to the saved parameters, so
positional and keyword calls agree) and replay its graph. A call that no traced signature
accepts is an error listing what was traced. Loaded functions differentiate (a tape
around ``loaded(x)`` gives gradients for ``loaded.trainable_variables``), run inside other
``@aj.function``s (inlined), update their Variables in place (a saved ``train_step``
keeps training), and can be saved again.

A graph reading a Variable the object does not hold (a global, an optimizer that is not
an attribute) cannot be saved: the error names it and says to make it an attribute.
"""

from __future__ import annotations

import inspect
import os
import warnings
import weakref
from typing import Any, Iterator, Sequence

import numpy as np

from autojit import backend, nest
from autojit.errors import SavedModelError
from autojit.function import (
    ArgumentSlot,
    BoundMethod,
    ConcreteFunction,
    Function,
    _variables_read,
)
from autojit.graph.serialize import SAVE_AS, GraphReader, GraphWriter, spec_data, spec_from
from autojit.module import Module
from autojit.ops import core, shapes
from autojit.ops.core import TensorSpec
from autojit.tensor import Tensor
from autojit.train import archive, files
from autojit.train.checkpoint import _Walk
from autojit.variables import Variable

FILE = "saved_model.npz"
VERSION = 1
_KINDS = {kind.name: kind for kind in type(inspect.Parameter.POSITIONAL_ONLY)}
_ROOT = "root"


# ----------------------------------------------------------------------------- saving


def save(obj: Module, export_dir: str | os.PathLike, signatures: Any = None) -> str:
    """Write ``obj``'s Variables and its Functions' traced graphs to ``export_dir``; return
    the file written (Note [Saved models]).

    Usage: ``aj.saved_model.save(model, "exported")``; ``signatures`` (a Function, a concrete
    function, or a dict of them by name) adds functions found as ``loaded.signatures[name]``
    (``"serving_default"`` for a single one). An object ``load`` gave keeps its own
    ``signatures`` when none are given, so it loads again as it loaded the first time
    (``aj.saved_model.save(aj.keras.models.load_model(d), d2)``).
    """
    where = "aj.saved_model.save"
    if not isinstance(obj, Module):
        raise SavedModelError(f"{where}: expected an aj.Module (a layer, a model, or your own "
                              f"Module subclass), got a {type(obj).__name__}")
    if signatures is None and isinstance(obj, Restored):
        signatures = vars(obj).get("signatures") or None  # re-exported, as TF's
    with core.eager_scope():
        walk = _Walk({_ROOT: obj}, where)
        entries = walk.entries()
        index_of = {id(var): i for i, (_, var) in enumerate(entries)}
        writer = GraphWriter(index_of.get)
        modules = []
        for path, module in walk.modules:
            functions = [{"attr": attr, "concretes": [_concrete_data(c, writer, f"{path}.{attr}")
                                                      for c in concretes]}
                         for attr, concretes in _traced_functions(module, path)]
            modules.append({"path": path, "name": module.name,
                            "trainable": module.trainable,  # Note [Freezing] in module.py
                            "variables": [index_of[id(v)] for v in module.variables
                                          if id(v) in index_of],
                            "functions": functions})
        signed = [{"attr": name, "concretes": [_concrete_data(c, writer, f"signatures[{name!r}]")
                                               for c in concretes]}
                  for name, concretes in _signature_functions(signatures)]
        values = [var.numpy() for _, var in entries]
    module_paths = {id(module): path for path, module in walk.modules}
    aliases = [[path, index_of[id(value)]] if id(value) in index_of
               else [path, module_paths[id(value)]] for path, value in walk.aliases
               if id(value) in index_of or id(value) in module_paths]
    program = {"version": VERSION,
               "variables": [{"path": path, "name": var.name, "trainable": var.trainable}
                             for path, var in entries],
               "aliases": aliases,  # [path, variable index or the first path of a Module]
               "optimizers": [path for path, _ in walk.optimizers],
               "modules": modules, "signatures": signed, "loops": writer.loops,
               "constants": len(writer.arrays)}
    arrays = [(f"variables/{path}", value) for (path, _), value in zip(entries, values)]
    arrays += [(f"constants/{i}", array) for i, array in enumerate(writer.arrays)]
    directory = os.fspath(export_dir)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, FILE)
    files.write_atomically(path, lambda file: archive.write_archive(
        file, arrays, {"saved_model": program}))
    return path


def _traced_functions(module: Module, path: str) -> Iterator[tuple[str, list]]:
    """``(attribute, concrete functions)`` for each Function the module holds."""
    found = [(name, value) for name, value in vars(module).items()
             if isinstance(value, (Function, ConcreteFunction, RestoredFunction))]
    for name in dir(type(module)):
        if isinstance(inspect.getattr_static(type(module), name, None), Function):
            found.append((name, getattr(module, name).function))  # bound to the instance
    for name, function in found:
        concretes = _concretes_of(function)
        if concretes:
            yield name, concretes
        else:
            warnings.warn(f"aj.saved_model.save: {path}.{name} was never called, so it has no "
                          "traced graph and is not saved; call it once, or give it an "
                          "input_signature, before saving", stacklevel=4)


def _concretes_of(function: Any) -> list:
    if isinstance(function, RestoredFunction):
        return function.concrete_functions
    if isinstance(function, ConcreteFunction):
        return [function]
    if not function._cache and function.input_signature is not None:
        function.get_concrete_function()
    unique: dict[int, ConcreteFunction] = {}
    for concrete in [*function._cache.values(), *(c for _, c, _ in function._generalized)]:
        unique.setdefault(id(concrete), concrete)
    return list(unique.values())


def _signature_functions(signatures: Any) -> list:
    if signatures is None:
        return []
    if not isinstance(signatures, dict):
        signatures = {"serving_default": signatures}
    result = []
    for name, function in signatures.items():
        if isinstance(function, BoundMethod):
            function = function.function
        if not isinstance(function, (Function, ConcreteFunction, RestoredFunction)):
            raise SavedModelError(f"aj.saved_model.save: signatures[{name!r}] is a "
                                  f"{type(function).__name__}; expected an @aj.function or a "
                                  "concrete function (fn.get_concrete_function(spec))")
        concretes = _concretes_of(function)
        if not concretes:
            raise SavedModelError(f"aj.saved_model.save: signatures[{name!r}] was never "
                                  "traced; pass fn.get_concrete_function(aj.TensorSpec(...))")
        result.append((name, concretes))
    return result


def _concrete_data(concrete: ConcreteFunction, writer: GraphWriter, what: str) -> dict:
    args, kwargs = concrete.arguments if concrete.arguments is not None else ((), {})
    signature = concrete.function_signature
    try:
        bound = None if signature is None else signature.bind(*args, **kwargs)
    except TypeError:
        bound = None
    if bound is None:
        parameters, arguments = None, {"*args": tuple(args), "**kwargs": dict(kwargs)}
    else:
        parameters, arguments = [], dict(bound.arguments)
        for p in signature.parameters.values():
            saved = [p.name, p.kind.name]
            if p.default is not p.empty:
                try:
                    saved.append(writer.attr(p.default))
                except SavedModelError:  # a default object: the loaded function lacks the
                    if p.name not in arguments:  # parameter, the graph holds what it gave
                        continue
                    saved.pop()
            if p.name not in arguments:
                arguments[p.name] = () if p.kind is p.VAR_POSITIONAL else {} \
                    if p.kind is p.VAR_KEYWORD else p.default
            parameters.append(saved)
        arguments = {p[0]: arguments[p[0]] for p in parameters}
    return {
        "name": concrete.name,
        "parameters": parameters,
        "arguments": {name: _argument_data(value, writer, f"{what}: argument `{name}`")
                      for name, value in arguments.items()},
        "inputs": [spec_data(s) for s in concrete.input_specs],
        "graph": writer.graph(concrete.graph),
        "outputs": _structure_data(concrete._template),
        "kinds": [_kind_data(kind, writer, what) for kind in concrete._kinds],
    }


def _python_data(value: Any, writer: GraphWriter, what: str) -> Any:
    try:
        return writer.attr(value)
    except SavedModelError:
        raise SavedModelError(f"aj.saved_model.save: {what} is a {type(value).__name__} "
                              f"({value!r:.60}); a saved function holds only numbers, "
                              "strings, None, dtypes and lists, tuples and dicts of them") from None


def _argument_data(value: Any, writer: GraphWriter, what: str) -> Any:
    if isinstance(value, ArgumentSlot):
        return {"tensor": value.index}
    if isinstance(value, (list, tuple)) and not isinstance(value, Tensor):
        items = [_argument_data(v, writer, what) for v in value]
        return {"list": items} if isinstance(value, list) else {"tuple": items}
    if isinstance(value, dict):
        return {"dict": [[_python_data(k, writer, what), _argument_data(v, writer, what)]
                         for k, v in value.items()]}
    if getattr(value, "_is_variable", False):
        raise SavedModelError(f"aj.saved_model.save: {what} is the Variable {value.name!r}; "
                              "a saved function reads Variables it holds, not ones passed "
                              "in: make it an attribute of the object and read it there")
    if not isinstance(value, (int, float, str, bool, type(None), np.generic, np.dtype)):
        raise SavedModelError(f"aj.saved_model.save: {what} is a {type(value).__name__}; a "
                              "saved function takes tensors, numbers, strings and None (an "
                              "aj.TensorArray argument: pass ta.stack())")
    return _python_data(value, writer, what)


def _structure_data(template: Any) -> Any:
    """The output structure with its leaves as ``None`` (the kinds say what each is)."""
    if nest.is_namedtuple(template):
        cls = type(template)
        return {"namedtuple": [cls.__module__, cls.__qualname__, list(cls._fields),
                               [_structure_data(v) for v in template]]}
    if isinstance(template, (list, tuple)) and not isinstance(template, Tensor):
        items = [_structure_data(v) for v in template]
        return {"list": items} if isinstance(template, list) else {"tuple": items}
    if isinstance(template, dict):
        return {"dict": [[k, _structure_data(v)] for k, v in template.items()]}
    return None


def _kind_data(kind: Any, writer: GraphWriter, what: str) -> Any:
    if isinstance(kind, int):
        return kind
    if kind[0] == "array":
        raise SavedModelError(f"aj.saved_model.save: {what} returns an aj.TensorArray; "
                              "return ta.stack() to save it")
    return {"py": _python_data(kind[1], writer, f"{what}: a Python value it returns")}


# ----------------------------------------------------------------------------- loading


def load(export_dir: str | os.PathLike, root_type: type | None = None) -> "Restored":
    """The object saved in ``export_dir``, rebuilt without its Python class (Note [Saved
    models]); Variables and graphs go to the device scope active here (the CPU otherwise).

    Usage: ``loaded = aj.saved_model.load("exported"); loaded(x); loaded.trainable_variables``

    ``root_type``: a ``Restored`` subclass to build the root object as (the Keras model
    ``aj.keras.models.load_model`` returns, autojit/layers/loaded.py).
    """
    where = "aj.saved_model.load"
    directory = os.fspath(export_dir)
    path = os.path.join(directory, FILE)
    if not os.path.isfile(path):
        raise SavedModelError(f"{where}: {directory!r} holds no saved model (no {FILE}); "
                              "write one with aj.saved_model.save(obj, export_dir)")
    index, arrays = archive.read_archive(path, where)
    program = index.get("saved_model")
    if not isinstance(program, dict) or program.get("version") != VERSION:
        raise SavedModelError(f"{where}: {path!r} is not a saved model of this autojit (a "
                              "checkpoint? restore those with aj.train.Checkpoint)")
    with core.eager_scope():
        variables = []
        for entry in program["variables"]:
            var = Variable(arrays[f"variables/{entry['path']}"], trainable=entry["trainable"])
            var._name = entry["name"]
            variables.append(var)
        constants = [arrays[f"constants/{i}"] for i in range(program["constants"])]
        reader = GraphReader(constants, variables, program["loops"], where)
        device = backend.scope_device() or backend.CPU
        modules = {m["path"]: (root_type or Restored if m["path"] == _ROOT else Restored)(
            m["name"], [variables[i] for i in m["variables"]],
            trainable=m.get("trainable", True)) for m in program["modules"]}
        tree = _Tree(modules, set(program["optimizers"]))
        for entry, var in zip(program["variables"], variables):
            tree.place(entry["path"], var)
        for path in modules:
            tree.place(path, modules[path])
        for path, target in program.get("aliases", []):  # a Variable or Module held twice
            tree.place(path, variables[target] if isinstance(target, int) else modules[target])
        tree.build()
        for m in program["modules"]:
            for function in m["functions"]:
                restored = _restored_function(function, reader, device)
                object.__setattr__(modules[m["path"]], function["attr"], restored)
        root = modules[_ROOT]
        object.__setattr__(root, "signatures", {
            f["attr"]: _restored_function(f, reader, device) for f in program["signatures"]})
    return root


def contains_saved_model(export_dir: str | os.PathLike) -> bool:
    """Whether ``export_dir`` holds a file ``aj.saved_model.save`` wrote (by its name only).

    Usage: ``if aj.saved_model.contains_saved_model("exported"): model = aj.saved_model.load(...)``
    """
    return os.path.isfile(os.path.join(os.fspath(export_dir), FILE))


def _custom_gradient_for_saving(node: Any) -> tuple:
    """A ``custom_gradient`` node as ``custom_gradient_saved``, its gradient traced into a
    graph (Note [Saved custom gradients] in autodiff.py)."""
    from autojit.autodiff import CUSTOM_GRADIENT_SAVED, custom_gradients_of
    from autojit.function import function as traced
    from autojit.ops.math import zeros_like_value

    attrs = node.attrs
    n_args, n_vars, variables = attrs["n_args"], attrs["n_vars"], list(attrs["variables"])

    def gradients(*tensors: Any) -> tuple:
        args, dys = tensors[:n_args], tensors[n_args:]
        grad_fn = attrs["forward"](*args)[1]
        arg_grads, var_grads = custom_gradients_of(grad_fn, list(dys), variables, n_args,
                                                   n_vars)
        return tuple(zeros_like_value(x) if g is None else g
                     for g, x in zip(arg_grads + var_grads, [*args, *variables]))

    specs = [TensorSpec(v.spec.shape, v.spec.dtype) for v in node.inputs[:n_args]] + \
        [TensorSpec(v.spec.shape, v.spec.dtype) for v in node.outputs]
    grad = traced(gradients, autograph=False).get_concrete_function(*specs).graph
    return CUSTOM_GRADIENT_SAVED, {"grad": grad, "n_args": n_args, "n_vars": n_vars}


SAVE_AS["custom_gradient"] = _custom_gradient_for_saving


class Restored(Module):
    """A Module rebuilt by ``aj.saved_model.load``: the saved Variables and sub-Modules as
    attributes, and the saved functions as ``RestoredFunction`` attributes.

    Usage: ``loaded = aj.saved_model.load(path); loaded(x); loaded.dense.w``

    Each is ``trainable`` as the saved Module was, and freezes as any Module (Note
    [Freezing] in module.py): ``loaded.layers[0].trainable = False``.
    """

    _walk_sorted = False

    def __init__(self, name: str, variables: Sequence[Variable], trainable: bool = True):
        super().__init__(name=name)
        _ORDER[self] = tuple(variables)  # not an attribute: walks would list it
        self.trainable = trainable  # before its sub-modules are placed: this one's own flag

    @property
    def variables(self) -> tuple:
        """The Variables, in the order the saved Module listed them. Usage: ``loaded.variables``
        """
        return _ORDER[self]

    @property
    def trainable_variables(self) -> tuple:
        """The trainable Variables (saved trainable, held by no frozen module), in the order
        of ``variables``.

        Usage: ``tape.gradient(loss, loaded.trainable_variables)``
        """
        frozen = self._frozen()
        return tuple(v for v in _ORDER[self] if v.trainable and id(v) not in frozen)

    @property
    def non_trainable_variables(self) -> tuple:
        """The other Variables: saved with ``trainable=False``, or held by a frozen module.

        Usage: ``loaded.non_trainable_variables``
        """
        frozen = self._frozen()
        return tuple(v for v in _ORDER[self] if not v.trainable or id(v) in frozen)

    def _frozen(self) -> set:
        """The ids of the Variables held by this module or a sub-module that is frozen."""
        return {id(v) for module in (self, *self.submodules) if not module.trainable
                for v in module.variables}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        function = vars(self).get("__call__") or vars(self).get("signatures", {}).get(
            "serving_default")
        if function is None:
            raise SavedModelError(f"{self.name}: this loaded object is not callable: its "
                                  "__call__ was not an @aj.function traced before saving "
                                  "(and there is no serving_default signature)")
        return function(*args, **kwargs)

    def predict(self, x: Any, batch_size: int | None = None, **unused: Any) -> np.ndarray:
        """The loaded model called on ``x`` (by batches of ``batch_size``), as a NumPy array.

        Usage: ``probabilities = aj.keras.models.load_model(path).predict(x_test)``
        """
        from autojit.layers.batching import predict_in_batches

        return predict_in_batches(self, x, batch_size)


_ORDER: "weakref.WeakKeyDictionary[Restored, tuple]" = weakref.WeakKeyDictionary()


class _Object:
    """A loaded holder of Variables that is no Module (an optimizer: its ``iterations``)."""

    def __repr__(self) -> str:
        return f"<restored object {sorted(vars(self))}>"


_HOLDER = object()  # a path component that holds others


class _Tree:
    """Places loaded Variables and Modules at their saved paths (``root/layers/0/w``)."""

    def __init__(self, modules: dict, optimizers: set):
        self._modules = modules
        self._optimizers = optimizers
        self._children: dict[str, dict] = {}  # path -> {component: value or _HOLDER}

    def place(self, path: str, value: Any) -> None:
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in self._optimizers and parts[i] == "slots":
                return  # slots stay in .variables (their paths repeat their variables')
        for i in range(1, len(parts)):
            children = self._children.setdefault("/".join(parts[:i]), {})
            if i == len(parts) - 1:
                children[parts[i]] = value
            else:
                children.setdefault(parts[i], _HOLDER)

    def build(self) -> Any:
        """Set every holder's attributes, or items; return the root."""
        return self._holder(_ROOT)

    def _holder(self, path: str) -> Any:
        items = {}
        for component, value in self._children.get(path, {}).items():
            child = f"{path}/{component}"
            if value is _HOLDER or isinstance(value, Restored) and child in self._modules:
                value = self._holder(child)  # (a Module held again is already built)
            items[_unescape(component)] = value
        if path in self._modules:
            holder = self._modules[path]
        elif path in self._optimizers:
            holder = _Object()
        elif items and sorted(items) == sorted(str(i) for i in range(len(items))):
            return [items[str(i)] for i in range(len(items))]
        else:
            return items
        for name, value in items.items():
            object.__setattr__(holder, name, value)
        return holder


def _unescape(component: str) -> str:
    return component.replace("%2F", "/").replace("%25", "%")


# ----------------------------------------------------------------------------- functions


class RestoredFunction:
    """A function loaded from a saved model: the concrete functions traced before saving,
    one chosen by the call's arguments.

    Usage: ``loaded.predict(x)``; ``loaded.predict.concrete_functions``
    """

    def __init__(self, name: str, entries: list):
        self.name = name
        self._entries = entries  # (signature or None, arguments template, ConcreteFunction)

    @property
    def concrete_functions(self) -> list:
        """The concrete functions saved for this function, in the order traced.

        Usage: ``[c.structured_input_signature for c in loaded.f.concrete_functions]``
        """
        return [concrete for _, _, concrete in self._entries]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for signature, template, concrete in self._entries:
            tensors = _match(signature, template, args, kwargs, specs=False)
            if tensors is not None:
                return concrete._call(tensors)
        raise SavedModelError(self._mismatch(args, kwargs, "called with"))

    def get_concrete_function(self, *args: Any, **kwargs: Any) -> ConcreteFunction:
        """The saved concrete function for these arguments (tensors or ``TensorSpec``s).

        Usage: ``loaded.f.get_concrete_function(aj.TensorSpec([None, 3]))``
        """
        for signature, template, concrete in self._entries:
            if _match(signature, template, args, kwargs, specs=True) is not None:
                return concrete
        raise SavedModelError(self._mismatch(args, kwargs, "asked for"))

    def _mismatch(self, args: tuple, kwargs: dict, verb: str) -> str:
        traced = "; ".join(_describe_template(t) for _, t, _ in self._entries)
        given = ", ".join([_describe(a) for a in args]
                          + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
        return (f"loaded function {self.name!r} was {verb} ({given}), but it was saved with "
                f"graphs for ({traced}) only; a loaded function cannot trace again: call the "
                "original with these arguments (or give it an input_signature with None "
                "dims) before saving")

    def __repr__(self) -> str:
        return f"<RestoredFunction {self.name}: {len(self._entries)} concrete function(s)>"


def _restored_function(data: dict, reader: GraphReader, device: Any) -> RestoredFunction:
    entries = []
    for c in data["concretes"]:
        graph = reader.graph(c["graph"]).verify()
        specs = [spec_from(s) for s in c["inputs"]]
        template = {name: _argument_from(v, reader, specs) for name, v in c["arguments"].items()}
        kinds = [k if isinstance(k, int) else ("py", reader.attr(k["py"])) for k in c["kinds"]]
        outputs = _structure_from(c["outputs"])
        concrete = ConcreteFunction(c["name"], graph, device, specs, outputs, kinds,
                                    _variables_read(graph))
        signature = None
        if c["parameters"] is not None:
            signature = inspect.Signature([
                inspect.Parameter(p[0], _KINDS[p[1]],
                                  **({"default": reader.attr(p[2])} if len(p) > 2 else {}))
                for p in c["parameters"]])
            bound = inspect.BoundArguments(signature, dict(template))
            concrete.arguments = (bound.args, bound.kwargs)
        else:
            concrete.arguments = (template["*args"], template["**kwargs"])
        concrete.function_signature = signature
        entries.append((signature, template, concrete))
    return RestoredFunction(data["attr"], entries)


def _argument_from(data: Any, reader: GraphReader, specs: list) -> Any:
    if isinstance(data, dict):
        (tag, body), = data.items()
        if tag == "tensor":
            return ArgumentSlot(body, specs[body])
        if tag in ("list", "tuple"):
            items = [_argument_from(v, reader, specs) for v in body]
            return items if tag == "list" else tuple(items)
        if tag == "dict":
            return {reader.attr(k): _argument_from(v, reader, specs) for k, v in body}
    return reader.attr(data)


def _structure_from(data: Any) -> Any:
    if not isinstance(data, dict):
        return None
    (tag, body), = data.items()
    if tag == "namedtuple":
        module, qualname, fields, items = body
        cls = _namedtuple_class(module, qualname, fields)
        return cls(*[_structure_from(v) for v in items])
    if tag in ("list", "tuple"):
        items = [_structure_from(v) for v in body]
        return items if tag == "list" else tuple(items)
    return {k: _structure_from(v) for k, v in body}


def _namedtuple_class(module: str, qualname: str, fields: list) -> type:
    """The saved namedtuple class where it can be imported with the same fields, else a new
    namedtuple of that name and fields."""
    import collections
    import importlib

    try:
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        if isinstance(cls, type) and list(getattr(cls, "_fields", ())) == fields:
            return cls
    except Exception:  # not importable here: the saving program's class
        pass
    return collections.namedtuple(qualname.rsplit(".", 1)[-1], fields)


def _match(signature: inspect.Signature | None, template: dict, args: tuple, kwargs: dict,
           specs: bool) -> list | None:
    """The tensors of a call in the concrete function's input order, or ``None`` when the
    call does not fit its arguments template."""
    if signature is None:
        arguments = {"*args": tuple(args), "**kwargs": dict(kwargs)}
    else:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
    if arguments.keys() != template.keys():
        return None
    found: dict[int, Any] = {}
    for name, expected in template.items():
        if not _fits(expected, arguments[name], found, specs):
            return None
    return [found[i] for i in range(len(found))]


def _fits(expected: Any, value: Any, found: dict, specs: bool) -> bool:
    if isinstance(expected, ArgumentSlot):
        tensor = _as_tensor(value, expected.spec, specs)
        if tensor is None:
            return False
        found[expected.index] = tensor
        return True
    if isinstance(expected, (list, tuple)):
        return (isinstance(value, (list, tuple)) and not isinstance(value, Tensor)
                and len(value) == len(expected)
                and all(_fits(e, v, found, specs) for e, v in zip(expected, value)))
    if isinstance(expected, dict):
        return (isinstance(value, dict) and value.keys() == expected.keys()
                and all(_fits(expected[k], value[k], found, specs) for k in expected))
    if isinstance(value, (Tensor, TensorSpec, np.ndarray)):
        return False
    return type(value) is type(expected) and value == expected or (
        isinstance(value, (int, float)) and not isinstance(value, bool)
        and isinstance(expected, (int, float)) and not isinstance(expected, bool)
        and value == expected)


def _as_tensor(value: Any, spec: TensorSpec, specs: bool) -> Any:
    """``value`` as a tensor the slot of type ``spec`` takes, or ``None``."""
    if isinstance(value, TensorSpec):
        fits = specs and value.shape is not None and spec.is_compatible_with(value.shape,
                                                                             value.dtype)
        return value if fits else None
    if isinstance(value, Tensor):
        tensor = value.read_value() if value._is_variable else value
    elif isinstance(value, np.ndarray):
        tensor = Tensor(value)
    else:
        return None
    return tensor if spec.is_compatible_with(tensor.shape, tensor.dtype) else None


def _describe_template(template: dict) -> str:
    return ", ".join(f"{name}={_describe(value)}" for name, value in template.items())


def _describe(value: Any) -> str:
    """A call's argument or a template's entry: tensors (and slots) by type, the rest by
    value, containers by their items."""
    if isinstance(value, ArgumentSlot):
        return _spec_text(value.spec)
    if isinstance(value, (Tensor, np.ndarray, TensorSpec)):
        return _spec_text(TensorSpec(value.shape, value.dtype))
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_describe(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _spec_text(spec: TensorSpec) -> str:
    return f"{spec.dtype.name}{shapes.fmt(spec.shape)}"


__all__ = ["save", "load", "contains_saved_model", "Restored", "RestoredFunction",
           "SavedModelError"]
