"""pgm.nn estimators: save/load (.npz, checked), partial_fit, and resuming training exactly."""

import json

import numpy as np
import pytest

from pgm._validation import NotFittedError
from pgm.learning.schedules import LinearDecay
from pgm.nn import DeepAutoencoder, DeepClassifier, Network, optim
from tests.nn.test_estimators import _stack, _xor


def _binary(rng, n, d=6):
    """Two prototypes with 10% flipped pixels: data in [0, 1] for the sigmoid output."""
    protos = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=float)[:, :d]
    X = protos[rng.integers(0, 2, size=n)]
    flip = rng.random(X.shape) < 0.1
    return np.where(flip, 1 - X, X)


def _same_params(a, b):
    pa, pb = a.get_params(deep=False), b.get_params(deep=False)
    assert set(pa) == set(pb)
    for name in pa:
        va, vb = pa[name], pb[name]
        if isinstance(va, tuple) and va and isinstance(va[0], np.ndarray):
            assert isinstance(vb, tuple) and len(va) == len(vb)
            for x, z in zip(va, vb, strict=True):
                assert x.dtype == z.dtype
                np.testing.assert_array_equal(x, z)
        elif isinstance(va, np.ndarray):
            assert isinstance(vb, np.ndarray)
            np.testing.assert_array_equal(va, vb)
        else:
            assert type(va) is type(vb) and va == vb, name


def _bitwise(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b), "arrays differ"


def _classifier_cases(rng):
    X, y = _xor(rng, 60)
    weights, hidden, _ = _stack(rng, [2, 5, 3])
    y3 = np.arange(60) % 3
    return [
        (DeepClassifier((4,), optimizer="sgd", n_epochs=3, batch_size=16, random_state=0), X, y),
        (
            DeepClassifier.from_pretrained(
                weights,
                hidden,
                n_classes=3,
                optimizer="cg",
                n_epochs=2,
                output_only_epochs=1,
                max_iter=2,
                random_state=np.int64(4),
            ),
            X,
            y3,
        ),  # fmt: skip
        (
            DeepClassifier(
                (),
                optimizer="lbfgs",
                n_epochs=2,
                dtype=np.float32,
                classes=("even", "odd"),
                random_state=1,
            ),
            X,
            y,
        ),  # fmt: skip
    ]


@pytest.mark.parametrize("case", range(3))
def test_classifier_round_trip_is_exact(tmp_path, case):
    rng = np.random.default_rng(0)
    clf, X, y = _classifier_cases(rng)[case]
    clf.fit(X, y)
    path = tmp_path / "clf.npz"
    clf.save(path)
    loaded = DeepClassifier.load(path)
    _same_params(clf, loaded)
    X_test = np.random.default_rng(1).normal(size=(30, 2))
    for method in ("predict_proba", "predict_log_proba", "predict"):
        _bitwise(getattr(clf, method)(X_test), getattr(loaded, method)(X_test))
    _bitwise(clf.classes_, loaded.classes_)
    _bitwise(clf.network_.theta, loaded.network_.theta)
    assert loaded.network_.activations == clf.network_.activations
    assert loaded.n_features_in_ == clf.n_features_in_ == 2
    assert loaded.n_iter_ == clf.n_iter_ and loaded.loss_curve_ == clf.loss_curve_
    assert loaded.weights_[0].base is loaded.network_.theta  # views, as after fit


@pytest.mark.parametrize(
    "output_activation", ["sigmoid", "linear"], ids=["sigmoid-pretrained", "linear-random"]
)
def test_autoencoder_round_trip_is_exact(tmp_path, output_activation):
    rng = np.random.default_rng(2)
    X = _binary(rng, 40)
    if output_activation == "sigmoid":
        weights, hidden, visible = _stack(rng, [6, 4, 2])
        ae = DeepAutoencoder.from_pretrained(
            weights, hidden, visible, optimizer="cg", n_epochs=2, max_iter=2, random_state=3
        )
    else:
        ae = DeepAutoencoder(
            (4, 2), output_activation="linear", code_activation="sigmoid", optimizer="sgd",
            n_epochs=2, batch_size=8, learning_rate=0.05, random_state=5,
        )  # fmt: skip
    ae.fit(X)
    ae.save(tmp_path / "ae.npz")
    loaded = DeepAutoencoder.load(tmp_path / "ae.npz")
    _same_params(ae, loaded)
    code = ae.transform(X)
    _bitwise(code, loaded.transform(X))
    _bitwise(ae.inverse_transform(code), loaded.inverse_transform(code))
    assert ae.reconstruction_error(X) == loaded.reconstruction_error(X)
    assert loaded.network_.activations == ae.network_.activations
    assert loaded.n_iter_ == 2 and loaded.loss_curve_ == ae.loss_curve_


