"""init's reading path: sniff (bytes → type, encoding, dialect, title lines) and profile (every column over all
rows in the engine), then the closed loop (the draft loaded by the run's loader).

One test per kind of input, not per file: each writes its exports here, computes the truth with pandas, and checks
what init decided and what the drafted spec loads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from crm_kit import load_store
from crm_kit.draft import draft, write_draft
from crm_kit.errors import DataError
from crm_kit.store.layouts import date_format, number_locales
from crm_kit.store.profile import profile_table
from crm_kit.store.sniff import detect_encoding, file_kind, sniff
from conftest import ROOT


def _lines(n_customers: int = 40, seed: int = 0, months=("2025-01", "2025-02", "2025-03")) -> pd.DataFrame:
    """Line items: customer, order, timestamp, item, quantity and amount (money with cents, some above 1,000)."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_customers):
        for m in months:
            for visit in range(1 + int(rng.poisson(1))):
                day = pd.Timestamp(f"{m}-01") + pd.Timedelta(days=int(rng.integers(0, 27)), hours=int(rng.integers(8, 20)))
                for k in range(int(rng.integers(1, 3))):
                    qty = int(rng.integers(1, 4))
                    price = float(rng.choice([3.5, 12.25, 49.9, 1299.0]))
                    rows.append({"customer": f"C{c:04d}", "order": f"{c:03d}{m.replace('-', '')}{visit}", "ts": day,
                                 "item": f"P{k}{int(rng.integers(0, 30)):02d}", "qty": qty,
                                 "amount": round(qty * price, 2)})
    return pd.DataFrame(rows)


def _truth(lines: pd.DataFrame) -> dict:
    """Buyers and visits count purchases only (an order of nothing but returns is no visit); sales are net."""
    bought = lines[lines["amount"] >= 0]
    return {"customers": bought["customer"].nunique(), "orders": bought.groupby(["customer", "order"]).ngroups,
            "sales": round(float(lines["amount"].sum()), 2)}


def _figures(data_path: Path) -> dict:
    health = load_store(str(data_path)).health().set_index("figure")["value"]
    return {"customers": int(health["customers"]), "orders": int(health["orders"]),
            "sales": round(float(health["sales (all lines)"]), 2)}


def _init(tmp_path: Path, *files, out: str = "init"):
    found = draft(list(files))
    data_path, _run = write_draft(found, tmp_path / out)
    return yaml.safe_load(data_path.read_text(encoding="utf-8")), found, data_path


def _export(lines: pd.DataFrame, **formats) -> pd.DataFrame:
    frame = pd.DataFrame({"Customer": lines["customer"], "Order No": lines["order"],
                          "Date": lines["ts"].dt.strftime("%Y-%m-%d %H:%M"), "SKU": lines["item"],
                          "Qty": lines["qty"], "Total": lines["amount"]})
    for col, fmt in formats.items():
        frame[col] = fmt(lines)
    return frame


# ------------------------------------------------------------------------------------------------ sniffing bytes


#: a table's text in several languages, so that every encoding has its own characters to tell it by
_WORDS = {"gbk": "牛奶 洗发水 纸巾 杂粮", "gb18030": "牛奶 洗发水 𠀀 杂粮", "shift_jis": "牛乳 シャンプー ティッシュ 雑穀",
          "cp1252": "crème brûlée, Müsli, Smørbrød, café €", "utf-8": "牛奶 crème ティッシュ",
          "utf-8-sig": "牛奶 crème", "utf-16": "牛奶 crème ティッシュ", "utf-16-le": "牛奶 crème ティッシュ"}


