"""Tests for ``aj.optimizers``: each update against a NumPy reference of the same formulas,
slots, the step counter, ``None`` gradients and the error messages."""

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import core
from autojit.tensor import EagerTrace

STEPS = 6


def grads_for(step, shapes, rng_seed=0):
    rng = np.random.default_rng(rng_seed + step)
    return [rng.normal(size=s) for s in shapes]


# ----------------------------------------------------------------------------- references


def sgd_ref(params, grads_seq, lr, momentum=0.0, nesterov=False):
    params = [p.copy() for p in params]
    ms = [np.zeros_like(p) for p in params]
    for grads in grads_seq:
        for i, g in enumerate(grads):
            if momentum == 0.0:
                params[i] -= lr * g
                continue
            ms[i] = momentum * ms[i] - lr * g
            params[i] += momentum * ms[i] - lr * g if nesterov else ms[i]
    return params


def adam_ref(params, grads_seq, lr, b1=0.9, b2=0.999, eps=1e-7):
    params = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, grads in enumerate(grads_seq, start=1):
        for i, g in enumerate(grads):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            # The paper's form; tf.keras folds the bias corrections into the step size,
            # which is this with epsilon scaled by 1 / sqrt(1 - b2**t).
            m_hat = m[i] / (1 - b1 ** t)
            v_hat = v[i] / (1 - b2 ** t)
            params[i] -= lr * m_hat / (np.sqrt(v_hat) + eps / np.sqrt(1 - b2 ** t))
    return params


def rmsprop_ref(params, grads_seq, lr, rho=0.9, momentum=0.0, eps=1e-7):
    params = [p.copy() for p in params]
    vel = [np.zeros_like(p) for p in params]
    mom = [np.zeros_like(p) for p in params]
    for grads in grads_seq:
        for i, g in enumerate(grads):
            vel[i] = rho * vel[i] + (1 - rho) * g * g
            inc = lr * g / np.sqrt(vel[i] + eps)
            if momentum > 0:
                mom[i] = momentum * mom[i] + inc
                params[i] -= mom[i]
            else:
                params[i] -= inc
    return params


CASES = [
    ("sgd", lambda: aj.optimizers.SGD(0.1), lambda p, g: sgd_ref(p, g, 0.1)),
    ("momentum", lambda: aj.optimizers.SGD(0.1, momentum=0.9),
     lambda p, g: sgd_ref(p, g, 0.1, 0.9)),
    ("nesterov", lambda: aj.optimizers.SGD(0.05, momentum=0.8, nesterov=True),
     lambda p, g: sgd_ref(p, g, 0.05, 0.8, nesterov=True)),
    ("adam", lambda: aj.optimizers.Adam(0.01), lambda p, g: adam_ref(p, g, 0.01)),
    ("adam_betas", lambda: aj.optimizers.Adam(0.2, beta_1=0.5, beta_2=0.75, epsilon=1e-3),
     lambda p, g: adam_ref(p, g, 0.2, 0.5, 0.75, 1e-3)),
    ("rmsprop", lambda: aj.optimizers.RMSprop(0.01), lambda p, g: rmsprop_ref(p, g, 0.01)),
    ("rmsprop_momentum", lambda: aj.optimizers.RMSprop(0.01, rho=0.8, momentum=0.5),
     lambda p, g: rmsprop_ref(p, g, 0.01, 0.8, 0.5)),
]


@pytest.mark.parametrize("name,make,reference", CASES, ids=[c[0] for c in CASES])
def test_update_matches_numpy_reference(name, make, reference):
    shapes = [(3, 4), (4,), ()]
    start = [np.random.default_rng(7).normal(size=s) for s in shapes]
    variables = [aj.Variable(p, dtype=aj.float64) for p in start]
    grads_seq = [grads_for(step, shapes) for step in range(STEPS)]
    opt = make()
    for grads in grads_seq:
        opt.apply_gradients(zip([aj.constant(g, dtype=aj.float64) for g in grads], variables))
    expected = reference(start, grads_seq)
    for v, e in zip(variables, expected):
        np.testing.assert_allclose(v.numpy(), e, rtol=1e-12, atol=1e-12)
    assert int(opt.iterations) == STEPS


