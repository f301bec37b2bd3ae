"""Each notebook runs end to end through papermill with each params file; a bad key fails it."""

from __future__ import annotations

import json

import papermill as pm
import pytest
import yaml

from conftest import ROOT, shared_file

NB_DIR = ROOT / "notebooks"


def _run(notebook: str, tmp_path, **parameters):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    executed = tmp_path / f"{notebook}.ipynb"
    pm.execute_notebook(
        str(NB_DIR / f"{notebook}.ipynb"), str(executed), parameters={"output_dir": str(out), **parameters},
        cwd=str(NB_DIR), kernel_name="python3", progress_bar=False,
    )
    return out, executed


def _output_text(executed) -> str:
    """Everything the executed notebook printed or displayed as text (not its source)."""
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/plain", ""))
            parts.append(out.get("data", {}).get("text/html", ""))
    return "\n".join(parts)


def _params(file: str, notebook: str) -> dict:
    spec = yaml.safe_load((ROOT / "params" / file).read_text())
    step = next(s for s in spec["steps"] if s["notebook"] == notebook)
    from crm_kit.params import notebook_parameters

    declared = notebook_parameters(notebook)
    return {**{k: v for k, v in (spec.get("common") or {}).items() if k in declared}, **(step.get("params") or {})}


@pytest.mark.notebook
def test_discovery_on_the_demo_store_recommends_group_8(demo_cycle):
    """Notebook 01 with params/demo.yaml's values, as the session's demo cycle ran it through papermill
    (conftest.demo_cycle): its hand-offs, not a second run of the same notebook on the same data."""
    out = demo_cycle["folder"]
    summary = json.loads((out / "discovery_summary.json").read_text())
    assert summary["target_group"] == 8
    assert [row["customers"] for row in summary["decile_table"]] == [1155] * 10
    assert (out / "customer_groups.parquet").exists()
    # what changed since last month: the tree adds up, the lists carry ids only
    import pandas as pd

    changes = json.loads((out / "monthly_changes.json").read_text())
    assert changes["month"] == "2025-09" and changes["previous_month"] == "2025-08"
    tree = {row["node"]: row for row in changes["tree"]}
    leaves = sum(tree[n]["contribution"] for n in ("customers", "orders_per_customer", "items_per_order", "price_per_item"))
    assert abs(leaves - tree["sales"]["contribution"]) < 1e-6 * abs(tree["sales"]["before"])
    assert set(pd.read_parquet(out / "action_lost.parquet").columns) <= {
        "customer_id", "tier_before", "tier_after", "segment_before", "segment_after", "sales_before", "sales_after"}


@pytest.mark.notebook
@pytest.mark.realdata
def test_discovery_on_online_retail(tmp_path):
    shared_file("online_retail", "online_retail.parquet")
    out, executed = _run("01_knowledge_discovery", tmp_path, **_params("online_retail.yaml", "01_knowledge_discovery"))
    summary = json.loads((out / "discovery_summary.json").read_text())
    assert summary["customers"] > 1000
    text = _output_text(executed)
    assert "no member table" in text  # the step that needs member forms says so
    assert "Target group:" in text


@pytest.mark.notebook
def test_unknown_parameter_stops_the_notebook(demo_dir, tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="unknown parameter 'monht'"):
        _run("01_knowledge_discovery", tmp_path, monht="2025-09")


@pytest.mark.notebook
def test_segmentation_on_the_demo_store(demo_cycle):
    """Notebook 02 with params/demo.yaml's values (two CLV fits on the whole demo store), as the session's demo
    cycle ran it (conftest.demo_cycle)."""
    out = demo_cycle["folder"]
    segments = __import__("pandas").read_parquet(out / "customer_segments.parquet")
    for col in ("rfm_segment", "cluster", "cluster_name", "tier", "clv", "probability_alive", "age_group"):
        assert col in segments.columns and segments[col].notna().all(), col
    assert not {"name", "phone", "email", "wechat_id", "id_number", "address"} & set(segments.columns)


@pytest.mark.notebook
@pytest.mark.realdata
def test_segmentation_on_online_retail(tmp_path):
    shared_file("online_retail", "online_retail.parquet")
    out, executed = _run("02_segmentation", tmp_path, **_params("online_retail.yaml", "02_segmentation"))
    summary = json.loads((out / "segmentation_summary.json").read_text())
    assert summary["k"] >= 2 and summary["clv_total"] > 0
    assert "No member ages" in _output_text(executed)


