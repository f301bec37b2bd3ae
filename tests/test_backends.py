"""The same kit on other engines: PostgreSQL and a local Spark session equal the DuckDB/Parquet run.

.ci/run installs and starts PostgreSQL on loopback and exports the credentials
(CRM_KIT_PG_HOST, CRM_KIT_PG_USER, CRM_KIT_PG_PASSWORD, CRM_KIT_PG_DB) with
CRM_KIT_REQUIRE_POSTGRES=1; elsewhere the test skips when they are not set.
Credentials come from the environment, never from a params file.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from crm_kit import ParameterError, load_store
from crm_kit import discovery
from crm_kit.engine import customer_summary, decile_table, monthly_customer_list, period_metrics

PG_ENV = ("CRM_KIT_PG_HOST", "CRM_KIT_PG_USER", "CRM_KIT_PG_PASSWORD", "CRM_KIT_PG_DB")
TABLES = ("transactions", "customers", "products", "contacts")


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    from crm_kit.demo import generate_demo_store

    return generate_demo_store(tmp_path_factory.mktemp("pgdemo") / "demo", n_members=600, seed=3)


@pytest.fixture(scope="module")
def postgres_spec(small_demo):
    if not all(os.environ.get(k) for k in PG_ENV):
        if os.environ.get("CRM_KIT_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL credentials are required here (CRM_KIT_REQUIRE_POSTGRES=1) but not set")
        pytest.skip("no PostgreSQL credentials in the environment (CRM_KIT_PG_*)")
    import ibis

    options = {"host": "$CRM_KIT_PG_HOST", "user": "$CRM_KIT_PG_USER", "password": "$CRM_KIT_PG_PASSWORD",
               "database": "$CRM_KIT_PG_DB"}
    con = ibis.postgres.connect(**{k: os.path.expandvars(v) for k, v in options.items()})
    for name in TABLES:
        con.create_table(f"crm_{name}", pd.read_parquet(small_demo / f"{name}.parquet"), overwrite=True)
    return {"tables": {n: {"table": f"crm_{n}"} for n in TABLES},
            "engine": {"backend": "postgres", "options": options}}


def _parquet_spec(folder):
    return {"tables": {n: {"path": str(folder / f"{n}.parquet")} for n in TABLES}, "cache": False}


def test_postgres_run_equals_parquet_run(postgres_spec, small_demo):
    pg = load_store(postgres_spec)
    pq = load_store(_parquet_spec(small_demo))
    assert type(pg.con).__module__.startswith("ibis.backends.postgres")
    assert_frame_equal(pg.cleaning_report, pq.cleaning_report, check_dtype=False)
    a = customer_summary(pg.transactions, as_of="2025-10-01")
    b = customer_summary(pq.transactions, as_of="2025-10-01")
    cols = ["customer_id", "tenure_days", "recency_days", "frequency", "repeat_frequency", "sales", "items", "distinct_categories"]
    assert_frame_equal(a[cols], b[cols], check_dtype=False, rtol=1e-9)
    pm_a = period_metrics(pg.transactions, periods={"base": "2025-09", "campaign": "2025-10"})
    pm_b = period_metrics(pq.transactions, periods={"base": "2025-09", "campaign": "2025-10"})
    assert_frame_equal(pm_a, pm_b, check_dtype=False, rtol=1e-9)
    la = monthly_customer_list(pg.transactions, month="2025-09")
    lb = monthly_customer_list(pq.transactions, month="2025-09")
    assert la["customer_id"].tolist() == lb["customer_id"].tolist() and la["group"].tolist() == lb["group"].tolist()
    assert_frame_equal(decile_table(la), decile_table(lb), check_dtype=False, rtol=1e-9)
    ra = discovery.bought_together(pg, period="2025-09", top=5)
    rb = discovery.bought_together(pq, period="2025-09", top=5)
    assert_frame_equal(ra, rb, check_dtype=False, rtol=1e-9)
    np.testing.assert_array_equal(pg.customers.sort_values("customer_id")["customer_id"], pq.customers.sort_values("customer_id")["customer_id"])
    # PostgreSQL gets the order table too (a session table; no category masks, which need unsigned 64-bit
    # integers): the per-customer, per-period and KPI queries above and below read it
    from crm_kit import clv
    from crm_kit.engine import order_grain

    assert pg.orders is not None and order_grain(pg.transactions) is pg.orders
    assert not [c for c in pg.orders.columns if c.startswith("categories_")]
    assert_frame_equal(discovery.growth_kpis(pg), discovery.growth_kpis(pq), check_dtype=False, rtol=1e-9)
    assert_frame_equal(discovery.repurchase_intervals(pg, as_of="2025-10-01"),
                       discovery.repurchase_intervals(pq, as_of="2025-10-01"), check_dtype=False, rtol=1e-9)
    # a contact list matched back: hashed in DuckDB, in pandas on PostgreSQL (no SHA-256 in Ibis there)
    from crm_kit import campaign
    from crm_kit.results._rounds import _contact_list_arms

    some = customer_summary(pq.transactions, as_of="2025-10-01")["customer_id"].head(6).astype(str)
    listed = campaign.contact_list(pd.DataFrame({"customer_id": some, "arm": ["treatment", "control"] * 3}),
                                   pd.Series("SMS", index=some), salt="s1")
    assert_frame_equal(_contact_list_arms(pg, listed, salt="s1"), _contact_list_arms(pq, listed, salt="s1"))
    assert_frame_equal(clv.clv_summary(pg.transactions, calibration_end="2025-06-01", observation_end="2025-10-01"),
                       clv.clv_summary(pq.transactions, calibration_end="2025-06-01", observation_end="2025-10-01"),
                       check_dtype=False, rtol=1e-9)


@pytest.fixture(scope="module")
def spark_spec(small_demo):
    import shutil

    if shutil.which("java") is None:
        pytest.skip("no Java on this machine: PySpark cannot start")
    from pyspark.sql import SparkSession

    # the spec a params file would hold: the kit builds the session (a cluster would set master: spark://...)
    engine = {"backend": "pyspark", "options": {
        "master": "local[2]", "app_name": "crm-kit-test",
        "config": {"spark.sql.session.timeZone": "UTC", "spark.ui.enabled": "false", "spark.sql.shuffle.partitions": 4,
                   # results come back without Arrow: PySpark 4.3's Arrow collect hung once in CI here (Python waiting
                   # in getResult() for a serving thread that was gone), a PySpark fault, not the kit's
                   "spark.sql.execution.arrow.pyspark.enabled": "false"},
    }}
    # the demo names its engine as any spec does: its tables are the ones the Parquet run reads (TABLES)
    yield {"source": "demo", "folder": str(small_demo), "n_members": 600, "seed": 3, "engine": engine}
    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


def test_spark_run_equals_duckdb_run(spark_spec, small_demo, monkeypatch):
    """The demo store on the Spark session its spec names equals the Parquet run on DuckDB; the session the kit
    started shows no progress bars, and no query holds a window over all customers."""
    import ibis.expr.operations as ops
    from ibis.backends.sql.compilers.base import SQLGlotCompiler

    sp = load_store(spark_spec)
    dd = load_store(_parquet_spec(small_demo))
    assert type(sp.con).__module__.startswith("ibis.backends.pyspark")
    assert sp.con._session.conf.get("spark.sql.execution.arrow.pyspark.enabled") == "false"  # the spec's config holds
    assert sp.con._session.conf.get("spark.ui.showConsoleProgress") == "false"  # the kit's default
    windows = []
    to_sqlglot = SQLGlotCompiler.to_sqlglot

    def checked(self, expr, *args, **kwargs):
        windows.extend(w for w in expr.op().find(ops.WindowFunction) if not w.group_by)
        return to_sqlglot(self, expr, *args, **kwargs)

    monkeypatch.setattr(SQLGlotCompiler, "to_sqlglot", checked)
    assert_frame_equal(sp.cleaning_report, dd.cleaning_report, check_dtype=False)
    # the customer-level tables behind the cycle's figures, exactly (the figures themselves: the whole-cycle test
    # below); their queries are the ones with ranks and per-customer windows
    cols = ["customer_id", "tenure_days", "recency_days", "frequency", "repeat_frequency", "sales", "items", "distinct_categories"]
    assert_frame_equal(customer_summary(sp.transactions, as_of="2025-10-01")[cols],
                       customer_summary(dd.transactions, as_of="2025-10-01")[cols], check_dtype=False, check_exact=True)
    assert_frame_equal(monthly_customer_list(sp.transactions, month="2025-09"),
                       monthly_customer_list(dd.transactions, month="2025-09"), check_dtype=False, check_exact=True)
    assert_frame_equal(discovery.bought_together(sp, period="2025-09", top=5),
                       discovery.bought_together(dd, period="2025-09", top=5), check_dtype=False, check_exact=True)
    assert windows == []


def test_spark_options_are_checked_before_spark_starts(small_demo):
    spec = {"tables": {"transactions": {"path": str(small_demo / "transactions.parquet")}},
            "engine": {"backend": "pyspark", "options": {"mastr": "local[2]"}}}
    with pytest.raises(ParameterError, match=r"unknown key\(s\) \['mastr'\]; use master, app_name, config"):
        load_store(spec)


MONTH_CHECK = """
import json, sys
import psutil
from crm_kit.run.plan import load_run_plan

