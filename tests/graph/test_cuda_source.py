"""Generated CUDA source for fused nodes: one kernel per fused expression (a reduction kernel
for one ending in a reduction), its text checked for
every fusable op and dtype, NumPy's semantics where C differs, and the whole set compiled with
NVRTC when ``cuda.bindings`` and the NVRTC library are installed (the ``nvrtc`` extra; no GPU
or driver needed)."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.graph.executors.cuda_source import (ReductionSource, kernel_source, literal,
                                                 standalone_source)
from autojit.graph.passes import fuse_elementwise
from autojit.graph.passes.fuse import FUSABLE, FUSED, REDUCIBLE

from .programs import random_program

F32, F64, I32 = np.float32, np.float64, np.int32

# op -> (autojit call on (x, y), dtypes it is fused for)
CALLS = {
    "add": (lambda x, y: x + y, (F32, F64, I32)),
    "subtract": (lambda x, y: x - y, (F32, F64, I32)),
    "multiply": (lambda x, y: x * y, (F32, F64, I32)),
    "divide": (lambda x, y: x / y, (F32, F64, I32)),
    "maximum": (aj.maximum, (F32, F64, I32)),
    "minimum": (aj.minimum, (F32, F64, I32)),
    "pow": (aj.pow, (F32, F64)),
    "negative": (lambda x, y: -x, (F32, F64, I32)),
    "abs": (lambda x, y: aj.abs(x), (F32, F64, I32)),
    "sign": (lambda x, y: aj.sign(x), (F32, F64, I32)),
    "exp": (lambda x, y: aj.exp(x), (F32, F64)),
    "log": (lambda x, y: aj.math.log(x), (F32, F64)),
    "log1p": (lambda x, y: aj.math.log1p(x), (F32, F64)),
    "sqrt": (lambda x, y: aj.sqrt(x), (F32, F64)),
    "rsqrt": (lambda x, y: aj.math.rsqrt(x), (F32, F64)),
    "square": (lambda x, y: aj.square(x), (F32, F64, I32)),
    "sin": (lambda x, y: aj.sin(x), (F32, F64)),
    "cos": (lambda x, y: aj.cos(x), (F32, F64)),
    "tanh": (lambda x, y: aj.tanh(x), (F32, F64)),
    "sigmoid": (lambda x, y: aj.sigmoid(x), (F32, F64)),
    "relu": (lambda x, y: aj.nn.relu(x), (F32, F64, I32)),
    "floor": (lambda x, y: aj.floor(x), (F32, F64)),
    "ceil": (lambda x, y: aj.math.ceil(x), (F32, F64)),
    "round": (lambda x, y: aj.round(x), (F32, F64, I32)),
    "tan": (lambda x, y: aj.tan(x), (F32, F64)),
    "asin": (lambda x, y: aj.asin(x), (F32, F64)),
    "acos": (lambda x, y: aj.acos(x), (F32, F64)),
    "atan": (lambda x, y: aj.atan(x), (F32, F64)),
    "atan2": (aj.atan2, (F32, F64)),
    "sinh": (lambda x, y: aj.sinh(x), (F32, F64)),
    "cosh": (lambda x, y: aj.cosh(x), (F32, F64)),
    "asinh": (lambda x, y: aj.asinh(x), (F32, F64)),
    "acosh": (lambda x, y: aj.acosh(x), (F32, F64)),
    "atanh": (lambda x, y: aj.atanh(x), (F32, F64)),
    "is_nan": (lambda x, y: aj.math.is_nan(x), (F32, F64)),
    "is_inf": (lambda x, y: aj.math.is_inf(x), (F32, F64)),
    "is_finite": (lambda x, y: aj.math.is_finite(x), (F32, F64)),
    "equal": (aj.equal, (F32, F64, I32)),
    "not_equal": (aj.math.not_equal, (F32, F64, I32)),
    "less": (aj.less, (F32, F64, I32)),
    "less_equal": (aj.math.less_equal, (F32, F64, I32)),
    "greater": (aj.greater, (F32, F64, I32)),
    "greater_equal": (aj.math.greater_equal, (F32, F64, I32)),
    "logical_and": (lambda x, y: aj.math.logical_and(x > 0, y > 0), (F32,)),
    "logical_or": (lambda x, y: aj.math.logical_or(x > 0, y > 0), (F32,)),
    "logical_xor": (lambda x, y: aj.math.logical_xor(x > 0, y > 0), (F32,)),
    "logical_not": (lambda x, y: aj.math.logical_not(x > y), (F32,)),
    "where": (lambda x, y: aj.where(x > y, x, y), (F32, F64, I32)),
    "cast": (lambda x, y: aj.cast(x, aj.float64), (F32, I32)),
    "clip_by_value": (lambda x, y: aj.clip_by_value(x, -0.5, 0.5), (F32, F64)),
    "broadcast_to": (lambda x, y: aj.broadcast_to(x[0], (4, 3)), (F32,)),
}


def fused_graph(call, dtype):
    x = aj.constant(np.linspace(1, 2, 12).reshape(4, 3).astype(dtype))
    y = aj.constant(np.linspace(2, 3, 12).reshape(4, 3).astype(dtype))

    def fn(a, b):
        out = call(a + b, b)  # the op between two fusable neighbours
        return aj.cast(out, aj.float64) * 2.0

    graph = aj.function(fn, autograph=False).get_concrete_function(x, y).graph
    return fuse_elementwise(graph.clone())


def sources_of(graph):
    out = []
    for node in graph.walk():
        if node.op is FUSED:
            out.append((node, kernel_source(node.attrs["expr"], [v.spec.dtype for v in
                                                                 node.inputs])))
    return out


def test_every_fusable_op_has_a_case_here():
    covered = set(CALLS) | {"identity", "stop_gradient", "broadcast_like", "relu_grad"}
    assert FUSABLE <= covered, sorted(FUSABLE - covered)


@pytest.mark.parametrize("op", sorted(CALLS))
def test_each_fusable_op_gets_a_kernel(op):
    call, dtypes = CALLS[op]
    for dtype in dtypes:
        graph = fused_graph(call, dtype)
        found = sources_of(graph)
        steps = [s.op for node, _ in found for s in node.attrs["expr"].steps]
        assert op in steps, f"{op}/{np.dtype(dtype).name} was not fused: {graph}"
        for node, source in found:
            assert source is not None, f"{op}/{np.dtype(dtype).name}: no kernel for {node}"
            assert source.name.startswith("aj_fused_")
            assert source.operation.count("out0 = ") == 1


def test_kernel_text_follows_numpy_semantics():
    def text(call, dtype):
        ((_, source),) = sources_of(fused_graph(call, dtype))
        return source.operation

    assert "isnan(t0)) ? t0 : in1)" in text(aj.maximum, F32)  # NaN wins, as np.maximum
    assert "((double)t0 / (double)in1)" in text(lambda x, y: x / y, I32)
    assert "(t0 > in1) ? t0 : in1" in text(aj.maximum, I32)
    sign = text(lambda x, y: aj.sign(x), F64)
    assert "isnan(t0) ? t0 :" in sign
    where = text(lambda x, y: aj.where(x > y, x, y), F32)
    assert "const bool t1 = (t0 > in1);" in where and "(t1 ? t0 : in1)" in where
    assert "const float t1 = rint(t0);" in text(lambda x, y: aj.round(x), F32)  # halves to even
    assert "const int t1 = t0;" in text(lambda x, y: aj.round(x), I32)
    assert "const double t1 = atan2(t0, in1);" in text(aj.atan2, F64)  # y first, as TF
    assert "const bool t1 = isfinite(t0);" in text(lambda x, y: aj.math.is_finite(x), F32)


def test_kernel_parameters_and_a_full_body():
    def fn(x, y):
        a = x * y
        return aj.exp(a + 2.0), a > y

    x = aj.constant(np.ones((2, 2), np.float32))
    y = aj.constant(np.ones((2, 2), np.float32))
    graph = fuse_elementwise(aj.function(fn, autograph=False).get_concrete_function(x, y)
                             .graph.clone())
    ((_, source),) = sources_of(graph)
    assert source.in_params == "float32 in0, float32 in1"
    assert source.out_params == "float32 out0, bool out1"
    assert source.operation.splitlines() == [
        "const float t0 = (in0 * in1);",
        "const float t1 = (t0 + 2.0f);",
        "const float t2 = exp(t1);",
        "const bool t3 = (t0 > in1);",
        "out0 = t2;",
        "out1 = t3;",
    ]


def test_literals_keep_their_dtype_and_spell_nan_and_infinity():
    assert literal(np.float32(2.5)) == "2.5f"
    assert literal(np.float64(-1e-3)) == "-0.001"
    assert literal(np.int64(7)) == "7LL" and literal(np.int32(-7)) == "-7"
    assert literal(np.bool_(True)) == "true"
    assert literal(np.float32(np.inf)) == "__int_as_float(0x7f800000)"
    assert literal(np.float64(-np.inf)) == "__longlong_as_double(0xfff0000000000000LL)"
    assert literal(np.float32(np.nan)).startswith("__int_as_float(0x7fc")


def test_steps_without_a_template_give_no_kernel():
    ((_, source),) = sources_of(fused_graph(aj.pow, I32))
    assert source is None  # integer pow: the executor runs this node op by op


REDUCTIONS = {"reduce_sum": aj.reduce_sum, "reduce_mean": aj.reduce_mean,
              "reduce_max": aj.reduce_max, "reduce_min": aj.reduce_min,
              "reduce_prod": aj.reduce_prod}


def reduction_graph(op, dtype, axis=1, keepdims=False):
    """``op(x * x + x, axis) * 3`` on a 4x3 ``x``: a prologue, the reduction, an epilogue."""
    x = aj.constant(np.linspace(1, 2, 12).reshape(4, 3).astype(dtype))

    def fn(a):
        return REDUCTIONS[op](a * a + a, axis=axis, keepdims=keepdims) * 3

    graph = aj.function(fn, autograph=False).get_concrete_function(x).graph
    return fuse_elementwise(graph.clone())


def reduction_dtypes(op):
    return (F32, F64) if op == "reduce_mean" else (F32, F64, I32)


def test_every_reducible_op_has_a_case_here():
    assert set(REDUCTIONS) == REDUCIBLE


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_each_reduction_gets_one_reduction_kernel(op):
    for dtype in reduction_dtypes(op):
        ((node, source),) = sources_of(reduction_graph(op, dtype))
        what = f"{op}/{np.dtype(dtype).name}"
        assert isinstance(source, ReductionSource), what
        assert [s.op for s in node.attrs["expr"].steps] == ["multiply", "add", op, "multiply"]
        assert source.map_expr.startswith("aj_map_") and source.map_expr.endswith("(in0)")
        assert source.post_map_expr.startswith("out0 = aj_post_"), what
        assert (source.axis, source.keepdims, source.shape) == ((1,), False, (4, 3))
        assert source.reduce_type == source.preamble.split()[1]  # the map function's type


def test_reduction_kernel_text():
    def source(op, dtype, **kw):
        ((_, found),) = sources_of(reduction_graph(op, dtype, **kw))
        return found

    total = source("reduce_sum", F32)
    assert (total.reduce_expr, total.identity, total.reduce_type) == ("a + b", "0.0f", "float")
    assert total.in_params == "float32 in0" and total.out_params == "float32 out0"
    tag = total.name.removeprefix("aj_reduce_")
    assert total.preamble.splitlines() == [
        f"__device__ float aj_map_{tag}(const float in0) {{",
        "  const float t0 = (in0 * in0);",
        "  const float t1 = (t0 + in0);",
        "  return t1;",
        "}",
        f"__device__ float aj_post_{tag}(const float t2) {{",
        "  const float t3 = (t2 * 3.0f);",
        "  return t3;",
        "}"]
    mean = source("reduce_mean", F64, axis=0, keepdims=True)
    assert mean.post_map_expr == f"out0 = aj_post_{mean.name[10:]}((a / 4.0))"  # 4 rows
    assert (mean.axis, mean.keepdims) == ((0,), True)
    biggest = source("reduce_max", F32)
    assert biggest.identity == "__int_as_float(0xff800000)"  # -inf: NaN still wins below
    assert biggest.reduce_expr == "((a > b || isnan(a)) ? a : b)"
    smallest = source("reduce_min", I32)
    assert (smallest.identity, smallest.reduce_expr) == ("2147483647", "(a < b ? a : b)")
    product = source("reduce_prod", F64)
    assert (product.identity, product.reduce_expr) == ("1.0", "a * b")


def _all_sources():
    seen = {}
    for op, (call, dtypes) in CALLS.items():
        for dtype in dtypes:
            for _, source in sources_of(fused_graph(call, dtype)):
                if source is not None:
                    seen[source.name] = source
    for op in REDUCTIONS:
        for dtype in reduction_dtypes(op):
            for _, source in sources_of(reduction_graph(op, dtype)):
                seen[source.name] = source
    for seed in range(60):
        program = random_program(seed, control=seed % 2 == 0)
        xs = [aj.constant(x) for x in program.inputs]
        graph = aj.function(lambda *a, p=program: p.run(*a), autograph=False) \
            .get_concrete_function(*xs).graph
        for _, source in sources_of(fuse_elementwise(graph.clone())):
            assert source is not None
            seen[source.name] = source
    return list(seen.values())


def nvrtc_compile(nvrtc, unit: str, name: str, options: list):
    """``unit`` compiled with NVRTC (``cuda.bindings.nvrtc``): the program, its compile
    checked (the log on failure); skips when the NVRTC library itself cannot load."""
    err, program = nvrtc.nvrtcCreateProgram(unit.encode(), name.encode(), 0, [], [])
    assert err == nvrtc.nvrtcResult.NVRTC_SUCCESS
    try:
        (err,) = nvrtc.nvrtcCompileProgram(program, len(options), options)
    except RuntimeError as exc:  # the Python bindings load, the NVRTC library does not
        pytest.skip(f"NVRTC library could not be loaded: {exc}")
    _, size = nvrtc.nvrtcGetProgramLogSize(program)
    log = b" " * size
    nvrtc.nvrtcGetProgramLog(program, log)
    assert err == nvrtc.nvrtcResult.NVRTC_SUCCESS, log.decode(errors="replace")
    return program


def test_generated_kernels_compile_with_nvrtc():
    nvrtc = pytest.importorskip(
        "cuda.bindings.nvrtc",
        reason="NVRTC is not installed (pip install -e '.[nvrtc]' to compile generated kernels)")
    sources = _all_sources()
    assert len(sources) >= 60
    unit = "\n".join(standalone_source(s) for s in sources)
    program = nvrtc_compile(nvrtc, unit, "fused.cu", [b"--gpu-architecture=compute_80"])
    nvrtc.nvrtcDestroyProgram(program)
