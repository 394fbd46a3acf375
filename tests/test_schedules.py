"""Tests for ``aj.optimizers.schedules``: each schedule against its Keras 3 formula written
in NumPy, inside ``@aj.function`` through an optimizer's ``iterations`` (one trace, the
right rate at every replay), configs and error messages."""

import math
import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError

S = aj.optimizers.schedules
STEPS = [0, 1, 2, 5, 9, 10, 11, 37, 99, 100, 101, 250, 1000, 5000]


# ----------------------------------------------------------------------------- NumPy references


def exponential_ref(step, lr, decay_steps, rate, staircase=False):
    p = step / decay_steps
    return lr * rate ** (math.floor(p) if staircase else p)


def inverse_time_ref(step, lr, decay_steps, rate, staircase=False):
    p = step / decay_steps
    return lr / (1 + rate * (math.floor(p) if staircase else p))


def polynomial_ref(step, lr, decay_steps, end=0.0001, power=1.0, cycle=False):
    if cycle:
        decay_steps = decay_steps * (1 if step == 0 else math.ceil(step / decay_steps))
    else:
        step = min(step, decay_steps)
    return (lr - end) * (1 - step / decay_steps) ** power + end


def cosine_ref(step, lr, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    def decay(s, start):
        return start * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / decay_steps)) + alpha)
    if warmup_target is None:
        return decay(min(step, decay_steps), lr)
    step = min(step, decay_steps + warmup_steps)
    if step < warmup_steps:
        return lr + (warmup_target - lr) * step / warmup_steps
    return decay(step - warmup_steps, warmup_target)


def piecewise_ref(step, boundaries, values):
    for boundary, value in zip(boundaries, values):
        if step <= boundary:
            return value
    return values[-1]


