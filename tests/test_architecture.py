"""The shape of the package: imports point down the data flow, notebooks narrate, hand-offs are typed.

These tests hold the architecture (docs/explanation/architecture.md) in place: a module may import
only modules of its own layer or below and never in a cycle; a notebook code
cell holds at most one branch or loop (decisions live in the package); the
file name of a hand-off between steps appears only in ``crm_kit.artifacts``.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "crm_kit"

#: layers from the bottom up; a module may import its own layer and the ones below it
LAYERS = [
    ("base", {"crm_kit.errors", "crm_kit.config", "crm_kit.params", "crm_kit.language", "crm_kit.files"}),
    ("store and engine", {"crm_kit.store", "crm_kit.engine"}),
    ("hand-offs", {"crm_kit.artifacts"}),
    ("experiment core", {"crm_kit.experiment"}),
    ("analysis", {"crm_kit.discovery", "crm_kit.segmentation", "crm_kit.clv", "crm_kit.campaign",
                  "crm_kit.results", "crm_kit.plotting", "crm_kit.presentation", "crm_kit.uplift",
                  "crm_kit.periods", "crm_kit.changes"}),
    ("cycle", {"crm_kit.cycle"}),
    ("demo", {"crm_kit.demo"}),
    ("teaching", {"crm_kit.teaching"}),
    ("run", {"crm_kit.run", "crm_kit.cli", "crm_kit.__main__", "crm_kit.draft"}),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> int:
    for i, (_name, members) in enumerate(LAYERS):
        if any(module == m or module.startswith(m + ".") for m in members):
            return i
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in tests/test_architecture.py")


def _imports(path: Path) -> set[str]:
    """Every crm_kit module ``path`` imports, at the top or inside a function."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("crm_kit")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("crm_kit"):
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                # `from . import demo` names a module; `from .store import Store` names a value
                is_module = (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists() or \
                    (ROOT / Path(*candidate.split("."))).is_dir()
                found.add(candidate if is_module else target)
    return found


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        if name == "crm_kit":
            continue  # the facade re-exports the top of the package; it is no layer of its own
        graph[name] = {m for m in _imports(path) if m != "crm_kit" and m != name}
    return graph


def test_every_import_points_down_the_data_flow():
    upward = []
    for module, imported in _graph().items():
        for target in imported:
            if _layer(target) > _layer(module):
                upward.append(f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})")
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    graph = _graph()
    # a subpackage's __init__ importing its own modules is how a package is built, not a cycle
    edges = {m: {t for t in ts if not (m in LAYERS_PACKAGES and t.startswith(m + "."))} for m, ts in graph.items()}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if nxt not in edges:
                continue
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


LAYERS_PACKAGES = {"crm_kit.store", "crm_kit.demo", "crm_kit.run", "crm_kit.experiment", "crm_kit.campaign",
                   "crm_kit.results"}


def test_the_experiment_core_knows_no_crm_step():
    """The statistics of an experiment sit below campaign design and result analysis: the core imports neither
    (nor any other analysis step), and both steps call it."""
    graph = _graph()
    core = [m for m in graph if m == "crm_kit.experiment" or m.startswith("crm_kit.experiment.")]
    assert len(core) >= 5
    for module in core:
        above = {t for t in graph[module] if _layer(t) >= _layer("crm_kit.campaign")}
        assert not above, f"{module} imports {sorted(above)}"
        assert graph[module] <= {"crm_kit.errors"} | set(core), (module, graph[module])
    for step in ("crm_kit.campaign._design", "crm_kit.results._lift"):
        assert "crm_kit.experiment" in graph[step], step


@pytest.mark.parametrize("package", ["campaign", "results", "experiment"])
def test_campaign_results_and_the_core_stay_readable_modules(package):
    """One concern per module: none of campaign, results or the experiment core grows past about 700 lines."""
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in (PACKAGE / package).glob("*.py")}
    assert len(sizes) >= 3 and max(sizes.values()) <= 700, sizes


#: the store's rooms of the reading path, in the order a file passes them (``crm-kit init`` and the load alike)
READING_PATH = ["sniff", "profile", "layouts", "source", "connect", "convert", "read", "derive", "cast", "prepare",
                "engine_errors"]


def test_the_reading_path_and_inits_decisions_stay_small_modules_with_one_job_each():
    """Each room of the reading path (store) and of init's decisions (the draft package) stays about 600 lines or
    fewer; the draft is a package, no longer one module."""
    store = {name: len((PACKAGE / "store" / f"{name}.py").read_text(encoding="utf-8").splitlines())
             for name in READING_PATH}
    draft = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in (PACKAGE / "draft").glob("*.py")}
    assert not (PACKAGE / "draft.py").exists()
    assert max(store.values()) <= 600, store
    assert len(draft) >= 6 and max(draft.values()) <= 600, draft
    graph = _graph()
    assert all(not t.startswith("crm_kit.draft") for m in graph if m.startswith("crm_kit.store") for t in graph[m])


