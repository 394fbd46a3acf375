"""Elementwise fusion (``fuse_elementwise``/``expand_fused``): group boundaries, the printed
form, and results equal to the unfused graph (random programs, gradient graphs, the op table)
through the fused expression's CPU evaluation and through the CPU replay that expands it."""

from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest

import autojit as aj
from autojit.graph.codegen import generate
from autojit.graph.interpret import interpret
from autojit.graph.passes import expand_fused, fuse_elementwise, optimize
from autojit.graph.passes.fuse import FUSED, evaluate_fused

from .programs import grad_program, random_program
from .test_passes import effect_sequence, trace

TOL = dict(rtol=1e-12, atol=1e-12)
CPU = aj.get_device("CPU:0")


def graph_of(fn, *args):
    """A freshly traced, optimized graph of ``fn``."""
    return trace(fn, args, optimize=True)


def fused_nodes(graph):
    return [n for n in graph.walk() if n.op is FUSED]


def same(actual, expected, what):
    assert len(actual) == len(expected), what
    for i, (a, e) in enumerate(zip(actual, expected)):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape and a.dtype == e.dtype, f"{what}: output {i}"
        np.testing.assert_allclose(a, e, err_msg=f"{what}: output {i}", **TOL)


@pytest.mark.parametrize("flavour", ["pure", "effects", "control"])
def test_fusion_keeps_random_programs(flavour):
    fused_total = reducing_total = 0
    for seed in range(150):
        program = random_program(seed, effects=flavour == "effects",
                                 control=flavour == "control")
        variables = [aj.Variable(v) for v in program.var_init]
        xs = [aj.constant(x) for x in program.inputs]

        def fn(*args):
            return program.run(*args, variables=variables)

        graph = graph_of(fn, *xs)
        fused = fuse_elementwise(graph.clone()).verify()
        assert effect_sequence(fused) == effect_sequence(graph), f"seed {seed}: effects changed"
        fused_total += len(fused_nodes(fused))
        what = f"seed {seed} ({flavour})"
        program.reset(variables)
        same(interpret(fused, [x.copy() for x in program.inputs], np), program.expected, what)
        program.reset(variables)
        replay, source = generate(fused, CPU)
        assert "fused" not in source
        same(replay(*[x.copy() for x in program.inputs]), program.expected, what + " replay")
        for var, expected in zip(variables, program.expected_vars):
            np.testing.assert_allclose(var.numpy(), expected, **TOL)
        reducing_total += len(reduction_steps(fused))
        expanded = expand_fused(fused).verify()
        assert not fused_nodes(expanded)
        program.reset(variables)
        same(interpret(expanded, list(program.inputs), np), program.expected, what + " expanded")
    assert fused_total >= 50, f"only {fused_total} fused nodes in 150 programs"
    assert reducing_total >= 10, f"only {reducing_total} fused reductions in 150 programs"


def test_fusion_keeps_gradient_graphs():
    fused_total = reducing_total = 0
    for seed in range(1000, 1060):
        program = random_program(seed, control=seed % 2 == 0)
        xs = [aj.constant(x) for x in program.inputs]
        fn = grad_program(program)
        graph = graph_of(fn, *xs)
        expected = interpret(graph, list(program.inputs), np)
        fused = fuse_elementwise(graph.clone()).verify()
        fused_total += len(fused_nodes(fused))
        reducing_total += len(reduction_steps(fused))
        same(interpret(fused, list(program.inputs), np), expected, f"gradient of seed {seed}")
    assert fused_total >= 30 and reducing_total >= 10, (fused_total, reducing_total)


def test_a_chain_becomes_one_node_with_every_value_used_outside_as_an_output():
    def f(x, y, w):
        h = aj.matmul(x, w)
        a = aj.exp(x * y + 2.0)
        b = aj.tanh(a) - a
        return aj.matmul(b, w) + aj.matmul(a, w), aj.nn.relu(h + 1.0) * 3.0

    args = [aj.constant(np.ones((4, 3))), aj.constant(np.ones((4, 3))),
            aj.constant(np.ones((3, 3)))]
    fused = fuse_elementwise(graph_of(f, *args).clone()).verify()
    names = [n.op.name for n in fused.nodes]
    assert names == ["matmul", "fused", "matmul", "matmul", "add", "fused"]
    first, second = fused_nodes(fused)
    assert [s.op for s in first.attrs["expr"].steps] == ["multiply", "add", "exp", "tanh",
                                                         "subtract"]
    assert len(first.outputs) == 2  # exp's result (a) and b both leave the group
    assert str(second.attrs["expr"]) == (
        "{t0: f64[4,3] = add in0, 1.0; t1: f64[4,3] = relu t0; "
        "t2: f64[4,3] = multiply t1, 3.0; -> t2}")
    printed = str(fused)
    assert "= fused %" in printed and "    t1: f64[4,3] = relu t0" in printed


