"""A seeded generator of random differentiable programs for the differential gradient test.

Each program is the source of ``f(K, x, w, b, c, n)``: ``x`` float64[3, 4], ``w`` float64[4, 3]
and ``b`` float64[4] are differentiated, ``c`` float64[3, 4] only steers conditions, ``n`` is a
small int (a loop's trip count). ``K`` is a namespace of ops with two implementations with the
same names: ``AJ`` (autojit) and ``NP`` (NumPy, written independently here), so one source is
both the program under test and its reference.

The programs compose smooth ops (kinks would break finite differences): elementwise math,
broadcasting binary ops (shapes equal, a row ``[4]`` against ``[3, 4]``, a column ``[3, 1]``, a
scalar), reductions (sum, mean, max) over each axis with and without ``keepdims``, indexing
(ints, slices with steps, ``gather`` with repeated indices, index lists, ``...``), matmul,
reshape/transpose/expand_dims, concat, log-softmax and both cross-entropies, conv2d (strides
1 and 2, SAME and VALID, the kernel cut from another value), average pooling, batch and
layer normalization through ``aj.nn.moments``, ``aj.map_fn``/``aj.scan``/``aj.foldl`` over
a matrix's rows (a while loop writing TensorArrays, its body differentiated to second
order), ``solve``/``triangular_solve``/``cholesky``/``slogdet`` of ``a a^T / 10 + 2 I``; and
optionally
wrap statements in tensor ``if``/``else``, ``aj.cond``, ``for _ in K.range(n)``, ``for row in
v``, ``while i < n`` and ``aj.while_loop`` (loop state kept bounded with ``tanh``), nested up
to two deep, and loops that append to a list (a TensorArray in a tensor loop) that is then
stacked and reduced over its first axis (``K.sum(K.stack(outs), axis=0)``, ``K.sum(outs,
axis=0)``). Conditions go through ``K.above(value, threshold)``: the NumPy version records
how close each decision came, so a check can skip a point where a finite-difference step
could flip a branch.
"""

from __future__ import annotations

import random
import types

import numpy as np

import autojit as aj

SHAPES = {"x": (3, 4), "w": (4, 3), "b": (4,), "c": (3, 4)}
DIFFERENTIATED = ("x", "w", "b")


# ----------------------------------------------------------------------------- the two namespaces


