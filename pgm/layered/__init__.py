"""The layered engine: layers of units joined by dense weight blocks.

Every layered model (RBM, DBM, a DBN's top level, the shape prior's RBM)
shares this engine. :mod:`pgm.layered._kernels` holds the fused Numba
kernels (vectorised logistic, counter-based generator, sparse visible path).
"""

__all__: list[str] = []
