"""``crm-kit init``: draft a data spec and a run file from a sample of each export, every guess with its evidence.

A new user points the kit at their files; this module reads the first (and
last) megabyte of each — never the whole file, so a 50M-line export answers in
seconds — and decides, writing down why:

* how each file is written: encoding (:func:`~crm_kit.store.read.detect_encoding`), delimiter (or runs of
  spaces), title lines above the header, decimal comma and thousands separator, the timestamps' layout
  (a day-first or month-first date is told apart by a day above 12; a sample where neither shows is a
  choice left to the user);
* what each file is — line items, the member form, the catalogue, a contact list, or a ready per-customer
  outcome table — from the canonical columns its headers and contents fit;
* which column is which canonical column: by header, in English and Chinese (:data:`SYNONYMS`), and by
  content (ids, timestamps, money with currency signs and separators, quantities, flags); a header match
  whose content does not fit is refused;
* whether there is an order id (without one a purchase is a customer's day), how returns are written
  (negative lines, a cancellation prefix), and the data's first and last day (from the two samples).

:func:`draft` returns a :class:`Draft`; :func:`write_draft` writes ``data.yaml`` (every guess commented with
its evidence) and ``run.yaml`` (discovery, segmentation and the round-one design on the last complete month).
What cannot be decided is written as a commented choice, and :attr:`Draft.undecided` says so.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import yaml

from .errors import DataError
from .store.read import _sniff, detect_encoding, source_files
from .store.spec import CANONICAL_COLUMNS

__all__ = ["SYNONYMS", "Draft", "TableDraft", "draft", "write_draft", "notebook_needs"]

#: how many bytes of a text file are read from its start and from its end
SAMPLE_BYTES = 1 << 20
#: how many rows of a sample are looked at
SAMPLE_ROWS = 5000

#: header synonyms per canonical column (compared lower-cased, without spaces, ``_``, ``-``, ``.`` or ``/``)
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "transactions": {
        "customer_id": ("customer_id", "customerid", "customer", "customerno", "customernumber", "customercode", "cust",
                        "custid", "custno", "member", "memberid", "memberno", "membernumber", "membercode", "card",
                        "cardno", "cardnumber", "householdid", "household", "client", "clientid", "buyer", "buyerid",
                        "userid", "user", "vip", "vipno", "account", "accountid", "会员号", "会员卡号", "会员编号",
                        "会员id", "会员", "会员卡", "客户号", "客户编号", "客户id", "客户", "顾客", "顾客编号",
                        "顾客id", "卡号", "用户id", "用户", "用户编号", "买家"),
        "order_id": ("order_id", "orderid", "order", "orderno", "ordernumber", "invoice", "invoiceno", "invoicenumber",
                     "invoiceid", "receipt", "receiptno", "receiptnumber", "receiptid", "basketid", "basket",
                     "transactionid", "transaction", "transid", "txnid", "ticket", "ticketno", "bill", "billno",
                     "docno", "订单号", "订单编号", "订单id", "订单", "单号", "小票号", "小票", "流水号", "交易号",
                     "交易编号", "交易流水号", "发票号", "销售单号", "单据号", "单据编号", "收银单号"),
        "ts": ("ts", "timestamp", "date", "datetime", "time", "invoicedate", "orderdate", "ordertime",
               "transactiontimestamp", "transactiondate", "transactiontime", "saledate", "salesdate", "saletime",
               "purchasedate", "purchasetime", "day", "日期", "时间", "交易时间", "交易日期", "销售日期", "销售时间",
               "下单时间", "下单日期", "购买日期", "购买时间", "订单时间", "订单日期", "消费时间", "消费日期", "日期时间",
               "成交时间", "成交日期", "单据日期"),
        "product_id": ("product_id", "productid", "product", "productcode", "productno", "sku", "skuid", "skucode",
                       "item", "itemid", "itemcode", "itemno", "stockcode", "stock", "article", "articleid",
                       "articleno", "barcode", "upc", "ean", "goodsid", "goodscode", "商品编码", "商品编号",
                       "商品代码", "商品id", "商品", "货号", "条码", "条形码", "sku编码", "品号", "产品编码",
                       "产品编号", "产品id", "物料编码", "商品条码"),
        "quantity": ("quantity", "qty", "units", "unit", "count", "pieces", "pcs", "number", "volume", "数量", "销售数量",
                     "件数", "购买数量", "销量", "数目"),
        "amount": ("amount", "sales", "salesvalue", "salevalue", "revenue", "total", "linetotal", "lineamount", "value",
                   "net", "netsales", "netamount", "paid", "spend", "totalprice", "subtotal", "turnover", "金额",
                   "实收金额", "销售金额", "实付金额", "成交金额", "消费金额", "实收", "实付", "应收金额", "销售额",
                   "总价", "小计", "合计金额", "折后金额"),
        "unit_price": ("unit_price", "unitprice", "price", "priceeach", "单价", "售价", "零售价", "价格", "销售单价"),
        "promo": ("promo", "promotion", "onpromo", "ispromo", "onpromotion", "discounted", "促销", "是否促销",
                  "促销标志", "特价"),
        "store": ("store", "storeid", "storeno", "shop", "shopid", "branch", "outlet", "country", "门店", "店铺",
                  "门店编号", "分店", "店号"),
        "channel": ("channel", "saleschannel", "渠道", "销售渠道"),
        "description": ("description", "productname", "itemname", "name", "goodsname", "商品名称", "品名",
                        "商品名", "产品名称", "名称"),
    },
    "customers": {
        "customer_id": (),  # the transactions' synonyms
        "signup_date": ("signup_date", "signupdate", "signup", "joindate", "joined", "registrationdate",
                        "registered", "memberssince", "membersince", "opendate", "入会日期", "注册日期", "开卡日期",
                        "入会时间", "注册时间", "办卡日期"),
        "gender": ("gender", "sex", "性别"),
        "age": ("age", "年龄"),
        "age_band": ("age_band", "ageband", "agegroup", "agerange", "age", "年龄段", "年龄组"),
        "occupation": ("occupation", "job", "profession", "职业"),
        "job_level": ("job_level", "joblevel", "position", "职位", "职级", "职务"),
        "marital_status": ("marital_status", "maritalstatus", "married", "marital", "婚姻状况", "婚姻"),
        "personal_income": ("personal_income", "personalincome", "income", "个人月收入", "个人收入", "月收入", "收入"),
        "household_income": ("household_income", "householdincome", "familyincome", "家庭月收入", "家庭收入"),
        "household_size": ("household_size", "householdsize", "familysize", "家庭人数", "家庭成员数"),
        "hobby": ("hobby", "hobbies", "interests", "爱好", "兴趣爱好"),
        "preferred_channel": ("preferred_channel", "preferredchannel", "contactchannel", "channel",
                              "首选联系方式", "联系方式偏好", "偏好渠道", "联系渠道"),
        "uses_wechat": ("uses_wechat", "useswechat", "wechatuser", "是否使用微信", "使用微信"),
        "housing": ("housing", "homeownership", "住房", "住房情况", "居住情况"),
        "housing_area": ("housing_area", "housingarea", "住房面积", "居住面积"),
        "owns_car": ("owns_car", "ownscar", "car", "hascar", "是否有车", "有车"),
        "region": ("region", "city", "province", "area", "地区", "城市", "省份", "区域"),
        "birthday_type": ("birthday_type", "birthdaytype", "生日类型"),
    },
    "products": {
        "product_id": (),  # the transactions' synonyms
        "name": ("name", "productname", "itemname", "description", "商品名称", "品名", "商品名", "产品名称", "名称"),
        "category": ("category", "department", "class", "productcategory", "categoryname", "dept", "类别", "品类",
                     "商品类别", "大类", "分类", "类目"),
        "brand": ("brand", "brandname", "manufacturer", "品牌"),
        "unit_price": ("unit_price", "unitprice", "price", "listprice", "单价", "售价", "零售价", "价格"),
        "stock": ("stock", "stockonhand", "onhand", "inventory", "库存", "库存数量", "现有库存"),
    },
    "contacts": {
        "customer_id": (),
        "campaign_id": ("campaign_id", "campaignid", "campaign", "campaigncode", "活动编号", "活动id", "活动",
                        "营销活动"),
        "round": ("round", "wave", "轮次", "批次"),
        "arm": ("arm", "group", "treatment", "istreatment", "testcontrol", "variant", "组别", "分组", "实验组别"),
        "channel": ("channel", "contactchannel", "渠道", "触达渠道"),
        "contacted_at": ("contacted_at", "contactedat", "contactdate", "senddate", "sentat", "发送时间", "触达时间",
                         "发送日期"),
        "responded": ("responded", "response", "redeemed", "converted", "是否响应", "响应", "核销"),
    },
}
for _table in ("customers", "contacts"):
    SYNONYMS[_table]["customer_id"] = SYNONYMS["transactions"]["customer_id"]
SYNONYMS["products"]["product_id"] = SYNONYMS["transactions"]["product_id"]

#: personal member-form fields by header: named in a comment, never mapped (the kit does not read them)
PERSONAL_SYNONYMS = ("name", "fullname", "firstname", "lastname", "phone", "mobile", "tel", "telephone", "email",
                     "mail", "wechat", "wechatid", "idnumber", "idno", "idcard", "address", "postcode", "zip",
                     "zipcode", "birthday", "birthdate", "dateofbirth", "photo", "姓名", "名字", "手机", "手机号",
                     "电话", "联系电话", "邮箱", "电子邮件", "微信号", "微信", "身份证号", "身份证", "证件号",
                     "地址", "住址", "邮编", "生日", "出生日期", "照片")

#: the date layouts the kit reads by itself, and those it needs told (``ts_format``)
_SELF_READ = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%Y%m%d", "%Y/%m/%d %H:%M:%S",
              "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")
_DAY_FIRST = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
              "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%d/%m/%y %H:%M", "%d/%m/%y")
_MONTH_FIRST = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m-%d-%Y %H:%M", "%m-%d-%Y", "%m/%d/%y %H:%M",
                "%m/%d/%y")
_MONEY_SIGNS = r"^[¥￥$€£]\s*|\s*(元|RMB|CNY)$"
_FLAGS = {"0", "1", "true", "false", "t", "f", "yes", "no", "y", "n", "是", "否", "1.0", "0.0"}


def _norm(header: Any) -> str:
    return re.sub(r"[\s_\-./()（）:：#]+", "", str(header).strip().lower())


# ---------------------------------------------------------------------------------------------------- reading samples


@dataclass
class Sample:
    """The rows read from one file (text as text), and how the file is written."""

    path: Path
    kind: str
    frame: pd.DataFrame
    tail: pd.DataFrame | None
    options: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    #: per column of a typed source (Parquet): its type
    types: dict[str, str] = field(default_factory=dict)
    #: exact first/last timestamp per column where the file's own statistics give them
    ts_range: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def _decode(raw: bytes, encoding: str) -> str:
    text = raw.decode(encoding, errors="replace")
    return text


def _lines_of(text: str, *, drop_first: bool = False, drop_last: bool = True) -> list[str]:
    lines = text.splitlines()
    if drop_first and lines:
        lines = lines[1:]
    if drop_last and len(lines) > 1:
        lines = lines[:-1]  # likely cut by the sample's end
    return [ln for ln in lines if ln.strip()]


def _split(lines: list[str], delimiter: str) -> list[list[str]]:
    if delimiter == "whitespace":
        return [ln.split() for ln in lines]
    return list(csv.reader(lines, delimiter=delimiter))


def _find_delimiter(lines: list[str]) -> tuple[str, str]:
    """The delimiter that splits the sample's lines into the same number of fields, and why."""
    best, best_score, best_share = None, 0.0, 0.0
    for delim in (",", ";", "\t", "|"):
        counts = [len(r) for r in _split(lines[:200], delim)]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        share = counts.count(mode) / len(counts)
        score = share + 0.01 * mode  # the same share: more fields is the likelier delimiter
        if score > best_score:
            best, best_score, best_share = delim, score, share
    spaces = [len(ln.split()) for ln in lines[:200]]
    mode = max(set(spaces), key=spaces.count) if spaces else 0
    if mode >= 3 and spaces.count(mode) / len(spaces) > max(best_share, 0.9) and not any("\t" in ln for ln in lines[:5]):
        return "whitespace", f"{spaces.count(mode)} of {len(spaces)} sampled lines split into {mode} fields on spaces"
    if best is None:
        return ",", "no delimiter splits the lines evenly: one column, read with commas"
    shown = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}[best]
    return best, f"{shown}: splits {best_share:.0%} of the sampled lines into the same number of fields"


