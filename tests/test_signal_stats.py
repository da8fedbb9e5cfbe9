"""The signal's statistics against reference values computed once with SciPy
1.17.1 (not a dependency of the app):

    from scipy.stats import binom, binomtest
    binom.sf(k - 1, n, p)                                   # P(X >= k)
    binomtest(k, n).proportion_ci(0.95, method="wilson")    # (low, high)
"""

import pytest

from sessions_app.signal_stats import binomial_upper_tail, rate_against_rest, wilson_interval

# (k, n, p, scipy's binom.sf(k - 1, n, p))
UPPER_TAILS = [
    (5, 20, 0.1, 0.04317449528446339),
    (0, 10, 0.2, 1.0),
    (15, 100, 0.03, 3.258023628067364e-07),
    (3, 3, 0.15, 0.0033749999999999995),
    (30, 200, 0.15, 0.5302659404529761),
    (1, 1, 0.5, 0.5),
    (40, 100, 0.1, 2.9455297937465308e-15),
    (12, 400, 0.03, 0.540148185273984),
    (75, 100, 0.15, 7.127708681255491e-41),
]

# (k, n, scipy's Wilson interval)
WILSON = [
    (0, 10, (0.0, 0.27753279986288926)),
    (5, 20, (0.11186170140766571, 0.468700877618744)),
    (10, 10, (0.7224672001371109, 1.0)),
    (1, 100, (0.001767432064140647, 0.054486196178705315)),
    (81, 263, (0.2552885198782742, 0.36620957698280004)),
    (15, 100, (0.09305985283656634, 0.23283559590832367)),
]


@pytest.mark.parametrize(("k", "n", "p", "expected"), UPPER_TAILS)
def test_the_exact_upper_tail_matches_scipy(k, n, p, expected):
    assert binomial_upper_tail(k, n, p) == pytest.approx(expected, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("k", "n", "expected"), WILSON)
def test_the_wilson_interval_matches_scipy(k, n, expected):
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(expected[0], rel=1e-12, abs=1e-15)
    assert high == pytest.approx(expected[1], rel=1e-12)


def test_edges_of_the_tail():
    assert binomial_upper_tail(0, 0, 0.5) == 1.0
    assert binomial_upper_tail(4, 3, 0.5) == 0.0  # more events than trials
    assert binomial_upper_tail(1, 50, 0.0) == 0.0  # none expected, one seen
    assert binomial_upper_tail(50, 50, 1.0) == 1.0
    # A large clinic stays fast and finite.
    assert 0 < binomial_upper_tail(4_800, 30_000, 0.15) < 1e-6


def test_an_interval_with_nothing_to_count_is_everything():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(5, 3)


def test_a_lot_at_five_times_the_rest_is_flagged_and_an_equal_one_is_not():
    # The clinic: 1,000 sessions, 60 followed by a side effect (6%).
    raised = rate_against_rest(k=15, n=50, clinic_k=60 + 15, clinic_n=1000 + 50)  # 30% against 6%
    assert raised.flagged and raised.baseline == pytest.approx(0.06)
    assert raised.ratio == pytest.approx(5.0)
    assert raised.p_value < 0.01
    equal = rate_against_rest(k=3, n=50, clinic_k=60 + 3, clinic_n=1000 + 50)  # 6% against 6%
    assert not equal.flagged and equal.p_value > 0.3


def test_a_group_not_tested_has_its_rate_and_the_rest_s_but_no_test():
    # Practitioners, areas and products: compared, not flagged (the test is for lots and mixtures).
    raised = rate_against_rest(k=15, n=50, clinic_k=60 + 15, clinic_n=1000 + 50, test=False)
    assert (raised.p_value, raised.flagged) == (None, False)
    assert raised.ratio == pytest.approx(5.0)


def test_a_group_with_no_rest_to_compare_is_never_flagged():
    alone = rate_against_rest(k=10, n=10, clinic_k=10, clinic_n=10)
    assert (alone.baseline, alone.p_value, alone.flagged) == (None, None, False)
    assert alone.rate == 1.0
