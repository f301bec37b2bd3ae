"""crm-kit run: validation before anything runs, the whole cycle, outputs, failures, teaching copies."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import nbformat
import pytest
import yaml

from crm_kit import ParameterError
from crm_kit.run import load_run_plan, student_copy
from conftest import ROOT


def _write(tmp_path, doc, name="run.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def test_demo_run_file_is_valid_and_layers(tmp_path):
    plan = load_run_plan(ROOT / "params" / "demo.yaml")
    assert [s.name for s in plan.steps] == ["discovery", "segmentation", "design_round1", "results_round1",
                                            "design_round2", "results_round2", "summary"]
    assert plan.steps[0].params["data"] == "demo" and "data" not in plan.steps[-1].params
    extra = _write(tmp_path, {"common": {"data": "demo:500"}, "steps": [{"name": "discovery", "notebook": "01_knowledge_discovery", "params": {"groups": 5}}]})
    layered = load_run_plan(ROOT / "params" / "demo.yaml", extra, overrides=["discovery.month=2025-08"])
    first = layered.steps[0]
    assert first.params == {"data": "demo:500", "month": "2025-08", "groups": 5}
    assert [s.name for s in load_run_plan(ROOT / "params" / "demo.yaml", only=["summary"]).steps] == ["summary"]


def test_bad_keys_name_the_key_and_the_notebook(tmp_path):
    bad = _write(tmp_path, {"run_name": "x", "common": {"data": "demo", "colour": "red"},
                            "steps": [{"name": "d", "notebook": "01_knowledge_discovery", "params": {"monht": "2025-09", "groups": "ten"}}]})
    with pytest.raises(ParameterError) as err:
        load_run_plan(bad)
    msg = str(err.value)
    assert "unknown parameter 'monht' (did you mean 'month'?) for notebook 01_knowledge_discovery" in msg
    assert "parameter 'groups' of notebook 01_knowledge_discovery must be int" in msg
    assert "common key(s) ['colour']" in msg
    with pytest.raises(ParameterError, match="names step 'nope'"):
        load_run_plan(ROOT / "params" / "demo.yaml", overrides=["nope.month=2025-01"])


def test_broken_params_file_fails_in_one_line_and_runs_nothing(tmp_path):
    bad = _write(tmp_path, {"run_name": "broken", "steps": [{"name": "d", "notebook": "01_knowledge_discovery", "params": {"monht": 1}}]})
    proc = subprocess.run([sys.executable, "-m", "crm_kit", "run", str(bad), "--output", str(tmp_path / "reports")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown parameter 'monht'" in proc.stderr
    assert not (tmp_path / "reports").exists()


@pytest.mark.notebook
def test_failing_notebook_keeps_partial_outputs_and_exits_non_zero(demo_dir, tmp_path):
    run = _write(tmp_path, {"run_name": "fails", "common": {"data": "demo"},
                            "steps": [{"name": "discovery", "notebook": "01_knowledge_discovery", "params": {"month": "1999-01"}}]})
    proc = subprocess.run([sys.executable, "-m", "crm_kit", "run", str(run), "--output", str(tmp_path / "reports"), "--quiet"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    line = proc.stderr.strip().splitlines()[-1]
    # the notebook's own parameter, the data's span and the fix, in one line
    assert re.search(r"run failed: 01_knowledge_discovery \(discovery\), cell \d+: ParameterError: month 1999-01 lies "
                     r"before the data's first day \(the data runs from 2024-09-\d\d to 2025-11-30\); .* --month 2025-11", line)
    folder = next((tmp_path / "reports" / "fails").glob("2*"))
    assert (folder / "FAILED").exists() and (folder / "01_discovery.ipynb").exists() and (folder / "report.html").exists()
    assert json.loads((folder / "metrics.json").read_text())["run"]["status"] == "failed"
    from crm_kit.artifacts import check_metrics

    check_metrics(json.loads((folder / "metrics.json").read_text()))


@pytest.mark.notebook
def test_whole_demo_cycle_produces_report_metrics_and_never_overwrites(demo_dir, demo_cycle):
    """The demo cycle run once for the session (conftest.demo_cycle; the browser tests read the same run)."""
    from crm_kit.run import load_run_plan, run_cycle

    folder = demo_cycle["folder"]
    assert demo_cycle["niced"] == 1  # segmentation, the one step off the longest chain, yields the cores
    metrics = json.loads((folder / "metrics.json").read_text())
    for key in ("discovery", "segmentation", "campaign_round1", "campaign_round2", "results_round1", "results_round2", "cycle", "run"):
        assert key in metrics, key
    from crm_kit.artifacts import check_metrics

    check_metrics(metrics)  # strict JSON that follows crm_kit/metrics.schema.json
    assert "NaN" not in (folder / "metrics.json").read_text()
    import pandas as pd

    for n in (1, 2):  # the full interaction table of each round, under pseudonymous keys
        table = pd.read_parquet(folder / f"round{n}_interaction.parquet")
        arms = metrics[f"results_round{n}"]["arms"]
        assert len(table) == arms["treatment"] + arms["control"] and "customer_id" not in table.columns
        assert {"customer_key", "arm", "group", "sales_base", "sales_campaign"} <= set(table.columns)
    assert metrics["discovery"]["target_group"] == 8
    assert metrics["campaign_round1"]["arms"]["treatment"] + metrics["campaign_round1"]["arms"]["control"] == 1155
    assert set(metrics["results_round1"]["group_counts"]) == {"A1", "A2", "A3", "A4"}
    assert metrics["campaign_round2"]["target"]["size"] == metrics["results_round1"]["group_counts"]["A4"]
    # the headline is the best valid estimate: the adjusted lift, narrower than the plain one and covering the truth
    truth = json.loads((demo_dir / "ground_truth.json").read_text())["rounds"]
    for n in (1, 2):
        head = metrics[f"results_round{n}"]["headline"]
        assert head["ci_low"] <= truth[str(n)]["planted_effect_sales_per_member"] <= head["ci_high"], (n, head)
        assert metrics[f"results_round{n}"]["return"]["estimate"] == head["basis"]
        if n == 2 and head["basis"] == "lift":
            # round two's 238 A4 members (48 controls): the adjusted interval may come out wider; then the plain
            # estimate is the headline and the note says why
            assert "wider than the plain one" in head["note"], head
            continue
        assert head["basis"] == "adjusted", (n, head)
        plain = head["plain"]
        gain = 1 - (head["ci_high"] - head["ci_low"]) / (plain["ci_high"] - plain["ci_low"])
        # round one's 1,155 members: at least 15 % narrower (measured 17 %)
        assert gain >= (0.15 if n == 1 else 0.0), (n, gain, head)
        assert metrics["cycle"]["rounds"][n - 1]["sales_lift_per_customer"] == pytest.approx(head["estimate"])
    html = (folder / "report.html").read_text()
    assert html.count("<img") >= 20 and "data:image/png;base64" in html
    summary = html[html.index('<section class="summary"'):html.index('<section class="notebook"')]
    assert "Chosen for uplift: group 8" in summary and "Round 2: R2-2025-11" in summary
    cycle_rounds = metrics["cycle"]["rounds"]  # the summary reads the same figures as notebook 05's table
    assert f"{cycle_rounds[0]['return_on_spend']:,.1f}× return on spend" in summary
    assert "adjusted for each customer's own past" in summary and "the plain difference in means" in summary
    # what the worked case's preset filled in is said, in metrics.json and on the summary page
    assert metrics["campaign_round2"]["preset"]["service_staff_cost"] == 8000.0
    assert "From the worked case" in summary and "service_staff_cost = 8000.0" in summary
    assert not re.search(r'(src|href)="https?://', html)
    assert "def " not in re.sub(r"<[^>]+>", "", html).split("crm-kit report")[0]
    for banned in ("Member 1", "@example.com", "wx_m0"):  # personal fields never reach the report
        assert banned not in html
    runs = folder.parent.parent
    assert (folder.parent / "latest").resolve() == folder.resolve()
    assert demo_cycle["kernels_left"] == []  # every kernel, the warmed spares included, is shut down with the run
    again = run_cycle(load_run_plan(ROOT / "params" / "demo.yaml", only=["discovery"]), output_root=runs, progress=False)
    assert again != folder and again.parent == folder.parent and (folder / "report.html").exists()


def test_student_copy_strips_outputs_and_solutions(tmp_path):
    path = student_copy("01_knowledge_discovery", tmp_path / "s.ipynb")
    nb = nbformat.read(str(path), as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)
    placeholders = [c for c in nb.cells if "blank" in c.metadata.get("crm_kit", {})]
    assert len(placeholders) == 2 and all(c.source.startswith("# YOUR TURN") for c in placeholders)
    builds = [c for c in nb.cells if "build" in c.metadata.get("crm_kit", {})]
    assert len(builds) == 2 and all(c.source.startswith("# BUILD IT") for c in builds)
    assert "decile_table(customer_list)" not in "".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("run_file", ["demo.yaml", "online_retail.yaml", "online_retail_ii.yaml", "completejourney.yaml", "lenta.yaml"])
def test_every_run_file_in_params_is_valid(run_file):
    plan = load_run_plan(ROOT / "params" / run_file)
    assert plan.steps and plan.run_name


def test_params_command_lists_a_notebooks_parameters(capsys):
    from crm_kit.cli import main

    assert main(["params", "03_campaign_design"]) == 0
    out = capsys.readouterr().out
    assert "target_value" in out and "str | int" in out and "float | None" in out
    assert "one of decile, cluster, rfm_segment" in out
    lines = out.splitlines()
    type_column = lines[0].index("type")
    assert all(line[type_column - 2:type_column] == "  " and line[type_column] != " " for line in lines[1:])


def test_params_command_survives_a_closed_pipe():
    import subprocess
    import sys

    proc = subprocess.run(f"'{sys.executable}' -m crm_kit params 03_campaign_design | head -1", shell=True,
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.startswith("name") and "Traceback" not in proc.stderr


def _definition(campaign_id="R1", **extra):
    from crm_kit.artifacts import CampaignDefinition

    fields = dict(campaign_id=campaign_id, round=1, target={"kind": "decile", "value": "8"},
                  periods={"base": "2025-09", "campaign": "2025-10"}, goals={"sales_goal": 0.3}, group_targets=[],
                  arms={"treatment": 3}, channel="WeChat", costs={"total": 1.0}, gross_margin=0.2, break_even_sales=5.0,
                  power={"when": __import__("pandas").Timestamp("2025-10-01")}, pseudonym_salt="s")
    return CampaignDefinition(**{**fields, **extra})


def test_yaml_copy_of_a_definition_and_no_overwrite(tmp_path):
    from crm_kit import DataError

    definition = _definition()
    definition.write(tmp_path)
    path = tmp_path / f"{definition.stem(1)}.yaml"
    assert yaml.safe_load(path.read_text()) == json.loads((tmp_path / f"{definition.stem(1)}.json").read_text())
    with pytest.raises(DataError, match="never overwrites"):
        definition.write(tmp_path)


def test_cycle_flow_by_hand():
    from crm_kit.cycle import flow

    from crm_kit.artifacts import RoundResult

    rounds = {1: (None, RoundResult(round=1, arms={"treatment": 8, "control": 2}, group_counts={"A1": 3, "A4": 5})),
              2: (None, RoundResult(round=2, arms={"treatment": 4, "control": 1}, group_counts={"A41": 4},
                                    target={"kind": "group_list", "value": "A4"}))}
    nodes, links = flow(rounds)
    assert (0, "round 1 target", 10) in nodes and (3, "A4 (round 2 target)", 5) in nodes
    assert ("A4", "A4 (round 2 target)", 5) in links and ("R2 treated", "A41", 4) in links


def test_earlier_outputs_come_only_from_runs_of_the_same_name(tmp_path, monkeypatch):
    from crm_kit import artifacts

    monkeypatch.setattr(artifacts, "reports_root", lambda: tmp_path)
    demo_old, other_new = tmp_path / "demo" / "20250101-000000", tmp_path / "other" / "20250301-000000"
    for folder, campaign in ((demo_old, "demo campaign"), (other_new, "other campaign")):
        folder.mkdir(parents=True)
        _definition(campaign).write(folder)
    demo_now = tmp_path / "demo" / "20250201-000000"
    demo_now.mkdir()
    assert artifacts.CampaignDefinition.read(demo_now, 1).campaign_id == "demo campaign"  # not the newer other run
    fresh = tmp_path / "third" / "20250401-000000"
    fresh.mkdir(parents=True)
    assert artifacts.CampaignDefinition.read(fresh, 1) is None


def test_cycle_table_and_lessons_with_a_comparison_group_and_no_cost():
    from crm_kit.cycle import lessons, round_table, totals

    lift = [{"metric": "sales", "lift": 17.0, "ci_low": 15.3, "ci_high": 18.7, "did": 1.05, "did_ci_low": -0.58,
             "did_ci_high": 2.67}]
    from crm_kit.artifacts import RoundResult

    naive = [{"key": "naive_mean", "figure": "naive: treated sales growth (mean of individual rates, the case's ratio)",
              "value": 0.77},
             {"key": "control_growth", "figure": "control group's own growth (no campaign: season + regression to the mean)",
              "value": -0.14}]
    res = RoundResult(round=1, campaign_id="18", arms={"treatment": 1133, "control": 785}, lift=lift,
                      naive_vs_controlled=naive, group_counts={}, groups=[],
                      returns={"estimate": "did", "incremental_sales": 1189.65, "cost": 0.0, "return_on_spend": None,
                               "roi": None})
    rounds = {1: (None, res)}
    table = round_table(rounds)
    assert table.loc[0, "estimate"] == "did" and table.loc[0, "sales_lift_per_customer"] == 1.05
    assert (table.loc[0, "lift_ci_low"], table.loc[0, "lift_ci_high"]) == (-0.58, 2.67)
    assert totals(table)["return_on_spend"] is None
    text = lessons(rounds, table)
    assert "not distinguishable from zero" in text and "no cost was recorded, so its return is not defined" in text


def test_quiet_prints_only_the_two_final_lines(tmp_path):
    run = _write(tmp_path, {"run_name": "quiet", "steps": [{"name": "summary", "notebook": "05_cycle_summary"}]})
    proc = subprocess.run([sys.executable, "-m", "crm_kit", "run", str(run), "--output", str(tmp_path / "r"), "--quiet"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("report: ") and lines[1].startswith("metrics: ")


def test_no_browser_no_pdf_and_the_run_says_so(tmp_path, monkeypatch):
    import shutil

    from crm_kit.run.html import print_pdf

    page = tmp_path / "report.html"
    page.write_text("<html><body>x</body></html>")
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert print_pdf(page) is None and not (tmp_path / "report.pdf").exists()


def test_cache_paths_are_quoted_as_sql_strings():
    from crm_kit.store.cache import _quoted

    assert _quoted("/tmp/o'brien/x.duckdb") == "'/tmp/o''brien/x.duckdb'"


def test_side_by_side_kernels_get_a_share_of_the_cores(monkeypatch):
    """Two kernels on two cores would each start OpenMP/BLAS pools of every core; the runner sizes them to a share."""
    import os

    from crm_kit.run import runner

    for name in (*runner.THREAD_VARIABLES, runner.SIDE_BY_SIDE_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")  # the user's choice stays
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert runner._share_machine(1) == []
    added = runner._share_machine(2)
    assert "OPENBLAS_NUM_THREADS" not in added and os.environ["OPENBLAS_NUM_THREADS"] == "3"
    assert set(added) == {*runner.THREAD_VARIABLES, runner.SIDE_BY_SIDE_VARIABLE} - {"OPENBLAS_NUM_THREADS"}
    assert all(os.environ[name] == "2" for name in added)  # two cores each, and two kernels side by side
    for name in added:
        os.environ.pop(name)
    assert runner._share_machine(8) and os.environ["OMP_NUM_THREADS"] == "1"  # never below one
    assert os.environ[runner.SIDE_BY_SIDE_VARIABLE] == "8"


def test_the_longest_chain_of_steps_keeps_its_cores():
    """Steps off the longest chain (the demo's segmentation) run niced: the run waits for the chain, not for them."""
    from crm_kit.run.runner import _dependencies, _longest_chain

    plan = load_run_plan(ROOT / "params" / "demo.yaml")
    chain = _longest_chain(plan.steps, _dependencies(plan.steps))
    assert chain == {"discovery", "design_round1", "results_round1", "design_round2", "results_round2", "summary"}
    in_order = load_run_plan(ROOT / "params" / "demo.yaml", only=["discovery", "segmentation", "summary"])
    for st in in_order.steps:
        st.after = None  # the run file's order: one chain of every step
    assert _longest_chain(in_order.steps, _dependencies(in_order.steps)) == {"discovery", "segmentation", "summary"}
    assert _longest_chain([], {}) == set()


@pytest.mark.notebook
def test_warm_kernels_are_ready_unchanged_and_never_left_running(tmp_path, monkeypatch):
    """A warmed kernel runs a notebook as a fresh one would (counts from 1, the run's environment), imports done."""
    import psutil

    import papermill as pm
    from crm_kit.run.kernels import WarmKernels

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os, sys\nloaded = 'crm_kit.engine' in sys.modules\n"
                                          "print(loaded, os.environ['CRM_KIT_WARM_TEST'], os.getcwd())")]
    source = tmp_path / "probe.ipynb"
    nbformat.write(nb, source)
    monkeypatch.setenv("CRM_KIT_WARM_TEST", "from-the-run")
    kernels = WarmKernels(tmp_path, needed=2, first=1, spares=1)
    km = kernels.take()
    pid = km.provisioner.pid
    try:
        pm.execute_notebook(str(source), str(tmp_path / "out.ipynb"), kernel_name="python3", km=km, progress_bar=False)
    finally:
        kernels.release(km)
    cell = nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[0]
    assert cell.execution_count == 1  # the warming left no trace in the notebook
    assert cell.outputs[0]["text"].split() == ["True", "from-the-run", str(tmp_path)]
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    second = kernels._queue[0].result()  # the spare started when the first was taken
    kernels.close()
    assert not psutil.pid_exists(second.provisioner.pid) or psutil.Process(second.provisioner.pid).status() == psutil.STATUS_ZOMBIE
    assert kernels.take() is None  # closed, and no more than the two needed were started
    # run_cycle called in a notebook runs under the kernel's event loop: a spare is still shut down there
    import asyncio

    spare = WarmKernels(tmp_path, needed=1)
    started = spare._queue[0].result()

    async def close_under_a_running_loop():
        spare.close()

    asyncio.run(close_under_a_running_loop())
    assert not psutil.pid_exists(started.provisioner.pid) or \
        psutil.Process(started.provisioner.pid).status() == psutil.STATUS_ZOMBIE
    broken = WarmKernels(tmp_path, needed=1, code="raise ValueError('no such module')")
    assert broken.take() is None  # the step then starts its own kernel
    broken.close()


