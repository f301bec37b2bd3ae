"""The data's first and last line time without a full load (the runner's month check, issue 42).

:func:`crm_kit.store.store_calendar_of` must give exactly what ``data_calendar(load_store(...))`` gives — the
cleaned store's lines, after the rules that drop lines — from the store cache (one min/max query), and load
nothing once the cache holds the store.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import shared_file

import crm_kit.store.load as load_module
from crm_kit.periods import data_calendar
from crm_kit.store import load_store, store_calendar_of

LINES = """order,member,time,amount,status
o1,a,2025-07-30 09:00,30,cancelled
o2,a,2025-08-03 10:00,30,paid
o3,b,2025-09-20 11:00,50,paid
RET-1,b,2025-09-25 12:00,-20,paid
o4,c,2026-03-01 12:00,40,paid
"""


def _hand_spec(folder: Path, returns: str) -> dict:
    (folder / "sales.csv").write_text(LINES)
    return {"tables": {"transactions": {"path": str(folder / "sales.csv"), "columns": {
        "order_id": "order", "customer_id": "member", "ts": "time", "amount": "amount", "status": "status"}}},
        "cleaning": {"statuses": {"purchase": ["paid"], "not_purchase": ["cancelled"]}, "return_prefix": "RET-",
                     "returns": returns},
        "window": {"end": "2025-12-31"}}


@pytest.mark.parametrize("returns, last", [("net", "2025-09-25 12:00"), ("drop", "2025-09-20 11:00")])
@pytest.mark.parametrize("cache", [True, False])
def test_the_calendar_leaves_out_what_cleaning_drops(tmp_path, returns, last, cache):
    """A cancelled first line, a return last (kept by returns: net, left out by drop) and a line after the window:
    the source's min/max would say 2025-07-30 to 2026-03-01."""
    spec = {**_hand_spec(tmp_path, returns), "cache": cache}
    first_last = store_calendar_of(spec)
    assert first_last == (pd.Timestamp("2025-08-03 10:00"), pd.Timestamp(last))
    assert first_last == data_calendar(load_store(spec))


def test_a_cached_store_answers_without_a_load(tmp_path, monkeypatch):
    spec = _hand_spec(tmp_path, "net")
    expected = data_calendar(load_store(spec))  # writes the cache

    def no_load(*args, **kwargs):
        raise AssertionError("the calendar of a cached store loaded it")

    monkeypatch.setattr(load_module, "load_store", no_load)
    assert store_calendar_of(spec) == expected


def test_the_demo_calendar_equals_the_full_load():
    assert store_calendar_of("demo:300") == data_calendar(load_store("demo:300"))


def test_a_zoo_export_with_statuses_and_refunds(tmp_path):
    """Shopify's orders export: cancelled, unpaid and refunded orders, partial refunds (crm-kit init's draft)."""
    from zoo import generate

    from crm_kit.draft import draft, write_draft

    export = generate("shopify", tmp_path / "export", customers=150)
    data_path, _run = write_draft(draft([str(f) for f in export.files]), tmp_path / "init")
    assert store_calendar_of(str(data_path)) == data_calendar(load_store(str(data_path)))


def test_a_public_dataset(monkeypatch):
    """UCI Online Retail: cancellations and returns dropped, a window."""
    shared_file("online_retail", "online_retail.parquet")
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    spec = load_module.load_data_spec("params/data/online_retail.yaml")
    cached = store_calendar_of(spec)
    assert cached == data_calendar(load_store(spec))
    assert cached == (pd.Timestamp("2010-12-01 08:26"), pd.Timestamp("2011-12-09 12:50"))


def test_an_unreadable_source_is_the_kits_one_line(tmp_path):
    from crm_kit.errors import CRMKitError

    (tmp_path / "sales.csv").write_text("order,member,time,amount\n")
    spec = {"tables": {"transactions": {"path": str(tmp_path / "sales.csv"), "columns": {
        "order_id": "order", "customer_id": "member", "ts": "time", "amount": "amount"}}}}
    with pytest.raises(CRMKitError):
        store_calendar_of(spec)
