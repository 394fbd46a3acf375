"""``x.shape`` is a ``TensorShape``: a tuple of dims with TF's methods, eagerly and while
tracing (where unknown dims are None)."""

import numpy as np
import pytest

import autojit as aj


def test_an_eager_shape_is_a_tuple_with_tfs_methods():
    x = aj.zeros([2, 3])
    shape = x.shape
    assert isinstance(shape, tuple) and isinstance(shape, aj.TensorShape)
    assert shape == (2, 3) and shape != (3, 2) and shape.as_list() == [2, 3]
    n, d = shape
    assert (n, d) == (2, 3) and shape[0] == 2 and shape[-1] == 3
    assert shape.as_list() == [2, 3] and shape.dims == [2, 3]
    assert shape.rank == shape.ndims == 2 == x.ndim
    assert shape.num_elements() == 6 and shape.is_fully_defined()
    assert shape[1:] == (3,) and isinstance(shape[1:], aj.TensorShape)
    assert x.get_shape() == shape and hash(shape) == hash((2, 3))
    assert str(shape) == "(2, 3)" and repr(shape) == "TensorShape([2, 3])"
    assert np.zeros(shape).shape == (2, 3)


def test_a_traced_shape_has_none_for_unknown_dims():
    seen = []

    @aj.function(input_signature=[aj.TensorSpec([None, 4], aj.float32)])
    def f(x):
        seen.append((x.shape.as_list(), x.shape.is_fully_defined(), x.shape.num_elements()))
        return x

    f(aj.zeros([3, 4]))
    assert seen == [([None, 4], False, None)]


def test_building_and_comparing_shapes():
    s = aj.TensorShape([None, 784])
    assert s.is_compatible_with([32, 784]) and not s.is_compatible_with([32, 10])
    assert not s.is_compatible_with([784])
    assert s.concatenate([10]) == (None, 784, 10)
    assert aj.TensorShape(5) == (5,) and aj.TensorShape([]) == ()
    with pytest.raises(ValueError, match="unknown rank"):
        aj.TensorShape(None)
