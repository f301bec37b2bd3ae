"""Neutral defaults on one's own data (issue 37, item 4): nothing of the demo's reaches a run on another shop's export.

Each default is tested through the package functions on a small own-data store (a CSV without a member
form and without a currency), and once end to end: ``crm-kit run`` of discovery, segmentation and round
one's design on such an export, its report read for the demo's traces.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import crm_kit
from crm_kit import campaign, demo, engine, periods, presentation
from crm_kit.errors import ParameterError
from crm_kit.params import Parameters, check_notebook_parameters
from crm_kit.run.summary import width_phrase
from conftest import ROOT, write_spec


def _shop_lines() -> pd.DataFrame:
    """Twelve line items of four customers in January and March 2025 — no February, no member form, no sign."""
    return pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c", "d", "a", "b", "c", "c", "d", "d"],
        "order_id": [f"o{i}" for i in range(12)],
        "ts": pd.to_datetime(["2025-01-03", "2025-01-17", "2025-01-05", "2025-01-28", "2025-01-09", "2025-01-30",
                              "2025-03-02", "2025-03-04", "2025-03-10", "2025-03-11", "2025-03-20", "2025-03-21"]),
        "product_id": ["p1"] * 12,
        "quantity": [1] * 12,
        "amount": [10.0, 20.0, 5.0, 5.0, 40.0, 8.0, 12.0, 6.0, 30.0, 10.0, 4.0, 4.0],
    })


@pytest.fixture
def shop(tmp_path):
    return crm_kit.load_store(write_spec(tmp_path, _shop_lines(), fmt="csv"))


# ---------------------------------------------------------------------------------------- strata


def test_strata_only_where_the_data_has_the_column(shop):
    target = engine.monthly_customer_list(shop.transactions, month="2025-01", groups=2)
    assert "preferred_channel" not in target.columns  # an export without member form
    strata = campaign.choose_strata(target, "preferred_channel")  # the notebook's default
    assert strata.column == "" and "no preferred_channel" in strata.note
    arms = campaign.assign_arms(target, control_share=0.25, stratify_by=strata.column or None, seed=1)
    assert arms["arm"].value_counts().to_dict() == {"treatment": 3, "control": 1}
    # a column the analyst chose and the data lacks is an error naming what there is
    with pytest.raises(ParameterError, match=r"stratify_by='region': the target has no such "
                                             r"column; the data has no member field to stratify by: set stratify_by empty"):
        campaign.choose_strata(target, "region", chosen=True)
    assert campaign.choose_strata(target, "", chosen=True).column == ""


def test_strata_used_when_there_and_big_enough():
    ids = [f"c{i:02d}" for i in range(20)]
    target = pd.DataFrame({"customer_id": ids, "preferred_channel": ["WeChat", "SMS"] * 10,
                           "empty": [None] * 20, "postcode": [f"{i:05d}" for i in range(20)]})
    strata = campaign.choose_strata(target, "preferred_channel")
    assert strata.column == "preferred_channel" and "2 levels" in strata.note
    arms = campaign.assign_arms(target, control_share=0.2, stratify_by=strata.column, seed=3)
    by = target.merge(arms, on="customer_id").groupby("preferred_channel")["arm"].apply(lambda a: (a == "control").sum())
    assert by.to_dict() == {"SMS": 2, "WeChat": 2}  # round(0.2 x 10) in each stratum
    assert campaign.choose_strata(target, "empty", chosen=True).column == ""  # nobody has one
    thin = campaign.choose_strata(target, "postcode", chosen=True)  # 20 levels for 20 customers: no control in any
    assert thin.column == "" and "20 levels" in thin.note


def test_chosen_parameters_are_the_set_and_the_edited_ones():
    params = check_notebook_parameters({"stratify_by": "region"}, "03_campaign_design")
    assert "stratify_by" in params.chosen and "plan_name" not in params.chosen
    assert not check_notebook_parameters({}, "03_campaign_design").chosen


# ---------------------------------------------------------------------------------------- the 4P plan


def _params(data, *, chosen=()):
    p = Parameters({"data": data})
    p.chosen = frozenset(chosen)
    return p


def test_the_plan_is_the_users_outside_the_case_preset():
    own = _params("params/data/shop.yaml")
    blank = campaign.round_plan(demo.starting_plan(own, "wechat_samples", preset="auto"), {})
    assert campaign.plan_gaps(blank) == ["product", "price", "place", "promotion", "channels"]
    assert "to fill in" in campaign.plan_note(blank) and "WeChat" not in campaign.plan_note(blank)
    tables = campaign.plan_4p(plan=blank, samples=None, calendar=campaign.weekly_calendar("2025-04-01", weeks=2),
                              treated=3, ticket_target=31.0)
    assert tables["plan"]["decision"].tolist() == ["to fill in (plan.product)", "to fill in (plan.price)",
                                                   "to fill in (plan.place)", "to fill in (plan.promotion)"]
    assert "sample" not in tables["calendar"].columns
    assert tables["rules"]["condition"].iloc[0] == "a purchase (one visit or order) of at least 40"
    text = " ".join(tables["rules"].astype(str).to_numpy().ravel())
    assert "cinema" not in text and "QR" not in text and "to fill in" in text
    target = pd.DataFrame({"customer_id": ["a", "b"]})
    assert campaign.contact_channels(target, plan=blank).tolist() == [campaign.NO_CHANNEL] * 2
    # the budget: messages only (3 treated x 4 pushes x 0.05 = 0.60), never the case's samples at 8.0
    items = campaign.budget_lines(plan=blank, treated=3, weeks=4, sample_unit_cost=8.0, reward_unit_cost=0.0,
                                  expected_reward_share=0.3, courier_cost_per_order=8.0, expected_orders_per_member=1.0)
    assert items == []
    budget = campaign.campaign_budget(contacts=12, cost_per_contact=0.05, items=items, gross_margin=0.2)
    assert budget["total_cost"] == pytest.approx(0.6)
    note = campaign.budget_note(budget, plan=blank)
    assert "to fill in" in note and "messages alone (0.60)" in note and "plan.cost_items" in note
    # the analyst's own plan, given in part: channels without a default take the first
    web = campaign.round_plan(demo.starting_plan(own, "wechat_samples"), {"channels": ["email", "SMS"],
                                                                          "product": "a weekly pick"})
    assert web["default_channel"] == "email" and campaign.plan_gaps(web) == ["price", "place", "promotion"]


def test_the_case_plan_under_the_case_preset_or_when_chosen():
    assert demo.starting_plan(_params("demo"), "wechat_samples")["default_channel"] == "WeChat"
    assert demo.starting_plan(_params("demo:500"), "sms_phone")["cost_items"] == ["courier deliveries"]
    assert demo.starting_plan(_params("shop.yaml"), "sms_phone", preset="case")["default_channel"] == "SMS"
    assert demo.starting_plan(_params("shop.yaml", chosen={"plan_name"}), "sms_phone")["default_channel"] == "SMS"
    assert demo.starting_plan(_params("demo"), "wechat_samples", preset="none")["product"] == ""
    case = campaign.round_plan(demo.starting_plan(_params("demo"), "wechat_samples"))
    budget = campaign.campaign_budget(contacts=10, cost_per_contact=0.5, gross_margin=0.25)
    assert campaign.plan_gaps(case) == [] and campaign.budget_note(budget, plan=case).startswith(
        "Break-even: incremental sales of 20 pay the campaign's cost of 5 at a 25% gross margin")
    with pytest.raises(ParameterError, match="preset='demo'"):
        demo.starting_plan(_params("demo"), "wechat_samples", preset="demo")


# ---------------------------------------------------------------------------------------- currency


def test_no_currency_sign_is_invented(shop, tmp_path):
    from crm_kit import plotting

    assert shop.currency == ""
    note = presentation.setup_notebook(currency=shop.currency)
    assert "plain numbers" in note and "currency:" in note and plotting.CURRENCY == ""
    assert presentation.setup_notebook() == note and plotting.money("sales") == "sales"  # the default has no ¥
    table = pd.DataFrame({"sales": [1234.5], "ticket": [20.0]})
    shown = presentation.human_table(table, currency=shop.currency)
    assert "¥" not in shown and "<th>Sales</th>" in shown and "1,234" in shown
    pound = crm_kit.load_store(write_spec(tmp_path, _shop_lines(), fmt="csv", currency="£"))
    assert "in £" in presentation.setup_notebook(currency=pound.currency)
    assert "<th>Sales (£)</th>" in presentation.human_table(table, currency=pound.currency)
    presentation.setup_notebook(currency="")


# ---------------------------------------------------------------------------------------- months without data


def test_a_month_without_purchases_is_refused_naming_the_datas_months(shop):
    assert engine.lines_per_month(shop.transactions).to_dict() == {"2025-01": 6, "2025-03": 6}
    with pytest.raises(ParameterError, match=r"^campaign_month 2025-02 holds no purchase: the data's months with "
                                             r"purchases are 2025-01, 2025-03; set campaign_month"):
        periods.check_dates(shop, base_month="2025-01", campaign_month="2025-02")
    with pytest.raises(ParameterError, match="campaign_month 2025-04 holds no purchase"):  # --month last, results
        periods.check_dates(shop, base_month="2025-03", campaign_month="2025-04")
    with pytest.raises(ParameterError, match="base_month 2025-02-01/2025-02-15 holds no purchase"):
        periods.check_dates(shop, base_month="2025-02-01/2025-02-15", campaign_month="2025-03")
    line = periods.check_dates(shop, base_month="2025-01", campaign_month="2025-03")
    assert "campaign_month 2025-03 is covered only to 2025-03-21: a part month" in line
    assert periods.month_spans(["2024-01", "2024-02", "2024-03", "2024-05", "2024-07", "2024-08"]) == \
        "2024-01 to 2024-03, 2024-05, 2024-07 to 2024-08"


# ---------------------------------------------------------------------------------------- the report's tables


def test_figure_tables_show_labels_not_keys():
    outcome = pd.Series(np.r_[np.zeros(50), np.full(50, 100.0)])
    check = campaign.power_analysis(outcome, effect=10.0, group_size=100, control_share=0.2)
    shown = presentation.human_table(pd.Series(check).to_frame("value"), currency="")
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", shown)
    assert "Effect size (Cohen&#x27;s d)" in cells and "Control share needed" in cells
    assert not [c for c in cells if re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", c)]  # no snake_case key
    assert "None" not in cells
    budget = campaign.campaign_budget(contacts=100, cost_per_contact=0.5, gross_margin=0.2,
                                      expected_incremental_sales=200.0)
    shown = presentation.human_table(campaign.budget_summary(budget), currency="")
    rows = dict(re.findall(r"<tr><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td></tr>", shown))
    assert rows == {"Total cost": "50.00", "Gross margin": "20.0%", "Break-even sales": "250.00",
                    "Expected incremental sales": "200.00", "Expected return on spend": "4.00",
                    "Expected ROI": "-20.0%"}


def test_customer_ids_are_shown_only_when_asked():
    listing = pd.DataFrame({"customer_id": ["c9", "c1", "c5"], "rank": [1, 2, 3], "sales": [9.0, 5.0, 1.0]})
    assert list(presentation.customer_rows(listing, n=2).columns) == ["rank", "sales"]
    assert len(presentation.customer_rows(listing, n=2)) == 2
    assert presentation.customer_rows(listing, show_ids=True)["customer_id"].tolist() == ["c9", "c1", "c5"]
    by_id = listing.set_index("customer_id")
    shown = presentation.human_table(presentation.customer_rows(by_id))
    assert "c9" not in shown and "Customer" not in shown
    declared = check_notebook_parameters({}, "01_knowledge_discovery")
    assert declared["show_customer_ids"] is False
    with pytest.raises(ParameterError, match="show_customer_ids"):
        check_notebook_parameters({"show_customer_ids": "yes"}, "01_knowledge_discovery")


def test_the_adjusted_intervals_width_is_said_in_true_words():
    assert width_phrase(0.17) == ": an interval 17% narrower"
    assert width_phrase(-5.81) == ": an interval 6.8× as wide as the plain one"  # never "−581 % narrower"
    assert width_phrase(0.001) == ": an interval as wide as the plain one"
    assert width_phrase(float("nan")) == width_phrase(None) == ""
    assert "narrower" not in width_phrase(-0.2)
    table = pd.DataFrame({"metric": ["visits", "sales"], "width_gain": [0.17, -5.81]})
    assert re.findall(r">([^<]*)</td>", presentation.human_table(table))[1::2] == ["17.0%", "none: 6.8× as wide"]


def test_the_notebooks_name_no_currency_of_their_own():
    import json

    for name in ("01_knowledge_discovery", "02_segmentation", "03_campaign_design", "04_campaign_results"):
        nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        text = "".join("".join(c["source"]) for c in nb["cells"])
        assert "¥" not in text, name
        assert "print(presentation.setup_notebook(" in text, name  # the currency note is shown


# ---------------------------------------------------------------------------------------- end to end


def _export(path, *, customers: int = 100, months: int = 8) -> list[str]:
    """A till export of ``customers`` over ``months`` months from 2024-01: no member form, no currency sign."""
    rng = np.random.default_rng(7)
    ids = [f"KX{i:04d}" for i in range(customers)]
    rows = []
    for i, cid in enumerate(ids):
        rate = 0.5 + 3 * (i % 10) / 10
        for m, month in enumerate(pd.period_range("2024-01", periods=months, freq="M")):
            for j in range(rng.poisson(rate)):
                rows.append({"Card": cid, "Receipt": f"R{i}-{m}-{j}", "Date": f"{month}-{rng.integers(1, 29):02d} 11:00",
                             "Item": f"SKU{rng.integers(0, 12)}", "Qty": 1, "Total": round(float(rng.gamma(2, 15)), 2)})
    pd.DataFrame(rows).to_csv(path, index=False)
    return ids


@pytest.mark.notebook
def test_a_run_on_an_export_without_member_form_or_currency_carries_nothing_of_the_demo(tmp_path):
    """discovery -> segmentation -> round one's design on a till export: it runs, and its report shows no ¥, no
    None, no snake_case key in a table, no customer id, no Python string, and the 4P plan "to fill in"."""
    import subprocess
    import sys

    import yaml

    ids = _export(tmp_path / "till.csv")
    spec = {"name": "till", "tables": {"transactions": {"path": str(tmp_path / "till.csv"), "columns": {
        "customer_id": "Card", "order_id": "Receipt", "ts": "Date", "product_id": "Item", "quantity": "Qty",
        "amount": "Total"}}}}
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(spec))
    run = {"run_name": "till", "common": {"data": str(tmp_path / "data.yaml"), "month": "2024-07"}, "steps": [
        {"name": "discovery", "notebook": "01_knowledge_discovery"},
        {"name": "segmentation", "notebook": "02_segmentation", "after": [], "params": {"k_max": 4}},
        {"name": "design_round1", "notebook": "03_campaign_design", "after": ["discovery"],
         "params": {"round_no": 1, "target_kind": "decile"}}]}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(run))
    done = subprocess.run([sys.executable, "-m", "crm_kit", "run", str(tmp_path / "run.yaml"), "--output",
                           str(tmp_path / "reports"), "--quiet"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    report = next((tmp_path / "reports" / "till").glob("*/report.html"))
    page = report.read_text(encoding="utf-8")
    body = page[page.index("<body>"):]
    assert "¥" not in body and "￥" not in body
    # the tables' cells; the narration's data dictionaries name the columns to map, in code (`customer_id`)
    cells = [html_text(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", body, re.S) if "<code" not in c]
    assert "None" not in cells and not [c for c in cells if "None" in c.split()]
    lines = [t.strip() for t in html_text(re.sub(r"<(style|script).*?</\1>", "", body, flags=re.S)).splitlines()]
    assert "None" not in lines and not [t for t in lines if t.startswith(("'", '"'))]  # no bare None, no repr
    keys = [c for c in cells if re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)+( = .*)?", c)]
    assert not keys, keys  # every table label in words
    assert not [i for i in ids if i in body]  # no customer id, in any table
    assert not re.search(r"<pre>\s*(&#39;|')", body)  # no Python string shown in quotes
    assert "to fill in (plan.product)" in body and "The 4P plan is yours to write" in body
    assert "without strata" in body and "Money is shown as plain numbers" in body
    definition = yaml.safe_load(next((tmp_path / "reports" / "till").glob("*/campaign_round1.yaml")).read_text())
    assert definition["arms"]["stratify_by"] is None and definition["channel"] == ""
    assert not [c for c in definition["costs"]["items"] if c["item"] != "contacts"]  # no case cost line


def html_text(cell: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
