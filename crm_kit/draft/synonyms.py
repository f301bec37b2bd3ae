"""The words a header is recognised by: each canonical column's synonyms in English, Chinese, German and
Japanese, and the personal fields' own.

Part of the path's **decide** room (sniff → profile → decide → read → cast): :mod:`crm_kit.draft.roles`
compares a file's headers with these, lower-cased and without spaces or punctuation (:func:`_norm`).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PERSONAL_SYNONYMS", "SYNONYMS"]


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
