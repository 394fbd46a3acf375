"""dtypes and promotion: autojit dtypes are NumPy dtype objects; Python scalars are weak.

Note [Weak scalars]: a Python ``int``/``float``/``bool`` mixed with a tensor takes the
tensor's dtype (``f32 * 2.0`` stays float32, ``i32 + 1`` stays int32), as in TF and JAX.
A Python float with an integer tensor is an error, as in TF: cast first. Two tensors of
different dtypes are an error too (no silent promotion); ``aj.cast`` converts.
NumPy arrays and NumPy scalars keep their dtype (they are strong), except ``np.float64``
scalars, which are Python floats and so weak. A lone Python scalar (``aj.constant(1.5)``)
is float32, int32 (int64 when it does not fit), or bool.
"""

from __future__ import annotations

import builtins

import numpy as np

from autojit.errors import DTypeError

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool = np.dtype("bool")  # noqa: A001  (aj.bool, as tf.bool)

DType = np.dtype

_ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool)
_BY_NAME = {d.name: d for d in _ALL}
_FLOATS = frozenset((float16, float32, float64))
_INTS = frozenset((int8, int16, int32, int64, uint8))
# TF's spellings where NumPy reads the name differently ("float" is float64 to NumPy).
_ALIASES = {"float": float32, "double": float64, "half": float16, "int": int32}


def as_dtype(value: object) -> np.dtype:
    """The autojit dtype for ``value`` (a dtype, its name, or a Python/NumPy type).

    Usage: ``aj.as_dtype("float32") is aj.float32``
    """
    if isinstance(value, np.dtype) and value in _ALL:
        return value
    if value is None:
        raise DTypeError("expected a dtype such as aj.float32 or 'int32', got None")
    if isinstance(value, str) and value in _ALIASES:
        return _ALIASES[value]
    if value is builtins.float:
        return float32
    if value is builtins.int:
        return int32
    if value is builtins.bool:
        return bool
    try:
        dt = np.dtype(value)
    except (TypeError, ValueError):
        raise DTypeError(f"expected a dtype such as aj.float32 or 'int32', got {value!r}") from None
    if dt not in _ALL:
        names = ", ".join(sorted(_BY_NAME))
        raise DTypeError(f"dtype {dt.name} is not supported; supported dtypes: {names}")
    return dt


def is_floating(dtype: np.dtype) -> builtins.bool:
    """True for float16/32/64. Usage: ``aj.dtypes.is_floating(x.dtype)``"""
    return dtype in _FLOATS


def is_integer(dtype: np.dtype) -> builtins.bool:
    """True for integer dtypes. Usage: ``aj.dtypes.is_integer(x.dtype)``"""
    return dtype in _INTS


def _article(name: str) -> str:
    return "an" if name[0] in "aeiou" else "a"


def python_scalar_dtype(value: object) -> np.dtype:
    """The dtype a lone Python scalar gets: bool, int32 or float32 (as ``tf.constant``)."""
    if isinstance(value, builtins.bool):
        return bool
    if isinstance(value, builtins.int):
        return int32
    if isinstance(value, builtins.float):
        return float32
    raise DTypeError(f"expected a Python bool, int or float, got {type(value).__name__}")


def weak_scalar_dtype(op_name: str, value: object, partner: np.dtype) -> np.dtype:
    """The dtype a Python scalar takes next to a tensor of dtype ``partner``, or a DTypeError
    naming the op (Note [Weak scalars]). Usage: ``weak_scalar_dtype("add", 2.0, aj.float16)``
    """
    if isinstance(value, builtins.bool):
        if partner == bool or partner in _FLOATS or partner in _INTS:
            return partner
    elif isinstance(value, builtins.int):
        if partner in _FLOATS or partner in _INTS:
            return partner
    elif isinstance(value, builtins.float):
        if partner in _FLOATS:
            return partner
    kind = type(value).__name__
    raise DTypeError(
        f"{op_name}: cannot combine {_article(partner.name)} {partner.name} tensor with the "
        f"Python {kind} {value!r}; pass {_article(partner.name)} {partner.name} value, or "
        f"aj.cast the tensor first (e.g. aj.cast(x, aj.{_cast_hint(value, partner)}))"
    )


def weak_meets(weak: np.dtype, strong: np.dtype) -> np.dtype | None:
    """The dtype a weak tensor (one holding Python numbers, Note [Weak numbers in tensor
    control flow] in autograph/conditionals.py) takes next to a tensor of dtype ``strong``,
    or None where it cannot without loss. Usage: ``weak_meets(aj.int32, aj.float32)``"""
    if weak.kind in "iu" and (strong.kind == "f" or strong.kind in "iu"
                              and strong.itemsize >= weak.itemsize):
        return strong
    if weak.kind == "f" and strong.kind == "f":
        return strong
    return None


def weak_promotion(a: np.dtype, b: np.dtype) -> np.dtype:
    """The dtype two weak values take together: the float one, else the wider.
    Usage: ``weak_promotion(aj.int32, aj.float32)`` is float32"""
    if (a.kind == "f") != (b.kind == "f"):
        return a if a.kind == "f" else b
    return as_dtype(np.promote_types(a, b).name)


def _cast_hint(value: object, partner: np.dtype) -> str:
    if isinstance(value, builtins.float):
        return "float32"
    return "int32" if partner == bool else "float32"


def same_dtype(op_name: str, dtypes: tuple) -> np.dtype:
    """The common dtype of ``dtypes``, or a DTypeError naming the op and both dtypes."""
    first = dtypes[0]
    for dt in dtypes[1:]:
        if dt != first:
            raise DTypeError(
                f"{op_name}: expected inputs of one dtype, got {first.name} and {dt.name}; "
                f"use aj.cast(x, aj.{first.name}) to convert"
            )
    return first
