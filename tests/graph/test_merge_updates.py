"""``merge_updates`` (Note [Merged updates]): an optimizer's slot and parameter assignments
become one ``fused_assigns`` node per parameter, and the merged graph trains as the unmerged
one does, on the CPU with the fused nodes kept (as the GPU runs them)."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.graph.codegen import generate
from autojit.graph.passes import fuse_elementwise
from autojit.graph.passes.fuse import FUSED, FUSED_ASSIGN, fuse_assignments
from autojit.graph.passes.merge_updates import FUSED_ASSIGNS, merge_updates

CPU = aj.get_device("CPU:0")
KEPT = {"fused": FUSED.kernel, "fused_assign": FUSED_ASSIGN.kernel,
        "fused_assigns": FUSED_ASSIGNS.kernel}  # fused nodes run as nodes, as on the GPU


def _graphs(fn, *args):
    graph = aj.function(fn, autograph=False).get_concrete_function(
        *map(aj.constant, args)).graph
    fused = fuse_assignments(fuse_elementwise(graph.clone()))
    return fused, merge_updates(fused.clone()).verify()


def _run(graph, variables, start, args, calls=3):
    for var, value in zip(variables, start):
        var.assign(value)
    replay, _ = generate(graph, CPU, kernels=KEPT)
    outs = [np.asarray(replay(*args)[0]) for _ in range(calls)]
    return outs, [var.numpy().copy() for var in variables]


@pytest.mark.parametrize("make, written", [
    (lambda: aj.optimizers.Adam(0.01), 3),
    (lambda: aj.optimizers.SGD(0.05, momentum=0.9), 2)], ids=["adam", "momentum"])
def test_each_parameters_slot_and_own_updates_are_one_node_and_train_the_same(make, written):
    rng = np.random.default_rng(0)
    params = [aj.Variable(rng.normal(size=s) * 0.3) for s in ((4, 3), (3,), (3, 2))]
    opt = make()
    x = rng.normal(size=(5, 4))

    def step(x):
        with aj.GradientTape() as tape:
            h = aj.tanh(x @ params[0] + params[1])
            loss = aj.reduce_mean(aj.square(h @ params[2]))
        opt.apply_gradients(zip(tape.gradient(loss, params), params))
        return loss

    fused, merged = _graphs(step, x)
    nodes = [n for n in merged.nodes if n.op is FUSED_ASSIGNS]
    assert len(nodes) == 3 and all(len(n.attrs["vars"]) == written for n in nodes), merged
    assert not [n for n in merged.nodes if n.op is FUSED_ASSIGN], merged
    variables = [*params, *opt.variables]
    start = [v.numpy().copy() for v in variables]
    want_outs, want_vars = _run(fused, variables, start, [x])
    outs, got_vars = _run(merged, variables, start, [x])
    np.testing.assert_allclose(outs, want_outs, rtol=1e-13)
    for got, want in zip(got_vars, want_vars):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_an_update_read_by_others_or_of_another_shape_or_across_a_loop_stays_apart():
    rng = np.random.default_rng(1)
    m = aj.Variable(rng.normal(size=(3,)))
    p = aj.Variable(rng.normal(size=(3,)))
    q = aj.Variable(rng.normal(size=(2, 3)))

    def seen_between(g):  # m's new value is also returned: its read has another user
        m.assign_add(0.5 * (g - m))
        new = m * 1.0
        p.assign_sub(0.1 * m)
        return new

    def other_shape(g):  # q (2, 3) reads m (3,): their elements do not correspond
        m.assign_add(0.5 * (g - m))
        q.assign_sub(0.1 * m)
        return g

    def loop_reads(g):  # a loop between the writes reads m
        m.assign_add(0.5 * (g - m))
        total = aj.while_loop(lambda i, t: i < 2, lambda i, t: (i + 1, t + aj.reduce_sum(m)),
                              (0, aj.constant(0.0, aj.float64)))[1]
        p.assign_sub(0.1 * m)
        return g * total

    def merges(g):  # the control: the same updates with nothing in between
        m.assign_add(0.5 * (g - m))
        p.assign_sub(0.1 * m)
        return g

    def twice(g):  # m written twice: one kernel, one write of m (its later value)
        m.assign_add(0.5 * (g - m))
        m.assign_sub(0.1 * m)
        return g

    g = rng.normal(size=(3,))
    for fn, count in ((seen_between, 0), (other_shape, 0), (loop_reads, 0), (merges, 1),
                      (twice, 1)):
        fused, merged = _graphs(fn, g)
        found = [n for n in merged.nodes if n.op is FUSED_ASSIGNS]
        assert len(found) == count, (fn.__name__, merged)
        for node in found:  # each variable written once
            assert len({id(v) for v in node.attrs["vars"]}) == len(node.attrs["vars"])
        variables = [m, p, q]
        start = [v.numpy().copy() for v in variables]
        want_outs, want_vars = _run(fused, variables, start, [g])
        outs, got_vars = _run(merged, variables, start, [g])
        np.testing.assert_allclose(outs, want_outs, rtol=1e-13, err_msg=fn.__name__)
        for got, want in zip(got_vars, want_vars):
            np.testing.assert_allclose(got, want, rtol=1e-13, err_msg=fn.__name__)
