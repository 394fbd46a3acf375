"""A seeded generator of random autojit programs, with a NumPy reference for each.

``random_program(seed)`` returns a ``Program``: a list of instructions over a pool of values
(random DAGs of elementwise ops, broadcasting, reductions over random axes, matmul,
reshape, double transposes and negations, Python-scalar and tensor constants including
0 and 1, duplicated subexpressions, dead values, optional variable reads/writes and
``aj.cond``), and a NumPy evaluation of it. ``program.run(*inputs)`` executes it with
autojit ops, so the same program runs eagerly, under ``@aj.function`` and under a tape.

The pass and codegen tests compare every execution of a program against the others.
Values stay in a tame range (the generator applies ``tanh`` when they grow), and
``divide`` always divides by ``square(y) + 1``, so comparisons in float64 are tight.
"""

from __future__ import annotations

import dataclasses

import numpy as np

import autojit as aj
from autojit.ops.linalg import matrix_transpose

SHAPES = [(3, 4), (1, 4), (3, 1), (4,), (), (4, 3)]
BINARY = ["add", "subtract", "multiply", "divide"]
UNARY = ["negative", "exp", "tanh", "square"]


@dataclasses.dataclass
class Program:
    """Instructions plus what is needed to run and check them."""

    seed: int
    input_shapes: list
    instrs: list  # tuples: (op, *operands); operands index the value pool
    outputs: list  # indices of returned values
    var_shapes: list  # shapes of the variables the program reads/writes
    inputs: list  # float64 input arrays
    var_init: list  # initial variable values
    expected: list  # NumPy outputs
    expected_vars: list  # NumPy variable values after one run

    def run(self, *inputs, variables=()):
        """Execute with autojit ops (eagerly, or traced when called inside a trace)."""
        return _execute(self.instrs, self.outputs, list(inputs), list(variables), _AJ)

    def reset(self, variables):
        for var, value in zip(variables, self.var_init):
            var.assign(value)


class _Ops:
    """The operations an instruction can name, for one executor (autojit or NumPy)."""

    def __init__(self, **fns):
        self.__dict__.update(fns)


def _np_reshape(x, shape):
    return np.reshape(x, shape)


_AJ = _Ops(
    add=aj.add, subtract=aj.subtract, multiply=aj.multiply,
    divide=lambda x, y: aj.divide(x, aj.square(y) + 1.0),
    negative=aj.negative, exp=aj.exp, tanh=aj.tanh, square=aj.square,
    reduce_sum=lambda x, axis, keepdims: aj.reduce_sum(x, axis=axis, keepdims=keepdims),
    matmul=aj.matmul, reshape=aj.reshape, transpose=matrix_transpose,
    constant=lambda value: aj.constant(value, dtype=aj.float64),
    scalar=lambda x, op, value, left: _scalar_op(x, op, value, left),
    read=lambda var: var * 1.0,
    read_value=lambda var: var.read_value(),
    assign=lambda var, x: var.assign(x),
    assign_add=lambda var, x: var.assign_add(x),
    cond=lambda x, y, ops: aj.cond(aj.reduce_sum(x) > 0.0,
                                   lambda: _branch(x, y, ops[0], _AJ),
                                   lambda: _branch(x, y, ops[1], _AJ)),
)

_NP = _Ops(
    add=np.add, subtract=np.subtract, multiply=np.multiply,
    divide=lambda x, y: x / (np.square(y) + 1.0),
    negative=np.negative, exp=np.exp, tanh=np.tanh, square=np.square,
    reduce_sum=lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
    matmul=np.matmul, reshape=_np_reshape, transpose=lambda x: np.swapaxes(x, -1, -2),
    constant=lambda value: np.asarray(value, np.float64),
    scalar=lambda x, op, value, left: _scalar_op(x, op, value, left),
    read=lambda var: var.copy(),
    read_value=lambda var: var.copy(),
    assign=lambda var, x: np.copyto(var, x),
    assign_add=lambda var, x: np.add(var, x, out=var),
    cond=lambda x, y, ops: _branch(x, y, ops[0] if np.sum(x) > 0 else ops[1], _NP),
)


