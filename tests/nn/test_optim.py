"""pgm.nn.optim: the optimisers lower the loss and reach the known minimum of a convex case."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from pgm.nn import Network, optim


def _blobs(rng, n=120, d=4, k=3):
    centres = rng.normal(scale=2.0, size=(k, d))
    y = rng.integers(0, k, size=n)
    X = centres[y] + rng.normal(size=(n, d))
    return X, y


def _reference(X, y, C):
    """scikit-learn's logistic regression solved by Newton's method to machine precision."""
    return LogisticRegression(C=C, solver="newton-cholesky", tol=1e-14, max_iter=1000).fit(X, y)


@pytest.mark.parametrize("optimizer", ["sgd", "cg", "lbfgs"])
def test_optimisers_decrease_the_loss(optimizer):
    rng = np.random.default_rng(0)
    X, y = _blobs(rng)
    T = np.eye(3)[y]
    net = Network([4, 6, 3], ["sigmoid", "softmax"], weight_decay=1e-3).initialise(seed=1)
    before = net.loss(X, T)
    kwargs = {"learning_rate": 0.5, "momentum": 0.9} if optimizer == "sgd" else {"max_iter": 3}
    history = optim.train(net, X, T, optimizer, n_epochs=5, batch_size=30, seed=2, **kwargs)
    after = net.loss(X, T)
    assert len(history) == 5
    # ln 3 = 1.10 at chance; separable blobs fall far below it in 5 epochs.
    assert after < 0.5 * before
    assert history[-1] < history[0]


def _converge(net, X, T, method, seed):
    net.initialise(seed=seed)
    optim.line_search(
        net,
        X,
        T,
        method=method,
        batch_size=X.shape[0],  # one minibatch: plain full-batch minimisation
        max_iter=5000,
        gtol=1e-11,
        options={"ftol": 0.0} if method == "lbfgs" else None,
    )


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("method", ["cg", "lbfgs"])
def test_softmax_regression_matches_sklearn(method, seed):
    """A net without hidden layers is multinomial logistic regression.

    Our objective mean_i CE_i + wd/2 ||W||^2 is scikit-learn's
    sum_i CE_i + ||W||^2 / (2 C) divided by n, so C = 1 / (wd n). The
    penalised optimum is unique in W (its columns sum to zero, since the CE
    gradient summed over classes vanishes); the unpenalised intercepts are
    unique up to a common shift and are compared centred. The reference is
    scikit-learn's Newton solver (gradient ~1e-16).

    Tolerances: our line searches stop where the rounding of the loss
    (eps |f| ~ 1e-17) no longer resolves a step, at a largest gradient entry
    of 1e-8 to 3e-8 (CG) or 5e-9 to 1e-8 (L-BFGS), measured over 30 random
    starts. With curvature >= wd = 0.1 in W that leaves W within ~4e-7 of the
    optimum relative to its largest entry (measured worst, CG; L-BFGS 6e-8),
    the centred intercepts (whose curvature is not bounded by wd) within
    ~2e-6, and the objective, flat to second order, within ~2e-14. Each bound
    below is at least 5 times the worst of those 30 starts.
    """
    rng = np.random.default_rng(3)
    X, y = _blobs(rng)
    T = np.eye(3)[y]
    wd = 0.1
    net = Network([4, 3], ["softmax"], weight_decay=wd)
    _converge(net, X, T, method, seed)
    ref = _reference(X, y, C=1 / (wd * X.shape[0]))
    assert np.abs(net.loss_and_gradient(X, T)[1]).max() < 1e-7
    coef = ref.coef_.T
    np.testing.assert_allclose(net.weights[0], coef, rtol=0, atol=1e-5 * np.abs(coef).max())
    b = net.biases[0]
    centred = ref.intercept_ - ref.intercept_.mean()
    np.testing.assert_allclose(b - b.mean(), centred, rtol=0, atol=2e-5)
    optimum = net.loss(X, T, net.pack([coef], [ref.intercept_]))
    assert -1e-15 <= net.loss(X, T) - optimum <= 1e-12


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("method", ["cg", "lbfgs"])
def test_logistic_regression_matches_sklearn(method, seed):
    """One sigmoid output unit with Bernoulli cross-entropy is binary logistic regression.

    Same objective identity and tolerances as the softmax case (measured over
    30 starts: largest gradient entry <= 1.6e-8, W within 1.5e-7 of its
    largest entry, intercept within 5.4e-7, objective within 5e-15).
    """
    rng = np.random.default_rng(5)
    X, y = _blobs(rng, k=2)
    T = y[:, None].astype(float)
    wd = 0.1
    net = Network([4, 1], ["sigmoid"], weight_decay=wd)
    _converge(net, X, T, method, seed)
    ref = _reference(X, y, C=1 / (wd * X.shape[0]))
    assert np.abs(net.loss_and_gradient(X, T)[1]).max() < 1e-7
    coef = ref.coef_[0]
    np.testing.assert_allclose(net.weights[0][:, 0], coef, rtol=0, atol=1e-5 * np.abs(coef).max())
    np.testing.assert_allclose(net.biases[0], ref.intercept_, rtol=0, atol=2e-5)
    optimum = net.loss(X, T, net.pack([coef[:, None]], [ref.intercept_]))
    assert -1e-15 <= net.loss(X, T) - optimum <= 1e-12


def test_logistic_regression_power_twin():
    """The comparison can fail: at a tenth of the regularisation the coefficients differ."""
    rng = np.random.default_rng(5)
    X, y = _blobs(rng, k=2)
    net = Network([4, 1], ["sigmoid"], weight_decay=0.1)
    _converge(net, X, y[:, None].astype(float), "lbfgs", 0)
    coef = _reference(X, y, C=10 / (0.1 * X.shape[0])).coef_[0]
    assert np.abs(net.weights[0][:, 0] - coef).max() > 1e-5 * np.abs(coef).max()


def test_layers_freezes_the_other_layers():
    rng = np.random.default_rng(7)
    X, y = _blobs(rng)
    T = np.eye(3)[y]
    for optimizer in ("sgd", "cg"):
        net = Network([4, 5, 3], ["sigmoid", "softmax"]).initialise(seed=8)
        frozen = net.weights[0].copy(), net.biases[0].copy()
        top = net.weights[1].copy()
        optim.train(net, X, T, optimizer, n_epochs=2, batch_size=40, layers=[1], seed=0)
        np.testing.assert_array_equal(net.weights[0], frozen[0])
        np.testing.assert_array_equal(net.biases[0], frozen[1])
        assert not np.array_equal(net.weights[1], top)


def test_same_seed_same_result():
    rng = np.random.default_rng(9)
    X, y = _blobs(rng)
    T = np.eye(3)[y]
    runs = []
    for _ in range(2):
        net = Network([4, 5, 3], ["sigmoid", "softmax"]).initialise(seed=1)
        optim.line_search(net, X, T, n_epochs=2, batch_size=50, seed=3)
        runs.append(net.theta.copy())
    np.testing.assert_array_equal(*runs)


def test_float32_network_trains():
    rng = np.random.default_rng(10)
    X, y = _blobs(rng)
    T = np.eye(3)[y]
    net = Network([4, 5, 3], ["sigmoid", "softmax"], dtype=np.float32).initialise(seed=1)
    before = net.loss(X, T)
    optim.line_search(net, X, T, n_epochs=3, batch_size=60, seed=0)
    assert net.theta.dtype == np.float32
    assert net.loss(X, T) < 0.5 * before


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda net, X, T: optim.train(net, X, T, "adam"), ValueError, "optimizer must be one of"),
        (lambda net, X, T: optim.line_search(net, X, T, method="bfgs"), ValueError, "method"),
        (lambda net, X, T: optim.sgd(net, X, T, momentum=1.0), ValueError, "momentum"),
        (lambda net, X, T: optim.sgd(net, X, T, learning_rate=0), ValueError, "learning_rate"),
        (lambda net, X, T: optim.sgd(net, X, T, batch_size=0), ValueError, "batch_size"),
        (lambda net, X, T: optim.line_search(net, X, T, max_iter=0), ValueError, "max_iter"),
        (lambda net, X, T: optim.sgd(net, X, T, layers=[5]), ValueError, "out of range"),
        (lambda net, X, T: optim.sgd(net, X, T, layers=[]), ValueError, "at least one"),
        (lambda net, X, T: optim.sgd("net", X, T), TypeError, "network must be"),
        (lambda net, X, T: optim.sgd(net, X[:, :2], T), ValueError, "X has 2 features"),
    ],
)
def test_bad_arguments_leave_the_network_unchanged(call, error, match):
    rng = np.random.default_rng(11)
    X, y = _blobs(rng, n=20)
    net = Network([4, 3], ["softmax"]).initialise(seed=0)
    theta = net.theta.copy()
    with pytest.raises(error, match=match):
        call(net, X, np.eye(3)[y])
    np.testing.assert_array_equal(net.theta, theta)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer", ["sgd", "cg"])
def test_state_buffers_make_epoch_by_epoch_calls_equal_one_call(optimizer, dtype):
    """n calls of one epoch, passing velocity/master along, equal one call of n epochs, bitwise.

    Power twin: without the buffers SGD restarts its momentum every call and
    (float32) the line searches restart from the rounded parameters, so the
    runs differ.
    """
    rng = np.random.default_rng(5)
    X, y = _blobs(rng)
    T = np.eye(3)[y]
    kwargs = {"learning_rate": 0.2, "momentum": 0.9} if optimizer == "sgd" else {"max_iter": 2}

    def fresh():
        return Network([4, 5, 3], ["sigmoid", "softmax"], dtype=dtype).initialise(seed=1)

    whole = fresh()
    optim.train(whole, X, T, optimizer, n_epochs=3, batch_size=40, seed=2, **kwargs)
    stepped, bare = fresh(), fresh()
    gen, gen_bare = np.random.default_rng(2), np.random.default_rng(2)
    if optimizer == "sgd":
        buffer = {"velocity": np.zeros(stepped.n_params, dtype=dtype)}
    else:
        buffer = {"master": np.array(stepped.theta, dtype=np.float64)}
    for _ in range(3):
        optim.train(stepped, X, T, optimizer, batch_size=40, seed=gen, **buffer, **kwargs)
        optim.train(bare, X, T, optimizer, batch_size=40, seed=gen_bare, **kwargs)
    assert np.array_equal(stepped.theta, whole.theta)
    if optimizer == "sgd" or dtype == np.float32:
        assert not np.array_equal(bare.theta, whole.theta)


def test_state_buffers_are_checked():
    net = Network([2, 3, 2], ["sigmoid", "softmax"]).initialise(seed=0)
    X, T = np.zeros((4, 2)), np.eye(2)[[0, 1, 0, 1]]
    theta = net.theta.copy()
    cases = [
        (
            dict(velocity=np.zeros(16)),
            r"velocity must be a writeable float64 array of shape \(17,\)",
        ),
        (dict(velocity=np.zeros(17, np.float32)), r"velocity .* got float32 of shape \(17,\)"),
        # layer 1 alone: 3 x 2 weights and 2 biases
        (dict(layers=[1], velocity=np.zeros(17)), r"of shape \(8,\) \(the trained parameters\)"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            optim.sgd(net, X, T, **kwargs)
    for master in (np.zeros(17), net.theta.astype(np.float32), np.zeros(3)):
        with pytest.raises(ValueError, match="master must be a writeable float64 array"):
            optim.line_search(net, X, T, master=master)
    np.testing.assert_array_equal(net.theta, theta)
