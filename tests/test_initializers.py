"""aj.initializers: sample statistics against the Keras formulas, seeds, lookup by name, errors."""

import math

import numpy as np
import pytest

import autojit as aj
from autojit import initializers as init

# A unit normal cut to [-2, 2] has this standard deviation (computed here independently).
_PHI = math.exp(-2.0) / math.sqrt(2 * math.pi)
_TRUNC_STD = math.sqrt(1 - 4 * _PHI / math.erf(2 / math.sqrt(2)))


def sample(initializer, shape, dtype=aj.float32):
    out = initializer(shape, dtype)
    assert isinstance(out, aj.Tensor)
    assert out.shape == tuple(shape) and out.dtype == dtype
    return out.numpy().astype(np.float64)


def test_compute_fans_matrix_and_conv_kernel():
    assert init.compute_fans((784, 256)) == (784, 256)
    assert init.compute_fans((3, 3, 16, 32)) == (3 * 3 * 16, 3 * 3 * 32)
    assert init.compute_fans((5,)) == (5, 5)


def test_glorot_uniform_limit_and_variance():
    fan_in, fan_out = 300, 200
    x = sample(init.GlorotUniform(seed=1), (fan_in, fan_out))
    limit = math.sqrt(6 / (fan_in + fan_out))
    assert x.max() <= limit and x.min() >= -limit
    assert x.max() > 0.99 * limit and x.min() < -0.99 * limit
    assert abs(x.std() - limit / math.sqrt(3)) < 0.02 * limit
    assert abs(x.mean()) < 0.01 * limit


def test_he_uniform_limit_on_a_conv_kernel():
    shape = (3, 3, 32, 64)
    x = sample(init.HeUniform(seed=2), shape)
    limit = math.sqrt(6 / (3 * 3 * 32))
    assert x.max() <= limit and x.min() >= -limit and x.max() > 0.99 * limit


@pytest.mark.parametrize("cls, stddev", [
    (init.GlorotNormal, math.sqrt(2 / (400 + 300))),
    (init.HeNormal, math.sqrt(2 / 400)),
])
def test_truncated_variance_scaling_stddev_and_bounds(cls, stddev):
    x = sample(cls(seed=3), (400, 300))
    assert abs(x.std() - stddev) < 0.02 * stddev
    # samples of N(0, (stddev / trunc_std)^2) cut at two of its standard deviations
    bound = 2 * stddev / _TRUNC_STD
    assert np.abs(x).max() <= bound * (1 + 1e-6)
    assert np.abs(x).max() > 0.98 * bound


def test_truncated_normal_bounds_and_moments():
    x = sample(init.TruncatedNormal(mean=1.0, stddev=0.1, seed=4), (200, 200))
    assert x.min() >= 1.0 - 0.2 - 1e-6 and x.max() <= 1.0 + 0.2 + 1e-6
    assert abs(x.mean() - 1.0) < 0.002
    assert abs(x.std() - 0.1 * _TRUNC_STD) < 0.002


def test_untruncated_normal_and_fan_out_mode():
    x = sample(init.VarianceScaling(3.0, "fan_out", "untruncated_normal", seed=5), (100, 400))
    assert abs(x.std() - math.sqrt(3.0 / 400)) < 0.02 * math.sqrt(3.0 / 400)
    assert np.abs(x).max() > 2.5 * math.sqrt(3.0 / 400)  # not cut at two stddevs


def test_random_normal_and_uniform_moments():
    x = sample(init.RandomNormal(mean=-2.0, stddev=0.5, seed=6), (300, 300))
    assert abs(x.mean() + 2.0) < 0.01 and abs(x.std() - 0.5) < 0.01
    u = sample(init.RandomUniform(-1.0, 3.0, seed=7), (300, 300))
    assert u.min() >= -1.0 and u.max() < 3.0
    assert abs(u.mean() - 1.0) < 0.02 and abs(u.std() - 4 / math.sqrt(12)) < 0.02


def test_orthogonal_columns_and_rows_orthonormal():
    q = sample(init.Orthogonal(gain=2.0, seed=8), (64, 16), aj.float64)
    np.testing.assert_allclose(q.T @ q, 4.0 * np.eye(16), atol=1e-10)
    wide = sample(init.Orthogonal(seed=8), (16, 64), aj.float64)
    np.testing.assert_allclose(wide @ wide.T, np.eye(16), atol=1e-10)


