"""The experiment core on hand-computed tables: assignment, balance, power, Welch, bootstrap, DiD, Lin/CUPED, Holm."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from crm_kit import experiment as ex
from crm_kit.errors import DataError, EmptyGroupError, ParameterError


def test_the_docstring_examples_run():
    import crm_kit.experiment._assignment as a
    import crm_kit.experiment._comparisons as c
    import crm_kit.experiment._estimates as e

    for module in (a, c, e):
        failed, tried = doctest.testmod(module, extraglobs={"pd": pd}, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert tried and not failed, module.__name__


# ----------------------------------------------------------------------------- design


def test_largest_remainder_by_hand():
    assert ex.largest_remainder([1, 1, 1], 10).tolist() == [4, 3, 3]  # 3.33 each; the first gets the spare
    assert ex.largest_remainder([0.6, 0.3], 93).tolist() == [62, 31]  # quotas 62, 31 exactly
    # quotas 3.5, 1.75, 1.75: floors 3, 1, 1; the two spare units go to the larger remainders (.75, .75)
    assert ex.largest_remainder([0.5, 0.25, 0.25], 7).tolist() == [3, 2, 2]
    assert ex.largest_remainder([0.2, 0.8], 0).tolist() == [0, 0]


def test_arm_shares_are_checked_and_filled():
    assert [a["share"] for a in ex.check_arm_shares([{"name": "a"}, {"name": "b"}], control_share=0.2)] == \
        pytest.approx([0.4, 0.4])
    kept = ex.check_arm_shares([{"name": " a ", "share": 0.5, "colour": "red"}], control_share=0.5)
    assert kept == [{"name": "a", "share": 0.5, "colour": "red"}]  # other keys pass through to the caller
    for bad, message in [([{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}], "add up to 1"),
                         ([{"name": "a", "share": 0.4}, {"name": "b"}], "every arm or to none"),
                         ([{"name": "a"}, {"name": "a"}], "must differ"),
                         ([{"name": "control"}], "held-out group"),
                         ([{"share": 0.3}], "needs a name"),
                         ({"name": "a"}, "list of mappings"),
                         ([{"name": "a", "share": 1.2}], "between 0 and 1")]:
        with pytest.raises(ParameterError, match=message):
            ex.check_arm_shares(bad, control_share=0.2)


def test_assignment_is_seeded_stratified_and_order_free():
    units = pd.DataFrame({"customer_id": [f"u{i:02d}" for i in range(30)], "s": ["x"] * 20 + ["y"] * 10})
    split = ex.assign_arms(units, control_share=0.3, stratify_by="s", seed=7)
    counts = split.merge(units, on="customer_id").groupby(["s", "arm"]).size().to_dict()
    assert counts == {("x", "control"): 6, ("x", "treatment"): 14, ("y", "control"): 3, ("y", "treatment"): 7}
    assert split.equals(ex.assign_arms(units.iloc[::-1], control_share=0.3, stratify_by="s", seed=7))
    assert not split.equals(ex.assign_arms(units, control_share=0.3, stratify_by="s", seed=8))
    three = ex.assign_arms(units, control_share=0.2, seed=1, treatment_arms=[{"name": "a", "share": 0.5},
                                                                             {"name": "b", "share": 0.3}])
    assert three["arm"].value_counts().to_dict() == {"a": 15, "b": 9, "control": 6}  # 24 by 5:3
    # the control group does not depend on how the rest is split
    one = ex.assign_arms(units, control_share=0.2, seed=1)
    assert (three["arm"] == "control").equals(one["arm"] == "control")
    with pytest.raises(EmptyGroupError, match="empty"):
        ex.assign_arms(units.iloc[:0])
    with pytest.raises(ParameterError, match="repeats ids"):
        ex.assign_arms(pd.concat([units, units]))
    with pytest.raises(ParameterError, match="strictly between 0 and 1"):
        ex.assign_arms(units, control_share=1)


def test_balance_table_standardised_difference_by_hand():
    frame = pd.DataFrame({"arm": ["treatment"] * 3 + ["control"] * 3, "x": [1.0, 2.0, 3.0, 2.0, 3.0, 4.0],
                          "kind": ["a", "a", "b", "a", "b", "b"]})
    table = ex.balance_table(frame, columns=["x", "kind", "absent"]).set_index("variable")
    # means 2 and 3, both variances 1: d = -1
    assert table.loc["x", "std_difference"] == pytest.approx(-1.0) and not table.loc["x", "balanced"]
    # kind = a: 2/3 against 1/3, variances 1/3 each: d = (1/3) / sqrt(1/3)
    assert table.loc["kind = a", "std_difference"] == pytest.approx((1 / 3) / np.sqrt(1 / 3))
    assert "absent" not in table.index
    with pytest.raises(DataError, match="arm column"):
        ex.balance_table(frame.drop(columns="arm"), columns=["x"])


def test_power_and_mde_agree_with_the_normal_formula_on_a_large_group():
    outcome = pd.Series(np.random.default_rng(0).normal(100, 20, 5000))
    check = ex.power_analysis(outcome, effect=2.0, group_size=20_000, control_share=0.25)
    sd = outcome.std(ddof=1)
    n_t, n_c = 15_000, 5_000
    mde_normal = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * sd * np.sqrt(1 / n_t + 1 / n_c)
    assert check["mde"] == pytest.approx(mde_normal, rel=1e-3)
    z = 2.0 / (sd * np.sqrt(1 / n_t + 1 / n_c))
    assert check["power_at_plan"] == pytest.approx(stats.norm.cdf(z - stats.norm.ppf(0.975)), abs=1e-3)
    assert check["big_enough"] == (check["power_at_plan"] >= 0.8)
    # an outcome with no spread has no power to compute: said (sd 0, power None), never a crash of the design
    flat = ex.power_analysis(pd.Series([5.0] * 10), effect=1.0, group_size=10, control_share=0.5)
    assert flat["sd"] == 0.0 and flat["power_at_plan"] is None and flat["mde"] is None and not flat["big_enough"]
    with pytest.raises(EmptyGroupError):
        ex.power_analysis(outcome, effect=1.0, group_size=3, control_share=0.5)


def test_adjusted_power_uses_one_minus_r_squared_of_the_variance():
    rng = np.random.default_rng(1)
    pre = pd.DataFrame({"x": rng.normal(0, 1, 4000)})
    outcome = pd.Series(3 * pre["x"] + rng.normal(0, 1, 4000))  # R² = 9 / 10
    plain = ex.power_analysis(outcome, effect=0.2, group_size=4000, control_share=0.5)
    adjusted = ex.adjusted_power(outcome, pre, effect=0.2, group_size=4000, control_share=0.5)
    assert adjusted["r_squared"] == pytest.approx(0.9, abs=0.01)
    assert adjusted["mde"] == pytest.approx(plain["mde"] * np.sqrt(1 - adjusted["r_squared"]), rel=1e-3)
    with pytest.raises(DataError, match="missing"):
        ex.adjusted_power(outcome, pre.iloc[:10], effect=0.2, group_size=4000, control_share=0.5)


# ----------------------------------------------------------------------------- analysis


def test_welch_by_its_formula():
    a, b = np.array([3.0, 4.0, 5.0, 9.0]), np.array([1.0, 2.0, 3.0, 2.0, 0.0])
    va, vb = a.var(ddof=1) / 4, b.var(ddof=1) / 5
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 4)
    half = stats.t.ppf(0.95, df) * np.sqrt(va + vb)
    diff, lo, hi, p = ex.welch_difference(a, b, level=0.9)
    assert (diff, lo, hi) == pytest.approx((a.mean() - b.mean(), a.mean() - b.mean() - half, a.mean() - b.mean() + half))
    assert p == pytest.approx(2 * stats.t.sf(diff / np.sqrt(va + vb), df))


def test_ratio_difference_point_estimate_by_hand_and_seeded_interval():
    t_num, t_den = [10.0, 20.0, 30.0], [1, 2, 2]  # 60 / 5 = 12
    c_num, c_den = [5.0, 15.0], [1, 1]            # 20 / 2 = 10
    est, lo, hi = ex.ratio_difference(t_num, t_den, c_num, c_den, n_boot=500, seed=3)
    assert est == pytest.approx(2.0) and lo <= est <= hi
    assert (est, lo, hi) == ex.ratio_difference(t_num, t_den, c_num, c_den, n_boot=500, seed=3)


def test_difference_in_differences_by_hand():
    frame = pd.DataFrame({"arm": ["treatment"] * 3 + ["control"] * 3,
                          "y": [12.0, 14.0, 16.0, 9.0, 10.0, 11.0], "x": [10.0, 10.0, 10.0, 8.0, 8.0, 8.0]})
    out = ex.difference_in_means(frame, outcome="y", baseline="x")
    assert out["lift"] == pytest.approx(14 - 10) and out["did"] == pytest.approx((14 - 10) - (10 - 8))
    assert out["treated_base_mean"] == 10.0
    with pytest.raises(EmptyGroupError, match="two units per arm"):
        ex.difference_in_means(frame.iloc[2:], outcome="y")


def test_lins_estimate_is_the_difference_of_per_arm_regression_predictions_at_the_overall_mean():
    rng = np.random.default_rng(5)
    n = 400
    t = (rng.random(n) < 0.5).astype(float)
    x = rng.normal(5, 2, (n, 2))
    y = 1 + 2 * t + x @ [1.5, -0.5] + t * x[:, 0] * 0.3 + rng.normal(0, 1, n)
    est, lo, hi, explained = ex.regression_adjusted_difference(y, t, x)
    xbar = x.mean(axis=0)
    predictions = []
    for arm in (1.0, 0.0):
        X = np.column_stack([np.ones(int((t == arm).sum())), x[t == arm]])
        beta = np.linalg.lstsq(X, y[t == arm], rcond=None)[0]
        predictions.append(beta[0] + beta[1:] @ xbar)
    assert est == pytest.approx(predictions[0] - predictions[1], rel=1e-9)
    assert lo < est < hi and 0.5 < explained < 1


def test_adjusted_differences_narrow_the_interval_by_about_the_variance_explained():
    rng = np.random.default_rng(2)
    n = 2000
    pre = rng.gamma(2, 50, n)
    arm = np.where(rng.random(n) < 0.5, "treatment", "control")
    y = 0.9 * pre + 10 * (arm == "treatment") + rng.normal(0, 20, n)
    frame = pd.DataFrame({"arm": arm, "y": y, "pre": pre})
    out = ex.adjusted_differences(frame, outcomes=["y"], covariates=["pre"]).iloc[0]
    assert out["adjusted_ci_low"] < 10 < out["adjusted_ci_high"]
    assert out["width_gain"] == pytest.approx(1 - np.sqrt(1 - out["variance_explained"]), abs=0.03)
    plain = ex.welch_difference(y[arm == "treatment"], y[arm == "control"])
    assert (out["lift"], out["ci_low"], out["ci_high"]) == pytest.approx(plain[:3])
    with pytest.raises(DataError, match="missing"):
        ex.adjusted_differences(frame.assign(pre=np.nan), outcomes=["y"], covariates=["pre"])


def test_incremental_return_by_hand():
    out = ex.incremental_return(5.0, 1.0, 9.0, treated=100, cost=250.0, gross_margin=0.4)
    assert out["incremental_sales"] == 500 and (out["incremental_sales_ci_low"], out["incremental_sales_ci_high"]) == (100, 900)
    assert out["return_on_spend"] == 2.0 and out["roi"] == pytest.approx((200 - 250) / 250)
    assert ex.incremental_return(5.0, 1.0, 9.0, treated=100, cost=0.0, gross_margin=0.4)["roi"] is None


def test_holm_levels_and_compare_arms_by_hand():
    assert ex.holm_levels([0.001, 0.04, 0.02], 0.05) == pytest.approx([1 - 0.05 / 3, 1 - 0.05 / 1, 1 - 0.05 / 2])
    # the second smallest p fails its step: it and every later one get Bonferroni's level
    assert ex.holm_levels([0.001, 0.9, 0.03], 0.05) == pytest.approx([1 - 0.05 / 3, 1 - 0.05 / 3, 1 - 0.05 / 3])
    frame = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4 + ["control"] * 4,
                          "y": [5.0, 6, 7, 8, 1, 2, 3, 4, 0, 1, 1, 2]})
    out = ex.compare_arms(frame, arm_col="g", metrics=["y"]).set_index(["arm", "against"])
    assert list(out.index) == [("a", "control"), ("b", "control"), ("a", "b")]
    raw = out["p_value"].to_dict()
    order = sorted(raw, key=raw.get)
    running = 0.0
    for rank, key in enumerate(order):
        running = max(running, min(1.0, raw[key] * (3 - rank)))
        assert out.loc[key, "holm_p"] == pytest.approx(running)
    assert out.loc[("a", "control"), "difference"] == pytest.approx(6.5 - 1.0)
    with pytest.raises(EmptyGroupError, match="no control"):
        ex.compare_arms(frame[frame["g"] != "control"], arm_col="g", metrics=["y"])


def _wilson(x, n, level):
    z = stats.norm.ppf(1 - (1 - level) / 2)
    p = x / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def test_outcome_lift_rates_with_newcombes_interval_by_its_formula():
    outcomes = pd.DataFrame({"arm": ["t"] * 50 + ["control"] * 40,
                             "bought": [1] * 20 + [0] * 30 + [1] * 8 + [0] * 32,
                             "spend": np.arange(90, dtype=float)})
    out = ex.outcome_lift(outcomes, binary=["bought"], continuous=["spend"]).set_index("outcome")
    p1, p2 = 20 / 50, 8 / 40
    l1, u1 = _wilson(20, 50, 0.95)
    l2, u2 = _wilson(8, 40, 0.95)
    d = p1 - p2
    assert out.loc["bought", "lift"] == pytest.approx(d)
    assert out.loc["bought", "ci_low"] == pytest.approx(d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2))
    assert out.loc["bought", "ci_high"] == pytest.approx(d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
    assert out.loc["spend", "lift"] == pytest.approx(np.arange(50).mean() - np.arange(50, 90).mean())
    with pytest.raises(EmptyGroupError):
        ex.outcome_lift(outcomes, binary=["bought"], control="nobody")


def test_lift_by_level_leaves_small_levels_without_an_estimate():
    frame = pd.DataFrame({"arm": ["treatment", "control"] * 15, "y": np.arange(30, dtype=float)},
                         index=[f"u{i}" for i in range(30)])
    levels = pd.Series(["big"] * 24 + ["small"] * 6, index=frame.index, name="size")
    out = ex.lift_by_level(frame, levels, outcome="y", min_size=5).set_index("size")
    assert out.loc["big", "lift"] == pytest.approx(-1.0)  # even minus odd positions
    assert np.isnan(out.loc["small", "lift"]) and out.loc["small", "treated"] == 3


@settings(max_examples=25, deadline=None)
@given(n_t=st.integers(4, 40), n_c=st.integers(4, 40), shift=st.floats(-5, 5), seed=st.integers(0, 1000))
def test_lin_equals_the_plain_difference_when_the_covariate_is_exactly_balanced(n_t, n_c, shift, seed):
    """Lin's estimate is ``(y_t - b_t (x_t - x)) - (y_c - b_c (x_c - x))`` (bars: means): with the covariate's mean
    the same in both arms the adjustment terms vanish and it is the plain difference in means, whatever the data."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n_t + n_c)
    t = np.r_[np.ones(n_t), np.zeros(n_c)]
    x[:n_t] -= x[:n_t].mean()
    x[n_t:] -= x[n_t:].mean()
    y = shift * t + 2 * x + rng.normal(0, 1, n_t + n_c)
    est, lo, hi, _explained = ex.regression_adjusted_difference(y, t, x[:, None])
    assert est == pytest.approx(y[:n_t].mean() - y[n_t:].mean(), abs=1e-9)
    assert lo <= est <= hi