def test_a_reduction_recomputes_its_input_where_the_group_has_other_values_used_outside():
    # a and b both leave the chain; each is read by one sum alone: each sum takes a copy of
    # the members its input depends on (the first sum's copy drops tanh and subtract), and
    # the second sum's epilogue adds the first (a 0-d value): two kernels where there were
    # four (the chain with two outputs, a sum, a sum plus an add).
    def f(x, y):
        a = aj.exp(x * y + 2.0)
        b = aj.tanh(a) - a
        return aj.reduce_sum(b) + aj.reduce_sum(a)

    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=(4, 3)) for _ in range(2)]
    graph = graph_of(f, *map(aj.constant, arrays))
    fused = fuse_elementwise(graph.clone()).verify()
    assert [n.op.name for n in fused.nodes if n.op.name != "constant"] == ["fused", "fused"]
    assert reduction_steps(fused) == [
        ["multiply", "add", "exp", "reduce_sum"],
        ["multiply", "add", "exp", "tanh", "subtract", "reduce_sum", "add"]]
    x, y = arrays
    a = np.exp(x * y + 2.0)
    expected = [(np.tanh(a) - a).sum() + a.sum()]
    same(interpret(fused, arrays, np), expected, "recomputed prologues")
    same(interpret(expand_fused(fused).verify(), arrays, np), expected, "expanded")


def test_a_reduction_or_matmul_ends_a_group_and_a_use_outside_closes_it():
    def f(x):
        a = x * 2.0
        s = aj.reduce_sum(a)  # uses a: a's group is closed; b cannot move below it
        b = a + s
        return b * 3.0

    # the sum takes a's group and writes a as a side output (Note [Side outputs])
    fused = fuse_elementwise(graph_of(f, aj.constant(np.ones((2, 3)))).clone()).verify()
    assert [n.op.name for n in fused.nodes if n.op.name != "constant"] == ["fused", "fused"]
    assert reduction_steps(fused) == [["multiply", "reduce_sum"]]
    assert len(fused.nodes[-2].outputs) == 2 and fused.nodes[-2].attrs["expr"].outputs == (0, 1)
    x = np.arange(6.0).reshape(2, 3)
    same(interpret(fused, [x], np), [(x * 2 + (x * 2).sum()) * 3], "closed group")


def reduction_steps(graph):
    return [[s.op for s in n.attrs["expr"].steps] for n in fused_nodes(graph)
            if n.attrs["expr"].reduction is not None]


def test_a_reduction_takes_its_elementwise_prologue_and_epilogue():
    def f(x, y, z):
        toy = aj.reduce_sum(x * y + z)  # the toy: one reduction kernel
        loss = 0.5 * aj.reduce_mean(aj.square(x - y))
        norms = aj.sqrt(aj.reduce_max(aj.abs(z), axis=1, keepdims=True) + 1.0)
        return toy, loss, norms

    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(4, 3)) for _ in range(3)]
    graph = graph_of(f, *map(aj.constant, arrays))
    fused = fuse_elementwise(graph.clone()).verify()
    assert [n.op.name for n in fused.nodes if n.op.name != "constant"] == ["fused"] * 3
    assert reduction_steps(fused) == [
        ["multiply", "add", "reduce_sum"],
        ["subtract", "square", "reduce_mean", "multiply"],
        ["abs", "reduce_max", "add", "sqrt"]]
    loss = fused_nodes(fused)[1].attrs["expr"]
    assert loss.reduction == 2 and loss.outputs == (3,)
    assert "t2: f64[] = reduce_mean t1 {axis=(0, 1), keepdims=False}" in str(loss)
    x, y, z = arrays
    expected = [(x * y + z).sum(), 0.5 * np.mean((x - y) ** 2),
                np.sqrt(np.abs(z).max(axis=1, keepdims=True) + 1.0)]
    same(interpret(fused, arrays, np), expected, "reduction groups")
    same(interpret(expand_fused(fused).verify(), arrays, np), expected, "expanded")


