"""Every user-facing exception class. Each docstring says cause, example and fix."""

from __future__ import annotations


class AutojitError(Exception):
    """Base class of autojit's own errors. Usage: ``except aj.errors.AutojitError``"""


class ShapeError(AutojitError, ValueError):
    """An op got inputs whose shapes do not fit.

    Example: ``aj.matmul(a_3x4, b_5x6)``. Fix: reshape or transpose an input.
    """


class DTypeError(AutojitError, TypeError):
    """An op got inputs of the wrong or mismatched dtypes.

    Example: ``aj.add(int32_tensor, float32_tensor)``. Fix: ``aj.cast`` one input.
    """


class DeviceError(AutojitError, RuntimeError):
    """A device was asked for that does not exist, or an op mixed devices outside a scope.

    Example: ``aj.device("GPU:0")`` on a machine without CuPy. Fix: install
    ``autojit[gpu]``, or move tensors with ``t.to("GPU:0")``.
    """


class InvalidArgumentError(AutojitError, ValueError):
    """An argument has a value the op cannot use (an axis out of range, a bad name).

    Example: ``aj.reduce_sum(x, axis=5)`` for a 2-D ``x``. Fix: pass a valid value.
    """


class GradientError(AutojitError, RuntimeError):
    """A GradientTape was used in a way it does not support.

    Example: calling ``gradient`` twice on a non-persistent tape. Fix: ``persistent=True``.
    """


class TracingError(AutojitError, TypeError):
    """A symbolic tensor was used where a concrete value is needed, or a function broke a
    tracing rule (a Variable created on a later trace, a signature that does not match).

    Example: ``if x > 0:`` on a tensor in code that was not converted. Fix: let autograph
    convert it, use ``aj.cond``, or pass a Python value.
    """


class AutographError(AutojitError):
    """Python control flow over tensors cannot be turned into a graph as written.

    Example: a variable assigned in only one branch of a tensor ``if`` and used after it.
    Fix: give it a value before the ``if`` or in both branches.
    """


class CheckpointError(AutojitError, ValueError):
    """A checkpoint cannot be written or restored: the file is missing, truncated or not a
    checkpoint, or its variables do not match the objects restored into (a missing or
    unexpected variable, a shape or dtype mismatch).

    Example: ``aj.train.Checkpoint(model=bigger_model).restore(path)``. Fix: restore into
    objects built the same way as those saved; the message names the variable or file.
    """


class SavedModelError(AutojitError, ValueError):
    """An object or a graph cannot be saved with ``aj.saved_model``, or a saved model cannot
    be loaded or called as asked.

    Example: saving a function whose graph reads a Variable the saved object does not hold,
    or calling a loaded function with a shape it was not traced for. Fix: the message says
    what to hold or change (``obj.optimizer = opt``, call the original before saving).
    """
