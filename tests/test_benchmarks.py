"""The benchmark script runs end to end (a smoke run on tiny sizes; nothing is timed here)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_run_writes_a_table(tmp_path):
    output = tmp_path / "RESULTS.md"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--output", str(output)],
        env=environment, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    table = output.read_text()
    for heading in ("### W1: reference workload", "### W2: large data", "### P: predict_proba"):
        assert heading in table
    assert "| skreg, engine='numpy' |" in table
    assert "| MLPClassifier (same algorithm) |" in table
    assert "| --- |" in table and "### Memory" in table
    assert "| the matrix products alone, single-threaded BLAS on each thread, 1 thread |" in table
