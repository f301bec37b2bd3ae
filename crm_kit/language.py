"""Chinese labels (``language: zh``): chart titles and axes, table headers — and a CJK font the charts can use.

The narration of the notebooks stays English (with the Chinese term at first
use); what a reader *sees* in charts and tables follows ``language``. The font
is Noto Sans CJK SC, shipped by the ``mplfonts`` package from PyPI (a
dependency), registered with matplotlib as a fallback behind the Latin font.
"""

from __future__ import annotations

import re

__all__ = ["LANGUAGES", "ZH", "ZH_HEADERS", "translate", "register_cjk_font"]

LANGUAGES = ("en", "zh")

#: chart texts (titles, axes, legends) in Chinese
ZH: dict[str, str] = {
    "group (1 = top spenders, equal numbers of customers)": "客户组（1 = 消费最高，各组人数相等）",
    "monthly sales per customer": "客户月平均销售额", "cumulative share of sales": "累计销售额占比",
    "Decile analysis: who brings the sales": "十分位分析：销售额来自谁",
    "customers, top spenders first": "客户（按消费从高到低）", "every customer equal": "人人相同",
    "share of customers": "客户占比", "Value pyramid / Pareto curve": "客户价值金字塔 / 二八法则曲线",
    "group": "客户组", "Consumer behaviour by group (green = better within each row)": "各组消费者行为（每行内绿色 = 更好）",
    "share of the group's spend": "占该组消费的比例", "Category mix by group": "各组品类构成", "share of members": "会员占比",
    "median days between purchases": "两次购买间隔天数（中位数）", "Repurchase interval by group": "各组复购间隔",
    "returning customers": "回头客", "new customers": "新客户", "customers": "客户数", "sales": "销售额",
    "monthly sales, millions": "月销售额（百万）", "Monthly sales and customers": "月销售额与客户数",
    "sales rank (1 = best)": "销售排名（1 = 最好）", "units sold per week (log scale)": "每周销量（对数刻度）",
    "Bestsellers, regular items and slow movers": "畅销品、一般商品与滞销品",
    "lift (1 = bought together no more than by chance)": "提升度（1 = 与随机同买无差别）", "Items bought together": "同时购买的商品",
    "inertia (elbow)": "惯性（肘部法）", "number of clusters k": "聚类数 k", "inertia (within-cluster sum of squares)": "惯性（组内平方和）",
    "silhouette": "轮廓系数", "silhouette (higher = better separated)": "轮廓系数（越高分得越开）",
    "Choosing k: elbow and silhouette": "选择 k：肘部法与轮廓系数",
    "first principal component (standardised features)": "第一主成分（标准化特征）", "second principal component": "第二主成分",
    "Customer clusters (2-D view)": "客户聚类（二维视图）", "checkpoint date": "检查日期", "churn rate (share of the tier)": "流失率（占该层比例）",
    "Churn by value tier": "各价值层流失率", "actual": "实际", "predicted by the model": "模型预测",
    "repeat purchases in the calibration period": "校准期内重复购买次数", "mean purchases per customer in the holdout": "验证期内人均购买次数",
    "date": "日期", "cumulative repeat purchases (all customers)": "累计重复购买次数（全部客户）",
    "CLV model check: tracking cumulative repeat purchases": "客户生命周期价值模型检验：累计重复购买跟踪",
    "Segment overlap: customers in both": "细分重叠：同属两者的客户", "sales growth / lift": "销售额增长率 / 提升",
    "Why the naive before/after figure misleads": "为什么简单的前后对比会误导", "treated customers": "实验组客户",
    "Who reached the goals": "谁达到了目标", "Who went where": "客户流向", "Two rounds of the CRM cycle: who went where": "CRM运行两轮示意图",
    "Campaign effect, measured against the control group": "活动效果（与对照组比较）",
    "lift over the control group (bars: estimate; whiskers: confidence interval)": "相对对照组的提升（柱：估计；须：置信区间）",
    "Each arm against control (blue) and against each other (orange)": "各实验组与对照组（蓝）及彼此（橙）的比较",
    "difference in visits per customer, whiskers: joint 95 % interval (Bonferroni)": "人均消费次数差异（须：95 % 联合区间，Bonferroni）",
    "difference in sales per customer, whiskers: joint 95 % interval (Bonferroni)": "人均销售额差异（须：95 % 联合区间，Bonferroni）",
    "Does the uplift model rank customers? Observed uplift by predicted decile": "增量模型能否排序客户？按预测十分位的实际增量",
    "decile of predicted uplift (1 = highest), out of fold": "预测增量十分位（1 = 最高，交叉拟合）",
    "incremental sales per customer": "人均增量销售额", "observed (treated - control)": "实际（实验组 − 对照组）",
    "predicted (mean)": "预测（均值）",
}

