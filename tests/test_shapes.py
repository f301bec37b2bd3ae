"""The shapes shop platforms write: orders and lines in two files, statuses, refunds, returns, no products.

Each rule on a small table whose figures are computed by hand and again with
pandas in the test (buyers, visits, gross and net sales per month), then
compared with what the loaded store reports through the engine's queries.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from crm_kit import load_store
from crm_kit.discovery import growth_kpis
from crm_kit.engine import customer_summary, monthly_customer_list, period_metrics
from crm_kit.errors import DataError, ParameterError
from crm_kit.store.spec import check_spec

# ------------------------------------------------------------------ a shop platform's two files

#: one row per order: the customer, time, status, refunded money and channel are written here only
ORDERS = pd.DataFrame({
    "Order ID": ["1001", "1002", "1003", "1004", "1005", "1006", "1007", "RET-1001", "1008"],
    "Buyer": ["u1", "u1", "u2", "u3", "u2", "u4", "u3", "u1", "u5"],
    "Created at": ["2025-01-05 10:00", "2025-01-20 12:00", "2025-01-22 09:00", "2025-01-25 15:00",
                   "2025-02-02 11:00", "2025-02-10 16:00", "2025-02-14 10:00", "2025-02-03 09:30",
                   "2025-02-20 08:00"],
    "Status": ["Paid", "completed ", "CANCELLED", "paid", "refunded", "Paid", "paid", "paid", "Paid"],
    "Refunded": [0.0, 5.0, 0.0, 0.0, 30.0, 0.0, 0.0, 0.0, 0.0],
    "Total": [50.0, 40.0, 25.0, 60.0, 30.0, 70.0, 20.0, -20.0, 45.0],
    "Channel": ["web", "web", "app", "web", "app", "web", "web", "web", "app"],
})

#: the line items: no customer, no time; 1008 has no lines (its total is its sales); X99's order is unknown
LINES = pd.DataFrame({
    "Order ID": ["1001", "1001", "1002", "1003", "1004", "1004", "1005", "1006", "1007", "RET-1001", "X99"],
    "SKU": ["p1", "p2", "p1", "p3", "p2", "p3", "p1", "p2", "p3", "p2", "p1"],
    "Qty": [1, 2, 1, 1, 1, 2, 1, 3, 1, 1, 1],
    "Line total": [30.0, 20.0, 40.0, 25.0, 20.0, 40.0, 30.0, 70.0, 20.0, 20.0, 99.0],
})

STATUSES = {"purchase": ["paid", "completed"], "not_purchase": ["cancelled", "refunded"]}


def _shop(tmp_path: Path, *, orders=ORDERS, lines=LINES, cleaning=None, order_columns=None, line_columns=None,
          with_lines: bool = True) -> dict:
    orders.to_csv(tmp_path / "orders.csv", index=False)
    tables = {"orders": {"path": str(tmp_path / "orders.csv"), "columns": order_columns or {
        "order_id": "Order ID", "customer_id": "Buyer", "ts": "Created at", "status": "Status",
        "refunded": "Refunded", "amount": "Total", "channel": "Channel"}}}
    if with_lines:
        lines.to_csv(tmp_path / "order_lines.csv", index=False)
        tables["transactions"] = {"path": str(tmp_path / "order_lines.csv"), "columns": line_columns or {
            "order_id": "Order ID", "product_id": "SKU", "quantity": "Qty", "amount": "Line total"}}
    return {"tables": tables, "cleaning": {"statuses": STATUSES, "return_prefix": "RET-", **(cleaning or {})}}


def _truth(lines: pd.DataFrame) -> pd.DataFrame:
    """Buyers, visits, gross and net sales per month from canonical lines with an ``is_return`` flag, in pandas."""
    df = lines.assign(month=pd.to_datetime(lines["ts"]).dt.to_period("M"))
    bought = df[~df["is_return"]]
    per = pd.DataFrame({
        "buyers": bought.groupby("month")["customer_id"].nunique(),
        "visits": bought.groupby("month")["order_id"].nunique(),
        "gross": bought.groupby("month")["amount"].sum(),
        "net": df.groupby("month")["amount"].sum(),
    }).fillna(0)
    return per.astype({"buyers": "int64", "visits": "int64"})


def _kit_figures(store) -> pd.DataFrame:
    kpis = growth_kpis(store).set_index("month")
    return pd.DataFrame({"buyers": kpis["customers"], "visits": kpis["orders"], "net": kpis["customer_sales"]})


def _shop_truth(net: bool) -> pd.DataFrame:
    """The shop's canonical lines as the contract reads them, built in pandas from the two files."""
    o = ORDERS.assign(status=ORDERS["Status"].str.strip().str.lower())
    lines = LINES.merge(o, on="Order ID", how="inner")  # X99 has no order: left out
    lines = lines[lines["status"].isin(STATUSES["purchase"])]
    canon = pd.DataFrame({"customer_id": lines["Buyer"], "order_id": lines["Order ID"], "ts": lines["Created at"],
                          "amount": lines["Line total"], "is_return": lines["Order ID"].str.startswith("RET-")})
    paid = o[o["status"].isin(STATUSES["purchase"])]
    no_lines = paid[~paid["Order ID"].isin(LINES["Order ID"])]  # 1008: its total is its sales
    canon = pd.concat([canon, pd.DataFrame({"customer_id": no_lines["Buyer"], "order_id": no_lines["Order ID"],
                                            "ts": no_lines["Created at"], "amount": no_lines["Total"],
                                            "is_return": False})])
    refunds = paid[paid["Refunded"] > 0]
    canon = pd.concat([canon, pd.DataFrame({"customer_id": refunds["Buyer"], "order_id": refunds["Order ID"],
                                            "ts": refunds["Created at"], "amount": -refunds["Refunded"],
                                            "is_return": True})])
    canon.loc[canon["is_return"], "amount"] = -canon.loc[canon["is_return"], "amount"].abs()
    if not net:
        canon = canon[~canon["is_return"]]
    return _truth(canon)


