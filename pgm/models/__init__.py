"""Specialised models built on the factor-graph core."""

from pgm.models.crf import CRF, grid_edges
from pgm.models.rbm import RBM

__all__ = ["RBM", "CRF", "grid_edges"]
