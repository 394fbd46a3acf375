"""``if``/``while``/``for`` → functions plus a call of ``ag__.if_stmt``/``while_stmt``/
``for_stmt``, which choose Python or graph control flow at run time.

The block's modified variables (its *state*) are shared with the generated functions through
``nonlocal`` and read/written as a tuple by ``get_state``/``set_state``; those live after the
block come first (``nouts``): they are what a graph ``cond``/``while_loop`` must output
(containers whose items the block assigns, ``l[i] = v``, count as modified, and as live)::

    if x > 0:                         def get_state():
        y = x                             return (y,)
    else:                             def set_state(vars_):
        y = -x                            nonlocal y
                                          (y,) = vars_
                                      def if_body():
                                          nonlocal y
                                          y = x
                                      def else_body():
                                          nonlocal y
                                          y = -x
                                      ag__.if_stmt(x > 0, if_body, else_body, get_state,
                                                   set_state, ('y',), 1)

A state variable that may have no value at its block gets ``ag__.Undefined('name')`` at the
top of the function (so ``nonlocal`` has a binding, and a value bound on some paths only is
kept); reads that may see it go through ``ag__.ld`` (Python's
``UnboundLocalError``). Statements inside ``try`` or containing ``yield``/``await`` stay
Python; their condition is checked by ``ag__.python_cond`` (a tensor there is an error).

Note [Walrus in a loop test]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~
``while (j := f()) < n:`` binds ``j`` at every test, the first one before the loop included,
so ``j`` always has a value in the body and after the loop. The test function declares the
block's state ``nonlocal`` like the body does, a tensor loop computes the next test before it
reads the new state (``loops._GraphLoop``), and ``j`` is a loop variable (an output) even
though liveness finds it dead at the loop head: the test kills it there
(``activity.walrus_targets``: bindings that happen whenever the test runs).

Note [Attributes in tensor control flow]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
An attribute the block assigns (``self.total = self.total + x``, ``s.a.b += 1``) is state of
the block, as TF's autograph makes it, so a tensor loop can carry it and a tensor ``if`` can
merge it: ``get_state`` reads it with ``ag__.get_attr`` (``Undefined`` when the object has no
such attribute yet) and ``set_state`` writes it with ``ag__.set_attr`` (``Undefined``
deletes it again). It counts as live after the block, since any alias of the object may read
it: an attribute that has no value before a tensor loop, or is assigned in one branch of a
tensor ``if`` only, is an error, where a local name that is dead afterwards is not. Not
tracked: attributes of an object the block itself rebinds (``o = Obj(); o.v = 1``; the
object is then new state), and attributes set by functions the block calls.
"""

from __future__ import annotations

from typing import Any

import gast

from autojit.autograph import origin, templates
from autojit.autograph.analysis import activity as act
from autojit.autograph.analysis import definitions, liveness
from autojit.autograph.converters import Converter

_STATEMENTS = (gast.If, gast.While, gast.For)
_TRY = (gast.Try,) + ((gast.TryStar,) if hasattr(gast, "TryStar") else ())
_SUSPEND = (gast.Yield, gast.YieldFrom, gast.Await)