def test_orders_and_lines_join_hand_computed(tmp_path):
    store = load_store(_shop(tmp_path, cleaning={"returns": "net"}))
    kit = _kit_figures(store)
    truth = _shop_truth(net=True)
    # by hand: January: u1 (1001, 1002), u3 (1004) -> 2 buyers, 3 visits; gross 50 + 40 + 60 = 150, net 150 - 5 = 145
    # (1003 cancelled). February: u4 (1006), u3 (1007), u5 (1008, no lines: its total 45) -> 3 buyers, 3 visits; the
    # return RET-1001 (u1, 20) is no visit and u1 no buyer; 1005 refunded (not a purchase); net 70 + 20 + 45 - 20 = 115
    assert truth["buyers"].tolist() == [2, 3] and truth["visits"].tolist() == [3, 3]
    assert truth["gross"].tolist() == [150.0, 135.0] and truth["net"].tolist() == [145.0, 115.0]
    assert kit["buyers"].tolist() == [2, 3]
    assert kit["visits"].tolist() == [3, 3]
    assert kit["net"].tolist() == pytest.approx([145.0, 115.0])
    report = store.cleaning_report.set_index("rule")
    orphan = report[report.index.str.startswith("line items of no order")]
    assert orphan["rows_removed"].tolist() == [1] and "X99" in orphan.index[0]
    status = report[report.index.str.startswith("not purchases")]
    assert status["rows_removed"].tolist() == [3]  # 1003's line, 1005's line and the line of 1005's refund
    assert status["sales_removed"].tolist() == [pytest.approx(25.0 + 30.0 - 30.0)]
    # the order's fields flowed to every line
    lines = store.con.to_pandas(store.transactions)
    assert set(lines.loc[lines["order_id"] == "1004", "customer_id"]) == {"u3"}
    assert set(lines.loc[lines["order_id"] == "1004", "channel"]) == {"web"}


