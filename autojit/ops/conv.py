"""Convolutions and pooling (``aj.nn.conv2d``, ``depthwise_conv2d``, ``conv2d_transpose``,
``max_pool2d``, ``avg_pool2d`` and their 1-D forms), with TF's argument conventions.

Note [Convolutions as im2col]: every kernel views the (padded) input as patches
``[batch, out_h, out_w, kh, kw, channels]`` with one ``as_strided`` call (NumPy and CuPy both
have it), so a convolution is one copy of the patches plus one BLAS matmul, and pooling is one
reduction over the window axes. The adjoints scatter patches back ("col2im") with one strided
``+=`` per filter tap (``kh * kw`` Python steps, never one per pixel), except at stride 1,
where ``conv2d_transpose`` is itself a convolution with the flipped filter. The trade-off: the
patch copy costs ``kh * kw`` times the input's memory, as in Caffe; cuDNN would avoid it.

Note [Convolution adjoints]: the gradients are ops of the same family, so every order works:
``conv2d(x, w)`` has the input-gradient ``conv2d_transpose(g, w)`` and the filter-gradient
``conv2d_backprop_filter(x, g)``; each of the three is linear in each input, and the VJP of
each is made of the other two. Max pooling routes gradients to the first maximum of each
window (as TF): ``max_pool2d_grad(x, g)`` scatters ``g`` there and ``max_pool2d_gather(x, c)``
(its adjoint) picks ``c`` there. ``avg_pool2d`` and ``avg_pool2d_grad`` are adjoint.

Ops work in NHWC; ``data_format="NCHW"`` is an attr the kernels honour by transposing in and
out (a copy each way; native NCHW kernels are left for later). The 1-D forms insert a height
axis of 1 and call the 2-D ops, as TF does. Padding attrs are "SAME", "VALID" or explicit
``((top, bottom), (left, right))``; pads are worked out from the actual shapes in the kernel,
so unknown dims while tracing are fine. ``SAME`` average pooling divides by the number of
real (unpadded) elements in each window, as TF.
"""

from __future__ import annotations

import operator
from typing import Any

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.array import expand_dims, squeeze
from autojit.ops.core import bind, defop

# ----------------------------------------------------------------------------- geometry


def _dim_geometry(size, k, stride, dilation, padding):
    """(pad_before, pad_after, out) along one spatial dim; None where a dim is unknown."""
    if size is None or k is None:
        return None, None, None
    eff = (k - 1) * dilation + 1
    if padding == "VALID":
        before = after = 0
    elif padding == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + eff - size, 0)
        before, after = total // 2, total - total // 2
    else:
        before, after = padding
    return before, after, (size + before + after - eff) // stride + 1


def _geometry(hw, khw, strides, dilations, padding):
    """((pads_h, pads_w), (out_h, out_w)) for spatial size ``hw`` and window ``khw``."""
    per = padding if isinstance(padding, tuple) else (padding, padding)
    gh = _dim_geometry(hw[0], khw[0], strides[0], dilations[0], per[0])
    gw = _dim_geometry(hw[1], khw[1], strides[1], dilations[1], per[1])
    return ((gh[0], gh[1]), (gw[0], gw[1])), (gh[2], gw[2])


def _spatial(shape, data_format):
    return tuple(shape[2:4]) if data_format == "NCHW" else tuple(shape[1:3])


def _channels(shape, data_format):
    return shape[1] if data_format == "NCHW" else shape[3]


def _layout(n, hw, c, data_format):
    return (n, c, *hw) if data_format == "NCHW" else (n, *hw, c)


def _where(name, x, w, data_format, w_name="filter"):
    wpart = f", {w_name} shape {shapes.fmt(w.shape)}" if w is not None else ""
    return f"(input shape {shapes.fmt(x.shape)}{wpart}, data_format {data_format})"


def _check_output(name, out_hw, x, w, data_format, w_name="filter"):
    if any(o is not None and o < 1 for o in out_hw):
        where = _where(name, x, w, data_format, w_name)
        raise ShapeError(f"{name}: the window does not fit in the padded input: the output "
                         f"would have spatial size {list(out_hw)} {where}; use "
                         "padding='SAME', a smaller window or a larger input")


def _float_rule(name, *avals):
    dt = dtypes.same_dtype(name, tuple(a.dtype for a in avals))
    if not dtypes.is_floating(dt):
        raise DTypeError(f"{name}: expected floating-point tensors, got {dt.name}")
    return dt


def _rank4(name, x, w, data_format, what="input", w_name="filter"):
    value = x if what == "input" else w
    if len(value.shape) != 4:
        layout = "[batch, channels, height, width]" if data_format == "NCHW" \
            else "[batch, height, width, channels]"
        expected = layout if what == "input" else "[height, width, in_channels, out_channels]"
        raise ShapeError(f"{name}: expected {what} of rank 4 {expected}, got rank "
                         f"{len(value.shape)} {_where(name, x, w, data_format, w_name)}")


