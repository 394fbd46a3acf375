"""Differential gradient test: random differentiable programs (``gradient_fuzz.py``), each run

1. eagerly, against the NumPy version of the same source (values);
2. eagerly under a tape, against central differences of the NumPy version along a random
   direction (first derivatives), and under nested tapes against central differences of the
   eager gradient (second derivatives, as a Hessian-vector product);
3. inside ``@aj.function`` with the tapes inside the function;
4. as an ``@aj.function`` called under eager tapes (first and second order);
5. with the differentiated inputs as ``aj.Variable``s the function reads (tapes inside it,
   and it under eager tapes), assigning other values to them between the forward pass and
   each gradient (a VJP must use the values the forward saw), and as eager tensors the
   function captures (tapes inside it);

on several inputs through one function object each, which must trace once. All in float64.

``AUTOJIT_GRADFUZZ_N`` sets the number of programs (default 300), ``AUTOJIT_GRADFUZZ_SEED``
the first seed: ``AUTOJIT_GRADFUZZ_N=3000 pytest tests/function/test_gradient_fuzz.py``.
"""

from __future__ import annotations

import linecache
import os
import warnings

import numpy as np
import pytest

import autojit as aj

from .gradient_fuzz import AJ, DIFFERENTIATED, MARGINS, NP, SHAPES, generate

N = int(os.environ.get("AUTOJIT_GRADFUZZ_N", "300"))
SEED = int(os.environ.get("AUTOJIT_GRADFUZZ_SEED", "0"))
BATCH = 25
EPS = 1e-6
F64 = aj.float64
ZERO = aj.UnconnectedGradients.ZERO


def compile_program(source: str, seed: int):
    filename = f"<gradient-fuzz-{seed}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict = {}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace["f"]


def make_inputs(seed: int, count: int = 3) -> list[dict]:
    rng = np.random.default_rng(seed)
    sets = []
    for k in range(count):
        values = {name: rng.standard_normal(shape) * 0.8 for name, shape in SHAPES.items()}
        values["n"] = (k + seed) % 4
        sets.append(values)
    return sets


def numpy_value(fn, values: dict) -> tuple[float, float]:
    """The NumPy program's value and the closest any branch decision came to flipping."""
    MARGINS.clear()
    out = float(fn(NP, *(values[k] for k in ("x", "w", "b", "c", "n"))))
    return out, min(MARGINS, default=np.inf)


def tensors(values: dict) -> list:
    return [aj.constant(values[k], F64) for k in ("x", "w", "b", "c")] + [
        aj.constant(values["n"], aj.int32)]


def with_tapes(call, args, r):
    """value, first derivatives and the Hessian-vector product along ``r`` (a list per
    differentiated input), with nested tapes around ``call(*args)``."""
    sources = args[:3]
    with aj.GradientTape() as outer:
        outer.watch(sources)
        with aj.GradientTape() as inner:
            inner.watch(sources)
            y = call(*args)
        grads = inner.gradient(y, sources, unconnected_gradients=ZERO)
        projected = aj.add_n([aj.reduce_sum(g * v) for g, v in zip(grads, r)])
    hvp = outer.gradient(projected, sources, unconnected_gradients=ZERO)
    return y, grads, hvp


def with_variable_tapes(call, args, variables, r):
    """``with_tapes`` for a ``call`` reading ``variables`` (the differentiated inputs), which
    are assigned other values after the forward pass and after the first gradient."""
    def scramble():
        for v in variables:
            v.assign(v * -1.7 + 0.3)

    with aj.GradientTape() as outer:
        with aj.GradientTape() as inner:
            y = call(*args)
        scramble()
        grads = inner.gradient(y, variables, unconnected_gradients=ZERO)
        projected = aj.add_n([aj.reduce_sum(g * v) for g, v in zip(grads, r)])
    scramble()
    hvp = outer.gradient(projected, variables, unconnected_gradients=ZERO)
    return y, grads, hvp


