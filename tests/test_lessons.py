"""Every notebook a lesson (issue 32): its shape, the "build it" blanks checked by value, predictions first, the key.

The "build it" tests fill each blank with a pandas solution written differently from the teacher's (other
column order, other allowed names, another library) and read "correct"; a wrong value is refused with what
differs. The student copies carry no solution text, and the package holds none.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from conftest import ROOT
from crm_kit import teaching
from crm_kit.teaching import BLANKS, BUILDS, student_copy

NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(p.stem for p in NB_DIR.glob("0*.ipynb"))
BIB_KEYS = set(re.findall(r"@\w+\{([\w-]+),", (ROOT / "docs" / "references.bib").read_text(encoding="utf-8")))
CHART = re.compile(r"plt\.show\(\)|plotting\.plot_")


def _cells(notebook):
    return nbformat.read(str(NB_DIR / f"{notebook}.ipynb"), as_version=4).cells


def _tagged(cells, tag):
    return [c for c in cells if tag in c.metadata.get("tags", [])]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_notebook_is_a_lesson(notebook):
    """Goals and time, the data, a formula, how to read every chart, a written question, key ideas, references."""
    cells = _cells(notebook)
    [goals] = _tagged(cells, "lesson-goals")
    assert goals.source.startswith("## Learning goals") and re.search(r"\*\*Time:\*\* about \d+ minutes", goals.source)
    assert goals.source.count("\n- ") >= 3
    [data] = _tagged(cells, "lesson-data")
    assert data.source.startswith("## The data") and "| --- |" in data.source
    assert cells.index(goals) < cells.index(data) < 5
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    assert "$$" in markdown or re.search(r"\$[^$\n]+\$", markdown), "no formula"
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and CHART.search(cell.source):
            following = cells[i + 1]
            assert following.cell_type == "markdown" and following.source.startswith("**How to read it:**"), \
                (notebook, cell.source[:80])
    question = next(c for c in cells if c.cell_type == "markdown" and c.source.startswith("## Question"))
    answer = cells[cells.index(question) + 1]
    assert answer.metadata.get("crm_kit", {}).get("written") == notebook and "solution" in answer.metadata["tags"]
    assert len(answer.source.split()) >= 40
    [ideas] = _tagged(cells, "lesson-key-ideas")
    [references] = _tagged(cells, "lesson-references")
    assert ideas.source.startswith("## Key ideas") and ideas.source.count("\n- ") >= 3
    assert references.source.startswith("## References")
    cited = re.findall(r"\[@([\w-]+)\]", references.source)
    assert cited and set(cited) <= BIB_KEYS, set(cited) - BIB_KEYS
    assert cells[-2] is ideas and cells[-1] is references


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_blank_has_a_build_it_level_checked_by_value(notebook):
    cells = _cells(notebook)
    blanks = [c.metadata["crm_kit"]["blank"] for c in cells if "blank" in c.metadata.get("crm_kit", {})]
    builds = [c.metadata["crm_kit"]["build"] for c in cells if "build" in c.metadata.get("crm_kit", {})]
    assert sorted(blanks) == sorted(builds) == sorted(k for k, b in BUILDS.items() if b.notebook == notebook)
    for i, cell in enumerate(cells):
        key = cell.metadata.get("crm_kit", {}).get("build")
        if key:
            assert cells[i + 1].source == f'print(teaching.check_build("{key}", globals()))'
            assert "check" in cells[i + 1].metadata["tags"]
            assert BUILDS[key].variable in cell.source
            function = teaching.BLANKS[key].function.split("(")[0].split(" ")[0]
            assert function not in cell.source  # built without the kit's own function


def test_the_report_and_the_docs_leave_the_teaching_cells_out(tmp_path):
    from crm_kit.run.html import notebook_body

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Shown"),
                nbformat.v4.new_markdown_cell("## Learning goals", metadata={"tags": ["lesson-goals"]}),
                nbformat.v4.new_markdown_cell("## The data dictionary", metadata={"tags": ["lesson-data"]}),
                nbformat.v4.new_markdown_cell("## Key ideas", metadata={"tags": ["lesson-key-ideas"]}),
                nbformat.v4.new_markdown_cell("**Model answer.** secret", metadata={"tags": ["solution", "lesson"]})]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, str(path))
    body = notebook_body(path)
    assert "Shown" in body and "The data dictionary" in body
    assert "Learning goals" not in body and "Key ideas" not in body and "secret" not in body


# ------------------------------------------------------------------------------------- "build it" by value

#: a solution written otherwise than the teacher's (column order, allowed names, other tools), per build
ALTERNATIVES = {
    "deciles": """
