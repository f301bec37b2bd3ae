"""One month for every step: the periods each notebook derives from the month, and run files that move them."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from crm_kit import ParameterError
from crm_kit import periods as pr
from conftest import ROOT


def test_every_step_derives_its_periods_from_the_month_as_the_worked_case_has_them():
    assert pr.step_periods("01_knowledge_discovery", "2025-09") == {"month": "2025-09"}
    assert pr.step_periods("02_segmentation", "2025-09", first="2024-09-01") == {
        "as_of": "2025-10-01", "month": "2025-09", "clv_calibration_end": "2025-06-01"}
    assert pr.step_periods("03_campaign_design", "2025-09", round_no=2) == {
        "base_month": "2025-10", "campaign_month": "2025-11", "campaign_id": "R2-2025-11", "variance_month": "2025-08"}
    assert pr.step_periods("04_campaign_results", "2025-12") == {
        "base_month": "2025-12", "campaign_month": "2026-01", "campaign_id": "R1-2026-01"}
    assert pr.step_periods("05_cycle_summary", "2025-09") == {}
    from crm_kit.demo import case_parameters

    for notebook in ("03_campaign_design", "04_campaign_results"):  # the demo's own dates, derived
        for r in (1, 2):
            case = case_parameters(notebook, r)
            derived = pr.step_periods(notebook, "2025-09", round_no=r)
            assert {k: case[k] for k in derived} == derived, (notebook, r)


def test_the_calibration_holdout_is_sized_to_the_history_and_the_last_month_must_be_whole():
    assert pr.clv_calibration_end("2025-10-01", "2024-09-03") == "2025-06-01"   # 13 months: 4 held out
    assert pr.clv_calibration_end("2025-06-01", "2025-01-01") == "2025-05-01"   # 5 months: 1
    # one month: a month's holdout would leave nothing to learn from (the date would be the first day, refused by
    # check_dates): the history is split in halves by day
    assert pr.clv_calibration_end("2025-10-01", "2025-09-01") == "2025-09-16"
    assert pr.last_complete_month(last="2025-06-30 18:00") == "2025-06"
    assert pr.last_complete_month(last="2025-06-28") == "2025-05"
    with pytest.raises(ParameterError, match="give a month as YYYY-MM"):
        pr.check_month("2025-13")


def test_dates_outside_the_data_are_refused_in_the_notebooks_words(demo_store):
    assert pr.check_dates(demo_store, month="2025-09").startswith("periods: month 2025-09 (the data runs from 2024-09")
    with pytest.raises(ParameterError, match=r"as_of 2027-01-01 lies after the data's last day 2025-11-30 .* "
                                             r"--month 2025-11"):
        pr.check_dates(demo_store, as_of="2027-01-01")
    with pytest.raises(ParameterError, match="month 1998-06 lies before the data's first day"):
        pr.check_dates(demo_store, month="1998-06")
    with pytest.raises(ParameterError, match="clv_calibration_end 2025-10-01 must come before as_of 2025-10-01"):
        pr.check_dates(demo_store, as_of="2025-10-01", clv_calibration_end="2025-10-01")


def test_a_run_file_moves_every_step_with_the_month_and_a_date_set_in_a_step_still_wins(demo_dir, tmp_path):
    from crm_kit.run import load_run_plan

    september = load_run_plan(ROOT / "params" / "demo.yaml")
    august = load_run_plan(ROOT / "params" / "demo.yaml", month="2025-08")
    assert september.month == "2025-09" and august.month == "2025-08"
    for step in september.steps:
        if september.periods[step.name]:
            assert september.periods[step.name] != august.periods[step.name], step.name  # every dated step moved
    assert august.periods["segmentation"] == {"as_of": "2025-09-01", "month": "2025-08",
                                              "clv_calibration_end": "2025-05-01"}
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text("steps:\n  - {name: discovery, notebook: 01_knowledge_discovery, params: {month: '2025-07'}}\n")
    plan = load_run_plan(ROOT / "params" / "demo.yaml", pinned, month="2025-08")
    assert plan.periods["discovery"] == {"month": "2025-07"}
    last = load_run_plan(ROOT / "params" / "demo.yaml", month="last")
    assert last.month == "2025-11"  # the demo's data runs to 2025-11-30
    with pytest.raises(ParameterError, match="give a month as YYYY-MM"):
        load_run_plan(ROOT / "params" / "demo.yaml", month="Sept")


@pytest.mark.notebook
def test_two_consecutive_months_move_discovery_segmentation_and_the_design(tmp_path):
    """The scheduling guide's monthly run (docs/how-to/scheduling.md): the same run file, --month moving by one, and every step's figures move.

    On the 3,000-member demo store (``-p data=demo:3000``): the periods come from the month, not the store's size,
    and the segmentation's two CLV fits on the full store made this the slowest test but one (185 s on CI)."""
    from crm_kit.run import load_run_plan, run_cycle

    metrics = {}
    for month in ("2025-08", "2025-09"):
        plan = load_run_plan(ROOT / "params" / "demo.yaml", month=month, overrides=["data=demo:3000"],
                             only=["discovery", "segmentation", "design_round1"])
        assert {step.params["data"] for step in plan.steps} == {"demo:3000"}
        folder = run_cycle(plan, output_root=tmp_path / month, progress=False)
        metrics[month] = json.loads((folder / "metrics.json").read_text())
    for month, m in metrics.items():
        assert m["discovery"]["month"] == month
        assert m["segmentation"]["as_of"] == str((pd.Period(month, freq="M") + 1).start_time.date())
        assert m["campaign_round1"]["periods"]["base"] == month
        assert m["run"]["month"] == month and m["run"]["periods"]["design_round1"]["base_month"] == month
    assert metrics["2025-08"]["discovery"]["customers"] != metrics["2025-09"]["discovery"]["customers"]
