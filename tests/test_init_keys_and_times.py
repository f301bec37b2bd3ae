"""init and the reader on hand-made tables: no silent wrong customer key, zone abbreviations, a time in two columns.

* A column with a handful of values over many orders (WooCommerce's 'Tipo de cliente': Nuevo / Recurrente) is a
  category, never drafted as ``customer_id`` (:func:`crm_kit.draft.few_keys`); a customer column of people's
  names is personal, never a key; with no usable key init stops in one line naming both and the fix.
* '30-Jun-2024 07:53 PM EDT': the abbreviation's UTC offset, in the engine; ambiguous ones (CST) stop the load
  naming the value and the ``timezone`` fix.
* 'Fecha' + 'Hora' in two columns are one time: ``ts: [Fecha, Hora]``.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from crm_kit import load_store
from crm_kit.draft import data_yaml, draft, few_keys
from crm_kit.errors import DataError, ParameterError

NAMES = ["Ana García", "Luis Pérez", "Marta Ruiz", "Jorge Díaz", "Lucía Gómez", "Pablo Sanz", "Elena Vidal",
         "Raúl Moreno", "Sara Gil", "Iván Romero"]


def _shop(n_orders: int = 60) -> pd.DataFrame:
    """A WooCommerce-like orders report: 'Pedido #', the customer's name, new/returning, money; 10 customers."""
    who = [NAMES[i % len(NAMES)] for i in range(n_orders)]
    return pd.DataFrame({
        "Fecha": [f"2024-{1 + i % 3:02d}-{1 + i % 27:02d} 10:{i % 60:02d}:00" for i in range(n_orders)],
        "Pedido #": [str(3000 + i) for i in range(n_orders)],
        "Estado": "Completado",
        "Cliente": who,
        "Tipo de cliente": ["Nuevo" if i < len(NAMES) else "Recurrente" for i in range(n_orders)],
        "Ventas netas": [f"{10 + i % 7}.50" for i in range(n_orders)],
    })


def test_the_key_rule_on_counts():
    """few_keys: a handful of values each on 25+ orders, or fewer values than 0.1 % of the orders, is a category."""
    assert few_keys(2, 749) and few_keys(12, 300) and few_keys(1, 30)
    assert not few_keys(13, 300)  # more than a handful
    assert not few_keys(12, 299)  # a handful, but under 25 orders each on average
    assert not few_keys(3, 12) and not few_keys(1, 1)
    assert few_keys(40, 100_000) and not few_keys(100, 100_000)


def test_a_category_and_a_name_are_never_the_customer_key(tmp_path):
    path = tmp_path / "wc-orders.csv"
    _shop().to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        draft([path])
    message = str(err.value)
    assert "\n" not in message
    assert "no customer key" in message
    assert "'Cliente': personal data, never used as a key" in message
    assert "'Tipo de cliente' has 2 value(s)" in message and "over 60 orders: a category, not who bought" in message
    assert "re-export with the customer id or the customer's email (an email is read hashed" in message
    assert "data spec written by hand" not in message  # the names show who bought: 'Tipo de cliente' is not it


def test_with_an_email_the_same_export_reads_right_and_the_order_id_is_pedido(tmp_path):
    shop = _shop()
    shop.insert(4, "Correo electrónico", [f"{n.split()[0].lower()}@example.com" for n in shop["Cliente"]])
    path = tmp_path / "wc-orders.csv"
    shop.to_csv(path, index=False)
    d = draft([path])
    t = d.table("transactions")
    assert t.columns["customer_id"] == "Correo electrónico" and t.options["hashed"] == ["customer_id"]
    assert t.columns["order_id"] == "Pedido #"
    assert "Cliente" in t.personal and "Cliente" not in t.columns.values()
    store = load_store(yaml.safe_load(data_yaml(d)))
    lines = store.con.to_pandas(store.all_lines)
    assert lines["customer_id"].nunique() == 10 and lines["order_id"].nunique() == 60
    assert not lines["customer_id"].str.contains("@").any()  # hashed, never the address