# ------------------------------------------------------------------- resuming
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer", ["sgd", "cg", "lbfgs"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_classifier_resume_equals_uninterrupted(tmp_path, optimizer, dtype, k):
    """k epochs + save + load + m partial_fit == k epochs + m partial_fit == fit(k + m), bitwise.

    ``output_only_epochs=2``: k = 1 (one partial_fit: fit refuses n_epochs <
    output_only_epochs) saves inside the output-only phase, with momentum over
    the output layer only; k = 2 saves at the switch to all layers, k = 3 after
    it. The continued run must cross or follow the switch exactly as fit does.
    """
    rng = np.random.default_rng(3)
    X, y = _xor(rng, 50)
    params = dict(
        hidden_layer_sizes=(4,), optimizer=optimizer, batch_size=16, max_iter=2,
        output_only_epochs=2, learning_rate=0.3, dtype=dtype, random_state=7,
    )  # fmt: skip
    m = 2
    reference = DeepClassifier(n_epochs=k + m, **params).fit(X, y)
    if k == 1:
        straight = DeepClassifier(n_epochs=k + m, **params).partial_fit(X, y, ["even", "odd"])
    else:
        straight = DeepClassifier(n_epochs=k, **params).fit(X, y)
    straight.save(tmp_path / "k.npz")
    resumed = DeepClassifier.load(tmp_path / "k.npz")
    for _ in range(m):
        straight.partial_fit(X, y)
        resumed.partial_fit(X, y)
    for est in (straight, resumed):
        _bitwise(est.network_.theta, reference.network_.theta)
        assert est.loss_curve_ == reference.loss_curve_
        assert est.n_iter_ == k + m


@pytest.mark.parametrize("optimizer", ["sgd", "cg"])
def test_autoencoder_resume_equals_uninterrupted(tmp_path, optimizer):
    rng = np.random.default_rng(4)
    X = _binary(rng, 40)
    weights, hidden, visible = _stack(rng, [6, 3])
    params = dict(optimizer=optimizer, batch_size=8, max_iter=2, random_state=2)
    reference = DeepAutoencoder.from_pretrained(weights, hidden, visible, n_epochs=4, **params).fit(
        X
    )
    ae = DeepAutoencoder.from_pretrained(weights, hidden, visible, n_epochs=2, **params).fit(X)
    ae.save(tmp_path / "ae.npz")
    resumed = DeepAutoencoder.load(tmp_path / "ae.npz")
    resumed.partial_fit(X).partial_fit(X)
    _bitwise(resumed.network_.theta, reference.network_.theta)
    assert resumed.loss_curve_ == reference.loss_curve_


def test_sgd_learning_rate_schedule_steps_per_epoch_and_resumes(tmp_path):
    """Epoch t of SGD steps at ``schedule(learning_rate, t, n_epochs)``.

    Reference: a constant-rate classifier whose ``learning_rate`` is set to the
    scheduled value before each ``partial_fit`` epoch (same momentum buffer and
    shuffling stream), bitwise. A run saved after 2 epochs and loaded continues
    on the schedule (the Schedule object comes back equal), and a constant
    rate (power twin) ends elsewhere.
    """
    rng = np.random.default_rng(8)
    X, y = _xor(rng, 50)
    schedule, n, lr = LinearDecay(final_fraction=0.2), 4, 0.5
    params = dict(hidden_layer_sizes=(4,), optimizer="sgd", batch_size=16, random_state=7)
    scheduled = DeepClassifier(
        n_epochs=n, learning_rate=lr, learning_rate_schedule=schedule, **params
    ).fit(X, y)
    manual = DeepClassifier(n_epochs=n, **params)
    for t in range(n):
        manual.set_params(learning_rate=schedule(lr, t, n))
        manual.partial_fit(X, y, ["even", "odd"])
    _bitwise(scheduled.network_.theta, manual.network_.theta)

    first = DeepClassifier(n_epochs=n, learning_rate=lr, learning_rate_schedule=schedule, **params)
    first.partial_fit(X, y, ["even", "odd"]).partial_fit(X, y)
    first.save(tmp_path / "s.npz")
    resumed = DeepClassifier.load(tmp_path / "s.npz")
    assert resumed.learning_rate_schedule == schedule
    resumed.partial_fit(X, y).partial_fit(X, y)
    _bitwise(resumed.network_.theta, scheduled.network_.theta)

    constant = DeepClassifier(n_epochs=n, learning_rate=lr, **params).fit(X, y)
    assert not np.array_equal(constant.network_.theta, scheduled.network_.theta)


