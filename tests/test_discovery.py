"""Knowledge discovery on hand-computed tables, and the demo store's planted truth."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_kit import DataError, EmptyGroupError, ParameterError, load_store
from crm_kit import discovery as d
from crm_kit.demo import DEMO_MONTHS
from crm_kit.engine import monthly_customer_list


@pytest.fixture
def shop(tmp_path):
    """Two customers, one category with two brands, promo flags; numbers worked by hand below."""
    lines = pd.DataFrame(
        {
            "customer_id": ["a"] * 5 + ["b"] * 3,
            "order_id": ["1", "2", "3", "3", "4", "5", "6", "7"],
            "ts": pd.to_datetime(["2025-03-01 10:00", "2025-03-05 10:00", "2025-03-09 10:00", "2025-03-09 10:00",
                                  "2025-03-20 10:00", "2025-03-02 10:00", "2025-03-03 10:00", "2025-03-30 10:00"]),
            "product_id": ["x1", "x1", "y1", "z1", "x2", "x1", "x2", "y1"],
            "quantity": [1, 1, 1, 1, 1, 2, 1, 1],
            "amount": [10.0, 10.0, 5.0, 8.0, 20.0, 20.0, 30.0, 5.0],
            "promo": [False, True, False, False, True, True, True, False],
        }
    )
    products = pd.DataFrame(
        {"product_id": ["x1", "x2", "y1", "z1"], "category": ["soap", "soap", "tea", "milk"],
         "brand": ["A", "B", "T", "M"], "unit_price": [10.0, 20.0, 5.0, 8.0], "stock": [100, 2, 50, 0]}
    )
    lines.to_parquet(tmp_path / "t.parquet")
    products.to_parquet(tmp_path / "p.parquet")
    return load_store({"tables": {"transactions": {"path": str(tmp_path / "t.parquet")},
                                  "products": {"path": str(tmp_path / "p.parquet")}}})


def test_brand_loyalty_and_promotion_sensitivity_by_hand(shop):
    b = d.customer_behaviour(shop, month="2025-03", lookback_months=1)
    # a buys soap A, A, B (in time order): pairs (A,A) same, (A,B) switch -> 0.5; tea and milk once each
    assert b.loc["a", "brand_loyalty"] == pytest.approx(0.5)
    # top-brand share over categories bought on >= 2 orders: soap only, 20 of 40
    assert b.loc["a", "top_brand_share"] == pytest.approx(20 / 40)
    # promo spend of a: 10 + 20 of 53
    assert b.loc["a", "promo_share"] == pytest.approx(30 / 53)
    # b buys soap A then B: one pair, a switch
    assert b.loc["b", "brand_loyalty"] == pytest.approx(0.0)
    assert b.loc["b", "promo_share"] == pytest.approx(50 / 55)
    # recency at the month end (2025-04-01): a last bought 03-20, b 03-30
    assert b.loc["a", "recency_days"] == 12 and b.loc["b", "recency_days"] == 2


def test_behaviour_table_means_per_group(shop):
    cl = monthly_customer_list(shop.transactions, month="2025-03", groups=2)
    t = d.behaviour_table(shop, cl, month="2025-03", lookback_months=1).set_index("group")
    assert t.loc[1, "visits_per_customer"] == 3 and t.loc[1, "ticket"] == pytest.approx(55 / 3)  # b: 55 in 3 orders
    assert t.loc[2, "ticket"] == pytest.approx(53 / 4)
    assert "soap" in t.loc[1, "top_categories"]


def test_pareto_by_hand():
    values = pd.DataFrame({"sales": [50.0, 30.0, 10.0, 10.0]})
    curve = d.pareto_table(values)
    assert curve["value_share"].tolist() == [0.5, 0.8, 0.9, 1.0]
    assert d.pareto_share(values, target=0.8) == 0.5
    assert d.pareto_share(values, target=0.81) == 0.75


def test_product_classes_by_hand(shop):
    pc = d.product_classes(shop, period="2025-03", bestseller_sales_share=0.4, slow_weekly_units=0.5).set_index("product_id")
    # sales: x2 50, x1 40, y1 10, z1 8 of 108. x2 alone makes 46% >= 40%, so x1 (46% before it) is not needed
    assert pc.loc["x1", "class"] == "regular"
    both = d.product_classes(shop, period="2025-03", bestseller_sales_share=0.5).set_index("product_id")
    assert both.loc["x1", "class"] == "bestseller"  # 46% < 50%: x1 is needed to reach half the sales
    assert pc.loc["x2", "class"] == "bestseller" and pc.loc["x1", "class"] == "regular"
    weeks = 31 / 7
    assert pc.loc["x2", "weekly_units"] == pytest.approx(2 / weeks)
    assert pc.loc["x2", "weeks_of_cover"] == pytest.approx(2 / (2 / weeks))
    assert pc.loc["z1", "class"] == "slow mover"  # 1 unit in 4.4 weeks < 0.5 a week


def test_bought_together_by_hand(shop):
    rules = d.bought_together(shop, period="2025-03", level="category", min_support=0.1, top=10)
    tea_milk = rules[(rules["antecedent"] == "tea") & (rules["consequent"] == "milk")].iloc[0]
    # 7 orders; tea in orders 3 and 7, milk in 3; both in 1
    assert tea_milk["support"] == pytest.approx(1 / 7)
    assert tea_milk["confidence"] == pytest.approx(1 / 2)
    assert tea_milk["lift"] == pytest.approx((1 / 2) / (1 / 7))


def test_bought_together_needs_categories_or_product_level(tmp_path, tiny_lines):
    from conftest import write_spec

    store = load_store(write_spec(tmp_path, tiny_lines))
    with pytest.raises(DataError, match="level='product'"):
        d.bought_together(store, period="2025-01")
    assert len(d.bought_together(store, period="2025-01", level="product", min_support=0.0)) >= 0


def test_repurchase_intervals_by_hand(shop):
    r = d.repurchase_intervals(shop, as_of="2025-04-01")
    # a buys on days 1, 5, 9, 20 -> gaps 4, 4, 11 -> median 4; next expected 03-24
    assert r.loc["a", "median_interval"] == 4 and r.loc["a", "purchase_days"] == 4
    assert r.loc["a", "expected_next"] == pd.Timestamp("2025-03-24")
    assert r.loc["b", "median_interval"] == pytest.approx(14)  # gaps 1 and 27


def test_growth_kpis_and_repeat_rate(tmp_path, tiny_lines):
    from conftest import write_spec

    store = load_store(write_spec(tmp_path, tiny_lines))
    k = d.growth_kpis(store).set_index("month")
    jan, feb = pd.Period("2025-01"), pd.Period("2025-02")
    assert k.loc[jan, "sales"] == 75 and k.loc[feb, "sales"] == 76
    assert k.loc[feb, "sales_mom"] == pytest.approx(76 / 75 - 1)
    assert k.loc[jan, "new_customers"] == 2 and k.loc[feb, "new_customers"] == 1
    assert k.loc[feb, "returning_customers"] == 1
    rr = d.new_customer_repeat_rate(store, within_days=30).set_index("cohort")
    # January cohort: a (second day 01-20, within 30) and b (next 02-03, 24 days) both repeat
    assert rr.loc[jan, "repeat_rate"] == 1.0
    # February cohort: c first 02-01, again 02-25 -> repeat
    assert rr.loc[feb, "repeat_rate"] == 1.0


def test_member_profile_refuses_personal_fields(demo_store):
    cl = pd.DataFrame({"customer_id": demo_store.customers["customer_id"].head(10), "group": 1})
    with pytest.raises(ParameterError, match="personal field"):
        d.member_profile(demo_store.customers, cl, fields=("phone",))
    with pytest.raises(DataError, match="no member table"):
        d.member_profile(None, cl)


def test_recommend_target_rules_by_hand():
    behaviour = pd.DataFrame(
        {
            "group": [1, 2, 3, 4],
            "sales_per_customer": [900.0, 300.0, 200.0, 20.0],
            "visits_per_customer": [6.0, 2.0, 1.0, 1.0],
            "ticket": [150.0, 150.0, 200.0, 20.0],
            "brand_loyalty": [0.6, 0.6, 0.2, 0.6],
        }
    )
    rec = d.recommend_target(behaviour, rules={"low_value_groups": 3}).set_index("group")
    assert rec.loc[1, "decision"] == "not low value"
    assert rec.loc[4, "decision"] == "dropped" and "new or dormant" in rec.loc[4, "reason"]
    assert rec.loc[3, "decision"] == "dropped" and "not loyal" in rec.loc[3, "reason"]
    assert rec.loc[2, "decision"] == "target"
    over = d.recommend_target(behaviour, override=3).set_index("group")
    assert over.loc[3, "decision"] == "target" and "analyst" in over.loc[3, "reason"]
    with pytest.raises(ParameterError, match="unknown target rule"):
        d.recommend_target(behaviour, rules={"min_visit": 2})


def test_demo_recommends_group_8_with_its_traits(demo_store):
    month = DEMO_MONTHS["base"]
    cl = monthly_customer_list(demo_store.transactions, month=month)
    b = d.behaviour_table(demo_store, cl, month=month).set_index("group")
    others = b.drop(index=8)
    # the most promotion-sensitive group by a clear margin, and less loyal than every group above it
    assert b.loc[8, "promo_share"] > others["promo_share"].max() + 0.1
    assert b.loc[8, "brand_loyalty"] < others.loc[1:7, "brand_loyalty"].min()
    assert "snacks" in b.loc[8, "top_categories"] and "personal care" in b.loc[8, "top_categories"]
    rec = d.recommend_target(b.reset_index()).set_index("group")
    assert rec.loc[8, "decision"] == "target"
    assert rec.loc[9, "decision"] == "dropped" and "not loyal" in rec.loc[9, "reason"]
    assert rec.loc[10, "decision"] == "dropped" and "new or dormant" in rec.loc[10, "reason"]


def test_demo_planted_baskets_have_the_top_lift(demo_store):
    """Two baskets are planted (snacks pull beverages, meat pulls wine into the same receipt); the premium
    persona's taste for appliances and home goods makes a third pair that lifts as high."""
    rules = d.bought_together(demo_store, period=DEMO_MONTHS["base"], top=6)
    pairs = {frozenset((a, b)) for a, b in zip(rules["antecedent"], rules["consequent"])}
    assert pairs == {frozenset(("snacks", "beverages")), frozenset(("meat and seafood", "wine and spirits")),
                     frozenset(("home and apparel", "small appliances"))}


