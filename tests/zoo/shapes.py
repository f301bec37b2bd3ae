"""The export zoo: each shape writes one platform's export, as that platform writes it, from one :class:`World`.

``SHAPES`` maps a shape's name to a :class:`Shape`: the platform, the features its world has (statuses, refunds,
returns, walk-ins) and a writer that turns the world into the platform's file(s). :func:`generate` makes the
world, writes the files and returns them with the truth (:func:`zoo.world.truth`). See README.md for the
sources of each shape.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .world import Features, World, make_world, order_totals, truth

__all__ = ["SHAPES", "Shape", "ZooExport", "generate"]


@dataclass
class Shape:
    name: str
    platform: str
    features: Features
    write: Callable[[World, Path], list[Path]]
    #: what the export holds that tests need to know (no products, separate date/time...)
    notes: str = ""


@dataclass
class ZooExport:
    name: str
    files: list[Path]
    truth: pd.DataFrame
    world: World


# ---------------------------------------------------------------------------------------------------- formatting


def _group(value: float, decimals: int, thousands: str, decimal: str) -> str:
    text = f"{abs(value):,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", decimal).replace("\x00", thousands)


def money(values, style: str) -> list[str]:
    """Amounts as a platform writes them (the sign, separators and currency of ``style``)."""
    out = []
    for v in np.asarray(values, dtype=float):
        minus = "-" if v < 0 else ""
        if style == "usd":
            out.append(f"{minus}${_group(v, 2, ',', '.')}")
        elif style == "usd_plain":
            out.append(f"{v:.2f}")
        elif style == "eur_de":
            out.append(f"{minus}{_group(v, 2, '.', ',')} €")
        elif style == "de":
            out.append(f"{minus}{_group(v, 2, '.', ',')}")
        elif style == "eur_fr":
            out.append(f"{minus}{_group(v, 2, chr(0xA0), ',')}\u00a0€")
        elif style == "cny_sign":
            out.append(f"{minus}￥{_group(v, 2, ',', '.')}")
        elif style == "cny_thousands":
            out.append(f"{minus}{_group(v, 2, ',', '.')}")
        elif style == "yen":
            out.append(f"{minus}￥{_group(v, 0, ',', '.')}")
        else:
            out.append(f"{v:.2f}")
    return out


def _hash(text: str, n: int = 12) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:n]


def _joined(world: World) -> pd.DataFrame:
    """Lines with their order's fields and customer, sorted as the orders are."""
    o = world.orders
    lines = world.lines.merge(o, on="order_no", how="left")
    return lines.merge(world.customers, on="cid", how="left")


def _orders(world: World) -> pd.DataFrame:
    o = world.orders.merge(world.customers, on="cid", how="left")
    o["total"] = o["order_no"].map(order_totals(world))
    o["items"] = o["order_no"].map(world.lines.groupby("order_no")["qty"].sum())
    o["kinds"] = o["order_no"].map(world.lines.groupby("order_no").size())
    return o


def _csv(frame: pd.DataFrame, path: Path, *, encoding: str = "utf-8", sep: str = ",", quoting=csv.QUOTE_MINIMAL,
         lineterminator: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, encoding=encoding, sep=sep, quoting=quoting, lineterminator=lineterminator)
    return path


def _status(values: pd.Series, words: dict[str, str]) -> pd.Series:
    return values.map(words)


def _returns(world: World) -> pd.DataFrame:
    return world.returns.merge(world.customers, on="cid", how="left")


# ---------------------------------------------------------------------------------------------------- web shops


def _shopify(world: World, folder: Path) -> list[Path]:
    """Shopify admin > Orders > Export (orders_export_1.csv): a row per line item; the order's money, status and
    addresses only on its first row; Created at with the shop's UTC offset; newest order first."""
    j = _joined(world)
    first = j["line_no"] == 1
    totals = j["order_no"].map(order_totals(world))
    local = j["ts"].dt.tz_localize("Asia/Shanghai")
    created = local.dt.strftime("%Y-%m-%d %H:%M:%S %z")
    fin = _status(j["status"], {"paid": "paid", "partially_refunded": "partially_refunded", "refunded": "refunded",
                                "cancelled": "voided", "unpaid": "pending"})
    blank = pd.Series("", index=j.index)
    out = pd.DataFrame({
        "Name": "#" + (1000 + j["order_no"]).astype(str),
        "Email": j["email"],
        "Financial Status": fin.where(first, ""),
        "Paid at": created.where(first & j["status"].isin(["paid", "partially_refunded", "refunded"]), ""),
        "Fulfillment Status": np.where(first, np.where(j["status"].isin(["paid", "partially_refunded"]), "fulfilled",
                                                       "unfulfilled"), ""),
        "Accepts Marketing": np.where(first, "no", ""),
        "Currency": np.where(first, "CNY", ""),
        "Subtotal": pd.Series(money(totals, "plain"), index=j.index).where(first, ""),
        "Shipping": np.where(first, "0.00", ""),
        "Taxes": np.where(first, "0.00", ""),
        "Total": pd.Series(money(totals, "plain"), index=j.index).where(first, ""),
        "Discount Code": blank, "Discount Amount": np.where(first, "0.00", ""),
        "Shipping Method": np.where(first, "Standard", ""),
        "Created at": created,
        "Lineitem quantity": j["qty"],
        "Lineitem name": j["name_x"] if "name_x" in j else j["name"],
        "Lineitem price": money(j["price"], "plain"),
        "Lineitem compare at price": blank,
        "Lineitem sku": j["sku"],
        "Lineitem requires shipping": "true", "Lineitem taxable": "true",
        "Lineitem fulfillment status": "pending",
        "Billing Name": j["name_y"].where(first, "") if "name_y" in j else blank,
        "Billing Street": j["address"].where(first, ""), "Billing City": j["city"].where(first, ""),
        "Billing Phone": j["phone"].where(first, ""),
        "Notes": blank,
        "Cancelled at": created.where(first & j["status"].isin(["cancelled"]), ""),
        "Payment Method": np.where(first, "Shopify Payments", ""),
        "Refunded Amount": pd.Series(money(j["refunded"].where(j["status"] != "refunded", totals), "plain"),
                                     index=j.index).where(first, ""),
        "Vendor": "My Store",
        "Id": (5_000_000_000 + j["order_no"]).astype(str).where(first, ""),
        "Tags": blank, "Risk Level": np.where(first, "Low", ""), "Source": np.where(first, "web", ""),
    })
    # newest order first; an order's lines stay in their order, its first line (with the order's fields) on top
    out = out.sort_values("Name", key=lambda s: -s.str[1:].astype(int), kind="stable")
    return [_csv(out, folder / "orders_export_1.csv")]


def _magento(world: World, folder: Path) -> list[Path]:
    """Magento 2 / Adobe Commerce admin > Sales > Orders grid > Export CSV: one row per order, no products,
    "Purchase Date" as "Mar 15, 2024 10:22:11 AM", "$1,234.56" money, Total Refunded; newest first."""
    o = _orders(world)
    status = _status(o["status"], {"paid": "Complete", "partially_refunded": "Complete", "refunded": "Closed",
                                   "cancelled": "Canceled", "unpaid": "Pending"})
    refunded = o["refunded"].where(o["status"] != "refunded", o["total"])
    out = pd.DataFrame({
        "ID": (100000000 + o["order_no"]).astype(str).str.zfill(9),
        "Purchase Point": "Main Website\nMain Website Store\nDefault Store View",
        "Purchase Date": o["ts"].dt.strftime("%b %d, %Y %I:%M:%S %p").str.replace(r" 0(\d):", r" \1:", regex=True),
        "Bill-to Name": o["name"], "Ship-to Name": o["name"],
        "Grand Total (Base)": money(o["total"], "usd"), "Grand Total (Purchased)": money(o["total"], "usd"),
        "Status": status,
        "Billing Address": o["address"] + "," + o["city"],
        "Shipping Address": o["address"] + "," + o["city"],
        "Shipping Information": "Free Shipping - Free",
        "Customer Email": o["email"], "Customer Group": "General",
        "Subtotal": money(o["total"], "usd"), "Shipping and Handling": money(np.zeros(len(o)), "usd"),
        "Customer Name": o["name"], "Payment Method": "Check / Money order",
        "Total Refunded": money(refunded, "usd"),
    }).iloc[::-1]
    return [_csv(out, folder / "export.csv", quoting=csv.QUOTE_ALL)]


def _prestashop(world: World, folder: Path) -> list[Path]:
    """PrestaShop 1.7 back office (French) > Commandes > Exporter: semicolons, UTF-8 with BOM, one row per order,
    "1 234,56 €", day-first dates, the customer as "J. Smith", États in French; newest first."""
    o = _orders(world)
    etat = _status(o["status"], {"paid": "Livré", "refunded": "Remboursé", "cancelled": "Annulé",
                                 "unpaid": "En attente de paiement par chèque"})
    etat = etat.where(~((o["status"] == "paid") & (o["order_no"] % 3 == 0)), "Paiement accepté")
    seen = o.groupby("cid").cumcount() == 0
    out = pd.DataFrame({
        "ID": o["order_no"], "Référence": [_hash(str(n), 9).upper() for n in o["order_no"]],
        "Nouveau client": np.where(seen, "Oui", "Non"), "Livraison": "France",
        "Client": o["first"].str[0] + ". " + o["last"].str.upper(),
        "Total": money(o["total"], "eur_fr"), "Paiement": "Chèque", "État": etat,
        "Date": o["ts"].dt.strftime("%d/%m/%Y %H:%M:%S"),
    }).iloc[::-1]
    return [_csv(out, folder / "order_2024-07-01.csv", encoding="utf-8-sig", sep=";", quoting=csv.QUOTE_ALL)]


