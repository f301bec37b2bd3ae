"""Data contract: mapping, parsing, cleaning rules and their messages."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest

from crm_kit import DataError, MissingColumnError, ParameterError, load_store
from conftest import shared_file, write_spec


def _load(tmp_path, frame, **kw):
    return load_store(write_spec(tmp_path, frame, **kw))


def test_clean_table_loads_and_reports_nothing_removed(tmp_path, tiny_lines):
    store = _load(tmp_path, tiny_lines)
    assert store.con.execute(store.transactions.count()) == 8
    assert store.cleaning_report["rows_removed"].sum() == 0
    health = store.health().set_index("figure")["value"]
    assert health["customers"] == 3 and health["orders"] == 7
    assert health["sales (all lines)"] == pytest.approx(151.0)


def test_missing_column_names_table_column_and_fix(tmp_path, tiny_lines):
    with pytest.raises(MissingColumnError, match=r"transactions has no column 'amount'.*columns\.amount"):
        _load(tmp_path, tiny_lines.drop(columns="amount"))


def test_misnamed_column_suggests_the_close_match(tmp_path, tiny_lines):
    frame = tiny_lines.rename(columns={"customer_id": "customerid"})
    with pytest.raises(MissingColumnError, match=r"did you mean 'customerid'"):
        _load(tmp_path, frame)


def test_mapping_to_absent_column_is_an_error(tmp_path, tiny_lines):
    with pytest.raises(MissingColumnError, match=r"params map 'store' to 'Shop'"):
        _load(tmp_path, tiny_lines, table_extra={"columns": {"store": "Shop"}})


def test_unknown_canonical_name_in_mapping(tmp_path, tiny_lines):
    with pytest.raises(ParameterError, match=r"unknown canonical name\(s\) \['ammount'\]"):
        _load(tmp_path, tiny_lines, table_extra={"columns": {"ammount": "amount"}})


def test_column_mapping_and_derived_amount(tmp_path):
    frame = pd.DataFrame(
        {
            "Cust": [1.0, 1.0, 2.0],
            "Inv": ["i1", "i2", "i3"],
            "When": ["2025-01-01 10:00:00", "2025-01-02 10:00:00", "2025-01-03 10:00:00"],
            "Sku": ["x", "y", "x"],
            "Qty": ["2", "1", "3"],
            "Price": ["1.50", "2.25", "1.50"],
        }
    )
    cols = {"customer_id": "Cust", "order_id": "Inv", "ts": "When", "product_id": "Sku", "quantity": "Qty", "unit_price": "Price"}
    store = _load(tmp_path, frame, fmt="csv", table_extra={"columns": cols})
    df = store.transactions.to_pandas().sort_values("order_id")
    assert df["customer_id"].tolist() == ["1", "1", "2"]  # float ids become clean text
    assert df["amount"].tolist() == [3.0, 2.25, 4.5]


def test_unparseable_dates(tmp_path, tiny_lines):
    frame = tiny_lines.assign(ts=tiny_lines["ts"].astype(str))
    frame.loc[2, "ts"] = "not a date"
    with pytest.raises(DataError, match=r"transactions\.ts: 1 value\(s\) cannot be read as timestamp.*'not a date'.*ts_format"):
        _load(tmp_path, frame)


def test_unparseable_numbers(tmp_path, tiny_lines):
    frame = tiny_lines.assign(amount=tiny_lines["amount"].astype(str))
    frame.loc[1, "amount"] = "12,50"
    with pytest.raises(DataError, match=r"transactions\.amount: 1 value\(s\) cannot be read as number.*'12,50'"):
        _load(tmp_path, frame)


def test_missing_customer_ids_stay_in_store_totals(tmp_path, tiny_lines):
    frame = tiny_lines.astype({"customer_id": object})
    frame.loc[[3, 4], "customer_id"] = None
    store = _load(tmp_path, frame)
    rep = store.cleaning_report.set_index("rule")
    row = rep.loc["no customer id (kept in store totals only)"]
    assert row["rows_removed"] == 2 and row["sales_removed"] == pytest.approx(42.0)
    assert store.con.execute(store.transactions.count()) == 6
    assert store.con.execute(store.all_lines.amount.sum()) == pytest.approx(151.0)
    health = store.health().set_index("figure")["value"]
    assert health["anonymous share of sales"] == pytest.approx(round(42 / 151, 4))


def test_missing_customer_ids_error_mode(tmp_path, tiny_lines):
    frame = tiny_lines.astype({"customer_id": object})
    frame.loc[3, "customer_id"] = None
    with pytest.raises(DataError, match=r"1 line\(s\) have no customer id.*cleaning\.anonymous"):
        _load(tmp_path, frame, cleaning={"anonymous": "error"})


def test_returns_and_cancellations_dropped_and_counted(tmp_path, tiny_lines):
    frame = pd.concat(
        [tiny_lines, tiny_lines.iloc[[0]].assign(order_id="Co9", quantity=-1, amount=-10.0),
         tiny_lines.iloc[[5]].assign(order_id="Co10", quantity=1, amount=8.0)],
        ignore_index=True,
    )
    store = _load(tmp_path, frame, cleaning={"cancellation_prefix": "C"})
    rep = store.cleaning_report.set_index("rule")
    assert rep.loc["returns / cancellations (negative quantity or amount, or cancelled order)", "rows_removed"] == 2
    assert store.con.execute(store.transactions.count()) == 8


def test_returns_error_and_net_modes(tmp_path, tiny_lines):
    frame = pd.concat([tiny_lines, tiny_lines.iloc[[0]].assign(order_id="r1", quantity=-1, amount=-10.0)], ignore_index=True)
    with pytest.raises(DataError, match=r"1 line\(s\) returns / cancellations.*cleaning\.returns"):
        _load(tmp_path, frame, cleaning={"returns": "error"})
    store = _load(tmp_path, frame, cleaning={"returns": "net"})
    assert store.con.execute(store.transactions.amount.sum()) == pytest.approx(141.0)


def test_zero_price_lines_are_purchases_unless_the_spec_drops_them(tmp_path, tiny_lines):
    frame = tiny_lines.copy()
    frame.loc[6, "amount"] = 0.0
    rule = "zero price (free lines: purchases with no revenue)"
    store = _load(tmp_path, frame)
    assert store.cleaning_report.set_index("rule").loc[rule, ["rows_found", "rows_removed"]].tolist() == [1, 0]
    dropped = _load(tmp_path, frame, cleaning={"nonpositive_price": "drop"})
    assert dropped.cleaning_report.set_index("rule").loc[rule, "rows_removed"] == 1
    with pytest.raises(DataError, match=r"zero price.*cleaning\.nonpositive_price"):
        _load(tmp_path, frame, cleaning={"nonpositive_price": "error"})


def test_returns_written_with_a_positive_quantity_and_a_negative_amount_or_the_other_way_round(tmp_path, tiny_lines):
    frame = pd.concat([tiny_lines,
                       tiny_lines.iloc[[0]].assign(order_id="r1", quantity=1, amount=-10.0),   # the amount carries it
                       tiny_lines.iloc[[1]].assign(order_id="r2", quantity=-2, amount=4.0)],   # the quantity does
                      ignore_index=True)
    net = _load(tmp_path, frame, cleaning={"returns": "net"})
    # both subtract: 151 - 10 - 4, whichever column carried the sign
    assert net.con.execute(net.transactions.amount.sum()) == pytest.approx(151.0 - 14.0)
    signs = net.con.to_pandas(net.transactions.filter(net.transactions.order_id.isin(["r1", "r2"])))
    assert (signs["amount"] < 0).all() and (signs["quantity"] < 0).all()
    dropped = _load(tmp_path, frame)
    row = dropped.cleaning_report.set_index("rule").loc["returns / cancellations (negative quantity or amount, or "
                                                        "cancelled order)"]
    assert (row["rows_removed"], row["sales_removed"]) == (2, -14.0)
    assert dropped.con.execute(dropped.transactions.amount.sum()) == pytest.approx(151.0)


def test_zero_quantity_lines(tmp_path, tiny_lines):
    frame = tiny_lines.copy()
    frame.loc[4, ["quantity", "amount"]] = [0, 0.0]
    store = _load(tmp_path, frame)
    assert store.cleaning_report.set_index("rule").loc["zero quantity", "rows_removed"] == 1
    with pytest.raises(DataError, match=r"1 line\(s\) zero quantity.*cleaning\.zero_quantity"):
        _load(tmp_path, frame, cleaning={"zero_quantity": "error"})


def test_exact_duplicates(tmp_path, tiny_lines):
    frame = pd.concat([tiny_lines, tiny_lines.iloc[[2, 2]]], ignore_index=True)
    store = _load(tmp_path, frame)
    row = store.cleaning_report.set_index("rule").loc["exact duplicate lines"]
    assert row["rows_removed"] == 2 and row["sales_removed"] == pytest.approx(30.0)
    with pytest.raises(DataError, match=r"2 exact duplicate line\(s\).*cleaning\.duplicates: drop"):
        _load(tmp_path, frame, cleaning={"duplicates": "error"})
    kept = _load(tmp_path, frame, cleaning={"duplicates": "keep"})
    assert kept.con.execute(kept.transactions.count()) == 10


def test_timestamps_outside_window(tmp_path, tiny_lines):
    window = {"start": "2025-01-01", "end": "2025-02-01"}
    store = _load(tmp_path, tiny_lines, window=window)
    assert store.cleaning_report.set_index("rule").loc["timestamps outside the analysis window", "rows_removed"] == 4
    with pytest.raises(DataError, match=r"4 line\(s\) timestamps outside the analysis window.*window\.start"):
        _load(tmp_path, tiny_lines, window=window, cleaning={"out_of_window": "error"})


def test_window_end_before_start(tmp_path, tiny_lines):
    with pytest.raises(ParameterError, match=r"window\.end .* must come after window\.start"):
        _load(tmp_path, tiny_lines, window={"start": "2025-03-01", "end": "2025-01-01"})


def test_empty_table(tmp_path, tiny_lines):
    with pytest.raises(DataError, match=r"transactions is empty \(0 rows\)"):
        _load(tmp_path, tiny_lines.iloc[0:0])


def test_unknown_cleaning_rule_and_bad_choice(tmp_path, tiny_lines):
    with pytest.raises(ParameterError, match=r"unknown cleaning rule\(s\) \['duplicate'\]"):
        _load(tmp_path, tiny_lines, cleaning={"duplicate": "drop"})
    with pytest.raises(ParameterError, match=r"cleaning\.returns = 'remove' is not one of"):
        _load(tmp_path, tiny_lines, cleaning={"returns": "remove"})


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataError, match=r"file not found: '.*nowhere\.parquet'"):
        load_store({"tables": {"transactions": {"path": str(tmp_path / "nowhere.parquet")}}})


def test_repeated_member_ids(tmp_path, tiny_lines):
    spec = write_spec(tmp_path, tiny_lines)
    members = tmp_path / "members.parquet"
    pd.DataFrame({"customer_id": ["a", "a", "b"]}).to_parquet(members)
    spec["tables"]["customers"] = {"path": str(members)}
    with pytest.raises(DataError, match=r"customers: 1 repeated customer_id"):
        load_store(spec)


def test_input_files_are_never_modified(tmp_path, tiny_lines):
    frame = pd.concat([tiny_lines, tiny_lines.iloc[[1]]], ignore_index=True)
    spec = write_spec(tmp_path, frame)
    path = spec["tables"]["transactions"]["path"]
    before = hashlib.sha256(open(path, "rb").read()).hexdigest()
    load_store(spec)
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == before


def test_personal_fields_never_loaded(demo_store):
    from crm_kit.store import PERSONAL_FIELDS

    assert not PERSONAL_FIELDS & set(demo_store.customers.columns)


@pytest.mark.realdata
def test_online_retail_cleaning_matches_published_counts():
    path = shared_file("online_retail", "online_retail.parquet")
    spec = {
        "tables": {"transactions": {"path": str(path), "columns": {
            "customer_id": "CustomerID", "order_id": "InvoiceNo", "ts": "InvoiceDate",
            "product_id": "StockCode", "quantity": "Quantity", "unit_price": "UnitPrice"}}},
        # the published recipe drops UnitPrice <= 0; the kit's default keeps free lines as purchases (4,339 customers)
        "cleaning": {"cancellation_prefix": "C", "duplicates": "keep", "nonpositive_price": "drop"},
    }
    store = load_store(spec)
    health = store.health().set_index("figure")["value"]
    # the widely quoted cleaned figure: 397,884 rows and 4,338 customers
    assert store.con.execute(store.transactions.count()) == 397_884
    assert health["customers"] == 4_338


def test_cleaned_store_is_cached_and_a_changed_file_is_not_served_stale(tmp_path, tiny_lines):
    import os
    import time

    spec = write_spec(tmp_path, tiny_lines)
    first = load_store(spec)
    cached = load_store(spec)
    assert "store_" in cached.all_lines.get_name() or cached.con.execute(cached.transactions.count()) == 8
    pd.testing.assert_frame_equal(first.cleaning_report, cached.cleaning_report, check_dtype=False)
    assert cached.con.execute(cached.transactions.amount.sum()) == pytest.approx(151.0)
    # rewrite the file with one line less: a new key, a fresh load
    time.sleep(0.01)
    tiny_lines.iloc[:-1].to_parquet(spec["tables"]["transactions"]["path"], index=False)
    os.utime(spec["tables"]["transactions"]["path"])
    fresh = load_store(spec)
    assert fresh.con.execute(fresh.transactions.count()) == 7
    off = load_store({**spec, "cache": False})
    assert off.con.execute(off.transactions.count()) == 7


def test_demo_spec_with_a_size(tmp_path, monkeypatch):
    from crm_kit.store import load_data_spec

    assert load_data_spec("demo:3000") == {"source": "demo", "n_members": 3000}
    assert load_data_spec("demo") == {"source": "demo"}
    with pytest.raises(ParameterError, match="neither 'demo' nor a .yaml data spec"):
        load_data_spec("demo.csv")


def _contacts_spec(tmp_path, tiny_lines, contacts: pd.DataFrame, **contacts_spec):
    spec = write_spec(tmp_path, tiny_lines)
    path = tmp_path / "sent.csv"
    contacts.to_csv(path, index=False)
    spec["tables"]["contacts"] = {"path": str(path), **contacts_spec}
    return spec


def test_constants_fill_columns_the_source_lacks(tmp_path, tiny_lines):
    sent = pd.DataFrame({"hh": ["a", "c"], "campaign": [18, 18]})
    spec = _contacts_spec(tmp_path, tiny_lines, sent, columns={"customer_id": "hh", "campaign_id": "campaign"},
                          constants={"arm": "treatment", "round": 1, "responded": False})
    contacts = load_store(spec).contacts
    assert contacts["arm"].tolist() == ["treatment", "treatment"]
    assert contacts["round"].tolist() == [1.0, 1.0] and contacts["responded"].tolist() == [False, False]
    assert contacts["campaign_id"].tolist() == ["18", "18"]


def test_constants_errors_name_the_key_and_the_fix(tmp_path, tiny_lines):
    sent = pd.DataFrame({"customer_id": ["a"], "campaign_id": ["x"], "arm": ["treatment"]})
    with pytest.raises(MissingColumnError, match=r"tables\.contacts\.constants\.round: <value>"):
        load_store(_contacts_spec(tmp_path, tiny_lines, sent))
    with pytest.raises(DataError, match=r"tables\.contacts\.constants\.round = 'first' cannot be read as number"):
        load_store(_contacts_spec(tmp_path, tiny_lines, sent, constants={"round": "first"}))
    with pytest.raises(ParameterError, match=r"\['arm'\] is both mapped to a column and given as a constant"):
        load_store(_contacts_spec(tmp_path, tiny_lines, sent, columns={"arm": "arm"}, constants={"arm": "control", "round": 1}))
    with pytest.raises(ParameterError, match=r"constants names unknown canonical column\(s\) \['rnd'\]"):
        load_store(_contacts_spec(tmp_path, tiny_lines, sent, constants={"rnd": 1}))
    with pytest.raises(ParameterError, match=r"unknown key\(s\) \['constant'\] \(did you mean \['constants'\]\?\)"):
        load_store(_contacts_spec(tmp_path, tiny_lines, sent, constant={"round": 1}))


def test_responses_file_sets_responded_per_customer_and_campaign(tmp_path, tiny_lines):
    sent = pd.DataFrame({"hh": ["a", "b", "a"], "campaign": ["18", "18", "13"]})
    redeemed = pd.DataFrame({"household": ["a", "a", "c"], "campaign": ["18", "18", "18"], "coupon": ["x", "y", "z"]})
    redeemed.to_csv(tmp_path / "redeemed.csv", index=False)
    responses = {"path": str(tmp_path / "redeemed.csv"), "columns": {"customer_id": "household", "campaign_id": "campaign"}}
    spec = _contacts_spec(tmp_path, tiny_lines, sent, columns={"customer_id": "hh", "campaign_id": "campaign"},
                          constants={"arm": "treatment", "round": 1}, responses=responses)
    contacts = load_store(spec).contacts
    # a responded to 18 (twice), not to 13; b did not; c redeemed without a contact and adds no row
    assert contacts["responded"].tolist() == [True, False, False]
    spec["tables"]["contacts"]["responses"] = {**responses, "columns": {"customer_id": "hh"}}
    with pytest.raises(MissingColumnError, match=r"tables\.contacts\.responses has no column 'hh' for 'customer_id'"):
        load_store(spec)
    spec["tables"]["contacts"]["constants"]["responded"] = True
    spec["tables"]["contacts"]["responses"] = responses
    with pytest.raises(ParameterError, match="has a responded column and a responses file; keep one"):
        load_store(spec)


def test_glob_paths_read_every_part_and_key_the_cache_on_each(tmp_path, tiny_lines, monkeypatch):
    parts = tmp_path / "lines"
    parts.mkdir()
    tiny_lines.iloc[:4].to_parquet(parts / "part-1.parquet", index=False)
    tiny_lines.iloc[4:].to_parquet(parts / "part-2.parquet", index=False)
    monkeypatch.chdir(tmp_path)
    spec = {"tables": {"transactions": {"path": "lines/*.parquet"}}}
    store = load_store(spec)
    assert store.con.execute(store.transactions.count()) == 8
    tiny_lines.iloc[:1].assign(order_id="o9").to_parquet(parts / "part-3.parquet", index=False)
    assert load_store(spec).con.execute(load_store(spec).transactions.count()) == 9  # a new part is a new cache key
    with pytest.raises(DataError, match=r"no file matches 'missing/\*\.parquet'"):
        load_store({"tables": {"transactions": {"path": "missing/*.parquet"}}})


def test_uri_paths_go_to_the_engine_as_written_and_are_not_cached():
    from crm_kit.store.cache import _cache_key
    from crm_kit.store.source import _source_location, source_files

    uri = "s3a://bucket/crm/lines/*.parquet"
    assert _source_location(uri) == uri and source_files(uri) == []
    assert _cache_key({"tables": {"transactions": {"path": uri}}}) is None


def _lines_with_postage(tmp_path):
    lines = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b", "b"],
        "order_id": ["o1", "o1", "o1", "o2", "o2", "o3"],
        "ts": pd.to_datetime(["2025-01-05"] * 3 + ["2025-01-06"] * 2 + ["2025-01-07"]),
        "product_id": ["p1", "POST", "g1", "p1", "p2", "p2"],
        "description": ["Mug ", "POSTAGE", "Gift Voucher £20", "Mug", "Bowl", "Bowl"],
        "quantity": [1.0, 1.0, 1.0, 2.0, 1.0, 1.0],
        "amount": [10.0, 5.0, 20.0, 20.0, 8.0, 0.0],
    })
    path = tmp_path / "lines.parquet"
    lines.to_parquet(path)
    return path


def test_descriptions_name_products_and_non_products_stay_in_sales_but_out_of_product_analyses(tmp_path):
    from crm_kit import discovery

    path = _lines_with_postage(tmp_path)
    store = load_store({"tables": {"transactions": {"path": str(path)}}, "cache": False})
    names = store.products.set_index("product_id")["name"]
    assert names["p1"] == "Mug" and names["POST"] == "POSTAGE"  # the most common description, trimmed
    assert sorted(store.non_products["product_id"]) == ["POST", "g1"]  # by id, and by "gift voucher" in the name
    health = store.health().set_index("figure")["value"]
    assert health["sales (all lines)"] == 63.0 - 0.0  # the free line is dropped by default, postage stays in sales
    report = store.cleaning_report.set_index("rule")
    row = report.loc[[r for r in report.index if r.startswith("non-products")][0]]
    assert row["rows_found"] == 2 and row["rows_removed"] == 0
    products = set(store.con.to_pandas(store.product_lines.select("product_id"))["product_id"])
    assert products == {"p1", "p2"}
    classes = discovery.product_classes(store, period="2025-01")
    assert set(classes["product_id"]) == {"p1", "p2"} and classes.set_index("product_id").loc["p1", "name"] == "Mug"
    assert "description" not in store.transactions.columns  # names live in the product table


def test_non_products_rule_can_be_extended_replaced_or_turned_off(tmp_path):
    path = _lines_with_postage(tmp_path)
    spec = {"tables": {"transactions": {"path": str(path)}}, "cache": False}
    off = load_store({**spec, "cleaning": {"non_products": False}})
    assert off.non_products.empty
    own = load_store({**spec, "cleaning": {"non_products": {"ids": ["p2"]}}})
    assert own.non_products["product_id"].tolist() == ["p2"]
    more = load_store({**spec, "cleaning": {"non_products": {"patterns": ["^bowl$"], "extend": True}}})
    assert sorted(more.non_products["product_id"]) == ["POST", "g1", "p2"]
    with pytest.raises(ParameterError, match="not a valid pattern"):
        load_store({**spec, "cleaning": {"non_products": {"patterns": ["("]}}})
    with pytest.raises(ParameterError, match="non_products takes default, false"):
        load_store({**spec, "cleaning": {"non_products": "postage"}})


def test_free_lines_can_be_kept_as_purchases(tmp_path):
    path = _lines_with_postage(tmp_path)
    spec = {"tables": {"transactions": {"path": str(path)}}, "cache": False}
    kept = load_store(spec)  # the default: a free order is a purchase
    orders = kept.con.to_pandas(kept.transactions.select("order_id").distinct())["order_id"]
    assert "o3" in set(orders)
    dropped = load_store({**spec, "cleaning": {"nonpositive_price": "drop"}})
    assert "o3" not in set(dropped.con.to_pandas(dropped.transactions.select("order_id").distinct())["order_id"])


def test_exact_repeats_are_exact_even_when_line_hashes_collide():
    """Equal hashes only nominate candidates; the count compares the candidates column by column."""
    import ibis

    from crm_kit.store.clean import ROW_HASH, _without_repeats

    con = ibis.duckdb.connect()
    lines = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b", "c"], "order_id": ["o1", "o1", "o1", "o2", "o2", "o3"],
                          "amount": [10.0, 10.0, 10.0, 5.0, 6.0, 7.0]})
    # every line given the same hash: the worst collision there can be
    staged = con.create_table("_lines_typed", lines.assign(**{ROW_HASH: 42}), temp=True)
    kept, (n_repeats, sales) = _without_repeats(con, staged)
    assert (n_repeats, sales) == (2, pytest.approx(20.0))
    out = con.to_pandas(kept.drop(ROW_HASH)).sort_values(["customer_id", "amount"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(out, lines.drop_duplicates().sort_values(["customer_id", "amount"])
                                  .reset_index(drop=True), check_dtype=False)
    # lines without an order id are compared too (a join on the order never matches them)
    missing = pd.concat([lines, lines.iloc[[3, 3]].assign(order_id=None)], ignore_index=True)
    staged = con.create_table("_lines_missing", missing.assign(**{ROW_HASH: 42}), temp=True)
    assert _without_repeats(con, staged)[1] == (3, pytest.approx(25.0))
    # real hashes: the same answer
    real = con.create_table("_lines_real", lines, temp=True)
    real = real.mutate(**{ROW_HASH: ibis.struct({c: real[c] for c in lines.columns}).hash()})
    assert _without_repeats(con, real)[1] == (2, pytest.approx(20.0))


def test_repeats_are_judged_on_the_mapped_columns(tmp_path, tiny_lines):
    """A column the spec does not map (a till number) does not make two equal lines different."""
    frame = pd.concat([tiny_lines, tiny_lines.iloc[[2]]], ignore_index=True).assign(till=range(9))
    store = _load(tmp_path, frame)
    assert store.cleaning_report.set_index("rule").loc["exact duplicate lines", "rows_removed"] == 1
    assert store.con.execute(store.transactions.count()) == 8


def test_ids_that_need_cleaning_are_cleaned_in_a_parquet_file(tmp_path, tiny_lines):
    """Plain id columns pass through as read; a column with one padded id or null token is cleaned whole."""
    frame = tiny_lines.copy()
    frame["customer_id"] = ["a", " a ", "a", "b", "NULL", "c", "c\t", "c"]
    frame["product_id"] = frame["product_id"].astype(str)
    store = _load(tmp_path, frame, cleaning={"anonymous": "exclude"})
    ids = store.con.to_pandas(store.all_lines.select("customer_id"))["customer_id"]
    assert sorted(ids.dropna()) == ["a", "a", "a", "b", "c", "c", "c"] and ids.isna().sum() == 1


def test_duckdb_gets_a_memory_cap_and_a_spill_folder_by_default(tmp_path, monkeypatch):
    from crm_kit.store.connect import MEMORY_SHARE, SIDE_BY_SIDE_VARIABLE, _connect, _machine_memory

    monkeypatch.delenv(SIDE_BY_SIDE_VARIABLE, raising=False)
    con = _connect({"engine": {}})
    limit = con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]
    expected_gib = _machine_memory() * MEMORY_SHARE / 2**30
    number, unit = limit.split()
    assert unit == "GiB" and float(number) == pytest.approx(expected_gib, rel=0.02)
    folder = Path(con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0])
    assert folder.parent.name == "spill" and folder.name.startswith(f"{os.getpid()}-")
    # every connection spills into a folder of its own: DuckDB names spill files alike in every database
    other = Path(_connect({"engine": {}}).raw_sql("SELECT current_setting('temp_directory')").fetchone()[0])
    assert other.parent == folder.parent and other != folder
    # side by side in a run, each kernel's engine holds its part of half the memory
    from crm_kit.store.connect import SIDE_BY_SIDE_SHARE, engine_memory

    monkeypatch.setenv(SIDE_BY_SIDE_VARIABLE, "2")
    side = float(engine_memory({})[0].removesuffix("MiB")) / 1024
    assert side == pytest.approx(_machine_memory() * SIDE_BY_SIDE_SHARE / 2 / 2**30, rel=0.01)
    monkeypatch.setenv(SIDE_BY_SIDE_VARIABLE, "many")  # unreadable: as if alone
    assert float(engine_memory({})[0].removesuffix("MiB")) / 1024 == pytest.approx(expected_gib, rel=0.01)
    mine = _connect({"engine": {"memory_limit": "1GB", "temp_directory": str(tmp_path / "scratch")}})
    assert mine.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0] in ("953.6 MiB", "1.0 GiB", "1000.0 MB")
    spilled = Path(mine.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0])
    assert spilled.parent == tmp_path / "scratch"
    mine.raw_sql("SET memory_limit='30MB'; SET preserve_insertion_order=false")
    mine.raw_sql("CREATE TEMP TABLE big AS SELECT range AS i, hash(range) AS h FROM range(3000000)")
    assert mine.raw_sql("SELECT count(*) FROM (SELECT i FROM big ORDER BY h)").fetchone()[0] == 3_000_000
    assert spilled.is_dir()  # the sort spilled there
    mine.disconnect()
    assert not spilled.exists()  # DuckDB removes the folder it made


def test_the_memory_share_follows_the_control_groups_limit(tmp_path):
    """A limit on the process's control group or on one above it, cgroup v1 or v2, caps what the engine is given."""
    from crm_kit.store.connect import _machine_memory

    machine = _machine_memory(tmp_path / "none", tmp_path / "none")
    v1 = tmp_path / "v1"
    (v1 / "memory" / "jobs" / "bench").mkdir(parents=True)
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # unlimited at the top
    (v1 / "memory" / "jobs" / "memory.limit_in_bytes").write_text(f"{12 * 2**30}\n")
    (v1 / "memory" / "jobs" / "bench" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (tmp_path / "cgroup_v1").write_text("4:memory:/jobs/bench\n3:cpu,cpuacct:/jobs/bench\n")
    assert _machine_memory(tmp_path / "cgroup_v1", v1) == min(machine, 12 * 2**30)
    v2 = tmp_path / "v2"
    (v2 / "user.slice" / "run-1.scope").mkdir(parents=True)
    (v2 / "user.slice" / "run-1.scope" / "memory.max").write_text(f"{6 * 2**30}\n")
    (v2 / "user.slice" / "memory.max").write_text("max\n")
    (tmp_path / "cgroup_v2").write_text("0::/user.slice/run-1.scope\n")
    assert _machine_memory(tmp_path / "cgroup_v2", v2) == min(machine, 6 * 2**30)


def test_a_cache_miss_is_explained(tmp_path, tiny_lines, monkeypatch, caplog):
    import logging

    monkeypatch.setenv("CRM_KIT_CACHE", str(tmp_path / "cache"))
    spec = write_spec(tmp_path, tiny_lines)
    with caplog.at_level(logging.INFO, logger="crm_kit.store"):
        load_store(spec)
    assert "no cleaned store of these files in the cache yet" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="crm_kit.store"):
        load_store({**spec, "cleaning": {"duplicates": "keep"}})
    assert "cache miss: the data spec's cleaning changed" in caplog.text
    caplog.clear()
    tiny_lines.iloc[:6].to_parquet(spec["tables"]["transactions"]["path"], index=False)
    with caplog.at_level(logging.INFO, logger="crm_kit.store"):
        load_store(spec)
    assert "transactions.parquet changed" in caplog.text


