"""Checks behind chapter 15 (self-normalizing networks), fast versions of the notebook's cells.

Formulas are checked to the accuracy of their computation (quadrature, closed forms, central
differences: tolerances stated at each assert); statistical comparisons allow ``N_SE`` standard errors
(see ``stats_helpers.py``) or a margin about 1.5 times the seed-to-seed spread measured in the chapter.
All seeds are fixed, so the tests are reproducible.
"""
import math

import numpy as np
import pytest
from scipy import integrate, optimize
from scipy.special import ndtr

import winit_edu as wi
from winit_edu.activations import SELU_ALPHA, SELU_SCALE, selu
from stats_helpers import N_SE

E = wi.theory.gaussian_expectation
PAPER_J = np.array([[0.0, 0.088834], [0.0, 0.782648]])   # Klambauer et al. (2017), eq. 6
PAPER_NORM = 0.7877                                       # its largest singular value, as printed in the paper


def selu_with(z, alpha, lam):
    """SELU with free constants."""
    return lam * np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


def g(mu, nu, omega=0.0, tau=1.0, points=100_000):
    """Klambauer et al.'s map: mean and variance of selu(z), z ~ N(mu omega, nu tau)."""
    m = E(lambda u: selu(u + mu * omega), nu * tau, points=points)
    return m, E(lambda u: selu(u + mu * omega) ** 2, nu * tau, points=points) - m * m


def jacobian(mu, nu, omega=0.0, tau=1.0, h=1e-4):
    J = np.empty((2, 2))
    for k, (dm, dn) in enumerate([(h, 0.0), (0.0, h)]):
        J[:, k] = np.subtract(g(mu + dm, nu + dn, omega, tau), g(mu - dm, nu - dn, omega, tau)) / (2 * h)
    return J


def pooled(acts):
    """Mean and variance of every hidden layer over units and examples: (members, layers) each."""
    return (wi.diagnostics.layer_means(acts, per_member=True),
            wi.diagnostics.layer_stds(acts, per_member=True) ** 2)


def pooled_prediction(q0, sigma_w2, depth):
    q = wi.theory.propagate_second_moment(depth, "selu", sigma_w2, q0=q0)
    m = np.array([E(selu, x) for x in q])
    return m, np.array([E(lambda u: selu(u) ** 2, x) for x in q]) - m**2


def selu_net(init, width=256, depth=30, seeds=(0, 1)):
    return wi.MLP([width] * (depth + 1) + [10], activation="selu", weight_init=init, seeds=list(seeds),
                  dtype="float32")


@pytest.fixture(scope="module")
def gaussian_batch():
    return np.random.default_rng(7).normal(size=(256, 256))


# --- Step 1: the constants -------------------------------------------------------------------

def test_constants_solve_the_conditions_with_the_package_quadrature():
    def conditions(p):
        return [E(lambda z: selu_with(z, *p)), E(lambda z: selu_with(z, *p) ** 2) - 1.0]

    sol = optimize.root(conditions, x0=[1.0, 1.0], tol=1e-12)
    assert sol.success
    # the grid rule is accurate to about 1e-9 for a function with a kink (its docstring)
    assert np.allclose(sol.x, [SELU_ALPHA, SELU_SCALE], rtol=1e-8, atol=0)


def test_constants_to_double_precision_by_adaptive_quadrature_and_in_closed_form():
    density = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731

    def expect(f):
        return sum(integrate.quad(lambda z: f(z) * density(z), a, b, epsabs=1e-14, epsrel=1e-14, limit=200)[0]
                   for a, b in [(-math.inf, 0.0), (0.0, math.inf)])

    def conditions(p):
        alpha, lam = p
        f = lambda z: lam * z if z > 0 else lam * alpha * math.expm1(z)  # noqa: E731
        return [expect(f), expect(lambda z: f(z) ** 2) - 1.0]

    sol = optimize.root(conditions, x0=[1.0, 1.0], tol=1e-13)
    assert sol.success and np.allclose(sol.x, [SELU_ALPHA, SELU_SCALE], rtol=1e-14, atol=0)
    phi0, P1, P2 = 1 / math.sqrt(2 * math.pi), ndtr(-1.0), ndtr(-2.0)
    alpha = phi0 / (0.5 - math.exp(0.5) * P1)
    lam = (0.5 + alpha**2 * (math.exp(2) * P2 - 2 * math.exp(0.5) * P1 + 0.5)) ** -0.5
    assert alpha == pytest.approx(SELU_ALPHA, rel=1e-14) and lam == pytest.approx(SELU_SCALE, rel=1e-14)


