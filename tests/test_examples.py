"""Run every script in ``examples/`` as a user would (a fresh ``python`` process) and check
what it prints."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# script -> (arguments, patterns its output must contain)
EXPECTED = {
    "numpy_vs_tape.py": ([], [r"OK: the hand-written NumPy gradients and GradientTape's agree"]),
    "devices.py": ([], [r"CPU: c = -?\d+\.\d+ on CPU:0", r"GPU: (skipped, no usable GPU|c = )"]),
    "module_mlp.py": ([], [r"lecture Dense: 'dense', output shape \(2, 3\)",
                           r"MLP: 'mlp', output shape \(5, 2\)",
                           r"'mlp/dense_1/w:0', TensorShape\(\[4, 8\]\)"]),
    "define_by_run.py": ([], [re.escape("aj.Tensor(8, shape=(), dtype=int32)"),
                              re.escape("x= 1.0 --> z= 2.7"), re.escape("x= 0.6 --> z= 1.9"),
                              re.escape("x=-1.8 --> z=-2.9")]),
    "define_and_run_v1.py": ([], [re.escape("grad_x == y, grad_y == x, grad_z == 1: True"),
                                  r"\n8\n", re.escape("x= 1.0 --> z= 2.7"),
                                  re.escape("x= 0.6 --> z= 1.9"), re.escape("x=-1.8 --> z=-2.9")]),
    "train_transformer.py": ([], [r"epoch   1/4  loss \d\.\d{4}",
                                  r"test accuracy \(every position\): (9\d|100)\.\d\d%  \(the "
                                  r"step was traced 1 time",
                                  r"the loaded model \(no Transformer class needed\) predicts "
                                  r"the same: True",
                                  r"step time \(batch 64, median of 20\): eager \d+ µs"]),
    # The default run: it must reach the 95% the README promises (it takes about 2 s).
    "train_mlp.py": ([], [r"checkpoints: \S+autojit-train_mlp\n",
                          r"epoch   1/20  loss \d\.\d{4}  train accuracy .*saved ckpt-1\.npz",
                          r"test accuracy: (9[5-9]|100)\.\d\d%  \(the step was traced 1 time",
                          r"step time \(batch 32, median of 50\): eager \d+ µs, @aj.function "
                          r"\d+ µs"]),
}


def run_example(name, args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name):
    if name == "train_mlp.py":
        pytest.importorskip("sklearn")
    args, patterns = EXPECTED[name]
    result = run_example(name, args)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    for pattern in patterns:
        assert re.search(pattern, result.stdout), f"{name}: no {pattern!r} in:\n{result.stdout}"


def test_train_mlp_fails_loudly_below_the_accuracy_bar():
    pytest.importorskip("sklearn")
    result = run_example("train_mlp.py", ["--epochs", "1", "--learning-rate", "0.0",
                                          "--min-accuracy", "0.5"])
    assert result.returncode == 1
    assert "FAILED: test accuracy" in result.stderr and "is below 50%" in result.stderr


def test_every_example_is_tested():
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert scripts == set(EXPECTED), "add new examples to EXPECTED in tests/test_examples.py"


def test_train_mlp_resumes_to_the_weights_of_an_uninterrupted_run(tmp_path):
    # 4 epochs straight vs 2 epochs, then --resume to 4: the final checkpoints (weights, Adam
    # slots and step count) are bit-identical. Piped output shows no progress bar.
    pytest.importorskip("sklearn")
    common = ["--no-timing", "--min-accuracy", "0"]
    straight = run_example("train_mlp.py", ["--epochs", "4", "--checkpoint-dir",
                                            str(tmp_path / "a"), *common])
    first = run_example("train_mlp.py", ["--epochs", "2", "--checkpoint-dir",
                                         str(tmp_path / "b"), *common])
    resumed = run_example("train_mlp.py", ["--epochs", "4", "--checkpoint-dir",
                                           str(tmp_path / "b"), "--resume", *common])
    for result in (straight, first, resumed):
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
        assert "\r" not in result.stdout + result.stderr  # no bar when not on a terminal
    assert f"resumed from {tmp_path / 'b' / 'ckpt-2.npz'} after epoch 2" in resumed.stdout
    assert "epoch   1/" not in resumed.stdout and "epoch   3/4" in resumed.stdout
    # The last epoch's line (loss, accuracy) is the same in both runs.
    last = [re.search(r"epoch   4/4  loss \S+  train accuracy \S+", r.stdout).group(0)
            for r in (straight, resumed)]
    assert last[0] == last[1]
    a = np.load(tmp_path / "a" / "ckpt-4.npz", allow_pickle=False)
    b = np.load(tmp_path / "b" / "ckpt-4.npz", allow_pickle=False)
    arrays = [name for name in a.files if name != "index.json"]
    assert sorted(arrays) == sorted(n for n in b.files if n != "index.json")
    assert "optimizer/slots/model/layers/0/w/m" in arrays and "epochs_done" in arrays
    for name in arrays:
        assert np.array_equal(a[name], b[name]), name
    assert int(b["optimizer/iterations"]) == 4 * 44 and int(b["epochs_done"]) == 4


def test_train_mlp_resume_without_a_checkpoint_starts_from_scratch(tmp_path):
    pytest.importorskip("sklearn")
    result = run_example("train_mlp.py", ["--epochs", "1", "--no-timing", "--min-accuracy",
                                          "0", "--checkpoint-dir", str(tmp_path), "--resume"])
    assert result.returncode == 0, result.stderr
    assert "no checkpoint to resume from there; starting from scratch" in result.stdout
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.json", "ckpt-1.npz"]