def test_returns_drop_leaves_refunds_and_return_orders_out(tmp_path):
    store = load_store(_shop(tmp_path, cleaning={"returns": "drop"}))
    kit = _kit_figures(store)
    truth = _shop_truth(net=False)
    assert truth["net"].tolist() == [150.0, 135.0]
    assert kit["net"].tolist() == pytest.approx(truth["net"].tolist())
    assert kit["visits"].tolist() == truth["visits"].tolist() == [3, 3]
    assert kit["buyers"].tolist() == truth["buyers"].tolist()


def test_return_orders_are_no_visits_nor_buyers_per_customer(tmp_path):
    store = load_store(_shop(tmp_path, cleaning={"returns": "net"}))
    feb = monthly_customer_list(store.transactions, month="2025-02", groups=2)
    assert sorted(feb["customer_id"]) == ["u3", "u4", "u5"]  # u1 only returned in February: no buyer
    metrics = period_metrics(store.transactions, periods={"feb": "2025-02"}, customer_ids=["u1", "u3"])
    assert metrics.loc["u1", "visits_feb"] == 0 and metrics.loc["u1", "sales_feb"] == pytest.approx(-20.0)
    summary = customer_summary(store.transactions, as_of="2025-03-01").set_index("customer_id")
    # u1: two purchase orders in January and a return in February: frequency 2, last purchase in January, net 70
    assert summary.loc["u1", "frequency"] == 2
    assert pd.Timestamp(summary.loc["u1", "last_purchase"]).month == 1
    assert summary.loc["u1", "sales"] == pytest.approx(50 + 40 - 5 - 20)
    health = store.health().set_index("figure")["value"]
    assert health["orders"] == 6 and health["customers"] == 4


def test_unknown_status_stops_the_load_naming_values_and_key(tmp_path):
    orders = ORDERS.assign(Status=ORDERS["Status"].where(ORDERS["Order ID"] != "1007", "on-hold"))
    with pytest.raises(DataError, match=r"'on-hold' \(1 lines\).*cleaning\.statuses\.purchase"):
        load_store(_shop(tmp_path, orders=orders))
    spec = _shop(tmp_path)
    del spec["cleaning"]["statuses"]
    with pytest.raises(DataError, match=r"needs cleaning\.statuses: 'paid' \(\d+ lines\)"):
        load_store(spec)


def test_statuses_validated_with_the_fix(tmp_path):
    spec = _shop(tmp_path)
    with pytest.raises(ParameterError, match=r"did you mean \['not_purchase'\]"):
        check_spec({**spec, "cleaning": {"statuses": {"purchase": ["paid"], "not_purchased": ["x"]}}})
    with pytest.raises(ParameterError, match="in both purchase and not_purchase"):
        check_spec({**spec, "cleaning": {"statuses": {"purchase": ["Paid"], "not_purchase": ["paid "]}}})
    with pytest.raises(ParameterError, match=r"did you mean \['return_prefix'\]"):
        check_spec({**spec, "cleaning": {"return_prefx": "RET-"}})
    with pytest.raises(ParameterError, match="no line_type column is mapped"):
        check_spec({**spec, "cleaning": {"return_types": ["return"]}})
    no_status = {**spec["tables"]["orders"], "columns": {"order_id": "Order ID", "customer_id": "Buyer",
                                                        "ts": "Created at"}}
    with pytest.raises(ParameterError, match="no status column is mapped"):
        check_spec({"tables": {"orders": no_status, "transactions": spec["tables"]["transactions"]},
                    "cleaning": {"statuses": STATUSES}})


def test_lines_without_order_can_stop_the_load(tmp_path):
    with pytest.raises(DataError, match=r"1 line item\(s\).*order ids e\.g\. \['X99'\].*lines_without_order"):
        load_store(_shop(tmp_path, cleaning={"lines_without_order": "error"}))


