"""language: zh — Chinese chart texts drawn with a font that has the glyphs, Chinese table headers."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from crm_kit import plotting, presentation  # noqa: E402
from crm_kit.language import translate  # noqa: E402


def _deciles():
    return pd.DataFrame({"group": range(1, 4), "sales_per_customer": [8000.0, 6000.0, 100.0],
                         "cum_sales_share": [0.5, 0.9, 1.0]})


def test_a_chart_in_chinese_has_chinese_labels_and_every_glyph(tmp_path):
    presentation.setup_notebook(currency="¥", language="zh")
    try:
        ax = plotting.plot_deciles(_deciles())
        assert ax.get_title() == "十分位分析：销售额来自谁"
        assert ax.get_ylabel() == "客户月平均销售额(¥)"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ax.figure.savefig(tmp_path / "zh.png")
        missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
        assert not missing, missing  # the CJK font is found: no glyph drawn as a box
        assert "Noto Sans CJK SC" in matplotlib.rcParams["font.sans-serif"]
    finally:
        presentation.setup_notebook(currency="¥", language="en")
    assert plotting.plot_deciles(_deciles()).get_title() == "Decile analysis: who brings the sales"


def test_table_headers_in_chinese():
    table = pd.DataFrame({"group": [1], "customers": [1155], "sales_per_customer": [8029.27], "brand_loyalty": [0.24]})
    presentation.LANGUAGE = "zh"
    try:
        html = presentation.human_table(table, currency="¥")
    finally:
        presentation.LANGUAGE = "en"
    assert "<th>客户组</th>" in html and "<th>客户数</th>" in html and "<th>客户月平均销售额 (¥)</th>" in html
    assert "<th>品牌忠诚度</th>" in html
    assert translate("something new", "zh") == "something new"  # an unknown text stays readable
