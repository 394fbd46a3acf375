"""The numbers of the generated CUDA kernels, checked on the CPU: each kernel's
``standalone_source`` is compiled as host C++ (tests/graph/host_cuda.py), run on NumPy arrays
and compared with ``evaluate_fused``, which runs each member op's own NumPy kernel.

Every fusable op, for every dtype it is fused for, runs on every pair of edge values (NaN,
infinities, signed zeros, negatives, integers that do not divide evenly); then the kernels of
random programs, and of their gradients, run on random inputs sprinkled with NaN and
infinities. Results must match bit for bit (NaN in the same places) unless a step is a
transcendental function, which the host's libm and NumPy's SIMD loops round differently:
then floats agree to a few ulps of the largest value computed (``assert_matches``). Skipped
where no C++ compiler is installed; the host build is no stand-in for NVRTC (the NVRTC test
in test_cuda_source.py) nor for CUDA's own libm, whose ulps differ again.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import autojit as aj
from autojit.graph.passes import fuse_elementwise
from autojit.graph.passes.fuse import FUSABLE, evaluate_fused

from .host_cuda import compile_kernels
from .programs import grad_program, random_program
from .test_cuda_source import CALLS, fused_graph, sources_of

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
# IEEE arithmetic, comparison, selection, cast or a correctly rounded sqrt: bit-exact.
ROUNDED = frozenset({"exp", "log", "log1p", "sin", "cos", "tanh", "sigmoid", "pow"})


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
    rounded = any(step.op in ROUNDED for step in expr.steps)
    scale = _scale(expr, inputs, shape) if rounded else None
    for k, (g, w) in enumerate(zip(got, want)):
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
    """(label, node, source) for the elementwise fused nodes of random programs and their
    gradients (as test_cuda_source's NVRTC check; reduction groups are not elementwise
    kernels)."""
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
                if all(step.op in FUSABLE for step in node.attrs["expr"].steps):
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
            assert_matches(kernel, node.attrs["expr"], inputs, f"{label}, trial {trial}")