def _header_row(rows: list[list[str]]) -> int:
    """The index of the header among the first rows: the first row as wide as the data whose cells are words."""
    if not rows:
        return 0
    widths = [len(r) for r in rows[:200]]
    mode = max(set(widths), key=widths.count)
    for i, row in enumerate(rows[:30]):
        cells = [c.strip() for c in row]
        if len(cells) != mode or sum(1 for c in cells if c) < max(2, mode // 2):
            continue
        numeric = sum(1 for c in cells if _to_number(pd.Series([c]), {}).notna().iloc[0])
        if numeric <= len(cells) // 3:
            return i
    return 0


def _text_sample(path: Path, kind: str) -> Sample:
    from .store.read import _open_text_sample

    raw = _open_text_sample(path, kind, SAMPLE_BYTES)
    ev, undecided, options = [], [], {}
    encoding = detect_encoding(raw)
    if encoding is None:
        encoding = "latin-1"
        undecided.append(f"encoding of {path.name}: not UTF-8 and not Chinese GBK/GB18030; set encoding (latin-1, "
                         "cp1252, big5...)")
    if encoding not in ("utf-8",):
        options["encoding"] = {"gb18030": "gbk"}.get(encoding, encoding) if encoding != "utf-8-sig" else None
        if options["encoding"] is None:
            options.pop("encoding")
    ev.append(f"encoding {encoding}" + (" (a byte-order mark)" if encoding in ("utf-8-sig", "utf-16") else ""))
    text = _decode(raw, "gb18030" if encoding == "gb18030" else encoding)
    lines = _lines_of(text, drop_last=len(raw) >= SAMPLE_BYTES)
    delimiter, why = _find_delimiter(lines)
    if delimiter != ",":
        options["delimiter"] = delimiter
    ev.append(f"delimiter: {why}")
    rows = _split(lines, delimiter)
    head = _header_row(rows)
    if head:
        options["skip_rows"] = head
        ev.append(f"{head} title line(s) above the header: {lines[0][:60]!r}")
    header = [c.strip() for c in rows[head]]
    body = [r for r in rows[head + 1:head + 1 + SAMPLE_ROWS] if len(r) == len(header)]
    frame = pd.DataFrame(body, columns=_unique(header), dtype=object)
    tail = None
    if kind == "text" and path.stat().st_size > SAMPLE_BYTES:
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - SAMPLE_BYTES))
            end = fh.read()
        tail_rows = [r for r in _split(_lines_of(_decode(end, "gb18030" if encoding == "gb18030" else encoding),
                                                 drop_first=True, drop_last=False), delimiter) if len(r) == len(header)]
        tail = pd.DataFrame(tail_rows[-SAMPLE_ROWS:], columns=_unique(header), dtype=object)
    return Sample(path, kind, frame, tail, options, ev, undecided)