# ----------------------------------------------------------------------------- simulation checks (issue 39)
# small versions of benchmarks/bench_experiment.py, which runs the same functions ten times longer


def _bench():
    import sys

    from conftest import ROOT

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_experiment
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return bench_experiment


def test_the_simulations_measure_compare_arms_own_intervals():
    """The vectorised Welch of the simulations is compare_arms's joint interval, replicate for replicate."""
    bench = _bench()
    sim = bench.experiments(3, sizes=(30, 25, 20), means=(10.0, 12.0, 9.0), sd=4.0, seed=5)
    for rep in range(3):
        table = pd.concat([pd.DataFrame({"arm": name, "y": values[rep]}) for name, values in sim["data"].items()])
        out = ex.compare_arms(table, arm_col="arm", metrics=["y"])
        assert [tuple(p) for p in zip(out["arm"], out["against"])] == sim["pairs"]
        assert out["joint_ci_low"].to_numpy() == pytest.approx(sim["joint_low"][rep])
        assert out["joint_ci_high"].to_numpy() == pytest.approx(sim["joint_high"][rep])
        assert out["p_value"].to_numpy() == pytest.approx(sim["p_value"][rep])


@pytest.mark.parametrize("sizes, means", [((120, 100, 100), (100.0, 110.0, 100.0)),
                                          ((120, 100, 100, 100), (100.0, 125.0, 140.0, 112.0))])
