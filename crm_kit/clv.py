"""Customer lifetime value with pymc-marketing: BG/NBD (or Pareto/NBD) and Gamma-Gamma.

Definitions follow the BTYD literature (Fader, Hardie & Lee 2005 and its
replications), which users of older libraries trip over:

purchase
    a **distinct purchase day**: several orders on one day count once.
time unit
    ``"D"`` (days), ``"W"`` (weeks = days / 7) or ``"M"`` (months = days /
    30.4375). Purchases are always counted on days; the unit only scales
    recency and T, so a fit in weeks gives the literature's parameters (r and
    the dropout parameters unchanged, alpha = alpha in days / 7).
    ``"W_calendar"`` is the other convention, named so nobody picks it by
    accident: purchases bucketed into calendar weeks starting Monday (what
    ``rfm_summary(time_unit="W")`` and lifetimes' ``freq="W"`` do); it counts
    two purchases in one week once and moves every date to its Monday, so its
    parameters differ from the published ones.
frequency
    number of **repeat** purchases: distinct purchase days - 1. A one-time
    buyer has frequency 0 (not 1).
recency
    time from the **first** to the **last** purchase day — not "days since the
    last purchase" as in RFM scoring.
T
    time from the first purchase day to the last observed day (the day
    before ``calibration_end``, or its own day when ``calibration_end``
    carries a time of day): the customer's age.
monetary_value
    mean spend of the **repeat** purchase days (the first is left out);
    0 when frequency is 0. Gamma-Gamma is fitted on repeat buyers with a
    positive mean spend. Zero-value purchase days count as purchases when the
    store kept them (``cleaning.nonpositive_price: keep_zero``).

Fitting: ``method="map"`` (fast, deterministic) with flat priors
(``HalfFlat``) reproduces the classical maximum-likelihood estimates;
``method="mcmc"`` samples the full posterior. A fit whose parameters run to a
bound (below 1e-5, above 1e6) or whose Gamma-Gamma ``q`` is at most 1 (the
mean spend is then undefined) is flagged as degenerate; a degenerate spend
model is replaced by each customer's mean repeat spend shrunk toward the
population mean (empirical Bayes), and the sentence says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from .engine import order_grain
from .errors import DataError, ParameterError
from .store.money import MONEY_PARTS, money_sum

__all__ = ["clv_summary", "fit_clv", "CLVResult", "calibration_table", "frequency_table", "holdout_accuracy",
           "tracking_table", "parameter_table", "degenerate_parameters", "bgnbd_loglik", "gamma_gamma_loglik",
           "standard_errors", "spend_shape_check", "spend_heterogeneity_gain", "flat_priors", "shrunk_spend", "TIME_UNITS", "DEGENERATE_BELOW", "DEGENERATE_ABOVE"]

#: days per time unit; the purchase is a day in all of them but the calendar week
TIME_UNITS = {"D": 1.0, "W": 7.0, "M": 30.4375, "W_calendar": 7.0}
#: pymc-marketing's CLV counts the horizon in months of this many time units
_CLV_FACTOR = {"D": ("D", 30.0), "W": ("W", 4.345), "M": ("M", 1.0), "W_calendar": ("W", 4.345)}
#: a parameter below or above these is at a bound: the fit is degenerate
DEGENERATE_BELOW, DEGENERATE_ABOVE = 1e-5, 1e6


def _check_unit(time_unit: str) -> float:
    if time_unit not in TIME_UNITS:
        raise ParameterError(f"time_unit={time_unit!r}: use 'D' (days), 'W' (weeks = days / 7), 'M' (months) "
                             "or 'W_calendar' (calendar weeks)")
    return TIME_UNITS[time_unit]


def _last_observed_day(end: pd.Timestamp) -> pd.Timestamp:
    """The last day a window ending (exclusively) at ``end`` observes: the day before midnight, else its own day."""
    return (end - pd.Timedelta(1, "ns")).normalize()


def clv_summary(transactions, *, calibration_end: Any, observation_end: Any = None, time_unit: str = "D",
                since: Any = None, keep_zero_value: bool = True) -> pd.DataFrame:
    """Per-customer frequency, recency, T and monetary value, computed in the engine.

    Parameters
    ----------
    transactions
        Ibis table of cleaned line items.
    calibration_end
        End of the calibration period (exclusive); the model learns from
        purchases before it. A date, or a date and time.
    observation_end
        End of the holdout period (exclusive). When given, the summary also
        holds ``holdout_frequency`` (purchases in ``[calibration_end,
        observation_end)``) and ``holdout_duration``.
    time_unit
        ``"D"``, ``"W"``, ``"M"`` or ``"W_calendar"`` (see the module docstring).
    since
        Ignore purchases before this date.
    keep_zero_value
        Count purchase days whose spend is zero (free orders) as purchases.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, frequency, recency, T, monetary_value`` and
        ``monetary_variance`` (variance of the repeat-day spends, NaN below
        two repeats), plus the holdout columns.

    Examples
    --------
    ``a`` bought on 1, 11 and 21 January (for 20, 30 and 50) and on 3 February; ``b`` twice on 5 January, which is
    one purchase day. The model learns from January (calibration) and is checked on February (holdout):

    >>> import ibis
    >>> import pandas as pd
    >>> from crm_kit import clv
    >>> lines = ibis.memtable(pd.DataFrame({
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
    ...     "customer_id": ["a", "a", "a", "b", "b", "a"],
    ...     "ts": pd.to_datetime(["2025-01-01 10:00", "2025-01-11 12:00", "2025-01-21 09:00",
    ...                           "2025-01-05 15:00", "2025-01-05 18:00", "2025-02-03 11:00"]),
    ...     "amount": [20.0, 30.0, 50.0, 12.0, 8.0, 25.0]}))
    >>> summary = clv.clv_summary(lines, calibration_end="2025-02-01", observation_end="2025-03-01")
    >>> print(summary.to_string())
      customer_id  frequency  recency     T  monetary_value  monetary_variance  holdout_frequency  holdout_duration
    0           a        2.0     20.0  30.0            40.0              200.0                1.0              28.0
    1           b        0.0      0.0  26.0             0.0                NaN                0.0              28.0

    ``a`` repeated twice (frequency), 20 days after the first purchase (recency), and was watched 30 days (T, to
    31 January); the repeat spends 30 and 50 average 40 (the first purchase is left out, as the Gamma-Gamma model
    wants). These columns are what :func:`fit_clv` fits and :func:`bgnbd_loglik` scores.
    """
    days_per_unit = _check_unit(time_unit)
    cal_end = pd.Timestamp(calibration_end)
    # a purchase day's spend is the sum of its orders': the order table (one row per order) gives it from fewer rows
    t = order_grain(transactions, cut_at=(cal_end, observation_end, since))
    if since is not None:
        t = t.filter(t.ts >= pd.Timestamp(since))
    bucket = "W" if time_unit == "W_calendar" else "D"
    periods = t.mutate(period=t.ts.truncate(bucket))
    cal = periods.filter(periods.ts < cal_end)
    per = cal.group_by(["customer_id", "period"]).aggregate(spend=money_sum(cal.amount))
    if not keep_zero_value:
        per = per.filter(per.spend > 0)
    # sums of whole parts of the currency unit, as integers (decimals for the squares): the same in any order the
    # engine adds them (store.money.money_sum)
    parts = (per.spend * MONEY_PARTS).round().cast("int64").cast(dt.Decimal(38, 0))
    agg = per.group_by("customer_id").aggregate(
        first=per.period.min(),
        last=per.period.max(),
        n=per.count(),
        total=money_sum(per.spend),
        total_sq=(parts * parts).sum().cast("float64") / MONEY_PARTS**2,
        first_spend=per.spend.argmin(per.period),
    )
    df = agg.to_pandas()
    if df.empty:
        raise DataError(f"no purchases before calibration_end {cal_end}: nothing to fit")
    df["first"] = pd.to_datetime(df["first"])
    df["last"] = pd.to_datetime(df["last"])
    df["frequency"] = (df["n"] - 1).astype(float)
    df["recency"] = (df["last"] - df["first"]).dt.days / days_per_unit
    last_day = _last_observed_day(cal_end)
    last_period = last_day.to_period("W").start_time if bucket == "W" else last_day
    df["T"] = (last_period - df["first"]).dt.days / days_per_unit
    repeat_spend = df["total"] - df["first_spend"]
    repeat_sq = df["total_sq"] - df["first_spend"] ** 2
    has_repeat = df["frequency"] > 0
    df["monetary_value"] = np.where(has_repeat, repeat_spend / df["frequency"].where(has_repeat), 0.0)
    many = df["frequency"] > 1
    mean_sq = repeat_sq / df["frequency"].where(many)
    df["monetary_variance"] = np.where(
        many, np.maximum(mean_sq - df["monetary_value"] ** 2, 0.0) * df["frequency"] / (df["frequency"] - 1).where(many),
        np.nan)
    out = df[["customer_id", "frequency", "recency", "T", "monetary_value", "monetary_variance"]]
    if observation_end is not None:
        obs_end = pd.Timestamp(observation_end)
        if obs_end <= cal_end:
            raise ParameterError("observation_end must come after calibration_end")
        hold = periods.filter((periods.ts >= cal_end) & (periods.ts < obs_end))
        h = hold.group_by("customer_id").aggregate(holdout_frequency=hold.period.nunique()).to_pandas()
        out = out.merge(h, on="customer_id", how="left")
        out["holdout_frequency"] = out["holdout_frequency"].fillna(0).astype(float)
        out["holdout_duration"] = (_last_observed_day(obs_end) - last_day).days / days_per_unit
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
        Point estimates of the purchase and spend model parameters; a
        degenerate spend model's parameters are ``None`` (they are not estimates).
    customers
        Per customer: the summary, ``expected_purchases`` over the horizon,
        ``probability_alive``, ``expected_spend`` and ``clv`` (discounted).
    time_unit
        The unit of recency and T.
    problems
        One sentence per degenerate part of the fit (empty when none).
    spend_method
        ``"gamma-gamma"``, or ``"shrunk mean"`` when Gamma-Gamma was degenerate.
    """

    transaction_model: Any
    spend_model: Any
    params: dict[str, float | None]
    customers: pd.DataFrame
    time_unit: str = "D"
    problems: list[str] = field(default_factory=list)
    spend_method: str = "gamma-gamma"
    #: maximum-likelihood standard errors of the parameters (:func:`standard_errors`; flat-prior MAP fits of BG/NBD)
    standard_errors: dict[str, float] = field(default_factory=dict)

    @property
    def fitted(self) -> bool:
        """Whether the models were fitted (False when too few customers bought twice: see :func:`fit_clv`)."""
        return self.transaction_model is not None

    @property
    def verdict(self) -> str:
        """One sentence on the fit: fine, or what was degenerate and what was used instead."""
        if not self.problems:
            return "The fit is regular: every parameter is finite and away from its bounds."
        return " ".join(self.problems)


