"""Order fields written once per order (``fill_down``) and lines after the data (``skip_footer``), by hand.

The data-spec keys are read by the loader (crm_kit/store/derive.py, crm_kit/store/convert.py); ``crm-kit init`` decides them from the whole
file (crm_kit/store/profile.py, crm_kit/store/sniff.py, crm_kit/draft/table.py).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crm_kit import load_store
from crm_kit.discovery import growth_kpis
from crm_kit.errors import DataError, ParameterError
from crm_kit.store.spec import check_spec

#: six rows, three orders: the order's customer, time and status only on its first row (Odoo's sale-order lines);
#: order 2's second line and order 3's lines in another month
SIX_ROWS = """Order,Customer,Date,Status,Product,Qty,Subtotal
S1,acme,2024-01-05 10:00,Sales Order,p1,1,10.00
,,,,p2,2,20.00
S2,bolt,2024-01-20 11:00,Cancelled,p1,1,99.00
,,,,p3,1,1.00
S3,acme,2024-02-02 09:00,Sales Order,p2,3,30.00
,,,,p1,1,5.00
"""

COLUMNS = {"order_id": "Order", "customer_id": "Customer", "ts": "Date", "status": "Status",
           "product_id": "Product", "quantity": "Qty", "amount": "Subtotal"}
STATUSES = {"purchase": ["sales order"], "not_purchase": ["cancelled"]}


def _spec(path: Path, **table) -> dict:
    return {"tables": {"transactions": {"path": str(path), "columns": COLUMNS, **table}},
            "cleaning": {"statuses": STATUSES}}


def _monthly(store) -> dict:
    g = growth_kpis(store).set_index("month")
    return {str(m): (int(r.customers), int(r.orders), round(float(r.sales), 2)) for m, r in g.iterrows()}


def test_fill_down_gives_each_line_its_orders_fields(tmp_path):
    path = tmp_path / "sale_order.csv"
    path.write_text(SIX_ROWS)
    store = load_store(_spec(path, fill_down=["order_id", "customer_id", "ts", "status"]))
    lines = store.transactions.to_pandas().sort_values(["order_id", "product_id"])
    # the cancelled order S2 (two lines) is no purchase: four purchase lines, each with its order's fields
    assert lines["order_id"].tolist() == ["S1", "S1", "S3", "S3"]
    assert lines["customer_id"].tolist() == ["acme", "acme", "acme", "acme"]
    assert lines["ts"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-05", "2024-01-05", "2024-02-02", "2024-02-02"]
    # January: acme's S1 (10 + 20); February: acme's S3 (30 + 5)
    assert _monthly(store) == {"2024-01": (1, 1, 30.0), "2024-02": (1, 1, 35.0)}


def test_without_fill_down_the_blank_status_stops_the_load(tmp_path):
    path = tmp_path / "sale_order.csv"
    path.write_text(SIX_ROWS)
    with pytest.raises(DataError, match=r"\(blank\)"):
        load_store(_spec(path))


def test_fill_down_follows_the_file_order_not_the_values(tmp_path):
    """Newest order first (Shopify): the continuation row takes the row above it, whatever the ids sort as."""
    path = tmp_path / "orders_export.csv"
    path.write_text("Name,Email,Created at,Financial Status,Lineitem sku,Lineitem quantity,Lineitem price\n"
                    "#1003,c@x.io,2024-03-01 10:00,paid,p1,1,4.00\n"
                    "#1003,c@x.io,2024-03-01 10:00,,p2,1,6.00\n"
                    "#1002,b@x.io,2024-02-01 10:00,voided,p1,2,4.00\n"
                    "#1002,b@x.io,2024-02-01 10:00,,p1,1,4.00\n"
                    "#1001,a@x.io,2024-01-01 10:00,paid,p3,1,7.50\n"
                    "#1001,a@x.io,2024-01-01 10:00,,p3,2,7.50\n")
    spec = {"tables": {"transactions": {
        "path": str(path), "fill_down": ["status"],
        "columns": {"order_id": "Name", "customer_id": "Email", "ts": "Created at", "status": "Financial Status",
                    "product_id": "Lineitem sku", "quantity": "Lineitem quantity", "unit_price": "Lineitem price"}}},
        "cleaning": {"statuses": {"purchase": ["paid"], "not_purchase": ["voided"]}}}
    assert _monthly(load_store(spec)) == {"2024-01": (1, 1, 22.5), "2024-02": (0, 0, 0.0), "2024-03": (1, 1, 10.0)}


def test_fill_down_in_a_workbook(tmp_path):
    rows = pd.read_csv(pd.io.common.StringIO(SIX_ROWS), dtype=str, keep_default_na=False)
    path = tmp_path / "sale.order.xlsx"
    rows.replace("", None).to_excel(path, index=False)
    store = load_store(_spec(path, fill_down=["order_id", "customer_id", "ts", "status"]))
    assert _monthly(store) == {"2024-01": (1, 1, 30.0), "2024-02": (1, 1, 35.0)}


def test_fill_down_is_checked_with_the_fix(tmp_path):
    base = {"path": "x.csv", "columns": COLUMNS}
    with pytest.raises(ParameterError, match=r"did you mean \['customer_id'\]"):
        check_spec({"tables": {"transactions": {**base, "fill_down": ["customer"]}}})
    with pytest.raises(ParameterError, match="give a list"):
        check_spec({"tables": {"transactions": {**base, "fill_down": "status"}}})
    with pytest.raises(ParameterError, match="not mapped"):
        check_spec({"tables": {"transactions": {**base, "columns": {**COLUMNS, "status": None},
                                                "fill_down": ["status"]}}})
    with pytest.raises(ParameterError, match=r"did you mean \['fill_down'\]"):
        check_spec({"tables": {"transactions": {**base, "fill_dwn": ["status"]}}})


# ---------------------------------------------------------------------------------------------------- skip_footer

FOOTED = ('\r\n"Order","Buyer","Date","Amount"\r\n"o1","ann","2024-01-05","10.00"\r\n"o2","bob","2024-01-09","5.50"\r\n'
          '"o3","ann","2024-02-01","7.25"\r\n\r\n"3 record(s) downloaded,from Jan-01-24 to Feb-28-24"\r\n'
          '"Seller ID : my_shop"\r\n')


def _footed(path: Path, **table) -> dict:
    return {"tables": {"transactions": {"path": str(path), "skip_rows": 1, "columns": {
        "order_id": "Order", "customer_id": "Buyer", "ts": "Date", "amount": "Amount"}, **table}}}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "gbk"])
def test_skip_footer_reads_the_data_without_the_trailer(tmp_path, encoding):
    path = tmp_path / "report.csv"
    path.write_bytes(FOOTED.encode(encoding))
    spec = _footed(path, skip_footer=3, **({} if encoding == "utf-8" else {"encoding": encoding}))
    store = load_store(spec)
    assert sorted(store.transactions.to_pandas()["order_id"]) == ["o1", "o2", "o3"]
    assert _monthly(store) == {"2024-01": (2, 2, 15.5), "2024-02": (1, 1, 7.25)}
    assert path.read_bytes() == FOOTED.encode(encoding)  # the input is never touched


def test_skip_footer_is_checked_and_too_many_lines_said(tmp_path):
    with pytest.raises(ParameterError, match="skip_footer = 'two'"):
        check_spec({"tables": {"transactions": {**_footed(Path("x.csv"))["tables"]["transactions"],
                                                "skip_footer": "two"}}})
    path = tmp_path / "report.csv"
    path.write_text(FOOTED)
    with pytest.raises(DataError, match="lower skip_footer"):
        load_store(_footed(path, skip_footer=40))


# ---------------------------------------------------------------------------------------------------- init decides

def _orders_lines(n_orders: int = 120, seed: int = 3) -> pd.DataFrame:
    """Lines of ``n_orders`` orders (1-3 lines each), every field on every row; amounts in cents-free units."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for o in range(n_orders):
        cust = f"C{int(rng.integers(1, 40)):03d}"
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(o * 180 / n_orders), hours=9)
        status = "cancelled" if o % 10 == 0 else "done"
        for _ in range(int(rng.integers(1, 4))):
            rows.append({"Order Ref": f"SO{o:04d}", "Customer": cust, "Order Date": day.strftime("%Y-%m-%d %H:%M"),
                         "Status": status, "Product": f"P{int(rng.integers(1, 30)):02d}",
                         "Quantity": int(rng.integers(1, 4)), "Subtotal": float(rng.integers(2, 90))})
    return pd.DataFrame(rows)


