"""Arguments built from tensors inside ``@aj.function``, generated from seeds.

Two classes that failed inside a traced function although the same code ran eagerly:

* a static argument (a shape, multiples, paddings, a depth, a count) computed from a
  static shape, ``aj.zeros([aj.shape(x)[0], 2])``: the value is known while tracing
  (Note [Known values] in graph/tracer.py) and is used as a Python value;
* a list holding tensors as an op input, ``aj.gather(x, [aj.shape(x)[0] - 1])``,
  ``aj.maximum(x, [w, 1.0])``: it is stacked into one tensor (as TF packs such lists), so
  symbolic items work and gradients flow to each item. Eagerly the list was converted to a
  constant and the gradient to its items was silently None.

Each generated case runs eagerly and through ``@aj.function`` (values equal), and for the
lists the gradient through the graph equals the eager one and finite differences.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

import autojit as aj
from autojit.errors import TracingError

from tests.numeric import numeric_grad

SHAPE = (2, 3)
X = np.array([[0.5, -1.25, 2.0], [1.5, 0.75, -0.5]])


def _int(rng: random.Random, x, value: int) -> object:
    """``value`` written one of several ways: a Python int, or a tensor computed from the
    static shape of ``x`` (known while tracing)."""
    ways = [lambda: value, lambda: np.int32(value),
            lambda: aj.shape(x)[0] * 0 + value,
            lambda: aj.size(x) - (6 - value),
            lambda: aj.reduce_max(aj.shape(x)) - (3 - value),
            lambda: aj.rank(x) + (value - 2),
            lambda: aj.cast(aj.shape(x)[1], aj.int64) - (3 - value)]
    return rng.choice(ways)()


def _ints(rng, x, values) -> list:
    return [_int(rng, x, v) for v in values]


STATIC = {  # name: a function of (rng, x) using static arguments built by _int
    "zeros": lambda r, x: aj.zeros(_ints(r, x, [2, 3]), dtype=x.dtype) + x,
    "ones": lambda r, x: aj.ones(_ints(r, x, [3]), dtype=x.dtype) * x,
    "fill": lambda r, x: aj.fill(_ints(r, x, [2, 1]), 0.5) + aj.cast(x, aj.float32),
    "tile": lambda r, x: aj.tile(x, _ints(r, x, [2, 1])),
    "pad": lambda r, x: aj.pad(x, [_ints(r, x, [0, 1]), _ints(r, x, [2, 0])]),
    "broadcast_to": lambda r, x: aj.broadcast_to(x[0], _ints(r, x, [4, 3])),
    "one_hot": lambda r, x: aj.one_hot([1, 0, 2], _int(r, x, 3)),
    "reshape": lambda r, x: aj.reshape(x, _ints(r, x, [3, 2])),
    "repeat": lambda r, x: aj.repeat(x, _int(r, x, 2), axis=1),
    "reverse": lambda r, x: aj.reverse(x, [_int(r, x, 1)]),
    "eye": lambda r, x: aj.eye(_int(r, x, 3)),
    "linspace": lambda r, x: aj.linspace(0.0, 1.0, _int(r, x, 5)),
    "random.normal shape": lambda r, x: aj.shape(aj.random.normal(_ints(r, x, [2, 4]))),
    "range": lambda r, x: aj.range(_int(r, x, 1), _int(r, x, 5), _int(r, x, 2)),
    "transpose": lambda r, x: aj.transpose(x, aj.range(aj.rank(x))[::-1]),
    # axes, k and slice bounds
    "reduce_sum axis": lambda r, x: aj.reduce_sum(x, axis=_int(r, x, 1)),
    "concat axis": lambda r, x: aj.concat([x, x], axis=_int(r, x, 0)),
    "argmax axis": lambda r, x: aj.argmax(x, axis=_int(r, x, 1)),
    "cumsum axis": lambda r, x: aj.cumsum(x, axis=_int(r, x, 1)),
    "expand_dims axis": lambda r, x: aj.expand_dims(x, _int(r, x, 2)),
    "softmax axis": lambda r, x: aj.nn.softmax(x, axis=_int(r, x, 0)),
    "gather axis": lambda r, x: aj.gather(x, [2, 0], axis=_int(r, x, 1)),
    "top_k k": lambda r, x: aj.math.top_k(x, k=_int(r, x, 2)).values,
    "slice bounds": lambda r, x: x[_int(r, x, 1):, :_int(r, x, 2)],
}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", sorted(STATIC))
def test_static_arguments_known_while_tracing(name, seed):
    build = STATIC[name]
    eager = build(random.Random(seed), aj.constant(X))
    traced = aj.function(lambda x: build(random.Random(seed), x), autograph=False)
    np.testing.assert_array_equal(traced(aj.constant(X)).numpy(), eager.numpy())


def _float(rng: random.Random, x, value: float) -> object:
    """``value`` as a Python float, or a tensor item made from ``x``'s entries."""
    i, j = rng.randrange(2), rng.randrange(3)
    ways = [lambda: value, lambda: x[i, j] * 0.5, lambda: x[i, j] - x[1 - i, j],
            lambda: aj.reduce_sum(x[i]), lambda: np.float64(value)]
    return rng.choice(ways)()


