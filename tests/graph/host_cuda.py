"""Run generated CUDA kernels on the CPU: the units of ``standalone_source`` compiled as host
C++ with g++ behind a small shim, loaded with ctypes (a test helper for
tests/graph/test_cuda_host.py, so the kernels' numbers are checked without a GPU).

The shim maps what the generated text uses onto the C++ standard library: ``__global__``
vanishes, ``blockIdx``/``blockDim``/``threadIdx`` become globals, ``__int_as_float`` and
``__longlong_as_double`` reinterpret bits, and ``using namespace std`` makes ``exp(float)``
pick the float overload as CUDA's headers do. Each kernel gets an ``extern "C"`` driver,
``name_host(args..., n)``, that runs the kernel once per element with ``blockIdx.x = i``, so
Python calls it once (a reduction unit's, ``name_host(args..., n, m)``, runs it once per
output, the caller having laid each input out as ``n`` rows of the ``m`` elements one output
reduces); a SIGFPE in the kernel (integer division by zero) raises ``ArithmeticError``
instead of killing the process. ``-fwrapv`` gives signed overflow the GPU's wrap-around and
``-ffp-contract=off`` keeps ``a * b + c`` two roundings, as NumPy computes it.

Usage::

    (kernel,) = compile_kernels([source])      # KernelSource or standalone_source text
    out0, out1 = kernel(x, y, shape=(4, 3))    # inputs broadcast to ``shape``
    (total,) = compile_kernels([reduction])    # a ReductionSource (or its unit's text)
    (out0,) = total(x, y)                      # over its axis, keepdims, to its shape
"""

from __future__ import annotations

import atexit
import ctypes
import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from autojit.graph.executors.cuda_source import C_TYPES, ReductionSource, standalone_source

SHIM = r"""
#include <cmath>
#include <csetjmp>
#include <csignal>
#include <cstring>
using namespace std;
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
struct aj_dim3 { unsigned x; };
static aj_dim3 blockIdx = {0}, blockDim = {1}, threadIdx = {0};
static inline float __int_as_float(int bits) {
  float x; memcpy(&x, &bits, sizeof x); return x;
}
static inline double __longlong_as_double(long long bits) {
  double x; memcpy(&x, &bits, sizeof x); return x;
}
static sigjmp_buf aj_trap;
static void aj_on_trap(int) { siglongjmp(aj_trap, 1); }
template <class F> static int aj_guarded(F body) {  // 1 when the body trapped (SIGFPE)
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = aj_on_trap;
  sigemptyset(&act.sa_mask);
  sigaction(SIGFPE, &act, &old);
  int trapped = sigsetjmp(aj_trap, 1);
  if (!trapped) body();
  sigaction(SIGFPE, &old, nullptr);
  return trapped;
}
static inline float rsqrtf(float x) { return 1.0f / sqrt(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
static inline float rsqrt(float x) { return 1.0f / sqrt(x); }
"""
FLAGS = ["-O1", "-shared", "-fPIC", "-std=c++17", "-fwrapv", "-ffp-contract=off", "-w"]
_DTYPE_OF_C = {c: d for d, c in C_TYPES.items()}
_SIGNATURE = re.compile(r'extern "C" __global__ void (\w+)\((.*)\) \{')
# ``in0_p`` is read one element per thread; a raw parameter (``in1``, no ``_p``) as ``in1[0]``
_PARAM = re.compile(r"(const )?(.+?)\* __restrict__ (\w+?)(_p)?")


@dataclasses.dataclass(frozen=True)
class HostKernel:
    """One generated kernel, callable on NumPy arrays: returns its outputs, each of ``shape``
    (the inputs broadcast to it; default: their broadcast shape)."""

    name: str
    in_dtypes: tuple
    out_dtypes: tuple
    function: object

    def __call__(self, *inputs, shape=None):
        if len(inputs) != len(self.in_dtypes):
            raise TypeError(f"{self.name} takes {len(self.in_dtypes)} inputs, got {len(inputs)}")
        arrays = [np.asarray(a) for a in inputs]
        if shape is None:
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
        args = []
        for k, (array, dtype) in enumerate(zip(arrays, self.in_dtypes)):
            if array.dtype != np.dtype(dtype):
                raise TypeError(f"{self.name}: in{k} is {dtype}, got {array.dtype}")
            args.append(np.ascontiguousarray(np.broadcast_to(array, shape)))
        outs = [np.empty(shape, dtype) for dtype in self.out_dtypes]
        n = int(np.prod(shape, dtype=np.int64))
        if self.function(*(a.ctypes.data for a in args + outs), n):
            raise ArithmeticError(f"{self.name} trapped (SIGFPE: an integer division by zero "
                                  "or INT_MIN / -1, which a GPU does not trap)")
        return tuple(outs)