def test_float32_variables_stay_float32():
    w = aj.Variable(aj.ones((2, 2)))
    opt = aj.optimizers.Adam(0.1)
    opt.apply_gradients([(aj.ones((2, 2)), w)])
    assert w.dtype == aj.float32
    np.testing.assert_allclose(w.numpy(), 0.9, rtol=1e-5)


def test_updates_in_place():
    w = aj.Variable(aj.ones((3,)))
    buffer = w._array
    aj.optimizers.SGD(0.5).apply_gradients([(aj.ones((3,)), w)])
    assert w._array is buffer
    np.testing.assert_allclose(w.numpy(), [0.5, 0.5, 0.5])


def test_iterations_counter():
    opt = aj.optimizers.SGD(0.1)
    assert isinstance(opt.iterations, aj.Variable)
    assert opt.iterations.dtype == aj.int64
    assert not opt.iterations.trainable
    assert int(opt.iterations) == 0
    w = aj.Variable(0.0)
    for _ in range(3):
        assert opt.apply_gradients([(aj.constant(1.0), w)]) is opt.iterations
    assert int(opt.iterations) == 3


def test_slots_are_variables_created_on_first_use_per_variable():
    opt = aj.optimizers.Adam()
    a = aj.Variable(aj.ones((2,)), name="a")
    b = aj.Variable(aj.ones((2,)), name="b")  # equal values: still separate slots
    assert opt.variables == [opt.iterations]
    opt.apply_gradients([(aj.ones((2,)), a)])
    assert len(opt.variables) == 3
    opt.apply_gradients([(aj.ones((2,)), a), (aj.ones((2,)), b)])
    assert len(opt.variables) == 5
    m_a, m_b = opt.get_slot(a, "m"), opt.get_slot(b, "m")
    assert isinstance(m_a, aj.Variable) and not m_a.trainable
    assert m_a is not m_b
    assert m_a.name == "Adam/m/a:0"
    assert not np.allclose(m_a.numpy(), m_b.numpy())  # a took two steps, b one


def test_slots_are_created_eagerly_even_inside_a_trace():
    class RefusingTrace:
        """Stands in for the graph tracer: any op reaching it is a bug."""

        def process(self, op, inputs, attrs):
            raise AssertionError(f"{op.name} was traced, not run eagerly")

    opt = aj.optimizers.RMSprop(momentum=0.5)
    w = aj.Variable(aj.ones((2,)), name="w")
    with core.trace_scope(RefusingTrace()):
        opt._create_slots(w)
    assert opt.get_slot(w, "velocity").numpy().tolist() == [0.0, 0.0]
    assert opt.get_slot(w, "momentum").numpy().tolist() == [0.0, 0.0]


class RecordingTrace(EagerTrace):
    def __init__(self):
        self.ops = []

    def process(self, op, inputs, attrs):
        self.ops.append(op.name)
        return super().process(op, inputs, attrs)


@pytest.mark.parametrize("make", [lambda: aj.optimizers.SGD(0.1, momentum=0.9),
                                  lambda: aj.optimizers.Adam(), lambda: aj.optimizers.RMSprop()])
def test_update_math_goes_through_ops(make):
    # Everything runs through bind (so @aj.function can trace it): the slots and the
    # variable are written with assign ops, nothing is computed behind the trace's back.
    opt = make()
    w = aj.Variable(aj.ones((2,)))
    opt.apply_gradients([(aj.ones((2,)), w)])  # slots created outside the recording
    trace = RecordingTrace()
    before = w.numpy().copy()
    with core.trace_scope(trace):
        opt.apply_gradients([(aj.ones((2,)), w)])
    assert trace.ops.count("assign_add") >= 1  # iterations
    assert any(name.startswith("assign") for name in trace.ops[:-1])
    assert not np.allclose(w.numpy(), before)


