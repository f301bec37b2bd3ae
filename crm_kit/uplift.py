"""Who next: predicting each customer's incremental sales from a randomised round (uplift modelling).

A round with a random control group holds what is needed to learn *whose*
sales the campaign moved: treated and control customers alike, described by
what was known before the campaign. A meta-learner on scikit-learn's gradient
boosting predicts each customer's incremental sales (their *uplift*):

- **T-learner** (two models): one regression of the campaign month's sales on
  the features among the treated, one among the control; the uplift is their
  difference.
- **X-learner** (Künzel et al. 2019): the two models above impute each
  customer's individual effect (a treated customer's sales minus what the
  control model predicts for them, and the other way round), a second pair of
  models learns those effects, and the two are blended by the share treated.
  It suits a small control group (the case's 20 %) better than the T-learner.

Every prediction used to judge the model is **out of fold**: the customers are
split into folds (stratified by arm), and each fold is scored by models that
never saw it. Customers are then ranked by predicted uplift and the observed
uplift (treated mean minus control mean) is read per decile of that ranking,
with the Qini curve and its area; a model that ranks well shows high observed
uplift at the top and little at the bottom.

scikit-uplift (last release 2022) and causalml (a compiled, heavy stack) were
looked at; the two learners are a few lines over scikit-learn, which the kit
already uses, and the Qini figures are checked against a direct computation in
the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .errors import DataError, EmptyGroupError, ParameterError

__all__ = [
    "UpliftModel",
    "UpliftReport",
    "fit_uplift",
    "qini_coefficient",
    "qini_curve",
    "round_uplift",
    "select_by_uplift",
    "uplift_by_decile",
    "uplift_features",
    "uplift_summary",
]

#: member fields used as features when the member table has them (never a personal field)
MEMBER_FEATURES = ("occupation", "preferred_channel", "age_band", "gender", "uses_wechat")
METHODS = ("x", "t")


def uplift_features(table: pd.DataFrame, covariates: pd.DataFrame | None = None,
                    customers: pd.DataFrame | None = None, *,
                    member_fields: Sequence[str] = MEMBER_FEATURES) -> pd.DataFrame:
    """What was known of each targeted customer before the campaign, as numeric features.

    Parameters
    ----------
    table
        The round's interaction table (:func:`crm_kit.results.interaction_table`), indexed by customer_id:
        its base period's own visits and sales and its ticket are used (nothing of the campaign period).
    covariates
        :func:`crm_kit.engine.pre_period_covariates` of the same customers (mean monthly visits and sales over
        the year before the base), optional.
    customers
        The member table, optional: the fields of ``member_fields`` it has, one-hot encoded (missing values
        their own level).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``table``: one numeric column per feature.
    """
    visits = table["visits_base_period"] if "visits_base_period" in table.columns else table["visits_base"]
    sales = table["sales_base_period"] if "sales_base_period" in table.columns else table["sales_base"]
    features = pd.DataFrame({"visits_base": visits.astype(float), "sales_base": sales.astype(float)}, index=table.index)
    features["ticket_base"] = np.where(features["visits_base"] > 0,
                                       features["sales_base"] / features["visits_base"].where(features["visits_base"] > 0), 0.0)
    if covariates is not None:
        cov = covariates.reindex(table.index)[["visits_pre", "sales_pre"]].astype(float)
        features = features.join(cov.fillna(0.0))
    if customers is not None:
        members = customers.assign(customer_id=customers["customer_id"].astype(str)).set_index("customer_id")
        fields = [f for f in member_fields if f in members.columns]
        if fields:
            raw = members[fields].reindex(table.index.astype(str))
            encoded = pd.get_dummies(raw.astype("string").fillna("<missing>"), prefix_sep="=", dtype=float)
            encoded.index = table.index
            features = features.join(encoded)
    return features


@dataclass
class UpliftModel:
    """A fitted uplift model and its out-of-fold evaluation.

    Attributes
    ----------
    method
        ``"x"`` (X-learner) or ``"t"`` (T-learner).
    scores
        Out-of-fold predicted uplift per customer (index customer_id): each predicted by models that did not see it.
    outcome, treated
        The outcome and the arm (True = treated) it was fitted on.
    features
        The feature names.
    folds
        The number of folds.
    """

    method: str
    scores: pd.Series
    outcome: pd.Series
    treated: pd.Series
    features: list[str]
    folds: int


def _regressor(seed: int):
    from sklearn.ensemble import HistGradientBoostingRegressor

    # shallow, slow-learning trees with large leaves: a campaign round has hundreds to thousands of customers
    return HistGradientBoostingRegressor(max_iter=150, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=20,
                                         l2_regularization=1.0, random_state=seed)


def _fit_predict(method: str, x_train: np.ndarray, y_train: np.ndarray, t_train: np.ndarray, x_test: np.ndarray,
                 seed: int) -> np.ndarray:
    """Predicted uplift of ``x_test`` by a learner fitted on the training rows."""
    mu1 = _regressor(seed).fit(x_train[t_train], y_train[t_train])
    mu0 = _regressor(seed).fit(x_train[~t_train], y_train[~t_train])
    if method == "t":
        return mu1.predict(x_test) - mu0.predict(x_test)
    d1 = y_train[t_train] - mu0.predict(x_train[t_train])      # a treated customer's effect: own sales - untreated prediction
    d0 = mu1.predict(x_train[~t_train]) - y_train[~t_train]    # a control customer's: treated prediction - own sales
    tau1 = _regressor(seed).fit(x_train[t_train], d1)
    tau0 = _regressor(seed).fit(x_train[~t_train], d0)
    share_treated = float(t_train.mean())  # the propensity: constant in a randomised round
    return share_treated * tau0.predict(x_test) + (1 - share_treated) * tau1.predict(x_test)


def fit_uplift(features: pd.DataFrame, outcome: pd.Series, treated: pd.Series, *, method: str = "x",
               folds: int = 5, seed: int = 0) -> UpliftModel:
    """Fit an uplift model on a randomised round and score every customer out of fold.

    Parameters
    ----------
    features
        :func:`uplift_features` (pre-campaign only: a feature of the campaign period would leak the outcome).
    outcome
        The campaign period's outcome per customer (e.g. ``sales_campaign``), same index.
    treated
        True for the treated, False for the random control group, same index.
    method
        ``"x"`` (X-learner, the default) or ``"t"`` (T-learner).
    folds
        Folds of the cross-fitting (stratified by arm).
    seed
        Seed of the folds and the boosting.

    Returns
    -------
    UpliftModel
    """
    from sklearn.model_selection import StratifiedKFold

    if method not in METHODS:
        raise ParameterError(f"uplift method={method!r}: use 'x' (X-learner) or 't' (T-learner)")
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ParameterError(f"folds={folds!r}: give a whole number of folds, at least 2")
    if not features.index.equals(outcome.index) or not features.index.equals(treated.index):
        raise DataError("features, outcome and treated must share one index (the customers, in the same order)")
    if features.isna().any().any() or outcome.isna().any():
        raise DataError("the uplift model's features and outcome must have no missing values")
    t = treated.to_numpy(bool)
    n_t, n_c = int(t.sum()), int((~t).sum())
    if min(n_t, n_c) < 10 * folds:
        raise EmptyGroupError(f"an uplift model needs at least {10 * folds} customers per arm for {folds}-fold "
                              f"cross-fitting; this round has {n_t:,} treated and {n_c:,} control")
    # the folds are drawn over the customers sorted by id: the same customers give the same folds in any row order
    order = np.argsort(features.index.astype(str).to_numpy(), kind="stable")
    # rounded to 1e-6: the engine sums in no fixed order, and a last-digit difference between two runs could
    # otherwise tip a near-tied split of the boosting
    x = np.round(features.to_numpy(float)[order], 6)
    y, t_sorted = np.round(outcome.to_numpy(float)[order], 6), t[order]
    sorted_scores = np.empty(len(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(x, t_sorted):
        sorted_scores[test] = _fit_predict(method, x[train], y[train], t_sorted[train], x[test], seed)
    scores = np.empty(len(y))
    scores[order] = sorted_scores
    return UpliftModel(method=method, scores=pd.Series(scores, index=features.index, name="predicted_uplift"),
                       outcome=outcome.astype(float), treated=treated.astype(bool), features=list(features.columns),
                       folds=folds)


def uplift_by_decile(model: UpliftModel, *, bins: int = 10) -> pd.DataFrame:
    """Observed uplift per decile of the out-of-fold predicted uplift (decile 1: the highest predictions).

    Returns
    -------
    pandas.DataFrame
        Per decile: customers, treated, control, their mean outcomes, ``observed_uplift`` (treated mean -
        control mean; empty when an arm has nobody there) and ``predicted_uplift`` (mean prediction).
    """
    order = model.scores.rank(method="first", ascending=False).to_numpy()
    decile = np.ceil(order / len(order) * bins).astype(int)
    frame = pd.DataFrame({"decile": decile, "y": model.outcome.to_numpy(), "t": model.treated.to_numpy(),
                          "score": model.scores.to_numpy()})
    rows = []
    for d, g in frame.groupby("decile"):
        yt, yc = g.loc[g["t"], "y"], g.loc[~g["t"], "y"]
        rows.append({"decile": int(d), "customers": len(g), "treated": len(yt), "control": len(yc),
                     "treated_mean": yt.mean() if len(yt) else np.nan, "control_mean": yc.mean() if len(yc) else np.nan,
                     "observed_uplift": yt.mean() - yc.mean() if len(yt) and len(yc) else np.nan,
                     "predicted_uplift": g["score"].mean()})
    return pd.DataFrame(rows)


def _qini_values(score: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Q(k) for k = 1..N, customers ordered by ``score`` (highest first)."""
    order = np.argsort(-score, kind="stable")
    y, t = y[order], t[order]
    yt, yc = np.cumsum(np.where(t, y, 0.0)), np.cumsum(np.where(t, 0.0, y))
    nt, nc = np.cumsum(t), np.cumsum(~t)
    return yt - np.divide(yc * nt, nc, out=np.zeros(len(y)), where=nc > 0)


