"""The demo store: the worked case planted, seeded, scaled (crm_kit.demo)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from crm_kit import ParameterError
from crm_kit.demo import DEMO_GROUP_SALES, DEMO_MONTHS, generate_demo_store
from crm_kit.engine import decile_table, monthly_customer_list, period_metrics


@pytest.fixture(scope="module")
def base_list(demo_store):
    return monthly_customer_list(demo_store.transactions, month=DEMO_MONTHS["base"])


def test_base_month_decile_table_matches_the_case(base_list):
    table = decile_table(base_list)
    assert table["customers"].tolist() == [1155] * 10
    np.testing.assert_allclose(table["sales_per_customer"], DEMO_GROUP_SALES, rtol=0.05)
    assert table["sales"].sum() == pytest.approx(36_232_350, rel=0.02)


def test_group_8_visits_twice_with_ticket_550(base_list):
    g8 = decile_table(base_list).set_index("group").loc[8]
    assert g8["visits_per_customer"] == pytest.approx(2.0, abs=0.1)
    assert g8["ticket"] == pytest.approx(550, rel=0.05)


def test_ground_truth_base_groups_are_the_kits_ranking(base_list, demo_dir):
    truth = pd.read_parquet(demo_dir / "ground_truth_customers.parquet").set_index("customer_id")
    planted = truth.loc[base_list["customer_id"], "base_month_group"].to_numpy()
    assert (planted == base_list["group"].to_numpy()).all()


def test_group_8_traits(base_list, demo_store):
    members = demo_store.customers.set_index("customer_id").loc[base_list["customer_id"]]
    members["group"] = base_list["group"].to_numpy()
    student = members.groupby("group")["occupation"].apply(lambda s: (s == "student").mean())
    wechat = members.groupby("group")["preferred_channel"].apply(lambda s: (s == "WeChat").mean())
    assert student[8] > 0.5 and student.drop(8).max() < 0.2
    assert wechat[8] > 0.55 and wechat.drop(8).max() < 0.4


def test_history_spans_13_months_before_the_campaign(demo_store):
    t = demo_store.transactions
    first, last = demo_store.con.execute(t.ts.min()), demo_store.con.execute(t.ts.max())
    assert pd.Timestamp(first) < pd.Timestamp("2024-09-02")
    assert pd.Timestamp(last) >= pd.Timestamp("2025-11-29")


def test_round_one_control_group_and_true_effect(demo_store, demo_dir):
    from crm_kit.results import interaction_table, lift_table

    truth = json.loads((demo_dir / "ground_truth.json").read_text())
    contacts = demo_store.contacts
    r1 = contacts[contacts["round"] == 1]
    assert len(r1) == 1155 and (r1["arm"] == "control").mean() == pytest.approx(0.2, abs=0.01)
    table = interaction_table(demo_store.transactions, r1[["customer_id", "arm"]], base="2025-09", campaign="2025-10")
    sales = lift_table(table, n_boot=200).set_index("metric").loc["sales"]
    assert sales["ci_low"] <= truth["round1"]["expected_effect_sales_per_customer"] <= sales["ci_high"]
    # without any campaign the control group still grows: season and regression to the mean
    control = table[table["arm"] == "control"]
    assert control["sales_campaign"].sum() / control["sales_base"].sum() - 1 > 0.1


def test_round_two_targets_round_one_a4(demo_store, demo_dir):
    from crm_kit.results import classify_round_one, growth_table

    c = demo_store.contacts
    treated = c[(c["round"] == 1) & (c["arm"] == "treatment")]["customer_id"]
    m = period_metrics(demo_store.transactions, periods={"base": "2025-09", "campaign": "2025-10"}, customer_ids=treated)
    groups = classify_round_one(growth_table(m), freq_goal=0.5, ticket_goal=0.4)
    a4 = set(groups.index[groups == "A4"])
    assert a4 == set(c.loc[c["round"] == 2, "customer_id"])


def test_same_seed_gives_byte_identical_files(tmp_path):
    a = generate_demo_store(tmp_path / "a", n_members=600, seed=3)
    b = generate_demo_store(tmp_path / "b", n_members=600, seed=3)
    c = generate_demo_store(tmp_path / "c", n_members=600, seed=4)

    def digest(folder):
        return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}

    assert digest(a) == digest(b)
    assert {"natural/transactions.parquet", "natural/simulation_state.parquet", "transactions.parquet"} <= set(digest(a))
    assert digest(a)["transactions.parquet"] != digest(c)["transactions.parquet"]


def test_n_members_scales_the_store(tmp_path):
    """n_members is the monthly customer list of the base month; the member table also holds who did not buy then."""
    folder = generate_demo_store(tmp_path / "s", n_members=1000, seed=5)
    lines = pd.read_parquet(folder / "transactions.parquet")
    base = lines[(lines["ts"] >= "2025-09-01") & (lines["ts"] < "2025-10-01")]
    assert base["customer_id"].nunique() == 1000
    members = pd.read_parquet(folder / "customers.parquet")
    assert len(members) > 1000 and set(lines["customer_id"]) <= set(members["customer_id"])


def test_existing_store_is_not_overwritten_silently(tmp_path):
    generate_demo_store(tmp_path / "x", n_members=200, seed=1)
    with pytest.raises(Exception, match="already exists"):
        generate_demo_store(tmp_path / "x", n_members=200, seed=1)


def test_too_small_store_rejected(tmp_path):
    with pytest.raises(ParameterError, match="at least 100 members"):
        generate_demo_store(tmp_path / "y", n_members=10)


def test_the_case_lives_once_notebook_defaults_and_run_file_agree_with_the_demo_plan():
    """The worked case's settings are in crm_kit/demo/plan.py. Notebook 03's defaults are round one's (a parameters
    cell holds literals, so they repeat it — and must agree); round two comes from the plan through the notebooks'
    preset, so params/demo.yaml says only round_no: 2."""
    import yaml

    from conftest import ROOT
    from crm_kit.demo import DEMO_MONTHS, DEMO_ROUNDS, case_parameters, case_preset
    from crm_kit.params import notebook_parameters

    dates = {"campaign_id", "base_month", "campaign_month", "variance_month"}
    for notebook in ("03_campaign_design", "04_campaign_results"):
        defaults = {k: p.default for k, p in notebook_parameters(notebook).items()}
        one = case_parameters(notebook, 1)
        # the defaults are round one but for the dates, which are derived from the data (empty by default) and which
        # the preset fills with the case's on the demo store
        assert one and all(defaults[k] == v for k, v in one.items() if k not in dates), notebook
        assert all(defaults[k] == "" for k in dates & set(defaults)), notebook
        assert case_preset(defaults, notebook, 1) == {k: one[k] for k in dates & set(one)}
    r1, r2 = DEMO_ROUNDS["round1"], DEMO_ROUNDS["round2"]
    defaults = {k: p.default for k, p in notebook_parameters("03_campaign_design").items()}
    assert defaults["seed"] == r1["seed"] and defaults["plan_name"] == r1["plan"]
    filled = case_preset(defaults, "03_campaign_design", 1)
    assert filled["campaign_id"] == r1["campaign_id"]
    assert (filled["base_month"], filled["campaign_month"]) == (DEMO_MONTHS["base"], DEMO_MONTHS["round1"])
    steps = {s["name"]: s["params"] for s in yaml.safe_load((ROOT / "params" / "demo.yaml").read_text())["steps"]}
    assert set(steps["design_round1"]) == {"round_no", "target_kind", "target_value"}  # no second copy of round one
    assert steps["design_round2"] == {"round_no": 2} and steps["results_round2"] == {"round_no": 2}
    two = case_preset({**defaults, "round_no": 2}, "03_campaign_design", 2)
    assert two["campaign_id"] == r2["campaign_id"] and two["seed"] == r2["seed"] and two["plan_name"] == r2["plan"]
    assert two["target_kind"] == "group_list" and two["target_value"] == r2["target_group_list"]
    assert (two["base_month"], two["campaign_month"]) == (DEMO_MONTHS["round1"], DEMO_MONTHS["round2"])
    assert two["freq_goal"] is None and two["ticket_goal"] is None and two["service_staff_cost"] == 8000.0
    # a parameter the user set is kept: the preset only fills what was left at its default
    mine = case_preset({**defaults, "round_no": 2, "seed": 99}, "03_campaign_design", 2)
    assert "seed" not in mine and case_preset({**defaults, "round_no": 2}, "03_campaign_design", 2, preset="none") == {}
    # auto, the notebooks' default: the case on the demo store, nothing of it on anyone else's data
    auto = {**defaults, "round_no": 2}
    assert case_preset({**auto, "data": "demo"}, "03_campaign_design", 2, preset="auto") == two
    assert case_preset({**auto, "data": "demo:3000"}, "03_campaign_design", 2, preset="auto") == two
    assert case_preset({**auto, "data": "mine/data.yaml"}, "03_campaign_design", 2, preset="auto") == {}
    assert case_preset({**auto, "data": {"tables": {}}}, "04_campaign_results", 2, preset="auto") == {}


# ------------------------------------------------------------------ customers who differ and persist (issue 14)


@pytest.fixture(scope="module")
def natural_months(demo_dir):
    """Sales per member and month in the months without any campaign (members x 15 months)."""
    lines = pd.read_parquet(demo_dir / "natural" / "transactions.parquet", columns=["customer_id", "ts", "amount"])
    lines["month"] = lines["ts"].dt.strftime("%Y-%m")
    return lines.groupby(["customer_id", "month"])["amount"].sum().unstack(fill_value=0.0)


def test_a_members_months_correlate_as_real_shoppers_do(natural_months, base_list):
    months = list(natural_months.columns)
    pairs = [np.corrcoef(natural_months[a], natural_months[b])[0, 1] for a, b in zip(months, months[1:])]
    assert min(pairs) >= 0.5, pairs
    # group 8, chosen on one month: its campaign month (without a campaign) against the six months before the base
    g8 = natural_months.loc[base_list.loc[base_list["group"] == 8, "customer_id"]]
    before = g8[months[6:12]].mean(axis=1)
    assert months[6:12] == ["2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08"]
    assert np.corrcoef(g8["2025-10"], before)[0, 1] >= 0.3


def test_latent_truth_is_written(demo_dir):
    truth = json.loads((demo_dir / "ground_truth.json").read_text())
    assert set(truth["model"]) >= {"personas", "persona_shares_by_group", "shapes", "response_model"}
    assert truth["generating_values"]["members_dropped_out_by_the_end"] > 0.1
    customers = pd.read_parquet(demo_dir / "ground_truth_customers.parquet")
    assert {"persona", "value_rank", "visit_rate_per_month", "mean_ticket", "dropout_per_visit", "churn_date",
            "responds_WeChat", "responds_SMS", "responds_phone"} <= set(customers.columns)
    assert customers["persona"].nunique() == 5 and customers["churn_date"].notna().any()
    # visit rate and ticket differ within a decile, not only between deciles
    g8 = customers[customers["base_month_group"] == 8]
    assert g8["visit_rate_per_month"].std() / g8["visit_rate_per_month"].mean() > 0.3
    assert g8["mean_ticket"].std() / g8["mean_ticket"].mean() > 0.3


@pytest.fixture(scope="module")
def clv_fit(demo_store):
    from crm_kit import clv

    data = clv.clv_summary(demo_store.transactions, calibration_end="2025-10-01", time_unit="D")
    return data, clv.fit_clv(data, model="bgnbd", method="map", time_unit="D", random_seed=0)


def test_bgnbd_and_gamma_gamma_fit_finite_reproducible_and_close_to_the_generating_values(clv_fit, demo_dir):
    """The fits are finite and repeat to 1e-6; their population means are those the generator drew.

    Tolerances: mean purchase rate (r / alpha per day) within 20 % of the members' mean visit rate; mean
    spend per purchase (Gamma-Gamma's p v / (q - 1)) within 20 % of the members' mean ticket; mean dropout
    per purchase (a / (a + b)) within 40 % of the members' mean dropout probability (the generator's visits
    are Poisson within months and seasonal, not BG/NBD exactly, and a purchase is a day, not a visit).
    The demo's members' mean tickets follow the case's ten groups, not a gamma distribution across members,
    so Gamma-Gamma's shapes are not the generator's (p about 0.2 against the 6 it draws per visit): the fit
    says so in its problems (recovery of planted parameters is tested on a store drawn from the models
    themselves, ``test_clv.py``).
    """
    from crm_kit import clv

    data, fit = clv_fit
    assert fit.spend_method == "gamma-gamma" and len(fit.problems) == 1
    assert fit.problems[0].startswith("The Gamma-Gamma spend model does not fit this store")
    again = clv.fit_clv(data, model="bgnbd", method="map", time_unit="D", random_seed=0)
    for name, value in fit.params.items():
        assert np.isfinite(value) and value == pytest.approx(again.params[name], rel=1e-6), name
    truth = json.loads((demo_dir / "ground_truth.json").read_text())["generating_values"]
    p = fit.params
    assert p["r"] / p["alpha"] == pytest.approx(truth["mean_visit_rate_per_day"], rel=0.2)
    assert p["p"] * p["v"] / (p["q"] - 1) == pytest.approx(truth["mean_ticket"], rel=0.2)
    assert p["a"] / (p["a"] + p["b"]) == pytest.approx(truth["mean_dropout_per_visit"], rel=0.4)


def test_kmeans_finds_the_planted_personas(demo_store, demo_dir):
    """k-means as notebook 02 runs it — the kit's features of the customers active in the behaviour window, k by
    the kit's silhouette rule — against the planted personas: the rule finds five segments, adjusted Rand index
    at least 0.5 (0.58 measured on the default store, 0.58-0.59 at seeds 1, 3 and 4)."""
    from sklearn.metrics import adjusted_rand_score

    from crm_kit import discovery, engine, segmentation

    summary = engine.customer_summary(demo_store.transactions, as_of="2025-10-01")
    behaviour = discovery.customer_behaviour(demo_store, month="2025-09", lookback_months=3)
    features = segmentation.cluster_features(summary, behaviour)
    assert features.attrs["not_clustered"] > 0  # the lapsed members are left to RFM and churn
    assert list(features.columns) == list(segmentation.CLUSTER_COLUMNS)
    persona = pd.read_parquet(demo_dir / "ground_truth_customers.parquet").set_index("customer_id").loc[features.index, "persona"]
    scores = segmentation.choose_k(features, k_range=range(3, 9), random_state=0)
    k = int(scores.loc[scores["best"], "k"].iloc[0])
    assert k == 5
    chosen = segmentation.CustomerClusters(n_clusters=k, random_state=0).fit(features)
    assert adjusted_rand_score(persona, chosen.labels_) >= 0.5


def test_churn_per_tier_is_not_zero_and_ordered(demo_store):
    from crm_kit import engine, segmentation

    summary = engine.customer_summary(demo_store.transactions, as_of="2025-10-01")
    tiers = segmentation.ValueTiers().fit_transform(summary)
    churn = segmentation.churn_by_tier(demo_store, tiers, checkpoints=pd.date_range(end="2025-10-01", periods=3, freq="MS"))
    for _, rates in churn.pivot(index="checkpoint", columns="tier", values="churn_rate").iterrows():
        assert 0 < rates["A"] < rates["B"] < rates["C"] < rates["D"], rates.to_dict()
    rules = segmentation.rule_segments(summary, {"inactive": "recency_days >= 90"})
    assert rules["inactive"].sum() > 0


# ------------------------------------------------------------------ the campaign simulator (issue 14)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    return generate_demo_store(tmp_path_factory.mktemp("small") / "demo", n_members=3000, seed=5)


def _design(folder, *, group=9, control_share=0.5, seed=1, channel="WeChat", campaign_id="T1", round_no=1,
            month="2025-10", base="2025-09", targets=None):
    from crm_kit.campaign import assign_arms
    from crm_kit.demo import Design

    truth = pd.read_parquet(folder / "natural" / "ground_truth_customers.parquet")
    if targets is None:
        targets = truth.loc[truth["base_month_group"] == group, ["customer_id"]]
    arms = assign_arms(targets, control_share=control_share, seed=seed)
    arms["channel"] = np.where(arms["arm"] == "treatment", channel, "none")
    return Design(campaign_id=campaign_id, round=round_no, month=month, arms=arms, channels=[channel],
                  default_channel=channel)


def _lift(folder, variant, design, base="2025-09"):
    """The lift of a simulated design, from the target's lines (read straight from the variant: fast)."""
    import ibis

    from crm_kit.results import interaction_table, lift_table

    ids = design.arms["customer_id"].tolist()
    lines = pd.read_parquet(variant / "transactions.parquet", filters=[("customer_id", "in", ids)])
    table = interaction_table(ibis.memtable(lines), design.arms[["customer_id", "arm"]], base=base, campaign=design.month)
    return lift_table(table, n_boot=50).set_index("metric")


