"""What init and a run write is whole, valid and only what it says; the kit's plausibility rules and API guards.

The draft's YAML is read back for headers built to break it (a line break, NUL and control characters, a header
that tries to add a ``path:`` key); writes are tried on a full disk and by two inits at once; a run is signalled
while its report is built; sign-up dates no member can have, unknown contact ids, a cohort with no repeat buyer
and a DuckDB file's misspelt table each end in the kit's one line or the right figures.
"""

from __future__ import annotations

import errno
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from crm_kit import DataError, ParameterError, load_store
from crm_kit.cli import main
from crm_kit.draft import Draft, TableDraft, data_yaml, draft, run_yaml, write_draft

#: header cells built to break a YAML file written by string formatting
NASTY = [
    "Customer\nID",                              # a line break inside a quoted header cell
    "amount\r\n    path: /etc/passwd",           # a CRLF and an indented key: would add a path
    "ts\x00",                                    # NUL from a misdecoded UTF-16 header
    "qty\x1b[31m\x07",                           # terminal escapes and a bell
    "sku\u2028cleaning: {returns: error}",       # a Unicode line separator YAML treats as a break
    "store\x85x: 1",                             # NEL, a YAML 1.1 line break
    '"quoted" # not a comment',
    "- [a, b]: {c: d}",
    "\ud800lone surrogate",                       # a byte decoded with surrogateescape
    "--- !!python/object:os.system",
    "\ufeffbom",
]


def _lines(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in rng.integers(0, 30, n)],
        "order_id": [f"o{i // 2}" for i in range(n)],
        "ts": pd.date_range("2025-01-01", periods=n, freq="11h").strftime("%Y-%m-%d %H:%M:%S"),
        "product_id": [f"p{i % 7}" for i in range(n)],
        "quantity": 1,
        "amount": np.round(rng.uniform(1, 60, n), 2),
    })


def _nasty_draft(header: str, path: str) -> Draft:
    """A draft whose every piece of file text (path, headers, evidence, notes) is ``header``."""
    table = TableDraft(role="transactions", path=path, samples=[], columns={"customer_id": header, "ts": header + "2",
                                                                         "order_id": None},
                       evidence={"customer_id": f"{header} — by its header"}, options={"delimiter": header},
                       reading=[f"title line {header!r}", header], notes=[f"note on {header}"],
                       undecided=[f"undecided {header}"], cleaning={"cancellation_prefix": header},
                       personal=[header])
    outcomes = TableDraft(role="outcomes", path=path, samples=[], columns={}, evidence={}, options={},
                          outcome={"arm_col": header, "control": header, "binary": [header], "continuous": [],
                                   "pre_period": [], "attributes": [header]})
    return Draft([table, outcomes], "2025-03", [f"UNDECIDED {header}"])


@pytest.mark.parametrize("header", NASTY, ids=range(len(NASTY)))
def test_the_draft_reads_back_as_drafted_whatever_the_file_text(header, tmp_path):
    path = str(tmp_path / f"x{header[:3]!r}.csv")
    d = _nasty_draft(header, path)
    spec = yaml.safe_load(data_yaml(d))
    assert set(spec) == {"tables", "cleaning"} and set(spec["tables"]) == {"transactions"}
    t = spec["tables"]["transactions"]
    assert set(t) == {"path", "delimiter", "columns"}  # nothing more than the draft says
    assert t["path"] == str(Path(path).resolve()) and t["delimiter"] == header
    assert t["columns"] == {"customer_id": header, "ts": header + "2", "order_id": None}
    assert spec["cleaning"] == {"cancellation_prefix": header}
    run = yaml.safe_load(run_yaml(d, tmp_path / "data.yaml", "mine"))
    assert set(run) == {"run_name", "common", "steps"} and run["common"]["data"] == str(tmp_path / "data.yaml")
    outcome = run["steps"][-1]["params"]
    assert outcome["outcome_arm_col"] == header and outcome["outcome_binary"] == [header]
    assert set(outcome) == {"outcome_table", "outcome_arm_col", "outcome_control", "outcome_binary",
                            "outcome_continuous", "outcome_pre_period"}
    # and written: UTF-8 text a YAML reader and a user's editor both take
    data_path, run_path = write_draft(d, tmp_path / "out")
    assert yaml.safe_load(data_path.read_text(encoding="utf-8")) == spec
    assert yaml.safe_load(run_path.read_text(encoding="utf-8"))["steps"][-1]["params"] == outcome


