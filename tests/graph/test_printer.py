"""The graph printer: one typed node per line, subgraphs indented, the user's line as a
trailing comment; deterministic (the same function traced twice prints identically)."""

from __future__ import annotations

import inspect

import numpy as np

import autojit as aj
from autojit.graph.printer import format_graph

from .programs import random_program


def scale_and_shift(x, y):
    product = x * y
    shifted = aj.exp(product) + 1.0
    return aj.reduce_sum(shifted, axis=0)


FIRST_LINE = inspect.getsourcelines(scale_and_shift)[1]
X = aj.constant(np.ones((2, 3), np.float32))


def printed(fn, *args, optimize=True):
    aj.config.set_graph_optimization(optimize)
    try:
        return str(aj.function(fn, autograph=False).get_concrete_function(*args).graph)
    finally:
        aj.config.set_graph_optimization(True)


def test_exact_text_with_source_lines():
    text = printed(scale_and_shift, X, X)
    line = FIRST_LINE
    assert text == "\n".join([
        "scale_and_shift(%0: f32[2,3], %1: f32[2,3]) {",
        f"  %2: f32[2,3] = multiply %0, %1   # test_printer.py:{line + 1}",
        f"  %3: f32[2,3] = exp %2   # test_printer.py:{line + 2}",
        "  %4: f32[] = constant {value=1.}",
        f"  %5: f32[2,3] = add %3, %4   # test_printer.py:{line + 2}",
        "  %6: f32[3] = reduce_sum %5 {axis=(0,), keepdims=False}"
        f"   # test_printer.py:{line + 3}",
        "  return %6",
        "}",
    ])


def test_same_function_traced_twice_prints_identically():
    assert printed(scale_and_shift, X, X) == printed(scale_and_shift, X, X)
    for seed in range(20):
        program = random_program(seed, control=True)
        xs = [aj.constant(x) for x in program.inputs]
        for optimize in (False, True):
            assert printed(program.run, *xs, optimize=optimize) == \
                printed(program.run, *xs, optimize=optimize)


def test_every_op_line_points_into_this_file():
    def fn(x):
        y = aj.tanh(x)
        return aj.cond(aj.reduce_sum(y) > 0, lambda: y * 2.0, lambda: y)

    first = inspect.getsourcelines(fn)[1]
    text = printed(fn, X)
    for line in text.splitlines():
        if "#" in line:
            file_line = line.rsplit("# ", 1)[1]
            assert file_line.startswith("test_printer.py:"), line
            assert first < int(file_line.split(":")[1]) <= first + 2, line


def test_subgraphs_are_indented_under_their_node():
    def fn(x):
        return aj.cond(aj.reduce_sum(x) > 0, lambda: x * 2.0, lambda: -x)

    lines = printed(fn, X).splitlines()
    cond_at = next(i for i, line in enumerate(lines) if "= cond " in line)
    assert lines[cond_at + 1].startswith("    branches[0](")  # the true branch
    false_at = next(i for i, line in enumerate(lines) if "branches[1](" in line)
    assert lines[false_at].startswith("    branches[1](")
    assert any(line.startswith("      %") and "multiply" in line for line in lines)


def test_variables_and_dtypes_print_readably():
    v = aj.Variable(np.zeros(3, np.float32), name="weights")

    def fn(x):
        v.assign_add(aj.cast(x, aj.float32))
        return v * 1.0

    text = printed(fn, aj.constant(np.ones(3, np.float64)))
    assert "read_variable {var=<var weights:0>}" in text
    assert "assign_add" in text and "{var=<var weights:0>}" in text
    assert "cast %0 {dtype=float32}" in text
    assert "f64[3]" in text


def test_unknown_dims_print_as_question_marks():
    f = aj.function(lambda x: x * 2.0, autograph=False,
                    input_signature=[aj.TensorSpec([None, 3], aj.float32)])
    assert "(%0: f32[?,3])" in str(f.get_concrete_function().graph)


def test_big_constants_are_summarized():
    def fn(x):
        return x + aj.constant(np.arange(100.0, dtype=np.float32).reshape(1, 100))

    text = format_graph(aj.function(fn, autograph=False).get_concrete_function(
        aj.constant(np.zeros((2, 100), np.float32))).graph)
    assert "<float32[1, 100]>" in text