PACKED = {  # name: a function of (rng, x) passing lists that may hold tensors
    "maximum": lambda r, x: aj.maximum(x, [_float(r, x, 0.25) for _ in range(3)]),
    "where": lambda r, x: aj.where(x > 0.6, x, [_float(r, x, -1.0) for _ in range(3)]),
    "add nested": lambda r, x: x + [[_float(r, x, 1.0) for _ in range(3)] for _ in range(2)],
    "scatter update": lambda r, x: aj.tensor_scatter_nd_update(
        x, [[0, 1], [1, 2]], [_float(r, x, 2.0), _float(r, x, -2.0)]),
    "scatter_nd": lambda r, x: aj.cast(aj.scatter_nd(  # Python floats alone: float32
        [[1], [0]], [_float(r, x, 1.5), _float(r, x, 0.5)], [3]), aj.float64) * x[0],
    "gather": lambda r, x: aj.gather(x, [_int(r, x, 1), _int(r, x, 0)], axis=1),
    "constant": lambda r, x: aj.constant([_float(r, x, 1.0), _float(r, x, 2.0)],
                                         dtype=aj.float64) * x[0, 0],
    "sigmoid cross entropy": lambda r, x: aj.nn.sigmoid_cross_entropy_with_logits(
        labels=[[_float(r, x, 0.25)] * 3] * 2, logits=x),
}


