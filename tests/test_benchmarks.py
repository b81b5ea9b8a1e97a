"""The benchmark script runs end to end (a smoke run on tiny sizes; nothing is timed here)."""

import os
import subprocess
import sys
from pathlib import Path

from skreg._engines import compiled_engine

ROOT = Path(__file__).resolve().parent.parent
HEADINGS = (
    "### First fit, new process",
    "### W1: reference workload",
    "### W1 with each option",
    "### The mission's workload: GridSearchCV",
    "### W2: large data",
    "### P: predict_proba",
    "### Serving: predict_proba on one row",
    "### Threads, W2",
    "### Memory",
)


def test_quick_benchmark_run_writes_a_table(tmp_path):
    output = tmp_path / "RESULTS.md"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--output", str(output)],
        env=environment, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    table = output.read_text()
    for heading in HEADINGS:
        assert heading in table
    engines = ["compiled", "numpy"] if compiled_engine() else ["numpy"]
    for engine in engines:
        assert f"| skreg, engine='{engine}' |" in table
    assert "| MLPClassifier (same algorithm) |" in table
    assert "| --- |" in table and "### Memory" in table
    assert "| the matrix products alone, single-threaded BLAS on each thread, 1 thread |" in table
    assert "| skreg GridSearchCV, engine='auto', n_jobs=1 |" in table
    assert "| contender | median s | all runs s | ratio | target |" in table
    assert "numba" not in table.lower() and "cold start" not in table.lower()
