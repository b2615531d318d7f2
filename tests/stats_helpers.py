"""Statistical tolerances for testing random initializers.

A test of a random initializer compares a *sample* statistic with the
closed-form value, so it needs a tolerance. We use ``N_SE`` standard errors
of the statistic:

* sample mean of ``n`` iid draws with variance ``var``: SE = ``sqrt(var / n)``;
* sample variance: ``Var(x**2) = E[x**4] - var**2 = (kurtosis - 1) var**2``, so
  SE = ``var * sqrt((kurtosis - 1) / n)``. That is ``var * sqrt(2 / n)`` for
  a normal (kurtosis 3) and ``var * sqrt(0.8 / n)`` for a uniform (kurtosis
  1.8, i.e. excess kurtosis -1.2).

With ``N_SE = 6`` a correct implementation fails a single check with
probability about 2e-9 (whatever the seed), while the tests still tell apart
the variances that are easy to confuse (a missing truncation correction is a
23% error, PyTorch's ``a=sqrt(5)`` default a factor 3, fan_in vs fan_out a
factor 1.5 in the shapes we use). All tests use fixed seeds anyway, so they are
reproducible.
"""
import math

import numpy as np

#: number of standard errors allowed in every statistical comparison
N_SE = 6.0

NORMAL_KURTOSIS = 3.0
UNIFORM_KURTOSIS = 1.8


def truncated_normal_kurtosis(cutoff=2.0):
    """Kurtosis ``E[z**4] / E[z**2]**2`` of a standard normal cut at +-cutoff.

    Integrating by parts, ``E[z**2] = 1 - 2 c phi(c) / m`` and
    ``E[z**4] = 3 E[z**2] - 2 c**3 phi(c) / m`` with ``m = P(|z| <= c)``.
    About 2.37 for ``cutoff = 2`` (lighter tails than the normal's 3).
    """
    c = cutoff
    pdf = math.exp(-0.5 * c * c) / math.sqrt(2.0 * math.pi)
    mass = math.erf(c / math.sqrt(2.0))
    m2 = 1.0 - 2.0 * c * pdf / mass
    m4 = 3.0 * m2 - 2.0 * c**3 * pdf / mass
    return m4 / m2**2


KURTOSIS = {
    "normal": NORMAL_KURTOSIS,
    "uniform": UNIFORM_KURTOSIS,
    "truncated_normal": truncated_normal_kurtosis(2.0),
}


def assert_mean_and_variance(w, mean, var, kurtosis):
    """Sample mean and variance of ``w`` within ``N_SE`` standard errors of ``mean`` and ``var``."""
    w = np.asarray(w, dtype=float).ravel()
    n = w.size
    se_mean = math.sqrt(var / n)
    se_var = var * math.sqrt((kurtosis - 1.0) / n)
    assert abs(w.mean() - mean) <= N_SE * se_mean, (
        f"mean {w.mean():.6g} vs expected {mean:.6g} (tolerance {N_SE * se_mean:.3g}, n={n})")
    assert abs(w.var() - var) <= N_SE * se_var, (
        f"variance {w.var():.6g} vs expected {var:.6g} (tolerance {N_SE * se_var:.3g}, n={n})")


def assert_fills_interval(w, low, high):
    """All of ``w`` lies in ``[low, high]`` and both ends are (nearly) reached.

    For ``n`` uniform draws the chance that none falls in the outer fraction
    ``20 / n`` of the interval at one end is ``(1 - 20/n)**n ~ e**-20``, so a
    bound that is too *wide* (not only too narrow) fails.
    """
    w = np.asarray(w).ravel()
    slack = 20.0 / w.size * (high - low)
    assert w.min() >= low and w.max() <= high, (w.min(), w.max(), low, high)
    assert w.min() <= low + slack and w.max() >= high - slack, (w.min(), w.max(), low, high)
