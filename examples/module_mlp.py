"""Models as ``aj.Module``s, exactly as the lecture writes them (``tf.`` -> ``aj.``): a
``Dense`` layer of its own, then an ``MLP`` built from ``aj.layers.Dense``.

The lecture's ``MLP`` calls ``Dense(input_size=..., output_size=...)`` although its own
``Dense`` takes ``in_features, out_features``; ``aj.layers.Dense`` accepts both spellings
(``in_features``/``out_features`` are the canonical ones), so the MLP runs as written.

Run: ``python examples/module_mlp.py``
"""

import autojit as aj


# --- The lecture's Dense layer: user code on aj.Module --------------------------------------
class Dense(aj.Module):

    def __init__(self, in_features, out_features, name=None):

        super(Dense, self).__init__(name=name)

        # weights and bias
        self.w = aj.Variable(aj.random.normal([in_features, out_features]), name='w')
        self.b = aj.Variable(aj.zeros([out_features]), name='b')

    def __call__(self, x):

        y = aj.matmul(x, self.w) + self.b  # weighted sum
        return aj.nn.relu(y)  # activation


layer = Dense(4, 3)
out = layer(aj.random.normal((2, 4)))
print(f"lecture Dense: {layer.name!r}, output shape {out.shape}, "
      f"min {float(aj.reduce_min(out)):.2f} (ReLU)")
print("  trainable_variables:", [v.name for v in layer.trainable_variables])


# --- The lecture's MLP, verbatim, on the library's Dense ----------------------------------
Dense = aj.layers.Dense  # accepts the MLP's input_size=/output_size= keywords


class MLP(aj.Module):

    def __init__(self, input_size, sizes, name=None):  # sizes: the width of each layer
        super(MLP, self).__init__(name=name)

        self.layers = []  # the list of layers
        with self.name_scope:
            for size in sizes:
                self.layers.append(Dense(input_size=input_size, output_size=size))  # each layer
                input_size = size

    @aj.Module.with_name_scope
    def __call__(self, x):
        for layer in self.layers:  # call each layer in order
            x = layer(x)
        return x


model = MLP(input_size=4, sizes=[8, 8, 2])
y = model(aj.random.normal((5, 4)))
print(f"MLP: {model.name!r}, output shape {y.shape}")
print("  submodules:", [m.name for m in model.submodules])
print("  trainable_variables:", [(v.name, v.shape) for v in model.trainable_variables])
assert y.shape == (5, 2)
assert len(model.trainable_variables) == 6
