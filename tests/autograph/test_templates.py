"""Source templates with placeholders."""

import gast

from autojit.autograph import parser, templates


def test_names_expressions_and_statement_lists():
    value = gast.parse("x + 1", mode="eval").body
    body = gast.parse("a = 1\nb = 2").body
    out = templates.replace(
        """
        def NAME(ARG):
            nonlocal STATE
            TARGET = VALUE
            BODY
        """, NAME="fn", ARG="p", STATE=["a", "b"], TARGET=templates.names_tuple(["a", "b"]),
        VALUE=value, BODY=body)
    assert parser.unparse(out) == ("def fn(p):\n    nonlocal a, b\n    a, b = x + 1\n"
                                   "    a = 1\n    b = 2")
    assert isinstance(out[0].body[1].targets[0].ctx, gast.Store)


def test_templates_carry_no_line_numbers_and_are_reusable():
    first = templates.replace("X = 1", X="a")
    second = templates.replace("X = 1", X="b")
    assert first[0].lineno is None
    assert parser.unparse(first) == "a = 1" and parser.unparse(second) == "b = 1"


def test_an_empty_declaration_disappears():
    out = templates.replace("def f():\n    nonlocal NAMES\n    return 1", NAMES=[])
    assert parser.unparse(out) == "def f():\n    return 1"


def test_expression_templates_and_constants():
    expr = templates.replace_as_expression("ag__.f(A, B)", A="x",
                                           B=templates.constant(("p", 2)))
    assert parser.unparse(expr) == "ag__.f(x, ('p', 2))"