def _unique(header: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in header:
        if h in seen:
            seen[h] += 1
            out.append(f"{h}_{seen[h]}")  # as the engine reads a repeated header
        else:
            seen[h] = 0
            out.append(h)
    return out


def _excel_sample(path: Path) -> Sample:
    sheets = pd.ExcelFile(path)
    raw = sheets.parse(sheets.sheet_names[0], header=None, nrows=SAMPLE_ROWS + 30, dtype=object)
    rows = [[("" if pd.isna(v) else str(v)) for v in r] for r in raw.itertuples(index=False)]
    head = _header_row(rows)
    options, ev = {}, [f"Excel workbook, sheet {sheets.sheet_names[0]!r}"]
    if len(sheets.sheet_names) > 1:
        options["sheet"] = sheets.sheet_names[0]
        ev.append(f"{len(sheets.sheet_names)} sheets: the first is read ({', '.join(map(str, sheets.sheet_names))})")
    if head:
        options["skip_rows"] = head
        ev.append(f"{head} title line(s) above the header")
    header = _unique([str(c).strip() for c in rows[head]])
    frame = raw.iloc[head + 1:].reset_index(drop=True)
    frame.columns = header
    frame = frame.apply(lambda col: col.map(lambda v: None if pd.isna(v) else
                                            (v.isoformat(sep=" ") if hasattr(v, "isoformat") else str(v))))
    return Sample(path, "excel", frame, None, options, ev, [])


def _parquet_sample(path: Path) -> Sample:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    first = next(pf.iter_batches(batch_size=SAMPLE_ROWS)).to_pandas()
    types = {f.name: str(f.type) for f in pf.schema_arrow}
    ts_range: dict[str, tuple[Any, Any]] = {}
    meta = pf.metadata
    for j, f in enumerate(pf.schema_arrow):
        if not str(f.type).startswith(("timestamp", "date")):
            continue
        lows, highs = [], []
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(j).statistics
            if stats is not None and stats.has_min_max:
                lows.append(stats.min)
                highs.append(stats.max)
        if lows:
            ts_range[f.name] = (pd.Timestamp(min(lows)), pd.Timestamp(max(highs)))
    last = pf.read_row_group(meta.num_row_groups - 1).to_pandas().tail(SAMPLE_ROWS) if meta.num_row_groups > 1 else None
    text = first.apply(lambda col: col.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
                                           else (v.isoformat(sep=" ") if hasattr(v, "isoformat") else str(v))))
    tail = None if last is None else last.apply(lambda col: col.map(
        lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
        else (v.isoformat(sep=" ") if hasattr(v, "isoformat") else str(v))))
    return Sample(path, "parquet", text, tail, {}, [f"Parquet, {meta.num_rows:,} rows"], [], types, ts_range)


def read_sample(path: Path) -> Sample:
    """A sample of ``path`` and how it is written (text, Excel or Parquet; gzip-compressed text too)."""
    kind = _sniff(path)
    if kind == "parquet":
        return _parquet_sample(path)
    if kind == "excel":
        return _excel_sample(path)
    if kind in ("text", "gzip"):
        return _text_sample(path, kind)
    if kind == "empty":
        raise DataError(f"{path.name} is empty (0 bytes)")
    raise DataError(f"{path.name}: a {kind} file is not read by init; export it as CSV, Excel (.xlsx) or Parquet")


# ---------------------------------------------------------------------------------------------------- content