def _point(x) -> np.ndarray:
    dims = [d for d in ("chain", "draw") if d in x.dims]
    return x.mean(dims).to_numpy() if dims else x.to_numpy()


def _model_params(model) -> dict[str, float]:
    post = model.idata.posterior
    return {name: float(post[name].mean()) for name in post.data_vars if post[name].ndim == 2}


def degenerate_parameters(params: dict[str, float], *, spend: bool = False) -> list[str]:
    """The parameters of a fit that ran to a bound (or, for Gamma-Gamma, ``q <= 1``), as readable phrases.

    The phrases name the direction, not the value: where an optimiser stops on
    its way to a bound is arbitrary, and a sentence must not change between
    two runs of the same data.

    Examples
    --------
    A regular BG/NBD fit, and a Gamma-Gamma fit whose ``q`` and ``v`` ran off to infinity (customers' mean
    spends barely differ: :func:`shrunk_spend` is then used instead):

    >>> from crm_kit import clv
    >>> clv.degenerate_parameters({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4})
    []
    >>> clv.degenerate_parameters({"p": 6.2, "q": 3.1e9, "v": 2.8e10}, spend=True)
    ['q → ∞ (above 1e+06)', 'v → ∞ (above 1e+06)']
    >>> clv.degenerate_parameters({"p": 2.0, "q": 0.8, "v": 9.0}, spend=True)
    ['q = 0.80 (at most 1: the mean spend is undefined)']
    """
    bad = []
    for k, v in params.items():
        if not np.isfinite(v) or v > DEGENERATE_ABOVE:
            bad.append(f"{k} → ∞ (above {DEGENERATE_ABOVE:.0e})")
        elif v < DEGENERATE_BELOW:
            bad.append(f"{k} → 0 (below {DEGENERATE_BELOW:.0e})")
    if spend and "q" in params and np.isfinite(params["q"]) and params["q"] <= 1:
        bad.append(f"q = {params['q']:.2f} (at most 1: the mean spend is undefined)")
    return bad


