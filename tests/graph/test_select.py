"""``select_cheap_conds``: small pure ``cond``s become both branches and a ``where`` per output
(same results on random programs with control flow), others stay, and the result is a graph
the capture planner accepts."""

from __future__ import annotations

import numpy as np

import autojit as aj
from autojit.graph.executors.capture import plan_capture
from autojit.graph.interpret import interpret
from autojit.graph.passes.select import select_cheap_conds

from .programs import random_program


def graph_of(fn, *args):
    return aj.function(fn, autograph=False).get_concrete_function(*args).graph


def names(graph):
    return [n.op.name for n in graph.walk()]


def test_random_programs_with_conds_keep_their_results():
    selected = 0
    for seed in range(200):
        program = random_program(seed, control=True)
        xs = [aj.constant(x) for x in program.inputs]
        graph = graph_of(lambda *a, p=program: p.run(*a), *xs)
        before = names(graph).count("cond")
        out = select_cheap_conds(graph.clone()).verify()
        selected += before - names(out).count("cond")
        actual = interpret(out, list(program.inputs), np)
        for a, e in zip(actual, program.expected):
            np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12, err_msg=f"seed {seed}")
    assert selected >= 20, selected


def test_a_cheap_cond_becomes_where_and_both_branch_results():
    def f(x):
        return aj.cond(aj.reduce_sum(x) > 0, lambda: aj.exp(x) * 2.0, lambda: -x)

    graph = select_cheap_conds(graph_of(f, aj.constant(np.ones(3))).clone()).verify()
    assert "cond" not in names(graph) and names(graph)[-1] == "where"
    assert plan_capture(graph, capturable_blas=True).capturable
    for x in (np.arange(3.0), -np.arange(3.0) - 1):
        expected = np.exp(x) * 2 if x.sum() > 0 else -x
        np.testing.assert_allclose(interpret(graph, [x], np)[0], expected)


def test_conds_with_effects_loops_or_many_nodes_stay():
    v = aj.Variable(np.zeros(3))

    def effect(x):
        return aj.cond(aj.reduce_sum(x) > 0, lambda: v.assign_add(x) * 1.0, lambda: x)

    def loop(x):
        return aj.cond(aj.reduce_sum(x) > 0,
                       lambda: aj.while_loop(lambda i, y: i < 2, lambda i, y: (i + 1, y * 2.0),
                                             (0, x))[1],
                       lambda: x)

    def big(x):
        def long_branch():
            y = x
            for _ in range(20):
                y = aj.tanh(y)
            return y
        return aj.cond(aj.reduce_sum(x) > 0, long_branch, lambda: x)

    x = aj.constant(np.ones(3))
    for fn in (effect, loop, big):
        graph = select_cheap_conds(graph_of(fn, x).clone())
        assert "cond" in names(graph), fn.__name__


def test_a_cond_on_a_host_counter_stays_a_cond():
    # ``t % 2`` on a Python loop counter: replay branches in Python for free; a where would
    # make the branch results device values (here the counter-derived ``k``, read by the
    # next test as a Python int).
    def f(x):
        k = 0
        for t in aj.range(4):
            if t % 2 == 0:
                x = x * 2.0
                k = k + t
            else:
                x = x + 1.0
        return x, k

    graph = aj.function(f).get_concrete_function(aj.constant(np.ones(2))).graph
    out = select_cheap_conds(graph.clone()).verify()
    assert names(out).count("cond") == names(graph).count("cond") == 1
    assert plan_capture(out, capturable_blas=True).capturable
    x, k = interpret(out, [np.ones(2)], np)
    np.testing.assert_allclose(x, ((1 * 2 + 1) * 2 + 1) * np.ones(2))
    assert int(k) == 2