def _to_number(values: pd.Series, options: dict[str, Any]) -> pd.Series:
    s = values.astype("string").str.strip().str.replace(_MONEY_SIGNS, "", regex=True)
    if options.get("thousands"):
        s = s.str.replace(str(options["thousands"]), "", regex=False)
    if options.get("decimal") == ",":
        s = s.str.replace(",", ".", regex=False)
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _layout(values: pd.Series) -> tuple[str | None, float, str]:
    """The timestamp layout most values parse with, the share they cover, and a word on the choice."""
    s = values.dropna().astype(str).str.strip()
    s = s[s != ""].head(2000)
    if s.empty:
        return None, 0.0, ""
    epoch = s.str.fullmatch(r"\d{10}|\d{13}")
    if epoch.mean() >= 0.95:
        number = pd.to_numeric(s[epoch], errors="coerce")
        millis = bool(s[epoch].str.len().eq(13).mean() > 0.5)
        seconds = number / 1000 if millis else number
        if seconds.between(946_684_800, 2_208_988_800).mean() >= 0.95:  # 2000-01-01 .. 2040-01-01
            return ("epoch_ms" if millis else "epoch"), float(epoch.mean()), \
                "numbers of " + ("milliseconds" if millis else "seconds") + " since 1970 (UTC)"
    share = max([pd.to_datetime(s, format=fmt, errors="coerce").notna().mean() for fmt in _SELF_READ]
                + [pd.to_datetime(s, format="ISO8601", errors="coerce").notna().mean()])
    if share >= 0.95:
        return None, share, "read as it is"
    day = max(((fmt, pd.to_datetime(s, format=fmt, errors="coerce").notna().mean()) for fmt in _DAY_FIRST),
              key=lambda t: t[1])
    month = max(((fmt, pd.to_datetime(s, format=fmt, errors="coerce").notna().mean()) for fmt in _MONTH_FIRST),
                key=lambda t: t[1])
    if day[1] >= 0.95 and month[1] < 0.95:
        return day[0], day[1], "day first (a day above 12 in the first place)"
    if month[1] >= 0.95 and day[1] < 0.95:
        return month[0], month[1], "month first (a day above 12 in the second place)"
    if day[1] >= 0.95:
        return day[0], day[1], "AMBIGUOUS: no day above 12 in the sample, so day-first and month-first both read it"
    return None, max(share, day[1], month[1]), ""


@dataclass
class Profile:
    """What a column's sampled values look like."""

    values: int
    filled: float
    distinct: float
    number: float
    integer: float
    decimals: float
    negative: float
    zero: float
    flag: float
    timestamp: float
    ts_format: str | None
    ts_note: str
    idlike: float
    money_signs: bool
    mean_length: float


def profile(values: pd.Series, options: dict[str, Any]) -> Profile:
    """The shares of a column's sampled values that read as numbers, integers, flags, timestamps and ids."""
    s = values.astype("string").str.strip()
    filled = s.notna() & (s != "")
    v = s[filled]
    n = max(len(v), 1)
    nums = _to_number(v, options)
    is_num = nums.notna()
    fmt, ts_share, note = _layout(v) if len(v) else (None, 0.0, "")
    numeric_text = v.str.fullmatch(r"[+-]?\d+(\.\d+)?").fillna(False)
    return Profile(
        values=len(v), filled=float(filled.mean()) if len(s) else 0.0,
        distinct=v.nunique() / n, number=float(is_num.mean()) if len(v) else 0.0,
        integer=float((is_num & (nums == nums.round())).mean()) if len(v) else 0.0,
        decimals=float((is_num & v.str.contains(r"[.,]\d{1,2}$").fillna(False).to_numpy()).mean()) if len(v) else 0.0,
        negative=float((nums < 0).mean()) if len(v) else 0.0, zero=float((nums == 0).mean()) if len(v) else 0.0,
        flag=float(v.str.lower().isin(_FLAGS).fillna(False).mean()) if len(v) else 0.0,
        timestamp=ts_share if not bool(numeric_text.mean() > 0.5 and ts_share < 0.95) else
        (ts_share if fmt is None and v.str.fullmatch(r"\d{8}").mean() > 0.95 else 0.0),
        ts_format=fmt, ts_note=note,
        idlike=float(v.str.fullmatch(r"[\w\-]+").fillna(False).mean()) if len(v) else 0.0,
        money_signs=bool(v.str.contains(r"[¥￥$€£]|元$").fillna(False).any()),
        mean_length=float(v.str.len().astype("float64").mean()) if len(v) else 0.0)


def _content_fit(kind: str, canon: str, p: Profile) -> float:
    """How well a column's content fits a canonical column (0: not at all)."""
    if p.values == 0:
        return 0.0
    if kind == "timestamp":
        return p.timestamp if p.timestamp >= 0.9 else 0.0
    if kind == "number":
        if p.number < 0.95:
            return 0.0
        if canon == "quantity":
            return 1.0 if p.integer > 0.95 else 0.4
        if canon in ("amount", "unit_price"):
            return 1.0 if (p.decimals > 0.2 or p.money_signs or p.integer < 0.9) else 0.6
        return 1.0
    if kind == "bool":
        return 1.0 if p.flag > 0.95 else 0.0
    if kind == "id":
        if p.timestamp >= 0.9 and p.idlike < 0.5:
            return 0.0
        return 0.5 + 0.5 * p.idlike
    return 0.7  # text fits anything written


# ---------------------------------------------------------------------------------------------------- one table


@dataclass
class TableDraft:
    """One table's draft: its role, source, read options, column mapping and the evidence of every choice."""

    role: str
    path: str
    samples: list[Sample]
    columns: dict[str, str | None]
    evidence: dict[str, str]
    options: dict[str, Any]
    #: how the file is written, and why each read option was chosen
    reading: list[str] = field(default_factory=list)
    #: the cleaning choices' reasons
    notes: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    cleaning: dict[str, Any] = field(default_factory=dict)
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    personal: list[str] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)


def _header_score(table: str, canon: str, header: str) -> float:
    names = SYNONYMS.get(table, {}).get(canon, ())
    h = _norm(header)
    normed = [_norm(x) for x in names]
    if h in normed:
        return 3.0
    if h and any(len(x) >= 3 and (x in h) for x in normed if not x.isascii() or len(x) >= 4):
        return 1.5
    return 0.0


def _map_table(table: str, frame: pd.DataFrame, options: dict[str, Any]) -> tuple[dict, dict, float]:
    """Each canonical column's source column with its evidence, and how much of the table the mapping explains."""
    canon = CANONICAL_COLUMNS[table]
    profiles = {c: profile(frame[c], options) for c in frame.columns}
    candidates = []
    for col, (required, kind) in canon.items():
        for h, p in profiles.items():
            fit = _content_fit(kind, col, p)
            head = _header_score(table, col, h)
            if fit == 0 or (head == 0 and not required):
                continue
            score = head + fit + (0.2 if required else 0.0)
            if head == 0:
                score = _content_only(table, col, p)
                if score == 0:
                    continue
            candidates.append((score, col, h))
    candidates.sort(key=lambda t: -t[0])
    mapping: dict[str, str] = {}
    evidence: dict[str, str] = {}
    used: set[str] = set()
    for score, col, h in candidates:
        if col in mapping or h in used:
            continue
        mapping[col], used = h, used | {h}
        p = profiles[h]
        how = "by its header" if _header_score(table, col, h) else "by content alone"
        evidence[col] = f"{h} — {how}; {_describe(canon[col][1], p)}"
    explained = len(used) / max(len(frame.columns), 1)
    return mapping, evidence, explained


