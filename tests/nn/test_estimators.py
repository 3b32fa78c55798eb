"""pgm.nn.DeepClassifier and DeepAutoencoder: learning, pretrained starts, sklearn conventions."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from pgm.nn import DeepAutoencoder, DeepClassifier
from pgm.nn.estimators import _CHUNK_ROWS

sigmoid = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731  (plain formula: the reference)


def _xor(rng, n):
    """Four Gaussian clusters labelled by XOR of the signs: not linearly separable."""
    X = rng.normal(scale=0.25, size=(n, 2)) + rng.choice([-1.0, 1.0], size=(n, 2))
    y = np.where((X[:, 0] > 0) ^ (X[:, 1] > 0), "odd", "even")
    return X, y


def _stack(rng, sizes, scale=0.5):
    weights = [rng.normal(scale=scale, size=(a, b)) for a, b in zip(sizes, sizes[1:], strict=False)]
    hidden = [rng.normal(scale=scale, size=b) for b in sizes[1:]]
    visible = [rng.normal(scale=scale, size=a) for a in sizes[:-1]]
    return weights, hidden, visible


# ------------------------------------------------------------------ classifier
@pytest.mark.parametrize("optimizer", ["cg", "lbfgs", "sgd"])
def test_classifier_learns_xor(optimizer):
    rng = np.random.default_rng(0)
    X, y = _xor(rng, 200)
    X_test, y_test = _xor(rng, 400)
    params = {"sgd": {"learning_rate": 0.5, "batch_size": 20}, "cg": {}, "lbfgs": {}}[optimizer]
    clf = DeepClassifier(
        (8, 8), optimizer=optimizer, n_epochs=40, max_iter=10, random_state=1, **params
    ).fit(X, y)
    # Clusters 4 standard deviations apart: the Bayes error is ~3e-5, so a fitted net is
    # essentially perfect; 0.95 leaves room for a few boundary points.
    assert clf.score(X_test, y_test) >= 0.95
    assert list(clf.classes_) == ["even", "odd"]
    assert set(clf.predict(X_test)) <= {"even", "odd"}
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    # log(p) of a p within 1e-8 of 1 carries an absolute rounding error ~1e-16:
    # predict_log_proba (log-softmax) is the accurate one, compared with atol.
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X_test), rtol=1e-10, atol=1e-14)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_no_hidden_layer_cannot_learn_xor():
    """The power twin of the XOR test: a linear classifier stays near chance (0.5)."""
    rng = np.random.default_rng(0)
    X, y = _xor(rng, 200)
    X_test, y_test = _xor(rng, 400)
    clf = DeepClassifier((), optimizer="lbfgs", n_epochs=20, max_iter=10, random_state=1)
    assert clf.fit(X, y).score(X_test, y_test) < 0.75


def test_from_pretrained_keeps_the_given_weights():
    """With only the output layer trained, the hidden layers are the given sigmoid chain."""
    rng = np.random.default_rng(2)
    weights, biases, _ = _stack(rng, [5, 4, 3])
    X = rng.random((30, 5))
    y = rng.integers(0, 3, size=30)
    clf = DeepClassifier.from_pretrained(
        weights, biases, n_classes=3, n_epochs=3, output_only_epochs=3, random_state=0
    )
    assert clf.hidden_layer_sizes == (4, 3)
    clf.fit(X, y)
    for l in range(2):
        np.testing.assert_array_equal(clf.weights_[l], weights[l])
        np.testing.assert_array_equal(clf.biases_[l], biases[l])
    h = sigmoid(sigmoid(X @ weights[0] + biases[0]) @ weights[1] + biases[1])
    z = h @ clf.weights_[2] + clf.biases_[2]
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-12)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    # the inputs of from_pretrained are copies: editing them later changes nothing
    weights[0][...] = 0.0
    assert not np.array_equal(clf.init_weights[0], weights[0])


def test_from_pretrained_fine_tunes_every_layer_and_clone_keeps_the_start():
    rng = np.random.default_rng(3)
    weights, biases, _ = _stack(rng, [2, 6, 6])
    X, y = _xor(rng, 120)
    clf = DeepClassifier.from_pretrained(
        weights,
        biases,
        n_classes=None,
        optimizer="lbfgs",
        n_epochs=15,
        max_iter=10,
        random_state=4,
    )
    start = DeepClassifier.from_pretrained(weights, biases, n_epochs=0, random_state=4).fit(X, y)
    clf.fit(X, y)
    assert not np.array_equal(clf.weights_[0], weights[0])  # fine-tuned ...
    np.testing.assert_array_equal(clf.init_weights[0], weights[0])  # ... from an unchanged init
    # n_epochs=0: the pretrained layers plus the same random output layer, untrained
    np.testing.assert_array_equal(start.weights_[0], weights[0])
    assert start.n_iter_ == 0
    twin = clone(clf)
    for a, b in zip(twin.init_weights, clf.init_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    twin.fit(X, y)  # same pretrained start and seed: the same fine-tuned network
    np.testing.assert_array_equal(twin.network_.theta, clf.network_.theta)
    refit = clf.fit(X, y)  # refitting restarts from init_weights, not from the last fit
    np.testing.assert_array_equal(refit.network_.theta, twin.network_.theta)


def test_classes_cover_labels_missing_from_y():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20, 3))
    y = rng.integers(0, 2, size=20)
    clf = DeepClassifier((4,), classes=[0, 1, 2], n_epochs=2, random_state=0).fit(X, y)
    assert clf.predict_proba(X).shape == (20, 3)
    with pytest.raises(ValueError, match=r"y holds labels \[7\] that are not in classes"):
        DeepClassifier((4,), classes=[0, 1, 2], n_epochs=1).fit(X, np.r_[y[:-1], 7])


def test_predictions_are_chunked_consistently():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(_CHUNK_ROWS + 5, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = DeepClassifier((3,), n_epochs=1, batch_size=_CHUNK_ROWS + 5, random_state=0).fit(X, y)
    whole = clf.network_.predict(X)
    np.testing.assert_allclose(clf.predict_proba(X), whole, rtol=1e-13)


def test_float32_classifier():
    rng = np.random.default_rng(7)
    X, y = _xor(rng, 100)
    clf = DeepClassifier(
        (8,), dtype=np.float32, optimizer="lbfgs", n_epochs=20, max_iter=10, random_state=0
    ).fit(X, y)
    assert clf.network_.theta.dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32
    assert clf.score(X, y) >= 0.95


# ----------------------------------------------------------------- autoencoder
def test_autoencoder_unrolls_the_stack():
    """Encoder W_l with up-pass biases, decoder W_l^T with the visible biases, top down."""
    rng = np.random.default_rng(8)
    weights, hidden, visible = _stack(rng, [6, 4, 3, 2])
    X = rng.random((25, 6))
    ae = DeepAutoencoder.from_pretrained(weights, hidden, visible, n_epochs=0).fit(X)
    assert ae.hidden_layer_sizes == (4, 3, 2)
    assert ae.network_.layer_sizes == (6, 4, 3, 2, 3, 4, 6)
    for l in range(3):
        np.testing.assert_array_equal(ae.weights_[l], weights[l])
        np.testing.assert_array_equal(ae.biases_[l], hidden[l])
        np.testing.assert_array_equal(ae.weights_[5 - l], weights[l].T)
        np.testing.assert_array_equal(ae.biases_[5 - l], visible[l])
    h1 = sigmoid(X @ weights[0] + hidden[0])
    h2 = sigmoid(h1 @ weights[1] + hidden[1])
    code = h2 @ weights[2] + hidden[2]  # linear code layer
    d2 = sigmoid(code @ weights[2].T + visible[2])
    d1 = sigmoid(d2 @ weights[1].T + visible[1])
    recon = sigmoid(d1 @ weights[0].T + visible[0])
    np.testing.assert_allclose(ae.transform(X), code, rtol=1e-12)
    np.testing.assert_allclose(ae.inverse_transform(code), recon, rtol=1e-12)
    expected_error = np.mean(np.sum((X - recon) ** 2, axis=1))
    np.testing.assert_allclose(ae.reconstruction_error(X), expected_error, rtol=1e-12)
    np.testing.assert_allclose(ae.score(X), -expected_error, rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["cg", "lbfgs", "sgd"])
def test_autoencoder_fine_tuning_lowers_the_error(optimizer):
    """Two prototypes plus pixel noise: a 1-unit code can separate them."""
    rng = np.random.default_rng(9)
    protos = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=float)
    X = np.clip(protos[rng.integers(0, 2, 60)] + rng.normal(scale=0.05, size=(60, 6)), 0, 1)
    weights, hidden, visible = _stack(rng, [6, 4, 1], scale=0.1)
    start = DeepAutoencoder.from_pretrained(weights, hidden, visible, n_epochs=0).fit(X)
    if optimizer == "sgd":  # SGD leaves the plateau of small weights after ~40 epochs
        params = {"learning_rate": 0.5, "batch_size": 10, "n_epochs": 100}
    else:
        params = {"max_iter": 10, "n_epochs": 30}
    ae = DeepAutoencoder.from_pretrained(
        weights, hidden, visible, optimizer=optimizer, random_state=0, **params
    ).fit(X)
    # From ~1.5 (each pixel reconstructed near 0.5) to well under a tenth of it.
    assert ae.reconstruction_error(X) < 0.1 * start.reconstruction_error(X)


def test_autoencoder_from_random_weights_and_linear_output():
    rng = np.random.default_rng(10)
    protos = rng.normal(size=(2, 5))
    X = protos[rng.integers(0, 2, 40)] + rng.normal(scale=0.05, size=(40, 5))
    ae = DeepAutoencoder(
        (4, 1),
        output_activation="linear",
        optimizer="cg",
        n_epochs=20,
        max_iter=10,
        random_state=0,
    ).fit(X)
    assert ae.network_.activations == ("sigmoid", "linear", "sigmoid", "linear")
    assert ae.transform(X).shape == (40, 1)
    # total variance ~ |p0 - p1|^2 / 4 ~ 2.5 per row; the code captures the cluster
    assert ae.reconstruction_error(X) < 0.1 * np.sum(np.var(X, axis=0))


# ------------------------------------------------------------- sklearn checks
@parametrize_with_checks(
    [
        DeepClassifier((4,), n_epochs=3, random_state=0),
        DeepAutoencoder((3, 2), output_activation="linear", n_epochs=2, random_state=0),
    ]
)
def test_sklearn_compatible(estimator, check):
    """scikit-learn's estimator checks.

    The autoencoder runs them with a linear output: the checks feed data
    outside [0, 1], which the default sigmoid output (Bernoulli cross-entropy)
    refuses by design; the rest of the class is the same code.
    """
    check(estimator)


def test_get_params_and_clone_of_pretrained():
    rng = np.random.default_rng(11)
    weights, hidden, visible = _stack(rng, [4, 3, 2])
    ae = DeepAutoencoder.from_pretrained(weights, hidden, visible, n_epochs=4)
    params = ae.get_params()
    assert params["hidden_layer_sizes"] == (3, 2) and params["n_epochs"] == 4
    twin = clone(ae)
    for name in ("init_weights", "init_hidden_biases", "init_visible_biases"):
        for a, b in zip(getattr(twin, name), params[name], strict=True):
            np.testing.assert_array_equal(a, b)
    clf = DeepClassifier().set_params(hidden_layer_sizes=(3,), optimizer="sgd")
    assert clf.get_params()["optimizer"] == "sgd"


# -------------------------------------------------------------------- bad input
@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba", "score"])
def test_classifier_unfitted(method):
    from pgm import NotFittedError

    args = (np.zeros((2, 3)),) + ((np.zeros(2),) if method == "score" else ())
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(DeepClassifier(), method)(*args)


@pytest.mark.parametrize(
    "method", ["transform", "inverse_transform", "reconstruction_error", "score"]
)
def test_autoencoder_unfitted(method):
    from pgm import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(DeepAutoencoder(), method)(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        (
            {"hidden_layer_sizes": (4, 0)},
            ValueError,
            r"hidden_layer_sizes\[1\] must be an integer >= 1",
        ),
        ({"hidden_layer_sizes": (-3,)}, ValueError, r"hidden_layer_sizes\[0\]"),
        ({"hidden_layer_sizes": (2.5,)}, ValueError, r"hidden_layer_sizes\[0\]"),
        ({"hidden_layer_sizes": 5}, TypeError, "hidden_layer_sizes must be a sequence"),
        ({"optimizer": "adam"}, ValueError, "optimizer must be one of"),
        ({"n_epochs": -1}, ValueError, "n_epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"momentum": 1.5}, ValueError, "momentum"),
        ({"weight_decay": -0.1}, ValueError, "weight_decay"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate"),
        ({"learning_rate_schedule": "cosine"}, ValueError, "learning_rate_schedule must be one"),
        ({"learning_rate_schedule": 0.5}, ValueError, "learning_rate_schedule must be a str"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"output_only_epochs": 5, "n_epochs": 2}, ValueError, "output_only_epochs"),
        ({"dtype": "int8"}, ValueError, "dtype"),
        ({"random_state": "x"}, ValueError, "random_state"),
    ],
)
def test_classifier_bad_hyper_parameters(params, error, match):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 3)), np.arange(10) % 2
    with pytest.raises(error, match=match):
        DeepClassifier(**{"hidden_layer_sizes": (3,), **params}).fit(X, y)


def test_classifier_bad_data_and_refused_calls_change_nothing():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(10, 3)), np.arange(10) % 2
    clf = DeepClassifier((3,), n_epochs=1, random_state=0).fit(X, y)
    network = clf.network_
    theta = network.theta.copy()
    bad_X = X.copy()
    bad_X[0, 0] = np.nan
    cases = [
        (lambda: clf.fit(bad_X, y), ValueError, "X must be finite"),
        (lambda: clf.fit(X, y[:-1]), ValueError, "y has 9 labels, but X has 10 rows"),
        (lambda: clf.fit(X, np.zeros(10)), ValueError, "only one class"),
        (lambda: clf.fit(X, None), ValueError, "requires y"),
        (lambda: clf.fit(X[:, :, None], y), ValueError, "2-dimensional"),
        (lambda: clf.fit(X + 1j, y), ValueError, "Complex data not supported"),
        (lambda: clf.predict(X[:, :2]), ValueError, "X has 2 features, but DeepClassifier is"),
        (lambda: clf.predict(bad_X), ValueError, "X must be finite"),
        (lambda: clf.set_params(optimizer="nope").fit(X, y), ValueError, "optimizer"),
    ]
    for call, error, match in cases:
        with pytest.raises(error, match=match):
            call()
        assert clf.network_ is network
        np.testing.assert_array_equal(network.theta, theta)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((np.zeros((3, 2)), [np.zeros(2)]), TypeError, "weights must be a list or tuple"),
        (([np.zeros((3, 2))], np.zeros(2)), TypeError, "biases must be a list or tuple"),
        (
            ([np.zeros((3, 2)), np.zeros((3, 4))], [np.zeros(2), np.zeros(4)]),
            ValueError,
            r"weights\[1\] must have 2 rows",
        ),
        (([np.zeros((3, 2))], [np.zeros(3)]), ValueError, r"biases\[0\] must have shape \(2,\)"),
        (([np.zeros((3, 2))], [np.zeros(3), np.zeros(2)]), ValueError, "no input bias"),
        (([np.full((3, 2), np.inf)], [np.zeros(2)]), ValueError, r"weights\[0\] must be finite"),
        (([np.zeros((3, 0))], [np.zeros(0)]), ValueError, "nonzero dimensions"),
    ],
)
def test_classifier_from_pretrained_bad_weights(args, error, match):
    with pytest.raises(error, match=match):
        DeepClassifier.from_pretrained(*args)


def test_from_pretrained_bad_arguments():
    w, b = [np.zeros((3, 2))], [np.zeros(2)]
    with pytest.raises(ValueError, match="n_classes"):
        DeepClassifier.from_pretrained(w, b, n_classes=1)
    with pytest.raises(ValueError, match="disagrees with classes"):
        DeepClassifier.from_pretrained(w, b, n_classes=3, classes=["a", "b"])
    with pytest.raises(ValueError, match="disagrees with the widths"):
        DeepClassifier.from_pretrained(w, b, hidden_layer_sizes=(5,))
    with pytest.raises(TypeError, match="sets init_weights itself"):
        DeepClassifier.from_pretrained(w, b, init_weights=w)
    clf = DeepClassifier.from_pretrained(w, b, n_epochs=1)
    with pytest.raises(ValueError, match=r"X has 4 features, but init_weights\[0\] has 3 rows"):
        clf.fit(np.zeros((4, 4)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="hidden_layer_sizes is"):
        clf.set_params(hidden_layer_sizes=(7,)).fit(np.zeros((4, 3)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="given together"):
        DeepClassifier((2,), init_weights=w).fit(np.zeros((4, 3)), [0, 1, 0, 1])


def test_autoencoder_bad_input():
    rng = np.random.default_rng(12)
    weights, hidden, visible = _stack(rng, [4, 3, 2])
    with pytest.raises(ValueError, match=r"visible_biases\[1\] must have shape \(3,\)"):
        DeepAutoencoder.from_pretrained(weights, hidden, [visible[0], np.zeros(2)])
    with pytest.raises(ValueError, match="visible_biases must hold one bias vector"):
        DeepAutoencoder.from_pretrained(weights, hidden, visible[:1])
    with pytest.raises(TypeError, match="visible_biases must be a list"):
        DeepAutoencoder.from_pretrained(weights, hidden, np.zeros(4))
    with pytest.raises(ValueError, match=r"hidden_biases\[0\] must have shape \(3,\)"):
        DeepAutoencoder.from_pretrained(weights, [np.zeros(4), hidden[1]], visible)
    with pytest.raises(ValueError, match="hidden_layer_sizes must hold at least 1"):
        DeepAutoencoder(()).fit(rng.random((5, 4)))
    with pytest.raises(ValueError, match=r"X must have values in \[0, 1\]"):
        DeepAutoencoder((2,), n_epochs=1).fit(rng.normal(size=(5, 4)))
    ae = DeepAutoencoder.from_pretrained(weights, hidden, visible, n_epochs=0).fit(
        rng.random((5, 4))
    )
    with pytest.raises(ValueError, match="code has 3 features, but the decoder is expecting 2"):
        ae.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="X has 5 features, but DeepAutoencoder is expecting 4"):
        ae.transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="X must be finite"):
        ae.reconstruction_error(np.full((2, 4), np.nan))


def test_verbose_progress_bar(capsys):
    rng = np.random.default_rng(13)
    X, y = _xor(rng, 20)
    DeepClassifier((3,), n_epochs=2, output_only_epochs=1, verbose=True, random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert "DeepClassifier" in err and "2/2" in err