_SOURCE = object()  # HostReduction's call: take axis from the source


@dataclasses.dataclass(frozen=True)
class HostReduction:
    """One generated reduction kernel, callable on NumPy arrays: the inputs are broadcast to
    ``shape`` (default: the source's, else their broadcast shape), ``axis`` moved last and
    each output reduces one contiguous row of ``m`` elements (as ``standalone_reduction``
    asks of its caller); returns ``(out0,)`` of the reduced shape, ``keepdims`` honoured,
    then any side outputs of the inputs' shape.
    ``axis=None`` reduces every axis (as CuPy's ``ReductionKernel``). Usage:
    ``(out,) = kernel(x, b)`` (the source's own axis) or ``kernel(x, axis=(0,), keepdims=True)``
    """

    name: str
    in_dtypes: tuple
    out_dtypes: tuple  # one
    function: object
    axis: tuple | None = None
    keepdims: bool = False
    shape: tuple | None = None
    raw: tuple = ()  # inputs passed as they are (0-d, read as ``in{k}[0]``), not broadcast

    def __call__(self, *inputs, axis=_SOURCE, keepdims=None, shape=None):
        if len(inputs) != len(self.in_dtypes):
            raise TypeError(f"{self.name} takes {len(self.in_dtypes)} inputs, got {len(inputs)}")
        arrays = [np.asarray(a) for a in inputs]
        axis = self.axis if axis is _SOURCE else axis
        keepdims = self.keepdims if keepdims is None else bool(keepdims)
        if shape is None:
            shape = self.shape if self.shape is not None else np.broadcast_shapes(
                *(a.shape for a in arrays))
        shape = tuple(shape)
        ndim = len(shape)
        if axis is None:
            axes = tuple(range(ndim))
        else:
            axes = tuple(sorted({a % ndim for a in ((axis,) if isinstance(axis, int) else axis)}))
        kept = [d for d in range(ndim) if d not in axes]
        last = list(range(ndim - len(axes), ndim))
        args = []
        for k, (array, dtype) in enumerate(zip(arrays, self.in_dtypes)):
            if array.dtype != np.dtype(dtype):
                raise TypeError(f"{self.name}: in{k} is {dtype}, got {array.dtype}")
            if k in self.raw:
                args.append(np.ascontiguousarray(array))
                continue
            moved = np.moveaxis(np.broadcast_to(array, shape), axes, last)
            args.append(np.ascontiguousarray(moved))
        n = int(np.prod([shape[d] for d in kept], dtype=np.int64))
        m = int(np.prod([shape[d] for d in axes], dtype=np.int64))
        out = np.empty(n, self.out_dtypes[0])
        sides = [np.empty(n * m, dtype) for dtype in self.out_dtypes[1:]]
        if self.function(*(a.ctypes.data for a in args + [out] + sides), n, m):
            raise ArithmeticError(f"{self.name} trapped (SIGFPE: an integer division by zero "
                                  "or INT_MIN / -1, which a GPU does not trap)")
        reduced = ([1 if d in axes else shape[d] for d in range(ndim)] if keepdims
                   else [shape[d] for d in kept])
        moved = [shape[d] for d in kept] + [shape[d] for d in axes]  # the sides' layout
        return (out.reshape(reduced),
                *(np.moveaxis(side.reshape(moved), last, axes) for side in sides))


def _parse(unit: str) -> tuple[str, list, list, list]:
    """name, input dtypes, output dtypes and the C parameter texts of a standalone unit (an
    elementwise one ends in ``long long n``, a reduction in ``long long n, long long m``)."""
    match = _SIGNATURE.search(unit)
    if match is None:
        raise ValueError(f"not a standalone_source unit:\n{unit}")
    name, params = match.group(1), match.group(2).split(", ")
    sizes = 2 if params[-2:] == ["long long n", "long long m"] else 1
    assert params[-1] == "long long n" or sizes == 2, params
    ins, outs = [], []
    for text in params[:-sizes]:
        param = _PARAM.fullmatch(text)
        assert param is not None, text
        (outs if param.group(1) is None else ins).append(_DTYPE_OF_C[param.group(2)])
    return name, ins, outs, params


def _dtypes(params: str) -> list:
    """``"float32 in0, raw bool in1"`` -> ``["float32", "bool"]``"""
    return [p.rsplit(" ", 1)[0].removeprefix("raw ") for p in params.split(", ")] if params else []


def _driver(name: str, params: list) -> str:
    names = [p.rsplit(" ", 1)[1] for p in params]
    call = f"{name}({', '.join(names)})"
    return (f'extern "C" int {name}_host({", ".join(params)}) {{\n'
            "  return aj_guarded([&] {\n"
            f"    for (long long b = 0; b < n; ++b) {{ blockIdx.x = (unsigned)b; {call}; }}\n"
            "  });\n}\n")