def _content_only(table: str, col: str, p: Profile) -> float:
    """A score for a required column found by content alone (no header says so)."""
    if table != "transactions":
        return 0.0
    if col == "ts" and p.timestamp >= 0.95:
        return 1.2
    if col == "amount" and p.number > 0.97 and (p.decimals > 0.3 or p.money_signs) and p.distinct > 0.01:
        return 0.9
    if col == "quantity" and p.integer > 0.98 and p.distinct < 0.05:
        return 0.5
    return 0.0


def _describe(kind: str, p: Profile) -> str:
    if kind == "timestamp":
        return f"{p.values:,} values, {p.timestamp:.0%} timestamps" + (f" ({p.ts_note})" if p.ts_note else "")
    if kind == "number":
        extra = []
        if p.money_signs:
            extra.append("currency signs")
        if p.negative:
            extra.append(f"{p.negative:.1%} negative")
        if p.zero:
            extra.append(f"{p.zero:.1%} zero")
        return f"{p.values:,} values, {p.number:.0%} numbers" + (f" ({', '.join(extra)})" if extra else "")
    if kind == "bool":
        return f"{p.values:,} values, all flags"
    return f"{p.values:,} values, {p.distinct:.0%} distinct"


def _read_options(frame: pd.DataFrame, options: dict[str, Any], evidence: list[str]) -> None:
    """Decimal comma and thousands separator, from the number-like text columns."""
    text = frame.astype("string")
    sample = pd.concat([text[c].dropna().head(500) for c in text.columns], ignore_index=True) if len(text.columns) else \
        pd.Series([], dtype="string")
    sample = sample.str.strip().str.replace(_MONEY_SIGNS, "", regex=True)
    comma_decimal = sample.str.fullmatch(r"-?\d{1,3}(\.\d{3})*,\d{1,2}|-?\d+,\d{1,2}").sum()
    dot_thousands = sample.str.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?").sum()
    dot_decimal = sample.str.fullmatch(r"-?\d+\.\d{1,2}").sum()
    spaced = sample.str.fullmatch(r"-?\d{1,3}([ \u00a0']\d{3})+([.,]\d{1,2})?")
    comma_decimal += int((spaced & sample.str.contains(r",\d{1,2}$")).sum())
    if comma_decimal > max(dot_decimal, dot_thousands) and options.get("delimiter") != ",":
        options["decimal"] = ","
        if sample.str.fullmatch(r"-?\d{1,3}(\.\d{3})+,\d{1,2}").any():
            options["thousands"] = "."
        evidence.append(f"decimal comma: {comma_decimal:,} values like 1.234,56 or 12,5")
    if spaced.any():
        mark = sample[spaced].str.extract(r"\d([ \u00a0'])\d{3}")[0].dropna()
        if len(mark):
            options["thousands"] = mark.iloc[0]
            evidence.append(f"thousands separator {mark.iloc[0]!r}: {int(spaced.sum()):,} values like 1 234,56")
    elif dot_thousands:
        options["thousands"] = ","
        evidence.append(f"thousands separator ',': {dot_thousands:,} values like 1,234.56")


def _group_files(files: Sequence[Path]) -> list[tuple[str, list[Path]]]:
    """The inputs as tables: a folder or glob of parts with one header is one table (its path a glob)."""
    tables = []
    for f in files:
        if Path(f).is_dir():
            exts = pd.Series([p.suffix for p in Path(f).iterdir() if p.is_file()]).value_counts()
            if exts.empty:
                raise DataError(f"{f} holds no file to read")
            pattern = str(Path(f) / f"*{exts.index[0]}")
            tables.append((pattern, sorted(Path(f).glob(f"*{exts.index[0]}"))))
        elif any(ch in str(f) for ch in "*?["):
            tables.append((str(f), list(source_files(f))))
        else:
            if not Path(f).exists():
                raise DataError(f"{f}: no such file")
            tables.append((str(f), [Path(f)]))
    return tables


def draft_table(location: str, files: list[Path]) -> TableDraft:
    """The draft of one table: its samples read, its role and columns decided, with evidence."""
    samples = [read_sample(files[0])] + ([read_sample(files[-1])] if len(files) > 1 else [])
    first = samples[0]
    frame = pd.concat([s.frame for s in samples] + [s.tail for s in samples if s.tail is not None], ignore_index=True)
    options = dict(first.options)
    evidence = list(first.evidence)
    if len(files) > 1:
        evidence.append(f"{len(files)} files matched by {location} (read as one table; first and last sampled)")
        if list(samples[0].frame.columns) != list(samples[-1].frame.columns):
            first.undecided.append(f"the parts' headers differ ({files[0].name} and {files[-1].name}): the kit reads "
                                   "parts with the same columns")
    _read_options(frame, options, evidence)
    best = None
    for role in ("transactions", "contacts", "customers", "products"):
        mapping, ev, explained = _map_table(role, frame, options)
        required = [c for c, (req, _k) in CANONICAL_COLUMNS[role].items() if req]
        have = [c for c in required if c in mapping]
        if role == "transactions":
            have += ["order_id"] if "order_id" not in mapping and {"customer_id", "ts"} <= set(mapping) else []
            if "amount" not in mapping and "unit_price" in mapping:
                have.append("amount")
        score = len(have) / len(required) + 0.3 * explained
        if role == "customers" and len(mapping) < 3:
            score -= 0.5
        if role == "products" and "customer_id" in _map_table("transactions", frame, options)[0]:
            score -= 0.5
        if best is None or score > best[0]:
            best = (score, role, mapping, ev)
    outcome = _outcome_table(frame, options)
    _score, role, mapping, ev = best
    if outcome and (role != "transactions" or "ts" not in mapping):
        return TableDraft("outcomes", location, samples, {}, {}, options, reading=evidence,
                          undecided=list(first.undecided), outcome=outcome)
    draft = TableDraft(role, location, samples, dict(mapping), ev, options, reading=evidence,
                       undecided=list(first.undecided))
    draft.personal = [c for c in frame.columns if _norm(c) in {_norm(x) for x in PERSONAL_SYNONYMS}
                      and c not in mapping.values()]
    required = [c for c, (req, _k) in CANONICAL_COLUMNS[role].items() if req]
    if role == "contacts":
        # a list of whom a campaign reached, without arms: every listed customer was treated, in one round
        constants = {}
        if "arm" not in draft.columns:
            constants["arm"] = "treatment"
            draft.notes.append("contacts: no arm column — every listed customer was contacted (treated); with no "
                               "holdout, notebook 04 compares them with the customers no campaign reached "
                               "(control: never_contacted)")
        if "round" not in draft.columns:
            constants["round"] = 1
        if constants:
            draft.options["constants"] = constants
    # the layout first: the window below reads the dates with it
    for col in ("ts", "signup_date", "contacted_at"):
        if col in draft.columns:
            p = profile(frame[draft.columns[col]], options)
            if p.ts_format:
                draft.options["ts_format"] = p.ts_format
                if p.ts_note.startswith("AMBIGUOUS"):
                    draft.undecided.append(f"{role}.{col}: {p.ts_note}; check ts_format ({p.ts_format} assumed)")
    if role == "transactions":
        _transactions_choices(draft, frame, samples)
        required = [c for c in required if c != "order_id"]
        if "amount" not in mapping and "unit_price" in mapping:
            required.remove("amount")
    for col in required:
        if col not in draft.columns and col not in draft.options.get("constants", {}):
            draft.undecided.append(f"{role}.{col}: no column fits (columns: {', '.join(map(str, frame.columns))}); "
                                   f"map it: tables.{role}.columns.{col}: <your column>")
    return draft


