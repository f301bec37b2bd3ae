"""Segmentation on hand-computed tables and planted clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from crm_kit import ParameterError
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
