"""An RBM prior trained on clean shapes restores a corrupted one (exact inference, 4x4)."""

import numpy as np

from pgm.models import ShapePriorCRF, grid_edges
from pgm.models.shape_prior import train_softmax_rbm

SIDE = 4
# two shapes eight pixels apart: the left half and the top half of a 4x4 image
LEFT = np.zeros((SIDE, SIDE), dtype=np.int64)
LEFT[:, :2] = 1
TOP = np.zeros((SIDE, SIDE), dtype=np.int64)
TOP[:2, :] = 1
LEFT, TOP = LEFT.ravel(), TOP.ravel()
# three pixels of LEFT flipped; the result is 3 away from LEFT and 5 away from TOP
FLIPS = [4 * 0 + 2, 4 * 1 + 3, 4 * 3 + 1]  # each one moves the image towards TOP
EPS = 0.2  # flip probability of the noise channel


def _corrupted():
    y = LEFT.copy()
    y[FLIPS] = 1 - y[FLIPS]
    return y


def _example(noisy):
    """Features [1, 2*noisy - 1]; unary weights [[0, 0], [0, L]]: the channel's log-odds."""
    feats = np.column_stack([np.ones(noisy.size), 2.0 * noisy - 1.0])
    return (feats, grid_edges(SIDE, SIDE))


def _model(rbm):
    w, b, c = rbm
    u = np.array([[0.0, 0.0], [0.0, np.log((1 - EPS) / EPS)]])
    return ShapePriorCRF.from_parameters(
        u, np.zeros((2, 2)), w, c, np.eye(SIDE * SIDE), visible_bias=b, pairwise="potts"
    )


def _train_rbm(clean, seed=0):
    maps = np.eye(2)[clean]  # identity projection: the virtual grid is the image grid
    # CD-1: with two far-apart modes and ten persistent chains, PCD lost one mode for 3 of
    # 10 seeds (its chains sat in the other), CD-1 learnt both for all 10 seeds tried
    return train_softmax_rbm(
        maps, 2, 4, method="cd", n_epochs=100, learning_rate=0.1, batch_size=10, seed=seed
    )


def test_rbm_prior_restores_corrupted_shape():
    noisy = _corrupted()
    x = _example(noisy)
    assert np.sum(noisy != LEFT) == 3 and np.sum(noisy != TOP) == 5
    model = _model(_train_rbm(np.array([LEFT] * 50 + [TOP] * 50), seed=0))
    q, _ = model.exact_conditional(x)  # 2**16 labellings enumerated, h summed out
    restored = np.argmax(q, axis=1)
    unary_only = np.argmax(x[0] @ model.unary_weights_.T, axis=1)
    np.testing.assert_array_equal(unary_only, noisy)  # the unary alone keeps every flip
    # the prior removes all three errors, and does so with confidence on the flipped pixels
    np.testing.assert_array_equal(restored, LEFT)
    assert np.all(q[FLIPS, LEFT[FLIPS]] > 0.7)
    # and the mean-field decoding used on real images reaches the same labelling here
    np.testing.assert_array_equal(model.predict([x])[0], LEFT)


def test_without_the_prior_nothing_is_restored():
    # power twin: the same model with the RBM's weights and biases zeroed is the unary
    # model alone (a uniform prior), so its exact marginals decode to the corrupted input
    w, b, c = _train_rbm(np.array([LEFT] * 50 + [TOP] * 50), seed=0)
    model = _model((np.zeros_like(w), np.zeros_like(b), np.zeros_like(c)))
    noisy = _corrupted()
    q, _ = model.exact_conditional(_example(noisy))
    np.testing.assert_array_equal(np.argmax(q, axis=1), noisy)
    # and a prior trained on the other shape only decodes the input as that shape
    other = _model(_train_rbm(np.array([TOP] * 100), seed=0))
    q, _ = other.exact_conditional(_example(noisy))
    np.testing.assert_array_equal(np.argmax(q, axis=1), TOP)
