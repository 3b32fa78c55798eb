"""pgm: energy-based undirected graphical models.

One core, a factor graph defining an energy ``E(x)`` with
``p(x) = exp(-E(x)) / Z``, carries every model. See ``pgm.FactorGraph``.
"""

from pgm._validation import NotFittedError
from pgm.compiled import CompiledGraph
from pgm.graph import FactorGraph, VariableGroup
from pgm import inference, models  # noqa: E402  (submodules as attributes of pgm)

__all__ = ["FactorGraph", "VariableGroup", "CompiledGraph", "NotFittedError", "__version__"]
__version__ = "0.1.0"