def test_a_crafted_workbook_header_cannot_add_a_key_to_the_drafted_spec(tmp_path):
    """End to end: init on a workbook whose headers hold line breaks and a `path:` key; the draft maps them exactly."""
    lines = _lines()
    crafted = {"customer_id": "Member\nno.", "quantity": "qty # x\n    path: /etc/passwd",
               "amount": "amount\u2028cleaning: {returns: error}"}
    workbook = tmp_path / "export.xlsx"
    lines.rename(columns=crafted).to_excel(workbook, index=False)
    before = workbook.read_bytes()
    assert main(["init", str(workbook), "--output", str(tmp_path / "init")]) in (0, 1)
    assert workbook.read_bytes() == before
    spec = yaml.safe_load((tmp_path / "init" / "data.yaml").read_text(encoding="utf-8"))
    assert set(spec) <= {"tables", "cleaning"} and set(spec["tables"]) == {"transactions"}
    t = spec["tables"]["transactions"]
    assert t["path"] == str(workbook.resolve()) and set(t) <= {"path", "columns", "sheet", "skip_rows"}
    mapped = {k: t["columns"][k] for k in crafted if k in t["columns"]}
    assert mapped and mapped == {k: crafted[k] for k in mapped}  # every crafted header read back exactly as written
    assert spec.get("cleaning", {}).get("returns") != "error"


def _small_draft(tmp_path: Path) -> Draft:
    path = tmp_path / "lines.csv"
    _lines().to_csv(path, index=False)
    return draft([path])


def test_a_full_disk_names_the_file_and_leaves_nothing_that_blocks_the_rerun(tmp_path, monkeypatch):
    from crm_kit import files

    d = _small_draft(tmp_path)
    real_fsync, calls = files.os.fsync, []

    def full(fd):
        calls.append(fd)
        if len(calls) == failing_call:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", full)
    for failing_call, victim in ((1, "data.yaml"), (2, "run.yaml")):  # the first file, then the second
        calls.clear()
        out = tmp_path / f"out{failing_call}"
        with pytest.raises(DataError) as err:
            write_draft(d, out)
        line = str(err.value)
        assert "\n" not in line and f"cannot write {out / victim}: No space left on device" in line
        assert "free some space" in line and "nothing was left half written" in line
        assert sorted(p.name for p in out.iterdir()) == []  # no draft, no staging folder
    monkeypatch.setattr(files.os, "fsync", real_fsync)
    data_path, run_path = write_draft(d, tmp_path / "out1")  # the rerun is not blocked
    assert yaml.safe_load(data_path.read_text())["tables"]["transactions"]["path"] == str(tmp_path / "lines.csv")


def test_two_inits_into_one_folder_never_both_succeed(tmp_path):
    d = _small_draft(tmp_path)
    for round_no in range(25):
        out = tmp_path / f"both{round_no}"
        gate, results = threading.Barrier(2), []

        def init():
            gate.wait()
            try:
                write_draft(d, out)
                results.append("ok")
            except DataError as exc:
                results.append(str(exc))

        threads = [threading.Thread(target=init) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results)[-1] == "ok" and sorted(results)[0] != "ok", results
        loser = sorted(results)[0]
        assert "never overwrites" in loser and "\n" not in loser
        assert sorted(p.name for p in out.iterdir()) == ["data.yaml", "run.yaml"]
        assert yaml.safe_load((out / "data.yaml").read_text())["tables"]["transactions"]


def test_a_name_taken_between_staging_and_publishing_is_not_overwritten(tmp_path):
    from crm_kit.files import _publish

    staged, taken = tmp_path / "staged.yaml", tmp_path / "data.yaml"
    staged.write_text("mine: 1\n")
    taken.write_text("theirs: 1\n")
    with pytest.raises(DataError, match="written by another process at the same moment"):
        _publish(staged, taken)
    assert taken.read_text() == "theirs: 1\n"


