"""The export zoo (tests/zoo): each platform's export, from ``crm-kit init`` with no edit to the kit's monthly figures.

For every shape the zoo writes the platform's file(s) and the truth computed with pandas from the world they were
written from (tests/zoo/world.py). ``init`` drafts the data spec from the files alone; the store loaded with
the draft must give, month by month, the true buyers (the kit's ``customers``), visits (``orders``) and net
sales (``sales``) of :func:`crm_kit.discovery.growth_kpis`, and the true gross sales as the same function's
``sales`` with ``cleaning.returns: drop`` (by the data-spec contract: drop leaves returns and refunds out).

A shape the kit does not read right yet is a strict xfail naming the cause found: it turns red when fixed, so
the mark is removed with the fix.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from crm_kit import load_store
from crm_kit.discovery import growth_kpis
from crm_kit.draft import draft, write_draft
from zoo import SHAPES, generate

#: shapes the kit does not read right yet, each with the cause found (issue 37); remove the entry with the fix
BLANK = ("init crashes on a column that is blank in every sampled row ({col}): draft.profile raises 'TypeError: "
         "boolean value of NA is ambiguous' (crm_kit/draft.py, profile)")
XFAIL: dict[str, str] = {
    "shopify": BLANK.format(col="Discount Code") + "; the export also needs: order fields on the first line only, "
               "+0800 offsets, Financial Status (voided/pending/refunded) as statuses, Refunded Amount",
    "magento": "init maps the orders grid wrongly (customer_id: Customer Group, a constant; order_id: Bill-to Name, a "
               "person's name) and reads no timestamp from 'Mar 15, 2024 10:22:11 AM': the load stops on 'no column "
               "ts'; orders without products; Status (Canceled/Closed/Pending) and Total Refunded unused",
    "prestashop_fr": "orders without products: init leaves product_id, quantity and amount UNDECIDED ('41,33 €' with a "
                     "decimal comma and no-break space not read as money) and finds no order id in 'ID'; the load stops "
                     "on 'no column product_id'; États (Annulé/Remboursé) unused",
    "shopware_de": "init crashes on ISO timestamps with two UTC offsets (+01:00 in winter, +02:00 in summer): "
                   "'ValueError: Mixed timezones detected' from pandas.to_datetime in draft._layout",
    "woocommerce_es": BLANK.format(col="Cupón(es)") + "; also: refunds as rows of their own (Reembolsado, negative "
                      "Ventas netas), no product ids",
    "amazon": "init crashes comparing purchase-date with its +00:00 offset to naive times: 'TypeError: Cannot compare "
              "tz-naive and tz-aware timestamps'",
    "ebay": "the report's trailer lines ('1080 record(s) downloaded…', 'Seller ID : …') stop the load ('line 2,914 has "
            "1 fields where the header has 17'); multi-item orders' summary rows would double their sales",
    "etsy": BLANK.format(col="Coupon Code"),
    "taobao": BLANK.format(col="买家留言") + "; also: 订单报表 + 宝贝报表 joined by ='…'-wrapped 订单编号, 订单状态, 退款金额",
    "jd": "init takes the xlsx (a row per item, 订单状态, the order's money repeated per row) for a product catalogue: "
          "data.yaml has tables.products only, and the load stops on 'data spec has no tables.transactions'",
    "youzan": "orders and items become two 'transactions:' keys (the items file, with no customer, wins): 'transactions "
              "has no column customer_id'; 运费 (all zero) mapped as quantity; 订单状态 and 退款金额 unused",
    "shopee": BLANK.format(col="Variation Name"),
    "square": BLANK.format(col="Modifiers Applied") + "; also: Date and Time in two columns, refunds as rows "
              "(Event Type Refund) on their own date",
    "lightspeed": BLANK.format(col="Note") + "; also: Sale / Sale Line / Payment rows of one receipt (only Sale "
                  "Lines are items), VOIDED sales",
    "toast": BLANK.format(col="Item Description") + "; also: checks without items, Opened Date and Opened Time apart",
    "clover": BLANK.format(col="Note") + "; also: orders without items, 'EDT'/'EST' zone names, Order Payment "
              "State, Refunds Total",
    "pospal_gbk": "skip_rows counts the two title lines but not the blank line under them (2, not 3): the header is "
                  "read as a row, 'transactions.ts: 1 value(s) cannot be read as timestamp (e.g. ['销售时间'])'",
    "loyalty_jp": "Shift_JIS (cp932) is not detected (read as latin-1, headers garbled) and data.yaml is written with "
                  "control characters YAML cannot read back: 'ReaderError: unacceptable character #x008e'",
    "odoo": "Status is not read: Cancelled orders and Quotations count as purchases (2024-01 buyers: kit 92, truth "
            "88); the order's fields are only on its first line",
    "sap_b1": "only the first of six monthly sheets is read (init drafts sheet: 2024-01; buyers 0 from 2024-02); no "
              "order id chosen (Document No.), so a purchase is a customer-day (2024-01 visits: kit 174, truth 175); "
              "Customer Name mapped as description",
    "business_central_de": "init maps no customer ('Verk. an Deb.-Nr.'), the customer's Name as description and the "
                           "unit price VK-Preis as amount, cp1252 read as latin-1: 'transactions has no column "
                           "customer_id'; Belegart Gutschrift (credit memos with positive amounts) unused",
    "warehouse_parquet": "init finds no file in a Hive-partitioned folder (year=2024/month=1/part-0.parquet): "
                         "'fact_sales holds no file to read'",
    "online_retail": "only the first of two sheets is read (buyers 0 from 2024-04); return invoices 'C…' count as "
                     "visits and their customers as buyers (2024-01 visits: kit 140, truth 137)",
}


def kit_monthly(data_path: Path, *, gross: bool = True) -> pd.DataFrame:
    """Monthly buyers, visits, gross and net sales as the kit computes them from the drafted spec.

    ``gross=False`` (an export with no refund and no return, where gross is net) saves the second load.
    """
    net = growth_kpis(load_store(str(data_path))).set_index("month")
    out = pd.DataFrame({"buyers": net["customers"], "visits": net["orders"], "net": net["sales"]})
    if gross:
        spec = yaml.safe_load(Path(data_path).read_text(encoding="utf-8"))
        dropped = {**spec, "cleaning": {**(spec.get("cleaning") or {}), "returns": "drop"}}
        out["gross"] = growth_kpis(load_store(dropped)).set_index("month")["sales"].reindex(out.index)
    else:
        out["gross"] = out["net"]
    out.index = out.index.astype(str)
    return out


def init_and_load(files, folder: Path, *, gross: bool = True) -> tuple[pd.DataFrame, object, Path]:
    """``crm-kit init`` on the files (no edit), then the kit's monthly figures from the drafted spec."""
    found = draft([str(f) for f in files])
    data_path, run_path = write_draft(found, folder)
    return kit_monthly(data_path, gross=gross), found, run_path


