"""The numbers of the generated CUDA kernels, checked on the CPU: each kernel's
``standalone_source`` is compiled as host C++ (tests/graph/host_cuda.py), run on NumPy arrays
and compared with ``evaluate_fused``, which runs each member op's own NumPy kernel.

Every fusable op, for every dtype it is fused for, runs on every pair of edge values (NaN,
infinities, signed zeros, negatives, integers that do not divide evenly); then the kernels of
random programs, and of their gradients, run on random inputs sprinkled with NaN and
infinities. Results must match bit for bit (NaN in the same places) unless a step is a
transcendental function, which the host's libm and NumPy's SIMD loops round differently:
then floats agree to a few ulps of the largest value computed (``assert_matches``). Reduction
kernels (sum, mean, max, min, prod with a prologue and an epilogue, over one, several and all
axes, NaN and infinities among the inputs) are compared the same way, except that a float
sum, mean or product adds in another order than NumPy's pairwise loops, so agrees to
``RTOL_REDUCE`` of the largest value computed (``assert_reduction_matches``). Skipped
where no C++ compiler is installed; the host build is no stand-in for NVRTC (the NVRTC test
in test_cuda_source.py) nor for CUDA's own libm, whose ulps differ again.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import autojit as aj
from autojit.graph.executors.cuda_source import ReductionSource, kernel_source, standalone_reduction
from autojit.graph.passes import fuse_elementwise
from autojit.graph.passes.fuse import REDUCIBLE, evaluate_fused

from .host_cuda import HostReduction, compile_kernels
from .programs import grad_program, random_program
from .test_cuda_source import CALLS, REDUCTIONS, fused_graph, reduction_dtypes, sources_of

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

EDGE = {
    "float": [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.5, 3.0, 1e-3,
              -7.25, 100.0, 89.0, 1e-39, 3e38],
    "int": [0, 1, -1, 2, -2, 3, -3, 7, -7, 10, -10, 100, 12345, -40000, 2**31 - 1],
}
F32, F64, I32, I64 = np.float32, np.float64, np.int32, np.int64
# Variants CALLS does not build: (op, autojit call on (x, y), dtypes, edge values kept or None)
IN_INT32 = (lambda v: np.isfinite(v) & (np.abs(v) < 1e9))  # float -> int casts: in range
EXTRA = [
    ("cast", lambda x, y: aj.cast(x, aj.bool), (F32, F64, I32), None),
    ("cast", lambda x, y: aj.cast(x, aj.int32), (F32, F64, I64), IN_INT32),
    ("cast", lambda x, y: aj.cast(x, aj.float32), (F64, I32), None),
    ("clip_by_value", lambda x, y: aj.clip_by_value(x, -3, 7), (I32, I64), None),
    ("clip_by_value", lambda x, y: aj.clip_by_value(x, y, 2.0), (F32, F64), None),
    ("divide", lambda x, y: x / y, (I64,), None),
    ("maximum", aj.maximum, (I64,), None),
    ("minimum", lambda x, y: aj.minimum(x, np.nan), (F32, F64), None),
    ("maximum", lambda x, y: aj.maximum(x, -np.inf), (F32, F64), None),
    ("sign", lambda x, y: aj.sign(x), (I64,), None),
    ("abs", lambda x, y: aj.abs(x), (I64,), None),
    ("pow", lambda x, y: aj.pow(x, 0.5), (F32, F64), None),
    ("where", lambda x, y: aj.where(aj.math.not_equal(x, x), y, x), (F32, F64), None),
]
RTOL = {"float32": 2e-6, "float64": 1e-13}
# Steps the host's libm and NumPy's (SIMD) loops may round differently; every other step is
# IEEE arithmetic, comparison, selection, cast, a correctly rounded sqrt, rounding to an
# integer (floor, ceil, rint) or a NaN/infinity test: bit-exact.
ROUNDED = frozenset({"exp", "log", "log1p", "sin", "cos", "tanh", "sigmoid", "pow", "tan",
                     "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh"})


def _pool(dtype: np.dtype, keep=None) -> np.ndarray:
    if dtype == np.bool_:
        return np.array([False, True])
    values = np.array(EDGE["float" if dtype.kind == "f" else "int"]).astype(dtype)
    return values if keep is None else values[keep(values)]


def _shape(expr) -> tuple:
    return expr.steps[expr.outputs[0]].spec.shape


def _rtol(expr) -> float:
    """The float tolerance of the least precise float a step computes in."""
    names = {s.spec.dtype.name for s in expr.steps}
    return RTOL["float32"] if "float32" in names else RTOL["float64"]


def _reference(expr, inputs, every_step=False) -> tuple:
    if every_step:
        expr = dataclasses.replace(expr, outputs=tuple(range(len(expr.steps))))
    with np.errstate(all="ignore"):
        return evaluate_fused(np, *inputs, expr=expr)


def _scale(expr, inputs, shape) -> np.ndarray:
    """Per element, the largest finite magnitude any step computes: a libm-vs-NumPy ulp in a
    rounded step stays that size in absolute terms through a later cancellation (sigmoid's
    ``tanh(x / 2) / 2 + 1 / 2`` at x = -7, ``1 - tanh(x) ** 2``)."""
    scale = np.zeros(shape)
    for value in _reference(expr, inputs, every_step=True):
        magnitude = np.abs(np.broadcast_to(np.asarray(value, np.float64), shape))
        scale = np.maximum(scale, np.where(np.isfinite(magnitude), magnitude, 0.0))
    return scale


def assert_matches(kernel, expr, inputs, what: str) -> None:
    """The kernel's outputs are NumPy's: bit for bit (NaN where NaN; ``-0.0 == 0.0``), or,
    when a step is ``ROUNDED``, within ``RTOL`` of the result or of the largest value a
    step computes at that element."""
    shape = _shape(expr)
    got = kernel(*inputs, shape=shape)
    want = _reference(expr, inputs)
    assert len(got) == len(want), what
    _assert_elements(got, want, expr, inputs, shape, what)


def _assert_elements(got, want, expr, inputs, shape, what: str, first: int = 0) -> None:
    """``assert_matches``'s comparison of elementwise outputs ``got`` with NumPy's ``want``
    (numbered from ``first``), each of ``shape``."""
    rounded = any(step.op in ROUNDED for step in expr.steps)
    scale = _scale(expr, inputs, shape) if rounded else None
    for k, (g, w) in enumerate(zip(got, want), first):
        w = np.asarray(w)
        label = f"{what}: out{k} of {expr}\ninputs: {[np.asarray(a).tolist() for a in inputs]}"
        assert g.dtype == w.dtype, f"{label}\nkernel gives {g.dtype}, NumPy {w.dtype}"
        w = np.broadcast_to(w, g.shape)
        if g.dtype.kind != "f" or not rounded:
            np.testing.assert_array_equal(g, w, err_msg=label)
            continue
        same = (g == w) | (np.isnan(g) & np.isnan(w))
        close = np.abs(g - w) <= _rtol(expr) * np.maximum(np.abs(w), scale)
        bad = ~(same | (np.isfinite(g) & np.isfinite(w) & close))
        if bad.any():
            at = tuple(np.argwhere(bad)[0])
            raise AssertionError(f"{label}\n{int(bad.sum())} of {bad.size} differ; at {at}: "
                                 f"kernel {g[at]!r}, NumPy {w[at]!r}\nkernel {g}\nNumPy {w}")


def _edge_inputs(node, rng, keep=None) -> list:
    """Batches of inputs for ``node`` that together pair every edge value of in0 with every
    one of in1 (inputs of another shape, or beyond the second, draw from the pool)."""
    specs = [v.spec for v in node.inputs]
    shape = _shape(node.attrs["expr"])
    size = int(np.prod(shape, dtype=np.int64))
    pools = [_pool(s.dtype, keep) for s in specs]
    paired = [k for k, s in enumerate(specs[:2]) if tuple(s.shape) == tuple(shape)]
    lengths = [len(pools[k]) for k in paired]
    pairs = int(np.prod(lengths)) if paired else 1
    batches = []
    for start in range(0, max(pairs, 4 * size), size):
        index = (np.arange(size) + start) % pairs
        picks = np.unravel_index(index, lengths) if paired else ()
        batch = []
        for k, (spec, pool) in enumerate(zip(specs, pools)):
            if k in paired:
                batch.append(pool[picks[paired.index(k)]].reshape(shape))
            else:
                batch.append(rng.choice(pool, size=spec.shape))
        batches.append(batch)
    return batches


def _gradient_relu(x, y):
    with aj.GradientTape() as tape:
        tape.watch(x)
        out = aj.nn.relu(x * y) * y
    return out, tape.gradient(out, x)


def _op_cases():
    """(label, node, source, keep) for every fused node of CALLS' and EXTRA's graphs and of
    a relu gradient (relu_grad has no CALLS entry), dtypes included."""
    cases = []
    table = [(op, call, dtypes, None) for op, (call, dtypes) in sorted(CALLS.items())]
    for op, call, dtypes, keep in table + EXTRA:
        for dtype in dtypes:
            for node, source in sources_of(fused_graph(call, dtype)):
                cases.append((f"{op}/{np.dtype(dtype).name}", node, source, keep))
    for dtype in (F32, F64):
        x = aj.constant(np.ones((4, 3), dtype))
        graph = aj.function(_gradient_relu, autograph=False).get_concrete_function(x, x).graph
        for node, source in sources_of(fuse_elementwise(graph.clone())):
            cases.append((f"relu_grad/{np.dtype(dtype).name}", node, source, None))
    return cases


def _program_cases():
    """(label, node, source) for the fused nodes of random programs and their gradients,
    reduction groups included."""
    cases = []
    for seed in range(60):
        program = random_program(seed, control=seed % 2 == 0)
        xs = [aj.constant(x) for x in program.inputs]
        fns = [lambda *a, p=program: p.run(*a)]
        if seed % 3 == 0:
            fns.append(grad_program(program))
        for fn in fns:
            graph = aj.function(fn, autograph=False).get_concrete_function(*xs).graph
            for node, source in sources_of(fuse_elementwise(graph.clone())):
                cases.append((f"program {seed}", node, source))
    return cases


@pytest.fixture(scope="module")
def op_kernels():
    cases = _op_cases()
    kernels = compile_kernels([s for _, _, s, _ in cases if s is not None])
    by_name = {k.name: k for k in kernels}
    return [(label, node, by_name[s.name] if s is not None else None, keep)
            for label, node, s, keep in cases]


@pytest.mark.parametrize("op", sorted(set(CALLS) | {"relu_grad"}))
def test_fused_op_kernels_compute_what_numpy_computes(op, op_kernels):
    rng = np.random.default_rng(0)
    ran = 0
    for label, node, kernel, keep in op_kernels:
        if label.split("/")[0] != op:
            continue
        assert kernel is not None, f"{label}: no kernel for {node}"
        for inputs in _edge_inputs(node, rng, keep):
            assert_matches(kernel, node.attrs["expr"], inputs, label)
        ran += 1
    assert ran, f"no fused kernel for {op}"
    steps = {s.op for label, node, _, _ in op_kernels if label.split("/")[0] == op
             for s in node.attrs["expr"].steps}
    assert op in steps


def test_random_program_kernels_compute_what_numpy_computes():
    cases = _program_cases()
    assert len(cases) >= 60
    assert sum(isinstance(source, ReductionSource) for _, _, source in cases) >= 10
    kernels = compile_kernels([source for _, _, source in cases])
    rng = np.random.default_rng(1)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0])
    for (label, node, _), kernel in zip(cases, kernels):
        for trial in range(3):
            inputs = []
            for value in node.inputs:
                spec = value.spec
                if spec.dtype == np.bool_:
                    inputs.append(rng.random(spec.shape) < 0.5)
                    continue
                x = rng.normal(0, 2, spec.shape)
                if trial:  # later trials: a few NaN, infinities and zeros
                    mask = rng.random(spec.shape) < 0.1
                    x = np.where(mask, rng.choice(specials, size=spec.shape), x)
                inputs.append(np.asarray(x).astype(spec.dtype))
            reduces = isinstance(kernel, HostReduction)
            check = assert_reduction_matches if reduces else assert_matches
            check(kernel, node.attrs["expr"], inputs, f"{label}, trial {trial}")


# Reduction kernels: ``op(a * b + a, axis) * 3 - 1`` on a (2, 3, 4) ``a`` and a (3, 1) ``b``
# (broadcast by the prologue), over one, several and all axes.
RTOL_REDUCE = {"float32": 1e-5, "float64": 1e-12}
REDUCE_AXES = [((1,), False), ((1,), True), ((0, -1), False), ((0, 2), True), (None, False),
               (None, True)]


def assert_reduction_matches(kernel, expr, inputs, what: str) -> None:
    """The reduction kernel's output is NumPy's: bit for bit for integers and for a max or
    min without a ``ROUNDED`` step (NaN where NaN); else NaN and infinities in the same places
    and the rest within ``RTOL_REDUCE`` of the result or of the largest finite value any step
    computes (the kernel sums one element after another, NumPy pairwise)."""
    got, *sides = kernel(*inputs)  # the reduced output, then side outputs (Note [Side outputs])
    *side_values, want = _reference(expr, inputs)
    assert len(sides) == len(side_values), what
    if sides:  # prologue values, compared as elementwise outputs
        prologue = dataclasses.replace(expr, steps=expr.steps[:expr.reduction],
                                       outputs=expr.outputs[:-1])
        _assert_elements(sides, side_values, prologue, inputs, sides[0].shape, what, first=1)
    want = np.asarray(want)
    label = f"{what}: {expr}\ninputs: {[np.asarray(a).tolist() for a in inputs]}"
    assert (got.dtype, got.shape) == (want.dtype, want.shape), (
        f"{label}\nkernel gives {got.dtype}{got.shape}, NumPy {want.dtype}{want.shape}")
    op = expr.steps[expr.reduction].op
    rounded = any(step.op in ROUNDED for step in expr.steps)
    if got.dtype.kind != "f" or (op in ("reduce_max", "reduce_min") and not rounded):
        np.testing.assert_array_equal(got, want, err_msg=label)
        return
    names = {step.spec.dtype.name for step in expr.steps}
    rtol = RTOL_REDUCE["float32" if "float32" in names else "float64"]
    scale = 0.0
    for value in _reference(expr, inputs, every_step=True):
        magnitude = np.abs(np.asarray(value, np.float64))
        scale = max(scale, float(np.max(np.where(np.isfinite(magnitude), magnitude, 0.0),
                                        initial=0.0)))
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    close = np.abs(got - want) <= rtol * np.maximum(np.abs(want), scale)
    bad = ~(same | (np.isfinite(got) & np.isfinite(want) & close))
    if bad.any():
        at = tuple(np.argwhere(bad)[0])
        raise AssertionError(f"{label}\n{int(bad.sum())} of {bad.size} differ; at {at}: "
                             f"kernel {got[at]!r}, NumPy {want[at]!r}\nkernel {got}\nNumPy {want}")


def _reduction_node(op, dtype, axis, keepdims):
    a = aj.constant(np.ones((2, 3, 4), dtype))
    b = aj.constant(np.ones((3, 1), dtype))

    def fn(x, y):
        return REDUCTIONS[op](x * y + x, axis=axis, keepdims=keepdims) * 3 - 1

    graph = aj.function(fn, autograph=False).get_concrete_function(a, b).graph
    ((node, source),) = sources_of(fuse_elementwise(graph.clone()))
    return node, source


def _reduction_inputs(dtype, rng) -> list:
    """(a, b) pairs: mixed signs, all prologue values negative, all positive (where a max's or
    min's identity would show), then NaN, infinities and signed zeros (floats) or the int32
    extremes, whose products wrap."""
    if np.dtype(dtype).kind == "f":
        def draw(shape):
            return rng.normal(0, 1, shape)
        specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0])
    else:
        def draw(shape):
            return rng.integers(-5, 6, shape)
        specials = np.array([2**31 - 1, -2**31, -1, 0, 1])
    batches = []
    for kind in ("mixed", "negative", "positive", "specials", "specials"):
        a, b = draw((2, 3, 4)), draw((3, 1))
        if kind == "negative":  # a * b + a = a * (b + 1) < 0
            a, b = -np.abs(a) - 1, np.abs(b)
        elif kind == "positive":
            a, b = np.abs(a) + 1, np.abs(b)
        elif kind == "specials":
            a = np.where(rng.random(a.shape) < 0.2, rng.choice(specials, a.shape), a)
        batches.append([np.asarray(a).astype(dtype), np.asarray(b).astype(dtype)])
    return batches


def _reduction_cases():
    cases = []
    for op in sorted(REDUCTIONS):
        for dtype in reduction_dtypes(op):
            for axis, keepdims in REDUCE_AXES:
                node, source = _reduction_node(op, dtype, axis, keepdims)
                label = f"{op}/{np.dtype(dtype).name}, axis={axis}, keepdims={keepdims}"
                assert isinstance(source, ReductionSource), label
                steps = [s.op for s in node.attrs["expr"].steps]
                assert steps == ["multiply", "add", op, "multiply", "subtract"], label
                cases.append((label, node, source))
    return cases


@pytest.fixture(scope="module")
def reduction_kernels():
    cases = _reduction_cases()
    kernels = compile_kernels([source for _, _, source in cases])
    return [(label, node, kernel) for (label, node, _), kernel in zip(cases, kernels)]


@pytest.mark.parametrize("op", sorted(REDUCIBLE))
def test_reduction_kernels_compute_what_numpy_computes(op, reduction_kernels):
    rng = np.random.default_rng(2)
    ran = 0
    for label, node, kernel in reduction_kernels:
        if not label.startswith(op + "/"):
            continue
        assert isinstance(kernel, HostReduction), label
        for k, inputs in enumerate(_reduction_inputs(node.inputs[0].spec.dtype, rng)):
            assert_reduction_matches(kernel, node.attrs["expr"], inputs, f"{label}, batch {k}")
        ran += 1
    assert ran == len(reduction_dtypes(op)) * len(REDUCE_AXES), op


def test_reduction_nan_propagates_through_max_and_min(reduction_kernels):
    """A NaN anywhere in a row makes its max and min NaN (NumPy's max, not C's fmax), also
    next to an infinity, and a row of -inf has max -inf (the identity loses)."""
    picked = {label.split("/")[0]: (node, kernel) for label, node, kernel in reduction_kernels
              if label.endswith("float32, axis=(1,), keepdims=False")}
    a = np.ones((2, 3, 4), np.float32)
    a[0, :, 0] = [np.nan, 5, 1]
    a[0, :, 1] = [-np.inf, np.nan, np.inf]
    a[1, :, 2] = -np.inf
    a[1, :, 3] = [2, 3, np.nan]
    b = np.ones((3, 1), np.float32)  # the prologue doubles a: a * 1 + a; the epilogue 6a - 1
    for op in ("reduce_max", "reduce_min"):
        node, kernel = picked[op]
        (got,) = kernel(a, b)
        assert np.isnan(got[0, 0]) and np.isnan(got[0, 1]) and np.isnan(got[1, 3]), (op, got)
        assert got[1, 2] == -np.inf and got[0, 2] == 5.0, (op, got)
        assert_reduction_matches(kernel, node.attrs["expr"], [a, b], op)


def test_a_standalone_reduction_unit_takes_its_axis_per_call(reduction_kernels):
    _, node, kernel = next(c for c in reduction_kernels
                           if c[0] == "reduce_sum/float64, axis=(0, 2), keepdims=True")
    source = kernel_source(node.attrs["expr"], [v.spec.dtype for v in node.inputs])
    (text_kernel,) = compile_kernels([standalone_reduction(source)])
    a = np.arange(24.0).reshape(2, 3, 4)
    b = np.full((3, 1), 2.0)
    want = kernel(a, b)[0]
    got = text_kernel(a, b, axis=(0, 2), keepdims=True, shape=(2, 3, 4))[0]
    np.testing.assert_array_equal(got, want)
    assert want.shape == (1, 3, 1)
    (everything,) = text_kernel(a, b, axis=None, shape=(2, 3, 4))
    np.testing.assert_allclose(everything, (a * b + a).sum() * 3 - 1, rtol=1e-12)

