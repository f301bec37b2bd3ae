"""Segmentation on hand-computed tables and planted clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from crm_kit import DataError, ParameterError
from crm_kit import segmentation as sg


def _summary(n=100, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": [f"c{i:03d}" for i in range(n)],
        "recency_days": rng.integers(0, 300, n),
        "frequency": rng.integers(1, 30, n),
        "sales": rng.gamma(2, 500, n),
    })


def test_rfm_scores_by_hand():
    df = pd.DataFrame({"customer_id": list("abcd"), "recency_days": [1, 10, 100, 200],
                       "frequency": [20, 10, 5, 1], "sales": [1000.0, 500.0, 100.0, 10.0]})
    rfm = sg.RFMScorer(n_bins=2, segments=[{"name": "best", "r": [2, 2], "f": [2, 2]}]).fit(df)
    s = rfm.transform(df)
    # medians: recency 55, frequency 7.5, sales 300 -> a, b on the good side of each
    assert s["r_score"].tolist() == [2, 2, 1, 1]
    assert s["f_score"].tolist() == [2, 2, 1, 1]
    assert s["rfm_score"].tolist() == ["222", "222", "111", "111"]
    assert s["rfm_segment"].tolist() == ["best", "best", "others", "others"]


def test_rfm_fit_on_one_period_transform_another():
    ref = _summary(200, 1)
    later = _summary(50, 2)
    rfm = sg.RFMScorer().fit(ref)
    s = rfm.transform(later)
    edges = rfm.edges_["m"]
    expected = np.searchsorted(edges, later["sales"].to_numpy(), side="right") + 1
    assert (s["m_score"].to_numpy() == expected).all()
    assert s["r_score"].between(1, 5).all() and s["rfm_segment"].notna().all()


def test_rfm_default_rules_need_five_bins():
    with pytest.raises(ParameterError, match="for 5 bins"):
        sg.RFMScorer(n_bins=4).fit(_summary())


def test_clustering_recovers_planted_clusters():
    rng = np.random.default_rng(0)
    centres = [(5, 2, 200, 30), (60, 12, 3000, 250), (200, 1, 50, 50)]
    parts, truth = [], []
    for i, (r, f, s, t) in enumerate(centres):
        n = 400
        parts.append(pd.DataFrame({
            "recency_days": np.exp(np.log(r) + rng.normal(0, 0.15, n)),
            "frequency": np.exp(np.log(f) + rng.normal(0, 0.15, n)),
            "sales": np.exp(np.log(s) + rng.normal(0, 0.15, n)),
            "mean_ticket": np.exp(np.log(t) + rng.normal(0, 0.15, n)),
        }))
        truth += [i] * n
    feats = pd.concat(parts, ignore_index=True)
    scores = sg.choose_k(feats, k_range=range(2, 7))
    assert int(scores.loc[scores["best"], "k"].iloc[0]) == 3
    cc = sg.CustomerClusters(n_clusters=3).fit(feats)
    assert adjusted_rand_score(truth, cc.labels_) > 0.99
    # cluster 0 has the highest mean sales, and names say so
    assert cc.profile_["sales"].is_monotonic_decreasing
    assert "high spend" in " ".join(cc.names_.values()) or "frequent" in cc.names_[0]
    assert (cc.predict(feats) == cc.labels_).all()


def test_minibatch_on_a_large_table_is_used_and_works():
    rng = np.random.default_rng(1)
    feats = pd.DataFrame({"recency_days": rng.gamma(2, 30, 5000), "frequency": rng.gamma(2, 3, 5000), "sales": rng.gamma(2, 300, 5000)})
    cc = sg.CustomerClusters(n_clusters=3, minibatch_above=1000).fit(feats)
    assert type(cc.model_).__name__ == "MiniBatchKMeans" and len(set(cc.labels_)) == 3


def test_value_tiers_by_hand():
    df = pd.DataFrame({"customer_id": list("abcdef"), "sales": [50.0, 20.0, 10.0, 10.0, 5.0, 5.0]})
    t = sg.ValueTiers(shares=(0.5, 0.3, 0.15)).fit_transform(df).set_index("customer_id")["tier"]
    # cumulative share before each: a 0, b .5, c .7, d .8, e .9, f .95
    assert t.to_dict() == {"a": "A", "b": "B", "c": "B", "d": "C", "e": "C", "f": "D"}
    with pytest.raises(ParameterError, match="add up to less than 1"):
        sg.ValueTiers(shares=(0.5, 0.5, 0.1)).fit(df)


def test_churn_by_tier_by_hand(tmp_path):
    from crm_kit import load_store

    lines = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c"],
        "order_id": ["1", "2", "3", "4", "5"],
        "ts": pd.to_datetime(["2025-01-01", "2025-03-20", "2025-01-05", "2025-01-10", "2025-03-25"]),
        "product_id": "p", "quantity": 1.0, "amount": 10.0,
    })
    lines.to_parquet(tmp_path / "t.parquet")
    store = load_store({"tables": {"transactions": {"path": str(tmp_path / "t.parquet")}}})
    tiers = pd.DataFrame({"customer_id": ["a", "b", "c"], "tier": ["A", "A", "B"]})
    churn = sg.churn_by_tier(store, tiers, checkpoints=["2025-04-01"], churn_days=30).set_index("tier")
    # a bought 03-20 (active), b last 01-10 (churned); c first bought 03-25: too new to count
    assert churn.loc["A", "customers"] == 2 and churn.loc["A", "churned"] == 1 and churn.loc["A", "churn_rate"] == 0.5
    assert "B" not in churn.index


def test_age_groups_spread_the_rest_at_random_reproducibly():
    members = pd.DataFrame({"customer_id": [f"m{i}" for i in range(10)], "age": [19, 26, 31, 50, 60, 24, 29, 33, 70, 45]})
    a = sg.age_groups(members, seed=1)
    b = sg.age_groups(members, seed=1)
    pd.testing.assert_frame_equal(a, b)
    g = a.set_index("customer_id")
    assert g.loc["m0", "age_group"] == "18-24 aspiring" and g.loc["m1", "age_group"] == "25-29 core"
    assert g.loc["m2", "age_group"] == "30-34 feel young"
    assert g["assigned_at_random"].sum() == 4 and g["age_group"].isin(sg.DEFAULT_AGE_GROUPS).all()


def test_rule_segments_and_overlap_by_hand():
    s = pd.DataFrame({"customer_id": list("abcd"), "frequency": [12, 3, 15, 1], "recency_days": [5, 100, 120, 3]})
    r = sg.rule_segments(s, {"frequent": "frequency > 10", "inactive": "recency_days >= 90"})
    assert r["frequent"].tolist() == [True, False, True, False] and r["inactive"].tolist() == [False, True, True, False]
    seg = r.assign(tier=["A", "B", "A", "B"])
    m = sg.overlap_matrix(seg, ["tier", "frequent", "inactive"])
    assert m.loc["frequent", "inactive"] == 1 and m.loc["tier=A", "frequent"] == 2 and m.loc["tier=B", "tier=B"] == 2
    with pytest.raises(ParameterError, match="rule segment 'bad'"):
        sg.rule_segments(s, {"bad": "nosuchcolumn > 1"})


#: the default RFM names that say a customer stopped buying, with the share of churn_days they need
_LAPSED_NAMES = {"lost": 1.0, "lapsed": 1.0, "hibernating": 0.5, "at risk": 0.5, "cannot lose them": 0.5}
_ACTIVE_NAMES = {"champions", "loyal", "potential loyalists", "new", "promising", "need attention", "about to sleep",
                 "active, lower scores"}


def _names_agree_with_recency(segments: pd.Series, recency_days: pd.Series, churn_days: float) -> None:
    for name, share in _LAPSED_NAMES.items():
        assert (recency_days[segments == name] >= share * churn_days).all(), name
    for name in _ACTIVE_NAMES:
        assert (recency_days[segments == name] < churn_days).all(), name


def test_nobody_who_bought_last_week_is_lost():
    """Everybody bought in the last 20 days: quantile scores still run from 1 to 5, the names may not say 'lost'."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"customer_id": [f"c{i}" for i in range(500)], "recency_days": rng.integers(0, 20, 500),
                       "frequency": rng.integers(1, 12, 500), "sales": rng.gamma(2, 200, 500)})
    scores = sg.RFMScorer(churn_days=90).fit(df).transform(df)
    assert scores["r_score"].min() == 1  # relative scores do go down to 1...
    assert not set(scores["rfm_segment"]) & set(_LAPSED_NAMES)  # ...but nobody is named as if gone
    assert set(scores["rfm_segment"]) <= _ACTIVE_NAMES
    old = df.assign(recency_days=df["recency_days"] + 200)  # the same customers seen 200 days later
    later = sg.RFMScorer(churn_days=90).fit(old).transform(old)
    assert set(later["rfm_segment"]) <= set(_LAPSED_NAMES)
    _names_agree_with_recency(later["rfm_segment"], old["recency_days"], 90)