def qini_curve(model: UpliftModel) -> pd.DataFrame:
    """The Qini curve: incremental outcome gained by targeting the top k customers by predicted uplift.

    For the top ``k``: ``Q(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k)`` (the treated's total outcome minus the
    control's scaled to as many customers; 0 while no control customer is in), and the line of random
    targeting ``k / N * Q(N)``.
    """
    y, t = model.outcome.to_numpy(float), model.treated.to_numpy(bool)
    q = _qini_values(model.scores.to_numpy(float), y, t)
    k = np.arange(1, len(y) + 1)
    return pd.DataFrame({"targeted": k, "qini": q, "random": k / len(y) * q[-1]})


def qini_coefficient(model: UpliftModel) -> float:
    """The normalised area under the Qini curve, as scikit-uplift's ``qini_auc_score`` defines it.

    ``(A_model - A_random) / (A_perfect - A_random)``: areas under the Qini curves (trapezoids from (0, 0)) of
    the model, of random targeting (the straight line to ``(N, Q(N))``) and of the perfect ordering, which
    ranks treated customers by descending and control customers by ascending outcome (negative effects
    included). 0 is random targeting, 1 the perfect ordering; with a continuous outcome the perfect ordering
    also sorts the noise, so useful models score well below 1.
    """
    y, t = model.outcome.to_numpy(float), model.treated.to_numpy(bool)
    k = np.arange(0, len(y) + 1, dtype=float)

    def area(values: np.ndarray) -> float:
        curve = np.concatenate([[0.0], values])
        return float(np.sum((curve[1:] + curve[:-1]) / 2 * np.diff(k)))

    model_area = area(_qini_values(model.scores.to_numpy(float), y, t))
    perfect = _qini_values(np.where(t, y, -y), y, t)
    random_area = perfect[-1] * len(y) / 2
    denominator = area(perfect) - random_area
    return (model_area - random_area) / denominator if denominator else float("nan")