rank = customer_list["sales"].rank(method="first", ascending=False)
my_deciles = (customer_list.assign(g=pd.qcut(rank, groups, labels=False) + 1)
              .groupby("g")["sales"].agg(total_sales="sum", count="size"))
""",
    "pareto": """
running = customer_list["sales"].sort_values(ascending=False).cumsum() / customer_list["sales"].sum()
my_pareto_share = float(((running < pareto_target - 1e-12).sum() + 1) / len(running))
""",
    "rfm": """
import numpy as np
cuts = sorted(set(summary["sales"].quantile([j / rfm_bins for j in range(1, rfm_bins)])))
my_m_score = pd.DataFrame({"m": pd.cut(summary["sales"], [-np.inf, *cuts, np.inf], right=False, labels=False) + 1,
                           "customer_id": summary["customer_id"]})
""",
    "tiers": """
import numpy as np
ranked = summary.sort_values(["sales", "customer_id"], ascending=[False, True])
before = ((ranked["sales"].cumsum() - ranked["sales"]) / ranked["sales"].sum()).round(12)
edges = [-np.inf, *np.round(np.cumsum(tier_shares), 12), np.inf]
my_tiers = pd.Series(pd.cut(before, edges, right=False, labels=["A", "B", "C", "D"]).astype(str).to_numpy(),
                     index=ranked["customer_id"], name="label")
""",
    "goals": """
goal_of = {"visits": freq_goal, "ticket": ticket_goal, "sales": sales_goal}
my_targets = metrics.assign(**{f"{m}_target": metrics[f"{m}_base"] * (1 + g) for m, g in goal_of.items()
                               if g is not None})
""",
    "arms": """
layers = [(0, target)] if not stratify_by else target.groupby(target[stratify_by].astype("string").fillna("?"))
my_control_size = sum(round(len(layer) * control_share) for _, layer in layers)
""",
    "groups": """
met_f = treated_table["freq_growth"] >= setup.split["freq_goal"] - 1e-9
met_t = treated_table["ticket_growth"] >= setup.split["ticket_goal"] - 1e-9
labels = pd.Series("A4", index=treated_table.index).mask(met_t, "A3").mask(met_f, "A2").mask(met_f & met_t, "A1")
my_groups = labels.where(treated_table["has_base"], "no base").rename("label").to_frame().reset_index()
""",
    "lift": """
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW
treated = table.loc[table["arm"] == "treatment", "sales_campaign"]
control = table.loc[table["arm"] == "control", "sales_campaign"]
low, high = CompareMeans(DescrStatsW(treated), DescrStatsW(control)).tconfint_diff(alpha=1 - level, usevar="unequal")
my_sales_lift = [treated.mean() - control.mean(), low, high]
""",
    "flow": """
my_group_counts = pd.concat([pd.Series(result.group_counts, name="customers").rename_axis("group").reset_index()
                             .assign(round=number) for number, (_definition, result) in rounds.items()])
""",
    "targeting": """
my_margin_per_contact = list(targeting["incremental_sales_per_contact"] * rounds[1][0].gross_margin
                             - targeting["cost_per_customer"])
""",
    "outcome_lift": """
rate = outcomes.groupby(outcome_arm_col)[outcome_binary[0]].mean()
my_response_lift = pd.DataFrame({"difference": rate - rate[outcome_control], "group": rate.index})
my_response_lift = my_response_lift[my_response_lift["group"] != outcome_control]
""",
    "arm_comparisons": """
from statsmodels.stats.multitest import multipletests
my_holm = arm_comparisons.assign(adjusted_p=arm_comparisons.groupby("metric")["p_value"].transform(
    lambda p: multipletests(p, method="holm")[1]))[["adjusted_p", "metric", "against", "arm"]]
