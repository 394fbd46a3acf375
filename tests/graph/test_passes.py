"""Graph passes: each keeps what a program computes (checked on many random programs against
NumPy, the unoptimized graph and eager execution) and removes what it should (checked on
hand-written graphs)."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.graph import passes
from autojit.graph.codegen import generate
from autojit.graph.interpret import interpret
from autojit.ops.linalg import matrix_transpose

from .programs import grad_program, random_program

PASSES = {
    "simplify_algebra": passes.simplify_algebra,
    "fold_constants": passes.fold_constants,
    "eliminate_common_subexpressions": passes.eliminate_common_subexpressions,
    "eliminate_dead_code": passes.eliminate_dead_code,
    "optimize": passes.optimize,
}
TOL = dict(rtol=1e-9, atol=1e-11)
N_SEEDS = 120  # per pass and flavour; each seed is a fresh random program


@pytest.fixture(autouse=True)
def _restore_optimization():
    yield
    aj.config.set_graph_optimization(True)


def trace(fn, args, optimize):
    """A freshly traced graph of ``fn`` (never shared with another test)."""
    aj.config.set_graph_optimization(optimize)
    try:
        return aj.function(fn, autograph=False).get_concrete_function(*args).graph
    finally:
        aj.config.set_graph_optimization(True)


def op_names(graph):
    return [node.op.name for node in graph.walk()]


def effect_sequence(graph):
    return [(node.op.name, id(node.attrs.get("var"))) for node in graph.walk() if node.op.effect]


def check_outputs(actual, expected, what):
    assert len(actual) == len(expected), what
    for i, (a, e) in enumerate(zip(actual, expected)):
        a = a.numpy() if isinstance(a, aj.Tensor) else np.asarray(a)
        e = e.numpy() if isinstance(e, aj.Tensor) else np.asarray(e)
        assert a.shape == e.shape, f"{what}: output {i} has shape {a.shape}, expected {e.shape}"
        np.testing.assert_allclose(a, e, err_msg=f"{what}: output {i}", **TOL)


def run_both(program, graph, variables):
    """The graph's results through the reference interpreter and through replay code, each
    from the program's initial variable values; returns both and the final variables."""
    program.reset(variables)
    interpreted = interpret(graph, [x.copy() for x in program.inputs], np)
    vars_interpreted = [v.numpy().copy() for v in variables]
    program.reset(variables)
    replay, _ = generate(graph, aj.get_device("CPU:0"), "replay")
    inputs = [x.copy() for x in program.inputs]
    replayed = list(replay(*inputs))
    for x, original in zip(inputs, program.inputs):
        np.testing.assert_array_equal(x, original, err_msg="replay wrote into an input")
    vars_replayed = [v.numpy().copy() for v in variables]
    return interpreted, replayed, vars_interpreted, vars_replayed


@pytest.mark.parametrize("flavour", ["pure", "effects", "control"])
@pytest.mark.parametrize("pass_name", list(PASSES))
def test_pass_keeps_random_programs(pass_name, flavour):
    run_pass = PASSES[pass_name]
    changed = 0
    for seed in range(N_SEEDS):
        program = random_program(seed, effects=flavour == "effects",
                                 control=flavour == "control")
        variables = [aj.Variable(v) for v in program.var_init]
        xs = [aj.constant(x) for x in program.inputs]

        def fn(*args):
            return program.run(*args, variables=variables)

        graph = trace(fn, xs, optimize=False)
        before = op_names(graph)
        effects = effect_sequence(graph)
        graph = run_pass(graph)
        graph.verify()
        changed += op_names(graph) != before
        assert effect_sequence(graph) == effects, f"seed {seed}: effects changed"
        what = f"{pass_name} on seed {seed} ({flavour})"
        interpreted, replayed, vi, vr = run_both(program, graph, variables)
        check_outputs(interpreted, program.expected, what + " (interpret)")
        check_outputs(replayed, program.expected, what + " (replay)")
        check_outputs(vi, program.expected_vars, what + " (variables, interpret)")
        check_outputs(vr, program.expected_vars, what + " (variables, replay)")
    # The programs must give each pass work to do, or this test proves nothing.
    assert changed >= N_SEEDS // 4, f"{pass_name} changed only {changed} of {N_SEEDS} graphs"


