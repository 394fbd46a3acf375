"""Tests for ``aj.Module``: names, name scopes, variable and sub-module discovery."""

import re
from collections import namedtuple

import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError
from autojit.module import camel_to_snake


def var(name, trainable=True):
    return aj.Variable(aj.zeros((2,)), name=name, trainable=trainable)


class Leaf(aj.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        with self.name_scope:
            self.w = var("w")
            self.b = var("b")


class Tree(aj.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        with self.name_scope:
            self.z = var("z")
            self.a = Leaf(name="a")
            self.items = [Leaf(name="first"), (Leaf(name="second"), {"y": var("y"), "x": var("x")})]
            self.frozen = var("frozen", trainable=False)


def names(values):
    return [v.name for v in values]


def test_default_name_is_snake_case_of_the_class():
    class MyMLP2Layer(aj.Module):
        pass

    assert MyMLP2Layer().name == "my_mlp2_layer"
    assert re.fullmatch(r"module(_\d+)?", aj.Module().name)  # numbered, see below
    assert camel_to_snake("DenseBlock") == "dense_block"
    assert camel_to_snake("HTTPServer") == "http_server"


def test_default_names_are_numbered_per_base_name_as_keras_does():
    class FreshBlock(aj.Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            with self.name_scope:
                self.w = aj.Variable(0.0, name="w")

    first, second, named, third = FreshBlock(), FreshBlock(), FreshBlock("mine"), FreshBlock()
    assert [first.name, second.name, named.name, third.name] == [
        "fresh_block", "fresh_block_1", "mine", "fresh_block_2"]
    assert [first.w.name, second.w.name] == ["fresh_block/w:0", "fresh_block_1/w:0"]
    assert FreshBlock("fresh_block").name == "fresh_block"  # a given name is used as is
    a, b = aj.layers.Dense(2), aj.layers.Dense(2)
    a(aj.ones([1, 3])), b(aj.ones([1, 3]))
    assert a.name != b.name and re.fullmatch(r"dense_\d+", b.name)
    assert {v.name for v in a.trainable_variables}.isdisjoint(
        v.name for v in b.trainable_variables)
    conv = aj.layers.Conv2D(1, 3)
    assert re.fullmatch(r"conv2d(_\d+)?", conv.name)  # keras_name, numbered


def test_explicit_name():
    assert aj.Module(name="encoder").name == "encoder"


@pytest.mark.parametrize("bad", ["has space", "1abc", "a/b", "", 3])
def test_invalid_name_is_a_clear_error(bad):
    with pytest.raises(InvalidArgumentError, match=re.escape(f"Module: {bad!r} is not a valid "
                                                              "module name; expected a Python "
                                                              "identifier")):
        aj.Module(name=bad)


def test_name_scope_prefixes_variable_names():
    leaf = Leaf(name="dense")
    assert leaf.w.name == "dense/w:0"
    assert leaf.name_scope.name == "dense/"
    with leaf.name_scope as scope:
        assert scope == "dense/"
        assert aj.Variable(0.0, name="extra").name == "dense/extra:0"
    assert aj.Variable(0.0, name="outside").name == "outside:0"


def test_name_scope_is_absolute_and_reentrant():
    tree = Tree(name="tree")
    assert tree.a.w.name == "tree/a/w:0"
    with aj.name_scope("other"):
        with tree.a.name_scope:  # the module's own scope, not other/tree/a
            assert aj.Variable(0.0, name="v").name == "tree/a/v:0"
            with tree.a.name_scope:
                assert aj.Variable(0.0, name="v").name == "tree/a/v:0"
        assert aj.Variable(0.0, name="v").name == "other/v:0"


def test_with_name_scope_decorator():
    class Lazy(aj.Module):
        @aj.Module.with_name_scope
        def __call__(self, x):
            if not hasattr(self, "w"):
                self.w = aj.Variable(x, name="w")
            return self.w * x

    lazy = Lazy(name="lazy")
    assert lazy.__call__.__name__ == "__call__"
    out = lazy(aj.constant(2.0))
    assert float(out) == 4.0
    assert lazy.w.name == "lazy/w:0"


def test_discovery_order_and_containers():
    tree = Tree(name="tree")
    # Own variables in attribute order (a, frozen, items, z), dicts by key, then each
    # sub-module depth first in the order found, as tf.Module.
    assert names(tree.variables) == [
        "tree/frozen:0", "tree/x:0", "tree/y:0", "tree/z:0",
        "tree/a/b:0", "tree/a/w:0", "tree/first/b:0", "tree/first/w:0",
        "tree/second/b:0", "tree/second/w:0"]
    assert names(tree.trainable_variables) == [n for n in names(tree.variables)
                                               if n != "tree/frozen:0"]
    assert names(tree.non_trainable_variables) == ["tree/frozen:0"]
    assert [m.name for m in tree.submodules] == ["a", "first", "second"]
    assert isinstance(tree.trainable_variables, tuple)


def test_nested_submodules_depth_first():
    class Outer(aj.Module):
        def __init__(self):
            super().__init__()
            self.inner = Tree(name="t")
            self.last = Leaf(name="last")

    outer = Outer()
    assert [m.name for m in outer.submodules] == ["t", "last", "a", "first", "second"]
    assert names(outer.variables)[:4] == ["t/frozen:0", "t/x:0", "t/y:0", "t/z:0"]


def test_each_variable_once_and_cycles():
    shared = var("shared")
    a = aj.Module(name="a")
    b = aj.Module(name="b")
    a.v = shared
    a.again = [shared, shared]
    a.child = b
    b.parent = a  # a cycle
    b.v = shared
    b.own = var("own")
    assert names(a.variables) == ["shared:0", "own:0"]
    assert a.submodules == (b,)


def test_namedtuple_and_non_variable_attributes_are_walked_or_ignored():
    pair = namedtuple("Pair", "first second")
    m = aj.Module()
    m.pair = pair(var("p0"), var("p1"))
    m.tensor = aj.zeros((3,))  # a plain tensor is not a variable
    m.number = 3
    m.text = "hello"
    assert names(m.variables) == ["p0:0", "p1:0"]


def test_mutation_after_access_is_seen():
    m = aj.Module(name="m")
    m.layers = []
    assert m.variables == ()
    m.layers.append(Leaf(name="l0"))
    assert len(m.trainable_variables) == 2
    m.layers[0] = Leaf(name="l1")
    assert names(m.trainable_variables) == ["l1/b:0", "l1/w:0"]
    del m.layers
    assert m.trainable_variables == ()


def test_forgotten_super_init_is_a_clear_error():
    class Forgetful(aj.Module):
        def __init__(self):
            self.w = var("w")

    model = Forgetful()
    assert names(model.variables) == ["w:0"]  # discovery needs no state of its own
    with pytest.raises(AttributeError, match=re.escape(
            "Forgetful: Module.__init__ was not called; start Forgetful.__init__ with "
            "super().__init__(name=name)")):
        model.name_scope
    with pytest.raises(AttributeError, match="'Forgetful' object has no attribute 'missing'"):
        model.missing


def test_repr():
    assert repr(Leaf(name="dense")) == "<Leaf 'dense'>"
