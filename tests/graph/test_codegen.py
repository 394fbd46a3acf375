"""Replay code generation: generated Python equals the reference interpreter, is valid and
readable Python registered with ``linecache``, uses collision-free names and frees values."""

from __future__ import annotations

import ast
import linecache
import traceback

import numpy as np
import pytest

import autojit as aj
from autojit.graph.codegen import generate
from autojit.graph.interpret import interpret

from .programs import grad_program, random_program

CPU = aj.get_device("CPU:0")


def concrete(fn, *args, **options):
    return aj.function(fn, autograph=False, **options).get_concrete_function(*args)


@pytest.mark.parametrize("flavour", ["pure", "effects", "control", "gradients"])
def test_replay_equals_the_interpreter_on_random_programs(flavour):
    for seed in range(3000, 3080):
        program = random_program(seed, effects=flavour == "effects",
                                 control=flavour in ("control", "gradients"))
        variables = [aj.Variable(v) for v in program.var_init]
        xs = [aj.constant(x) for x in program.inputs]
        if flavour == "gradients":
            fn = grad_program(program)
        else:
            def fn(*args):
                return program.run(*args, variables=variables)
        graph = concrete(fn, *xs).graph
        program.reset(variables)
        expected = interpret(graph, [x.copy() for x in program.inputs], np)
        expected_vars = [v.numpy().copy() for v in variables]
        replay, source = generate(graph, CPU, f"program_{seed}")
        for call in range(2):  # twice: nothing the replay keeps may be changed by a run
            program.reset(variables)
            inputs = [x.copy() for x in program.inputs]
            got = replay(*inputs)
            assert len(got) == len(expected)
            for i, (a, b) in enumerate(zip(got, expected)):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14,
                                           err_msg=f"seed {seed}, call {call}, output {i}")
            for a, b in zip(variables, expected_vars):
                np.testing.assert_allclose(a.numpy(), b, rtol=1e-12, atol=1e-14)
            for a, b in zip(inputs, program.inputs):
                np.testing.assert_array_equal(a, b, err_msg=f"seed {seed}: input written")


def test_code_is_valid_python_with_one_line_per_node():
    def fn(x, y):
        a = x * y
        b = aj.exp(a) - y
        return aj.reduce_sum(b, axis=1)

    cf = concrete(fn, aj.ones((2, 3)), aj.ones((2, 3)))
    tree = ast.parse(cf.code)
    (func,) = tree.body
    assert isinstance(func, ast.FunctionDef) and func.name == "fn"
    assert len(func.args.args) == 2
    assert "xp.multiply(" in cf.code and "xp.exp(" in cf.code
    assert "interpret" not in cf.code and "bind" not in cf.code


def test_values_are_freed_after_their_last_use():
    def fn(x):
        a = aj.exp(x)
        b = aj.tanh(a)
        return aj.square(b) + x

    code = concrete(fn, aj.ones((4,))).code
    assert "del " in code
    lines = code.splitlines()
    # the exp result is deleted right after tanh (its only use), before the square
    exp_name = next(line.split("=")[0].strip() for line in lines if "xp.exp(" in line)
    del_at = next(i for i, line in enumerate(lines)
                  if line.strip().startswith("del ") and exp_name in line)
    square_at = next(i for i, line in enumerate(lines) if "square(" in line)
    assert del_at < square_at


def test_source_is_registered_with_linecache_and_shows_in_tracebacks():
    f = aj.function(lambda x: aj.reshape(x * 2.0, (2, -1)), autograph=False,
                    input_signature=[aj.TensorSpec([None], aj.float32)])
    cf = f.get_concrete_function()
    filename = None
    with pytest.raises(Exception) as info:
        f(aj.constant(np.ones(5, np.float32)))  # 5 values cannot become 2 rows
    frames = []
    exc = info.value
    while exc is not None:
        frames.extend(traceback.extract_tb(exc.__traceback__))
        exc = exc.__cause__ or exc.__context__
    replay_frames = [fr for fr in frames if fr.filename.startswith("<autojit-replay")]
    assert replay_frames, "no frame of the generated code in the traceback"
    frame = replay_frames[-1]
    filename = frame.filename
    assert "xp.reshape(" in frame.line  # the generated line itself, via linecache
    assert "".join(linecache.getlines(filename)) == cf.code
    text = "".join(traceback.format_exception(info.value))
    assert "xp.reshape(" in text