def _transactions_choices(draft: TableDraft, frame: pd.DataFrame, samples: list[Sample]) -> None:
    """Order id or a customer's day; how returns are written; zero-value lines; the first and last day."""
    m = draft.columns
    if "order_id" not in m:
        m["order_id"] = None
        draft.evidence["order_id"] = ("none — no column reads as an order or receipt id: a purchase is a customer's day "
                                      "(BG/NBD), identical lines of a day are separate items")
    else:
        orders = frame[m["order_id"]].astype("string").str.strip()
        prefixed = orders.str.match(r"^[A-Za-z]\d+$")
        digits = orders.str.fullmatch(r"\d+")
        if prefixed.any() and digits.mean() > 0.5:
            prefix = orders[prefixed].str[0].value_counts().index[0]
            draft.cleaning["cancellation_prefix"] = prefix
            draft.notes.append(f"cancellation_prefix: {prefix} — {int(prefixed.sum()):,} sampled order ids are '{prefix}' + "
                               "digits among plain numbers: cancelled orders")
    negatives = []
    for col in ("quantity", "amount"):
        if m.get(col):
            n = int((_to_number(frame[m[col]], draft.options) < 0).sum())
            if n:
                negatives.append(f"{n:,} negative {col}")
    if negatives or "cancellation_prefix" in draft.cleaning:
        draft.cleaning["returns"] = "net"
        draft.notes.append("returns: net — " + (", ".join(negatives) or "cancelled orders") +
                           " in the sample: returns subtract from sales (drop leaves them out)")
    if m.get("amount"):
        zero = int((_to_number(frame[m["amount"]], draft.options) == 0).sum())
        if zero:
            draft.notes.append(f"{zero:,} sampled lines have a zero amount: counted as purchases with no revenue "
                               "(cleaning.nonpositive_price: drop leaves them out)")
    column = m.get("ts")
    if column and samples[0].kind == "parquet":
        # a columnar file: the engine reads the one column whole in seconds, so the window is exact
        draft.first, draft.last = _parquet_ts_range(draft.path, column, draft.options.get("ts_format"))
        return
    if column:
        stamps = []
        for s in samples:
            if column in s.ts_range:
                stamps += list(s.ts_range[column])
                continue
            for part in (s.frame, s.tail):
                if part is not None and column in part:
                    fmt = draft.options.get("ts_format")
                    text = part[column].astype("string").str.strip()
                    if fmt in ("epoch", "epoch_ms"):
                        read = pd.to_datetime(pd.to_numeric(text, errors="coerce"), unit="s" if fmt == "epoch" else "ms")
                    else:
                        read = pd.to_datetime(text, format=fmt or "mixed", errors="coerce")
                    stamps += list(read.dropna())
        if stamps:
            draft.first, draft.last = min(stamps), max(stamps)


def _parquet_ts_range(location: str, column: str, fmt: str | None) -> tuple[Any, Any]:
    """The first and last timestamp of a Parquet source's column (every part of a glob), read by DuckDB."""
    import duckdb

    quoted = '"' + column.replace('"', '""') + '"'
    if fmt in ("epoch", "epoch_ms"):
        value = f"make_timestamp(CAST(TRY_CAST({quoted} AS DOUBLE) * {1_000_000 if fmt == 'epoch' else 1000} AS BIGINT))"
    else:
        value = f"try_strptime(CAST({quoted} AS VARCHAR), '{fmt}')" if fmt else f"TRY_CAST({quoted} AS TIMESTAMP)"
    con = duckdb.connect()
    try:
        low, high = con.execute(f"SELECT min({value}), max({value}) FROM read_parquet(?)", [location]).fetchone()
    finally:
        con.close()
    return (pd.Timestamp(low) if low is not None else None), (pd.Timestamp(high) if high is not None else None)


def _outcome_table(frame: pd.DataFrame, options: dict[str, Any]) -> dict[str, Any]:
    """A ready per-customer outcome table: one arm column with two values and outcome columns, or ``{}``."""
    names = {_norm(c): c for c in frame.columns}
    arm = next((names[n] for n in ("istreatment", "treatment", "treated", "arm", "group", "variant", "组别", "分组")
                if n in names), None)
    if arm is None:
        return {}
    levels = frame[arm].astype("string").str.strip().dropna().unique()
    if len(levels) != 2:
        return {}
    control = next((lv for lv in levels if str(lv).lower() in ("0", "control", "holdout", "false", "对照组", "no")), None)
    if control is None:
        return {}
    binary, continuous, pre, attributes = [], [], [], []
    for c in frame.columns:
        if c == arm:
            continue
        p = profile(frame[c], options)
        words = set(re.split(r"[\s_\-]+", str(c).lower()))
        if words & _ATTRIBUTE_WORDS or _norm(c) in _ATTRIBUTE_WORDS:
            attributes.append(c)  # who the customer is, not what the campaign did
        elif (words & _PRE_WORDS) and p.number > 0.99 and p.filled == 1.0:
            pre.append(c)
        elif p.flag > 0.98 and p.filled == 1.0:
            binary.append(c)
        elif p.number > 0.99 and p.filled == 1.0:
            continuous.append(c)
        else:
            attributes.append(c)  # missing values or text: no outcome
    if not binary and not continuous:
        return {}
    return {"arm_col": arm, "control": int(control) if str(control).isdigit() else str(control),
            "binary": binary, "continuous": continuous, "pre_period": pre, "attributes": attributes}


#: words of an outcome table's headers that name who a customer is (not an outcome of the campaign)
_ATTRIBUTE_WORDS = {"age", "gender", "sex", "women", "woman", "female", "male", "iswomen", "region", "city", "country",
                    "income", "zip", "zipcode", "segment", "channel", "newbie", "mens", "womens", "性别", "年龄", "地区"}
#: ... and that name behaviour before the campaign (the adjusted lift's covariates)
_PRE_WORDS = {"history", "recency", "pre", "before", "past", "previous", "prior", "tenure", "baseline"}


