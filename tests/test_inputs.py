"""Retailers' exports as they really come: read right, or refused with one line naming the fix.

Every test writes its small file, loads it, asserts the figures or the
message, and checks that the input file is byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_kit import DataError, ParameterError, load_store

COLUMNS = {"customer_id": "会员号", "order_id": "单号", "ts": "日期", "product_id": "商品", "quantity": "数量",
           "amount": "金额"}


def _lines() -> pd.DataFrame:
    return pd.DataFrame({
        "会员号": ["001", "002", "003", "001", "002", "004"],
        "单号": ["A1", "A2", "A3", "A4", "A5", "A6"],
        "日期": ["2025-01-05", "2025-01-06", "2025-01-07", "2025-02-05", "2025-02-06", "2025-02-07"],
        "商品": ["p1", "p2", "p1", "p3", "p2", "p1"],
        "数量": [1, 2, 1, 3, 1, 1],
        "金额": [10.5, 20.0, 15.0, 30.0, 12.0, 8.0],
    })


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load(path: Path, **table):
    """Load a transactions file with the Chinese column names mapped; check the file is left as it was."""
    before = _digest(path)
    try:
        return load_store({"tables": {"transactions": {"path": str(path), "columns": dict(COLUMNS), **table}},
                           "cache": False})
    finally:
        assert _digest(path) == before, "the input file was modified"


def _figures(store) -> dict:
    lines = store.con.to_pandas(store.all_lines)
    return {"lines": len(lines), "customers": int(lines["customer_id"].nunique()), "sales": round(lines["amount"].sum(), 2)}


EXPECTED = {"lines": 6, "customers": 4, "sales": 95.5}


# ------------------------------------------------------------------ files as exported


@pytest.mark.parametrize("encoding, given", [("gbk", None), ("gb18030", None), ("gbk", "gbk"), ("utf-16", None),
                                             ("utf-8-sig", None), ("utf-8", None)])
def test_chinese_and_unicode_encodings_are_read(tmp_path, encoding, given):
    path = tmp_path / "lines.csv"
    _lines().to_csv(path, index=False, encoding=encoding)
    store = _load(path, **({"encoding": given} if given else {}))
    assert _figures(store) == EXPECTED
    ids = set(store.con.to_pandas(store.transactions.select("customer_id"))["customer_id"])
    assert ids == {"001", "002", "003", "004"}  # leading zeros kept: ids are text


def test_a_western_encoding_is_told_from_the_bytes_or_set(tmp_path):
    path = tmp_path / "lines.csv"
    frame = _lines().rename(columns={"会员号": "Kunde", "单号": "Beleg", "日期": "Datum", "商品": "Artikel",
                                     "数量": "Menge", "金额": "Betrag"})
    frame["Artikel"] = ["Äpfel", "Öl", "Süßes", "Käse", "Öl", "Äpfel"]
    frame.to_csv(path, index=False, encoding="cp1252")
    spec = {"customer_id": "Kunde", "order_id": "Beleg", "ts": "Datum", "product_id": "Artikel", "quantity": "Menge",
            "amount": "Betrag"}
    # told by charset-normalizer among the encodings exports come in (crm_kit.store.sniff.detect_encoding)
    told = load_store({"tables": {"transactions": {"path": str(path), "columns": spec}}, "cache": False})
    assert "Süßes" in set(told.con.to_pandas(told.all_lines)["product_id"])
    store = load_store({"tables": {"transactions": {"path": str(path), "columns": spec, "encoding": "cp1252"}},
                        "cache": False})
    assert "Süßes" in set(store.con.to_pandas(store.all_lines)["product_id"])


def test_whitespace_separated_text_and_a_title_line(tmp_path):
    rows = [list(_lines().columns)] + _lines().astype(str).values.tolist()
    spaced = tmp_path / "lines.txt"
    spaced.write_text("\n".join("    ".join(r) for r in rows) + "\n", encoding="utf-8")
    assert _figures(_load(spaced, delimiter="whitespace")) == EXPECTED
    titled = tmp_path / "titled.csv"
    titled.write_text("门店销售明细 2025年1-2月\n" + _lines().to_csv(index=False), encoding="utf-8")
    assert _figures(_load(titled, skip_rows=1)) == EXPECTED


def test_excel_workbooks_by_sheet(tmp_path):
    path = tmp_path / "lines.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"说明": ["封面"]}).to_excel(writer, sheet_name="封面", index=False)
        _lines().to_excel(writer, sheet_name="明细", index=False)
    assert _figures(_load(path, sheet="明细")) == EXPECTED
    with pytest.raises(DataError, match=r"has no sheet '明 细'.*its sheets: \['封面', '明细'\]"):
        _load(path, sheet="明 细")


def test_content_is_checked_against_the_claimed_format(tmp_path):
    fake = tmp_path / "lines.parquet"
    _lines().to_csv(fake, index=False)
    with pytest.raises(DataError, match=r"lines.parquet holds text.*set tables.transactions.format: csv"):
        _load(fake)
    assert _figures(_load(fake, format="csv")) == EXPECTED
    workbook = tmp_path / "lines.csv"
    _lines().to_excel(workbook, index=False)
    with pytest.raises(DataError, match=r"holds an Excel workbook.*format: excel"):
        _load(workbook)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty.csv is empty \(0 bytes\)"):
        _load(empty)


def test_decimal_comma_thousands_and_currency_signs(tmp_path):
    frame = _lines().astype({"金额": object})
    frame["金额"] = ["10,50", "20", "1.015,00", "30", "12", "8"]
    path = tmp_path / "eu.csv"
    frame.to_csv(path, index=False, sep=";")
    assert _figures(_load(path, decimal=",", thousands="."))["sales"] == 1095.5
    frame["金额"] = ["¥10.50", "￥20", "¥1,015.00", "30元", "12", "8"]
    cny = tmp_path / "cny.csv"
    frame.to_csv(cny, index=False)
    assert _figures(_load(cny, thousands=","))["sales"] == 1095.5
    with pytest.raises(DataError, match=r"cannot be read as number.*decimal: ','"):
        _load(path)  # a decimal comma not declared is refused, not misread


# ------------------------------------------------------------------ values that look like data but are not


def test_null_like_ids_are_anonymous_not_a_customer(tmp_path):
    frame = _lines()
    frame.loc[[1, 2, 4], "会员号"] = ["NULL", "N/A", "-"]
    path = tmp_path / "ids.csv"
    frame.to_csv(path, index=False)
    store = _load(path)
    ids = set(store.con.to_pandas(store.transactions.select("customer_id"))["customer_id"])
    assert ids == {"001", "004"}
    report = store.cleaning_report.set_index("rule")
    assert report.loc["no customer id (kept in store totals only)", "rows_found"] == 3
    assert _figures(store)["sales"] == 95.5  # anonymous lines stay in store totals


@pytest.mark.parametrize("bad", ["NaN", "inf", "", "-inf"])
def test_non_finite_or_blank_amounts_are_a_named_rule_never_zero(tmp_path, bad):
    frame = _lines().astype({"金额": object})
    frame.loc[2, "金额"] = bad
    path = tmp_path / "amounts.csv"
    frame.to_csv(path, index=False)
    store = _load(path)
    assert _figures(store) == {"lines": 5, "customers": 3, "sales": 80.5}
    row = store.cleaning_report.set_index("rule").filter(like="missing or unreadable", axis=0).iloc[0]
    assert row["rows_found"] == 1 and row["rows_removed"] == 1
    with pytest.raises(DataError, match=r"1 line\(s\) missing or unreadable values.*cleaning.missing_values"):
        load_store({"tables": {"transactions": {"path": str(path), "columns": dict(COLUMNS)}},
                    "cleaning": {"missing_values": "error"}, "cache": False})


def test_a_blank_timestamp_is_counted_not_lost_silently(tmp_path):
    frame = _lines()
    frame.loc[3, "日期"] = ""
    path = tmp_path / "ts.csv"
    frame.to_csv(path, index=False)
    store = _load(path)
    assert _figures(store)["lines"] == 5
    assert store.cleaning_report.set_index("rule").filter(like="missing or unreadable", axis=0)["rows_found"].iloc[0] == 1


def test_a_totals_row_is_not_a_customer_and_does_not_double_sales(tmp_path):
    frame = _lines()
    total = {"会员号": "合计", "单号": "合计", "日期": "2025-02-28", "商品": "合计", "数量": int(frame["数量"].sum()),
             "金额": float(frame["金额"].sum())}
    path = tmp_path / "totals.csv"
    pd.concat([frame, pd.DataFrame([total])]).to_csv(path, index=False)
    store = _load(path)
    assert _figures(store) == EXPECTED
    assert store.cleaning_report.set_index("rule").filter(like="summary rows", axis=0)["rows_found"].iloc[0] == 1


def test_a_barcode_in_the_amount_column_is_implausible_not_money(tmp_path):
    frame = _lines().astype({"金额": object})
    frame.loc[2, "金额"] = "6901234567890"
    path = tmp_path / "barcode.csv"
    frame.to_csv(path, index=False)
    store = _load(path)
    assert _figures(store)["sales"] == 80.5
    row = store.cleaning_report.set_index("rule").filter(like="implausible", axis=0).iloc[0]
    assert row["rows_found"] == 1 and row["sales_removed"] == pytest.approx(6901234567890)
    kept = load_store({"tables": {"transactions": {"path": str(path), "columns": dict(COLUMNS)}},
                       "cleaning": {"implausible_lines": "keep"}, "cache": False})
    assert _figures(kept)["sales"] > 1e12  # kept on request, reported all the same


# ------------------------------------------------------------------ dates


def test_yyyymmdd_as_number_or_text_with_or_without_a_format(tmp_path):
    frame = _lines()
    frame["日期"] = pd.to_datetime(frame["日期"]).dt.strftime("%Y%m%d").astype(int)
    for i, (fmt, kind) in enumerate([(None, "csv"), ("%Y%m%d", "csv"), (None, "parquet")]):
        path = tmp_path / f"d{i}.{kind}"
        frame.to_csv(path, index=False) if kind == "csv" else frame.to_parquet(path)
        store = _load(path, **({"ts_format": fmt} if fmt else {}))
        ts = store.con.to_pandas(store.all_lines)["ts"]
        assert ts.min() == pd.Timestamp("2025-01-05") and ts.max() == pd.Timestamp("2025-02-07")
        assert ts.dt.tz is None  # naive, like every other timestamp of the store


def test_mixed_utc_offsets_are_converted_to_the_stated_zone(tmp_path):
    frame = _lines()
    # the same instants written in Shanghai time and in UTC
    frame["日期"] = ["2025-01-05T10:00:00+08:00", "2025-01-06T03:00:00Z", "2025-01-07 12:00:00",
                   "2025-02-05T02:00:00Z", "2025-02-06T11:00:00+0800", "2025-02-07T01:00:00+00:00"]
    path = tmp_path / "tz.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"carry several UTC offsets.*tables.transactions.timezone: Asia/Shanghai"):
        _load(path)
    store = _load(path, timezone="Asia/Shanghai")
    ts = store.con.to_pandas(store.all_lines)["ts"]
    assert sorted(ts.dt.strftime("%m-%d %H:%M")) == ["01-05 10:00", "01-06 11:00", "01-07 12:00", "02-05 10:00",
                                                      "02-06 11:00", "02-07 09:00"]
    with pytest.raises(ParameterError, match="is no time zone"):
        _load(path, timezone="Asia/Shanghia")


def test_every_line_outside_the_window_is_one_clear_line(tmp_path):
    path = tmp_path / "lines.csv"
    _lines().to_csv(path, index=False)
    with pytest.raises(DataError, match=r"cleaning removed every line \(6 timestamps outside the analysis window\)"):
        load_store({"tables": {"transactions": {"path": str(path), "columns": dict(COLUMNS)}},
                    "window": {"start": "2030-01-01", "end": "2031-01-01"}, "cache": False})


# ------------------------------------------------------------------ tables that do not match each other


def _tables(tmp_path, *, member_ids, contact_ids=None, arms=None, catalogue=None):
    lines = tmp_path / "lines.csv"
    _lines().to_csv(lines, index=False)
    members = tmp_path / "members.csv"
    pd.DataFrame({"customer_id": member_ids, "occupation": ["student", "staff", "student", "staff"][:len(member_ids)]}
                 ).to_csv(members, index=False)
    tables = {"transactions": {"path": str(lines), "columns": dict(COLUMNS)}, "customers": {"path": str(members)}}
    if contact_ids is not None:
        contacts = tmp_path / "contacts.csv"
        pd.DataFrame({"customer_id": contact_ids, "campaign_id": "X", "round": 1, "arm": arms}).to_csv(contacts, index=False)
        tables["contacts"] = {"path": str(contacts)}
    if catalogue is not None:
        products = tmp_path / "products.csv"
        pd.DataFrame({"product_id": catalogue, "name": [f"item {p}" for p in catalogue]}).to_csv(products, index=False)
        tables["products"] = {"path": str(products)}
    return {"tables": tables, "cache": False}


def test_ids_that_lost_their_leading_zeros_stop_with_the_cause(tmp_path):
    spec = _tables(tmp_path, member_ids=["1", "2", "3", "4"])  # the member export dropped the zeros
    with pytest.raises(DataError, match=r"members with transactions: only 0 of 4 \(0%\) match; likely cause: leading zeros"):
        load_store(spec)


def test_profiles_say_over_whom_they_are_computed(tmp_path):
    from crm_kit import discovery
    from crm_kit.engine import monthly_customer_list

    store = load_store(_tables(tmp_path, member_ids=["001", "002"]))  # 003 and 004 bought but are no members
    coverage = store.coverage.set_index("join")
    assert coverage.loc["buyers with a member record", "matched"] == 2 and coverage.loc["buyers with a member record", "of"] == 4
    groups = monthly_customer_list(store.transactions, month="2025-01", groups=2).assign(group=1)  # 001, 002, 003
    summary = discovery.member_profile(store.customers, groups)["summary"].iloc[0]
    assert summary["customers"] == 3 and summary["members"] == 2
    assert summary["with_member_record"] == pytest.approx(2 / 3)
    assert summary["student_share"] == 0.5  # over the two members, not diluted by the buyer without a form


def test_products_missing_from_the_catalogue_stay_in_the_bestseller_list(tmp_path):
    from crm_kit import discovery

    store = load_store(_tables(tmp_path, member_ids=["001", "002", "003", "004"], catalogue=["p1", "p2", "p9"]))
    classes = discovery.product_classes(store, period="2025-02")
    assert {"p1", "p2", "p3"} <= set(classes["product_id"])  # p3 sold without a catalogue entry
    assert store.coverage.set_index("join").loc["sold products with a catalogue entry", "matched"] == 2


@pytest.mark.parametrize("treated, control", [("Treatment", "Control"), ("test", "holdout"), ("实验组", "对照组"),
                                              ("1", "0")])
def test_arm_labels_are_understood_in_any_case_and_common_synonyms(tmp_path, treated, control):
    spec = _tables(tmp_path, member_ids=["001", "002", "003", "004"], contact_ids=["001", "002", "003", "004"],
                   arms=[treated, control, treated, control])
    assert load_store(spec).contacts["arm"].tolist() == ["treatment", "control", "treatment", "control"]


def test_an_unknown_arm_label_lists_the_labels_found(tmp_path):
    spec = _tables(tmp_path, member_ids=["001", "002", "003", "004"], contact_ids=["001", "002", "003", "004"],
                   arms=["treatment", "control", "group B", "treatment"])
    with pytest.raises(DataError, match=r"contacts.arm holds label\(s\) \['group B'\].*labels found"):
        load_store(spec)


def test_contacts_for_unknown_customers_are_reported_and_left_out(tmp_path):
    from crm_kit import results

    spec = _tables(tmp_path, member_ids=["001", "002", "003", "004"],
                   contact_ids=["001", "002", "003", "004", "999", "998"],
                   arms=["treatment", "control", "treatment", "control", "treatment", "treatment"])
    store = load_store(spec)
    setup = results.round_setup(None, round_no=1, campaign_id="X", base="2025-01", campaign="2025-02",
                                goals={"sales_goal": 0.3}, cost=0.0, gross_margin=0.2)
    arms, note = results.round_arms(store, setup)
    assert set(arms["customer_id"]) == {"001", "002", "003", "004"} and "2 contacted id(s) match no customer" in note
    kept, _ = results.round_arms(store, setup, keep_unknown=True)
    assert len(kept) == 6
    # a buyer who is no member is a customer; a member who never bought is one too (the engine is asked about
    # the contacted ids only)
    spec = _tables(tmp_path, member_ids=["001", "002", "777"],
                   contact_ids=["001", "003", "004", "777", "999"], arms=["treatment", "control"] * 2 + ["treatment"])
    arms, note = results.round_arms(load_store({**spec, "cleaning": {"min_coverage": 0.0}}), setup)
    assert set(arms["customer_id"]) == {"001", "003", "004", "777"} and "1 contacted id(s) match no customer" in note


def test_the_api_path_leaves_unknown_contacts_out_as_the_runner_does(tmp_path):
    """results.arms_from_contacts, called as notebook 04's reference documents it, applies the same rule as round_arms."""
    from crm_kit import results

    spec = _tables(tmp_path, member_ids=["001", "002", "003", "004"],
                   contact_ids=["001", "002", "003", "004", "999", "998"],
                   arms=["treatment", "control", "treatment", "control", "treatment", "treatment"])
    store = load_store(spec)
    arms = results.arms_from_contacts(store, "X")
    assert set(arms["customer_id"]) == {"001", "002", "003", "004"}
    assert arms.attrs["unknown"] == 2 and "2 contacted id(s) match no customer" in arms.attrs["note"]
    assert len(results.arms_from_contacts(store.contacts, "X", store=store, keep_unknown=True)) == 6
    # a bare table cannot tell the unknown ids: refused, or every id counted when the caller says so
    with pytest.raises(ParameterError, match="bare contacts table.*keep_unknown=True"):
        results.arms_from_contacts(store.contacts, "X")
    bare = results.arms_from_contacts(store.contacts, "X", keep_unknown=True)
    assert len(bare) == 6 and bare.attrs["unknown"] is None and "not checked" in bare.attrs["note"]