def _same(a, b):
    return a is None or b is None or a == b


# ----------------------------------------------------------------------------- kernel helpers


def _to_nhwc(x, data_format):
    return x.transpose(0, 2, 3, 1) if data_format == "NCHW" else x


def _from_nhwc(xp, y, data_format):
    return xp.ascontiguousarray(y.transpose(0, 3, 1, 2)) if data_format == "NCHW" else y


def _pad(xp, x, pads, value=0):
    if pads == ((0, 0), (0, 0)):
        return x
    return xp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def _patches(xp, xpad, khw, strides, dilations, out_hw):
    """The view ``[n, out_h, out_w, kh, kw, c]`` of ``xpad`` (Note [Convolutions as im2col])."""
    n, _, _, c = xpad.shape
    s0, s1, s2, s3 = xpad.strides
    return xp.lib.stride_tricks.as_strided(
        xpad, (n, out_hw[0], out_hw[1], khw[0], khw[1], c),
        (s0, s1 * strides[0], s2 * strides[1], s1 * dilations[0], s2 * dilations[1], s3))


def _col2im(xp, tap, shape, pads, khw, strides, dilations, out_hw, dtype):
    """The adjoint of ``_patches`` after padding: ``tap(i, j)`` is the ``[n, oh, ow, c]``
    slice of the patches' cotangent at filter tap (i, j); returns the unpadded cotangent."""
    n, h, w, c = shape
    (pt, pb), (pl, pr) = pads
    out = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype)
    oh, ow = out_hw
    for i in range(khw[0]):
        r = i * dilations[0]
        for j in range(khw[1]):
            s = j * dilations[1]
            out[:, r:r + strides[0] * (oh - 1) + 1:strides[0],
                s:s + strides[1] * (ow - 1) + 1:strides[1], :] += tap(i, j)
    return out[:, pt:pt + h, pl:pl + w, :]


# ----------------------------------------------------------------------------- conv2d family


def _conv_rule(name, x, w, *, strides, padding, dilations, data_format, depthwise):
    dt = _float_rule(name, x, w)
    _rank4(name, x, w, data_format)
    _rank4(name, x, w, data_format, what="filter")
    c = _channels(x.shape, data_format)
    if not _same(c, w.shape[2]):
        raise ShapeError(f"{name}: the input has {c} channels but the filter expects "
                         f"{w.shape[2]} (filter dim 2) {_where(name, x, w, data_format)}")
    _, out_hw = _geometry(_spatial(x.shape, data_format), w.shape[:2], strides, dilations,
                          padding)
    _check_output(name, out_hw, x, w, data_format)
    cm = w.shape[3]
    if depthwise:
        c = c if c is not None else w.shape[2]
        cm = None if c is None or cm is None else c * cm
    return _layout(x.shape[0], out_hw, cm, data_format), dt


def _conv(xp, x, w, *, strides, padding, dilations, data_format, depthwise):
    x = _to_nhwc(x, data_format)
    kh, kw, c, o = w.shape
    pads, out_hw = _geometry(x.shape[1:3], (kh, kw), strides, dilations, padding)
    cols = _patches(xp, _pad(xp, x, pads), (kh, kw), strides, dilations, out_hw)
    n, (oh, ow) = x.shape[0], out_hw
    if depthwise:
        y = xp.einsum("nhwijc,ijcm->nhwcm", cols, w).reshape(n, oh, ow, c * o)
    else:
        y = xp.matmul(cols.reshape(n * oh * ow, kh * kw * c),
                      w.reshape(kh * kw * c, o)).reshape(n, oh, ow, o)
    return _from_nhwc(xp, y, data_format)


def _conv_input_rule(name, g, w, *, input_size, strides, padding, dilations, data_format,
                     depthwise):
    dt = _float_rule(name, g, w)
    _rank4(name, g, w, data_format)
    _rank4(name, g, w, data_format, what="filter")
    gc = _channels(g.shape, data_format)
    c = w.shape[2]
    expected = w.shape[3] if not depthwise or c is None or w.shape[3] is None \
        else c * w.shape[3]
    if not depthwise and not _same(gc, expected):
        raise ShapeError(f"{name}: the input has {gc} channels but the filter has {expected} "
                         f"output channels (filter dim 3) {_where(name, g, w, data_format)}")
    if depthwise and not _same(gc, expected) and w.shape[2] is not None:
        raise ShapeError(f"{name}: the input has {gc} channels but the filter makes "
                         f"{expected} {_where(name, g, w, data_format)}")
    _, out_hw = _geometry(input_size, w.shape[:2], strides, dilations, padding)
    _check_output(name, out_hw, g, w, data_format)
    ghw = _spatial(g.shape, data_format)
    if not all(_same(a, b) for a, b in zip(ghw, out_hw)):
        raise ShapeError(f"{name}: an output of spatial size {list(input_size)} comes from "
                         f"inputs of spatial size {list(out_hw)} with these strides and "
                         f"padding, got {list(ghw)} {_where(name, g, w, data_format)}")
    return _layout(g.shape[0], input_size, c, data_format), dt


