"""Higher-order functions over the first axis of tensors, as TF's: ``map_fn``, ``scan``,
``foldl``, ``foldr`` and ``vectorized_map``.

Note [Loops over elements]: each is one ``aj.while_loop`` over ``i`` in ``[0, n)`` (``n`` the
first dim of ``elems``, known or not while tracing) that reads element ``i`` of every tensor
in ``elems`` with ``aj.gather`` and writes what ``fn`` returns into ``aj.TensorArray``s
(``map_fn``, ``scan``) or carries it (``foldl``, ``foldr``). Eagerly and in graphs it is the
same code: eagerly the loop runs in Python, in a graph it is one ``while_loop`` node whose
body traced ``fn`` once, and gradients flow through the loop to ``elems``, the initializer
and whatever ``fn`` captures. ``fn`` is converted by autograph where the function calling
it is (Note [Library code calling user code]).

As TF, what ``fn`` returns must match ``fn_output_signature`` (a dtype, an
``aj.TensorSpec``, or a structure of them) when one is given, and otherwise the structure
and dtypes of ``elems`` (``map_fn``) or of the accumulator (``scan``, ``foldl``, ``foldr``):
a dtype or a structure that differs is an error saying what to pass. ``vectorized_map`` runs
as ``map_fn`` (TF's ``fallback_to_while_loop``): the same results, one element at a time.
"""

from __future__ import annotations

from typing import Any, Callable

from autojit import dtypes, nest
from autojit.errors import InvalidArgumentError, ShapeError
from autojit.graph.control import while_loop
from autojit.ops import core
from autojit.ops.array import shape as dynamic_shape
from autojit.ops.core import TensorSpec
from autojit.ops.indexing import gather
from autojit.tensor import Tensor, convert_to_tensor
from autojit.tensor_array import TensorArray


def _elements(name: str, elems: Any) -> tuple[list, Any]:
    """The tensors of ``elems`` and their common first dim (an int when known, else a
    scalar int32 tensor)."""
    flat = [convert_to_tensor(e) for e in nest.flatten(elems)]
    if not flat:
        raise InvalidArgumentError(f"{name}: elems is empty; expected a tensor or a structure "
                                   "of tensors to iterate over their first axis")
    for t in flat:
        if len(t.shape) == 0:
            raise ShapeError(f"{name}: elems must have a first axis to iterate over, got a "
                             f"scalar {t.dtype.name} tensor")
    known = {t.shape[0] for t in flat if t.shape[0] is not None}
    if len(known) > 1:
        raise ShapeError(f"{name}: the tensors of elems must have the same first dim, got "
                         f"{', '.join(str(t.shape[0]) for t in flat)}")
    n = known.pop() if known else dynamic_shape(flat[0])[0]
    return flat, n


def _signature(name: str, given: Any, like: Any, what: str) -> Any:
    """The output signature: ``given`` (dtypes or specs) as a structure of TensorSpecs with
    unknown element shapes where none is given, or the dtypes of ``like``."""
    if given is None:
        return nest.map_structure(lambda t: TensorSpec(None, convert_to_tensor(t).dtype), like)

    def spec(leaf: Any) -> TensorSpec:
        if isinstance(leaf, TensorSpec):
            return leaf
        try:
            return TensorSpec(None, dtypes.as_dtype(leaf))
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"{name}: {what} must be a dtype, an aj.TensorSpec, or "
                                       f"a structure of them, got {leaf!r:.60}") from None

    return nest.map_structure(spec, given)


def _matched(name: str, value: Any, signature: Any, what: str, fix: str) -> list:
    """The tensors of ``value`` (what ``fn`` returned) checked against ``signature``."""
    if _structure(value) != _structure(signature):
        raise InvalidArgumentError(f"{name}: fn returned {_describe(value)}, but {what} is "
                                   f"{_describe(signature)}; {fix}")
    leaves = nest.flatten(value)
    out = []
    for leaf, spec in zip(leaves, nest.flatten(signature)):
        tensor = convert_to_tensor(leaf, dtype=spec.dtype) if not isinstance(leaf, Tensor) \
            else leaf
        if tensor.dtype != spec.dtype:
            raise InvalidArgumentError(f"{name}: fn returned a {tensor.dtype.name} tensor "
                                       f"where {spec.dtype.name} was expected (from {what}); "
                                       f"{fix}")
        out.append(tensor)
    return out


def _structure(value: Any) -> Any:
    """The nesting of ``value``; lists and tuples alike (fn may return either)."""
    if isinstance(value, (list, tuple)):
        return ("sequence", tuple(_structure(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _structure(value[k])) for k in sorted(value, key=str)))
    return None


def _describe(value: Any) -> str:
    def leaf(x: Any) -> str:
        return x.dtype.name if isinstance(x, (Tensor, TensorSpec)) else type(x).__name__

    if isinstance(value, (list, tuple, dict)):
        return repr(nest.map_structure(leaf, value)).replace("'", "")
    return leaf(value)


def _arrays(signature: Any, n: Any) -> list:
    return [TensorArray(spec.dtype, size=n, element_shape=spec.shape)
            for spec in nest.flatten(signature)]