def test_a_kernel_off_the_chain_is_niced_in_every_thread():
    """Linux nices threads one by one: every thread the kernel already runs gets the lower priority."""
    from pathlib import Path

    from crm_kit.run.runner import OFF_CHAIN_NICENESS, _lower_priority

    own = os.getpriority(os.PRIO_PROCESS, 0)

    proc = subprocess.Popen([sys.executable, "-c", "import threading, time\n"
                             "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
                             "print('ready', flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        _lower_priority(proc.pid)
        tasks = list(Path(f"/proc/{proc.pid}/task").iterdir())
        nice = [int((t / "stat").read_text().rsplit(")", 1)[1].split()[16]) for t in tasks]
        assert len(tasks) >= 2 and nice == [OFF_CHAIN_NICENESS] * len(tasks)
        assert os.getpriority(os.PRIO_PROCESS, 0) == own  # the runner itself keeps its priority
    finally:
        proc.kill()
        proc.wait()
    _lower_priority(proc.pid)  # a process gone meanwhile: nothing to do, no error


def test_the_report_embeds_the_cjk_glyphs_it_uses(tmp_path, monkeypatch):
    """Only the characters the page uses are embedded (a few KB, not the 16 MB font), cached by character set."""
    import base64
    import io
    import re

    from fontTools.ttLib import TTFont

    from crm_kit.run.html import _cjk_font_face

    monkeypatch.setenv("CRM_KIT_CACHE", str(tmp_path))
    assert _cjk_font_face("Latin text only, 80/20 (¥1,000)") == ""
    rule = _cjk_font_face("Value tiers (客户价值 · 流失率) and 表11")
    data = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)\)", rule).group(1))
    assert rule.startswith('@font-face{font-family:"crm-kit CJK"') and len(data) < 60_000
    cmap = TTFont(io.BytesIO(data)).getBestCmap()
    assert {ord(c) for c in "客户价值流失率表"} <= set(cmap) and ord("知") not in cmap
    cached = list((tmp_path / "fonts").glob("cjk-*.woff"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    assert _cjk_font_face("表 客户价值 · 流失率 again") == rule  # the same characters: the cached subset
    assert cached[0].stat().st_mtime_ns == stamp
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("CRM_KIT_CACHE", str(blocked))  # a cache that cannot be written: the page still gets it
    assert _cjk_font_face("Value tiers (客户价值 · 流失率) and 表11") == rule


def test_warm_imports_cover_the_notebooks_imports():
    """After the warm-up every module a notebook's import cell names is loaded, but segmentation's own
    (scikit-learn): a renamed module would otherwise fail every warm-up and each step would start cold."""
    from crm_kit.run.kernels import WARM_IMPORTS

    named = set()
    for path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        cell = next(c for c in nbformat.read(path, as_version=4).cells
                    if c.cell_type == "code" and "import crm_kit" in c.source or "from crm_kit" in c.source)
        for module, names in re.findall(r"^from ([\w.]+) import ([\w, ]+)$", cell.source, re.M):
            named |= {f"{module}.{n.strip()}" if module == "crm_kit" else module for n in names.split(",")}
        named |= set(re.findall(r"^import ([\w.]+)", cell.source, re.M))
    assert {"crm_kit.engine", "matplotlib.pyplot", "crm_kit.teaching", "crm_kit.experiment"} <= named
    loaded = subprocess.run([sys.executable, "-c", WARM_IMPORTS + "\nimport sys; print(' '.join(sys.modules))"],
                            capture_output=True, text=True, check=True).stdout.split()
    missing = {m for m in named if m not in loaded and not m.startswith(("crm_kit.segmentation", "crm_kit.clv"))}
    assert not missing, missing


def test_a_kernel_that_fails_to_warm_is_replaced_by_papermills_own(demo_dir, tmp_path, monkeypatch):
    """The run does not depend on warming: with every warm-up failing, papermill starts each step's kernel."""
    import functools

    from crm_kit.run import run_cycle, runner
    from crm_kit.run.kernels import WarmKernels

    monkeypatch.setattr(runner, "WarmKernels", functools.partial(WarmKernels, code="raise ImportError('gone')"))
    folder = run_cycle(load_run_plan(ROOT / "params" / "demo.yaml", only=["discovery"]), output_root=tmp_path,
                       progress=False, pdf_report=False)
    assert json.loads((folder / "metrics.json").read_text())["run"]["status"] == "partial"
    assert (folder / "01_discovery.ipynb").exists() and (folder / "report.html").exists()


def test_run_file_mistakes_are_found_before_anything_runs(tmp_path):
    """A step name used twice, two steps writing one hand-off, a notebook that is not the kit's: one line, exit 2,
    nothing started."""
    from crm_kit.run import load_run_plan

    def plan(steps):
        return load_run_plan(_write(tmp_path, {"run_name": "x", "common": {"data": "demo"}, "steps": steps}))

    with pytest.raises(ParameterError, match=r"step name\(s\) \['a'\] are used more than once"):
        plan([{"name": "a", "notebook": "01_knowledge_discovery"}, {"name": "a", "notebook": "02_segmentation"}])
    with pytest.raises(ParameterError, match="steps 'one' and 'two' would both write the discovery"):
        plan([{"name": "one", "notebook": "01_knowledge_discovery"}, {"name": "two", "notebook": "01_knowledge_discovery"}])
    with pytest.raises(ParameterError, match="would both write the round result of round 1"):
        plan([{"name": "r", "notebook": "04_campaign_results"}, {"name": "o", "notebook": "06_outcome_table"}])
    with pytest.raises(ParameterError, match="notebook 'my_analysis' is not one of the kit's"):
        plan([{"name": "mine", "notebook": "my_analysis"}])
    ok = plan([{"name": "d1", "notebook": "03_campaign_design", "params": {"round_no": 1}},
               {"name": "d2", "notebook": "03_campaign_design", "params": {"round_no": 2}}])
    assert [s.name for s in ok.steps] == ["d1", "d2"]


def test_a_notebook_of_the_same_name_in_the_working_folder_never_shadows_the_kits(tmp_path, monkeypatch):
    from crm_kit.params import notebook_path

    (tmp_path / "01_knowledge_discovery.ipynb").write_text("{}")
    monkeypatch.chdir(tmp_path)
    assert notebook_path("01_knowledge_discovery") == (ROOT / "notebooks" / "01_knowledge_discovery.ipynb").resolve()


def test_a_runs_output_carries_no_kernel_tcp_notice(tmp_path):
    """The kernels start with their own log kept to errors: the terminal shows the run, not ipykernel's TCP notice."""
    run = _write(tmp_path, {"run_name": "quietkernels", "steps": [{"name": "summary", "notebook": "05_cycle_summary"}]})
    proc = subprocess.run([sys.executable, "-m", "crm_kit", "run", str(run), "--output", str(tmp_path / "r")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "without encryption" not in proc.stdout + proc.stderr


def test_the_kits_errors_render_as_one_line_in_jupyter_and_a_traceback_when_debugging(monkeypatch):
    from crm_kit import DataError

    try:
        raise DataError("transactions has no column 'amount'; map it in params: columns.amount")
    except DataError as exc:
        caught = exc
    monkeypatch.delenv("CRM_KIT_DEBUG", raising=False)
    assert caught._render_traceback_() == ["DataError: transactions has no column 'amount'; map it in params: "
                                           "columns.amount"]
    monkeypatch.setenv("CRM_KIT_DEBUG", "1")
    assert any("Traceback" in line for line in caught._render_traceback_())


def test_the_report_leaves_the_kernels_stderr_to_the_run_log(tmp_path):
    """Spark's Java lines, a library's warning and a stage progress bar go to run.log; the kit's own warning and the
    notebook's printed output stay in the report."""
    import logging

    from crm_kit.run.html import notebook_body

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("store = crm_kit.load_store(data)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=(
            "26/12/07 17:49:09 WARN Utils: Your hostname, vm, resolves to a loopback address\n"
            "/venv/pyspark/sql/pandas/functions.py:777: FutureWarning: PySpark does not yet fully support pandas\n"
            "  require_minimum_pandas_version()\n"
            "[Stage 3:>      (0 + 2) / 4]\r[Stage 3:=====>  (2 + 2) / 4]\r\n")),
        nbformat.v4.new_output("stream", name="stdout", text="Loaded 600 customers.\n"),
        nbformat.v4.new_output("stream", name="stderr", text="crm-kit: the cached store x.duckdb is unreadable: "
                                                             "it is removed and rebuilt\n26/12/07 WARN WindowExec: No "
                                                             "Partition Defined for Window operation!\n"),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Step"), cell]
    path = tmp_path / "01_discovery.ipynb"
    nbformat.write(nb, str(path))
    log = logging.getLogger("crm_kit.run.test_stderr")
    log.setLevel(logging.INFO)
    handler = logging.FileHandler(tmp_path / "run.log", encoding="utf-8")
    log.addHandler(handler)
    try:
        body = notebook_body(path, log=log)
    finally:
        log.removeHandler(handler)
        handler.close()
    for chatter in ("WARN Utils", "FutureWarning", "require_minimum_pandas_version", "Stage 3", "WindowExec"):
        assert chatter not in body
    assert "Loaded 600 customers." in body and "crm-kit: the cached store x.duckdb is unreadable" in body
    logged = (tmp_path / "run.log").read_text(encoding="utf-8")
    assert "step 01_discovery: 5 line(s) its kernel wrote to stderr" in logged
    assert "[01_discovery stderr] [Stage 3:=====>  (2 + 2) / 4]" in logged  # a redrawn bar: its last state only
    assert "(0 + 2)" not in logged and "WARN WindowExec: No Partition Defined" in logged and "crm-kit:" not in logged
    assert nbformat.read(str(path), as_version=4).cells[1].outputs[0]["name"] == "stderr"  # the notebook is unchanged


def test_the_kits_warnings_are_marked_in_a_kernel(monkeypatch, capsys):
    import logging

    from crm_kit.errors import show_kit_warnings

    logger = logging.getLogger("crm_kit")
    before = list(logger.handlers)
    show_kit_warnings()  # not in a kernel: nothing added
    assert logger.handlers == before
    import IPython

    kernel_shell = type("ZMQInteractiveShell", (), {})()  # what get_ipython() is in a Jupyter kernel
    monkeypatch.setattr(IPython, "get_ipython", lambda: kernel_shell)
    try:
        show_kit_warnings()
        show_kit_warnings()  # once only
        added = [h for h in logger.handlers if h not in before]
        assert len(added) == 1
        logging.getLogger("crm_kit.store").warning("the cache is full")
        logging.getLogger("crm_kit.store").info("a note for the log only")
        err = capsys.readouterr().err
        assert "crm-kit: the cache is full\n" in err and "a note for the log only" not in err
    finally:
        for h in logger.handlers[:]:
            if h not in before:
                logger.removeHandler(h)
