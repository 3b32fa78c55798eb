"""Shared helpers for the benchmark scripts: machine description, timing, reports.

Kept small and general: every ``benchmarks/bench_*.py`` imports it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

__all__ = [
    "PGMPY_GRID_MODEL",
    "cpu_model",
    "machine_info",
    "machine_markdown",
    "timeit",
    "run_isolated",
    "write_report",
    "publish",
    "fmt_ms",
]

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"

#: Source lines, for a pgmpy subprocess script, that build the binary grid model
#: ``E = -sum b_i x_i - sum w_ij x_i x_j`` from arrays ``edges``, ``weights`` and
#: ``bias`` (with ``np``, ``MarkovNetwork`` and ``DiscreteFactor`` imported): sets
#: ``names``, ``factors`` and ``model``. Shared by bench_exact and bench_junction_tree.
PGMPY_GRID_MODEL = """names = [f"x{i}" for i in range(bias.shape[0])]
model = MarkovNetwork()
model.add_nodes_from(names)
model.add_edges_from([(names[i], names[j]) for i, j in edges])
factors = [DiscreteFactor([names[i]], [2], np.exp([0.0, b])) for i, b in enumerate(bias)]
factors += [DiscreteFactor([names[i], names[j]], [2, 2], np.exp([0.0, 0.0, 0.0, w]))
            for (i, j), w in zip(edges, weights)]
model.add_factors(*factors)
"""


def git_commit() -> str:
    """The checked-out commit (short hash, ``+`` when the tree has changes), or ``?``."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
    except OSError:
        return "?"
    return (head + ("+" if dirty else "")) or "?"


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info() -> dict:
    """CPU model, core count, OS, Python, numpy and numba versions, and thread setting."""
    cpu = cpu_model()
    try:
        import numba

        numba_version, threads = numba.__version__, numba.config.NUMBA_NUM_THREADS
    except ImportError:  # pragma: no cover
        numba_version, threads = "not installed", 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "numba_threads": threads,
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba_version,
        "load average (1 min) at start": round(os.getloadavg()[0], 2),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machine_markdown(info: dict | None = None) -> str:
    """The machine as a short markdown list."""
    info = machine_info() if info is None else info
    return "\n".join(f"- {key}: {value}" for key, value in info.items())


def timeit(fn, *, repeats: int = 7, warmup: int = 1) -> dict:
    """Call ``fn()`` ``warmup`` times untimed (JIT), then ``repeats`` times.

    Returns ``{"median": s, "min": s, "times": [...], "result": last result}``
    with times in seconds (``time.perf_counter``).
    """
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return {
        "median": float(np.median(times)),
        "min": float(np.min(times)),
        "times": times,
        "result": result,
    }


def run_isolated(code: str, *, timeout: float, args: tuple = ()) -> dict | None:
    """Run ``code`` in a fresh interpreter; it must print one JSON object last.

    Returns the decoded object, or ``None`` when it exceeded ``timeout``
    seconds (the process is killed) or failed (``{"error": stderr tail}``).
    """
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt_ms(seconds: float | None, limit: float | None = None) -> str:
    """Seconds as milliseconds text; ``None`` means it ran past ``limit``."""
    if seconds is None:
        return f"> {limit:g} s (killed)" if limit is not None else "n/a"
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def write_report(name: str, title: str, body: str, info: dict | None = None) -> Path:
    """Write ``docs/benchmarks/<name>.md``: title, the machine, then ``body``."""
    DOCS.mkdir(parents=True, exist_ok=True)
    path = DOCS / f"{name}.md"
    text = f"# {title}\n\n## Machine\n\n{machine_markdown(info)}\n\n{body.strip()}\n"
    path.write_text(text)
    return path


def publish(text: str, out: str | Path) -> str:
    """Print a finished markdown report and write it to ``out`` (folders created)."""
    print(text)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return text
