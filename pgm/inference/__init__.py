"""Inference on factor graphs: exact (enumeration, junction tree), Gibbs, mean-field, AIS.

Import the submodules by name: ``from pgm.inference import exact, gibbs,
mean_field, ais, diagnostics, junction_tree``.
"""

__all__ = ["exact", "gibbs", "mean_field", "ais", "diagnostics", "tempering", "junction_tree"]
