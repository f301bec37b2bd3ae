"""Campaign design: target selection, control groups, power, plan and budget arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_kit import EmptyGroupError, ParameterError
from crm_kit import campaign as cp
from crm_kit.demo import ROUND_PLANS


@pytest.fixture
def segments():
    return pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "cluster": [0, 1, 1, 2],
        "rfm_segment": ["champions", "lost", "lost", "new"],
        "tier": ["A", "B", "C", "C"],
        "more than 10 purchases": [True, False, True, False],
    })


def test_select_target_by_each_kind(segments):
    groups = pd.DataFrame({"customer_id": ["a", "b", "c"], "group": [1, 8, 8]})
    assert cp.select_target("decile", "8", groups=groups)["customer_id"].tolist() == ["b", "c"]
    assert cp.select_target("cluster", 1, segments=segments)["customer_id"].tolist() == ["b", "c"]
    assert cp.select_target("rfm_segment", "lost", segments=segments)["customer_id"].tolist() == ["b", "c"]
    assert cp.select_target("tier", "C", segments=segments)["customer_id"].tolist() == ["c", "d"]
    assert cp.select_target("rule", "more than 10 purchases", segments=segments)["customer_id"].tolist() == ["a", "c"]
    a4 = pd.DataFrame({"customer_id": ["x", "y", "z"], "group": ["A1", "A4", "A4"]})
    assert cp.select_target("group_list", "A4", group_list=a4)["customer_id"].tolist() == ["y", "z"]


def test_select_target_excludes_contacted_and_rejects_empty(segments):
    t = cp.select_target("rfm_segment", "lost", segments=segments, exclude_ids=["b"])
    assert t["customer_id"].tolist() == ["c"] and t.attrs["excluded"] == 1
    with pytest.raises(EmptyGroupError, match=r"target group rfm_segment='lost' is empty \(2 before excluding"):
        cp.select_target("rfm_segment", "lost", segments=segments, exclude_ids=["b", "c"])
    with pytest.raises(EmptyGroupError, match="is empty"):
        cp.select_target("tier", "Z", segments=segments)
    with pytest.raises(ParameterError, match="target_kind='decil'"):
        cp.select_target("decil", 8)


def test_stratified_assignment_is_reproducible_and_balanced():
    rng = np.random.default_rng(0)
    target = pd.DataFrame({"customer_id": [f"c{i:04d}" for i in range(1000)],
                           "preferred_channel": rng.choice(["WeChat", "SMS", "email"], 1000, p=[0.6, 0.3, 0.1])})
    a = cp.assign_arms(target, control_share=0.2, stratify_by="preferred_channel", seed=5)
    b = cp.assign_arms(target.sample(frac=1, random_state=1), control_share=0.2, stratify_by="preferred_channel", seed=5)
    pd.testing.assert_frame_equal(a, b)  # input order does not matter
    joined = a.merge(target, on="customer_id")
    shares = joined.groupby("preferred_channel")["arm"].apply(lambda s: (s == "control").mean())
    counts = target["preferred_channel"].value_counts()
    for ch, share in shares.items():  # each stratum's control is its quota rounded down or up (at random)
        assert np.floor(0.2 * counts[ch]) <= share * counts[ch] <= np.ceil(0.2 * counts[ch])
    c = cp.assign_arms(target, control_share=0.2, stratify_by="preferred_channel", seed=6)
    assert not a["arm"].equals(c["arm"])
    with pytest.raises(ParameterError, match="strictly between 0 and 1"):
        cp.assign_arms(target, control_share=1.0)


def test_balance_table_by_hand():
    df = pd.DataFrame({"arm": ["treatment"] * 2 + ["control"] * 2, "sales": [1.0, 3.0, 1.0, 1.0], "ch": ["a", "b", "a", "a"]})
    b = cp.balance_table(df, columns=["sales", "ch"]).set_index("variable")
    # sales: means 2 and 1; variances 2 and 0 -> pooled sd 1 -> d = 1
    assert b.loc["sales", "std_difference"] == pytest.approx(1.0)
    assert b.loc["ch = a", "treatment"] == 0.5 and b.loc["ch = a", "control"] == 1.0
    assert not b.loc["sales", "balanced"]


def test_power_equals_statsmodels_on_a_hand_example():
    from statsmodels.stats.power import TTestIndPower

    outcome = pd.Series([800.0, 1200.0] * 50)  # sd = 201.0 (ddof 1)
    res = cp.power_analysis(outcome, effect=100.0, group_size=500, control_share=0.2)
    d = 100.0 / outcome.std(ddof=1)
    assert res["effect_size_d"] == pytest.approx(d)
    assert res["treatment"] == 400 and res["control"] == 100
    assert res["power_at_plan"] == pytest.approx(TTestIndPower().power(effect_size=d, nobs1=400, ratio=0.25, alpha=0.05))
    mde = TTestIndPower().solve_power(nobs1=400, ratio=0.25, alpha=0.05, power=0.8)
    assert res["mde_d"] == pytest.approx(mde, rel=1e-6) and res["mde"] == pytest.approx(mde * outcome.std(ddof=1), rel=1e-6)
    share = res["control_share_needed"]
    c = round(500 * share)
    assert TTestIndPower().power(effect_size=d, nobs1=500 - c, ratio=c / (500 - c), alpha=0.05) >= 0.8
    c_less = round(500 * (share - 0.01))
    assert TTestIndPower().power(effect_size=d, nobs1=500 - c_less, ratio=c_less / (500 - c_less), alpha=0.05) < 0.8
    assert f"A control share of {share:.0%} would be enough" in cp.power_verdict(res, goal=0.1)
    small = cp.power_analysis(outcome, effect=100.0, group_size=60, control_share=0.2)
    text = cp.power_verdict(small, goal=0.1)
    assert "group is too small" in text and f"about {small['group_size_needed']:,} members would be needed" in text


def test_goal_targets_by_hand():
    metrics = pd.DataFrame({"visits_base": [2, 2], "sales_base": [1100.0, 1100.0], "ticket_base": [550.0, 550.0]},
                           index=pd.Index(["a", "b"], name="customer_id"))
    group, per = cp.goal_targets(metrics, freq_goal=0.5, ticket_goal=0.4, sales_goal=0.3)
    g = group.set_index("metric")["target"]
    assert g["visits per member"] == pytest.approx(3.0) and g["average ticket"] == pytest.approx(770.0)
    assert g["sales per member"] == pytest.approx(1430.0)
    assert per["target_visits"].tolist() == [3.0, 3.0]
    group2, per2 = cp.goal_targets(metrics, freq_goal=None, ticket_goal=None, sales_goal=0.3)
    assert group2["metric"].tolist() == ["sales per member"] and "target_visits" not in per2


def test_budget_and_break_even_by_hand():
    b = cp.campaign_budget(contacts=1000, cost_per_contact=0.05, items=[{"item": "samples", "units": 400, "unit_cost": 8.0}],
                           fixed_costs={"staff": 1000.0}, gross_margin=0.2, expected_incremental_sales=50_000.0)
    assert b["total_cost"] == pytest.approx(50 + 3200 + 1000)
    assert b["break_even_sales"] == pytest.approx(4250 / 0.2)
    assert b["expected_return_on_spend"] == pytest.approx(50_000 / 4250)
    assert b["expected_roi"] == pytest.approx((10_000 - 4250) / 4250)
    lev = cp.leverage_comparison().set_index("campaign")["return_on_spend"]
    assert lev["small, sharp"] == 10 and lev["big, blunt"] == 2


def test_plan_threshold_and_channels():
    cal = cp.weekly_calendar("2025-10-01", weeks=4)
    assert cal["week"].tolist() == [1, 2, 3, 4] and str(cal.loc[0, "push_day"]) == "2025-10-01"
    samples = pd.DataFrame({"product_id": ["p1", "p2", "p3"], "name": ["Milk", "Tissue", "Soap"],
                            "category": ["dairy", "paper", "dairy"], "sales": [30.0, 20.0, 25.0]})
    picks = cp.choose_samples(samples, weeks=3)
    assert picks["name"].tolist() == ["Milk", "Tissue", "Soap"]  # one per category first
    plan = cp.plan_4p(plan=cp.round_plan(ROUND_PLANS["wechat_samples"]), samples=picks, calendar=cp.weekly_calendar("2025-10-01", weeks=3), treated=900, ticket_target=771.9)
    assert "at least 780" in plan["rules"].iloc[0]["condition"]
    assert (plan["calendar"]["quantity"] == 900).all()
    target = pd.DataFrame({"preferred_channel": ["SMS", "WeChat", "email", None]})
    assert cp.contact_channels(target, plan=ROUND_PLANS["sms_phone"]).tolist() == ["SMS", "SMS", "SMS", "SMS"]
    assert cp.contact_channels(target, plan=ROUND_PLANS["wechat_samples"]).tolist() == ["WeChat"] * 4
    assert cp.contact_channels(target, plan=ROUND_PLANS["sms_phone"], channels=["SMS", "email"]).tolist() == ["SMS", "SMS", "email", "SMS"]


def test_pseudonymous_keys_are_stable_and_salted():
    a = cp.pseudonymise(["M1", "M2"], salt="s1")
    assert a.tolist() == cp.pseudonymise(["M1", "M2"], salt="s1").tolist()
    assert a.tolist() != cp.pseudonymise(["M1", "M2"], salt="s2").tolist()
    assert all(len(k) == 16 and "M1" not in k for k in a)


def test_design_reproduces_the_demo_round_one_split(demo_store):
    from crm_kit.demo import DEMO_ROUNDS
    from crm_kit.engine import monthly_customer_list

    r1 = DEMO_ROUNDS["round1"]
    groups = monthly_customer_list(demo_store.transactions, month="2025-09")
    target = cp.select_target("decile", 8, groups=groups).merge(demo_store.customers, on="customer_id")
    arms = cp.assign_arms(target, control_share=r1["control_share"], stratify_by=r1["stratify_by"], seed=r1["seed"])
    recorded = demo_store.contacts.query("round == 1")[["customer_id", "arm"]].sort_values("customer_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(arms, recorded, check_dtype=False)


def test_contact_list_round_trip_keeps_no_personal_data():
    arms = pd.DataFrame({"customer_id": ["M1", "M2", "M3"], "arm": ["treatment", "control", "treatment"]})
    channels = pd.Series(["WeChat", "SMS"], index=["M1", "M3"])
    out = cp.contact_list(arms, channels, salt="s")
    assert list(out.columns) == ["customer_key", "arm", "channel"]
    assert out["channel"].tolist() == ["WeChat", "none", "SMS"]
    back = cp.arms_from_contact_list(out, ["M3", "M2", "M1", "M9"], salt="s")
    assert back.to_dict(orient="list") == {"customer_id": ["M1", "M2", "M3"], "arm": ["treatment", "control", "treatment"]}
    with pytest.raises(Exception, match="match no customer"):
        cp.arms_from_contact_list(out, ["M1"], salt="s")


def test_contacted_elsewhere_and_budget_lines_by_hand():
    contacts = pd.DataFrame({"customer_id": ["a", "b", "c"], "campaign_id": ["X", "Y", "Y"],
                             "contacted_at": pd.to_datetime(["2025-10-03 09:00", "2025-10-31 23:00", "2025-11-01 00:00"])})
    assert cp.contacted_elsewhere(contacts, campaign_id="X", month="2025-10") == ["b"]
    assert cp.contacted_elsewhere(None, campaign_id="X", month="2025-10") == []
    r1 = cp.budget_lines(plan=ROUND_PLANS["wechat_samples"], treated=100, weeks=4, sample_unit_cost=8.0, reward_unit_cost=0.0,
                         expected_reward_share=0.3, courier_cost_per_order=8.0, expected_orders_per_member=1.0)
    assert [(i["item"], i["units"]) for i in r1] == [("weekly samples", 400), ("extra rewards", 30)]
    r2 = cp.budget_lines(plan=ROUND_PLANS["sms_phone"], treated=100, weeks=4, sample_unit_cost=8.0, reward_unit_cost=0.0,
                         expected_reward_share=0.3, courier_cost_per_order=8.0, expected_orders_per_member=1.2)
    assert r2 == [{"item": "courier deliveries", "units": 120, "unit_cost": 8.0}]


def test_round_plan_overrides_for_another_retailer():
    web = {"channels": ["email"], "default_channel": "email", "place": "the web shop", "reward": "free shipping voucher",
           "rule": {"rule": "weekly pick", "condition": "open the email and order", "why": "one more order a week"}}
    tables = cp.plan_4p(plan=cp.round_plan(ROUND_PLANS["wechat_samples"], web), samples=None, calendar=cp.weekly_calendar("2011-11-01", weeks=2), treated=10,
                        ticket_target=271.0)
    assert tables["plan"].set_index("P").loc["place (channel)", "decision"] == "the web shop"
    assert tables["rules"]["rule"].tolist() == ["extra reward (free shipping voucher)", "weekly pick"]
    assert tables["rules"].loc[0, "condition"] == "a purchase (one visit or order) of at least 280"
    target = pd.DataFrame({"preferred_channel": ["WeChat", None]})
    assert cp.contact_channels(target, plan=cp.round_plan(ROUND_PLANS["wechat_samples"], web)).tolist() == ["email", "email"]
    assert ROUND_PLANS["wechat_samples"]["default_channel"] == "WeChat"  # the case's plan is untouched
    with pytest.raises(ParameterError, match=r"plan has unknown key\(s\) \['chanels'\] \(did you mean \['channels'\]\?\)"):
        cp.round_plan(ROUND_PLANS["wechat_samples"], {"chanels": ["email"]})
    with pytest.raises(ParameterError, match=r"default_channel 'SMS' is not one of plan.channels \['email'\]"):
        cp.round_plan(ROUND_PLANS["wechat_samples"], {"channels": ["email"], "default_channel": "SMS"})
    with pytest.raises(ParameterError, match=r"plan.rule needs rule, condition and why; missing \['why'\]"):
        cp.round_plan(ROUND_PLANS["wechat_samples"], {"rule": {"rule": "x", "condition": "y"}})


def test_adjusted_power_uses_the_variance_left_after_the_past():
    from crm_kit import campaign as cp

    rng = np.random.default_rng(11)
    n = 400
    ids = pd.Index([f"m{i}" for i in range(n)], name="customer_id")
    sales_pre = rng.gamma(2, 300, n)
    outcome = pd.Series(0.9 * sales_pre + rng.normal(0, 150, n), index=ids)
    past = pd.DataFrame({"visits_pre": rng.poisson(2, n).astype(float), "sales_pre": sales_pre}, index=ids)
    plain = cp.power_analysis(outcome, effect=60.0, group_size=n, control_share=0.2)
    adjusted = cp.adjusted_power(outcome, past, effect=60.0, group_size=n, control_share=0.2)
    X = np.column_stack([np.ones(n), past.to_numpy() - past.to_numpy().mean(axis=0)])
    beta, *_ = np.linalg.lstsq(X, outcome.to_numpy(), rcond=None)
    residual = outcome.to_numpy() - X @ beta
    assert adjusted["r_squared"] == pytest.approx(1 - residual.var() / outcome.to_numpy().var())
    assert adjusted["sd"] == pytest.approx(residual.std(ddof=1))
    assert adjusted["mde"] < plain["mde"] and adjusted["power_at_plan"] > plain["power_at_plan"]
    text = cp.adjusted_power_verdict(plain, adjusted)
    assert text.startswith("Adjusted for each member's own past (it explains") and f"{adjusted['mde']:,.0f}" in text


def test_power_analysis_when_statsmodels_falls_back_to_fsolve():
    """At 5,000 treated and 30 % control statsmodels' root finder answers with a 1-element array (fsolve)."""
    import numpy as np
    from statsmodels.stats.power import TTestIndPower

    from crm_kit.campaign import power_analysis

    group, share = 7143, 0.3
    n_c = int(round(group * share))
    assert np.ndim(TTestIndPower().solve_power(effect_size=None, nobs1=group - n_c, ratio=n_c / (group - n_c),
                                                alpha=0.05, power=0.8)) == 1
    outcome = pd.Series(np.random.default_rng(3).gamma(2.0, 300.0, 2000))
    check = power_analysis(outcome, effect=30.0, group_size=group, control_share=share)
    assert TTestIndPower().power(effect_size=check["mde_d"], nobs1=check["treatment"],
                                 ratio=check["control"] / check["treatment"], alpha=0.05) == pytest.approx(0.8, abs=1e-3)


