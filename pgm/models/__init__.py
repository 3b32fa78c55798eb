"""Specialised models built on the factor-graph core."""

from pgm.models.crf import CRF, grid_edges
from pgm.models.dbm import DBM
from pgm.models.dbn import DBN
from pgm.models.rbm import RBM
from pgm.models.shape_prior import ShapePriorCRF

__all__ = ["RBM", "DBM", "DBN", "CRF", "grid_edges", "ShapePriorCRF"]