def test_constants():
    np.testing.assert_array_equal(sample(init.Zeros(), (2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(sample(init.Ones(), (4,)), np.ones(4))
    np.testing.assert_array_equal(sample(init.Constant(0.25), (2,), aj.float64), [0.25, 0.25])
    assert init.Zeros()((3,), aj.int32).dtype == aj.int32


def test_seeded_initializer_repeats_and_seeds_differ():
    a = init.GlorotUniform(seed=11)((5, 7)).numpy()
    np.testing.assert_array_equal(a, init.GlorotUniform(seed=11)((5, 7)).numpy())
    assert not np.array_equal(a, init.GlorotUniform(seed=12)((5, 7)).numpy())
    neg = init.HeNormal(seed=-3)((4, 4)).numpy()  # any int is a seed, as in TF
    np.testing.assert_array_equal(neg, init.HeNormal(seed=-3)((4, 4)).numpy())


def test_unseeded_follows_global_seed():
    aj.random.set_seed(123)
    a = init.GlorotUniform()((5, 7)).numpy()
    b = init.GlorotUniform()((5, 7)).numpy()
    aj.random.set_seed(123)
    np.testing.assert_array_equal(a, init.GlorotUniform()((5, 7)).numpy())
    assert not np.array_equal(a, b)


def test_float64_keeps_precision():
    x = init.RandomNormal(seed=0)((10,), aj.float64)
    assert x.dtype == aj.float64
    ref = np.random.default_rng(np.random.SeedSequence([0x1A17, 0])).normal(0.0, 0.05, 10)
    np.testing.assert_array_equal(x.numpy(), ref)


def test_runs_eagerly_inside_a_traced_function():
    calls = []

    @aj.function
    def f(x):
        w = init.Ones()((2,))
        calls.append(w)
        return x + w

    np.testing.assert_array_equal(f(aj.constant([1.0, 2.0])).numpy(), [2.0, 3.0])
    assert calls and all(np.array_equal(w.numpy(), [1.0, 1.0]) for w in calls)


def test_get_by_name_and_passthrough():
    assert isinstance(init.get("glorot_uniform"), init.GlorotUniform)
    assert isinstance(init.get("GlorotUniform"), init.GlorotUniform)
    assert isinstance(init.get("he_normal"), init.HeNormal)
    assert isinstance(init.get("zeros"), init.Zeros)
    assert isinstance(init.get(init.Orthogonal), init.Orthogonal)
    g = init.HeNormal(seed=1)
    assert init.get(g) is g and init.get(None) is None
    fn = lambda shape, dtype=None: aj.zeros(shape)
    assert init.get(fn) is fn


def test_config_round_trip():
    v = init.VarianceScaling(2.0, "fan_avg", "uniform", seed=9)
    w = type(v)(**v.get_config())
    np.testing.assert_array_equal(v((3, 4)).numpy(), w((3, 4)).numpy())
    assert "seed=9" in repr(v)


def test_public_names():
    assert aj.initializers is init and aj.keras.initializers is init


def test_errors():
    with pytest.raises(aj.errors.InvalidArgumentError, match="unknown initializer 'glorot'.*"
                       "glorot_uniform"):
        init.get("glorot")
    with pytest.raises(aj.errors.InvalidArgumentError, match="unknown initializer 3"):
        init.get(3)
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match=r"GlorotUniform: expected a floating-point dtype, got int32"):
        init.GlorotUniform()((2, 2), aj.int32)
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match=r"HeNormal: expected a shape such as \(784, 256\), got 5"):
        init.HeNormal()(5)
    with pytest.raises(aj.errors.InvalidArgumentError, match="expected non-negative dims"):
        init.Zeros()((2, -1))
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match="VarianceScaling: expected mode to be one of"):
        init.VarianceScaling(mode="fan")
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match="VarianceScaling: expected distribution to be one of"):
        init.VarianceScaling(distribution="cauchy")
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match=r"VarianceScaling: expected scale > 0.0, got 0.0"):
        init.VarianceScaling(scale=0)
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match="RandomUniform: expected minval < maxval"):
        init.RandomUniform(1.0, 1.0)
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match="RandomNormal: expected stddev >= 0.0, got -1.0"):
        init.RandomNormal(stddev=-1)
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match="GlorotUniform: expected seed to be an int or None, got 1.5"):
        init.GlorotUniform(seed=1.5)
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match=r"Orthogonal: expected a shape of rank >= 2, got \[3\]"):
        init.Orthogonal()((3,))
    with pytest.raises(aj.errors.InvalidArgumentError, match="Constant: expected a number"):
        init.Constant("a")
