"""``crm-kit init``: draft a data spec and a run file from the whole of each export, every guess with its evidence.

A new user points the kit at their files; init takes the reading path the run
takes (sniff → profile → decide → read → cast) and then loads its own draft:

* **sniff** (:mod:`crm_kit.store.sniff`): the file's type from its bytes (a PDF, JSON lines or random bytes
  are refused in one line), its encoding (charset-normalizer among the encodings exports come in), delimiter
  (or runs of spaces), line endings, the title and blank lines above the header, a workbook's table sheet;
* **profile** (:mod:`crm_kit.store.profile`): every column over **all rows**, read by the run's reader and
  counted per candidate layout in one engine query — money with any currency sign or code, any locale's
  thousands and decimal separators, day-first or month-first dates, offsets and zones, epochs, ids, flags;
* **decide** (here): what each file is — line items, the member form, the catalogue, a contact list, or a
  ready per-customer outcome table — and which column is which canonical column, by header in English and
  Chinese (:data:`SYNONYMS`) and by content; a header match whose content does not fit is refused; whether
  there is an order id, how returns are written;
* **check** (:func:`close_loop`): the draft is loaded by the run's loader; every mapped value must parse, the
  window and the last complete month come from the loaded data, keys must vary and month totals be plausible;
  what fails is corrected and loaded again, or written as a choice left to the user.

:func:`draft` returns a :class:`Draft`; :func:`write_draft` writes ``data.yaml`` (every guess commented with
its evidence over all rows) and ``run.yaml`` (discovery, segmentation and the round-one design on the last
complete month). What cannot be decided is written as a commented choice, and :attr:`Draft.undecided` says so.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import yaml

from .errors import DataError, ParameterError
from .store.layouts import ZONE_ABBREVIATIONS, zone_of_names, zone_offset_text
from .store.load import load_store
from .store.profile import ColumnProfile, TableProfile, order_blanks, profile_relation
from .store.read import source_files
from .store.sniff import Sniffed, sniff
from .store.spec import CANONICAL_COLUMNS

__all__ = ["SYNONYMS", "Draft", "TableDraft", "draft", "write_draft", "notebook_needs"]

#: header synonyms per canonical column (compared lower-cased, without spaces, ``_``, ``-``, ``.`` or ``/``)
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "transactions": {
        "customer_id": ("customer_id", "customerid", "customer", "customerno", "customernumber", "customercode", "cust",
                        "custid", "custno", "member", "memberid", "memberno", "membernumber", "membercode", "card",
                        "cardno", "cardnumber", "householdid", "household", "client", "clientid", "buyer", "buyerid",
                        "userid", "user", "username", "buyerusername", "comprador", "loginkupującego", "loginkupujacego", "buyeruserid", "memberusername", "vip", "vipno", "account", "accountid", "会员号", "会员卡号", "会员编号",
                        "会员id", "会员", "会员卡", "客户号", "客户编号", "客户id", "客户", "顾客", "顾客编号",
                        "顾客id", "卡号", "用户id", "用户", "用户编号", "买家", "买家会员名", "会员名", "买家账号", "买家id",
                        "买家编号", "下单帐号", "下单账号", "买家帐号", "用户帐号", "用户账号", "会员帐号", "会员账号",
                        "kundennr", "kundennummer", "debitor",
                        "debitornr", "debitorennr", "debnr", "verkandebnr", "会員番号", "会員id", "会員コード", "顧客番号",
                        "顧客id", "顧客コード"),
        "order_id": ("order_id", "orderid", "order", "orderno", "ordernumber", "invoice", "invoiceno", "invoicenumber",
                     "invoiceid", "receipt", "receiptno", "receiptnumber", "receiptid", "basketid", "basket",
                     "transactionid", "transaction", "transid", "txnid", "ticket", "ticketno", "bill", "billno", "checkid",
                     "checknumber", "id",
                     "docno", "documentno", "documentnumber", "docnumber", "belegnr", "belegnummer", "rechnungsnr",
                     "rechnungsnummer", "bestellnr", "bestellnummer", "伝票番号", "レシート番号", "取引番号", "注文番号",
                     "订单号", "订单编号", "订单id", "订单", "单号", "小票号", "小票", "流水号", "交易号",
                     "交易编号", "交易流水号", "发票号", "销售单号", "单据号", "单据编号", "收银单号",
                     # Spanish, Portuguese, French, Italian: 'Pedido #', 'N.º de pedido', 'Nº pedido', 'Commande'...
                     "pedido", "npedido", "nºpedido", "n°pedido", "nºdepedido", "n°depedido", "numpedido",
                     "numerodepedido", "númerodepedido", "numerodopedido", "númerodopedido", "iddelpedido",
                     "idpedido", "encomenda", "nºencomenda", "númerodaencomenda", "numerodaencomenda", "commande",
                     "ncommande", "n°commande", "nºcommande", "numérodecommande", "numerodecommande", "n°decommande", "nºdecommande",
                     "iddecommande", "ordine", "nordine", "numeroordine", "factura", "nºfactura", "facture",
                     "nfacture", "n°facture", "fattura", "ticketnr", "bonnr", "quittung",
                     # Spanish 'N.º de venta' / '# de venta', Polish 'Numer zamówienia', Japanese 受注番号
                     "deventa", "ndeventa", "nºdeventa", "númerodeventa", "numerodeventa", "iddeventa",
                     "numerzamówienia", "numerzamowienia", "idzamówienia", "idzamowienia", "zamówienie", "受注番号"),
        "ts": ("ts", "timestamp", "date", "datetime", "time", "invoicedate", "orderdate", "ordertime",
               "transactiontimestamp", "transactiondate", "transactiontime", "saledate", "salesdate", "saletime",
               "purchasedate", "purchasetime", "day", "日期", "时间", "交易时间", "交易日期", "销售日期", "销售时间",
               "下单时间", "下单日期", "购买日期", "购买时间", "订单时间", "订单日期", "消费时间", "消费日期", "日期时间",
               "成交时间", "成交日期", "单据日期", "buchungsdatum", "belegdatum", "datum", "取引日", "売上日",
               "fecha", "fechadeventa", "fechadecompra", "datazakupu", "datazamówienia", "datazamowienia",
               "注文日時", "受注日時", "注文日"),
        "product_id": ("product_id", "productid", "product", "productcode", "productno", "sku", "skuid", "skucode",
                       "item", "itemid", "itemcode", "itemno", "stockcode", "stock", "article", "articleid",
                       "articleno", "barcode", "upc", "ean", "goodsid", "goodscode", "商品编码", "商品编号",
                       "商品代码", "商品id", "商品", "货号", "条码", "条形码", "sku编码", "品号", "产品编码",
                       "产品编号", "产品id", "物料编码", "商品条码", "规格编码", "商家编码", "sku编号"),
        "quantity": ("quantity", "qty", "units", "unit", "count", "pieces", "pcs", "number", "volume", "menge", "anzahl",
                     "quantite", "cantidad", "unidades", "ilość", "ilosc", "個数", "数量", "销售数量",
                     "件数", "购买数量", "销量", "数目", "商品数量", "宝贝数量", "购买件数", "订购数量", "订购数", "商品订购数量"),
        "amount": ("amount", "sales", "salesvalue", "salevalue", "revenue", "total", "linetotal", "lineamount", "value",
                   "net", "netsales", "netamount", "paid", "spend", "totalprice", "subtotal", "turnover", "ordertotal",
                   "grandtotal", "金额",
                   "实收金额", "销售金额", "实付金额", "成交金额", "消费金额", "实收", "实付", "应收金额", "销售额",
                   "总价", "小计", "合计金额", "折后金额", "zeilenbetrag", "betrag", "umsatz", "nettobetrag", "montant",
                   "importe", "金額", "売上", "売上金額", "税込金額", "ingresosporproductos", "wartość", "wartosc"),
        "unit_price": ("unit_price", "unitprice", "price", "priceeach", "soldfor", "单价", "售价", "零售价", "价格", "销售单价",
                       "商品单价", "商品价格", "京东价", "成交单价", "vkpreis", "verkaufspreis", "einzelpreis", "preis", "prixunitaire",
                       "preciounitario", "cenajednostkowa", "単価"),
        # units of the line refunded or returned (Shopee, WooCommerce, Magento's order items): a refund of its share
        "returned_quantity": ("returned_quantity", "returnedquantity", "returnedqty", "returnquantity", "returnqty",
                              "quantityreturned", "qtyreturned", "qtyrefunded", "quantityrefunded", "refundedqty",
                              "refundedquantity", "退货数量", "退款数量", "已退货数量", "退货件数", "退回数量", "返品数量",
                              "retourmenge", "zurückgegebenemenge", "rücksendemenge", "quantitéretournée",
                              "quantiteretournee", "quantitéremboursée", "cantidaddevuelta", "cantidadreembolsada"),
        "promo": ("promo", "promotion", "onpromo", "ispromo", "onpromotion", "discounted", "促销", "是否促销",
                  "促销标志", "特价"),
        "store": ("store", "storeid", "storeno", "shop", "shopid", "branch", "outlet", "country", "门店", "店铺",
                  "门店编号", "分店", "店号"),
        "channel": ("channel", "saleschannel", "渠道", "销售渠道"),
        "description": ("description", "productname", "itemname", "name", "goodsname", "beschreibung", "bezeichnung",
                        "artikelname", "商品名称", "品名",
                        "商品名", "产品名称", "名称"),
        # shop platforms' order fields (issue 37): the status decides purchases, the line type marks returns
        "status": ("status", "orderstatus", "financialstatus", "paymentstatus", "orderstate", "paymentstate",
                   "orderpaymentstate",
                   "transactionstatus", "fulfillmentstatus", "订单状态", "交易状态", "状态", "支付状态", "付款状态",
                   "bestellstatus", "zahlungsstatus", "statut", "statutdelacommande", "état", "etat", "étatdelacommande",
                   "estado", "estadodelpedido",
                   "ステータス", "注文ステータス", "注文状況", "paymentstate", "transactionstatemachinestate",
                   "transactionsstatemachinestatetechnicalname"),
        "line_type": ("line_type", "linetype", "type", "transactiontype", "txntype", "eventtype", "event", "kind",
                      "movementtype", "doctype", "documenttype", "交易类型", "类型", "单据类型", "业务类型",
                      "buchungsart", "belegart", "typedetransaction", "tipo", "tipodetransaccion", "取引種別", "種別",
                      "取引区分", "区分"),
    },
    "orders": {
        "order_id": (),  # the transactions' synonyms
        "customer_id": (),
        "ts": (),
        "status": (),
        "amount": ("amount", "total", "ordertotal", "totalprice", "grandtotal", "totalamount", "ordervalue",
                   "ordertotalamount", "paid", "amountpaid", "totalpaid", "订单金额", "订单总额", "实付金额", "实付款",
                   "支付金额", "应付金额", "总金额", "合计", "gesamtbetrag", "gesamtsumme", "montanttotal", "total ttc",
                   "importetotal", "合計金額", "注文金額", "支払金額"),
        "refunded": ("refunded", "refund", "refundamount", "refundedamount", "totalrefunded", "amountrefunded",
                     "refunds", "退款金额", "退款", "已退款金额", "退款额", "erstattet", "erstattungsbetrag",
                     "rembourse", "remboursé", "montantrembourse", "reembolsado", "importereembolsado", "anulacionesyreembolsos",
                     "kwotazwrotu", "返金額",
                     "返金"),
        "store": (),
        "channel": (),
        "line_type": (),
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
for _col in ("order_id", "customer_id", "ts", "status", "store", "channel", "line_type"):
    SYNONYMS["orders"][_col] = SYNONYMS["transactions"][_col]
SYNONYMS["orders"]["ts"] = SYNONYMS["transactions"]["ts"] + (
    "createdat", "created", "creationdate", "orderedat", "placedat", "paidat", "processedat", "purchasedat",
    "创建时间", "付款时间", "支付时间", "bestelldatum", "datedecommande", "fechadepedido", "注文日", "注文日時")

#: personal member-form fields by header: named in a comment, never mapped (the kit does not read them)
PERSONAL_SYNONYMS = ("name", "fullname", "firstname", "lastname", "phone", "mobile", "tel", "telephone", "email",
                     "mail", "wechat", "wechatid", "idnumber", "idno", "idcard", "address", "postcode", "zip",
                     "zipcode", "birthday", "birthdate", "dateofbirth", "photo", "姓名", "名字", "手机", "手机号",
                     "电话", "联系电话", "邮箱", "电子邮件", "微信号", "微信", "身份证号", "身份证", "证件号",
                     "地址", "住址", "邮编", "生日", "出生日期", "照片", "收货人", "收件人", "联系人", "收货地址", "详细地址",
                     "收件地址", "收货人姓名", "收货人手机", "收货人电话", "联系手机", "买家姓名")

_FLAGS = {"0", "1", "true", "false", "t", "f", "yes", "no", "y", "n", "是", "否", "1.0", "0.0"}


#: a unit or currency in brackets closing a header: 商品总价(元), Qty (pcs), Betrag [EUR], 金额（¥）
_UNIT_SUFFIX = re.compile(r"\s*[(（\[【][^()（）\[\]【】]{1,8}[)）\]】]\s*$")


def _norm(header: Any) -> str:
    """A header as the synonyms are compared: lower-cased, a bracketed unit at its end and separators left out."""
    text = str(header).strip().lower()
    bare = _UNIT_SUFFIX.sub("", text)
    return re.sub(r"[\s_\-./()（）:：#]+", "", bare or text)


# ---------------------------------------------------------------------------------------------------- reading


@dataclass
class Sample:
    """One file as the reading path saw it: how it is written (sniffed) and its first rows, every cell as text.

    Decisions are taken from the table's :class:`~crm_kit.store.profile.TableProfile` (all rows), never from
    ``frame``, which is kept for display.
    """

    path: Path
    kind: str
    frame: pd.DataFrame
    tail: pd.DataFrame | None = None
    options: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)


#: rows of each table kept for display (decisions use every row)
HEAD_ROWS = 200


def _profile_source(location: str, sniffed: Sniffed, con) -> tuple[dict[str, Any], TableProfile, pd.DataFrame,
                                                                      list[str], Any]:
    """The table's read options, its profile over all rows, its first rows and the relation, read by the run's reader.

    A line longer than the reader's limit is retried once with the limit the
    reader's message names (a 12 MB text cell is read, not a traceback).
    """
    from .store.read import _read_table

    options = sniffed.options()
    extra: dict[str, Any] = {}
    if sniffed.kind in ("text", "gzip", "zstd"):
        extra = {"format": "csv", "delimiter": sniffed.delimiter or ","}
        if sniffed.kind == "zstd":
            extra["encoding"] = "utf-8"
    elif sniffed.kind == "excel":
        extra = {"format": "excel"}
    elif sniffed.kind == "parquet":
        extra = {"format": "parquet"}
    evidence = []
    for _attempt in range(2):
        tspec = {"path": location, **options, **extra}
        try:
            raw = _read_table(con, "init", tspec)
            import ibis

            head = con.con.execute(f"SELECT COLUMNS(*)::VARCHAR FROM ({ibis.to_sql(raw, dialect='duckdb')}) AS t "
                                   f"LIMIT {HEAD_ROWS}").df()
            return options, profile_relation(con, raw), head, evidence, raw
        except DataError as exc:
            size = re.search(r"max_line_size: (\d+)", str(exc))
            if not size or "max_line_size" in options:
                raise DataError(str(exc).replace("init: ", f"{Path(location).name}: ", 1)) from None
            options["max_line_size"] = int(size.group(1))
            evidence.append(f"max_line_size: {int(size.group(1)):,} — a line longer than the reader's 2,000,000 bytes")
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------------- content


@dataclass
class Profile:
    """What a column's values look like, over all rows (shares of its filled values)."""

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
    #: distinct values, and the most frequent value's share of the filled ones
    distinct_count: int = 0
    top_share: float = 0.0
    #: every figure behind the column's reading, in words ("12,034 of 12,034 values parse as %d.%m.%Y")
    evidence: str = ""
    column: ColumnProfile | None = None


