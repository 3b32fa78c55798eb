"""pgm.nn.Network: the loss against a direct formula, backprop against finite differences."""

import numpy as np
import pytest

from pgm.nn import Network

# (layer sizes, activations): every output type, sigmoid and linear hidden layers.
ARCHITECTURES = [
    ([3, 4, 2, 3], ["sigmoid", "sigmoid", "softmax"]),
    ([3, 4, 2, 3], ["sigmoid", "linear", "sigmoid"]),
    ([3, 2, 4, 2], ["linear", "sigmoid", "linear"]),
    ([4, 3], ["softmax"]),
    ([4, 1], ["sigmoid"]),
    ([4, 2], ["linear"]),
]


def _data(net, rng, n=7):
    X = rng.normal(size=(n, net.layer_sizes[0]))
    k = net.layer_sizes[-1]
    out = net.activations[-1]
    if out == "softmax":
        T = rng.dirichlet(np.ones(k), size=n)  # soft targets, rows sum to 1
    elif out == "sigmoid":
        T = rng.random((n, k))  # Bernoulli cross-entropy accepts targets in [0, 1]
    else:
        T = rng.normal(size=(n, k))
    return X, T


def _net(sizes, acts, rng, weight_decay=0.0):
    net = Network(sizes, acts, weight_decay=weight_decay)
    net.set_theta(rng.normal(scale=0.8, size=net.n_params))
    return net


def _naive_loss(net, X, T):
    """The loss written from its definition, with plain exp/log (moderate inputs only)."""
    a = X
    for l in range(net.n_layers):
        z = a @ net.weights[l] + net.biases[l]
        act = net.activations[l]
        if act == "sigmoid":
            a = 1.0 / (1.0 + np.exp(-z))
        elif act == "softmax":
            a = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        else:
            a = z
    out = net.activations[-1]
    if out == "softmax":
        per_row = -np.sum(T * np.log(a), axis=1)
    elif out == "sigmoid":
        per_row = -np.sum(T * np.log(a) + (1 - T) * np.log(1 - a), axis=1)
    else:
        per_row = 0.5 * np.sum((a - T) ** 2, axis=1)
    penalty = 0.5 * net.weight_decay * sum(np.sum(w**2) for w in net.weights)
    return per_row.mean() + penalty


@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
@pytest.mark.parametrize(("sizes", "acts"), ARCHITECTURES)
def test_loss_matches_definition(sizes, acts, weight_decay):
    rng = np.random.default_rng(0)
    net = _net(sizes, acts, rng, weight_decay)
    X, T = _data(net, rng)
    np.testing.assert_allclose(net.loss(X, T), _naive_loss(net, X, T), rtol=1e-12)


