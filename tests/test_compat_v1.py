"""``autojit.compat.v1``: the lecture's TF1 examples, Session caching, errors, gradients."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
import autojit.compat.v1 as tf


@pytest.fixture(autouse=True)
def fresh_default_graph():
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()


# ----------------------------------------------------------------------------- the lecture


def test_lecture_basic_computational_graph():
    # Verbatim from the lecture ("TensorFlow 1.x 코드 형태"), with the import swapped.
    import numpy as np
    np.random.seed(0)
    import autojit.compat.v1 as tf

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

    xs, ys, zs = (values[t].astype(np.float32) for t in (x, y, z))
    np.testing.assert_allclose(c_val, np.sum(xs * ys + zs), rtol=1e-5)
    np.testing.assert_allclose(grad_x_val, ys)
    np.testing.assert_allclose(grad_y_val, xs)
    np.testing.assert_allclose(grad_z_val, np.ones((N, D)))
    assert grad_x_val.dtype == np.float32 and grad_x_val.shape == (N, D)


def test_lecture_graph_with_variables(capsys):
    # Verbatim from the lecture ("z = w * x + b 구현", TensorFlow 1.x), with the import swapped.
    import autojit.compat.v1 as tf

    ## 그래프 정의
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(dtype=tf.float32,
                           shape=(None), name='x')
        w = tf.Variable(2.0, name='weight')
        b = tf.Variable(0.7, name='bias')
        z = w * x + b
        init = tf.global_variables_initializer()

    ## 세션 생성 및 그래프 g 전달
    with tf.Session(graph=g) as sess:
        ## w와 b 초기화
        sess.run(init)
        ## z 평가
        for t in [1.0, 0.6, -1.8]:
            print('x=%4.1f --> z=%4.1f'%(
                t, sess.run(z, feed_dict={x:t})))

    assert capsys.readouterr().out.splitlines() == [
        "x= 1.0 --> z= 2.7", "x= 0.6 --> z= 1.9", "x=-1.8 --> z=-2.9"]


def test_lecture_constants_are_symbolic_until_run():
    # The lecture's TF1 side of "Define and Run vs Define by Run" (it spells tf.session()).
    a = tf.constant(5)
    b = tf.constant(3)
    c = a + b
    assert repr(c) == 'Tensor("add:0", shape=(), dtype=int32)'
    with tf.Session() as sess:
        result = sess.run(c)
    assert result == 8 and result.dtype == np.int32


# ----------------------------------------------------------------------------- Session.run


def test_fetch_structures_variables_and_operations():
    x = tf.placeholder(tf.float32, shape=[None, 2], name="x")
    w = tf.Variable(np.array([[1.0], [2.0]], np.float32), name="w")
    y = tf.matmul(x, w)
    init = tf.global_variables_initializer()
    assert y.shape == (None, 1) and y.dtype == tf.float32
    with tf.Session() as sess:
        assert sess.run(init) is None
        out = sess.run({"y": y, "pair": (w, [y])}, feed_dict={x: [[1.0, 1.0]]})
    assert set(out) == {"y", "pair"}
    np.testing.assert_allclose(out["y"], [[3.0]])
    np.testing.assert_allclose(out["pair"][0], [[1.0], [2.0]])
    assert isinstance(out["pair"], tuple) and isinstance(out["pair"][1], list)


def test_assign_runs_only_when_fetched_and_initializer_resets():
    w = tf.Variable(1.0, name="w")
    step = w.assign_add(2.0)
    with tf.Session() as sess:
        assert sess.run(w) == 1.0
        assert sess.run(step) == 3.0
        assert sess.run(step) == 5.0
        sess.run(tf.global_variables_initializer())
        assert sess.run(w) == 1.0


def test_feeding_an_intermediate_tensor():
    x = tf.placeholder(tf.float32)
    a = x * 2.0
    b = a + 1.0
    with tf.Session() as sess:
        assert sess.run(b, feed_dict={a: 10.0}) == 11.0  # x need not be fed


def test_variable_initial_value_from_graph_ops():
    w = tf.Variable(tf.zeros([2, 3]) + 1.5, name="w")
    np.testing.assert_allclose(w.numpy(), np.full((2, 3), 1.5))


def test_training_loop_with_gradients_and_assign():
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(64, 3)).astype(np.float32)
    ys = xs @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3
    x = tf.placeholder(tf.float32, shape=[None, 3])
    y = tf.placeholder(tf.float32, shape=[None, 1])
    w = tf.Variable(tf.zeros([3, 1]), name="w")
    b = tf.Variable(0.0, name="b")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
    grad_w, grad_b = tf.gradients(loss, [w, b])
    train = [w.assign_sub(0.1 * grad_w), b.assign_sub(0.1 * grad_b)]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(200):
            sess.run(train, feed_dict={x: xs, y: ys})
        final = sess.run(loss, feed_dict={x: xs, y: ys})
        assert sess.compile_count == 3  # init, train, loss
    assert final < 1e-4
    np.testing.assert_allclose(w.numpy().ravel(), [1.0, -2.0, 0.5], atol=1e-2)


# ----------------------------------------------------------------------------- caching


def test_same_fetches_and_feed_types_do_not_recompile():
    x = tf.placeholder(tf.float32)  # unknown rank: each new feed shape compiles once
    y = x * 3.0
    with tf.Session() as sess:
        sess.run(y, feed_dict={x: 1.0})
        sess.run(y, feed_dict={x: 2.0})
        assert sess.compile_count == 1
        np.testing.assert_allclose(sess.run(y, feed_dict={x: [1.0, 2.0]}), [3.0, 6.0])
        assert sess.compile_count == 2
        sess.run([y], feed_dict={x: 1.0})  # the same leaves in another structure: cached
        assert sess.compile_count == 2
        sess.run([y, x], feed_dict={x: 1.0})  # another fetch set
        assert sess.compile_count == 3


def test_declared_shapes_compile_once_for_every_batch_size():
    x = tf.placeholder(tf.float32, shape=[None, 2])
    s = tf.reduce_sum(x, axis=1)
    with tf.Session() as sess:
        for n in (1, 4, 7):
            np.testing.assert_allclose(sess.run(s, {x: np.ones((n, 2))}), np.full(n, 2.0))
        assert sess.compile_count == 1
        # generated replay code, as for @aj.function
        assert "session_run" in sess.compiled[0].code and ".sum(axis=(1,)" in sess.compiled[0].code


def test_graph_op_wraps_a_python_function_of_v1_and_autojit_ops():
    softplus = tf.graph_op(lambda t: tf.log(1.0 + aj.exp(t)), "softplus")
    x = tf.placeholder(tf.float32, shape=[3])
    y = softplus(x, name="act")
    (dy,) = tf.gradients(tf.reduce_sum(y), x)
    assert y.name == "act:0" and y.shape == (3,)
    xs = np.array([-1.0, 0.0, 2.0], np.float32)
    with tf.Session() as sess:
        y_val, dy_val = sess.run([y, dy], {x: xs})
    np.testing.assert_allclose(y_val, np.log1p(np.exp(xs)), rtol=1e-6)
    np.testing.assert_allclose(dy_val, 1 / (1 + np.exp(-xs)), rtol=1e-6)


# ----------------------------------------------------------------------------- gradients


def test_gradients_higher_order_intermediate_and_unconnected():
    u = tf.placeholder(tf.float32, name="u")
    v = tf.placeholder(tf.float32, shape=[], name="v")
    cube = u * u * u
    (d1,) = tf.gradients(cube, u)
    (d2,) = tf.gradients(d1, [u])
    sq = v * v
    total = tf.reduce_sum(sq * 3.0)
    d_sq, d_v = tf.gradients(total, [sq, v])
    assert tf.gradients(total, [u]) == [None]  # known at definition: u is not an input
    with tf.Session() as sess:
        assert sess.run([cube, d1, d2], {u: 2.0}) == [8.0, 12.0, 12.0]
        assert sess.run([d_sq, d_v], {v: 2.0}) == [3.0, 12.0]


# ----------------------------------------------------------------------------- errors


def test_missing_feed_names_the_placeholder():
    x = tf.placeholder(tf.float32, shape=[None, 3], name="images")
    with tf.Session() as sess, pytest.raises(aj.errors.InvalidArgumentError, match=re.escape(
            "the fetches need placeholder 'images:0' (f32[?,3]), but feed_dict has no value "
            "for it")):
        sess.run(x * 2.0)


def test_feed_of_wrong_shape_or_dtype():
    x = tf.placeholder(tf.float32, shape=[None, 3], name="x")
    n = tf.placeholder(tf.int32, shape=[2], name="n")
    with tf.Session() as sess:
        with pytest.raises(aj.errors.ShapeError, match=re.escape(
                "cannot feed a value of shape [2, 4] to 'x:0', which has shape [?, 3]")):
            sess.run(x, feed_dict={x: np.ones((2, 4))})
        with pytest.raises(aj.errors.DTypeError, match=re.escape(
                "cannot feed [1.5, 2.5] to 'n:0' (int32): cannot convert float values to "
                "int32 without loss")):
            sess.run(n, feed_dict={n: [1.5, 2.5]})
        assert sess.run(n, feed_dict={n: np.array([1, 2], np.int64)}).dtype == np.int32


def test_fetch_or_combine_across_graphs():
    x = tf.placeholder(tf.float32, name="x")
    g = tf.Graph()
    with g.as_default():
        other = tf.constant(1.0, name="other")
        assert tf.get_default_graph() is g
    assert tf.get_default_graph() is x.graph and other.graph is g
    with tf.Session() as sess, pytest.raises(aj.errors.InvalidArgumentError, match=re.escape(
            "Session.run: fetch 'other:0' belongs to another graph than this session's")):
        sess.run(other)
    with pytest.raises(aj.errors.InvalidArgumentError, match=re.escape(
            "add: the inputs ('x:0', 'other:0') belong to different graphs")):
        x + other


def test_definition_time_errors_and_bad_fetches():
    x = tf.placeholder(tf.float32, shape=[None, 3])
    with pytest.raises(aj.errors.ShapeError, match="matmul: inner dimensions differ"):
        tf.matmul(x, tf.zeros([4, 2]))
    with pytest.raises(aj.errors.TracingError, match="a compat.v1 tensor has no value until"):
        bool(x)
    u = tf.placeholder(tf.float32)  # unknown rank: shape errors wait for the feed
    y = tf.matmul(u, tf.zeros([3, 2]))
    assert y.shape is None
    sess = tf.Session()
    with pytest.raises(aj.errors.ShapeError, match=r"inner dimensions differ.*; in 'matmul_1', "
                                                   r"defined at .*test_compat_v1.py:\d+"):
        sess.run(y, {u: np.ones((2, 4))})
    with pytest.raises(TypeError, match="is not an element of a compat.v1 graph"):
        sess.run(aj.constant(1.0))
    sess.close()
    with pytest.raises(RuntimeError, match="this session is closed"):
        sess.run(x, {x: np.ones((1, 3))})


# ----------------------------------------------------------------------------- eager stays eager


def test_eager_code_stays_eager_around_and_inside_v1_graphs():
    tf.placeholder(tf.float32)
    with tf.Graph().as_default():
        inside = aj.constant(5) + aj.constant(3)
    outside = aj.constant(5) + aj.constant(3)
    v = aj.Variable(1.0)
    v.assign_add(1.0)  # runs at once: not deferred
    for t in (inside, outside):
        assert type(t) is aj.Tensor and t.numpy() == 8
    assert v.numpy() == 2.0


def test_autojit_ops_on_v1_tensors_build_graph_nodes():
    x = tf.placeholder(tf.float32, shape=[2])
    v = aj.Variable(3.0)  # an eager variable mixed in: read when the session runs
    y = aj.exp(x) * v
    assert isinstance(y, tf.Tensor)
    v.assign(4.0)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: [0.0, 1.0]}), [4.0, 4.0 * np.e], rtol=1e-6)


def test_example_script_runs():
    # tests/test_examples.py lists every example too; this keeps the v1 one checked here.
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, str(root / "examples" / "define_and_run_v1.py")],
                            cwd=root, env={"PYTHONPATH": str(root)}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for line in ["grad_x == y, grad_y == x, grad_z == 1: True", "\n8\n", "x= 1.0 --> z= 2.7",
                 "x= 0.6 --> z= 1.9", "x=-1.8 --> z=-2.9"]:
        assert line in result.stdout