@pytest.mark.parametrize("encoding", list(_WORDS))
def test_the_encoding_is_told_from_the_bytes(tmp_path, encoding):
    lines = _lines(8)
    words = _WORDS[encoding].split()
    frame = _export(lines).assign(Description=[words[i % len(words)] for i in range(len(lines))])
    text = frame.to_csv(index=False)
    raw = text.encode(encoding) if encoding != "utf-16-le" else text.encode("utf-16-le")
    found = detect_encoding(raw)
    expected = {"gbk": "gb18030"}.get(encoding, encoding)
    assert found == expected
    assert raw.decode(found if found != "utf-16" else "utf-16") .replace("\ufeff", "") == text


@pytest.mark.parametrize("encoding", ["gb18030", "shift_jis", "cp1252", "utf-16-le"])
def test_an_export_in_any_of_the_encodings_shops_use_loads_right(tmp_path, encoding):
    lines = _lines(12, seed=1)
    words = _WORDS[encoding].split()
    frame = _export(lines).assign(Description=[words[i % len(words)] for i in range(len(lines))])
    path = tmp_path / "export.csv"
    path.write_bytes(frame.to_csv(index=False).encode(encoding))
    spec, found, data_path = _init(tmp_path, path)
    assert spec["tables"]["transactions"]["encoding"] == encoding and not found.undecided
    assert _figures(data_path) == _truth(lines)


def _write_kind(path: Path, kind: str) -> None:
    if kind == "pdf":
        path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    elif kind == "binary":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    elif kind == "json":
        path.write_text('{"customer": "C1", "amount": 12.5}\n{"customer": "C2", "amount": 3.0}\n', encoding="utf-8")
    elif kind == "xls":
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("a.csv", "x,y\n1,2\n")
            z.writestr("b.csv", "x,y\n1,2\n")


@pytest.mark.parametrize("kind", ["pdf", "binary", "json", "xls"])
def test_a_file_that_is_no_table_is_named_in_one_line(tmp_path, kind):
    path = tmp_path / "export.csv"
    _write_kind(path, kind)
    assert file_kind(path) == kind
    with pytest.raises(DataError) as err:
        draft([path])
    line = str(err.value)
    assert "\n" not in line and "export.csv" in line
    word = {"pdf": "PDF", "binary": "binary data", "json": "JSON", "xls": ".xls"}[kind]
    assert word in line
    # the loader says the same
    with pytest.raises(DataError, match=word.replace(".", r"\.")):
        load_store({"tables": {"transactions": {"path": str(path), "columns": {"customer_id": "x"}}}, "cache": False})


# ------------------------------------------------------------------------------------------------ layouts of values


def test_number_and_date_layouts_of_a_shape():
    assert number_locales("9,999.99") == {(",", ".")}
    assert {(".", ","), (" ", ","), ("'", ",")} & number_locales("9.999,99") == {(".", ",")}
    assert number_locales("9 999,99") == {(" ", ",")}
    assert number_locales("9'999.99") == {("'", ".")}
    assert (",", ".") in number_locales("9,999") and ("", ",") in number_locales("9,999")  # ambiguous alone
    assert date_format("99.99.9999 99:99", "dmy") == ("%d.%m.%Y %H:%M", "told")
    assert date_format("99/99/9999", "mdy") == ("%m/%d/%Y", "told")
    assert date_format("9999-99-99a99:99:99+99:99") == ("%Y-%m-%dT%H:%M:%S", "self")
    assert date_format("9999年9月99日") == ("%Y年%m月%d日", "self")
    assert date_format("99:99:99") == (None, "time")
    assert date_format("9999-99-99 99:99:99 a/a_a")[1] == "zone"


_MONEY = {
    "yuan, thousands first in the last row": lambda v: [f"￥{x:.2f}" for x in v[:-1]] + [f"￥{v.iloc[-1] + 1000:,.2f}"],
    "euro after, decimal comma, dot thousands": lambda v: [f"{x:,.2f} €".replace(",", "_").replace(".", ",")
                                                           .replace("_", ".") for x in v],
    "space thousands, decimal comma": lambda v: [f"{x:,.2f}".replace(",", " ").replace(".", ",") for x in v],
    "apostrophe thousands (Swiss)": lambda v: [f"CHF {x:,.2f}".replace(",", "'") for x in v],
    "minus before the sign and after the number": lambda v: [(f"-${-x:,.2f}" if i % 2 else f"{-x:,.2f}-") if x < 0
                                                             else f"${x:,.2f}" for i, x in enumerate(v)],
    "currency code after": lambda v: [f"{x:.2f} EUR" for x in v],
}