@pytest.mark.parametrize("goal", [-0.3, 0.0, 25.0])
def test_goals_outside_their_sensible_range_are_errors(goal):
    from crm_kit import campaign

    metrics = pd.DataFrame({"visits_base": [1, 2], "sales_base": [10.0, 20.0], "ticket_base": [10.0, 10.0]})
    with pytest.raises(ParameterError, match=r"sales_goal=.*a goal is the growth to reach, above 0 and at most 10"):
        campaign.goal_targets(metrics, freq_goal=None, ticket_goal=None, sales_goal=goal)


# ------------------------------------------------------------------ safe by construction


@pytest.mark.parametrize("key, value", [("memory_limit", "1GB'; COPY (SELECT 1) TO '/tmp/crm_kit_pwned.csv'; --"),
                                        ("threads", "1; DROP TABLE x"), ("temp_directory", "/tmp/x'; SELECT 1; --")])
def test_a_data_spec_cannot_run_sql(tmp_path, key, value):
    path = tmp_path / "lines.csv"
    _lines().to_csv(path, index=False)
    with pytest.raises(ParameterError, match=f"engine.{key}"):
        load_store({"tables": {"transactions": {"path": str(path), "columns": dict(COLUMNS)}},
                    "engine": {"backend": "duckdb", key: value}, "cache": False})
    assert not Path("/tmp/crm_kit_pwned.csv").exists()