# ---------------------------------------------------------------------------------------------------- the whole draft


@dataclass
class Draft:
    """Every table found, the month to analyse, and what could not be decided."""

    tables: list[TableDraft]
    month: str | None
    undecided: list[str]

    def table(self, role: str) -> TableDraft | None:
        """The first table of ``role`` (transactions, customers, products, contacts, outcomes), or None."""
        return next((t for t in self.tables if t.role == role), None)


def draft(files: Sequence[str | Path], *, month: str | None = None) -> Draft:
    """Read a sample of each file and draft the data spec (see the module docstring)."""
    from .periods import check_month, last_complete_month

    tables = [draft_table(location, found) for location, found in _group_files([Path(f) for f in files])]
    undecided = [u for t in tables for u in t.undecided]
    roles = [t.role for t in tables]
    for role in set(roles):
        if roles.count(role) > 1 and role != "outcomes":
            undecided.append(f"{roles.count(role)} files look like {role}: the first is used; put the others in one "
                             "folder (monthly parts) or choose")
    lines = next((t for t in tables if t.role == "transactions"), None)
    if month is not None:
        month = check_month(month)
    elif lines is not None and lines.last is not None:
        month = last_complete_month(last=lines.last)
    if lines is None and not any(t.role == "outcomes" for t in tables):
        undecided.append("no file looks like line items (a customer id, a timestamp and an amount per line)")
    return Draft(tables, month, undecided)


class _QuotedDumper(yaml.SafeDumper):
    """A YAML emitter writing every string double-quoted: escapes for line breaks and control characters."""