def run_one(seed: int) -> set[str]:
    program = generate(seed)
    fn = compile_program(program.source, seed)
    rng = np.random.default_rng(10_000 + seed)
    d = [rng.standard_normal(SHAPES[k]) for k in DIFFERENTIATED]
    r = [aj.constant(rng.standard_normal(SHAPES[k]), F64) for k in DIFFERENTIATED]

    def eager(x, w, b, c, n):
        return fn(AJ, x, w, b, c, n)

    inside = aj.function(lambda x, w, b, c, n: with_tapes(eager, [x, w, b, c, n], r))
    plain = aj.function(eager)
    variables = [aj.Variable(np.zeros(SHAPES[k]), dtype=F64) for k in DIFFERENTIATED]

    def reads_variables(c, n):
        return fn(AJ, *variables, c, n)

    inside_v = aj.function(lambda c, n: with_variable_tapes(reads_variables, [c, n],
                                                            variables, r))
    plain_v = aj.function(reads_variables)
    where = f"seed {seed}:\n{program.source}"
    checked = 0
    for k, values in enumerate(make_inputs(seed)):
        want, margin = numpy_value(fn, values)
        args = tensors(values)
        y, grads, hvp = with_tapes(eager, args, r)
        assert np.isclose(float(y), want, rtol=1e-9, atol=1e-9), f"{where} eager {y} != {want}"
        scale = 1.0 + abs(want)
        if margin > 1e-3:  # finite differences cannot cross a branch decision
            checked += 1
            moved = [{**values, **{k: values[k] + s * EPS * dk
                                   for k, dk in zip(DIFFERENTIATED, d)}} for s in (1, -1)]
            fd = (numpy_value(fn, moved[0])[0] - numpy_value(fn, moved[1])[0]) / (2 * EPS)
            analytic = sum(float(np.sum(g.numpy() * dk)) for g, dk in zip(grads, d))
            assert np.isclose(analytic, fd, rtol=1e-5, atol=1e-6 * scale), (
                f"{where} first derivative {analytic} != finite differences {fd}")

            def projection(vals):
                _, gs, _ = with_tapes(eager, tensors(vals), r)
                return sum(float(aj.reduce_sum(g * v)) for g, v in zip(gs, r))

            fd2 = (projection(moved[0]) - projection(moved[1])) / (2 * EPS)
            analytic2 = sum(float(np.sum(h.numpy() * dk)) for h, dk in zip(hvp, d))
            assert np.isclose(analytic2, fd2, rtol=1e-4, atol=1e-5 * scale), (
                f"{where} second derivative {analytic2} != finite differences {fd2}")
        runs = [("tapes inside @function", lambda: inside(*args)),
                ("@function under eager tapes", lambda: with_tapes(plain, args, r)),
                ("Variables, tapes inside @function", lambda: inside_v(*args[3:])),
                ("Variables, @function under eager tapes",
                 lambda: with_variable_tapes(plain_v, args[3:], variables, r))]
        if k == 0:  # eager tensors are captured by value: a trace per value, so once
            captured = aj.function(lambda c, n: with_tapes(eager, args[:3] + [c, n], r))
            runs.append(("captured tensors, tapes inside @function",
                         lambda: captured(*args[3:])))
        for label, run in runs:
            for v, a in zip(variables, args):
                v.assign(a)
            y2, grads2, hvp2 = run()
            assert np.isclose(float(y2), float(y), rtol=1e-10, atol=1e-10), (
                f"{where} {label}: value {y2} != eager {y}")
            for name, got, ref in zip(DIFFERENTIATED, grads2, grads):
                np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-9, atol=1e-9,
                                           err_msg=f"{where} {label}: d/d{name}")
            for name, got, ref in zip(DIFFERENTIATED, hvp2, hvp):
                np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-9, atol=1e-9,
                                           err_msg=f"{where} {label}: second order d/d{name}")
    counts = [f.tracing_count for f in (inside, plain, inside_v, plain_v)]
    assert counts == [1, 1, 1, 1], f"{where} traced {counts} times"
    return program.constructs | ({"fd-checked"} if checked else set())


@pytest.mark.parametrize("start", range(SEED, SEED + N, BATCH))
def test_random_programs_gradients(start):
    seen: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(start, min(start + BATCH, SEED + N)):
            seen |= run_one(seed)
    assert "fd-checked" in seen


def test_generator_covers_the_constructs():
    seen: set[str] = set()
    for seed in range(200):
        seen |= generate(seed).constructs
    want = {"broadcasting", "reduce_sum", "reduce_mean", "reduce_max", "indexing", "matmul",
            "losses", "if", "aj.cond", "loop_range", "loop_range_t", "loop_rows", "loop_while",
            "loop_while_loop", "conv", "avg_pool", "batch_norm", "layer_norm", "map_fn", "scan",
            "foldl", "solve", "cholesky", "logdet", "tri_solve"}
    assert want <= seen, want - seen