def _scalar_op(x, op, value, left):
    if op == "add":
        return value + x if left else x + value
    if op == "subtract":
        return value - x if left else x - value
    if op == "multiply":
        return value * x if left else x * value
    return x / value


def _branch(x, y, op, ops):
    return getattr(ops, op)(x, y)


def _execute(instrs, outputs, pool, variables, ops):
    for instr in instrs:
        kind, args = instr[0], instr[1:]
        if kind in BINARY or kind == "matmul":
            pool.append(getattr(ops, kind)(pool[args[0]], pool[args[1]]))
        elif kind in UNARY or kind == "transpose":
            pool.append(getattr(ops, kind)(pool[args[0]]))
        elif kind == "reduce_sum":
            pool.append(ops.reduce_sum(pool[args[0]], args[1], args[2]))
        elif kind == "reshape":
            pool.append(ops.reshape(pool[args[0]], args[1]))
        elif kind == "constant":
            pool.append(ops.constant(args[0]))
        elif kind == "scalar":
            pool.append(ops.scalar(pool[args[0]], *args[1:]))
        elif kind in ("read", "read_value"):
            pool.append(getattr(ops, kind)(variables[args[0]]))
        elif kind in ("assign", "assign_add"):
            getattr(ops, kind)(variables[args[0]], pool[args[1]])
            pool.append(None)  # keep indices aligned; never used
        elif kind == "cond":
            pool.append(ops.cond(pool[args[0]], pool[args[1]], args[2]))
        else:
            raise AssertionError(kind)
    return [pool[i] for i in outputs]


