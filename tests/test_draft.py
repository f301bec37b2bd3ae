"""``crm-kit init`` and ``crm-kit check`` on exports the tests write in shapes the kit has not seen.

Each export is written here with its truth computed by pandas (buyers, purchases, sales by the kit's
definitions); ``init`` must map the columns and find the read options with no edit, and the store loaded with
the drafted spec must give the true figures.
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
from conftest import ROOT, shared_file


def _lines(seed: int = 0, customers: int = 60, months=("2025-01", "2025-02", "2025-03")) -> pd.DataFrame:
    """Line items with returns (negative quantity and amount), free items, several lines per purchase."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(customers):
        for m in months:
            for visit in range(int(rng.poisson(2))):
                day = pd.Timestamp(f"{m}-01") + pd.Timedelta(days=int(rng.integers(0, 27)), hours=int(rng.integers(8, 20)))
                order = f"{c:03d}{m.replace('-', '')}{visit}"
                for k in range(int(rng.integers(1, 4))):
                    qty = int(rng.integers(1, 4))
                    price = float(rng.choice([3.5, 12.0, 49.9, 1299.0]))
                    rows.append({"customer": f"C{c:04d}", "order": order, "ts": day, "item": f"P{k}{int(rng.integers(0, 30)):02d}",
                                 "qty": qty, "amount": round(qty * price, 2)})
    lines = pd.DataFrame(rows)
    returns = rng.random(len(lines)) < 0.05
    lines.loc[returns, ["qty", "amount"]] *= -1
    free = (~returns) & (rng.random(len(lines)) < 0.03)
    lines.loc[free, "amount"] = 0.0
    return lines


def _truth(lines: pd.DataFrame, *, orders: bool = True) -> dict:
    """Buyers, purchases and net sales by the kit's definitions (returns netted, never purchases nor buyers; free
    lines are purchases)."""
    bought = lines[(lines["qty"] >= 0) & (lines["amount"] >= 0)]
    purchase = ["customer", "order"] if orders else ["customer", bought["ts"].dt.date]
    return {"customers": bought["customer"].nunique(), "orders": bought.groupby(purchase).ngroups,
            "sales": round(float(lines["amount"].sum()), 2)}


def _figures(data_path: Path) -> dict:
    store = load_store(str(data_path))
    health = store.health().set_index("figure")["value"]
    return {"customers": int(health["customers"]), "orders": int(health["orders"]),
            "sales": round(float(health["sales (all lines)"]), 2)}


def _init(tmp_path: Path, *files) -> tuple[dict, dict, object]:
    found = draft(list(files))
    data_path, run_path = write_draft(found, tmp_path / "init")
    return yaml.safe_load(data_path.read_text(encoding="utf-8")), yaml.safe_load(run_path.read_text(encoding="utf-8")), found


def test_a_gbk_till_export_with_chinese_headers_money_signs_and_no_order_id(tmp_path):
    lines = _lines(1)
    lines["customer"] = lines["customer"].where(np.arange(len(lines)) % 7 != 0, lines["customer"] + "\u3000")
    export = pd.DataFrame({"会员卡号": lines["customer"], "销售日期": lines["ts"].dt.strftime("%Y/%m/%d"),
                           "商品编码": lines["item"], "数量": lines["qty"],
                           "实收金额": lines["amount"].map(lambda v: f"￥{v:,.2f}")})
    path = tmp_path / "till.csv"
    export.to_csv(path, index=False, encoding="gbk")
    spec, run, found = _init(tmp_path, path)
    t = spec["tables"]["transactions"]
    assert t["encoding"] == "gb18030" and t["thousands"] == ","  # GBK read as its superset: a rare character reads too
    assert t["columns"] == {"customer_id": "会员卡号", "ts": "销售日期", "product_id": "商品编码", "quantity": "数量",
                            "amount": "实收金额", "order_id": None}
    assert spec["cleaning"]["returns"] == "net" and not found.undecided
    truth = _truth(lines.assign(customer=lines["customer"].str.strip("\u3000"), ts=lines["ts"].dt.normalize()),
                   orders=False)
    assert _figures(tmp_path / "init" / "data.yaml") == truth
    assert run["common"]["month"] == "2025-02" and [s["notebook"] for s in run["steps"]] == [
        "01_knowledge_discovery", "02_segmentation", "03_campaign_design"]


def test_whitespace_text_without_order_ids(tmp_path):
    lines = _lines(2)
    path = tmp_path / "export.txt"
    body = ["cust        date        sku     qty   amount"]
    body += [f"{r.customer:<12}{r.ts:%Y-%m-%d}  {r.item:<8}{r.qty:>4}  {r.amount:>9.2f}" for r in lines.itertuples()]
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    spec, _run, found = _init(tmp_path, path)
    t = spec["tables"]["transactions"]
    assert t["delimiter"] == "whitespace" and t["columns"]["order_id"] is None
    assert t["columns"]["customer_id"] == "cust" and t["columns"]["amount"] == "amount"
    assert _figures(tmp_path / "init" / "data.yaml") == _truth(lines.assign(ts=lines["ts"].dt.normalize()), orders=False)