def test_cache_key_changes_with_the_new_keys(tmp_path):
    from crm_kit.store.cache import _cache_key

    base = _shop(tmp_path)
    keys = {_cache_key(check_spec(base))}
    for cleaning in ({"return_prefix": "R-"}, {"return_types": ["return"]},
                     {"statuses": {"purchase": ["paid", "completed", "shipped"], "not_purchase": ["cancelled"]}}):
        spec = {**base, "cleaning": {**base["cleaning"], **cleaning}}
        if "return_types" in cleaning:
            spec["tables"] = {**base["tables"], "orders": {**base["tables"]["orders"], "columns": {
                **base["tables"]["orders"]["columns"], "line_type": "Channel"}}}
        keys.add(_cache_key(check_spec(spec)))
    assert len(keys) == 4


# ------------------------------------------------------------------ one file of lines: returns written three ways


def _one_file(tmp_path: Path, frame: pd.DataFrame, cleaning: dict, columns: dict | None = None) -> dict:
    frame.to_csv(tmp_path / "lines.csv", index=False)
    return {"tables": {"transactions": {"path": str(tmp_path / "lines.csv"), "columns": columns or {}}},
            "cleaning": cleaning}


TILL = pd.DataFrame({
    "customer_id": ["a", "a", "b", "b", "c", "a", "c"],
    "order_id": ["T1", "T1", "T2", "T3", "T4", "T5", "T6"],
    "ts": ["2025-03-01 10:00", "2025-03-01 10:00", "2025-03-02 11:00", "2025-03-20 12:00", "2025-03-21 13:00",
           "2025-04-02 09:00", "2025-04-03 09:00"],
    "product_id": ["p1", "p2", "p1", "p2", "p3", "p1", "p3"],
    "quantity": [1, 1, 2, 1, 1, 1, 1],
    "amount": [10.0, 5.0, 20.0, 8.0, 12.0, 10.0, 12.0],
    "type": ["sale", "sale", "sale", "sale", "sale", "sale", "sale"],
})


@pytest.mark.parametrize("how", ["negative", "prefix", "type"])
@pytest.mark.parametrize("returns", ["net", "drop"])
def test_returns_three_ways_give_the_same_figures(tmp_path, how, returns):
    till = TILL.copy()
    # T5 (a, April) and T6 (c, April) are returns of March's purchases, each written the platform's way
    returned = till["order_id"].isin(["T5", "T6"])
    cleaning: dict = {"returns": returns}
    columns = None
    if how == "negative":
        till.loc[returned, "quantity"] = -till.loc[returned, "quantity"]
    elif how == "prefix":
        till.loc[returned, "order_id"] = "RET-" + till.loc[returned, "order_id"]
        cleaning["return_prefix"] = "RET-"
    else:
        till.loc[returned, "type"] = [" Return", "REFUND"]
        cleaning["return_types"] = ["return", "refund"]
        columns = {"line_type": "type"}
    store = load_store(_one_file(tmp_path, till, cleaning, columns))
    kit = _kit_figures(store)
    canon = TILL.assign(is_return=returned)
    canon.loc[returned, "amount"] = -canon.loc[returned, "amount"]
    truth = _truth(canon if returns == "net" else canon[~canon["is_return"]])
    # by hand: March 3 buyers, 4 visits, 55; April no purchase; net subtracts 22 in April
    assert truth.loc[pd.Period("2025-03", "M")].tolist() == [3, 4, 55.0, 55.0]
    assert kit.loc[pd.Period("2025-03", "M")].tolist() == [3, 4, pytest.approx(55.0)]
    if returns == "net":
        assert kit.loc[pd.Period("2025-04", "M")].tolist() == [0, 0, pytest.approx(-22.0)]
        assert truth.loc[pd.Period("2025-04", "M"), "net"] == -22.0
    else:
        assert pd.Period("2025-04", "M") not in kit.index
    report = store.cleaning_report.set_index("rule")
    ret = report[report.index.str.startswith("returns")].iloc[0]
    assert ret["rows_found"] == 2


