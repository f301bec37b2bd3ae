"""What changed between two months: the LMDI revenue tree, migration, cohorts, unusual changes, the planted change.

Hand-computed on a table of four customers over four months, checked against pandas written apart
from the kit, and on the demo store with a change planted in one tier.
"""

from __future__ import annotations

import math

import ibis
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from crm_kit import DataError, ParameterError, changes, engine
from crm_kit.artifacts import MonthlyChanges, check_metrics


@pytest.fixture
def lines() -> pd.DataFrame:
    """d buys once in November; a in December, January (one order, two lines) and twice in February;
    b first in January and once in February; c first in February."""
    rows = [
        ("d", "n1", "2024-11-10 10:00", 1, 8.0),
        ("a", "d1", "2024-12-15 10:00", 1, 5.0),
        ("a", "j1", "2025-01-05 10:00", 1, 10.0),
        ("a", "j1", "2025-01-05 10:00", 1, 10.0),
        ("b", "j2", "2025-01-10 12:00", 1, 30.0),
        ("a", "f1", "2025-02-03 10:00", 1, 10.0),
        ("b", "f3", "2025-02-07 09:00", 2, 25.0),
        ("c", "f4", "2025-02-14 16:00", 1, 10.0),
        ("a", "f2", "2025-02-20 18:00", 1, 10.0),
    ]
    df = pd.DataFrame(rows, columns=["customer_id", "order_id", "ts", "quantity", "amount"])
    df["ts"] = pd.to_datetime(df["ts"])
    df["product_id"] = "p"
    return df


@pytest.fixture
def table(lines):
    return ibis.memtable(lines)


@pytest.fixture
def totals(table):
    return engine.customer_period_totals(table, periods={"previous": "2025-01", "current": "2025-02"})


def _pandas_totals(lines, start, end):
    """Customers, orders, items and sales of a month, straight from the lines (no kit code)."""
    m = lines[(lines["ts"] >= start) & (lines["ts"] < end)]
    return {"customers": m["customer_id"].nunique(), "orders": m[["customer_id", "order_id"]].drop_duplicates().shape[0],
            "items": m["quantity"].sum(), "sales": m["amount"].sum()}


def _pandas_lmdi(t0, t1):
    """LMDI-I written out by hand: L(S1, S0) * ln(x1 / x0) for each factor."""
    s0, s1 = t0["sales"], t1["sales"]
    weight = (s1 - s0) / (math.log(s1) - math.log(s0))
    f0 = [t0["customers"], t0["orders"] / t0["customers"], t0["items"] / t0["orders"], t0["sales"] / t0["items"]]
    f1 = [t1["customers"], t1["orders"] / t1["customers"], t1["items"] / t1["orders"], t1["sales"] / t1["items"]]
    return dict(zip(changes.FACTORS, (weight * math.log(b / a) for a, b in zip(f0, f1))))


# ---------------------------------------------------------------- the engine


def test_customer_period_totals_by_hand(totals):
    t = totals.set_index(["period", "customer_id"])
    # a: January one order of two lines (2 items, 20); February two orders (2 items, 20)
    assert t.loc[("previous", "a"), ["orders", "items", "sales"]].tolist() == [1, 2, 20]
    assert t.loc[("current", "a"), ["orders", "items", "sales"]].tolist() == [2, 2, 20]
    assert t.loc[("current", "b"), ["orders", "items", "sales"]].tolist() == [1, 2, 25]
    assert t.loc[("current", "c"), "first_purchase"] == pd.Timestamp("2025-02-14 16:00")
    assert t.loc[("previous", "a"), "first_purchase"] == pd.Timestamp("2024-12-15 10:00")
    assert ("previous", "d") not in t.index and len(t) == 5
    assert (t.loc["current", "start"] == pd.Timestamp("2025-02-01")).all()


def test_customer_period_totals_refuses_overlapping_periods(table):
    with pytest.raises(ParameterError, match="overlap"):
        engine.customer_period_totals(table, periods={"a": "2025-01", "b": ("2025-01-15", "2025-02-15")})


