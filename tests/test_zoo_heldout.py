"""What the held-out platforms of the zoo (BigCommerce, Wix, Allegro, Rakuten, Pinduoduo...) needed, each on a table
small enough to count by hand: ``crm-kit init`` on the file, then the store loaded with the drafted spec.

The zoo (tests/test_zoo.py) runs the whole imitation of each platform; these pin the rule each one showed missing.
"""

from __future__ import annotations

import pytest
import yaml

from crm_kit import load_store
from crm_kit.discovery import growth_kpis
from crm_kit.draft import draft, write_draft
from crm_kit.errors import DataError
from crm_kit.store.layouts import date_format


def _init(tmp_path, name: str, text: str, *, encoding: str = "utf-8"):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    found = draft([str(path)])
    data_path, _run = write_draft(found, tmp_path / "init")
    spec = yaml.safe_load(data_path.read_text(encoding="utf-8"))
    return found, spec, data_path


def _monthly(data_path):
    return growth_kpis(load_store(str(data_path))).set_index("month")


def test_weekday_first_dates_are_a_layout_and_month_names_first_stay_one():
    assert date_format("a, 99 a 9999 99:99:99 +9999") == ("%a, %d %b %Y %H:%M:%S", "told")
    assert date_format("a, 9 a 9999") == ("%a, %d %b %Y", "told")
    assert date_format("a 99, 9999") == ("%b %d, %Y", "told")  # 'Mar 15, 2024' is no weekday


def test_rfc_2822_times_with_an_offset_are_read_and_moved_to_the_shop_clock(tmp_path):
    """'Sun, 31 Mar 2024 23:30:00 +0000' is 2024-03-31 23:30 UTC: March on its own clock, April 1st in Shanghai."""
    text = ("Order ID,Customer Email,Order Date,Subtotal\n"
            "1,a@x.com,\"Fri, 15 Mar 2024 10:00:00 +0000\",10.00\n"
            "2,b@x.com,\"Sun, 31 Mar 2024 23:30:00 +0000\",20.00\n"
            "3,a@x.com,\"Mon, 01 Apr 2024 09:00:00 +0000\",5.00\n")
    _found, spec, data_path = _init(tmp_path, "orders.csv", text)
    assert spec["tables"]["transactions"]["ts_format"] == "%a, %d %b %Y %H:%M:%S"
    m = _monthly(data_path)
    assert m["sales"].round(2).tolist() == [30.0, 5.0]
    spec["tables"]["transactions"]["timezone"] = "Asia/Shanghai"
    m = growth_kpis(load_store(spec)).set_index("month")
    assert m["sales"].round(2).tolist() == [10.0, 25.0]  # 23:30 UTC on the 31st is 07:30 on April 1st in Shanghai
    assert m["customers"].tolist() == [1, 2]


def test_the_status_column_that_tells_purchases_from_others_is_chosen(tmp_path):
    """Fulfillment status (Fulfilled / Not fulfilled) comes first; Payment status says which orders are purchases."""
    text = ("Order #,Date created,Contact email,SKU,Qty,Price,Fulfillment status,Payment status\n"
            "1,2024-01-05,a@x.com,S1,1,10.00,Fulfilled,Paid\n"
            "2,2024-01-06,b@x.com,S2,2,5.00,Not fulfilled,Canceled\n"
            "3,2024-01-07,b@x.com,S1,1,10.00,Not fulfilled,Not paid\n"
            "4,2024-02-01,a@x.com,S2,1,5.00,Fulfilled,Paid\n")
    _found, spec, data_path = _init(tmp_path, "orders.csv", text)
    assert spec["tables"]["transactions"]["columns"]["status"] == "Payment status"
    assert spec["cleaning"]["statuses"] == {"purchase": ["paid"], "not_purchase": ["canceled", "not paid"]}
    m = _monthly(data_path)
    assert m["sales"].tolist() == [10.0, 5.0] and m["customers"].tolist() == [1, 1]