def test_k_is_chosen_in_a_business_range_with_a_minimum_share_and_ends_are_flagged():
    # k = 2 has the best silhouette but splits off 2 % of the customers: no segment to campaign on
    scores = pd.DataFrame({"k": [2, 3, 4, 5], "inertia": [100.0, 60.0, 45.0, 40.0],
                           "silhouette": [0.62, 0.51, 0.55, 0.40], "smallest_share": [0.02, 0.20, 0.12, 0.03]})
    picked = sg.select_k(scores, min_share=0.05)
    assert picked["usable"].tolist() == [False, True, True, False]
    assert picked.loc[picked["best"], "k"].tolist() == [4]
    assert picked.loc[picked["elbow"], "k"].tolist() == [3]  # farthest below the line from (2, 100) to (5, 40)
    text = sg.k_choice_verdict(picked)
    assert "k = 4" in text and "elbow of the inertia curve is at k = 3" in text and "end of the range" not in text
    none_usable = sg.select_k(scores.assign(smallest_share=0.01), min_share=0.05)
    assert none_usable.loc[none_usable["best"], "k"].tolist() == [2]
    assert "No k in the range" in sg.k_choice_verdict(none_usable) and "an end of the range" in sg.k_choice_verdict(none_usable)
    # on real features: every k reported with its smallest share, one best, one elbow
    rng = np.random.default_rng(5)
    feats = pd.DataFrame({"recency_days": rng.gamma(4, 10, 3000), "frequency": rng.gamma(4, 2, 3000),
                          "sales": rng.gamma(4, 300, 3000)})
    real = sg.choose_k(feats, k_range=range(3, 7))
    assert real["best"].sum() == 1 and real["elbow"].sum() == 1 and real["smallest_share"].between(0, 1).all()