def test_cohort_activity_equals_pandas(lines, table):
    got = engine.cohort_activity(table)
    df = lines.copy()
    df["month"] = df["ts"].dt.to_period("M")
    df["cohort"] = df.groupby("customer_id")["ts"].transform("min").dt.to_period("M")
    expected = (df.groupby(["cohort", "month"])
                .agg(customers=("customer_id", "nunique"),
                     orders=("order_id", "nunique"), items=("quantity", "sum"), sales=("amount", "sum"))
                .reset_index())
    expected["items"] = expected["items"].astype(float)
    assert_frame_equal(got, expected, check_dtype=False)
    # by hand: the December cohort (a) is in December, January and February
    dec = got[got["cohort"] == pd.Period("2024-12", "M")]
    assert dec["sales"].tolist() == [5.0, 20.0, 20.0] and dec["orders"].tolist() == [1, 1, 2]


# ---------------------------------------------------------------- the revenue tree


def test_revenue_tree_by_hand_adds_up_exactly(lines, totals):
    tree = changes.revenue_tree(totals, before="previous", after="current").set_index("node")
    # January: 2 customers, 2 orders, 3 items, 50; February: 3 customers, 4 orders, 5 items, 55
    assert tree.loc["customers", ["before", "after"]].tolist() == [2, 3]
    assert tree.loc["orders_per_customer", ["before", "after"]].tolist() == [1.0, 4 / 3]
    assert tree.loc["items_per_order", ["before", "after"]].tolist() == [1.5, 1.25]
    assert tree.loc["price_per_item", "after"] == pytest.approx(11.0)
    assert tree.loc["sales", "contribution"] == pytest.approx(5.0)
    weight = 5 / math.log(55 / 50)
    assert tree.loc["customers", "contribution"] == pytest.approx(weight * math.log(1.5), rel=1e-12)
    assert tree.loc["orders_per_customer", "contribution"] == pytest.approx(weight * math.log(4 / 3), rel=1e-12)
    assert tree.loc["items_per_order", "contribution"] == pytest.approx(weight * math.log(1.25 / 1.5), rel=1e-12)
    assert tree.loc["price_per_item", "contribution"] == pytest.approx(weight * math.log(11 / (50 / 3)), rel=1e-12)
    # exact: the leaves add up to the change, order value is its children's sum
    assert tree.loc[list(changes.FACTORS), "contribution"].sum() == pytest.approx(5.0, abs=1e-12)
    assert tree.loc["order_value", "contribution"] == pytest.approx(
        tree.loc["items_per_order", "contribution"] + tree.loc["price_per_item", "contribution"], abs=1e-12)
    # and the same as LMDI written apart on totals counted by pandas
    apart = _pandas_lmdi(_pandas_totals(lines, "2025-01-01", "2025-02-01"), _pandas_totals(lines, "2025-02-01", "2025-03-01"))
    for factor, value in apart.items():
        assert tree.loc[factor, "contribution"] == pytest.approx(value, rel=1e-12)


def test_revenue_tree_without_items_stops_at_order_value(totals):
    tree = changes.revenue_tree(totals, before="previous", after="current", items=False).set_index("node")
    assert "items_per_order" not in tree.index
    leaves = tree.loc[["customers", "orders_per_customer", "order_value"], "contribution"]
    assert leaves.sum() == pytest.approx(5.0, abs=1e-12)
    assert tree.loc["order_value", "contribution"] == pytest.approx(5 / math.log(1.1) * math.log(13.75 / 25), rel=1e-12)


