"""CLV: the summary equals pymc-marketing's rfm_summary; the fit equals a direct pymc-marketing call."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_kit import DataError, ParameterError, load_store
from crm_kit import clv
from conftest import shared_file


def _reference_summary(lines: pd.DataFrame, calibration_end: str, time_unit: str) -> pd.DataFrame:
    from pymc_marketing.clv import rfm_summary

    cal_end = pd.Timestamp(calibration_end)
    lines = lines[lines["ts"] < cal_end]
    ref = rfm_summary(lines, "customer_id", "ts", monetary_value_col="amount",
                      observation_period_end=cal_end - pd.Timedelta(days=1), time_unit=time_unit)
    return ref.sort_values("customer_id").reset_index(drop=True)


@pytest.mark.parametrize("time_unit", ["D", "W"])
def test_summary_equals_pymc_marketing_rfm_summary(demo_store, demo_dir, time_unit):
    ours = clv.clv_summary(demo_store.transactions, calibration_end="2025-03-01", time_unit=time_unit)
    lines = pd.read_parquet(demo_dir / "transactions.parquet", columns=["customer_id", "ts", "amount"])
    ref = _reference_summary(lines, "2025-03-01", time_unit)
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
    with pytest.raises(ParameterError, match="time_unit"):
        clv.clv_summary(store.transactions, calibration_end="2025-02-01", time_unit="M")
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


def _check_against_direct(summary: pd.DataFrame):
    ours = clv.fit_clv(summary, horizon_months=6)
    bg, gg = _direct_fit(summary)
    for name in ("a", "b", "alpha", "r"):
        assert ours.params[name] == pytest.approx(float(bg.idata.posterior[name].mean()), rel=1e-6), name
    direct_purchases = bg.expected_purchases(data=summary, future_t=180).mean(("chain", "draw")).to_numpy()
    np.testing.assert_allclose(ours.customers["expected_purchases"], direct_purchases, rtol=1e-6)
    direct_alive = bg.expected_probability_alive(data=summary).mean(("chain", "draw")).to_numpy()
    np.testing.assert_allclose(ours.customers["probability_alive"], direct_alive, rtol=1e-6)
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
    _check_against_direct(summary)


def test_bad_clv_options():
    s = pd.DataFrame({"customer_id": ["a"], "frequency": [1.0], "recency": [1.0], "T": [2.0], "monetary_value": [3.0]})
    with pytest.raises(ParameterError, match="model="):
        clv.fit_clv(s, model="lifetimes")
    with pytest.raises(DataError, match="fewer than 10 repeat buyers"):
        clv.fit_clv(s)


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
