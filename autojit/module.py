"""``Module``: the base class of layers and models (as ``tf.Module``), which finds the
Variables and sub-Modules held in its attributes.

Note [Module discovery]: ``variables``, ``trainable_variables`` and ``submodules`` walk the
instance's attributes sorted by name (in the order they were first assigned for Keras-style
``aj.keras.layers.Layer`` subclasses, whose ``add_weight`` list comes first: Keras's
creation order), looking through lists, tuples and dicts (dicts by sorted key), nested to
any depth. A module's own variables come first, then those of each
sub-module in the order found (tf.Module's order). Every object is listed once, cycles are
cut. The walk is redone on every access rather than cached: invalidating a cache exactly
would need every list and dict in every attribute wrapped (``self.layers.append`` mutates
without a ``setattr``), which changes the types users see. The walk is a tight loop over a
few dozen objects for a typical model (a few microseconds, see tests/test_module.py), so it
is cheap next to one training step, and inside ``@aj.function`` it runs only while tracing.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any, Callable, TypeVar

from autojit import variables as _variables
from autojit.errors import InvalidArgumentError
from autojit.ops import core
from autojit.variables import Variable

_VALID_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_F = TypeVar("_F", bound=Callable[..., Any])


# Note [Default module names]: a Module made without a name gets its class's base name
# (``keras_name`` when the class sets one, else the class name in snake case), made unique
# in the process as Keras does: ``dense``, ``dense_1``, ``dense_2``... An explicit name is
# used as given, so two modules may still share one; a class that sets
# ``numbered_names = False`` keeps its default name as is (metrics: Keras gives every
# ``SparseCategoricalAccuracy()`` the name ``sparse_categorical_accuracy``).
# Names only label Variables (``dense_1/w:0``); checkpoints key by object path
# (Note [Checkpoint paths]), so a model built again in the same process, whose layers get
# new names, restores from a file written by the first one or by another process.
_name_uids: dict[str, int] = {}
_name_lock = threading.Lock()


def _unique_name(base: str) -> str:
    with _name_lock:
        uid = _name_uids.get(base, 0)
        _name_uids[base] = uid + 1
    return base if uid == 0 else f"{base}_{uid}"


def camel_to_snake(name: str) -> str:
    """``"MyMLP2Layer"`` -> ``"my_mlp2_layer"``: the default name of a Module subclass.

    Usage: ``camel_to_snake("DenseBlock") == "dense_block"``
    """
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


class _ModuleScope:
    """The ``with module.name_scope:`` context: makes the module's full scope
    (``"mlp/dense"``) the current name scope, whatever scope is open when it is entered.

    Re-entrant: each ``__enter__`` saves the scope stack it replaces.
    """

    __slots__ = ("_parts", "_saved")

    def __init__(self, parts: list[str]):
        self._parts = parts
        self._saved: list[list[str]] = []

    @property
    def name(self) -> str:
        """The full scope name with a trailing slash, e.g. ``"mlp/dense/"``."""
        return "/".join(self._parts) + "/"

    def __enter__(self) -> str:
        # aj.name_scope only nests relative names; a module's scope is absolute (TF enters
        # "mlp/dense/" as is), so swap the thread's scope stack for the module's own.
        names = _variables._names
        self._saved.append(names.scopes)
        names.scopes = list(self._parts)
        return self.name

    def __exit__(self, *exc: Any) -> None:
        _variables._names.scopes = self._saved.pop()

    def __repr__(self) -> str:
        return f"<name_scope {self.name!r}>"


class Module:
    """Base class for anything that holds Variables: layers, models, optimizers' users.

    Usage::

        class Dense(aj.Module):
            def __init__(self, in_features, out_features, name=None):
                super().__init__(name=name)
                self.w = aj.Variable(aj.random.normal([in_features, out_features]), name="w")
                self.b = aj.Variable(aj.zeros([out_features]), name="b")

            def __call__(self, x):
                return aj.nn.relu(aj.matmul(x, self.w) + self.b)

        layer = Dense(3, 2)
        layer.trainable_variables   # (b, w): sorted by attribute name

    ``name`` defaults to the class name in snake case (``Dense`` -> ``"dense"``, or the
    class attribute ``keras_name`` where set), numbered to be unique in the process as Keras
    does (``"dense"``, ``"dense_1"``, ...; Note [Default module names]); a name given must be
    a valid Python identifier and is used as is. Variables created inside
    ``with self.name_scope:`` are named ``"<outer scopes>/<name>/<var>:0"``.
    """

    _walk_sorted = True  # attributes by name (tf.Module); Keras layers: in assignment order

    def __init__(self, name: str | None = None):
        if name is None:
            cls = type(self)
            name = getattr(cls, "keras_name", None) or camel_to_snake(cls.__name__)
            if getattr(cls, "numbered_names", True):
                name = _unique_name(name)
        elif not isinstance(name, str) or not _VALID_NAME.match(name):
            raise InvalidArgumentError(
                f"Module: {name!r} is not a valid module name; expected a Python identifier "
                f"(letters, digits and underscores, not starting with a digit), e.g. "
                f"{_suggest(name)!r}")
        parts = [*_variables._names.scopes, name]
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_scope", _ModuleScope(parts))

    @property
    def name(self) -> str:
        """The module's own name (no scopes). Usage: ``model.name``"""
        return self._name

    @property
    def name_scope(self) -> _ModuleScope:
        """A context manager that names Variables created inside ``"<scope>/<name>/..."``.

        Usage: ``with self.name_scope: self.w = aj.Variable(0.0, name="w")``
        """
        return self._scope

    @property
    def variables(self) -> tuple:
        """Every Variable held by this module and its sub-modules (Note [Module discovery]).

        Usage: ``n = sum(v.numpy().size for v in model.variables)``
        """
        return tuple(_walk(self, _is_variable))

    @property
    def trainable_variables(self) -> tuple:
        """The trainable Variables, in the order of ``variables``.

        Usage: ``grads = tape.gradient(loss, model.trainable_variables)``
        """
        return tuple(_walk(self, _is_trainable))

    @property
    def non_trainable_variables(self) -> tuple:
        """The Variables created with ``trainable=False``.

        Usage: ``model.non_trainable_variables``
        """
        return tuple(_walk(self, _is_frozen))

    @property
    def losses(self) -> list:
        """The weight penalties of this module and its sub-modules (Keras's ``layer.losses``,
        from ``kernel_regularizer=`` and the like), computed from the current weights.

        Usage: ``loss = data_loss + aj.add_n(model.losses)``
        """
        out = []
        for module in (self, *self.submodules):
            for regularizer, key in vars(module).get("_regularizers", ()):
                weight = module._layer_weights[key] if isinstance(key, int) \
                    else getattr(module, key, None)
                if weight is not None:
                    out.append(regularizer(weight))
        return out

    def _add_regularizer(self, regularizer: Any, key: Any) -> None:
        """Penalize the weight at attribute ``key`` (or ``_layer_weights[key]``) in ``losses``
        (a name, not the Variable: walks would list it again)."""
        if regularizer is None:
            return
        from autojit import regularizers

        entry = (regularizers.get(regularizer), key)
        object.__setattr__(self, "_regularizers", vars(self).get("_regularizers", ()) + (entry,))

    @property
    def submodules(self) -> tuple:
        """Every Module held by this one, recursively (not including itself).

        Usage: ``[m.name for m in model.submodules]``
        """
        return tuple(_walk(self, _is_module))

    @classmethod
    def with_name_scope(cls, method: _F) -> _F:
        """Decorator: run a method inside ``self.name_scope``.

        Usage::

            @aj.Module.with_name_scope
            def __call__(self, x): ...
        """

        @functools.wraps(method)
        def wrapper(self: "Module", *args: Any, **kwargs: Any) -> Any:
            with self._scope:  # the method converted (Note [Library code calling user code])
                return core.user_function(method)(self, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def __getattr__(self, name: str) -> Any:
        # Called only when normal lookup fails (a property raising AttributeError included),
        # so it costs nothing on the hot path.
        if "_scope" not in vars(self) and (name in _SKIP or hasattr(type(self), name)):
            raise AttributeError(
                f"{type(self).__name__}: Module.__init__ was not called; start "
                f"{type(self).__name__}.__init__ with super().__init__(name=name)")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._scope.name.rstrip('/')!r}>"