class ControlFlowConverter(Converter):
    statements_only = True

    def __init__(self, ctx: Any):
        super().__init__(ctx)
        self.scopes: list = []

    # --- one function scope ------------------------------------------------------------
    def visit_FunctionDef(self, node: Any) -> Any:
        liveness.annotate(node)
        definitions.annotate(node)
        declared = act.declarations(node)
        scope = {"global": declared["global"], "nonlocal": declared["nonlocal"]}
        undefined: set = set()
        own = list(act.own_nodes(node.body))
        suspends = any(isinstance(n, _SUSPEND) for n in own)
        handlers = any(isinstance(n, gast.ExceptHandler) for n in own)
        _mark_python_only(node.body, None, suspends)
        # Containers whose items a block assigns are its state too, when they are this
        # function's own names (Note [Containers in tensor control flow], conditionals.py).
        names = act.params(node) | act.modified(node.body) | declared["global"] \
            | declared["nonlocal"]
        for stmt in own:
            if isinstance(stmt, _STATEMENTS) and not stmt.ag_python_only:
                outs, others = _state(stmt, handlers, names)
                stmt.ag_state = (outs, others)
                undefined |= {n for n in outs + others if "." not in n} \
                    - stmt.ag_defined_in - scope["global"] - scope["nonlocal"]
        # `del x` makes x Undefined (visit_Delete): reads after it are checked too
        deleted = {t.id for n in own if isinstance(n, gast.Delete) for t in n.targets
                   if isinstance(t, gast.Name)} - scope["global"] - scope["nonlocal"]
        node.body = _ReadChecks(undefined | deleted).visit_block(node.body)
        node.body = _with_undefined(node.body, undefined)
        self.scopes.append(scope)
        node = self.generic_visit(node)
        self.scopes.pop()
        return node

    def visit_AsyncFunctionDef(self, node: Any) -> Any:
        return node  # awaits cannot move into generated functions; left as Python

    def visit_Delete(self, node: Any) -> Any:
        """``del x`` of a local → ``ag__.ld(x); x = ag__.Undefined("x")``: a block's state
        functions read every name it changes, which an unbound one would make a NameError;
        Undefined is what reads after it check (``ag__.ld``)."""
        scope = self.scopes[-1] if self.scopes else {"global": set(), "nonlocal": set()}
        out, others = [], []
        for target in node.targets:
            if isinstance(target, gast.Name) and target.id not in scope["global"] \
                    and target.id not in scope["nonlocal"]:
                check = "ag__.ld(NAME)\n" if getattr(target, "ag_maybe_undefined", False) \
                    else ""
                out += templates.replace(check + "NAME = ag__.Undefined(TEXT)",
                                         NAME=target.id, TEXT=templates.constant(target.id))
            else:
                others.append(target)
        if not out:
            return node
        if others:
            node.targets = others
            out.insert(0, node)
        return origin.set_location(out, node)

    # --- statements ----------------------------------------------------------------------
    def visit_If(self, node: Any) -> Any:
        node = self.generic_visit(node)
        if node.ag_python_only:
            node.test = self._python_check("python_cond", node.test, node.ag_python_only)
            return node
        namer = self.ctx.namer
        body, orelse = namer.new("if_body"), namer.new("else_body")
        names = self._names(node)
        out = self._state_functions(node, names)
        out += templates.replace("def BODY():\n    DECLARE\n    STMTS", BODY=body,
                                 DECLARE=self._declare(node), STMTS=node.body)
        if node.orelse:
            out += templates.replace("def ORELSE():\n    DECLARE\n    STMTS", ORELSE=orelse,
                                     DECLARE=self._declare(node), STMTS=node.orelse)
        else:
            orelse = "ag__.no_op"
        call = "ag__.if_stmt(TEST, BODY, ORELSE, GET_STATE, SET_STATE, NAMES, NOUTS)"
        flag = getattr(node, "ag_guard_flag", None)  # Note [Flags known in their guards]
        if flag is not None:
            call = call[:-1] + f", guard={flag!r})"
        out += templates.replace(call, TEST=node.test, BODY=body, ORELSE=_expr(orelse),
                                 **names)
        return origin.set_location(out, node)

    def visit_While(self, node: Any) -> Any:
        node = self.generic_visit(node)
        if node.ag_python_only:
            node.test = self._python_check("python_cond", node.test, node.ag_python_only)
            return node
        namer = self.ctx.namer
        test, body = namer.new("loop_test"), namer.new("loop_body")
        names = self._names(node)
        out = self._state_functions(node, names)
        # the test's own state declared too: a walrus there (`while (j := f()) < n:`)
        # binds the function's `j`
        out += origin.set_location(templates.replace(
            "def TEST():\n    DECLARE\n    return EXPR", TEST=test, EXPR=node.test,
            DECLARE=self._declare(node)), node.test)
        out += templates.replace("def BODY():\n    DECLARE\n    STMTS", BODY=body,
                                 DECLARE=self._declare(node), STMTS=node.body)
        out += templates.replace(
            "ag__.while_stmt(TEST, BODY, GET_STATE, SET_STATE, NAMES, NOUTS)", TEST=test,
            BODY=body, **names)
        return origin.set_location(out, node)

    def visit_For(self, node: Any) -> Any:
        node = self.generic_visit(node)
        extra = getattr(node, "ag_extra_test", None)
        if node.ag_python_only:
            node.iter = self._python_check("python_iter", node.iter, node.ag_python_only)
            if extra is not None:
                check = self._python_check("python_cond", extra, node.ag_python_only)
                stop = templates.replace("if not EXTRA:\n    break", EXTRA=check)
                node.body = origin.set_location(stop, node) + node.body
            return node
        namer = self.ctx.namer
        body, itr = namer.new("loop_body"), namer.new("itr")
        names = self._names(node)
        out = self._state_functions(node, names)
        extra_name = "None"
        if extra is not None:
            extra_name = namer.new("extra_test")
            out += templates.replace("def EXTRA_TEST():\n    return EXTRA",
                                     EXTRA_TEST=extra_name, EXTRA=extra)
        assign = origin.set_location(templates.replace("TARGET = ITR", TARGET=node.target,
                                                       ITR=itr), node.target)
        out += templates.replace("def BODY(ITR):\n    DECLARE\n    STMTS", BODY=body, ITR=itr,
                                 DECLARE=self._declare(node), STMTS=assign + node.body)
        targets = tuple(sorted(act.modified(node.target)))
        out += templates.replace(
            "ag__.for_stmt(ITER, EXTRA, BODY, GET_STATE, SET_STATE, NAMES, NOUTS, TARGETS)",
            ITER=node.iter, EXTRA=_expr(extra_name), BODY=body,
            TARGETS=templates.constant(targets), **names)
        return origin.set_location(out, node)

    # --- pieces ----------------------------------------------------------------------------
    def _names(self, node: Any) -> dict:
        outs, others = node.ag_state
        state = outs + others
        if not state:
            return {"GET_STATE": _expr("None"), "SET_STATE": _expr("None"),
                    "NAMES": templates.constant(()), "NOUTS": templates.constant(0)}
        return {"GET_STATE": self.ctx.namer.new("get_state"),
                "SET_STATE": self.ctx.namer.new("set_state"),
                "NAMES": templates.constant(tuple(state)),
                "NOUTS": templates.constant(len(outs))}

    def _state_functions(self, node: Any, names: dict) -> list:
        outs, others = node.ag_state
        state = outs + others
        if not state:
            return []
        # Note [Attributes in tensor control flow]: a dotted name is read with
        # ag__.get_attr (Undefined while it does not exist) and written with ag__.set_attr
        # (which deletes it for Undefined), through a temporary in the unpacking.
        loads, stores, writes = [], [], []
        for name in state:
            if "." not in name:
                loads.append(templates.name(name))
                stores.append(name)
                continue
            obj, _, attr = name.rpartition(".")
            temp = self.ctx.namer.new("attr_")
            loads.append(templates.replace_as_expression(
                "ag__.get_attr(OBJ, ATTR)", OBJ=_load(obj), ATTR=templates.constant(attr)))
            stores.append(temp)
            writes += templates.replace("ag__.set_attr(OBJ, ATTR, TEMP)", OBJ=_load(obj),
                                        ATTR=templates.constant(attr), TEMP=temp)
        return templates.replace(
            """
            def GET_STATE():
                return STATE
            def SET_STATE(VARS):
                DECLARE
                STORE = VARS
                WRITES
            """, GET_STATE=names["GET_STATE"], SET_STATE=names["SET_STATE"],
            STATE=gast.Tuple(elts=loads, ctx=gast.Load()),
            STORE=templates.names_tuple(stores, store=True),
            VARS=self.ctx.namer.new("vars_"), DECLARE=self._declare(node),
            WRITES=writes)

    def _declare(self, node: Any) -> list:
        """``nonlocal``/``global`` statements for the block's state variables."""
        outs, others = node.ag_state
        state = outs + others
        globals_ = [n for n in state if n in self.scopes[-1]["global"]]
        nonlocals = [n for n in state if n not in self.scopes[-1]["global"] and "." not in n]
        out = []
        if nonlocals:
            out.append(gast.Nonlocal(names=nonlocals))
        if globals_:
            out.append(gast.Global(names=globals_))
        return out

    def _python_check(self, operator: str, expr: Any, reason: str) -> Any:
        new = templates.replace_as_expression(f"ag__.{operator}(EXPR, REASON)", EXPR=expr,
                                              REASON=templates.constant(reason))
        return origin.set_location(new, expr)