def test_money_with_a_currency_word_and_a_refund_on_one_row_of_each_order(tmp_path):
    """Allegro: '1 234,56 zł' money, an order's refund on its first row (blank on the others), Polish headers."""
    text = ("Numer zamówienia;Data zakupu;Status;Login kupującego;Sygnatura;Ilość;Cena jednostkowa;Wartość;"
            "Kwota zwrotu\n"
            "A1;05.01.2024 10:00:00;Wysłane;jan;S1;1;1 234,56 zł;1 234,56 zł;10,00 zł\n"
            "A1;05.01.2024 10:00:00;Wysłane;jan;S2;2;5,00 zł;10,00 zł;\n"
            "A2;20.01.2024 11:00:00;Anulowane;ola;S1;1;1 234,56 zł;1 234,56 zł;0,00 zł\n"
            "A3;02.02.2024 12:00:00;Wysłane;ola;S2;1;5,00 zł;5,00 zł;0,00 zł\n")
    _found, spec, data_path = _init(tmp_path, "zamowienia.csv", text, encoding="utf-8-sig")
    columns = spec["tables"]["transactions"]["columns"]
    assert columns["amount"] == "Wartość" and columns["refunded"] == "Kwota zwrotu"
    assert columns["customer_id"] == "Login kupującego" and columns["order_id"] == "Numer zamówienia"
    m = _monthly(data_path)
    assert m["sales"].round(2).tolist() == [1234.56, 5.0]  # 1,244.56 - the 10.00 refunded; A2 cancelled
    gross = growth_kpis(load_store({**spec, "cleaning": {**spec["cleaning"], "returns": "drop"}})).set_index("month")
    assert gross["sales"].round(2).tolist() == [1244.56, 5.0]


def test_a_guest_checkouts_customer_zero_is_no_customer(tmp_path):
    """Customer ID 0 on rows with no email or phone (guests), real ids with one: 0 is read as no customer."""
    text = ("Order ID,Customer ID,Customer Email,Order Date,Subtotal\n"
            "1,7,a@x.com,2024-01-05 10:00:00,10.00\n"
            "2,0,,2024-01-06 10:00:00,20.00\n"
            "3,0,,2024-01-07 10:00:00,30.00\n"
            "4,8,b@x.com,2024-01-08 10:00:00,5.00\n"
            "5,0,,2024-01-09 10:00:00,1.00\n")
    _found, spec, data_path = _init(tmp_path, "orders.csv", text)
    assert spec["tables"]["transactions"]["guest_ids"] == ["0"]
    m = _monthly(data_path)
    assert m["customers"].tolist() == [2] and m["orders"].tolist() == [2]
    assert m["sales"].tolist() == [66.0]  # the guests' orders stay in the store's sales


def test_customer_zero_with_an_email_is_a_customer(tmp_path):
    """A warehouse's customer 0 whose rows carry contacts like the others is a real customer: no guest_ids."""
    text = ("Order ID,Customer ID,Customer Email,Order Date,Subtotal\n"
            "1,0,z@x.com,2024-01-05 10:00:00,10.00\n"
            "2,0,z@x.com,2024-01-06 10:00:00,20.00\n"
            "3,1,a@x.com,2024-01-07 10:00:00,30.00\n")
    _found, spec, data_path = _init(tmp_path, "orders.csv", text)
    assert "guest_ids" not in spec["tables"]["transactions"]
    assert _monthly(data_path)["customers"].tolist() == [2]


def test_a_masked_phone_is_no_customer_key(tmp_path):
    """Pinduoduo encrypts the buyer's phone per order: init stops naming the masked column."""
    text = ("订单号,订单状态,商品总价(元),商品数量(件),手机,订单成交时间\n"
            "240105-1,已签收,10.00,1,[加密]9f2c01,2024-01-05 10:00:00\n"
            "240106-2,已签收,20.00,1,[加密]77ab02,2024-01-06 10:00:00\n")
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="gbk")
    with pytest.raises(DataError, match=r"no customer key — '手机' is masked by the platform \(e\.g\. '\[加密\]"):
        draft([str(path)])