specs = json.load(sys.stdin)
out = {}
for name, spec in specs.items():
    plan = load_run_plan("params/demo.yaml", overrides=["data=" + json.dumps(spec)], month="last",
                         only=["discovery"])
    java = [p.name() for p in psutil.Process().children(recursive=True) if "java" in p.name().lower()]
    session = None
    if "pyspark" in sys.modules:
        from pyspark.sql import SparkSession
        session = SparkSession.getActiveSession()
    out[name] = {"month": plan.month, "java": java, "session": session is not None}
print(json.dumps(out))
"""


def test_the_month_check_leaves_no_spark_session_in_the_runner(spark_spec, small_demo, tmp_path):
    """The runner's month check on Spark: from the store cache when the spec's files can be cached (no Spark at all),
    else in a child process whose Java ends with it; the runner's process keeps no session and no JVM, and finds
    the month the full load finds."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from crm_kit.periods import data_calendar, last_complete_month

    # Parquet with microseconds: Spark reads no CSV through the kit (its text reading is DuckDB's) and refuses
    # nanosecond timestamps
    lines = pd.DataFrame([row.split(",") for row in LINES_FOR_SPARK.split()[1:]],
                         columns=LINES_FOR_SPARK.split()[0].split(","))
    lines = lines.assign(time=pd.to_datetime(lines["time"].str.replace("T", " ")), amount=lines["amount"].astype(float))
    lines.to_parquet(tmp_path / "sales.parquet", index=False, coerce_timestamps="us")
    tiny = {"tables": {"transactions": {"path": str(tmp_path / "sales.parquet"), "columns": {
        "order_id": "order", "customer_id": "member", "ts": "time", "amount": "amount", "status": "status"}}},
        "cleaning": {"statuses": {"purchase": ["paid"], "not_purchase": ["cancelled"]}},
        "engine": spark_spec["engine"], "cache": False}
    specs = {"cached": spark_spec, "uncached": tiny}
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", MONTH_CHECK], input=json.dumps(specs), capture_output=True,
                          text=True, cwd=root, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["cached"]["month"] == last_complete_month(store=load_store(_parquet_spec(small_demo)))
    # the tiny store's last line is 2025-09-30 (the order cancelled on 31 October is no line): September, not October
    assert found["uncached"]["month"] == "2025-09"
    assert data_calendar(load_store({**tiny, "engine": None}))[1] == pd.Timestamp("2025-09-30 18:00")
    for name in specs:
        assert found[name]["java"] == [] and found[name]["session"] is False, (name, found[name])