def test_alpha_alone_centres_the_output_and_elu_is_not_centred():
    for lam in (0.5, 1.0, 3.0):                     # the mean condition does not involve lambda
        assert abs(E(lambda z: selu_with(z, SELU_ALPHA, lam))) < 1e-8
    assert E(lambda z: selu_with(z, 1.0, 1.0)) == pytest.approx(0.1605, abs=1e-4)


def test_selu_of_a_standard_normal_has_mean_zero_and_unit_variance_by_simulation():
    h = selu(np.random.default_rng(0).normal(size=2_000_000))
    se_mean = h.std() / math.sqrt(h.size)
    se_m2 = (h**2).std() / math.sqrt(h.size)
    assert abs(h.mean()) < N_SE * se_mean
    assert abs(np.mean(h**2) - 1) < N_SE * se_m2


# --- Steps 2 and 3: the map g and its Jacobian ----------------------------------------------------

def test_jacobian_at_the_fixed_point_matches_the_paper_and_the_closed_forms():
    J = jacobian(0.0, 1.0)
    assert np.abs(J - PAPER_J).max() < 1e-6                        # the paper prints six decimals
    assert np.linalg.norm(J, 2) == pytest.approx(PAPER_NORM, abs=5e-5)
    assert np.sort(np.abs(np.linalg.eigvals(J))) == pytest.approx([0.0, PAPER_J[1, 1]], abs=1e-6)
    # Stein's lemma: closed forms of the two nonzero entries (central differences: error ~1e-9)
    lam, alpha = SELU_SCALE, SELU_ALPHA
    P1, P2, phi0 = ndtr(-1.0), ndtr(-2.0), 1 / math.sqrt(2 * math.pi)
    j12 = 0.5 * (lam * alpha * math.exp(0.5) * P1 + (lam - lam * alpha) * phi0)
    chi1 = lam**2 * (0.5 + alpha**2 * math.exp(2) * P2)
    j22 = chi1 + lam**2 * alpha**2 * (math.exp(2) * P2 - math.exp(0.5) * P1)
    assert J[0, 1] == pytest.approx(j12, abs=1e-7) and J[1, 1] == pytest.approx(j22, abs=1e-7)
    assert chi1 == pytest.approx(wi.theory.slope_after("selu", 1.0), abs=1e-7)
    assert J[1, 1] == pytest.approx(wi.meanfield.length_map_slope(1.0, "selu", 1.0), abs=1e-6)


def test_mean_derivative_is_omega_times_the_mean_slope():
    # d mu~ / d mu = omega E[selu'(z)], z ~ N(0, tau) at mu = 0
    for omega, tau in [(0.1, 1.05), (1.0, 1.0), (-0.5, 0.9)]:
        slope = E(lambda z: wi.activations.derivative("selu", z), tau)
        assert jacobian(0.0, 1.0, omega, tau)[0, 0] == pytest.approx(omega * slope, abs=1e-6)
    # inside Theorem 1's domain the map still contracts; at a typical random unit's omega = 1 it does not
    assert np.linalg.norm(jacobian(0.0, 1.0, 0.1, 1.05), 2) < 1 < np.linalg.norm(jacobian(0.0, 1.0, 1.0, 1.0), 2)


