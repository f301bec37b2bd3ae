"""Refunds written on the rows themselves: ``refunded`` money on a row, ``returned_quantity`` units on a line.

Each on a few rows whose monthly figures are computed by hand (in the comments), then compared with what the
loaded store reports (:func:`crm_kit.discovery.growth_kpis`), under ``returns: net`` and ``returns: drop``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from crm_kit import load_store
from crm_kit.discovery import growth_kpis
from crm_kit.errors import ParameterError
from crm_kit.store.spec import check_spec

STATUSES = {"purchase": ["complete"], "not_purchase": ["canceled", "closed"]}


def _figures(spec: dict) -> pd.DataFrame:
    kpis = growth_kpis(load_store(spec)).set_index("month")
    kpis.index = kpis.index.astype(str)
    return kpis[["customers", "orders", "sales"]]


# ------------------------------------------------------------------ refunded money on a file of one row per order

#: a web shop's order grid: one row per order, the money refunded on it in a column of its own
ORDER_GRID = pd.DataFrame({
    "ID": ["1", "2", "3", "4", "5"],
    "Email": ["a@x.com", "b@x.com", "a@x.com", "c@x.com", "b@x.com"],
    "Date": ["2024-01-03 10:00", "2024-01-10 11:00", "2024-01-20 12:00", "2024-02-05 09:00", "2024-02-08 10:00"],
    "Status": ["Complete", "Complete", "Closed", "Complete", "Canceled"],
    "Total": [100.0, 40.0, 60.0, 80.0, 30.0],
    "Refunded": [0.0, 15.0, 60.0, 20.0, 0.0],
})


def _grid_spec(tmp_path: Path, returns: str) -> dict:
    ORDER_GRID.to_csv(tmp_path / "grid.csv", index=False)
    return {"tables": {"transactions": {"path": str(tmp_path / "grid.csv"), "columns": {
        "order_id": "ID", "customer_id": "Email", "ts": "Date", "status": "Status", "amount": "Total",
        "refunded": "Refunded"}}},
        "cleaning": {"statuses": STATUSES, "returns": returns}}


def test_refunded_on_a_row_nets_on_its_date_and_drop_leaves_gross(tmp_path):
    net = _figures(_grid_spec(tmp_path, "net"))
    # January: purchases 1 (a, 100) and 2 (b, 40 with 15 refunded); 3 is Closed (not a purchase, its refund too)
    #   buyers {a, b} = 2, visits 2, net 100 + 40 - 15 = 125
    # February: 4 (c, 80, 20 refunded); 5 canceled -> buyers 1, visits 1, net 80 - 20 = 60
    assert net["customers"].tolist() == [2, 1]
    assert net["orders"].tolist() == [2, 1]
    assert net["sales"].tolist() == pytest.approx([125.0, 60.0])
    gross = _figures(_grid_spec(tmp_path, "drop"))
    assert gross["customers"].tolist() == [2, 1] and gross["orders"].tolist() == [2, 1]
    assert gross["sales"].tolist() == pytest.approx([140.0, 80.0])


# ------------------------------------------------------------------ returned units on a line item

#: a marketplace's item rows: 2 of order A's 3 mugs returned, 1 of order C's 4 towels
ITEMS = pd.DataFrame({
    "Order ID": ["A", "A", "B", "C", "D"],
    "Buyer": ["u1", "u1", "u2", "u1", "u3"],
    "Created": ["2024-03-01 10:00", "2024-03-01 10:00", "2024-03-15 12:00", "2024-04-02 09:00", "2024-04-03 09:00"],
    "Status": ["Complete", "Complete", "Complete", "Complete", "Canceled"],
    "SKU": ["mug", "tea", "mug", "towel", "mug"],
    "Quantity": [3, 1, 1, 4, 2],
    "Subtotal": [30.0, 7.5, 10.0, 50.0, 20.0],
    "Returned quantity": [2, 0, 0, 1, 2],
})


def _items_spec(tmp_path: Path, returns: str) -> dict:
    ITEMS.to_csv(tmp_path / "items.csv", index=False)
    return {"tables": {"transactions": {"path": str(tmp_path / "items.csv"), "columns": {
        "order_id": "Order ID", "customer_id": "Buyer", "ts": "Created", "status": "Status", "product_id": "SKU",
        "quantity": "Quantity", "amount": "Subtotal", "returned_quantity": "Returned quantity"}}},
        "cleaning": {"statuses": STATUSES, "returns": returns}}


def test_returned_quantity_takes_its_share_of_the_line_on_the_lines_date(tmp_path):
    net = _figures(_items_spec(tmp_path, "net"))
    # March: A (u1: 30 + 7.5, 2 of 3 mugs back: -30 x 2/3 = -20) and B (u2: 10): buyers 2, visits 2, net 27.5
    # April: C (u1: 50, 1 of 4 towels back: -12.5); D canceled (its returned units too): buyers 1, visits 1, net 37.5
    assert net["customers"].tolist() == [2, 1]
    assert net["orders"].tolist() == [2, 1]
    assert net["sales"].tolist() == pytest.approx([27.5, 37.5])
    gross = _figures(_items_spec(tmp_path, "drop"))
    assert gross["orders"].tolist() == [2, 1]
    assert gross["sales"].tolist() == pytest.approx([47.5, 50.0])


def test_returned_units_leave_the_units_sold(tmp_path):
    """Under net the returned units count against the units: 3 + 1 + 1 + 4 sold, 2 + 1 back = 6 net units."""
    store = load_store(_items_spec(tmp_path, "net"))
    lines = store.all_lines.execute()
    assert float(lines["quantity"].sum()) == pytest.approx(6.0)


def test_a_misspelt_role_is_named_with_the_right_one(tmp_path):
    spec = _items_spec(tmp_path, "net")
    cols = spec["tables"]["transactions"]["columns"]
    cols["returned_qty"] = cols.pop("returned_quantity")
    with pytest.raises(ParameterError, match="returned_quantity"):
        check_spec(spec)


# ------------------------------------------------------------------ init drafts them


def _init(tmp_path: Path, frame: pd.DataFrame, name: str = "export.csv"):
    from crm_kit.draft import draft, write_draft

    tmp_path.mkdir(parents=True, exist_ok=True)
    frame.to_csv(tmp_path / name, index=False)
    found = draft([tmp_path / name])
    data_path, _run = write_draft(found, tmp_path / "init")
    return yaml.safe_load(data_path.read_text(encoding="utf-8")), found, data_path


def test_init_maps_an_order_grids_total_refunded_and_reads_closed_beside_complete_as_a_refund(tmp_path):
    grid = ORDER_GRID.rename(columns={"Email": "Customer Email", "Date": "Purchase Date", "Total": "Grand Total",
                                      "Refunded": "Total Refunded"})
    spec, _found, data_path = _init(tmp_path, grid)
    cols = spec["tables"]["transactions"]["columns"]
    assert cols["refunded"] == "Total Refunded" and cols["amount"] == "Grand Total"
    assert spec["cleaning"]["statuses"] == {"purchase": ["complete"], "not_purchase": ["canceled", "closed"]}
    assert spec["cleaning"]["returns"] == "net"
    text = data_path.read_text(encoding="utf-8")
    assert "3 of 5 row(s) have money refunded (Total Refunded)" in text
    assert "closed (1) beside complete is an order refunded in full" in text
    # the hand-computed figures of test_refunded_on_a_row_nets_on_its_date_and_drop_leaves_gross
    net = _figures(spec)
    assert net["sales"].tolist() == pytest.approx([125.0, 60.0]) and net["orders"].tolist() == [2, 1]


def test_init_leaves_closed_a_purchase_without_complete_and_a_line_files_refund_unread(tmp_path):
    """A till's CLOSED receipts are sales; a refund repeated on each line of its order is no line's own."""
    lines = ITEMS.drop(columns=["Returned quantity"]).assign(
        Status=["Closed", "Closed", "Closed", "Closed", "Voided"], Refunded=[10.0, 10.0, 0.0, 0.0, 0.0])
    spec, _found, _path = _init(tmp_path, lines)
    assert spec["cleaning"]["statuses"] == {"purchase": ["closed"], "not_purchase": ["voided"]}
    assert "refunded" not in spec["tables"]["transactions"]["columns"]  # order A's id repeats: not one row per order


@pytest.mark.parametrize("header", ["Returned quantity", "Qty refunded", "退货数量"])
def test_init_maps_a_returned_quantity_with_its_count(tmp_path, header):
    spec, _found, data_path = _init(tmp_path, ITEMS.rename(columns={"Returned quantity": header}))
    cols = spec["tables"]["transactions"]["columns"]
    assert cols["returned_quantity"] == header and cols["quantity"] == "Quantity"
    assert spec["cleaning"]["returns"] == "net"
    assert f"3 of 5 line(s) have units returned ({header})" in data_path.read_text(encoding="utf-8")
    net = _figures(spec)
    assert net["sales"].tolist() == pytest.approx([27.5, 37.5])


def test_init_takes_quantity_times_price_when_the_orders_total_repeats_on_each_item_row(tmp_path):
    """JD's 订单金额: the order's money on each of its rows (5 orders of two products); the lines are qty x 京东价."""
    rows = []
    for k, (day, status) in enumerate([("2024-05-02", "完成"), ("2024-05-09", "完成"), ("2024-05-17", "完成"),
                                       ("2024-06-03", "完成"), ("2024-06-20", "已取消")]):
        qty, price = [1 + k % 2, 2], [12.5, 3.0 + k]
        total = qty[0] * price[0] + qty[1] * price[1]
        for i in range(2):
            rows.append({"订单号": f"28{k:05d}", "商品ID": f"p{i + k}", "订购数量": qty[i], "下单时间": f"{day} 10:0{i}:00",
                         "京东价": price[i], "订单金额": total, "订单状态": status, "下单帐号": f"jd_u{k % 3}"})
    spec, _found, data_path = _init(tmp_path / "a", pd.DataFrame(rows), "订单导出.csv")
    cols = spec["tables"]["transactions"]["columns"]
    assert "amount" not in cols and cols["unit_price"] == "京东价" and cols["quantity"] == "订购数量"
    assert cols["customer_id"] == "下单帐号"
    assert spec["cleaning"]["statuses"] == {"purchase": ["完成"], "not_purchase": ["已取消"]}
    assert "订单金额 is one value on every line of 5 of the 5 orders" in data_path.read_text(encoding="utf-8")
    # May: k=0: 1x12.5 + 2x3 = 18.5; k=1: 2x12.5 + 2x4 = 33; k=2: 1x12.5 + 2x5 = 22.5 -> 74.0 (not 2 x 74)
    # June: k=3: 2x12.5 + 2x6 = 37; k=4 cancelled
    net = _figures(spec)
    assert net["sales"].tolist() == pytest.approx([74.0, 37.0])
    assert net["orders"].tolist() == [3, 1] and net["customers"].tolist() == [3, 1]
    # without the lines' own price the repeated total is not summed per line: init leaves the choice, in one line
    _spec, found, _path = _init(tmp_path / "b", pd.DataFrame(rows).drop(columns=["京东价"]), "订单导出.csv")
    assert any(u.startswith("transactions.amount: 订单金额 is one value on every line of 5 of the 5 orders")
               for u in found.undecided)


def test_init_reads_a_refund_written_on_the_orders_first_row_once(tmp_path):
    """Shopify's export: the order's fields (Id, status, Refunded Amount) on its first row only, blank below."""
    rows = pd.DataFrame({
        "Name": ["#1", "#1", "#2", "#3", "#3", "#4"],
        "Email": ["u1@x.com", "u1@x.com", "u2@x.com", "u1@x.com", "u1@x.com", "u3@x.com"],
        "Financial Status": ["partially_refunded", "", "refunded", "paid", "", "partially_refunded"],
        "Created at": ["2024-01-05 10:00", "2024-01-05 10:00", "2024-01-09 11:00", "2024-02-02 09:00",
                       "2024-02-02 09:00", "2024-02-10 12:00"],
        "Lineitem quantity": [2, 1, 1, 1, 3, 1],
        "Lineitem price": [10.0, 5.0, 30.0, 8.0, 4.0, 12.0],
        "Lineitem sku": ["a", "b", "c", "a", "d", "b"],
        "Refunded Amount": ["5.00", "", "30.00", "0.00", "", "2.00"],
        "Id": ["501", "", "502", "503", "", "504"],
    })
    spec, _found, data_path = _init(tmp_path, rows, "orders_export_1.csv")
    assert spec["tables"]["transactions"]["columns"]["refunded"] == "Refunded Amount"
    assert "written once per order, on its first row" in data_path.read_text(encoding="utf-8")
    # January: #1 (u1) 2x10 + 5 = 25, 5 refunded; #2 refunded in full (no purchase) -> buyers 1, visits 1, net 20
    # February: #3 (u1) 8 + 3x4 = 20; #4 (u3) 12, 2 refunded -> buyers 2, visits 2, net 30
    net = _figures(spec)
    assert net["customers"].tolist() == [1, 2] and net["orders"].tolist() == [1, 2]
    assert net["sales"].tolist() == pytest.approx([20.0, 30.0])