def _lines_only(table):
    """The same line items under another expression: no order table is registered for it."""
    return table.filter(table.amount.notnull() | table.amount.isnull())


def test_the_order_table_gives_the_figures_of_the_lines(demo_store):
    from crm_kit import engine

    lines = demo_store.transactions
    assert demo_store.orders is not None and engine.order_grain(lines) is demo_store.orders
    assert engine.order_grain(_lines_only(lines)) is not demo_store.orders
    n_orders = demo_store.con.execute(lines.select("customer_id", "order_id").distinct().count())
    assert demo_store.con.execute(demo_store.orders.count()) == n_orders
    periods = {"base": "2025-09", "campaign": "2025-10"}
    pd.testing.assert_frame_equal(engine.period_metrics(lines, periods=periods),
                                  engine.period_metrics(_lines_only(lines), periods=periods), rtol=1e-12)
    pd.testing.assert_frame_equal(engine.monthly_customer_list(lines, month="2025-09"),
                                  engine.monthly_customer_list(_lines_only(lines), month="2025-09"), rtol=1e-12)
    # distinct categories from the order table's category masks
    assert "categories_0" in demo_store.orders.columns
    for cut in (dict(as_of="2025-10-01", since="2025-03-01"), dict(as_of="2025-10-01")):
        pd.testing.assert_frame_equal(engine.customer_summary(lines, **cut),
                                      engine.customer_summary(_lines_only(lines), **cut), rtol=1e-12)
    # a cut within a day may split an order: the lines are read
    assert engine.order_grain(lines, cut_at=[pd.Timestamp("2025-10-01 12:00")]) is lines
    pd.testing.assert_frame_equal(engine.period_metrics(lines, periods={"p": ("2025-09-03 12:00", "2025-09-20")}),
                                  engine.period_metrics(_lines_only(lines), periods={"p": ("2025-09-03 12:00", "2025-09-20")}))
    plain = lines.drop("category", "brand")
    engine.register_orders(plain, demo_store.orders)
    pd.testing.assert_frame_equal(engine.customer_summary(plain, as_of="2025-10-01", since="2025-03-01"),
                                  engine.customer_summary(_lines_only(plain), as_of="2025-10-01", since="2025-03-01"),
                                  rtol=1e-12)
    # the CLV summary (purchase days and their spend) and churn per tier read it too
    from crm_kit import clv, segmentation

    for unit in ("D", "W_calendar"):
        pd.testing.assert_frame_equal(
            clv.clv_summary(lines, calibration_end="2025-06-01", observation_end="2025-10-01", time_unit=unit),
            clv.clv_summary(_lines_only(lines), calibration_end="2025-06-01", observation_end="2025-10-01",
                            time_unit=unit), rtol=1e-9)
    summary = engine.customer_summary(lines, as_of="2025-10-01")
    tiers = segmentation.ValueTiers().fit_transform(summary)
    checkpoints = pd.date_range(end="2025-10-01", periods=4, freq="MS")
    twin = dataclasses.replace(demo_store, transactions=_lines_only(lines), orders=None)
    pd.testing.assert_frame_equal(segmentation.churn_by_tier(demo_store, tiers, checkpoints=checkpoints),
                                  segmentation.churn_by_tier(twin, tiers, checkpoints=checkpoints))
    from crm_kit import discovery

    pd.testing.assert_frame_equal(discovery.growth_kpis(demo_store), discovery.growth_kpis(twin), rtol=1e-12)
    pd.testing.assert_frame_equal(discovery.new_customer_repeat_rate(demo_store),
                                  discovery.new_customer_repeat_rate(twin))
    pd.testing.assert_frame_equal(discovery.repurchase_intervals(demo_store, as_of="2025-10-01", since="2025-01-01"),
                                  discovery.repurchase_intervals(twin, as_of="2025-10-01", since="2025-01-01"))