def test_output_naming_a_file_and_a_relative_output_for_init(tmp_path, monkeypatch, capsys):
    path = tmp_path / "lines.csv"
    _lines().to_csv(path, index=False)
    (tmp_path / "notes.txt").write_text("a file")
    monkeypatch.chdir(tmp_path)
    assert main(["init", str(path), "--output", "notes.txt"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--output notes.txt is a file, not a folder" in err and "File exists" not in err
    assert main(["init", str(path), "--output", "notes.txt/draft"]) == 2
    assert "a part of that path is a file" in capsys.readouterr().err
    assert main(["init", str(path), "--output", "mine"]) == 0
    assert (tmp_path / "mine" / "data.yaml").is_file()  # the current folder's, not the kit's
    assert main(["init", str(path), "--output", "mine"]) == 2
    assert "exists: init never overwrites a file" in capsys.readouterr().err


def test_run_output_naming_a_file_is_one_line_before_anything_runs(tmp_path, monkeypatch, capsys):
    run = tmp_path / "summary.yaml"
    run.write_text("run_name: s\nsteps:\n  - {name: summary, notebook: 05_cycle_summary}\n")
    (tmp_path / "notes.txt").write_text("a file")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(run), "--output", "notes.txt", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("crm-kit: error: --output notes.txt is a file, not a folder: run folders are made below a "
                   "folder; name a new or existing folder (e.g. --output reports)")


@pytest.mark.parametrize("moment", ["report", "render", "outcome"])
def test_ctrl_c_while_the_report_is_built_marks_the_run_interrupted(moment, tmp_path, monkeypatch, capsys):
    """A relative --output is the current folder's. SIGINT while the report is built (the page, or the wait for the
    executed notebooks' rendering) ends as an interrupted run, marked; while the outcome is written it is held, so
    metrics.json and the marker are whole. Never an unexpected error."""
    import concurrent.futures
    import json
    import os

    from crm_kit.run import runner

    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as in a terminal, whatever ran before here

    def ctrl_c():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)

    if moment == "report":
        def interrupted_report(*_args, **_kwargs):
            ctrl_c()
            raise AssertionError("the signal did not arrive")

        monkeypatch.setattr(runner, "build_html_report", interrupted_report)
    elif moment == "render":
        class Pool(concurrent.futures.ThreadPoolExecutor):
            def shutdown(self, wait=True, **kwargs):
                if wait and self._max_workers == 1 and not fired:  # the render pool, waited for by the report
                    fired.append(True)
                    ctrl_c()
                super().shutdown(wait=wait, **kwargs)

        fired: list = []
        monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", Pool)
    else:
        real_metrics = runner.collect_metrics

        def interrupted_metrics(folder):
            os.kill(os.getpid(), signal.SIGINT)
            return real_metrics(folder)

        monkeypatch.setattr(runner, "collect_metrics", interrupted_metrics)
    run = tmp_path / "summary.yaml"
    run.write_text("run_name: s\nsteps:\n  - {name: summary, notebook: 05_cycle_summary}\n")
    monkeypatch.chdir(tmp_path)
    code = main(["run", str(run), "--output", "rel", "--quiet"])
    err = capsys.readouterr().err.strip()
    [folder] = [p for p in (tmp_path / "rel" / "s").iterdir() if p.name != "latest"]  # below the current folder
    status = json.loads((folder / "metrics.json").read_text())["run"]["status"]
    assert "unexpected" not in err and not list(folder.glob(".*.tmp"))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the run's handler is gone
    if moment == "outcome":  # the steps and the report were done: the outcome is written whole, as it was
        assert code == 0 and status == "ok" and (tmp_path / "rel" / "s" / "latest").resolve() == folder
        return
    assert code == 1 and status == "interrupted" and not (tmp_path / "rel" / "s" / "latest").exists()
    assert err == ("crm-kit: run failed: interrupted by SIGINT while the report was built; 1 of 1 step(s) had "
                   "finished")
    assert "interrupted by SIGINT while the report was built" in (folder / "FAILED").read_text()


# ------------------------------------------------------------------------------------------ plausibility


def _member_store(tmp_path: Path, signups: list[str], rule: str | None = None):
    lines = pd.DataFrame({"customer_id": ["m1", "m2", "m3", "m4"], "order_id": ["o1", "o2", "o3", "o4"],
                          "ts": ["2025-09-03 10:00:00", "2025-09-04 10:00:00", "2025-09-05 10:00:00",
                                 "2025-09-06 10:00:00"],
                          "product_id": "p1", "quantity": 1, "amount": [10.0, 20.0, 30.0, 40.0]})
    members = pd.DataFrame({"customer_id": ["m1", "m2", "m3", "m4"], "signup_date": signups})
    lines.to_csv(tmp_path / "lines.csv", index=False)
    members.to_csv(tmp_path / "members.csv", index=False)
    spec = {"tables": {"transactions": {"path": str(tmp_path / "lines.csv")},
                       "customers": {"path": str(tmp_path / "members.csv")}}, "cache": False}
    if rule:
        spec["cleaning"] = {"implausible_signups": rule}
    return load_store(spec)


def test_signup_dates_no_member_can_have_are_blanked_and_said(tmp_path, caplog):
    from crm_kit import discovery

    signups = ["2020-01-01", "2022-07-01", "1900-01-01", "2031-05-01"]
    with caplog.at_level("WARNING", logger="crm_kit.store"):
        store = _member_store(tmp_path, signups)
    said = [r.getMessage() for r in caplog.records if "sign-up" in r.getMessage()]
    assert len(said) == 1 and "\n" not in said[0]
    assert "2 member sign-up date(s) before 1950-01-01 or after today (1 early, 1 in the future; e.g. 1900-01-01, " \
           "2031-05-01) are blanked" in said[0]
    row = store.cleaning_report.set_index("rule").filter(like="sign-up", axis=0).iloc[0]
    assert (row["action"], row["rows_found"], row["rows_removed"]) == ("blank", 2, 0)
    assert store.customers["signup_date"].isna().tolist() == [False, False, True, True]
    groups = pd.DataFrame({"customer_id": ["m1", "m2", "m3", "m4"], "group": 1})
    years = discovery.member_profile(store.customers, groups, as_of="2025-10-01")["summary"]["membership_years"]
    # by hand: 2020-01-01 and 2022-07-01 are 2,100 and 1,188 days before 2025-10-01
    assert years.iloc[0] == pytest.approx((2100 + 1188) / 2 / 365.25)   # 4.50 years, not 51.8
    kept = _member_store(tmp_path, signups, rule="keep")
    assert kept.customers["signup_date"].notna().all()
    with pytest.raises(DataError, match=r"2 member sign-up date\(s\).*implausible_signups: blank"):
        _member_store(tmp_path, signups, rule="error")
    assert _member_store(tmp_path, ["2020-01-01"] * 4).cleaning_report["rule"].str.contains("sign-up").sum() == 1


# --------------------------------------------------------------------------- older batteries (cause 8)


def test_a_duckdb_files_table_name_is_checked_with_a_did_you_mean(tmp_path):
    import duckdb

    frame = _lines(50)
    database = tmp_path / "shop.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE TABLE sales_2025 AS SELECT * FROM frame")
    before = database.read_bytes()
    with pytest.raises(DataError) as err:
        load_store({"tables": {"transactions": {"path": str(database), "table": "sales2025"}}, "cache": False})
    assert str(err.value) == ("transactions: the DuckDB file shop.duckdb has no table 'sales2025'; did you mean "
                              "'sales_2025'? set tables.transactions.table to one of: sales_2025")
    with pytest.raises(DataError, match=r"no tables.transactions.table given, so the table named transactions"):
        load_store({"tables": {"transactions": {"path": str(database)}}, "cache": False})
    store = load_store({"tables": {"transactions": {"path": str(database), "table": "sales_2025"}}, "cache": False})
    assert len(store.con.to_pandas(store.all_lines)) == 50 and database.read_bytes() == before