def test_names_never_collide():
    np_var = aj.Variable(2.0, name="np")
    xp_var = aj.Variable(3.0, name="xp")
    first = aj.Variable(5.0, name="w")
    second = aj.Variable(7.0, name="w")
    keyword = aj.Variable(11.0, name="lambda")

    def xp(np_):  # a function named like the array module, an argument like NumPy
        return np_ * np_var + xp_var * first - second + keyword

    cf = concrete(xp, aj.constant(1.0))
    compile(cf.code, "<check>", "exec")
    assert float(cf(aj.constant(1.0))) == 2.0 + 15.0 - 7.0 + 11.0


def test_lambda_and_odd_function_names_compile():
    for fn in (lambda x: x + 1.0, lambda x: x * 2.0):
        f = aj.function(fn, autograph=False)
        assert float(f(aj.constant(1.0))) == float(fn(aj.constant(1.0)))
    named = aj.function(lambda x: -x, autograph=False, name="class")
    assert float(named(aj.constant(1.0))) == -1.0


def test_cond_and_while_are_inline_blocks():
    def fn(x):
        y = aj.cond(aj.reduce_sum(x) > 0, lambda: x * 2.0, lambda: -x)
        return aj.while_loop(lambda v: aj.reduce_sum(v) < 50.0, lambda v: v * 2.0, y)

    cf = concrete(fn, aj.constant([1.0, 2.0]))
    ast.parse(cf.code)
    assert "\n    if " in cf.code and "\n    while " in cf.code
    np.testing.assert_allclose(cf(aj.constant([1.0, 2.0])).numpy(), [32.0, 64.0])
    np.testing.assert_allclose(cf(aj.constant([-1.0, -3.0])).numpy(), [16.0, 48.0])


def test_reads_alias_buffers_but_results_do_not():
    v = aj.Variable(np.array([1.0, 2.0]))

    def fn():
        r = v * 1.0  # the read itself after simplification
        v.assign_add(aj.constant([10.0, 10.0], aj.float64))
        return r, v * 1.0

    cf = concrete(fn)
    old, new = cf()
    np.testing.assert_allclose(old.numpy(), [1.0, 2.0])
    np.testing.assert_allclose(new.numpy(), [11.0, 12.0])
    v.assign_add(aj.constant([1.0, 1.0], aj.float64))  # results never alias the buffer
    np.testing.assert_allclose(new.numpy(), [11.0, 12.0])


def test_an_elementwise_writer_takes_its_own_variables_read_without_a_copy():
    # Note [Reads alias buffers]: a fused assignment reads element i of the variable and
    # writes element i, so the read it alone takes is not copied first; a transpose of the
    # read (other positions) and a read used again later still are.
    import re

    from autojit.graph.passes import fuse_elementwise
    from autojit.graph.passes.fuse import FUSED, FUSED_ASSIGN, fuse_assignments

    kept = {"fused": FUSED.kernel, "fused_assign": FUSED_ASSIGN.kernel}  # as the GPU's

    v = aj.Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))

    def slot(g):  # Adam's m.assign_add((1 - b1) * (g - m)) as one kernel
        v.assign_add(0.1 * (g - v))
        return g

    def transposed(g):  # copyto(buffer, buffer.T) would read elements already written
        v.assign(aj.transpose(v))
        return g

    def read_again(g):
        r = v * 1.0
        v.assign_add(0.1 * (g - r))
        return r + 0.0

    g = np.full((2, 2), 0.5)
    for fn, copies, want in (
            (slot, 0, lambda a: a + 0.1 * (g - a)),
            (transposed, 1, lambda a: a.T),
            (read_again, 1, lambda a: a + 0.1 * (g - a))):
        graph = aj.function(fn, autograph=False).get_concrete_function(aj.constant(g)).graph
        replay, source = generate(fuse_assignments(fuse_elementwise(graph.clone())), CPU,
                                  kernels=kept)
        protected = re.findall(r"^\s+(v\d+) = \1\.copy\(\)$", source, re.M)
        assert len(protected) == copies, (fn.__name__, source)
        start = v.numpy().copy()
        out = replay(g)
        np.testing.assert_allclose(v.numpy(), want(start), err_msg=fn.__name__)
        if fn is read_again:
            np.testing.assert_allclose(np.asarray(out[0]), start)  # the old value


