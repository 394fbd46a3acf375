"""Every kind of graph survives ``aj.saved_model.save`` and ``load``: each op of the op table
with its first and second derivatives (taken inside the function), the autograph fuzzer's
random control-flow programs, and the gradient fuzzer's programs (loops whose saved states
their VJPs read, conds, convolutions, norms) both with tapes inside the function and as a
loaded function called under eager tapes. A loaded graph is the saved graph recompiled, so
its results must equal the original function's to the bit, on the inputs it was traced with
and on new ones (a constant baked in wrongly would show there).
"""

from __future__ import annotations

import pathlib
import sys
import warnings

import numpy as np
import pytest

import autojit as aj
from autojit.errors import AutographError, DTypeError, SavedModelError, TracingError
from tests.autograph.fuzz import generate as generate_program
from tests.autograph.test_fuzz import INPUTS, compile_program
from tests.function import test_gradient_fuzz as gradient_fuzz


def _op_table():
    """The op table module (``tests/ops`` is not a package: its files import each other)."""
    folder = str(pathlib.Path(__file__).resolve().parents[1] / "ops")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    import op_table

    return op_table


def round_trip(functions: dict, tmp_path, name: str = "saved") -> aj.saved_model.Restored:
    """A Module holding ``functions`` as attributes, saved and loaded back."""
    holder = aj.Module(name="holder")
    for attr, fn in functions.items():
        setattr(holder, attr, fn)
    directory = tmp_path / name
    aj.saved_model.save(holder, directory)
    return aj.saved_model.load(directory)


def assert_same(got, want, what):
    got, want = aj.nest.flatten(got), aj.nest.flatten(want)
    assert len(got) == len(want), what
    for g, w in zip(got, want):
        if isinstance(w, aj.Tensor):
            assert isinstance(g, aj.Tensor) and g.dtype == w.dtype, what
            np.testing.assert_array_equal(g.numpy(), w.numpy(), err_msg=what)
        else:
            assert g == w, what


def _op_cases():
    table = _op_table()
    for entry in table.TABLE:
        for case in entry.cases[:2]:
            yield entry, case


def op_function(entry, case, tensors, order: int = 2):
    """``fn(*the case's tensors)``: the entry's outputs, their first derivatives and (for
    ``order=2``) second ones, with the tapes inside; and the positions of the tensors."""
    positions = [i for i, t in enumerate(tensors) if isinstance(t, aj.Tensor)]
    floats = [i for i in positions if aj.dtypes.is_floating(tensors[i].dtype)]

    def fn(*xs):
        args = list(tensors)
        for p, x in zip(positions, xs):
            args[p] = x
        sources = [args[p] for p in floats]
        with aj.GradientTape(persistent=True) as outer:
            outer.watch(sources)
            with aj.GradientTape() as inner:
                inner.watch(sources)
                out = entry.fn(*args, **case.attrs)
                outs = out if isinstance(out, (list, tuple)) else [out]
                total = aj.add_n([aj.reduce_sum(aj.cast(o, aj.float64)) for o in outs
                                  if isinstance(o, aj.Tensor)
                                  and aj.dtypes.is_floating(o.dtype)] or [0.0])
            grads = inner.gradient(total, sources) if sources and entry.grad else []
            grads = [g for g in grads if g is not None]
            second = aj.add_n([aj.reduce_sum(aj.cast(g, aj.float64)) for g in grads]
                              or [aj.constant(0.0, aj.float64)])
        hessian = outer.gradient(second, sources) if order > 1 and grads and \
            entry.grad > 1 else []
        return [o for o in outs if isinstance(o, aj.Tensor)], grads, hessian

    return fn, positions


