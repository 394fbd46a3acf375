"""Fresh names."""

import gast

from autojit.autograph.naming import Namer


def test_fresh_names_avoid_the_users():
    namer = Namer.for_tree(gast.parse("if_body = 1\ndef get_state(): pass\nimport numpy as np"))
    assert namer.new("if_body") == "if_body_1"
    assert namer.new("get_state") == "get_state_1"
    assert namer.new("np") == "np_1"
    assert namer.new("break_") == "break_" and namer.new("break_") == "break_1"
