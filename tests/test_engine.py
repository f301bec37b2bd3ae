"""Engine operations: hand-computed results, and equality with an independent pandas computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from crm_kit import ParameterError, load_store
from crm_kit.engine import customer_summary, decile_table, group_sizes, monthly_customer_list, period_metrics
from conftest import StraightLineModel, shared_file, write_spec


# ---------------------------------------------------------------- independent pandas versions


def pandas_summary(lines: pd.DataFrame, as_of) -> pd.DataFrame:
    as_of = pd.Timestamp(as_of)
    t = lines[lines["ts"] < as_of]
    g = t.groupby("customer_id")
    out = pd.DataFrame(
        {
            "first_purchase": g["ts"].min(),
            "last_purchase": g["ts"].max(),
            "frequency": g["order_id"].nunique(),
            "active_days": g["ts"].agg(lambda s: s.dt.normalize().nunique()),
            "sales": g["amount"].sum(),
            "items": g["quantity"].sum().astype(float),
        }
    )
    out["tenure_days"] = (as_of.normalize() - out["first_purchase"].dt.normalize()).dt.days
    out["recency_days"] = (as_of.normalize() - out["last_purchase"].dt.normalize()).dt.days
    out["repeat_frequency"] = out["active_days"] - 1
    out["mean_ticket"] = out["sales"] / out["frequency"]
    return out.reset_index()


def pandas_period(lines, start, end):
    t = lines[(lines["ts"] >= start) & (lines["ts"] < end)]
    g = t.groupby("customer_id")
    return pd.DataFrame({"visits": g["order_id"].nunique(), "sales": g["amount"].sum()})


def pandas_monthly_list(lines, month, groups):
    start = pd.Timestamp(month + "-01")
    end = start + pd.offsets.MonthBegin(1)
    per = pandas_period(lines, start, end).reset_index()
    per = per.assign(cents=per["sales"].round(2)).sort_values(["cents", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    per["rank"] = np.arange(1, len(per) + 1)
    per["group"] = np.repeat(np.arange(1, groups + 1), group_sizes(len(per), groups))
    return per


def _compare_summary(engine_df, ref):
    cols = ["customer_id", "tenure_days", "recency_days", "frequency", "repeat_frequency", "sales", "mean_ticket", "items"]
    a = engine_df[cols].sort_values("customer_id").reset_index(drop=True)
    b = ref[cols].sort_values("customer_id").reset_index(drop=True)
    assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)


# ---------------------------------------------------------------- hand-computed


@pytest.fixture
def tiny_store(tmp_path, tiny_lines):
    return load_store(write_spec(tmp_path, tiny_lines))


def test_customer_summary_by_hand(tiny_store):
    s = customer_summary(tiny_store.transactions, as_of="2025-03-01").set_index("customer_id")
    # a: orders o1 (two lines) and o2 on two days; sales 45; first 2025-01-05, last 2025-01-20
    assert s.loc["a", "frequency"] == 2 and s.loc["a", "repeat_frequency"] == 1
    assert s.loc["a", "sales"] == 45 and s.loc["a", "mean_ticket"] == 22.5 and s.loc["a", "items"] == 4
    assert s.loc["a", "tenure_days"] == 55 and s.loc["a", "recency_days"] == 40
    # c: three orders, two on the same day -> repeat frequency 1
    assert s.loc["c", "frequency"] == 3 and s.loc["c", "repeat_frequency"] == 1
    assert s.loc["c", "recency_days"] == 4


def test_summary_as_of_excludes_later_purchases(tiny_store):
    s = customer_summary(tiny_store.transactions, as_of="2025-02-01").set_index("customer_id")
    assert set(s.index) == {"a", "b"}
    assert s.loc["b", "sales"] == 30


def test_period_metrics_by_hand(tiny_store):
    m = period_metrics(tiny_store.transactions, periods={"base": "2025-01", "campaign": "2025-02"}, customer_ids=["a", "b", "c", "z"])
    assert m.loc["a", "visits_base"] == 2 and m.loc["a", "ticket_base"] == 22.5 and m.loc["a", "visits_campaign"] == 0
    assert np.isnan(m.loc["a", "ticket_campaign"])
    assert m.loc["c", "sales_campaign"] == 64 and m.loc["c", "visits_campaign"] == 3
    assert m.loc["z"].drop(["ticket_base", "ticket_campaign"]).sum() == 0


def test_overlapping_periods_rejected(tiny_store):
    with pytest.raises(ParameterError, match="overlap"):
        period_metrics(tiny_store.transactions, periods={"a": ("2025-01-01", "2025-02-10"), "b": "2025-02"})


def test_monthly_list_and_deciles_by_hand(tiny_store):
    cl = monthly_customer_list(tiny_store.transactions, month="2025-01", groups=2)
    assert cl["customer_id"].tolist() == ["a", "b"] and cl["group"].tolist() == [1, 2]
    d = decile_table(cl).set_index("group")
    assert d.loc[1, "sales_share"] == pytest.approx(45 / 75)
    assert d.loc[2, "cum_sales_share"] == pytest.approx(1.0)


def test_group_sizes_follow_ntile():
    assert group_sizes(11550, 10).tolist() == [1155] * 10
    assert group_sizes(13, 4).tolist() == [4, 3, 3, 3]


def test_engine_equals_pandas_on_tiny_table(tiny_store, tiny_lines):
    _compare_summary(customer_summary(tiny_store.transactions, as_of="2025-03-01"), pandas_summary(tiny_lines, "2025-03-01"))


def test_engine_equals_pandas_on_demo_store(demo_store, demo_dir):
    lines = pd.read_parquet(demo_dir / "transactions.parquet")
    lines = lines[lines["ts"] < "2025-03-01"]
    _compare_summary(customer_summary(demo_store.transactions, as_of="2025-03-01"), pandas_summary(lines, "2025-03-01"))
    a = monthly_customer_list(demo_store.transactions, month="2025-01", groups=10)
    b = pandas_monthly_list(lines, "2025-01", 10)
    assert_frame_equal(a[["customer_id", "rank", "group", "visits"]], b[["customer_id", "rank", "group", "visits"]], check_dtype=False)
    np.testing.assert_allclose(a["sales"], b["sales"], rtol=1e-9)


@pytest.mark.realdata
def test_engine_equals_pandas_on_online_retail():
    path = shared_file("online_retail", "online_retail.parquet")
    spec = {
        "tables": {"transactions": {"path": str(path), "columns": {
            "customer_id": "CustomerID", "order_id": "InvoiceNo", "ts": "InvoiceDate",
            "product_id": "StockCode", "quantity": "Quantity", "unit_price": "UnitPrice"}}},
        "cleaning": {"cancellation_prefix": "C"},
    }
    store = load_store(spec)
    raw = pd.read_parquet(path).drop_duplicates()
    # returns (a negative quantity or amount, or a C invoice) dropped; free lines (zero amount) are purchases
    raw = raw[~raw["InvoiceNo"].astype(str).str.startswith("C") & (raw["Quantity"] >= 0)
              & (raw["Quantity"] * raw["UnitPrice"] >= 0)]
    raw = raw.dropna(subset=["CustomerID"])
    lines = pd.DataFrame(
        {
            "customer_id": raw["CustomerID"].astype("int64").astype(str),
            "order_id": raw["InvoiceNo"].astype(str),
            "ts": pd.to_datetime(raw["InvoiceDate"]),
            "quantity": raw["Quantity"].astype(float),
            "amount": raw["Quantity"] * raw["UnitPrice"],
        }
    )
    as_of = "2011-12-10"
    _compare_summary(customer_summary(store.transactions, as_of=as_of), pandas_summary(lines, as_of))
    a = period_metrics(store.transactions, periods={"base": "2011-10", "campaign": "2011-11"})
    for name, month in (("base", "2011-10"), ("campaign", "2011-11")):
        start = pd.Timestamp(month + "-01")
        ref = pandas_period(lines, start, start + pd.offsets.MonthBegin(1)).reindex(a.index).fillna(0)
        np.testing.assert_array_equal(a[f"visits_{name}"], ref["visits"])
        np.testing.assert_allclose(a[f"sales_{name}"], ref["sales"], rtol=1e-9)
    e = monthly_customer_list(store.transactions, month="2011-11", groups=10)
    r = pandas_monthly_list(lines, "2011-11", 10)
    assert_frame_equal(e[["customer_id", "rank", "group"]], r[["customer_id", "rank", "group"]], check_dtype=False)
    assert_frame_equal(decile_table(e), decile_table(r[e.columns.intersection(r.columns)].assign(visits=r["visits"])), check_dtype=False, rtol=1e-9)


def test_periods_as_months_intervals_and_pairs():
    from crm_kit.engine import parse_period, previous_period

    ts = pd.Timestamp
    assert parse_period("2025-02") == (ts("2025-02-01"), ts("2025-03-01"))
    assert parse_period("2017-09-04/2017-10-30") == (ts("2017-09-04"), ts("2017-10-30"))
    assert parse_period({"start": "2017-09-04", "end": "2017-09-05"}) == (ts("2017-09-04"), ts("2017-09-05"))
    assert previous_period("2025-03") == (ts("2025-02-01"), ts("2025-03-01"))  # a month, not 28 days back
    assert previous_period("2017-09-04/2017-10-30") == (ts("2017-07-10"), ts("2017-09-04"))
    with pytest.raises(ParameterError, match=r"end 2017-09-01 must come after start"):
        parse_period("2017-09-04/2017-09-01")
    with pytest.raises(ParameterError, match=r"'2017-13-30' is not a date"):
        parse_period("2017-09-04/2017-13-30")
    with pytest.raises(ParameterError, match=r"give a month 'YYYY-MM', an interval"):
        parse_period("September")


def test_only_customer_level_results_reach_pandas(demo_store, monkeypatch):
    """Every query of the analyses returns per-customer (or coarser) rows: none brings lines or orders into Python.

    Each result the engine hands back is counted; the largest must stay below the customers times the periods a
    call asks about, far below the store's orders (a query that fetched orders or lines would exceed it).
    """
    import ibis.backends.duckdb as duck

    from crm_kit import clv, discovery, engine, segmentation
    from crm_kit.clv import CLVResult

    sizes: list[int] = []
    execute = duck.Backend.execute

    def counted(self, expr, *args, **kwargs):
        result = execute(self, expr, *args, **kwargs)
        sizes.append(len(result) if hasattr(result, "__len__") else 1)
        return result

    monkeypatch.setattr(duck.Backend, "execute", counted)
    store, lines = demo_store, demo_store.transactions
    orders = int(execute(store.con, lines.select("customer_id", "order_id").distinct().count()))
    summary = engine.customer_summary(lines, as_of="2025-10-01")
    customers = len(summary)
    engine.period_metrics(lines, periods={"base": "2025-09", "campaign": "2025-10"})
    customer_list = engine.monthly_customer_list(lines, month="2025-09")
    engine.pre_period_covariates(lines, customer_list["customer_id"], base="2025-09", periods=12)
    discovery.behaviour_table(store, customer_list, month="2025-09")
    discovery.repurchase_intervals(store, as_of="2025-10-01")
    discovery.growth_kpis(store)
    discovery.new_customer_repeat_rate(store)
    discovery.product_classes(store, period="2025-09")
    discovery.bought_together(store, period="2025-09")
    tiers = segmentation.ValueTiers().fit_transform(summary)
    segmentation.churn_by_tier(store, tiers, checkpoints=pd.date_range(end="2025-10-01", periods=6, freq="MS"))
    calibration = clv.clv_summary(lines, calibration_end="2025-06-01", observation_end="2025-10-01")

    fitted = CLVResult(transaction_model=StraightLineModel(0.01), spend_model=None, params={}, customers=calibration)
    clv.tracking_table(lines, fitted, calibration_end="2025-06-01", observation_end="2025-10-01")
    assert len(sizes) > 15 and orders > 20 * customers
    # the covariates ask for 12 months per member: their long table is the largest a call may bring back
    assert max(sizes) <= 12 * customers < orders / 2


# ---------------------------------------------------------------- queries that scale out

#: windows with no partition the package keeps on purpose: (module, function) -> why
UNPARTITIONED_WINDOWS = {
    # DuckDB's path only (the row hash exists there alone); DuckDB sorts in parallel; other engines take a DISTINCT
    ("crm_kit/store/clean.py", "_without_repeats"): "DuckDB only",
}


def _windows_without_partition(expr) -> list[str]:
    import ibis.expr.operations as ops

    return [f"{type(w.func).__name__} over order_by {[str(getattr(k.arg, 'name', k.arg)) for k in w.order_by]}"
            for w in expr.op().find(ops.WindowFunction) if not w.group_by]


@pytest.fixture(scope="module")
def demo_600(tmp_path_factory):
    from crm_kit.demo import generate_demo_store

    folder = generate_demo_store(tmp_path_factory.mktemp("demo600") / "demo", n_members=600, seed=3)
    return load_store({"source": "demo", "folder": str(folder), "n_members": 600, "seed": 3})


def test_no_query_of_the_analyses_has_a_window_over_everything(demo_600, monkeypatch):
    """Every expression the steps' analyses compile is searched for a window function with no PARTITION BY: on a
    distributed engine such a window moves all customers (or lines) to one partition (Spark: "No Partition Defined
    for Window operation"). Deciles and ranks are made on the customer-level table instead."""
    from ibis.backends.sql.compilers.base import SQLGlotCompiler

    from crm_kit import discovery, engine, segmentation

    found: list[str] = []
    to_sqlglot = SQLGlotCompiler.to_sqlglot

    def checked(self, expr, *args, **kwargs):
        found.extend(_windows_without_partition(expr))
        return to_sqlglot(self, expr, *args, **kwargs)

    monkeypatch.setattr(SQLGlotCompiler, "to_sqlglot", checked)
    # the check sees a window over everything (so an empty list below means something)
    lines = demo_600.transactions
    bad = lines.mutate(r=__import__("ibis").row_number().over(order_by="ts"))
    demo_600.con.compile(bad.limit(1))
    assert found == ["RowNumber over order_by ['ts']"]
    found.clear()
    store = demo_600
    summary = engine.customer_summary(lines, as_of="2025-10-01")
    engine.period_metrics(lines, periods={"base": "2025-09", "campaign": "2025-10"})
    customer_list = engine.monthly_customer_list(lines, month="2025-09")
    engine.decile_table(customer_list)
    engine.pre_period_covariates(lines, customer_list["customer_id"], base="2025-09", periods=3)
    discovery.behaviour_table(store, customer_list, month="2025-09")
    discovery.group_bestsellers(store, customer_list.loc[customer_list["group"] == 8, "customer_id"], period="2025-09")
    discovery.repurchase_intervals(store, as_of="2025-10-01")
    discovery.growth_kpis(store)
    discovery.new_customer_repeat_rate(store)
    discovery.product_classes(store, period="2025-09")
    discovery.bought_together(store, period="2025-09")
    tiers = segmentation.ValueTiers().fit_transform(summary)
    segmentation.churn_by_tier(store, tiers, checkpoints=pd.date_range(end="2025-10-01", periods=3, freq="MS"))
    assert found == []


def test_every_window_in_the_package_has_a_partition():
    """The source's every ``ibis.window(...)`` and ``.over(order_by=...)`` names a ``group_by``, but for the windows
    kept on purpose (:data:`UNPARTITIONED_WINDOWS`, each with its reason)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    offenders = []
    for path in sorted((root / "crm_kit").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            for call in [n for n in ast.walk(func) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]:
                is_window = call.func.attr == "window" and isinstance(call.func.value, ast.Name) and call.func.value.id == "ibis"
                is_over = call.func.attr == "over" and any(k.arg in ("order_by", "group_by") for k in call.keywords)
                if (is_window or is_over) and not any(k.arg == "group_by" for k in call.keywords):
                    where = (str(path.relative_to(root)), func.name)
                    if where not in UNPARTITIONED_WINDOWS:
                        offenders.append(f"{where[0]}:{call.lineno} in {func.name}")
    assert offenders == [], f"windows with no partition: {offenders}"


# ---------------------------------------------------------------- exact money


def test_money_sums_do_not_depend_on_the_order_of_the_lines(tmp_path):
    """The same lines in two orders give bit-identical figures: sums of doubles moved in the last bit with the order
    the engine added them (0.1 + 0.2 + 0.3 is not 0.3 + 0.2 + 0.1), and the CLV fit amplified it."""
    from crm_kit.clv import clv_summary
    from crm_kit.store.money import money_sum

    rng = np.random.default_rng(7)
    n = 3000
    orders = pd.Series(rng.integers(0, 300, 900))
    lines = pd.DataFrame({
        "customer_id": rng.choice([f"c{i:03d}" for i in range(40)], n),
        "order_id": [f"o{i:05d}" for i in rng.integers(0, 900, n)],
        "product_id": rng.choice(["p1", "p2", "p3"], n),
        "quantity": 1,
        "amount": rng.choice([0.1, 0.2, 0.3, 19.99, 5.55, 0.07, 1234.56], n),
    })
    lines["ts"] = pd.Timestamp("2025-01-01") + pd.to_timedelta(
        orders.iloc[lines["order_id"].str[1:].astype(int)].to_numpy(), unit="D")
    # the doubles themselves do differ by order here (so the equalities below mean something)
    by_customer = lines.groupby("customer_id")["amount"]
    assert (by_customer.sum() != by_customer.apply(lambda s: s.iloc[::-1].sum())).any()
    figures = []
    for i, frame in enumerate((lines, lines.sample(frac=1, random_state=1))):
        (tmp_path / str(i)).mkdir()
        store = load_store(write_spec(tmp_path / str(i), frame, cache=False))
        t = store.transactions
        figures.append([
            customer_summary(t, as_of="2025-10-01"),
            period_metrics(t, periods={"base": "2025-08", "campaign": "2025-09"}),
            monthly_customer_list(t, month="2025-08", groups=4),
            clv_summary(t, calibration_end="2025-06-01", observation_end="2025-10-01"),
            store.con.to_pandas(t.aggregate(sales=money_sum(t.amount))),
        ])
        kept = store.con.to_pandas(t.select("amount"))["amount"]  # the lines cleaning kept (repeated lines dropped)
        assert figures[-1][4]["sales"].iloc[0] == pytest.approx(kept.sum(), abs=1e-6)
    for a, b in zip(*figures):
        assert_frame_equal(a, b, check_exact=True)
