"""CLV: the summary equals pymc-marketing's rfm_summary; the fit equals a direct pymc-marketing call."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_kit import DataError, ParameterError, load_store
from crm_kit import clv
from conftest import StraightLineModel, shared_file


def _reference_summary(lines: pd.DataFrame, calibration_end: str, time_unit: str) -> pd.DataFrame:
    from pymc_marketing.clv import rfm_summary

    cal_end = pd.Timestamp(calibration_end)
    lines = lines[lines["ts"] < cal_end]
    ref = rfm_summary(lines, "customer_id", "ts", monetary_value_col="amount",
                      observation_period_end=cal_end - pd.Timedelta(days=1), time_unit=time_unit)
    return ref.sort_values("customer_id").reset_index(drop=True)


@pytest.mark.parametrize("time_unit, reference_unit, scale", [("D", "D", 1.0), ("W", "D", 7.0), ("M", "D", 30.4375),
                                                               ("W_calendar", "W", 1.0)])
def test_summary_equals_pymc_marketing_rfm_summary(demo_store, demo_dir, time_unit, reference_unit, scale):
    """D equals rfm_summary in days; W and M are the same purchase days with recency and T divided by 7 and
    30.4375 (the literature's weeks); only W_calendar buckets calendar weeks like rfm_summary(time_unit="W")."""
    ours = clv.clv_summary(demo_store.transactions, calibration_end="2025-03-01", time_unit=time_unit)
    lines = pd.read_parquet(demo_dir / "transactions.parquet", columns=["customer_id", "ts", "amount"])
    ref = _reference_summary(lines, "2025-03-01", reference_unit)
    ref["recency"], ref["T"] = ref["recency"] / scale, ref["T"] / scale
    assert ours["customer_id"].tolist() == ref["customer_id"].tolist()
    for col in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[col], ref[col], rtol=1e-9, atol=1e-9, err_msg=col)


def test_summary_by_hand(tmp_path):
    lines = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b"], "order_id": ["1", "2", "3", "4"],
        "ts": pd.to_datetime(["2025-01-01 09:00", "2025-01-01 18:00", "2025-01-11 10:00", "2025-01-20 10:00"]),
        "product_id": "p", "quantity": 1.0, "amount": [10.0, 5.0, 30.0, 7.0],
    })
    lines.to_parquet(tmp_path / "t.parquet")
    store = load_store({"tables": {"transactions": {"path": str(tmp_path / "t.parquet")}}})
    s = clv.clv_summary(store.transactions, calibration_end="2025-02-01", observation_end="2025-03-01").set_index("customer_id")
    # a: purchase days 01-01 (two orders, one period) and 01-11 -> frequency 1, recency 10, T = 01-31 - 01-01 = 30
    assert s.loc["a", "frequency"] == 1 and s.loc["a", "recency"] == 10 and s.loc["a", "T"] == 30
    assert s.loc["a", "monetary_value"] == 30  # the repeat purchase only
    assert s.loc["b", "frequency"] == 0 and s.loc["b", "monetary_value"] == 0
    assert s.loc["a", "holdout_frequency"] == 0 and s.loc["a", "holdout_duration"] == 28
    w = clv.clv_summary(store.transactions, calibration_end="2025-02-01", time_unit="W").set_index("customer_id")
    assert w.loc["a", "frequency"] == 1 and w.loc["a", "recency"] == pytest.approx(10 / 7)
    assert w.loc["a", "T"] == pytest.approx(30 / 7)
    # a time of day in the calibration end: the 10:00 purchase on 01-11 counts, T runs to that day, recency <= T
    noon = clv.clv_summary(store.transactions, calibration_end="2025-01-11 12:00").set_index("customer_id")
    assert noon.loc["a", "frequency"] == 1 and noon.loc["a", "recency"] == 10 and noon.loc["a", "T"] == 10
    with pytest.raises(ParameterError, match="time_unit"):
        clv.clv_summary(store.transactions, calibration_end="2025-02-01", time_unit="Y")
    with pytest.raises(DataError, match="no purchases before"):
        clv.clv_summary(store.transactions, calibration_end="2024-01-01")


