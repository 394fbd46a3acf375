"""Every op of the table (``op_table.py``): forward vs NumPy, shape rules on TensorSpecs,
VJPs and second derivatives vs central differences; and a check that no op lacks an entry.
"""

from __future__ import annotations

import pathlib
import zlib

import numpy as np
import pytest
from op_table import (
    F32,
    F64,
    TABLE,
    TESTED_ELSEWHERE,
    F,
    as_list,
    cases,
    make_inputs,
    recorded_ops,
    to_tensors,
)

import autojit as aj
import autojit.variables  # registers the variable ops before the registry is read
import autojit.graph.passes.lower  # noqa: F401  (and the ops of the GPU executor's passes)
import autojit.graph.passes.matmul_update  # noqa: F401
import autojit.graph.passes.merge_updates  # noqa: F401
from autojit.ops import core
from autojit.ops.core import TensorSpec

# ----------------------------------------------------------------------------- the checks
# (test_gpu_ops.py runs the same checks with device="GPU:0")


def check_forward(entry, case, dtype, key, device=None):
    """Run the case once; compare value, shape and dtype with the NumPy reference."""
    values = make_inputs(case, dtype, key)
    inputs = to_tensors(values, device)
    out, calls = recorded_ops(lambda: entry.fn(*inputs, **case.attrs))
    names = [op.name for op, *_ in calls]
    assert entry.op in names, f"the entry for {entry.op!r} ran {names}, not {entry.op!r}"
    expected = as_list(entry.ref(*values, **case.attrs))
    outs = as_list(out)
    assert len(outs) == len(expected)
    for o, e in zip(outs, expected):
        e = np.asarray(e)
        assert isinstance(o, aj.Tensor)
        assert (o.shape, o.dtype) == (e.shape, e.dtype), f"got {o.dtype}{list(o.shape)}"
        if device is not None:
            assert o.device == device
        rtol = 1e-10 if o.dtype == F64 else entry.rtol
        np.testing.assert_allclose(o.numpy(), e, rtol=rtol, atol=entry.atol)
    return outs


def _spec(op, value, inputs):
    if isinstance(value, aj.Tensor):
        return TensorSpec(value.shape, value.dtype)
    if isinstance(value, core.PY_SCALARS):
        partner = core.weak_dtype(op, inputs)
        array = np.asarray(core.scalar_to_array(op, value, partner))
    else:
        array = core.to_numpy_constant(value)
    return TensorSpec(array.shape, array.dtype)


def _agree(result, outputs, exact):
    results = result if isinstance(result, list) else [result]
    outs = as_list(outputs)
    assert len(results) == len(outs)
    for (shape, dtype), o in zip(results, outs):
        assert dtype == o.dtype and len(shape) == len(o.shape), (shape, dtype, o.shape)
        if exact:
            assert tuple(shape) == o.shape
        else:
            assert all(d is None or d == e for d, e in zip(shape, o.shape)), (shape, o.shape)


def check_rules(entry, case, key):
    """The op's rule on TensorSpecs (as while tracing) agrees with what ran eagerly, with
    known dims and with every dim unknown."""
    values = make_inputs(case, entry.dtypes[0], key)
    inputs = to_tensors(values)
    _, calls = recorded_ops(lambda: entry.fn(*inputs, **case.attrs))
    for op, op_inputs, outputs, attrs in calls:
        if op.name != entry.op:
            continue
        known = [_spec(op, v, op_inputs) for v in op_inputs]
        _agree(op.rule(op.name, *known, **attrs), outputs, not entry.value_dependent_shape)
        unknown = [TensorSpec((None,) * len(s.shape), s.dtype) for s in known]
        _agree(op.rule(op.name, *unknown, **attrs), outputs, exact=False)


def _inner(outputs, cotangents):
    """sum_k <outputs[k], cotangents[k]> as a tensor (float outputs only)."""
    terms = [aj.reduce_sum(o * aj.constant(v.astype(o.dtype)).to(o.device))
             for o, v in zip(outputs, cotangents) if v is not None]
    return aj.add_n(terms) if terms else aj.constant(0.0)  # no float output: no gradient


def _directions(values, outputs, wrt, key):
    rng = np.random.default_rng(zlib.crc32(f"{key}/directions".encode()))
    vs = [rng.standard_normal(o.shape) if o.dtype.kind == "f" else None for o in outputs]
    us = {i: rng.standard_normal(np.shape(values[i])) for i in wrt}
    ws = {i: rng.standard_normal(np.shape(values[i])) for i in wrt}
    return vs, us, ws


def _run(entry, case, values, device):
    return [o.numpy() for o in as_list(entry.fn(*to_tensors(values, device), **case.attrs))]


