"""``python -m bench``: the quick run finishes, its JSON has the documented shape and its
numbers agree with each other, the charts are PNG files; the shared timing helper."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG = b"\x89PNG\r\n\x1a\n"

# the JSON report's schema: key -> type (a dict: nested schema; a list: items of that schema)
RESULT = {"implementation": str, "column": str, "median_us": float, "q1_us": float,
          "q3_us": float, "min_us": float, "repeats": int, "inner": int, "spread": float,
          "ratio_vs_numpy": (float, type(None))}
WORKLOAD = {"family": str, "name": str, "title": str, "device": str, "repeat": int,
            "baseline": (str, type(None)), "seconds": float, "results": [RESULT]}
REPORT = {"schema": str, "date": str, "host": str, "quick": bool, "command": str,
          "environment": {"python": str, "numpy": str, "autojit": str, "platform": str,
                          "machine": str, "cpu_count": (int, type(None)),
                          "blas_threads": (str, type(None)), "gpu": (str, type(None)),
                          "peers": dict},
          "workloads": [WORKLOAD], "skipped": [{"workload": str, "reason": str}],
          "charts": [str]}


def validate(value, schema, where="report"):
    if isinstance(schema, dict):
        assert isinstance(value, dict), where
        assert set(value) == set(schema), f"{where}: keys {sorted(value)} != {sorted(schema)}"
        for key, sub in schema.items():
            validate(value[key], sub, f"{where}.{key}")
    elif isinstance(schema, list):
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            validate(item, schema[0], f"{where}[{i}]")
    else:
        kinds = schema if isinstance(schema, tuple) else (schema,)
        if float in kinds:
            kinds = kinds + (int,)
        assert isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds), \
            f"{where}: {value!r} is not {schema}"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    files = sorted(os.listdir(out))
    reports = [f for f in files if f.endswith(".json")]
    assert len(reports) == 1, files
    with open(out / reports[0]) as f:
        return json.load(f), out, done.stdout


def test_quick_report_validates(quick_run):
    report, _, stdout = quick_run
    validate(report, REPORT)
    assert report["schema"] == "autojit-bench/1" and report["quick"] is True
    families = {w["family"] for w in report["workloads"]}
    assert {"eager_overhead", "eager_vs_graph", "control_flow", "conv", "models"} <= families
    skipped = {s["workload"] for s in report["skipped"]}
    assert "eager_vs_graph/mlp_large" in skipped  # full runs only
    lstm = next(w for w in report["workloads"] if w["family"] == "models"
                and w["name"] == "lstm")
    assert {"autojit eager (aj.layers.LSTM(32))", "autojit @function (aj.layers.LSTM(32))"} \
        <= {r["implementation"] for r in lstm["results"]}
    if report["environment"]["gpu"] is None:
        assert {"gpu/toy", "gpu/mlp"} <= skipped
    for w in report["workloads"]:
        names = [r["implementation"] for r in w["results"]]
        base = next((r for r in w["results"] if r["implementation"] == w["baseline"]), None)
        assert (base is None) == (w["baseline"] is None), w["name"]
        for r in w["results"]:
            assert 0 < r["min_us"] <= r["q1_us"] <= r["median_us"] <= r["q3_us"], r
            assert r["spread"] == pytest.approx((r["q3_us"] - r["q1_us"]) / r["median_us"])
            if base is None:
                assert r["ratio_vs_numpy"] is None
            else:
                assert r["ratio_vs_numpy"] == pytest.approx(r["median_us"] / base["median_us"])
        if w["family"] == "eager_vs_graph":
            assert names[:3] == ["numpy by hand", "autojit eager", "autojit @function"]
        assert f"{w['family']}/{w['name']}" in stdout  # one table row per workload
    assert "median per call ±spread" in stdout


def test_quick_charts_are_png(quick_run):
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is not installed (pip install -e .[bench]): no charts")
    report, out, _ = quick_run
    families = {w["family"] for w in report["workloads"]}
    assert len(report["charts"]) == len(families)
    for name in report["charts"]:
        assert name.startswith(report["date"][:10]) and name.endswith(".png")
        with open(out / name, "rb") as f:
            assert f.read(8) == PNG


def _bench(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_only_picks_workloads(tmp_path):
    done = _bench("--quick", "--only", "eager_vs_graph/toy", "--repeats", "5", "--no-chart",
                  "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    (report_file,) = os.listdir(tmp_path)
    with open(tmp_path / report_file) as f:
        report = json.load(f)
    assert [(w["family"], w["name"]) for w in report["workloads"]] == [("eager_vs_graph", "toy")]
    assert all(r["repeats"] == 5 for r in report["workloads"][0]["results"])
    assert report["charts"] == []


def test_only_matching_nothing_is_an_error():
    done = _bench("--only", "no_such_workload", "--no-chart")
    assert done.returncode == 2
    assert "--only 'no_such_workload' matches no workload here; see --list" in done.stderr


def test_list_names_every_family():
    done = _bench("--list")
    assert done.returncode == 0
    for key in ("eager_overhead/toy", "eager_vs_graph/mlp", "control_flow/loop", "conv/conv2d",
                "models/lstm", "gpu/mlp"):
        assert key in done.stdout


def test_scripts_still_run_on_their_own():
    done = subprocess.run([sys.executable, os.path.join("bench", "eager_overhead.py"),
                           "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "toy reduce_sum(x*y+z) + grads" in done.stdout


def test_timing_helper_against_numpy():
    sys.path.insert(0, ROOT)
    from bench import timing

    samples = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0]
    t = timing.summarize(samples)
    assert t.median_us == np.median(samples)
    assert (t.q1_us, t.q3_us) == tuple(np.percentile(samples, [25, 75]))
    assert t.min_us == 1.0 and t.repeats == 6
    calls = []
    with timing.recording() as recorded:
        m = timing.measure(lambda: calls.append(1), repeat=7, warmup=2)
        timing.median_us(lambda: None, repeat=3)
    assert len(calls) == 9 and m.repeats == 7
    assert recorded == [m, recorded[1]] and recorded[1].repeats == 3
    assert os.environ["OPENBLAS_NUM_THREADS"]  # set (to 1 unless told otherwise) on import