@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
@pytest.mark.parametrize(("sizes", "acts"), ARCHITECTURES)
def test_gradient_matches_central_differences(sizes, acts, weight_decay):
    """Every parameter; step h = 6e-6 max(1, |theta_j|), rtol 1e-6, atol 1e-8 (STYLE.md 7).

    Central differences have truncation error O(h^2 f''') ~ 1e-11 and rounding
    error ~ eps |f| / h ~ 1e-11 here, far inside the tolerance.
    """
    rng = np.random.default_rng(1)
    net = _net(sizes, acts, rng, weight_decay)
    X, T = _data(net, rng)
    _, grad = net.loss_and_gradient(X, T)
    theta = net.theta.copy()
    numeric = np.empty_like(theta)
    for j in range(theta.size):
        h = 6e-6 * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        numeric[j] = (net.loss(X, T, up) - net.loss(X, T, down)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(net.theta, theta)  # theta= never touches the network


def test_softmax_gradient_for_targets_not_summing_to_one():
    """loss = sum_k t_k (logsumexp(z) - z_k): its gradient softmax(z) sum(t) - t holds for any t."""
    rng = np.random.default_rng(2)
    net = _net([3, 4], ["softmax"], rng)
    X = rng.normal(size=(5, 3))
    T = rng.random((5, 4))
    _, grad = net.loss_and_gradient(X, T)
    numeric = np.empty_like(net.theta)
    for j in range(net.n_params):
        e = np.zeros(net.n_params)
        e[j] = 6e-6
        numeric[j] = (net.loss(X, T, net.theta + e) - net.loss(X, T, net.theta - e)) / 1.2e-5
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_float32_gradient_agrees_with_float64():
    rng = np.random.default_rng(3)
    net64 = _net([3, 4, 3], ["sigmoid", "softmax"], rng)
    net32 = Network([3, 4, 3], ["sigmoid", "softmax"], dtype=np.float32)
    net32.set_theta(net64.theta)
    X, T = _data(net64, rng)
    l64, g64 = net64.loss_and_gradient(X, T)
    l32, g32 = net32.loss_and_gradient(X, T)
    assert g32.dtype == np.float32
    # float32 rounding: ~1e-7 relative per operation, a few dozen operations deep.
    np.testing.assert_allclose(l32, l64, rtol=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("out", ["softmax", "sigmoid"])
def test_float32_loss_of_a_confident_network_keeps_its_digits(out):
    """Logits of +-12 (softmax) or +-16 (sigmoid) on 1000 rows: a loss below 1e-6 per row,
    the tiny difference of two sums of about 10^4.

    A float32 network's loss is still accumulated in float64, so it agrees with the
    float64 network's to float32 rounding of the logits (relative 1e-5), which is what
    lets a line search (conjugate gradients) see a decrease. Power twin: the same two
    sums taken in float32 lose every digit (relative error above 10%).
    """
    rng = np.random.default_rng(4)
    n, k = 1000, 10 if out == "softmax" else 4
    net64 = Network([k, k], [out])
    scale = 12.0 if out == "softmax" else 16.0
    net64.set_theta(np.concatenate([(2 * scale * np.eye(k) - scale).ravel(), np.zeros(k)]))
    net32 = Network([k, k], [out], dtype=np.float32)
    net32.set_theta(net64.theta)
    X = np.eye(k)[rng.integers(0, k, n)]
    T = X.copy()  # each row's target is the unit its input drives to +scale
    l64, l32 = net64.loss(X, T), net32.loss(X, T)
    assert 0 < l64 < 1e-6
    np.testing.assert_allclose(l32, l64, rtol=1e-5)
    z = (X @ net32.weights[0]).astype(np.float32)
    if out == "softmax":
        naive = np.sum(np.logaddexp.reduce(z, axis=1)) - np.sum(T.astype(np.float32) * z)
    else:
        naive = np.sum(np.logaddexp(np.float32(0), z)) - np.sum(T.astype(np.float32) * z)
    assert abs(float(naive) / n - l64) > 0.1 * l64


@pytest.mark.parametrize("out", ["softmax", "sigmoid"])
def test_extreme_inputs_stay_finite_and_exact(out):
    """Total inputs of +-1e3: log-space losses are exact, with no overflow warning."""
    k = 2
    net = Network([1, k], [out])
    net.weights[0][...] = [[1e3, -1e3]]
    X = np.array([[1.0], [-1.0]])
    T = np.array([[1.0, 0.0], [1.0, 0.0]])
    loss, grad = net.loss_and_gradient(X, T)
    # row 1: z = (1e3, -1e3); row 2: z = (-1e3, 1e3)
    if out == "softmax":
        expected = (0.0 + 2e3) / 2  # -log softmax: 0 for the winner, 2000 for the loser
    else:
        expected = (0.0 + 1e3 + 1e3 + 0.0) / 2  # softplus(-z) for t=1, softplus(z) for t=0
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    assert np.all(np.isfinite(grad))


def test_pack_unpack_round_trip_and_views():
    rng = np.random.default_rng(4)
    net = _net([3, 4, 2], ["sigmoid", "softmax"], rng)
    weights, biases = net.unpack(net.theta)
    np.testing.assert_array_equal(net.pack(weights, biases), net.theta)
    assert [w.shape for w in net.weights] == [(3, 4), (4, 2)]
    assert [b.shape for b in net.biases] == [(4,), (2,)]
    net.theta[:] = np.arange(net.n_params)  # weights and biases are views into theta
    np.testing.assert_array_equal(net.weights[0].ravel(), np.arange(12))
    np.testing.assert_array_equal(net.biases[0], np.arange(12, 16))
    np.testing.assert_array_equal(net.weights[1].ravel(), np.arange(16, 24))
    rebuilt = Network.from_parameters(net.weights, net.biases, net.activations)
    np.testing.assert_array_equal(rebuilt.theta, net.theta)
    assert net.n_params == 3 * 4 + 4 + 4 * 2 + 2


def test_forward_is_the_sigmoid_chain():
    rng = np.random.default_rng(5)
    net = _net([3, 4, 2, 3], ["sigmoid", "linear", "sigmoid"], rng)
    X = rng.normal(size=(6, 3))
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    h1 = sig(X @ net.weights[0] + net.biases[0])
    h2 = h1 @ net.weights[1] + net.biases[1]
    out = sig(h2 @ net.weights[2] + net.biases[2])
    acts = net.forward(X)
    for got, want in zip(acts, [X, h1, h2, out], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    np.testing.assert_allclose(net.predict(X), out, rtol=1e-13)
    np.testing.assert_allclose(net.propagate(X, 0, 2), h2, rtol=1e-13)
    np.testing.assert_allclose(net.propagate(h2, 2), out, rtol=1e-13)


def test_initialise_is_reproducible_and_scaled():
    a = Network([50, 30, 10], ["sigmoid", "softmax"]).initialise(seed=7)
    b = Network([50, 30, 10], ["sigmoid", "softmax"]).initialise(seed=7)
    np.testing.assert_array_equal(a.theta, b.theta)
    # sigmoid layers: 4 sqrt(6 / (n_in + n_out)); softmax/linear layers: sqrt(6 / (n_in + n_out))
    assert 0.9 * 4 * np.sqrt(6 / 80) < np.abs(a.weights[0]).max() <= 4 * np.sqrt(6 / 80)
    assert 0.9 * np.sqrt(6 / 40) < np.abs(a.weights[1]).max() <= np.sqrt(6 / 40)
    assert np.all(a.biases[0] == 0)


def test_random_deep_sigmoid_net_gets_gradient_to_its_bottom_layer():
    # With the tanh range sqrt(6 / (n_in + n_out)) on sigmoid layers the gradient of a
    # 4-layer sigmoid net shrinks ~4x per layer (slope 1/4) and training stalls at the
    # uniform-output plateau; the sigmoid range loses about 4x less.
    rng = np.random.default_rng(0)
    X = rng.random((200, 60))
    T = np.eye(5)[rng.integers(0, 5, 200)]
    net = Network([60, 40, 40, 80, 5], ["sigmoid"] * 3 + ["softmax"]).initialise(seed=1)
    g_w = net.unpack(net.loss_and_gradient(X, T)[1])[0]
    rms = [np.sqrt(np.mean(g**2)) for g in g_w]
    assert rms[0] > 0.01 * rms[-1]  # the tanh range gives 0.004 here


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"layer_sizes": [3, 0, 2]}, ValueError, r"layer_sizes\[1\]"),
        ({"layer_sizes": [3, -1, 2]}, ValueError, r"layer_sizes\[1\]"),
        ({"layer_sizes": [3, 2.5, 2]}, ValueError, r"layer_sizes\[1\]"),
        ({"layer_sizes": [3]}, ValueError, "at least 2"),
        ({"layer_sizes": 3}, TypeError, "layer_sizes"),
        ({"activations": ["softmax", "softmax"]}, ValueError, r"activations\[0\]"),
        ({"activations": ["sigmoid", "tanh"]}, ValueError, r"activations\[1\]"),
        ({"activations": ["sigmoid"]}, ValueError, "one entry per layer"),
        ({"weight_decay": -1.0}, ValueError, "weight_decay"),
        ({"dtype": np.int32}, ValueError, "dtype"),
    ],
)
def test_bad_construction(kwargs, error, match):
    args = {"layer_sizes": [3, 4, 2], "activations": ["sigmoid", "softmax"], **kwargs}
    with pytest.raises(error, match=match):
        Network(args.pop("layer_sizes"), args.pop("activations"), **args)


