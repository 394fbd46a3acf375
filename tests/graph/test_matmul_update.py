"""``fuse_matmul_updates`` (Note [Matmul updates]): which assignments of a matmul become one
``matmul_assign`` node, and that its own kernel (matmul, then the in-place add) trains as
the unfused graph does, on the CPU."""

from __future__ import annotations

import numpy as np

import autojit as aj
from autojit.graph.codegen import generate
from autojit.graph.passes import fuse_elementwise
from autojit.graph.passes.fuse import fuse_assignments
from autojit.graph.passes.matmul_update import MATMUL_ASSIGN, fuse_matmul_updates

CPU = aj.get_device("CPU:0")


def _prepared(fn, *args):
    graph = aj.function(fn).get_concrete_function(*map(aj.constant, args)).graph
    return graph, fuse_matmul_updates(fuse_assignments(fuse_elementwise(graph.clone())))


def test_each_sgd_weight_update_becomes_one_accumulating_matmul_and_trains_the_same():
    from bench.gpu import mlp_step

    rng = np.random.default_rng(0)
    start = [rng.normal(size=s) * 0.3 for s in ((6, 5), (5, 5), (5, 3))]
    x, y = rng.normal(size=(4, 6)), rng.integers(0, 3, 4).astype(np.int32)
    ws = [aj.Variable(w.copy()) for w in start]
    graph, merged = _prepared(mlp_step(ws, aj.optimizers.SGD(0.1)), x, y)
    updates = [n for n in merged.nodes if n.op is MATMUL_ASSIGN]
    assert len(updates) == 3 and {n.attrs["alpha"] for n in updates} == {-0.1}, merged
    assert all(n.attrs["transpose_a"] and not n.attrs["transpose_b"] for n in updates)
    assert [n.op.name for n in merged.nodes].count("matmul") == 5  # 8 before
    results = []
    for g in (graph, merged):
        for w, s in zip(ws, start):
            w.assign(s)
        replay, _ = generate(g, CPU)
        losses = [float(replay(x, y)[0]) for _ in range(3)]
        results.append((losses, [w.numpy().copy() for w in ws]))
    (want_losses, want_ws), (losses, got_ws) = results
    np.testing.assert_allclose(losses, want_losses, rtol=1e-13)
    for got, want in zip(got_ws, want_ws):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_updates_that_would_read_the_variable_or_need_the_product_stay_apart():
    rng = np.random.default_rng(1)
    w = aj.Variable(rng.normal(size=(3, 3)))
    v = aj.Variable(rng.normal(size=(3, 3)))

    def own_operand(x):  # the product reads w itself: cuBLAS may not overwrite an operand
        w.assign_sub(0.1 * aj.matmul(w, x, transpose_a=True))
        return x

    def product_read_twice(x):  # the gradient is also returned: it must exist
        g = aj.matmul(x, x, transpose_a=True)
        w.assign_sub(0.1 * g)
        return g

    def not_a_scaled_product(x):  # w += tanh(x^T x): not alpha * product
        w.assign_add(aj.tanh(aj.matmul(x, x, transpose_a=True)))
        return x

    def plain_assign(x):  # w = x^T x: beta would be 0, not the add this pass makes
        w.assign(aj.matmul(x, x, transpose_a=True))
        return x

    def other_variable(x):  # v's read as an operand of w's update is fine
        w.assign_add(aj.matmul(v, x) * 0.5)
        return x

    x = rng.normal(size=(3, 3))
    for fn, merges in ((own_operand, 0), (product_read_twice, 0), (not_a_scaled_product, 0),
                       (plain_assign, 0), (other_variable, 1)):
        start = w.numpy().copy()
        graph, merged = _prepared(fn, x)
        found = [n for n in merged.nodes if n.op is MATMUL_ASSIGN]
        assert len(found) == merges, (fn.__name__, merged)
        outs = []
        for g in (graph, merged):
            w.assign(start)
            replay, _ = generate(g, CPU)
            outs.append((np.asarray(replay(x)[0]), w.numpy().copy()))
        np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=1e-13)
        np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=1e-13)
        if merges:
            assert found[0].attrs["alpha"] == 0.5