def spend_heterogeneity_gain(summary: pd.DataFrame, params: dict[str, float]) -> float:
    """Log-likelihood the fitted Gamma-Gamma gains over one common mean spend for everybody.

    Gamma-Gamma lets each customer's mean spend vary (``nu ~ Gamma(q, v)``);
    as ``q, v -> infinity`` it becomes the model in which every customer has
    the same mean spend and a purchase's spend is ``Gamma(p, nu)``. That
    limit's maximum likelihood has a closed form in ``nu`` for each ``p``
    (found by a one-dimensional search). A gain below 1.92 (a likelihood
    ratio below the 95 % point of chi-square with 1 degree of freedom) means
    the data do not support differences in spend between customers: the fit
    only drifts toward the limit.
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import gammaln

    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    x, m = repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
    p, q, v = params["p"], params["q"], params["v"]
    ll_gg = float(np.sum(gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
                         + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(v + m * x)))

    def common(log_p: float) -> float:
        pp = np.exp(log_p)
        nu = pp * x.sum() / (x * m).sum()
        return -float(np.sum(pp * x * np.log(x * nu) + (pp * x - 1) * np.log(m) - x * nu * m - gammaln(pp * x)))

    best = minimize_scalar(common, bounds=(-10.0, 15.0), method="bounded")
    return ll_gg + float(best.fun)


def shrunk_spend(summary: pd.DataFrame) -> pd.Series:
    """Each customer's mean repeat spend shrunk toward the population mean (empirical Bayes).

    With ``n`` repeat purchases of mean ``m``, the estimate is
    ``w m + (1 - w) M`` where ``M`` is the purchase-weighted mean over repeat
    buyers and ``w = tau2 / (tau2 + s2 / n)``: ``s2`` is the pooled
    within-customer variance of a purchase's spend, ``tau2`` the variance of
    true mean spends across customers (the variance of the observed means less
    the part the within-customer noise explains, at least 0). One-time buyers
    get ``M``. When customers do not differ (``tau2 = 0``) everyone gets ``M``.

    Examples
    --------
    ``a`` repeated once at 60, ``b`` four times at 30 on average (variance 100), ``c`` never:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from crm_kit import clv
    >>> summary = pd.DataFrame({"frequency": [1.0, 4.0, 0.0], "monetary_value": [60.0, 30.0, 0.0],
    ...                         "monetary_variance": [np.nan, 100.0, np.nan]})
    >>> clv.shrunk_spend(summary).round(2).tolist()
    [50.86, 30.8, 36.0]

    ``M = (60 + 4 * 30) / 5 = 36``, ``s2 = 100``, ``tau2 = var(60, 30) - 100 * mean(1, 1/4) = 162.5``: ``a``'s
    single purchase gets the weight 162.5 / 262.5 = 0.62 and moves most of the way to 36; ``b``'s four get 0.87;
    ``c`` gets ``M``.
    """
    n = summary["frequency"].to_numpy(float)
    m = summary["monetary_value"].to_numpy(float)
    repeat = n > 0
    if not repeat.any():
        raise DataError("no repeat buyers: no spend to estimate")
    population = float(np.sum(n[repeat] * m[repeat]) / np.sum(n[repeat]))
    var = summary.get("monetary_variance", pd.Series(np.nan, index=summary.index)).to_numpy(float)
    within = float(np.nanmean(var)) if np.isfinite(var).any() else 0.0
    between = max(float(np.var(m[repeat])) - within * float(np.mean(1.0 / n[repeat])), 0.0)
    weight = np.where(repeat, between / (between + within / np.where(repeat, n, 1.0)) if between + within > 0 else 0.0, 0.0)
    return pd.Series(weight * m + (1 - weight) * population, index=summary.index, name="expected_spend")


def bgnbd_loglik(params: dict[str, float], summary: pd.DataFrame) -> float:
    """BG/NBD's log-likelihood of the summary (Fader, Hardie & Lee 2005, eq. 6), summed over customers.

    ``L_i = A1 + A2 + log(exp(A3) + [x > 0] exp(A4))`` with
    ``A1 = lnG(r + x) - lnG(r) + r ln(alpha)``,
    ``A2 = lnG(a + b) + lnG(b + x) - lnG(b) - lnG(a + b + x)``,
    ``A3 = -(r + x) ln(alpha + T)`` and
    ``A4 = ln(a) - ln(b + x - 1) - (r + x) ln(alpha + t_x)``.

    Examples
    --------
    The summary of :func:`clv_summary`'s example; a fit picks the parameters where this sum is highest:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from crm_kit import clv
    >>> summary = pd.DataFrame({"customer_id": ["a", "b"], "frequency": [2.0, 0.0],
    ...                         "recency": [20.0, 0.0], "T": [30.0, 26.0]})
    >>> params = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    >>> round(clv.bgnbd_loglik(params, summary), 4)
    -9.3323
    >>> round(clv.bgnbd_loglik({**params, "alpha": 40.0}, summary), 4)  # a slower buying rate fits worse
    -10.1286

    A customer with no repeat purchase contributes ``r ln(alpha / (alpha + T))``:

    >>> bool(np.isclose(clv.bgnbd_loglik(params, summary.iloc[[1]]), 0.25 * np.log(4 / 30)))
    True
    """
    from scipy.special import gammaln

    r, alpha, a, b = (float(params[k]) for k in ("r", "alpha", "a", "b"))
    x = summary["frequency"].to_numpy(float)
    tx, T = summary["recency"].to_numpy(float), summary["T"].to_numpy(float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + tx), -np.inf)
    return float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))


def gamma_gamma_loglik(params: dict[str, float], summary: pd.DataFrame) -> float:
    """Gamma-Gamma's log-likelihood of the repeat buyers' mean spends (Fader, Hardie & Lee 2005b; Fader & Hardie 2013).

    With ``x`` repeat purchases of mean ``m``: ``L_i = lnG(px + q) - lnG(px) - lnG(q) + q ln(v) + (px - 1) ln(m)
    + px ln(x) - (px + q) ln(v + mx)``.
    """
    from scipy.special import gammaln

    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    x, m = repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
    p, q, v = (float(params[k]) for k in ("p", "q", "v"))
    return float(np.sum(gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
                        + p * x * np.log(x) - (p * x + q) * np.log(v + m * x)))


def standard_errors(summary: pd.DataFrame, params: dict[str, float | None]) -> dict[str, float]:
    """Standard errors of the BG/NBD and Gamma-Gamma maximum-likelihood estimates, from the observed information.

    The negative Hessian of :func:`bgnbd_loglik` (and :func:`gamma_gamma_loglik`)
    at the estimates, taken numerically on the log scale (statsmodels'
    ``approx_hess3``) and inverted; ``se(theta) = theta x se(log theta)`` (the
    delta method). A model whose parameters are missing (Pareto/NBD's, a
    degenerate spend fit) or whose information is not positive definite gets no
    standard errors.
    """
    from statsmodels.tools.numdiff import approx_hess3

    out: dict[str, float] = {}
    for names, loglik in ((("r", "alpha", "a", "b"), bgnbd_loglik), (("p", "q", "v"), gamma_gamma_loglik)):
        values = [params.get(k) for k in names]
        if any(v is None or not np.isfinite(v) or v <= 0 for v in values):
            continue
        theta = np.log(np.asarray(values, float))
        hessian = approx_hess3(theta, lambda t: -loglik(dict(zip(names, np.exp(t))), summary))
        try:
            cov = np.linalg.inv(hessian)
        except np.linalg.LinAlgError:
            continue
        if np.all(np.diag(cov) > 0):
            out.update({k: float(v * np.sqrt(c)) for k, v, c in zip(names, np.exp(theta), np.diag(cov))})
    return out


def spend_shape_check(summary: pd.DataFrame, p: float | None, *, factor: float = 3.0) -> str | None:
    """Whether the fitted within-customer spend shape ``p`` agrees with the spends themselves, or why not.

    Under Gamma-Gamma a customer's purchase spends are ``Gamma(p, nu)``: their
    squared coefficient of variation is ``1 / p`` whatever ``nu``. The pooled
    moment estimate ``p_hat = 1 / mean(var_i / m_i^2)`` over customers with at
    least two repeat purchases (``monetary_variance``) should be near the
    fitted ``p``; a factor of ``factor`` or more apart means the model's
    assumptions fail on this data (customers' mean spends not gamma-distributed
    across customers, several purchases merged into one day...), and the
    fitted parameters describe no process of the store.
    """
    if p is None or "monetary_variance" not in summary.columns:
        return None
    s = summary[(summary["frequency"] >= 2) & (summary["monetary_value"] > 0)]
    cv2 = (s["monetary_variance"] / s["monetary_value"] ** 2).replace([np.inf, -np.inf], np.nan).dropna()
    if len(cv2) < 10 or not cv2.mean() > 0:
        return None
    p_hat = 1.0 / float(cv2.mean())
    if max(p / p_hat, p_hat / p) < factor:
        return None
    # the fitted p is named by its direction, not its digits: where an optimiser stops is not a figure to print twice
    direction = "far below" if p < p_hat else "far above"
    return (f"The Gamma-Gamma spend model does not fit this store: the within-customer spend shape p it finds is "
            f"{direction} (more than {factor:g} times) the p ≈ {p_hat:.0f} the customers' own repeat spends show "
            "(1 / their mean squared coefficient of variation). Its premise — customers' mean spends "
            "gamma-distributed across customers, each purchase's spend gamma around its customer's mean — does not "
            "hold here; read expected spend as a rough guide (the parameter table shows the fitted values).")


#: the fewest customers with a repeat purchase that :func:`fit_clv` fits the models on
MIN_REPEAT_BUYERS = 10


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
        CLV horizon in months; ``expected_purchases`` covers the same horizon
        (a month is pymc-marketing's: 30 days, 4.345 weeks).
    discount_rate
        Monthly discount rate.
    time_unit
        The unit the summary was computed in.

    Returns
    -------
    CLVResult
        With ``problems`` naming any degenerate parameter; a degenerate
        Gamma-Gamma fit is replaced by :func:`shrunk_spend`.
    """
    from pymc_marketing import clv as pmclv
    from pymc_marketing.clv.utils import customer_lifetime_value

    _check_unit(time_unit)
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
    repeaters = int((data["frequency"] > 0).sum())
    if repeaters < MIN_REPEAT_BUYERS:
        # not an error: RFM, clusters and tiers stand without it; the CLV columns are empty and the verdict says why
        out = summary.copy()
        for column in ("expected_purchases", "probability_alive", "expected_spend", "clv"):
            out[column] = np.nan
        return CLVResult(transaction_model=None, spend_model=None, params={}, customers=out, time_unit=time_unit,
                         problems=[f"CLV is not estimated: {repeaters} of {len(data):,} customers bought on more than "
                                   f"one day, and BG/NBD and Gamma-Gamma learn from repeat purchases (at least "
                                   f"{MIN_REPEAT_BUYERS} needed); the CLV columns are left empty — a longer period "
                                   "of data gives the models repeat buyers to learn from."],
                         spend_method="none")
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

    purchase_params, spend_params = _model_params(tx), _model_params(gg)
    problems = []
    bad = degenerate_parameters(purchase_params)
    if bad:
        problems.append(f"The purchase model ran to a bound ({', '.join(bad)}): its predictions are the limit it "
                        "approaches, e.g. almost no dropout makes every customer look alive — read probability "
                        "alive beside the churn table.")
    if not bad and {"a", "b"} <= set(purchase_params):
        dropout = purchase_params["a"] / (purchase_params["a"] + purchase_params["b"])
        if dropout < 0.001:
            problems.append(f"The purchase model finds almost no dropout ({dropout:.3%} chance per purchase): "
                            "probability alive is close to 1 for nearly everyone whatever their recency — read it "
                            "beside the churn table, which counts who stopped buying.")
    bad_spend = degenerate_parameters(spend_params, spend=True)
    if not bad_spend and spend_heterogeneity_gain(summary, spend_params) < 1.92:
        bad_spend = ["q and v drifting toward one common mean spend (no significant likelihood gain over it)"]
    if bad_spend:
        problems.append(f"The Gamma-Gamma spend model is degenerate ({', '.join(bad_spend)}): customers' mean spends "
                        "differ too little from their purchase-to-purchase noise to fit it, so expected spend is each "
                        "customer's mean repeat spend shrunk toward the population mean instead.")
        spend = shrunk_spend(summary).to_numpy()
        spend_params = {k: None for k in spend_params}
    else:
        spend = _point(gg.expected_customer_spend(data=data))
        misfit = spend_shape_check(summary, spend_params.get("p"))
        if misfit:
            problems.append(misfit)

    unit, factor = _CLV_FACTOR[time_unit]
    horizon = horizon_months * factor
    exp_purchases = _point(tx.expected_purchases(data=data, future_t=horizon))
    alive = _point(tx.expected_probability_alive(data=data))
    clv = _point(customer_lifetime_value(
        transaction_model=tx, data=data.assign(future_spend=spend), future_t=horizon_months,
        discount_rate=discount_rate, time_unit=unit,
    ))
    out = summary.copy()
    out["expected_purchases"] = exp_purchases
    out["probability_alive"] = alive
    out["expected_spend"] = spend
    out["clv"] = clv
    params = {**purchase_params, **spend_params}
    return CLVResult(transaction_model=tx, spend_model=gg, params=params, customers=out,
                     time_unit=time_unit, problems=problems,
                     spend_method="shrunk mean" if bad_spend else "gamma-gamma",
                     standard_errors=standard_errors(summary, params) if model == "bgnbd" and priors == "flat" and
                     method == "map" else {})