def test_none_gradients_are_skipped_with_a_warning():
    a = aj.Variable(1.0, name="used")
    b = aj.Variable(1.0, name="unused")
    opt = aj.optimizers.SGD(0.5)
    with pytest.warns(UserWarning, match=re.escape("gradients do not exist for variables "
                                                   "['unused:0']")):
        opt.apply_gradients([(aj.constant(1.0), a), (None, b)])
    assert float(a) == 0.5 and float(b) == 1.0


def test_all_none_gradients_is_an_error():
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "SGD.apply_gradients: no gradients provided for any variable (v:0)")):
        aj.optimizers.SGD(0.1).apply_gradients([(None, aj.Variable(1.0, name="v"))])


def test_gradient_shape_mismatch_is_a_clear_error():
    w = aj.Variable(aj.ones((3, 4)), name="w")
    with pytest.raises(ShapeError, match=re.escape(
            "SGD.apply_gradients: variable 'w:0' has shape [3, 4], got a gradient of "
            "shape [4, 3]")):
        aj.optimizers.SGD(0.1).apply_gradients([(aj.ones((4, 3)), w)])
    np.testing.assert_array_equal(w.numpy(), 1.0)  # nothing half-updated


def test_mismatch_leaves_every_variable_untouched():
    a = aj.Variable(aj.ones((2,)), name="a")
    b = aj.Variable(aj.ones((3,)), name="b")
    opt = aj.optimizers.Adam()
    with pytest.raises(ShapeError):
        opt.apply_gradients([(aj.ones((2,)), a), (aj.ones((2,)), b)])
    np.testing.assert_array_equal(a.numpy(), 1.0)
    assert int(opt.iterations) == 0


def test_gradient_dtype_mismatch_is_a_clear_error():
    w = aj.Variable(aj.ones((2,)), name="w")
    with pytest.raises(DTypeError, match=re.escape(
            "Adam.apply_gradients: variable 'w:0' is float32, got a float64 gradient")):
        aj.optimizers.Adam().apply_gradients([(aj.ones((2,), dtype=aj.float64), w)])


def test_non_variable_and_bad_pairs_are_clear_errors():
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "SGD.apply_gradients: expected an aj.Variable at position 0, got Tensor")):
        aj.optimizers.SGD(0.1).apply_gradients([(aj.ones((2,)), aj.ones((2,)))])
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "SGD.apply_gradients: expected (gradient, variable) pairs such as zip(grads, "
            "vars), got Variable at position 0")):
        aj.optimizers.SGD(0.1).apply_gradients([aj.Variable(1.0)])


def test_numpy_gradients_are_accepted():
    w = aj.Variable(aj.ones((2,)))
    aj.optimizers.SGD(1.0).apply_gradients([(np.array([0.25, 0.5]), w)])
    np.testing.assert_allclose(w.numpy(), [0.75, 0.5])


@pytest.mark.parametrize("make,message", [
    (lambda: aj.optimizers.SGD(-0.1), "SGD: expected learning_rate >= 0.0, got -0.1"),
    (lambda: aj.optimizers.SGD(0.1, momentum=1.5),
     "SGD: expected momentum >= 0.0 and <= 1.0, got 1.5"),
    (lambda: aj.optimizers.Adam(beta_1=1.0), "Adam: expected beta_1 >= 0.0 and < 1.0, got 1.0"),
    (lambda: aj.optimizers.RMSprop(epsilon=-1.0), "RMSprop: expected epsilon >= 0.0, got -1.0"),
    (lambda: aj.optimizers.SGD("fast"), "SGD: expected learning_rate to be a float, got str"),
])
def test_bad_hyperparameters(make, message):
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        make()