def test_a_small_shop_with_three_customers_keeps_its_key(tmp_path):
    """Three customers over twelve orders are three customers (not yet a category)."""
    frame = pd.DataFrame({"Customer ID": ["C1", "C2", "C3"] * 4, "Order ID": [f"o{i}" for i in range(12)],
                          "Date": [f"2024-01-{1 + i:02d}" for i in range(12)], "Amount": ["9.50"] * 12})
    frame.to_csv(tmp_path / "sales.csv", index=False)
    assert draft([tmp_path / "sales.csv"]).table("transactions").columns["customer_id"] == "Customer ID"


def test_a_wholesalers_few_accounts_are_refused_by_init_and_read_when_mapped_by_hand(tmp_path):
    """Four accounts over 400 orders look like a category to init, which says how to map them anyway; a data spec
    written by hand with that column as customer_id loads them as four buyers (the rule is init's, not the load's)."""
    frame = pd.DataFrame({"Customer ID": ["ACME", "BOLT", "CRANE", "DYNA"] * 100,
                          "Order ID": [f"o{i}" for i in range(400)],
                          "Date": [f"2024-{1 + i % 4:02d}-{1 + i % 28:02d}" for i in range(400)],
                          "Amount": [f"{100 + i % 9}.25" for i in range(400)]})
    path = tmp_path / "wholesale.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        draft([path])
    message = str(err.value)
    assert "'Customer ID' has 4 value(s)" in message and "over 400 orders: a category" in message
    assert ("if 'Customer ID' does name each customer (a few accounts with many orders each), map it as customer_id "
            "in a data spec written by hand and read it with crm-kit check") in message
    spec = {"tables": {"transactions": {"path": str(path), "columns": {
        "customer_id": "Customer ID", "order_id": "Order ID", "ts": "Date", "amount": "Amount"}}}}
    store = load_store(spec)
    lines = store.con.to_pandas(store.all_lines)
    assert lines["customer_id"].nunique() == 4 and lines["order_id"].nunique() == 400
    assert lines["amount"].sum() == pytest.approx(frame["Amount"].astype(float).sum())


@pytest.mark.parametrize("header", ["Pedido #", "N.º de pedido", "Nº pedido", "Commande", "N° de commande",
                                    "Número do pedido"])
def test_order_id_headers_in_spanish_portuguese_and_french(tmp_path, header):
    frame = pd.DataFrame({"Cliente ID": [f"c{i % 5}" for i in range(20)], header: [f"{100 + i}" for i in range(20)],
                          "Fecha": [f"2024-02-{1 + i:02d}" for i in range(20)], "Total": ["12.30"] * 20})
    frame.to_csv(tmp_path / "pedidos.csv", index=False)
    assert draft([tmp_path / "pedidos.csv"], check=False).table("transactions").columns["order_id"] == header


# ---------------------------------------------------------------------------------------------------- zone names

def _load(tmp_path, times: list[str], **options) -> pd.Series:
    frame = pd.DataFrame({"cust": [f"c{i}" for i in range(len(times))], "order": [f"o{i}" for i in range(len(times))],
                          "time": times, "amount": "10"})
    frame.to_csv(tmp_path / "sales.csv", index=False)
    spec = {"tables": {"transactions": {"path": str(tmp_path / "sales.csv"), **options, "columns": {
        "customer_id": "cust", "order_id": "order", "ts": "time", "amount": "amount"}}}, "cache": False}
    store = load_store(spec)
    return store.con.to_pandas(store.all_lines.order_by("order_id"))["ts"]


CLOVER = ["30-Jun-2024 07:53 PM EDT", "15-Jan-2024 10:00 AM EST", "31-Jan-2024 11:30 PM EST"]


def test_zone_abbreviations_are_read_at_their_offset_on_the_stated_clock(tmp_path):
    fmt = "%d-%b-%Y %I:%M %p"
    new_york = _load(tmp_path, CLOVER, ts_format=fmt, timezone="America/New_York")
    assert new_york.tolist() == pd.to_datetime(["2024-06-30 19:53", "2024-01-15 10:00", "2024-01-31 23:30"]).tolist()
    berlin = _load(tmp_path, CLOVER, ts_format=fmt, timezone="Europe/Berlin")
    # 19:53 EDT is 23:53 UTC is 01:53 CEST; 11:30 PM EST on 31 January is 05:30 in Berlin on 1 February
    assert berlin.tolist() == pd.to_datetime(["2024-07-01 01:53", "2024-01-15 16:00", "2024-02-01 05:30"]).tolist()