def _suggest(name: Any) -> str:
    text = re.sub(r"\W", "_", str(name)) or "module"
    return "_" + text if text[0].isdigit() else text


def _is_variable(value: Any) -> bool:
    return isinstance(value, Variable)


def _is_trainable(value: Any) -> bool:
    return isinstance(value, Variable) and value._trainable


def _is_frozen(value: Any) -> bool:
    return isinstance(value, Variable) and not value._trainable


def _is_module(value: Any) -> bool:
    return isinstance(value, Module)


_SKIP = frozenset(("_name", "_scope"))


def _walk(root: Module, predicate: Callable[[Any], bool]) -> list:
    """The objects matching ``predicate`` held by ``root`` (Note [Module discovery])."""
    found: list = []
    _walk_module(root, predicate, found, {id(root)})
    return found


def _walk_module(module: Module, predicate: Callable[[Any], bool], found: list,
                 seen: set) -> None:
    # As tf.Module: this module's matches first, then each sub-module found, depth first.
    submodules: list = []
    attrs = vars(module)
    for key in (sorted(attrs) if type(module)._walk_sorted else attrs):
        if key not in _SKIP:
            _collect(attrs[key], predicate, found, seen, submodules)
    for submodule in submodules:
        _walk_module(submodule, predicate, found, seen)


def _collect(value: Any, predicate: Callable[[Any], bool], found: list, seen: set,
             submodules: list) -> None:
    # Only containers, Variables and Modules matter: plain values are skipped before the
    # id() bookkeeping, which keeps the walk cheap.
    if isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, predicate, found, seen, submodules)
        return
    if isinstance(value, dict):
        for key in sorted(value, key=_sort_key):
            _collect(value[key], predicate, found, seen, submodules)
        return
    if not isinstance(value, (Variable, Module)):
        return
    key = id(value)
    if key in seen:
        return
    seen.add(key)
    if predicate(value):
        found.append(value)
    if isinstance(value, Module):
        submodules.append(value)


def _sort_key(key: Any) -> tuple:
    return (type(key).__name__, key if isinstance(key, (int, float, str)) else repr(key))