def test_a_reduction_stays_apart_where_its_prologue_or_epilogue_is_shared():
    def softmax(x, w):  # e is read by the sum, the division and a matmul: the sum cannot
        e = aj.exp(x - aj.reduce_max(x, axis=1, keepdims=True))  # take exp, nor recompute it
        return e / aj.reduce_sum(e, axis=1, keepdims=True), e @ w

    def twice(x):  # a reduction of a reduction starts its own group
        return aj.reduce_sum(aj.reduce_max(x * 2.0, axis=1))

    def vector_epilogue(x, b):  # b is not a 0-d constant: the add stays out
        return aj.reduce_sum(x * 2.0, axis=0) + b

    def used_twice(x):  # the sum's value leaves twice: no epilogue
        s = aj.reduce_sum(x * 2.0)
        return s * 3.0, s

    x = np.random.default_rng(1).normal(size=(4, 3))
    cases = [(softmax, [x, x.T], ["reduce_max", "fused", "reduce_sum", "divide", "matmul"], 0),
             (twice, [x], ["fused", "reduce_sum"], 1),
             (vector_epilogue, [x, x[0]], ["fused", "add"], 1),
             (used_twice, [x], ["fused", "multiply"], 1)]
    for fn, arrays, names, reducing in cases:
        graph = graph_of(fn, *map(aj.constant, arrays))
        fused = fuse_elementwise(graph.clone()).verify()
        assert [n.op.name for n in fused.nodes if n.op.name != "constant"] == names, fn
        assert len(reduction_steps(fused)) == reducing, fn
        same(interpret(fused, arrays, np), interpret(graph, arrays, np), fn.__name__)


def test_reductions_that_would_change_meaning_or_type_are_not_fused():
    def f(x, i, e):
        return (aj.reduce_mean(i * 2, axis=0),  # integer mean truncates: kept as the op
                aj.reduce_any(x > 0.0),  # bool reductions are not fused
                aj.reduce_max(e * 2.0),  # of nothing: the op's own error
                aj.reduce_sum(x * 2.0, axis=[]))  # over no axis

    args = [aj.constant(np.ones((2, 3))), aj.constant(np.ones((2, 3), np.int32)),
            aj.constant(np.ones((0, 3)))]
    fused = fuse_elementwise(graph_of(f, *args).clone()).verify()
    assert not reduction_steps(fused)


def test_an_op_that_is_several_array_operations_is_fused_alone():
    def f(x, w):  # relu's gradient (g * (out > 0)) between two matmuls; a lone sigmoid
        with aj.GradientTape() as tape:
            tape.watch(w)
            y = aj.reduce_sum(aj.nn.relu(x @ w) @ w)
        return tape.gradient(y, w), aj.sigmoid(x @ w)

    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(4, 3)), rng.normal(size=(3, 3))
    graph = graph_of(f, aj.constant(x), aj.constant(w))
    fused = fuse_elementwise(graph.clone()).verify()
    alone = [[s.op for s in n.attrs["expr"].steps] for n in fused_nodes(fused)]
    assert ["relu_grad"] in alone and ["sigmoid"] in alone, alone
    assert "matmul" in [n.op.name for n in fused.nodes]  # matmuls stay apart
    same(interpret(fused, [x, w], np), interpret(graph, [x, w], np), "alone")