def _with_undefined(body: list, undefined: set) -> list:
    """``body`` with ``name = ag__.Undefined('name')`` first (after a docstring) for each
    state variable that may have no value at its block. At the top of the function, not
    before the block: a name bound on some paths only (``if mode == "a": y = ...`` /
    ``else: raise ...``), or in an earlier iteration of a Python loop, keeps its value."""
    out = []
    for name in sorted(undefined):
        out += templates.replace("NAME = ag__.Undefined(TEXT)", NAME=name,
                                 TEXT=templates.constant(name))
    if not out:
        return body
    origin.set_location(out, body[0])
    first = body[0]
    docstring = isinstance(first, gast.Expr) and isinstance(first.value, gast.Constant) \
        and isinstance(first.value.value, str)
    return body[:1] + out + body[1:] if docstring else out + body


def _expr(text: str) -> Any:
    return templates.replace_as_expression(text)


def _load(dotted: str) -> Any:
    """The expression ``a.b.c`` (loads) for the dotted name ``"a.b.c"``."""
    root, *attrs = dotted.split(".")
    node = templates.name(root)
    for attr in attrs:
        node = gast.Attribute(value=node, attr=attr, ctx=gast.Load())
    return node


def _state(stmt: Any, handlers: bool, names: set) -> tuple:
    """(outputs, others): the statement's modified names (and those of ``names`` whose items
    it assigns: ``a[i] = v``), those live after it first.

    ``except ... as e`` names are left out: Python deletes them when the handler ends, so
    they are never state, and as locals of the generated function they stay correct.
    """
    info = act.activity(stmt)
    rebound = info.modified | info.maybe
    mutated = info.mutated & names
    modified = rebound | mutated
    # Attributes of objects the statement neither rebinds nor mutates (Note [Attributes in
    # tensor control flow]); like a mutated container, always an output.
    attributes = sorted(a for a in info.attributes if a.partition(".")[0] not in modified)
    if handlers:
        modified -= {n.name.id for n in act.own_nodes([stmt])
                     if isinstance(n, gast.ExceptHandler) and isinstance(n.name, gast.Name)}
    modified = sorted(modified)
    live = stmt.ag_live_head if isinstance(stmt, (gast.While, gast.For)) else stmt.ag_live_out
    if isinstance(stmt, gast.While):  # Note [Walrus in a loop test]
        live = live | act.walrus_targets(stmt.test)
    # A mutated container is an output even when its name is dead: an alias may read it
    # (one made before the statement; a container the statement makes itself is new).
    kept = mutated & stmt.ag_defined_in
    outs = [n for n in modified if n in live or n in kept] + attributes
    return outs, [n for n in modified if n not in live]


