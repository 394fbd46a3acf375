"""Define-and-run: the lecture's TensorFlow 1.x examples, unchanged but for the import. First
a graph is defined (placeholders, variables, ops, symbolic gradients); then a Session
compiles the part each run needs -- through the same IR, passes and code generation as
``@aj.function`` -- and runs it with the values in ``feed_dict``.

Run: ``python examples/define_and_run_v1.py``
"""

import numpy as np

import autojit.compat.v1 as tf

# --- 1. A computational graph with gradients ("TensorFlow 1.x 코드 형태") -------------------
np.random.seed(0)

N, D = 3, 4

x = tf.placeholder(tf.float32)
y = tf.placeholder(tf.float32)
z = tf.placeholder(tf.float32)

a = x * y
b = a + z
c = tf.reduce_sum(b)

grad_x, grad_y, grad_z = tf.gradients(c, [x, y, z])

with tf.Session() as sess:
    values = {
        x: np.random.randn(N, D),
        y: np.random.randn(N, D),
        z: np.random.randn(N, D),
    }
    out = sess.run([c, grad_x, grad_y, grad_z],
                   feed_dict=values)
    c_val, grad_x_val, grad_y_val, grad_z_val = out
    print("the replay code Session.run generated:")
    print(sess.compiled[0].code)

print(f"c = {c_val:.4f}")
ok = (np.allclose(grad_x_val, values[y]) and np.allclose(grad_y_val, values[x])
      and np.allclose(grad_z_val, 1.0))
print("grad_x == y, grad_y == x, grad_z == 1:", ok)

# --- 2. Constants are symbolic until a session runs them --------------------------------
a = tf.constant(5)
b = tf.constant(3)
c = a + b
print(c)  # symbolic: Tensor("add_1:0", shape=(), dtype=int32)
with tf.Session() as sess:
    print(sess.run(c))  # 8

# --- 3. z = w * x + b in a graph of its own ("z = w * x + b 구현", TensorFlow 1.x) -------------
## 그래프 정의 (define the graph)
g = tf.Graph()
with g.as_default():
    x = tf.placeholder(dtype=tf.float32,
                       shape=(None), name='x')
    w = tf.Variable(2.0, name='weight')
    b = tf.Variable(0.7, name='bias')
    z = w * x + b
    init = tf.global_variables_initializer()

## 세션 생성 및 그래프 g 전달 (create a session for graph g)
with tf.Session(graph=g) as sess:
    ## w와 b 초기화 (initialize w and b)
    sess.run(init)
    ## z 평가 (evaluate z)
    for t in [1.0, 0.6, -1.8]:
        print('x=%4.1f --> z=%4.1f' % (
            t, sess.run(z, feed_dict={x: t})))
    print(f"compiled runs: {sess.compile_count} (init, then z once for all three feeds)")
