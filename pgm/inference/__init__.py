"""Inference on factor graphs: exact (enumeration, junction tree), Gibbs, tempering, mean-field,
belief propagation, AIS.

Import the submodules by name: ``from pgm.inference import exact, junction_tree, gibbs,
tempering, mean_field, belief_propagation, ais, diagnostics``.
"""

__all__ = [
    "exact",
    "junction_tree",
    "gibbs",
    "tempering",
    "mean_field",
    "belief_propagation",
    "ais",
    "diagnostics",
]