def test_an_order_table_stays_registered_while_its_store_lives(tmp_path, tiny_lines):
    """However many stores a session loads, each keeps its order table; a collected one leaves no entry."""
    import gc

    from crm_kit import engine

    first = _load(tmp_path, tiny_lines)
    for i in range(40):
        _load(tmp_path, tiny_lines.assign(amount=tiny_lines["amount"] + i), cache=False)
    assert engine.order_grain(first.transactions) is first.orders
    key = id(first.transactions)
    del first
    gc.collect()
    assert key not in engine._ORDER_TABLES


def test_no_order_table_when_an_order_spans_two_days(tmp_path, tiny_lines):
    from crm_kit import engine

    frame = tiny_lines.copy()
    store = _load(tmp_path, frame)
    assert store.orders is not None
    frame.loc[1, "ts"] = frame.loc[0, "ts"] + pd.Timedelta(days=1)  # order o1 now spans two days
    store = _load(tmp_path, frame, cache=False)
    assert store.orders is None and engine.order_grain(store.transactions) is store.transactions


def test_category_masks_cover_up_to_256_categories_and_beyond_the_lines_count(tmp_path):
    """Two masks for 100 categories; over 256 categories no masks, and distinct categories are counted on the lines."""
    from crm_kit import engine

    def store_with(n_categories):
        folder = tmp_path / str(n_categories)
        folder.mkdir()
        lines = pd.DataFrame({
            "customer_id": [f"c{i % 7}" for i in range(n_categories)], "order_id": [f"o{i % 40}" for i in range(n_categories)],
            "ts": pd.Timestamp("2025-03-01 10:00") + pd.to_timedelta([i % 40 for i in range(n_categories)], unit="D"),
            "product_id": [f"p{i}" for i in range(n_categories)], "quantity": 1.0, "amount": 5.0,
        })
        products = pd.DataFrame({"product_id": lines["product_id"], "category": [f"k{i:03d}" for i in range(n_categories)]})
        spec = write_spec(folder, lines)
        spec["tables"]["products"] = write_spec(folder, products, name="products")["tables"]["products"]
        return load_store(spec), lines.assign(category=products["category"])

    for n, masks in ((100, ["categories_0", "categories_1"]), (300, [])):
        store, lines = store_with(n)
        assert [c for c in store.orders.columns if c.startswith("categories_")] == masks
        summary = engine.customer_summary(store.transactions, as_of="2025-06-01").set_index("customer_id")
        by_hand = lines.groupby("customer_id")["category"].nunique()
        assert summary["distinct_categories"].to_dict() == by_hand.to_dict()


