"""The converted function keeps its signature, docstring, closure and defaults; decorators
of the converted function itself are dropped (nested ones stay)."""

import functools

import autojit as aj
from autojit import autograph

from ..helpers import check


def tagged(fn):
    fn.tag = "kept"
    return fn


@tagged
def decorated(x, scale=2.0, *, bias=1.0):
    """Docstring kept."""
    if x > 0:
        return x * scale + bias
    return x


def with_nested(x):
    @functools.lru_cache(maxsize=None)
    def table(k):
        return k * 10

    def inner(v):
        if v > 0:
            return v + table(2)
        return v

    return inner(x)


def test_signature_docstring_and_attributes():
    converted = autograph.convert(decorated)
    assert converted.__doc__ == "Docstring kept."
    assert converted.__name__ == "decorated" and converted.tag == "kept"
    assert converted(2.0) == 5.0 and converted(2.0, 3.0, bias=0.0) == 6.0
    assert "@tagged" not in autograph.to_code(decorated)


def test_defaults_on_tensors():
    check(decorated, [(2.0,), (-2.0,)], ops={"cond"})


def test_nested_functions_and_their_decorators():
    check(with_nested, [(1.0,), (-1.0,)], ops={"cond"})
    assert "@functools.lru_cache" in autograph.to_code(with_nested)


def test_closures_keep_their_cells():
    def make(limit):
        def fn(x):
            if x > limit:
                return x
            return limit
        return fn

    check(make(1.0), [(3.0,), (0.0,)], ops={"cond"})
    fn = make(2.0)
    converted = autograph.convert(fn)
    assert converted.__closure__[0] is fn.__closure__[0] or any(
        c is fn.__closure__[0] for c in converted.__closure__)


def test_lambdas():
    fn = lambda x, y=2.0: x * y if x > 0 else y  # noqa: E731
    check(fn, [(3.0,), (-3.0,)], ops={"cond"})
    two = [lambda v: v + 1, lambda v: -v if v > 0 else v]  # noqa: E731
    assert autograph.to_code(two[1]) == "lambda v: ag__.if_exp(v > 0, lambda: -v, lambda: v)"
    assert aj.function(two[1])(aj.constant(2.0)).numpy() == -2.0
