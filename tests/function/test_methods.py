"""@aj.function on methods and Modules: one cache per instance, ``Module.__call__``
decorated, and instances that can be garbage-collected (the cache never keeps them)."""

from __future__ import annotations

import dataclasses
import gc
import weakref

import numpy as np
import pytest

import autojit as aj
from autojit.errors import TracingError

from .common import AUTOGRAPH


class Scale(aj.Module):
    def __init__(self, k, name=None):
        super().__init__(name=name)
        self.k = aj.Variable(k, dtype=aj.float32)
        self.calls = 0

    @aj.function(autograph=AUTOGRAPH)
    def __call__(self, x):
        self.calls += 1  # Python side effect: counts traces
        return x * self.k

    @aj.function(autograph=AUTOGRAPH, input_signature=[aj.TensorSpec([None], aj.float32)])
    def shifted(self, x):
        return x + self.k


class MLP(aj.Module):
    """Two Dense layers; variables are created in __init__ (eagerly)."""

    def __init__(self):
        super().__init__()
        self.hidden = aj.layers.Dense(3, 8, activation=aj.nn.relu)
        self.out = aj.layers.Dense(8, 2)

    @aj.function(autograph=AUTOGRAPH)
    def __call__(self, x):
        return self.out(self.hidden(x))


class Lazy(aj.Module):
    """Creates its variable on the first call (allowed: it is the first trace)."""

    def __init__(self):
        super().__init__()
        self.w = None

    @aj.function(autograph=AUTOGRAPH)
    def __call__(self, x):
        if self.w is None:
            self.w = aj.Variable(aj.ones((x.shape[-1],)), name="w")
        return x * self.w


X = aj.constant(np.array([1.0, 2.0, 3.0], np.float32))


def test_each_instance_has_its_own_cache():
    a, b = Scale(2.0), Scale(3.0)
    np.testing.assert_allclose(a(X).numpy(), 2.0 * X.numpy())
    np.testing.assert_allclose(b(X).numpy(), 3.0 * X.numpy())
    np.testing.assert_allclose(a(X).numpy(), 2.0 * X.numpy())
    assert a.__call__.tracing_count == 1 and b.__call__.tracing_count == 1
    assert (a.calls, b.calls) == (1, 1)
    assert a.__call__.function is a.__call__.function  # one bound Function per instance
    assert a.__call__ == a.__call__ and a.__call__ != b.__call__
    assert a.__call__ is not b.__call__
    assert Scale.__call__.tracing_count == 0  # the class-level function is never traced


def test_module_variables_are_read_by_reference():
    a = Scale(2.0)
    a(X)
    a.k.assign(10.0)
    np.testing.assert_allclose(a(X).numpy(), 10.0 * X.numpy())
    assert a.__call__.tracing_count == 1


def test_method_input_signature_names_the_argument_not_self():
    a = Scale(1.0)
    np.testing.assert_allclose(a.shifted(X).numpy(), X.numpy() + 1.0)
    np.testing.assert_allclose(a.shifted(aj.ones((5,))).numpy(), np.full(5, 2.0))
    assert a.shifted.tracing_count == 1
    with pytest.raises(TracingError, match="argument `x` must match"):
        a.shifted(aj.ones((2, 2)))


def test_layers_inside_a_traced_module_call():
    model = MLP()
    x = aj.constant(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
    expected = model.out(model.hidden(x))  # eager: the layers are plain Modules
    np.testing.assert_allclose(model(x).numpy(), expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(model(x).numpy(), expected.numpy(), rtol=1e-6)
    assert model.__call__.tracing_count == 1


def test_variables_created_on_the_first_trace_of_each_instance():
    first, second = Lazy(), Lazy()
    x = aj.constant(np.array([[1.0, 2.0]], np.float32))
    np.testing.assert_allclose(first(x).numpy(), x.numpy())
    np.testing.assert_allclose(second(x).numpy(), x.numpy())  # its own first trace
    first.w.assign([2.0, 3.0])
    np.testing.assert_allclose(first(x).numpy(), [[2.0, 6.0]])
    assert first.w is not second.w and len(first.trainable_variables) == 1
    assert first.__call__.tracing_count == 1


def test_instances_can_be_garbage_collected():
    a = Scale(2.0)
    a(X)
    a.shifted(X)
    method = Scale.__call__
    ref = weakref.ref(a)
    bound_ref = weakref.ref(a.__call__.function)
    del a
    gc.collect()
    assert ref() is None, "the @function cache keeps the instance alive"
    assert bound_ref() is None, "the bound function (and its graphs) outlive the instance"
    assert method.tracing_count == 0


def test_many_instances_do_not_accumulate_in_the_cache():
    refs = []
    for k in range(20):
        module = Scale(float(k))
        module(X)
        refs.append(weakref.ref(module))
    del module
    gc.collect()
    assert all(r() is None for r in refs)
    assert not Scale.__call__._bound  # the per-instance table emptied itself


def test_a_bound_function_whose_instance_is_gone_says_so():
    a = Scale(2.0)
    bound = a.__call__.function  # the per-instance Function holds the instance weakly
    bound(X)
    del a
    gc.collect()
    with pytest.raises(TracingError, match="object this method belongs to is gone"):
        bound(aj.ones((7,)))  # a new shape needs a trace, which needs the instance


def test_a_method_of_a_temporary_object():
    class Doubler:
        @aj.function(autograph=AUTOGRAPH)
        def apply(self, x):
            return x * 2.0

    np.testing.assert_allclose(Doubler().apply(X).numpy(), 2.0 * X.numpy())
    method = Doubler().apply  # keeps its object alive, as a Python bound method does
    gc.collect()
    np.testing.assert_allclose(method(aj.ones((7,))).numpy(), np.full(7, 2.0))
    assert method.tracing_count == 1 and isinstance(method.__self__, Doubler)


def test_methods_of_unhashable_instances():
    @dataclasses.dataclass  # eq=True: instances are unhashable
    class Affine:
        scale: float
        shift: float

        @aj.function(autograph=AUTOGRAPH)
        def __call__(self, x):
            return x * self.scale + self.shift

    a, b = Affine(2.0, 1.0), Affine(2.0, 1.0)  # equal, but separate instances
    np.testing.assert_allclose(a(X).numpy(), 2.0 * X.numpy() + 1.0)
    b.shift = 5.0
    np.testing.assert_allclose(b(X).numpy(), 2.0 * X.numpy() + 5.0)
    assert a.__call__.function is a.__call__.function
    assert a.__call__.function is not b.__call__.function


def test_run_eagerly_calls_the_method(run_eagerly):
    a = Scale(2.0)
    run_eagerly(True)
    np.testing.assert_allclose(a(X).numpy(), 2.0 * X.numpy())
    np.testing.assert_allclose(a(X).numpy(), 2.0 * X.numpy())
    assert a.calls == 2 and a.__call__.tracing_count == 0