def test_tree_by_new_and_returning_and_by_last_months_tier(totals):
    labelled = changes.label_customers(totals, before="previous", after="current")
    kinds = labelled.set_index(["period", "customer_id"])["customer_type"]
    assert kinds[("previous", "a")] == "returning" and kinds[("previous", "b")] == "new"
    assert kinds[("current", "b")] == "returning" and kinds[("current", "c")] == "new"
    by_type = changes.revenue_tree(labelled, before="previous", after="current", by="customer_type")
    sales = by_type[by_type["node"] == "sales"].set_index("segment")
    # new: b (30) in January, c (10) in February; returning: a (20), then a and b (45)
    assert sales.loc["new", ["before", "after"]].tolist() == [30, 10]
    assert sales.loc["returning", ["before", "after"]].tolist() == [20, 45]
    assert sales.loc[["new", "returning"], "contribution"].sum() == pytest.approx(sales.loc["all", "contribution"])
    tiers = labelled.set_index(["period", "customer_id"])["base_tier"]
    # January's tiers: b (30 of 50) is A, a is B; c did not buy in January: new
    assert tiers[("current", "b")] == "A" and tiers[("current", "a")] == "B" and tiers[("current", "c")] == "new this month"
    by_tier = changes.revenue_tree(labelled, before="previous", after="current", by="base_tier").set_index(["segment", "node"])
    # tier A = b: one order both months, 1 -> 2 items, 30 -> 25: customers and orders per customer contribute nothing
    assert by_tier.loc[("A", "customers"), "contribution"] == 0
    weight = (25 - 30) / (math.log(25) - math.log(30))
    assert by_tier.loc[("A", "items_per_order"), "contribution"] == pytest.approx(weight * math.log(2), rel=1e-12)
    assert by_tier.loc[("A", "price_per_item"), "contribution"] == pytest.approx(weight * math.log(12.5 / 30), rel=1e-12)
    # a segment with no customers last month: its whole sales are its customers' contribution
    assert by_tier.loc[("new this month", "customers"), "contribution"] == 10
    table = changes.contribution_table(by_tier.reset_index()).set_index("segment")
    assert table.index[0] == "all" and table.loc["A", "sales_change"] == -5
    leaves = [f"sales_from_{f}" for f in changes.FACTORS]
    assert np.allclose(table[leaves].sum(axis=1), table["sales_change"], atol=1e-9)
    assert by_tier.loc[("new this month", "orders_per_customer"), "contribution"] == 0
    for segment in ("A", "B", "new this month", "all"):
        leaves = by_tier.loc[[(segment, f) for f in changes.FACTORS], "contribution"].sum()
        assert leaves == pytest.approx(by_tier.loc[(segment, "sales"), "contribution"], abs=1e-9)


def test_lmdi_handles_a_part_that_disappears():
    out = changes.lmdi({"n": 3, "v": 4.0}, {"n": 0, "v": 0.0}, factors=["n", "v"])
    assert out == {"n": -12.0, "v": 0.0}


def test_revenue_tree_names_an_unknown_period(totals):
    with pytest.raises(ParameterError, match="period 'last' is not in the table"):
        changes.revenue_tree(totals, before="last", after="current")


# ---------------------------------------------------------------- migration and action lists


@pytest.fixture
def moves(table, totals):
    before = engine.customer_summary(table, as_of="2025-02-01")
    after = engine.customer_summary(table, as_of="2025-03-01")
    return changes.migration_table(totals, before, after, before="previous", after="current")


def test_migration_matrix_by_hand(moves):
    counts = changes.migration_matrix(moves)
    # b: A -> B (25 < January's A threshold 30); a: B -> B; c: none -> D; d: none -> none
    assert counts.index.tolist() == ["A", "B", "no purchase"]
    assert counts.columns.tolist() == ["B", "D", "no purchase"]
    assert counts.to_numpy().tolist() == [[1, 0, 0], [1, 0, 0], [0, 1, 1]]
    sales = changes.migration_matrix(moves, value="sales_after")
    assert sales.to_numpy().tolist() == [[25, 0, 0], [20, 0, 0], [0, 10, 0]]
    nodes, links = changes.migration_flows(counts)
    assert ("A (last month)", "B (this month)", 1.0) in links and sum(n[2] for n in nodes if n[0] == 0) == 4


def test_action_lists_by_hand(moves):
    lists = changes.action_lists(moves)
    assert lists["fell_from_top_tiers"]["customer_id"].tolist() == ["b"]
    assert lists["new_became_regulars"]["customer_id"].tolist() == ["b"]  # first bought in January, back in February
    # d bought on 10 November: 83 days before 1 February, 111 days before 1 March
    assert lists["lost"]["customer_id"].tolist() == ["d"]
    for table in lists.values():
        assert not {"name", "phone", "email", "address", "wechat_id"} & set(table.columns)


# ---------------------------------------------------------------- cohorts and history


