"""``python -m bench``: run every benchmark available here, print one table, write a JSON
report and a PNG chart per workload family.

Usage::

    python -m bench                      # everything this machine can run (GPU rows with a GPU)
    python -m bench --quick              # fewer repeats and smaller shapes (CI: under a minute)
    python -m bench --only control_flow,eager_vs_graph/toy --repeats 50
    python -m bench --list               # the workloads, one line each

Each workload times the same step written several ways: hand-written NumPy (CuPy on the GPU;
the floor for this runtime), autojit eager, autojit ``@aj.function``, and PyTorch, JAX or
TensorFlow when they are installed. Times are per call: the median and the interquartile
spread of the repeats after a warm-up (``bench/timing.py``), one BLAS thread unless
``BLAS_THREADS=n``. Results go to ``<out>/<date>-<host>.json`` and
``<out>/<date>-<host>-<family>.png`` (``--out``, default ``bench/results``); charts need
matplotlib (``pip install -e .[bench]``) and are skipped with a note without it.
"""

from __future__ import annotations

# bench/__init__.py ran first and imported bench.timing: one BLAS thread before NumPy loads
import argparse
import datetime
import fnmatch
import itertools
import json
import os
import platform
import socket
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from typing import Callable

import numpy as np

import autojit as aj
from bench import control_flow, conv, eager_overhead, eager_vs_graph, models, timing

SCHEMA = "autojit-bench/1"
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
FAMILIES = {
    "eager_overhead": "Eager overhead: autojit eager vs hand-written NumPy",
    "eager_vs_graph": "Eager vs @aj.function vs hand-written NumPy (CPU)",
    "control_flow": "Tensor control flow in graphs, and autograph's costs",
    "conv": "conv2d forward + backward",
    "models": "Training steps of small models",
    "gpu": "Eager vs @aj.function vs hand-written CuPy (GPU)",
}
COLUMNS = ("NumPy", "eager", "@function", "PyTorch", "JAX", "TF")
LEGEND = {"NumPy": "NumPy by hand (CuPy on the GPU)", "eager": "autojit eager",
          "@function": "autojit @aj.function", "PyTorch": "PyTorch", "JAX": "JAX jit",
          "TF": "TensorFlow tf.function"}


@dataclass
class Workload:
    """One benchmark: ``run(quick, repeat)`` returns ``{implementation: Timing}``."""

    family: str
    name: str
    title: str
    run: Callable[[bool, int], dict]
    repeat: tuple  # (full, quick)
    full_only: bool = False
    gpu: bool = False

    @property
    def key(self) -> str:
        return f"{self.family}/{self.name}"


def _timed(cases: dict, repeat: int, warmup: int = 3, sync: Callable | None = None) -> dict:
    return {name: timing.measure(fn, repeat, warmup, sync) for name, fn in cases.items()}


def _recorded(run: Callable[[], dict]) -> dict:
    """The ``{name: Timing}`` of a script function that measures its cases itself and returns
    ``{name: median}``: its measurements, made through ``bench.timing``, in order."""
    with timing.recording() as recorded:
        medians = run()
    if len(recorded) != len(medians):
        raise RuntimeError(f"expected {len(medians)} timings, recorded {len(recorded)}")
    return dict(zip(medians, recorded))


# --- the workloads --------------------------------------------------------------------------


def _overhead_toy(quick: bool, repeat: int) -> dict:
    cases = {"numpy by hand": eager_overhead.toy_numpy(),
             "autojit eager": eager_overhead.toy_autojit()}
    return {k: timing.measure(fn, repeat, min_sample_s=1e-3) for k, fn in cases.items()}


def _overhead_mlp(quick: bool, repeat: int) -> dict:
    eager_overhead.check_same_math()
    return _timed({"numpy by hand": eager_overhead.mlp_numpy(),
                   "autojit eager": eager_overhead.mlp_autojit()}, repeat)


def _graph_mlp(sizes: list, batch: int) -> Callable:
    return lambda quick, repeat: _timed(eager_vs_graph.mlp_cases(sizes, batch)[0], repeat)


