"""Charts: the numbers drawn are the numbers computed, and axes carry labels with units."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from crm_kit import plotting  # noqa: E402


def _lift():
    return pd.DataFrame([
        {"metric": "visits", "control_mean": 2.0, "treated_base_mean": 4.0, "lift": 1.0, "ci_low": 0.5, "ci_high": 1.5,
         "relative_lift": 0.5, "did": 0.4, "did_ci_low": -0.2, "did_ci_high": 1.0},
        {"metric": "sales", "control_mean": 100.0, "treated_base_mean": 200.0, "lift": 30.0, "ci_low": 10.0,
         "ci_high": 50.0, "relative_lift": 0.3, "did": 20.0, "did_ci_low": 0.0, "did_ci_high": 40.0},
        {"metric": "ticket", "control_mean": 50.0, "treated_base_mean": 50.0, "lift": 5.0, "ci_low": -1.0,
         "ci_high": 11.0, "relative_lift": 0.1, "did": np.nan, "did_ci_low": np.nan, "did_ci_high": np.nan},
    ])


@pytest.mark.parametrize("estimate, widths, title", [
    ("lift", [0.5, 0.3, 0.1], "against the control group"),
    ("did", [0.1, 0.1], "comparison group (not random)"),
])
def test_lift_chart_draws_the_chosen_estimate(estimate, widths, title):
    import matplotlib.pyplot as plt

    ax = plotting.plot_lift(_lift(), estimate=estimate)
    assert [round(p.get_width(), 9) for p in ax.patches] == widths
    assert title in ax.get_title() and ax.get_xlabel()
    plt.close("all")


def test_naive_chart_draws_each_figure():
    import matplotlib.pyplot as plt

    comparison = pd.DataFrame({"figure": ["naive: treated sales growth (mean of individual rates)",
                                          "naive: treated sales growth (ratio of totals)",
                                          "control group's own growth", "controlled: lift in sales per customer over control, relative",
                                          "controlled: lift in sales per customer"],
                               "value": [0.8, 0.4, 0.1, 0.25, 137.0]})
    ax = plotting.plot_naive_vs_controlled(comparison)
    assert [round(p.get_height(), 9) for p in ax.patches] == [0.8, 0.4, 0.1, 0.25]
    assert ax.get_ylabel() == "sales growth / lift"
    plt.close("all")
