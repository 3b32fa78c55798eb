"""Specialised models built on the factor-graph core."""

from pgm.models.rbm import RBM

__all__ = ["RBM"]
