"""The lecture's device placement: the same computation with ``aj.device("CPU:0")`` and
``aj.device("GPU:0")``. Without a GPU (or CuPy), the GPU part says why and is skipped.

Run: ``python examples/devices.py``
"""

import autojit as aj
from autojit.errors import DeviceError

print("devices here:", [d.name for d in aj.list_devices()])

# --- CPU, as in the lecture ---------------------------------------------------------------
N, D = 3, 4

with aj.device("CPU:0"):
    x = aj.Variable(aj.random.normal((N, D)))
    y = aj.Variable(aj.random.normal((N, D)))
    z = aj.Variable(aj.random.normal((N, D)))

# Forward Pass
with aj.GradientTape() as tape:
    a = x * y
    b = a + z
    c = aj.reduce_sum(b)

# Gradient
grad_x, grad_y, grad_z = tape.gradient(c, [x, y, z])
print(f"CPU: c = {float(c):.4f} on {c.device}, grad_x on {grad_x.device}")

# --- GPU, as in the lecture -----------------------------------------------------------------
if not aj.gpu_available():
    reason = "aj.gpu_available() is False"
    try:
        aj.device("GPU:0")
    except DeviceError as error:  # says why: no CuPy, no CUDA device, ...
        reason = str(error)
    print(f"GPU: skipped, no usable GPU on this machine ({reason})")
else:
    with aj.device("GPU:0"):
        x = aj.Variable(aj.random.normal((N, D)))
        y = aj.Variable(aj.random.normal((N, D)))
        z = aj.Variable(aj.random.normal((N, D)))

    # Forward Pass
    with aj.GradientTape() as tape:
        a = x * y
        b = a + z
        c = aj.reduce_sum(b)

    # Gradient
    grad_x, grad_y, grad_z = tape.gradient(c, [x, y, z])
    print(f"GPU: c = {float(c):.4f} on {c.device}, grad_x on {grad_x.device}")