def test_an_optimizer_update_assigns_its_fused_result_in_one_node():
    from autojit.graph.passes.fuse import FUSED_ASSIGN, fuse_assignments

    rng = np.random.default_rng(4)
    init = rng.normal(size=(3, 2))
    x = rng.normal(size=(5, 3))

    def run(fuse):
        w = aj.Variable(init)
        opt = aj.optimizers.Adam(0.1)

        def step(x):
            with aj.GradientTape() as tape:
                loss = aj.reduce_sum(aj.tanh(x @ w))
            opt.apply_gradients([(tape.gradient(loss, w), w)])
            return loss

        graph = graph_of(step, aj.constant(x))
        if fuse:
            graph = fuse_assignments(fuse_elementwise(graph.clone())).verify()
        outs = [interpret(graph, [x], np) for _ in range(3)]
        return graph, outs, [w.numpy(), *(s.numpy() for s in opt.variables)]

    plain, plain_outs, plain_state = run(False)
    fused, outs, state = run(True)
    merged = [n for n in fused.nodes if n.op is FUSED_ASSIGN]
    assert sorted(n.attrs["how"] for n in merged) == ["assign_add", "assign_add", "assign_sub"]
    assert [n.op.name for n in fused.nodes].count("assign_add") == 1  # iterations += 1
    assert "how='assign_sub'" in str(fused)
    for a, b in zip(outs, plain_outs):
        same(a, b, "losses")
    for a, b in zip(state, plain_state):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    expanded = expand_fused(fused.clone()).verify()
    assert not [n for n in expanded.walk() if n.op is FUSED_ASSIGN or n.op is FUSED]


def test_sgd_assigns_its_one_op_update_in_one_node():
    from autojit.graph.passes.fuse import FUSED_ASSIGN, fuse_assignments

    w = aj.Variable(np.ones((3, 2)))
    opt = aj.optimizers.SGD(0.5)

    def step(x):
        with aj.GradientTape() as tape:
            loss = aj.reduce_sum(x @ w)
        opt.apply_gradients([(tape.gradient(loss, w), w)])
        return loss

    x = np.arange(6.0).reshape(2, 3)
    graph = fuse_assignments(fuse_elementwise(graph_of(step, aj.constant(x)).clone())).verify()
    (node,) = [n for n in graph.nodes if n.op is FUSED_ASSIGN]
    assert node.attrs["how"] == "assign_sub"
    assert [s.op for s in node.attrs["expr"].steps] == ["multiply"]  # lr * g, alone
    interpret(graph, [x], np)
    np.testing.assert_allclose(w.numpy(), 1.0 - 0.5 * x.sum(axis=0)[:, None] * np.ones((3, 2)))


def test_an_assignment_that_may_read_a_view_of_its_variable_is_not_merged():
    from autojit.graph.passes.fuse import FUSED_ASSIGN, fuse_assignments

    v = aj.Variable(np.arange(4.0).reshape(2, 2))

    def transposed():  # the kernel would read v.T while it writes v
        v.assign(aj.transpose(v) * 2.0 + 1.0)
        return v * 1.0

    def shared():  # the fused value is also returned: it must exist on its own
        value = v * 2.0 + 1.0
        v.assign(value)
        return value

    for fn in (transposed, shared):
        graph = fuse_assignments(fuse_elementwise(graph_of(fn).clone())).verify()
        assert not [n for n in graph.walk() if n.op is FUSED_ASSIGN], (fn.__name__, graph)


def test_groups_need_one_known_shape_and_broadcasts_join():
    def f(x, b):
        return aj.tanh(x + aj.broadcast_to(b, (3, 4))) * x

    args = [aj.constant(np.ones((3, 4))), aj.constant(np.ones((4,)))]
    fused = fuse_elementwise(graph_of(f, *args).clone())
    (node,) = fused_nodes(fused)
    assert [s.op for s in node.attrs["expr"].steps] == ["broadcast_to", "add", "tanh",
                                                        "multiply"]

    @aj.function(input_signature=[aj.TensorSpec([None, 4], aj.float64)])
    def unknown(x):
        return aj.tanh(x * 2.0) + 1.0

    graph = unknown.get_concrete_function().graph
    assert not fused_nodes(fuse_elementwise(graph.clone()))


def test_effects_keep_their_order_and_reads_before_a_write_keep_their_values():
    v = aj.Variable(np.full((2, 2), 3.0))

    def f(x):
        r = v * 2.0  # reads v before the assign; joins the group placed after the assign
        v.assign(x)
        return r + 1.0, v * 1.0

    x = aj.constant(np.ones((2, 2)))
    graph = graph_of(f, x)
    fused = fuse_elementwise(graph.clone()).verify()
    assert effect_sequence(fused) == effect_sequence(graph)
    v.assign(np.full((2, 2), 3.0))
    replay, _ = generate(fused, CPU)
    out = replay(np.ones((2, 2)))
    np.testing.assert_array_equal(out[0], np.full((2, 2), 7.0))
    np.testing.assert_array_equal(v.numpy(), np.ones((2, 2)))