def test_segments_on_the_demo_store_are_three_or_more_and_named_by_recency(demo_store):
    from crm_kit.discovery import customer_behaviour
    from crm_kit.engine import customer_summary

    summary = customer_summary(demo_store.transactions, as_of="2025-10-01")
    features = sg.cluster_features(summary, customer_behaviour(demo_store, month="2025-09"))
    scores = sg.choose_k(features)
    assert int(scores.loc[scores["best"], "k"].iloc[0]) >= 3
    rfm = sg.RFMScorer(churn_days=90).fit(summary)
    _names_agree_with_recency(rfm.transform(summary)["rfm_segment"], summary["recency_days"], 90)


@pytest.mark.realdata
def test_segments_on_online_retail_are_three_or_more_and_named_by_recency():
    from conftest import shared_file
    from crm_kit import load_store
    from crm_kit.engine import customer_summary

    shared_file("online_retail", "online_retail.parquet")
    store = load_store("params/data/online_retail.yaml")
    summary = customer_summary(store.transactions, as_of="2011-12-10")
    scores = sg.choose_k(sg.cluster_features(summary))
    assert int(scores.loc[scores["best"], "k"].iloc[0]) >= 3
    segments = sg.RFMScorer(churn_days=90).fit(summary).transform(summary)["rfm_segment"]
    _names_agree_with_recency(segments, summary["recency_days"], 90)
    # bought within the last 30 days: never lost, lapsed or hibernating
    assert not set(segments[summary["recency_days"] < 30]) & {"lost", "lapsed", "hibernating"}


def test_mean_silhouettes_equal_scikit_learns():
    """One pass of distances for several clusterings gives scikit-learn's silhouette for each (sample, singletons)."""
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 4))
    labelings = [rng.integers(0, k, len(X)) for k in (2, 3, 7)]
    labelings.append(np.r_[np.zeros(len(X) - 1, int), [5]])  # a cluster of one point: its silhouette is 0
    labelings.append((X[:, 0] > 0).astype(int) * 10)  # labels need not run from 0
    ours = sg.mean_silhouettes(X, labelings)
    assert ours == pytest.approx([silhouette_score(X, labels) for labels in labelings], abs=1e-12)
    ours = sg.mean_silhouettes(X, labelings[:3], sample_size=600, random_state=4)
    assert ours == pytest.approx([silhouette_score(X, labels, sample_size=600, random_state=4)
                                  for labels in labelings[:3]], abs=1e-12)
    with pytest.raises(DataError, match="silhouette needs 2"):
        sg.mean_silhouettes(X, [np.zeros(len(X), int)])