def test_the_old_teaching_location_is_the_same_module_and_says_it_moved():
    import subprocess
    import sys

    code = ("import warnings\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    from crm_kit.run import teaching as old\n"
            "from crm_kit import teaching\n"
            "assert old is teaching and old.NotYet is teaching.NotYet\n"
            "assert any('crm_kit.teaching' in str(w.message) for w in caught), [str(w.message) for w in caught]\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr[-2000:]


def test_the_store_never_imports_the_demo_or_the_analysis():
    graph = _graph()
    store_modules = [m for m in graph if m == "crm_kit.store" or m.startswith("crm_kit.store.")]
    assert len(store_modules) >= 6
    for module in store_modules:
        assert not {t for t in graph[module] if t.startswith(("crm_kit.demo", "crm_kit.discovery", "crm_kit.results",
                                                                "crm_kit.campaign", "crm_kit.artifacts"))}, module


def test_the_package_imports_the_demo_only_when_a_spec_names_it(demo_dir):
    """``import crm_kit`` leaves the demo (and scipy.stats, which its generator imports) unloaded — half a second
    of every command's start — and ``data: demo`` still resolves, importing it then."""
    import subprocess
    import sys

    code = ("import sys, crm_kit\n"
            "assert 'crm_kit.demo' not in sys.modules and 'scipy.stats' not in sys.modules, sorted(sys.modules)\n"
            "from crm_kit.store.spec import resolve_source\n"
            "spec = resolve_source({'source': 'demo'})\n"
            "assert 'crm_kit.demo' in sys.modules\n"
            "print(spec['tables']['transactions']['path'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().startswith(str(demo_dir))


def _branches(source: str) -> int:
    count = 0
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.If, ast.IfExp, ast.For, ast.AsyncFor, ast.While)):
            count += 1
        elif isinstance(node, ast.comprehension):
            count += 1 + len(node.ifs)
    return count


def _code_cells():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                yield path.name, i, "".join(cell["source"])


def test_the_branch_counter_counts_what_it_should():
    assert _branches("x = 1") == 0
    assert _branches("if a:\n    b()\nelse:\n    c()") == 1
    assert _branches("y = [c for c in cols if c in df]") == 2
    assert _branches("for a in b:\n    x = 1 if a else 2") == 2


@pytest.mark.parametrize("notebook", sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
def test_notebook_cells_narrate_and_the_package_decides(notebook):
    heavy = [(i, _branches(src)) for name, i, src in _code_cells() if name == notebook and _branches(src) > 1]
    assert not heavy, f"{notebook}: cells with more than one if/for (move the decision into crm_kit): {heavy}"
    defs = [i for name, i, src in _code_cells() if name == notebook and re.search(r"^\s*(def|class)\s", src, re.M)]
    assert not defs, f"{notebook}: cells {defs} define a function or class"


#: the file names of the hand-offs between steps: a stem, a round number or placeholder, an extension
HANDOFF_FILE = re.compile(
    r"(?<!\w)(discovery_summary|customer_groups|segmentation_summary|customer_segments|campaign_round|"
    r"contact_list_round|results_round|round|cycle_summary|contact_details_round)"
    r"(\{\w*\}|\d+)?(_groups)?(\.(json|yaml|parquet|csv))?$"
)


def _string_literals(source: str) -> list[str]:
    """String constants of code: docstrings and the names the module defines left out."""
    tree = ast.parse(source)
    skip = set()
    defined = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            defined.add(node.name)
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in skip and n.value not in defined]


def _names_a_handoff_file(text: str) -> bool:
    match = HANDOFF_FILE.search(text)
    # a bare "round" is a word, not a file: it names one only with a number or "_groups"
    return bool(match) and not (match.group(1) == "round" and not match.group(3))


def test_the_handoff_pattern_finds_file_names_only():
    for text in ("discovery_summary", "results_round", "campaign_round1.json", "round{n}_groups", "round2_groups.parquet",
                 "contact_list_round"):
        assert _names_a_handoff_file(text), text
    for text in ("low_value_groups", "05_cycle_summary", "round", "target group", "age_groups"):
        assert not _names_a_handoff_file(text), text


def test_handoff_file_names_live_only_in_the_artifacts_module():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "artifacts.py":
            continue
        offenders += [f"{path.relative_to(ROOT)}: {t!r}" for t in _string_literals(path.read_text(encoding="utf-8"))
                      if _names_a_handoff_file(t)]
    for name, i, src in _code_cells():
        offenders += [f"notebooks/{name} cell {i}: {t!r}" for t in _string_literals(src) if _names_a_handoff_file(t)]
    assert not offenders, "\n".join(offenders)


def test_every_handoff_round_trips_through_json(tmp_path):
    import pandas as pd

    from crm_kit import artifacts

    summary = artifacts.DiscoverySummary(month="2025-09", groups=10, customers=2, total_sales=3.5,
                                         pareto_share_of_customers=float("nan"),
                                         decile_table=pd.DataFrame({"group": [1], "sales": [3.5]}),
                                         customer_groups=pd.DataFrame({"customer_id": ["a", "b"], "group": [1, 2]}))
    summary.write(tmp_path)
    back = artifacts.DiscoverySummary.read(tmp_path)
    assert back.decile_table == [{"group": 1, "sales": 3.5}]
    assert back.pareto_share_of_customers is None  # strict JSON: an undefined number is null, never NaN
    pd.testing.assert_frame_equal(back.customer_groups, summary.customer_groups)
    result = artifacts.RoundResult(round=2, lift=[{"metric": "sales", "lift": 1.0}], groups=[], group_counts={"A41": 1},
                                   returns={"estimate": "lift"})
    result.write(tmp_path)
    doc = json.loads((tmp_path / f"{artifacts.RoundResult.stem(2)}.json").read_text())
    assert doc["return"] == {"estimate": "lift"} and "returns" not in doc
    assert artifacts.RoundResult.read(tmp_path, 2).returns == {"estimate": "lift"}
    assert set(artifacts.collect_metrics(tmp_path)) == {"discovery", "results_round2"}