def _np_log_softmax(a):
    shifted = a - a.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _np_conv(a, kernel, stride, padding):
    """``a`` [m, k] as one 1-channel NHWC image correlated with a [2, 2] kernel (TF's
    conv2d: SAME pads the bottom/right first; VALID keeps full windows only)."""
    m, k = a.shape
    if padding == "SAME":
        out_m, out_k = -(-m // stride), -(-k // stride)
        pad_m = max((out_m - 1) * stride + 2 - m, 0)
        pad_k = max((out_k - 1) * stride + 2 - k, 0)
        a = np.pad(a, [(pad_m // 2, pad_m - pad_m // 2), (pad_k // 2, pad_k - pad_k // 2)])
    else:
        out_m, out_k = (m - 2) // stride + 1, (k - 2) // stride + 1
    out = np.zeros((out_m, out_k))
    for i in range(out_m):
        for j in range(out_k):
            out[i, j] = np.sum(a[i * stride:i * stride + 2, j * stride:j * stride + 2] * kernel)
    return out


def _np_avg_pool(a):
    """2x2 average pooling, stride 1, SAME (padding not counted in the mean, as TF)."""
    m, k = a.shape
    out = np.zeros((m, k))
    for i in range(m):
        for j in range(k):
            out[i, j] = a[i:i + 2, j:j + 2].mean()
    return out


def _np_batch_norm(a, axes):
    mean = a.mean(axis=axes, keepdims=True)
    var = ((a - mean) ** 2).mean(axis=axes, keepdims=True)
    return (a - mean) / np.sqrt(var + 1e-3)


def _aj_image(a):
    return aj.reshape(a, [1, a.shape[0], a.shape[1], 1])


def _aj_conv(a, kernel, stride, padding):
    out = aj.nn.conv2d(_aj_image(a), aj.reshape(kernel, [2, 2, 1, 1]), stride, padding)
    return aj.reshape(out, out.shape[1:3])


def _aj_batch_norm(a, axes):
    mean, var = aj.nn.moments(a, axes=list(axes), keepdims=True)
    return aj.nn.batch_normalization(a, mean, var, None, None, 1e-3)


class _Margins(list):
    """How far each ``above`` decision of the NumPy run was from its threshold."""


MARGINS = _Margins()


def _np_above(a, t):
    MARGINS.append(abs(float(a) - t))
    return float(a) > t


def _np_scan(fn, rows):
    acc, out = rows[0], [rows[0]]
    for row in rows[1:]:
        acc = fn(acc, row)
        out.append(acc)
    return np.stack(out)


def _np_foldl(fn, rows):
    acc = rows[0]
    for row in rows[1:]:
        acc = fn(acc, row)
    return acc


def _np_while_loop(cond, body, loop_vars):
    while cond(*loop_vars):
        loop_vars = body(*loop_vars)
    return loop_vars


NP = types.SimpleNamespace(
    sin=np.sin, cos=np.cos, tanh=np.tanh, sigmoid=lambda a: 1 / (1 + np.exp(-a)),
    soft_abs=lambda a: np.sqrt(1 + a * a), log_sq=lambda a: np.log(1 + a * a),
    exp_tanh=lambda a: np.exp(np.tanh(a)),
    safe_div=lambda a, d: a / (1 + d * d),
    sum=lambda a, axis=None, keepdims=False: np.sum(a, axis=axis, keepdims=keepdims),
    mean=lambda a, axis=None, keepdims=False: np.mean(a, axis=axis, keepdims=keepdims),
    max=lambda a, axis=None, keepdims=False: np.max(a, axis=axis, keepdims=keepdims),
    matmul=np.matmul, transpose=np.transpose, reshape=np.reshape, expand_dims=np.expand_dims,
    gather=lambda a, i: np.take(a, i, axis=0), concat=np.concatenate,
    log_softmax=_np_log_softmax,
    sparse_ce=lambda labels, logits: -np.take_along_axis(
        _np_log_softmax(logits), np.asarray(labels)[:, None], -1)[:, 0],
    soft_ce=lambda labels, logits: -(labels * _np_log_softmax(logits)).sum(-1),
    softmax=lambda a: np.exp(_np_log_softmax(a)),
    range=range, above=_np_above, cast=float, stack=np.stack,
    cond=lambda p, t, f: t() if p else f(), while_loop=_np_while_loop,
    kernel=lambda a: np.reshape(a, [-1])[:4].reshape(2, 2),
    conv=_np_conv, avg_pool=_np_avg_pool, batch_norm=_np_batch_norm,
    layer_norm=lambda a: _np_batch_norm(a, (1,)),
    map_fn=lambda fn, rows: np.stack([fn(row) for row in rows]), scan=_np_scan,
    foldl=_np_foldl,
    spd=lambda a: a @ a.T * 0.1 + 2.0 * np.eye(a.shape[0]), solve=np.linalg.solve,
    cholesky=np.linalg.cholesky, logdet=lambda a: np.linalg.slogdet(a)[1],
    tri_solve=lambda a, r: np.linalg.solve(np.tril(a), r),
)

AJ = types.SimpleNamespace(
    sin=aj.sin, cos=aj.cos, tanh=aj.tanh, sigmoid=aj.sigmoid,
    soft_abs=lambda a: aj.sqrt(1 + a * a), log_sq=lambda a: aj.log(1 + a * a),
    exp_tanh=lambda a: aj.exp(aj.tanh(a)),
    safe_div=lambda a, d: a / (1 + d * d),
    sum=lambda a, axis=None, keepdims=False: aj.reduce_sum(a, axis=axis, keepdims=keepdims),
    mean=lambda a, axis=None, keepdims=False: aj.reduce_mean(a, axis=axis, keepdims=keepdims),
    max=lambda a, axis=None, keepdims=False: aj.reduce_max(a, axis=axis, keepdims=keepdims),
    matmul=aj.matmul, transpose=aj.transpose, reshape=aj.reshape, expand_dims=aj.expand_dims,
    gather=lambda a, i: aj.gather(a, i), concat=aj.concat,
    log_softmax=aj.nn.log_softmax,
    sparse_ce=lambda labels, logits: aj.nn.sparse_softmax_cross_entropy_with_logits(
        labels=aj.constant(labels), logits=logits),
    soft_ce=lambda labels, logits: aj.nn.softmax_cross_entropy_with_logits(
        labels=labels, logits=logits),
    softmax=aj.nn.softmax,
    range=aj.range, above=lambda a, t: a > t, cast=lambda t: aj.cast(t, aj.float64),
    stack=aj.stack,
    cond=aj.cond, while_loop=aj.while_loop,
    kernel=lambda a: aj.reshape(aj.reshape(a, [-1])[:4], [2, 2]),
    conv=_aj_conv,
    avg_pool=lambda a: aj.reshape(aj.nn.avg_pool2d(_aj_image(a), 2, 1, "SAME"), a.shape),
    batch_norm=_aj_batch_norm,
    layer_norm=lambda a: _aj_batch_norm(a, (1,)),
    map_fn=aj.map_fn, scan=aj.scan, foldl=aj.foldl,
    spd=lambda a: aj.matmul(a, a, transpose_b=True) * 0.1 + 2.0 * aj.eye(a.shape[0],
                                                                          dtype=a.dtype),
    solve=aj.linalg.solve, cholesky=aj.linalg.cholesky,
    logdet=lambda a: aj.linalg.slogdet(a)[1], tri_solve=aj.linalg.triangular_solve,
)


# ----------------------------------------------------------------------------- the generator


def _broadcast(a: tuple, b: tuple) -> tuple | None:
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            return None
        out.append(max(x, y))
    return tuple(reversed(out))


class Program:
    """One generated program: its source and the constructs it uses."""

    def __init__(self, source: str, constructs: set[str]):
        self.source = source
        self.constructs = constructs


class _Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.lines: list[str] = []
        self.count = 0
        self.constructs: set[str] = set()

    # --- helpers
    def fresh(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def const(self) -> str:
        return self.rng.choice(["0.5", "0.75", "1.25", "-0.5", "2.0", "0.3"])

    def pick(self, pool: dict, want=None) -> str:
        names = [n for n, s in pool.items() if want is None or want(s)]
        return self.rng.choice(names)

    # --- one expression over the pool: (source, shape)
    def expression(self, pool: dict) -> tuple[str, tuple]:
        r = self.rng
        kind = r.choice(["unary", "unary", "binary", "binary", "binary", "reduce", "index",
                         "matmul", "shape", "loss", "concat", "nn", "functional", "linalg"])
        if kind == "linalg":  # solves and factorizations of a well-conditioned matrix
            mats = [n for n, s in pool.items() if len(s) == 2]
            if not mats:
                return self.expression(pool)
            a = r.choice(mats)
            p = pool[a][0]
            rhs = [n for n, s in pool.items() if len(s) == 2 and s[0] == p]
            form = r.choice(["solve", "cholesky", "logdet", "tri_solve"])
            self.constructs.add(form)
            if form in ("solve", "tri_solve"):
                b = r.choice(rhs)  # a itself is one
                return f"K.{form}(K.spd({a}), {b})", (p, pool[b][1])
            if form == "cholesky":
                return f"K.cholesky(K.spd({a}))", (p, p)
            return f"K.logdet(K.spd({a}))", ()
        if kind == "functional":  # aj.map_fn / scan / foldl over the rows of a matrix
            rows = [n for n, s in pool.items() if len(s) == 2 and s[0] >= 2]
            if not rows:
                return self.expression(pool)
            a = r.choice(rows)
            c = self.const()
            form = r.choice(["map_fn", "scan", "foldl"])
            self.constructs.add(form)
            if form == "map_fn":
                return f"K.map_fn(lambda row: K.tanh(row * {c}) * K.sum(row), {a})", pool[a]
            if form == "scan":
                return (f"K.scan(lambda acc, row: K.tanh(acc * {c} + K.sin(row)), {a})",
                        pool[a])
            return f"K.foldl(lambda acc, row: acc * {c} + K.sin(row * acc), {a})", pool[a][1:]
        if kind == "nn":
            images = [n for n, s in pool.items() if len(s) == 2 and min(s) >= 2]
            kernels = [n for n, s in pool.items() if int(np.prod(s)) >= 4]
            if not images or not kernels:
                return self.expression(pool)
            a, b = r.choice(images), r.choice(kernels)
            m, k = pool[a]
            form = r.choice(["conv", "conv", "avg_pool", "batch_norm", "layer_norm"])
            self.constructs.add(form)
            if form == "conv":
                stride, padding = r.choice([1, 2]), r.choice(["SAME", "VALID"])
                shape = (-(-m // stride), -(-k // stride)) if padding == "SAME" else \
                    ((m - 2) // stride + 1, (k - 2) // stride + 1)
                return f"K.conv({a}, K.kernel({b}), {stride}, {padding!r})", shape
            if form == "batch_norm":
                axes = r.choice([(0,), (0, 1)])
                return f"K.batch_norm({a}, {axes})", (m, k)
            return f"K.{form}({a})", (m, k)
        if kind == "unary":
            a = self.pick(pool)
            f = r.choice(["sin", "cos", "tanh", "sigmoid", "soft_abs", "log_sq", "exp_tanh"])
            return f"K.{f}({a})", pool[a]
        if kind == "binary":
            a = self.pick(pool)
            partners = [n for n, s in pool.items() if _broadcast(pool[a], s) is not None]
            b = r.choice(partners)
            shape = _broadcast(pool[a], pool[b])
            if pool[a] != pool[b]:
                self.constructs.add("broadcasting")
            op = r.choice(["+", "-", "*", "safe_div", "scalar"])
            if op == "safe_div":
                return f"K.safe_div({a}, {b})", shape
            if op == "scalar":
                return f"({a} * {self.const()} + {self.const()})", pool[a]
            return f"({a} {op} {b})", shape
        if kind == "reduce":
            a = self.pick(pool, lambda s: len(s) >= 1)
            shape = pool[a]
            f = r.choice(["sum", "mean", "max"])
            axis = r.choice([None, *range(len(shape)), -1])
            keep = r.random() < 0.4
            self.constructs.add(f"reduce_{f}")
            if axis is None:
                out = tuple(1 for _ in shape) if keep else ()
            else:
                ax = axis % len(shape)
                out = tuple(1 if i == ax else d for i, d in enumerate(shape)) if keep else \
                    tuple(d for i, d in enumerate(shape) if i != ax)
            return f"K.{f}({a}, axis={axis}, keepdims={keep})", out
        if kind == "index":
            a = self.pick(pool, lambda s: len(s) >= 1 and s[0] >= 2)
            shape = pool[a]
            self.constructs.add("indexing")
            forms = [(f"{a}[0]", shape[1:]), (f"{a}[1:]", (shape[0] - 1,) + shape[1:]),
                     (f"{a}[::-1]", shape), (f"K.gather({a}, [1, 0, 1])", (3,) + shape[1:]),
                     (f"{a}[[0, -1]]", (2,) + shape[1:])]
            if len(shape) == 2:
                forms += [(f"{a}[:, ::2]", (shape[0], (shape[1] + 1) // 2)),
                          (f"{a}[1, :2]", (min(2, shape[1]),))]
                if shape[1] >= 2:  # a convolution's output may be one column wide
                    forms.append((f"{a}[..., 1]", (shape[0],)))
            return r.choice(forms)
        if kind == "matmul":
            self.constructs.add("matmul")
            twos = [n for n, s in pool.items() if len(s) == 2]
            if not twos:
                return self.expression(pool)
            a = r.choice(twos)
            m, k = pool[a]
            partners = [n for n in twos if pool[n][0] == k]
            if partners and r.random() < 0.6:
                b = r.choice(partners)
                return f"K.matmul({a}, {b})", (m, pool[b][1])
            if r.random() < 0.5:
                return f"K.matmul({a}, K.transpose({a}))", (m, m)
            return f"K.matmul(K.transpose({a}), {a})", (k, k)
        if kind == "shape":
            a = self.pick(pool, lambda s: len(s) >= 1)
            shape = pool[a]
            if len(shape) == 2 and r.random() < 0.5:
                return f"K.transpose({a})", shape[::-1]
            if r.random() < 0.5:
                return f"K.reshape({a}, [-1])", (int(np.prod(shape)),)
            return f"K.expand_dims({a}, 0)", (1,) + shape
        if kind == "loss":
            a = self.pick(pool, lambda s: len(s) == 2 and s[1] >= 2)
            m, k = pool[a]
            self.constructs.add("losses")
            choice = r.random()
            if choice < 0.4:
                labels = [r.randrange(k) for _ in range(m)]
                return f"K.sparse_ce({labels}, {a})", (m,)
            if choice < 0.7:
                b = self.pick(pool, lambda s: s == (m, k))
                return f"K.soft_ce(K.softmax({b}), {a})", (m,)
            return f"K.log_softmax({a})", (m, k)
        a = self.pick(pool, lambda s: len(s) >= 1)
        b = self.pick(pool, lambda s: s[1:] == pool[a][1:] and len(s) == len(pool[a]))
        return f"K.concat([{a}, {b}], 0)", (pool[a][0] + pool[b][0],) + pool[a][1:]

    def into(self, pool: dict, shape: tuple) -> str:
        """An expression broadcasting into ``shape`` exactly (a loop update term)."""
        names = [n for n, s in pool.items() if _broadcast(s, shape) == shape]
        return self.rng.choice(names)

    def assign(self, pool: dict, indent: int) -> str:
        expr, shape = self.expression(pool)
        name = self.fresh()
        self.emit(indent, f"{name} = {expr}")
        pool[name] = shape
        return name

    def condition(self, pool: dict) -> str:
        a = self.pick(pool)
        source = f"K.sum({a})" if self.rng.random() < 0.7 else "K.sum(c)"
        return f"K.above({source}, {self.const()})"

    # --- statements
    def block(self, pool: dict, indent: int, depth: int, count: int) -> None:
        for _ in range(count):
            r = self.rng.random()
            if depth < 2 and r < 0.12:
                self.if_stmt(pool, indent, depth)
            elif depth < 2 and r < 0.2:
                self.explicit_cond(pool, indent)
            elif depth < 2 and r < 0.4:
                self.loop(pool, indent, depth)
            else:
                self.assign(pool, indent)

    def if_stmt(self, pool, indent, depth):
        self.constructs.add("if")
        target, shape = self.fresh(), pool[self.pick(pool)]
        self.emit(indent, f"if {self.condition(pool)}:")
        for branch in ("if", "else"):
            if branch == "else":
                self.emit(indent, "else:")
            inner = dict(pool)
            self.block(inner, indent + 1, depth + 1, self.rng.randint(0, 2))
            term = self.into(inner, shape)
            exact = self.rng.choice([n for n, s in inner.items() if s == shape])
            self.emit(indent + 1, f"{target} = K.tanh({term}) * {self.const()} + "
                                  f"K.sin({exact})")
        pool[target] = shape

    def explicit_cond(self, pool, indent):
        self.constructs.add("aj.cond")
        a = self.pick(pool)
        shape = pool[a]
        b = self.into(pool, shape)
        target = self.fresh()
        self.emit(indent, f"{target} = K.cond({self.condition(pool)}, lambda: K.sin({a}) * {b},"
                          f" lambda: {a} * {self.const()})")
        pool[target] = shape

    def loop(self, pool, indent, depth):
        r = self.rng
        form = r.choice(["range", "range_t", "rows", "while", "while_loop", "append"])
        self.constructs.add(f"loop_{form}")
        if form == "append":
            self.append_loop(pool, indent, depth)
            return
        if form == "rows":
            xs = self.pick(pool, lambda s: len(s) == 2)
            row_shape = pool[xs][1:]
            acc = self.fresh()
            self.emit(indent, f"{acc} = {xs}[0] * 0.5")
            pool[acc] = row_shape
            row = f"row{self.count}"  # nested loops must not rebind an outer loop's row
            self.emit(indent, f"for {row} in {xs}:")
            inner = dict(pool)
            inner[row] = row_shape
            self.loop_body(inner, acc, indent + 1, depth, extra=row)
            return
        acc = self.pick(pool)
        shape = pool[acc]
        if form == "while_loop":
            term = self.into(pool, shape)
            target = self.fresh()
            self.emit(indent, f"_, {target} = K.while_loop(lambda i, a: i < n, lambda i, a: "
                              f"(i + 1, K.tanh(a * {term} + {self.const()})), (0, {acc}))")
            pool[target] = shape
            return
        carried = self.fresh()
        self.emit(indent, f"{carried} = {acc} * 1.0")
        pool[carried] = shape
        if form == "while":
            counter = self.fresh()
            self.emit(indent, f"{counter} = 0")
            self.emit(indent, f"while {counter} < n:")
            self.loop_body(dict(pool), carried, indent + 1, depth)
            self.emit(indent + 1, f"{counter} += 1")
            return
        self.emit(indent, "for t in K.range(n):")
        inner = dict(pool)
        self.loop_body(inner, carried, indent + 1, depth,
                       extra="K.cast(t) * 0.25" if form == "range_t" else None)

    def append_loop(self, pool, indent, depth):
        """A loop appending one element per iteration (over ``K.range(n + 1)``, never empty,
        or a matrix's rows), the list stacked and reduced over its first axis after it."""
        r = self.rng
        acc = self.pick(pool)
        shape = pool[acc]
        carried, outs = self.fresh(), f"outs{self.count}"
        self.emit(indent, f"{carried} = {acc} * 1.0")
        pool[carried] = shape
        self.emit(indent, f"{outs} = []")
        matrices = [n for n, s in pool.items() if len(s) == 2]
        inner = dict(pool)
        if matrices and r.random() < 0.4:
            xs = r.choice(matrices)
            row = f"row{self.count}"
            self.emit(indent, f"for {row} in {xs}:")
            inner[row] = shape = pool[xs][1:]
            element = f"K.sin({row}) * K.sum({carried})"
        else:
            self.emit(indent, "for t in K.range(n + 1):")
            element = f"K.sin({carried}) * {self.const()}"
        self.loop_body(inner, carried, indent + 1, depth)
        self.emit(indent + 1, f"{outs}.append({element})")
        target = self.fresh()
        reduce = r.choice([f"K.sum(K.stack({outs}), axis=0)", f"K.mean(K.stack({outs}), axis=0)",
                           f"K.sum({outs}, axis=0)", f"K.max(K.stack({outs}), axis=0)"])
        self.constructs.add("list append, stacked")
        self.emit(indent, f"{target} = {reduce}")
        pool[target] = shape

    def loop_body(self, inner, acc, indent, depth, extra=None):
        shape = inner[acc]
        self.block(inner, indent, depth + 1, self.rng.randint(0, 2))
        term = self.into(inner, shape)
        more = f" + {extra}" if extra else ""
        self.emit(indent, f"{acc} = K.tanh({acc} * {term} * 0.9 + {self.const()}{more})")

    def program(self) -> Program:
        pool = dict(SHAPES)
        del pool["c"]  # c only steers conditions
        self.emit(1, f"{self.fresh()} = x * 1.0")  # some programs alias an input at once
        pool[f"v{self.count}"] = SHAPES["x"]
        self.block(pool, 1, 0, self.rng.randint(2, 6))
        last = [n for n in pool if n.startswith("v")][-3:]
        terms = " + ".join(f"K.sum(K.sin({n}))" for n in last)
        self.emit(1, f"return {terms}")
        source = "def f(K, x, w, b, c, n):\n" + "\n".join(self.lines) + "\n"
        return Program(source, self.constructs)


def generate(seed: int) -> Program:
    """The program for ``seed`` (the same source every time)."""
    return _Generator(seed).program()