def test_an_xlsx_with_a_title_row_and_returns(tmp_path):
    lines = _lines(3)
    frame = pd.DataFrame({"Order No.": lines["order"], "Customer": lines["customer"], "Date": lines["ts"],
                          "Item": lines["item"], "Qty": lines["qty"], "Total": lines["amount"]})
    path = tmp_path / "shop.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame([["Web shop orders, Q1 2025"]]).to_excel(writer, index=False, header=False, startrow=0)
        frame.to_excel(writer, index=False, startrow=1)
    spec, _run, found = _init(tmp_path, path)
    t = spec["tables"]["transactions"]
    assert t["skip_rows"] == 1
    assert t["columns"] == {"order_id": "Order No.", "customer_id": "Customer", "ts": "Date", "product_id": "Item",
                            "quantity": "Qty", "amount": "Total"}
    assert spec["cleaning"]["returns"] == "net"
    assert _figures(tmp_path / "init" / "data.yaml") == _truth(lines)


def test_semicolon_files_with_decimal_commas_and_day_first_dates(tmp_path):
    lines = _lines(4)
    frame = pd.DataFrame({"customer": lines["customer"], "invoice": lines["order"],
                          "date": lines["ts"].dt.strftime("%d.%m.%Y %H:%M"), "sku": lines["item"],
                          "quantity": lines["qty"],
                          "value": lines["amount"].map(lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ","))})
    path = tmp_path / "erp.csv"
    frame.to_csv(path, index=False, sep=";")
    spec, _run, found = _init(tmp_path, path)
    t = spec["tables"]["transactions"]
    assert (t["delimiter"], t["decimal"], t["ts_format"]) == (";", ",", "%d.%m.%Y %H:%M")
    assert t["columns"]["amount"] == "value" and t["columns"]["order_id"] == "invoice"
    figures = _figures(tmp_path / "init" / "data.yaml")
    # thousands written with a space: "1 299,00"
    assert figures == _truth(lines)


def test_three_tables_and_monthly_parts_in_a_folder(tmp_path):
    lines = _lines(5)
    parts = tmp_path / "monthly"
    parts.mkdir()
    for month, part in lines.groupby(lines["ts"].dt.strftime("%Y-%m")):
        part.rename(columns={"customer": "member_id", "order": "receipt_no", "ts": "timestamp", "item": "product_id",
                             "qty": "quantity", "amount": "sales"}).to_csv(parts / f"sales_{month}.csv", index=False)
    members = pd.DataFrame({"member_id": [f"C{c:04d}" for c in range(60)], "name": [f"Name {c}" for c in range(60)],
                            "phone": [f"1380000{c:04d}" for c in range(60)],
                            "gender": np.where(np.arange(60) % 2, "F", "M"), "age_band": "26-35",
                            "join_date": "2024-03-01"})
    members.to_csv(tmp_path / "members.csv", index=False)
    products = pd.DataFrame({"product_id": [f"P{k}{i:02d}" for k in range(3) for i in range(30)],
                             "category": "snacks", "brand": "B1", "stock": 10})
    products.to_csv(tmp_path / "products.csv", index=False)
    spec, _run, found = _init(tmp_path, parts, tmp_path / "members.csv", tmp_path / "products.csv")
    assert set(spec["tables"]) == {"transactions", "customers", "products"}
    assert spec["tables"]["transactions"]["path"].endswith("*.csv")
    assert spec["tables"]["customers"]["columns"] == {"customer_id": "member_id", "gender": "gender",
                                                      "age_band": "age_band", "signup_date": "join_date"}
    assert "name" not in spec["tables"]["customers"]["columns"].values()  # personal data is never mapped
    assert spec["tables"]["products"]["columns"]["category"] == "category"
    assert _figures(tmp_path / "init" / "data.yaml") == _truth(lines)


