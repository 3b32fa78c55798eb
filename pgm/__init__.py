"""pgm: energy-based undirected graphical models.

One core, a factor graph defining an energy ``E(x)`` with
``p(x) = exp(-E(x)) / Z``, carries every model. See ``pgm.FactorGraph``.

Compiled kernels
----------------
The Numba kernels are compiled on first use (about 10 s the first time) and
cached on disk. Unless ``NUMBA_CACHE_DIR`` is already set, the cache lives in
``$XDG_CACHE_HOME/pgm/numba`` (``~/.cache/pgm/numba`` by default), never inside
the installed package, so that reinstalling (for example a regular install
followed by an editable one) leaves no stale files in ``site-packages``.
Set ``NUMBA_CACHE_DIR`` before importing ``pgm`` to choose another place.
"""

import os as _os


def _default_numba_cache_dir() -> str:
    base = _os.environ.get("XDG_CACHE_HOME") or _os.path.join(_os.path.expanduser("~"), ".cache")
    return _os.path.join(base, "pgm", "numba")


# Must run before anything imports numba: numba reads the variable once, at import.
if not _os.environ.get("NUMBA_CACHE_DIR"):
    _os.environ["NUMBA_CACHE_DIR"] = _default_numba_cache_dir()

from pgm import inference, models  # noqa: E402  (submodules as attributes of pgm)
from pgm._validation import NotFittedError  # noqa: E402
from pgm.compiled import CompiledGraph  # noqa: E402
from pgm.graph import FactorGraph, VariableGroup  # noqa: E402

__all__ = [
    "FactorGraph",
    "VariableGroup",
    "CompiledGraph",
    "NotFittedError",
    "inference",
    "models",
    "__version__",
]
__version__ = "0.1.0"
