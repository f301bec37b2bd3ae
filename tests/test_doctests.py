"""Every ``Examples`` section in the package runs and prints what its docstring shows.

The examples are the first code a newcomer copies from the reference pages; a doctest that drifts from
the code fails here. Each builds its own few-row table, so the whole run takes seconds.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import crm_kit

MODULES = sorted(["crm_kit"] + [m.name for m in pkgutil.walk_packages(crm_kit.__path__, "crm_kit.")
                                if not m.name.endswith("__main__")])  # __main__ runs the command line
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_KIT_CACHE", str(tmp_path))  # the stores the examples load are cached here, not in data/
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    out: list[str] = []
    for test in finder.find(module, name):
        runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)


#: the functions a newcomer meets first (the notebooks call them, or they start a user's own data), by the module
#: that defines them
NEWCOMERS = {
    "crm_kit.store.load": ["load_store"],
    "crm_kit.draft": ["draft"],
    "crm_kit.periods": ["check_dates", "step_periods", "last_complete_month", "month_shift", "month_spans",
                        "clv_calibration_end"],
    "crm_kit.engine": ["month_bounds", "previous_period", "group_sizes", "lines_per_month", "customer_summary",
                       "period_metrics", "monthly_customer_list", "decile_table"],
    "crm_kit.discovery": ["pareto_table", "pareto_share", "growth_kpis", "repurchase_intervals", "behaviour_table",
                          "bought_together"],
    "crm_kit.clv": ["clv_summary", "bgnbd_loglik", "shrunk_spend", "degenerate_parameters"],
    "crm_kit.plotting": ["plot_deciles", "plot_pareto", "plot_flow", "plot_migration"],
    "crm_kit.segmentation": ["RFMScorer", "ValueTiers", "rule_segments", "overlap_matrix"],
    "crm_kit.campaign._target": ["baseline", "goal_targets"],
    "crm_kit.campaign._design": ["check_treatment_arms", "assign_arms", "arm_costs", "choose_strata"],
    "crm_kit.experiment._power": ["power_analysis"],
    "crm_kit.results._groups": ["growth_table", "split_rule", "classify_round", "growth_summary", "goal_attainment",
                                "group_summary"],
    "crm_kit.results._lift": ["compare_arms", "lift_shown"],
    "crm_kit.changes": ["compare_months", "lmdi", "migration_matrix", "migration_flows"],
    "crm_kit.presentation": ["customer_rows"],
}


@pytest.mark.parametrize("name", sorted(NEWCOMERS))
def test_the_newcomers_functions_have_examples(name):
    """Each function a newcomer calls first shows an example that runs (and checks its output)."""
    module = importlib.import_module(name)
    shown = {t.name.rsplit(".", 1)[-1] for t in doctest.DocTestFinder().find(module, name)
             if any(e.want for e in t.examples)}
    assert not set(NEWCOMERS[name]) - shown, f"{name}: no example with an output in {sorted(set(NEWCOMERS[name]) - shown)}"