@pytest.mark.parametrize("layout", list(_MONEY))
def test_money_in_any_layout_is_counted_over_all_rows_and_loaded(tmp_path, layout):
    lines = _lines(30, seed=2)
    lines.loc[lines.index % 9 == 0, "amount"] *= -1  # returns
    if layout.startswith("yuan"):
        lines.loc[lines.index[-1], "amount"] += 1000
        written = _MONEY[layout](lines["amount"] - np.where(lines.index == lines.index[-1], 1000, 0))
    else:
        written = _MONEY[layout](lines["amount"])
    frame = _export(lines, Total=lambda _l: written)
    path = tmp_path / "money.csv"
    frame.to_csv(path, index=False, sep=";" if "comma" in layout else ",")
    spec, found, data_path = _init(tmp_path, path)
    assert not found.undecided, found.undecided
    t = spec["tables"]["transactions"]
    assert t["columns"]["amount"] == "Total"
    column = found.table("transactions").profile["Total"]
    assert column.values == len(lines)
    assert column.numbers(t.get("thousands", ""), t.get("decimal", ".")) == len(lines)  # every value, all rows
    assert column.negative == int((lines["amount"] < 0).sum())
    evidence = found.table("transactions").evidence["amount"]
    assert f"{len(lines):,} of {len(lines):,} values parse as numbers" in evidence
    assert _figures(data_path) == _truth(lines)


def test_day_first_told_by_a_day_in_the_last_row_and_separate_time_column(tmp_path):
    lines = _lines(30, seed=3)
    lines = lines.sort_values("ts").reset_index(drop=True)
    # every day up to the last row is at most 12; the last row's day (the 28th) says day first
    lines["ts"] = lines["ts"].where(lines["ts"].dt.day <= 12, lines["ts"] - pd.to_timedelta(lines["ts"].dt.day - 12, "D"))
    lines.loc[lines.index[-1], "ts"] = pd.Timestamp("2025-03-28 10:00")
    frame = _export(lines).drop(columns="Date")
    frame.insert(2, "Date", lines["ts"].dt.strftime("%d.%m.%Y"))
    frame.insert(3, "Time", lines["ts"].dt.strftime("%H:%M:%S"))
    path = tmp_path / "dates.csv"
    frame.to_csv(path, index=False)
    spec, found, data_path = _init(tmp_path, path)
    t = spec["tables"]["transactions"]
    # the date (day first, told by the last row) and the time of day in its own column are read as one time
    assert t["ts_format"] == "%d.%m.%Y %H:%M:%S" and t["columns"]["ts"] == ["Date", "Time"] and not found.undecided
    assert f"{len(lines):,} of {len(lines):,} values written %H:%M:%S" in found.table("transactions").evidence["ts"]
    assert _figures(data_path) == _truth(lines)
    assert found.month == "2025-02"  # the last day is 28 March: March is not complete


def test_mixed_utc_offsets_and_epoch_milliseconds(tmp_path):
    lines = _lines(20, seed=4)
    offsets = np.where(lines.index % 3 == 0, "+01:00", "+02:00")
    frame = _export(lines).assign(Date=lines["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S") + offsets)
    path = tmp_path / "offsets.csv"
    frame.to_csv(path, index=False)
    spec, found, data_path = _init(tmp_path, path)
    assert spec["tables"]["transactions"]["timezone"] == "Etc/GMT-2"  # the most frequent offset, as a fixed zone
    assert any("UTC offsets" in u for u in found.undecided)  # the shop's own zone is the user's to say
    assert _figures(data_path) == _truth(lines)
    millis = (lines["ts"] - pd.Timestamp("1970-01-01")) // pd.Timedelta("1ms")
    path = tmp_path / "epoch.csv"
    _export(lines).assign(Date=millis).to_csv(path, index=False)
    spec, found, data_path = _init(tmp_path, path, out="epoch")
    assert spec["tables"]["transactions"]["ts_format"] == "epoch_ms"
    assert _figures(data_path) == _truth(lines)