def test_get_slot_errors():
    opt = aj.optimizers.Adam()
    w = aj.Variable(1.0, name="w")
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "Adam.get_slot: no slots for variable 'w:0' yet")):
        opt.get_slot(w, "m")
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "Adam.get_slot: no slot 'velocity'; this optimizer has slots ['m', 'v']")):
        opt.get_slot(w, "velocity")


def test_variable_learning_rate_can_change():
    lr = aj.Variable(0.5, trainable=False)
    w = aj.Variable(aj.ones((2,), dtype=aj.float64))  # float64 variable, float32 lr: cast
    opt = aj.optimizers.SGD(lr)
    opt.apply_gradients([(aj.ones((2,), dtype=aj.float64), w)])
    lr.assign(aj.constant(0.25))
    opt.apply_gradients([(aj.ones((2,), dtype=aj.float64), w)])
    np.testing.assert_allclose(w.numpy(), [0.25, 0.25])


def test_minimize():
    w = aj.Variable(3.0)
    opt = aj.optimizers.SGD(0.25)
    for _ in range(20):
        opt.minimize(lambda: aj.square(w - 1.0), [w])
    assert abs(float(w) - 1.0) < 1e-3
    with pytest.raises(InvalidArgumentError, match="expected a zero-argument callable"):
        opt.minimize(aj.square(w), [w])


def test_keras_alias():
    assert aj.keras.optimizers.Adam is aj.optimizers.Adam


@pytest.mark.parametrize("make", [lambda: aj.optimizers.SGD(0.1),
                                  lambda: aj.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                                  lambda: aj.optimizers.Adam(0.01),
                                  lambda: aj.optimizers.RMSprop(0.01, momentum=0.5)])
def test_traced_train_step_matches_eager(make):
    # The lecture's train step under @aj.function: slots are created during the first trace
    # and every later call replays the in-place updates.
    x = aj.constant(np.linspace(-1, 1, 32).reshape(8, 4).astype(np.float32))
    y = aj.constant(np.arange(8) % 3)

    def run(compiled):
        w = aj.Variable(aj.constant(np.linspace(-0.5, 0.5, 12).reshape(4, 3), dtype=aj.float32))
        b = aj.Variable(aj.zeros((3,)))
        opt = make()

        def train_step(inputs, targets):
            with aj.GradientTape() as tape:
                logits = aj.matmul(inputs, w) + b
                loss = aj.reduce_mean(aj.keras.losses.sparse_categorical_crossentropy(
                    targets, logits, from_logits=True))
            grads = tape.gradient(loss, [w, b])
            opt.apply_gradients(zip(grads, [w, b]))
            return loss

        step = aj.function(train_step, autograph=False) if compiled else train_step
        losses = [float(step(x, y)) for _ in range(4)]
        return losses, w.numpy(), int(opt.iterations)

    eager_losses, eager_w, eager_n = run(compiled=False)
    traced_losses, traced_w, traced_n = run(compiled=True)
    np.testing.assert_allclose(traced_losses, eager_losses, rtol=1e-6)
    np.testing.assert_allclose(traced_w, eager_w, rtol=1e-6)
    assert eager_n == traced_n == 4


# ----------------------------------------------------------------------------- issue 9: AdamW,
# Adagrad, weight decay and clipping (Keras 3 formulas, reimplemented here in float64)


