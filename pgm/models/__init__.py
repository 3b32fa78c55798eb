"""Specialised models built on the factor-graph core."""

from pgm.models.rbm import RBM
from pgm.models.dbm import DBM

__all__ = ["RBM", "DBM"]