def uplift_summary(model: UpliftModel) -> dict[str, Any]:
    """The model's out-of-fold quality in a few figures.

    ``qini`` is :func:`qini_coefficient` (0: no better than random; positive: it ranks the customers the
    campaign moves first);
    ``top_decile_uplift`` and ``bottom_decile_uplift`` are the observed uplift of the first and last deciles.
    """
    deciles = uplift_by_decile(model)
    return {"method": {"x": "X-learner", "t": "T-learner"}[model.method], "customers": int(len(model.scores)),
            "folds": model.folds, "features": len(model.features),
            "qini": qini_coefficient(model),
            "top_decile_uplift": float(deciles["observed_uplift"].iloc[0]),
            "bottom_decile_uplift": float(deciles["observed_uplift"].iloc[-1]),
            "mean_uplift": float(model.outcome[model.treated].mean() - model.outcome[~model.treated].mean())}


def select_by_uplift(model: UpliftModel, *, top_n: int = 0, cost_per_contact: float = 0.0,
                     gross_margin: float = 0.2) -> dict[str, Any]:
    """The next round's targeting by predicted uplift, and what it returned out of fold in this round.

    Parameters
    ----------
    model
        :func:`fit_uplift`'s model.
    top_n
        Target the ``top_n`` customers with the highest predicted uplift; 0 targets those whose predicted
        incremental margin (uplift x gross margin) exceeds the cost of contacting them.
    cost_per_contact
        The cost of reaching one customer (all their messages and shared costs).
    gross_margin
        Gross margin on incremental sales.

    Returns
    -------
    dict
        ``rule`` (in words), ``selected`` (customers), ``customer_ids``, ``observed_uplift_selected`` (treated
        mean - control mean among them, out of fold: an honest estimate of what targeting them returned),
        ``margin_per_contact`` (that x gross margin - cost per contact) and the same for everyone targeted
        (``observed_uplift_all``, ``margin_per_contact_all``).
    """
    if isinstance(top_n, bool) or not isinstance(top_n, (int, np.integer)) or top_n < 0:
        raise ParameterError(f"uplift_top_n={top_n!r}: give a whole number of customers (0: margin above cost)")
    scores = model.scores.sort_values(ascending=False, kind="stable")
    if top_n:
        chosen = scores.index[: min(top_n, len(scores))]
        rule = f"the top {len(chosen):,} customers by predicted uplift"
    else:
        chosen = scores.index[scores.to_numpy() * gross_margin > cost_per_contact]
        rule = f"customers whose predicted incremental margin exceeds the cost of a contact ({cost_per_contact:,.2f})"
    mask = model.scores.index.isin(chosen)
    t = model.treated.to_numpy()
    y = model.outcome.to_numpy()

    def observed(keep: np.ndarray) -> float:
        if not (keep & t).any() or not (keep & ~t).any():
            return float("nan")
        return float(y[keep & t].mean() - y[keep & ~t].mean())

    selected, everyone = observed(mask), observed(np.ones(len(y), dtype=bool))
    return {"rule": rule, "selected": int(mask.sum()), "customer_ids": [str(i) for i in chosen],
            "treated_in_selection": int((mask & t).sum()), "control_in_selection": int((mask & ~t).sum()),
            "observed_uplift_selected": selected, "margin_per_contact": selected * gross_margin - cost_per_contact,
            "observed_uplift_all": everyone, "margin_per_contact_all": everyone * gross_margin - cost_per_contact,
            "cost_per_contact": cost_per_contact, "gross_margin": gross_margin}