def test_a_column_blank_on_every_row_and_a_header_only_file(tmp_path):
    lines = _lines(10, seed=5)
    frame = _export(lines).assign(Coupon="", Note=None)
    path = tmp_path / "blank.csv"
    frame.to_csv(path, index=False)
    spec, found, data_path = _init(tmp_path, path)
    assert found.table("transactions").profile["Coupon"].values == 0
    assert _figures(data_path) == _truth(lines)
    empty = tmp_path / "header_only.csv"
    empty.write_text("Customer,Order No,Date,SKU,Qty,Total\n", encoding="utf-8")
    found = draft([empty])  # no traceback: what is missing is a choice left to the user
    assert found.undecided
    write_draft(found, tmp_path / "empty")
    yaml.safe_load((tmp_path / "empty" / "data.yaml").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------------ structure


def test_title_and_blank_note_lines_above_the_header(tmp_path):
    lines = _lines(15, seed=6)
    path = tmp_path / "titled.csv"
    path.write_text("Sales export\n\nNote: amounts in EUR, incl. VAT\n\n" + _export(lines).to_csv(index=False),
                    encoding="utf-8")
    assert sniff(path).skip_rows == 4
    spec, found, data_path = _init(tmp_path, path)
    assert spec["tables"]["transactions"]["skip_rows"] == 4
    assert _figures(data_path) == _truth(lines)


def test_a_repeated_header_is_named_not_blamed_on_the_timestamps(tmp_path):
    lines = _lines(10, seed=7)
    text = _export(lines).to_csv(index=False)
    path = tmp_path / "twice.csv"
    path.write_text(text + text, encoding="utf-8")  # an export concatenated twice
    found = draft([path])
    assert any("header row appears 1 more time" in u for u in found.undecided)
    spec = {"tables": {"transactions": {"path": str(path), "columns": {
        "customer_id": "Customer", "order_id": "Order No", "ts": "Date", "product_id": "SKU", "quantity": "Qty",
        "amount": "Total"}}}, "cache": False}
    with pytest.raises(DataError, match="header row appears again inside the file") as err:
        load_store(spec)
    assert "ts_format" not in str(err.value)


def test_mixed_line_endings_read(tmp_path):
    lines = _lines(15, seed=8)
    body = _export(lines).to_csv(index=False).splitlines()
    path = tmp_path / "mixed.csv"
    path.write_bytes("".join(ln + ("\r\n" if i % 2 else "\n") for i, ln in enumerate(body)).encode("utf-8"))
    assert sniff(path).line_endings == "mixed"
    spec, found, data_path = _init(tmp_path, path)
    assert _figures(data_path) == _truth(lines)


def test_a_workbook_with_a_notes_sheet_first_and_merged_cells(tmp_path):
    import openpyxl

    lines = _lines(12, seed=9).sort_values(["customer", "order"]).reset_index(drop=True)
    frame = _export(lines)
    path = tmp_path / "shop.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"Notes": ["Exported from the back office", "Amounts in EUR"]}).to_excel(writer, sheet_name="Read me",
                                                                                               index=False)
        frame.to_excel(writer, sheet_name="Orders", index=False, startrow=1)
    book = openpyxl.load_workbook(path)
    sheet = book["Orders"]
    sheet["A1"] = "Orders, Q1 2025"
    # an order's customer, number and date written once, merged over its lines (rows 3.. hold the data)
    for (_c, _o), group in lines.groupby(["customer", "order"], sort=False):
        if len(group) > 1:
            top, bottom = group.index[0] + 3, group.index[-1] + 3
            for col in "ABC":
                for row in range(top + 1, bottom + 1):
                    sheet[f"{col}{row}"] = None
                sheet.merge_cells(f"{col}{top}:{col}{bottom}")
    book.save(path)
    spec, found, data_path = _init(tmp_path, path)
    t = spec["tables"]["transactions"]
    assert (t["sheet"], t["skip_rows"]) == ("Orders", 1)
    assert _figures(data_path) == _truth(lines)  # no line lost as a "duplicate"


