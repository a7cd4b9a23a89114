"""bench/python/run.py still runs (tiny counts, correctness only: the
workloads assert they saw every event; no timing is checked)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_bench_runs(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "bindings", "python", "src")
    out = tmp_path / "bench.md"
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "python", "run.py"),
                        "--rounds", "1", "--scale", "0.01", "--out", str(out)],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    text = out.read_text()
    for name in ("ring", "burst", "sel-ring", "sel-burst", "echo", "SwiftPollSelector.select(0)"):
        assert name in text