def _gradients(entry, case, values, vs, wrt, device):
    """The VJP of the case at ``values`` with output cotangents ``vs``, as arrays."""
    ts = to_tensors(values, device)
    with aj.GradientTape() as tape:
        for i in wrt:
            tape.watch(ts[i])
        target = _inner(as_list(entry.fn(*ts, **case.attrs)), vs)
    grads = tape.gradient(target, [ts[i] for i in wrt])
    for i, g in zip(wrt, grads):
        if g is not None:
            assert (g.shape, g.dtype) == (np.shape(values[i]), F64), \
                f"gradient of input {i}: {g.dtype}{list(g.shape)}"
    return [np.zeros(np.shape(values[i])) if g is None else g.numpy()
            for i, g in zip(wrt, grads)]


def _moved(values, us, t):
    return [np.asarray(v + t * us[i]) if i in us else v for i, v in enumerate(values)]


def _close(analytic, numeric, what, rtol):
    assert abs(analytic - numeric) <= 1e-6 + rtol * max(abs(analytic), abs(numeric)), \
        f"{what}: analytic {analytic!r} vs central differences {numeric!r}"


def float_inputs(case):
    return [i for i, a in enumerate(case.args) if isinstance(a, F)]


def check_gradient(entry, case, key, device=None):
    """<J^T v, u> from the tape against (<v, f(x + h u)> - <v, f(x - h u)>) / 2h."""
    values = make_inputs(case, F64, key)
    wrt = float_inputs(case)
    vs, us, _ = _directions(values, _run(entry, case, values, device), wrt, key)
    grads = _gradients(entry, case, values, vs, wrt, device)
    analytic = sum(float(np.sum(g * us[i])) for g, i in zip(grads, wrt))
    h = entry.fd_step

    def along(t):
        outs = _run(entry, case, _moved(values, us, t), device)
        return sum(float(np.sum(o * v)) for o, v in zip(outs, vs) if v is not None)

    _close(analytic, (along(h) - along(-h)) / (2 * h), "first derivative", entry.grad_rtol)
    return grads


def check_second_order(entry, case, key, device=None):
    """<w, H u> through nested tapes against central differences of the first derivative."""
    values = make_inputs(case, F64, key)
    wrt = float_inputs(case)
    vs, us, ws = _directions(values, _run(entry, case, values, device), wrt, key)
    ts = to_tensors(values, device)
    with aj.GradientTape() as outer:
        for i in wrt:
            outer.watch(ts[i])
        with aj.GradientTape() as inner:
            for i in wrt:
                inner.watch(ts[i])
            target = _inner(as_list(entry.fn(*ts, **case.attrs)), vs)
        grads = inner.gradient(target, [ts[i] for i in wrt])
        terms = [aj.reduce_sum(g * aj.constant(ws[i]).to(g.device))
                 for g, i in zip(grads, wrt) if g is not None]
        total = aj.add_n(terms) if terms else None
    second = outer.gradient(total, [ts[i] for i in wrt]) if total is not None else [None] * len(wrt)
    analytic = sum(float(np.sum(s.numpy() * us[i])) for s, i in zip(second, wrt) if s is not None)
    h = entry.fd_step

    def along(t):
        grads_t = _gradients(entry, case, _moved(values, us, t), vs, wrt, device)
        return sum(float(np.sum(g * ws[i])) for g, i in zip(grads_t, wrt))

    _close(analytic, (along(h) - along(-h)) / (2 * h), "second derivative", entry.grad_rtol)


# ----------------------------------------------------------------------------- parametrization

ALL = cases()
FORWARD = [pytest.param(e, c, d, id=f"{i}-{d.name}") for e, c, i in ALL for d in e.dtypes]
RULES = [pytest.param(e, c, id=i) for e, c, i in ALL]
GRADIENT = [pytest.param(e, c, id=i) for e, c, i in ALL if e.grad >= 1 and float_inputs(c)]
SECOND = [pytest.param(e, c, id=i) for e, c, i in ALL if e.grad >= 2 and float_inputs(c)]


@pytest.mark.parametrize("entry,case,dtype", FORWARD)
def test_forward_matches_numpy(entry, case, dtype, request):
    check_forward(entry, case, dtype, request.node.callspec.id)


@pytest.mark.parametrize("entry,case", RULES)
def test_rule_agrees_on_tensor_specs(entry, case, request):
    check_rules(entry, case, request.node.callspec.id)


@pytest.mark.parametrize("entry,case", GRADIENT)
def test_vjp_matches_finite_differences(entry, case, request):
    check_gradient(entry, case, request.node.callspec.id)


@pytest.mark.parametrize("entry,case", SECOND)
def test_second_derivative_matches_finite_differences(entry, case, request):
    check_second_order(entry, case, request.node.callspec.id)


# ----------------------------------------------------------------------------- completeness