def test_a_cohort_with_no_repeat_buyer_keeps_rfm_clusters_and_tiers_and_names_the_cause(tmp_path):
    """Six weeks of one-time buyers: the derived dates lie inside the data; CLV says why it is empty."""
    from crm_kit import clv, discovery, engine, periods, segmentation

    rng = np.random.default_rng(0)
    n = 300
    ts = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 45 * 24 * 60, n), unit="min")
    pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "order_id": [f"o{i}" for i in range(n)],
                  "ts": ts.strftime("%Y-%m-%d %H:%M:%S"), "product_id": [f"p{i % 20}" for i in range(n)],
                  "quantity": 1, "amount": np.round(rng.uniform(5, 100, n), 2)}).to_csv(tmp_path / "once.csv",
                                                                                          index=False)
    store = load_store({"tables": {"transactions": {"path": str(tmp_path / "once.csv")}}, "cache": False})
    dates = periods.fill_dates(store, "02_segmentation", as_of="", month="", clv_calibration_end="")
    assert dates == {"as_of": "2025-02-01", "month": "2025-01", "clv_calibration_end": "2025-01-16"}
    assert periods.check_dates(store, **dates).startswith("periods: as_of 2025-02-01")
    summary = engine.customer_summary(store.transactions, as_of=dates["as_of"])
    rfm = segmentation.RFMScorer(n_bins=5).fit(summary).transform(summary)
    features = segmentation.cluster_features(summary, discovery.customer_behaviour(store, month=dates["month"]))
    clusters = segmentation.CustomerClusters(n_clusters=3, random_state=0).fit(features)
    tiers = segmentation.ValueTiers(shares=[0.5, 0.3, 0.15]).fit_transform(summary)
    assert len(rfm) == len(tiers) == len(summary) and len(clusters.names_) == 3
    calibration = clv.clv_summary(store.transactions, calibration_end=dates["clv_calibration_end"],
                                  observation_end=dates["as_of"])
    check = clv.fit_clv(calibration, random_seed=0)
    assert not check.fitted and "bought on more than one day" in check.verdict
    assert "no model to check" in clv.holdout_sentence(clv.holdout_accuracy(check))