def test_cancellation_prefix_orders_are_no_visits_under_net(tmp_path):
    till = TILL.copy()
    till.loc[till["order_id"] == "T5", "order_id"] = "CT5"  # a UCI-style cancellation, quantity written positive
    store = load_store(_one_file(tmp_path, till, {"returns": "net", "cancellation_prefix": "C"}))
    april = _kit_figures(store).loc[pd.Period("2025-04", "M")]
    assert april.tolist() == [1, 1, pytest.approx(12.0 - 10.0)]  # T6 bought by c; CT5 subtracts, no visit


# ------------------------------------------------------------------ a store without products


def test_store_without_products_loads_with_one_item_per_line(tmp_path):
    till = TILL.drop(columns=["product_id", "quantity", "type"]).iloc[:5]
    store = load_store(_one_file(tmp_path, till, {}))
    assert not store.has_products
    lines = store.con.to_pandas(store.transactions)
    assert len(lines) == 5 and lines["quantity"].tolist() == [1.0] * 5
    kit = _kit_figures(store).loc[pd.Period("2025-03", "M")]
    assert kit.tolist() == [3, 4, pytest.approx(55.0)]
    report = store.cleaning_report
    assert report["rule"].str.startswith("no product column in the export").sum() == 1
    with_products = load_store(_one_file(tmp_path / "..", TILL, {}))
    assert with_products.has_products


def test_orders_alone_with_totals_load(tmp_path):
    spec = _shop(tmp_path, with_lines=False)
    store = load_store(spec)
    assert not store.has_products
    kit = _kit_figures(store)
    # paid orders: January 1001 (50), 1002 (40) of u1, 1004 (60) of u3; February 1006, 1007, 1008 and the return
    # order RET-1001 (total -20), left out under the default returns: drop; refunds dropped too
    assert kit["visits"].tolist() == [3, 3]
    assert kit["net"].tolist() == pytest.approx([150.0, 135.0])


@pytest.mark.notebook
def test_notebook_01_runs_on_a_store_without_products(tmp_path):
    """Knowledge discovery end to end on a till export with no product column: the product steps say why they skip."""
    import numpy as np
    import papermill as pm
    import yaml

    from conftest import ROOT

    rng = np.random.default_rng(7)
    n = 600
    lines = pd.DataFrame({
        "member": [f"m{k:03d}" for k in rng.integers(0, 60, n)],
        "receipt": [f"R{k:05d}" for k in range(n)],
        "time": (pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 90 * 24 * 60, n), unit="min"))
        .strftime("%Y-%m-%d %H:%M"),
        "total": rng.gamma(2.0, 40.0, n).round(2),
    })
    lines.to_csv(tmp_path / "till.csv", index=False)
    spec = {"tables": {"transactions": {"path": str(tmp_path / "till.csv"), "columns": {
        "customer_id": "member", "order_id": "receipt", "ts": "time", "amount": "total"}}}}
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    out.mkdir()
    executed = tmp_path / "01.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "01_knowledge_discovery.ipynb"), str(executed),
                        parameters={"output_dir": str(out), "data": str(tmp_path / "data.yaml"), "month": "2025-02"},
                        cwd=str(ROOT / "notebooks"), kernel_name="python3", progress_bar=False)
    import nbformat

    text = "\n".join(o.get("text", "") for c in nbformat.read(str(executed), as_version=4).cells
                     for o in c.get("outputs", []))
    for step in ("The bestseller list", "The bought-together pairs", "The category mix"):
        assert f"{step} is skipped: the export has no product column" in text
    assert "UNDECIDED" not in text
    summary = __import__("json").loads((out / "discovery_summary.json").read_text())
    truth = lines[pd.to_datetime(lines["time"]).dt.to_period("M") == pd.Period("2025-02", "M")]
    assert summary["customers"] == truth["member"].nunique()
    assert summary["total_sales"] == pytest.approx(truth["total"].sum())