def _init_figures(path: Path, tmp_path: Path):
    from crm_kit.draft import draft, write_draft

    found = draft([str(path)])
    data_path, _run = write_draft(found, tmp_path / "init")
    spec = (tmp_path / "init" / "data.yaml").read_text(encoding="utf-8")
    return spec, _monthly(load_store(str(data_path)))


def _truth(lines: pd.DataFrame) -> dict:
    done = lines[lines["Status"] == "done"].assign(month=lambda d: d["Order Date"].str[:7])
    g = done.groupby("month")
    return {m: (int(g.get_group(m)["Customer"].nunique()), int(g.get_group(m)["Order Ref"].nunique()),
                round(float(g.get_group(m)["Subtotal"].sum()), 2)) for m in sorted(done["month"].unique())}


def test_init_fills_down_an_order_written_once_key_and_all(tmp_path):
    """Odoo's shape: the order's reference, customer, date and status only on its first line."""
    lines = _orders_lines()
    first = ~lines["Order Ref"].duplicated()
    written = lines.copy()
    for col in ("Order Ref", "Customer", "Order Date", "Status"):
        written[col] = written[col].where(first, "")
    path = tmp_path / "sale_order.csv"
    written.to_csv(path, index=False)
    spec, figures = _init_figures(path, tmp_path)
    assert 'fill_down: ["order_id", "customer_id", "ts", "status"]' in spec
    continuation = int((~first).sum())
    assert f"blank together on {continuation:,} of {len(lines):,} rows" in spec
    assert figures == _truth(lines)


