"""Metamorphic tests: the same export written another way gives the same monthly figures after ``init`` and the load.

The base is the zoo's membership-store line items (tests/zoo, shape ``membership``), an export the kit reads
right today. Re-encoded (UTF-8, UTF-8 with a BOM, GBK, UTF-16), rows shuffled and columns reordered, split into
monthly part files, saved as xlsx and as Parquet, or with its headers renamed to other English and Chinese
names shops use, it must give, month by month, the same buyers, visits and sales as the base — and the base
gives the truth. Hypothesis draws the shuffles and the header names (a bounded, derandomised number of examples).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_zoo import compare, init_and_load
from zoo import generate

COLUMNS = ["会员卡号", "小票号", "交易时间", "商品编码", "数量", "实收金额"]
#: header names real exports give each column (English and Chinese)
SYNONYMS = {
    "会员卡号": ["Customer ID", "Member No", "Card Number", "会员号", "会员编号", "客户编号"],
    "小票号": ["Order ID", "Receipt No", "Invoice", "订单号", "单据号", "流水号"],
    "交易时间": ["Date", "Order Date", "Transaction Time", "销售时间", "下单时间", "交易日期"],
    "商品编码": ["SKU", "Item Code", "Product ID", "货号", "商品编号", "条码"],
    "数量": ["Qty", "Quantity", "Units", "销售数量", "件数", "数量"],
    "实收金额": ["Amount", "Line Total", "Net Sales", "销售金额", "实付金额", "金额"],
}
EXAMPLES = settings(max_examples=2, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The base export (its frame as text), its truth, and the kit's monthly figures from it."""
    folder = tmp_path_factory.mktemp("base")
    export = generate("membership", folder, customers=60)
    lines = export.files[0]
    frame = pd.read_csv(lines, dtype=str, keep_default_na=False)
    kit, _found, _run = init_and_load([lines], folder / "init", gross=False)
    assert not compare(kit, export.truth), compare(kit, export.truth)  # the base itself is right
    return frame, kit


def _same(base, files, folder: Path) -> None:
    _frame, expected = base
    kit, found, _run = init_and_load(files, folder / "init", gross=False)
    problems = compare(kit, expected)
    assert not problems, "; ".join(problems[:8]) + (f"; undecided: {found.undecided}" if found.undecided else "")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "utf-16"])
def test_the_same_export_in_another_encoding(base, tmp_path, encoding):
    path = tmp_path / "sales.csv"
    base[0].to_csv(path, index=False, encoding=encoding)
    _same(base, [path], tmp_path)


@EXAMPLES
@given(seed=st.integers(0, 2**32 - 1))
def test_rows_shuffled_and_columns_reordered(base, tmp_path_factory, seed):
    rng = np.random.default_rng(seed)
    frame = base[0]
    shuffled = frame.iloc[rng.permutation(len(frame))][list(rng.permutation(frame.columns))]
    folder = tmp_path_factory.mktemp("shuffled")
    shuffled.to_csv(folder / "sales.csv", index=False)
    _same(base, [folder / "sales.csv"], folder)


def test_split_into_monthly_part_files(base, tmp_path):
    frame = base[0]
    parts = tmp_path / "monthly"
    parts.mkdir()
    for month, part in frame.groupby(frame["交易时间"].str[:7]):
        part.to_csv(parts / f"sales_{month}.csv", index=False)
    assert len(list(parts.iterdir())) == 6
    _same(base, [parts], tmp_path)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(交易时间=pd.to_datetime(frame["交易时间"]), 数量=frame["数量"].astype("int64"),
                        实收金额=frame["实收金额"].astype("float64"))


def test_saved_as_xlsx(base, tmp_path):
    path = tmp_path / "sales.xlsx"
    _typed(base[0]).to_excel(path, index=False, sheet_name="Sheet1")
    _same(base, [path], tmp_path)


def test_saved_as_parquet(base, tmp_path):
    path = tmp_path / "sales.parquet"
    _typed(base[0]).to_parquet(path, index=False)
    _same(base, [path], tmp_path)


@EXAMPLES
@given(names=st.fixed_dictionaries({col: st.sampled_from(choices) for col, choices in SYNONYMS.items()}))
def test_headers_renamed_to_synonyms(base, tmp_path_factory, names):
    folder = tmp_path_factory.mktemp("renamed")
    base[0].rename(columns=names).to_csv(folder / "sales.csv", index=False)
    _same(base, [folder / "sales.csv"], folder)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_headers_in_english_or_chinese_throughout(base, tmp_path, language):
    """Every header taken from one language's names (the first English or the last Chinese synonym of each)."""
    names = {col: choices[0] if language == "en" else choices[-1] for col, choices in SYNONYMS.items()}
    base[0].rename(columns=names).to_csv(tmp_path / "sales.csv", index=False)
    _same(base, [tmp_path / "sales.csv"], tmp_path)


def test_a_date_and_a_time_of_day_in_two_columns(base, tmp_path):
    """交易时间 written as a date and a time of day in two columns (as tills write it) gives the same figures."""
    frame = base[0]
    stamp = pd.to_datetime(frame["交易时间"])
    split = frame.drop(columns="交易时间").assign(交易日期=stamp.dt.strftime("%Y/%m/%d"), 交易时刻=stamp.dt.strftime("%H:%M"))
    split.to_csv(tmp_path / "sales.csv", index=False)
    _same(base, [tmp_path / "sales.csv"], tmp_path)


# ---------------------------------------------------------------------------------------------------- clover_with_id
# A one-file orders export with times in a zone's abbreviations (EST / EDT) and the refunded money per order.


@pytest.fixture(scope="module")
def clover(tmp_path_factory):
    """The zoo's clover_with_id export (its frame as text) and the kit's monthly figures from it (the truth's)."""
    folder = tmp_path_factory.mktemp("clover")
    export = generate("clover_with_id", folder, customers=40)
    frame = pd.read_csv(export.files[0], dtype=str, keep_default_na=False)
    kit, _found, _run = init_and_load(export.files, folder / "init", gross=True)
    assert not compare(kit, export.truth), compare(kit, export.truth)
    return frame, kit


def _same_clover(clover, files, folder: Path) -> None:
    kit, found, _run = init_and_load(files, folder / "init", gross=True)
    problems = compare(kit, clover[1])
    assert not problems, "; ".join(problems[:8]) + (f"; undecided: {found.undecided}" if found.undecided else "")


def test_clover_in_utf16_oldest_first(clover, tmp_path):
    path = tmp_path / "Orders.csv"
    clover[0].iloc[::-1].to_csv(path, index=False, encoding="utf-16")
    _same_clover(clover, [path], tmp_path)


def test_clover_with_numeric_offsets_instead_of_abbreviations(clover, tmp_path):
    """'30-Jun-2024 07:25 PM EDT' written as '2024-06-30T19:25:00-04:00': the same instants, the same figures."""
    frame = clover[0]
    offset = frame["Order Date"].str[-3:].map({"EDT": "-04:00", "EST": "-05:00"})
    local = pd.to_datetime(frame["Order Date"].str[:-4], format="%d-%b-%Y %I:%M %p")
    path = tmp_path / "Orders.csv"
    frame.assign(**{"Order Date": local.dt.strftime("%Y-%m-%dT%H:%M:00") + offset}).to_csv(path, index=False)
    _same_clover(clover, [path], tmp_path)