def _loop(quick: bool, repeat: int) -> dict:
    return _recorded(lambda: control_flow.lecture_loop(repeat))


def _conditional(quick: bool, repeat: int) -> dict:
    return _recorded(lambda: control_flow.lecture_conditional(repeat))


def _rnn_append(quick: bool, repeat: int) -> dict:
    return _recorded(lambda: control_flow.rnn_append(repeat))


_fresh = itertools.count(10_000)


def _first_call(quick: bool, repeat: int) -> dict:
    x = aj.constant(np.linspace(-1, 1, 64).astype(np.float32))
    w, n = aj.constant(0.5), aj.constant(4)
    from autojit import autograph

    # a fresh code object per call: conversions are cached by code object
    convert = timing.measure(lambda: autograph.convert(control_flow.fresh_function(
        next(_fresh))), repeat, warmup=1)
    first = timing.measure(lambda: aj.function(control_flow.fresh_function(next(_fresh)))(
        x, w, n), repeat, warmup=1)
    return {"autograph conversion": convert, "conversion + first trace": first}


def _conv(quick: bool, repeat: int) -> dict:
    n, s, c = (4, 16, 32) if quick else (32, 32, 64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, s, s, c)).astype(np.float32)
    w = (rng.standard_normal((3, 3, c, c)) * 0.05).astype(np.float32)
    g = rng.standard_normal((n, s, s, c)).astype(np.float32)
    xa, wa, ga = aj.constant(x), aj.constant(w), aj.constant(g)
    graph = aj.function(conv.autojit_step)
    out = _timed({"numpy im2col by hand": lambda: conv.numpy_step(x, w, g),
                  "autojit eager": lambda: conv.autojit_step(xa, wa, ga),
                  "autojit @function": lambda: graph(xa, wa, ga)}, repeat, warmup=2)
    if _installed("torch"):
        with timing.recording() as recorded:
            rows = conv.torch_rows(x, w, g, repeat)
        if rows:
            out.update(zip(rows[0], recorded))
    return out


def _cnn(quick: bool, repeat: int) -> dict:
    return _timed(models.cnn_cases(), repeat, warmup=2)


def _lstm(quick: bool, repeat: int) -> dict:
    return _timed(models.lstm_cases(8 if quick else 32), repeat, warmup=2)


def _on_gpu(build: Callable[[], dict]) -> Callable:
    def run(quick: bool, repeat: int) -> dict:
        device = next(d for d in aj.list_devices() if d.kind == "GPU")
        sync = device.xp.cuda.Device(device.index).synchronize
        saved = eager_vs_graph.XP, eager_vs_graph.SYNC, eager_vs_graph.ON_GPU
        eager_vs_graph.XP, eager_vs_graph.SYNC, eager_vs_graph.ON_GPU = device.xp, sync, True
        try:
            with aj.device(device):
                return _timed(build(), repeat, sync=sync)
        finally:
            eager_vs_graph.XP, eager_vs_graph.SYNC, eager_vs_graph.ON_GPU = saved
    return run