def test_a_changed_responses_file_is_named_as_the_cache_miss(tmp_path, tiny_lines, monkeypatch, caplog):
    """The manifest lists what the key hashes, the responses file included (it was once left out of it)."""
    import logging

    from crm_kit.store.cache import _cache_inputs, _cache_key

    monkeypatch.setenv("CRM_KIT_CACHE", str(tmp_path / "cache"))
    sent = pd.DataFrame({"hh": ["a", "b"], "campaign": ["18", "18"]})
    pd.DataFrame({"household": ["a"], "campaign": ["18"]}).to_csv(tmp_path / "redeemed.csv", index=False)
    responses = {"path": str(tmp_path / "redeemed.csv"), "columns": {"customer_id": "household", "campaign_id": "campaign"}}
    spec = _contacts_spec(tmp_path, tiny_lines, sent, columns={"customer_id": "hh", "campaign_id": "campaign"},
                          constants={"arm": "treatment", "round": 1}, responses=responses)
    assert str(tmp_path / "redeemed.csv") in {f[1] for f in _cache_inputs(spec)["files"]}
    assert load_store(spec).contacts["responded"].tolist() == [True, False]
    pd.DataFrame({"household": ["a", "b"], "campaign": ["18", "18"]}).to_csv(tmp_path / "redeemed.csv", index=False)
    with caplog.at_level(logging.INFO, logger="crm_kit.store"):
        store = load_store(spec)
    assert "redeemed.csv changed" in caplog.text and "the cached store was removed" not in caplog.text
    assert store.contacts["responded"].tolist() == [True, True]
    assert _cache_inputs({**spec, "cache": False}) is None and _cache_key({**spec, "cache": False}) is None