def test_unknown_loyalty_does_not_drop_a_rare_group_and_no_target_is_a_clear_error():
    behaviour = pd.DataFrame({"group": [1, 2, 3], "sales_per_customer": [900.0, 300.0, 20.0],
                              "visits_per_customer": [2.0, 1.1, 1.0], "ticket": [450.0, 270.0, 20.0]})
    rec = d.recommend_target(behaviour, rules={"low_value_groups": 2}).set_index("group")
    # no brands in the data: 'rare and disloyal' cannot be shown, so the rare group stays a candidate
    assert rec.loc[2, "decision"] == "target" and "brand loyalty is unknown" in rec.loc[2, "reason"]
    assert d.recommended_group(rec.reset_index()) == 2
    none_left = rec.reset_index().assign(decision=lambda x: x["decision"].replace({"target": "dropped"}))
    with pytest.raises(EmptyGroupError, match=r"no group passes the target rule \(2: .*\); choose one with target_value"):
        d.recommended_group(none_left)


def test_behaviour_columns_the_data_cannot_fill_are_left_out_with_a_sentence(tmp_path, tiny_lines):
    from crm_kit import load_store
    from crm_kit.engine import monthly_customer_list

    tiny_lines.to_parquet(tmp_path / "t.parquet")  # no products (no brands), no promo flag
    store = load_store({"tables": {"transactions": {"path": str(tmp_path / "t.parquet")}}, "cache": False})
    groups = monthly_customer_list(store.transactions, month="2025-02", groups=2)
    table = d.behaviour_table(store, groups, month="2025-02")
    assert "brand_loyalty" not in table.columns and "promo_share" not in table.columns
    assert "brand loyalty" in table.attrs["note"] and "promotion sensitivity" in table.attrs["note"]