def _conv_input(xp, g, w, *, input_size, strides, padding, dilations, data_format, depthwise):
    g = _to_nhwc(g, data_format)
    kh, kw, c, o = w.shape
    n, oh, ow, _ = g.shape
    pads, out_hw = _geometry(input_size, (kh, kw), strides, dilations, padding)
    reach = ((kh - 1) * dilations[0], (kw - 1) * dilations[1])
    if not depthwise and strides == (1, 1) and all(
            p <= r for pair, r in zip(pads, reach) for p in pair):
        # Stride 1: the adjoint is a plain convolution of g with the flipped, transposed
        # filter (one patch copy + one matmul, ~1.5x faster than the scatter below).
        flipped = w[::-1, ::-1].transpose(0, 1, 3, 2)
        back = tuple((r - before, r - after) for (before, after), r in zip(pads, reach))
        dx = _conv(xp, g, flipped, strides=strides, padding=back, dilations=dilations,
                   data_format="NHWC", depthwise=False)
        return _from_nhwc(xp, dx, data_format)
    if depthwise:
        # multiply-adds per tap and multiplier, never the [n, oh, ow, kh, kw, c] patches
        # (a reduction over the short multiplier axis is ~20x slower in NumPy)
        g5 = g.reshape(n, oh, ow, c, o)

        def tap(i, j):
            total = g5[..., 0] * w[i, j, :, 0]
            for k in range(1, o):
                total += g5[..., k] * w[i, j, :, k]
            return total
    else:
        cols = xp.matmul(g.reshape(n * oh * ow, o), w.reshape(kh * kw * c, o).T)
        cols = cols.reshape(n, oh, ow, kh, kw, c)

        def tap(i, j):
            return cols[:, :, :, i, j, :]
    dx = _col2im(xp, tap, (n, *input_size, c), pads, (kh, kw), strides, dilations, out_hw,
                 xp.result_type(g, w))
    return _from_nhwc(xp, dx, data_format)


def _conv_filter_rule(name, x, g, *, filter_size, strides, padding, dilations, data_format,
                      depthwise):
    dt = _float_rule(name, x, g)
    _rank4(name, x, g, data_format, w_name="output gradient")
    _rank4(name, x, g, data_format, what="filter", w_name="output gradient")
    c, gc = _channels(x.shape, data_format), _channels(g.shape, data_format)
    _, out_hw = _geometry(_spatial(x.shape, data_format), filter_size, strides, dilations,
                          padding)
    ghw = _spatial(g.shape, data_format)
    if not all(_same(a, b) for a, b in zip(ghw, out_hw)):
        raise ShapeError(f"{name}: expected an output gradient of spatial size {list(out_hw)}, "
                         f"got {list(ghw)} {_where(name, x, g, data_format, 'output gradient')}")
    if depthwise:
        if c is not None and gc is not None and gc % c:
            raise ShapeError(f"{name}: the output gradient's {gc} channels are not a multiple "
                             f"of the input's {c} {_where(name, x, g, data_format)}")
        o = None if c is None or gc is None else gc // c
    else:
        o = gc
    return (*filter_size, c, o), dt


