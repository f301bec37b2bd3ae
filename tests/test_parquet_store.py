"""The cleaned store exported as Parquet for the engines that read files (Spark), without starting Spark.

The Spark side (a session reading the export and giving DuckDB's figures) is in tests/test_backends.py.
"""

from __future__ import annotations

import os

import duckdb
import pandas as pd
from conftest import write_spec
from pandas.testing import assert_frame_equal

from crm_kit.store import load_store, remove_unreachable_stores
from crm_kit.store.cache import _cache_key, parquet_store
from crm_kit.store.spec import check_spec


def test_the_engine_is_not_part_of_the_key(tmp_path, tiny_lines):
    """One cleaning for every engine: the same files, cleaning and window give one key on DuckDB and Spark."""
    spec = write_spec(tmp_path, tiny_lines)
    duck = _cache_key(check_spec(spec))
    assert duck is not None
    assert _cache_key(check_spec({**spec, "engine": "spark"})) == duck
    assert _cache_key(check_spec({**spec, "engine": "spark", "cleaning": {"duplicates": "keep"}})) != duck
    assert _cache_key(check_spec({**spec, "engine": "spark", "cache": False})) is None


def test_the_export_holds_the_cleaned_lines_and_orders(tmp_path, tiny_lines, monkeypatch):
    monkeypatch.setenv("CRM_KIT_CACHE", str(tmp_path / "cache"))
    spec = write_spec(tmp_path, tiny_lines)
    store = load_store(spec)
    key = _cache_key(check_spec(spec))
    folder = parquet_store(store.con, key)
    assert folder == tmp_path / "cache" / "stores" / f"{key}.parquet"
    assert sorted(p.name for p in folder.iterdir()) == ["lines.parquet", "orders.parquet"]
    lines = store.con.to_pandas(store.all_lines)
    exported = duckdb.sql(f"SELECT * FROM '{folder / 'lines.parquet'}'").df()
    order = ["order_id", "product_id", "ts"]
    assert_frame_equal(exported.sort_values(order).reset_index(drop=True),
                       lines.sort_values(order).reset_index(drop=True), check_dtype=False)
    orders = duckdb.sql(f"SELECT * FROM '{folder / 'orders.parquet'}'").df()
    assert not [c for c in orders.columns if c.startswith("categories_")]  # unsigned masks stay in DuckDB
    assert len(orders) == store.con.execute(store.orders.count())
    assert orders["amount"].sum() == lines["amount"].sum()
    # a second call reads what is there: the same folder, not written again
    before = (folder / "lines.parquet").stat().st_mtime_ns
    assert parquet_store(store.con, key) == folder and (folder / "lines.parquet").stat().st_mtime_ns == before


def test_an_unreachable_store_goes_with_its_export_and_a_cut_export_of_a_dead_process(tmp_path, tiny_lines,
                                                                                       monkeypatch):
    monkeypatch.setenv("CRM_KIT_CACHE", str(tmp_path / "cache"))
    spec = write_spec(tmp_path, tiny_lines)
    store = load_store(spec)
    key = _cache_key(check_spec(spec))
    folder = parquet_store(store.con, key)
    stores = folder.parent
    # a process killed while exporting (pid 2**22 + 1 is above Linux's largest pid: it runs nowhere)
    cut = stores / f".{key}-parquet.{2**22 + 1}.tmp"
    cut.mkdir()
    (cut / "lines.parquet").write_bytes(b"PAR1")
    store.con.disconnect()
    os.unlink(spec["tables"]["transactions"]["path"])
    removed = {p.name for p, _why in remove_unreachable_stores()}
    assert removed == {cut.name, f"{key}.duckdb"}
    assert not folder.exists() and not cut.exists()
    assert pd.Series([p.name for p in stores.iterdir()]).str.startswith(key).sum() == 0
