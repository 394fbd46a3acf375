"""The lecture's first point: NumPy makes you write the gradient by hand; GradientTape
computes it. Both run on the same x, y, z and the script asserts they agree.

Run: ``python examples/numpy_vs_tape.py``
"""

import numpy as np

import autojit as aj

# --- NumPy, as in the lecture: forward pass, then the gradient by hand -----------------
np.random.seed(0)

N, D = 3, 4
x = np.random.randn(N, D)
y = np.random.randn(N, D)
z = np.random.randn(N, D)

a = x * y
b = a + z
c = np.sum(b)

grad_c = 1.0
grad_b = grad_c * np.ones((N, D))
grad_a = grad_b.copy()
grad_z = grad_b.copy()
grad_x = grad_a * y
grad_y = grad_a * x

# --- autojit, as the lecture's TensorFlow code (tf. -> aj.), on random data -------------
tx = aj.Variable(aj.random.normal((N, D)))
ty = aj.Variable(aj.random.normal((N, D)))
tz = aj.Variable(aj.random.normal((N, D)))

with aj.GradientTape() as tape:
    ta = tx * ty
    tb = ta + tz
    tc = aj.reduce_sum(tb)

tgrad_x, tgrad_y, tgrad_z = tape.gradient(tc, [tx, ty, tz])
np.testing.assert_allclose(tgrad_x.numpy(), ty.numpy())  # dc/dx = y
np.testing.assert_allclose(tgrad_y.numpy(), tx.numpy())  # dc/dy = x
np.testing.assert_allclose(tgrad_z.numpy(), np.ones((N, D)))

# --- the same NumPy values through the tape: the two gradients must match ---------------
vx, vy, vz = aj.Variable(x), aj.Variable(y), aj.Variable(z)  # float64, as NumPy's
with aj.GradientTape() as tape:
    vc = aj.reduce_sum(vx * vy + vz)
auto_x, auto_y, auto_z = tape.gradient(vc, [vx, vy, vz])

np.testing.assert_allclose(float(vc), c)
np.testing.assert_allclose(auto_x.numpy(), grad_x)
np.testing.assert_allclose(auto_y.numpy(), grad_y)
np.testing.assert_allclose(auto_z.numpy(), grad_z)

print(f"c = {c:.6f} (NumPy) = {float(vc):.6f} (autojit)")
print("grad_x by hand:\n", np.round(grad_x, 4))
print("grad_x from GradientTape:\n", np.round(auto_x.numpy(), 4))
print("OK: the hand-written NumPy gradients and GradientTape's agree")