def _conv_filter(xp, x, g, *, filter_size, strides, padding, dilations, data_format, depthwise):
    x, g = _to_nhwc(x, data_format), _to_nhwc(g, data_format)
    kh, kw = filter_size
    n, oh, ow, o = g.shape
    c = x.shape[3]
    pads, out_hw = _geometry(x.shape[1:3], (kh, kw), strides, dilations, padding)
    cols = _patches(xp, _pad(xp, x, pads), (kh, kw), strides, dilations, out_hw)
    if depthwise:
        return xp.einsum("nhwijc,nhwcm->ijcm", cols, g.reshape(n, oh, ow, c, o // c))
    return xp.matmul(cols.reshape(n * oh * ow, kh * kw * c).T,
                     g.reshape(n * oh * ow, o)).reshape(kh, kw, c, o)


_CONV_ATTRS = ("strides", "padding", "dilations", "data_format", "depthwise")


def _geo(attrs):
    return {k: attrs[k] for k in _CONV_ATTRS}


def _known_spatial(name, shape, data_format, what):
    hw = _spatial(shape, data_format)
    if None in hw:
        raise ShapeError(f"{name}: the gradient needs the {what}'s spatial size, got shape "
                         f"{shapes.fmt(shape)} (data_format {data_format}); give the input a "
                         "known height and width (e.g. in the input_signature)")
    return hw


def _conv_vjp(g, out, x, w, **attrs):
    family = _FAMILIES[attrs["depthwise"]]
    hw = _known_spatial(family[0].name, x.shape, attrs["data_format"], "input")
    return (lambda: bind(family[1], g, w, input_size=hw, **attrs),
            lambda: bind(family[2], x, g, filter_size=tuple(w.shape[:2]), **attrs))


def _conv_input_vjp(c, out, g, w, *, input_size, **attrs):
    family = _FAMILIES[attrs["depthwise"]]
    return (lambda: bind(family[0], c, w, **attrs),
            lambda: bind(family[2], c, g, filter_size=tuple(w.shape[:2]), **attrs))


def _conv_filter_vjp(c, out, x, g, *, filter_size, **attrs):
    family = _FAMILIES[attrs["depthwise"]]
    hw = _known_spatial(family[2].name, x.shape, attrs["data_format"], "input")
    return (lambda: bind(family[1], g, c, input_size=hw, **attrs),
            lambda: bind(family[0], x, c, **attrs))


def _define_family(prefix, input_name):
    return (
        defop(prefix, ["x", "w"], _conv, _conv_rule, _conv_vjp, attrs=_CONV_ATTRS),
        defop(input_name, ["g", "w"], _conv_input, _conv_input_rule, _conv_input_vjp,
              attrs=("input_size", *_CONV_ATTRS)),
        defop(f"{prefix}_backprop_filter", ["x", "g"], _conv_filter, _conv_filter_rule,
              _conv_filter_vjp, attrs=("filter_size", *_CONV_ATTRS)),
    )


# conv2d's input gradient *is* conv2d_transpose (TF's Conv2DBackpropInput).
CONV2D, CONV2D_TRANSPOSE, CONV2D_BACKPROP_FILTER = _define_family("conv2d", "conv2d_transpose")
DEPTHWISE_CONV2D, DEPTHWISE_CONV2D_BACKPROP_INPUT, DEPTHWISE_CONV2D_BACKPROP_FILTER = \
    _define_family("depthwise_conv2d", "depthwise_conv2d_backprop_input")
_FAMILIES = {False: (CONV2D, CONV2D_TRANSPOSE, CONV2D_BACKPROP_FILTER),
             True: (DEPTHWISE_CONV2D, DEPTHWISE_CONV2D_BACKPROP_INPUT,
                    DEPTHWISE_CONV2D_BACKPROP_FILTER)}


# ----------------------------------------------------------------------------- pooling

_POOL_ATTRS = ("ksize", "strides", "padding", "data_format")
_ONES = (1, 1)


def _pool_rule(name, x, *, ksize, strides, padding, data_format):
    dt = _float_rule(name, x)
    _rank4(name, x, None, data_format)
    _, out_hw = _geometry(_spatial(x.shape, data_format), ksize, strides, _ONES, padding)
    if any(o is not None and o < 1 for o in out_hw):
        raise ShapeError(f"{name}: the {ksize[0]}x{ksize[1]} window does not fit in the padded "
                         f"input {_where(name, x, None, data_format)}; use padding='SAME' or "
                         "a smaller window")
    return _layout(x.shape[0], out_hw, _channels(x.shape, data_format), data_format), dt


def _pool_patches(xp, x, ksize, strides, padding, value):
    pads, out_hw = _geometry(x.shape[1:3], ksize, strides, _ONES, padding)
    return _patches(xp, _pad(xp, x, pads, value), ksize, strides, _ONES, out_hw), pads, out_hw


def _max_pool(xp, x, *, ksize, strides, padding, data_format):
    x = _to_nhwc(x, data_format)
    cols, _, _ = _pool_patches(xp, x, ksize, strides, padding, -xp.inf)
    return _from_nhwc(xp, cols.max(axis=(3, 4)), data_format)


def _first_max(xp, x, ksize, strides, padding):
    """One boolean mask [n, oh, ow, c] per window tap (i, j): where that tap holds the first
    maximum of its window (row-major order, as TF). Tap-by-tap comparisons with the max are
    ~5x faster in NumPy than ``argmax`` over the short, strided window axis."""
    cols, pads, out_hw = _pool_patches(xp, x, ksize, strides, padding, -xp.inf)
    best = cols.max(axis=(3, 4))
    taken = None
    masks = {}
    for i in range(ksize[0]):
        for j in range(ksize[1]):
            hit = cols[:, :, :, i, j, :] == best
            if taken is None:
                taken = hit
            else:
                hit &= ~taken
                taken = taken | hit
            masks[i, j] = hit
    return masks, pads, out_hw


def _max_pool_grad_rule(name, x, g, *, ksize, strides, padding, data_format):
    out, dt = _pool_rule(name, x, ksize=ksize, strides=strides, padding=padding,
                         data_format=data_format)
    _float_rule(name, x, g)
    if len(g.shape) != 4 or not all(_same(a, b) for a, b in zip(g.shape, out)):
        raise ShapeError(f"{name}: expected a gradient of the pooled shape {shapes.fmt(out)}, "
                         f"got {shapes.fmt(g.shape)} {_where(name, x, None, data_format)}")
    return x.shape, dt


def _max_pool_grad(xp, x, g, *, ksize, strides, padding, data_format):
    x, g = _to_nhwc(x, data_format), _to_nhwc(g, data_format)
    masks, pads, out_hw = _first_max(xp, x, ksize, strides, padding)
    dx = _col2im(xp, lambda i, j: masks[i, j] * g, x.shape, pads, ksize, strides, _ONES,
                 out_hw, g.dtype)
    return _from_nhwc(xp, dx, data_format)


def _max_pool_gather_rule(name, x, c, *, ksize, strides, padding, data_format):
    out, dt = _pool_rule(name, x, ksize=ksize, strides=strides, padding=padding,
                         data_format=data_format)
    _float_rule(name, x, c)
    if len(c.shape) != 4 or not all(_same(a, b) for a, b in zip(c.shape, x.shape)):
        raise ShapeError(f"{name}: expected values of the input's shape {shapes.fmt(x.shape)}, "
                         f"got {shapes.fmt(c.shape)}")
    return out, dt


def _max_pool_gather(xp, x, c, *, ksize, strides, padding, data_format):
    x, c = _to_nhwc(x, data_format), _to_nhwc(c, data_format)
    masks, _, _ = _first_max(xp, x, ksize, strides, padding)
    cols, _, _ = _pool_patches(xp, c, ksize, strides, padding, 0)
    picked = xp.zeros(cols.shape[:3] + cols.shape[5:], c.dtype)
    for (i, j), hit in masks.items():
        picked += hit * cols[:, :, :, i, j, :]
    return _from_nhwc(xp, picked, data_format)


MAX_POOL2D = defop("max_pool2d", ["x"], _max_pool, _pool_rule,
                   lambda g, out, x, **a: (bind(MAX_POOL2D_GRAD, x, g, **a),),
                   attrs=_POOL_ATTRS)
MAX_POOL2D_GRAD = defop("max_pool2d_grad", ["x", "g"], _max_pool_grad, _max_pool_grad_rule,
                        lambda c, out, x, g, **a: (None, bind(MAX_POOL2D_GATHER, x, c, **a)),
                        attrs=_POOL_ATTRS)
MAX_POOL2D_GATHER = defop("max_pool2d_gather", ["x", "c"], _max_pool_gather,
                          _max_pool_gather_rule,
                          lambda g, out, x, c, **a: (None, bind(MAX_POOL2D_GRAD, x, g, **a)),
                          attrs=_POOL_ATTRS)


def _window_counts(xp, hw, ksize, strides, padding, dtype):
    """How many real (unpadded) elements each window holds: [1, oh, ow, 1]."""
    ones = xp.ones((1, *hw, 1), dtype)
    cols, _, _ = _pool_patches(xp, ones, ksize, strides, padding, 0)
    return cols.sum(axis=(3, 4))


def _avg_pool(xp, x, *, ksize, strides, padding, data_format):
    x = _to_nhwc(x, data_format)
    cols, _, _ = _pool_patches(xp, x, ksize, strides, padding, 0)
    counts = _window_counts(xp, x.shape[1:3], ksize, strides, padding, x.dtype)
    return _from_nhwc(xp, cols.sum(axis=(3, 4)) / counts, data_format)


def _avg_pool_grad_rule(name, g, *, input_size, ksize, strides, padding, data_format):
    dt = _float_rule(name, g)
    _rank4(name, g, None, data_format)
    _, out_hw = _geometry(input_size, ksize, strides, _ONES, padding)
    ghw = _spatial(g.shape, data_format)
    if not all(_same(a, b) for a, b in zip(ghw, out_hw)):
        raise ShapeError(f"{name}: expected a gradient of spatial size {list(out_hw)}, got "
                         f"{list(ghw)} {_where(name, g, None, data_format)}")
    return _layout(g.shape[0], input_size, _channels(g.shape, data_format), data_format), dt


def _avg_pool_grad(xp, g, *, input_size, ksize, strides, padding, data_format):
    g = _to_nhwc(g, data_format)
    pads, out_hw = _geometry(input_size, ksize, strides, _ONES, padding)
    scaled = g / _window_counts(xp, input_size, ksize, strides, padding, g.dtype)
    dx = _col2im(xp, lambda i, j: scaled, (g.shape[0], *input_size, g.shape[3]), pads, ksize,
                 strides, _ONES, out_hw, g.dtype)
    return _from_nhwc(xp, dx, data_format)


def _avg_pool_vjp(g, out, x, **attrs):
    hw = _known_spatial("avg_pool2d", x.shape, attrs["data_format"], "input")
    return (bind(AVG_POOL2D_GRAD, g, input_size=hw, **attrs),)


AVG_POOL2D = defop("avg_pool2d", ["x"], _avg_pool, _pool_rule, _avg_pool_vjp, attrs=_POOL_ATTRS)
AVG_POOL2D_GRAD = defop("avg_pool2d_grad", ["g"], _avg_pool_grad, _avg_pool_grad_rule,
                        lambda c, out, g, *, input_size, **a: (bind(AVG_POOL2D, c, **a),),
                        attrs=("input_size", *_POOL_ATTRS))


# ----------------------------------------------------------------------------- arguments


def _positive_int(name, what, value):
    try:
        number = operator.index(value)
    except TypeError:
        number = 0
    if isinstance(value, bool) or number < 1:
        raise InvalidArgumentError(f"{name}: expected {what} to be positive ints, got {value!r}")
    return number


def _hw_arg(name, what, value, rank, data_format):
    """TF's int-or-list convention: an int, or a list of 1, ``rank - 2`` or ``rank`` ints (the
    full form must hold 1 for batch and channels). Returns the spatial values."""
    if value is None:
        return (1,) * (rank - 2)
    values = [value] if not isinstance(value, (list, tuple)) else list(value)
    if len(values) == 1:
        values = values * (rank - 2)
    elif len(values) == rank:
        outer = (values[0], values[1]) if data_format.startswith("NC") \
            else (values[0], values[-1])
        if any(v != 1 for v in outer):
            raise InvalidArgumentError(f"{name}: {what} for the batch and channel dims must "
                                       f"be 1, got {value!r} (data_format {data_format})")
        values = values[2:] if data_format.startswith("NC") else values[1:-1]
    elif len(values) != rank - 2:
        raise InvalidArgumentError(f"{name}: expected {what} as an int or a list of 1, "
                                   f"{rank - 2} or {rank} ints, got {value!r}")
    return tuple(_positive_int(name, what, v) for v in values)


def _padding_arg(name, padding, rank, data_format, x, w, w_name="filter"):
    """"SAME", "VALID" or explicit pairs (one per dim, or one per spatial dim)."""
    if isinstance(padding, str):
        if padding.upper() in ("SAME", "VALID"):
            return padding.upper()
    elif isinstance(padding, (list, tuple)):
        pairs = [tuple(p) if isinstance(p, (list, tuple)) else None for p in padding]
        if len(pairs) == rank and None not in pairs:
            spatial = pairs[2:] if data_format.startswith("NC") else pairs[1:-1]
            outer = pairs[:2] if data_format.startswith("NC") else [pairs[0], pairs[-1]]
            if any(p != (0, 0) for p in outer):
                raise InvalidArgumentError(f"{name}: explicit padding of the batch and channel "
                                           f"dims must be [0, 0], got {padding!r}")
            pairs = spatial
        if len(pairs) == rank - 2 and all(p is not None and len(p) == 2 for p in pairs):
            return tuple((_pad_int(name, a, padding), _pad_int(name, b, padding))
                         for a, b in pairs)
    raise InvalidArgumentError(
        f"{name}: expected padding 'SAME', 'VALID' or explicit [[before, after], ...] pairs, "
        f"got {padding!r} {_where(name, x, w, data_format, w_name)}")


def _pad_int(name, value, padding):
    try:
        number = operator.index(value)
    except TypeError:
        number = -1
    if isinstance(value, bool) or number < 0:
        raise InvalidArgumentError(f"{name}: explicit paddings must be non-negative ints, got "
                                   f"{padding!r}")
    return number


_FORMATS = {3: ("NWC", "NCW"), 4: ("NHWC", "NCHW")}


def _format_arg(name, data_format, rank):
    allowed = _FORMATS[rank]
    fmt = allowed[0] if data_format is None else data_format
    if fmt not in allowed:
        raise InvalidArgumentError(f"{name}: expected data_format {allowed[0]!r} or "
                                   f"{allowed[1]!r}, got {data_format!r}")
    return fmt


class _Shaped:
    """Shape-only stand-in for error messages about Python inputs."""

    def __init__(self, value):
        self.shape = tuple(getattr(value, "shape", ()))


def _check_rank(name, x, w, rank, data_format, w_name="filter", filter_rank=None):
    xs, ws = _Shaped(x), (None if w is None else _Shaped(w))
    if len(xs.shape) != rank:
        raise ShapeError(f"{name}: expected input of rank {rank} (data_format {data_format}), "
                         f"got rank {len(xs.shape)} {_where(name, xs, ws, data_format, w_name)}")
    if ws is not None and filter_rank is not None and len(ws.shape) != filter_rank:
        raise ShapeError(f"{name}: expected {w_name} of rank {filter_rank}, got rank "
                         f"{len(ws.shape)} {_where(name, xs, ws, data_format, w_name)}")
    return xs, ws


def _conv_args(name, x, w, strides, padding, data_format, dilations, rank, w_name="filter"):
    fmt = _format_arg(name, data_format, rank)
    xs, ws = _check_rank(name, x, w, rank, fmt, w_name, filter_rank=rank)
    return {"strides": _hw_arg(name, "strides", strides, rank, fmt),
            "padding": _padding_arg(name, padding, rank, fmt, xs, ws, w_name),
            "dilations": _hw_arg(name, "dilations", dilations, rank, fmt),
            "data_format": fmt}


def _as_nhwc_format(fmt):
    return "NCHW" if fmt.startswith("NC") else "NHWC"


def _lift_1d(attrs, fmt):
    """1-D attrs as 2-D attrs over a height axis of 1 (TF's conv1d does the same)."""
    pad = attrs["padding"]
    return {"strides": (1, *attrs["strides"]),
            "padding": pad if isinstance(pad, str) else ((0, 0), *pad),
            "dilations": (1, *attrs["dilations"]),
            "data_format": _as_nhwc_format(fmt)}


# ----------------------------------------------------------------------------- public API


def conv2d(input: Any, filters: Any, strides: Any = 1, padding: Any = "VALID",  # noqa: A002
           data_format: str = "NHWC", dilations: Any = None, name: str | None = None) -> Any:
    """2-D convolution (cross-correlation, as TF) of ``input`` [batch, h, w, in] with
    ``filters`` [fh, fw, in, out]; ``padding`` is "SAME", "VALID" or explicit pairs.

    Usage: ``y = aj.nn.conv2d(x, w, strides=1, padding="SAME")``
    """
    attrs = _conv_args("conv2d", input, filters, strides, padding, data_format, dilations, 4)
    return bind(CONV2D, input, filters, depthwise=False, **attrs)


def depthwise_conv2d(input: Any, filter: Any, strides: Any = 1,  # noqa: A002
                     padding: Any = "VALID", data_format: str = "NHWC", dilations: Any = None,
                     name: str | None = None) -> Any:
    """Each input channel convolved with its own ``channel_multiplier`` filters:
    ``filter`` [fh, fw, in, multiplier] gives ``in * multiplier`` output channels.

    Usage: ``y = aj.nn.depthwise_conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME")``
    """
    attrs = _conv_args("depthwise_conv2d", input, filter, strides, padding, data_format,
                       dilations, 4)
    return bind(DEPTHWISE_CONV2D, input, filter, depthwise=True, **attrs)


def _output_size(name, output_shape, rank, fmt, filters):
    values = getattr(output_shape, "numpy", None)
    values = list(values().reshape(-1)) if values is not None else list(output_shape)
    if len(values) == rank:
        channels = values[1] if fmt.startswith("NC") else values[-1]
        if channels is not None and filters.shape[2] is not None \
                and int(channels) != filters.shape[2]:
            raise ShapeError(f"{name}: output_shape {list(output_shape)} asks for {channels} "
                             f"channels, but the filter {shapes.fmt(filters.shape)} makes "
                             f"{filters.shape[2]} (filter dim 2)")
        values = values[2:] if fmt.startswith("NC") else values[1:-1]
    if len(values) != rank - 2:
        raise InvalidArgumentError(f"{name}: expected output_shape of {rank} (or {rank - 2} "
                                   f"spatial) ints, got {output_shape!r}")
    return tuple(_positive_int(name, "output_shape", v) for v in values)


def conv2d_transpose(input: Any, filters: Any, output_shape: Any,  # noqa: A002
                     strides: Any = 1, padding: Any = "SAME", data_format: str = "NHWC",
                     dilations: Any = None, name: str | None = None) -> Any:
    """The adjoint ("deconvolution") of ``conv2d``: ``filters`` [fh, fw, out, in] map
    ``input`` [batch, h, w, in] to ``output_shape`` [batch, H, W, out] (batch ignored).

    Usage: ``y = aj.nn.conv2d_transpose(x, w, [8, 16, 16, 3], strides=2, padding="SAME")``
    """
    name_ = "conv2d_transpose"
    attrs = _conv_args(name_, input, filters, strides, padding, data_format, dilations, 4)
    size = _output_size(name_, output_shape, 4, attrs["data_format"], _Shaped(filters))
    return bind(CONV2D_TRANSPOSE, input, filters, input_size=size, depthwise=False, **attrs)


def conv1d(input: Any, filters: Any, stride: Any = 1, padding: Any = "VALID",  # noqa: A002
           data_format: str = "NWC", dilations: Any = None, name: str | None = None) -> Any:
    """1-D convolution of ``input`` [batch, width, in] with ``filters`` [fw, in, out].

    Usage: ``y = aj.nn.conv1d(x, w, stride=1, padding="SAME")``
    """
    attrs = _conv_args("conv1d", input, filters, stride, padding, data_format, dilations, 3)
    fmt = attrs["data_format"]
    axis = 2 if fmt == "NCW" else 1
    y = bind(CONV2D, expand_dims(input, axis), expand_dims(filters, 0), depthwise=False,
             **_lift_1d(attrs, fmt))
    return squeeze(y, axis)


def _pool_args(name, x, ksize, strides, padding, data_format, rank):
    fmt = _format_arg(name, data_format, rank)
    xs, _ = _check_rank(name, x, None, rank, fmt)
    return {"ksize": _hw_arg(name, "ksize", ksize, rank, fmt),
            "strides": _hw_arg(name, "strides", ksize if strides is None else strides, rank,
                               fmt),
            "padding": _padding_arg(name, padding, rank, fmt, xs, None),
            "data_format": fmt}


def _pool2d(op, name, x, ksize, strides, padding, data_format):
    return bind(op, x, **_pool_args(name, x, ksize, strides, padding, data_format, 4))


def _pool1d(op, name, x, ksize, strides, padding, data_format):
    attrs = _pool_args(name, x, ksize, strides, padding, data_format, 3)
    fmt = attrs["data_format"]
    axis = 2 if fmt == "NCW" else 1
    pad = attrs["padding"]
    y = bind(op, expand_dims(x, axis), ksize=(1, *attrs["ksize"]),
             strides=(1, *attrs["strides"]),
             padding=pad if isinstance(pad, str) else ((0, 0), *pad),
             data_format=_as_nhwc_format(fmt))
    return squeeze(y, axis)


def max_pool2d(input: Any, ksize: Any, strides: Any = None,  # noqa: A002
               padding: Any = "VALID", data_format: str = "NHWC",
               name: str | None = None) -> Any:
    """Maximum over ``ksize`` windows; ``strides`` defaults to ``ksize``. Gradients go to
    the first maximum of each window, as TF.

    Usage: ``y = aj.nn.max_pool2d(x, ksize=2, strides=2, padding="VALID")``
    """
    return _pool2d(MAX_POOL2D, "max_pool2d", input, ksize, strides, padding, data_format)


def avg_pool2d(input: Any, ksize: Any, strides: Any = None,  # noqa: A002
               padding: Any = "VALID", data_format: str = "NHWC",
               name: str | None = None) -> Any:
    """Mean over ``ksize`` windows (with "SAME", over the real elements only, as TF).

    Usage: ``y = aj.nn.avg_pool2d(x, ksize=2, strides=2, padding="SAME")``
    """
    return _pool2d(AVG_POOL2D, "avg_pool2d", input, ksize, strides, padding, data_format)


def max_pool1d(input: Any, ksize: Any, strides: Any = None,  # noqa: A002
               padding: Any = "VALID", data_format: str = "NWC",
               name: str | None = None) -> Any:
    """Maximum over windows of ``input`` [batch, width, channels].

    Usage: ``y = aj.nn.max_pool1d(x, ksize=2, strides=2)``
    """
    return _pool1d(MAX_POOL2D, "max_pool1d", input, ksize, strides, padding, data_format)


def avg_pool1d(input: Any, ksize: Any, strides: Any = None,  # noqa: A002
               padding: Any = "VALID", data_format: str = "NWC",
               name: str | None = None) -> Any:
    """Mean over windows of ``input`` [batch, width, channels].

    Usage: ``y = aj.nn.avg_pool1d(x, ksize=2, strides=2)``
    """
    return _pool1d(AVG_POOL2D, "avg_pool1d", input, ksize, strides, padding, data_format)


def max_pool(input: Any, ksize: Any, strides: Any = None, padding: Any = "VALID",  # noqa: A002
             data_format: str | None = None, name: str | None = None) -> Any:
    """``max_pool1d`` or ``max_pool2d`` by the input's rank (3 or 4), as ``tf.nn.max_pool``.

    Usage: ``y = aj.nn.max_pool(x, 2, 2, "SAME")``
    """
    rank = len(_Shaped(input).shape)
    fn = max_pool1d if rank == 3 else max_pool2d
    return fn(input, ksize, strides, padding, data_format or _FORMATS.get(rank, ("NHWC",))[0])


def avg_pool(input: Any, ksize: Any, strides: Any = None, padding: Any = "VALID",  # noqa: A002
             data_format: str | None = None, name: str | None = None) -> Any:
    """``avg_pool1d`` or ``avg_pool2d`` by the input's rank (3 or 4), as ``tf.nn.avg_pool``.

    Usage: ``y = aj.nn.avg_pool(x, 2, 2, "SAME")``
    """
    rank = len(_Shaped(input).shape)
    fn = avg_pool1d if rank == 3 else avg_pool2d
    return fn(input, ksize, strides, padding, data_format or _FORMATS.get(rank, ("NHWC",))[0])


__all__ = ["avg_pool", "avg_pool1d", "avg_pool2d", "conv1d", "conv2d", "conv2d_transpose",
           "depthwise_conv2d", "max_pool", "max_pool1d", "max_pool2d"]