#: table headers in Chinese (the English headers of :data:`crm_kit.presentation.HEADERS`)
ZH_HEADERS: dict[str, str] = {
    "Customer": "客户", "Customers": "客户数", "Members": "会员数", "Group": "客户组", "Rank": "排名", "Sales": "销售额",
    "Visits": "到店次数", "Average ticket": "客单价", "Items": "件数", "Units": "数量", "Sales per customer": "客户月平均销售额",
    "Share of customers": "客户占比", "Share of sales": "销售额占比", "Cumulative share of customers": "累计客户占比",
    "Cumulative share of sales": "累计销售额占比", "Visits per customer": "购买频率", "Recency (days)": "最近一次消费（天）",
    "Brand loyalty": "品牌忠诚度", "Promotion share of spend": "促销敏感度", "Top categories": "主要品类", "Figure": "指标",
    "Value": "数值", "Rule": "规则", "Action": "处理", "Lines found": "发现行数", "Lines removed": "删除行数",
    "Sales removed": "删除销售额", "Coverage": "覆盖率", "Students": "学生占比", "WeChat users": "微信用户",
    "Product": "商品", "Name": "名称", "Category": "品类", "Brand": "品牌", "Stock": "库存", "Class": "类别",
    "Tier": "价值层", "Churn rate": "流失率", "Lifetime value": "客户生命周期价值", "Probability alive": "存活概率",
    "Arm": "组别", "Metric": "指标", "Goal": "目标", "Target": "目标值", "Sales growth": "销售额增长率",
    "Visit growth": "消费频率增长率", "Ticket growth": "客单价增长率", "Response rate": "响应率", "Treated": "实验组",
    "Control": "对照组", "Lift": "提升", "Relative lift": "相对提升", "Incremental sales": "增量销售额", "Cost": "成本",
    "Return on spend": "投资回报率", "ROI": "投资回报率", "RFM segment": "RFM 细分", "Round": "轮次", "Campaign": "营销活动",
    "Support": "支持度", "Confidence": "置信度", "If bought": "若购买", "Then also": "则也购买",
    "Estimate": "估计值", "95% CI low": "95% 置信区间下限", "95% CI high": "95% 置信区间上限",
    "Planted effect": "植入的真实效应", "Interval covers it": "区间覆盖真实效应",
    "Adjusted lift": "调整后提升", "Adjusted CI low": "调整后区间下限", "Adjusted CI high": "调整后区间上限",
    "Variance the past explains": "历史解释的方差占比", "Interval narrower by": "区间缩窄",
    "Against": "比较对象", "Customers in the arm": "本组客户数", "Customers compared with": "比较组客户数",
    "Arm mean": "本组均值", "Mean compared with": "比较组均值", "Difference": "差异", "Holm-adjusted p-value": "Holm 校正 p 值",
    "Level of each joint interval": "每个联合区间的置信水平", "Joint CI low": "联合区间下限", "Joint CI high": "联合区间上限",
    "Joint interval excludes 0": "联合区间不含 0", "Comparisons in the family": "同族比较数",
    "Significant (Holm)": "显著（Holm）", "Comparison": "比较", "Significance level per comparison": "每次比较的显著性水平",
    "Power at the plan": "计划下的检验功效", "Smallest detectable effect": "最小可检测效应", "Big enough": "样本足够",
    "Channel": "渠道", "Messages": "消息数", "Cost per message": "每条消息成本", "Message cost": "消息成本",
    "Share of other costs": "分摊的其他成本", "Incremental margin per contact": "每次接触的增量毛利", "Decile": "十分位",
    "Observed uplift": "实际增量", "Predicted uplift": "预测增量", "Incremental sales per contact": "每次接触的增量销售额",
    "Targeting": "目标选择", "Evidence": "依据", "Cost per customer reached": "每位触达客户成本",
}


def translate(text: str, language: str) -> str:
    """``text`` in ``language`` when a translation is known (a trailing unit such as ``(¥)`` is kept); else as it is."""
    if language != "zh" or not text:
        return text
    if text in ZH:
        return ZH[text]
    if text in ZH_HEADERS:
        return ZH_HEADERS[text]
    unit = re.match(r"^(.*?)\s*(\([^()]*\))$", text)
    if unit and (unit.group(1) in ZH or unit.group(1) in ZH_HEADERS):
        return f"{ZH.get(unit.group(1), ZH_HEADERS.get(unit.group(1)))}{unit.group(2)}"
    return text


def cjk_font_path():
    """The file of Noto Sans CJK SC shipped by ``mplfonts`` (a dependency), or None where it is missing."""
    try:
        from importlib.resources import files

        path = files("mplfonts") / "fonts" / "NotoSansCJKsc-Regular.otf"
    except ModuleNotFoundError:  # pragma: no cover - a dependency; without it Chinese glyphs show as boxes
        return None
    return path if path.is_file() else None


def register_cjk_font() -> str | None:
    """Register Noto Sans CJK SC (from ``mplfonts``) with matplotlib as the fallback of the sans-serif list."""
    import matplotlib
    from matplotlib import font_manager

    path = cjk_font_path()
    if path is None:  # pragma: no cover
        return None
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    families = [f for f in matplotlib.rcParams["font.sans-serif"] if f != name]
    matplotlib.rcParams["font.sans-serif"] = [families[0] if families else "DejaVu Sans", name, *families[1:]]
    return name