def test_exports_neutralise_spreadsheet_formulas(tmp_path):
    from crm_kit.artifacts import DiscoverySummary

    groups = pd.DataFrame({"customer_id": ["=HYPERLINK(\"http://x\")", "+1", "@SUM(A1)", "-2", "ok"],
                           "group": [1, 1, 2, 2, 3], "sales": [-5.0, 1.0, 2.0, 3.0, 4.0]})
    DiscoverySummary(month="2025-01", groups=3, customers=5, total_sales=5.0, pareto_share_of_customers=0.5,
                     decile_table=[], customer_groups=groups).write(tmp_path)
    csv = pd.read_csv(tmp_path / "customer_groups.csv", dtype=str)
    assert csv["customer_id"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+1", "'@SUM(A1)", "'-2", "ok"]
    assert csv["sales"].tolist()[0] == "-5.0"  # numbers stay numbers
    assert pd.read_parquet(tmp_path / "customer_groups.parquet")["customer_id"].iloc[0].startswith("=")  # data intact


def _cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "crm_kit", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def test_run_names_are_one_folder_and_output_dir_is_not_a_parameter(tmp_path):
    run = tmp_path / "run.yaml"
    run.write_text("run_name: ok\nsteps:\n  - {name: s, notebook: 05_cycle_summary}\n")
    for name in ("../escape", "/etc/x", "a/b", ".."):
        proc = _cli("run", str(run), "--run-name", name, "--output", str(tmp_path / "reports"))
        assert proc.returncode == 2 and "must be one folder name" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "escape").exists()
    proc = _cli("run", str(run), "-p", f"output_dir={tmp_path}/elsewhere", "--output", str(tmp_path / "reports"))
    assert proc.returncode == 2 and "use --output" in proc.stderr.replace("with --output", "use --output")


