"""Optimizers (``SGD``, ``Adam``, ``RMSprop``) that update Variables in place.

Note [Optimizer math is traceable]: every update is written with autojit ops and
``Variable.assign*`` only, never with NumPy on values, so the same ``apply_gradients`` runs
eagerly and, inside ``@aj.function``, becomes in-place graph nodes replayed at every call.
Values that change between steps (the step count for Adam's bias correction) live in
Variables and are read with ops; Python floats (learning rate, betas) are constants, which
a traced function bakes in when it is traced (use an ``aj.Variable`` learning rate to
change it after tracing). Slots and the ``iterations`` counter are created inside
``eager_scope()`` (TF's ``init_scope``), so creating them during a trace makes real
Variables, as on the first call of a traced train step.

The formulas are those of ``tf.keras.optimizers`` (TF 2.11+), spelled out in each class.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Iterable

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import core, shapes
from autojit.ops.array import constant, zeros_like
from autojit.ops.math import cast, pow, sqrt, square
from autojit.tensor import Tensor, convert_to_tensor
from autojit.variables import Variable


class Optimizer:
    """Base class: validates ``(gradient, variable)`` pairs, keeps slots and the step count.

    Usage (subclasses)::

        opt = aj.optimizers.SGD(learning_rate=0.1)
        opt.apply_gradients(zip(grads, model.trainable_variables))

    A subclass names its slots in ``slot_names`` and implements ``_update(var, grad,
    slots, step)``, where ``step`` is ``iterations + 1`` as a float tensor of the variable's
    dtype (computed once per dtype and step).
    """

    slot_names: tuple[str, ...] = ()
    needs_step = False

    def __init__(self, learning_rate: Any, name: str):
        _check_hyper(name, "learning_rate", learning_rate, low=0.0)
        self._name = name
        self.learning_rate = learning_rate
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
        """Create the (zero) slots of each variable in ``var_list`` that has none yet, as the
        first ``apply_gradients`` would (Keras's ``build``). Checkpoint restore uses it.

        Usage: ``opt.build(model.trainable_variables)``
        """
        for var in var_list:
            if not isinstance(var, Variable):
                raise InvalidArgumentError(f"{self._name}.build: expected aj.Variables, got "
                                           f"{type(var).__name__}")
            if id(var) not in self._slots:
                self._create_slots(var)

    # --- updates -----------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> Variable:
        """Update each variable in place with its gradient; skip (and warn about) ``None``
        gradients; then add one to ``iterations``. Returns ``iterations``.

        Usage: ``opt.apply_gradients(zip(grads, model.trainable_variables))``
        """
        pairs = self._check(list(grads_and_vars))
        for _, var in pairs:
            if id(var) not in self._slots:
                self._create_slots(var)
        steps: dict = {}
        for grad, var in pairs:
            step = None
            if self.needs_step:
                step = steps.get(var.dtype)
                if step is None:
                    step = cast(self._iterations + self._one, var.dtype)
                    steps[var.dtype] = step
            self._update(var, grad, self._slots[id(var)][1], step)
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

    def _update(self, var: Variable, grad: Tensor, slots: dict, step: Any) -> None:
        raise NotImplementedError

    def _lr(self, var: Variable) -> Any:
        lr = self.learning_rate
        if isinstance(lr, Tensor) and lr.dtype != var.dtype:
            return cast(lr, var.dtype)
        return lr

    # --- helpers ---------------------------------------------------------------------------
    def _create_slots(self, var: Variable) -> None:
        base = var.name.removesuffix(":0")
        slots = {}
        with core.eager_scope():  # TF's init_scope: real Variables even while tracing
            for slot in self.slot_names:
                slots[slot] = Variable(zeros_like(var), trainable=False,
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


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Usage: ``opt = aj.optimizers.SGD(learning_rate=0.1, momentum=0.9)``

    Without momentum: ``w -= lr * g``. With momentum (slot ``"momentum"``, starts at 0)::

        m = momentum * m - lr * g
        w += m                       # or, with nesterov=True: w += momentum * m - lr * g
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, name: str = "SGD"):
        _check_hyper("SGD", "momentum", momentum, low=0.0, high=1.0)
        super().__init__(learning_rate, name)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.slot_names = ("momentum",) if self.momentum > 0.0 else ()

    def _update(self, var: Variable, grad: Tensor, slots: dict, step: Any) -> None:
        lr = self._lr(var)
        if not self.slot_names:
            var.assign_sub(grad * lr)
            return
        m = slots["momentum"]
        m.assign(m * self.momentum - grad * lr)
        if self.nesterov:
            var.assign_add(m * self.momentum - grad * lr)
        else:
            var.assign_add(m)


class Adam(Optimizer):
    """Adam (Kingma & Ba), with slots ``"m"`` and ``"v"`` and the bias correction folded into
    the step size, as ``tf.keras.optimizers.Adam``.

    Usage: ``opt = aj.optimizers.Adam(learning_rate=1e-3)``

    At step ``t`` (1 on the first call)::

        alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        m += (g - m) * (1 - beta_1)
        v += (g*g - v) * (1 - beta_2)
        w -= alpha * m / (sqrt(v) + epsilon)
    """

    slot_names = ("m", "v")
    needs_step = True

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, name: str = "Adam"):
        _check_hyper("Adam", "beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        _check_hyper("Adam", "beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        _check_hyper("Adam", "epsilon", epsilon, low=0.0)
        super().__init__(learning_rate, name)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def _update(self, var: Variable, grad: Tensor, slots: dict, step: Any) -> None:
        alpha = self._lr(var) * sqrt(1.0 - pow(self.beta_2, step)) / (1.0 - pow(self.beta_1, step))
        m, v = slots["m"], slots["v"]
        m.assign_add((grad - m) * (1.0 - self.beta_1))
        v.assign_add((square(grad) - v) * (1.0 - self.beta_2))
        var.assign_sub(m * alpha / (sqrt(v) + self.epsilon))


class RMSprop(Optimizer):
    """RMSprop: scale each step by a running root-mean-square of the gradient, with
    optional momentum, as ``tf.keras.optimizers.RMSprop`` (not centered).

    Usage: ``opt = aj.optimizers.RMSprop(learning_rate=1e-3)``

    With slot ``"velocity"`` (and ``"momentum"`` when momentum > 0)::

        velocity = rho * velocity + (1 - rho) * g*g
        step = lr * g / sqrt(velocity + epsilon)
        w -= step                    # or: m = momentum * m + step; w -= m
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, name: str = "RMSprop"):
        _check_hyper("RMSprop", "rho", rho, low=0.0, high=1.0)
        _check_hyper("RMSprop", "momentum", momentum, low=0.0, high=1.0)
        _check_hyper("RMSprop", "epsilon", epsilon, low=0.0)
        super().__init__(learning_rate, name)
        self.rho = float(rho)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.slot_names = ("velocity", "momentum") if self.momentum > 0.0 else ("velocity",)

    def _update(self, var: Variable, grad: Tensor, slots: dict, step: Any) -> None:
        velocity = slots["velocity"]
        velocity.assign(velocity * self.rho + square(grad) * (1.0 - self.rho))
        increment = grad * self._lr(var) / sqrt(velocity + self.epsilon)
        if self.momentum > 0.0:
            m = slots["momentum"]
            m.assign(m * self.momentum + increment)
            var.assign_sub(m)
        else:
            var.assign_sub(increment)


__all__ = ["Optimizer", "SGD", "Adam", "RMSprop"]
