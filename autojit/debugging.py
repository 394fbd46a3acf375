"""``aj.debugging``: checks on tensor values and shapes, as ``tf.debugging``.

Note [Debugging checks]: a value check (``assert_equal``, ``assert_less``, ``check_numerics``,
...) is one graph ``assert`` op (ops/io.py) over ``reduce_all`` of an elementwise condition,
carrying the compared tensors as data: eagerly it raises at once, inside ``@aj.function`` at
every call that breaks it, an ``aj.errors.InvalidArgumentError`` naming the check, the
condition, the first ``summarize`` values of each tensor and the user's line. A graph holding
one reads its condition back on the host at every call (so it is not captured as a CUDA
graph). Checks of what is known while tracing (``assert_rank``, ``assert_type``, the static
dims of ``assert_shapes``) raise at once, while tracing; ``assert_shapes`` checks the dims
unknown while tracing with the same ``assert`` op. A check returns ``None`` (TF2's eager
result); inside a function it still runs, in program order, as every op with an effect.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError
from autojit.ops import array as array_ops
from autojit.ops import math as math_ops
from autojit.ops.core import as_operand
from autojit.ops.io import assert_that
from autojit.ops.reduce import reduce_all
from autojit.tensor import Tensor

_SUMMARIZE = 3


def _check(name: str, holds: Any, failure: str, message: str | None, data: Sequence[Any],
           labels: Sequence[str], summarize: int | None) -> None:
    text = f"{name}: {message + ': ' if message else ''}{failure}"
    assert_that(reduce_all(holds), text, list(data), list(labels), "InvalidArgumentError",
                _SUMMARIZE if summarize is None else summarize)


def _pair(name: str, x: Any, y: Any) -> tuple:
    x = as_operand(x)
    y = as_operand(y, x.dtype) if not isinstance(y, Tensor) else y
    if x.dtype != y.dtype:
        raise DTypeError(f"{name}: x and y must have one dtype, got {x.dtype.name} and "
                         f"{y.dtype.name}")
    return x, y


def _compare(name: str, op: Any, symbol: str, x: Any, y: Any, message: str | None,
             summarize: int | None) -> None:
    x, y = _pair(name, x, y)
    _check(name, op(x, y), f"condition x {symbol} y did not hold", message, [x, y], ["x", "y"],
           summarize)


def assert_equal(x: Any, y: Any, message: str | None = None, summarize: int | None = None,
                 name: str | None = None) -> None:
    """Check ``x == y`` element-wise (broadcasting). Usage: ``aj.debugging.assert_equal(a, b)``"""
    _compare("assert_equal", math_ops.equal, "==", x, y, message, summarize)


def assert_none_equal(x: Any, y: Any, message: str | None = None,
                      summarize: int | None = None, name: str | None = None) -> None:
    """Check ``x != y`` element-wise. Usage: ``aj.debugging.assert_none_equal(a, 0)``"""
    _compare("assert_none_equal", math_ops.not_equal, "!=", x, y, message, summarize)


def assert_less(x: Any, y: Any, message: str | None = None, summarize: int | None = None,
                name: str | None = None) -> None:
    """Check ``x < y`` element-wise. Usage: ``aj.debugging.assert_less(labels, n_classes)``"""
    _compare("assert_less", math_ops.less, "<", x, y, message, summarize)


def assert_less_equal(x: Any, y: Any, message: str | None = None,
                      summarize: int | None = None, name: str | None = None) -> None:
    """Check ``x <= y`` element-wise. Usage: ``aj.debugging.assert_less_equal(p, 1.0)``"""
    _compare("assert_less_equal", math_ops.less_equal, "<=", x, y, message, summarize)


def assert_greater(x: Any, y: Any, message: str | None = None, summarize: int | None = None,
                   name: str | None = None) -> None:
    """Check ``x > y`` element-wise. Usage: ``aj.debugging.assert_greater(scale, 0.0)``"""
    _compare("assert_greater", math_ops.greater, ">", x, y, message, summarize)


def assert_greater_equal(x: Any, y: Any, message: str | None = None,
                         summarize: int | None = None, name: str | None = None) -> None:
    """Check ``x >= y`` element-wise. Usage: ``aj.debugging.assert_greater_equal(p, 0.0)``"""
    _compare("assert_greater_equal", math_ops.greater_equal, ">=", x, y, message, summarize)


def _sign(name: str, op: Any, symbol: str, x: Any, message: str | None,
          summarize: int | None) -> None:
    x = as_operand(x)
    zero = array_ops.zeros([], x.dtype)
    _check(name, op(x, zero), f"condition x {symbol} 0 did not hold", message, [x], ["x"],
           summarize)


def assert_positive(x: Any, message: str | None = None, summarize: int | None = None,
                    name: str | None = None) -> None:
    """Check ``x > 0`` element-wise. Usage: ``aj.debugging.assert_positive(variance)``"""
    _sign("assert_positive", math_ops.greater, ">", x, message, summarize)


def assert_negative(x: Any, message: str | None = None, summarize: int | None = None,
                    name: str | None = None) -> None:
    """Check ``x < 0`` element-wise. Usage: ``aj.debugging.assert_negative(log_p)``"""
    _sign("assert_negative", math_ops.less, "<", x, message, summarize)


def assert_non_negative(x: Any, message: str | None = None, summarize: int | None = None,
                        name: str | None = None) -> None:
    """Check ``x >= 0`` element-wise. Usage: ``aj.debugging.assert_non_negative(counts)``"""
    _sign("assert_non_negative", math_ops.greater_equal, ">=", x, message, summarize)


def assert_non_positive(x: Any, message: str | None = None, summarize: int | None = None,
                        name: str | None = None) -> None:
    """Check ``x <= 0`` element-wise. Usage: ``aj.debugging.assert_non_positive(log_p)``"""
    _sign("assert_non_positive", math_ops.less_equal, "<=", x, message, summarize)


def assert_near(x: Any, y: Any, rtol: Any = None, atol: Any = None,
                message: str | None = None, summarize: int | None = None,
                name: str | None = None) -> None:
    """Check ``|x - y| <= atol + rtol * |y|`` element-wise (both default to 10 * eps of the
    dtype, as TF). Usage: ``aj.debugging.assert_near(got, want, atol=1e-6)``"""
    x, y = _pair("assert_near", x, y)
    if not dtypes.is_floating(x.dtype):
        raise DTypeError(f"assert_near: expected float tensors, got {x.dtype.name}")
    eps = 10 * float(np.finfo(x.dtype).eps)
    rtol = eps if rtol is None else float(rtol)
    atol = eps if atol is None else float(atol)
    holds = math_ops.less_equal(math_ops.abs(x - y), atol + rtol * math_ops.abs(y))
    _check("assert_near", holds, f"condition |x - y| <= {atol:g} + {rtol:g} * |y| did not hold",
           message, [x, y], ["x", "y"], summarize)


def check_numerics(tensor: Any, message: str, name: str | None = None) -> Any:
    """``tensor`` itself, after checking that it holds no NaN or infinity (its gradient passes
    through). Usage: ``logits = aj.debugging.check_numerics(logits, "logits")``"""
    x = as_operand(tensor)
    if not dtypes.is_floating(x.dtype):
        raise DTypeError(f"check_numerics: expected a float tensor, got {x.dtype.name}")
    _check("check_numerics", math_ops.is_finite(x), "the tensor holds NaN or infinity", message,
           [x], ["tensor"], None)
    return x


def assert_all_finite(x: Any, message: str, name: str | None = None) -> Any:
    """``check_numerics`` under TF2's other name.

    Usage: ``grads = aj.debugging.assert_all_finite(grads, "gradients")``
    """
    return check_numerics(x, message)


def assert_rank(x: Any, rank: int, message: str | None = None, name: str | None = None) -> None:
    """Check that ``x`` has ``rank`` dims (known while tracing: checked at once).

    Usage: ``aj.debugging.assert_rank(images, 4)``
    """
    x = as_operand(x)
    if len(x.shape) != int(rank):
        raise InvalidArgumentError(f"assert_rank: {message + ': ' if message else ''}expected "
                                   f"rank {int(rank)}, got a tensor of shape "
                                   f"{list(x.shape)} (rank {len(x.shape)})")


def assert_type(tensor: Any, tf_type: Any, message: str | None = None,
                name: str | None = None) -> None:
    """Check the dtype of ``tensor`` (known while tracing: checked at once).

    Usage: ``aj.debugging.assert_type(labels, aj.int64)``
    """
    want = dtypes.as_dtype(tf_type)
    got = as_operand(tensor).dtype
    if got != want:
        raise DTypeError(f"assert_type: {message + ': ' if message else ''}expected "
                         f"{want.name}, got {got.name}")


def assert_shapes(shapes: Any, data: Any = None, summarize: int | None = None,
                  message: str | None = None, name: str | None = None) -> None:
    """Check tensors against shapes whose dims are ints or names; a name means the same size
    wherever it appears, ``None`` or ``"."`` any size (TF's spelling; a leading ``"..."`` or
    ``"*"`` takes any leading dims). Dims known while tracing are checked at once, unknown
    ones at every call (Note [Debugging checks]).

    Usage: ``aj.debugging.assert_shapes([(x, ("N", "D")), (w, ("D", 10)), (b, (10,))])``
    """
    items = list(shapes.items()) if isinstance(shapes, dict) else list(shapes)
    sizes: dict[str, tuple[Any, str]] = {}  # name -> (size: int or a scalar tensor, where)
    prefix = f"assert_shapes: {message + ': ' if message else ''}"
    for k, (tensor, spec) in enumerate(items):
        x = as_operand(tensor)
        spec = (spec,) if isinstance(spec, (int, str)) else tuple(spec)
        shape = tuple(x.shape)
        leading = bool(spec) and spec[0] in ("...", "*")
        spec = spec[1:] if leading else spec
        what = f"tensor #{k} ({x.dtype.name}{list(shape)})"
        if len(shape) < len(spec) or (not leading and len(shape) != len(spec)):
            raise InvalidArgumentError(f"{prefix}{what} should have rank "
                                       f"{'at least ' if leading else ''}{len(spec)} for "
                                       f"{_spec_text(spec, leading)}")
        for j, want in enumerate(spec):
            axis = len(shape) - len(spec) + j
            if want is None or want == ".":
                continue
            have = shape[axis]
            size = have if have is not None else array_ops.shape(x)[axis]
            if isinstance(want, str):
                if want not in sizes:
                    sizes[want] = (size, f"dim {axis} of {what}")
                    continue
                label = f"{want!r} ({sizes[want][1]})"
                want = sizes[want][0]
            else:
                label = str(int(want))
            if isinstance(want, int) and isinstance(size, int):
                if want != size:
                    raise InvalidArgumentError(f"{prefix}dim {axis} of {what} is {size}, but "
                                               f"{_spec_text(spec, leading)} says {label} = "
                                               f"{want}")
                continue
            _check_sizes(size, want, f"{prefix}dim {axis} of {what} must equal {label}",
                         summarize)


def _check_sizes(size: Any, want: Any, text: str, summarize: int | None) -> None:
    a = size if isinstance(size, Tensor) else array_ops.constant(size, dtypes.int32)
    b = want if isinstance(want, Tensor) else array_ops.constant(want, dtypes.int32)
    assert_that(math_ops.equal(a, b), text, [a, b], ["size", "expected"],
                "InvalidArgumentError", _SUMMARIZE if summarize is None else summarize)


def _spec_text(spec: tuple, leading: bool) -> str:
    dims = ["..."] * leading + ["." if d is None else str(d) for d in spec]
    return f"({', '.join(dims)})"


def is_numeric_tensor(tensor: Any) -> bool:
    """True for a tensor of a number dtype. Usage: ``aj.debugging.is_numeric_tensor(x)``"""
    return isinstance(tensor, Tensor) and tensor.dtype.kind in "biufc" and \
        tensor.dtype != dtypes.bool


__all__ = ["assert_all_finite", "assert_equal", "assert_greater", "assert_greater_equal",
           "assert_less", "assert_less_equal", "assert_near", "assert_negative",
           "assert_non_negative", "assert_non_positive", "assert_none_equal", "assert_positive",
           "assert_rank", "assert_shapes", "assert_type", "check_numerics", "is_numeric_tensor"]