def test_bad_inputs_and_targets():
    net = Network([3, 2], ["sigmoid"])
    X = np.zeros((4, 3))
    with pytest.raises(ValueError, match="X has 2 features"):
        net.loss(np.zeros((4, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="X must be finite"):
        net.loss(np.full((4, 3), np.nan), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"T must have shape \(4, 2\)"):
        net.loss(X, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"T must lie in \[0, 1\]"):
        net.loss(X, np.full((4, 2), 2.0))
    with pytest.raises(ValueError, match=r"theta must have shape \(8,\)"):
        net.set_theta(np.zeros(7))
    with pytest.raises(ValueError, match="layer 1 of the network has 2 units"):
        net.propagate(np.zeros((1, 3)), 1)
    with pytest.raises(ValueError, match="start and stop"):
        net.propagate(X, 1, 0)


@pytest.mark.parametrize(
    ("weights", "biases", "error", "match"),
    [
        (np.zeros((3, 2)), [np.zeros(2)], TypeError, "weights must be a list or tuple"),
        ([np.zeros((3, 2))], np.zeros(2), TypeError, "biases must be a list or tuple"),
        ([], [], ValueError, "at least one"),
        (
            [np.zeros((3, 2)), np.zeros((3, 4))],
            [np.zeros(2), np.zeros(4)],
            ValueError,
            r"weights\[1\] must have 2 rows",
        ),
        ([np.zeros((3, 2))], [np.zeros(3)], ValueError, r"biases\[0\] must have shape \(2,\)"),
        ([np.zeros((3, 2))], [np.zeros(3), np.zeros(2)], ValueError, "one bias vector per"),
        ([np.full((3, 2), np.nan)], [np.zeros(2)], ValueError, r"weights\[0\] must be finite"),
        ([np.zeros(3)], [np.zeros(2)], ValueError, r"weights\[0\] must be 2-dimensional"),
    ],
)
def test_bad_from_parameters(weights, biases, error, match):
    with pytest.raises(error, match=match):
        Network.from_parameters(weights, biases, ["sigmoid"])
