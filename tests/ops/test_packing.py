"""Lists holding tensors become one tensor by stacking (TF's auto-packing), eagerly and in
graphs, with gradients to each item; ops taking a list (reductions, cast) pack it first."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj


def test_lists_of_tensors_pack_eagerly_and_in_graphs():
    a = aj.constant([1.0, 2.0])
    b = aj.constant([3.0, 4.0])

    def f(a, b):
        return (aj.reduce_sum([a, b]), aj.reduce_max([a, b], axis=0),
                aj.reduce_mean([a, b], axis=1), aj.convert_to_tensor([a, [5.0, 6.0]]),
                aj.cast([a, b], aj.float64))

    expected = [10.0, [3.0, 4.0], [1.5, 3.5], [[1, 2], [5, 6]], [[1, 2], [3, 4]]]
    for run in (f, aj.function(f, autograph=False)):
        out = run(a, b)
        for got, want in zip(out, expected):
            np.testing.assert_allclose(got.numpy(), want)
        assert out[4].dtype == aj.float64 and out[3].dtype == aj.float32


def test_packed_items_get_their_gradients():
    x = aj.constant([0.5, -1.0], dtype=aj.float64)

    def loss(x):
        packed = aj.convert_to_tensor([x * x, [1.0, 2.0], aj.sin(x)])
        return aj.reduce_sum(packed * aj.constant([[1.0], [2.0], [3.0]], dtype=aj.float64))

    with aj.GradientTape() as tape:
        tape.watch(x)
        y = loss(x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(),
                               2 * x.numpy() + 3 * np.cos(x.numpy()))


def test_packing_items_of_different_shapes_is_a_clear_error():
    with pytest.raises(aj.errors.ShapeError, match="stack"):
        aj.convert_to_tensor([aj.constant([1.0, 2.0]), aj.constant([1.0])])


def test_python_data_still_converts_as_numpy_data():
    assert aj.reduce_sum([[1, 2], [3, 4]], axis=1).numpy().tolist() == [3, 7]
    assert aj.cast([1.5, 2.5], aj.int32).numpy().tolist() == [1, 2]
