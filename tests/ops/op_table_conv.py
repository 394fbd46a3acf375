"""Op-table entries for convolutions and pooling (``autojit/ops/conv.py``), each against a
direct nested-loop NumPy reference written here (one output pixel and one filter tap at a
time), on small shapes with every padding kind, strides, dilations and both data formats.
"""

from __future__ import annotations

import numpy as np
from op_table import FLOATS, Case, F
from op_table import Entry as E

import autojit as aj
from autojit.ops import conv
from autojit.ops.core import bind

# ----------------------------------------------------------------------------- reference


def _pair(value, rank=4, channels_first=False):
    """TF's int-or-list strides/ksize/dilations as the two spatial values."""
    if value is None:
        return (1, 1)
    values = [value] if isinstance(value, int) else list(value)
    if len(values) == 1:
        return (values[0], values[0])
    if len(values) == 4:
        return tuple(values[2:]) if channels_first else tuple(values[1:3])
    return tuple(values)


def _pads(size, k, stride, dilation, padding, axis):
    """TF's padding rule along one spatial axis: (before, after)."""
    eff = dilation * (k - 1) + 1
    if padding == "VALID":
        return (0, 0)
    if padding == "SAME":
        out = (size + stride - 1) // stride
        total = max(0, (out - 1) * stride + eff - size)
        return (total // 2, total - total // 2)
    pairs = [tuple(p) for p in padding]
    return pairs[1 + axis] if len(pairs) == 4 else pairs[axis]


def _setup(x_shape, k, strides, padding, dilations):
    """Pads and output sizes of a 2-D window op on NHWC ``x_shape``."""
    s, d = _pair(strides), _pair(dilations)
    pads = [_pads(x_shape[1 + a], k[a], s[a], d[a], padding, a) for a in range(2)]
    out = [(x_shape[1 + a] + sum(pads[a]) - (d[a] * (k[a] - 1) + 1)) // s[a] + 1
           for a in range(2)]
    return s, d, pads, out


def _padded(x, pads, value=0.0):
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def conv2d_ref(x, w, strides=1, padding="VALID", dilations=None, data_format="NHWC"):
    if data_format == "NCHW":
        return conv2d_ref(x.transpose(0, 2, 3, 1), w, _nhwc(strides), padding,
                          _nhwc(dilations)).transpose(0, 3, 1, 2)
    s, d, pads, (oh, ow) = _setup(x.shape, w.shape[:2], strides, padding, dilations)
    xp = _padded(x, pads)
    n, kh, kw, c, o = x.shape[0], *w.shape
    y = np.zeros((n, oh, ow, o), x.dtype)
    for b in range(n):
        for r in range(oh):
            for q in range(ow):
                for i in range(kh):
                    for j in range(kw):
                        pixel = xp[b, r * s[0] + i * d[0], q * s[1] + j * d[1], :]
                        y[b, r, q, :] += pixel @ w[i, j]
    return y


def _nhwc(value):
    # NCHW four-element lists [1, 1, h, w] as NHWC [1, h, w, 1]
    if isinstance(value, (list, tuple)) and len(value) == 4:
        return [1, value[2], value[3], 1]
    return value


def conv2d_transpose_ref(g, w, output_shape, strides=1, padding="SAME", dilations=None):
    """The adjoint of conv2d_ref, one tap at a time: dx[n, r*s + i*d - pad] += g * w."""
    n, h, wd, c = output_shape
    s, d, pads, (oh, ow) = _setup((n, h, wd, c), w.shape[:2], strides, padding, dilations)
    dx = np.zeros((n, h + sum(pads[0]), wd + sum(pads[1]), c), g.dtype)
    for b in range(n):
        for r in range(oh):
            for q in range(ow):
                for i in range(w.shape[0]):
                    for j in range(w.shape[1]):
                        dx[b, r * s[0] + i * d[0], q * s[1] + j * d[1], :] += w[i, j] @ g[b, r, q]
    return dx[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + wd, :]


def conv2d_filter_ref(x, g, filter_size, strides=1, padding="VALID", dilations=None):
    kh, kw = filter_size
    s, d, pads, (oh, ow) = _setup(x.shape, (kh, kw), strides, padding, dilations)
    xp = _padded(x, pads)
    dw = np.zeros((kh, kw, x.shape[3], g.shape[3]), x.dtype)
    for b in range(x.shape[0]):
        for r in range(oh):
            for q in range(ow):
                for i in range(kh):
                    for j in range(kw):
                        pixel = xp[b, r * s[0] + i * d[0], q * s[1] + j * d[1], :]
                        dw[i, j] += np.outer(pixel, g[b, r, q])
    return dw


def depthwise_ref(x, w, strides=1, padding="VALID", dilations=None):
    s, d, pads, (oh, ow) = _setup(x.shape, w.shape[:2], strides, padding, dilations)
    xp = _padded(x, pads)
    kh, kw, c, m = w.shape
    y = np.zeros((x.shape[0], oh, ow, c * m), x.dtype)
    for b in range(x.shape[0]):
        for r in range(oh):
            for q in range(ow):
                for ch in range(c):
                    for k in range(m):
                        total = 0.0
                        for i in range(kh):
                            for j in range(kw):
                                total += (xp[b, r * s[0] + i * d[0], q * s[1] + j * d[1], ch]
                                          * w[i, j, ch, k])
                        y[b, r, q, ch * m + k] = total
    return y


def depthwise_input_ref(g, w, input_shape, strides=1, padding="VALID", dilations=None):
    n, h, wd, c = input_shape
    s, d, pads, (oh, ow) = _setup(input_shape, w.shape[:2], strides, padding, dilations)
    m = w.shape[3]
    dx = np.zeros((n, h + sum(pads[0]), wd + sum(pads[1]), c), g.dtype)
    for b in range(n):
        for r in range(oh):
            for q in range(ow):
                for i in range(w.shape[0]):
                    for j in range(w.shape[1]):
                        for ch in range(c):
                            for k in range(m):
                                dx[b, r * s[0] + i * d[0], q * s[1] + j * d[1], ch] += (
                                    w[i, j, ch, k] * g[b, r, q, ch * m + k])
    return dx[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + wd, :]


def depthwise_filter_ref(x, g, filter_size, strides=1, padding="VALID", dilations=None):
    kh, kw = filter_size
    s, d, pads, (oh, ow) = _setup(x.shape, (kh, kw), strides, padding, dilations)
    xp = _padded(x, pads)
    c = x.shape[3]
    m = g.shape[3] // c
    dw = np.zeros((kh, kw, c, m), x.dtype)
    for b in range(x.shape[0]):
        for r in range(oh):
            for q in range(ow):
                for i in range(kh):
                    for j in range(kw):
                        for ch in range(c):
                            for k in range(m):
                                dw[i, j, ch, k] += (xp[b, r * s[0] + i * d[0],
                                                       q * s[1] + j * d[1], ch]
                                                    * g[b, r, q, ch * m + k])
    return dw


def _windows(x, ksize, strides, padding):
    """Yield (b, r, q, ch, [(row, col, x value) of the real elements of the window])."""
    k = _pair(ksize)
    s = _pair(ksize if strides is None else strides)
    _, _, pads, (oh, ow) = _setup(x.shape, k, s, padding, None)
    for b in range(x.shape[0]):
        for r in range(oh):
            for q in range(ow):
                for ch in range(x.shape[3]):
                    cells = []
                    for i in range(k[0]):
                        for j in range(k[1]):
                            row, col = r * s[0] + i - pads[0][0], q * s[1] + j - pads[1][0]
                            if 0 <= row < x.shape[1] and 0 <= col < x.shape[2]:
                                cells.append((row, col, x[b, row, col, ch]))
                    yield b, r, q, ch, cells


def _pool_shape(x, ksize, strides, padding):
    k = _pair(ksize)
    _, _, _, (oh, ow) = _setup(x.shape, k, _pair(ksize if strides is None else strides),
                               padding, None)
    return (x.shape[0], oh, ow, x.shape[3])


def max_pool_ref(x, ksize, strides=None, padding="VALID", data_format="NHWC"):
    if data_format == "NCHW":
        return max_pool_ref(x.transpose(0, 2, 3, 1), ksize, strides, padding).transpose(0, 3, 1, 2)
    y = np.zeros(_pool_shape(x, ksize, strides, padding), x.dtype)
    for b, r, q, ch, cells in _windows(x, ksize, strides, padding):
        y[b, r, q, ch] = max(v for _, _, v in cells)
    return y


def _first_max(cells):
    best = cells[0]
    for cell in cells:
        if cell[2] > best[2]:
            best = cell
    return best


def max_pool_grad_ref(x, g, ksize, strides=None, padding="VALID"):
    dx = np.zeros_like(x)
    for b, r, q, ch, cells in _windows(x, ksize, strides, padding):
        row, col, _ = _first_max(cells)
        dx[b, row, col, ch] += g[b, r, q, ch]
    return dx


def max_pool_gather_ref(x, c, ksize, strides=None, padding="VALID"):
    y = np.zeros(_pool_shape(x, ksize, strides, padding), x.dtype)
    for b, r, q, ch, cells in _windows(x, ksize, strides, padding):
        row, col, _ = _first_max(cells)
        y[b, r, q, ch] = c[b, row, col, ch]
    return y


def avg_pool_ref(x, ksize, strides=None, padding="VALID", data_format="NHWC"):
    if data_format == "NCHW":
        return avg_pool_ref(x.transpose(0, 2, 3, 1), ksize, strides, padding).transpose(0, 3, 1, 2)
    y = np.zeros(_pool_shape(x, ksize, strides, padding), x.dtype)
    for b, r, q, ch, cells in _windows(x, ksize, strides, padding):
        y[b, r, q, ch] = sum(v for _, _, v in cells) / len(cells)
    return y


def avg_pool_grad_ref(g, input_shape, ksize, strides=None, padding="VALID"):
    dx = np.zeros(input_shape, g.dtype)
    for b, r, q, ch, cells in _windows(np.zeros(input_shape), ksize, strides, padding):
        for row, col, _ in cells:
            dx[b, row, col, ch] += g[b, r, q, ch] / len(cells)
    return dx


def _squeezed_1d(ref):
    """A 1-D reference from a 2-D one: NWC as NHWC with a height of 1."""
    def run(x, w=None, **attrs):
        attrs = {k: v for k, v in attrs.items()}
        if "stride" in attrs:
            attrs["strides"] = attrs.pop("stride")
        if isinstance(attrs.get("padding"), list):
            attrs["padding"] = [[0, 0], *attrs["padding"]]
        for key in ("strides", "ksize", "dilations"):
            if isinstance(attrs.get(key), int):
                attrs[key] = [1, attrs[key]]
        if w is None:
            return ref(x[:, None], **attrs)[:, 0]
        return ref(x[:, None], w[None], **attrs)[:, 0]
    return run


# ----------------------------------------------------------------------------- entries

_X = (2, 5, 6, 3)
_CONV_CASES = [
    Case((F(_X), F((3, 3, 3, 4))), {"padding": "VALID"}),
    Case((F(_X), F((3, 3, 3, 4))), {"padding": "SAME"}),
    Case((F(_X), F((3, 2, 3, 2))), {"strides": 2, "padding": "SAME"}),
    Case((F(_X), F((2, 3, 3, 2))), {"strides": [1, 2, 3, 1], "padding": "VALID"}),
    Case((F(_X), F((2, 2, 3, 2))), {"padding": "SAME", "dilations": 2}),
    Case((F(_X), F((2, 3, 3, 2))), {"padding": [[0, 0], [1, 2], [0, 1], [0, 0]],
                                    "strides": [2, 1], "dilations": [1, 2]}),
    Case((F((1, 4, 4, 2)), F((1, 1, 2, 3))), {"padding": "VALID"}),  # 1x1: no patch copy
    # stride 1 with pads wider than the filter's reach: the input gradient's scatter path
    Case((F((1, 3, 3, 2)), F((2, 2, 2, 2))), {"padding": [[2, 3], [0, 1]]}),
    Case((F((2, 3, 5, 6)), F((3, 3, 3, 2))), {"padding": "SAME", "strides": [1, 1, 2, 2],
                                              "data_format": "NCHW"}),
]
_GEOMETRIES = [
    ({"padding": "VALID"}, (3, 3)),
    ({"padding": "SAME", "strides": 2}, (3, 2)),
    ({"padding": "SAME", "dilations": 2}, (2, 2)),
    ({"padding": ((1, 0), (2, 1)), "strides": (2, 1), "dilations": (1, 2)}, (2, 3)),
]


def _input_cases(w_of_k, g_channels):
    out = []
    for attrs, k in _GEOMETRIES:
        s, d, _, (oh, ow) = _setup(_X, k, attrs.get("strides"), attrs["padding"],
                                   attrs.get("dilations"))
        out.append(Case((F((2, oh, ow, g_channels)), F(w_of_k(k))),
                        {"input_size": _X[1:3], "strides": s, "padding": attrs["padding"],
                         "dilations": d, "data_format": "NHWC"}))
    return out


def _filter_cases(g_channels):
    out = []
    for attrs, k in _GEOMETRIES:
        s, d, _, (oh, ow) = _setup(_X, k, attrs.get("strides"), attrs["padding"],
                                   attrs.get("dilations"))
        out.append(Case((F(_X), F((2, oh, ow, g_channels))),
                        {"filter_size": k, "strides": s, "padding": attrs["padding"],
                         "dilations": d, "data_format": "NHWC"}))
    return out


def _bind(op):
    return lambda a, b, **attrs: bind(op, a, b, depthwise=op.name.startswith("depthwise"),
                                      **attrs)


def _transpose_ref(g, w, input_size, data_format, **attrs):
    return conv2d_transpose_ref(g, w, (g.shape[0], *input_size, w.shape[2]), **attrs)


def _depthwise_input_ref(g, w, input_size, data_format, **attrs):
    return depthwise_input_ref(g, w, (g.shape[0], *input_size, w.shape[2]), **attrs)


def _depthwise_any_format_ref(x, w, data_format, strides=1, **attrs):
    if data_format == "NCHW":
        return depthwise_ref(x.transpose(0, 2, 3, 1), w, _nhwc(strides),
                             **attrs).transpose(0, 3, 1, 2)
    return depthwise_ref(x, w, strides, **attrs)


def _drop_format(ref):
    return lambda *args, data_format, **attrs: ref(*args, **attrs)


_POOL_CASES = [
    Case((F(_X, "distinct"),), {"ksize": 2, "padding": "VALID"}),
    Case((F(_X, "distinct"),), {"ksize": 2, "strides": 2, "padding": "SAME"}),
    Case((F(_X, "distinct"),), {"ksize": [3, 2], "strides": [1, 2], "padding": "SAME"}),
    Case((F(_X, "distinct"),), {"ksize": [1, 3, 3, 1], "strides": [1, 2, 2, 1],
                                "padding": "VALID"}),
    Case((F((2, 3, 4, 5), "distinct"),), {"ksize": 2, "strides": 1, "padding": "SAME",
                                          "data_format": "NCHW"}),
]
_POOL_GEOMETRIES = [
    {"ksize": (2, 2), "strides": (2, 2), "padding": "VALID"},
    {"ksize": (3, 3), "strides": (2, 2), "padding": "SAME"},
    {"ksize": (2, 3), "strides": (1, 2), "padding": "SAME"},
]


def _pool_pair_cases(second_shape):
    out = []
    for attrs in _POOL_GEOMETRIES:
        shape = second_shape(attrs)
        out.append(Case((F(_X, "distinct"), F(shape)), {**attrs, "data_format": "NHWC"}))
    return out


def _pooled(attrs):
    return _pool_shape(np.zeros(_X), attrs["ksize"], attrs["strides"], attrs["padding"])


ENTRIES = [
    E("conv2d", aj.nn.conv2d, conv2d_ref, _CONV_CASES, FLOATS, rtol=1e-4, atol=1e-5),
    E("conv2d", aj.nn.conv1d, _squeezed_1d(conv2d_ref), [
        Case((F((2, 7, 3)), F((3, 3, 4))), {"padding": "VALID"}),
        Case((F((2, 7, 3)), F((2, 3, 2))), {"stride": 2, "padding": "SAME", "dilations": 2}),
        Case((F((2, 7, 3)), F((3, 3, 2))), {"padding": [[1, 2]]}),
    ], FLOATS, rtol=1e-4, atol=1e-5),
    E("conv2d_transpose", _bind(conv.CONV2D_TRANSPOSE), _transpose_ref,
      _input_cases(lambda k: (*k, 3, 4), 4), FLOATS, rtol=1e-4, atol=1e-5),
    E("conv2d_transpose", aj.nn.conv2d_transpose,  # the public form, filters [h, w, out, in]
      lambda x, w, output_shape, **a: conv2d_transpose_ref(x, w, output_shape, **a), [
          Case((F((2, 3, 3, 4)), F((3, 3, 2, 4)), [2, 6, 6, 2]), {"strides": 2}),
          Case((F((2, 3, 3, 4)), F((3, 3, 2, 4)), [2, 5, 5, 2]), {"strides": 2}),
          Case((F((2, 3, 4, 4)), F((2, 2, 2, 4)), [2, 4, 5, 2]),
               {"strides": 1, "padding": "VALID"}),
      ], FLOATS, rtol=1e-4, atol=1e-5),
    E("conv2d_backprop_filter", _bind(conv.CONV2D_BACKPROP_FILTER),
      _drop_format(conv2d_filter_ref), _filter_cases(4), FLOATS, rtol=1e-4, atol=1e-5),
    E("depthwise_conv2d", aj.nn.depthwise_conv2d, _depthwise_any_format_ref,
      [Case((F(_X), F((3, 3, 3, 2))), {"padding": "SAME", "data_format": "NHWC"}),
       Case((F(_X), F((2, 3, 3, 1))), {"strides": [1, 2, 2, 1], "padding": "VALID",
                                       "data_format": "NHWC"}),
       Case((F(_X), F((2, 2, 3, 2))), {"padding": "SAME", "dilations": 2,
                                       "data_format": "NHWC"}),
       Case((F((2, 3, 5, 6)), F((3, 2, 3, 2))), {"strides": [1, 1, 2, 1], "padding": "SAME",
                                                 "data_format": "NCHW"})],
      FLOATS, rtol=1e-4, atol=1e-5),
    E("depthwise_conv2d_backprop_input", _bind(conv.DEPTHWISE_CONV2D_BACKPROP_INPUT),
      _depthwise_input_ref, _input_cases(lambda k: (*k, 3, 2), 6), FLOATS, rtol=1e-4,
      atol=1e-5),
    E("depthwise_conv2d_backprop_filter", _bind(conv.DEPTHWISE_CONV2D_BACKPROP_FILTER),
      _drop_format(depthwise_filter_ref), _filter_cases(6), FLOATS, rtol=1e-4, atol=1e-5),
    E("max_pool2d", aj.nn.max_pool2d, max_pool_ref, _POOL_CASES, FLOATS),
    E("max_pool2d", aj.nn.max_pool1d, _squeezed_1d(max_pool_ref), [
        Case((F((2, 7, 3), "distinct"),), {"ksize": 2}),
        Case((F((2, 7, 3), "distinct"),), {"ksize": 3, "strides": 2, "padding": "SAME"}),
    ], FLOATS),
    E("max_pool2d_grad", lambda x, g, **a: bind(conv.MAX_POOL2D_GRAD, x, g, **a),
      _drop_format(max_pool_grad_ref), _pool_pair_cases(_pooled), FLOATS),
    E("max_pool2d_gather", lambda x, c, **a: bind(conv.MAX_POOL2D_GATHER, x, c, **a),
      _drop_format(max_pool_gather_ref), _pool_pair_cases(lambda attrs: _X), FLOATS),
    E("avg_pool2d", aj.nn.avg_pool2d, avg_pool_ref, _POOL_CASES, FLOATS),
    E("avg_pool2d", aj.nn.avg_pool1d, _squeezed_1d(avg_pool_ref), [
        Case((F((2, 7, 3)),), {"ksize": 3, "strides": 2, "padding": "SAME"}),
    ], FLOATS),
    E("avg_pool2d_grad", lambda g, **a: bind(conv.AVG_POOL2D_GRAD, g, **a),
      lambda g, input_size, data_format, **a: avg_pool_grad_ref(
          g, (g.shape[0], *input_size, g.shape[3]), **a),
      [Case((F(_pooled(attrs)),), {**attrs, "input_size": _X[1:3], "data_format": "NHWC"})
       for attrs in _POOL_GEOMETRIES], FLOATS),
]