def _value_and_grad(build, seed):
    def run(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = build(random.Random(seed), x)
            loss = aj.reduce_sum(y * y)
        return y, tape.gradient(loss, x)
    return run


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("name", sorted(PACKED))
def test_lists_holding_tensors_are_packed_with_their_gradients(name, seed):
    build = PACKED[name]
    run = _value_and_grad(build, seed)
    y, grad = run(aj.constant(X))
    traced = aj.function(run, autograph=False)
    ty, tgrad = traced(aj.constant(X))
    np.testing.assert_allclose(ty.numpy(), y.numpy(), rtol=1e-12)
    expected = numeric_grad(
        lambda a: float(np.sum(build(random.Random(seed), aj.constant(a)).numpy() ** 2)), X)
    for g in (grad, tgrad):
        assert g is not None
        np.testing.assert_allclose(g.numpy(), expected, rtol=1e-6, atol=1e-8)


def test_a_value_from_the_inputs_is_still_refused_with_a_clear_error():
    with pytest.raises(TracingError, match="tile: multiples must be known while the function "
                       "is traced, got a symbolic tensor that depends on the function's inputs "
                       "\\(or on a dimension unknown while tracing\\); pass Python ints"):
        aj.function(lambda x: aj.tile(x, [aj.cast(x[1, 0], aj.int32), 1]),
                    autograph=False)(aj.constant(X))


def sized_from_the_batch(x, w):
    """New tensors sized by a dim unknown while tracing (Note [Shapes unknown while
    tracing]) and by a value the input holds."""
    n = aj.shape(x)[0]
    state = aj.zeros([n, 2], dtype=x.dtype) + aj.ones(aj.shape(x)[1:2], dtype=x.dtype)[0]
    scale = aj.fill([n, 1], w)
    count = aj.zeros([aj.cast(x[0, 0], aj.int32) + 1], dtype=x.dtype)
    return aj.reduce_sum(state * scale * x[:, :2]) + aj.reduce_sum(count), aj.shape(count)


@pytest.mark.parametrize("rows", [1, 2, 5])
def test_shapes_unknown_while_tracing_make_tensors_of_the_run_time_size(rows):
    traced = aj.function(sized_from_the_batch, input_signature=[
        aj.TensorSpec([None, 3], aj.float64), aj.TensorSpec([], aj.float64)])
    x = np.arange(rows * 3, dtype=np.float64).reshape(rows, 3) + 0.5
    w = aj.constant(1.5, dtype=aj.float64)
    for got, want in zip(traced(aj.constant(x), w), sized_from_the_batch(aj.constant(x), w)):
        np.testing.assert_allclose(got.numpy(), want.numpy())
    assert traced.tracing_count == 1
    with aj.GradientTape() as tape:  # through the filled value
        tape.watch(w)
        loss = traced(aj.constant(x), w)[0]
    np.testing.assert_allclose(tape.gradient(loss, w).numpy(), x[:, :2].sum())


def test_a_list_of_an_int_tensor_and_a_float_is_a_clear_error():
    with pytest.raises(Exception, match="int32"):
        aj.function(lambda x: aj.maximum(aj.cast(x, aj.int32), [aj.shape(x)[0], 1.5, 2]),
                    autograph=False)(aj.constant(X))


LISTS = [  # (x's dtype, op, Python list, the result's dtype or None for an error)
    (np.float64, aj.add, [1.0, 2.0, 3.0], np.float64),
    (np.float64, aj.maximum, [0, 1, 2], np.float64),
    (np.float32, aj.multiply, [0.5, 1.5, 2.5], np.float32),
    (np.int64, aj.add, [1, 2, 3], np.int64),
    (np.int32, aj.subtract, [1, 2, 3], np.int32),
    (np.int32, aj.add, [1.5, 2.0, 3.0], None),  # a float list next to ints: not silently cut
]


@pytest.mark.parametrize("dtype, op, items, expected", LISTS)
@pytest.mark.parametrize("traced", [False, True])
def test_a_python_list_takes_the_dtype_of_its_tensor_partner(dtype, op, items, expected,
                                                             traced):
    x = aj.constant(np.array([1, 2, 3], dtype))
    run = aj.function(lambda x: op(x, items), autograph=False) if traced else \
        (lambda x: op(x, items))
    if expected is None:
        with pytest.raises(Exception, match="expected inputs of one dtype"):
            run(x)
        return
    result = run(x)
    assert result.dtype == expected
    np.testing.assert_array_equal(result.numpy(), op(x.numpy(), np.array(items, expected)))


def test_the_gradient_through_an_op_with_a_python_list_input():
    # the tape recorded the list itself and the VJP read its shape (AttributeError)
    x = aj.constant(np.array([0.0, 1.0, 3.0], np.float32))
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.reduce_sum(aj.maximum(x, [0.5, 0.5, 2.0]) * [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0.0, 2.0, 3.0])


def test_a_list_of_tensors_of_two_dtypes_is_an_error_not_a_silent_cast():
    x = aj.constant([1.5, 2.5])
    n = aj.constant(2)
    for run in (lambda x: aj.maximum(x, [n, x[0]]),
                aj.function(lambda x: aj.maximum(x, [n, x[0]]), autograph=False)):
        with pytest.raises(Exception, match="holds int32 and float32 tensors; aj.cast them"):
            run(x)
    # the user's dtype casts: aj.constant([...], dtype=) as before
    assert aj.constant([n, x[0]], dtype=aj.float32).numpy().tolist() == [2.0, 1.5]