def _shopware(world: World, folder: Path) -> list[Path]:
    """Shopware 6 Import/Export, profile "Default orders": semicolons, dotted field paths as headers, ISO
    timestamps with the shop's offset (Europe/Berlin: +01:00, +02:00 in summer), the payment state's technical name."""
    o = _orders(world)
    local = o["ts"].dt.tz_localize("Europe/Berlin")
    stamp = local.dt.strftime("%Y-%m-%dT%H:%M:%S.000%z").str.replace(r"(\d\d)(\d\d)$", r"\1:\2", regex=True)
    out = pd.DataFrame({
        "id": [_hash(f"order{n}", 32) for n in o["order_no"]],
        "orderNumber": (10000 + o["order_no"]).astype(str),
        "orderDateTime": stamp,
        "orderCustomer.customerNumber": (20000 + o["cid"]).astype(str),
        "orderCustomer.email": o["email"],
        "orderCustomer.firstName": o["first"], "orderCustomer.lastName": o["last"],
        "amountTotal": money(o["total"], "plain"), "amountNet": money(o["total"] / 1.19, "plain"),
        "currency.isoCode": "EUR",
        "stateMachineState.technicalName": _status(o["status"], {"paid": "completed", "refunded": "completed",
                                                                 "cancelled": "cancelled", "unpaid": "open"}),
        "transactions.stateMachineState.technicalName": _status(o["status"], {
            "paid": "paid", "refunded": "refunded", "cancelled": "cancelled", "unpaid": "open"}),
    })
    return [_csv(out, folder / "order_export.csv", sep=";")]


def _woocommerce(world: World, folder: Path) -> list[Path]:
    """WooCommerce > Analytics > Orders > Download (Spanish admin): one row per order and one per refund (its own
    id, a negative "Ventas netas", status Reembolsado, on the refund's date); products named in one cell; the
    customer's name; newest first. Cancelled and failed orders are left out of Analytics by default."""
    o = _orders(world)
    o = o[o["status"].isin(["paid", "unpaid"])]
    names = world.lines.groupby("order_no").apply(
        lambda g: ", ".join(f"{q}× {n}" for q, n in zip(g["qty"], g["name"])), include_groups=False)
    rows = pd.DataFrame({
        "Fecha": o["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"), "Pedido #": o["order_no"] + 3000,
        "Estado": _status(o["status"], {"paid": "Completado", "unpaid": "En espera"}),
        "Cliente": o["name"], "Tipo de cliente": np.where(o.groupby("cid").cumcount() == 0, "Nuevo", "Recurrente"),
        "Producto(s)": o["order_no"].map(names), "Artículos vendidos": o["items"], "Cupón(es)": "",
        "Ventas netas": money(o["total"], "plain"), "Atribución": "Directo", "_ts": o["ts"]})
    r = _returns(world)
    refunds = pd.DataFrame({
        "Fecha": r["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"), "Pedido #": 90000 + r["return_no"],
        "Estado": "Reembolsado", "Cliente": r["name_y"], "Tipo de cliente": "Recurrente",
        "Producto(s)": r["qty"].astype(str) + "× " + r["name_x"], "Artículos vendidos": -r["qty"], "Cupón(es)": "",
        "Ventas netas": money(-r["amount"], "plain"), "Atribución": "Directo", "_ts": r["ts"]})
    out = pd.concat([rows, refunds]).sort_values("_ts", ascending=False, kind="stable").drop(columns="_ts")
    return [_csv(out, folder / "wc-orders-report-export-17200000.csv", quoting=csv.QUOTE_ALL)]


# ---------------------------------------------------------------------------------------------------- marketplaces


def _amazon(world: World, folder: Path) -> list[Path]:
    """Amazon Seller Central order report (flat file, tab-delimited .txt): a row per order item, purchase-date in
    ISO with +00:00, buyer-email an anonymised marketplace address, item-price the line's total."""
    j = _joined(world)
    stamp = j["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    oid = [f"11{n % 10}-{(n * 7919) % 9999999:07d}-{(n * 104729) % 9999999:07d}" for n in j["order_no"]]
    out = pd.DataFrame({
        "order-id": oid, "order-item-id": [f"{_hash(f'{a}{b}', 14)}" for a, b in zip(oid, j["line_no"])],
        "purchase-date": stamp, "payments-date": stamp,
        "buyer-email": [f"{_hash(e, 15)}@marketplace.amazon.com" for e in j["email"]],
        "buyer-name": j["name_y"], "buyer-phone-number": j["phone"],
        "sku": j["sku"], "product-name": j["name_x"], "quantity-purchased": j["qty"], "currency": "USD",
        "item-price": money(j["amount"], "plain"), "item-tax": "0.00", "shipping-price": "0.00",
        "shipping-tax": "0.00", "ship-service-level": "Standard", "recipient-name": j["name_y"],
        "ship-address-1": j["address"], "ship-city": j["city"], "ship-state": "CA", "ship-postal-code": "90001",
        "ship-country": "US"})
    return [_csv(out, folder / "Orders_report.txt", sep="\t", quoting=csv.QUOTE_NONE)]


def _ebay(world: World, folder: Path) -> list[Path]:
    """eBay Seller Hub > Orders > Download report (CSV): a blank line above the header; an order of several items is
    a summary row (buyer, total) followed by one row per item; "Mar-15-24" dates; "$12.99" money; trailer lines
    with the record count and the seller id."""
    o = _orders(world)
    rows = []
    lines = world.lines.groupby("order_no")
    for rec in o.itertuples():
        g = lines.get_group(rec.order_no)
        date = rec.ts.strftime("%b-%d-%y")
        base = {"Sales Record Number": 5000 + rec.order_no, "Order Number": f"{rec.order_no:02d}-{10000 + rec.order_no}-{_hash(str(rec.order_no), 5)}",
                "Buyer Username": rec.nick, "Buyer Name": rec.name, "Buyer Email": rec.email, "Buyer Address 1": rec.address,
                "Buyer City": rec.city, "Buyer Zip": "90001", "Buyer Country": "United States", "Sale Date": date,
                "Paid On Date": date}
        item_cols = lambda r: {"Item Number": 100000000000 + int(r.pid), "Item Title": r.name, "Custom Label": r.sku,  # noqa: E731
                               "Quantity": int(r.qty), "Sold For": money([r.price], "usd")[0]}
        if len(g) == 1:
            r = next(g.itertuples())
            rows.append({**base, **item_cols(r), "Total Price": money([rec.total], "usd")[0]})
        else:
            rows.append({**base, "Quantity": int(g["qty"].sum()), "Total Price": money([rec.total], "usd")[0]})
            for r in g.itertuples():
                rows.append({"Sales Record Number": 5000 + rec.order_no, "Order Number": base["Order Number"],
                             **item_cols(r), "Sale Date": date})
    cols = ["Sales Record Number", "Order Number", "Buyer Username", "Buyer Name", "Buyer Email", "Buyer Address 1",
            "Buyer City", "Buyer Zip", "Buyer Country", "Item Number", "Item Title", "Custom Label", "Quantity",
            "Sold For", "Total Price", "Sale Date", "Paid On Date"]
    out = pd.DataFrame(rows, columns=cols)
    path = folder / "eBay-OrdersReport-Jul-01-2024.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = out.to_csv(index=False, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    path.write_text("\r\n" + body + "\r\n" + f'"{len(o)} record(s) downloaded,from Jan-01-24 to Jun-30-24"\r\n'
                    + '"Seller ID : my_shop_2024"\r\n', encoding="utf-8")
    return [path]


def _etsy(world: World, folder: Path) -> list[Path]:
    """Etsy Shop Manager > Settings > Options > Download Data > Order Items (EtsySoldOrderItems2024.csv): a row per
    item, "Sale Date" month first with two-digit years (03/15/24), Price the unit price, Item Total the line."""
    j = _joined(world)
    date = j["ts"].dt.strftime("%m/%d/%y")
    out = pd.DataFrame({
        "Sale Date": date, "Item Name": j["name_x"], "Buyer": j["nick"], "Quantity": j["qty"],
        "Price": money(j["price"], "plain"), "Coupon Code": "", "Coupon Details": "", "Discount Amount": "0",
        "Delivery Discount": "0", "Order Delivery": "0", "Order Sales Tax": "0",
        "Item Total": money(j["amount"], "plain"), "Currency": "USD",
        "Transaction ID": 3000000000 + j.index, "Listing ID": 1500000000 + j["pid"], "Date Paid": date,
        "Date Posted": date, "Ship Name": j["name_y"], "Ship Address1": j["address"], "Ship City": j["city"],
        "Ship State": "CA", "Ship Zipcode": "90001", "Ship Country": "United States",
        "Order ID": 3100000000 + j["order_no"], "Variations": "", "Order Type": "online", "Listings Type": "listing",
        "Payment Type": "online_cc", "InPerson Discount": "", "InPerson Location": "", "VAT Paid by Buyer": "0",
        "SKU": j["sku"]})
    return [_csv(out, folder / "EtsySoldOrderItems2024.csv")]