def test_an_unusable_output_folder_is_one_line(tmp_path):
    run = tmp_path / "run.yaml"
    run.write_text("run_name: ok\nsteps:\n  - {name: s, notebook: 05_cycle_summary}\n")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    proc = _cli("run", str(run), "--output", str(blocker))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "not a folder" in proc.stderr or "in the way" in proc.stderr


def test_malformed_yaml_names_line_and_column(tmp_path):
    run = tmp_path / "run.yaml"
    run.write_text("run_name: x\nsteps:\n  - {name: s, notebook: 01_knowledge_discovery\n  - other\n")
    proc = _cli("run", str(run))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "not valid YAML at line" in proc.stderr and "column" in proc.stderr


def test_an_inline_data_spec_in_a_run_file_is_accepted(tmp_path):
    from crm_kit.run import load_run_plan

    path = tmp_path / "lines.csv"
    _lines().to_csv(path, index=False)
    run = tmp_path / "run.yaml"
    run.write_text(json.dumps({"run_name": "inline", "common": {"data": {"tables": {"transactions": {
        "path": str(path), "columns": COLUMNS}}}},
        "steps": [{"name": "discovery", "notebook": "01_knowledge_discovery", "params": {"month": "2025-02"}}]},
        ensure_ascii=False))
    plan = load_run_plan(run)
    assert plan.steps[0].params["data"]["tables"]["transactions"]["path"] == str(path)