def test_spill_folders_of_killed_kernels_are_removed(tmp_path):
    """A kernel killed hard leaves its spill folder; the next connection removes it, and nothing else."""
    import signal
    import subprocess
    import sys

    from crm_kit.store.connect import _connect

    scratch = tmp_path / "scratch"
    script = ("import sys, time; from crm_kit.store.connect import _connect\n"
              f"con = _connect({{'engine': {{'temp_directory': {str(scratch)!r}, 'memory_limit': '30MB'}}}})\n"
              "con.raw_sql(\"SET preserve_insertion_order=false\")\n"
              "con.raw_sql('CREATE TEMP TABLE big AS SELECT range AS i, hash(range) AS h FROM range(3000000)')\n"
              "con.raw_sql('SELECT count(*) FROM (SELECT i FROM big ORDER BY h)').fetchone()\n"
              "print('spilled', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "spilled"
    left = [p for p in scratch.iterdir() if p.name.startswith(f"{proc.pid}-")]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert left and all(p.is_dir() for p in left)  # DuckDB had no chance to remove it
    (scratch / "notes").mkdir()  # not a spill folder of the kit: kept
    live = scratch / f"{os.getpid()}-999"  # this process's own: kept
    live.mkdir()
    mine = _connect({"engine": {"temp_directory": str(scratch)}})
    assert not any(p.exists() for p in left)
    assert (scratch / "notes").is_dir() and live.is_dir()
    mine.disconnect()



def test_stores_no_spec_can_reach_are_removed_as_a_new_one_is_written(tmp_path, tiny_lines, monkeypatch, caplog):
    """A monthly export rewritten in place: the stores of last month's file (their keys hold that file's size and
    time) go when the new one is written. Stores of an unchanged file stay (under any cleaning), as do a store
    another process holds, a store without a manifest and the half-written file of a running process; the
    half-written file of a dead process goes."""
    import fcntl
    import logging
    import os
    import subprocess
    import time

    from crm_kit.store import remove_unreachable_stores

    monkeypatch.setenv("CRM_KIT_CACHE", str(tmp_path / "cache"))
    stores = tmp_path / "cache" / "stores"

    def keys_of(spec):
        path = spec["tables"]["transactions"]["path"]
        return {m.stem for m in stores.glob("*.json") if str(path) in m.read_text()}

    for name in ("monthly", "unchanged", "held"):
        (tmp_path / name).mkdir()
    monthly, unchanged, held = (write_spec(tmp_path / name, tiny_lines) for name in ("monthly", "unchanged", "held"))
    for spec in (monthly, unchanged):
        load_store(spec)
        load_store({**spec, "cleaning": {"duplicates": "keep"}})
    load_store(held)
    old_monthly, kept, held_keys = keys_of(monthly), keys_of(unchanged), keys_of(held)
    assert len(old_monthly) == len(kept) == 2 and len(held_keys) == 1
    (stores / "0123456789abcdef01234567.duckdb").write_bytes(b"no manifest")
    dead = subprocess.Popen(["true"])
    dead.wait()
    (stores / f".{'a' * 24}.{dead.pid}.tmp").write_bytes(b"half")
    (stores / f".{'a' * 24}.{dead.pid}.tmp.wal").write_bytes(b"its log")
    (stores / f".{'b' * 24}.{os.getppid()}.tmp").write_bytes(b"half, still being written")

    time.sleep(0.01)
    for spec, lines in ((monthly, 6), (held, 5)):
        tiny_lines.iloc[:lines].to_parquet(spec["tables"]["transactions"]["path"], index=False)
    (held_key,) = held_keys
    with open(stores / f".{held_key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process writing or removing it
        with caplog.at_level(logging.INFO, logger="crm_kit.store"):
            fresh = load_store(monthly)
    assert fresh.con.execute(fresh.transactions.count()) == 6
    present = {p.stem for p in stores.glob("*.duckdb")}
    assert present == keys_of(monthly) | kept | held_keys | {"0123456789abcdef01234567"}
    assert len(keys_of(monthly)) == 1 and not keys_of(monthly) & old_monthly
    assert not [p for p in stores.iterdir() if any(k in p.name for k in old_monthly)]  # store, manifest, lock
    assert not list(stores.glob(f".{'a' * 24}.*"))
    assert (stores / f".{'b' * 24}.{os.getppid()}.tmp").exists()
    assert caplog.text.count("transactions.parquet changed since") == 2 and "half-written by process" in caplog.text

    # released, the held store of a changed file goes at the next clean-up
    removed = remove_unreachable_stores()
    assert [(p.stem, why) for p, why in removed] == [(held_key, "transactions.parquet changed since")]
    assert {p.stem for p in stores.glob("*.duckdb")} == present - held_keys


def test_a_store_that_cannot_be_removed_never_costs_the_load(tmp_path, tiny_lines, monkeypatch):
    """A cache folder shared read-only for old stores: the clean-up skips what it may not remove, the load goes on."""
    import time
    from pathlib import Path

    monkeypatch.setenv("CRM_KIT_CACHE", str(tmp_path / "cache"))
    spec = write_spec(tmp_path, tiny_lines)
    load_store(spec)
    time.sleep(0.01)
    tiny_lines.iloc[:7].to_parquet(spec["tables"]["transactions"]["path"], index=False)
    unlink = Path.unlink

    def refuse(self, *args, **kwargs):
        if self.suffix == ".duckdb":
            raise PermissionError(13, "Permission denied", str(self))
        return unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", refuse)
    fresh = load_store(spec)
    assert fresh.con.execute(fresh.transactions.count()) == 7
    assert len(list((tmp_path / "cache" / "stores").glob("*.duckdb"))) == 2


def test_stores_of_another_cache_layout_or_of_a_file_gone_are_unreachable(tmp_path, tiny_lines, monkeypatch):
    """The other two ways a store's key can no longer be computed: its input file removed, or a manifest written
    by another cache layout or kit version; a store whose files are all unchanged is kept."""
    import json

    from crm_kit.store import remove_unreachable_stores

    monkeypatch.setenv("CRM_KIT_CACHE", str(tmp_path / "cache"))
    stores = tmp_path / "cache" / "stores"
    specs = {}
    for name in ("gone", "old_layout", "kept"):
        (tmp_path / name).mkdir()
        specs[name] = write_spec(tmp_path / name, tiny_lines)
        load_store(specs[name])
    keys = {name: next(m.stem for m in stores.glob("*.json") if f"/{name}/" in m.read_text()) for name in specs}
    Path(specs["gone"]["tables"]["transactions"]["path"]).unlink()
    manifest = stores / f"{keys['old_layout']}.json"
    kit = json.loads(manifest.read_text())["kit"]
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "v": "5"}))
    removed = {p.stem: why for p, why in remove_unreachable_stores()}
    assert removed == {keys["gone"]: "transactions.parquet is gone",
                       keys["old_layout"]: f"written by cache layout 5 / kit {kit}"}
    assert {p.stem for p in stores.glob("*.duckdb")} == {keys["kept"]}