def _holdout_frame(result: CLVResult) -> pd.DataFrame:
    df = result.customers
    if "holdout_frequency" not in df.columns:
        raise DataError("the summary has no holdout columns: pass observation_end to clv_summary")
    duration = float(df["holdout_duration"].iloc[0])
    predicted = np.full(len(df), np.nan) if not result.fitted else _point(result.transaction_model.expected_purchases(
        data=df[["customer_id", "frequency", "recency", "T"]], future_t=duration))
    return pd.DataFrame({"frequency": df["frequency"].to_numpy(), "actual": df["holdout_frequency"].to_numpy(),
                         "predicted": predicted})


def calibration_table(result: CLVResult, *, bins: int = 10) -> pd.DataFrame:
    """Predicted against actual holdout purchases, by calibration-period frequency in equal-size groups.

    Customers are grouped by their calibration frequency into at most
    ``bins`` quantile groups (so the chart works for weekly shoppers with
    dozens of repeat purchases as well as for rare buyers); each row holds the
    group's mean calibration frequency, mean actual holdout purchases and the
    mean the model predicts over the holdout duration. Needs the holdout
    columns of :func:`clv_summary`.
    """
    t = _holdout_frame(result)
    t["group"] = pd.qcut(t["frequency"].rank(method="first"), q=min(bins, len(t)), labels=False)
    out = t.groupby("group").agg(customers=("actual", "size"), frequency=("frequency", "mean"),
                                 actual=("actual", "mean"), predicted=("predicted", "mean"))
    return out.reset_index(drop=True)