def _as_profile(c: ColumnProfile, locale: tuple[str, str] | None = None) -> Profile:
    """A column's profile as the role decisions read it: shares over all its filled values."""
    n = c.values
    share = c.share
    fmt, ts_count, note = c.ts_layout()
    numbers = c.numbers(*locale) if locale else c.numbers()
    numeric_text = c.numbers("", ".")
    timestamp = share(ts_count)
    if share(numeric_text) > 0.5 and timestamp < 0.95 and fmt not in ("epoch", "epoch_ms"):
        timestamp = 0.0  # a column of numbers is not made a date by a few that read as one
    if c.times and c.times >= ts_count:
        note = "times of day alone"
    top_share = c.top[0][1] / n if c.top and n else 0.0
    return Profile(values=n, filled=c.values / c.rows if c.rows else 0.0, distinct=c.distinct / max(n, 1),
                   number=share(numbers), integer=share(c.integer), decimals=share(c.decimals),
                   negative=share(c.negative), zero=share(c.zero), flag=share(c.flags), timestamp=timestamp,
                   ts_format=fmt, ts_note=note, idlike=share(c.idlike), money_signs=bool(c.currencies),
                   mean_length=c.mean_length, distinct_count=c.distinct, top_share=top_share, column=c)


def profile(values: pd.Series, options: dict[str, Any] | None = None) -> Profile:
    """The profile of one column of values (every value, counted in the engine), as the role decisions read it.

    A convenience for a column in hand; the draft profiles whole files with
    :func:`crm_kit.store.profile.profile_table`.
    """
    import ibis

    from .store.read import _connect

    options = options or {}
    con = _connect({})
    frame = pd.DataFrame({"v": values.astype("string")})
    table = con.create_table("_profile_column", ibis.memtable(frame), temp=True, overwrite=True)
    column = profile_relation(con, table)["v"]
    locale = (options.get("thousands") or "", options.get("decimal") or ".")
    return _as_profile(column, locale if options.get("thousands") or options.get("decimal") else None)


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
            if p.zero >= 1.0:
                return 0.0  # zero on every row counts nothing (a discount column, a tip never given)
            return 1.0 if p.integer > 0.95 else 0.4
        if canon in ("amount", "unit_price"):
            if p.zero >= 1.0:
                return 0.0  # zero on every row is no sales (a tax or a tip never charged)
            return 1.0 if (p.decimals > 0.2 or p.money_signs or p.integer < 0.9) else 0.6
        return 1.0
    if kind == "bool":
        return 1.0 if p.flag > 0.95 else 0.0
    if kind == "id":
        if p.timestamp >= 0.9 and p.idlike < 0.5:
            return 0.0
        if p.values > 1 and p.distinct_count <= 1:
            return 0.0  # one value on every row is no key
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
    #: the table over all rows (every column profiled in the engine)
    profile: TableProfile | None = None
    #: rows of the table (all files)
    rows: int = 0
    #: whether the draft was loaded by the run's loader and every mapped value parsed
    loaded: bool = False
    #: the table as the run's reader reads it (every column as text), for decisions over all rows
    relation: Any = None
    #: columns a header took for the customer but whose values cannot be one (a category), with the reason
    rejected_keys: list[str] = field(default_factory=list)
    #: those columns' names
    rejected_key_columns: list[str] = field(default_factory=list)

    def spec(self) -> dict[str, Any]:
        """The table's part of the data spec, as ``data.yaml`` writes it."""
        path = _absolute(self.path)
        return {"path": path, **self.options, "columns": dict(self.columns)}