WORKLOADS = [
    Workload("eager_overhead", "toy", "reduce_sum(x*y+z) + gradients, 3x4, eager",
             _overhead_toy, (200, 30)),
    Workload("eager_overhead", "mlp", "MLP 784-256-256-10 SGD step, batch 128, eager",
             _overhead_mlp, (100, 10)),
    Workload("eager_vs_graph", "toy", "reduce_sum(x*y+z) + gradients, 3x4",
             lambda q, r: _timed(eager_vs_graph.toy_cases(), r), (5000, 300)),
    Workload("eager_vs_graph", "mlp", "MLP 784-256-256-10 SGD step, batch 128",
             _graph_mlp([784, 256, 256, 10], 128), (300, 10)),
    Workload("eager_vs_graph", "mlp_large", "MLP 1024-2048-2048-10 SGD step, batch 512",
             _graph_mlp([1024, 2048, 2048, 10], 512), (30, 3), full_only=True),
    Workload("control_flow", "loop", "y_t = (y_{t-1} + x_t) * w, T=100, D=64, + gradient",
             _loop, (600, 20)),
    Workload("control_flow", "conditional", "y = w1*x if z > 0 else w2*x, + gradients",
             _conditional, (6000, 100)),
    Workload("control_flow", "rnn_append", "h = tanh(h @ W + x[t]); out.append(h), T=100",
             _rnn_append, (150, 5)),
    Workload("control_flow", "first_call", "30-line function: autograph conversion, first trace",
             _first_call, (30, 5)),
    Workload("conv", "conv2d", "conv2d 3x3 SAME fwd+bwd, x [32,32,32,64] (quick: [4,16,16,32])",
             _conv, (7, 3)),
    Workload("models", "cnn", "CNN step 28x28x1 conv16-pool-conv32-gap-dense10, batch 32",
             _cnn, (25, 3)),
    Workload("models", "lstm", "LSTM step, T=32 (quick: 8), D=H=64, batch 32", _lstm, (25, 3)),
    Workload("gpu", "toy", "reduce_sum(x*y+z) + gradients, 3x4, GPU",
             _on_gpu(eager_vs_graph.toy_cases), (2000, 100), gpu=True),
    Workload("gpu", "mlp", "MLP 784-256-256-10 SGD step, batch 128, GPU",
             _on_gpu(lambda: eager_vs_graph.mlp_cases([784, 256, 256, 10], 128)[0]),
             (300, 20), gpu=True),
    Workload("gpu", "mlp_large", "MLP 1024-2048-2048-10 SGD step, batch 512, GPU",
             _on_gpu(lambda: eager_vs_graph.mlp_cases([1024, 2048, 2048, 10], 512)[0]),
             (100, 10), gpu=True),
]


# --- running --------------------------------------------------------------------------------


def column_of(implementation: str) -> str:
    """The table column of an implementation's name ("numpy by hand" -> "NumPy")."""
    low = implementation.lower()
    if low.startswith(("numpy", "cupy")):
        return "NumPy"
    if low.startswith("autojit eager"):
        return "eager"
    if low.startswith("autojit @function"):
        return "@function"
    for column, word in (("PyTorch", "pytorch"), ("JAX", "jax"), ("TF", "tensorflow")):
        if word in low:
            return column
    return implementation


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def select(only: str | None, quick: bool, has_gpu: bool) -> tuple[list, list]:
    """(the workloads to run, [(key, why not)] for the others)."""
    chosen, skipped = [], []
    patterns = [p.strip() for p in only.split(",") if p.strip()] if only else None
    for w in WORKLOADS:
        if patterns and not any(fnmatch.fnmatch(w.key, p) or fnmatch.fnmatch(w.family, p)
                                or fnmatch.fnmatch(w.name, p) for p in patterns):
            continue
        if w.gpu and not has_gpu:
            skipped.append((w.key, "no GPU here (CuPy and a CUDA device are needed)"))
        elif w.full_only and quick:
            skipped.append((w.key, "left out by --quick"))
        else:
            chosen.append(w)
    return chosen, skipped


def run_workload(w: Workload, quick: bool, repeats: int | None) -> dict:
    repeat = repeats or w.repeat[1 if quick else 0]
    started = time.perf_counter()
    timings = w.run(quick, repeat)
    base_name = next((k for k in timings if column_of(k) == "NumPy"), None)
    base = timings[base_name].median_us if base_name else None
    results = []
    for name, t in timings.items():
        results.append(dict(implementation=name, column=column_of(name), **t.as_dict(),
                            ratio_vs_numpy=t.median_us / base if base else None))
    return {"family": w.family, "name": w.name, "title": w.title,
            "device": "GPU:0" if w.gpu else "CPU:0", "repeat": repeat, "baseline": base_name,
            "seconds": time.perf_counter() - started, "results": results}