def test_joint_intervals_cover_every_true_difference_at_least_94_percent_of_the_time(sizes, means):
    cov = _bench().joint_coverage(1500, sizes=sizes, means=means, seed=11)
    assert cov["joint"] >= 0.94, cov


@pytest.mark.parametrize("sizes", [(150, 150, 150), (200, 150, 150, 150)])
def test_arm_power_is_the_power_the_joint_intervals_realise(sizes):
    power = _bench().realised_power(1500, sizes=sizes, seed=3)
    assert power["planned"] == pytest.approx(0.8, abs=1e-6)
    assert abs(power["realised"] - power["planned"]) <= 0.03, power


def test_randomised_counts_have_their_quotas_as_expectation_exactly():
    class Fixed:  # a generator whose uniform draw we choose, to integrate over it
        def __init__(self, u):
            self.u = u

        def random(self):
            return self.u

    for quota in ([0.3, 2.7], [1.25, 1.25, 0.5], [2.0, 0.35, 0.65, 1.0], [0.1, 0.1, 0.8]):
        grid = (np.arange(2000) + 0.5) / 2000
        counts = np.array([ex.randomised_counts(quota, Fixed(u)) for u in grid])
        assert (counts.sum(axis=1) == round(sum(quota))).all()
        assert (counts >= np.floor(quota)).all() and (counts <= np.ceil(quota)).all()
        assert counts.mean(axis=0) == pytest.approx(quota, abs=1e-3)