def clip_ref(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    if clipnorm is not None:
        return [g * clipnorm / max(np.sqrt(np.sum(g * g)), clipnorm) for g in grads]
    if global_clipnorm is not None:
        norm = np.sqrt(sum(np.sum(g * g) for g in grads))
        return [g * global_clipnorm / max(norm, global_clipnorm) for g in grads]
    if clipvalue is not None:
        return [np.clip(g, -clipvalue, clipvalue) for g in grads]
    return grads


def generic_ref(params, grads_seq, lr, step_fn, slots_init, wd=None, **clip):
    """Keras 3's order: clip the gradients, decay the weights, then the optimizer's step."""
    params = [p.copy() for p in params]
    slots = [slots_init(p) for p in params]
    for t, grads in enumerate(grads_seq, start=1):
        grads = clip_ref(grads, **clip)
        for i, g in enumerate(grads):
            if wd:
                params[i] = params[i] - params[i] * wd * lr
            params[i] = step_fn(params[i], g, slots[i], lr, t)
    return params


def sgd_step(w, g, s, lr, t):
    return w - lr * g


def adam_step(b1=0.9, b2=0.999, eps=1e-7, amsgrad=False):
    def step(w, g, s, lr, t):
        s["m"] = s["m"] + (g - s["m"]) * (1 - b1)
        s["v"] = s["v"] + (g * g - s["v"]) * (1 - b2)
        v = s["v"]
        if amsgrad:
            s["vhat"] = np.maximum(s["vhat"], s["v"])
            v = s["vhat"]
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return w - alpha * s["m"] / (np.sqrt(v) + eps)
    return step


def adagrad_step(eps=1e-7):
    def step(w, g, s, lr, t):
        s["acc"] = s["acc"] + g * g
        return w - lr * g / np.sqrt(s["acc"] + eps)
    return step


def adam_slots(p):
    return {"m": np.zeros_like(p), "v": np.zeros_like(p), "vhat": np.zeros_like(p)}


def adagrad_slots(init):
    return lambda p: {"acc": np.full_like(p, init)}


def momentum_step(momentum):
    def step(w, g, s, lr, t):
        s["m"] = momentum * s["m"] - lr * g
        return w + s["m"]
    return step


NEW_CASES = [
    ("adamw_defaults", lambda: aj.optimizers.AdamW(0.05),
     lambda p, g: generic_ref(p, g, 0.05, adam_step(), adam_slots, wd=0.004)),
    ("adamw_wd", lambda: aj.optimizers.AdamW(0.05, weight_decay=0.1, beta_1=0.8),
     lambda p, g: generic_ref(p, g, 0.05, adam_step(b1=0.8), adam_slots, wd=0.1)),
    ("adam_amsgrad", lambda: aj.optimizers.Adam(0.05, amsgrad=True),
     lambda p, g: generic_ref(p, g, 0.05, adam_step(amsgrad=True), adam_slots)),
    ("adagrad_defaults", lambda: aj.optimizers.Adagrad(),
     lambda p, g: generic_ref(p, g, 0.001, adagrad_step(), adagrad_slots(0.1))),
    ("adagrad_args", lambda: aj.optimizers.Adagrad(0.3, initial_accumulator_value=0.5,
                                                   epsilon=1e-3),
     lambda p, g: generic_ref(p, g, 0.3, adagrad_step(1e-3), adagrad_slots(0.5))),
    ("adagrad_zero_init", lambda: aj.optimizers.Adagrad(0.3, initial_accumulator_value=0.0),
     lambda p, g: generic_ref(p, g, 0.3, adagrad_step(), adagrad_slots(0.0))),
    ("sgd_weight_decay", lambda: aj.optimizers.SGD(0.1, weight_decay=0.5),
     lambda p, g: generic_ref(p, g, 0.1, sgd_step, lambda p: {}, wd=0.5)),
    ("momentum_weight_decay", lambda: aj.optimizers.SGD(0.1, momentum=0.9, weight_decay=0.2),
     lambda p, g: generic_ref(p, g, 0.1, momentum_step(0.9),
                              lambda p: {"m": np.zeros_like(p)}, wd=0.2)),
    ("sgd_clipnorm", lambda: aj.optimizers.SGD(0.1, clipnorm=0.7),
     lambda p, g: generic_ref(p, g, 0.1, sgd_step, lambda p: {}, clipnorm=0.7)),
    ("sgd_clipvalue", lambda: aj.optimizers.SGD(0.1, clipvalue=0.3),
     lambda p, g: generic_ref(p, g, 0.1, sgd_step, lambda p: {}, clipvalue=0.3)),
    ("sgd_global_clipnorm", lambda: aj.optimizers.SGD(0.1, global_clipnorm=1.5),
     lambda p, g: generic_ref(p, g, 0.1, sgd_step, lambda p: {}, global_clipnorm=1.5)),
    ("adam_clipnorm", lambda: aj.optimizers.Adam(0.05, clipnorm=0.5),
     lambda p, g: generic_ref(p, g, 0.05, adam_step(), adam_slots, clipnorm=0.5)),
    ("adamw_global_clipnorm", lambda: aj.optimizers.AdamW(0.05, global_clipnorm=2.0),
     lambda p, g: generic_ref(p, g, 0.05, adam_step(), adam_slots, wd=0.004,
                              global_clipnorm=2.0)),
    ("adagrad_clipvalue", lambda: aj.optimizers.Adagrad(0.2, clipvalue=0.5),
     lambda p, g: generic_ref(p, g, 0.2, adagrad_step(), adagrad_slots(0.1), clipvalue=0.5)),
    ("rmsprop_global_clipnorm", lambda: aj.optimizers.RMSprop(0.01, global_clipnorm=1.0),
     lambda p, g: rmsprop_ref(p, clip_seq(g, global_clipnorm=1.0), 0.01)),
    ("rmsprop_centered", lambda: aj.optimizers.RMSprop(0.01, rho=0.8, centered=True),
     lambda p, g: generic_ref(p, g, 0.01, rmsprop_centered_step(0.8),
                              lambda p: {"vel": np.zeros_like(p), "avg": np.zeros_like(p)})),
    ("rmsprop_centered_momentum",
     lambda: aj.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
     lambda p, g: generic_ref(p, g, 0.01, rmsprop_centered_step(0.9, momentum=0.5),
                              lambda p: {"vel": np.zeros_like(p), "avg": np.zeros_like(p),
                                         "mom": np.zeros_like(p)})),
    ("rmsprop_weight_decay", lambda: aj.optimizers.RMSprop(0.01, weight_decay=0.3),
     lambda p, g: generic_ref(p, g, 0.01, rmsprop_step(), lambda p: {"vel": np.zeros_like(p)},
                              wd=0.3)),
]


def clip_seq(grads_seq, **clip):
    return [clip_ref(grads, **clip) for grads in grads_seq]


def rmsprop_step(rho=0.9, eps=1e-7):
    def step(w, g, s, lr, t):
        s["vel"] = rho * s["vel"] + (1 - rho) * g * g
        return w - lr * g / np.sqrt(s["vel"] + eps)
    return step


def rmsprop_centered_step(rho, eps=1e-7, momentum=0.0):
    def step(w, g, s, lr, t):
        s["vel"] = rho * s["vel"] + (1 - rho) * g * g
        s["avg"] = rho * s["avg"] + (1 - rho) * g
        inc = lr * g / np.sqrt(s["vel"] - s["avg"] ** 2 + eps)
        if momentum:
            s["mom"] = momentum * s["mom"] + inc
            return w - s["mom"]
        return w - inc
    return step


@pytest.mark.parametrize("name,make,reference", NEW_CASES, ids=[c[0] for c in NEW_CASES])
def test_new_updates_match_numpy_reference(name, make, reference):
    test_update_matches_numpy_reference(name, make, reference)


def test_clipping_actually_clips_in_the_cases_above():
    # The gradients of grads_for have norms well above the clip thresholds, so the clipped
    # references differ from the unclipped ones: the clipping cases above can fail.
    shapes = [(3, 4), (4,), ()]
    grads = grads_for(0, shapes)
    assert np.sqrt(sum(np.sum(g * g) for g in grads)) > 2.0
    assert all(np.sqrt(np.sum(g * g)) > 0.7 for g in grads[:2])
    assert np.abs(grads[0]).max() > 0.5


def test_clipnorm_keeps_a_zero_gradient_zero_and_small_gradients_unchanged():
    w = aj.Variable(aj.constant([1.0, 2.0], dtype=aj.float64))
    opt = aj.optimizers.SGD(1.0, clipnorm=1.0)
    opt.apply_gradients([(aj.zeros((2,), dtype=aj.float64), w)])
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])
    opt.apply_gradients([(aj.constant([0.3, 0.4], dtype=aj.float64), w)])  # norm 0.5 < 1
    np.testing.assert_allclose(w.numpy(), [0.7, 1.6], rtol=1e-15)