def _taobao(world: World, folder: Path) -> list[Path]:
    """淘宝/天猫 卖家中心 > 已卖出的宝贝 > 批量导出: 订单报表 and 宝贝报表, GBK CSV; order numbers written as
    ="…" so Excel keeps their 18 digits; 订单状态 交易成功 / 交易关闭 / 等待买家付款; 退款金额 on the order."""
    o = _orders(world)
    number = [f'="{2024_0000_0000_0000_00 + n * 7}"' for n in o["order_no"]]
    status = _status(o["status"], {"paid": "交易成功", "partially_refunded": "交易成功", "refunded": "交易关闭",
                                   "cancelled": "交易关闭", "unpaid": "等待买家付款"})
    refund = o["refunded"].where(o["status"] != "refunded", o["total"])
    paid = o["status"].isin(["paid", "partially_refunded", "refunded"])
    orders = pd.DataFrame({
        "订单编号": number, "买家会员名": "tb_" + o["nick"], "买家支付宝账号": o["mobile_cn"],
        "买家应付货款": money(o["total"], "plain"), "买家应付邮费": "0.00", "总金额": money(o["total"], "plain"),
        "买家实际支付金额": np.where(paid, money(o["total"], "plain"), "0.00"),
        "订单状态": status, "买家留言": "", "收货人姓名": o["name"], "收货地址": "上海 上海市 浦东新区 " + o["address"],
        "联系手机": "'" + o["mobile_cn"], "订单创建时间": o["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        "订单付款时间": o["ts"].dt.strftime("%Y-%m-%d %H:%M:%S").where(paid, ""),
        "宝贝标题": "", "宝贝种类": o["kinds"], "宝贝总数量": o["items"], "店铺名称": "小店旗舰店",
        "订单关闭原因": np.where(o["status"] == "cancelled", "买家不想买了", np.where(o["status"] == "refunded",
                                                                             "退款", "订单未关闭")),
        "退款金额": money(refund, "plain")})
    j = world.lines.merge(o[["order_no", "status"]], on="order_no")
    items = pd.DataFrame({
        "订单编号": [f'="{2024_0000_0000_0000_00 + n * 7}"' for n in j["order_no"]], "标题": j["name"],
        "价格": money(j["price"], "plain"), "购买数量": j["qty"], "外部系统编号": j["sku"],
        "商品属性": "颜色分类：默认", "套餐信息": "", "备注": "", "订单状态": _status(j["status"], {
            "paid": "交易成功", "partially_refunded": "交易成功", "refunded": "交易关闭", "cancelled": "交易关闭",
            "unpaid": "等待买家付款"}), "商家编码": j["sku"]})
    return [_csv(orders, folder / "ExportOrderList202407011200.csv", encoding="gbk"),
            _csv(items, folder / "ExportOrderDetailList202407011200.csv", encoding="gbk")]


def _jd(world: World, folder: Path) -> list[Path]:
    """京东 POP 商家后台 > 订单查询与跟踪 > 导出 (xlsx): a row per item; the order's money (订单金额, 应付金额)
    repeated on every item row; 订单状态 完成 / 已取消 / 等待付款; 京东价 the unit price."""
    j = _joined(world)
    totals = j["order_no"].map(order_totals(world))
    out = pd.DataFrame({
        "订单号": (280000000000 + j["order_no"]).astype(str), "商品ID": (100012000000 + j["pid"]).astype(str),
        "商品名称": j["name_x"], "订购数量": j["qty"], "支付方式": "在线支付",
        "下单时间": j["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"), "京东价": j["price"], "订单金额": totals,
        "结算金额": totals, "应付金额": totals,
        "订单状态": _status(j["status"], {"paid": "完成", "cancelled": "已取消", "unpaid": "等待付款"}),
        "订单类型": "普通订单", "下单帐号": "jd_" + j["nick"], "客户姓名": j["name_y"],
        "客户地址": "北京 朝阳区 " + j["address"], "联系电话": j["mobile_cn"]})
    path = folder / "订单导出.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_excel(path, index=False, sheet_name="Sheet1")
    return [path]


def _youzan(world: World, folder: Path) -> list[Path]:
    """有赞 订单管理 > 导出: 订单 and 商品明细 as two CSVs (UTF-8 with BOM) joined by 订单号; 订单状态 交易成功 /
    交易关闭 / 待付款; 退款金额 on the order; the buyer's phone and nickname (personal)."""
    o = _orders(world)
    number = ["E" + t.strftime("%Y%m%d%H%M%S") + f"{n:06d}" for t, n in zip(o["ts"], o["order_no"])]
    refund = o["refunded"].where(o["status"] != "refunded", o["total"])
    paid = o["status"].isin(["paid", "partially_refunded", "refunded"])
    orders = pd.DataFrame({
        "订单号": number, "订单状态": _status(o["status"], {"paid": "交易成功", "partially_refunded": "交易成功",
                                                       "refunded": "交易关闭", "cancelled": "交易关闭",
                                                       "unpaid": "待付款"}),
        "退款状态": np.select([o["status"] == "refunded", o["status"] == "partially_refunded"],
                          ["全额退款", "部分退款"], ""),
        "订单创建时间": o["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        "买家付款时间": o["ts"].dt.strftime("%Y-%m-%d %H:%M:%S").where(paid, ""),
        "客户ID": (7_000_000 + o["cid"]).astype(str), "买家昵称": o["nick"], "买家手机号": o["mobile_cn"],
        "收货人/提货人": o["name"], "详细收货地址/提货地址": o["address"],
        "商品金额合计": money(o["total"], "plain"), "运费": "0.00",
        "订单实付金额": np.where(paid, money(o["total"], "plain"), "0.00"), "退款金额": money(refund, "plain")})
    j = world.lines.merge(o[["order_no"]].assign(number=number), on="order_no")
    items = pd.DataFrame({"订单号": j["number"], "商品名称": j["name"], "规格编码": j["sku"],
                          "商品单价": money(j["price"], "plain"), "商品数量": j["qty"],
                          "商品实际成交金额": money(j["amount"], "plain")})
    return [_csv(orders, folder / "订单列表.csv", encoding="utf-8-sig"),
            _csv(items, folder / "商品明细.csv", encoding="utf-8-sig")]


def _shopee(world: World, folder: Path) -> list[Path]:
    """Shopee Seller Centre > My Orders > Export (Order.all.xlsx): a row per item, the order's fields repeated;
    Order Status Completed / Cancelled / Unpaid; a partial refund as "Returned quantity" on the item with
    Return / Refund Status; "2024-03-15 10:22" creation dates; numbers as text; newest first."""
    j = _joined(world)
    returned = np.where((j["line_no"] == 1) & (j["status"] == "partially_refunded"), j["refund_units"], 0)
    stamp = j["ts"].dt.strftime("%Y-%m-%d %H:%M")
    out = pd.DataFrame({
        "Order ID": [t.strftime("%y%m%d") + _hash(str(n), 8).upper() for t, n in zip(j["ts"], j["order_no"])],
        "Order Status": _status(j["status"], {"paid": "Completed", "partially_refunded": "Completed",
                                              "cancelled": "Cancelled", "unpaid": "Unpaid"}),
        "Return / Refund Status": np.where(returned > 0, "Refund Completed", ""),
        "Order Creation Date": stamp, "Order Paid Time": stamp.where(j["status"] != "unpaid", ""),
        "Product Name": j["name_x"], "SKU Reference No.": j["sku"], "Variation Name": "",
        "Original Price": money(j["price"], "plain"), "Deal Price": money(j["price"], "plain"),
        "Quantity": j["qty"].astype(str), "Returned quantity": returned.astype(str),
        "Product Subtotal": money(j["amount"], "plain"),
        "Username (Buyer)": j["nick"], "Receiver Name": j["name_y"], "Phone Number": j["mobile_cn"],
        "Delivery Address": j["address"], "Town": "", "District": "", "Province": "Selangor", "Country": "Malaysia",
        "Zip Code": "40000"})
    out = out.iloc[::-1]
    path = folder / "Order.all.20240101_20240630.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_excel(path, index=False, sheet_name="orders")
    return [path]


# ---------------------------------------------------------------------------------------------------- tills (POS)


def _square(world: World, folder: Path) -> list[Path]:
    """Square Dashboard > Reports > Item Sales > Export (items-*.csv): Date and Time in separate columns with a
    Time Zone column; "$4.50" money; a refund is a row of its own with Event Type Refund, a negative Qty and
    "-$4.50" on the refund's date; Customer ID blank for walk-ins."""
    j = _joined(world)
    tx = [_hash(f"tx{n}", 22).upper() for n in j["order_no"]]
    cust = j["cid"].map(lambda c: "" if pd.isna(c) else _hash(f"cust{c}", 26).upper())
    sales = pd.DataFrame({
        "Date": j["ts"].dt.strftime("%Y-%m-%d"), "Time": j["ts"].dt.strftime("%H:%M:%S"),
        "Time Zone": "Pacific Time (US & Canada)", "Category": j["category"], "Item": j["name_x"],
        "Qty": j["qty"].astype(str), "Price Point Name": "Regular", "SKU": j["sku"], "Modifiers Applied": "",
        "Gross Sales": money(j["amount"], "usd"), "Discounts": "$0.00", "Net Sales": money(j["amount"], "usd"),
        "Tax": "$0.00", "Transaction ID": tx, "Payment ID": tx, "Device Name": "Counter 1", "Notes": "",
        "Details": "", "Event Type": "Payment", "Location": "Main Street", "Dining Option": "",
        "Customer ID": cust, "Customer Name": j["name_y"].fillna(""), "Customer Reference ID": "",
        "Unit": "", "Count": "", "Itemization Type": "Physical Item", "_ts": j["ts"]})
    r = _returns(world)
    rtx = [_hash(f"tx{n}", 22).upper() for n in r["order_no"]]
    refunds = pd.DataFrame({
        "Date": r["ts"].dt.strftime("%Y-%m-%d"), "Time": r["ts"].dt.strftime("%H:%M:%S"),
        "Time Zone": "Pacific Time (US & Canada)", "Category": "", "Item": r["name_x"],
        "Qty": (-r["qty"]).astype(str), "Price Point Name": "Regular", "SKU": r["sku"], "Modifiers Applied": "",
        "Gross Sales": money(-r["amount"], "usd"), "Discounts": "$0.00", "Net Sales": money(-r["amount"], "usd"),
        "Tax": "$0.00", "Transaction ID": rtx, "Payment ID": [_hash(f"rf{n}", 22).upper() for n in r["return_no"]],
        "Device Name": "Counter 1", "Notes": "", "Details": "", "Event Type": "Refund", "Location": "Main Street",
        "Dining Option": "", "Customer ID": r["cid"].map(lambda c: "" if pd.isna(c) else _hash(f"cust{c}", 26).upper()),
        "Customer Name": r["name_y"].fillna(""), "Customer Reference ID": "", "Unit": "", "Count": "",
        "Itemization Type": "Physical Item", "_ts": r["ts"]})
    out = pd.concat([sales, refunds]).sort_values("_ts", ascending=False, kind="stable").drop(columns="_ts")
    return [_csv(out, folder / "items-2024-01-01-2024-07-01.csv")]


def _lightspeed(world: World, folder: Path) -> list[Path]:
    """Lightspeed Retail (X-Series, formerly Vend) > Sales history > Export: each sale is a "Sale" row (its totals),
    "Sale Line" rows (items) and a "Payment" row; Status CLOSED / VOIDED; a return is a sale of its own with
    negative quantities; walk-ins have no Customer Code."""
    o = _orders(world)
    o = o[o["status"].isin(["paid", "cancelled"])]
    rows = []
    lines = world.lines.groupby("order_no")

    def sale(receipt, ts, code, name, status, items):
        total = float(np.round(sum(a for _, _, _, a in items), 2))
        stamp = ts.strftime("%Y-%m-%d %H:%M:%S")
        common = {"Date": stamp, "Receipt Number": receipt, "Customer Code": code, "Customer Name": name,
                  "Register": "Main Register", "User": "staff", "Status": status}
        rows.append({**common, "Line Type": "Sale", "Quantity": sum(q for _, _, q, _ in items),
                     "Subtotal": total, "Sales Tax": 0.0, "Discount": 0.0, "Loyalty": 0.0, "Total": total,
                     "Paid": total if status == "CLOSED" else 0.0, "Details": ""})
        for sku, title, q, a in items:
            rows.append({**common, "Line Type": "Sale Line", "Quantity": q, "Subtotal": a, "Sales Tax": 0.0,
                         "Discount": 0.0, "Loyalty": 0.0, "Total": a, "Paid": "", "Details": title, "Sku": sku})
        if status == "CLOSED":
            rows.append({**common, "Line Type": "Payment", "Quantity": "", "Subtotal": "", "Total": total,
                         "Paid": total, "Details": "Cash"})

    events = [(rec.ts, "sale", rec) for rec in o.itertuples()]
    events += [(rec.ts, "return", rec) for rec in _returns(world).itertuples()]
    events.sort(key=lambda e: (e[0], e[1]))
    for ts, kind, rec in events:
        code = "" if pd.isna(rec.cid) else f"{int(rec.cid) + 1:06d}"
        if kind == "sale":
            name = "" if pd.isna(rec.cid) else rec.name
            items = [(r.sku, r.name, int(r.qty), float(r.amount)) for r in lines.get_group(rec.order_no).itertuples()]
            sale(str(rec.order_no), ts, code, name, "CLOSED" if rec.status == "paid" else "VOIDED", items)
        else:
            name = "" if pd.isna(rec.cid) else rec.name_y
            sale(f"{100000 + rec.return_no}", ts, code, name, "CLOSED",
                 [(rec.sku, rec.name_x, -int(rec.qty), -float(rec.amount))])
    cols = ["Date", "Receipt Number", "Line Type", "Customer Code", "Customer Name", "Note", "Quantity", "Subtotal",
            "Sales Tax", "Discount", "Loyalty", "Total", "Paid", "Details", "Register", "User", "Status", "Sku",
            "AccountCodeSale", "AccountCodePurchase"]
    out = pd.DataFrame(rows).reindex(columns=cols)
    return [_csv(out, folder / "sales-history.csv")]


def _toast(world: World, folder: Path) -> list[Path]:
    """Toast Web > Reports > Check Details (CheckDetails.csv): one row per check, no items; "Opened Date" (3/15/24)
    and "Opened Time" (12:05 PM) in separate columns; the guest's id, name, phone and email where known."""
    o = _orders(world)
    known = o["cid"].notna()
    out = pd.DataFrame({
        "Customer Id": np.where(known, o["cid"].map(lambda c: "" if pd.isna(c) else _hash(f"g{c}", 8) + "-" +
                                                    _hash(f"h{c}", 4)), ""),
        "Customer": o["name"].fillna(""), "Customer Phone": o["phone"].fillna(""),
        "Customer Email": o["email"].fillna(""), "Location Code": "001",
        "Opened Date": [f"{t.month}/{t.day}/{t:%y}" for t in o["ts"]],
        "Opened Time": [t.strftime("%I:%M %p").lstrip("0") for t in o["ts"]],
        "Item Description": "", "Server": "Sam", "Tax": "0.00", "Tender": "VISA",
        "Check Id": (400000000000 + o["order_no"]).astype(str), "Check #": (o["order_no"] % 900 + 1),
        "Total": money(o["total"], "plain"), "Customer Family": "", "Table Size": 2, "Discount": "0.00",
        "Reason of Discount": "", "Link": ""})
    return [_csv(out, folder / "CheckDetails.csv")]


def _clover(world: World, folder: Path) -> list[Path]:
    """Clover Dashboard > Transactions > Orders > Export: one row per order, no items; "15-Mar-2024 12:05 PM EST"
    with the zone's abbreviation; Order Payment State Paid / Refunded / Partially Refunded / Open; Refunds Total;
    newest first."""
    o = _orders(world)
    local = o["ts"].dt.tz_localize("America/New_York")
    stamp = [t.strftime("%d-%b-%Y %I:%M %p ") + t.tzname() for t in local]
    refund = o["refunded"].where(o["status"] != "refunded", o["total"])
    out = pd.DataFrame({
        "Order Date": stamp, "Order ID": [_hash(f"cl{n}", 13).upper() for n in o["order_no"]], "Currency": "USD",
        "Tax Amount": "$0.00", "Tip": "$0.00", "Service Charge": "$0.00", "Discount": "$0.00",
        "Order Total": money(o["total"], "usd"),
        "Payments Total": money(np.where(o["status"] == "unpaid", 0.0, o["total"]), "usd"),
        "Refunds Total": money(refund, "usd"), "Manual Refunds Total": "$0.00",
        "Tender": "Credit Card", "Order Payment State": _status(o["status"], {
            "paid": "Paid", "partially_refunded": "Partially Refunded", "refunded": "Refunded", "unpaid": "Open"}),
        "Customer Name": o["name"].fillna(""), "Employee": "Owner", "Note": ""}).iloc[::-1]
    return [_csv(out, folder / "Orders-20240701.csv")]


def _clover_with_id(world: World, folder: Path) -> list[Path]:
    """The Clover orders export with the customer's id beside the name (a merchant with customer profiles on, the
    id as Clover writes its ids: 13 upper-case letters and digits): the same times (EST/EDT) and Refunds Total."""
    path = _clover(world, folder)[0]
    out = pd.read_csv(path, dtype=str, keep_default_na=False)
    o = _orders(world).iloc[::-1]
    ids = o["cid"].map(lambda c: "" if pd.isna(c) else _hash(f"clover-customer{c}", 13).upper())
    out.insert(out.columns.get_loc("Customer Name"), "Customer ID", ids.to_numpy())
    return [_csv(out, path)]


def _pospal(world: World, folder: Path) -> list[Path]:
    """A Chinese till (银豹收银 style) 销售单据明细 exported as GBK CSV: two title lines and a blank line above the
    header, a 合计 row at the end; 单据类型 销售 / 退货, a return being its own receipt with negative 数量 and
    实收金额; walk-ins without 会员卡号; amounts over 1,000 with a thousands separator."""
    j = _joined(world)
    sales = pd.DataFrame({
        "单据号": [t.strftime("%Y%m%d%H%M%S") + f"{n % 1000:03d}" for t, n in zip(j["ts"], j["order_no"])],
        "销售时间": j["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"), "收银员": "1001",
        "会员卡号": j["cid"].map(lambda c: "" if pd.isna(c) else f"VIP{int(c):06d}"),
        "会员姓名": j["name_y"].fillna(""), "商品条码": "69" + (j["pid"] + 10000000000).astype(str),
        "商品名称": j["name_x"], "数量": j["qty"], "单价": money(j["price"], "cny_thousands"),
        "实收金额": money(j["amount"], "cny_thousands"), "付款方式": "微信支付", "单据类型": "销售", "_ts": j["ts"]})
    r = _returns(world)
    back = pd.DataFrame({
        "单据号": ["T" + t.strftime("%Y%m%d%H%M%S") + f"{n % 1000:03d}" for t, n in zip(r["ts"], r["return_no"])],
        "销售时间": r["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"), "收银员": "1001",
        "会员卡号": r["cid"].map(lambda c: "" if pd.isna(c) else f"VIP{int(c):06d}"),
        "会员姓名": r["name_y"].fillna(""), "商品条码": "69" + (r["pid"] + 10000000000).astype(str),
        "商品名称": r["name_x"], "数量": -r["qty"], "单价": money(r["price"], "cny_thousands"),
        "实收金额": money(-r["amount"], "cny_thousands"), "付款方式": "微信支付", "单据类型": "退货", "_ts": r["ts"]})
    out = pd.concat([sales, back]).sort_values("_ts", kind="stable").drop(columns="_ts")
    total = float(world.lines["amount"].sum() - world.returns["amount"].sum())
    path = folder / "销售单据明细.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = out.to_csv(index=False, lineterminator="\r\n")
    foot = ",".join(["合计", "", "", "", "", "", "", str(int(out["数量"].sum())), "", f'"{total:,.2f}"', "", ""])
    text = "销售单据明细表\r\n查询时间：2024-01-01 00:00:00 至 2024-06-30 23:59:59\r\n\r\n" + body + foot + "\r\n"
    path.write_bytes(text.encode("gbk"))
    return [path]


def _loyalty_jp(world: World, folder: Path) -> list[Path]:
    """A Japanese membership points system's transaction export (ポイント履歴): Shift_JIS (cp932) CSV; 取引日 and
    取引時刻 in separate columns; 取引区分 売上 / 返品 / 取消 (a void: the whole receipt); whole yen as "￥1,234"."""
    j = _joined(world)
    kind = _status(j["status"], {"paid": "売上", "cancelled": "取消"})
    sales = pd.DataFrame({
        "会員番号": j["cid"].map(lambda c: f"{8000000000 + int(c)}"), "取引日": j["ts"].dt.strftime("%Y/%m/%d"),
        "取引時刻": j["ts"].dt.strftime("%H:%M:%S"), "店舗コード": "0012",
        "レシート番号": (j["order_no"] + 100000).astype(str), "取引区分": kind, "商品コード": j["sku"],
        "商品名": "商品" + j["pid"].astype(str), "数量": j["qty"], "金額": money(j["amount"], "yen"),
        "付与ポイント": (j["amount"] // 100).astype(int), "_ts": j["ts"]})
    r = _returns(world)
    back = pd.DataFrame({
        "会員番号": r["cid"].map(lambda c: f"{8000000000 + int(c)}"), "取引日": r["ts"].dt.strftime("%Y/%m/%d"),
        "取引時刻": r["ts"].dt.strftime("%H:%M:%S"), "店舗コード": "0012",
        "レシート番号": (r["return_no"] + 900000).astype(str), "取引区分": "返品", "商品コード": r["sku"],
        "商品名": "商品" + r["pid"].astype(str), "数量": r["qty"], "金額": money(r["amount"], "yen"),
        "付与ポイント": -(r["amount"] // 100).astype(int), "_ts": r["ts"]})
    out = pd.concat([sales, back]).sort_values("_ts", kind="stable").drop(columns="_ts")
    return [_csv(out, folder / "point_history.csv", encoding="cp932", lineterminator="\r\n")]


# ---------------------------------------------------------------------------------------------------- ERP, warehouse


def _odoo(world: World, folder: Path) -> list[Path]:
    """Odoo Sales > Orders > select all > Export (xlsx) of sale.order with its lines: the order's fields only on
    its first row, "Order Lines/…" fields on every row; Status Sales Order / Locked / Cancelled / Quotation;
    B2B customers by company name."""
    j = _joined(world)
    first = j["line_no"] == 1
    # one company per customer: "Wilson & Emma Trading Ltd" (a surname and a first name make a customer unique)
    companies = [f"{a} & {b} {'Trading' if i % 3 else 'Supplies'} {'GmbH' if i % 2 else 'Ltd'}"
                 for a, b, i in zip(j["last"], j["first"], j["cid"].astype(int))]
    status = _status(j["status"], {"paid": "Sales Order", "cancelled": "Cancelled", "unpaid": "Quotation"})
    status = status.where(~((j["status"] == "paid") & (j["order_no"] % 4 == 0)), "Locked")
    out = pd.DataFrame({
        "Order Reference": ("S" + j["order_no"].astype(str).str.zfill(5)).where(first, None),
        "Order Date": j["ts"].where(first, None),
        "Customer": pd.Series(companies, index=j.index).where(first, None),
        "Status": status.where(first, None),
        "Order Lines/Product": "[" + j["sku"] + "] " + j["name_x"],
        "Order Lines/Quantity": j["qty"].astype(float),
        "Order Lines/Unit Price": j["price"], "Order Lines/Subtotal": j["amount"]})
    path = folder / "sale.order.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_excel(path, index=False, sheet_name="Sheet1")
    return [path]


def _sap_b1(world: World, folder: Path) -> list[Path]:
    """SAP Business One > Sales Analysis report exported to Excel, one sheet per month: two title rows and a
    blank row above the header, a "Total" row at the end of each sheet; dates as text dd.mm.yyyy; A/R Credit
    Memos (returns) with negative quantity and total."""
    j = _joined(world)
    inv = pd.DataFrame({"Document Type": "A/R Invoice", "Document No.": 10000 + j["order_no"], "ts": j["ts"],
                        "Customer Code": "C" + (j["cid"].astype(int) + 20000).astype(str), "Customer Name": j["last"] + " AG",
                        "Item No.": j["sku"], "Item Description": j["name_x"], "Quantity": j["qty"].astype(float),
                        "Row Total (LC)": j["amount"]})
    r = _returns(world)
    cm = pd.DataFrame({"Document Type": "A/R Credit Memo", "Document No.": 50000 + r["return_no"], "ts": r["ts"],
                       "Customer Code": "C" + (r["cid"].astype(int) + 20000).astype(str), "Customer Name": r["last"] + " AG",
                       "Item No.": r["sku"], "Item Description": r["name_x"], "Quantity": -r["qty"].astype(float),
                       "Row Total (LC)": -r["amount"]})
    allrows = pd.concat([inv, cm]).sort_values("ts", kind="stable")
    path = folder / "Sales_Analysis_2024H1.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path) as writer:
        for month, part in allrows.groupby(allrows["ts"].dt.to_period("M")):
            sheet = part.assign(**{"Posting Date": part["ts"].dt.strftime("%d.%m.%Y")}).drop(columns="ts")
            sheet.insert(0, "#", np.arange(1, len(sheet) + 1))
            sheet = sheet[["#", "Customer Code", "Customer Name", "Document Type", "Document No.", "Posting Date",
                           "Item No.", "Item Description", "Quantity", "Row Total (LC)"]]
            total = pd.DataFrame([{"#": "Total", "Quantity": sheet["Quantity"].sum(),
                                   "Row Total (LC)": round(sheet["Row Total (LC)"].sum(), 2)}])
            sheet = pd.concat([sheet, total], ignore_index=True)
            pd.DataFrame([["Sales Analysis by Customer (Detailed)"], [f"Posting Date {month.start_time:%d.%m.%Y} - "
                                                                      f"{month.end_time:%d.%m.%Y}"]]).to_excel(
                writer, sheet_name=str(month), index=False, header=False, startrow=0)
            sheet.to_excel(writer, sheet_name=str(month), index=False, startrow=3)
    return [path]


def _business_central(world: World, folder: Path) -> list[Path]:
    """Microsoft Dynamics 365 Business Central (German) > Gebuchte Verkaufszeilen, exported each month to CSV:
    Windows-1252, semicolons, decimal commas with "." thousands, dd.mm.yyyy; Belegart Rechnung / Gutschrift
    (a credit memo's lines are written with positive amounts: the document type tells)."""
    j = _joined(world)
    inv = pd.DataFrame({"Belegart": "Rechnung", "Belegnr.": "VR" + (100000 + j["order_no"]).astype(str),
                        "ts": j["ts"], "Verk. an Deb.-Nr.": "D" + (j["cid"].astype(int) + 10000).astype(str),
                        "Name": "Müller & Söhne " + j["last"], "Nr.": j["sku"], "Beschreibung": j["name_x"],
                        "Menge": j["qty"], "VK-Preis": money(j["price"], "de"), "Zeilenbetrag": money(j["amount"], "de")})
    r = _returns(world)
    cm = pd.DataFrame({"Belegart": "Gutschrift", "Belegnr.": "VG" + (200000 + r["return_no"]).astype(str),
                       "ts": r["ts"], "Verk. an Deb.-Nr.": "D" + (r["cid"].astype(int) + 10000).astype(str),
                       "Name": "Müller & Söhne " + r["last"], "Nr.": r["sku"], "Beschreibung": r["name_x"],
                       "Menge": r["qty"], "VK-Preis": money(r["price"], "de"), "Zeilenbetrag": money(r["amount"], "de")})
    allrows = pd.concat([inv, cm]).sort_values("ts", kind="stable")
    files = []
    for month, part in allrows.groupby(allrows["ts"].dt.to_period("M")):
        part = part.assign(Buchungsdatum=part["ts"].dt.strftime("%d.%m.%Y")).drop(columns="ts")
        part = part[["Buchungsdatum", "Belegart", "Belegnr.", "Verk. an Deb.-Nr.", "Name", "Nr.", "Beschreibung",
                     "Menge", "VK-Preis", "Zeilenbetrag"]]
        files.append(_csv(part, folder / "Verkaufszeilen" / f"Verkaufszeilen_{month}.csv", encoding="cp1252",
                          sep=";", lineterminator="\r\n"))
    return [folder / "Verkaufszeilen"]


def _warehouse(world: World, folder: Path) -> list[Path]:
    """A data warehouse's fact table dumped to Parquet, partitioned Hive-style (year=/month=/part-0.parquet):
    typed columns (int64 keys, decimal(12,2) money, timestamps with the shop's zone), returns as rows with
    line_type 'return' and a positive amount."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    j = world.lines.merge(world.orders, on="order_no")
    sales = pd.DataFrame({"customer_key": j["cid"], "order_key": "SO" + j["order_no"].astype(str), "order_ts": j["ts"],
                          "product_key": j["pid"] + 1, "quantity": j["qty"], "net_amount": j["amount"],
                          "line_type": "sale", "channel": "store"})
    r = world.returns
    back = pd.DataFrame({"customer_key": r["cid"], "order_key": "RT" + r["return_no"].astype(str), "order_ts": r["ts"],
                         "product_key": r["pid"] + 1, "quantity": r["qty"], "net_amount": r["amount"],
                         "line_type": "return", "channel": "store"})
    allrows = pd.concat([sales, back]).sort_values("order_ts", kind="stable")
    allrows["order_ts"] = allrows["order_ts"].dt.tz_localize("Asia/Shanghai")
    from decimal import Decimal

    schema = pa.schema([("customer_key", pa.int64()), ("order_key", pa.string()),
                        ("order_ts", pa.timestamp("us", tz="Asia/Shanghai")), ("product_key", pa.int64()),
                        ("quantity", pa.int32()), ("net_amount", pa.decimal128(12, 2)), ("line_type", pa.string()),
                        ("channel", pa.string())])
    root = folder / "fact_sales"
    for (y, m), part in allrows.groupby([allrows["order_ts"].dt.year, allrows["order_ts"].dt.month]):
        part = part.assign(net_amount=[Decimal(f"{v:.2f}") for v in part["net_amount"]],
                           customer_key=part["customer_key"].astype("Int64"))
        table = pa.Table.from_pandas(part, schema=schema, preserve_index=False)
        target = root / f"year={y}" / f"month={m}"
        target.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, target / "part-0.parquet")
    return [root]


def _online_retail(world: World, folder: Path) -> list[Path]:
    """A dataset as published (UCI Online Retail II's layout): an xlsx with one sheet per period, Invoice,
    StockCode, Description, Quantity, InvoiceDate, Price (unit), Customer ID as a float, Country; a
    cancellation is an invoice "C…" with a negative quantity on its own date; guests without a Customer ID."""
    j = _joined(world)
    sales = pd.DataFrame({"Invoice": (500000 + j["order_no"]).astype(str), "StockCode": j["sku"].str[4:],
                          "Description": j["name_x"].str.upper(), "Quantity": j["qty"], "InvoiceDate": j["ts"],
                          "Price": j["price"], "Customer ID": (j["cid"].astype("float64") + 12000),
                          "Country": "United Kingdom"})
    r = _returns(world)
    back = pd.DataFrame({"Invoice": "C" + (580000 + r["return_no"]).astype(str), "StockCode": r["sku"].str[4:],
                         "Description": r["name_x"].str.upper(), "Quantity": -r["qty"], "InvoiceDate": r["ts"],
                         "Price": r["price"], "Customer ID": (r["cid"].astype("float64") + 12000),
                         "Country": "United Kingdom"})
    allrows = pd.concat([sales, back]).sort_values("InvoiceDate", kind="stable")
    path = folder / "online_retail_II.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    cut = pd.Timestamp("2024-04-01")
    with pd.ExcelWriter(path) as writer:
        allrows[allrows["InvoiceDate"] < cut].to_excel(writer, sheet_name="Year 2024 Q1", index=False)
        allrows[allrows["InvoiceDate"] >= cut].to_excel(writer, sheet_name="Year 2024 Q2", index=False)
    return [path]


def _membership(world: World, folder: Path) -> list[Path]:
    """A membership store's three tables (the worked case's shape): line items with Chinese headers (UTF-8), the
    member form (with personal columns: name, phone) and the catalogue, each its own CSV."""
    j = _joined(world)
    lines = pd.DataFrame({"会员卡号": j["cid"].map(lambda c: f"M{int(c):06d}"),
                          "小票号": (880000 + j["order_no"]).astype(str),
                          "交易时间": j["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"), "商品编码": j["sku"],
                          "数量": j["qty"], "实收金额": money(j["amount"], "plain")})
    c = world.customers
    members = pd.DataFrame({"会员卡号": c["cid"].map(lambda i: f"M{int(i):06d}"), "姓名": c["name"],
                            "手机": c["mobile_cn"], "性别": np.where(c["cid"] % 2, "女", "男"),
                            "年龄段": np.array(["18-25", "26-35", "36-45", "46-55"])[c["cid"] % 4],
                            "入会日期": "2023-06-01"})
    p = world.products
    products = pd.DataFrame({"商品编码": p["sku"], "商品名称": p["name"], "品类": p["category"], "品牌": "自有品牌"})
    return [_csv(lines, folder / "sales.csv"), _csv(members, folder / "members.csv"),
            _csv(products, folder / "products.csv")]


# ---------------------------------------------------------------------------------------------------- held-out platforms
# Added by the held-out pass of issue 37: platforms the first zoo did not hold, each written as the platform does.


def _bigcommerce(world: World, folder: Path) -> list[Path]:
    """BigCommerce control panel > Orders > Export (the "Default" template, CSV): one row per order; the items
    packed into one "Product Details" cell ("Product ID: 12, Product Qty: 2, ... Product Total Price: 25.98|...");
    Order Date in RFC 2822 ("Fri, 15 Mar 2024 10:22:11 +0000"); guest orders (placed without an account) carry
    Customer ID 0 and no email; Order Status Completed / Shipped / Awaiting Fulfillment / Partially Refunded /
    Refunded / Cancelled / Awaiting Payment; Refund Amount on the order."""
    o = _orders(world)
    status = _status(o["status"], {"paid": "Completed", "partially_refunded": "Partially Refunded",
                                   "refunded": "Refunded", "cancelled": "Cancelled", "unpaid": "Awaiting Payment"})
    status = status.where(~((o["status"] == "paid") & (o["order_no"] % 4 == 0)), "Shipped")
    status = status.where(~((o["status"] == "paid") & (o["order_no"] % 7 == 0)), "Awaiting Fulfillment")
    refund = o["refunded"].where(o["status"] != "refunded", o["total"])
    guest = o["cid"].isna()
    lines = world.lines
    cell = ("Product ID: " + (lines["pid"] + 100).astype(str) + ", Product Qty: " + lines["qty"].astype(str)
            + ", Product SKU: " + lines["sku"] + ", Product Name: " + lines["name"] + ", Product Weight: 0.5000"
            + ", Product Variation Details: , Product Unit Price: " + pd.Series(money(lines["price"], "plain"))
            + ", Product Total Price: " + pd.Series(money(lines["amount"], "plain")))
    details = cell.groupby(lines["order_no"]).agg("|".join)
    out = pd.DataFrame({
        "Order ID": o["order_no"] + 100, "Customer ID": o["cid"].astype("float").add(1).fillna(0).astype(int),
        "Customer Name": o["name"].where(~guest, "Guest"), "Customer Email": o["email"].where(~guest, ""),
        "Customer Phone": o["phone"].where(~guest, ""),
        "Order Date": o["ts"].dt.strftime("%a, %d %b %Y %H:%M:%S +0000"), "Order Status": status,
        "Subtotal (inc tax)": money(o["total"], "plain"), "Subtotal (ex tax)": money(o["total"], "plain"),
        "Tax Total": "0.0000", "Shipping Cost (inc tax)": "0.0000", "Ship Method": "Free Shipping",
        "Order Total (inc tax)": money(o["total"], "plain"), "Order Total (ex tax)": money(o["total"], "plain"),
        "Payment Method": np.where(o["status"] == "unpaid", "Bank Deposit", "Credit Card"),
        "Total Quantity": o["items"], "Total Shipped": np.where(status == "Shipped", o["items"], 0),
        "Order Currency Code": "USD", "Exchange Rate": "1.0000000000", "Order Notes": "", "Customer Message": "",
        "Billing First Name": o["first"].where(~guest, ""), "Billing Last Name": o["last"].where(~guest, ""),
        "Billing Street 1": o["address"].where(~guest, ""), "Billing Suburb": o["city"].where(~guest, ""),
        "Billing Country": "United States", "Product Details": o["order_no"].map(details),
        "Refund Amount": money(refund, "plain"), "Channel ID": 1, "Channel Name": "My Store"})
    return [_csv(out, folder / "orders-2024-07-01.csv")]


def _wix(world: World, folder: Path) -> list[Path]:
    """Wix Stores dashboard > Orders > Export (CSV): a row per item with the order's fields repeated on every row
    (its Total and Refunded amount too); "Date created" as "Mar 15, 2024" and "Time" as "10:22 AM" in two columns;
    Payment status Paid / Partially refunded / Refunded / Not paid, a cancelled order's status Canceled;
    Contact email as the only customer key."""
    j = _joined(world)
    totals = j["order_no"].map(order_totals(world))
    refund = j["refunded"].where(j["status"] != "refunded", totals)
    refunded_qty = np.where((j["line_no"] == 1) & (j["status"] == "partially_refunded"), j["refund_units"], 0)
    out = pd.DataFrame({
        "Order #": (10000 + j["order_no"]).astype(str),
        "Date created": j["ts"].dt.strftime("%b %d, %Y").str.replace(r" 0(\d),", r" \1,", regex=True),
        "Time": j["ts"].dt.strftime("%I:%M %p").str.lstrip("0"),
        "Fulfill by": "", "Total order quantity": j["order_no"].map(world.lines.groupby("order_no")["qty"].sum()),
        "Contact email": j["email"], "Note from customer": "", "Additional checkout info": "",
        "Item": j["name_x"], "Variant": "", "SKU": j["sku"], "Qty": j["qty"], "Quantity refunded": refunded_qty,
        "Price": money(j["price"], "plain"), "Weight": "0.5", "Custom text": "", "Deposit amount": "",
        "Delivery method": "Standard Shipping", "Delivery time": "3-5 business days", "Recipient name": j["name_y"],
        "Recipient phone": j["phone"], "Recipient company name": "", "Delivery country": "US",
        "Delivery state": "US-CA", "Delivery city": j["city"], "Delivery address": j["address"],
        "Delivery zip/postal code": "90210", "Billing name": j["name_y"], "Billing phone": j["phone"],
        "Billing company name": "", "Billing country": "US", "Billing state": "US-CA", "Billing city": j["city"],
        "Billing address": j["address"], "Billing zip/postal code": "90210",
        "Payment method": "Credit/debit card", "Coupon code": "", "Gift card amount": "", "Shipping rate": "0",
        "Total tax": "0", "Total": money(totals, "plain"), "Currency": "USD",
        "Refunded amount": money(refund, "plain"), "Net amount": money(totals - refund, "plain"),
        "Additional fees": "", "Fulfillment status": np.where(j["status"].isin(["paid", "partially_refunded"]),
                                                             "Fulfilled", "Not fulfilled"),
        "Tracking number": "",
        "Payment status": _status(j["status"], {"paid": "Paid", "partially_refunded": "Partially refunded",
                                                "refunded": "Refunded", "cancelled": "Canceled",
                                                "unpaid": "Not paid"})})
    out = out.iloc[::-1]
    return [_csv(out, folder / "orders.csv")]


def _stripe(world: World, folder: Path) -> list[Path]:
    """Stripe Dashboard > Payments > Export (unified_payments.csv, default columns): one row per payment, no items;
    "Created date (UTC)" as "2024-03-15 10:22:11" (the shop keeps UTC); Amount and Amount Refunded in the
    currency's unit with a dot; Currency "usd" in lower case; Status Paid / Refunded / Failed / Canceled
    (a partial refund stays Paid with its Amount Refunded); guest payments without a Customer ID."""
    o = _orders(world)
    refund = o["refunded"].where(o["status"] != "refunded", o["total"])
    guest = o["cid"].isna()
    fee = np.round(o["total"] * 0.029 + 0.30, 2)
    out = pd.DataFrame({
        "id": ["py_3O" + _hash(f"py{n}", 22) for n in o["order_no"]],
        "Description": "Payment for Invoice",
        "Seller Message": np.select([o["status"] == "unpaid", o["status"] == "cancelled"],
                                    ["The bank did not return any further details.", "Payment canceled."],
                                    "Payment complete."),
        "Created date (UTC)": o["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        "Amount": money(o["total"], "plain"), "Amount Refunded": money(refund, "plain"), "Currency": "usd",
        "Captured": np.where(o["status"].isin(["unpaid", "cancelled"]), "false", "true"),
        "Converted Amount": money(o["total"], "plain"), "Converted Amount Refunded": money(refund, "plain"),
        "Fee": money(np.where(o["status"].isin(["unpaid", "cancelled"]), 0, fee), "plain"), "Tax": "0.00",
        "Converted Currency": "usd",
        "Status": _status(o["status"], {"paid": "Paid", "partially_refunded": "Paid", "refunded": "Refunded",
                                        "cancelled": "Canceled", "unpaid": "Failed"}),
        "Statement Descriptor": "MY STORE", "Customer ID": o["cid"].map(lambda c: "" if pd.isna(c)
                                                                        else "cus_" + _hash(f"c{c}", 14)),
        "Customer Description": o["name"].where(~guest, ""), "Customer Email": o["email"].where(~guest, ""),
        "Card ID": ["pm_1O" + _hash(f"pm{n}", 22) for n in o["order_no"]], "Card Brand": "Visa",
        "Card Funding": "credit", "Card Last4": "4242", "Card Address Country": "US",
        "Invoice ID": ["in_1O" + _hash(f"in{n}", 22) for n in o["order_no"]],
        "Transfer": "", "Transfer Group": ""}).iloc[::-1]
    return [_csv(out, folder / "unified_payments.csv")]


def _loyverse(world: World, folder: Path) -> list[Path]:
    """Loyverse Back Office > Sales by item > Receipts > Export (receipts by item, CSV): a row per item; Date as
    "3/15/24 10:22 AM" (date and 12-hour time in one cell); Receipt type Sale / Refund, a refund a receipt of its
    own with positive amounts (the type tells); Status Closed / Cancelled; "Customer contacts" the email the
    customer gave (the only key), blank for walk-ins."""
    j = _joined(world)
    j = j[j["status"].isin(["paid", "cancelled"])]

    def stamp(ts: pd.Series) -> pd.Series:
        return (ts.dt.month.astype(str) + "/" + ts.dt.day.astype(str) + "/" + ts.dt.strftime("%y") + " "
                + ts.dt.strftime("%I:%M %p").str.lstrip("0"))

    def rows(f: pd.DataFrame, receipt, kind, status, stamps) -> pd.DataFrame:
        return pd.DataFrame({
            "Date": stamps, "Receipt number": receipt, "Receipt type": kind, "Category": f["category"],
            "SKU": f["sku"].str[4:], "Item": f["name_x"], "Variant": "", "Modifiers applied": "",
            "Quantity": f["qty"], "Gross sales": money(f["amount"], "plain"), "Discounts": "0.00",
            "Net sales": money(f["amount"], "plain"), "Cost of goods": money(f["amount"] * 0.4, "plain"),
            "Gross profit": money(f["amount"] * 0.6, "plain"), "Taxes": "0.00", "Dining option": "",
            "POS": "POS 1", "Store": "Main store", "Cashier name": "Owner",
            "Customer name": f["name_y"].fillna(""), "Customer contacts": f["email"].fillna(""), "Comment": "",
            "Status": status})

    sales = rows(j, "1-" + (1000 + j["order_no"]).astype(str), "Sale",
                 np.where(j["status"] == "cancelled", "Cancelled", "Closed"), stamp(j["ts"])).assign(_ts=j["ts"].values)
    r = _returns(world).merge(world.products[["pid", "category"]], on="pid", how="left")
    back = rows(r, "1-" + (5000 + r["return_no"]).astype(str), "Refund", "Closed", stamp(r["ts"])).assign(
        _ts=r["ts"].values)
    out = pd.concat([sales, back]).sort_values("_ts", ascending=False, kind="stable").drop(columns="_ts")
    return [_csv(out, folder / "receipts-by-item-2024-01-01-2024-06-30.csv")]


_MESES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre")


def _mercadolibre(world: World, folder: Path) -> list[Path]:
    """Mercado Libre (Argentina) > Ventas > Descargar reporte (Ventas_AR_*.xlsx): a title row, the period, a blank
    row and a row of section headings above the column names; one sale a row (one item a sale); "Fecha de venta"
    as "15 de marzo de 2024 10:22 hs."; Estado Entregado / Cancelada / Pago pendiente / Devuelta; refunds as a
    negative "Anulaciones y reembolsos (ARS)"; the buyer as a name and a document number."""
    j = _joined(world)
    fecha = (j["ts"].dt.day.astype(str) + " de " + j["ts"].dt.month.map(lambda m: _MESES[m - 1]) + " de "
             + j["ts"].dt.strftime("%Y %H:%M") + " hs.")
    refund = j["refunded"].where(j["status"] != "refunded", j["amount"])
    ingresos = j["amount"].where(j["status"] != "unpaid", 0.0)
    cancelled = j["status"].isin(["cancelled"])
    anul = -np.where(cancelled, ingresos, refund)
    estado = _status(j["status"], {"paid": "Entregado", "partially_refunded": "Entregado",
                                   "refunded": "Devuelta", "cancelled": "Cancelada", "unpaid": "Pago pendiente"})
    desc = _status(j["status"], {"paid": "Tu comprador ya tiene el producto.",
                                 "partially_refunded": "Le devolviste parte del dinero a tu comprador.",
                                 "refunded": "Le devolvimos el dinero a tu comprador.",
                                 "cancelled": "Cancelada por el comprador.", "unpaid": "Esperando la acreditación."})
    out = pd.DataFrame({
        "# de venta": (2000007000000 + j["order_no"] * 37).astype(str), "Fecha de venta": fecha, "Estado": estado,
        "Descripción del estado": desc, "Paquete de varios productos": "No", "Unidades": j["qty"],
        "Ingresos por productos (ARS)": ingresos, "Cargo por venta e impuestos (ARS)": -np.round(ingresos * 0.13, 2),
        "Ingresos por envío (ARS)": 0.0, "Costos de envío (ARS)": 0.0, "Anulaciones y reembolsos (ARS)": anul,
        "Total (ARS)": np.round(ingresos * 0.87 + anul, 2), "Venta por publicidad": "No", "SKU": j["sku"],
        "# de publicación": "MLA" + (1300000000 + j["pid"]).astype(str), "Título de la publicación": j["name_x"],
        "Variante": "", "Precio unitario de venta de la publicación (ARS)": j["price"],
        "Tipo de publicación": "Clásica", "Factura adjunta": "No",
        "Datos personales o de empresa": j["name_y"], "Tipo y número de documento": "DNI " + (30100000 + j["cid"]).astype(str),
        "Dirección": j["address"], "Comprador": j["name_y"], "Domicilio": j["address"] + ", " + j["city"],
        "Forma de entrega": "Mercado Envíos"}).iloc[::-1]
    path = folder / "Ventas_AR_2024-07-01_09-15hs_123456789.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    sections = ["Ventas"] + [""] * 12 + ["Publicaciones"] + [""] * 6 + ["Facturación al comprador"] + [""] * 2 + \
        ["Compradores"] + [""] * 2
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame([["Ventas"], ["Del 1 de enero al 30 de junio de 2024"], [""]]).to_excel(
            writer, sheet_name="Ventas AR", index=False, header=False)
        pd.DataFrame([sections[: out.shape[1]]]).to_excel(writer, sheet_name="Ventas AR", index=False, header=False,
                                                          startrow=3)
        out.to_excel(writer, sheet_name="Ventas AR", index=False, startrow=4)
    return [path]


def _rakuten(world: World, folder: Path) -> list[Path]:
    """楽天市場 RMS > 受注・問合せ管理 > 受注データダウンロード (CSV, Shift_JIS, every field quoted, CRLF): a row per
    item with the order's fields repeated; 注文番号 "123456-20240315-0000012345"; ステータス 完了 /
    キャンセル確定 / 発送前入金待ち; 注文日時 "2024-03-15 10:22:11"; 単価 and 個数 in whole yen; the buyer's
    masked mail address (the same for one buyer) as the only key."""
    j = _joined(world)
    number = ("123456-" + j["ts"].dt.strftime("%Y%m%d") + "-" + (j["order_no"] * 13 + 1000000000).astype(str))
    status = _status(j["status"], {"paid": "完了", "partially_refunded": "完了", "refunded": "キャンセル確定",
                                   "cancelled": "キャンセル確定", "unpaid": "発送前入金待ち"})
    totals = j["order_no"].map(order_totals(world))
    out = pd.DataFrame({
        "注文番号": number, "ステータス": status, "サブステータスID": "", "サブステータス": "",
        "注文日時": j["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"), "注文日": j["ts"].dt.strftime("%Y-%m-%d"),
        "注文時間": j["ts"].dt.strftime("%H:%M:%S"), "キャンセル期限日": "", "商品明細ID": (j["order_no"] * 10 + j["line_no"]).astype(str),
        "商品ID": (10000 + j["pid"]).astype(str), "商品名": j["name_x"], "商品番号": j["sku"],
        "商品管理番号": j["sku"].str.lower(), "単価": j["price"].round().astype(int).astype(str),
        "個数": j["qty"].astype(str), "送料込別": "送料別", "税込別": "税込", "ポイント倍率": "1",
        "ポイント利用額": "0", "合計": totals.round().astype(int).astype(str),
        "請求金額": totals.round().astype(int).astype(str),
        "注文者名字": j["last"], "注文者名前": j["first"], "注文者電話番号1": "090",
        "注文者電話番号2": (1000 + j["cid"]).astype(str), "注文者電話番号3": "5678",
        "メールアドレス": j["cid"].map(lambda c: _hash(f"rk{c}", 24) + "@pc.fw.rakuten.ne.jp"),
        "注文者性別": "", "決済方法": "クレジットカード決済", "配送方法": "宅配便"})
    return [_csv(out, folder / "202407011200_order.csv", encoding="cp932", quoting=csv.QUOTE_ALL,
                 lineterminator="\r\n")]


def _allegro(world: World, folder: Path) -> list[Path]:
    """Allegro (Polish marketplace) > Sprzedaż > Zamówienia > Eksport (CSV, `;`, UTF-8 with BOM): a row per offer
    bought, the order's fields repeated; "Data zakupu" as "15.03.2024 10:22:11"; money as "1 234,56 zł"; Status
    Wysłane / Gotowe do wysyłki / Anulowane / Nieopłacone; a partial refund as "Kwota zwrotu" on the order's
    first row; the buyer's Allegro login as the key."""
    j = _joined(world)
    j = j[j["status"] != "refunded"]
    first = j["line_no"] == 1
    status = _status(j["status"], {"paid": "Wysłane", "partially_refunded": "Wysłane", "cancelled": "Anulowane",
                                   "unpaid": "Nieopłacone"})
    status = status.where(~((j["status"] == "paid") & (j["order_no"] % 5 == 0)), "Gotowe do wysyłki")
    totals = j["order_no"].map(order_totals(world))

    def zl(values) -> list[str]:
        return [t.replace("\u00a0", " ").replace("€", "zł") for t in money(values, "eur_fr")]

    out = pd.DataFrame({
        "Numer zamówienia": [str(_hash(f"al{n}", 8)) + "-" + str(_hash(f"bl{n}", 4)) + "-11ee-" + _hash(f"cl{n}", 12)
                             for n in j["order_no"]],
        "Data zakupu": j["ts"].dt.strftime("%d.%m.%Y %H:%M:%S"), "Status": status,
        "Login kupującego": "kupujacy_" + j["nick"].str[5:], "Imię i nazwisko": j["name_y"],
        "Adres e-mail": j["nick"] + "+" + _hash("x", 6) + "@allegromail.pl", "Telefon": j["phone"],
        "ID oferty": (13000000000 + j["pid"]).astype(str), "Tytuł oferty": j["name_x"], "Sygnatura": j["sku"],
        "Ilość": j["qty"], "Cena jednostkowa": zl(j["price"]), "Wartość": zl(j["amount"]),
        "Kwota zamówienia": zl(totals), "Kwota zwrotu": pd.Series(zl(j["refunded"]), index=j.index).where(first, ""),
        "Metoda płatności": "Allegro Pay", "Metoda dostawy": "Allegro Paczkomaty InPost",
        "Waluta": "PLN"})
    return [_csv(out, folder / "zamowienia_2024-07-01.csv", encoding="utf-8-sig", sep=";")]


def _pinduoduo(world: World, folder: Path) -> list[Path]:
    """拼多多 商家后台 > 订单查询 > 导出 (CSV, GBK): one SKU an order; 订单号 "240315-123456789012345"; 订单状态
    已签收 / 已取消 / 待支付; 售后状态 退款成功 for a refunded order; money in yuan as plain numbers; the buyer only as
    a receiver's name and an encrypted phone ([加密]…): no customer key, so init must stop and say so."""
    j = _joined(world)
    number = j["ts"].dt.strftime("%y%m%d") + "-" + (128000000000000 + j["order_no"] * 97).astype(str)
    paid = j["status"].isin(["paid", "partially_refunded", "refunded"])
    out = pd.DataFrame({
        "商品": j["name_x"], "订单号": number,
        "订单状态": _status(j["status"], {"paid": "已签收", "partially_refunded": "已签收", "refunded": "已签收",
                                      "cancelled": "已取消", "unpaid": "待支付"}),
        "商品总价(元)": money(j["amount"], "plain"), "店铺优惠折扣(元)": "0", "平台优惠折扣(元)": "0", "邮费(元)": "0",
        "用户实付金额(元)": np.where(paid, money(j["amount"], "plain"), "0"),
        "商家实收金额(元)": np.where(paid, money(j["amount"], "plain"), "0"), "商品数量(件)": j["qty"],
        "收货人": j["name_y"].str[0] + "**", "手机": ["[加密]" + _hash(f"pd{n}", 16) for n in j["order_no"]],
        "省": "浙江省", "市": "杭州市", "区": "西湖区", "街道": "[加密]",
        "订单成交时间": j["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        "支付时间": j["ts"].dt.strftime("%Y-%m-%d %H:%M:%S").where(j["status"] != "unpaid", ""),
        "商品id": (3000000000 + j["pid"]).astype(str), "商品规格": "默认", "商家编码-SKU维度": j["sku"],
        "商家备注": "", "买家留言": "", "快递单号": "", "快递公司": "中通快递",
        "售后状态": np.where(j["status"] == "refunded", "退款成功", "无售后或售后取消")})
    return [_csv(out, folder / "orders_export20240701.csv", encoding="gbk")]


# ---------------------------------------------------------------------------------------------------- the zoo

_S = Features
SHAPES: dict[str, Shape] = {s.name: s for s in [
    Shape("shopify", "Shopify orders export", _S(cancelled=0.04, unpaid=0.03, refunded=0.03, partial_refunds=0.05,
                                                 prices="cny"), _shopify, "order fields on first line; +0800"),
    Shape("magento", "Magento 2 / Adobe Commerce orders grid", _S(cancelled=0.05, unpaid=0.03, refunded=0.03,
                                                                   partial_refunds=0.05), _magento, "no products"),
    Shape("prestashop_fr", "PrestaShop 1.7 orders (French)", _S(cancelled=0.05, unpaid=0.04, refunded=0.03),
          _prestashop, "no products; customer as a name"),
    Shape("shopware_de", "Shopware 6 orders (Default orders profile)", _S(cancelled=0.05, unpaid=0.04,
                                                                          refunded=0.03), _shopware,
          "no products; offsets +01:00/+02:00"),
    Shape("woocommerce_es", "WooCommerce Analytics orders (Spanish)", _S(unpaid=0.04, returns=0.06), _woocommerce,
          "no product ids; refunds as rows"),
    Shape("amazon", "Amazon Seller Central order report", _S(max_lines=2), _amazon, "tab-delimited"),
    Shape("ebay", "eBay Seller Hub orders report", _S(max_lines=3), _ebay, "summary rows for multi-item orders"),
    Shape("etsy", "Etsy sold order items", _S(), _etsy, "MM/DD/YY"),
    Shape("taobao", "淘宝/天猫 订单报表 + 宝贝报表", _S(cancelled=0.05, unpaid=0.04, refunded=0.03,
                                                   partial_refunds=0.05, prices="cny"), _taobao, "two files, GBK"),
    Shape("jd", "京东 POP 订单导出", _S(cancelled=0.05, unpaid=0.03, prices="cny"), _jd,
          "xlsx; order money repeated per item"),
    Shape("youzan", "有赞 订单 + 商品明细", _S(cancelled=0.04, unpaid=0.04, refunded=0.03, partial_refunds=0.05,
                                         prices="cny"), _youzan, "two files joined by 订单号"),
    Shape("shopee", "Shopee Seller Centre Order.all", _S(cancelled=0.05, unpaid=0.03, partial_refunds=0.05),
          _shopee, "xlsx; returned quantity as refund"),
    Shape("square", "Square item sales", _S(anonymous=0.4, returns=0.05), _square, "date/time columns; refunds rows"),
    Shape("lightspeed", "Lightspeed Retail (X-Series) sales history", _S(anonymous=0.2, cancelled=0.04,
                                                                         returns=0.05), _lightspeed,
          "Sale / Sale Line / Payment rows"),
    Shape("toast", "Toast check details", _S(anonymous=0.5), _toast, "no products; date/time columns"),
    Shape("clover", "Clover orders", _S(anonymous=0.0, unpaid=0.04, refunded=0.03, partial_refunds=0.05), _clover,
          "no products; EST/EDT"),
    Shape("clover_with_id", "Clover orders with the customer's id", _S(anonymous=0.0, unpaid=0.04, refunded=0.03,
                                                                      partial_refunds=0.05), _clover_with_id,
          "no products; EST/EDT; Customer ID"),
    Shape("pospal_gbk", "Chinese till (银豹-style) 销售单据明细, GBK", _S(anonymous=0.3, returns=0.05, prices="cny"),
          _pospal, "title rows, 合计 row"),
    Shape("loyalty_jp", "Japanese points-card history (cp932)", _S(cancelled=0.04, returns=0.05, prices="yen"),
          _loyalty_jp, "取引区分; date/time columns"),
    Shape("odoo", "Odoo sale.order export (xlsx)", _S(cancelled=0.05, unpaid=0.05), _odoo,
          "order fields on first line"),
    Shape("sap_b1", "SAP Business One sales analysis (xlsx, a sheet per month)", _S(returns=0.05), _sap_b1,
          "title rows, totals rows, several sheets"),
    Shape("business_central_de", "Dynamics 365 Business Central posted sales lines (German, monthly files)",
          _S(returns=0.05), _business_central, "monthly parts; cp1252; Gutschrift"),
    Shape("warehouse_parquet", "Data warehouse fact table (Hive-partitioned Parquet)", _S(anonymous=0.1, returns=0.05),
          _warehouse, "typed; tz-aware"),
    Shape("online_retail", "Published dataset (UCI Online Retail II layout)", _S(anonymous=0.2, returns=0.05),
          _online_retail, "xlsx, two sheets, C-prefix"),
    Shape("membership", "Membership store: lines + member form + catalogue", _S(), _membership,
          "three tables"),
    Shape("bigcommerce", "BigCommerce orders export (Default template)", _S(anonymous=0.1, cancelled=0.04, unpaid=0.03,
                                                                         refunded=0.03, partial_refunds=0.05),
          _bigcommerce, "items packed in one cell; RFC 2822 dates; guests as Customer ID 0"),
    Shape("wix", "Wix Stores orders CSV", _S(cancelled=0.04, unpaid=0.03, refunded=0.03, partial_refunds=0.05), _wix,
          "order fields repeated per item; date and 12-hour time apart"),
    Shape("stripe", "Stripe payments export (unified_payments.csv)", _S(anonymous=0.1, cancelled=0.03, unpaid=0.04,
                                                                      refunded=0.03, partial_refunds=0.05),
          _stripe, "payments only; UTC; Failed / Refunded"),
    Shape("loyverse", "Loyverse receipts by item", _S(anonymous=0.3, cancelled=0.04, returns=0.05), _loyverse,
          "refund receipts with positive amounts; 12-hour times"),
    Shape("mercadolibre", "Mercado Libre ventas (Argentina, xlsx)", _S(max_lines=1, cancelled=0.05, unpaid=0.03,
                                                                      refunded=0.03, partial_refunds=0.05),
          _mercadolibre, "title rows; Spanish dates; negative refunds"),
    Shape("rakuten", "楽天市場 RMS 受注データ (Shift_JIS)", _S(cancelled=0.04, unpaid=0.03, refunded=0.03, prices="yen"),
          _rakuten, "cp932, all quoted; masked mail as key"),
    Shape("allegro", "Allegro zamówienia (Polish)", _S(cancelled=0.04, unpaid=0.03, partial_refunds=0.05), _allegro,
          "'1 234,56 zł'; day-first with dots"),
    Shape("pinduoduo", "拼多多 订单导出 (GBK)", _S(max_lines=1, cancelled=0.04, unpaid=0.03, refunded=0.03,
                                              prices="cny"), _pinduoduo, "no customer key"),
]}


def generate(name: str, folder: str | Path, *, seed: int = 0, customers: int | None = None) -> ZooExport:
    """Write shape ``name``'s export into ``folder``; the files to hand to ``crm-kit init``, the truth, the world."""
    shape = SHAPES[name]
    features = shape.features if customers is None else Features(**{**shape.features.__dict__, "customers": customers})
    world = make_world(features, seed)
    files = shape.write(world, Path(folder))
    return ZooExport(name, files, truth(world), world)