def _direct_fit(summary: pd.DataFrame):
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    flat = {k: Prior("HalfFlat") for k in ("a", "b", "alpha", "r")}
    bg = BetaGeoModel(data=summary[["customer_id", "frequency", "recency", "T"]], model_config=flat)
    bg.fit(method="map")
    repeat = summary[summary["frequency"] > 0]
    gg = GammaGammaModel(data=repeat[["customer_id", "monetary_value", "frequency"]],
                         model_config={k: Prior("HalfFlat") for k in ("p", "q", "v")})
    gg.fit(method="map")
    return bg, gg


def _check_against_direct(summary: pd.DataFrame, *, spend_degenerate: bool = False):
    ours = clv.fit_clv(summary, horizon_months=6)
    bg, gg = _direct_fit(summary)
    for name in ("a", "b", "alpha", "r"):
        assert ours.params[name] == pytest.approx(float(bg.idata.posterior[name].mean()), rel=1e-6), name
    direct_purchases = bg.expected_purchases(data=summary, future_t=180).mean(("chain", "draw")).to_numpy()
    np.testing.assert_allclose(ours.customers["expected_purchases"], direct_purchases, rtol=1e-6)
    direct_alive = bg.expected_probability_alive(data=summary).mean(("chain", "draw")).to_numpy()
    np.testing.assert_allclose(ours.customers["probability_alive"], direct_alive, rtol=1e-6)
    if spend_degenerate:  # the spend model is flagged and replaced by the stated estimate
        assert ours.spend_method == "shrunk mean" and ours.problems
        np.testing.assert_allclose(ours.customers["expected_spend"], clv.shrunk_spend(summary), rtol=1e-9)
    else:
        assert ours.spend_method == "gamma-gamma"
        direct_spend = gg.expected_customer_spend(data=summary).mean(("chain", "draw")).to_numpy()
        np.testing.assert_allclose(ours.customers["expected_spend"], direct_spend, rtol=1e-6)
    return ours


@pytest.mark.realdata
def test_fit_equals_direct_pymc_marketing_on_online_retail():
    path = shared_file("online_retail", "online_retail.parquet")
    store = load_store("params/data/online_retail.yaml")
    assert path.exists()
    summary = clv.clv_summary(store.transactions, calibration_end="2011-09-01", observation_end="2011-12-10")
    result = _check_against_direct(summary)
    table = clv.calibration_table(result)
    # the model tracks the holdout: predicted and actual means within a factor of two per group
    assert ((table["predicted"] + 0.2) / (table["actual"] + 0.2)).between(0.5, 2.0).all()
    # classical estimates on this data (lifetimes/BTYD users will recognise their order of magnitude)
    assert 0 < result.params["r"] < 2 and result.params["alpha"] > 10


def test_fit_equals_direct_pymc_marketing_on_the_demo_store(demo_store):
    summary = clv.clv_summary(demo_store.transactions, calibration_end="2025-06-01", observation_end="2025-09-01")
    summary = summary.sample(3000, random_state=0).sort_values("customer_id").reset_index(drop=True)
    # the demo's members keep their own mean ticket (gamma-mixed): the spend model is regular
    _check_against_direct(summary, spend_degenerate=False)


def test_bad_clv_options():
    s = pd.DataFrame({"customer_id": ["a"], "frequency": [1.0], "recency": [1.0], "T": [2.0], "monetary_value": [3.0]})
    with pytest.raises(ParameterError, match="model="):
        clv.fit_clv(s, model="lifetimes")
    # too few repeat buyers is no error: the rest of segmentation stands, the CLV columns are empty and say why
    unfitted = clv.fit_clv(s)
    assert not unfitted.fitted and unfitted.params == {} and unfitted.customers["clv"].isna().all()
    assert unfitted.verdict.startswith("CLV is not estimated: 1 of 1 customers bought on more than one day")


