"""The statistics of the side-effect signal, in plain numbers: how often
sessions of a lot, a mixture, a practitioner... are followed by a side effect,
with a 95% Wilson interval, and whether that is well above the rest of the
clinic (a one-sided exact binomial test at 1%). No ORM here: the signal service
counts in SQL and asks these; the tests check them against reference values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

# The 97.5th percentile of the standard normal distribution: a two-sided 95% interval.
Z_95 = 1.959963984540054
# A rate is flagged when a rate at least this far above the rest of the clinic
# would arise by chance less than once in a hundred.
SIGNAL_ALPHA = 0.01


def wilson_interval(k: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of the proportion k/n (95% by default): unlike
    k/n ± 1.96·SE it stays within 0 and 1 and is honest for small n and for
    0 or n events. (0, 1) when there is nothing to count."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= k <= n:
        raise ValueError(f"{k} events out of {n} is not a proportion.")
    z2 = z * z
    centre = (k + z2 / 2) / (n + z2)
    half = z / (n + z2) * math.sqrt(k * (n - k) / n + z2 / 4)
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def _pmf_log(i: int, n: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p)


def _tail(start: int, n: int, p: float, step: int) -> float:
    """Sum of the binomial probabilities from `start` outwards (step +1: up to
    n, step -1: down to 0), away from the mode: each term is smaller than the
    one before, so the sum stops once they no longer count."""
    term = math.exp(_pmf_log(start, n, p))
    total, i, odds = term, start, p / (1 - p)
    end = n if step > 0 else 0
    while i != end:
        # From P(X = i) to P(X = i ± 1).
        term *= (n - i) / (i + 1) * odds if step > 0 else i / (n - i + 1) / odds
        i += step
        total += term
        if term < total * 1e-17:
            break
    return total


# The page and the reminder round ask the same tests of the same counts until
# the next round counts again: each is summed once (a few hundred terms for a
# group of thousands of sessions).
@lru_cache(maxsize=4096)
def binomial_upper_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the one-sided exact test's p-value
    of seeing k or more events in n trials where p was expected."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    mode = math.floor((n + 1) * p)
    if k > mode:
        return min(1.0, _tail(k, n, p, +1))
    return max(0.0, 1.0 - _tail(k - 1, n, p, -1))


@dataclass(frozen=True)
class Rate:
    """A group's sessions, those followed by a side effect, and how that
    compares with the rest of the clinic."""

    sessions: int
    with_side_effect: int
    low: float  # 95% Wilson interval
    high: float
    baseline: float | None  # the rest of the clinic's rate; None when there is no rest
    p_value: float | None
    flagged: bool

    @property
    def rate(self) -> float:
        return self.with_side_effect / self.sessions if self.sessions else 0.0

    @property
    def percent(self) -> float:
        return 100 * self.rate

    @property
    def low_percent(self) -> float:
        return 100 * self.low

    @property
    def high_percent(self) -> float:
        return 100 * self.high

    @property
    def ratio(self) -> float | None:
        """How many times the rest of the clinic's rate."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.rate / self.baseline


def rate_against_rest(
    k: int, n: int, clinic_k: int, clinic_n: int, *, alpha: float = SIGNAL_ALPHA, test: bool = True
) -> Rate:
    """The group's rate (k of its n sessions followed by a side effect) with its
    interval, tested against the rest of the clinic (clinic_k of clinic_n,
    the group included): flagged when, at the rest's rate, k or more would
    happen by chance with a probability under `alpha`. The rest, not the whole
    clinic, so a lot used in most sessions is not compared with itself.
    `test=False`: the rate and the rest's rate only (no p-value, never flagged)."""
    low, high = wilson_interval(k, n)
    rest_n, rest_k = clinic_n - n, clinic_k - k
    if n == 0 or rest_n <= 0:
        return Rate(n, k, low, high, None, None, False)
    baseline = rest_k / rest_n
    if not test:
        return Rate(n, k, low, high, baseline, None, False)
    p_value = binomial_upper_tail(k, n, baseline)
    return Rate(n, k, low, high, baseline, p_value, p_value < alpha and k / n > baseline)