def test_map_predicts_every_unit_of_a_wide_layer_with_its_own_omega_and_tau():
    rng = np.random.default_rng(1)
    mu, nu, N = 0.5, 2.0, 8192
    X = mu + math.sqrt(nu) * rng.normal(size=(N, 256))
    W = wi.lecun_normal((256, 64), rng=0)
    Wc = W - W.mean(axis=0)
    Wc /= np.sqrt((Wc**2).sum(axis=0))
    for Wm in (W, Wc):
        omega, tau = Wm.sum(axis=0), (Wm**2).sum(axis=0)
        H = selu(X @ Wm)
        m, v = H.mean(axis=0), H.var(axis=0)
        se_m = np.sqrt(v / N)
        se_v = np.sqrt(np.mean((H - m) ** 4, axis=0) - v**2) / math.sqrt(N)
        pred = np.array([g(mu, nu, o, t, points=4000) for o, t in zip(omega, tau)])
        # rms of the standardized errors is about 1 for a correct map; 2 leaves room for 64 units
        assert np.sqrt(np.mean(((pred[:, 0] - m) / se_m) ** 2)) < 2
        assert np.sqrt(np.mean(((pred[:, 1] - v) / se_v) ** 2)) < 2
    # LeCun's omega has a spread of about 1 across units, tau of about sqrt(2/n)
    omega, tau = W.sum(axis=0), (W**2).sum(axis=0)
    assert 0.7 < omega.std() < 1.3 and abs(tau.mean() - 1) < 0.05 and tau.std() < 2 * math.sqrt(2 / 256)


def test_few_random_lecun_units_lie_in_the_domains_of_the_papers_theorems():
    # omega of a LeCun unit is close to N(0, 1), so P(|omega| <= 0.1) = 2 Phi(0.1) - 1 = 0.080; tau is within
    # [0.8, 1.25] for almost every unit (sd sqrt(2/n)). Theorem 1 also needs 0.95 <= tau <= 1.1: fewer still.
    # Over 4 x 512 units the binomial standard error of a fraction near 0.08 is 0.006: tolerance 4 of them.
    W = np.concatenate([wi.lecun_normal((256, 512), rng=s) for s in range(4)], axis=1)
    omega, tau = W.sum(axis=0), (W**2).sum(axis=0)
    small = np.abs(omega) <= 0.1
    thm23 = np.mean(small & (tau >= 0.8) & (tau <= 1.25))
    thm1 = np.mean(small & (tau >= 0.95) & (tau <= 1.1))
    p = 2 * ndtr(0.1) - 1
    assert abs(thm23 - p) < 4 * math.sqrt(p * (1 - p) / W.shape[1])
    assert thm1 < thm23 < 0.1


# --- deep networks: the basin and what breaks it --------------------------------------------------

@pytest.mark.parametrize("scale, shift", [(0.3, 0.0), (3.0, 0.0), (1.0, 1.0)])
def test_deep_selu_network_returns_to_zero_mean_unit_variance(gaussian_batch, scale, shift):
    X = scale * gaussian_batch + shift
    m, v = pooled(selu_net("lecun_normal").trace(X).activations)
    m_pred, v_pred = pooled_prediction(float(np.mean(X**2)), 1.0, 30)
    tol_m, tol_v = (0.1, 0.13) if shift else (0.05, 0.08)         # two seeds; the shifted batch scatters more
    assert np.abs(m.mean(axis=0) - m_pred).max() < tol_m
    assert np.abs(v.mean(axis=0) / v_pred - 1).max() < tol_v
    assert np.abs(m[:, 19:]).max() < 2.5 * tol_m and np.abs(v[:, 19:] - 1).max() < 2 * tol_v


def test_he_has_no_fixed_point_and_pytorch_gain_moves_it(gaussian_batch):
    with pytest.raises(ValueError):
        wi.meanfield.q_star("selu", 2.0)                          # lambda^2 > 1: no fixed point
    assert wi.meanfield.length_map(1e4, "selu", 2.0) / 1e4 == pytest.approx(SELU_SCALE**2, rel=0.01)  # slope at large q
    _, v_he = pooled(selu_net("he_normal").trace(gaussian_batch).activations)
    v_he_pred = pooled_prediction(1.0, 2.0, 30)[1]
    assert v_he[:, -1].min() > 20 and v_he[:, -1].min() > 10 * v_he[:, 0].max()   # grows without a fixed point
    assert 1 / 3 < np.median(v_he[:, -1]) / v_he_pred[-1] < 1.5    # the typical network lies below the average
    pt = wi.calculate_gain("selu") ** 2
    q_pt = wi.meanfield.q_star("selu", pt)
    assert q_pt == pytest.approx(0.0230, abs=5e-4)
    net = selu_net(wi.get_initializer("variance_scaling", scale=pt))
    _, v = pooled(net.trace(gaussian_batch).activations)
    v_star = E(lambda u: selu(u) ** 2, q_pt) - E(selu, q_pt) ** 2
    assert v[:, 20:].mean() == pytest.approx(pooled_prediction(1.0, pt, 30)[1][20:].mean(), rel=0.2)
    assert v_star == pytest.approx(0.0398, abs=5e-4)                   # the variance it settles at


