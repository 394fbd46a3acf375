"""Parsing functions and lambdas with the user's line numbers."""

import inspect

import gast
import pytest

from autojit.autograph import parser
from autojit.errors import AutographError


def top(x):
    return x + 1


class Holder:
    def method(self, x):
        s = """
a multi-line string
less indented than the method"""
        return s, x


def test_a_function_keeps_its_file_lines():
    source = parser.parse_function(top)
    assert isinstance(source.node, gast.FunctionDef) and source.node.name == "top"
    assert source.node.lineno == top.__code__.co_firstlineno
    assert source.node.body[0].lineno == top.__code__.co_firstlineno + 1
    assert source.filename == __file__


def test_an_indented_method_with_a_dedented_string():
    source = parser.parse_function(Holder.method)
    assert source.node.lineno == Holder.method.__code__.co_firstlineno
    assert source.node.body[-1].lineno == inspect.getsourcelines(Holder.method)[1] + 4


def test_lambdas_on_one_line_are_told_apart():
    first, second = (lambda a: a + 1), (lambda b, c=2: b * c)  # noqa: E731
    one, two = parser.parse_function(first).node, parser.parse_function(second).node
    assert parser.unparse(one) == "lambda a: a + 1"
    assert parser.unparse(two) == "lambda b, c: b * c"
    assert one.body.lineno == first.__code__.co_firstlineno


def test_a_multi_line_lambda():
    fn = (lambda x, *rest, key=None, **kw:  # noqa: E731
          x + len(rest))
    node = parser.parse_function(fn).node
    assert parser.unparse(node) == "lambda x, *rest, key, **kw: x + len(rest)"
    assert node.body.lineno == fn.__code__.co_firstlineno + 1


def test_source_not_available():
    namespace = {}
    exec("def made(x):\n    return x\n", namespace)  # noqa: S102
    with pytest.raises(AutographError, match="cannot read the source of made"):
        parser.parse_function(namespace["made"])


def test_unparse_lists_of_statements():
    body = gast.parse("a = 1\nb = a").body
    assert parser.unparse(body) == "a = 1\nb = a"