# ====================================================================== a round's uplift, as notebook 04 runs it


@dataclass
class UpliftReport:
    """A round's uplift model for notebook 04: the model and its tables, or the sentence saying why there is none.

    Attributes
    ----------
    note
        One sentence: what was fitted on whom and how well it ranks, or why nothing was fitted.
    model
        The :class:`UpliftModel` (``None`` when none could be fitted).
    deciles
        :func:`uplift_by_decile` (``None`` without a model).
    summary
        :func:`uplift_summary` (``None`` without a model).
    choice
        :func:`select_by_uplift` (``None`` without a model).
    """

    note: str
    model: UpliftModel | None = None
    deciles: pd.DataFrame | None = None
    summary: dict[str, Any] | None = None
    choice: dict[str, Any] | None = None

    @property
    def scores(self) -> pd.DataFrame | None:
        """Per customer: ``customer_id``, out-of-fold ``predicted_uplift``, ``selected`` by the targeting rule."""
        if self.model is None:
            return None
        chosen = set(self.choice["customer_ids"]) if self.choice else set()
        scores = self.model.scores
        return pd.DataFrame({"customer_id": scores.index.astype(str), "predicted_uplift": scores.to_numpy(),
                             "selected": scores.index.astype(str).isin(chosen)})

    def record(self) -> dict[str, Any] | None:
        """The figures the round's result keeps (no customer id)."""
        if self.model is None:
            return None
        choice = {k: v for k, v in (self.choice or {}).items() if k != "customer_ids"}
        return {**(self.summary or {}), **choice}

    def write(self, folder, round_no: int) -> str:
        """Write the scores for notebook 03 of the next round (``target_kind: uplift``); the sentence saying so."""
        from .artifacts import write_uplift_scores
        from .config import shown

        if self.model is None:
            return "no uplift scores written: " + self.note
        path = write_uplift_scores(self.scores, folder, round_no)
        return (f"uplift scores of {len(self.model.scores):,} customers written to {shown(path)}: round {round_no + 1} "
                "can target them with target_kind: uplift")