def test_one_abbreviation_on_every_time_is_its_wall_clock_and_several_need_a_zone(tmp_path):
    utc = _load(tmp_path, ["2024-06-30 19:53:00 UTC", "2024-01-15 10:00:00 UTC"])
    assert utc.tolist() == pd.to_datetime(["2024-06-30 19:53", "2024-01-15 10:00"]).tolist()
    with pytest.raises(DataError, match="several UTC offsets.*tables.transactions.timezone"):
        _load(tmp_path, CLOVER, ts_format="%d-%b-%Y %I:%M %p")


def test_an_ambiguous_abbreviation_is_never_guessed(tmp_path):
    times = ["30-Jun-2024 07:53 PM CST", "15-Jan-2024 10:00 AM CST"]
    with pytest.raises(DataError) as err:
        _load(tmp_path, times, ts_format="%d-%b-%Y %I:%M %p")
    message = str(err.value)
    assert "end in CST" in message and "US Central (UTC-6), China (UTC+8)" in message
    assert "tables.transactions.timezone:" in message and "the kit does not guess" in message
    shanghai = _load(tmp_path, times, ts_format="%d-%b-%Y %I:%M %p", timezone="Asia/Shanghai")
    assert shanghai.tolist() == pd.to_datetime(["2024-06-30 19:53", "2024-01-15 10:00"]).tolist()


def test_init_writes_the_zone_a_winter_and_summer_pair_names(tmp_path):
    frame = pd.DataFrame({"Customer ID": [f"c{i % 4}" for i in range(6)], "Order ID": [f"o{i}" for i in range(6)],
                          "Order Date": CLOVER * 2, "Order Total": ["$9.50"] * 6})
    frame.to_csv(tmp_path / "Orders.csv", index=False)
    t = draft([tmp_path / "Orders.csv"]).table("transactions")
    assert t.options["timezone"] == "America/New_York" and t.options["ts_format"] == "%d-%b-%Y %I:%M %p"
    assert t.loaded and str(t.last.date()) == "2024-06-30"


# ---------------------------------------------------------------------------------------------------- date + time

def test_a_date_and_a_time_of_day_in_two_columns_are_one_time(tmp_path):
    frame = pd.DataFrame({"Cliente ID": ["c1", "c2", "c1", "c3"], "Ticket": ["t1", "t2", "t3", "t4"],
                          "Fecha": ["31/01/2024", "31/01/2024", "13/02/2024", "01/03/2024"],
                          "Hora": ["23:30", "08:05", "12:00", "09:15"], "Importe": ["1,50", "2,00", "3,25", "4,00"]})
    frame.to_csv(tmp_path / "ventas.csv", index=False, sep=";")
    d = draft([tmp_path / "ventas.csv"])
    t = d.table("transactions")
    assert t.columns["ts"] == ["Fecha", "Hora"] and t.options["ts_format"] == "%d/%m/%Y %H:%M"
    spec = yaml.safe_load(data_yaml(d))
    assert spec["tables"]["transactions"]["columns"]["ts"] == ["Fecha", "Hora"]
    store = load_store(spec)
    ts = store.con.to_pandas(store.all_lines.order_by("order_id"))["ts"]
    assert ts.tolist() == pd.to_datetime(["2024-01-31 23:30", "2024-01-31 08:05", "2024-02-13 12:00",
                                          "2024-03-01 09:15"]).tolist()


def test_only_a_time_column_takes_two_columns(tmp_path):
    pd.DataFrame({"a": ["x"], "b": ["2024-01-01"], "c": ["1"]}).to_csv(tmp_path / "s.csv", index=False)
    base = {"customer_id": "a", "order_id": "a", "ts": "b", "amount": "c"}
    for bad in ({"amount": ["c", "c"]}, {"ts": ["b"]}, {"ts": ["b", 3]}):
        spec = {"tables": {"transactions": {"path": str(tmp_path / "s.csv"), "columns": {**base, **bad}}}}
        with pytest.raises(ParameterError, match="only a time column takes two columns"):
            load_store(spec)