def test_reordered_monthly_parts_are_one_table(tmp_path):
    lines = _lines(20, seed=10)
    parts = tmp_path / "parts"
    parts.mkdir()
    frame = _export(lines)
    for i, (month, part) in enumerate(frame.groupby(lines["ts"].dt.strftime("%Y-%m"))):
        cols = list(part.columns) if i % 2 == 0 else list(reversed(part.columns))
        part[cols].to_csv(parts / f"sales_{month}.csv", index=False)
    spec, found, data_path = _init(tmp_path, parts)
    assert not found.undecided, found.undecided
    assert any("another order" in r for r in found.table("transactions").reading)
    assert _figures(data_path) == _truth(lines)


def test_a_contact_list_with_a_constant_column_is_not_an_outcome_table(tmp_path):
    lines = _lines(20, seed=11)
    path = tmp_path / "lines.csv"
    _export(lines).to_csv(path, index=False)
    contacts = pd.DataFrame({"customer_id": [f"C{c:04d}" for c in range(20)], "campaign": "SPRING",
                             "group": np.where(np.arange(20) % 4 == 0, "control", "treatment"),
                             "sent_at": "2025-03-03", "responded": 0})
    cpath = tmp_path / "contacts.csv"
    contacts.to_csv(cpath, index=False)
    spec, found, _data_path = _init(tmp_path, path, cpath)
    assert found.table("outcomes") is None and found.table("contacts") is not None
    assert spec["tables"]["contacts"]["columns"]["customer_id"] == "customer_id"


def test_a_dangling_link_and_a_very_long_line_get_one_line_or_a_read(tmp_path):
    lines = _lines(10, seed=12)
    parts = tmp_path / "parts"
    parts.mkdir()
    _export(lines).to_csv(parts / "a.csv", index=False)
    os.symlink(tmp_path / "gone.csv", parts / "b.csv")
    with pytest.raises(DataError) as err:
        draft([str(parts / "*.csv")])
    assert "b.csv" in str(err.value) and "does not exist" in str(err.value) and "\n" not in str(err.value)
    long = _export(lines).assign(Note="")
    long.loc[3, "Note"] = "x" * 12_000_000  # a 12 MB cell
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    spec, found, data_path = _init(tmp_path, path)
    assert spec["tables"]["transactions"]["max_line_size"] >= 12_000_000
    assert _figures(data_path) == _truth(lines)


def test_the_window_comes_from_the_whole_file_and_keys_must_vary(tmp_path):
    lines = _lines(20, seed=13, months=("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07"))
    # the workbook's first rows end in June; July's lines (to its last day) come after a first block
    july = lines["ts"].dt.month == 7
    lines.loc[lines.index[july][-1], "ts"] = pd.Timestamp("2025-07-31 18:00")
    ordered = pd.concat([lines[~july], lines[july]])
    path = tmp_path / "book.xlsx"
    _export(ordered).to_excel(path, index=False)
    spec, found, data_path = _init(tmp_path, path)
    assert found.month == "2025-07" and found.table("transactions").last == pd.Timestamp("2025-07-31 18:00")
    same = _export(lines).assign(Customer="WALK-IN")
    spath = tmp_path / "constant.csv"
    same.to_csv(spath, index=False)
    with pytest.raises(DataError, match="no customer key — 'Customer' is .* on every row: it identifies nobody"):
        draft([spath])  # a constant is never the customer key: init stops in one line