@pytest.mark.parametrize("pass_name", list(PASSES))
def test_pass_keeps_gradients_of_random_programs(pass_name):
    run_pass = PASSES[pass_name]
    changed = 0
    for seed in range(1000, 1000 + N_SEEDS // 2):
        program = random_program(seed, control=seed % 2 == 0)
        xs = [aj.constant(x) for x in program.inputs]
        fn = grad_program(program)
        eager_outs, eager_grads = fn(*xs)
        expected = list(eager_outs) + list(eager_grads)
        graph = trace(fn, xs, optimize=False)
        unoptimized = interpret(graph, list(program.inputs), np)
        check_outputs(unoptimized, expected, f"unoptimized gradient graph, seed {seed}")
        before = op_names(graph)
        graph = run_pass(graph)
        graph.verify()
        changed += op_names(graph) != before
        what = f"{pass_name} on the gradient program of seed {seed}"
        check_outputs(interpret(graph, list(program.inputs), np), expected, what)
        replay, _ = generate(graph, aj.get_device("CPU:0"), "grad")
        check_outputs(replay(*[x.copy() for x in program.inputs]), expected, what + " (replay)")
    assert changed >= N_SEEDS // 8, f"{pass_name} changed only {changed} gradient graphs"


@pytest.mark.parametrize("optimize", [False, True])
def test_function_matches_numpy_and_eager_on_random_programs(optimize):
    aj.config.set_graph_optimization(optimize)
    for seed in range(2000, 2000 + N_SEEDS):
        program = random_program(seed, effects=seed % 3 == 0, control=seed % 3 == 1)
        variables = [aj.Variable(v) for v in program.var_init]
        xs = [aj.constant(x) for x in program.inputs]
        eager = program.run(*xs, variables=variables)
        check_outputs(eager, program.expected, f"eager, seed {seed}")
        check_outputs(variables, program.expected_vars, f"eager variables, seed {seed}")
        fn = aj.function(lambda *a: program.run(*a, variables=variables), autograph=False)
        for call in range(2):  # the trace, then a replay
            program.reset(variables)
            check_outputs(fn(*xs), program.expected, f"@function call {call}, seed {seed}")
            check_outputs(variables, program.expected_vars, f"variables call {call}, seed {seed}")
        assert fn.tracing_count == 1


# --------------------------------------------------------------------------------------
# Each pass removes what it should (hand-written examples).

X = aj.constant(np.arange(12.0).reshape(3, 4) + 1.0)
Y = aj.constant(np.linspace(-1.0, 1.0, 12).reshape(3, 4))


def test_dead_code_elimination_drops_unused_exp():
    def fn(x):
        aj.exp(x)  # nobody reads it
        return x * 2.0

    graph = trace(fn, [X], optimize=False)
    assert "exp" in op_names(graph)
    graph = passes.eliminate_dead_code(graph).verify()
    assert "exp" not in op_names(graph)
    check_outputs(interpret(graph, [X.numpy()], np), [X.numpy() * 2.0], "dce")


def test_dead_code_elimination_keeps_effects():
    v = aj.Variable(0.0)

    def fn(x):
        v.assign_add(1.0)  # its result is never read, but it is an effect
        aj.print("side effect", x, end="")
        return x

    graph = passes.eliminate_dead_code(trace(fn, [X], optimize=False)).verify()
    assert "assign_add" in op_names(graph) and "print" in op_names(graph)


def test_cse_merges_a_product_computed_twice():
    def fn(x, y):
        return x * y + x * y

    graph = trace(fn, [X, Y], optimize=False)
    assert op_names(graph).count("multiply") == 2
    graph = passes.eliminate_common_subexpressions(graph).verify()
    graph = passes.eliminate_dead_code(graph).verify()
    assert op_names(graph).count("multiply") == 1
    expected = 2 * X.numpy() * Y.numpy()
    check_outputs(interpret(graph, [X.numpy(), Y.numpy()], np), [expected], "cse")


# each reduction and NumPy's
REDUCERS = {aj.reduce_sum: np.sum, aj.reduce_mean: np.mean, aj.reduce_max: np.max,
            aj.reduce_min: np.min, aj.reduce_prod: np.prod}


@pytest.mark.parametrize("reducer", REDUCERS, ids=lambda r: r.__name__)
@pytest.mark.parametrize("axis", [0, 1, (0, 1), -1])
@pytest.mark.parametrize("kept_first", [False, True])
def test_cse_makes_a_reduction_differing_only_in_keepdims_a_reshape(reducer, axis, kept_first):
    def fn(x):
        first = reducer(x, axis=axis, keepdims=kept_first)
        second = reducer(x, axis=axis, keepdims=not kept_first)
        other = reducer(x, axis=0 if axis != 0 else 1, keepdims=not kept_first)  # stays
        return first * 2.0, second + 1.0, other

    graph = trace(fn, [X], optimize=False)
    graph = passes.eliminate_dead_code(passes.eliminate_common_subexpressions(graph)).verify()
    names = op_names(graph)
    assert names.count(reducer.__name__) == 2 and names.count("reshape") == 1, names
    x = X.numpy()
    np_reduce = REDUCERS[reducer]
    expected = [np_reduce(x, axis=axis, keepdims=kept_first) * 2.0,
                np_reduce(x, axis=axis, keepdims=not kept_first) + 1.0,
                np_reduce(x, axis=0 if axis != 0 else 1, keepdims=not kept_first)]
    check_outputs(interpret(graph, [x], np), expected, "keepdims twin")
    got = aj.function(fn)(X)
    check_outputs([g.numpy() for g in got], expected, "keepdims twin, replayed")


def test_cse_does_not_merge_different_attrs_or_effects():
    v = aj.Variable(1.0)

    def fn(x):
        a = aj.reduce_sum(x, axis=0)
        b = aj.reduce_sum(x, axis=1)
        v.assign_add(1.0)
        r1 = v * 1.0
        v.assign_add(1.0)
        r2 = v * 1.0
        return a, b, r1, r2

    graph = passes.eliminate_common_subexpressions(trace(fn, [X], optimize=False)).verify()
    assert op_names(graph).count("reduce_sum") == 2
    assert op_names(graph).count("assign_add") == 2
    v.assign(1.0)
    a, b, r1, r2 = interpret(graph, [X.numpy()], np)
    assert (float(r1), float(r2)) == (2.0, 3.0)


def test_fold_turns_constant_arithmetic_into_a_constant():
    def fn(x):
        return x + aj.constant(2.0, aj.float64) * aj.constant(3.0, aj.float64)

    graph = trace(fn, [X], optimize=False)
    assert op_names(graph).count("multiply") == 1
    graph = passes.eliminate_dead_code(passes.fold_constants(graph)).verify()
    assert "multiply" not in op_names(graph)
    constants = [node.attrs["value"] for node in graph.nodes if node.op.name == "constant"]
    assert any(np.asarray(c).shape == () and float(c) == 6.0 for c in constants)
    check_outputs(interpret(graph, [X.numpy()], np), [X.numpy() + 6.0], "fold")


def test_fold_replaces_shape_size_rank_of_a_known_shape():
    # A dead `shape` node used to stay in the replay after aj.shape(x)[0] (shape known).
    @aj.function
    def fn(x):
        return x * aj.cast(aj.shape(x)[0] + aj.size(x) + aj.rank(x), aj.float64)

    x = aj.constant(np.ones((3, 2)))
    concrete = fn.get_concrete_function(x)
    names = [node.op.name for node in concrete.graph.nodes]
    assert not {"shape", "size", "rank"} & set(names), names
    assert "shape" not in concrete.code and "size" not in concrete.code
    np.testing.assert_array_equal(fn(x).numpy(), np.ones((3, 2)) * (3 + 6 + 2))
    # An unknown dim keeps the node: the replay reads the shape of each input.
    dynamic = aj.function(lambda x: aj.cast(aj.shape(x)[0], aj.float64),
                          input_signature=[aj.TensorSpec([None, 2], aj.float64)])
    graph = dynamic.get_concrete_function().graph
    assert "shape" in [node.op.name for node in graph.nodes]
    assert float(dynamic(aj.constant(np.ones((5, 2))))) == 5.0


def test_fold_leaves_big_results_alone():
    def fn(x):
        return x + aj.ones((100, 100), aj.float64) * 2.0

    x = aj.constant(np.zeros((100, 100)))
    graph = passes.fold_constants(trace(fn, [x], optimize=False)).verify()
    big = [n for n in graph.nodes if n.op.name == "constant"
           and np.asarray(n.attrs["value"]).size > passes.fold.MAX_FOLD]
    assert not big


@pytest.mark.parametrize("expr, removed", [
    (lambda x: x * 1.0, "multiply"),
    (lambda x: 1.0 * x, "multiply"),
    (lambda x: x / 1.0, "divide"),
    (lambda x: x + 0.0, "add"),
    (lambda x: 0.0 + x, "add"),
    (lambda x: x - 0.0, "subtract"),
    (lambda x: x * aj.ones((3, 4), aj.float64), "multiply"),
    (lambda x: matrix_transpose(matrix_transpose(x)), "matrix_transpose"),
    (lambda x: -(-x), "negative"),
    (lambda x: aj.cast(x, aj.float64) + aj.identity(x), "identity"),
])
def test_simplify_removes_neutral_operations(expr, removed):
    graph = trace(expr, [X], optimize=False)
    assert removed in op_names(graph)
    graph = passes.eliminate_dead_code(passes.simplify_algebra(graph)).verify()
    assert removed not in op_names(graph), str(graph)
    check_outputs(interpret(graph, [X.numpy()], np), [expr(X)], "simplify")


def test_simplify_keeps_operations_that_change_the_shape():
    def fn(x):  # x * ones((2, 3, 4)) broadcasts: it is not a no-op
        return x * aj.ones((2, 3, 4), aj.float64) + aj.zeros((2, 1, 1), aj.float64)

    graph = passes.optimize(trace(fn, [X], optimize=False)).verify()
    (out,) = interpret(graph, [X.numpy()], np)
    assert out.shape == (2, 3, 4)
    np.testing.assert_allclose(out, np.broadcast_to(X.numpy(), (2, 3, 4)))


def test_simplify_merges_reshape_of_reshape():
    def fn(x):
        return aj.reshape(aj.reshape(x, (4, 3)), (2, 6))

    graph = passes.eliminate_dead_code(passes.simplify_algebra(trace(fn, [X], optimize=False)))
    assert op_names(graph.verify()).count("reshape") == 1
    check_outputs(interpret(graph, [X.numpy()], np), [X.numpy().reshape(2, 6)], "reshape")


@pytest.mark.parametrize("g_shape, like_shape, op", [
    ((3, 4), (), "reduce_sum"), ((3, 4), (4,), "reduce_sum"), ((3, 4), (1, 4), "reduce_sum"),
    ((3, 4), (3, 1), "reduce_sum"), ((3, 4), (1, 1), "reduce_sum"),
    ((2, 3, 4), (2, 1, 4), "reduce_sum"),
    ((2, 3, 4), (1, 4), "unbroadcast"),  # leading and size-1 axes both: kept
])
def test_simplify_turns_unbroadcast_of_known_shapes_into_a_sum(g_shape, like_shape, op):
    from autojit.ops.math import unbroadcast

    g = aj.constant(np.arange(float(np.prod(g_shape))).reshape(g_shape))
    like = aj.constant(np.zeros(like_shape))
    graph = passes.eliminate_dead_code(passes.simplify_algebra(
        trace(unbroadcast, [g, like], optimize=False))).verify()
    assert op in op_names(graph) and ({"unbroadcast", "reduce_sum"} - {op}).isdisjoint(
        op_names(graph)), str(graph)
    (out,) = interpret(graph, [g.numpy(), like.numpy()], np)
    axes = tuple(i for i, (a, b) in enumerate(zip((1,) * (len(g_shape) - len(like_shape))
                                                  + like_shape, g_shape)) if a == 1 != b)
    expected = g.numpy().sum(axis=axes, keepdims=True).reshape(like_shape)
    np.testing.assert_allclose(out, expected)


def test_toy_gradient_graph_has_no_broadcast_noops():
    def fn(x, y, z):
        with aj.GradientTape() as tape:
            tape.watch([x, y, z])
            c = aj.reduce_sum(x * y + z)
        return tape.gradient(c, [x, y, z])

    z = aj.constant(np.full((3, 4), 0.5))
    graph = trace(fn, [X, Y, z], optimize=True)
    names = op_names(graph)
    assert "unbroadcast" not in names and "broadcast_like" not in names, str(graph)
    assert "ones_like" not in names
    # The forward product is needed by nobody: only the gradients are returned.
    assert "multiply" not in names and "reduce_sum" not in names, str(graph)
    dx, dy, dz = interpret(graph, [X.numpy(), Y.numpy(), z.numpy()], np)
    np.testing.assert_allclose(dx, Y.numpy())
    np.testing.assert_allclose(dy, X.numpy())
    np.testing.assert_allclose(dz, np.ones((3, 4)))


def test_optimize_prunes_cond_outputs_nobody_reads():
    def fn(x):
        a, b = aj.cond(aj.reduce_sum(x) > 0.0, lambda: (aj.exp(x), aj.tanh(x)),
                       lambda: (x * 2.0, aj.square(x)))
        return a

    graph = passes.optimize(trace(fn, [X], optimize=False)).verify()
    names = op_names(graph)
    assert "tanh" not in names and "square" not in names, str(graph)
    check_outputs(interpret(graph, [X.numpy()], np), [np.exp(X.numpy())], "cond pruning")
    check_outputs(interpret(graph, [-X.numpy()], np), [-2.0 * X.numpy()], "cond pruning")


def test_optimize_is_idempotent_and_stops():
    program = random_program(7, n_instrs=30)
    xs = [aj.constant(x) for x in program.inputs]
    graph = trace(program.run, xs, optimize=False)
    once = str(passes.optimize(graph).verify())
    twice = str(passes.optimize(graph).verify())
    assert once == twice
