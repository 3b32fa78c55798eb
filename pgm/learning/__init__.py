"""Maximum-likelihood learning: gradient = E_data[stats] - E_model[stats].

The model term comes from exact enumeration, CD-k or PCD Gibbs chains; the
data term from the data itself (fully visible) or with hidden variables
summed out exactly or by mean-field. See :mod:`pgm.learning.gradient`.
"""

from pgm.learning.gradient import (
    ContrastiveDivergence,
    ExactModelStatistics,
    PersistentContrastiveDivergence,
    data_statistics,
    log_likelihood_gradient,
    product_statistics,
)
from pgm.learning.train import SGD, fit

__all__ = [
    "log_likelihood_gradient",
    "data_statistics",
    "product_statistics",
    "ExactModelStatistics",
    "ContrastiveDivergence",
    "PersistentContrastiveDivergence",
    "SGD",
    "fit",
]