def test_every_op_table_entry_round_trips_with_its_derivatives(tmp_path):
    table = _op_table()
    checked, ops = 0, set()
    for k, (entry, case) in enumerate(_op_cases()):
        dtype = entry.dtypes[0] if entry.dtypes else table.F32
        raw = table.make_inputs(case, dtype, f"saved:{entry.op}:{case.label()}")
        other = table.make_inputs(case, dtype, f"saved-again:{entry.op}:{case.label()}")
        tensors = table.to_tensors(raw)
        fn, positions = op_function(entry, case, tensors)
        function = aj.function(fn)
        args = [tensors[i] for i in positions]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                want = function(*args)
        except (AutographError, DTypeError, TracingError, TypeError, ValueError):
            continue  # an entry whose call does not trace this way (Python outputs)
        graph = function.get_concrete_function(*args).graph
        if any(n.op.effect and n.op.name != "read_variable" for n in graph.walk()):
            continue  # random draws: a second run differs by design
        loaded = round_trip({"f": function}, tmp_path, f"op{k}")
        assert_same(loaded.f(*args), want, f"{entry.op}[{case.label()}]")
        again = [aj.constant(other[i]) for i in positions]
        assert_same(loaded.f(*again), function(*again), f"{entry.op}[{case.label()}], new inputs")
        checked += 1
        ops.add(entry.op)
    print(f"{checked} op-table cases of {len(ops)} ops saved and loaded")
    assert checked >= 300 and len(ops) >= 150, (checked, len(ops))


@pytest.mark.parametrize("start", range(0, 200, 50))
def test_random_control_flow_programs_round_trip(start, tmp_path):
    saved = 0
    for seed in range(start, start + 50):
        fn = compile_program(generate_program(seed).source, seed)
        traced = aj.function(fn)
        inputs = [(aj.constant(x, aj.float32), aj.constant(y, aj.float32),
                   aj.constant(n, aj.int32), aj.constant(v, aj.float32))
                  for x, y, n, v in INPUTS]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wants = [traced(*args) for args in inputs]
        except (AutographError, DTypeError, TracingError, UnboundLocalError):
            continue  # rejected programs: tests/autograph/test_fuzz.py checks those
        try:
            loaded = round_trip({"f": traced}, tmp_path, f"p{seed}")
        except SavedModelError as exc:  # only Python values a graph cannot hold
            assert "Python callable" in str(exc), f"seed {seed}: {exc}"
            continue
        for args, want in zip(inputs, wants):
            assert_same(loaded.f(*args), want, f"seed {seed}")
        saved += 1
    assert saved >= 35, saved


@pytest.mark.parametrize("start", range(0, 60, 20))
def test_random_gradient_programs_round_trip(start, tmp_path):
    """Tapes inside the function (saved loop states read by stack_get nodes, second order),
    and the loaded forward called under eager tapes (its VJP recomputes the loaded graph)."""
    for seed in range(start, start + 20):
        program = gradient_fuzz.generate(seed)
        fn = gradient_fuzz.compile_program(program.source, seed)
        rng = np.random.default_rng(10_000 + seed)
        r = [aj.constant(rng.standard_normal(gradient_fuzz.SHAPES[k]), aj.float64)
             for k in gradient_fuzz.DIFFERENTIATED]

        def eager(x, w, b, c, n, _fn=fn):
            return _fn(gradient_fuzz.AJ, x, w, b, c, n)

        inside = aj.function(lambda x, w, b, c, n: gradient_fuzz.with_tapes(
            eager, [x, w, b, c, n], r))
        plain = aj.function(eager)
        sets = [gradient_fuzz.tensors(v) for v in gradient_fuzz.make_inputs(seed)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wants = [inside(*args) for args in sets]
            plains = [gradient_fuzz.with_tapes(plain, args, r) for args in sets]
        loaded = round_trip({"inside": inside, "plain": plain}, tmp_path, f"g{seed}")
        where = f"seed {seed}:\n{program.source}"
        for args, want, want_plain in zip(sets, wants, plains):
            assert_same(loaded.inside(*args), want, where)
            got = gradient_fuzz.with_tapes(loaded.plain, args, r)
            assert_same(got[0], want_plain[0], where)
            for g, w in zip(aj.nest.flatten(got[1:]), aj.nest.flatten(want_plain[1:])):
                np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12, atol=1e-12,
                                           err_msg=where)