def test_pareto_nbd_recovers_the_parameters_it_was_simulated_with():
    """Pareto/NBD: purchases Poisson(lambda) while alive, lifetime Exp(mu), lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta).

    1,500 simulated customers over 52 weeks (simulation written here, independent of
    pymc-marketing); MAP under flat priors is maximum likelihood, so the estimates
    must land near the truth. s and beta are weakly identified one by one, their
    ratio (the mean dropout rate) is not.
    """
    rng = np.random.default_rng(1)
    n, r, alpha, s, beta, T = 1500, 0.8, 5.0, 0.6, 12.0, 52.0
    lam, mu = rng.gamma(r, 1 / alpha, n), rng.gamma(s, 1 / beta, n)
    alive_until = np.minimum(rng.exponential(1 / mu), T)
    frequency = rng.poisson(lam * alive_until)
    recency = np.array([rng.uniform(0, end, k).max() if k else 0.0 for k, end in zip(frequency, alive_until)])
    summary = pd.DataFrame({"customer_id": [f"c{i:04d}" for i in range(n)], "frequency": frequency.astype(float),
                            "recency": recency, "T": T,
                            "monetary_value": np.where(frequency > 0, rng.gamma(4.0, 10.0, n), 0.0)})
    result = clv.fit_clv(summary, model="pareto", time_unit="W")
    p = result.params
    assert p["r"] == pytest.approx(r, rel=0.15) and p["alpha"] == pytest.approx(alpha, rel=0.15)
    assert p["s"] / p["beta"] == pytest.approx(s / beta, rel=0.25)
    out = result.customers
    assert out["probability_alive"].between(0, 1).all() and (out["expected_purchases"] >= 0).all()
    # a customer seen buying often and recently is more likely alive than one who bought early and stopped
    recent = out[(out["frequency"] >= 5) & (out["recency"] > 50)]["probability_alive"].mean()
    lapsed = out[(out["frequency"] >= 5) & (out["recency"] < 10)]["probability_alive"].mean()
    assert recent > lapsed


def _simulate_bgnbd(n: int, *, r: float, alpha: float, a: float, b: float, days: int, seed: int) -> pd.DataFrame:
    """Line items of a BG/NBD process in days, simulated here (independent of pymc-marketing).

    Each customer is born on a random day of the first third of the window, buys at a Poisson rate
    lambda ~ Gamma(r, 1/alpha) per day and after each purchase drops out with probability p ~ Beta(a, b).
    """
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    birth = rng.integers(0, days // 3, n)
    rows = []
    for i in range(n):
        t = float(birth[i])
        rows.append((i, t))
        while True:
            t += rng.exponential(1 / lam[i])
            if t >= days:
                break
            rows.append((i, t))
            if rng.random() < p[i]:
                break
    cust, when = zip(*rows)
    start = pd.Timestamp("2024-01-01")
    return pd.DataFrame({"customer_id": [f"c{c:05d}" for c in cust], "order_id": [f"o{k}" for k in range(len(rows))],
                         "ts": start + pd.to_timedelta(np.asarray(when), unit="D"), "product_id": "p", "quantity": 1.0,
                         "amount": 10.0 + rng.gamma(2.0, 5.0, len(rows))})


def test_bgnbd_is_recovered_in_days_and_in_weeks_without_conversion(tmp_path):
    """The literature's convention: a fit in weeks gives r, a, b as in days and alpha in weeks (alpha_days / 7)."""
    truth = {"r": 0.6, "alpha": 30.0, "a": 0.8, "b": 2.5}
    lines = _simulate_bgnbd(3000, **truth, days=546, seed=3)
    lines.to_parquet(tmp_path / "t.parquet")
    store = load_store({"tables": {"transactions": {"path": str(tmp_path / "t.parquet")}}})
    end = pd.Timestamp("2024-01-01") + pd.Timedelta(days=546)
    fits = {unit: clv.fit_clv(clv.clv_summary(store.transactions, calibration_end=end, time_unit=unit), time_unit=unit,
                              progressbar=False).params for unit in ("D", "W")}
    days, weeks = fits["D"], fits["W"]
    # close to the generating values (one simulated store: 20 % for r and alpha, 35 % for the dropout pair)
    assert days["r"] == pytest.approx(truth["r"], rel=0.2) and days["alpha"] == pytest.approx(truth["alpha"], rel=0.2)
    assert days["a"] / (days["a"] + days["b"]) == pytest.approx(truth["a"] / (truth["a"] + truth["b"]), rel=0.35)
    # weeks: the same fit rescaled, no conversion by the user
    assert weeks["r"] == pytest.approx(days["r"], rel=1e-3) and weeks["alpha"] == pytest.approx(days["alpha"] / 7, rel=1e-3)
    assert weeks["a"] == pytest.approx(days["a"], rel=1e-3) and weeks["b"] == pytest.approx(days["b"], rel=1e-3)


def test_a_degenerate_spend_fit_is_flagged_and_replaced_by_a_stated_estimate():
    """Constant spend per customer (every purchase Gamma(4, mean 50), the same for all): Gamma-Gamma's q and v run
    off toward infinity; the kit says so and uses the shrunk mean, which is then close to 50 for everybody."""
    rng = np.random.default_rng(0)
    n = 600
    frequency = rng.integers(0, 8, n).astype(float)
    spends = [rng.gamma(4.0, 12.5, int(k)) for k in frequency]
    summary = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "frequency": frequency,
                            "recency": frequency * 5.0, "T": 60.0,
                            "monetary_value": [s.mean() if len(s) else 0.0 for s in spends],
                            "monetary_variance": [s.var(ddof=1) if len(s) > 1 else np.nan for s in spends]})
    first = clv.fit_clv(summary, progressbar=False)
    assert first.spend_method == "shrunk mean" and any("Gamma-Gamma" in p for p in first.problems)
    assert "degenerate" in first.verdict and first.params["q"] is None and first.params["v"] is None
    assert first.customers["expected_spend"].between(45, 55).all()
    again = clv.fit_clv(summary, progressbar=False)  # same data -> same figures
    pd.testing.assert_frame_equal(first.customers, again.customers)