def round_uplift(transactions, table: pd.DataFrame, customers: pd.DataFrame | None, setup, *, top_n: int = 0,
                 method: str = "x", folds: int = 5, seed: int = 0, periods: int = 12) -> UpliftReport:
    """Fit the uplift model of a round with a random control group, as notebook 04 does.

    Features: the base period's own visits, sales and ticket, the year before it
    (:func:`crm_kit.engine.pre_period_covariates`) and the member fields; outcome: the campaign period's
    sales. The targeting of :func:`select_by_uplift` prices a contact at the round's cost per treated
    customer.

    Parameters
    ----------
    transactions
        Ibis table of cleaned line items.
    table
        The round's interaction table.
    customers
        The member table, or ``None``.
    setup
        The round's :class:`~crm_kit.results.RoundSetup`.
    top_n, method, folds, seed
        See :func:`select_by_uplift` and :func:`fit_uplift`.
    """
    from .engine import pre_period_covariates

    if setup.estimate != "lift":
        return UpliftReport("No uplift model: the comparison group is not random, so the difference between the arms "
                            "for a kind of customer is not the campaign's effect on them.")
    arms = table["arm"]
    n_t, n_c = int((arms == "treatment").sum()), int((arms == "control").sum())
    if min(n_t, n_c) < 10 * folds:
        return UpliftReport(f"No uplift model: {n_t:,} treated and {n_c:,} control customers are too few to learn who "
                            f"responds (at least {10 * folds} per arm for {folds}-fold cross-fitting).")
    covariates = pre_period_covariates(transactions, table.index, base=setup.periods["base"], periods=periods)
    features = uplift_features(table, covariates, customers)
    model = fit_uplift(features, table["sales_campaign"].astype(float), arms == "treatment", method=method,
                       folds=folds, seed=seed)
    cost = float(setup.cost) / n_t if setup.cost else 0.0
    choice = select_by_uplift(model, top_n=top_n, cost_per_contact=cost, gross_margin=float(setup.gross_margin))
    summary = uplift_summary(model)
    note = (f"{summary['method']} on scikit-learn gradient boosting, {len(model.features)} pre-campaign features, "
            f"{folds}-fold out-of-fold predictions for {summary['customers']:,} customers: observed uplift "
            f"{summary['top_decile_uplift']:,.0f} per customer in the top predicted decile against "
            f"{summary['bottom_decile_uplift']:,.0f} in the bottom one (all: {summary['mean_uplift']:,.0f}); "
            f"Qini coefficient {summary['qini']:.3f} (0 = no better than random, 1 = the perfect ordering). Targeting {choice['rule']}: "
            f"{choice['selected']:,} customers, who showed {choice['observed_uplift_selected']:,.0f} per customer "
            f"over control — {choice['margin_per_contact']:,.2f} incremental margin per contact after its cost "
            f"({cost:,.2f}), against {choice['margin_per_contact_all']:,.2f} for contacting everyone.")
    return UpliftReport(note=note, model=model, deciles=uplift_by_decile(model), summary=summary, choice=choice)