@pytest.mark.notebook
@pytest.mark.realdata
def test_design_for_a_web_shop_on_online_retail(tmp_path):
    shared_file("online_retail", "online_retail.parquet")
    out, _ = _run("01_knowledge_discovery", tmp_path, **_params("online_retail.yaml", "01_knowledge_discovery"))
    _, executed = _run("03_campaign_design", tmp_path, **_params("online_retail.yaml", "03_campaign_design"))
    found = json.loads((out / "discovery_summary.json").read_text())
    definition = json.loads((out / "campaign_round1.json").read_text())
    assert found["target_group"] and definition["target"]["value"] == str(found["target_group"])
    assert definition["channel"] == "email" and definition["arms"]["control"] > 0
    text = _output_text(executed)
    assert "the web shop" in text and "WeChat" not in text and "cinema" not in text


@pytest.mark.notebook
def test_design_round_one_then_results_exports_are_private(demo_cycle, tmp_path):
    import shutil

    import pandas as pd

    # round one as params/demo.yaml designs it (group 8, found by discovery): the session's demo cycle ran that
    # notebook 03 (conftest.demo_cycle); notebook 04 then reads its design and contact list in a folder of its own
    cycle = demo_cycle["folder"]
    definition = json.loads((cycle / "campaign_round1.json").read_text())
    assert definition["target"]["value"] == "8"
    assert definition["arms"]["treatment"] + definition["arms"]["control"] == 1155
    assert definition["power"]["big_enough"] and definition["costs"]["total"] > 0
    contact_list = pd.read_parquet(cycle / "contact_list_round1.parquet")
    assert list(contact_list.columns) == ["customer_key", "arm", "channel"]
    assert not list(cycle.glob("contact_details*"))
    out = tmp_path / "out"
    out.mkdir()
    for name in ("campaign_round1.json", "contact_list_round1.parquet"):
        shutil.copy2(cycle / name, out / name)
    _run("04_campaign_results", tmp_path, data="demo", round_no=1, arms_source="contact_list")
    results = json.loads((out / "results_round1.json").read_text())
    assert results["arms"] == {"treatment": definition["arms"]["treatment"], "control": definition["arms"]["control"]}


@pytest.mark.notebook
def test_a_changed_design_is_what_the_results_analyse(demo_dir, tmp_path):
    """Round one designed for decile 9 with half held out: notebook 04 analyses those arms on the demo's
    simulated variant, says they match the design, and prints that design's planted effect beside the estimate."""
    import math

    from crm_kit.demo import campaign_data

    out, _ = _run("03_campaign_design", tmp_path, target_value="9", control_share=0.5)
    definition = json.loads((out / "campaign_round1.json").read_text())
    arms = definition["arms"]
    # half held out: each stratum's odd unit goes to control or treatment by randomised rounding
    assert str(definition["target"]["value"]) == "9" and arms["treatment"] + arms["control"] == 1155
    assert abs(arms["control"] - 1155 / 2) <= 5, arms
    out, executed = _run("04_campaign_results", tmp_path)
    results = json.loads((out / "results_round1.json").read_text())
    assert results["arms"] == {"treatment": arms["treatment"], "control": arms["control"]}
    planted = campaign_data("demo", folder=out, through_round=1).planted(1)
    assert (planted["treated"], planted["control"]) == (arms["treatment"], arms["control"])
    text = _output_text(executed)
    assert f"match the design of R1-2025-10: {arms['treatment']} treated / {arms['control']} control" in text
    assert "planted effect" in text and "interval covers it" in text
    shown = f"{math.floor(planted['planted_effect_sales_per_member'] * 10) / 10:.1f}"
    assert shown in text
    # the worked case's planted effect (group 8) is not what is shown
    case = json.loads((demo_dir / "ground_truth.json").read_text())["rounds"]["1"]["planted_effect_sales_per_member"]
    assert abs(case - planted["planted_effect_sales_per_member"]) > 100