def _dropout_forward(net, X, kind, rate=0.1):
    """Pooled statistics of what every hidden layer passes on, with one step's dropout masks of the package."""
    return pooled(net.trace(X, masks=wi.dropout_masks(net, len(X), rate, kind=kind)).activations_after_dropout)


def test_alpha_dropout_keeps_zero_mean_unit_variance_and_standard_dropout_does_not(gaussian_batch):
    # one layer, by simulation: the paper's a and b keep (0, 1); inverted dropout multiplies the variance by 1/q
    rng = np.random.default_rng(0)
    h = selu(rng.normal(size=1_000_000))
    q, sat = 0.9, -SELU_SCALE * SELU_ALPHA
    a, b, saturation = wi.alpha_dropout_constants(1 - q)
    assert saturation == sat
    assert a == pytest.approx((q + sat**2 * q * (1 - q)) ** -0.5, rel=1e-14)   # the chapter's derivation
    assert b == pytest.approx(-a * (1 - q) * sat, rel=1e-14)
    kept = rng.random(h.size) < q
    y = a * np.where(kept, h, sat) + b
    assert abs(y.mean()) < N_SE * y.std() / math.sqrt(y.size) and abs(y.var() - 1) < 0.01
    assert (h * kept / q).var() == pytest.approx(1 / q, abs=0.01)
    # a deep network: standard dropout settles at the fixed point of sigma_w^2 = 1/q, alpha dropout at (0, 1)
    net = selu_net("lecun_normal")
    m, v = _dropout_forward(net, gaussian_batch, "inverted")
    q_star = wi.meanfield.q_star("selu", 1 / q)
    m_star = E(selu, q_star)
    assert v[:, 20:].mean() == pytest.approx(q_star - m_star**2, rel=0.05)
    assert m[:, 20:].mean() == pytest.approx(m_star, abs=0.02)
    m, v = _dropout_forward(net, gaussian_batch, "alpha")
    assert abs(v[:, 10:].mean() - 1) < 0.03 and abs(m[:, 10:].mean()) < 0.02


def test_shifted_input_survives_as_unit_mean_scatter_unless_omega_is_zero(gaussian_batch):
    X = gaussian_batch + 1.0
    B = len(X)

    def unit_mean_rms(net):
        return np.stack([np.sqrt(np.mean(h.astype(np.float64).mean(axis=1) ** 2, axis=1))
                         for h in net.trace(X).activations], axis=1).mean(axis=0)

    total = X.sum(axis=0)
    c0 = (total @ total - np.sum(X**2)) / (B * (B - 1)) / np.mean(np.sum(X**2, axis=1))
    assert c0 == pytest.approx(0.5, abs=0.02)
    q, c = wi.meanfield.propagate_correlation(7, "selu", 1.0, c0, q0=float(np.mean(X**2)))
    pred = np.sqrt(q[1:] / B + (1 - 1 / B) * q[1:] * c[1:])
    measured = unit_mean_rms(selu_net("lecun_normal", depth=6, seeds=(0, 1, 2)))
    assert np.abs(measured[:5] / pred[:5] - 1).max() < 0.1       # the correlation map, first five layers

    def centred(shape, rng=None):
        w = np.random.default_rng(rng).normal(size=shape)
        w -= w.mean(axis=0)
        return w / np.sqrt((w**2).sum(axis=0))

    assert unit_mean_rms(selu_net(centred, depth=2))[0] < 1.2 / math.sqrt(B)   # omega = 0: only sampling noise