def test_what_init_cannot_decide_is_a_commented_choice_and_a_non_zero_exit(tmp_path):
    lines = _lines(6).head(40)
    # every day at most 12: day-first and month-first both read the dates
    frame = pd.DataFrame({"customer": lines["customer"], "order": lines["order"],
                          "date": lines["ts"].dt.strftime("%d/%m/%Y").str.replace(r"^\d\d", "05", regex=True),
                          "sku": lines["item"], "qty": lines["qty"], "amount": lines["amount"]})
    path = tmp_path / "ambiguous.csv"
    frame.to_csv(path, index=False)
    out = subprocess.run([sys.executable, "-m", "crm_kit", "init", str(path), "--output", str(tmp_path / "x")],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 1, out.stderr
    assert "UNDECIDED" in out.stdout and "AMBIGUOUS" in (tmp_path / "x" / "data.yaml").read_text(encoding="utf-8")
    again = subprocess.run([sys.executable, "-m", "crm_kit", "init", str(path), "--output", str(tmp_path / "x")],
                           capture_output=True, text=True, cwd=ROOT, check=False)
    assert again.returncode == 2 and "never overwrites" in again.stderr


@pytest.mark.realdata
def test_init_on_the_public_datasets_maps_them_as_their_hand_written_specs_do(tmp_path):
    path = shared_file("online_retail_ii", "online_retail_II_2009_2010.parquet")
    spec, run, found = _init(tmp_path, path)
    t = spec["tables"]["transactions"]
    assert t["columns"] == {"order_id": "Invoice", "ts": "InvoiceDate", "product_id": "StockCode",
                            "quantity": "Quantity", "unit_price": "Price", "customer_id": "Customer ID",
                            "description": "Description", "store": "Country"}
    assert spec["cleaning"] == {"cancellation_prefix": "C", "returns": "net"}
    assert run["common"]["month"] == "2010-11"
    lenta = shared_file("lenta_sample", "lenta_dataset_50k.csv")
    _spec, run, _found = _init(tmp_path / "lenta", lenta)
    step = run["steps"][0]["params"]
    assert (step["outcome_arm_col"], step["outcome_control"], step["outcome_binary"]) == ("is_treatment", 0,
                                                                                          ["response_att"])


def test_check_prints_health_and_what_each_notebook_will_run(tmp_path):
    lines = _lines(7)
    path = tmp_path / "lines.parquet"
    lines.rename(columns={"customer": "customer_id", "order": "order_id", "item": "product_id", "qty": "quantity"}) \
        .to_parquet(path, index=False)
    _init(tmp_path, path)
    out = subprocess.run([sys.executable, "-m", "crm_kit", "check", str(tmp_path / "init" / "data.yaml")],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr
    assert "data health" in out.stdout and "02 segmentation" in out.stdout and "last complete month 2025-02" in out.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text((tmp_path / "init" / "data.yaml").read_text().replace("columns:", "colums:"), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "crm_kit", "check", str(bad)], capture_output=True, text=True, cwd=ROOT,
                         check=False)
    assert out.returncode == 2 and "colums" in out.stderr


@pytest.mark.parametrize("price_is", ["line total", "unit price"])
def test_a_price_column_is_read_as_the_line_total_or_the_unit_price_by_its_content(tmp_path, price_is):
    """'price' beside a quantity: a line total when price / quantity is the product's constant, else a unit price."""
    rng = np.random.default_rng(5)
    n = 400
    unit = {f"P{k:02d}": round(float(p), 2) for k, p in enumerate(rng.choice([3.5, 12.0, 49.9, 7.25], 12))}
    items = rng.choice(sorted(unit), n)
    qty = rng.integers(1, 5, n)
    each = np.array([unit[i] for i in items])
    lines = pd.DataFrame({"buyer": [f"C{c:03d}" for c in rng.integers(0, 40, n)], "order-id": np.arange(n) + 1000,
                          "purchase-date": pd.Timestamp("2025-01-01") + pd.to_timedelta(np.arange(n) * 3, unit="h"),
                          "sku": items, "quantity": qty,
                          "price": np.round(each * qty, 2) if price_is == "line total" else each})
    path = tmp_path / "report.csv"
    lines.to_csv(path, index=False)
    spec, _run, _found = _init(tmp_path, path)
    columns = spec["tables"]["transactions"]["columns"]
    if price_is == "line total":
        assert columns.get("amount") == "price" and "unit_price" not in columns
    else:
        assert columns.get("unit_price") == "price" and "amount" not in columns
    sales = float(load_store(str(tmp_path / "init" / "data.yaml")).health().set_index("figure")["value"]["sales (all lines)"])
    assert round(sales, 2) == round(float((each * qty).sum()), 2)


def test_a_persons_name_or_address_is_never_mapped_and_an_email_only_as_the_customer(tmp_path):
    """Names, addresses and phones beside an id-like order column: none becomes an id, a label or a store."""
    rng = np.random.default_rng(7)
    n = 300
    first = rng.choice(["Anna", "Ben", "Clara", "David", "Emma"], n)
    orders = pd.DataFrame({"ID": np.arange(n) + 5000, "Bill-to Name": [f"{f} Doe{k}" for f, k in zip(first, range(n))],
                           "orderCustomer.firstName": first, "Ship Address": [f"{k} Main Street" for k in range(n)],
                           "Customer Email": [f"c{k}@example.com" for k in rng.integers(0, 50, n)],
                           "Phone Number": [f"+1 555 {k:04d}" for k in rng.integers(0, 50, n)],
                           "Purchase Date": pd.Timestamp("2025-01-01") + pd.to_timedelta(np.arange(n) * 5, unit="h"),
                           "Total": rng.gamma(2.0, 30.0, n).round(2)})
    orders.to_csv(tmp_path / "orders.csv", index=False)
    spec, _run, _found = _init(tmp_path, tmp_path / "orders.csv")
    columns = spec["tables"]["transactions"]["columns"]
    assert columns["customer_id"] == "Customer Email" and columns["amount"] == "Total"
    assert not {"Bill-to Name", "orderCustomer.firstName", "Ship Address", "Phone Number"} & set(columns.values())


def test_month_first_two_digit_years_and_a_lines_own_id_beside_its_orders_id(tmp_path):
    """'01/13/24' is month first (a second number above 12); 'Transaction ID' unique per line is no order id."""
    rng = np.random.default_rng(11)
    n = 240
    order = np.sort(rng.integers(0, 100, n))
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(order * 2, unit="D")
    lines = pd.DataFrame({"Sale Date": day.strftime("%m/%d/%y"), "Transaction ID": np.arange(n) + 900000,
                          "Order ID": order + 3000, "Buyer": [f"b{k % 30}" for k in order],
                          "SKU": [f"S{k}" for k in rng.integers(0, 20, n)], "Item Total": rng.gamma(2.0, 9.0, n).round(2)})
    lines.to_csv(tmp_path / "items.csv", index=False)
    spec, _run, _found = _init(tmp_path, tmp_path / "items.csv")
    t = spec["tables"]["transactions"]
    assert t["ts_format"] == "%m/%d/%y" and t["columns"]["order_id"] == "Order ID"
    health = load_store(str(tmp_path / "init" / "data.yaml")).health().set_index("figure")["value"]
    assert int(health["orders"]) == lines["Order ID"].nunique()


@pytest.mark.parametrize("layout", ["%b %d, %Y %I:%M:%S %p", "%b-%d-%y"])
def test_dates_with_the_months_name_first(tmp_path, layout):
    """'Mar 15, 2024 10:22:11 AM' and 'Mar-15-24' are read with the month's name (every month, both halves of the day)."""
    rng = np.random.default_rng(3)
    n = 200
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 180 * 24 * 60, n), unit="min")
    if "%H" not in layout and "%I" not in layout:
        ts = ts.normalize()
    lines = pd.DataFrame({"Purchase Date": ts.strftime(layout), "Order ID": np.arange(n) + 7000,
                          "Customer ID": [f"c{k}" for k in rng.integers(0, 40, n)], "Total": rng.gamma(2.0, 9.0, n).round(2)})
    lines.to_csv(tmp_path / "orders.csv", index=False)
    spec, _run, _found = _init(tmp_path, tmp_path / "orders.csv")
    assert spec["tables"]["transactions"]["ts_format"] == layout
    store = load_store(str(tmp_path / "init" / "data.yaml"))
    months = growth_kpis(store).set_index("month")["orders"]
    truth = lines.groupby(ts.to_period("M"))["Order ID"].nunique()
    assert months.tolist() == truth.tolist()