_TMP: list = []
_CACHE: dict = {}
_SHIM_CHECKED: list = []


def _tmpdir() -> str:
    if not _TMP:
        _TMP.append(tempfile.mkdtemp(prefix="aj_host_cuda_"))
        atexit.register(shutil.rmtree, _TMP[0], ignore_errors=True)
    return _TMP[0]


def compiler() -> str | None:
    """The host C++ compiler, or None. Usage: ``if compiler() is None: ...``"""
    return shutil.which("g++") or shutil.which("c++")


def _compile(text: str, tag: str) -> tuple[str | None, str]:
    """(path of the shared library or None, compiler log)."""
    cxx = compiler()
    if cxx is None:
        pytest.skip("no C++ compiler (g++ or c++) to run the generated kernels on the host")
    folder = _tmpdir()
    source = os.path.join(folder, f"{tag}.cpp")
    library = os.path.join(folder, f"{tag}.so")
    with open(source, "w") as f:
        f.write(text)
    try:
        done = subprocess.run([cxx, *FLAGS, source, "-o", library], check=False,
                              capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"the C++ compiler {cxx} could not run: {exc}")
    return (library if done.returncode == 0 else None), done.stdout + done.stderr


def _check_shim() -> None:
    """Skip when the shim alone does not build and load: the environment, not the kernels."""
    if _SHIM_CHECKED:
        return
    library, log = _compile(SHIM + 'extern "C" int aj_probe() { return 7; }\n', "shim")
    if library is None:
        pytest.skip(f"the host C++ compiler cannot build the CUDA shim:\n{log}")
    try:
        assert ctypes.CDLL(library).aj_probe() == 7
    except OSError as exc:
        pytest.skip(f"a host-compiled library could not be loaded: {exc}")
    _SHIM_CHECKED.append(True)


def compile_kernels(sources: list) -> list:
    """One ``HostKernel`` per elementwise source (a ``KernelSource`` or a ``standalone_source``
    unit), one ``HostReduction`` per reduction (a ``ReductionSource``, whose axis, keepdims
    and shape it keeps, or a ``standalone_reduction`` unit, which gets them per call), all
    compiled as one translation unit, once per set of sources in a process. Skips the test
    when no compiler works; fails it, with the compiler's log, when the generated code does
    not compile. Usage: ``(kernel,) = compile_kernels([kernel_source(expr, dtypes)])``"""
    units = [s if isinstance(s, str) else standalone_source(s) for s in sources]
    key = tuple((unit, (s.axis, s.keepdims, s.shape) if isinstance(s, ReductionSource) else None)
                for unit, s in zip(units, sources))  # one unit text serves every axis
    if key in _CACHE:
        return _CACHE[key]
    _check_shim()
    parsed = [_parse(unit) for unit in units]
    for source, (name, ins, outs, _) in zip(sources, parsed):
        if not isinstance(source, str):  # the signature says what the params say
            assert (ins, outs) == (_dtypes(source.in_params), _dtypes(source.out_params)), name
    unique = {}
    for unit, (name, *_rest) in zip(units, parsed):
        unique.setdefault(name, unit)  # one definition per kernel name (names are digests)
    drivers = {name: _driver(name, params) for name, _, _, params in parsed}
    text = SHIM + "\n".join(unique.values()) + "\n" + "\n".join(drivers.values())
    tag = hashlib.sha1(text.encode()).hexdigest()[:16]
    library, log = _compile(text, tag)
    if library is None:
        numbered = "\n".join(f"{i + 1:5d}  {line}" for i, line in enumerate(text.splitlines()))
        pytest.fail(f"generated CUDA source does not compile as host C++:\n{log}\n{numbered}",
                    pytrace=False)
    lib = ctypes.CDLL(library)
    kernels = []
    for source, (name, ins, outs, params) in zip(sources, parsed):
        function = getattr(lib, f"{name}_host")
        function.restype = ctypes.c_int
        sizes = len(params) - len(ins) - len(outs)
        function.argtypes = ([ctypes.c_void_p] * (len(ins) + len(outs))
                             + [ctypes.c_longlong] * sizes)
        if sizes == 1:
            kernels.append(HostKernel(name, tuple(ins), tuple(outs), function))
            continue
        known = isinstance(source, ReductionSource)
        kernels.append(HostReduction(
            name, tuple(ins), tuple(outs), function, source.axis if known else None,
            source.keepdims if known else False, source.shape if known else None,
            source.raw if known else ()))
    _CACHE[key] = kernels
    return kernels


__all__ = ["HostKernel", "HostReduction", "compile_kernels", "compiler"]