def environment(has_gpu: bool) -> dict:
    gpu = None
    if has_gpu:
        device = next(d for d in aj.list_devices() if d.kind == "GPU")
        props = device.xp.cuda.runtime.getDeviceProperties(device.index)
        gpu = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    return {"python": sys.version.split()[0], "numpy": np.__version__,
            "autojit": aj.__version__, "platform": platform.platform(),
            "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "gpu": gpu,
            "peers": {col: _version(dist) for col, dist in
                      (("PyTorch", "torch"), ("JAX", "jax"), ("TF", "tensorflow"))}}


# --- the table ------------------------------------------------------------------------------


def _time_text(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e3:
        return f"{us / 1e3:.2f} ms"
    return f"{us:.1f} µs"


def table(report: dict) -> str:
    """One table: a row per workload, a column per implementation; each cell the median,
    the spread (interquartile range as a share of the median) and the ratio to NumPy."""
    rows = []
    for w in report["workloads"]:
        row: dict = {}
        extra: list = []
        for r in w["results"]:
            cell = f"{_time_text(r['median_us'])} ±{r['spread'] * 100:.0f}%"
            if r["ratio_vs_numpy"] is not None and r["column"] != "NumPy":
                cell += f" {r['ratio_vs_numpy']:.2f}x"
            if r["column"] in COLUMNS and r["column"] not in row:
                row[r["column"]] = cell
            else:
                extra.append((r["implementation"], cell))
        key = f"{w['family']}/{w['name']}"
        if row:
            rows.append((key, row))
            rows += [(f"  + {name}", {"other": cell}) for name, cell in extra]
        else:  # nothing to compare with (autograph's own costs): a row per measurement
            rows += [(f"{key}: {name}", {"other": cell}) for name, cell in extra]
    columns = [c for c in COLUMNS if any(c in row for _, row in rows)]
    if any("other" in row for _, row in rows):
        columns.append("other")
    width = max([len(name) for name, _ in rows] + [8])
    cells = {c: max([len(row.get(c, "")) for _, row in rows] + [len(c)]) for c in columns}
    lines = [f"{'workload':<{width}}  " + "  ".join(f"{c:>{cells[c]}}" for c in columns)]
    lines.append("-" * len(lines[0]))
    for name, row in rows:
        lines.append(f"{name:<{width}}  " + "  ".join(f"{row.get(c, ''):>{cells[c]}}"
                                                      for c in columns))
    lines.append("cells: median per call ±spread (interquartile range / median), then the "
                 "ratio to hand-written NumPy (CuPy on the GPU); lower is faster")
    return "\n".join(lines)


# --- charts ---------------------------------------------------------------------------------


def charts(report: dict, stem: str) -> list:
    """A PNG bar chart per family (``<stem>-<family>.png``); [] when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    families = dict.fromkeys(w["family"] for w in report["workloads"])
    for family in families:
        workloads = [w for w in report["workloads"] if w["family"] == family]
        columns = list(COLUMNS) + [c for c in dict.fromkeys(
            r["column"] for w in workloads for r in w["results"]) if c not in COLUMNS]
        medians = [r["median_us"] for w in workloads for r in w["results"]]
        unit, scale = ("ms", 1e3) if max(medians) >= 1e4 else ("µs", 1.0)
        log = max(medians) / max(min(medians), 1e-9) > 20
        height = max(2.5, 0.45 * sum(len(w["results"]) for w in workloads) + 1.2)
        fig, ax = plt.subplots(figsize=(11, height))
        bar = 0.8 / max(1, max(len(w["results"]) for w in workloads))
        colors = plt.get_cmap("tab10")
        for wi, w in enumerate(workloads):
            for ri, r in enumerate(w["results"]):
                y = wi + (ri - (len(w["results"]) - 1) / 2) * bar
                color = colors(columns.index(r["column"]) % 10)  # one color per column
                value = r["median_us"] / scale
                err = [[value - r["q1_us"] / scale], [r["q3_us"] / scale - value]]
                ax.barh(y, value, height=bar * 0.9, color=color, xerr=err, capsize=2,
                        label=LEGEND.get(r["column"], r["column"]))
                label = _time_text(r["median_us"])
                if r["ratio_vs_numpy"] is not None and r["column"] != "NumPy":
                    label += f"  ({r['ratio_vs_numpy']:.2f}x NumPy)"
                ax.text(r["q3_us"] / scale, y, "  " + label, va="center", fontsize=7)
        ax.set_yticks(range(len(workloads)))
        ax.set_yticklabels([w["name"] for w in workloads])
        ax.invert_yaxis()
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(f"median time per call ({unit}{', log scale' if log else ''}; "
                      "whiskers: interquartile range)")
        ax.set_ylabel("workload")
        ax.set_title(f"{FAMILIES.get(family, family)}\n{report['host']}, {report['date'][:10]}"
                     f"{', --quick' if report['quick'] else ''}", fontsize=10)
        left, right = ax.get_xlim()
        ax.set_xlim(left, right * (25 if log else 1.6))  # room for the value labels
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=7, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), title="implementation", title_fontsize=7)
        fig.tight_layout()
        path = f"{stem}-{family}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


# --- main -----------------------------------------------------------------------------------


def main(argv: list | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats and smaller shapes (under a minute)")
    parser.add_argument("--only", help="comma-separated workloads or families, glob patterns "
                        "allowed: eager_vs_graph, control_flow/loop, '*mlp*'")
    parser.add_argument("--repeats", type=int, help="samples per implementation (overrides "
                        "each workload's default)")
    parser.add_argument("--out", default=RESULTS, help="folder for the JSON and charts "
                        "(default: bench/results)")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG charts")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = parser.parse_args(argv)
    has_gpu = any(d.kind == "GPU" for d in aj.list_devices())
    chosen, skipped = select(args.only, args.quick, has_gpu)
    if args.list:
        for w in WORKLOADS:
            print(f"{w.key:<28} {w.title}{'  [GPU]' if w.gpu else ''}")
        return {}
    if not chosen:
        parser.error(f"--only {args.only!r} matches no workload here; see --list")
    now = datetime.datetime.now(datetime.timezone.utc)
    host = socket.gethostname().split(".")[0] or "host"
    report = {"schema": SCHEMA, "date": now.isoformat(timespec="seconds"), "host": host,
              "quick": args.quick, "command": " ".join(["python -m bench", *(argv or
                                                        sys.argv[1:])]),
              "environment": environment(has_gpu), "workloads": [],
              "skipped": [{"workload": k, "reason": why} for k, why in skipped]}
    print(f"autojit {aj.__version__} benchmarks on {host}: Python {report['environment']['python']}"
          f", NumPy {np.__version__}, BLAS threads {report['environment']['blas_threads']}"
          f"{', GPU ' + report['environment']['gpu'] if has_gpu else ''}", flush=True)
    for w in chosen:
        print(f"  {w.key} ...", end=" ", flush=True)
        try:
            result = run_workload(w, args.quick, args.repeats)
        except Exception as exc:  # one broken workload is reported, not fatal
            print(f"failed: {type(exc).__name__}: {exc}", flush=True)
            report["skipped"].append({"workload": w.key,
                                      "reason": f"failed: {type(exc).__name__}: {exc}"})
            continue
        report["workloads"].append(result)
        print(f"{result['seconds']:.1f} s", flush=True)
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"{now:%Y-%m-%d}-{host}")
    report["charts"] = [] if args.no_chart or not report["workloads"] else [
        os.path.basename(p) for p in charts(report, stem)]
    with open(stem + ".json", "w") as f:
        json.dump(report, f, indent=1)
    print()
    if report["workloads"]:
        print(table(report))
    for s in report["skipped"]:
        print(f"skipped {s['workload']}: {s['reason']}")
    print(f"wrote {stem}.json" + "".join(f", {os.path.join(args.out, c)}"
                                          for c in report["charts"]))
    if not args.no_chart and not report["charts"] and report["workloads"]:
        print("no charts: matplotlib is not installed (pip install -e .[bench])")
    return report


if __name__ == "__main__":
    main()