def test_global_clipnorm_with_an_infinite_gradient_gives_nan_as_keras():
    w = aj.Variable(aj.constant([1.0, 2.0], dtype=aj.float64))
    opt = aj.optimizers.SGD(1.0, global_clipnorm=1.0)
    with np.errstate(invalid="ignore"):
        opt.apply_gradients([(aj.constant([np.inf, 0.0], dtype=aj.float64), w)])
    assert np.isnan(w.numpy()).all()


def test_global_clipnorm_mixed_dtypes():
    a = aj.Variable(aj.constant([3.0], dtype=aj.float32))
    b = aj.Variable(aj.constant([0.0], dtype=aj.float64))
    opt = aj.optimizers.SGD(1.0, global_clipnorm=1.0)
    opt.apply_gradients([(aj.constant([3.0]), a), (aj.constant([4.0], dtype=aj.float64), b)])
    assert a.dtype == aj.float32 and b.dtype == aj.float64
    np.testing.assert_allclose(a.numpy(), [3.0 - 0.6], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), [-0.8], rtol=1e-15)


def test_keras_defaults():
    adamw = aj.optimizers.AdamW()
    assert (adamw.learning_rate, adamw.weight_decay, adamw.beta_1, adamw.beta_2,
            adamw.epsilon, adamw.amsgrad) == (0.001, 0.004, 0.9, 0.999, 1e-7, False)
    adagrad = aj.optimizers.Adagrad()
    assert (adagrad.learning_rate, adagrad.initial_accumulator_value, adagrad.epsilon) == \
        (0.001, 0.1, 1e-7)
    rms = aj.optimizers.RMSprop(centered=True, momentum=0.5)
    assert rms.slot_names == ("velocity", "momentum", "average_gradient")
    assert aj.optimizers.RMSprop().centered is False
    sgd = aj.optimizers.SGD()
    assert (sgd.learning_rate, sgd.weight_decay, sgd.clipnorm, sgd.clipvalue,
            sgd.global_clipnorm) == (0.01, None, None, None, None)