def test_tampered_schedule_description_is_refused(tmp_path):
    rng = np.random.default_rng(8)
    X, y = _xor(rng, 30)
    clf = DeepClassifier(
        (3,), optimizer="sgd", n_epochs=1, learning_rate_schedule=LinearDecay(0.2), random_state=0
    ).fit(X, y)
    clf.save(tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz") as archive:
        data = dict(archive)
    params = json.loads(str(data["params_json"]))
    params["learning_rate_schedule"] = {"name": "cosine"}
    data["params_json"] = np.array(json.dumps(params))
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(ValueError, match="cannot restore hyper-parameter learning_rate_schedule"):
        DeepClassifier.load(tmp_path / "bad.npz")


def test_resume_is_not_trivially_equal(tmp_path):
    """Power twin: without the saved momentum and generator, the continued run differs."""
    rng = np.random.default_rng(3)
    X, y = _xor(rng, 50)
    params = dict(hidden_layer_sizes=(4,), optimizer="sgd", batch_size=16, random_state=7)
    reference = DeepClassifier(n_epochs=3, **params).fit(X, y)
    clf = DeepClassifier(n_epochs=1, **params).fit(X, y)
    clf.save(tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz") as archive:
        data = dict(archive)
    data["velocity"] = np.zeros_like(data["velocity"])
    np.savez(tmp_path / "reset.npz", **data)
    resumed = DeepClassifier.load(tmp_path / "reset.npz")
    resumed.partial_fit(X, y).partial_fit(X, y)
    assert not np.array_equal(resumed.network_.theta, reference.network_.theta)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer", ["sgd", "cg"])
def test_fit_equals_one_optim_train_call(optimizer, dtype):
    """fit (epoch by epoch, carrying the optimiser state) == one optim.train call of n epochs."""
    rng = np.random.default_rng(5)
    X, y = _xor(rng, 40)
    clf = DeepClassifier(
        (3,), optimizer=optimizer, n_epochs=4, batch_size=16, max_iter=2, learning_rate=0.3,
        dtype=dtype, random_state=9,
    ).fit(X, y)  # fmt: skip
    gen = np.random.default_rng(9)
    net = Network([2, 3, 2], ["sigmoid", "softmax"], dtype=dtype).initialise(gen)
    T = np.stack([y == "even", y == "odd"], axis=1).astype(dtype)
    kwargs = {"sgd": {"learning_rate": 0.3, "momentum": 0.9}, "cg": {"max_iter": 2}}[optimizer]
    history = optim.train(net, X, T, optimizer, n_epochs=4, batch_size=16, seed=gen, **kwargs)
    _bitwise(clf.network_.theta, net.theta)
    assert clf.loss_curve_ == history


# ---------------------------------------------------------------- partial_fit
@pytest.mark.parametrize("optimizer", ["sgd", "lbfgs"])
def test_partial_fit_first_call_equals_first_epoch_of_fit(optimizer):
    """One partial_fit over all rows is fit's first epoch.

    The definitions coincide: both draw the initial weights from
    ``random_state`` and then shuffle the same rows into minibatches of
    ``batch_size`` with the same generator, starting from zero momentum.
    """
    rng = np.random.default_rng(6)
    X, y = _xor(rng, 50)
    params = dict(optimizer=optimizer, batch_size=16, max_iter=2, random_state=3)
    fitted = DeepClassifier((4,), n_epochs=1, **params).fit(X, y)
    partial = DeepClassifier((4,), **params).partial_fit(X, y, classes=["even", "odd"])
    _bitwise(partial.network_.theta, fitted.network_.theta)
    assert partial.loss_curve_ == fitted.loss_curve_ and partial.n_iter_ == 1
    ae_fit = DeepAutoencoder((3, 2), n_epochs=1, **params).fit(_binary(rng, 30))
    ae_partial = DeepAutoencoder((3, 2), **params).partial_fit(_binary(rng, 30))
    assert not np.array_equal(ae_partial.network_.theta, ae_fit.network_.theta)  # other data
    X_ae = _binary(np.random.default_rng(1), 30)
    ae_fit = DeepAutoencoder((3, 2), n_epochs=1, **params).fit(X_ae)
    ae_partial = DeepAutoencoder((3, 2), **params).partial_fit(X_ae)
    _bitwise(ae_partial.network_.theta, ae_fit.network_.theta)


def test_partial_fit_over_chunks_learns():
    """Streaming XOR in chunks of 50 rows lowers the training loss and learns the task.

    The first call's loss is the loss of random weights, ~log 2 = 0.69 for two
    classes; 30 passes of momentum SGD over the chunks bring the full-data
    cross-entropy well below it and the accuracy to that of fit (>= 0.95, see
    test_classifier_learns_xor).
    """
    rng = np.random.default_rng(7)
    X, y = _xor(rng, 200)
    clf = DeepClassifier((8, 8), optimizer="sgd", learning_rate=0.5, batch_size=20, random_state=1)
    T = np.stack([y == "even", y == "odd"], axis=1).astype(float)
    clf.partial_fit(X[:50], y[:50], classes=["even", "odd"])
    start = clf.network_.loss(X, T)
    for _ in range(30):
        for i in range(0, 200, 50):
            clf.partial_fit(X[i : i + 50], y[i : i + 50])
    assert clf.n_iter_ == 121 and len(clf.loss_curve_) == 121
    assert clf.network_.loss(X, T) < 0.5 * start
    assert clf.score(*_xor(rng, 400)) >= 0.95


def test_autoencoder_partial_fit_lowers_the_error():
    rng = np.random.default_rng(8)
    X = _binary(rng, 120)
    ae = DeepAutoencoder((4, 2), optimizer="lbfgs", max_iter=5, batch_size=40, random_state=0)
    ae.partial_fit(X[:40])
    before = ae.reconstruction_error(X)
    for _ in range(10):
        for i in range(0, 120, 40):
            ae.partial_fit(X[i : i + 40])
    assert ae.reconstruction_error(X) < 0.7 * before


def _state(est):
    t = est._trainer
    velocity = None if t.velocity is None else t.velocity.copy()
    rng_state = json.dumps(t.rng.bit_generator.state)
    return est.network_.theta.copy(), est.n_iter_, list(est.loss_curve_), rng_state, velocity


def _assert_unchanged(est, state):
    now = _state(est)
    _bitwise(now[0], state[0])
    assert now[1:4] == state[1:4]
    assert (now[4] is None) == (state[4] is None)
    if now[4] is not None:
        _bitwise(now[4], state[4])


def test_classifier_partial_fit_bad_input_changes_nothing():
    rng = np.random.default_rng(9)
    X, y = _xor(rng, 30)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        DeepClassifier((3,)).partial_fit(X, y)
    clf = DeepClassifier((3,), optimizer="sgd", random_state=0).partial_fit(X, y, ["even", "odd"])
    state = _state(clf)
    bad = X.copy()
    bad[0, 0] = np.inf
    cases = [
        (
            lambda: clf.partial_fit(X[:, :1], y),
            "X has 1 features, but DeepClassifier is expecting 2",
        ),
        (lambda: clf.partial_fit(bad, y), "X must be finite"),
        (lambda: clf.partial_fit(X, np.where(y == "odd", "odd", "new")), r"labels \['new'\]"),
        (lambda: clf.partial_fit(X, y, classes=["even", "odd", "x"]), "differs from classes_"),
        (lambda: clf.partial_fit(X, y[:-1]), "y has 29 labels, but X has 30 rows"),
        (lambda: clf.set_params(hidden_layer_sizes=(5,)).partial_fit(X, y), "hidden_layer_sizes"),
        (
            lambda: clf.set_params(hidden_layer_sizes=(3,), dtype=np.float32).partial_fit(X, y),
            "dtype",
        ),
        (lambda: clf.set_params(dtype=np.float64, momentum=1.5).partial_fit(X, y), "momentum"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()
        _assert_unchanged(clf, state)
    clf.set_params(momentum=0.9).partial_fit(X, y, classes=np.array(["odd", "even"]))
    assert clf.n_iter_ == 2


def test_autoencoder_partial_fit_bad_input_changes_nothing():
    rng = np.random.default_rng(10)
    X = _binary(rng, 20)
    ae = DeepAutoencoder((3, 2), optimizer="sgd", random_state=0).partial_fit(X)
    state = _state(ae)
    cases = [
        (lambda: ae.partial_fit(X[:, :5]), "X has 5 features, but DeepAutoencoder is expecting 6"),
        (lambda: ae.partial_fit(X + 1.0), r"values in \[0, 1\]"),
        (lambda: ae.set_params(code_activation="sigmoid").partial_fit(X), "activations"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()
        _assert_unchanged(ae, state)


# --------------------------------------------------------------- bad archives
@pytest.fixture
def saved(tmp_path):
    """A fitted SGD classifier with pretrained weights (every kind of entry), saved."""
    rng = np.random.default_rng(11)
    X, y = _xor(rng, 30)
    weights, hidden, _ = _stack(rng, [2, 3])
    clf = DeepClassifier.from_pretrained(
        weights, hidden, optimizer="sgd", n_epochs=2, batch_size=8, random_state=0
    ).fit(X, y)
    clf.save(tmp_path / "clf.npz")
    with np.load(tmp_path / "clf.npz") as archive:
        return tmp_path, dict(archive)


def _tamper(data, key, value):
    data = dict(data)
    if value is None:
        del data[key]
    else:
        data[key] = value
    return data


def _params_with(data, **changes):
    params = json.loads(str(data["params_json"]))
    params.update(changes)
    return np.array(json.dumps(params))


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("theta", None, r"lacks the entries \['theta'\]"),
        ("rng_state_json", None, r"lacks the entries \['rng_state_json'\]"),
        ("classes", None, r"lacks the entries \['classes'\]"),
        ("param__init_weights__0", None, r"lacks the entries \['param__init_weights__0'\]"),
        ("theta", np.zeros(5), r"theta must have shape \(n_params,\) = \(17,\), got \(5,\)"),
        ("theta", np.zeros(17, dtype=np.float32), "theta must have dtype float64"),
        ("theta", np.full(17, np.nan), "theta must be finite"),
        ("velocity", np.zeros(4), r"velocity must have shape"),
        ("velocity", np.full(17, np.inf), "velocity must be finite"),
        ("master", np.ones(17), "master must round to theta"),
        ("loss_curve", np.zeros(3), r"loss_curve must have shape \(n_iter,\) = \(2,\)"),
        ("n_iter", np.array(-1), "n_iter must be >= 0"),
        ("n_iter", np.array(2.0), "n_iter must be an integer scalar"),
        ("n_features_in", np.array(3), r"X has 3 features, but init_weights\[0\] has 2 rows"),
        (
            "class_name",
            np.array("DeepAutoencoder"),
            "holds a DeepAutoencoder, not a DeepClassifier",
        ),
        ("format_version", np.array(2), "format_version 2; this pgm reads version 1"),
        ("params_json", np.array("{not json"), "not JSON"),
        ("params_json", np.array("[1, 2]"), "must hold JSON objects"),
        ("param_forms_json", np.array('{"n_epochs": "complex128"}'), "cannot restore"),
        ("param_forms_json", np.array('{"hidden_layer_sizes": "tuple", "nope": "int64"}'), "nope"),
        ("classes", np.array(["odd", "even"]), "classes must be sorted and distinct"),
        ("classes", np.array(["even"]), "at least 2 labels"),
        ("classes", np.array(["a", "b"], dtype=object), "damaged DeepClassifier archive.*pickle"),
        ("rng_state_json", np.array('{"bit_generator": "Evil"}'), "must name a bit generator"),
        ("rng_state_json", np.array('{"bit_generator": "PCG64", "state": 1}'), "not a valid"),
        ("param__init_weights__0", np.zeros((2, 3), np.float32), "must have dtype float64"),
        (
            "param__init_weights__0",
            np.zeros((2, 4)),
            r"stored init_biases\[0\] must have shape \(4,\), got \(3,\)",
        ),
        ("param__init_biases__0", np.full(3, np.nan), r"init_biases\[0\] must be finite"),
        ("extra", np.zeros(1), r"unknown entries \['extra'\]"),
    ],
)
def test_tampered_archives_are_refused(saved, key, value, match):
    tmp_path, data = saved
    np.savez(tmp_path / "bad.npz", **_tamper(data, key, value))
    with pytest.raises(ValueError, match=match):
        DeepClassifier.load(tmp_path / "bad.npz")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"optimizer": "nope"}, "stored hyper-parameter optimizer"),
        ({"n_epochs": -1}, "stored hyper-parameter n_epochs"),
        ({"surprise": 1}, "stored hyper-parameters .* differ from DeepClassifier's"),
        ({"init_weights": {"n_arrays": 2}}, r"lacks the entries \['param__init_weights__1'\]"),
        ({"init_weights": [1]}, "stored init_weights must be null or"),
        ({"classes": {"array": "set"}}, "stored classes must be null or"),
        ({"classes": {"array": "list"}}, r"lacks the entries \['param__classes'\]"),
        ({"hidden_layer_sizes": [4]}, "init_weights give hidden widths"),
    ],
)
def test_tampered_hyper_parameters_are_refused(saved, changes, match):
    tmp_path, data = saved
    np.savez(tmp_path / "bad.npz", **_tamper(data, "params_json", _params_with(data, **changes)))
    with pytest.raises(ValueError, match=match):
        DeepClassifier.load(tmp_path / "bad.npz")