CASES = [
    ("exp", lambda: S.ExponentialDecay(0.1, 100, 0.5), lambda s: exponential_ref(s, 0.1, 100, 0.5)),
    ("exp_staircase", lambda: S.ExponentialDecay(0.1, 10, 0.9, staircase=True),
     lambda s: exponential_ref(s, 0.1, 10, 0.9, staircase=True)),
    ("inverse_time", lambda: S.InverseTimeDecay(0.5, 10, 0.3),
     lambda s: inverse_time_ref(s, 0.5, 10, 0.3)),
    ("inverse_time_staircase", lambda: S.InverseTimeDecay(0.5, 10, 0.3, staircase=True),
     lambda s: inverse_time_ref(s, 0.5, 10, 0.3, staircase=True)),
    ("polynomial", lambda: S.PolynomialDecay(0.1, 100), lambda s: polynomial_ref(s, 0.1, 100)),
    ("polynomial_power", lambda: S.PolynomialDecay(0.1, 100, end_learning_rate=0.01, power=0.5),
     lambda s: polynomial_ref(s, 0.1, 100, 0.01, 0.5)),
    ("polynomial_cycle", lambda: S.PolynomialDecay(0.1, 10, 0.01, power=2.0, cycle=True),
     lambda s: polynomial_ref(s, 0.1, 10, 0.01, 2.0, cycle=True)),
    ("cosine", lambda: S.CosineDecay(0.2, 100), lambda s: cosine_ref(s, 0.2, 100)),
    ("cosine_alpha", lambda: S.CosineDecay(0.2, 100, alpha=0.1),
     lambda s: cosine_ref(s, 0.2, 100, 0.1)),
    ("cosine_warmup", lambda: S.CosineDecay(0.0, 90, alpha=0.05, warmup_target=0.3,
                                            warmup_steps=10),
     lambda s: cosine_ref(s, 0.0, 90, 0.05, 0.3, 10)),
    ("cosine_warmup_zero_steps", lambda: S.CosineDecay(0.1, 90, warmup_target=0.3),
     lambda s: cosine_ref(s, 0.1, 90, 0.0, 0.3, 0)),
    ("piecewise", lambda: S.PiecewiseConstantDecay([10, 100], [1.0, 0.5, 0.1]),
     lambda s: piecewise_ref(s, [10, 100], [1.0, 0.5, 0.1])),
    ("piecewise_float_boundaries", lambda: S.PiecewiseConstantDecay([9.5, 250.0], [3, 2, 1]),
     lambda s: piecewise_ref(s, [9.5, 250.0], [3, 2, 1])),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name,make,reference", CASES, ids=IDS)
def test_eager_values_match_reference(name, make, reference):
    schedule = make()
    for step in STEPS:
        value = schedule(step)
        assert value.dtype == aj.float32
        np.testing.assert_allclose(float(value), reference(step), rtol=2e-6, atol=3e-8,
                                   err_msg=f"step {step}")
    # a tensor step (the optimizer passes its int64 iterations Variable)
    counter = aj.Variable(37, dtype=aj.int64, trainable=False)
    np.testing.assert_allclose(float(schedule(counter)), reference(37), rtol=2e-6)


def _learning_rates_used(opt, steps, compiled):
    """Run ``steps`` SGD-style updates with gradient 1 on a float64 zero; return the rate
    each step used (the decrease of w) and the traced function."""
    w = aj.Variable(aj.zeros((), dtype=aj.float64))

    def train_step():
        opt.apply_gradients([(aj.ones((), dtype=aj.float64), w)])
        return w.read_value()

    fn = aj.function(train_step) if compiled else train_step
    values = [0.0] + [float(fn()) for _ in range(steps)]
    return -np.diff(values), fn


@pytest.mark.parametrize("name,make,reference", CASES, ids=IDS)
def test_traced_step_uses_the_schedule_value_without_retracing(name, make, reference):
    steps = 120
    used, fn = _learning_rates_used(aj.optimizers.SGD(make()), steps, compiled=True)
    assert fn.tracing_count == 1
    expected = [reference(step) for step in range(steps)]  # iterations: 0 on the first step
    np.testing.assert_allclose(used, expected, rtol=2e-6, atol=3e-8)


def test_eager_optimizer_uses_the_schedule_value():
    schedule = S.ExponentialDecay(0.1, 3, 0.5, staircase=True)
    used, _ = _learning_rates_used(aj.optimizers.SGD(schedule), 10, compiled=False)
    np.testing.assert_allclose(used, [exponential_ref(s, 0.1, 3, 0.5, True) for s in range(10)],
                               rtol=1e-7)


def test_current_learning_rate():
    opt = aj.optimizers.SGD(S.PiecewiseConstantDecay([1], [0.5, 0.25]))
    w = aj.Variable(0.0)
    rates = []
    for _ in range(3):
        rates.append(float(opt.current_learning_rate()))
        opt.apply_gradients([(aj.constant(1.0), w)])
    assert rates == [0.5, 0.5, 0.25]
    assert aj.optimizers.SGD(0.3).current_learning_rate() == 0.3


def test_schedule_with_adam_and_weight_decay_traced_matches_eager():
    def run(compiled):
        w = aj.Variable(aj.constant([1.0, -2.0, 3.0]))
        opt = aj.optimizers.AdamW(S.CosineDecay(0.0, 20, warmup_target=0.1, warmup_steps=5),
                                  weight_decay=0.1)

        def step():
            with aj.GradientTape() as tape:
                loss = aj.reduce_sum(aj.square(w - 0.5))
            opt.apply_gradients([(tape.gradient(loss, w), w)])
            return loss

        fn = aj.function(step) if compiled else step
        losses = [float(fn()) for _ in range(30)]
        return losses, w.numpy(), getattr(fn, "tracing_count", None)

    eager_losses, eager_w, _ = run(False)
    traced_losses, traced_w, count = run(True)
    assert count == 1
    np.testing.assert_allclose(traced_losses, eager_losses, rtol=1e-5)
    np.testing.assert_allclose(traced_w, eager_w, rtol=1e-5)


def test_checkpoint_resumes_the_schedule(tmp_path):
    schedule = S.ExponentialDecay(1.0, 1, 0.5)
    w = aj.Variable(aj.zeros((), dtype=aj.float64))
    opt = aj.optimizers.SGD(schedule)
    for _ in range(3):
        opt.apply_gradients([(aj.ones((), dtype=aj.float64), w)])
    path = aj.train.Checkpoint(w=w, opt=opt).save(str(tmp_path / "ckpt"))
    opt2 = aj.optimizers.SGD(schedule)
    w2 = aj.Variable(aj.zeros((), dtype=aj.float64))
    aj.train.Checkpoint(w=w2, opt=opt2).restore(path)
    opt2.apply_gradients([(aj.ones((), dtype=aj.float64), w2)])
    np.testing.assert_allclose(float(w2), -(1 + 0.5 + 0.25 + 0.125), rtol=1e-7)


@pytest.mark.parametrize("name,make,reference", CASES, ids=IDS)
def test_get_config_round_trip(name, make, reference):
    schedule = make()
    rebuilt = type(schedule).from_config(schedule.get_config())
    assert rebuilt.get_config() == schedule.get_config()
    assert float(rebuilt(37)) == float(schedule(37))
    assert repr(schedule).startswith(type(schedule).__name__ + "(")


def test_keras_namespace():
    assert aj.keras.optimizers.schedules.CosineDecay is S.CosineDecay
    assert isinstance(S.CosineDecay(0.1, 10), aj.optimizers.LearningRateSchedule)


@pytest.mark.parametrize("make,message", [
    (lambda: S.ExponentialDecay(0.1, 0, 0.5), "ExponentialDecay: expected decay_steps > 0, got 0"),
    (lambda: S.InverseTimeDecay(0.1, -2, 0.5),
     "InverseTimeDecay: expected decay_steps > 0, got -2"),
    (lambda: S.PolynomialDecay(0.1, None), "PolynomialDecay: expected decay_steps > 0, got None"),
    (lambda: S.CosineDecay("0.1", 10),
     "CosineDecay: expected initial_learning_rate to be a float, got str '0.1'"),
    (lambda: S.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-1),
     "CosineDecay: expected warmup_steps to be an int >= 0, got -1"),
    (lambda: S.PiecewiseConstantDecay([10, 20], [1.0, 0.5]),
     "PiecewiseConstant: expected one more value than boundaries, got 2 boundaries [10, 20] "
     "and 2 values [1.0, 0.5]"),
    (lambda: S.PiecewiseConstantDecay([20, 10], [1.0, 0.5, 0.1]),
     "PiecewiseConstant: expected increasing boundaries, got [20, 10]"),
    (lambda: S.PiecewiseConstantDecay([10], ["a", 0.5]),
     "PiecewiseConstant: expected each value to be a float, got str 'a'"),
    (lambda: S.PiecewiseConstantDecay(["10"], [1.0, 0.5]),
     "PiecewiseConstant: expected each boundary to be a float, got str '10'"),
    (lambda: S.ExponentialDecay(0.1, 10, None),
     "ExponentialDecay: expected decay_rate to be a float, got NoneType None"),
    (lambda: aj.optimizers.SGD(learning_rate=lambda step: 0.1),
     "SGD: expected learning_rate to be a float, got function"),
])
def test_errors(make, message):
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        make()