def test_shrunk_spend_by_hand():
    # two repeat buyers: means 10 (n = 1) and 30 (n = 3); within variance 12 (pooled); M = (10 + 90) / 4 = 25
    s = pd.DataFrame({"frequency": [1.0, 3.0, 0.0], "monetary_value": [10.0, 30.0, 0.0],
                      "monetary_variance": [np.nan, 12.0, np.nan]})
    # between = var([10, 30]) - 12 * mean(1/1, 1/3) = 100 - 8 = 92; w = 92 / (92 + 12 / n)
    w1, w3 = 92 / (92 + 12), 92 / (92 + 4)
    expected = [w1 * 10 + (1 - w1) * 25, w3 * 30 + (1 - w3) * 25, 25.0]
    np.testing.assert_allclose(clv.shrunk_spend(s), expected)


@pytest.mark.realdata
def test_holdout_accuracy_and_tables_on_online_retail():
    shared_file("online_retail", "online_retail.parquet")
    store = load_store("params/data/online_retail.yaml")
    summary = clv.clv_summary(store.transactions, calibration_end="2011-09-01", observation_end="2011-12-10", time_unit="W")
    result = clv.fit_clv(summary, time_unit="W", progressbar=False)
    acc = clv.holdout_accuracy(result)
    by_hand = result.customers
    table = clv.frequency_table(result)
    assert table["customers"].sum() == len(by_hand) == acc["customers"]
    assert acc["actual_total"] == by_hand["holdout_frequency"].sum()
    assert 0 < acc["mae"] <= acc["rmse"]
    track = clv.tracking_table(store.transactions, result, calibration_end="2011-09-01", observation_end="2011-12-10")
    assert track["actual"].is_monotonic_increasing and track["predicted"].is_monotonic_increasing
    assert set(track["period"]) == {"calibration", "holdout"}


