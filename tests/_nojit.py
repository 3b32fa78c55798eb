"""Run a snippet of Python with Numba's JIT off, as the kernels' plain-Python twins."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_without_jit(code: str, timeout: float = 120) -> list[str]:
    """Run ``code`` in a fresh interpreter (``NUMBA_DISABLE_JIT=1``, warnings as errors,
    this checkout first on the path); return its stdout lines. Fails if the snippet does."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=True,
    )  # fmt: skip
    return done.stdout.splitlines()