@pytest.mark.notebook
def test_a_three_arm_round_and_uplift_targeting_run_end_to_end(demo_dir, tmp_path):
    """Issue 19: round one designed with a WeChat arm, an SMS arm and a control group; notebook 04 compares each
    arm with control and with the other (Holm), each interval covering the arm's planted effect, prices each arm,
    fits the uplift model and writes its scores; round two then targets the top 150 by predicted uplift."""
    import pandas as pd

    from crm_kit.demo import campaign_data

    arms = [{"name": "WeChat", "channel": "WeChat", "share": 0.4, "cost_per_contact": 0.05},
            {"name": "SMS", "channel": "SMS", "share": 0.4, "cost_per_contact": 0.1}]
    out, _ = _run("03_campaign_design", tmp_path, treatment_arms=arms)
    definition = json.loads((out / "campaign_round1.json").read_text())
    by_arm = definition["arms"]["by_arm"]
    # 40 % of 1,155 each: 462, give or take a stratum's odd unit drawn by randomised rounding
    assert all(abs(v["customers"] - 462) <= 5 for v in by_arm.values()) and list(by_arm) == ["WeChat", "SMS"]
    assert definition["arms"]["treatment"] == 924 and definition["channels"] == ["WeChat", "SMS"]
    assert sum(v["cost"] for v in by_arm.values()) == pytest.approx(definition["costs"]["total"])
    out, executed = _run("04_campaign_results", tmp_path)
    text = _output_text(executed)
    assert "match the design of R1-2025-10: 924 treated / 231 control" in text
    results = json.loads((out / "results_round1.json").read_text())
    comparisons = pd.DataFrame(results["arm_comparisons"])
    assert len(comparisons) == 6  # visits and sales: WeChat and SMS against control, SMS against WeChat
    planted = campaign_data("demo", folder=out, through_round=1).planted(1)["arms"]
    for row in comparisons.query("metric == 'sales' and against == 'control'").to_dict("records"):
        assert row["joint_ci_low"] <= planted[row["arm"]]["planted_effect_sales_per_member"] <= row["joint_ci_high"]
    returns = {r["arm"]: r for r in results["arm_returns"]}
    assert returns["WeChat"]["cost"] == pytest.approx(by_arm["WeChat"]["cost"])
    assert returns["WeChat"]["return_on_spend"] > 10 > returns["SMS"]["return_on_spend"]
    assert results["uplift"]["method"] == "X-learner" and results["uplift"]["customers"] == 1155
    scores = pd.read_parquet(out / "round1_uplift.parquet")
    assert len(scores) == 1155 and "uplift AUC" in text
    out, executed = _run("03_campaign_design", tmp_path, round_no=2, target_kind="uplift", target_value=150,
                         treatment_arms=[])
    second = json.loads((out / "campaign_round2.json").read_text())
    assert second["target"]["size"] == 150 and "top 150 by predicted uplift" in _output_text(executed)
    from crm_kit.campaign import pseudonymise

    top = scores.nlargest(150, "predicted_uplift")["customer_id"]
    designed = pd.read_parquet(out / "contact_list_round2.parquet")["customer_key"]
    assert set(designed) == set(pseudonymise(top, salt=second["pseudonym_salt"]))


@pytest.mark.notebook
def test_personal_details_only_when_asked(demo_dir, tmp_path):
    import pandas as pd

    out, executed = _run("03_campaign_design", tmp_path, target_value="8", include_personal=True)
    details = pd.read_parquet(out / "contact_details_round1.parquet")
    assert {"name", "phone", "wechat_id"} <= set(details.columns)
    text = _output_text(executed)
    assert "contact details of" in text
    assert not any(phone in text for phone in details["phone"])
    assert not any(wx in text for wx in details["wechat_id"])


@pytest.mark.notebook
def test_round_two_empty_target_is_a_clear_error(demo_dir, tmp_path):
    import pandas as pd

    out = tmp_path / "out"
    out.mkdir()
    pd.DataFrame({"customer_id": ["M000001"], "group": ["A1"]}).to_parquet(out / "round1_groups.parquet")
    with pytest.raises(pm.PapermillExecutionError, match="target group group_list='A4' is empty"):
        _run("03_campaign_design", tmp_path, round_no=2, target_kind="group_list", target_value="A4",
             base_month="2025-10", campaign_month="2025-11")


@pytest.mark.notebook
@pytest.mark.realdata
def test_results_on_lenta_outcome_table(tmp_path):
    shared_file("lenta_sample", "lenta_dataset_50k.csv")
    steps = yaml.safe_load((ROOT / "params" / "lenta.yaml").read_text())["steps"]
    out, _ = _run(steps[0]["notebook"], tmp_path, **steps[0]["params"])
    lift = json.loads((out / "results_round1.json").read_text())["lift"]
    rates = {(row["outcome"]): (row["control_value"], row["treated_value"]) for row in lift}
    assert rates["response_att"][0] == pytest.approx(0.102364, abs=1e-6)
    assert rates["response_att"][1] == pytest.approx(0.111459, abs=1e-6)


