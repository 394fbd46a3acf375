"""Another name for a list that a tensor block grows (Note [Aliases of a list grown in a
tensor block] in autograph/aliases.py): the block rebinds the list's variable to a
list-array, which the alias cannot follow, so tracing stops with an error naming the alias
instead of the alias reading the old list's length and items. Lists without aliases, and
aliases made after the block, keep working."""

from __future__ import annotations

import re

import pytest

import autojit as aj
from autojit.errors import AutographError

from .helpers import where


class Box:
    pass


def local_alias_loop(n):
    a = []
    b = a
    for i in aj.range(n):
        a.append(i)
    return len(b)


def alias_in_a_dict(n):
    a = []
    history = {"values": a}
    for i in aj.range(n):
        a.append(i * 2)
    return aj.stack(history["values"])


def attribute_alias_if(x):
    box = Box()
    box.items = []
    items = box.items
    if x > 0:
        items.append(x)
    return len(box.items)


def alias_one_frame_up(n):
    a = []
    keep = [a]
    fill(a, n)
    return len(keep[0])


def fill(out, n):
    for i in aj.range(n):
        out.append(i)


@pytest.mark.parametrize("fn, name, alias, line", [
    (local_alias_loop, "a", "b", "for i in aj.range(n)"),
    (alias_in_a_dict, "a", "history['values']", "for i in aj.range(n)"),
    (attribute_alias_if, "items", "box.items", "if x > 0"),
])
def test_an_alias_of_a_grown_list_is_an_error_naming_it(fn, name, alias, line):
    with pytest.raises(AutographError, match=(
            f"^`{name}` is a list grown inside the tensor .* at {re.escape(where(fn, line))}, "
            f".*`{re.escape(alias)}` \\(in the code at .*\\) is another name for the old list")):
        aj.function(fn)(aj.constant(3))


def test_an_alias_in_the_calling_frame_is_found_too():
    # the caller's `a` is another name for the helper's `out` (as is `keep[0]`)
    with pytest.raises(AutographError, match=re.escape("`out` is a list grown inside")
                       + ".*" + re.escape("; `a` (in the code at")):
        aj.function(alias_one_frame_up)(aj.constant(2))


def alias_made_after(n):
    a = []
    for i in aj.range(n):
        a.append(i)
    b = a
    return len(b), aj.stack(b)


def test_an_alias_made_after_the_block_follows_the_list():
    got_len, got = aj.function(alias_made_after)(aj.constant(3))
    assert int(got_len) == 3 and got.numpy().tolist() == [0, 1, 2]
