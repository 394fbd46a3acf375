"""Generated nodes take the user's line; operators find it from the calling frame."""

import gast

from autojit.autograph import origin, templates


def test_generated_nodes_take_the_origin_line_and_user_nodes_keep_theirs():
    user = gast.parse("\n\ny = x + 1").body[0]
    generated = templates.replace("def f():\n    BODY\nf()", BODY=[user])
    origin.set_location(generated, gast.parse("\n\n\n\nz = 0").body[0])
    assert generated[0].lineno == 5 and generated[1].lineno == 5
    assert generated[0].body[0].lineno == 3  # the user's statement


def test_caller_and_where():
    def operator():
        return origin.caller()

    here = operator()
    assert here[0] == __file__ and origin.where(here).startswith(__file__ + ":")
    assert origin.source_line(here) == "here = operator()"
    assert origin.where(None) == "an unknown line"