# ------------------------------------------------------------------ init drafts these keys


def test_init_pairs_orders_with_lines_and_drafts_statuses_and_returns(tmp_path):
    """The draft of the two files loads as written and gives the hand-computed figures."""
    import yaml

    from crm_kit.draft import data_yaml, draft

    ORDERS.to_csv(tmp_path / "orders.csv", index=False)
    LINES.to_csv(tmp_path / "order_lines.csv", index=False)
    d = draft([tmp_path / "orders.csv", tmp_path / "order_lines.csv"])
    assert d.table("orders").columns["order_id"] == "Order ID"
    assert d.table("orders").columns["customer_id"] == "Buyer" and d.table("orders").columns["status"] == "Status"
    assert d.table("transactions").columns["product_id"] == "SKU"  # the lines file is no catalogue
    assert "customer_id" not in d.table("transactions").columns
    spec = yaml.safe_load(data_yaml(d))
    assert spec["cleaning"]["statuses"] == {"purchase": ["completed", "paid"], "not_purchase": ["cancelled", "refunded"]}
    assert spec["cleaning"]["return_prefix"] == "RET-" and spec["cleaning"]["returns"] == "net"
    kit = _kit_figures(load_store(spec))
    assert kit["buyers"].tolist() == [2, 3] and kit["visits"].tolist() == [3, 3]
    assert kit["net"].tolist() == pytest.approx(_shop_truth(net=True)["net"].tolist())


def test_init_statuses_in_several_languages_and_an_unknown_one(tmp_path):
    from crm_kit.draft import data_yaml, draft

    till = TILL.drop(columns=["type"]).assign(订单状态=["已完成", "交易成功", "bezahlt", "已取消", "payée", "キャンセル", "on its way"],
                       交易类型=["销售", "销售", "销售", "销售", "销售", "退货", "销售"])
    till.to_csv(tmp_path / "till.csv", index=False)
    d = draft([tmp_path / "till.csv"])
    lines = d.table("transactions")
    assert lines.columns["status"] == "订单状态" and lines.columns["line_type"] == "交易类型"
    assert lines.cleaning["statuses"] == {"purchase": ["bezahlt", "payée", "交易成功", "已完成"],
                                          "not_purchase": ["キャンセル", "已取消"]}
    assert lines.cleaning["return_types"] == ["退货"]
    assert any("'on its way'" in u and "statuses.purchase" in u for u in d.undecided)
    assert "# UNDECIDED: cleaning.statuses: the status 'on its way'" in data_yaml(d)


def test_init_nets_an_orders_refunded_money_without_any_return_order(tmp_path):
    """No return order, no negative line: the orders' refunded money alone makes the draft net it (5.00 in January)."""
    from crm_kit.draft import data_yaml, draft

    ORDERS[ORDERS["Order ID"] != "RET-1001"].to_csv(tmp_path / "orders.csv", index=False)
    LINES[LINES["Order ID"] != "RET-1001"].to_csv(tmp_path / "order_lines.csv", index=False)
    d = draft([tmp_path / "orders.csv", tmp_path / "order_lines.csv"])
    spec = yaml.safe_load(data_yaml(d))
    assert "return_prefix" not in spec["cleaning"] and spec["cleaning"]["returns"] == "net"
    kit = growth_kpis(load_store(spec)).set_index("month")["sales"]
    # January: 1001 (50) + 1002 (40) + 1004 (60) - 1002's refund 5; February: 1006 (70) + 1007 (20) + 1008 (45);
    # 1003 cancelled and 1005 refunded are no purchases, nor is their refund counted
    assert kit.tolist() == pytest.approx([145.0, 135.0])