@pytest.mark.notebook
def test_outcome_table_with_three_arms_gets_holm_comparisons(tmp_path):
    """A campaign run elsewhere with an SMS arm, an e-mail arm and a holdout: notebook 06 compares each arm with
    control and the two with each other, Holm-adjusted, and keeps them in the round's result."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(4)
    n = 900
    group = np.array(["holdout", "sms", "email"])[np.arange(n) % 3]
    table = pd.DataFrame({"group": group, "converted": (rng.random(n) < np.where(group == "sms", 0.2, 0.1)).astype(int),
                          "spend": rng.gamma(2, 20, n) + np.where(group == "sms", 8.0, 0.0)})
    path = tmp_path / "outcomes.csv"
    table.to_csv(path, index=False)
    out, executed = _run("06_outcome_table", tmp_path, outcome_table=str(path), outcome_arm_col="group",
                         outcome_control="holdout", outcome_binary=["converted"], outcome_continuous=["spend"])
    comparisons = pd.DataFrame(json.loads((out / "results_round1.json").read_text())["arm_comparisons"])
    assert len(comparisons) == 6 and set(comparisons["against"]) == {"holdout", "sms"}  # arms sorted: email, sms
    sms = comparisons.query("metric == 'spend' and arm == 'sms' and against == 'holdout'").iloc[0]
    assert sms["joint_ci_low"] < 8.0 < sms["joint_ci_high"] and sms["significant"]
    assert "Joint CI low" in _output_text(executed)


@pytest.mark.notebook
@pytest.mark.realdata
def test_discovery_on_complete_journey_uses_real_demographics(tmp_path):
    shared_file("completejourney", "transactions_sample.csv.gz")
    out, executed = _run("01_knowledge_discovery", tmp_path, **_params("completejourney.yaml", "01_knowledge_discovery"))
    summary = json.loads((out / "discovery_summary.json").read_text())
    assert summary["customers"] > 100
    text = _output_text(executed)
    assert "no member table" not in text and "members" in text  # the member profile ran on the demographics


@pytest.mark.notebook
@pytest.mark.realdata
def test_results_on_complete_journey_campaign_against_never_contacted(tmp_path):
    """Campaign 18 of the Complete Journey (no holdout) against households no campaign reached.

    Arms and the difference-in-differences are recomputed here with pandas
    from the raw files, applying the same cleaning the data spec asks for.
    """
    import numpy as np
    import pandas as pd
    from scipy import stats

    folder = shared_file("completejourney", "campaigns.csv.gz").parent
    params = _params("completejourney.yaml", "04_campaign_results")
    assert params["control"] == "never_contacted"
    out, executed = _run("04_campaign_results", tmp_path, **params)
    res = json.loads((out / "results_round1.json").read_text())

    lines = pd.read_csv(folder / "transactions_sample.csv.gz", parse_dates=["transaction_timestamp"],
                        dtype={"household_id": str, "basket_id": str})
    lines = lines[(lines["quantity"] > 0) & (lines["sales_value"] > 0)]
    contacts = pd.read_csv(folder / "campaigns.csv.gz", dtype=str)
    base_start, start, end = (pd.Timestamp(d) for d in ("2017-09-04", "2017-10-30", "2017-12-25"))
    known = set(lines.loc[lines["transaction_timestamp"] < start, "household_id"])
    treated = known & set(contacts.loc[contacts["campaign_id"] == "18", "household_id"])
    never = known - set(contacts["household_id"])
    assert res["arms"] == {"treatment": len(treated), "control": len(never)}

    def sales(ids, lo, hi):
        ts = lines["transaction_timestamp"]
        s = lines[(ts >= lo) & (ts < hi)].groupby("household_id")["sales_value"].sum()
        return s.reindex(sorted(ids)).fillna(0.0).to_numpy()

    change_t = sales(treated, start, end) - sales(treated, base_start, start)
    change_c = sales(never, start, end) - sales(never, base_start, start)
    did = change_t.mean() - change_c.mean()
    ci = stats.ttest_ind(change_t, change_c, equal_var=False).confidence_interval(0.95)
    row = next(r for r in res["lift"] if r["metric"] == "sales")
    assert row["did"] == pytest.approx(did, rel=1e-9)
    assert (row["did_ci_low"], row["did_ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert res["return"]["estimate"] == "did" and res["return"]["roi"] is None  # no cost given: undefined
    assert res["return"]["incremental_sales"] == pytest.approx(did * len(treated), rel=1e-9)
    assert res["placebo"] is not None and np.isfinite(res["placebo"][1]["did"])
    redeemed = pd.read_csv(folder / "coupon_redemptions.csv.gz", dtype=str)
    responders = treated & set(redeemed.loc[redeemed["campaign_id"] == "18", "household_id"])
    groups = pd.DataFrame(res["groups"])
    assert (groups["response_rate"] * groups["customers"]).sum() == pytest.approx(len(responders))
    text = _output_text(executed)
    assert "no random control" in text and "placebo" in text


def _close(a, b) -> bool:
    """Equal documents, numbers to 1e-9 relative (k-means sums float in another order after a refit)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-9)
    return a == b


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", [
    pytest.param("01_knowledge_discovery", marks=pytest.mark.as_opened("01_knowledge_discovery")),
    "02_segmentation",  # on the 3,000-member store: not its defaults, so nbval still runs it as opened
    pytest.param("03_campaign_design", marks=pytest.mark.as_opened("03_campaign_design")),
    pytest.param("04_campaign_results", marks=pytest.mark.as_opened("04_campaign_results")),
    pytest.param("05_cycle_summary", marks=pytest.mark.as_opened("05_cycle_summary"))])