def test_init_fills_down_fields_blank_where_the_order_repeats(tmp_path):
    """Shopify's shape: the order id on every line, its status only on the first line (newest order first)."""
    lines = _orders_lines().iloc[::-1].reset_index(drop=True)
    lines = lines.sort_values("Order Ref", ascending=False, kind="stable").reset_index(drop=True)
    first = ~lines["Order Ref"].duplicated()
    written = lines.assign(Status=lines["Status"].where(first, ""))
    path = tmp_path / "orders_export.csv"
    written.to_csv(path, index=False)
    spec, figures = _init_figures(path, tmp_path)
    assert 'fill_down: ["status"]' in spec
    assert f"blank on {int((~first).sum()):,} of the {int((~first).sum()):,} rows that repeat the order" in spec
    assert figures == _truth(lines)


def test_init_leaves_random_blanks_blank(tmp_path):
    """A customer missing on about 2 % of rows at random (some on an order's first line) is no order written once:
    no fill_down, and those lines stay without a customer (sales counted, no buyer)."""
    import numpy as np

    lines = _orders_lines()
    lines["Status"] = "done"
    rng = np.random.default_rng(7)
    holes = rng.random(len(lines)) < 0.02
    first = ~lines["Order Ref"].duplicated()
    holes[np.flatnonzero(first.to_numpy())[5]] = True  # at least one on an order's first line
    holes[np.flatnonzero((~first).to_numpy())[3]] = True  # and one on a later line
    written = lines.assign(Customer=lines["Customer"].where(~holes, ""))
    path = tmp_path / "lines.csv"
    written.to_csv(path, index=False)
    spec, _figures = _init_figures(path, tmp_path)
    assert "fill_down" not in spec
    from crm_kit import load_store as load

    store = load(str(tmp_path / "init" / "data.yaml"))
    kept = store.all_lines.to_pandas() if hasattr(store, "all_lines") else store.transactions.to_pandas()
    assert int(kept["customer_id"].isna().sum()) == int(holes.sum())


# ---------------------------------------------------------------------------------------------------- hashed

def test_an_email_key_is_read_hashed_never_kept(tmp_path):
    """Shopify's only customer key is the buyer's email: init maps it hashed; the store holds digests only."""
    import hashlib

    lines = _orders_lines(60)
    emails = {c: f"{c.lower()}@example.com" for c in lines["Customer"].unique()}
    written = lines.assign(Email=lines["Customer"].map(emails)).drop(columns="Customer")
    path = tmp_path / "orders.csv"
    written.to_csv(path, index=False)
    spec, figures = _init_figures(path, tmp_path)
    assert 'hashed: ["customer_id"]' in spec and 'customer_id: "Email"' in spec
    assert figures == _truth(lines)  # one customer per address, as with the plain key
    store = load_store(str(tmp_path / "init" / "data.yaml"))
    ids = set(store.transactions.to_pandas()["customer_id"])
    assert not any("@" in i for i in ids)
    c001 = hashlib.sha256(b"c001@example.com").hexdigest()[:16]  # trimmed and lower-cased first
    assert (c001 in ids) == ("C001" in set(lines.loc[lines["Status"] == "done", "Customer"]))
    with pytest.raises(ParameterError, match="no id column"):
        check_spec({"tables": {"transactions": {"path": "x.csv", "columns": COLUMNS, "hashed": ["amount"]}}})
