"""A small feed-forward network on numpy: backprop, minibatch optimisers, two estimators.

* :class:`Network`: dense layers (sigmoid or linear hidden units; softmax,
  sigmoid or linear output with the matching cross-entropy or squared-error
  loss; L2 weight decay), forward pass, loss and gradient by backpropagation,
  and a flat parameter vector for :mod:`scipy.optimize`.
* :mod:`pgm.nn.optim`: momentum SGD, and conjugate gradients / L-BFGS with a
  few line searches per large minibatch (Hinton & Salakhutdinov 2006).
* :class:`DeepClassifier`, :class:`DeepAutoencoder`: scikit-learn estimators
  that fine-tune a DBN's weights (``from_pretrained``) or train from random
  weights.
"""

from pgm.nn import optim
from pgm.nn.estimators import DeepAutoencoder, DeepClassifier
from pgm.nn.network import Network

__all__ = ["Network", "DeepClassifier", "DeepAutoencoder", "optim"]
