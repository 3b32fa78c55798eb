"""pgm: energy-based undirected graphical models.

One core, a factor graph defining an energy ``E(x)`` with
``p(x) = exp(-E(x)) / Z``, carries every model. See ``pgm.FactorGraph``.
"""

from pgm import inference, models  # submodules as attributes of pgm
from pgm._validation import NotFittedError
from pgm.compiled import CompiledGraph
from pgm.graph import FactorGraph, VariableGroup

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