def test_the_simulator_plays_out_any_design(small_store):
    from crm_kit.demo import simulate_campaign

    design = _design(small_store, group=9, control_share=0.5)
    variant = simulate_campaign(small_store, design)
    contacts = pd.read_parquet(variant / "contacts.parquet")
    assert sorted(map(tuple, contacts[["customer_id", "arm"]].to_numpy())) == \
        sorted(map(tuple, design.arms[["customer_id", "arm"]].to_numpy()))
    truth = json.loads((variant / "ground_truth.json").read_text())["rounds"]["1"]
    assert (truth["treated"], truth["control"]) == (150, 150) and truth["campaign_id"] == "T1"
    # nobody outside the treated responders changes: control, non-responders and everyone else keep their lines
    natural = pd.read_parquet(small_store / "natural" / "transactions.parquet")
    played = pd.read_parquet(variant / "transactions.parquet")
    who = pd.read_parquet(variant / "ground_truth_customers.parquet").set_index("customer_id")
    moved = set(who.index[(who["r1_arm"] == "treatment") & who["r1_responder_type"].fillna(False).astype(bool)])
    key = ["customer_id", "order_id", "product_id", "amount"]
    same = lambda df: df[~df["customer_id"].isin(moved)].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(same(natural), same(played))
    assert moved and not played[played["customer_id"].isin(moved)].equals(natural[natural["customer_id"].isin(moved)])
    # the interval of the lift covers this design's planted effect
    sales = _lift(small_store, variant, design).loc["sales"]
    assert sales["ci_low"] <= truth["planted_effect_sales_per_member"] <= sales["ci_high"]