def test_a_campaign_month_must_come_after_its_base_month():
    cp.check_period_order("2025-09", "2025-10")
    cp.check_period_order("2025-09-01/2025-09-15", "2025-09-15/2025-10-01")  # right after it
    with pytest.raises(ParameterError, match=r"campaign_month 2025-08 starts before base_month 2025-09: .* 2025-10-01 or later"):
        cp.check_period_order("2025-09", "2025-08")
    with pytest.raises(ParameterError, match="starts inside base_month"):
        cp.check_period_order("2025-09", "2025-09-10/2025-10-10")
    from crm_kit import results

    with pytest.raises(ParameterError, match="campaign_month 2025-09 starts inside base_month 2025-09"):
        results.round_setup(None, round_no=1, campaign_id="x", base="2025-09", campaign="2025-09", goals={},
                            cost=0.0, gross_margin=0.2)


def test_the_channel_a_plan_assumed_is_said():
    plan = {"channels": ["WeChat", "SMS"], "default_channel": "SMS"}
    treated = pd.DataFrame({"customer_id": list("abcd"), "preferred_channel": ["WeChat", "email", None, "SMS"]})
    channels = cp.contact_channels(treated, plan=plan)
    assert channels.tolist() == ["WeChat", "SMS", "SMS", "SMS"]
    note = cp.channel_note(treated, channels, plan=plan)
    assert note.startswith("2 of 4 treated members are reached on their preferred channel; the other 2") and "SMS" in note
    bare = treated.drop(columns="preferred_channel")
    assert "every treated member is reached on the plan's default channel, SMS" in cp.channel_note(
        bare, cp.contact_channels(bare, plan=plan), plan=plan)