def test_every_unit_has_the_same_chance_of_control_in_strata_of_1_to_10():
    chances = _bench().control_chances(300, share=0.1)
    # 300 seeds: a stratum of n units gives 300 n draws; 4.5 standard errors of a 10 % chance
    se = np.sqrt(0.1 * 0.9 / (300 * chances["size"]))
    assert ((chances["chance_of_control"] - 0.1).abs() <= 4.5 * se).all(), chances
    # rounding half to even, as before, gave strata of 1 to 5 no control at all
    assert (chances.loc[chances["size"] <= 5, "half_to_even"] == 0).all()


def test_strata_too_small_to_split_are_named_in_the_notes():
    units = pd.DataFrame({"customer_id": [f"u{i:02d}" for i in range(23)], "s": ["big"] * 20 + ["tiny"] * 3})
    arms = ex.assign_arms(units, control_share=0.1, stratify_by="s", seed=0)
    assert len(arms.attrs["notes"]) == 1 and "tiny (3)" in arms.attrs["notes"][0]
    assert "big" not in arms.attrs["notes"][0]
    assert ex.assign_arms(units.iloc[:20], control_share=0.1, stratify_by="s", seed=0).attrs["notes"] == []
    from crm_kit.campaign import assignment_note

    assert "tiny (3)" in assignment_note(arms)
    def arms_b(share_b):
        return ex.assign_arms(units.iloc[:20], control_share=0.2, seed=0,
                              treatment_arms=[{"name": "a", "share": 0.8 - share_b}, {"name": "b", "share": share_b}])

    assert arms_b(0.05).attrs["notes"] == []  # b's quota is one unit: 20 x 0.05 = 1
    assert "all (20)" in arms_b(0.04).attrs["notes"][0]  # 20 x 0.04 = 0.8: b is empty one time in five


