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


def test_ranking_recovers_the_planted_groups(base_list, demo_dir):
    truth = pd.read_parquet(demo_dir / "ground_truth_customers.parquet").set_index("customer_id")
    planted = truth.loc[base_list["customer_id"], "planted_group"].to_numpy()
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
    digest = lambda folder: {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}
    assert digest(a) == digest(b)
    assert digest(a)["transactions.parquet"] != digest(c)["transactions.parquet"]


def test_n_members_scales_the_store(tmp_path):
    folder = generate_demo_store(tmp_path / "s", n_members=1000, seed=5)
    members = pd.read_parquet(folder / "customers.parquet")
    assert len(members) == 1000


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

    for notebook in ("03_campaign_design", "04_campaign_results"):
        defaults = {k: p.default for k, p in notebook_parameters(notebook).items()}
        one = case_parameters(notebook, 1)
        assert one and all(defaults[k] == v for k, v in one.items()), notebook  # the defaults are round one
        assert case_preset(defaults, notebook, 1) == {}
    r1, r2 = DEMO_ROUNDS["round1"], DEMO_ROUNDS["round2"]
    defaults = {k: p.default for k, p in notebook_parameters("03_campaign_design").items()}
    assert defaults["campaign_id"] == r1["campaign_id"] and defaults["seed"] == r1["seed"]
    assert defaults["plan_name"] == r1["plan"]
    assert (defaults["base_month"], defaults["campaign_month"]) == (DEMO_MONTHS["base"], DEMO_MONTHS["round1"])
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