def test_money_with_a_decimal_comma_and_a_no_break_space_before_the_sign(tmp_path):
    """'1 234,50\u00a0€' (French: no-break spaces as thousands and before the sign), with an 'État' status column."""
    rng = np.random.default_rng(9)
    n = 150
    total = rng.gamma(2.0, 600.0, n).round(2)
    etat = rng.choice(["Livré", "Paiement accepté", "Annulé"], n, p=[0.6, 0.3, 0.1])
    orders = pd.DataFrame({"ID": np.arange(n) + 1, "Client": [f"k{k}" for k in rng.integers(0, 30, n)],
                           "Total": [f"{v:,.2f}".replace(",", "\u00a0").replace(".", ",") + "\u00a0€" for v in total],
                           "État": etat, "Date": (pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n) * 9, unit="h"))
                           .strftime("%d/%m/%Y %H:%M:%S")})
    orders.to_csv(tmp_path / "orders.csv", index=False, sep=";")
    spec, _run, _found = _init(tmp_path, tmp_path / "orders.csv")
    t = spec["tables"]["transactions"]
    assert t["columns"]["amount"] == "Total" and t["columns"]["status"] == "État" and t["columns"]["order_id"] == "ID"
    assert spec["cleaning"]["statuses"] == {"purchase": ["livré", "paiement accepté"], "not_purchase": ["annulé"]}
    health = load_store(str(tmp_path / "init" / "data.yaml")).health().set_index("figure")["value"]
    assert round(float(health["sales (all lines)"]), 2) == round(float(total[etat != "Annulé"].sum()), 2)