def test_cohort_table_and_comparison(table):
    activity = engine.cohort_activity(table)
    shares = changes.cohort_table(activity, share=True)
    assert shares.loc[pd.Period("2024-12", "M")].tolist() == [1.0, 1.0, 1.0]
    assert math.isnan(shares.loc[pd.Period("2024-11", "M"), 1])  # d never came back
    sales = changes.cohort_table(activity, value="sales")
    assert sales.loc[pd.Period("2025-01", "M")].dropna().tolist() == [30.0, 25.0]
    comparison = changes.cohort_comparison(activity, month="2025-02", cohorts=2, ages=1)
    assert comparison[["cohort", "age_months", "share_buying"]].values.tolist() == [["2025-01", 1, 1.0]]
    assert comparison["year_earlier_share"].isna().all() and "year" in comparison.attrs["note"]


def test_cohort_comparison_with_a_year_earlier():
    months = pd.period_range("2023-01", "2024-02", freq="M")
    rows = [{"cohort": months[1], "month": months[1], "customers": 10}, {"cohort": months[1], "month": months[2], "customers": 4},
            {"cohort": months[13], "month": months[13], "customers": 20}, {"cohort": months[0], "month": months[0], "customers": 5}]
    activity = pd.DataFrame(rows).assign(orders=1, items=1.0, sales=1.0)
    # the 2024-01 cohort (20 customers) is compared at age 1 with 2023-01: but 2023-01 is the data's first month
    out = changes.cohort_comparison(activity, month="2024-02", cohorts=2, ages=1)
    assert out["year_earlier_share"].isna().all()
    # a month later the 2024-01 cohort has an age-1 value; the 2023-02 cohort (40 %) is a year before 2024-02
    activity = pd.concat([activity, pd.DataFrame([{"cohort": months[13], "month": months[13] + 1, "customers": 5},
                                                  {"cohort": months[13] + 1, "month": months[13] + 1, "customers": 8},
                                                  {"cohort": months[13] + 1, "month": months[13] + 2, "customers": 2}])
                          .assign(orders=1, items=1.0, sales=1.0)])
    activity = activity.sort_values(["cohort", "month"]).reset_index(drop=True)
    out = changes.cohort_comparison(activity, month="2024-03", cohorts=2, ages=1).set_index("cohort")
    assert out.loc["2024-02", "share_buying"] == 0.25 and out.loc["2024-02", "year_earlier_share"] == 0.4
    assert out.loc["2024-02", "share_difference"] == pytest.approx(-0.15)


def test_monthly_history_by_hand(table):
    history = changes.monthly_history(engine.cohort_activity(table)).set_index("month")
    assert history["customers"].tolist() == [1, 1, 2, 3]
    assert math.isnan(history["new_customers"].iloc[0])  # in the data's first month, who was new is unknown
    assert history["new_customers"].iloc[1:].tolist() == [1, 1, 1]
    assert history["returning_customers"].iloc[1:].tolist() == [0, 1, 2]


def _history(sales_changes):
    sales = 1000 * np.cumprod([1.0] + list(1 + np.array(sales_changes)))
    n = len(sales)
    frame = pd.DataFrame({"month": pd.period_range("2024-01", periods=n, freq="M"), "customers": 100, "orders": 200,
                          "items": 400.0, "sales": sales, "new_customers": 10.0, "returning_customers": 90.0})
    return changes.factor_table(frame)


def test_unusual_changes_by_hand():
    history = _history([0.01, -0.01] * 6 + [0.10])
    out = changes.unusual_changes(history, month="2025-02").set_index("figure")
    earlier = [0.01, -0.01] * 6
    z = (0.10 - np.mean(earlier)) / np.std(earlier, ddof=1)
    assert out.loc["sales", "z"] == pytest.approx(z, rel=1e-9)
    # sales per order and per item moved with sales while orders and items did not: as unusual, listed first
    assert set(out.index[:3]) == {"sales", "order_value", "price_per_item"}
    assert (out["verdict"].iloc[:3] == "unusual").all() and (out["verdict"].iloc[3:] != "unusual").all()
    assert out.loc["sales", "months_judged"] == 12
    assert out.loc["customers", "verdict"] == "usual"  # never moved, and did not move now