def test_adagrad_slot_starts_at_the_initial_accumulator_value():
    opt = aj.optimizers.Adagrad(initial_accumulator_value=0.25)
    w = aj.Variable(aj.ones((2, 3)), name="w")
    opt.build([w])
    acc = opt.get_slot(w, "accumulator")
    assert acc.name == "Adagrad/accumulator/w:0" and acc.dtype == aj.float32
    np.testing.assert_array_equal(acc.numpy(), np.full((2, 3), 0.25, np.float32))


def test_adagrad_checkpoint_round_trip(tmp_path):
    w = aj.Variable(aj.constant([1.0, -2.0]), name="w")
    opt = aj.optimizers.Adagrad(0.1)
    for _ in range(3):
        opt.apply_gradients([(aj.constant([0.5, 1.0]), w)])
    path = aj.train.Checkpoint(w=w, opt=opt).save(str(tmp_path / "ckpt"))
    w2 = aj.Variable(aj.zeros((2,)), name="w")
    opt2 = aj.optimizers.Adagrad(0.1)
    aj.train.Checkpoint(w=w2, opt=opt2).restore(path)
    np.testing.assert_array_equal(opt2.get_slot(w2, "accumulator").numpy(),
                                  opt.get_slot(w, "accumulator").numpy())
    assert int(opt2.iterations) == 3