def map_fn(fn: Callable, elems: Any, dtype: Any = None, parallel_iterations: Any = None,
           back_prop: bool = True, swap_memory: bool = False, infer_shape: bool = True,
           name: str | None = None, fn_output_signature: Any = None) -> Any:
    """``fn`` applied to each element of ``elems`` along its first axis, the results
    stacked (Note [Loops over elements]).

    Usage: ``aj.map_fn(lambda row: aj.reduce_sum(row * row), x)`` (``x``: [n, d] -> [n]);
    ``aj.map_fn(fn, (a, b), fn_output_signature=aj.int32)`` when ``fn`` returns another
    structure or dtype than ``elems``.
    """
    where = "map_fn"
    fn = core.user_function(fn)
    flat, n = _elements(where, elems)
    given = fn_output_signature if fn_output_signature is not None else dtype
    signature = _signature(where, given, elems, "fn_output_signature")
    what = "fn_output_signature" if given is not None else "the structure and dtypes of elems"
    fix = ("pass fn_output_signature= with what fn returns (a dtype, an aj.TensorSpec, or a "
           "structure of them)")

    def body(i: Any, *outputs: Any) -> tuple:
        element = nest.pack_as(elems, [gather(t, i) for t in flat])
        values = _matched(where, fn(element), signature, what, fix)
        return (i + 1, *[ta.write(i, v) for ta, v in zip(outputs, values)])

    result = while_loop(lambda i, *_: i < n, body, (0, *_arrays(signature, n)),
                        back_prop=back_prop)
    return nest.pack_as(signature, [ta.stack() for ta in result[1:]])


def vectorized_map(fn: Callable, elems: Any, fallback_to_while_loop: bool = True,
                   warn: bool = True) -> Any:
    """``fn`` applied to each element of ``elems`` along its first axis, as ``map_fn``
    (TF's while-loop fallback: one element at a time, the same results).

    Usage: ``aj.vectorized_map(lambda row: row / aj.norm(row), x)``
    """
    return map_fn(fn, elems)


def scan(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: Any = None,
         back_prop: bool = True, swap_memory: bool = False, infer_shape: bool = True,
         reverse: bool = False, name: str | None = None) -> Any:
    """Each accumulator ``acc = fn(acc, element)`` over the first axis of ``elems``, stacked
    (``reverse=True``: from the last element). Without ``initializer`` the first element
    starts the accumulator and is the first output (Note [Loops over elements]).

    Usage: ``aj.scan(lambda acc, x: acc + x, aj.constant([1, 2, 3]))`` (``[1, 3, 6]``)
    """
    return _accumulate("scan", fn, elems, initializer, back_prop, reverse, stacked=True)


def foldl(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: Any = None,
          back_prop: bool = True, swap_memory: bool = False, name: str | None = None) -> Any:
    """The last accumulator of ``acc = fn(acc, element)`` over ``elems`` from the first
    element (which starts it when ``initializer`` is None).

    Usage: ``aj.foldl(lambda acc, x: acc * 10 + x, aj.constant([1, 2, 3]))`` (``123``)
    """
    return _accumulate("foldl", fn, elems, initializer, back_prop, False, stacked=False)


def foldr(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: Any = None,
          back_prop: bool = True, swap_memory: bool = False, name: str | None = None) -> Any:
    """The last accumulator of ``acc = fn(acc, element)`` over ``elems`` from the last
    element (which starts it when ``initializer`` is None).

    Usage: ``aj.foldr(lambda acc, x: acc * 10 + x, aj.constant([1, 2, 3]))`` (``321``)
    """
    return _accumulate("foldr", fn, elems, initializer, back_prop, True, stacked=False)


def _accumulate(where: str, fn: Callable, elems: Any, initializer: Any, back_prop: bool,
                reverse: bool, stacked: bool) -> Any:
    fn = core.user_function(fn)
    flat, n = _elements(where, elems)

    def element(k: Any) -> Any:
        return nest.pack_as(elems, [gather(t, k) for t in flat])

    def index(k: Any) -> Any:  # the k-th step reads element n-1-k when reversed
        return n - 1 - k if reverse else k

    start = 0
    if initializer is None:
        if isinstance(n, int) and n == 0:
            raise InvalidArgumentError(f"{where}: elems is empty and there is no initializer; "
                                       "pass initializer= to start the accumulator")
        initializer, start = element(index(0)), 1
    init = nest.map_structure(convert_to_tensor, initializer)
    signature = nest.map_structure(lambda t: TensorSpec(t.shape, t.dtype), init)
    fix = ("fn must return the accumulator's structure and dtypes (cast the result, or pass "
           "an initializer of the dtype fn returns)")
    what = "the accumulator"
    arrays = _arrays(signature, n) if stacked else []
    if stacked and start:
        arrays = [ta.write(index(0), v) for ta, v in zip(arrays, nest.flatten(init))]

    def body(k: Any, acc: Any, *outputs: Any) -> tuple:
        values = _matched(where, fn(nest.pack_as(signature, list(acc)), element(index(k))),
                          signature, what, fix)
        written = [ta.write(index(k), v) for ta, v in zip(outputs, values)]
        return (k + 1, tuple(values), *written)

    result = while_loop(lambda k, *_: k < n, body, (start, tuple(nest.flatten(init)), *arrays),
                        back_prop=back_prop)
    if stacked:
        return nest.pack_as(signature, [ta.stack() for ta in result[2:]])
    return nest.pack_as(signature, list(result[1]))


__all__ = ["map_fn", "vectorized_map", "scan", "foldl", "foldr"]