def test_subgraphs_fuse_on_their_own_and_never_across_their_boundary():
    def f(x):
        y = x * 2.0 + 1.0
        return aj.cond(aj.reduce_sum(x) > 0, lambda: aj.exp(y) * y, lambda: y - 1.0)

    fused = fuse_elementwise(graph_of(f, aj.constant(np.ones((3,)))).clone()).verify()
    cond = next(n for n in fused.nodes if n.op.name == "cond")
    true_branch = cond.attrs["branches"][0]
    assert [n.op.name for n in true_branch.nodes] == ["fused"]
    for x in (np.ones(3), -np.ones(3)):
        y = x * 2 + 1
        expected = np.exp(y) * y if x.sum() > 0 else y - 1
        same(interpret(fused, [x], np), [expected], "cond")


def test_dtypes_casts_comparisons_and_where_fuse():
    def f(x, y):
        big = x > y
        z = aj.where(big, x - y, aj.cast(big, aj.float32) * 0.5)
        return aj.cast(z * 2.0, aj.int32), big

    args = [aj.constant(np.linspace(-1, 1, 6, dtype=np.float32)),
            aj.constant(np.zeros(6, np.float32))]
    graph = graph_of(f, *args)
    fused = fuse_elementwise(graph.clone())
    assert len(fused_nodes(fused)) == 1
    arrays = [a.numpy() for a in args]
    same(interpret(fused, arrays, np), interpret(graph, arrays, np), "dtypes")


def test_evaluate_fused_is_each_member_kernel():
    def f(x):
        return aj.sqrt(aj.abs(x) + 1.0) * x

    graph = fuse_elementwise(graph_of(f, aj.constant(np.ones(5))).clone())
    (node,) = fused_nodes(graph)
    x = np.linspace(-2, 2, 5)
    (out,) = evaluate_fused(np, x, expr=node.attrs["expr"])
    np.testing.assert_array_equal(out, np.sqrt(np.abs(x) + 1.0) * x)


def test_fused_nodes_refuse_differentiation():
    def f(x):
        return aj.exp(x) * 2.0

    graph = fuse_elementwise(graph_of(f, aj.constant(np.ones(2))).clone())
    (node,) = fused_nodes(graph)
    with pytest.raises(NotImplementedError, match="before fuse_elementwise"):
        node.op.vjp(None, None, expr=node.attrs["expr"])


def _op_table():
    """The op table module (``tests/ops`` is not a package: its files import each other)."""
    folder = str(pathlib.Path(__file__).resolve().parents[1] / "ops")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    import op_table

    return op_table


def test_fusion_keeps_every_op_table_entry():
    table = _op_table()
    F32, TABLE, make_inputs, to_tensors = table.F32, table.TABLE, table.make_inputs, table.to_tensors

    checked = fused = 0
    for entry in TABLE:
        if entry.value_dependent_shape:
            continue
        for case in entry.cases[:3]:
            dtype = entry.dtypes[0] if entry.dtypes else F32
            raw = make_inputs(case, dtype, f"fuse:{entry.op}:{case.label()}")
            tensors = to_tensors(raw)
            positions = [i for i, t in enumerate(tensors) if isinstance(t, aj.Tensor)]
            arrays = [raw[i] for i in positions]

            def fn(*xs, _entry=entry, _case=case, _tensors=tensors, _pos=positions):
                args = list(_tensors)
                for p, x in zip(_pos, xs):
                    args[p] = x
                # wrap the op in an elementwise chain so its inputs and outputs meet fusion
                args = [x * 1.5 - 0.25 if i in _pos and aj.dtypes.is_floating(x.dtype) else x
                        for i, x in enumerate(args)]
                out = _entry.fn(*args, **_case.attrs)
                outs = out if isinstance(out, (list, tuple)) else [out]
                return [aj.tanh(o) + 1.0 if isinstance(o, aj.Tensor) and aj.dtypes.is_floating(o.dtype)
                        else o for o in outs]

            try:
                graph = graph_of(fn, *[tensors[i] for i in positions])
            except Exception:  # an entry whose call cannot be traced this way (Python outputs)
                continue
            expected = interpret(graph, [a.copy() for a in arrays], np)
            fused_graph = fuse_elementwise(graph.clone()).verify()
            fused += len(fused_nodes(fused_graph))
            actual = interpret(fused_graph, [a.copy() for a in arrays], np)
            for a, e in zip(actual, expected):
                np.testing.assert_array_equal(np.asarray(a), np.asarray(e), err_msg=entry.op)
            checked += 1
    print("op table:", checked, "cases,", fused, "fused nodes")
    assert checked >= 100 and fused >= 50, (checked, fused)


