"""Define-by-run: ops run as Python reaches them, so ``a + b`` is a value at once and a
plain Python loop evaluates ``z = w * x + b`` for each input (the lecture's TF 2.x code).

Run: ``python examples/define_by_run.py``
"""

import autojit as aj

a = aj.constant(5)
b = aj.constant(3)
c = a + b
print(c)  # concrete: aj.Tensor(8, shape=(), dtype=int32)

w = aj.Variable(2.0, name='weight')
b = aj.Variable(0.7, name='bias')

# ## z 평가 (evaluate z)
for x in [1.0, 0.6, -1.8]:
    z = w * x + b
    print('x=%4.1f --> z=%4.1f' % (x, z))