_QuotedDumper.add_representer(
    str, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"'))

#: characters a comment shows escaped: line breaks (which would end the comment), control and other characters
#: YAML refuses in a stream, and byte-order marks
_COMMENT_UNSAFE = re.compile("[^\x20-\x7E\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]|[\u2028\u2029\uFEFF]")


def _yaml_value(value: Any) -> str:
    """``value`` as one line of YAML flow text; strings double-quoted, so no file text can end the line."""
    text = yaml.dump(value, Dumper=_QuotedDumper, default_flow_style=True, allow_unicode=True, width=float("inf"))
    text = text.strip().removesuffix("...").strip()
    if "\n" in text or "\r" in text:  # a line break survives only in a bug of the emitter: refuse it
        raise DataError(f"init cannot write {value!r} on one line of YAML; please report it with the file's header")
    return text


def _yaml_key(key: Any) -> str:
    """A mapping key: a plain identifier as it is (``customer_id``), anything else as :func:`_yaml_value` writes it."""
    plain = isinstance(key, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key) is not None
    if plain and key.lower() not in ("y", "n", "yes", "no", "on", "off", "true", "false", "null"):
        return key
    return _yaml_value(key)


def _comment(text: Any) -> str:
    """``text`` safe inside a YAML comment: line breaks and control characters shown as escapes (``\\n``)."""
    return _COMMENT_UNSAFE.sub(lambda m: ascii(m.group())[1:-1], str(text))


def _spec_of(d: Draft) -> dict[str, Any]:
    """The data spec ``data_yaml`` writes, as data: what its text must read back as, and nothing more."""
    spec: dict[str, Any] = {"tables": {}}
    for t in d.tables:
        if t.role == "outcomes":
            continue
        path = str(Path(t.path).resolve()) if not any(c in t.path for c in "*?[") else t.path
        spec["tables"][t.role] = {"path": path, **t.options, "columns": dict(t.columns)}
    cleaning = {k: v for t in d.tables for k, v in t.cleaning.items()}
    if cleaning:
        spec["cleaning"] = cleaning
    return spec


def data_yaml(d: Draft) -> str:
    """The data spec as YAML text, every choice commented with its evidence.

    Every value is written by a YAML emitter (strings double-quoted) and every comment has its line breaks and
    control characters escaped, so a header or file name cannot end its line and add a key; the text is read
    back and must give exactly the spec drafted, else nothing is written.
    """
    out = ["# Data spec drafted by crm-kit init from a sample of each file. Every guess says why; check them, then",
           "# `crm-kit check` reads the whole data with it.", "tables:"]
    spec = _spec_of(d)
    for t in d.tables:
        if t.role == "outcomes":
            continue
        out.append(f"  {t.role}:")
        out.append(f"    path: {_yaml_value(spec['tables'][t.role]['path'])}")
        for ev in t.reading:
            out.append(f"    # {_comment(ev)}")
        for key, value in t.options.items():
            out.append(f"    {_yaml_key(key)}: {_yaml_value(value)}")
        out.append("    columns:" + (" {}" if not t.columns else ""))
        for col, source in t.columns.items():
            why = t.evidence.get(col, "")
            out.append(f"      {_yaml_key(col)}: {_yaml_value(source)}" + (f"   # {_comment(why)}" if why else ""))
        for name in t.personal:
            out.append(f"      # {_comment(name)}: personal data — not read by the kit")
        if t.role == "contacts":
            out += [f"    # {_comment(n)}" for n in t.notes]
    cleaning = spec.get("cleaning", {})
    notes = [n for t in d.tables if t.role != "contacts" for n in t.notes]
    if cleaning or notes:
        out.append("cleaning:" + ("" if cleaning else " {}"))
        for n in notes:
            out.append(f"  # {_comment(n)}")
        for key, value in cleaning.items():
            out.append(f"  {_yaml_key(key)}: {_yaml_value(value)}")
    lines = d.table("transactions")
    if lines is not None and lines.first is not None:
        how = "the whole file" if lines.samples[0].kind == "parquet" else "its first and last megabyte"
        out.append(f"# window: the lines run from {lines.first.date()} to {lines.last.date()} (read from {how}); "
                   "set window: {start: ..., end: ...} to analyse part of it")
    for u in d.undecided:
        out.append(f"# UNDECIDED: {_comment(u)}")
    if not spec["tables"]:
        out[2] = "tables: {}"
    text = "\n".join(out) + "\n"
    _reads_back(text, {**spec, **({} if cleaning or not notes else {"cleaning": {}})}, "data.yaml")
    return text


def _reads_back(text: str, expected: dict[str, Any], name: str) -> None:
    """Refuse a draft whose text does not read back as exactly ``expected`` (a bug, never the user's file)."""
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        parsed = exc
    if parsed != expected:
        raise DataError(f"init drafted a {name} that does not read back as drafted (a bug of the kit, not of your "
                        "file); nothing was written — please report it with the files' headers")


def run_yaml(d: Draft, data_path: Path, run_name: str) -> str:
    """The run file: discovery, segmentation and the round-one design on the draft's month.

    Written as :func:`data_yaml` is: values by a YAML emitter, comments escaped, the text read back.
    """
    out = [f"# Run file drafted by crm-kit init: the steps the data supports, on the month {d.month or '(none found)'}.",
           "# `crm-kit run run.yaml --month last` moves every step to the data's last complete month.",
           f"run_name: {_yaml_value(run_name)}", "common:"]
    common: dict[str, Any] = {}
    if d.table("transactions") is not None:
        out.append(f"  data: {_yaml_value(str(data_path))}")
        common["data"] = str(data_path)
    if d.month:
        out.append(f"  month: {_yaml_value(str(d.month))}   # the last month the sampled data covers to its last day")
        common["month"] = str(d.month)
    if not common:
        out[-1] = "common: {}"
    out.append("steps:")
    steps: list[dict[str, Any]] = []
    if d.table("transactions") is not None:
        out += ["  - name: discovery", "    notebook: 01_knowledge_discovery",
                "  - name: segmentation", "    notebook: 02_segmentation", "    after: []",
                "  - name: design_round1", "    notebook: 03_campaign_design", "    after: [discovery]",
                "    params:", "      round_no: 1", "      target_kind: decile",
                "      preset: none      # nothing taken from the worked case; the 4P plan below is yours to write",
                "      # plan: {channels: [SMS], default_channel: SMS, product: ..., price: ..., place: ..., promotion: ...}"]
        steps += [{"name": "discovery", "notebook": "01_knowledge_discovery"},
                  {"name": "segmentation", "notebook": "02_segmentation", "after": []},
                  {"name": "design_round1", "notebook": "03_campaign_design", "after": ["discovery"],
                   "params": {"round_no": 1, "target_kind": "decile", "preset": "none"}}]
    outcomes = d.table("outcomes")
    if outcomes is not None:
        o = outcomes.outcome
        params = {"outcome_table": str(Path(outcomes.path).resolve()), "outcome_arm_col": o["arm_col"],
                  "outcome_control": o["control"], "outcome_binary": list(o["binary"]),
                  "outcome_continuous": list(o["continuous"]), "outcome_pre_period": list(o["pre_period"])}
        out += ["  - name: outcomes", "    notebook: 06_outcome_table", "    after: []", "    params:"]
        out += [f"      {key}: {_yaml_value(value)}" for key, value in params.items()]
        if o["attributes"]:
            out.append("      # not outcomes (who the customer is, or incomplete): "
                       + _comment(", ".join(map(str, o["attributes"]))))
        steps.append({"name": "outcomes", "notebook": "06_outcome_table", "after": [], "params": params})
    if not steps:
        out[-1] = "steps: []"
    text = "\n".join(out) + "\n"
    _reads_back(text, {"run_name": run_name, "common": common, "steps": steps}, "run.yaml")
    return text


def notebook_needs(roles: Sequence[str]) -> list[tuple[str, str]]:
    """Which notebook (and section) will run on tables of these roles, and which need a table that is not there."""
    have = set(roles)
    rows = []
    lines = "transactions" in have
    rows.append(("01 knowledge discovery", "runs" if lines else "needs line items"))
    rows.append(("   member profiles (01, 02, 04)", "runs" if "customers" in have else "skipped: no member form"))
    rows.append(("   categories, brand loyalty (01, 02)", "runs" if "products" in have else
                 "from the line items' own columns, else skipped: no catalogue"))
    rows.append(("02 segmentation (RFM, clusters, tiers, CLV)", "runs" if lines else "needs line items"))
    rows.append(("03 campaign design", "runs" if lines else "needs line items"))
    rows.append(("04 campaign results", "runs" if "contacts" in have else
                 "after a campaign: the design's contact list, or a contacts table"))
    rows.append(("05 cycle summary", "after 04"))
    rows.append(("06 outcome table", "runs" if "outcomes" in have else "needs a per-customer outcome table"))
    return rows


def write_draft(d: Draft, output: str | Path) -> tuple[Path, Path]:
    """Write ``data.yaml`` and ``run.yaml`` into the folder ``output`` (made if missing).

    Both files are written whole or not at all (:func:`crm_kit.files.write_new`): never over a file that is
    there, never both by two inits into one folder at once, never half on a full disk — the error names the
    file, and the next run starts clean. A relative ``output`` is taken from the current folder.
    """
    from .config import check_run_name
    from .files import write_error, write_new

    folder = Path(output).expanduser()
    if folder.exists() and not folder.is_dir():
        raise DataError(f"--output {output} is a file, not a folder: init writes data.yaml and run.yaml into a "
                        "folder; name a new or existing folder (e.g. --output my-shop)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise DataError(f"--output {output}: a part of that path is a file, not a folder; name a folder") from None
    except OSError as exc:
        raise write_error(folder, exc, fix="choose another --output") from None
    data_path, run_path = folder / "data.yaml", folder / "run.yaml"
    for path in (data_path, run_path):
        if path.exists() or path.is_symlink():
            raise DataError(f"{path} exists: init never overwrites a file; choose another --output or move it")
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", folder.resolve().name).strip("_") or "mine"
    texts = {data_path: data_yaml(d), run_path: run_yaml(d, data_path.resolve(), check_run_name(name))}
    write_new(texts)
    return data_path, run_path


def summary_text(d: Draft, data_path: Path | None = None, run_path: Path | None = None) -> str:
    """What init found, for the terminal."""
    out = []
    for t in d.tables:
        what = {"transactions": "line items", "customers": "the member form", "products": "the catalogue",
                "contacts": "a contact list", "outcomes": "a per-customer outcome table"}[t.role]
        rows = sum(len(s.frame) for s in t.samples)
        out.append(f"{t.path}: {what} ({rows:,} rows sampled)")
        if t.role == "transactions":
            frame = pd.concat([s.frame for s in t.samples], ignore_index=True)
            cust = t.columns.get("customer_id")
            if cust:
                ids = frame[cust].astype("string").str.strip(" \t\u00a0\u3000")
                out.append(f"  {ids.nunique():,} customers in the sample"
                           + (f"; lines from {t.first.date()} to {t.last.date()}" if t.first is not None else ""))
        for col, src in t.columns.items():
            out.append(f"  {col:<12} <- {src if src is not None else '(none)'}")
    if d.month:
        out.append(f"month: {d.month} (the last complete month)")
    out.append("notebooks:")
    out += [f"  {name:<46} {state}" for name, state in notebook_needs([t.role for t in d.tables])]
    if data_path is not None:
        out.append(f"wrote {data_path} and {run_path}")
        out.append(f"next: crm-kit check {data_path}   then   crm-kit run {run_path}")
    for u in d.undecided:
        out.append(f"UNDECIDED: {u}")
    return "\n".join(out)
