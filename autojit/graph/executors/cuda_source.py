"""CUDA source for fused nodes: one ``cupy.ElementwiseKernel`` (parameters, body, name) per
fused expression and dtypes. Pure text, no CuPy: the CPU tests check it, and compile it with
NVRTC where the compiler library is installed.

Each step becomes one typed local (``const float t1 = exp(t0);``) and each result one
assignment to an output parameter. Templates follow NumPy's semantics where C differs:
``maximum``/``minimum`` propagate NaN (C's ``fmax`` drops it), ``sign(nan)`` is NaN, and
``true_divide`` of integers divides in double. ``kernel_source`` returns ``None`` for a step
no template covers (integer ``pow``, arithmetic on bools); the executor then runs that fused
node op by op (``evaluate_fused``), so every graph still runs.
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
    if op == "pow":
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
         "cos": "cos", "tanh": "tanh"}


def kernel_source(expr, input_dtypes: list) -> KernelSource | None:
    """The ElementwiseKernel for fused expression ``expr`` on inputs of ``input_dtypes``, or
    None when a step has no template.

    Usage: ``src = kernel_source(node.attrs["expr"], [v.spec.dtype for v in node.inputs])``
    """
    names = [np.dtype(d).name for d in input_dtypes]
    if any(n not in C_TYPES for n in names):
        return None
    lines = []
    types: list[str] = []
    for j, step in enumerate(expr.steps):
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
        types.append(out)
        lines.append(f"const {C_TYPES[out]} t{j} = {text};")
    for k, j in enumerate(expr.outputs):
        lines.append(f"out{k} = t{j};")
    in_params = ", ".join(f"{n} in{i}" for i, n in enumerate(names))
    out_params = ", ".join(f"{types[j]} out{k}" for k, j in enumerate(expr.outputs))
    operation = "\n".join(lines)
    digest = hashlib.sha1(f"{in_params}|{out_params}|{operation}".encode()).hexdigest()[:12]
    return KernelSource(in_params, out_params, operation, f"aj_fused_{digest}")


def standalone_source(source: KernelSource) -> str:
    """A self-contained CUDA translation unit around ``source``'s body (one element per
    thread, contiguous arrays), so bare NVRTC can compile the generated text without CuPy's
    headers (tests/graph/test_cuda_source.py). Usage: ``unit = standalone_source(src)``"""
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


__all__ = ["C_TYPES", "KernelSource", "kernel_source", "literal", "standalone_source"]