def test_a_full_cache_disk_costs_only_the_cache(tmp_path, monkeypatch, caplog):
    """The engine's checkpoint error on a full cache disk: the store is cleaned in memory, the same figures."""
    import duckdb

    from crm_kit.store import load as loader

    path = tmp_path / "lines.csv"
    frame = _lines(400)
    frame.to_csv(path, index=False)
    monkeypatch.setenv("CRM_KIT_CACHE", str(tmp_path / "cache"))
    real = loader._build_store

    def full_disk(con, spec, database):
        if database:
            raise duckdb.IOException('Could not write file "/cache/stores/.x.tmp.wal": No space left on device')
        return real(con, spec, database)

    monkeypatch.setattr(loader, "_build_store", full_disk)
    with caplog.at_level("WARNING", logger="crm_kit.store"):
        store = load_store({"tables": {"transactions": {"path": str(path)}}})
    assert round(float(store.con.to_pandas(store.all_lines)["amount"].sum()), 2) == round(frame["amount"].sum(), 2)
    assert any("ran out of disk space" in r.getMessage() and "CRM_KIT_CACHE" in r.getMessage() for r in caplog.records)
    assert [p.name for p in (tmp_path / "cache" / "stores").iterdir() if not p.name.endswith(".lock")] == []


def test_a_signal_inside_a_duckdb_query_is_the_interrupt_it_was(tmp_path, monkeypatch, capsys):
    """DuckDB raises RuntimeError('Query interrupted') from the KeyboardInterrupt a signal raised inside a query:
    the command says it was interrupted, with the signal's exit status, never 'unexpected'."""
    import os

    import duckdb

    from crm_kit import cli

    def check_interrupted_in_a_query(_args):
        con = duckdb.connect()
        timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGTERM))
        timer.start()
        try:
            for _ in range(200):
                con.execute("SELECT sum(i * random()) FROM range(20000000) t(i)").fetchdf()
        finally:
            timer.cancel()
        raise AssertionError("the signal did not arrive")

    monkeypatch.setattr(cli, "_check", check_interrupted_in_a_query)
    code = main(["check", str(tmp_path / "data.yaml")])
    err = capsys.readouterr().err.strip()
    assert code == 128 + signal.SIGTERM
    assert err == "crm-kit: interrupted by SIGTERM; nothing was left half written (run the command again)"
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)  # the command's handler is gone


def test_a_signal_while_the_interpreter_tears_down_leaves_a_finished_command_finished(tmp_path):
    """The command has printed its result; Python is finalizing (about half a second with DuckDB loaded) and has
    put the default handlers back. A signal then must not turn the finished command into a silent kill."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    # registered before main's own exit hook, so it runs after it (atexit runs last in, first out)
    code = ("import atexit, os, signal, sys\n"
            "atexit.register(lambda: os.kill(os.getpid(), signal.SIGTERM))\n"
            "from crm_kit.cli import main\n"
            "sys.exit(main(['params', 'notebooks/05_cycle_summary.ipynb']))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-500:])
    assert proc.stdout.startswith("name") and "output_dir" in proc.stdout  # the whole listing was printed
