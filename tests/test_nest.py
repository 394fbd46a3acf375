"""nest: flatten and rebuild lists, tuples, namedtuples and dicts."""

import collections
import re

import pytest

from autojit import nest

Point = collections.namedtuple("Point", ["x", "y"])


def test_leaves_flatten_to_themselves():
    assert nest.flatten(3) == [3]
    assert nest.flatten(None) == [None]
    assert nest.flatten("text") == ["text"]


def test_flatten_order():
    structure = {"b": [1, (2, 3)], "a": Point(4, {"z": 5, "y": 6})}
    assert nest.flatten(structure) == [4, 6, 5, 1, 2, 3]  # dicts in sorted-key order
    assert nest.flatten([1, [2, [3, []]], ()]) == [1, 2, 3]


def test_dict_order_never_depends_on_insertion():
    assert nest.flatten({"b": 1, "a": 2}) == nest.flatten({"a": 2, "b": 1}) == [2, 1]
    assert nest.flatten({2: "x", "k": "y", 1: "z"}) == ["y", "z", "x"]  # mixed key types


@pytest.mark.parametrize("structure", [
    [1, 2, 3], (1, 2), {"a": 1, "b": [2, 3]}, Point(1, [2, (3,)]), [[], {}, ()],
    collections.OrderedDict([("b", 1), ("a", 2)]), 7,
])
def test_pack_as_inverts_flatten(structure):
    leaves = nest.flatten(structure)
    rebuilt = nest.pack_as(structure, leaves)
    assert rebuilt == structure
    assert type(rebuilt) is type(structure)


def test_pack_as_replaces_leaves_and_keeps_key_order():
    result = nest.pack_as({"b": 0, "a": [0, 0]}, ["A1", "A2", "B"])
    assert result == {"b": "B", "a": ["A1", "A2"]}
    assert list(result) == ["b", "a"]
    assert nest.pack_as(Point(0, 0), [1, 2]) == Point(1, 2)


def test_pack_as_keeps_defaultdicts():
    structure = collections.defaultdict(list, {"a": 1})
    result = nest.pack_as(structure, [5])
    assert isinstance(result, collections.defaultdict) and result["a"] == 5
    assert result["missing"] == []


def test_pack_as_count_errors():
    with pytest.raises(ValueError, match=re.escape(
            "pack_as: the structure has more leaves than the 1 given")):
        nest.pack_as([0, [0]], [1])
    with pytest.raises(ValueError, match=re.escape(
            "pack_as: the structure has fewer leaves than the 3 given")):
        nest.pack_as([0, [0]], [1, 2, 3])
    with pytest.raises(ValueError, match=re.escape(
            "pack_as: the structure is a single leaf but 2 leaves were given")):
        nest.pack_as(0, [1, 2])


def test_map_structure():
    assert nest.map_structure(lambda v: v * 10, {"a": [1, 2], "b": (3,)}) == {
        "a": [10, 20], "b": (30,)}


def test_structure_key_describes_nesting():
    key = nest.structure_key({"a": [1, 2]}, lambda leaf: "leaf")
    assert key == (dict, (("a", (list, ("leaf", "leaf"))),))
    assert hash(key) == hash(nest.structure_key({"a": [3, 4]}, lambda leaf: "leaf"))
    assert key != nest.structure_key({"a": (1, 2)}, lambda leaf: "leaf")