""",
}

#: a wrong value, made from the right one, per build
WRONG = {
    "deciles": 'my_deciles.assign(total_sales=my_deciles["total_sales"] * 1.01)',
    "pareto": "my_pareto_share + 0.05",
    "rfm": 'my_m_score.assign(m=my_m_score["m"].clip(upper=rfm_bins - 1))',
    "tiers": 'my_tiers.where(my_tiers != "A", "B")',
    "goals": 'my_targets.assign(**{c: my_targets[c] * 1.1 for c in my_targets.columns if c.endswith("_target")})',
    "arms": "my_control_size + 3",
    "groups": 'my_groups.assign(label=my_groups["label"].replace({"A1": "A2"}))',
    "lift": "[v * 1.1 for v in my_sales_lift]",
    "flow": 'my_group_counts.assign(customers=my_group_counts["customers"] + 1)',
    "targeting": "[v + 1 for v in my_margin_per_contact]",
    "outcome_lift": 'my_response_lift.assign(difference=my_response_lift["difference"] * 2)',
    "arm_comparisons": 'my_holm.assign(adjusted_p=arm_comparisons["p_value"])',
}


def _with_alternatives(notebook: str, target: Path) -> Path:
    """The teacher's notebook with every "build it" cell filled by :data:`ALTERNATIVES`, and a wrong value tried."""
    nb = nbformat.read(str(NB_DIR / f"{notebook}.ipynb"), as_version=4)
    cells = []
    for cell in nb.cells:
        key = cell.metadata.get("crm_kit", {}).get("build")
        if key:
            cell.source = ALTERNATIVES[key].strip()
        cells.append(cell)
        if cell.source.startswith("print(teaching.check_build("):
            key = re.search(r'check_build\("(\w+)"', cell.source).group(1)
            variable = BUILDS[key].variable
            cells.append(nbformat.v4.new_code_cell(
                f"_expected = teaching.BUILDS['{key}'].expected(globals())\n"
                f"print('WRONG {key}:', teaching.compare_values({WRONG[key]}, _expected, teaching.BUILDS['{key}'])"
                f" if not isinstance(_expected, str) else 'nothing to compare')\n"
                f"print('RIGHT {key}:', teaching.compare_values({variable}, _expected, teaching.BUILDS['{key}'])"
                f" if not isinstance(_expected, str) else 'nothing to compare')"))
    nb.cells = cells
    nbformat.write(nb, str(target))
    return target


def _run(notebook: str, tmp_path: Path, **parameters) -> str:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    source = _with_alternatives(notebook, tmp_path / f"alt_{notebook}.ipynb")
    executed = tmp_path / f"executed_{notebook}.ipynb"
    pm.execute_notebook(str(source), str(executed), parameters={"output_dir": str(out), **parameters},
                        cwd=str(tmp_path), kernel_name="python3", progress_bar=False)
    nb = nbformat.read(str(executed), as_version=4)
    return "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                     for c in nb.cells for o in c.get("outputs", []))


def _assert_builds(text: str, notebook: str) -> None:
    for key, build in BUILDS.items():
        if build.notebook != notebook:
            continue
        assert f"Check (build it): correct — {build.variable} has the kit's values." in text, (key, text[-2000:])
        assert f"RIGHT {key}: None" in text
        wrong = re.search(rf"WRONG {key}: (.*)", text).group(1)
        assert "the kit's" in wrong or "row(s)" in wrong, (key, wrong)


@pytest.mark.notebook
@pytest.mark.parametrize("notebook, data", [("01_knowledge_discovery", "demo"), ("02_segmentation", "demo:3000"),
                                            ("06_outcome_table", None)])
def test_build_it_solutions_written_otherwise_are_correct_and_wrong_values_fail(notebook, data, demo_dir, tmp_path):
    text = _run(notebook, tmp_path, **({"data": data} if data else {}))
    _assert_builds(text, notebook)


@pytest.mark.notebook
def test_build_it_in_design_results_and_summary(demo_dir, tmp_path):
    for notebook in ("03_campaign_design", "04_campaign_results", "05_cycle_summary"):
        _assert_builds(_run(notebook, tmp_path), notebook)