def test_a_file_rewritten_with_the_same_size_and_time_is_not_served_stale(tmp_path, tiny_lines):
    """cp -p, rsync -t and tar keep a file's size and modification time: the content digest tells the new file."""
    import os

    spec = write_spec(tmp_path, tiny_lines)
    path = spec["tables"]["transactions"]["path"]
    first = load_store(spec)
    assert first.con.execute(first.transactions.amount.sum()) == pytest.approx(151.0)
    stat = os.stat(path)
    changed = tiny_lines.assign(amount=tiny_lines["amount"] * 2)
    changed.to_parquet(path, index=False)
    assert os.path.getsize(path) == stat.st_size  # the same bytes count: only the values moved
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = load_store(spec)
    assert again.con.execute(again.transactions.amount.sum()) == pytest.approx(302.0)


def test_an_emptied_cached_store_is_rebuilt_with_a_log_line(tmp_path, tiny_lines, caplog):
    import duckdb

    from crm_kit.store.cache import _cache_key
    from crm_kit.config import store_cache_dir

    spec = write_spec(tmp_path, tiny_lines)
    load_store(spec)
    path = store_cache_dir() / f"{_cache_key(spec)}.duckdb"
    con = duckdb.connect(str(path))
    for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
        con.execute(f'DROP TABLE "{name}"')
    con.close()
    with caplog.at_level("WARNING", logger="crm_kit.store"):
        store = load_store(spec)
    assert store.con.execute(store.transactions.amount.sum()) == pytest.approx(151.0)
    assert "unreadable" in caplog.text


