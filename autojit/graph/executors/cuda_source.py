"""CUDA source for fused nodes: one ``cupy.ElementwiseKernel`` (parameters, body, name) per
fused expression and dtypes, or one ``cupy.ReductionKernel`` for an expression that ends in a
reduction (its prologue and epilogue as device functions). Pure text, no CuPy: the CPU tests
check it, and compile it with NVRTC where the compiler library is installed.

Each step becomes one typed local (``const float t1 = exp(t0);``) and each result one
assignment to an output parameter. Templates follow NumPy's semantics where C differs:
``maximum``/``minimum`` propagate NaN (C's ``fmax`` drops it), ``sign(nan)`` is NaN,
``true_divide`` of integers divides in double, and ``round`` is ``rint`` (halves to even, as
``np.round``; C's ``round`` takes them away from zero). ``kernel_source`` returns ``None``
for a step no template covers (integer ``pow``, arithmetic on bools); the executor then runs
that fused node op by op (``evaluate_fused``), so every graph still runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Callable

import numpy as np

C_TYPES = {"float32": "float", "float64": "double", "int32": "int", "int64": "long long",
           "bool": "bool"}
_FLOAT = ("float32", "float64")
_INT = ("int32", "int64")


@dataclasses.dataclass(frozen=True)
class KernelSource:
    """What ``cupy.ElementwiseKernel(in_params, out_params, operation, name)`` takes.

    Usage: ``cupy.ElementwiseKernel(src.in_params, src.out_params, src.operation, src.name)``
    """

    in_params: str
    out_params: str
    operation: str
    name: str


def literal(value: np.generic) -> str:
    """A C literal of ``value``'s own dtype (``2.0f``, ``-3LL``, NaN and infinities as bit
    patterns, which need no header). Usage: ``literal(np.float32(2.5))`` -> ``"2.5f"``"""
    dtype = value.dtype.name
    if dtype == "bool":
        return "true" if value else "false"
    if dtype in _INT:
        return f"{int(value)}" + ("LL" if dtype == "int64" else "")
    x = float(value)
    if math.isnan(x) or math.isinf(x):
        bits = np.asarray(value).view(np.uint32 if dtype == "float32" else np.uint64).item()
        if dtype == "float32":
            return f"__int_as_float(0x{bits:08x})"
        return f"__longlong_as_double(0x{bits:016x}LL)"
    text = repr(x)
    return f"{text}f" if dtype == "float32" else text


def _nan_max(a: str, b: str) -> str:
    return f"(({a} > {b} || isnan({a})) ? {a} : {b})"


def _nan_min(a: str, b: str) -> str:
    return f"(({a} < {b} || isnan({a})) ? {a} : {b})"


def _step(op: str, args: list[str], in_types: list[str], out: str, attrs: dict) -> str | None:
    """The C expression of one step, or None where no template covers it."""
    t = C_TYPES[out]
    first = in_types[0] if in_types else out
    floats = first in _FLOAT
    if op in ("identity", "stop_gradient", "broadcast_to"):
        return args[0]
    if op == "cast":
        return f"({args[0]} != 0)" if out == "bool" else f"(({t}){args[0]})"
    if op in _COMPARE:
        return f"({args[0]} {_COMPARE[op]} {args[1]})"
    if op in _LOGICAL:
        return _LOGICAL[op](*args)
    if op == "where":  # inputs: x, y, condition
        return f"({args[2]} ? {args[0]} : {args[1]})"
    if op in _PREDICATES:  # float in, bool out
        return f"{_PREDICATES[op]}({args[0]})" if floats else None
    if out == "bool" or first == "bool":
        return None  # arithmetic on bools: NumPy's rules are not C's
    if op in _ARITH:
        a, b = args
        if op == "divide" and not floats:
            return f"((double){a} / (double){b})"
        return f"({a} {_ARITH[op]} {b})"
    if op in ("maximum", "minimum"):
        pick = _nan_max if op == "maximum" else _nan_min
        return pick(*args) if floats else (
            f"(({args[0]} {'>' if op == 'maximum' else '<'} {args[1]}) ? {args[0]} : {args[1]})")
    if op == "clip_by_value":
        x, lo, hi = args
        return _nan_min(_nan_max(x, lo), hi) if floats else f"min(max({x}, {lo}), {hi})"
    if op == "negative":
        return f"(-{args[0]})"
    if op == "square":
        return f"({args[0]} * {args[0]})"
    if op == "abs":
        return f"fabs({args[0]})" if floats else f"({args[0]} < 0 ? -{args[0]} : {args[0]})"
    if op == "sign":
        body = f"(({t})(({args[0]} > 0) - ({args[0]} < 0)))"
        return f"(isnan({args[0]}) ? {args[0]} : {body})" if floats else body
    if op == "relu":
        zero = f"(({t})0)"
        if floats:
            return f"(({args[0]} > {zero} || isnan({args[0]})) ? {args[0]} : {zero})"
        return f"({args[0]} > 0 ? {args[0]} : {zero})"
    if op == "relu_grad":  # g * (out > 0), so a NaN gradient stays NaN
        return f"({args[0]} * (({t})({args[1]} > 0)))"
    if op == "round":  # rint rounds halves to even, as np.round; integers stay as they are
        return f"rint({args[0]})" if floats else args[0]
    if out not in _FLOAT:
        return None
    x = args[0] if floats else f"(({t}){args[0]})"
    if op in _MATH:
        return f"{_MATH[op]}({x})"
    if op == "rsqrt":
        return f"(({t})1 / sqrt({x}))"
    if op == "sigmoid":  # the CPU kernel's tanh form, stable for large |x|
        half = f"(({t})0.5)"
        return f"(tanh({x} * {half}) * {half} + {half})"
    if op == "atan2":  # inputs: y, x
        return f"atan2({args[0]}, {args[1]})"
    if op == "pow":
        if args[1] in ("0.5f", "0.5"):  # NumPy's power takes a scalar 0.5 as sqrt, so
            return f"sqrt({args[0]})"   # (-inf) ** 0.5 is NaN (C's pow gives inf)
        return f"pow({args[0]}, {args[1]})"
    return None


_ARITH = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}
_COMPARE = {"equal": "==", "not_equal": "!=", "less": "<", "less_equal": "<=",
            "greater": ">", "greater_equal": ">="}
_LOGICAL: dict[str, Callable[..., str]] = {
    "logical_and": lambda a, b: f"({a} && {b})",
    "logical_or": lambda a, b: f"({a} || {b})",
    "logical_xor": lambda a, b: f"({a} != {b})",
    "logical_not": lambda a: f"(!{a})",
}
_MATH = {"exp": "exp", "log": "log", "log1p": "log1p", "sqrt": "sqrt", "sin": "sin",
         "cos": "cos", "tanh": "tanh", "floor": "floor", "ceil": "ceil", "tan": "tan",
         "asin": "asin", "acos": "acos", "atan": "atan", "sinh": "sinh", "cosh": "cosh",
         "asinh": "asinh", "acosh": "acosh", "atanh": "atanh"}
_PREDICATES = {"is_nan": "isnan", "is_inf": "isinf", "is_finite": "isfinite"}


def _lines(expr, lo: int, hi: int, names: list[str], types: dict) -> list[str] | None:
    """One typed local per step ``lo..hi-1`` (``const float t1 = exp(t0);``), recording each
    step's dtype name in ``types``; None when a step has no template."""
    lines = []
    for j in range(lo, hi):
        step = expr.steps[j]
        args, arg_types = [], []
        for kind, what in step.args:
            if kind == "in":
                args.append(f"in{what}")
                arg_types.append(names[what])
            elif kind == "t":
                args.append(f"t{what}")
                arg_types.append(types[what])
            else:
                args.append(literal(what))
                arg_types.append(what.dtype.name)
        out = step.spec.dtype.name
        if out not in C_TYPES:
            return None
        text = _step(step.op, args, arg_types, out, dict(step.attrs))
        if text is None:
            return None
        types[j] = out
        lines.append(f"const {C_TYPES[out]} t{j} = {text};")
    return lines