def frequency_table(result: CLVResult, *, max_frequency: int = 7) -> pd.DataFrame:
    """The literature's calibration/holdout table: per calibration frequency 0, 1, 2, and so on up to ``max_frequency`` or more.

    Each row: the customers with that many repeat purchases in the calibration
    period, their mean actual and mean predicted purchases in the holdout.
    """
    t = _holdout_frame(result)
    t["bin"] = np.minimum(t["frequency"].round().astype(int), max_frequency)
    out = t.groupby("bin").agg(customers=("actual", "size"), actual=("actual", "mean"),
                               predicted=("predicted", "mean")).reset_index()
    out["calibration_purchases"] = [f"{b}+" if b == max_frequency else str(b) for b in out["bin"]]
    return out[["calibration_purchases", "customers", "actual", "predicted"]]


def holdout_accuracy(result: CLVResult) -> dict[str, float]:
    """Per-customer accuracy of the holdout prediction: MAE and RMSE of predicted vs actual purchases, and totals."""
    t = _holdout_frame(result)
    err = t["predicted"] - t["actual"]
    if not result.fitted:
        return {"customers": int(len(t)), "mae": None, "rmse": None, "actual_total": float(t["actual"].sum()),
                "predicted_total": None}
    return {"customers": int(len(t)), "mae": float(err.abs().mean()), "rmse": float(np.sqrt((err ** 2).mean())),
            "actual_total": float(t["actual"].sum()), "predicted_total": float(t["predicted"].sum())}