def test_interval_check_flags_few_controls_heavy_zeros_and_skew():
    rng = np.random.default_rng(0)
    fine = ex.interval_check(rng.normal(100, 20, 400), rng.normal(100, 20, 100))
    assert fine["trusted"] and fine["reasons"] == []
    few = ex.interval_check(rng.normal(100, 20, 400), rng.normal(100, 20, 9))
    assert not few["trusted"] and "only 9 control units" in few["reasons"][0]
    zeros = ex.interval_check(rng.normal(100, 20, 400), np.r_[np.zeros(75), rng.normal(100, 20, 25)])
    assert not zeros["trusted"] and "75% of the control units are at zero: only 25" in zeros["reasons"][0]
    # skewness of the difference by its formula: 60 controls, 30 of them with a value, one of them huge
    a, b = np.r_[np.zeros(500), np.ones(500)], np.r_[np.zeros(30), np.ones(29), 1000.0]
    g = (np.mean((a - a.mean()) ** 3) / 1000**2 - np.mean((b - b.mean()) ** 3) / 60**2) / \
        (a.var(ddof=1) / 1000 + b.var(ddof=1) / 60) ** 1.5
    out = ex.interval_check(a, b)
    assert out["mean_skewness"] == pytest.approx(g) and g < -0.2
    assert not out["trusted"] and len(out["reasons"]) == 1 and "skewed" in out["reasons"][0]
    with pytest.raises(EmptyGroupError, match="two units per arm"):
        ex.interval_check([1.0], [1.0, 2.0])


