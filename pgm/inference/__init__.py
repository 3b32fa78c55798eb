"""Inference on factor graphs: exact enumeration, Gibbs sampling, mean-field, AIS.

Import the submodules by name: ``from pgm.inference import exact, gibbs,
mean_field, ais, diagnostics``.
"""

__all__ = ["exact", "gibbs", "mean_field", "ais", "diagnostics", "tempering", "belief_propagation"]
