"""Customer lifetime value with pymc-marketing: BG/NBD (or Pareto/NBD) and Gamma-Gamma.

Definitions (the BG/NBD convention, which users of older libraries trip over):

time unit
    ``"D"`` (days) or ``"W"`` (weeks). A *purchase period* is a calendar day,
    or a calendar week starting on Monday; several orders in one period count
    once.
frequency
    number of **repeat** purchase periods: distinct purchase periods - 1. A
    one-time buyer has frequency 0 (not 1).
recency
    time from the **first** to the **last** purchase period, in time units —
    not "days since the last purchase" as in RFM scoring.
T
    time from the first purchase period to the last period of the
    calibration window (its last day, or the week holding it), in time units:
    the customer's age, as pymc-marketing's ``rfm_summary`` computes it.
monetary_value
    mean spend of the **repeat** purchase periods (the first is left out);
    0 when frequency is 0. Gamma-Gamma is fitted on repeat buyers only.

Fitting: ``method="map"`` (fast, deterministic) with flat priors
(``HalfFlat``) reproduces the classical maximum-likelihood estimates;
``method="mcmc"`` samples the full posterior.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError

__all__ = ["clv_summary", "fit_clv", "CLVResult", "calibration_table", "flat_priors"]

_UNITS = {"D": ("D", 1.0), "W": ("W", 7.0)}


def _check_unit(time_unit: str) -> float:
    if time_unit not in _UNITS:
        raise ParameterError(f"time_unit={time_unit!r}: use 'D' (days) or 'W' (weeks)")
    return _UNITS[time_unit][1]


def clv_summary(transactions, *, calibration_end: Any, observation_end: Any = None, time_unit: str = "D",
                since: Any = None) -> pd.DataFrame:
    """Per-customer frequency, recency, T and monetary value, computed in the engine.

    Parameters
    ----------
    transactions
        Ibis table of cleaned line items.
    calibration_end
        End of the calibration period (exclusive); the model learns from
        purchases before it.
    observation_end
        End of the holdout period (exclusive). When given, the summary also
        holds ``holdout_frequency``: purchase periods in
        ``[calibration_end, observation_end)`` and ``holdout_duration``.
    time_unit
        ``"D"`` or ``"W"`` (see the module docstring).
    since
        Ignore purchases before this date.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, frequency, recency, T, monetary_value`` (and holdout columns).
    """
    days_per_unit = _check_unit(time_unit)
    cal_end = pd.Timestamp(calibration_end)
    t = transactions
    if since is not None:
        t = t.filter(t.ts >= pd.Timestamp(since))
    unit = "D" if time_unit == "D" else "W"
    periods = t.mutate(period=t.ts.truncate(unit))
    cal = periods.filter(periods.ts < cal_end)
    per = cal.group_by(["customer_id", "period"]).aggregate(spend=cal.amount.sum())
    agg = per.group_by("customer_id").aggregate(
        first=per.period.min(),
        last=per.period.max(),
        n=per.count(),
        total=per.spend.sum(),
        first_spend=per.spend.argmin(per.period),
    )
    df = agg.to_pandas()
    if df.empty:
        raise DataError(f"no purchases before calibration_end {cal_end.date()}: nothing to fit")
    df["first"] = pd.to_datetime(df["first"])
    df["last"] = pd.to_datetime(df["last"])
    df["frequency"] = (df["n"] - 1).astype(float)
    df["recency"] = (df["last"] - df["first"]).dt.days / days_per_unit
    # T runs to the last period of the calibration window (its last day, or the week holding it),
    # as in pymc-marketing's rfm_summary with observation_period_end = calibration_end - 1 day
    last_period = (cal_end - pd.Timedelta(days=1)).to_period(time_unit).start_time
    df["T"] = (last_period - df["first"]).dt.days / days_per_unit
    repeat_spend = df["total"] - df["first_spend"]
    df["monetary_value"] = np.where(df["frequency"] > 0, repeat_spend / df["frequency"].where(df["frequency"] > 0), 0.0)
    out = df[["customer_id", "frequency", "recency", "T", "monetary_value"]]
    if observation_end is not None:
        obs_end = pd.Timestamp(observation_end)
        if obs_end <= cal_end:
            raise ParameterError("observation_end must come after calibration_end")
        hold = periods.filter((periods.ts >= cal_end) & (periods.ts < obs_end))
        h = hold.group_by("customer_id").aggregate(holdout_frequency=hold.period.nunique()).to_pandas()
        out = out.merge(h, on="customer_id", how="left")
        out["holdout_frequency"] = out["holdout_frequency"].fillna(0).astype(float)
        out["holdout_duration"] = (obs_end - cal_end).days / days_per_unit
    return out.sort_values("customer_id").reset_index(drop=True)


def flat_priors(model: str = "bgnbd") -> dict[str, Any]:
    """``HalfFlat`` priors for every parameter: MAP then equals maximum likelihood."""
    from pymc_extras.prior import Prior

    names = {"bgnbd": ("a", "b", "alpha", "r"), "pareto": ("r", "alpha", "s", "beta"), "gamma": ("p", "q", "v")}[model]
    return {n: Prior("HalfFlat") for n in names}


@dataclass
class CLVResult:
    """Fitted CLV models and per-customer predictions.

    Attributes
    ----------
    transaction_model, spend_model
        The fitted pymc-marketing models.
    params
        Point estimates of the purchase and spend model parameters.
    customers
        Per customer: the summary, ``expected_purchases`` over the horizon,
        ``probability_alive``, ``expected_spend`` and ``clv`` (discounted).
    """

    transaction_model: Any
    spend_model: Any
    params: dict[str, float]
    customers: pd.DataFrame


def _point(x) -> np.ndarray:
    dims = [d for d in ("chain", "draw") if d in x.dims]
    return x.mean(dims).to_numpy() if dims else x.to_numpy()


def fit_clv(summary: pd.DataFrame, *, model: str = "bgnbd", method: str = "map", priors: str = "flat",
            horizon_months: int = 12, discount_rate: float = 0.01, time_unit: str = "D",
            random_seed: int = 0, **fit_kwargs: Any) -> CLVResult:
    """Fit BG/NBD (or Pareto/NBD) and Gamma-Gamma, predict purchases, survival and discounted CLV.

    Parameters
    ----------
    summary
        Output of :func:`clv_summary`.
    model
        ``"bgnbd"`` or ``"pareto"``.
    method
        ``"map"`` (default, deterministic) or ``"mcmc"``.
    priors
        ``"flat"`` (maximum likelihood under MAP) or ``"default"`` (pymc-marketing's).
    horizon_months
        CLV horizon in months; ``expected_purchases`` covers the same horizon.
    discount_rate
        Monthly discount rate.
    time_unit
        The unit the summary was computed in.
    """
    from pymc_marketing import clv as pmclv

    days_per_unit = _check_unit(time_unit)
    if model not in ("bgnbd", "pareto"):
        raise ParameterError(f"model={model!r}: use 'bgnbd' or 'pareto'")
    if method not in ("map", "mcmc"):
        raise ParameterError(f"method={method!r}: use 'map' or 'mcmc'")
    if priors not in ("flat", "default"):
        raise ParameterError(f"priors={priors!r}: use 'flat' or 'default'")
    need = ["customer_id", "frequency", "recency", "T", "monetary_value"]
    missing = [c for c in need if c not in summary.columns]
    if missing:
        raise DataError(f"fit_clv needs columns {missing}; compute them with clv_summary")
    data = summary[need].copy()
    if (data["frequency"] > 0).sum() < 10:
        raise DataError("fewer than 10 repeat buyers: too few to fit a spend model")
    cls = pmclv.BetaGeoModel if model == "bgnbd" else pmclv.ParetoNBDModel
    config = flat_priors(model) if priors == "flat" else None
    tx = cls(data=data[["customer_id", "frequency", "recency", "T"]], model_config=config)
    kwargs = {"random_seed": random_seed, **fit_kwargs} if method == "mcmc" else dict(fit_kwargs)
    tx.fit(method=method, **kwargs)
    # Gamma-Gamma needs a positive mean spend; a repeat buyer whose repeat purchases were all free has none
    repeat = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)]
    gg = pmclv.GammaGammaModel(data=repeat[["customer_id", "monetary_value", "frequency"]],
                               model_config=flat_priors("gamma") if priors == "flat" else None)
    gg.fit(method=method, **kwargs)

    horizon = horizon_months * 30.0 / days_per_unit  # pymc-marketing's month = 30 days
    exp_purchases = _point(tx.expected_purchases(data=data, future_t=horizon))
    alive = _point(tx.expected_probability_alive(data=data))
    spend = _point(gg.expected_customer_spend(data=data))
    clv_unit = {"D": "D", "W": "W"}[time_unit]
    clv = _point(gg.expected_customer_lifetime_value(
        transaction_model=tx, data=data.copy(), future_t=horizon_months, discount_rate=discount_rate, time_unit=clv_unit,
    ))
    out = summary.copy()
    out["expected_purchases"] = exp_purchases
    out["probability_alive"] = alive
    out["expected_spend"] = spend
    out["clv"] = clv
    params = {}
    for m in (tx, gg):
        post = m.idata.posterior
        for name in post.data_vars:
            if post[name].ndim == 2:  # chain, draw: a scalar parameter
                params[name] = float(post[name].mean())
    return CLVResult(transaction_model=tx, spend_model=gg, params=params, customers=out)


def calibration_table(result: CLVResult, *, bins: int = 10) -> pd.DataFrame:
    """Predicted against actual holdout purchases, by calibration-period frequency.

    Customers are grouped by their calibration frequency into at most
    ``bins`` quantile groups (so the chart works for weekly shoppers with
    dozens of repeat purchases as well as for rare buyers); each row holds the
    group's mean calibration frequency, mean actual holdout purchases and the
    mean the model predicts over the holdout duration. Needs the holdout
    columns of :func:`clv_summary`.
    """
    df = result.customers
    if "holdout_frequency" not in df.columns:
        raise DataError("the summary has no holdout columns: pass observation_end to clv_summary")
    duration = float(df["holdout_duration"].iloc[0])
    predicted = _point(result.transaction_model.expected_purchases(
        data=df[["customer_id", "frequency", "recency", "T"]], future_t=duration))
    group = pd.qcut(df["frequency"].rank(method="first"), q=min(bins, len(df)), labels=False)
    t = pd.DataFrame({"group": group, "frequency": df["frequency"], "actual": df["holdout_frequency"], "predicted": predicted})
    out = t.groupby("group").agg(customers=("actual", "size"), frequency=("frequency", "mean"),
                                 actual=("actual", "mean"), predicted=("predicted", "mean"))
    return out.reset_index(drop=True)