def _digest(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


def kernel_source(expr, input_dtypes: list) -> "KernelSource | ReductionSource | None":
    """The kernel for fused expression ``expr`` on inputs of ``input_dtypes``: an
    ElementwiseKernel's source, or a ReductionKernel's for an expression with a reduction
    (``reduction_source``); None when a step has no template.

    Usage: ``src = kernel_source(node.attrs["expr"], [v.spec.dtype for v in node.inputs])``
    """
    names = [np.dtype(d).name for d in input_dtypes]
    if any(n not in C_TYPES for n in names):
        return None
    if expr.reduction is not None:
        return reduction_source(expr, names)
    types: dict = {}
    lines = _lines(expr, 0, len(expr.steps), names, types)
    if lines is None:
        return None
    for k, j in enumerate(expr.outputs):
        lines.append(f"out{k} = t{j};")
    in_params = ", ".join(f"{n} in{i}" for i, n in enumerate(names))
    out_params = ", ".join(f"{types[j]} out{k}" for k, j in enumerate(expr.outputs))
    operation = "\n".join(lines)
    return KernelSource(in_params, out_params, operation,
                        f"aj_fused_{_digest(in_params, out_params, operation)}")


@dataclasses.dataclass(frozen=True)
class ReductionSource:
    """What ``cupy.ReductionKernel`` takes for a fused reduction, and how to call it: the
    prologue is a device function in ``preamble`` that ``map_expr`` calls per input element,
    the epilogue another that ``post_map_expr`` applies to each reduced value. The inputs are
    broadcast to ``shape`` (the prologue's) and reduced over ``axis`` (``keepdims``), but for
    those in ``raw``: 0-d inputs the epilogue reads (``acc + sum(x)``), passed as they are,
    ``raw`` parameters read as ``in{k}[0]`` (they have no element per reduced value).

    ``sides``: prologue values the kernel also stores, per input element (Note [Side outputs]
    in ``fuse.py``), as raw outputs ``out1, out2, ...`` of the prologue's shape after the
    reduced one. The map function writes them at ``_in_ind.get()``, the linear index of the
    element CuPy's reduction template is mapping: the C order of the prologue's shape, since
    such a reduction's axes lead (so CuPy moves none).

    Usage: ``k = cupy.ReductionKernel(s.in_params, s.out_params, s.map_expr, s.reduce_expr,
    s.post_map_expr, s.identity, s.name, reduce_type=s.reduce_type, preamble=s.preamble)``;
    ``k(*inputs, axis=s.axis, keepdims=s.keepdims)``
    """

    in_params: str
    out_params: str
    map_expr: str
    reduce_expr: str
    post_map_expr: str
    identity: str
    name: str
    reduce_type: str
    preamble: str
    axis: tuple
    keepdims: bool
    shape: tuple
    raw: tuple = ()
    sides: tuple = ()  # per side output (raw out{k}, k >= 1): the step it stores


def _reducer(op: str, dtype: str) -> tuple[str, str]:
    """``reduce_expr`` (of ``a`` and ``b``) and the identity of one reduction."""
    kind = np.dtype(dtype)
    if op in ("reduce_sum", "reduce_mean"):
        return "a + b", literal(kind.type(0))
    if op == "reduce_prod":
        return "a * b", literal(kind.type(1))
    biggest = kind.type(np.inf) if dtype in _FLOAT else kind.type(np.iinfo(kind).max)
    lowest = kind.type(-np.inf) if dtype in _FLOAT else kind.type(np.iinfo(kind).min)
    if op == "reduce_max":
        return (_nan_max("a", "b") if dtype in _FLOAT else "(a > b ? a : b)"), literal(lowest)
    return (_nan_min("a", "b") if dtype in _FLOAT else "(a < b ? a : b)"), literal(biggest)


def reduction_source(expr, names: list[str]) -> ReductionSource | None:
    """The ReductionKernel for a fused expression with a reduction (Note [Reduction groups] in
    ``fuse.py``; its one output is the last step) on inputs of dtype ``names``, or None when a
    step has no template. Usage: ``reduction_source(expr, ["float32", "float32"])``"""
    r = expr.reduction
    step = expr.steps[r]
    dtype = step.spec.dtype.name
    *sides, final = expr.outputs
    if (final != len(expr.steps) - 1 or any(j >= r for j in sides) or dtype not in C_TYPES
            or dtype == "bool"):
        return None
    types: dict = {r: dtype}
    prologue = _lines(expr, 0, r, names, types)
    epilogue = _lines(expr, r + 1, len(expr.steps), names, types)
    if prologue is None or epilogue is None:
        return None
    # 0-d inputs the epilogue reads are raw parameters (Note [Reduction groups] in fuse.py);
    # one input at least must give the kernel its shape.
    raw = tuple(sorted({what for s in expr.steps[r + 1:] for kind, what in s.args
                        if kind == "in"}))
    if any(expr.input_specs[k].shape != () for k in raw) or len(raw) == len(names):
        return None
    (kind, what), = step.args
    value = f"in{what}" if kind == "in" else f"t{what}"
    shape = expr.input_specs[what].shape if kind == "in" else expr.steps[what].spec.shape
    attrs = dict(step.attrs)
    c_type, last = C_TYPES[dtype], len(expr.steps) - 1
    tag = _digest(",".join(names), str(expr), repr(shape))
    preamble, map_expr, reduced = [], value, "a"
    loads = [f"in{i}[0]" if i in raw else f"in{i}" for i in range(len(names))]
    if prologue:
        params = ", ".join(f"const {C_TYPES[n]} in{i}" for i, n in enumerate(names))
        stores = [f"out{k}[aj_i] = t{j};" for k, j in enumerate(sides, 1)]
        if sides:
            params += "".join(f", {C_TYPES[types[j]]}* out{k}"
                              for k, j in enumerate(sides, 1)) + ", const long long aj_i"
            loads += [f"&out{k}[0]" for k in range(1, len(sides) + 1)] + ["_in_ind.get()"]
        preamble.append(_function(f"{c_type} aj_map_{tag}({params})", prologue + stores,
                                  value))
        map_expr = f"aj_map_{tag}({', '.join(loads)})"
    if step.op == "reduce_mean":
        count = int(np.prod([shape[axis] for axis in attrs["axis"]]))
        reduced = f"(a / {literal(np.dtype(dtype).type(count))})"
    result = reduced
    if epilogue:
        params = "".join(f", const {C_TYPES[names[k]]} in{k}" for k in raw)
        preamble.append(_function(
            f"{C_TYPES[types[last]]} aj_post_{tag}(const {c_type} t{r}{params})",
            epilogue, f"t{last}"))
        result = f"aj_post_{tag}({', '.join([reduced] + [f'in{k}[0]' for k in raw])})"
    reduce_expr, identity = _reducer(step.op, dtype)
    out_params = ", ".join([f"{types[last]} out0"] + [
        f"raw {types[j]} out{k}" for k, j in enumerate(sides, 1)])
    return ReductionSource(
        ", ".join(f"{'raw ' if i in raw else ''}{n} in{i}" for i, n in enumerate(names)),
        out_params, map_expr, reduce_expr, f"out0 = {result}", identity,
        f"aj_reduce_{tag}", c_type, "\n".join(preamble), tuple(attrs["axis"]),
        bool(attrs["keepdims"]), tuple(shape), raw, tuple(sides))


def _function(signature: str, lines: list[str], result: str) -> str:
    body = "".join(f"  {line}\n" for line in lines)
    return f"__device__ {signature} {{\n{body}  return {result};\n}}"


def standalone_source(source: "KernelSource | ReductionSource") -> str:
    """A self-contained CUDA translation unit around ``source``'s body (one element per
    thread, contiguous arrays), so bare NVRTC can compile the generated text without CuPy's
    headers (tests/graph/test_cuda_source.py). Usage: ``unit = standalone_source(src)``"""
    if isinstance(source, ReductionSource):
        return standalone_reduction(source)
    params, loads = [], []
    for param in source.in_params.split(", ") if source.in_params else []:
        dtype, name = param.rsplit(" ", 1)
        params.append(f"const {C_TYPES[dtype]}* __restrict__ {name}_p")
        loads.append(f"const {C_TYPES[dtype]} {name} = {name}_p[i];")
    stores = []
    for param in source.out_params.split(", "):
        dtype, name = param.rsplit(" ", 1)
        params.append(f"{C_TYPES[dtype]}* __restrict__ {name}_p")
        loads.append(f"{C_TYPES[dtype]} {name};")
        stores.append(f"{name}_p[i] = {name};")
    body = "\n    ".join([*loads, *source.operation.splitlines(), *stores])
    return (f'extern "C" __global__ void {source.name}({", ".join(params)}, long long n) {{\n'
            "  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n"
            f"  if (i < n) {{\n    {body}\n  }}\n}}\n")


_LINEAR_INDEX = """#ifndef AJ_LINEAR_INDEX
#define AJ_LINEAR_INDEX
struct aj_linear_index { long long i; __device__ long long get() const { return i; } };
#endif"""


def standalone_reduction(source: ReductionSource) -> str:
    """``source`` as a self-contained CUDA unit: ``name(in0_p, ..., out0_p, out1, ..., n, m)``
    computes ``n`` outputs, one per thread, each reducing the ``m`` contiguous elements
    ``[o*m, o*m+m)`` of every input (so the caller moves the reduced axes last and broadcasts
    the inputs to the prologue's shape); side outputs ``out1, ...`` are stored in that same
    layout (``_in_ind`` stands for CuPy's indexer: ``o*m + j``). Usage:
    ``unit = standalone_reduction(src)``"""
    params, loads = [], []
    for param in source.in_params.split(", ") if source.in_params else []:
        dtype, name = param.rsplit(" ", 1)
        if dtype.startswith("raw "):  # read as name[0]: the pointer itself
            params.append(f"const {C_TYPES[dtype[4:]]}* __restrict__ {name}")
            continue
        params.append(f"const {C_TYPES[dtype]}* __restrict__ {name}_p")
        loads.append(f"const {C_TYPES[dtype]} {name} = {name}_p[o * m + j];")
    out_dtype, *side_dtypes = [p.rsplit(" ", 1)[0].removeprefix("raw ")
                               for p in source.out_params.split(", ")]
    out_type, acc = C_TYPES[out_dtype], source.reduce_type
    params.append(f"{out_type}* __restrict__ out0_p")
    params += [f"{C_TYPES[d]}* __restrict__ out{k}" for k, d in enumerate(side_dtypes, 1)]
    if side_dtypes:
        loads.append("const aj_linear_index _in_ind = {o * m + j};")
    load_text = "".join(f"      {line}\n" for line in loads)
    return (f"{_LINEAR_INDEX if side_dtypes else ''}\n{source.preamble}\n"
            f'extern "C" __global__ void {source.name}({", ".join(params)}, long long n, '
            "long long m) {\n"
            "  long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n"
            "  if (o < n) {\n"
            f"    {acc} s = ({acc})({source.identity});\n"
            "    for (long long j = 0; j < m; ++j) {\n"
            f"{load_text}"
            f"      const {acc} a = s, b = ({acc})({source.map_expr});\n"
            f"      s = ({source.reduce_expr});\n"
            "    }\n"
            f"    const {acc} a = s;\n"
            f"    {out_type} out0;\n"
            f"    ({source.post_map_expr});\n"
            "    out0_p[o] = out0;\n"
            "  }\n}\n")


__all__ = ["C_TYPES", "KernelSource", "ReductionSource", "kernel_source", "literal",
           "reduction_source", "standalone_reduction", "standalone_source"]
