"""Tables for people: headers, units, dashes, truncation — the numbers themselves unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_kit.presentation import column_kind, header, human_table


def test_a_decile_table_reads_like_the_case():
    table = pd.DataFrame({"group": [1, 2], "customers": [1155, 1155], "sales_per_customer": [8029.27, 5999.93],
                          "sales_share": [0.256, 0.191], "visits_per_customer": [8.01, 7.03], "ticket": [1002.8, np.nan]})
    out = human_table(table, currency="¥")
    assert "<th>Sales per customer (¥)</th>" in out and "<th>Share of sales</th>" in out
    assert ">1,155<" in out and ">25.6%<" in out and ">8,029<" in out and ">8.01<" in out
    assert "snake" not in out and "sales_per_customer" not in out and "NaN" not in out
    assert ">–<" in out and "not defined here" in out  # a dash with its footnote
    assert "<th></th>" not in out and ">0<" not in out.split("<tbody>")[1][:40]  # no 0-9 row index


def test_long_tables_are_cut_with_a_note_and_named_indexes_kept():
    long = pd.DataFrame({"customer_id": [f"c{i}" for i in range(40)], "sales": np.arange(40.0)})
    out = human_table(long, max_rows=10)
    assert out.count("<tr>") == 11 and "Showing the first 10 of 40 rows" in out
    indexed = pd.DataFrame({"clv": [100.0]}, index=pd.Index(["A"], name="tier"))
    assert "<th>Tier</th>" in human_table(indexed) and ">A<" in human_table(indexed)


def test_kinds_and_units_by_column_name():
    assert column_kind("customers") == "count" and column_kind("sales_share") == "percent"
    assert column_kind("sales_growth_mean") == "percent" and column_kind("clv") == "money"
    assert header("clv", currency="£") == "Lifetime value (£)" and header("recency_days") == "Recency (days)"
    assert header("some_new_column") == "Some new column"
    lift = pd.DataFrame({"metric": ["visits", "sales"], "lift": [0.4, 120.0]})
    assert "(¥)" not in human_table(lift, currency="¥")  # one row per metric: no single unit for the column
    dicts = pd.DataFrame({"figure": ["goals"], "value": [{"freq_goal": 0.5}]})
    assert "{" not in human_table(dicts) and "freq_goal: 0.50" in human_table(dicts)


def test_a_describe_table_puts_no_currency_on_rows_of_other_units():
    """describe().T has one row per variable: a mean of purchases or of a probability is not money."""
    from crm_kit.presentation import human_table

    frame = pd.DataFrame({"expected_purchases": [1.0, 3.0], "probability_alive": [0.2, 0.9], "clv": [1500.0, 2500.0]})
    table = human_table(frame.describe().T, currency="¥")
    assert "¥" not in table and "Mean" in table
    assert ">2,000<" in table and ">0.55<" in table  # each row in its own magnitude
    assert ">2<" in table  # the count column stays a count


def test_a_describe_table_shows_a_constant_variables_spread_as_zero_not_float_noise():
    """1,000 equal values have a standard deviation of 1.4e-14 in floating point: it reads 0, a real small one keeps its digits."""
    from crm_kit.presentation import human_table

    frame = pd.DataFrame({"expected_spend": [123.456789] * 1000, "tiny": [0.0, 0.002] * 500})
    assert frame["expected_spend"].std() > 0  # the noise the table must not show
    table = human_table(frame.describe().T)
    assert "e-14" not in table and "e-1" not in table
    row = table.split("Expected spend")[1].split("</tr>")[0]
    assert ">0.00<" in row
    assert ">0.001<" in table.split(">tiny<")[1].split("</tr>")[0]  # a real spread of 0.001 keeps its digits
    dated = pd.DataFrame({"first_purchase": pd.to_datetime(["2025-01-01", "2025-03-01"]), "visits": [1.0, 1.0]})
    mixed = human_table(dated.describe(include="all").T)  # a date's row: min and max are dates, no std
    assert "Visits" in mixed and "2025-03-01" in mixed


def test_row_labels_without_a_name_get_no_index_header():
    from crm_kit.presentation import human_table

    table = human_table(pd.DataFrame({"customers": [3, 4]}, index=["more than 10 purchases", "lapsed"]))
    assert "<th></th><th>Customers</th>" in table and "Index" not in table
    assert "<th>Tier</th>" in human_table(pd.DataFrame({"customers": [1]}, index=pd.Index(["A"], name="tier")))


def test_an_outcome_tables_rates_are_percent_and_their_differences_points_that_never_read_zero():
    import re

    import pandas as pd

    table = pd.DataFrame([
        {"arm": "t", "outcome": "bought", "kind": "rate", "treated": 37_691, "control": 12_309,
         "treated_value": 0.111459, "control_value": 0.102364, "lift": 0.0031, "ci_low": 0.0004, "ci_high": 0.0058},
        {"arm": "t", "outcome": "spend", "kind": "mean", "treated": 37_691, "control": 12_309,
         "treated_value": 12.5, "control_value": 11.0, "lift": 1.5, "ci_low": 0.2, "ci_high": 2.8}])
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", human_table(table))
    rate, mean = cells[:10], cells[10:]
    assert rate[5:] == ["11.15%", "10.24%", "+0.31 pp", "+0.040 pp", "+0.58 pp"]
    assert mean[5:] == ["12.50", "11.00", "1.50", "0.20", "2.80"]


def test_a_small_mean_difference_keeps_its_digits():
    import re

    import pandas as pd

    table = pd.DataFrame([{"arm": "t", "outcome": "share", "kind": "mean", "treated": 10, "control": 10,
                           "treated_value": 0.3531, "control_value": 0.35, "lift": 0.0031, "ci_low": -0.0087,
                           "ci_high": 0.0149}])
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", human_table(table))
    assert cells[7:] == ["0.0031", "-0.0087", "0.01"]


def test_numbers_in_one_column_share_one_format():
    """The case's decile table: 8,000 at the top and 600 near the bottom, never "8,000" beside "600.00"."""
    deciles = pd.DataFrame({"group": [1, 9, 10], "sales_per_customer": [8000.0, 600.0, 100.5],
                            "ticket": [550.25, 120.0, 35.5], "customers": [1155.0, 1155.0, 1154.5]})
    out = human_table(deciles, currency="¥")
    assert ">8,000<" in out and ">600<" in out and ">100<" in out and ">600.00<" not in out
    assert ">550.25<" in out and ">120.00<" in out  # a column below 1,000 keeps its cents throughout
    assert ">1,155.00<" in out and ">1,154.50<" in out  # a count column holding a fraction: two decimals throughout
    # the numbers themselves are unchanged
    assert deciles["sales_per_customer"].tolist() == [8000.0, 600.0, 100.5]