@pytest.mark.realdata
def test_online_retail_product_tables_show_descriptions_and_no_postage():
    from conftest import shared_file
    from crm_kit import load_store

    shared_file("online_retail", "online_retail.parquet")
    store = load_store("params/data/online_retail.yaml")
    assert {"POST", "DOT", "M", "C2", "AMAZONFEE", "BANK CHARGES"} <= set(store.non_products["product_id"])
    classes = d.product_classes(store, period="2011-11")
    best = classes[classes["class"] == "bestseller"]
    assert best["name"].notna().all() and not set(best["product_id"]) & set(store.non_products["product_id"])
    assert "RABBIT NIGHT LIGHT" in set(best["name"])
    groups = __import__("crm_kit").engine.monthly_customer_list(store.transactions, month="2011-11")
    ids = groups.loc[groups["group"] == 8, "customer_id"]
    top = d.group_bestsellers(store, ids, period="2011-11", top=20)
    assert top["name"].notna().all() and "POSTAGE" not in set(top["name"]) and "DOTCOM POSTAGE" not in set(top["name"])
    pairs = d.bought_together(store, period="2011-11", level="product", min_support=0.005, top=50)
    assert pairs["antecedent_name"].notna().all()
    assert not set(pairs["antecedent"]) & set(store.non_products["product_id"])
    # sales totals stay whole: postage is still in the store's sales
    health = store.health().set_index("figure")["value"]
    assert health["sales (all lines)"] > 8_000_000


def test_ties_are_said_as_ties_and_a_pick_among_equals_says_so():
    import numpy as np

    from crm_kit.discovery import recommend_target
    from crm_kit.engine import decile_table

    equal = pd.DataFrame({"group": range(1, 11), "sales_per_customer": [100.0] * 10, "ticket": [50.0] * 10,
                          "visits_per_customer": [2.0] * 10, "brand_loyalty": [0.5] * 10})
    rec = recommend_target(equal).set_index("group")
    # no group is "key" and none "low value" by the order of its rows: every group is as low as the lowest
    assert set(rec["decision"]) == {"candidate", "target"}
    assert "tied with group(s) 1, 2, 3, 4, 5, 6, 7, 8, 9" in rec.loc[10, "reason"] and rec.loc[10, "decision"] == "target"
    assert "a tie: groups 1, 2, 3, 4, 5, 6, 7, 8, 9, 10" in rec.loc[1, "reason"]
    distinct = equal.assign(sales_per_customer=np.arange(1000.0, 0, -100))
    assert "tie" not in " ".join(recommend_target(distinct)["reason"])
    listed = pd.DataFrame({"customer_id": [str(i) for i in range(6)], "sales": [9.0, 7.0, 7.0, 5.0, 5.0, 1.0],
                           "group": [1, 1, 2, 2, 3, 3]})
    # 7 sits in groups 1 and 2, 5 in 2 and 3: the cuts fell inside ties
    assert decile_table(listed)["tied_with"].tolist() == ["2", "1, 3", "2"]