def _absolute(path: str) -> str:
    """A table's path as data.yaml writes it: absolute, so the spec reads the same files from any folder (a glob's
    folder made absolute, its pattern kept)."""
    if not any(c in path for c in "*?["):
        return str(Path(path).resolve())
    parts = Path(path).parts
    fixed = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[")), len(parts))
    return str(Path(*parts[:fixed]).resolve().joinpath(*parts[fixed:])) if fixed else path


#: a header naming a person: a person's word followed by "name" (Customer Name, Bill-to Name, Kundenname)
_PERSON_WORDS = ("customer", "buyer", "client", "member", "billto", "shipto", "recipient", "contact", "employee",
                 "cashier", "server", "staff", "seller", "kunde", "kunden", "debitor", "客户", "顾客", "会员", "买家",
                 "收货人", "顧客", "会員")


def _personal_header(header: Any) -> bool:
    """Whether a header names personal data (a person's name, phone, email...): never mapped to a kit column."""
    h = _norm(header)
    if h in {_norm(x) for x in PERSONAL_SYNONYMS}:
        return True
    if h in {_norm(x) for x in SYNONYMS["transactions"]["customer_id"]}:
        return False  # a platform's member name that is its customer key (买家会员名), not a person's name
    return h.endswith(("name", "名")) and h.startswith(_PERSON_WORDS)


def _header_score(table: str, canon: str, header: str) -> float:
    names = SYNONYMS.get(table, {}).get(canon, ())
    h = _norm(header)
    normed = [_norm(x) for x in names]
    if h in normed:
        return 3.0
    inside = [x for x in normed if len(x) >= 3 and (x in h) and (not x.isascii() or len(x) >= 4)] if h else []
    if inside:
        # a header holding synonyms; the more of it they cover, the likelier (a near tie only: 'Lineitem quantity'
        # holds 'item' and 'quantity', and is the quantity; 'amountTotal' is all synonyms, 'amountNet' (net of tax)
        # only in part, and the total is the amount)
        covered = set()
        for x in inside:
            start = h.find(x)
            while start >= 0:
                covered.update(range(start, start + len(x)))
                start = h.find(x, start + 1)
        return 1.5 + 0.05 * len(covered) / len(h)
    return 0.0


#: a header ending in one of these is a person's contact (a customer key at most, never anything else)
_CONTACT_TAILS = ("email", "emailaddress", "mail", "phone", "phonenumber", "mobile", "telephone", "tel", "手机号",
                  "手机", "电话", "联系电话", "邮箱", "correo", "correoelectrónico", "correoelectronico", "courriel",
                  "emailadresse", "mailadresse", "teléfono", "telefono", "téléphone", "telefon", "邮箱地址",
                  "メールアドレス", "電話番号")
#: a header ending in one of these is a person's name or address: never mapped to any column of the kit
_PERSON_TAILS = ("firstname", "lastname", "fullname", "givenname", "surname", "familyname", "address", "address1",
                 "address2", "street", "postcode", "zipcode", "postalcode", "birthday", "birthdate", "姓名", "地址",
                 "收货人", "提货人", "昵称", "名字")
#: '<role> name' is a person's name (Bill-to Name, Buyer Name, Customer Name, Recipient Name...)
_PERSON_NAME = re.compile(r"(customer|buyer|billto|billing|shipto|shipping|recipient|receiver|client|contact|member"
                          r"|kunde|käufer|empfänger|cliente|destinataire|destinatario|acheteur|comprador)name$")


def _personal_kind(header: Any) -> str | None:
    """'contact' (an email or phone: a customer key at most), 'person' (a name, an address: never mapped) or None."""
    h = _norm(header)
    if h in {_norm(x) for x in PERSONAL_SYNONYMS if x not in ("name", "email", "mail", "phone", "mobile", "tel",
                                                             "telephone", "手机", "手机号", "电话", "联系电话", "邮箱")}:
        return "person"
    if h.endswith(_PERSON_TAILS) or _PERSON_NAME.search(h):
        return "person"
    if h.endswith(_CONTACT_TAILS):
        return "contact"
    return None


def _person_names(header: Any, p: Profile) -> bool:
    """Whether a column a header names as the customer holds people's names, over all rows (personal: never a key).

    'Cliente' or 'Client' filled with 'David Wilson', 'J. SMITH': at least 90 % of the values are two to four
    words, each starting with a capital letter, with no digit (:data:`crm_kit.store.profile.ColumnProfile.namelike`).
    A name is no key: two customers share one, one customer writes it two ways, and it is personal data.
    """
    c = p.column
    if c is None or not c.values or c.distinct <= 1 or _header_score("transactions", "customer_id", header) == 0:
        return False
    return c.namelike >= 0.9 * c.values


#: a customer key names who bought, so it has many values: a column with at most this many distinct values, each
#: on :data:`KEY_ORDERS_PER_VALUE` orders or more on average, is a category (new / returning, a tier, a till) ...
KEY_HANDFUL = 12
KEY_ORDERS_PER_VALUE = 25
#: ... and so is one with fewer distinct values than this share of the orders (40 values over 100,000 orders: a
#: store or a region), however many values it has
KEY_MIN_SHARE = 0.001


def few_keys(distinct: int, orders: int) -> bool:
    """Whether a column of ``distinct`` values over ``orders`` orders (lines when there is no order id) is a category,
    not a customer key: init never drafts it as ``customer_id`` (a user who knows better maps it by hand).

    A handful of values (at most :data:`KEY_HANDFUL`) each on :data:`KEY_ORDERS_PER_VALUE` orders or more on
    average, or fewer distinct values than :data:`KEY_MIN_SHARE` of the orders. A shop's customers are many: the
    UCI Online Retail II data has 5,942 customers over 53,628 invoices (0.11), the Complete Journey 2,500
    households over 276,484 baskets (0.009); 'Nuevo' / 'Recurrente' over 749 orders is who is new, not who bought.

    >>> few_keys(2, 749)       # Nuevo / Recurrente
    True
    >>> few_keys(60, 749)
    False
    >>> few_keys(3, 12)        # a tiny file: three customers are not yet a category
    False
    >>> few_keys(40, 100_000)  # a store or a region
    True
    """
    if distinct <= 1:
        return orders > 1
    return (distinct <= KEY_HANDFUL and orders >= KEY_ORDERS_PER_VALUE * distinct) or distinct < KEY_MIN_SHARE * orders


def _category_keys(draft: TableDraft, profiles: dict[str, Profile]) -> None:
    """A customer_id whose column has too few values for its orders (:func:`few_keys`) is unmapped, with the reason
    kept for init's message; the next column a header names as the customer is tried the same way."""
    m = draft.columns
    refused: set[str] = set()
    while m.get("customer_id"):
        column = m["customer_id"]
        p = profiles[column]
        oid = m.get("order_id")
        orders = profiles[oid].distinct_count if oid and oid in profiles else p.values
        if not few_keys(p.distinct_count, orders):
            return
        shown = [v for v, _k in (p.column.top if p.column is not None else [])][:4]
        what = "orders" if oid and oid in profiles else "lines"
        draft.rejected_keys.append(f"{column!r} has {p.distinct_count:,} value(s) ({', '.join(shown)}) over "
                                   f"{orders:,} {what}: a category, not who bought")
        draft.rejected_key_columns.append(column)
        refused.add(column)
        m.pop("customer_id"), draft.evidence.pop("customer_id", None)
        rest = {h: q for h, q in profiles.items() if h not in refused and h not in m.values()}
        found, ev, _ = _map_table(draft.role, rest)
        if found.get("customer_id") and _header_score(draft.role, "customer_id", found["customer_id"]):
            m["customer_id"], draft.evidence["customer_id"] = found["customer_id"], ev["customer_id"]


def _customer_columns(t: TableDraft) -> list[str]:
    """The columns of a table that name the customer but are personal (a name), for init's message."""
    if t.profile is None:
        return []
    out = []
    for c in t.profile.columns:
        h = _norm(c)
        if c in (t.columns or {}).values():
            continue
        named = _header_score("transactions", "customer_id", c) > 0 or _PERSON_NAME.search(h) is not None
        if named and (_personal_header(c) or _personal_kind(c) == "person" or _person_names(c, _as_profile(t.profile[c]))):
            out.append(str(c))
    return out


def _no_customer_key(tables: list[TableDraft]) -> None:
    """Stop init in one line when line items have no usable customer key: naming what was found and the fix."""
    lines = next((t for t in tables if t.role == "transactions"), None)
    if lines is None or not lines.rows:
        return  # a header-only file: what is missing is left as a choice
    orders = next((t for t in tables if t.role == "orders"), None)
    if lines.columns.get("customer_id") or (orders is not None and orders.columns.get("customer_id")):
        return
    mine = [t for t in (orders, lines) if t is not None]
    names = [c for t in mine for c in _customer_columns(t)]
    refused = [r for t in mine for r in t.rejected_keys]
    found = []
    if names:
        quoted = ", ".join(repr(n) for n in names)
        found.append(f"the only customer column{'s are' if len(names) > 1 else ' is'} a name ({quoted}: personal "
                     "data, never used as a key)" if not refused else
                     f"the customer is named only by a name ({quoted}: personal data, never used as a key)")
    found += refused
    for t in mine:
        for c, q in (t.profile.columns.items() if t.profile is not None else ()):
            if not found and _header_score("transactions", "customer_id", c) >= 3.0 and q.distinct <= 1:
                found.append(f"{c!r} is " + (f"{q.top[0][0]!r} on every row" if q.values else "blank on every row")
                             + ": it identifies nobody")
    if not found:
        shown = ", ".join(map(str, list(lines.profile.columns)[:12])) if lines.profile is not None else ""
        found.append(f"no column names the customer (columns: {shown})")
    where = ", ".join(Path(t.path).name for t in mine)
    # a wholesaler's few accounts with many orders each look like a category: the way to say they are customers
    # (not offered when a name column shows who bought: then the refused column is surely not the customer)
    refused_columns = [c for t in mine for c in t.rejected_key_columns]
    by_hand = (f"; if {refused_columns[0]!r} does name each customer (a few accounts with many orders each), map it "
               "as customer_id in a data spec written by hand and read it with crm-kit check"
               if refused_columns and not names else "")
    raise DataError(f"{where}: no customer key — {'; '.join(found)}. The kit counts buyers and visits by a "
                    "customer's id: re-export with the customer id or the customer's email (an email is read "
                    f"hashed, never kept), then run crm-kit init again{by_hand}")


def _map_table(table: str, profiles: dict[str, Profile]) -> tuple[dict, dict, float]:
    """Each canonical column's source column with its evidence, and how much of the table the mapping explains."""
    canon = CANONICAL_COLUMNS[table]
    candidates = []
    for col, (required, kind) in canon.items():
        for h, p in profiles.items():
            personal = _personal_kind(h)
            if personal == "person" or (personal == "contact" and col != "customer_id"):
                continue  # a person's name, address, email or phone is never an order, a product, a label...
            if table in ("transactions", "orders") and _personal_header(h):
                continue  # a person's name is no description, order or customer id
            if _person_names(h, p):
                continue  # a customer column written as people's names ('David Wilson'): personal, never a key
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
    explained = len(used) / max(len(profiles), 1)
    return mapping, evidence, explained


def _content_only(table: str, col: str, p: Profile) -> float:
    """A score for a required column found by content alone (no header says so)."""
    if table != "transactions":
        return 0.0
    if col == "ts" and p.timestamp >= 0.95:
        return 1.1 + 0.1 * p.filled  # a time on every row before one on some (Created at before Paid at)
    if col == "amount" and p.number > 0.97 and (p.decimals > 0.3 or p.money_signs) and p.distinct > 0.01:
        return 0.9
    if col == "quantity" and p.integer > 0.98 and p.distinct < 0.05:
        return 0.5
    return 0.0


def _count(n: float, total: int) -> str:
    return f"{int(round(n)):,} of {total:,}"


def _describe(kind: str, p: Profile) -> str:
    """A column's evidence over all its values, in words."""
    n = p.values
    if kind == "timestamp":
        layout = p.ts_format or "the reader's own layouts (ISO, year first)"
        return f"{_count(p.timestamp * n, n)} values parse as {layout}" + (f" ({p.ts_note})" if p.ts_note else "")
    if kind == "number":
        extra = []
        if p.column is not None and p.column.currencies:
            extra.append("currency " + ", ".join(sorted(p.column.currencies)))
        if p.negative:
            extra.append(f"{_count(p.negative * n, n)} negative")
        if p.zero:
            extra.append(f"{_count(p.zero * n, n)} zero")
        return f"{_count(p.number * n, n)} values parse as numbers" + (f" ({', '.join(extra)})" if extra else "")
    if kind == "bool":
        return f"{_count(p.flag * n, n)} values are flags"
    blank = ""
    if p.column is not None and p.column.rows > n:
        blank = f", {p.column.rows - n:,} blank"
    return f"{n:,} values, {p.distinct_count:,} distinct{blank}"


def _number_options(tprof: TableProfile, mapped: list[str], options: dict[str, Any], evidence: list[str]) -> None:
    """The one thousands separator and decimal mark that read every number of the mapped number columns."""
    (thousands, decimal), read, best = tprof.locale(mapped or None)
    if not best:
        return
    if decimal == ",":
        options["decimal"] = ","
    if thousands:
        options["thousands"] = thousands
    shown = {"": "none", " ": "a space", "\u00a0": "a no-break space", "\u202f": "a narrow space"}.get(thousands,
                                                                                                     repr(thousands))
    evidence.append(f"numbers: {_count(read, best)} number values read with thousands separator {shown} and decimal "
                    f"mark {decimal!r}")
    signs = {}
    for c in mapped or tprof.columns:
        for sign, k in tprof[c].currencies.items():
            signs[sign] = signs.get(sign, 0) + k
    if signs:
        evidence.append("currency: " + ", ".join(f"{s} on {k:,} values" for s, k in sorted(signs.items(),
                                                                                           key=lambda t: -t[1])))


def _group_files(files: Sequence[Path]) -> list[tuple[str, list[Path]]]:
    """The inputs as tables: a folder or glob of parts with one header is one table (its path a glob)."""
    tables = []
    for f in files:
        if Path(f).is_dir():
            # the whole ending of a compressed part (.csv.gz), so the glob names its format
            exts = pd.Series(["".join(p.suffixes[-2:]) if p.suffix.lower() in (".gz", ".zst") else p.suffix
                              for p in Path(f).iterdir() if p.is_file()]).value_counts()
            deep = ""
            if exts.empty:
                # a Hive-partitioned folder (year=2024/month=1/part-0.parquet): the parts are in its subfolders
                exts = pd.Series([p.suffix for p in Path(f).rglob("*")
                                  if p.is_file() and not p.name.startswith(".")]).value_counts()
                deep = "**"
            if exts.empty:
                raise DataError(f"{f} holds no file to read")
            pattern = str(Path(f) / deep / f"*{exts.index[0]}")
            tables.append((pattern, list(source_files(pattern))))
        elif any(ch in str(f) for ch in "*?["):
            tables.append((str(f), list(source_files(f))))
        else:
            if Path(f).is_symlink() and not Path(f).exists():
                raise DataError(f"{f} is a link to {os.readlink(f)}, which does not exist; restore the file it points "
                                "to or remove the link")
            if not Path(f).exists():
                raise DataError(f"{f}: no such file")
            tables.append((str(f), [Path(f)]))
    return tables


def draft_table(location: str, files: list[Path], *, con=None) -> TableDraft:
    """The draft of one table: sniffed, profiled over all rows, its role and columns decided, with evidence."""
    from .store.read import _connect, _header_key

    con = con or _connect({})
    # every part's header is compared (a few dozen monthly files); of many parts, the first and the last
    sniffs = [sniff(f) for f in (files if len(files) <= 60 else [files[0], files[-1]])]
    first = sniffs[0]
    evidence = list(first.evidence)
    undecided = list(first.undecided)
    if len(files) > 1:
        evidence.append(f"{len(files)} files matched by {location} (read as one table, every row profiled)")
        heads = [[_header_key(h) for h in s.header] for s in sniffs]
        other = next((i for i, h in enumerate(heads) if sorted(h) != sorted(heads[0])), None)
        moved = next((i for i, h in enumerate(heads) if h != heads[0]), None)
        if other is not None:
            undecided.append(f"the parts' headers differ ({sniffs[0].path.name} and {sniffs[other].path.name}): the "
                             "kit reads parts with the same columns; read them as separate tables")
        elif moved is not None:
            evidence.append(f"the parts' columns come in another order ({sniffs[0].path.name}, "
                            f"{sniffs[moved].path.name}): matched by name, one table")
    options, tprof, head, more, relation = _profile_source(location, first, con)
    evidence += more
    samples = [Sample(files[0], first.kind, head, None, dict(options), list(first.evidence), [])]
    profiles = {c: _as_profile(p) for c, p in tprof.columns.items()}
    repeats = tprof.header_repeats()
    if repeats:
        undecided.append(f"{Path(location).name}: the header row appears {repeats:,} more time(s) inside the file "
                         "(an export concatenated twice, or a second header row): remove the repeated header lines "
                         "(and any repeated rows), then run init again")
    best = None
    lines_mapping = _map_table("transactions", profiles)[0]
    for role in ("transactions", "contacts", "customers", "products"):
        mapping, ev, explained = _map_table(role, profiles) if role != "transactions" else \
            (lines_mapping, *_map_table(role, profiles)[1:])
        required = [c for c, (req, _k) in CANONICAL_COLUMNS[role].items() if req]
        have = [c for c in required if c in mapping]
        if role == "transactions":
            have += ["order_id"] if "order_id" not in mapping and {"customer_id", "ts"} <= set(mapping) else []
            if "amount" not in mapping and "unit_price" in mapping:
                have.append("amount")
            if "amount" not in have:  # no money on a line: a contact list or a member file, not line items
                have = [c for c in have if c != "order_id"]
        score = len(have) / len(required) + 0.3 * explained
        if role == "customers" and len(mapping) < 3:
            score -= 0.5
        if role == "products" and ("customer_id" in lines_mapping or
                                   ("ts" in lines_mapping and {"amount", "unit_price"} & set(lines_mapping))):
            score -= 0.5  # a catalogue has no buyer and no time of sale on its rows
        if best is None or score > best[0]:
            best = (score, role, mapping, ev)
    _score, role, mapping, ev = best
    outcome = _outcome_table(profiles)
    contact_list = role == "contacts" and ({"campaign_id", "contacted_at"} & set(mapping))
    if outcome and not contact_list and (role != "transactions" or "ts" not in mapping):
        d = TableDraft("outcomes", location, samples, {}, {}, options, reading=evidence, undecided=undecided,
                       outcome=outcome, profile=tprof, rows=tprof.rows, relation=relation)
        return d
    draft = TableDraft(role, location, samples, dict(mapping), ev, options, reading=evidence, undecided=undecided,
                       profile=tprof, rows=tprof.rows, relation=relation)
    number_cols = [mapping[c] for c, (_r, kind) in CANONICAL_COLUMNS[role].items() if kind == "number" and c in mapping]
    _number_options(tprof, number_cols, draft.options, draft.reading)
    for c in number_cols:  # the evidence of number columns under the one layout chosen for the table
        locale = (draft.options.get("thousands", ""), draft.options.get("decimal", "."))
        col = next(k for k, v in mapping.items() if v == c)
        profiles[c] = _as_profile(tprof[c], locale)
        draft.evidence[col] = f"{c} — {draft.evidence[col].split(' — ', 1)[1].split(';')[0]}; " \
                              f"{_describe('number', profiles[c])}"
    if role == "transactions":
        _category_keys(draft, profiles)
    if role == "transactions" and "customer_id" not in draft.columns:
        _contact_as_key(draft, profiles)
    elif role == "transactions":
        _guest_ids(draft, profiles)
    draft.personal = [c for c in tprof.columns if (_personal_header(c) or _person_names(c, profiles[c]))
                      and c not in draft.columns.values()]
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
    for col in ("ts", "signup_date", "contacted_at"):
        if col in draft.columns:
            _time_choices(draft, col, profiles[draft.columns[col]], profiles)
    if role == "transactions":
        _fill_down_choice(draft, con)
        _transactions_choices(draft, profiles)
        required = [c for c in required if c != "order_id"]
        if "amount" not in draft.columns and "unit_price" in draft.columns:
            required.remove("amount")
    for col in ("ts", "signup_date", "contacted_at"):
        c = profiles[draft.columns[col]].column if isinstance(draft.columns.get(col), str) else None
        if c is not None and c.ts_counts and not any("%H" in f or "%I" in f for f in c.ts_counts):
            _join_time(draft, col, profiles[draft.columns[col]], profiles)  # last: the mapping then holds a list
    for col in required:
        if col not in draft.columns and col not in draft.options.get("constants", {}):
            names = list(map(str, tprof.columns))
            shown = ", ".join(names[:12]) + (f", … ({len(names):,} columns)" if len(names) > 12 else "")
            draft.undecided.append(f"{role}.{col}: no column fits (columns: {shown}); "
                                   f"map it: tables.{role}.columns.{col}: <your column>")
    return draft


#: customer ids a shop writes for a guest checkout (no account): a guest when its rows carry no contact
_GUEST_IDS = ("0", "-1", "guest", "gast", "invité", "invitado", "visitante", "walk-in", "walkin", "散客", "匿名", "ゲスト")


def _guest_ids(draft: TableDraft, profiles: dict[str, Profile]) -> None:
    """A placeholder customer id for guests (BigCommerce's customer 0): its rows have no contact, the others do.

    Counted over all rows: the most frequent customer id is a guest word or ``0``/``-1``, no row with it carries an
    email or phone, and at least 90 % of the other rows do. It is written as ``guest_ids`` (read as no customer).
    """
    col = draft.columns["customer_id"]
    p = profiles.get(col)
    top = p.column.top if p is not None and p.column is not None else []
    if not top or str(top[0][0]).strip().lower() not in _GUEST_IDS or "customer_id" in draft.options.get("hashed", []):
        return
    contacts = [h for h in profiles if h != col and _personal_kind(h) == "contact"]
    if not contacts:
        return
    rel, guest = draft.relation, str(top[0][0]).strip()
    filled = None
    for h in contacts:
        v = rel[h].cast("string").strip()
        has = v.notnull() & (v != "")
        filled = has if filled is None else (filled | has)
    is_guest = rel[col].cast("string").strip() == guest
    counts = rel.aggregate(g=is_guest.sum(), gc=(is_guest & filled).sum(), o=(~is_guest).sum(),
                           oc=((~is_guest) & filled).sum()).execute().iloc[0]
    g, gc, o, oc = (int(counts[k] or 0) for k in ("g", "gc", "o", "oc"))
    if g and gc == 0 and o and oc >= 0.9 * o:
        draft.options["guest_ids"] = [guest]
        draft.reading.append(f"guest_ids: {col} {guest!r} on {g:,} row(s) that carry no contact ({', '.join(contacts)}), "
                             f"while {oc:,} of the {o:,} other rows do: a guest checkout, read as no customer")


#: a contact hidden by the platform: asterisks in place of digits or letters, or an encryption mark
_MASKED = re.compile(r"\*{3,}|加密|encrypted|verschlüsselt|chiffré|暗号化", re.IGNORECASE)


def _contact_as_key(draft: TableDraft, profiles: dict[str, Profile]) -> None:
    """Line items with no customer column but an email (or phone) on the rows: that contact is the customer's key,
    read hashed (``hashed: [customer_id]``: the reader keeps a digest, never the address)."""
    found = []
    for h, p in profiles.items():
        if _personal_kind(h) != "contact" or p.values == 0 or p.distinct_count <= 1:
            continue
        masked = [v for v, _k in (p.column.top if p.column is not None else ()) if _MASKED.search(str(v))]
        if masked:  # '138****5678', '[加密]9f2c…': a platform's mask, many buyers to one value or one to many
            draft.rejected_keys.append(f"{h!r} is masked by the platform (e.g. {masked[0]!r}): it identifies nobody")
            continue
        email = p.column is not None and any("@" in v for v, _k in p.column.top)
        found.append((email, p.filled, -len(str(h)), h))
    if not found:
        return
    _e, _f, _l, column = max(found)
    p = profiles[column]
    draft.columns["customer_id"] = column
    draft.options["hashed"] = [*draft.options.get("hashed", []), "customer_id"]
    draft.evidence["customer_id"] = (f"{column} — a contact (personal data) and the only customer key on the rows: read "
                                     f"hashed, never the value; {_describe('id', p)}")


def _time_choices(draft: TableDraft, col: str, p: Profile, profiles: dict[str, Profile]) -> None:
    """The layout of a time column, its zones, and a time of day kept in a column of its own."""
    c = p.column
    if p.ts_format:
        draft.options["ts_format"] = p.ts_format
        if p.ts_note.startswith("AMBIGUOUS"):
            draft.undecided.append(f"{draft.role}.{col}: {p.ts_note}; check ts_format ({p.ts_format} assumed)")
    named = zone_of_names(c.zone_names) if c is not None else None
    if named and not draft.options.get("timezone"):
        draft.options["timezone"] = named
        draft.reading.append(f"timezone: {named} — the times end in "
                             + " and ".join(f"{z} ({k:,})" for z, k in sorted(c.zone_names.items()))
                             + ": one clock's winter and summer names; every time is read on it")
    if c is not None and c.offsets > 1 and not draft.options.get("timezone"):
        zone = _common_offset_zone(c)
        draft.options["timezone"] = zone
        draft.undecided.append(f"{draft.role}.{col}: the timestamps carry {c.offsets} different UTC offsets; they are "
                               f"converted to one clock, {zone} (the most frequent offset) — set timezone to the "
                               "shop's zone (Europe/Berlin, America/New_York...) if it keeps summer time")
    if c is not None and c.zones:
        draft.notes.append(f"{draft.role}.{col}: {c.zones:,} value(s) end in a named time zone")


#: a time of day's shape (digits as 9, letters as a) and its strptime layout
_CLOCKS = {r"9{1,2}:99": "%H:%M", r"9{1,2}:99:99": "%H:%M:%S", r"9{1,2}:99 a": "%I:%M %p",
           r"9{1,2}:99:99 a": "%I:%M:%S %p", r"9{1,2}:99a": "%I:%M%p", r"9{1,2}:99:99a": "%I:%M:%S%p"}


def _clock_layout(c: ColumnProfile) -> tuple[str | None, int]:
    """The one layout every time of day of a column is written in ('%I:%M %p'), with how many values; None if mixed."""
    layouts: dict[str, int] = {}
    for shape, (n, _d, _lo, _hi) in c.shapes.items():
        layout = next((f for pattern, f in _CLOCKS.items() if re.fullmatch(pattern, shape.strip())), None)
        if layout is None:
            return None, 0
        layouts[layout] = layouts.get(layout, 0) + n
    if len(layouts) != 1:
        return None, 0
    return next(iter(layouts.items()))


def _join_time(draft: TableDraft, col: str, p: Profile, profiles: dict[str, Profile]) -> None:
    """A date column with the time of day in a column of its own (Date + Time, Fecha + Hora, 取引日 + 取引時刻): mapped
    as both, ``ts: [date, time]``, with the layout of the two together (every value counted)."""
    c = p.column
    date_col = draft.columns[col]
    times = [h for h, q in profiles.items() if q.column is not None and q.column.times
             and q.column.times >= 0.95 * max(q.values, 1) and h not in draft.columns.values()]
    if not times:
        return
    stem = _norm(date_col).replace("date", "").replace("datum", "").replace("fecha", "").replace("日", "")
    partner = [h for h in times if _norm(h).replace("time", "").replace("zeit", "").replace("hora", "")
               .replace("時刻", "").replace("时间", "") == stem]
    time_col = partner[0] if partner else (times[0] if len(times) == 1 else None)
    if time_col is None:
        draft.notes.append(f"{draft.role}.{col}: dates only; times of day in {', '.join(map(repr, times))}: which "
                           "belongs to the date is not clear, so the kit reads the date (map ts: [date, time] to "
                           "join them)")
        return
    t = profiles[time_col].column
    clock, counted = _clock_layout(t)
    if clock is None or t.values < c.values:
        draft.notes.append(f"{draft.role}.{col}: dates only, with the time of day in {time_col!r}, which is blank on "
                           "some rows or written in several layouts: the kit reads the date (months and days need no "
                           "time)")
        return
    day = p.ts_format or max((f for f in c.ts_counts if f in c.ts_self), key=c.ts_counts.get, default="%Y-%m-%d")
    draft.columns[col] = [date_col, time_col]
    if day == "%Y-%m-%d" and clock.startswith("%H"):
        draft.options.pop("ts_format", None)  # 2024-03-15 10:22:11: ISO, read as it is
        layout = "ISO"
    else:
        draft.options["ts_format"] = layout = f"{day} {clock}"
    draft.evidence[col] = (f"{date_col} + {time_col} — the date, and the time of day in a column of its own "
                           f"({counted:,} of {t.values:,} values written {clock}); read together as {layout}")


def _common_offset_zone(c: ColumnProfile) -> str:
    """A fixed-offset zone (Etc/GMT-8 is UTC+8) for the most frequent UTC offset among a column's values."""
    found: dict[str, int] = {}
    for name, k in c.zone_names.items():  # '07:53 PM EST': the abbreviation's offset
        if name in ZONE_ABBREVIATIONS:
            text = zone_offset_text(ZONE_ABBREVIATIONS[name])
            found[text] = found.get(text, 0) + k
    for value, k in c.top:
        m = re.search(r"([+-])(\d{2}):?(\d{2})$", value.strip())
        if m:
            found[m.group(0)] = found.get(m.group(0), 0) + k
    if not found:
        return "UTC"
    sign, hours, minutes = re.match(r"([+-])(\d{2}):?(\d{2})", max(found, key=found.get)).groups()
    if int(minutes) or not int(hours):
        return "UTC"
    return f"Etc/GMT{'-' if sign == '+' else '+'}{int(hours)}"


#: canonical columns an export may write once per order (on its first row); never money or quantities, which
#: belong to the line (an order total carried down would count once per line)
ORDER_FIELDS = ("customer_id", "ts", "status", "store", "channel")
#: canonical columns of the line itself: filled on every row of an order
LINE_FIELDS = ("product_id", "quantity", "amount", "unit_price", "description")


def _fill_down_choice(draft: TableDraft, con) -> None:
    """``fill_down``: the order's fields an export writes only on the order's first row, found over all rows.

    Two shapes, told apart by the order key, in file order (:func:`crm_kit.store.profile.order_blanks`):

    * the key is blank on the order's other rows (Odoo's sale-order lines): the rows whose key is blank must
      have the order's fields blank *together* with it (each such field blank on every key-blank row and filled
      on every leading row) while the line's own columns are filled; the key is then carried down too;
    * the key repeats on the order's other rows (Shopify): a field is carried down when it is blank on (nearly)
      every row repeating the key above and filled on every row that leads an order.

    A column blank at random (a customer missing on 2 % of rows) is blank on leading rows too, so it is never
    carried down: its blanks stay blanks.
    """
    m = draft.columns
    key = m.get("order_id")
    prof = draft.profile
    if not key or prof is None or draft.relation is None:
        return
    order = [c for c in ORDER_FIELDS if m.get(c) and m[c] != key]
    line = [c for c in LINE_FIELDS if m.get(c)]
    partly = [c for c in [key, *(m[o] for o in order), m.get("amount")]
              if c and c in prof.columns and 0 < prof[c].values < prof.rows]
    if not partly or not line or not order:
        return
    ob = order_blanks(con, draft.relation, key, [m[c] for c in order + line])
    if ob.first_blank:
        return
    filled: list[str] = []
    why: list[str] = []
    if ob.key_blank:
        together = [c for c in order if ob.blanks[m[c]][1] == ob.key_blank and ob.blanks[m[c]][0] == 0]
        own = [c for c in line if c != "amount"] or line  # the amount may be the order's total, written once
        lines_kept = all(ob.blanks[m[c]][1] <= 0.01 * ob.key_blank for c in own)
        if together and lines_kept:
            filled = ["order_id", *together]
            why.append(f"{key} and {', '.join(m[c] for c in together)} are blank together on {ob.key_blank:,} of "
                       f"{ob.rows:,} rows (the line's {', '.join(m[c] for c in own)} filled there) and filled on all "
                       f"{ob.leads:,} rows that start an order: each blank row is a line of the order above")
    if ob.repeats:
        carried = [c for c in order if c not in filled and ob.blanks[m[c]][0] == 0
                   and ob.blanks[m[c]][2] >= max(1, 0.9 * ob.repeats)]
        if carried:
            filled += [c for c in carried]
            why.append(f"{', '.join(m[c] for c in carried)} blank on "
                       f"{min(ob.blanks[m[c]][2] for c in carried):,} of the {ob.repeats:,} rows that repeat the "
                       f"order {key} of the row above, filled on all {ob.leads:,} rows that start an order: "
                       "written once per order")
    if filled:
        draft.options["fill_down"] = filled
        draft.reading.append("fill_down: " + "; ".join(why) + " — carried down in file order")
    money = m.get("amount")
    continuation = ob.key_blank + ob.repeats
    if money and m.get("unit_price") and m.get("quantity") and continuation and ob.blanks[money][0] == 0 \
            and ob.blanks[money][1] + ob.blanks[money][2] >= 0.9 * continuation:
        # the money column is the order's total, written on its first row (eBay's summary row, Shopify's Total):
        # summed per line it would count once per order at best; the line's own money is quantity x price
        m.pop("amount")
        draft.evidence.pop("amount", None)
        draft.notes.append(f"amount: {money} is the order's total (filled on all {ob.leads:,} rows that start an "
                           f"order, blank on {ob.blanks[money][1] + ob.blanks[money][2]:,} of its {continuation:,} "
                           f"other rows): each line's amount is {m['quantity']} × {m['unit_price']}; a row without a "
                           "price (an order's summary row) has no line amount")


def _transactions_choices(draft: TableDraft, profiles: dict[str, Profile]) -> None:
    """Order id or a customer's day; how returns are written; zero-value lines (all rows counted)."""
    m = draft.columns
    if m.get("order_id") and profiles[m["order_id"]].distinct_count == profiles[m["order_id"]].values:
        # an id on every line once is the line's own; an order-id column whose values repeat holds the orders
        shared = [(_header_score("transactions", "order_id", h), -p.distinct_count, h) for h, p in profiles.items()
                  if h not in m.values() and p.values == profiles[m["order_id"]].values and
                  1 < p.distinct_count < p.values and _personal_kind(h) is None]
        shared = [x for x in shared if x[0] >= 3.0 and -x[1] * 20 >= profiles[m["order_id"]].values]
        if shared:
            own, order = m["order_id"], max(shared)[2]
            m["order_id"] = order
            draft.evidence["order_id"] = (f"{order} — by its header; {profiles[order].distinct_count:,} orders over "
                                          f"{profiles[order].values:,} lines ({own} is each line's own id)")
    if "order_id" not in m:
        m["order_id"] = None
        draft.evidence["order_id"] = ("none — no column reads as an order or receipt id: a purchase is a customer's day "
                                      "(BG/NBD), identical lines of a day are separate items")
    else:
        c = profiles[m["order_id"]].column
        prefixed = {s: v for s, v in c.shapes.items() if re.fullmatch(r"a9+", s.strip())}
        digits = sum(v[0] for s, v in c.shapes.items() if re.fullmatch(r"9+", s.strip()))
        count = sum(v[0] for v in prefixed.values())
        if count and digits > 0.5 * c.values and c.prefixes:
            prefix = max(c.prefixes, key=c.prefixes.get)
            if c.prefixes[prefix] >= 0.9 * sum(c.prefixes.values()):
                draft.cleaning["cancellation_prefix"] = prefix
                draft.notes.append(f"cancellation_prefix: {prefix} — {count:,} order ids are '{prefix}' + digits "
                                   f"among {digits:,} plain numbers: cancelled orders")
    _price_is_line_total(draft)
    _order_money_repeated(draft)
    negatives = []
    for col in ("quantity", "amount"):
        if m.get(col):
            c = profiles[m[col]].column
            if c.negative:
                negatives.append(f"{c.negative:,} negative {col}")
    if negatives or "cancellation_prefix" in draft.cleaning:
        draft.cleaning["returns"] = "net"
        draft.notes.append("returns: net — " + (", ".join(negatives) or "cancelled orders") +
                           " over all lines: returns subtract from sales (drop leaves them out)")
    if m.get("amount"):
        zero = profiles[m["amount"]].column.zero
        if zero:
            draft.notes.append(f"{zero:,} lines have a zero amount: counted as purchases with no revenue "
                               "(cleaning.nonpositive_price: drop leaves them out)")


def _price_is_line_total(draft: TableDraft) -> bool:
    """Whether a column mapped as the unit price holds each line's total (price × quantity), decided over all rows.

    On lines of more than one unit, a unit price is the same for a product on every line while price / quantity
    varies with the quantity; a line total is the other way round. Counted per product in the engine: the column is
    a line total when price / quantity takes fewer distinct values per product than the price itself.
    """
    from .store.read import _number

    m = draft.columns
    if draft.relation is None or not all(m.get(c) for c in ("unit_price", "quantity", "product_id")) or m.get("amount"):
        return False
    rel = draft.relation
    price, _ = _number(rel[m["unit_price"]], draft.options, [])
    qty, _ = _number(rel[m["quantity"]], draft.options, [])
    lines = rel.select(p=rel[m["product_id"]].cast("string"), price=price.round(2), qty=qty)
    lines = lines.filter(lines.qty.notnull() & (lines.qty > 1) & lines.price.notnull())
    per = lines.group_by("p").aggregate(n_price=lines.price.nunique(), n_each=(lines.price / lines.qty).round(2).nunique())
    counts = per.aggregate(price=per.n_price.sum(), each=per.n_each.sum()).execute()
    if counts.empty or pd.isna(counts["price"].iloc[0]):
        return False
    n_price, n_each = int(counts["price"].iloc[0]), int(counts["each"].iloc[0])
    if n_each >= n_price:
        return False
    column = m.pop("unit_price")
    m["amount"], draft.evidence["amount"] = column, (
        f"{column} — the line's total: on lines of more than one unit it takes {n_price:,} values per product "
        f"summed, price / quantity only {n_each:,} (a unit price would be the same for a product)")
    draft.evidence.pop("unit_price", None)
    return True


def _order_money_repeated(draft: TableDraft) -> bool:
    """Whether the amount mapped on the lines is the order's money written again on each of its lines (all rows).

    Some exports (JD's 订单金额 / 应付金额, a marketplace's order total) write a row per item with the order's
    total repeated on every row: summed per line it counts an order of three items three times. Counted in the
    engine over the orders of more than one line: when the amount is one value on every line of at least 95 % of
    them, whereas their products differ, it is the order's money. With a unit price and a quantity mapped, the
    amount is left unmapped and each line's sales is quantity x unit price (the loader's rule); without them the
    choice is left to the user, in one line.
    """
    m = draft.columns
    if draft.relation is None or not m.get("amount") or not m.get("order_id") or not m.get("product_id"):
        return False
    rel = draft.relation
    per = rel.group_by(o=rel[m["order_id"]].cast("string")).aggregate(
        n=rel.count(), amounts=rel[m["amount"]].cast("string").strip().nunique(),
        products=rel[m["product_id"]].cast("string").nunique())
    per = per.filter((per.n > 1) & (per.products > 1))
    counts = per.aggregate(orders=per.count(), same=(per.amounts == 1).ifelse(1, 0).sum()).execute()
    orders = int(counts["orders"].iloc[0] or 0) if len(counts) else 0
    same = int(counts["same"].fillna(0).iloc[0]) if len(counts) else 0
    if orders < 5 or same < 0.95 * orders:
        return False
    column = m["amount"]
    why = (f"{column} is one value on every line of {same:,} of the {orders:,} orders with several products: the "
           "order's money written again on each of its lines")
    if m.get("unit_price") and m.get("quantity"):
        m.pop("amount"), draft.evidence.pop("amount", None)
        draft.notes.append(f"amount: {why}; each line's sales is {m['quantity']} x {m['unit_price']} instead")
        return True
    draft.undecided.append(f"transactions.amount: {why} (summed per line it counts an order once per item); map "
                           "tables.transactions.columns.unit_price and quantity to the lines' own price and units")
    return True


def _outcome_table(profiles: dict[str, Profile]) -> dict[str, Any]:
    """A ready per-customer outcome table: one arm column with two values and outcome columns that vary, or ``{}``.

    A column with one value on every row is no outcome (a contact list's
    ``responded: 0`` everywhere is not a result to analyse).
    """
    names = {_norm(c): c for c in profiles}
    arm = next((names[n] for n in ("istreatment", "treatment", "treated", "arm", "group", "variant", "组别", "分组")
                if n in names), None)
    if arm is None or profiles[arm].column is None:
        return {}
    levels = [v.strip() for v, _k in profiles[arm].column.top if v.strip()]
    if profiles[arm].distinct_count != 2 or len(levels) != 2:
        return {}
    control = next((lv for lv in levels if str(lv).lower() in ("0", "control", "holdout", "false", "对照组", "no")), None)
    if control is None:
        return {}
    binary, continuous, pre, attributes = [], [], [], []
    for c, p in profiles.items():
        if c == arm:
            continue
        words = set(re.split(r"[\s_\-]+", str(c).lower()))
        varies = p.distinct_count > 1
        if words & _ATTRIBUTE_WORDS or _norm(c) in _ATTRIBUTE_WORDS:
            attributes.append(c)  # who the customer is, not what the campaign did
        elif (words & _PRE_WORDS) and p.number > 0.99 and p.filled == 1.0 and varies:
            pre.append(c)
        elif p.flag > 0.98 and p.filled == 1.0 and varies:
            binary.append(c)
        elif p.number > 0.99 and p.filled == 1.0 and varies:
            continuous.append(c)
        else:
            attributes.append(c)  # missing values, text, or one value everywhere: no outcome
    if not binary and not continuous:
        return {}
    return {"arm_col": arm, "control": int(control) if str(control).isdigit() else str(control),
            "binary": binary, "continuous": continuous, "pre_period": pre, "attributes": attributes}


#: words of an outcome table's headers that name who a customer is (not an outcome of the campaign)
_ATTRIBUTE_WORDS = {"age", "gender", "sex", "women", "woman", "female", "male", "iswomen", "region", "city", "country",
                    "income", "zip", "zipcode", "segment", "channel", "newbie", "mens", "womens", "性别", "年龄", "地区"}
#: ... and that name behaviour before the campaign (the adjusted lift's covariates)
_PRE_WORDS = {"history", "recency", "pre", "before", "past", "previous", "prior", "tenure", "baseline"}


# ---------------------------------------------------------------------------------------------------- closing the loop


#: a month whose sales are this many times the median month's is named (a totals row, a unit mix-up)
MONTH_OUTLIER = 20.0


def _draft_spec(tables: Sequence[TableDraft]) -> dict[str, Any]:
    """The data spec the draft writes, as a mapping the loader takes (not cached: init only checks it)."""
    spec: dict[str, Any] = {"tables": {}, "cache": False}
    for t in tables:
        if t.role in CANONICAL_COLUMNS and t.role not in spec["tables"]:
            spec["tables"][t.role] = t.spec()
    cleaning = {k: v for t in tables for k, v in t.cleaning.items()}
    if cleaning:
        spec["cleaning"] = cleaning
    return spec


def _correct(lines: TableDraft, message: str) -> bool:
    """Change the draft so that the load the message came from reads; False when no change would."""
    size = re.search(r"max_line_size: (\d+)", message)
    if size and "max_line_size" not in lines.options:
        lines.options["max_line_size"] = int(size.group(1))
        lines.reading.append(f"max_line_size: {int(size.group(1)):,} — the load met a line over the reader's limit")
        return True
    if "several UTC offsets" in message and "timezone" not in lines.options:
        column = lines.columns.get("ts")
        c = lines.profile[column] if lines.profile is not None and column in lines.profile.columns else None
        zone = _common_offset_zone(c) if c is not None else "UTC"
        lines.options["timezone"] = zone
        lines.undecided.append(f"transactions.ts: the timestamps carry several UTC offsets; converted to {zone} — set "
                               "timezone to the shop's zone (Europe/Berlin, America/New_York...)")
        return True
    aware = re.search(r"holds time-zone-aware timestamps \(([^)]*)\)", message)
    if aware and "timezone" not in lines.options:
        zone = _stored_zone(lines) or aware.group(1) or "UTC"
        lines.options["timezone"] = zone
        lines.undecided.append(f"transactions.ts: the timestamps carry their zone; read in {zone} (the zone the file "
                               "stores) — set timezone to the shop's zone if it is another")
        return True
    return False


def _stored_zone(lines: TableDraft) -> str | None:
    """The time zone a Parquet file stores with its timestamp column (DuckDB reads such columns as UTC)."""
    column = lines.columns.get("ts")
    sample = lines.samples[0].path if lines.samples else None
    if column is None or sample is None or Path(sample).suffix.lower() != ".parquet":
        return None
    import pyarrow.parquet as pq

    schema = pq.read_schema(sample)
    kind = schema.field(column).type if column in schema.names else None
    return getattr(kind, "tz", None) or None


def close_loop(d: Draft, *, tries: int = 3) -> None:
    """Load the draft through the run's loader and check it; correct it and load again where a check fails.

    Checks: every value of a mapped column parses (else the load's message,
    which names the unparsed share with examples, is written as a choice
    left to the user); the window is the loaded data's (the last complete
    month from the real last day); no key column is constant or nearly so;
    month totals are plausible (none negative, none :data:`MONTH_OUTLIER`
    times the median month). Cost: the load itself, one pass over the data.
    """
    from .periods import data_calendar

    lines = d.table("transactions")
    if lines is None or any(u for t in d.tables for u in t.undecided if "header row appears" in u):
        return
    _key_checks(d)
    for _attempt in range(tries):
        try:
            store = load_store(_draft_spec(d.tables))
        except (DataError, ParameterError, KeyError) as exc:
            message = " ".join(str(exc).split()).strip("'\"")
            message = message if len(message) <= 400 else message[:400] + "…"
            if _correct(lines, message):
                continue
            d.undecided.append(f"loading this draft stops: {message}")
            return
        break
    else:
        d.undecided.append("loading this draft failed after corrections; run crm-kit check on it for the reason")
        return
    lines.loaded = True
    lines.first, lines.last = data_calendar(store)
    t = store.all_lines
    monthly = store.con.to_pandas(t.group_by(month=t.ts.truncate("M")).aggregate(sales=t.amount.sum(), n=t.count())
                                  .order_by("month"))
    lines.reading.append(f"loaded with this draft by the run's loader: {int(monthly['n'].sum()):,} lines, every mapped "
                         f"value parsed; lines from {lines.first.date()} to {lines.last.date()}")
    negative = monthly[monthly["sales"] < 0]
    if len(negative):
        d.undecided.append(f"month totals: {', '.join(str(m)[:7] for m in negative['month'])} sum to negative sales: "
                           "check the amount column (a refund column mapped as amount?)")
    median = float(monthly["sales"].abs().median()) if len(monthly) else 0.0
    high = monthly[monthly["sales"] > MONTH_OUTLIER * median] if median > 0 and len(monthly) >= 3 else monthly.iloc[:0]
    for row in high.itertuples():
        d.undecided.append(f"month totals: {str(row.month)[:7]} has sales {row.sales:,.2f}, {row.sales / median:,.0f}× "
                           "the median month: check for a totals row or amounts in another unit")


def _key_checks(d: Draft) -> None:
    """A customer or order id that is one value on (nearly) every row is named: it identifies nothing."""
    for t in d.tables:
        if t.profile is None:
            continue
        for key in ("customer_id", "order_id", "product_id"):
            column = t.columns.get(key)
            if not column or column not in t.profile.columns:
                continue
            c = t.profile[column]
            if c.values >= 20 and c.top and c.top[0][1] >= 0.9 * c.values and c.distinct <= max(2, c.values // 100):
                d.undecided.append(f"{t.role}.{key}: {column!r} is {c.top[0][0]!r} on {_count(c.top[0][1], c.values)} "
                                   "rows — nearly constant, so it identifies nothing; map another column")


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


# ---------------------------------------------------------------------------------------------------- shop shapes
# A shop platform's export (issue 37): orders and their lines in two files joined by the order number, a status
# deciding which orders are purchases, returns as orders of their own (a prefix) or lines of a return type.

#: status words that mean a real purchase, in the languages shops use (compared trimmed, lower-cased)
PURCHASE_STATUSES = (
    "paid", "completed", "complete", "fulfilled", "partially fulfilled", "partially_fulfilled", "delivered", "shipped",
    "processing", "success", "succeeded", "successful", "settled", "closed", "done", "captured", "authorized",
    "partially refunded", "partially_refunded", "ready for pickup", "picked up", "in transit",
    "awaiting fulfillment", "awaiting shipment", "awaiting pickup", "partially shipped",
    "sales order", "locked", "confirmed", "invoiced", "fully invoiced", "posted", "sale", "売上",
    "已完成", "交易成功", "已付款", "已支付", "已发货", "已签收", "已收货", "待发货", "待收货", "交易完成", "已成交",
    "卖家已发货", "买家已付款", "等待卖家发货", "等待买家确认收货",
    "bezahlt", "abgeschlossen", "versandt", "versendet", "geliefert", "zugestellt", "erledigt", "in bearbeitung",
    "payé", "payée", "paye", "terminé", "terminée", "expédié", "expédiée", "livré", "livrée", "en cours",
    "paiement accepté", "paiement effectué", "en cours de préparation", "en cours de livraison",
    "pagado", "pagada", "completado", "completada", "enviado", "enviada", "entregado", "entregada", "procesando",
    "opłacone", "oplacone", "wysłane", "wyslane", "gotowe do wysyłki", "gotowe do wysylki", "zrealizowane",
    "dostarczone", "w realizacji", "発送待ち",
    "支払済み", "支払い済み", "入金済み", "完了", "取引完了", "発送済み", "出荷済み", "配達済み", "配送済み", "完成")
#: status words that mean no purchase (cancelled, refunded, voided, failed, unpaid...)
NOT_PURCHASE_STATUSES = (
    "cancelled", "canceled", "refunded", "voided", "void", "failed", "unpaid", "pending", "pending payment",
    "pending_payment", "awaiting payment", "not paid", "incomplete", "abandoned", "declined", "expired", "returned", "chargeback", "rejected",
    "draft", "on-hold", "on hold", "trash", "deleted", "open", "quotation", "quotation sent", "cancel",
    "已取消", "交易关闭", "已关闭", "待付款", "未付款", "待支付", "已退款", "退款成功", "退款完成", "已失效", "支付失败",
    "已作废", "作废", "等待买家付款", "等待付款", "待买家付款",
    "storniert", "erstattet", "rückerstattet", "fehlgeschlagen", "unbezahlt", "abgebrochen", "zahlung ausstehend",
    "annulé", "annulée", "annule", "remboursé", "remboursée", "échoué", "échouée", "impayé", "impayée",
    "en attente de paiement", "en attente", "en attente de paiement par chèque", "en attente de virement bancaire",
    "en attente de paiement à la livraison", "erreur de paiement",
    "cancelado", "cancelada", "reembolsado", "reembolsada", "fallido", "fallida", "no pagado", "impago",
    "pendiente de pago", "anulado", "anulada", "en espera", "pendiente", "pago pendiente", "devuelta", "devuelto",
    "anulowane", "nieopłacone", "nieoplacone", "zwrócone", "zwrocone", "キャンセル確定", "発送前入金待ち", "入金待ち",
    "キャンセル", "キャンセル済み", "返金済み", "未払い", "未入金", "支払い待ち", "失敗", "取消")
#: a purchase word that means refunded in full when a platform's other word for a finished sale is beside it:
#: Magento's "Closed" (an order refunded by credit memo, nothing left to ship or refund) beside its "Complete"
#: (shipped and invoiced); alone, "closed" is a till's finished sale (Lightspeed's CLOSED receipts)
REFUNDED_BESIDE = {"closed": ("complete",)}
#: line-type words that mark a return or refund
RETURN_TYPE_WORDS = ("return", "returns", "returned", "refund", "refunded", "retour", "retoure", "rückgabe",
                     "gutschrift", "remboursement", "devolución", "devolucion", "reembolso", "退货", "退款", "退货单",
                     "退款单", "返品", "返金", "credit note", "creditnote", "credit memo")
#: order-id prefixes that mark a return order (followed by a separator or a digit)
_RETURN_PREFIX = re.compile(r"^((?:RET|RTN|RMA|RETURN|REFUND|RF|RE|TH|退货|退)[-_#]?)(?=[0-9A-Za-z])", re.IGNORECASE)


def _order_column(t: TableDraft) -> str | None:
    """The column of a table that holds order numbers: its mapped order_id, else one whose header says so."""
    if t.columns.get("order_id"):
        return t.columns["order_id"]
    heads = [(_header_score("transactions", "order_id", c), c) for c in (t.profile.columns if t.profile else ())]
    heads = [h for h in heads if h[0] >= 3.0]
    return max(heads)[1] if heads else None


def _profiles(t: TableDraft) -> dict[str, Profile]:
    return {c: _as_profile(p) for c, p in t.profile.columns.items()}


def _ids(t: TableDraft, column: str):
    """A table's values of one column as ``v``, trimmed, blanks left out (an Ibis expression over all rows)."""
    value = t.relation[column].cast("string").strip()
    return t.relation.select(v=value).filter(value.notnull() & (value != ""))


def _value_counts(t: TableDraft, column: str, limit: int = 200) -> pd.Series:
    """Every distinct value of a column over all rows (trimmed) with its count, most frequent first."""
    import ibis

    values = _ids(t, column)
    frame = values.group_by("v").aggregate(n=values.count()).order_by(ibis.desc("n")).limit(limit).execute()
    return pd.Series(frame["n"].to_numpy(), index=frame["v"].astype(str), dtype="int64")


def _pair_orders(tables: list[TableDraft]) -> tuple[TableDraft, TableDraft, str, str] | None:
    """An orders file and its lines file: two tables sharing order numbers, one row per order in the first.

    Decided over all rows: the orders file holds each order number once, the
    lines file repeats some, and at least 30 % of the lines' order numbers are
    in the orders file (a semi-join in the engine).
    """
    found = []
    candidates = [t for t in tables if t.role in ("transactions", "products", "customers") and t.relation is not None]
    for a in candidates:
        for b in candidates:
            if a is b:
                continue
            ca, cb = _order_column(a), _order_column(b)
            if not ca or not cb:
                continue
            pa, pb = a.profile[ca], b.profile[cb]
            if not pa.values or not pb.values or pa.distinct != pa.values or pb.distinct == pb.values:
                continue  # the orders file holds each order once; the lines file repeats some
            distinct_b = _ids(b, cb).distinct()
            ids_a = _ids(a, ca)
            shared = int(distinct_b.semi_join(ids_a, "v").count().execute())
            share = shared / max(pb.distinct, 1)
            if share >= 0.3:
                found.append((share, a, b, ca, cb))
    if not found:
        return None
    _share, orders, lines, co, cl = max(found, key=lambda f: f[0])
    return orders, lines, co, cl


def _status_words(counts: pd.Series) -> tuple[bool, float]:
    """Whether a status column's values hold both purchase and non-purchase words, and the share of rows they cover."""
    words = counts.index.str.strip().str.lower()
    buy, not_buy = int(counts[words.isin(PURCHASE_STATUSES)].sum()), int(counts[words.isin(NOT_PURCHASE_STATUSES)].sum())
    return bool(buy and not_buy), (buy + not_buy) / max(int(counts.sum()), 1)


def _best_status(t: TableDraft, column: str) -> str:
    """Of the columns whose header names a status (a payment's, a fulfilment's...), the one whose values decide.

    A column holding both purchase and non-purchase words over more of the rows wins; the column mapped by its
    header keeps a tie (Wix writes "Fulfillment status" Fulfilled / Not fulfilled before "Payment status" Paid /
    Refunded / Canceled / Not paid: the payment's says which orders are purchases).
    """
    taken = {v for k, v in t.columns.items() if k != "status" and isinstance(v, str)}
    others = [c for c in (t.profile.columns if t.profile else ()) if c != column and c not in taken
              and _header_score("transactions", "status", c) >= 3.0]
    if not others:
        return column
    return max([column] + others, key=lambda c: _status_words(_value_counts(t, c)))


def _status_choice(draft: TableDraft, counts: pd.Series, where: str) -> bool:
    """``cleaning.statuses`` drafted from a status column's values; unknown values left as a commented choice."""
    counts = counts.groupby(counts.index.str.lower()).sum()  # compared trimmed, any case: one entry each
    buy, not_buy, unknown = [], [], []
    for value, n in counts.items():
        key = str(value)
        (buy if key in PURCHASE_STATUSES else not_buy if key in NOT_PURCHASE_STATUSES else unknown).append(
            (key, int(n)))
    if not buy and not not_buy:
        return False
    words = {v for v, _ in buy}
    for word, beside in REFUNDED_BESIDE.items():
        if word in words and words & set(beside):
            moved = [(v, n) for v, n in buy if v == word]
            buy, not_buy = [b for b in buy if b[0] != word], not_buy + moved
            draft.notes.append(f"statuses: {word} ({moved[0][1]:,}) beside {', '.join(sorted(words & set(beside)))} "
                               f"is an order refunded in full (Magento closes an order when a credit memo refunds "
                               "all of it): not a purchase")
    draft.cleaning["statuses"] = {"purchase": [v for v, _ in buy], "not_purchase": [v for v, _ in not_buy]}
    draft.notes.append(f"statuses: from the {where} column's {len(counts)} value(s) over all rows — purchases: "
                       + ", ".join(f"{v} ({n:,})" for v, n in buy) + "; not purchases: "
                       + (", ".join(f"{v} ({n:,})" for v, n in not_buy) or "none"))
    for value, n in unknown:
        draft.undecided.append(f"cleaning.statuses: the status {value or '(blank)'!r} ({n:,} rows) is no known "
                               "purchase or non-purchase word: add it to statuses.purchase or statuses.not_purchase")
    return True


#: the return prefix as the engine's regular expressions write it (longest alternatives first)
_RETURN_PREFIX_SQL = r"(?i)^((?:RETURN|REFUND|RET|RTN|RMA|RF|RE|TH|退货|退)[-_#]?)[0-9A-Za-z]"


def _return_choices(draft: TableDraft, ids: list[tuple[TableDraft, str]], types: tuple[TableDraft, str] | None) -> None:
    """``return_prefix`` when some order ids share a return prefix; ``return_types`` when a type column says return."""
    import ibis

    found: dict[str, int] = {}
    total = 0
    for t, column in ids:
        values = _ids(t, column)
        total += int(values.count().execute())
        prefix = values.v.re_extract(_RETURN_PREFIX_SQL, 1)
        hits = values.select(p=prefix).filter(prefix != "").group_by("p").aggregate(n=ibis._.count()).to_pandas()
        for p, n in zip(hits["p"], hits["n"]):
            found[str(p).upper()] = found.get(str(p).upper(), 0) + int(n)
    count = sum(found.values())
    if count and count < 0.5 * total:
        prefix = max(found, key=found.get)
        draft.cleaning["return_prefix"] = prefix
        draft.cleaning.setdefault("returns", "net")
        draft.notes.append(f"return_prefix: {prefix} — {found[prefix]:,} of {total:,} order ids start with it: return "
                           "orders, never visits; returns: net subtracts them on their own date")
    if types is not None:
        counts = _value_counts(*types)
        hits = sorted(v for v in counts.index if str(v).lower() in RETURN_TYPE_WORDS)
        if hits:
            draft.cleaning["return_types"] = hits
            draft.cleaning.setdefault("returns", "net")
            draft.notes.append(f"return_types: {hits} — the line type marks returns ({int(counts[hits].sum()):,} "
                               "lines); returns: net subtracts them on their own date")


def _row_refunds(lines: TableDraft, *, alone: bool) -> None:
    """Refunds written on the rows: an orders-level file's refunded money, a line's returned units (all rows counted).

    A file of one row per order (each order id once) read as the line items,
    with a column an orders file's refunded money would be read from (Total
    Refunded, 退款金额...), maps it as ``transactions.refunded``: the order's
    refund, which ``returns: net`` subtracts on the order's date. A line file
    repeats its order ids and may repeat the order's refund on each line, so
    it is left unread there (an orders table carries it). Returned units
    (``returned_quantity``) are counted, and make ``returns: net``.
    """
    m = lines.columns
    oid = m.get("order_id")
    if alone and oid and "refunded" not in m and lines.profile is not None:
        ids = lines.profile[oid]
        found, ev, _ = _map_table("orders", _profiles(lines))
        column = found.get("refunded")
        if column and ids.values and ids.distinct < ids.values and lines.profile[column].values == ids.distinct:
            # written on one row of each order (Allegro's Kwota zwrotu on an order's first row, blank on the others):
            # the order's refund, if every order has it on exactly one row (counted over all rows)
            value = lines.relation[column].cast("string").strip()
            orders = lines.relation.filter(value.notnull() & (value != ""))[oid].nunique().execute()
            if int(orders) == ids.distinct and column not in m.values():
                m["refunded"] = column
                lines.evidence["refunded"] = (f"{ev['refunded']}; written on one row of each of the {ids.distinct:,} "
                                              "orders, blank on their other rows: the order's refunded money")
        if ids.values and ids.distinct == ids.values:
            carried = "order_id" in (lines.options.get("fill_down") or [])
            if carried and column and lines.profile[column].values > ids.values:
                column = None  # the order id is written once per order, the refund more often: repeated per line
            if column and column not in m.values():
                m["refunded"] = column
                where = (f"written once per order, on its first row ({ids.values:,} order ids, each once; the id is "
                         "carried down to the order's other rows, the refund is not)" if carried else
                         f"the file holds one row per order ({ids.values:,} order ids, each once)")
                lines.evidence["refunded"] = f"{ev['refunded']}; {where}: the order's refunded money"
    for col, what in (("refunded", "row(s) have money refunded"), ("returned_quantity", "line(s) have units returned")):
        if not m.get(col) or lines.profile is None:
            continue
        c = lines.profile[m[col]]
        n = c.values - c.zero
        if n > 0:
            lines.cleaning.setdefault("returns", "net")
            share = "the money" if col == "refunded" else "amount x returned / quantity"
            lines.notes.append(f"returns: net — {n:,} of {c.values:,} {what} ({m[col]}): net sales subtract {share} "
                               "on the row's date (drop leaves it out)")
        else:
            lines.notes.append(f"{m[col]}: zero on every row — no refund written there")


def _drop_undecided(t: TableDraft, columns: Sequence[str]) -> None:
    t.undecided = [u for u in t.undecided if not any(u.startswith(f"{t.role}.{c}:") or
                                                     u.startswith(f"transactions.{c}:") or
                                                     u.startswith(f"products.{c}:") for c in columns)]


def draft_shapes(tables: list[TableDraft]) -> list[TableDraft]:
    """The shop shapes in drafted tables: an orders file paired with its lines, statuses and returns drafted.

    An orders file (one row per order: customer, time, status, total) and a
    lines file (order number, product, quantity, line total; no customer) are
    told apart by the order numbers they share: the lines file is no
    catalogue. The status column's values become ``cleaning.statuses``
    (known purchase and non-purchase words in English, Chinese, German,
    French, Spanish and Japanese; an unknown one is left as a choice, with
    one line); a return prefix on order ids and return values of a line type
    become ``return_prefix`` and ``return_types``.
    """
    paired = _pair_orders(tables)
    if paired is not None:
        orders, lines, co, cl = paired
        oprof, lprof = _profiles(orders), _profiles(lines)
        mapping, ev, _ = _map_table("orders", oprof)
        mapping["order_id"], ev["order_id"] = co, f"{co} — the order number the lines file shares"
        if "ts" not in mapping:  # no header says it: the column that reads as times
            times = [(p.timestamp, c) for c, p in oprof.items() if c not in mapping.values()]
            best = max(times, default=(0.0, None))
            if best[0] >= 0.95:
                mapping["ts"], ev["ts"] = best[1], f"{best[1]} — by content alone; {best[0]:.0%} read as times"
        orders.role, orders.columns, orders.evidence = "orders", mapping, ev
        _category_keys(orders, oprof)
        lmap, lev, _ = _map_table("transactions", lprof)
        for col in ("customer_id", "ts", "status"):
            if col in mapping and col in lmap:  # written once per order: read from the orders file
                lmap.pop(col), lev.pop(col, None)
        lmap["order_id"], lev["order_id"] = cl, f"{cl} — joined to tables.orders by it"
        lines.role, lines.columns, lines.evidence = "transactions", lmap, lev
        _transactions_choices(lines, lprof)
        _drop_undecided(orders, list(CANONICAL_COLUMNS["transactions"]) + list(CANONICAL_COLUMNS["products"]))
        _drop_undecided(lines, list(CANONICAL_COLUMNS["transactions"]) + list(CANONICAL_COLUMNS["products"]))
        lines.notes.append(f"orders and lines: {Path(orders.path).name} holds one row per order, "
                           f"{Path(lines.path).name} its lines, joined by the order number")
        tables = [orders] + [t for t in tables if t is not orders]
    lines = next((t for t in tables if t.role == "transactions"), None)
    if lines is None:
        return tables
    orders = next((t for t in tables if t.role == "orders"), None)
    _row_refunds(lines, alone=orders is None)
    for t in ([orders] if orders is not None else []) + [lines]:
        kind = t.columns.get("line_type")
        if kind and not t.columns.get("status") and "statuses" not in lines.cleaning:
            # one column with sales, voids and returns (売上 / 取消 / 返品): its void words make it the status too
            counts = _value_counts(t, kind)
            words = counts.index.str.strip().str.lower()
            asked = counts[~words.isin(RETURN_TYPE_WORDS)]
            if asked.index.str.strip().str.lower().isin(NOT_PURCHASE_STATUSES).any() and \
                    _status_choice(lines, asked, f"{t.role} table's {kind}"):
                t.columns["status"] = kind
                t.evidence["status"] = f"{kind} — its values name voided or cancelled sales, besides the returns"
                continue
        if t.columns.get("status") and "statuses" not in lines.cleaning:
            column = _best_status(t, t.columns["status"])
            if column != t.columns["status"]:
                lines.notes.append(f"status: {column}, not {t.columns['status']}: its values tell purchases from "
                                   "non-purchases (paid, refunded, cancelled...)")
                t.columns["status"] = column
                t.evidence["status"] = f"{column} — by its header, and its values are purchase and non-purchase words"
            if not _status_choice(lines, _value_counts(t, column), f"{t.role} table's {column}"):
                # no value reads as a purchase status: not the orders' status (a region's 'state'...), left unread
                t.columns.pop("status"), t.evidence.pop("status", None)
                lines.notes.append(f"{column}: no value reads as an order status (paid, cancelled...): not read")
    ids = [(t, t.columns["order_id"]) for t in ([lines] + ([orders] if orders is not None else []))
           if t.columns.get("order_id")]
    types = next(((t, t.columns["line_type"]) for t in [lines, orders] if t is not None and t.columns.get("line_type")),
                 None)
    _return_choices(lines, ids, types)
    if orders is not None and orders.columns.get("refunded"):
        c = orders.profile[orders.columns["refunded"]]
        refunded = c.values - c.zero
        if refunded > 0:
            lines.cleaning.setdefault("returns", "net")
            lines.notes.append(f"returns: net — {refunded:,} order(s) have money refunded "
                               f"({orders.columns['refunded']}): net sales subtract it on the order's date (drop leaves "
                               "it out)")
    for t in tables:
        if "return_prefix" in lines.cleaning and t.cleaning.get("cancellation_prefix") and \
                str(lines.cleaning["return_prefix"]).upper().startswith(str(t.cleaning["cancellation_prefix"]).upper()):
            t.cleaning.pop("cancellation_prefix")  # 'R' + digits read as a cancellation is the return prefix
    return tables



def draft(files: Sequence[str | Path], *, month: str | None = None, check: bool = True) -> Draft:
    r"""Sniff and profile each file over all rows, draft the data spec, then load it to check it (module docstring).

    ``check=False`` leaves out the load (the window then stays unknown).

    Examples
    --------
    What ``crm-kit init`` does with one file: its headers are recognised (``Member`` is the customer, ``Receipt``
    the order) and every value is profiled; ``check=False`` skips the loading check, so the month stays open:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from crm_kit import draft
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "sales.csv").write_text(
    ...     "Receipt,Member,Time,SKU,Qty,Amount\n"
    ...     "r1,a,2025-08-03 10:00,p1,1,30\n"
    ...     "r2,a,2025-09-20 11:00,p2,2,50\n"
    ...     "r3,b,2025-08-05 12:00,p1,1,20\n")
    >>> drafted = draft.draft([folder / "sales.csv"], check=False)
    >>> table = drafted.tables[0]
    >>> table.role
    'transactions'
    >>> table.columns
    {'customer_id': 'Member', 'order_id': 'Receipt', 'ts': 'Time', 'product_id': 'SKU', 'quantity': 'Qty', 'amount': 'Amount'}
    >>> table.evidence["customer_id"]
    'Member — by its header; 3 values, 2 distinct'
    """
    from .periods import check_month, last_complete_month
    from .store.read import _connect

    con = _connect({})
    tables = [draft_table(location, found, con=con) for location, found in _group_files([Path(f) for f in files])]
    tables = draft_shapes(tables)
    _no_customer_key(tables)
    undecided = [u for t in tables for u in t.undecided]
    roles = [t.role for t in tables]
    for role in set(roles):
        if roles.count(role) > 1 and role != "outcomes":
            undecided.append(f"{roles.count(role)} files look like {role}: the first is used; put the others in one "
                             "folder (monthly parts) or choose")
    d = Draft(tables, None, undecided)
    if check:
        close_loop(d)
    lines = d.table("transactions")
    if month is not None:
        d.month = check_month(month)
    elif lines is not None and lines.last is not None:
        d.month = last_complete_month(last=lines.last)
    if lines is None and not any(t.role == "outcomes" for t in tables):
        d.undecided.append("no file looks like line items (a customer id, a timestamp and an amount per line)")
    return d


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


#: headers of a column naming the money's currency (one ISO code on every row: USD, usd, PLN)
_CURRENCY_HEADERS = ("currency", "currencycode", "ordercurrencycode", "ordercurrency", "waluta", "moneda", "währung",
                     "wahrung", "devise", "valuta", "币种", "货币", "通貨")
#: money columns of the line items and orders whose signs name the currency
_MONEY_COLUMNS = ("amount", "unit_price", "refunded")


def _currency_found(d: Draft) -> tuple[str, str] | None:
    """The currency the data itself names, with its evidence: the one sign or code on the mapped money (zł, €, ￥),
    else the one ISO code of a currency column (Stripe's ``usd``, BigCommerce's Order Currency Code). None invented."""
    mine = [t for t in d.tables if t.role in ("transactions", "orders") and t.profile is not None]
    signs: dict[str, int] = {}
    for t in mine:
        for col in _MONEY_COLUMNS:
            source = t.columns.get(col)
            if isinstance(source, str) and source in t.profile.columns:
                for mark, n in t.profile[source].currencies.items():
                    signs[mark] = signs.get(mark, 0) + n
    if len(signs) == 1:
        (mark, n), = signs.items()
        return mark.strip(), f"{mark.strip()} written on {n:,} money value(s) of the mapped columns"
    if signs:
        return None  # several currencies: none is the data's one
    for t in mine:
        for col, p in t.profile.columns.items():
            if _norm(col) in _CURRENCY_HEADERS and p.values and p.distinct == 1 and p.top and \
                    re.fullmatch(r"[A-Za-z]{3}", str(p.top[0][0]).strip()):
                code = str(p.top[0][0]).strip().upper()
                return code, f"{col} is {p.top[0][0]!r} on all {p.values:,} filled row(s)"
    return None


def _spec_of(d: Draft) -> dict[str, Any]:
    """The data spec ``data_yaml`` writes, as data: what its text must read back as, and nothing more."""
    spec: dict[str, Any] = {"tables": {}}
    for t in d.tables:
        if t.role == "outcomes":
            continue
        path = _absolute(t.path)
        spec["tables"][t.role] = {"path": path, **t.options, "columns": dict(t.columns)}
    cleaning = {k: v for t in d.tables for k, v in t.cleaning.items()}
    if cleaning:
        spec["cleaning"] = cleaning
    found = _currency_found(d)
    if found:
        spec["currency"] = found[0]
    return spec


def data_yaml(d: Draft) -> str:
    """The data spec as YAML text, every choice commented with its evidence.

    Every value is written by a YAML emitter (strings double-quoted) and every comment has its line breaks and
    control characters escaped, so a header or file name cannot end its line and add a key; the text is read
    back and must give exactly the spec drafted, else nothing is written.
    """
    out = ["# Data spec drafted by crm-kit init from every row of each file. Every guess says why; check them, then",
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
    if "currency" in spec:
        out.append(f"# currency: {_comment(_currency_found(d)[1])}: shown on money in the reports")
        out.append(f"currency: {_yaml_value(spec['currency'])}")
    lines = d.table("transactions")
    if lines is not None and lines.first is not None:
        how = "the draft loaded by the run's loader"
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
        out.append(f"  month: {_yaml_value(str(d.month))}   # the last month the data covers to its last day")
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
                "contacts": "a contact list", "outcomes": "a per-customer outcome table",
                "orders": "orders (one row per order)"}[t.role]
        out.append(f"{t.path}: {what} ({t.rows:,} rows, every one profiled)")
        if t.role == "transactions":
            cust = t.columns.get("customer_id")
            if cust and t.profile is not None:
                out.append(f"  {t.profile[cust].distinct:,} customer ids"
                           + (f"; lines from {t.first.date()} to {t.last.date()}" if t.first is not None else ""))
        hashed, filled = t.options.get("hashed", []), t.options.get("fill_down", [])
        for col, src in t.columns.items():
            how = [w for w, on in (("read hashed", col in hashed), ("carried down to the order's other rows",
                                                                    col in filled)) if on]
            out.append(f"  {col:<12} <- {src if src is not None else '(none)'}" + (f"  ({'; '.join(how)})" if how else ""))
        if t.options.get("skip_footer"):
            out.append(f"  the last {t.options['skip_footer']} line(s) of the file (a trailer after the data) skipped")
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
