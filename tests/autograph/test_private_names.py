"""Private names (``self.__x``) in converted methods mean what Python makes them mean:
``_Class__x`` (Note [Private names] in autograph/mangling.py). Each method is run by
``@aj.function`` with tensor control flow and compared with plain Python on the same object.
"""

import numpy as np
import pytest

import autojit as aj
from autojit.autograph.mangling import enclosing_class


class Base:
    def g(self, x):
        return x + 1.0


class Private(Base):
    def __init__(self):
        self.__scale = aj.constant(2.0)
        self.__count = 0

    def g(self, x):
        return super().g(x) * 2.0

    def __helper(self, x):
        return x * self.__scale

    def read_in_branch(self, x):
        if x > 0:  # a tensor `if`: the attribute is read in a converted branch
            y = self.__helper(x)
        else:
            y = super().g(x)
        return y

    def write_in_loop(self, x):
        self.__total = x * 0.0
        for _ in aj.range(3):  # a tensor loop carrying a private attribute
            self.__total = self.__total + x
        return self.__total

    def local_name(self, x):
        __local = 3.0
        return x * __local + (lambda: self.__scale)()

    def comprehension(self, x):
        return aj.add_n([x * self.__scale for _ in range(2)])

    def nested_class(self, x):
        class Inner:
            __z = 5.0  # Inner's own: _Inner__z

            def z(self):
                return self.__z
        return x * Inner().z() + self._Private__scale

    def keyword(self, x):
        def scaled(__by, **kw):  # a parameter is mangled, a call's keyword is not
            return x * __by + len(kw["__raw"])
        return scaled(self.__scale, __raw=[1, 2])


class _Underscored:
    def __init__(self):
        self.__q = aj.constant(4.0)

    def read(self, x):
        if x > 0:
            return x * self.__q
        return x


METHODS = ["read_in_branch", "write_in_loop", "local_name", "comprehension", "nested_class",
           "keyword"]


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("x", [3.0, -2.0])
def test_private_names_in_converted_methods_agree_with_python(name, x):
    obj = Private()
    want = getattr(obj, name)(aj.constant(x)).numpy()
    got = aj.function(getattr(obj, name))(aj.constant(x)).numpy()
    np.testing.assert_allclose(got, want)


def test_a_class_whose_name_starts_with_underscores():
    obj = _Underscored()
    np.testing.assert_allclose(aj.function(obj.read)(aj.constant(2.0)).numpy(), 8.0)


def test_a_decorated_method_reads_its_private_attribute():
    class Model:
        def __init__(self):
            self.__w = aj.Variable([1.0, 2.0])

        @aj.function
        def __call__(self, x):
            if aj.reduce_sum(x) > 0:
                return x * self.__w
            return x

    np.testing.assert_allclose(Model()(aj.constant([1.0, 1.0])).numpy(), [1.0, 2.0])


@pytest.mark.parametrize("qualname, cls", [
    ("f", None), ("A.f", "A"), ("A.m.<locals>.f", "A"), ("make.<locals>.A.f", "A"),
    ("make.<locals>.f", None), ("Outer.Inner.f", "Inner"),
    ("A.m.<locals>.B.f.<locals>.g", "B"),
])
def test_enclosing_class_from_a_qualname(qualname, cls):
    assert enclosing_class(qualname) == cls