def test_constant_results_are_fresh_each_call():
    f = aj.function(lambda x: (aj.constant([2.0, 1.0]) * 3.0, x), autograph=False)
    first, _ = f(aj.constant(0.0))
    np.asarray(first)[0] = 100.0  # the caller scribbles on its own result
    second, _ = f(aj.constant(0.0))
    np.testing.assert_allclose(second.numpy(), [6.0, 3.0])


def test_tensor_array_ops_take_a_loop_counter_as_a_python_int():
    # INT_ARGUMENTS: the TensorArray ops' index/size inputs take host scalars as Python ints;
    # a write's *value* may be a host scalar too and goes in as an array (its kernel and
    # check read value.shape: this used to fail with "'int' object has no attribute 'shape'").
    @aj.function
    def fn(n):
        ta = aj.TensorArray(aj.int32, size=n)
        for i in aj.range(n):
            ta = ta.write(i, i * 2)
        total = aj.constant(0)
        for i in aj.range(n):
            total += ta.read(i)
        return ta.stack(), total

    stacked, total = fn(aj.constant(4))
    assert stacked.numpy().tolist() == [2 * i for i in range(4)]
    assert int(total) == sum(2 * i for i in range(4))
    code = fn.get_concrete_function(aj.constant(4)).code
    write = next(line for line in code.splitlines() if "k_tensor_array_write(" in line)
    assert "xp.asarray" in write and write.count("xp.asarray") == 1  # the value, not the index
    read = next(line for line in code.splitlines() if "[int(" in line)
    assert "xp.asarray" not in read


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_assign_add_and_sub_take_a_host_scalar_as_it_is(dtype):
    # SCALAR_ARGUMENTS: an optimizer's ``iterations.assign_add(1)`` or a counter added in a
    # Python-counted loop reach the ufunc as Python ints (on a GPU a kernel argument, not a
    # fill kernel of their own); the variable keeps its dtype, as eagerly.
    count = aj.Variable(np.array(7, dtype))
    down = aj.Variable(np.array(100, dtype))

    @aj.function
    def step(n):
        count.assign_add(1)
        for i in range(n):  # a Python loop: i + 1 is a constant of the trace
            down.assign_sub(i + 1)
        for i in aj.range(3):  # a host counter (int32: cast for an int64 variable)
            count.assign_add(i if dtype == np.int32 else aj.cast(i, aj.int64))
        return count.read_value()

    for call in range(3):
        out = step(2)
    assert count.numpy().dtype == dtype and down.numpy().dtype == dtype
    assert int(out) == int(count.numpy()) == 7 + 3 * (1 + 0 + 1 + 2)
    assert int(down.numpy()) == 100 - 3 * (1 + 2)
    code = step.get_concrete_function(2).code
    updates = [line for line in code.splitlines() if "_into(" in line]
    assert len(updates) == 4 and not any("asarray" in line for line in updates), code


def _int_loop(n, start, factor, step):
    m, k, s = aj.constant(start, n.dtype), 0, aj.constant(0, n.dtype)  # constants: host ints
    for i in aj.range(n):
        m = m * factor - step
        s = s + m
        if m < 0:
            k += 1
    return m, k, -s


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("start, factor, step", [(1, 3, 0), (7, 5, 3), (-2, 7, -9)])
def test_host_scalar_arithmetic_wraps_around_as_the_array_ops(dtype, start, factor, step):
    # int counters kept as Python ints in replay (graph/scalars.py) overflow as int32/int64
    # arrays do, also where a comparison reads the wrapped value
    n = 45 if dtype == np.int32 else 95
    traced = aj.function(_int_loop)
    args = [aj.constant(np.array(n, dtype)), start, factor, step]  # Python ints: constants
    with np.errstate(over="ignore"):
        m, k, s = np.array(start, dtype), 0, np.array(0, dtype)
        for _ in range(n):
            m = (m * dtype(factor) - dtype(step)).astype(dtype)
            s = (s + m).astype(dtype)
            k += int(m < 0)
        want = [m, k, (-s).astype(dtype)]
    got = traced(*args)
    assert [int(v) for v in got] == [int(v) for v in want]
