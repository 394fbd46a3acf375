"""The IR: building graphs by hand, ``Graph.verify`` catching broken SSA, effects, walks."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.graph.interpret import interpret
from autojit.graph.ir import Graph, Value, detached_node, uses
from autojit.ops.core import TensorSpec, registry

OPS = registry()
F32 = TensorSpec((3,), aj.float32)


def small_graph():
    """f(x) = exp(-x) + x, built by hand."""
    g = Graph("hand")
    x = g.add_input(F32)
    (neg,) = g.add_node(OPS["negative"], [x], {}, [F32]).outputs
    (ex,) = g.add_node(OPS["exp"], [neg], {}, [F32]).outputs
    (out,) = g.add_node(OPS["add"], [ex, x], {}, [F32]).outputs
    g.outputs = [out]
    return g


def test_a_hand_built_graph_verifies_and_runs():
    g = small_graph().verify()
    x = np.array([0.0, 1.0, -2.0], np.float32)
    (out,) = interpret(g, [x], np)
    np.testing.assert_allclose(out, np.exp(-x) + x, rtol=1e-6)


def test_a_detached_node_is_in_no_graph_until_a_pass_places_it():
    g = small_graph()
    out = g.outputs[0]
    node = detached_node(OPS["multiply"], [out, out], {}, [F32], ("f.py", 3))
    assert node not in g.nodes and node.where == ("f.py", 3)
    (value,) = node.outputs
    assert value.node is node and value.index == 0 and value.spec == F32
    g.nodes.append(node)  # placed, as a pass rewriting the node list does
    g.outputs = [value]
    x = np.array([0.0, 1.0, -2.0], np.float32)
    (got,) = interpret(g.verify(), [x], np)
    np.testing.assert_allclose(got, (np.exp(-x) + x) ** 2, rtol=1e-6)


def test_verify_catches_use_before_def():
    g = small_graph()
    g.nodes[0], g.nodes[1] = g.nodes[1], g.nodes[0]  # exp now reads negative's output first
    with pytest.raises(AssertionError, match="before it is defined"):
        g.verify()


def test_verify_catches_a_value_from_nowhere():
    g = Graph("bad")
    x = g.add_input(F32)
    stray = Value(F32)  # defined by no node and not an input
    g.add_node(OPS["add"], [x, stray], {}, [F32])
    with pytest.raises(AssertionError, match="before it is defined"):
        g.verify()


def test_verify_catches_an_undefined_output():
    g = small_graph()
    g.outputs = [Value(F32)]
    with pytest.raises(AssertionError, match="is not defined"):
        g.verify()


def test_verify_catches_a_redefinition():
    g = small_graph()
    node = g.nodes[1]
    g.nodes.append(node)  # the same node twice defines its output twice
    with pytest.raises(AssertionError, match="redefines"):
        g.verify()


def test_verify_catches_a_non_value_input():
    g = small_graph()
    g.nodes[1].inputs = [np.zeros(3)]
    with pytest.raises(AssertionError, match="is not a Value"):
        g.verify()


def test_verify_checks_subgraphs():
    f = aj.function(lambda x: aj.cond(x[0] > 0, lambda: x * 2.0, lambda: x), autograph=False)
    graph = f.get_concrete_function(aj.constant([1.0, 2.0])).graph
    graph.verify()
    cond = next(n for n in graph.nodes if n.op.name == "cond")
    branch = cond.attrs["branches"][0]
    branch.outputs = [Value(branch.outputs[0].spec)]
    with pytest.raises(AssertionError, match="is not defined"):
        graph.verify()


def test_traced_graphs_verify():
    @aj.function(autograph=False)
    def fn(x, w):
        with aj.GradientTape() as tape:
            tape.watch(w)
            y = aj.reduce_sum(aj.tanh(aj.matmul(x, w)))
        return y, tape.gradient(y, w)

    graph = fn.get_concrete_function(aj.ones((2, 3)), aj.ones((3, 4))).graph
    assert graph.verify() is graph


def test_effects_and_walk():
    v = aj.Variable(0.0)

    def fn(x):
        def branch():
            v.assign_add(1.0)
            return x

        return aj.cond(x > 0, branch, lambda: x * 2.0)

    graph = aj.function(fn, autograph=False).get_concrete_function(aj.constant(1.0)).graph
    cond = next(n for n in graph.nodes if n.op.name == "cond")
    assert cond.effect and graph.has_effects()  # an effect inside a branch counts
    assert id(v) in cond.written_variables()
    names = [n.op.name for n in graph.walk()]
    assert "assign_add" in names and names.index("cond") < names.index("assign_add")
    assert not small_graph().has_effects()


def test_uses_counts_nodes_and_outputs():
    g = small_graph()
    counts = uses(g)
    x = g.inputs[0]
    assert counts[x.id] == 2  # negative and add
    assert counts[g.outputs[0].id] == 1


def test_values_print_as_ids_and_graph_repr():
    g = small_graph()
    assert repr(g.inputs[0]).startswith("%")
    assert repr(g) == "<Graph hand: 1 inputs, 3 nodes>"
