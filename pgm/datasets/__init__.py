"""Datasets: MNIST loaders (checksummed, cached) and small embedded data.

``load_mnist`` and ``load_binarized_mnist`` search ``path``, then the
``PGM_DATA_DIR`` environment variable, then ``~/.cache/pgm``; see
:func:`find_data_dir`.
"""

from pgm.datasets.horses import horse_node_features, load_weizmann_horses
from pgm.datasets.mnist import find_data_dir, load_binarized_mnist, load_mnist
from pgm.datasets.small import (
    bars_and_stripes,
    bars_and_stripes_log_likelihood_ceiling,
    load_digits,
)

__all__ = [
    "load_weizmann_horses",
    "horse_node_features",
    "load_mnist",
    "load_binarized_mnist",
    "find_data_dir",
    "load_digits",
    "bars_and_stripes",
    "bars_and_stripes_log_likelihood_ceiling",
]