def test_untampered_archive_loads(saved):
    """The twin of the tampering tests: the same rewrite with no change loads."""
    tmp_path, data = saved
    np.savez(tmp_path / "same.npz", **data)
    assert DeepClassifier.load(tmp_path / "same.npz").n_iter_ == 2


def test_bad_files_and_wrong_class(tmp_path):
    rng = np.random.default_rng(12)
    ae = DeepAutoencoder((3, 2), n_epochs=1, optimizer="lbfgs", random_state=0).fit(
        _binary(rng, 10)
    )
    ae.save(tmp_path / "ae.npz")
    with pytest.raises(ValueError, match="holds a DeepAutoencoder, not a DeepClassifier"):
        DeepClassifier.load(tmp_path / "ae.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not an .npz archive"):
        DeepAutoencoder.load(tmp_path / "junk.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(ValueError, match="single .npy array"):
        DeepAutoencoder.load(tmp_path / "single.npy")
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(ValueError, match="is not a saved pgm model"):
        DeepAutoencoder.load(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError):
        DeepAutoencoder.load(tmp_path / "missing.npz")


def test_save_unfitted_and_unsavable(tmp_path):
    with pytest.raises(NotFittedError, match="not fitted"):
        DeepClassifier().save(tmp_path / "x.npz")
    with pytest.raises(NotFittedError, match="not fitted"):
        DeepAutoencoder().save(tmp_path / "x.npz")
    rng = np.random.default_rng(13)
    X, y = _xor(rng, 20)
    clf = DeepClassifier((3,), n_epochs=1, random_state=0).fit(X, y)
    clf.set_params(optimizer="nope")
    with pytest.raises(ValueError, match="optimizer"):
        clf.save(tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


def test_generator_random_state_is_stored_as_none_and_still_resumes(tmp_path):
    rng = np.random.default_rng(14)
    X, y = _xor(rng, 30)
    params = dict(hidden_layer_sizes=(3,), optimizer="sgd", batch_size=8)
    reference = DeepClassifier(n_epochs=3, random_state=np.random.default_rng(5), **params).fit(
        X, y
    )
    clf = DeepClassifier(n_epochs=1, random_state=np.random.default_rng(5), **params).fit(X, y)
    with pytest.warns(UserWarning, match="random_state of type Generator cannot be saved"):
        clf.save(tmp_path / "g.npz")
    loaded = DeepClassifier.load(tmp_path / "g.npz")
    assert loaded.random_state is None
    loaded.partial_fit(X, y).partial_fit(X, y)
    _bitwise(loaded.network_.theta, reference.network_.theta)