def test_a_wrong_build_says_what_differs():
    import pandas as pd

    build = BUILDS["deciles"]
    kit = pd.DataFrame({"group": [1, 2], "customers": [3, 3], "sales": [90.0, 30.0]})
    assert teaching.compare_values(pd.DataFrame({"total_sales": [30.0, 90.0], "decile": [2, 1], "n": [3, 3]}), kit,
                                   build) is None
    assert teaching.compare_values(pd.DataFrame({"decile": [1, 2], "n": [3, 3], "sales": [90.0, 31.0]}), kit,
                                   build) == "sales of group 2 is 31, the kit's is 30 (1 of 2 differ)"
    assert "has no column for customers" in teaching.compare_values(
        pd.DataFrame({"decile": [1, 2], "sales": [90.0, 30.0]}), kit, build)
    assert "lacks 1 of its 2" in teaching.compare_values(pd.DataFrame({"decile": [1], "n": [3], "sales": [90.0]}),
                                                         kit, build)
    with pytest.raises(teaching.NotYet, match="fill the 'build it' cell above"):
        teaching.check_build("deciles", {"deciles": kit})


# ----------------------------------------------------------------------------------------- copies and the key


def _solution_lines(notebook: str) -> list[str]:
    """The distinctive lines of every solution and model answer of the teacher's notebook."""
    lines = []
    for cell in _cells(notebook):
        if "solution" in cell.metadata.get("tags", []):
            for line in cell.source.splitlines():
                line = line.strip()
                # statements and sentences; a keyword argument alone ("seed=seed,") is named by the kit's prompt
                if len(line) >= 24 and not line.startswith("#") and (" = " in line or cell.cell_type == "markdown"):
                    lines.append(line)
    return lines


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_student_copies_carry_no_solution_and_the_package_none(notebook, tmp_path):
    copy = student_copy(notebook, tmp_path / f"{notebook}.ipynb").read_text(encoding="utf-8")
    text = "\n".join(c.source for c in nbformat.reads(copy, as_version=4).cells)
    leaked = [line for line in _solution_lines(notebook) if line in text]
    assert not leaked, leaked[:3]
    package = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "crm_kit").rglob("*.py"))
    builds_and_answers = [line for line in _solution_lines(notebook)
                          if "my_" in line or line.startswith("**Model answer")]
    assert builds_and_answers and not [line for line in builds_and_answers if line in package]


