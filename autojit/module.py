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
few dozen objects for a typical model (tens of microseconds), so it is cheap next to one
training step, and inside ``@aj.function`` it runs only while tracing. The walk carries one
flag down, ``frozen``: set below a module whose ``trainable`` is False (Note [Freezing]).

Note [Freezing]: as Keras 3, every Module has ``trainable`` (True by default). A module with
``trainable == False`` lists every Variable it and its sub-modules hold under
``non_trainable_variables`` and none under ``trainable_variables``; ``variables`` does not
change. The split is made by the walk, not by changing the Variables' own ``trainable``
flags, so setting ``trainable = True`` again restores the split they were made with
(``BatchNormalization``'s moving statistics stay non-trainable), and a Variable's
``trainable`` keeps saying how it was made (as ``tf.keras`` 2). Setting ``trainable`` also
sets it on every sub-module (Keras 3's recursive setter: a frozen base model's
``BatchNormalization`` reads ``trainable == False`` and runs in inference mode), so setting
it back to True unfreezes sub-modules frozen one by one before. A module attached to a frozen
one later keeps its own flag but is frozen through it (the walk), as Keras's
``trainable_weights`` is empty for a frozen layer whatever its sub-layers say. A Variable
held by both a frozen and a trainable module counts as the module it is first found in.
Every Module subclass takes ``trainable=False`` as a constructor keyword (``Dense(4,
trainable=False)``), added by ``Module.__init_subclass__`` where ``__init__`` does not take
``trainable`` itself.
"""

from __future__ import annotations

import functools
import inspect
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


class _Listing:
    """A read-only computed attribute that an instance attribute of the same name overrides
    (a non-data descriptor, unlike ``property``). Usage: ``@_Listing def weights(self): ...``
    """

    def __init__(self, compute: Callable[[Any], Any]):
        self._compute = compute
        self.__doc__ = compute.__doc__

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        return self if instance is None else self._compute(instance)


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every subclass's constructor takes trainable=False (Note [Freezing]), the built-in
        # layers' too, whose __init__s do not name it: wrap those that do not.
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if callable(init) and "trainable" not in parameters_of(init):
            cls.__init__ = _taking_trainable(init)  # type: ignore[method-assign]

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
    def trainable(self) -> bool:
        """Whether training updates this module's Variables (Note [Freezing]); True by default.

        Usage: ``base_model.trainable = False`` (freeze it, as Keras), or
        ``aj.keras.layers.Dense(4, trainable=False)``

        False moves every Variable of the module and of its sub-modules to
        ``non_trainable_variables``; setting it sets it on every sub-module too; True brings
        back the split the Variables were made with. A frozen ``BatchNormalization`` runs in
        inference mode even when called with ``training=True``. As in Keras, a ``fit`` traced
        before the change keeps its trace: call ``model.compile(...)`` again after changing
        ``trainable`` (and trace your own ``@aj.function`` train step again) to train the new
        set of Variables.
        """
        return vars(self).get("_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        for module in (self, *self.submodules):
            object.__setattr__(module, "_trainable", value)

    @property
    def variables(self) -> tuple:
        """Every Variable held by this module and its sub-modules (Note [Module discovery]).

        Usage: ``n = sum(v.numpy().size for v in model.variables)``
        """
        return tuple(_walk(self, _is_variable))

    @property
    def trainable_variables(self) -> tuple:
        """The Variables training updates, in the order of ``variables``: those made
        trainable, of modules none of which on the way is frozen (Note [Freezing]).

        Usage: ``grads = tape.gradient(loss, model.trainable_variables)``
        """
        return tuple(_walk(self, _is_trainable))

    @property
    def non_trainable_variables(self) -> tuple:
        """The other Variables, in the order of ``variables``: those made with
        ``trainable=False``, and all those of frozen modules (Note [Freezing]).

        Usage: ``model.non_trainable_variables``
        """
        return tuple(_walk(self, _is_frozen))

    # Keras's names. Non-data descriptors (_Listing), unlike properties, so a subclass may
    # still assign an attribute of that name (PyTorch-style ``self.weights = ...``).
    @_Listing
    def weights(self) -> list:
        """Every Variable, those made trainable first, then the others, each in the order of
        ``variables`` (Keras's ``weights``; freezing does not change it, as Keras 3).

        Usage: ``[w.shape for w in layer.weights]``
        """
        variables = self.variables
        return [v for v in variables if v.trainable] + [v for v in variables if not v.trainable]

    @_Listing
    def trainable_weights(self) -> list:
        """``trainable_variables`` as a list (Keras's name). Usage: ``layer.trainable_weights``
        """
        return list(self.trainable_variables)

    @_Listing
    def non_trainable_weights(self) -> list:
        """``non_trainable_variables`` as a list (Keras's name).

        Usage: ``layer.non_trainable_weights``
        """
        return list(self.non_trainable_variables)

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


def parameters_of(fn: Any) -> Any:
    """The parameters of ``fn``'s signature by name, or ``{}`` where it has none Python can
    read (a builtin). Usage: ``"training" in parameters_of(type(layer).call)``"""
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}


def _taking_trainable(init: Callable[..., None]) -> Callable[..., None]:
    """``init`` also taking ``trainable`` (Note [Freezing]); False freezes the new module."""

    @functools.wraps(init)
    def __init__(self: "Module", *args: Any, trainable: bool = True, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if not trainable:  # after init: its sub-modules exist, and are frozen with it
            self.trainable = False

    return __init__


# The walk's predicates: (value, frozen: below a module with trainable == False) -> bool.
def _is_variable(value: Any, frozen: bool) -> bool:
    return isinstance(value, Variable)


def _is_trainable(value: Any, frozen: bool) -> bool:
    return not frozen and isinstance(value, Variable) and value._trainable


def _is_frozen(value: Any, frozen: bool) -> bool:
    return isinstance(value, Variable) and (frozen or not value._trainable)


def _is_module(value: Any, frozen: bool) -> bool:
    return isinstance(value, Module)


_SKIP = frozenset(("_name", "_scope"))


def _walk(root: Module, predicate: Callable[[Any, bool], bool]) -> list:
    """The objects matching ``predicate`` held by ``root`` (Note [Module discovery])."""
    found: list = []
    _walk_module(root, predicate, found, {id(root)}, False)
    return found


def _walk_module(module: Module, predicate: Callable[[Any, bool], bool], found: list,
                 seen: set, frozen: bool) -> None:
    # As tf.Module: this module's matches first, then each sub-module found, depth first.
    submodules: list = []
    attrs = vars(module)
    frozen = frozen or not attrs.get("_trainable", True)  # Note [Freezing]
    for key in (sorted(attrs) if type(module)._walk_sorted else attrs):
        if key not in _SKIP:
            _collect(attrs[key], predicate, frozen, found, seen, submodules)
    for submodule in submodules:
        _walk_module(submodule, predicate, found, seen, frozen)


def _collect(value: Any, predicate: Callable[[Any, bool], bool], frozen: bool, found: list,
             seen: set, submodules: list) -> None:
    # Only containers, Variables and Modules matter: plain values are skipped before the
    # id() bookkeeping, which keeps the walk cheap.
    if isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, predicate, frozen, found, seen, submodules)
        return
    if isinstance(value, dict):
        for key in sorted(value, key=_sort_key):
            _collect(value[key], predicate, frozen, found, seen, submodules)
        return
    if not isinstance(value, (Variable, Module)):
        return
    key = id(value)
    if key in seen:
        return
    seen.add(key)
    if predicate(value, frozen):
        found.append(value)
    if isinstance(value, Module):
        submodules.append(value)


def _sort_key(key: Any) -> tuple:
    return (type(key).__name__, key if isinstance(key, (int, float, str)) else repr(key))