def test_a_wide_file_is_profiled_in_one_query(tmp_path):
    rng = np.random.default_rng(14)
    n, cols = 200, 300
    frame = pd.DataFrame({f"c{i}": (rng.integers(0, 1000, n) if i % 3 else np.round(rng.random(n) * 100, 2))
                          for i in range(cols)})
    frame["c5"] = [f"€{v:,.2f}" for v in rng.random(n) * 5000]
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    prof = profile_table({"path": str(path), "delimiter": ","})
    assert prof.rows == n and len(prof.columns) == cols
    assert prof["c5"].numbers(",", ".") == n and prof["c5"].currencies == {"€": n}
    assert prof["c1"].distinct == frame["c1"].nunique() and prof["c1"].integer == n
    assert prof["c3"].top[0][1] == frame["c3"].astype(str).value_counts().iloc[0]


def test_init_on_the_command_line_says_what_it_read(tmp_path):
    lines = _lines(10, seed=15)
    path = tmp_path / "x.csv"
    _export(lines).to_csv(path, index=False)
    out = subprocess.run([sys.executable, "-m", "crm_kit", "init", str(path), "--output", str(tmp_path / "o")],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr
    assert f"{len(lines):,} rows, every one profiled" in out.stdout
    text = (tmp_path / "o" / "data.yaml").read_text(encoding="utf-8")
    assert "loaded with this draft by the run's loader" in text


def test_a_platform_export_with_units_in_its_headers_and_personal_columns(tmp_path):
    """Headers closing in a unit (商品总价(元), Qty (pcs)) are read by their words; the consignee's name, phone and
    address are personal columns, listed and never mapped; statuses decide the purchases; newest orders first."""
    rng = np.random.default_rng(3)
    n = 240
    frame = pd.DataFrame({
        "商品": rng.choice(["纸巾", "牛奶", "洗发水"], n), "订单号": [f"2024{i:08d}" for i in range(n)],
        "订单状态": rng.choice(["已签收", "待收货", "已取消", "退款成功"], n, p=[0.6, 0.2, 0.1, 0.1]),
        "用户实付金额(元)": np.round(rng.gamma(2, 60, n), 2), "商品数量(件)": rng.integers(1, 3, n),
        "订单成交时间": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90 * 86400, n), unit="s")),
        "收货人": rng.choice(["张三", "李四"], n), "手机": [f"138{int(v)}" for v in rng.integers(10**7, 10**8, n)],
        "详细地址": "上海市某路1号", "买家ID": [f"u{int(v):03d}" for v in rng.integers(0, 60, n)], "商家备注": ""})
    frame = frame.sort_values("订单成交时间", ascending=False)
    path = tmp_path / "orders.csv"
    frame.assign(订单成交时间=frame["订单成交时间"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_csv(path, index=False,
                                                                                       encoding="utf-8-sig")
    found = draft([path])
    lines = found.table("transactions")
    assert lines.columns["amount"] == "用户实付金额(元)" and lines.columns["quantity"] == "商品数量(件)"
    assert lines.columns["customer_id"] == "买家ID" and lines.columns["ts"] == "订单成交时间"
    assert {"收货人", "手机", "详细地址"} <= set(lines.personal)
    assert not {"收货人", "手机", "详细地址"} & set(lines.columns.values())
    data_path, _run = write_draft(found, tmp_path / "init")
    bought = frame[frame["订单状态"].isin(["已签收", "待收货"])]
    health = load_store(str(data_path)).health().set_index("figure")["value"]
    assert int(health["customers"]) == bought["买家ID"].nunique()
    assert int(health["orders"]) == bought["订单号"].nunique()
    assert round(float(health["sales (all lines)"]), 2) == round(float(bought["用户实付金额(元)"].sum()), 2)