def test_the_same_design_is_simulated_once_and_another_design_elsewhere(small_store):
    from crm_kit.demo import simulate_campaign

    first = simulate_campaign(small_store, _design(small_store, seed=1))
    stamp = (first / "transactions.parquet").stat().st_mtime_ns
    assert simulate_campaign(small_store, _design(small_store, seed=1)) == first
    assert (first / "transactions.parquet").stat().st_mtime_ns == stamp
    assert simulate_campaign(small_store, _design(small_store, seed=2)) != first
    assert simulate_campaign(small_store, _design(small_store, seed=1, channel="SMS")) != first


def test_round_two_is_simulated_on_round_one(small_store):
    from crm_kit.demo import simulate_campaign

    one = simulate_campaign(small_store, _design(small_store, group=8, control_share=0.2))
    ids = pd.read_parquet(one / "contacts.parquet").query("arm == 'treatment'")["customer_id"].head(120)
    two_design = _design(small_store, targets=pd.DataFrame({"customer_id": ids}), control_share=0.2, channel="SMS",
                         campaign_id="T2", round_no=2, month="2025-11")
    two_design.channels = ["SMS", "phone"]
    two = simulate_campaign(one, two_design)
    contacts = pd.read_parquet(two / "contacts.parquet")
    assert contacts.groupby("round").size().to_dict() == {1: 300, 2: 120}
    lines = pd.read_parquet(two / "transactions.parquet")
    before = pd.read_parquet(one / "transactions.parquet")
    october = lambda df: df[df["ts"] < "2025-11-01"].sort_values(["order_id", "product_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(october(before), october(lines))  # round two leaves round one's month alone
    assert (lines["channel"] == "phone").any()  # phone ordering is planted for its responders
    truth = json.loads((two / "ground_truth.json").read_text())
    assert set(truth["rounds"]) == {"1", "2"} and truth["rounds"]["2"]["planted_effect_sales_per_member"] > 0


def test_a_three_arm_design_plants_an_effect_per_arm_that_each_holm_interval_covers(small_store):
    """Issue 19: WeChat arm, SMS arm and control on group 8; each arm responds through its own channel only, the
    truth has each arm's planted effect (everyone of the target had they been in that arm), and the contacts
    carry the arms as ``treatment:<name>``; the joint interval of each arm covers its planted effect."""
    import ibis

    from crm_kit.campaign import assign_arms
    from crm_kit.demo import Design, simulate_campaign
    from crm_kit.demo.model import RESPONSE_MODEL
    from crm_kit.results import compare_arms, interaction_table, pool_arms
    from crm_kit.store.coverage import normalise_arms

    truth = pd.read_parquet(small_store / "natural" / "ground_truth_customers.parquet")
    targets = truth.loc[truth["base_month_group"] == 8, ["customer_id"]]
    arms = assign_arms(targets, control_share=0.2, seed=3, treatment_arms=[
        {"name": "WeChat", "channel": "WeChat", "share": 0.4}, {"name": "SMS", "channel": "SMS", "share": 0.4}])
    arms["channel"] = arms["arm"].map({"WeChat": "WeChat", "SMS": "SMS", "control": "none"})
    design = Design(campaign_id="M1", round=1, month="2025-10", arms=arms, channels=["WeChat", "SMS"],
                    default_channel="WeChat")
    variant = simulate_campaign(small_store, design)
    planted = json.loads((variant / "ground_truth.json").read_text())["rounds"]["1"]["arms"]
    assert set(planted) == {"WeChat", "SMS"} and planted["WeChat"]["channel"] == "WeChat"
    assert planted["WeChat"]["planted_effect_sales_per_member"] > planted["SMS"]["planted_effect_sales_per_member"] > 0
    who = pd.read_parquet(variant / "ground_truth_customers.parquet").set_index("customer_id")
    sms = who[who["r1_arm"] == "SMS"]
    # an SMS member responds only by the SMS rule: never to WeChat's effect
    assert not (sms["r1_channel"] != "SMS").any()
    assert RESPONSE_MODEL["SMS"]["visit_mult"] != RESPONSE_MODEL["WeChat"]["visit_mult"]
    contacts = normalise_arms(pd.read_parquet(variant / "contacts.parquet"))
    assert set(contacts["treatment_arm"]) == {"WeChat", "SMS", "control"}
    ids = arms["customer_id"].tolist()
    lines = pd.read_parquet(variant / "transactions.parquet", filters=[("customer_id", "in", ids)])
    recorded = pool_arms(contacts[["customer_id", "arm", "treatment_arm"]])
    table = interaction_table(ibis.memtable(lines), recorded, base="2025-09", campaign="2025-10")
    comparisons = compare_arms(table).query("metric == 'sales' and against == 'control'").set_index("arm")
    for arm, effect in planted.items():
        row = comparisons.loc[arm]
        assert row["joint_ci_low"] <= effect["planted_effect_sales_per_member"] <= row["joint_ci_high"], arm


def test_the_simulator_refuses_what_it_cannot_play(small_store):
    from crm_kit import DataError
    from crm_kit.demo import simulate_campaign

    with pytest.raises(ParameterError, match="one whole month of its calendar"):
        simulate_campaign(small_store, _design(small_store, month="2026-01"))
    stranger = _design(small_store)
    stranger.arms.loc[0, "customer_id"] = "X999"
    with pytest.raises(DataError, match="not members of this demo store"):
        simulate_campaign(small_store, stranger)
    with pytest.raises(DataError, match="not a demo store folder"):
        simulate_campaign(small_store.parent, _design(small_store))


def test_round_one_interval_covers_the_planted_effect_over_20_randomisations(small_store):
    """Twenty random control groups (seeds 0-19), each played out by the simulator: the 95 % interval of the
    sales lift covers that design's planted effect in 17 to 20 of them."""
    from crm_kit.demo import simulate_campaign

    covered = 0
    for seed in range(20):
        design = _design(small_store, group=8, control_share=0.2, seed=100 + seed, campaign_id=f"C{seed}")
        variant = simulate_campaign(small_store, design)
        planted = json.loads((variant / "ground_truth.json").read_text())["rounds"]["1"]["planted_effect_sales_per_member"]
        sales = _lift(small_store, variant, design).loc["sales"]
        covered += bool(sales["ci_low"] <= planted <= sales["ci_high"])
    assert 17 <= covered <= 20


def test_campaign_data_picks_the_store_a_step_works_on(demo_dir, tmp_path):
    from crm_kit.demo import campaign_data

    # a run folder of its own: a bare tmp_path's siblings are other tests' folders, where an earlier run's
    # definition would be found (hand-offs are looked up in earlier runs of the same name)
    run_folder = tmp_path / "reports" / "mine" / "20261201-000000"
    run_folder.mkdir(parents=True)
    mine = {"tables": {"transactions": {"path": "x.parquet"}}}
    assert campaign_data(mine, folder=run_folder, through_round=1).data is mine
    natural = campaign_data("demo", folder=run_folder, through_round=0)
    assert natural.folder == demo_dir / "natural" and "contacts" not in natural.data["tables"]
    case = campaign_data("demo", folder=run_folder, through_round=1)
    assert case.folder == demo_dir and "worked case" in case.note
    assert case.planted(1)["treated"] == 924 and isinstance(case.beside(pd.DataFrame(), 3), str)


def test_the_documented_tables_are_the_model(base_list):
    """The demo-store page's tables print crm_kit/demo/model.py: a persona's habits, a channel's response, the
    decile table within ±0.1 % as the page says."""
    from conftest import ROOT
    from crm_kit.demo import PERSONAS, RESPONSE_MODEL, model_table, response_table
    from crm_kit.demo.model import DROPOUT_BY_GROUP, value_table

    readme = (ROOT / "docs" / "explanation" / "demo-store.md").read_text(encoding="utf-8")
    for name, habits in PERSONAS.items():
        assert f"| {name} | {habits['about']} | {habits['loyalty']:g} | {habits['promo']:g} |" in readme, name
    for channel, model in RESPONSE_MODEL.items():
        shares = " | ".join(f"{model['responders'][p]:g}" for p in
                            ("student snacker", "deal hunter", "family", "premium", "occasional"))
        assert f"| {shares} | {model['visit_mult']:g} | {model['ticket_mult']:g} |" in readme, channel
    assert "| dropout per visit (mean) | " + " | ".join(f"{p:g}" for p in DROPOUT_BY_GROUP) + " |" in readme
    assert list(model_table()["persona"]) == list(PERSONAS)
    assert list(response_table()["channel"]) == list(RESPONSE_MODEL)
    assert list(value_table()["dropout per visit (mean)"]) == list(DROPOUT_BY_GROUP)
    np.testing.assert_allclose(decile_table(base_list)["sales_per_customer"], DEMO_GROUP_SALES, rtol=0.001)