def _broadcastable(a, b):
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def random_program(seed: int, n_instrs: int | None = None, effects: bool = False,
                   control: bool = False) -> Program:
    """A random program and its NumPy result (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n_inputs = int(rng.integers(1, 4))
    input_shapes = [SHAPES[int(rng.integers(0, 4))] if i else (3, 4) for i in range(n_inputs)]
    inputs = [rng.uniform(-1.5, 1.5, s).astype(np.float64) for s in input_shapes]
    var_shapes = [(3, 4), ()] if effects else []
    var_init = [rng.uniform(-1, 1, s) for s in var_shapes]
    vars_np = [v.copy() for v in var_init]
    pool = list(inputs)  # NumPy values, to know shapes and magnitudes while generating
    usable = list(range(n_inputs))  # indices of values (not effect placeholders)
    instrs: list = []

    def emit(instr):
        out = _execute([instr], [len(pool)], pool, vars_np, _NP)[0]
        instrs.append(instr)
        if instr[0] not in ("assign", "assign_add"):
            usable.append(len(pool) - 1)
            if np.max(np.abs(out), initial=0.0) > 20.0:
                instrs.append(("tanh", len(pool) - 1))
                _execute([instrs[-1]], [0], pool, vars_np, _NP)
                usable.append(len(pool) - 1)
        return out

    def pick(pred=lambda s: True):
        choices = [i for i in usable if pred(pool[i].shape)]
        return int(rng.choice(choices)) if choices else None

    n = int(n_instrs if n_instrs is not None else rng.integers(4, 16))
    kinds = ["binary", "unary", "scalar", "constant", "reduce", "matmul", "reshape",
             "transpose", "negate", "duplicate"]
    weights = [30, 12, 10, 8, 8, 6, 6, 5, 3, 6]
    if effects:
        kinds.append("effect")
        weights.append(20)
    if control:
        kinds.append("cond")
        weights.append(10)
    probabilities = np.asarray(weights, float) / sum(weights)
    for _ in range(n):
        kind = str(rng.choice(kinds, p=probabilities))
        if kind == "binary":
            a = pick()
            b = pick(lambda s: _broadcastable(s, pool[a].shape))
            emit((str(rng.choice(BINARY)), a, b))
        elif kind == "unary":
            emit((str(rng.choice(UNARY)), pick()))
        elif kind == "scalar":
            a = pick()
            op = str(rng.choice(["add", "subtract", "multiply", "divide"]))
            value = float(rng.choice([1.0, 2.0, 0.5, -1.0] if op == "divide"
                                     else [0.0, 1.0, 2.0, 0.5, -1.0]))
            emit(("scalar", a, op, value, bool(rng.random() < 0.5) and op != "divide"))
        elif kind == "constant":
            a = pick()
            shape = pool[a].shape if rng.random() < 0.6 else ()
            fill = float(rng.choice([0.0, 1.0, 2.0, 3.0]))
            value = np.full(shape, fill) if rng.random() < 0.7 else rng.uniform(-1, 1, shape)
            c = len(pool)
            emit(("constant", value))
            if rng.random() < 0.5:  # constant-only arithmetic: foldable
                emit(("multiply", c, c))
            emit((str(rng.choice(BINARY)), a, c) if rng.random() < 0.5
                 else (str(rng.choice(["add", "multiply"])), c, a))
        elif kind == "reduce":
            a = pick()
            ndim = pool[a].ndim
            axis = None if ndim == 0 or rng.random() < 0.3 else (
                int(rng.integers(-ndim, ndim)) if rng.random() < 0.6
                else tuple(range(ndim)))
            emit(("reduce_sum", a, axis, bool(rng.random() < 0.5)))
        elif kind == "matmul":
            a = pick(lambda s: len(s) == 2)
            if a is None:
                continue
            k = pool[a].shape[1]
            b = pick(lambda s: len(s) == 2 and s[0] == k)
            if b is None:
                b = len(pool)
                emit(("constant", rng.uniform(-1, 1, (k, 3))))
            emit(("matmul", a, b))
        elif kind == "reshape":
            a = pick(lambda s: len(s) == 2)
            if a is None:
                continue
            rows, cols = pool[a].shape
            emit(("reshape", a, (cols, rows) if rng.random() < 0.5 else (rows * cols,)))
            if rng.random() < 0.5:
                emit(("reshape", len(pool) - 1, (rows, cols)))  # reshape of reshape
        elif kind == "transpose":
            a = pick(lambda s: len(s) == 2)
            if a is None:
                continue
            emit(("transpose", a))
            emit(("transpose", len(pool) - 1))  # double transpose
        elif kind == "negate":
            emit(("negative", len(pool) - 1 if pool[-1] is not None else pick()))
            emit(("negative", len(pool) - 1))  # double negation
        elif kind == "duplicate":
            # A duplicated subexpression: repeat an earlier pure instruction verbatim.
            pure = [i for i in instrs if i[0] not in ("assign", "assign_add", "read",
                                                       "read_value", "constant", "cond")]
            if pure:
                emit(pure[int(rng.integers(0, len(pure)))])
        elif kind == "effect":
            k = int(rng.integers(0, len(var_shapes)))
            shape = var_shapes[k]
            kind = str(rng.choice(["read", "read_value", "assign", "assign_add"]))
            if kind in ("assign", "assign_add"):
                src = pick(lambda s: s == shape)
                if src is None:
                    src = pick(lambda s: np.broadcast_shapes(s, shape) == shape)
                if src is None:
                    continue
                emit((kind, k, src))
            else:
                emit((kind, k))
        else:  # cond
            a = pick()
            b = pick(lambda s: _broadcastable(s, pool[a].shape))
            ops = (str(rng.choice(BINARY)), str(rng.choice(BINARY)))
            emit(("cond", a, b, ops))
    # Outputs: the last value plus a few random ones; everything else is dead code.
    last = usable[-1]
    extra = [int(i) for i in rng.choice(usable, size=min(2, len(usable)), replace=False)]
    outputs = list(dict.fromkeys([last, *extra]))
    expected = [pool[i] for i in outputs]
    return Program(seed, input_shapes, instrs, outputs, var_shapes, inputs, var_init,
                   expected, vars_np)


def grad_program(program: Program):
    """A function of the program's inputs returning its outputs and the gradients of
    ``sum(outputs[0]) + sum(tanh(outputs[1:]))`` with respect to every input."""

    def fn(*inputs):
        with aj.GradientTape() as tape:
            tape.watch(list(inputs))
            outs = program.run(*inputs)
            loss = aj.reduce_sum(outs[0])
            for extra in outs[1:]:
                loss = loss + aj.reduce_sum(aj.tanh(extra))
        grads = tape.gradient(loss, list(inputs),
                              unconnected_gradients=aj.UnconnectedGradients.ZERO)
        return outs, grads

    return fn