def test_relative_paths_resolve_against_the_directory_the_user_is_in(tmp_path, monkeypatch):
    from crm_kit.config import resolve_path

    (tmp_path / "mine.csv").write_text("x")
    monkeypatch.setenv("CRM_KIT_CWD", str(tmp_path))
    assert resolve_path("mine.csv", must_exist=True) == (tmp_path / "mine.csv").resolve()


def test_concurrent_runs_of_one_name_get_their_own_folders(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from crm_kit.config import run_folder

    with ThreadPoolExecutor(8) as pool:
        folders = list(pool.map(lambda _: run_folder(run_name="same", root=tmp_path), range(16)))
    assert len(set(folders)) == 16 and all(f.is_dir() for f in folders)


@pytest.mark.notebook
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_a_signal_marks_the_run_failed_and_leaves_latest_on_the_last_good_run(tmp_path, demo_dir, signame):
    """SIGTERM (a scheduler's stop) and SIGHUP (the terminal closed) alike."""
    import signal
    import time

    good = tmp_path / "good.yaml"
    good.write_text("run_name: sig\nsteps:\n  - {name: summary, notebook: 05_cycle_summary}\n")
    assert _cli("run", str(good), "--output", str(tmp_path / "r"), "--quiet").returncode == 0
    latest = (tmp_path / "r" / "sig" / "latest").resolve()
    slow = tmp_path / "slow.yaml"
    slow.write_text("run_name: sig\ncommon: {data: demo}\nsteps:\n  - {name: segmentation, notebook: 02_segmentation}\n")
    proc = subprocess.Popen([sys.executable, "-m", "crm_kit", "run", str(slow), "--output", str(tmp_path / "r"), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(8)
    proc.send_signal(getattr(signal, signame))
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and f"interrupted by {signame}" in err
    runs = sorted(p for p in (tmp_path / "r" / "sig").iterdir() if not p.is_symlink())
    failed = runs[-1]
    assert (failed / "FAILED").read_text().startswith(f"interrupted by {signame} while running 02_segmentation")
    assert json.loads((failed / "metrics.json").read_text())["run"]["status"] == "interrupted"
    assert (tmp_path / "r" / "sig" / "latest").resolve() == latest  # still the last good run


def test_a_signal_while_the_report_is_built_marks_the_run(tmp_path, monkeypatch):
    """The steps have finished; a signal arrives while the report is written: FAILED names it, latest stays."""
    from crm_kit.run import RunFailed, load_run_plan, run_cycle, runner

    def interrupted(*_args, **_kwargs):
        raise runner._Interrupted("SIGHUP")

    monkeypatch.setattr(runner, "build_html_report", interrupted)
    plan = tmp_path / "summary.yaml"
    plan.write_text("run_name: rep\nsteps:\n  - {name: summary, notebook: 05_cycle_summary}\n")
    with pytest.raises(RunFailed, match="interrupted by SIGHUP while the report was built; 1 of 1 step"):
        run_cycle(load_run_plan(plan), output_root=tmp_path / "r", progress=False)
    folder = next(p for p in (tmp_path / "r" / "rep").iterdir() if not p.is_symlink())
    assert (folder / "FAILED").exists()
    assert json.loads((folder / "metrics.json").read_text())["run"]["status"] == "interrupted"
    assert not (tmp_path / "r" / "rep" / "latest").exists()


# ------------------------------------------------------------------ the cleaning rules, for any table

_ids = st.sampled_from(["a", "b", "c", "NULL", "", "合计"])
_amounts = st.one_of(st.floats(min_value=-50, max_value=500, allow_nan=False).map(lambda v: round(v, 2)),
                     st.sampled_from([float("nan"), 0.0]))
_quantities = st.sampled_from([-1.0, 0.0, 1.0, 2.0])
_days = st.integers(min_value=0, max_value=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_ids, _amounts, _quantities, _days, st.booleans()), min_size=1, max_size=25))
def test_cleaning_keeps_plus_removes_equal_the_input_and_counts_are_independent(tmp_path, rows):
    """For random small tables with bad values injected: kept + removed = input, and each rule's count equals a
    count made here with pandas in the same order (first rule that catches a line counts it)."""
    frame = pd.DataFrame([{"customer_id": c, "order_id": f"o{i}", "ts": pd.Timestamp("2025-01-01") + pd.Timedelta(days=d),
                           "product_id": "p", "quantity": q, "amount": a, "dup": dup}
                          for i, (c, a, q, d, dup) in enumerate(rows)])
    frame = pd.concat([frame, frame[frame["dup"]]], ignore_index=True).drop(columns="dup")  # exact repeats
    path = tmp_path / f"h{abs(hash(tuple(map(tuple, frame.astype(str).values.tolist()))))}.parquet"
    frame.to_parquet(path, index=False)
    spec = {"tables": {"transactions": {"path": str(path)}}, "window": {"start": "2025-01-01", "end": "2025-02-01"},
            "cleaning": {"implausible_lines": "keep"}, "cache": False}
    try:
        store = load_store(spec)
    except DataError as exc:
        assert "cleaning removed every line" in str(exc)
        return
    report = store.cleaning_report.set_index("rule")["rows_removed"]
    kept = store.con.to_pandas(store.all_lines)
    dropped = int(report.drop(index="no customer id (kept in store totals only)").sum())
    assert len(kept) + dropped == len(frame)
    # an independent count, rule by rule in the kit's order
    left = frame.drop_duplicates()
    expected = {"exact duplicate lines": len(frame) - len(left)}
    missing = left["amount"].isna()
    summary = left["customer_id"].str.strip().str.lower().isin(["合计"])
    later = ~missing & ~summary
    outside = later & (left["ts"] >= pd.Timestamp("2025-02-01"))
    later &= ~outside
    # a return is a negative quantity or a negative amount; a free line (positive quantity, zero amount) is kept
    returns = later & ((left["quantity"] < 0) | (left["amount"] < 0))
    later &= ~returns
    free = later & (left["quantity"] > 0) & (left["amount"] == 0)
    zero = later & (left["quantity"] == 0)
    got = {rule: int(n) for rule, n in report.items()}
    assert got["exact duplicate lines"] == expected["exact duplicate lines"]
    assert got[next(r for r in got if r.startswith("missing or unreadable"))] == int(missing.sum())
    assert got[next(r for r in got if r.startswith("summary rows"))] == int((summary & ~missing).sum())
    assert got["timestamps outside the analysis window"] == int(outside.sum())
    assert got["returns / cancellations (negative quantity or amount, or cancelled order)"] == int(returns.sum())
    assert got["zero price (free lines: purchases with no revenue)"] == 0
    found = store.cleaning_report.set_index("rule")["rows_found"]
    assert found["zero price (free lines: purchases with no revenue)"] == int(free.sum())
    assert got["zero quantity"] == int(zero.sum())
    anonymous = left[later & ~zero]["customer_id"].str.strip().str.lower().isin(["null", ""])
    assert got["no customer id (kept in store totals only)"] == int(anonymous.sum())
    np.testing.assert_allclose(kept["amount"].sum(), left[later & ~zero]["amount"].sum(), atol=1e-6)


def test_headers_with_stray_spaces_and_unambiguous_local_date_layouts(tmp_path):
    frame = _lines().rename(columns={"金额": " 金额 "})
    frame["日期"] = ["2025/01/05 10:00", "2025/1/6", "2025年1月7日", "2025.02.05", "2025年2月6日 11:00", "2025/02/07"]
    path = tmp_path / "local.csv"
    frame.to_csv(path, index=False)
    store = _load(path)
    ts = store.con.to_pandas(store.all_lines)["ts"].sort_values()
    assert ts.dt.strftime("%m-%d").tolist() == ["01-05", "01-06", "01-07", "02-05", "02-06", "02-07"]
    assert _figures(store) == EXPECTED
    frame["日期"] = ["05/01/2025"] * 6  # day first or month first? not guessed
    ambiguous = tmp_path / "ambiguous.csv"
    frame.to_csv(ambiguous, index=False)
    with pytest.raises(DataError, match=r"cannot be read as timestamp.*ts_format"):
        _load(ambiguous)


def test_a_contact_list_is_matched_back_in_the_engine(tmp_path):
    """arms_source: contact_list — only the listed buyers come back from the engine, matched as pseudonymise does."""
    from crm_kit import campaign
    from crm_kit.results._rounds import _contact_list_arms
    from crm_kit.errors import DataError

    store = load_store(_tables(tmp_path, member_ids=["001", "002", "003", "004"]))
    arms = pd.DataFrame({"customer_id": ["003", "001"], "arm": ["treatment", "control"]})
    listed = campaign.contact_list(arms, pd.Series(["SMS"], index=["003"]), salt="pepper")
    matched = _contact_list_arms(store, listed, salt="pepper")
    assert matched.to_dict(orient="list") == {"customer_id": ["003", "001"], "arm": ["treatment", "control"]}
    with pytest.raises(DataError, match="1 contact-list key"):  # a key no buyer of this store has
        _contact_list_arms(store, campaign.contact_list(
            pd.DataFrame({"customer_id": ["003", "999"], "arm": ["treatment", "control"]}),
            pd.Series(["SMS"], index=["003"]), salt="pepper"), salt="pepper")
    with pytest.raises(DataError, match="2 contact-list key"):  # another salt: nothing matches
        _contact_list_arms(store, listed, salt="salt")


def test_compressed_exports_are_read_or_refused_with_the_fix(tmp_path):
    """A zip with one file is read (unpacked into the cache, the archive untouched); a zip of several names them;
    a zstd CSV is read by the engine."""
    import hashlib
    import shutil
    import zipfile

    lines = pd.DataFrame({"customer_id": ["a", "b", "a"], "order_id": ["1", "2", "3"],
                          "ts": ["2025-01-01", "2025-01-02", "2025-01-05"], "product_id": ["p", "q", "p"],
                          "quantity": [1, 2, 1], "amount": [1.0, 2.0, 3.5]})
    lines.to_csv(tmp_path / "export.csv", index=False)
    one = tmp_path / "one.zip"
    with zipfile.ZipFile(one, "w") as z:
        z.write(tmp_path / "export.csv", "export.csv")
    before = hashlib.sha256(one.read_bytes()).hexdigest()
    store = load_store({"tables": {"transactions": {"path": str(one)}}, "cache": False})
    assert store.con.execute(store.transactions.amount.sum()) == pytest.approx(6.5)
    assert hashlib.sha256(one.read_bytes()).hexdigest() == before
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as z:
        z.write(tmp_path / "export.csv", "jan.csv")
        z.write(tmp_path / "export.csv", "feb.csv")
    with pytest.raises(DataError, match=r"two.zip is a zip of 2 files \(jan.csv, feb.csv\); unzip it"):
        load_store({"tables": {"transactions": {"path": str(two)}}, "cache": False})
    if shutil.which("zstd"):
        subprocess.run(["zstd", "-q", "-f", str(tmp_path / "export.csv"), "-o", str(tmp_path / "export.csv.zst")],
                       check=True)
        store = load_store({"tables": {"transactions": {"path": str(tmp_path / "export.csv.zst")}}, "cache": False})
        assert store.con.execute(store.transactions.amount.sum()) == pytest.approx(6.5)


def test_a_csv_whose_first_quoted_field_comes_late_is_read_whole(tmp_path):
    """Standard CSV quoting is said to the engine, not sniffed from its sample: a quoted field with a comma, a
    doubled quote and a line break 25,000 lines in is read; a stray quote in an unquoted field is kept as it is."""
    n = 26_000
    lines = pd.DataFrame({"customer_id": [f"C{i % 300}" for i in range(n)], "order_id": [str(i) for i in range(n)],
                          "ts": "2025-01-02", "product_id": "p", "description": "plain", "quantity": 1, "amount": 1.5})
    lines.loc[25_000, "product_id"] = 'a "quoted", item'
    lines.loc[25_001, "product_id"] = "line\nbreak"
    lines.loc[25_002, "product_id"] = '12" pizza'
    path = tmp_path / "late.csv"
    lines.to_csv(path, index=False)
    store = load_store({"tables": {"transactions": {"path": str(path)}}, "cache": False})
    got = store.con.to_pandas(store.all_lines.filter(store.all_lines.order_id.isin(["25000", "25001", "25002"])))
    assert store.con.execute(store.all_lines.count()) == n
    assert sorted(got["product_id"]) == sorted(['a "quoted", item', "line\nbreak", '12" pizza'])
    with pytest.raises(ParameterError, match="quote = 'ab': give one character"):
        load_store({"tables": {"transactions": {"path": str(path), "quote": "ab"}}, "cache": False})