def test_window_dates_and_demo_sizes_are_read_as_people_write_them():
    from crm_kit.store.spec import _window_bounds, load_data_spec

    assert _window_bounds({"start": "2025年6月1日", "end": "2025/07/01"}) == (pd.Timestamp("2025-06-01"),
                                                                            pd.Timestamp("2025-07-01"))
    with pytest.raises(ParameterError, match=r"window.start = '6/1/25': give a date as YYYY-MM-DD"):
        _window_bounds({"start": "6/1/25"})  # a two-digit year is never read as the year 25
    assert load_data_spec("demo:3k") == {"source": "demo", "n_members": 3000}
    with pytest.raises(ParameterError, match="give the demo's members as a whole number, e.g. demo:3000"):
        load_data_spec("demo:3x")


@pytest.fixture(scope="module")
def demo_600(tmp_path_factory):
    from crm_kit.demo import generate_demo_store

    folder = generate_demo_store(tmp_path_factory.mktemp("demo600") / "demo", n_members=600, seed=3)
    return {"source": "demo", "folder": str(folder), "n_members": 600, "seed": 3}


def test_the_demo_names_its_engine_like_any_spec(demo_600):
    from crm_kit.store.spec import check_spec, resolve_source

    # a backend's name alone is the engine; `spark` is PySpark; the demo's own spec is kept under it
    spec = resolve_source({**demo_600, "engine": "spark"})
    assert spec["engine"] == "spark" and spec["tables"]["transactions"]["path"].startswith(demo_600["folder"])
    assert check_spec(spec)["engine"] == {"backend": "pyspark"}
    options = {"backend": "pyspark", "options": {"master": "local[1]"}}
    assert check_spec(resolve_source({**demo_600, "engine": options}))["engine"] == options
    # the other keys of a spec itself stand beside `source` too and override the demo's
    assert resolve_source({**demo_600, "month": "2025-08"})["month"] == "2025-08"
    # without an engine, the spec is the demo's as before
    assert "engine" not in resolve_source(demo_600)