def test_tracking_table_by_hand(tmp_path):
    lines = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "b", "b", "c"], "order_id": ["1", "2", "3", "4", "5", "6", "7"],
        "ts": pd.to_datetime(["2025-01-01", "2025-01-05 09:00", "2025-01-05 17:00", "2025-01-20", "2025-01-03",
                              "2025-01-04", "2025-01-10"], format="ISO8601"),
        "product_id": "p", "quantity": 1.0, "amount": 10.0,
    })
    lines.to_parquet(tmp_path / "t.parquet")
    store = load_store({"tables": {"transactions": {"path": str(tmp_path / "t.parquet")}}})
    fitted = pd.DataFrame({"customer_id": ["a", "b"], "frequency": 0.0, "recency": 0.0, "T": 0.0})  # c is not
    result = clv.CLVResult(transaction_model=StraightLineModel(0.1), spend_model=None, params={}, customers=fitted)
    track = clv.tracking_table(store.transactions, result, calibration_end="2025-01-15", observation_end="2025-02-01")
    # births a 01-01, b 01-03; repeat days a 01-05 (two orders, one day), 01-20; b 01-04; c's day is not counted
    assert track["date"].dt.strftime("%m-%d").tolist() == ["01-08", "01-15", "01-22", "01-29"]
    assert track["actual"].tolist() == [2, 2, 3, 3]
    # ages a 7, 14, 21, 28 and b 5, 12, 19, 26 days at 0.1 a day
    assert track["predicted"].tolist() == pytest.approx([1.2, 2.6, 4.0, 5.4])
    assert track["period"].tolist() == ["calibration", "calibration", "holdout", "holdout"]
    weeks = clv.CLVResult(transaction_model=StraightLineModel(0.1), spend_model=None, params={}, customers=fitted, time_unit="W")
    track = clv.tracking_table(store.transactions, weeks, calibration_end="2025-01-15", observation_end="2025-02-01")
    assert track["predicted"].tolist() == pytest.approx([1.2 / 7, 2.6 / 7, 4.0 / 7, 5.4 / 7])


def test_spend_heterogeneity_gain_separates_common_from_differing_spend():
    """Gamma-Gamma's gain over one common mean spend: about 0 when customers share it, large when they differ."""
    from scipy.special import gammaln  # noqa: F401  (the density is written out in clv.spend_heterogeneity_gain)

    rng = np.random.default_rng(2)
    n, p = 2000, 4.0
    x = rng.integers(1, 8, n).astype(float)
    same = pd.DataFrame({"frequency": x, "monetary_value": [rng.gamma(p, 12.5, int(k)).mean() for k in x]})
    # Gamma-Gamma near its limit (q, v large, mean spend p * v / (q - 1) = 50) gains nothing over one common mean
    assert clv.spend_heterogeneity_gain(same, {"p": p, "q": 1e6, "v": 1e6 * 12.5}) < 1.92
    nu = rng.gamma(3.0, 1 / 60.0, n)  # customers' own rates: mean spends differ widely
    differ = pd.DataFrame({"frequency": x, "monetary_value": [rng.gamma(p, 1 / r, int(k)).mean() for k, r in zip(x, nu)]})
    assert clv.spend_heterogeneity_gain(differ, {"p": p, "q": 3.0, "v": 60.0}) > 50


def test_a_store_drawn_from_bgnbd_and_gamma_gamma_gives_back_its_parameters_within_their_standard_errors(tmp_path):
    """The fits recover the parameters a store was drawn with: every estimate within three of its maximum-likelihood
    standard errors (measured: |z| at most 1.8 at this seed), and the spend model's shape check stays quiet."""
    from crm_kit import load_store
    from crm_kit.demo.btyd import BTYDTruth, draw_btyd_lines

    truth = BTYDTruth()
    path = tmp_path / "btyd.parquet"
    draw_btyd_lines(4000, truth=truth, seed=1, days=540).to_parquet(path)
    store = load_store({"tables": {"transactions": {"path": str(path)}}, "cache": False})
    summary = clv.clv_summary(store.transactions, calibration_end="2025-06-24")  # 2024-01-01 + 540 days
    fit = clv.fit_clv(summary)
    assert not fit.problems, fit.problems
    z = {k: (fit.params[k] - v) / fit.standard_errors[k] for k, v in truth.as_dict().items()}
    assert all(abs(v) < 3 for v in z.values()), z
    # the standard errors are those of the maximum: the log-likelihood falls off as the information says
    assert clv.bgnbd_loglik(fit.params, summary) > clv.bgnbd_loglik({**fit.params, "r": fit.params["r"] * 1.05}, summary)
    # the same data's spend moments agree with the fitted shape; the demo store's do not (test_demo)
    assert clv.spend_shape_check(summary, fit.params["p"]) is None
    assert "does not fit" in clv.spend_shape_check(summary, fit.params["p"] / 10)
