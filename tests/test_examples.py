"""Run every script in ``examples/`` as a user would (a fresh ``python`` process) and check
what it prints."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# script -> (arguments, patterns its output must contain)
EXPECTED = {
    "numpy_vs_tape.py": ([], [r"OK: the hand-written NumPy gradients and GradientTape's agree"]),
    "devices.py": ([], [r"CPU: c = -?\d+\.\d+ on CPU:0", r"GPU: (skipped, no usable GPU|c = )"]),
    "module_mlp.py": ([], [r"lecture Dense: 'dense', output shape \(2, 3\)",
                           r"MLP: 'mlp', output shape \(5, 2\)",
                           r"'mlp/dense/w:0', \(4, 8\)"]),
    "define_by_run.py": ([], [re.escape("aj.Tensor(8, shape=(), dtype=int32)"),
                              re.escape("x= 1.0 --> z= 2.7"), re.escape("x= 0.6 --> z= 1.9"),
                              re.escape("x=-1.8 --> z=-2.9")]),
    "define_and_run_v1.py": ([], [re.escape("grad_x == y, grad_y == x, grad_z == 1: True"),
                                  r"\n8\n", re.escape("x= 1.0 --> z= 2.7"),
                                  re.escape("x= 0.6 --> z= 1.9"), re.escape("x=-1.8 --> z=-2.9")]),
    # The default run: it must reach the 95% the README promises (it takes about 2 s).
    "train_mlp.py": ([], [r"epoch   1/20  loss \d\.\d{4}  train accuracy",
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