def test_the_instructor_key_has_every_solution_and_nbgrader_metadata(tmp_path):
    students, key = tmp_path / "students", tmp_path / "key"
    proc = subprocess.run([sys.executable, "-m", "crm_kit", "student", "--output", str(students), "--instructor",
                           str(key)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for notebook in NOTEBOOKS:
        nb = json.loads((key / f"{notebook}.ipynb").read_text(encoding="utf-8"))
        ids = []
        for cell in nb["cells"]:
            tags = cell["metadata"].get("tags", [])
            if "solution" in tags or "check" in tags:
                grading = cell["metadata"]["nbgrader"]
                assert grading["solution"] == ("solution" in tags) and grading["grade"] == ("check" in tags or
                                                                                           cell["cell_type"] == "markdown")
                if grading["grade"]:
                    assert grading["points"] > 0
                ids.append(grading["grade_id"])
            assert not cell.get("outputs")
        assert len(ids) == len(set(ids)) >= 9
        original = _cells(notebook)
        added = [c for c in nb["cells"] if "student-mode" in c["metadata"].get("tags", [])]
        assert len(added) == 1 and added[0]["metadata"]["nbgrader"]["locked"]
        nb["cells"] = [c for c in nb["cells"] if "student-mode" not in c["metadata"].get("tags", [])]
        for cell, theirs in zip(nb["cells"], original):
            source = "".join(cell["source"])
            if "solution" not in theirs.metadata.get("tags", []):
                assert source == theirs.source
                continue
            # every solution kept, between nbgrader's markers, with the blank's hints above them
            hints, rest = source.split("### BEGIN SOLUTION\n")
            assert rest == theirs.source.rstrip() + "\n### END SOLUTION"
            marks = theirs.metadata.get("crm_kit", {})
            if "blank" in marks:
                assert hints.startswith("# YOUR TURN:") and f"# Call {BLANKS[marks['blank']].function}" in hints
            elif "build" in marks:
                assert hints.startswith("# BUILD IT (level 2):")
        assert len(nb["cells"]) == len(original)
    refused = subprocess.run([sys.executable, "-m", "crm_kit", "student", "--output", str(students), "--instructor",
                              str(students)], capture_output=True, text=True)
    assert refused.returncode == 2 and "another folder than --output" in refused.stderr


def test_notebook_06_reads_the_demo_simulators_table_by_default_and_no_notebook_reads_outside_the_repository():
    from crm_kit.demo import OUTCOME_TRUTH
    from crm_kit.params import notebook_parameters
    from crm_kit.results import read_outcome_table

    params = notebook_parameters("06_outcome_table")
    assert params["outcome_table"].default == "demo"
    table, _path = read_outcome_table("demo")
    assert len(table) == OUTCOME_TRUTH["members"]
    assert set(table[params["outcome_arm_col"].default]) == set(OUTCOME_TRUTH["response"])
    rates = table.groupby("group")["responded"].mean()
    for arm, truth in OUTCOME_TRUTH["response"].items():
        assert abs(rates[arm] - truth) < 0.01, arm  # the planted rates, within sampling error
    for notebook in NOTEBOOKS:
        assert "../shared" not in (NB_DIR / f"{notebook}.ipynb").read_text(encoding="utf-8"), notebook


# ----------------------------------------------------------------------------- the lessons' definitions (issue 39)
# Each definition a lesson states, held against the function that computes it, on a small table where the
# plausible readings differ.


def _markdown(notebook: str) -> str:
    nb = nbformat.read(NB_DIR / f"{notebook}.ipynb", as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _methods() -> str:
    return (ROOT / "docs" / "explanation" / "methods.md").read_text(encoding="utf-8")


def test_the_decile_rule_as_taught_is_the_one_the_list_uses(tmp_path):
    """n = 15: NTILE gives 2,2,2,2,2,1,1,1,1,1; the ceil((d-1)n/10)+1 .. ceil(dn/10) rule the lesson used to state
    gives 2,1,2,1,... — the lesson's formula (q = n // 10, r = n % 10) must give the function's groups."""
    import pandas as pd

    from crm_kit import load_store
    from crm_kit.engine import monthly_customer_list

    n = 15
    lines = pd.DataFrame({"customer_id": [f"c{i:02d}" for i in range(n)], "order_id": [f"o{i}" for i in range(n)],
                          "ts": pd.Timestamp("2025-03-10"), "product_id": "p", "quantity": 1.0,
                          "amount": [100.0 - i for i in range(n)]})
    lines.to_parquet(tmp_path / "t.parquet")
    store = load_store({"tables": {"transactions": {"path": str(tmp_path / "t.parquet")}}, "cache": False})
    groups = monthly_customer_list(store.transactions, month="2025-03")["group"].value_counts().sort_index()
    q, r = divmod(n, 10)
    taught = [(d * q + min(d, r)) - ((d - 1) * q + min(d - 1, r)) for d in range(1, 11)]
    old = [-(-d * n // 10) - -(-(d - 1) * n // 10) for d in range(1, 11)]
    assert groups.tolist() == taught == [2, 2, 2, 2, 2, 1, 1, 1, 1, 1]
    assert old != taught  # the table tells the two readings apart
    lesson = _markdown("01_knowledge_discovery")
    assert r"(d-1)\,q + \min(d-1, r) + 1$ to $d\,q + \min(d, r)" in lesson and "2, 2, 2, 2, 2, 1, 1, 1, 1, 1" in lesson
    assert r"\lceil (d-1)\,n/10 \rceil" not in lesson
    assert "2, 2, 2, 2, 2, 1, 1, 1, 1, 1" in _methods()


def test_churn_counts_the_days_before_the_checkpoint_as_taught(tmp_path):
    """A customer who bought in the churn_days *after* the checkpoint but not before it is churned at it (the
    code's reading, the lessons' words); one who bought before it but not after is not."""
    import pandas as pd

    from crm_kit import load_store
    from crm_kit import segmentation as sg

    lines = pd.DataFrame({"customer_id": ["before", "before", "after", "after"], "order_id": ["1", "2", "3", "4"],
                          "ts": pd.to_datetime(["2025-01-02", "2025-03-20", "2025-01-03", "2025-04-10"]),
                          "product_id": "p", "quantity": 1.0, "amount": 10.0})
    lines.to_parquet(tmp_path / "t.parquet")
    store = load_store({"tables": {"transactions": {"path": str(tmp_path / "t.parquet")}}, "cache": False})
    for who, churned in (("before", 0), ("after", 1)):
        tiers = pd.DataFrame({"customer_id": [who], "tier": ["A"]})
        churn = sg.churn_by_tier(store, tiers, checkpoints=["2025-04-01"], churn_days=30)
        assert churn["churned"].tolist() == [churned], who
    assert "**before** it" in _markdown("02_segmentation") and "that follow" not in _markdown("02_segmentation")
    assert "`churn_days` **before** $c$" in _methods() and "`churn_days` after it" not in _methods()


def test_brand_loyalty_is_the_repeat_brand_rate_as_taught(tmp_path):
    """A, B, A, B in one category: repeat-brand rate 0, top brand's share 1/2 — the lessons name the first."""
    import pandas as pd

    from crm_kit import discovery, load_store

    lines = pd.DataFrame({"customer_id": "a", "order_id": ["1", "2", "3", "4"],
                          "ts": pd.to_datetime(["2025-03-01", "2025-03-05", "2025-03-09", "2025-03-20"]),
                          "product_id": ["x", "y", "x", "y"], "quantity": 1.0, "amount": 10.0})
    products = pd.DataFrame({"product_id": ["x", "y"], "category": ["soap", "soap"], "brand": ["A", "B"],
                             "unit_price": [10.0, 10.0], "stock": [1, 1]})
    lines.to_parquet(tmp_path / "t.parquet")
    products.to_parquet(tmp_path / "p.parquet")
    store = load_store({"tables": {"transactions": {"path": str(tmp_path / "t.parquet")},
                                   "products": {"path": str(tmp_path / "p.parquet")}}, "cache": False})
    row = discovery.customer_behaviour(store, month="2025-03", lookback_months=1).loc["a"]
    assert row["brand_loyalty"] == 0.0 and row["top_brand_share"] == 0.5
    assert "*repeat-brand rate*" in _methods() and "brand loyalty (the top brand's share)" not in _methods()
    assert "**repeat-brand rate**" in _markdown("01_knowledge_discovery")


def test_model_answers_quote_no_typed_figures_of_the_demo_run():
    """A model answer may name groups and rules; figures of the run (1.5 visits, 1.7 points) are read from it."""
    typed = re.compile(r"\d+\.\d+\s*(visits|points|%)|about \d[\d,.]*\s*(visits|points)")
    for notebook in NOTEBOOKS:
        for cell in nbformat.read(NB_DIR / f"{notebook}.ipynb", as_version=4).cells:
            if cell.cell_type == "markdown" and "Model answer" in cell.source:
                assert not typed.search(cell.source), (notebook, typed.search(cell.source).group(0))


@pytest.mark.parametrize("key, where", [("welch1947generalization", "Welch"), ("wilson1927probable", "Wilson"),
                                        ("newcombe1998interval", "Newcombe"), ("holm1979simple", "Holm"),
                                        ("hughes1994strategic", "RFM"), ("bult1995optimal", "RFM"),
                                        ("lin2013agnostic", "Lin"), ("deng2013cuped", "CUPED"),
                                        ("fader2005counting", "BG/NBD"), ("dunn1961multiple", "Bonferroni"),
                                        ("ernst2004permutation", "permutation")])
def test_each_method_cites_its_reference_where_it_is_used(key, where):
    assert key in BIB_KEYS
    methods = _methods()
    cited = [m.start() for m in re.finditer(r"\{cite:p\}`[^`]*" + key, methods)]
    assert cited, key
    # the citation sits in the paragraph that names the method
    paragraphs = [p for p in methods.split("\n\n") if key in p]
    assert any(where in p for p in paragraphs), (key, where)