def test_every_registered_op_has_a_table_entry():
    registered = set(core.registry())
    in_table = {e.op for e in TABLE}
    missing = sorted(registered - in_table - set(TESTED_ELSEWHERE))
    assert not missing, (f"ops without an entry in tests/ops/op_table.py (or in its "
                         f"TESTED_ELSEWHERE): {missing}")


def test_tested_elsewhere_names_existing_test_files():
    root = pathlib.Path(__file__).resolve().parents[2]
    missing = {op: path for op, path in TESTED_ELSEWHERE.items() if not (root / path).is_file()}
    assert not missing, f"TESTED_ELSEWHERE points at test files that do not exist: {missing}"


def test_table_names_only_registered_ops():
    registered = set(core.registry())
    unknown = sorted(({e.op for e in TABLE} | set(TESTED_ELSEWHERE)) - registered)
    assert not unknown, f"the op table names ops that are not registered: {unknown}"


# ----------------------------------------------------------------------------- op-specific facts


def test_stop_gradient_blocks_the_gradient():
    x = aj.constant([1.0, 2.0])
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.reduce_sum(aj.stop_gradient(x * x) + x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [1.0, 1.0])


def test_where_with_python_scalar_branches_takes_the_tensor_dtype():
    x = aj.constant(np.array([1.0, -2.0]))  # float64
    out = aj.where(x > 0, x, 0.0)
    assert out.dtype == aj.float64
    np.testing.assert_array_equal(out.numpy(), [1.0, 0.0])
    both = aj.where(aj.constant([True, False]), 1.0, 0.0)
    assert both.dtype == aj.float32
    np.testing.assert_array_equal(both.numpy(), [1.0, 0.0])


@pytest.mark.parametrize("fn,derivative", [
    (lambda x: x ** 2.0, lambda x: 2 * x),
    (lambda x: 2.0 ** x, lambda x: np.log(2.0) * 2.0 ** x),
    (lambda x: 2.0 / x, lambda x: -2.0 / x ** 2),
    (lambda x: aj.where(x > 1.5, x, 0.0), lambda x: (x > 1.5) * 1.0),
], ids=["x**2.0", "2.0**x", "2.0/x", "where-scalar"])
def test_float64_gradients_with_python_scalar_operands(fn, derivative):
    value = np.array([1.0, 2.0, 3.0])
    x = aj.constant(value)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.reduce_sum(fn(x))
    grad = tape.gradient(y, x)
    assert grad.dtype == aj.float64
    np.testing.assert_allclose(grad.numpy(), derivative(value), rtol=1e-12)


def test_cross_entropies_are_stable_for_huge_logits():
    logits = aj.constant([[1000.0, 0.0, -1000.0], [-500.0, 500.0, 0.0]])
    sparse = aj.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 0], logits=logits)
    np.testing.assert_allclose(sparse.numpy(), [0.0, 1000.0])
    dense = aj.nn.softmax_cross_entropy_with_logits(labels=aj.one_hot([2, 1], 3), logits=logits)
    np.testing.assert_allclose(dense.numpy(), [2000.0, 0.0])
    with aj.GradientTape() as tape:
        tape.watch(logits)
        loss = aj.reduce_sum(aj.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 0],
                                                                            logits=logits))
    np.testing.assert_allclose(tape.gradient(loss, logits).numpy(),
                               [[0.0, 0.0, 0.0], [-1.0, 1.0, 0.0]], atol=1e-6)
    assert np.isfinite(aj.nn.log_softmax(logits).numpy()).all()


def test_sparse_cross_entropy_gradient_is_softmax_minus_one_hot_and_none_for_labels():
    logits = aj.constant(np.array([[0.5, -1.0, 2.0]]))
    labels = aj.constant([2])
    with aj.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        loss = aj.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    e = np.exp([0.5, -1.0, 2.0])
    np.testing.assert_allclose(tape.gradient(loss, logits).numpy(), [e / e.sum() - [0, 0, 1]])
    assert tape.gradient(loss, labels) is None


def test_table_covers_broadcasting_reductions_and_scalars():
    # The table's own promise (DESIGN: broadcasting pairs, each axis, keepdims both ways).
    add = next(e for e in TABLE if e.op == "add")
    shapes_seen = {tuple(getattr(a, "shape", "scalar") for a in c.args) for c in add.cases}
    assert {((3, 1), (1, 4)), ((4,), (3, 4)), ((), (3, 4)), ((3, 4), "scalar")} <= shapes_seen
    total = next(e for e in TABLE if e.op == "reduce_sum")
    seen = {(c.args[0].shape, c.attrs["axis"], c.attrs["keepdims"]) for c in total.cases}
    for axis in (None, 0, 1, 2):
        for keepdims in (False, True):
            assert ((2, 3, 4), axis, keepdims) in seen
    assert F32 in add.dtypes