def test_an_order_file_with_unit_prices_and_a_mail_key_is_line_items_not_a_catalogue(tmp_path):
    """Rakuten: order number, time, item id, unit price and quantity, the buyer only as a mail address."""
    text = ('"注文番号","ステータス","注文日時","商品ID","商品名","単価","個数","メールアドレス"\r\n'
            '"1-20240105-1","完了","2024-01-05 10:00:00","10001","茶","1280","2","a@pc.fw.rakuten.ne.jp"\r\n'
            '"1-20240106-2","キャンセル確定","2024-01-06 10:00:00","10002","石鹸","540","1","b@pc.fw.rakuten.ne.jp"\r\n'
            '"1-20240201-3","完了","2024-02-01 10:00:00","10002","石鹸","540","1","b@pc.fw.rakuten.ne.jp"\r\n')
    _found, spec, data_path = _init(tmp_path, "order.csv", text, encoding="cp932")
    assert "transactions" in spec["tables"] and "products" not in spec["tables"]
    m = _monthly(data_path)
    assert m["sales"].tolist() == [2560.0, 540.0] and m["customers"].tolist() == [1, 1]


def test_the_currency_the_data_names_is_written_and_none_is_invented(tmp_path):
    """One sign on the money (zł) or one ISO code in a Currency column (Stripe's 'usd') becomes the spec's currency."""
    signs = ("Order;Date;Customer;Amount\nA1;2024-01-05;c1;12,50 zł\nA2;2024-01-06;c2;1 234,00 zł\n")
    _found, spec, _path = _init(tmp_path / "a", "sales.csv", signs)
    assert spec["currency"] == "zł"
    code = ("id,Created date (UTC),Amount,Currency,Status,Customer ID\n"
            "py_1,2024-01-05 10:00:00,12.50,usd,Paid,cus_1\npy_2,2024-01-06 10:00:00,3.00,usd,Paid,cus_2\n")
    _found, spec, _path = _init(tmp_path / "b", "payments.csv", code)
    assert spec["currency"] == "USD"
    plain = "id,Created date (UTC),Amount,Status,Customer ID\npy_1,2024-01-05 10:00:00,12.50,Paid,cus_1\n"
    _found, spec, _path = _init(tmp_path / "c", "payments.csv", plain)
    assert "currency" not in spec


def test_a_target_whose_outcome_does_not_vary_gets_no_power_and_a_sentence():
    """Rakuten's run: five target customers, none of whom bought in the variance month (sales all 0) — the design
    says the power cannot be computed and goes on, instead of stopping the run."""
    import pandas as pd

    from crm_kit import campaign

    outcome = pd.Series([0.0] * 5, index=list("abcde"))
    check = campaign.power_analysis(outcome, effect=10.0, group_size=5, control_share=0.2)
    assert check["sd"] == 0.0 and check["power_at_plan"] is None and check["big_enough"] is False
    assert (check["treatment"], check["control"]) == (4, 1)
    assert "is the same for all 5 customers (4 treated, 1 control)" in campaign.power_verdict(check, goal=0.3)
    past = pd.DataFrame({"visits_pre": [1.0, 2.0, 1.0, 3.0, 1.0], "sales_pre": [5.0, 9.0, 2.0, 7.0, 1.0]},
                        index=outcome.index)
    adjusted = campaign.adjusted_power(outcome, past, effect=10.0, group_size=5, control_share=0.2)
    assert campaign.adjusted_power_verdict(check, adjusted).startswith("No adjusted power check either")
    arms = pd.DataFrame({"arm": ["sms", "mail", "control", "control", "sms"]})
    assert "no arm's power can be computed" in campaign.arm_power(outcome, effect=10.0, arms=arms)