def _mark_python_only(stmts: list, reason: str | None, suspends: bool) -> None:
    """Set ``ag_python_only`` (a reason, or ``None``) on the function's if/while/for.
    ``suspends``: whether the function has any ``yield``/``await`` at all."""
    for stmt in stmts:
        if isinstance(stmt, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            continue
        inner = reason
        if isinstance(stmt, _TRY):
            inner = "inside a `try` statement"
        if isinstance(stmt, _STATEMENTS):
            own = reason
            if own is None and suspends and any(isinstance(n, _SUSPEND)
                                                for n in act.own_nodes([stmt])):
                own = "a statement containing `yield`"
            stmt.ag_python_only = own
        for field in ("body", "orelse", "finalbody"):
            block = getattr(stmt, field, None)
            if isinstance(block, list):
                _mark_python_only(block, inner, suspends)
        for handler in getattr(stmt, "handlers", ()):
            _mark_python_only(handler.body, inner, suspends)
        for case in getattr(stmt, "cases", ()):
            _mark_python_only(case.body, inner, suspends)


class _ReadChecks(gast.NodeTransformer):
    """Reads of names in ``undefined`` that may find no value → ``ag__.ld(name)``."""

    def __init__(self, undefined: set):
        self.undefined = undefined

    def visit_block(self, stmts: list) -> list:
        out = []
        for stmt in stmts:
            target = getattr(stmt, "target", None)
            if isinstance(stmt, gast.AugAssign) and isinstance(target, gast.Name) \
                    and getattr(target, "ag_maybe_undefined", False) \
                    and target.id in self.undefined:
                check = templates.replace("ag__.ld(NAME)", NAME=target.id)
                out += origin.set_location(check, stmt)
            out.append(self.visit(stmt))
        return out

    def generic_visit(self, node: Any) -> Any:
        for field, old in gast.iter_fields(node):
            if isinstance(old, list) and old and isinstance(old[0], gast.stmt):
                setattr(node, field, self.visit_block(old))
            elif isinstance(old, list):
                setattr(node, field, [self.visit(v) if isinstance(v, gast.AST) else v
                                      for v in old])
            elif isinstance(old, gast.AST):
                setattr(node, field, self.visit(old))
        return node

    def visit_Name(self, node: Any) -> Any:
        if isinstance(node.ctx, gast.Load) and getattr(node, "ag_maybe_undefined", False) \
                and node.id in self.undefined:
            new = templates.replace_as_expression("ag__.ld(NAME)", NAME=node.id)
            return origin.set_location(new, node)
        return node

    def _leave(self, node: Any) -> Any:
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = _leave