def has_returns(export) -> bool:
    """Whether the export's world refunds or returns anything (else its gross sales are its net sales)."""
    return bool(len(export.world.returns)) or bool((export.world.orders["refunded"] > 0).any())


def compare(kit: pd.DataFrame, truth: pd.DataFrame) -> list[str]:
    """What differs between the kit's monthly figures and the truth, month by month (empty: the same)."""
    truth = truth.copy()
    truth.index = truth.index.astype(str)
    months = sorted(set(truth.index) | set(kit.index))
    k = kit.reindex(months).fillna(0)
    t = truth.reindex(months).fillna(0)
    problems = []
    for col in ("buyers", "visits"):
        bad = k[col].astype("int64") != t[col].astype("int64")
        problems += [f"{m} {col}: kit {int(k.at[m, col])}, truth {int(t.at[m, col])}" for m in k.index[bad]]
    for col in ("gross", "net"):
        bad = ~np.isclose(k[col].astype(float), t[col].astype(float), atol=0.015, rtol=0)
        problems += [f"{m} {col}: kit {k.at[m, col]:,.2f}, truth {t.at[m, col]:,.2f}" for m in k.index[bad]]
    return problems


def _param(name: str):
    marks = [pytest.mark.xfail(strict=True, reason=XFAIL[name])] if name in XFAIL else []
    return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", [_param(n) for n in SHAPES])
def test_init_on_a_platform_export_gives_the_true_monthly_figures(name, tmp_path):
    export = generate(name, tmp_path / "export")
    kit, found, _run = init_and_load(export.files, tmp_path / "init", gross=has_returns(export))
    problems = compare(kit, export.truth)
    assert not problems, (f"{name}: {len(problems)} monthly figure(s) differ from the truth: " + "; ".join(problems[:8])
                          + (f"; init left undecided: {found.undecided}" if found.undecided else ""))