def tracking_table(transactions, result: CLVResult, *, calibration_end: Any, observation_end: Any,
                   step_days: int = 7) -> pd.DataFrame:
    """Cumulative repeat purchases over calendar time, actual against the model (the tracking chart).

    Actual: repeat purchase days (each customer's first day left out) of the
    customers in the fit, counted up to each date. Predicted: the sum over
    those customers of the expected repeat purchases of a new customer aged
    ``date - first purchase`` (the model's unconditional forecast), so the
    line runs through the calibration period and on into the holdout.
    """
    cal_end, obs_end = pd.Timestamp(calibration_end), pd.Timestamp(observation_end)
    days_per_unit = _check_unit(result.time_unit)
    fitted = ibis.memtable(pd.DataFrame({"customer_id": result.customers["customer_id"].astype(str).unique()}))
    t = order_grain(transactions, cut_at=(obs_end,))
    t = t.filter(t.ts < obs_end)
    days = t.select(customer_id=t.customer_id.cast("string"), day=t.ts.truncate("D")).distinct()
    days = days.join(fitted, "customer_id")
    firsts = days.group_by("customer_id").aggregate(birth=days.day.min())
    later = days.join(firsts, "customer_id").filter(lambda x: x.day > x.birth)
    # per day: the repeat purchases made on it, and the customers first seen on it (the engine counts; days come back)
    repeats = later.group_by("day").aggregate(repeats=later.count()).to_pandas()
    births = firsts.group_by("birth").aggregate(customers=firsts.count()).to_pandas()
    if births.empty:
        raise DataError(f"none of the fitted customers bought before {obs_end.date()}: nothing to track")
    repeats["day"] = pd.to_datetime(repeats["day"])
    births["birth"] = pd.to_datetime(births["birth"])
    # in date order, as every frame back from the engine is before sums: the engine returns groups in any order,
    # and the weighted sum below (a float sum over the days) would move in its last bit with it
    births = births.sort_values("birth", kind="stable").reset_index(drop=True)
    repeats = repeats.sort_values("day")
    grid = pd.DatetimeIndex(pd.date_range(births["birth"].min() + pd.Timedelta(days=step_days), obs_end,
                                          freq=f"{step_days}D"))
    # a new customer's expected repeats depend on their age alone: one model call over every age the grid needs
    age_days = (grid.to_numpy()[:, None] - births["birth"].to_numpy()[None, :]) / np.timedelta64(1, "D")
    ages = np.unique(np.clip(age_days, 0.0, None))
    if not result.fitted:
        curve = np.full(len(ages), np.nan)
    else:
        curve = _point(result.transaction_model.expected_purchases_new_customer(
            data=pd.DataFrame({"customer_id": np.arange(len(ages)), "frequency": 0.0, "recency": 0.0, "T": 0.0}),
            t=ages / days_per_unit))
    expected = curve[np.searchsorted(ages, np.clip(age_days, 0.0, None))]
    predicted = expected @ births["customers"].to_numpy(float)
    repeat_days = repeats["day"].to_numpy()
    cumulative = np.concatenate([[0], np.cumsum(repeats["repeats"].to_numpy())])
    actual = cumulative[np.searchsorted(repeat_days, grid.to_numpy(), side="left")]
    return pd.DataFrame({"date": grid, "actual": actual.astype(int), "predicted": predicted.astype(float),
                         "period": np.where(grid <= cal_end, "calibration", "holdout")})


def parameter_table(**fits: CLVResult) -> pd.DataFrame:
    """The fits' parameters side by side (e.g. ``calibration=check, full=value``); ``None`` where a fit was degenerate."""
    names = list(dict.fromkeys(k for fit in fits.values() for k in fit.params))
    return pd.DataFrame({label: [fit.params.get(k) for k in names] for label, fit in fits.items()},
                        index=pd.Index(names, name="parameter"))


def holdout_sentence(holdout: Mapping[str, Any]) -> str:
    """The holdout check in one sentence (:func:`holdout_accuracy`'s figures), or why there is none."""
    if holdout.get("predicted_total") is None:
        return (f"Holdout check: no model to check ({holdout['customers']:,} customers, "
                f"{holdout['actual_total']:,.0f} repeat purchases in the holdout).")
    return (f"Holdout check over {holdout['customers']:,} customers: the model predicted "
            f"{holdout['predicted_total']:,.0f} repeat purchases, {holdout['actual_total']:,.0f} happened; per "
            f"customer the mean absolute error is {holdout['mae']:.2f} purchases (RMSE {holdout['rmse']:.2f}).")