def test_run_all_twice_in_one_kernel_gives_the_same_results(notebook, demo_dir, tmp_path, monkeypatch):
    """JupyterLab's Run All, twice, in one kernel: no error, and the same hand-offs as the first time.

    Segmentation runs on the 3,000-member demo store (its two CLV fits on the full store, twice, took 64 s on CI);
    what is checked, that a second Run All in the same kernel gives the first one's hand-offs, is the same."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("CRM_KIT_REPORTS", str(tmp_path / "reports"))  # the kernel inherits it
    nb = nbformat.read(str(NB_DIR / f"{notebook}.ipynb"), as_version=4)
    if notebook == "02_segmentation":  # as papermill would: the parameters cell, then the value set
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        cell.source += '\ndata = "demo:3000"'
    twice = nbformat.v4.new_notebook(metadata=nb.metadata)
    twice.cells = [nbformat.from_dict(dict(c)) for c in nb.cells] * 2
    NotebookClient(twice, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NB_DIR)}}).execute()
    runs = sorted((tmp_path / "reports" / "interactive").iterdir())
    assert len(runs) == 2, runs
    first = {p.name: json.loads(p.read_text()) for p in runs[0].glob("*.json")}
    second = {p.name: json.loads(p.read_text()) for p in runs[1].glob("*.json")}
    assert _close(first, second), (first, second)
    if notebook != "05_cycle_summary":
        assert first, f"{notebook} wrote no hand-off"


@pytest.mark.notebook
def test_both_rounds_by_hand_as_in_jupyterlab(demo_dir, tmp_path, monkeypatch):
    """The JupyterLab guide's walk-through (docs/how-to/jupyterlab.md), as a student does it in JupyterLab: run 01, 03 and 04 as they open, then set
    round_no = 2 in 03 and in 04 and run them again, then 05 — each in its own kernel, outputs in new interactive
    folders; round two finds round one's A4 in the earlier folder, and 05 shows both rounds."""
    import nbformat
    from nbclient import NotebookClient

    from crm_kit.artifacts import CampaignDefinition, RoundResult

    monkeypatch.setenv("CRM_KIT_REPORTS", str(tmp_path / "reports"))

    def run(name, round_no=None):
        nb = nbformat.read(str(NB_DIR / f"{name}.ipynb"), as_version=4)
        if round_no is not None:  # the student edits the parameters cell
            cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
            cell.source = cell.source.replace("round_no: int = 1", f"round_no: int = {round_no}")
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NB_DIR)}}).execute()
        return nb

    for name in ("01_knowledge_discovery", "03_campaign_design", "04_campaign_results"):
        run(name)
    design2 = run("03_campaign_design", round_no=2)
    assert "Round 2 of the worked case" in _output_text_of(design2)
    run("04_campaign_results", round_no=2)
    summary = run("05_cycle_summary")
    assert "rounds found: [1, 2]" in _output_text_of(summary)
    folders = sorted((tmp_path / "reports" / "interactive").iterdir())
    newest = folders[-1]
    one = RoundResult.read(newest, 1)
    definition = CampaignDefinition.read(newest, 2)
    assert definition.campaign_id == "R2-2025-11" and definition.target["value"] == "A4"
    assert definition.target["size"] == one.group_counts["A4"]
    assert RoundResult.read(newest, 2).split["kind"] == "sales_bands"


def _output_text_of(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)