def test_permutation_difference_by_enumeration_on_a_tiny_table():
    from itertools import combinations

    a, b = np.array([5.0, 7.0, 9.0, 6.0, 8.0]), np.array([1.0, 2.0, 4.0, 6.0, 3.0])
    y = np.r_[a, b]
    # all 252 splits: the exact two-sided p-value of the difference in means
    stats_all = [y[list(s)].mean() - np.delete(y, list(s)).mean() for s in combinations(range(10), 5)]
    exact = np.mean(np.abs(stats_all) >= abs(a.mean() - b.mean()) - 1e-12)
    d, lo, hi, p = ex.permutation_difference(a, b, n_perm=20000, seed=1)
    assert d == pytest.approx(7.0 - 3.2) and p == pytest.approx(exact, abs=0.005)
    assert lo < d < hi and np.isfinite([lo, hi]).all()
    # the interval's ends are shifts the test just rejects: moving the treated by them gives p at the level
    for end, nudge in ((hi, 1.001), (lo, 0.999)):
        _d, _lo, _hi, p_at_end = ex.permutation_difference(a - end * nudge, b, n_perm=20000, seed=1)
        assert p_at_end <= 0.05
    # three against three: the smallest p-value is 2/20, so no shift is rejected at 5 %
    assert ex.permutation_difference(a[:3], b[:3], n_perm=2000)[1:3] == (-np.inf, np.inf)


def test_the_permutation_interval_holds_where_welchs_does_not():
    rates = _bench().type_one_rates(300, n_perm=500, seed=4)
    assert rates["welch"] > 0.06  # the normal interval on 40 zero-heavy controls rejects a true null too often
    assert rates["permutation"] <= 0.065  # 300 experiments: 5 % plus one standard error and a half
    assert rates["flagged"] == 1.0  # and interval_check says so every time


def test_compare_arms_and_outcome_lift_say_when_a_welch_interval_is_not_to_be_trusted():
    """Twelve controls: every comparison against control names the small arm; a rate's Newcombe interval holds."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"arm": ["a"] * 200 + ["b"] * 200 + ["control"] * 12,
                          "sales": rng.normal(100, 10, 412), "bought": rng.integers(0, 2, 412)})
    table = ex.compare_arms(frame, arm_col="arm", metrics=["sales"], control="control")
    notes = table.set_index(["arm", "against"])["interval_note"]
    assert all(notes[(arm, "control")].startswith("only 12 control units (fewer than 30)") for arm in "ab")
    assert notes[("a", "b")] == ""  # 200 against 200, normal spend: trusted
    lift = ex.outcome_lift(frame, binary=["bought"], continuous=["sales"]).set_index(["arm", "outcome"])
    assert lift.loc[("a", "sales"), "interval_note"].startswith("only 12 control units (fewer than 30)")
    assert lift.loc[("a", "bought"), "interval_note"] == ""