def test_an_engine_is_checked_like_every_other_key(demo_600):
    from crm_kit.store.spec import check_spec, resolve_source

    spec = resolve_source(demo_600)
    with pytest.raises(ParameterError, match=r"engine.backend = 'sparc' is not an engine the kit knows \(did you mean "
                                             r"'spark'\?\); use one of \[.*'duckdb'.*'pyspark'.*'spark'"):
        check_spec({**spec, "engine": "sparc"})
    with pytest.raises(ParameterError, match=r"engine.backend = 'hadoop' is not an engine the kit knows; use one of"):
        check_spec({**spec, "engine": {"backend": "hadoop", "options": {}}})
    with pytest.raises(ParameterError, match="engine must be a backend's name"):
        check_spec({**spec, "engine": 3})
    with pytest.raises(ParameterError, match=r"unknown key\(s\) \['memory_limit'\] for backend 'pyspark'"):
        check_spec({**spec, "engine": {"backend": "spark", "memory_limit": "2GB"}})
    # an option the demo does not take is the kit's error naming what it takes, not a TypeError
    with pytest.raises(ParameterError, match=r"data source 'demo' has no option\(s\) \['engin'\] \(did you mean "
                                             r"\['engine'\]\?\); it takes \['folder', 'n_members', 'plant', 'seed'\]"):
        resolve_source({**demo_600, "engin": "spark"})
    with pytest.raises(ParameterError, match=r"engine.backend = 'sparc'"):
        load_store({**demo_600, "engine": "sparc"})


def test_the_campaign_steps_keep_the_demo_engine(demo_600, tmp_path):
    from crm_kit.demo import campaign_data

    engine = {"backend": "pyspark", "options": {"master": "local[1]"}}
    data = {**demo_600, "engine": engine, "window": {"start": "2025-01-01"}}
    for through_round in (0, 1):  # the months without campaigns (round one's design) and the worked case
        built = campaign_data(data, folder=tmp_path, through_round=through_round).data
        assert built["engine"] == engine and built["window"] == {"start": "2025-01-01"}
        assert built["tables"]["transactions"]["path"].startswith(demo_600["folder"])
    assert "engine" not in campaign_data(demo_600, folder=tmp_path, through_round=1).data