def test_summary_names_unusual_changes_first_and_says_when_nothing_is(totals):
    tree = changes.revenue_tree(totals, before="previous", after="current")
    odd = changes.unusual_changes(_history([0.01, -0.01] * 6 + [0.10]), month="2025-02")
    lines = changes.change_summary(odd, tree, month="2025-02", previous="2025-01")
    assert lines[0].startswith("Unusual: ") and len([x for x in lines if x.startswith("Unusual")]) == 3
    assert any(x.startswith("Unusual: sales +10.0% in 2025-02 against 2025-01 (") for x in lines)
    calm = changes.unusual_changes(_history([0.01, -0.01] * 6 + [0.005]), month="2025-02")
    lines = changes.change_summary(calm, tree, month="2025-02", previous="2025-01")
    assert lines[0].startswith("Nothing is unusual in 2025-02")
    assert lines[-1] == ("Sales rose by 5 in 2025-02 against 2025-01 (+10.0%): order value -31, customers +21, orders per customer +15 "
                         "(largest first; they add up to the change).")
    short = changes.unusual_changes(_history([0.01, 0.10]), month="2024-03")
    assert set(short["verdict"]) == {"too little history"}
    assert changes.change_summary(short, tree, month="2024-03", previous="2024-02")[0].startswith("Too little history")


def test_compare_months_in_one_call_and_its_metrics(table):
    comparison = changes.compare_months(table, month="2025-02")
    assert comparison.previous == "2025-01" and comparison.year_earlier is None
    assert comparison.tree.set_index("node").loc["sales", "contribution"] == pytest.approx(5.0)
    assert comparison.lists["lost"]["customer_id"].tolist() == ["d"]
    artifact = comparison.artifact()
    check_metrics({"changes": artifact.metrics()})
    assert {"last_month": "A", "this_month": "B", "value": 1.0} in artifact.metrics()["migration_customers"]
    assert set(artifact.migration.columns) == {"customer_id", "tier_before", "tier_after", "segment_before",
                                               "segment_after"}
    with pytest.raises(DataError, match="no purchases in 2024-10"):
        changes.compare_months(table, month="2024-11")


def test_monthly_changes_round_trip_and_action_lists_export(tmp_path, table):
    from crm_kit.artifacts import collect_metrics, write_action_lists

    comparison = changes.compare_months(table, month="2025-02")
    comparison.artifact().write(tmp_path)
    back = MonthlyChanges.read(tmp_path)
    assert back.month == "2025-02" and back.migration["customer_id"].tolist() == ["a", "b", "c", "d"]
    assert collect_metrics(tmp_path)["changes"]["action_list_sizes"] == {"fell_from_top_tiers": 1,
                                                                         "new_became_regulars": 1, "lost": 1}
    from crm_kit.run.summary import summary_page

    page = summary_page(tmp_path, links={})
    import html

    assert "What changed: 2025-02 against 2025-01" in page
    assert page.index(html.escape(comparison.summary[0])) < page.index(html.escape(comparison.summary[-1]))
    paths = write_action_lists(comparison.lists, tmp_path)
    assert sorted(p.name for p in paths) == ["action_fell_from_top_tiers.parquet", "action_lost.parquet",
                                             "action_new_became_regulars.parquet"]
    leaking = {"lost": comparison.lists["lost"].assign(phone="123")}
    with pytest.raises(DataError, match="personal"):
        write_action_lists(leaking, tmp_path / "other")


# ---------------------------------------------------------------- the planted change


