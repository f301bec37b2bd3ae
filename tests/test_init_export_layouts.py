"""init on the layouts back-office exports write (issue 37): one test per kind of input.

A Hive-partitioned Parquet folder, a workbook with a sheet per month, dates with the month first, one column that
says sale / void / return, and a person's name beside the item's description. Each writes a small export, computes
the truth with pandas and checks what init decided and what the drafted spec loads.
"""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from test_init_reading import _figures, _init, _lines, _truth

from crm_kit import load_store
from crm_kit.draft.roles import _personal_header
from crm_kit.store.profile import profile_table


def test_a_hive_partitioned_parquet_folder_is_one_table_in_the_zone_it_stores(tmp_path):
    lines = _lines(12, seed=4)
    folder = tmp_path / "fact_sales"
    for month, part in lines.groupby(lines["ts"].dt.month):
        where = folder / "year=2025" / f"month={month}"
        where.mkdir(parents=True)
        frame = pd.DataFrame({"customer_key": part["customer"], "order_key": part["order"],
                              "order_ts": part["ts"].dt.tz_localize("Asia/Shanghai"), "product_key": part["item"],
                              "quantity": part["qty"],
                              "net_amount": part["amount"]})
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), where / "part-0.parquet")
    spec, _found, data_path = _init(tmp_path, folder)
    t = spec["tables"]["transactions"]
    assert t["path"].endswith("**/*.parquet")
    assert t["timezone"] == "Asia/Shanghai"  # the zone the file stores, not DuckDB's UTC
    assert _figures(data_path) == _truth(lines)
    # shop-local time: the first line's day is the day written in Shanghai
    health = load_store(str(data_path)).health().set_index("figure")["value"]
    assert pd.Timestamp(health["first transaction"]) == lines["ts"].min()  # shop-local time, as written


def test_a_workbook_with_a_sheet_per_month_is_read_as_one_table(tmp_path):
    lines = _lines(10, seed=5)
    path = tmp_path / "sales.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"read me": ["exported by the ERP"]}).to_excel(book, sheet_name="Notes", index=False)
        for month, part in lines.groupby(lines["ts"].dt.strftime("%Y-%m")):
            frame = pd.DataFrame({"Customer Code": part["customer"], "Document No.": part["order"],
                                  "Posting Date": part["ts"].dt.strftime("%d.%m.%Y"), "Item No.": part["item"],
                                  "Quantity": part["qty"], "Row Total": part["amount"]})
            frame.to_excel(book, sheet_name=month, index=False)
    spec, _found, data_path = _init(tmp_path, path)
    t = spec["tables"]["transactions"]
    assert t["sheet"] == ["2025-01", "2025-02", "2025-03"]  # not the notes sheet
    assert t["columns"]["order_id"] == "Document No."
    assert _figures(data_path) == _truth(lines)


def test_a_second_number_above_12_makes_the_dates_month_first(tmp_path):
    def layout(values):
        path = tmp_path / f"d{len(values)}.csv"
        pd.DataFrame({"d": values}).to_csv(path, index=False)
        return profile_table({"path": str(path)})["d"].ts_layout()

    fmt, count, note = layout(["1/2/24", "1/13/24", "2/28/24", "3/1/24"])
    assert (fmt, count) == ("%m/%d/%y", 4)
    assert note.startswith("month first")
    assert layout(["1/2/24", "3/4/24"])[2].startswith("AMBIGUOUS")  # nothing tells: said so, not guessed silently
    assert layout(["13/1/24", "2/3/24", "28/2/24"])[0] == "%d/%m/%y"


def test_one_column_of_sales_voids_and_returns_is_both_status_and_line_type(tmp_path):
    rows = pd.DataFrame({
        "会員番号": ["M1", "M1", "M2", "M2", "M3", "M1"],
        "レシート番号": ["100", "100", "101", "102", "103", "900"],
        "取引日": ["2025/01/05", "2025/01/05", "2025/01/06", "2025/02/01", "2025/02/03", "2025/02/10"],
        "取引区分": ["売上", "売上", "売上", "取消", "売上", "返品"],
        "金額": [100.0, 50.0, 80.0, 70.0, 30.0, 40.0]})
    path = tmp_path / "points.csv"
    rows.to_csv(path, index=False)
    spec, _found, data_path = _init(tmp_path, path)
    t = spec["tables"]["transactions"]
    assert t["columns"]["status"] == t["columns"]["line_type"] == "取引区分"
    assert spec["cleaning"]["statuses"] == {"purchase": ["売上"], "not_purchase": ["取消"]}
    assert spec["cleaning"]["return_types"] == ["返品"]
    # M2's void (70) is no purchase; M1's return (40) is no visit and subtracts from sales
    health = load_store(str(data_path)).health().set_index("figure")["value"]
    assert int(health["customers"]) == 3
    assert int(health["orders"]) == 3
    assert round(float(health["sales (all lines)"]), 2) == 100 + 50 + 80 + 30 - 40


def test_a_persons_name_is_never_a_description_or_an_id(tmp_path):
    assert _personal_header("Customer Name") and _personal_header("Bill-to Name") and _personal_header("Name")
    assert not _personal_header("Item Description") and not _personal_header("Product Name")
    lines = _lines(8, seed=6)
    frame = pd.DataFrame({"Customer Code": lines["customer"], "Customer Name": "Ms " + lines["customer"],
                          "Invoice": lines["order"], "Date": lines["ts"].dt.strftime("%Y-%m-%d"),
                          "Item Description": "thing " + lines["item"], "Total": lines["amount"]})
    path = tmp_path / "lines.csv"
    frame.to_csv(path, index=False)
    spec, found, _data = _init(tmp_path, path)
    cols = spec["tables"]["transactions"]["columns"]
    assert "Customer Name" not in cols.values()
    assert cols["description"] == "Item Description"
    assert "Customer Name" in found.table("transactions").personal