def test_exclude_from_weight_decay():
    kernel = aj.Variable(aj.constant([1.0, 1.0], dtype=aj.float64), name="dense/kernel")
    bias = aj.Variable(aj.constant([1.0, 1.0], dtype=aj.float64), name="dense/bias")
    scale = aj.Variable(aj.constant([1.0, 1.0], dtype=aj.float64), name="norm/gamma")
    opt = aj.optimizers.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[scale], var_names=["bias"])
    zero = aj.zeros((2,), dtype=aj.float64)
    opt.apply_gradients([(zero, kernel), (zero, bias), (zero, scale)])
    np.testing.assert_allclose(kernel.numpy(), [0.95, 0.95], rtol=1e-15)
    np.testing.assert_array_equal(bias.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(scale.numpy(), [1.0, 1.0])
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "SGD.exclude_from_weight_decay: expected aj.Variables in var_list, got str")):
        opt.exclude_from_weight_decay(var_list=["bias"])


def test_weight_decay_uses_a_variable_learning_rate():
    lr = aj.Variable(0.5, trainable=False)
    w = aj.Variable(aj.constant([2.0], dtype=aj.float64))
    opt = aj.optimizers.SGD(lr, weight_decay=0.1)
    opt.apply_gradients([(aj.zeros((1,), dtype=aj.float64), w)])
    np.testing.assert_allclose(w.numpy(), [2.0 - 2.0 * 0.1 * 0.5], rtol=1e-7)


@pytest.mark.parametrize("make,message", [
    (lambda: aj.optimizers.SGD(0.1, clipnorm=1.0, clipvalue=0.5),
     "SGD: at most one of clipnorm, clipvalue and global_clipnorm may be set, got "
     "clipnorm=1.0, clipvalue=0.5"),
    (lambda: aj.optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0),
     "Adam: at most one of clipnorm, clipvalue and global_clipnorm may be set, got "
     "clipnorm=1.0, global_clipnorm=1.0"),
    (lambda: aj.optimizers.Adagrad(clipvalue=0.0),
     "Adagrad: expected clipvalue > 0, got 0.0; leave it None for no clipping"),
    (lambda: aj.optimizers.RMSprop(global_clipnorm=-1.0),
     "RMSprop: expected global_clipnorm >= 0.0, got -1.0"),
    (lambda: aj.optimizers.SGD(clipnorm="big"),
     "SGD: expected clipnorm to be a float, got str"),
    (lambda: aj.optimizers.SGD(weight_decay=-0.1),
     "SGD: expected weight_decay >= 0.0, got -0.1"),
    (lambda: aj.optimizers.AdamW(weight_decay=None),
     "AdamW: expected weight_decay to be a float, got None; use aj.optimizers.Adam"),
    (lambda: aj.optimizers.Adagrad(initial_accumulator_value=-1.0),
     "Adagrad: expected initial_accumulator_value >= 0.0, got -1.0"),
    (lambda: aj.optimizers.AdamW(beta_2=1.0),
     "AdamW: expected beta_2 >= 0.0 and < 1.0, got 1.0"),
])
def test_bad_new_hyperparameters(make, message):
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        make()


def test_new_optimizers_in_keras_namespace():
    for name in ["AdamW", "Adagrad", "SGD", "Optimizer"]:
        assert getattr(aj.keras.optimizers, name) is getattr(aj.optimizers, name)
    assert aj.keras.optimizers.schedules is aj.optimizers.schedules


@pytest.mark.parametrize("make", [lambda: aj.optimizers.AdamW(0.01, global_clipnorm=0.5),
                                  lambda: aj.optimizers.Adagrad(0.1, clipnorm=0.3),
                                  lambda: aj.optimizers.SGD(0.1, momentum=0.5, clipvalue=0.1,
                                                            weight_decay=0.01),
                                  lambda: aj.optimizers.Adam(0.01, amsgrad=True)])
def test_new_optimizers_traced_train_step_matches_eager(make):
    test_traced_train_step_matches_eager(make)