def test_the_tree_and_the_migration_recover_a_planted_change(demo_dir):
    """Tier A (by May's sales) loses half its orders after each member's first in June: the tree puts the
    lost sales on tier A's orders per customer, no other tier moves, and the migration's new movers are
    planted customers moving down."""
    import pyarrow.parquet as pq

    from crm_kit.demo import plant_change, read_planted

    spec = plant_change(demo_dir, month="2025-06", tier="A", keep_share=0.5, seed=0)
    truth = read_planted(spec)
    assert truth["tier"] == "A" and truth["orders_removed"] > 0
    con = ibis.duckdb.connect()
    periods = {"previous": "2025-05", "current": "2025-06"}
    trees, moves = {}, {}
    for name, path in (("natural", demo_dir / "natural" / "transactions.parquet"),
                       ("planted", spec["tables"]["transactions"]["path"])):
        lines = con.read_parquet(str(path))
        totals = engine.customer_period_totals(lines, periods=periods)
        labelled = changes.label_customers(totals, before="previous", after="current")
        trees[name] = changes.revenue_tree(labelled, before="previous", after="current", by="base_tier") \
            .set_index(["segment", "node"])
        summaries = [engine.customer_summary(lines, as_of=when) for when in ("2025-06-01", "2025-07-01")]
        moves[name] = changes.migration_table(totals, *summaries, before="previous", after="current") \
            .set_index("customer_id")
        if name == "planted":
            # the engine's figures equal pandas on the same lines, written apart from the kit
            raw = pq.read_table(path, filters=[("ts", ">=", pd.Timestamp("2025-06-01")),
                                               ("ts", "<", pd.Timestamp("2025-07-01"))]).to_pandas()
            expected = _pandas_totals(raw, "2025-06-01", "2025-07-01")
            got = trees[name].xs("all")
            assert got.loc["customers", "after"] == expected["customers"]
            assert got.loc["sales", "after"] == pytest.approx(expected["sales"], rel=1e-12)
            assert got.loc["orders_per_customer", "after"] == pytest.approx(expected["orders"] / expected["customers"])
            assert got.loc["items_per_order", "after"] == pytest.approx(expected["items"] / expected["orders"])
    diff = (trees["planted"]["contribution"] - trees["natural"]["contribution"]).unstack()
    removed = truth["sales_removed"]
    assert diff.loc["A", "sales"] == pytest.approx(-removed, rel=1e-9)
    others = diff.drop(index=["A", "all"])
    assert (others.abs() < 1e-6).all().all(), others
    # the factor: orders per customer carries the planted loss (at least 90 % of it), every other factor
    # of tier A moves by less than a fifth of it (what LMDI's weights and the order mix shift)
    assert diff.loc["A", "orders_per_customer"] < -0.9 * removed
    for factor in ("customers", "items_per_order", "price_per_item"):
        assert abs(diff.loc["A", factor]) < 0.2 * removed, (factor, diff.loc["A"])
    assert diff.loc["all", "orders_per_customer"] < -0.8 * removed
    # the migration: the customers whose tier this month changed are planted customers, and each moved down
    from pathlib import Path

    planted_ids = set(pd.read_parquet(Path(spec["tables"]["transactions"]["path"]).parent
                                      / "planted_customers.parquet")["customer_id"])
    assert len(planted_ids) == truth["customers_in_tier"]
    assert (moves["natural"].loc[sorted(planted_ids), "tier_before"] == "A").all()
    changed = moves["planted"].index[moves["planted"]["tier_after"] != moves["natural"]["tier_after"]]
    assert len(changed) > 0 and set(changed) <= planted_ids
    rank = {"A": 0, "B": 1, "C": 2, "D": 3, "no purchase": 4}
    assert (moves["planted"].loc[changed, "tier_after"].map(rank) > moves["natural"].loc[changed, "tier_after"].map(rank)).all()
    # in the matrix: the A -> A cell loses exactly the planted members who stayed in A without the plant
    left_a = int((moves["natural"].loc[changed, "tier_after"] == "A").sum())
    stay = {name: changes.migration_matrix(m.reset_index()).loc["A", "A"] for name, m in moves.items()}
    assert left_a > 0 and stay["planted"] == stay["natural"] - left_a


# ---------------------------------------------------------------- the charts


def test_the_charts_draw_the_figures_they_are_given(table):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from crm_kit import plotting

    comparison = changes.compare_months(table, month="2025-02")
    ax = plotting.plot_revenue_tree(comparison.tree, before="2025-01", after="2025-02")
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 6 and any("change: +5" in t for t in texts)
    assert any(t.startswith("customers\n2 → 3 (+50.0%)") for t in texts)
    ax = plotting.plot_contributions(comparison.tree_by_tier)
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "all" and "contribution" in ax.get_xlabel()
    ax = plotting.plot_migration(comparison.matrix())
    assert ax.get_ylabel().startswith("last month") and ax.get_title().endswith("(customers)")
    ax = plotting.plot_cohorts(comparison.cohorts)
    assert ax.get_yticklabels()[0].get_text().endswith("(and before)") and "months since" in ax.get_xlabel()
    ax = plotting.plot_unusual(comparison.unusual)
    assert len(ax.get_yticklabels()) == len(changes.HEADLINES) and "%" in ax.get_xlabel()
    plt.close("all")