def test_optimize_then_fuse_shrinks_a_training_step():
    w = aj.Variable(np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32))
    opt = aj.optimizers.Adam(1e-2)

    def step(x, y):
        with aj.GradientTape() as tape:
            loss = aj.reduce_mean(aj.square(aj.nn.relu(x @ w) - y))
        opt.apply_gradients([(tape.gradient(loss, w), w)])
        return loss

    x = aj.constant(np.ones((16, 8), np.float32))
    y = aj.constant(np.ones((16, 4), np.float32))
    graph = optimize(graph_of(step, x, y))
    before = len(graph.nodes)
    fused = fuse_elementwise(graph.clone()).verify()
    assert len(fused.nodes) < before - 5  # Adam's update is one long elementwise chain


def test_a_small_producer_read_by_fused_nodes_alone_is_recomputed_in_each(monkeypatch):
    # Note [Inlined producers]: the lowered cross-entropy's one-hot comparison is read by the
    # picked sum and by the softmax gradient; each recomputes it, so it has no kernel.
    from autojit.graph.passes import fuse as fuse_module
    from autojit.graph.passes.cse import eliminate_common_subexpressions
    from autojit.graph.passes.lower import lower_composites

    def f(logits, labels):
        with aj.GradientTape() as tape:
            tape.watch(logits)
            loss = aj.reduce_mean(aj.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        return loss, tape.gradient(loss, logits)

    rng = np.random.default_rng(2)
    arrays = [rng.normal(size=(6, 5)), rng.integers(0, 5, 6).astype(np.int32)]
    graph = graph_of(f, *map(aj.constant, arrays)).clone()  # as the GPU executor prepares it
    graph = eliminate_common_subexpressions(lower_composites(graph))
    expected = interpret(graph, arrays, np)
    inlined = fuse_elementwise(graph.clone()).verify()
    monkeypatch.setattr(fuse_module, "_INLINE_STEPS", 0)
    apart = fuse_elementwise(graph.clone()).verify()
    assert len(fused_nodes(inlined)) == len(fused_nodes(apart)) - 1
    one_hots = [n for n in fused_nodes(inlined)
                if "equal" in [s.op for s in n.attrs["expr"].steps]]
    assert len(one_hots) == 2 and all(n.attrs["expr"].steps[-1].op != "equal"
                                      for n in one_hots), inlined
    same(interpret(inlined, arrays, np), expected, "inlined producer")
    same(interpret(expand_fused(inlined).verify(), arrays, np), expected, "expanded")


def test_a_producer_with_several_outputs_is_recomputed_in_reductions_and_single_nodes():
    # Note [Inlined producers]: the softmax's shifted exp is read by its sum (a bare
    # reduction) and by the division (a node alone): both become fused nodes recomputing it,
    # so the softmax is three kernels (max, sum of exp, exp over the sum), not four.
    def softmax(x):
        e = aj.exp(x - aj.reduce_max(x, axis=1, keepdims=True))
        return e / aj.reduce_sum(e, axis=1, keepdims=True)

    # d and exp(d) + y leave one group; the max reads only d, so it takes d's step alone
    # (not the exp, nor y as an input); the sum takes both steps.
    def two_outputs(x, y):
        d = x * 2.0
        e = aj.exp(d) + y
        return aj.reduce_max(d, axis=0) * 3.0, aj.reduce_sum(e, axis=1), -e

    # a node left alone (a logits' bias add, read by the max and by the exp after it) is
    # recomputed in both: two kernels, not three
    def alone(x, b):
        a = x + b
        return aj.exp(a - aj.reduce_max(a, axis=1, keepdims=True))

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    for fn, arrays, names in [(alone, [x, y[0]], ["fused", "fused"]),
                              (softmax, [x], ["reduce_max", "fused", "fused"]),
                              (two_outputs, [x, y], ["fused", "fused", "fused"])]:
        graph = graph_of(fn, *map(aj.constant, arrays))
        fused = fuse_elementwise(graph.clone()).verify()
        assert [n.op.name for n in fused.nodes if n.op.name != "constant"] == names, fused
        want = interpret(graph, arrays, np)
        same(interpret(fused, arrays, np), want, fn.__name__)
        expanded = expand_fused(fused.clone()).verify()
        same(interpret(expanded, arrays, np), want, f"{fn.__name__} expanded")
    steps = [[s.op for s in n.attrs["expr"].steps] for n in fused_nodes(fused)]
    assert steps[0] == ["multiply", "reduce_max", "multiply"], fused
    assert len(fused_nodes(fused)[0].inputs) == 1, fused  # x alone: y fed only the exp
    assert steps[1] == ["multiply", "exp", "add", "reduce_sum"], fused
    assert steps[2] == ["multiply", "exp", "add", "negative"], fused


def test_a_reduction_over_leading_axes_stores_values_read_elsewhere_as_side_outputs():
    # Note [Side outputs]: one kernel reduces and stores a value other nodes read, when the
    # reduction's axes lead and every other read comes after it; siblings sharing an input
    # join too. Otherwise the groups stay apart.
    def bias(x, y, w):  # g is read by the sum and by the matmul after it
        g = x * y
        return aj.reduce_sum(g, axis=0), g @ w

    def inner_axis(x, y, w):  # over axis 1: no side output
        g = x * y
        return aj.reduce_sum(g, axis=1), g @ w

    def read_before(x, y, w):  # the matmul reads g before the sum
        g = x * y
        m = g @ w
        return m, aj.reduce_sum(g, axis=0)

    def sibling(g, w, y, x, acc):  # the loop's reverse step
        return g * w, acc + aj.reduce_sum(g * (y + x))

    def stranger(g, v, y, x, acc):  # exp(acc * 2) is 0-d, v * y comes after the sum: apart
        return aj.exp(acc * 2.0), acc + aj.reduce_sum(g * (y + x)), v * y

    def sibling_read_early(g, w, y, x, acc, m):  # g * w is read by a matmul before the sum
        h = g * w
        k = aj.reshape(h, (8, 8)) @ m
        return k, acc + aj.reduce_sum(g * (y + x))

    def large(x, y, w):  # a full reduction of 8192 elements: one block of threads on a GPU
        g = x * y
        return aj.reduce_sum(g), g @ w

    rng = np.random.default_rng(4)
    x, y, w = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    big = [rng.normal(size=(64, 128)), rng.normal(size=(64, 128)), rng.normal(size=(128, 2))]
    v64 = [rng.normal(size=64) for _ in range(4)]
    acc, m = rng.normal(size=()), rng.normal(size=(8, 8))
    cases = [
        (bias, [x, y, w], ["fused", "matmul"], [2]),
        (large, big, ["multiply", "reduce_sum", "matmul"], []),
        (inner_axis, [x, y, w], ["multiply", "reduce_sum", "matmul"], []),
        (read_before, [x, y, w], ["multiply", "matmul", "reduce_sum"], []),
        (sibling, [v64[0], acc, v64[1], v64[2], acc], ["fused"], [2]),
        (stranger, [v64[0], v64[3], v64[1], v64[2], acc], ["fused", "fused", "multiply"],
         [1, 1]),
        (sibling_read_early, [v64[0], acc, v64[1], v64[2], acc, m],
         ["multiply", "reshape", "matmul", "fused"], [1]),
    ]
    for fn, arrays, names, outputs in cases:
        graph = graph_of(fn, *map(aj.constant, arrays))
        fused = fuse_elementwise(graph.clone()).verify()
        assert [n.op.name for n in fused.nodes if n.op.name != "constant"] == names, (
            fn.__name__, fused)
        assert [len(n.outputs) for n in fused_nodes(fused)] == outputs, fn.__name__
        want = interpret(graph, arrays, np)
        same(interpret(fused, arrays, np), want, fn.__name__)
        same(interpret(expand_fused(fused.clone()).verify(), arrays, np), want,
             f"{fn.__name__} expanded")