def test_the_zoo_has_twenty_shapes_each_with_months_of_purchases():
    """At least 20 platforms, and each truth is a real one: six months, every month with buyers and sales."""
    from zoo.world import make_world, truth

    assert len(SHAPES) >= 20
    assert len({s.platform for s in SHAPES.values()}) == len(SHAPES)
    for shape in SHAPES.values():
        t = truth(make_world(shape.features, 0))
        assert len(t) == 6 and (t["buyers"] > 0).all() and (t["gross"] > 0).all(), shape.name
        assert (t["net"] <= t["gross"]).all()


def test_the_truth_follows_the_contract_on_a_tiny_world():
    """The zoo's truth by hand on a world of three orders: a cancelled order, a partial refund and a later return."""
    from zoo.world import Features, World, truth

    customers = pd.DataFrame({"cid": [0, 1]})
    orders = pd.DataFrame({"order_no": [1, 2, 3, 4], "cid": pd.array([0, 1, 1, pd.NA], dtype="Int64"),
                           "ts": pd.to_datetime(["2024-01-05 10:00", "2024-01-20 11:00", "2024-02-02 09:00",
                                                 "2024-02-03 12:00"]),
                           "status": ["paid", "partially_refunded", "cancelled", "paid"],
                           "refunded": [0.0, 5.0, 0.0, 0.0]})
    lines = pd.DataFrame({"order_no": [1, 1, 2, 3, 4], "amount": [10.0, 20.0, 50.0, 99.0, 7.0]})
    returns = pd.DataFrame({"order_no": [1], "cid": pd.array([0], dtype="Int64"),
                            "ts": pd.to_datetime(["2024-02-10 10:00"]), "amount": [20.0]})
    world = World(customers, pd.DataFrame(), orders, lines, returns, Features(months=("2024-01", "2024-02")))
    t = truth(world)
    assert t["buyers"].tolist() == [2, 0]  # the cancelled order makes no buyer; the walk-in is nobody
    assert t["visits"].tolist() == [2, 0]
    assert t["gross"].tolist() == [80.0, 7.0]  # the walk-in's sale counts in the store's sales
    assert t["net"].tolist() == [75.0, -13.0]  # the refund in its order's month, the return in its own


def test_every_shape_writes_deterministic_files(tmp_path):
    """The same seed writes the same bytes (two shapes of different kinds: a text export and a workbook)."""
    for name in ("taobao", "odoo"):
        a = generate(name, tmp_path / "a" / name)
        b = generate(name, tmp_path / "b" / name)
        for fa, fb in zip(a.files, b.files):
            if fa.suffix == ".xlsx":
                pd.testing.assert_frame_equal(pd.read_excel(fa, sheet_name=None)["Sheet1"],
                                              pd.read_excel(fb, sheet_name=None)["Sheet1"])
            else:
                assert fa.read_bytes() == fb.read_bytes()
        pd.testing.assert_frame_equal(a.truth, b.truth)


RUN_SHAPE = "membership"


def test_a_zoo_export_goes_from_init_to_an_html_report(tmp_path):
    """``crm-kit init`` then ``crm-kit run`` of the drafted run file (discovery) to an HTML report, no edit."""
    export = generate(RUN_SHAPE, tmp_path / "export", customers=80)
    init = subprocess.run([sys.executable, "-m", "crm_kit", "init", *map(str, export.files), "--output",
                           str(tmp_path / "init")], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert init.returncode == 0, init.stdout + init.stderr
    run = subprocess.run([sys.executable, "-m", "crm_kit", "run", str(tmp_path / "init" / "run.yaml"), "--steps",
                          "discovery", "--output", str(tmp_path / "reports"), "--quiet"],
                         capture_output=True, text=True, cwd=tmp_path, check=False, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    reports = list((tmp_path / "reports").rglob("report.html"))
    assert len(reports) == 1
    html = reports[0].read_text(encoding="utf-8")
    assert "Traceback" not in html and "UNDECIDED" not in html
    # the report's month is the data's last complete month, and no personal column reached it
    assert "2024-06" in html or "June 2024" in html
    members = pd.read_csv(export.files[1])
    assert not any(name in html for name in members["姓名"].head(20))
    assert not any(phone in html for phone in members["手机"].astype(str).head(20))
