"""The ``Optimizer`` base class: checks ``(gradient, variable)`` pairs, keeps slots and the
step count, clips gradients, applies decoupled weight decay and evaluates the learning rate.

Note [Optimizer math is traceable]: every update is written with autojit ops and
``Variable.assign*`` only, never with NumPy on values, so the same ``apply_gradients`` runs
eagerly and, inside ``@aj.function``, becomes in-place graph nodes replayed at every call.
Values that change between steps (the step count for Adam's bias correction, a schedule's
learning rate) are computed with ops from the ``iterations`` Variable, so a traced step
never needs a retrace; Python floats (a constant learning rate, betas) are constants, which
a traced function bakes in when it is traced (use an ``aj.Variable`` learning rate, or a
schedule from ``aj.optimizers.schedules``, to change it after tracing). Slots and the
``iterations`` counter are created inside ``eager_scope()`` (TF's ``init_scope``), so
creating them during a trace makes real Variables, as on the first call of a traced step.

Note [Order of an update]: as Keras 3's ``BaseOptimizer.apply``: the learning rate is read
(a schedule is called with ``iterations``, 0 on the first step), gradients are clipped,
weight decay shrinks each variable (``w -= lr * weight_decay * w``), the optimizer's own
update runs, and ``iterations`` goes up by one.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Callable, Iterable

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import core, shapes
from autojit.ops.array import add_n, constant, zeros_like
from autojit.ops.clipping import clip_by_global_norm, clip_by_norm
from autojit.ops.math import cast, clip_by_value, sqrt, square
from autojit.ops.reduce import reduce_sum
from autojit.optimizers.schedules import LearningRateSchedule
from autojit.tensor import Tensor, convert_to_tensor
from autojit.variables import Variable


class Optimizer:
    """Base class: validates ``(gradient, variable)`` pairs, keeps slots and the step count.

    Usage (subclasses)::

        opt = aj.optimizers.SGD(learning_rate=0.1, global_clipnorm=1.0)
        opt.apply_gradients(zip(grads, model.trainable_variables))

    Every optimizer takes ``weight_decay`` (decoupled, Keras 3: ``w -= lr * wd * w`` before
    the update) and at most one of ``clipnorm`` (each gradient's L2 norm), ``clipvalue``
    (each element into ``[-v, v]``) and ``global_clipnorm`` (the norm of all gradients
    together). ``learning_rate`` is a float, an ``aj.Variable`` or a
    ``LearningRateSchedule``. A subclass names its slots in ``slot_names`` and implements
    ``_update(var, grad, slots, lr, step)``, where ``lr`` is the learning rate for this step
    in the variable's dtype and ``step`` is ``iterations + 1`` as a float tensor of that dtype
    (computed once per dtype and step; ``None`` unless ``needs_step``).
    """

    slot_names: tuple[str, ...] = ()
    needs_step = False

    def __init__(self, learning_rate: Any, name: str, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None):
        if not isinstance(learning_rate, LearningRateSchedule):
            _check_hyper(name, "learning_rate", learning_rate, low=0.0)
        if weight_decay is not None:
            _check_hyper(name, "weight_decay", weight_decay, low=0.0)
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue,
                 "global_clipnorm": global_clipnorm}
        given = {key: value for key, value in clips.items() if value is not None}
        if len(given) > 1:
            listed = ", ".join(f"{key}={value!r}" for key, value in given.items())
            raise InvalidArgumentError(f"{name}: at most one of clipnorm, clipvalue and "
                                       f"global_clipnorm may be set, got {listed}")
        for key, value in given.items():
            _check_hyper(name, key, value, low=0.0)
            if value == 0:
                raise InvalidArgumentError(f"{name}: expected {key} > 0, got {value!r}; "
                                           f"leave it None for no clipping")
        self._name = name
        self.learning_rate = learning_rate
        self.weight_decay = None if weight_decay is None else float(weight_decay)
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self.global_clipnorm = None if global_clipnorm is None else float(global_clipnorm)
        self._decay_excluded: dict[int, Variable] = {}  # by id; holding keeps ids unique
        self._decay_excluded_names: list[str] = []
        self._slots: dict[int, tuple[Variable, dict[str, Variable]]] = {}
        with core.eager_scope():
            self._iterations = Variable(0, trainable=False, name=f"{name}/iterations",
                                        dtype=dtypes.int64)
            self._one = constant(1, dtype=dtypes.int64)

    # --- public state --------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The optimizer's name, e.g. ``"SGD"``. Usage: ``opt.name``"""
        return self._name

    @property
    def iterations(self) -> Variable:
        """How many times ``apply_gradients`` has run: a non-trainable int64 Variable.

        Usage: ``int(opt.iterations)``
        """
        return self._iterations

    @property
    def variables(self) -> list:
        """``iterations`` followed by every slot Variable, in creation order.

        Usage: ``len(opt.variables)``
        """
        result = [self._iterations]
        for _, slots in self._slots.values():
            result.extend(slots[name] for name in self.slot_names)
        return result

    def current_learning_rate(self) -> Any:
        """The learning rate the next ``apply_gradients`` uses: a schedule evaluated at
        ``iterations`` (a float32 tensor), else ``learning_rate`` itself.

        Usage: ``float(opt.current_learning_rate())``
        """
        if isinstance(self.learning_rate, LearningRateSchedule):
            return self.learning_rate(self._iterations)
        return self.learning_rate

    def get_slot(self, var: Variable, slot_name: str) -> Variable:
        """The slot Variable ``slot_name`` kept for ``var`` (e.g. Adam's ``"m"``).

        Usage: ``opt.get_slot(w, "momentum")``
        """
        if slot_name not in self.slot_names:
            raise InvalidArgumentError(f"{self._name}.get_slot: no slot {slot_name!r}; this "
                                       f"optimizer has slots {list(self.slot_names)}")
        entry = self._slots.get(id(var))
        if entry is None or entry[0] is not var:
            raise InvalidArgumentError(f"{self._name}.get_slot: no slots for variable "
                                       f"{getattr(var, 'name', var)!r} yet; they are created "
                                       "by its first apply_gradients")
        return entry[1][slot_name]

    def slot_variables(self) -> list[tuple[Variable, dict[str, Variable]]]:
        """Each variable that has slots, with its slots by name, in creation order.

        Usage: ``for var, slots in opt.slot_variables(): print(var.name, list(slots))``
        """
        return [(var, dict(slots)) for var, slots in self._slots.values()]

    def build(self, var_list: Iterable[Variable]) -> None:
        """Create the slots of each variable in ``var_list`` that has none yet, as the
        first ``apply_gradients`` would (Keras's ``build``). Checkpoint restore uses it.

        Usage: ``opt.build(model.trainable_variables)``
        """
        for var in var_list:
            if not isinstance(var, Variable):
                raise InvalidArgumentError(f"{self._name}.build: expected aj.Variables, got "
                                           f"{type(var).__name__}")
            if id(var) not in self._slots:
                self._create_slots(var)

    def exclude_from_weight_decay(self, var_list: Iterable[Variable] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Exempt variables from weight decay: those in ``var_list``, and those whose name
        contains a match of one of the regular expressions ``var_names`` (as Keras 3).

        Usage: ``opt.exclude_from_weight_decay(var_names=["bias", "layer_norm"])``
        """
        for var in var_list or ():
            if not isinstance(var, Variable):
                raise InvalidArgumentError(f"{self._name}.exclude_from_weight_decay: expected "
                                           f"aj.Variables in var_list, got "
                                           f"{type(var).__name__}")
            self._decay_excluded[id(var)] = var
        self._decay_excluded_names.extend(var_names or ())

    # --- updates -----------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> Variable:
        """Update each variable in place with its gradient (Note [Order of an update]); skip
        (and warn about) ``None`` gradients; then add one to ``iterations``. Returns
        ``iterations``.

        Usage: ``opt.apply_gradients(zip(grads, model.trainable_variables))``
        """
        pairs = self._check(list(grads_and_vars))
        for _, var in pairs:
            if id(var) not in self._slots:
                self._create_slots(var)
        lr = self.current_learning_rate()
        grads = self._clip([grad for grad, _ in pairs])
        per_dtype: dict = {}
        for var in (var for _, var in pairs):
            if var.dtype not in per_dtype:
                step = cast(self._iterations + self._one, var.dtype) if self.needs_step else None
                per_dtype[var.dtype] = (_lr_as(lr, var.dtype), step)
        if self.weight_decay:
            for _, var in pairs:
                if self._uses_weight_decay(var):
                    var.assign_sub(var * (per_dtype[var.dtype][0] * self.weight_decay))
        for grad, (_, var) in zip(grads, pairs):
            var_lr, step = per_dtype[var.dtype]
            self._update(var, grad, self._slots[id(var)][1], var_lr, step)
        self._iterations.assign_add(self._one)
        return self._iterations

    def minimize(self, loss: Callable[[], Any], var_list: Any, tape: Any = None) -> Variable:
        """Compute the gradient of ``loss()`` with respect to ``var_list`` and apply it.

        Usage: ``opt.minimize(lambda: aj.reduce_mean(aj.square(model(x) - y)),
        model.trainable_variables)``
        """
        from autojit.autodiff import GradientTape  # the training API sits above autodiff

        if not callable(loss):
            raise InvalidArgumentError(f"{self._name}.minimize: expected a zero-argument "
                                       f"callable returning the loss, got "
                                       f"{type(loss).__name__}; wrap it: lambda: loss")
        var_list = list(var_list() if callable(var_list) else var_list)
        tape = tape if tape is not None else GradientTape()
        with tape:
            value = loss()
        grads = tape.gradient(value, var_list)
        return self.apply_gradients(zip(grads, var_list))

    def _update(self, var: Variable, grad: Tensor, slots: dict, lr: Any, step: Any) -> None:
        raise NotImplementedError

    def _slot_initial_value(self, slot: str) -> float:
        """The value a new slot starts at (Adagrad's accumulator overrides it)."""
        return 0.0

    # --- helpers ---------------------------------------------------------------------------
    def _clip(self, grads: list) -> list:
        if self.clipnorm is not None:
            return [clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm is not None:
            return _clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue is not None:
            return [clip_by_value(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def _uses_weight_decay(self, var: Variable) -> bool:
        if id(var) in self._decay_excluded:
            return False
        return not any(re.search(pattern, var.name) for pattern in self._decay_excluded_names)

    def _create_slots(self, var: Variable) -> None:
        base = var.name.removesuffix(":0")
        slots = {}
        with core.eager_scope():  # TF's init_scope: real Variables even while tracing
            for slot in self.slot_names:
                initial = zeros_like(var)
                value = self._slot_initial_value(slot)
                if value:
                    initial = initial + value
                slots[slot] = Variable(initial, trainable=False,
                                       name=f"{self._name}/{slot}/{base}")
        self._slots[id(var)] = (var, slots)  # holding var keeps its id from being reused

    def _check(self, pairs: list) -> list:
        checked = []
        missing = []
        for index, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise InvalidArgumentError(
                    f"{self._name}.apply_gradients: expected (gradient, variable) pairs such "
                    f"as zip(grads, vars), got {type(pair).__name__} at position {index}")
            grad, var = pair
            if not isinstance(var, Variable):
                raise InvalidArgumentError(
                    f"{self._name}.apply_gradients: expected an aj.Variable at position "
                    f"{index}, got {type(var).__name__}; optimizers update Variables in place")
            if grad is None:
                missing.append(var.name)
                continue
            if not isinstance(grad, Tensor):
                grad = convert_to_tensor(grad, dtype=var.dtype)
            _check_pair(self._name, grad, var)
            checked.append((grad, var))
        if missing:
            if not checked:
                raise InvalidArgumentError(
                    f"{self._name}.apply_gradients: no gradients provided for any variable "
                    f"({', '.join(missing)}); check that the loss depends on them")
            warnings.warn(f"{self._name}.apply_gradients: gradients do not exist for variables "
                          f"{missing} when minimizing the loss; they are left unchanged",
                          stacklevel=3)
        return checked

    def __repr__(self) -> str:
        return f"<aj.optimizers.{type(self).__name__} learning_rate={self.learning_rate!r}>"


# --- clipping: Keras 3's formulas, written with ops so they trace -----------------------------
# Per-gradient clipping is aj.clip_by_norm (Keras 3's _clip_by_norm is the same formula, with
# the same safe square root). The global form stays here: Keras 3 turns an inf or NaN norm
# into NaN everywhere and sums mixed dtypes in the widest one.
def _clip_by_global_norm(grads: list, clip_norm: float) -> list:
    """Scale every gradient by ``clip_norm / max(global_norm, clip_norm)``, where the global
    norm is that of all gradients together; an inf or NaN norm makes every gradient NaN,
    as Keras 3 (``+ (norm - norm)``)."""
    if not grads:
        return grads
    # the norm in float32 at least (float16 gradients would overflow it), then the scale
    # as aj.clip_by_global_norm gives it
    wide = dtypes.float64 if any(g.dtype == dtypes.float64 for g in grads) else dtypes.float32
    squares = [cast(reduce_sum(square(g)), wide) for g in grads]
    norm = sqrt(add_n(squares) if len(squares) > 1 else squares[0])
    return clip_by_global_norm(grads, clip_norm, use_norm=norm)[0]


def _lr_as(lr: Any, dtype: Any) -> Any:
    if isinstance(lr, Tensor) and lr.dtype != dtype:
        return cast(lr, dtype)
    return lr


def _check_pair(name: str, grad: Tensor, var: Variable) -> None:
    if grad.dtype != var.dtype:
        raise DTypeError(f"{name}.apply_gradients: variable {var.name!r} is "
                         f"{var.dtype.name}, got a {grad.dtype.name} gradient; use aj.cast")
    gshape, vshape = tuple(grad.shape), tuple(var.shape)
    if len(gshape) != len(vshape) or any(
            g is not None and g != v for g, v in zip(gshape, vshape)):
        raise ShapeError(f"{name}.apply_gradients: variable {var.name!r} has shape "
                         f"{shapes.fmt(vshape)}, got a gradient of shape {shapes.fmt(gshape)}")


def _check_hyper(owner: str, name: str, value: Any, low: float, high: float | None = None,
                 high_open: bool = False) -> None:
    if isinstance(value, Tensor):
        return  # a Variable hyperparameter: checked by the user
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"{owner}: expected {name} to be a float, got "
                                   f"{type(value).__name__} {value!r}")
    bad = value < low or (high is not None and (value >= high if high_open else value > high))
    if bad:
        upper = "" if high is None else f" and {'<' if high_open else '<='} {high}"
        raise InvalidArgumentError(f"{owner}: expected {name} >= {low}{upper}, got {value!r}")