LINES_FOR_SPARK = """order,member,time,amount,status
o1,a,2025-08-03T10:00,30,paid
o2,b,2025-09-30T18:00,50,paid
o3,b,2025-10-31T20:00,20,cancelled
"""


def _figures(metrics: dict) -> dict[str, object]:
    """Every leaf of a metrics.json by its path, as the Spark benchmark compares them (bench_spark.figures_of)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    try:
        from bench_spark import figures_of
    finally:
        sys.path.pop(0)
    return figures_of(metrics)


#: what two runs differ in by design: where the run folder is and how long the run took
RUN_ONLY = ("run.folder", "run.seconds")


def _run_demo_cycle(spec: dict, root) -> tuple[dict[str, object], object]:
    """The whole demo cycle (``params/demo.yaml``: every step, both rounds) on ``spec``; its figures and run folder."""
    import json
    from pathlib import Path

    from crm_kit.run import load_run_plan, run_cycle

    plan = load_run_plan(Path(__file__).resolve().parent.parent / "params" / "demo.yaml",
                         overrides=["data=" + json.dumps(spec)])
    folder = run_cycle(plan, output_root=root, progress=False, pdf_report=False)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["run"]["status"] == "ok"
    return {k: v for k, v in _figures(metrics).items() if k not in RUN_ONLY}, folder


def _small_demo_spec(small_demo) -> dict:
    """The 600-member demo store's spec (the one spark_spec names, on DuckDB)."""
    return {"source": "demo", "folder": str(small_demo), "n_members": 600, "seed": 3}


@pytest.fixture(scope="module")
def duckdb_cycles(small_demo, tmp_path_factory):
    """The demo cycle of the 600-member store (every step, both rounds) run twice on DuckDB with the same parameters:
    as any run (``first``), and with one thread and no store cache (``second``: every kernel cleans the store again,
    the engine adds rows in another order). {run: (figures, run folder)}. 600 members is the smallest demo tried on
    which every step still decides something (ten deciles of 60, two rounds with treatment and control arms, a CLV
    fit)."""
    spec = _small_demo_spec(small_demo)
    one_thread = {**spec, "engine": {"backend": "duckdb", "threads": 1}, "cache": False}
    return {"first": _run_demo_cycle(spec, tmp_path_factory.mktemp("cycle-duckdb")),
            "second": _run_demo_cycle(one_thread, tmp_path_factory.mktemp("cycle-duckdb-1"))}


def _differ(a: dict, b: dict) -> dict:
    return {k: (a.get(k, "(absent)"), b.get(k, "(absent)")) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


@pytest.mark.notebook  # the whole cycle's notebooks through papermill
def test_the_whole_cycle_on_spark_equals_duckdb_figure_by_figure(spark_spec, duckdb_cycles, tmp_path_factory):
    """Every figure of metrics.json (every step, both rounds) is the same on Spark local and on DuckDB, exactly (no
    tolerance): money and units are summed as integers (store.money), every table the engine hands back is put in
    one order before a float sum, a fit or a ranking, and ties are broken by id. The Spark run's report holds no
    engine chatter (that goes to run.log)."""
    assert {k: v for k, v in spark_spec.items() if k != "engine"} == _small_demo_spec(spark_spec["folder"])
    spark, spark_folder = _run_demo_cycle(spark_spec, tmp_path_factory.mktemp("cycle-spark"))
    duckdb, _ = duckdb_cycles["first"]
    assert len(duckdb) > 1000
    differ = _differ(duckdb, spark)
    assert differ == {}, f"{len(differ)} of {len(duckdb)} figures differ: {list(differ.items())[:20]}"
    import re

    report = (spark_folder / "report.html").read_text()
    for chatter in (r"\bWARN\b", "FutureWarning", r"\[Stage \d", "SparkContext", "log4j", "py4j"):
        assert not re.search(chatter, report), chatter


@pytest.mark.notebook  # the whole cycle's notebooks through papermill
def test_two_duckdb_runs_of_the_same_store_give_the_same_figures(duckdb_cycles):
    """Same parameters, same numbers, bit for bit: a second DuckDB run with one thread and the store cleaned again
    in every kernel (the engine adds rows in another order) gives every figure of the first."""
    first, _ = duckdb_cycles["first"]
    second, _ = duckdb_cycles["second"]
    differ = _differ(first, second)
    assert differ == {}, f"{len(differ)} of {len(first)} figures differ: {list(differ.items())[:20]}"


def test_no_query_of_the_cycle_adds_up_doubles(small_demo, monkeypatch):
    """Every sum and mean the engine computes for the cycle's customer, product and period tables is over integers
    (money in whole parts of the currency unit: store.money.money_sum; counts; days): a sum of doubles depends on
    the order the engine's threads add them, so it moves in the last bit between two runs and two engines, and a
    k-means or a fit on it moves further. Found by this check: customer_behaviour summed promotion spend and the
    brand shares' spend as doubles (the clustering features), which moved k-means' silhouette between engines."""
    import ibis.expr.operations as ops
    from ibis.backends.sql.compilers.base import SQLGlotCompiler

    from crm_kit import clv
    from crm_kit.engine import cohort_activity, customer_period_totals

    store = load_store(_parquet_spec(small_demo))
    sums = []
    to_sqlglot = SQLGlotCompiler.to_sqlglot

    def checked(self, expr, *args, **kwargs):
        sums.extend(f"{type(r).__name__}({r.arg.name})" for r in expr.op().find((ops.Sum, ops.Mean))
                    if r.arg.dtype.is_floating())
        return to_sqlglot(self, expr, *args, **kwargs)

    monkeypatch.setattr(SQLGlotCompiler, "to_sqlglot", checked)
    t = store.transactions
    customer_summary(t, as_of="2025-10-01")
    ranked = monthly_customer_list(t, month="2025-09")
    period_metrics(t, periods={"base": "2025-09", "campaign": "2025-10"})
    customer_period_totals(t, periods={"previous": "2025-08", "current": "2025-09"})
    cohort_activity(t)
    behaviour = discovery.customer_behaviour(store, month="2025-09")
    assert behaviour["promo_share"].notna().any() and behaviour["top_brand_share"].notna().any()
    discovery.behaviour_table(store, ranked, month="2025-09")
    discovery.product_classes(store, period="2025-09")
    discovery.growth_kpis(store)
    discovery.repurchase_intervals(store, as_of="2025-10-01")
    clv.clv_summary(t, calibration_end="2025-06-01", observation_end="2025-10-01")
    assert sums == []
