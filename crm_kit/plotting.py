"""Charts for the notebooks: ``plot_*(data, *, ..., ax=None) -> Axes``.

Every chart is labelled with units; none calls ``plt.show()`` or writes a file.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib

import matplotlib.pyplot as plt
import matplotlib.ticker as mtick
import numpy as np
import pandas as pd
import seaborn as sns

from .language import register_cjk_font, translate

__all__ = [
    "use_style",
    "plot_deciles",
    "plot_pareto",
    "plot_behaviour",
    "plot_category_mix",
    "plot_share_by_group",
    "plot_repurchase",
    "plot_kpis",
    "plot_product_classes",
    "plot_rules",
    "plot_k_choice",
    "plot_clusters",
    "plot_churn",
    "plot_calibration",
    "plot_tracking",
    "plot_overlap",
    "plot_lift",
    "plot_naive_vs_controlled",
    "plot_group_sizes",
    "plot_flow",
    "plot_arms",
    "plot_uplift",
    "plot_revenue_tree",
    "plot_contributions",
    "plot_migration",
    "plot_cohorts",
    "plot_unusual",
]


#: the currency sign money axes carry; set by :func:`crm_kit.presentation.setup_notebook` from the data spec
CURRENCY = ""
#: the language of chart texts (``en`` or ``zh``); set by :func:`crm_kit.presentation.setup_notebook`
LANGUAGE = "en"


def money(label: str, currency: str | None = None) -> str:
    """An axis label of money with its currency: ``"monthly sales (¥)"``."""
    sign = CURRENCY if currency is None else currency
    return f"{label} ({sign})" if sign else label


def use_style() -> None:
    """The kit's chart style (seaborn whitegrid, readable sizes), with a CJK font behind the Latin one."""
    sns.set_theme(style="whitegrid", context="notebook")
    register_cjk_font()
    matplotlib.rcParams["figure.figsize"] = (9, 4.5)
    matplotlib.rcParams["figure.dpi"] = 100


def _ax(ax):
    if ax is None:
        _fig, ax = plt.subplots()
    return ax


def plot_deciles(table: pd.DataFrame, *, currency: str = "", ax=None):
    """Bars: monthly sales per customer by group; line: cumulative share of sales.

    Examples
    --------
    The chart of :func:`crm_kit.engine.decile_table`'s two groups; the call returns the Axes (the notebook shows
    the figure), whose texts say what is drawn:

    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from crm_kit import engine, plotting
    >>> ranked = pd.DataFrame({"customer_id": ["a", "b", "c"], "group": [1, 1, 2],
    ...                        "sales": [80.0, 20.0, 15.0], "visits": [2, 1, 1]})
    >>> ax = plotting.plot_deciles(engine.decile_table(ranked), currency="€")
    >>> ax.get_title(), ax.get_ylabel()
    ('Decile analysis: who brings the sales', 'monthly sales per customer (€)')
    >>> [float(bar.get_height()) for bar in ax.patches]  # sales per customer: 100 / 2 and 15 / 1
    [50.0, 15.0]
    >>> plt.close(ax.figure)
    """
    ax = _ax(ax)
    sns.barplot(data=table, x="group", y="sales_per_customer", color="#4C72B0", ax=ax)
    for p, v in zip(ax.patches, table["sales_per_customer"]):
        ax.annotate(f"{v:,.0f}", (p.get_x() + p.get_width() / 2, p.get_height()), ha="center", va="bottom", fontsize=8)
    ax.set_xlabel("group (1 = top spenders, equal numbers of customers)")
    ax.set_ylabel(money("monthly sales per customer", currency or None))
    ax2 = ax.twinx()
    ax2.plot(range(len(table)), table["cum_sales_share"], color="#C44E52", marker="o", label="cumulative share of sales")
    ax2.yaxis.set_major_formatter(mtick.PercentFormatter(1.0))
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("cumulative share of sales")
    ax2.grid(False)
    ax2.legend(loc="center right")
    ax.set_title("Decile analysis: who brings the sales")
    return ax


def plot_pareto(curve: pd.DataFrame, *, target: float = 0.8, ax=None):
    """The Pareto (80/20) curve: cumulative share of sales against share of customers.

    Examples
    --------
    Five customers, the top two with 80 % of the sales (:func:`crm_kit.discovery.pareto_table`):

    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from crm_kit import discovery, plotting
    >>> customers = pd.DataFrame({"customer_id": list("abcde"), "sales": [50.0, 30.0, 10.0, 6.0, 4.0]})
    >>> ax = plotting.plot_pareto(discovery.pareto_table(customers))
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('share of customers', 'cumulative share of sales')
    >>> ax.texts[0].get_text()  # the note on the curve
    '40% of customers bring 80% of sales'
    >>> plt.close(ax.figure)
    """
    ax = _ax(ax)
    step = max(1, len(curve) // 2000)
    c = curve.iloc[::step]
    ax.plot(c["customer_share"], c["value_share"], color="#4C72B0", label="customers, top spenders first")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="every customer equal")
    idx = int(np.searchsorted(curve["value_share"].to_numpy(), target - 1e-12))
    x = float(curve["customer_share"].iloc[min(idx, len(curve) - 1)])
    ax.axhline(target, color="#C44E52", lw=0.8)
    ax.axvline(x, color="#C44E52", lw=0.8)
    ax.annotate(f"{x:.0%} of customers bring {target:.0%} of sales", (x, target), xytext=(x + 0.05, target - 0.15),
                arrowprops={"arrowstyle": "->"})
    ax.xaxis.set_major_formatter(mtick.PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(mtick.PercentFormatter(1.0))
    ax.set_xlabel("share of customers")
    ax.set_ylabel("cumulative share of sales")
    ax.set_title("Value pyramid / Pareto curve")
    ax.legend(loc="lower right")
    return ax


def plot_behaviour(table: pd.DataFrame, *, columns: Sequence[str] = ("visits_per_customer", "ticket", "recency_days", "brand_loyalty", "promo_share"), ax=None):
    """Heatmap of the behaviour table: each column coloured relative to its own range, values printed."""
    ax = _ax(ax)
    cols = [c for c in columns if c in table.columns and table[c].notna().any()]
    data = table.set_index("group")[cols]
    scaled = (data - data.min()) / (data.max() - data.min()).replace(0, 1)
    # green means good in every row: long recency and a high promotion share are costly, so they are flipped
    for bad in ("recency_days", "promo_share"):
        if bad in scaled.columns:
            scaled[bad] = 1 - scaled[bad]
    labels = {
        "visits_per_customer": "visits / month",
        "ticket": "avg ticket",
        "recency_days": "recency (days)",
        "brand_loyalty": "brand loyalty (repeat rate)",
        "promo_share": "promo share of spend",
    }
    annot = data.map(lambda v: f"{v:,.2f}" if abs(v) < 10 else f"{v:,.0f}")
    sns.heatmap(scaled.T, annot=annot.T, fmt="", cmap="RdYlGn", cbar=False, ax=ax, linewidths=0.5)
    ax.set_yticklabels([labels.get(c, c) for c in cols], rotation=0)
    ax.set_xlabel("group")
    ax.set_ylabel("")
    ax.set_title("Consumer behaviour by group (green = better within each row)")
    return ax


def plot_category_mix(mix: pd.DataFrame, *, top: int = 6, ax=None):
    """Stacked bars: share of each group's spend per category (top categories, the rest as 'other')."""
    ax = _ax(ax)
    order = mix.mean().sort_values(ascending=False).index
    keep = list(order[:top])
    shown = mix[keep].copy()
    shown["other"] = 1 - shown.sum(axis=1)
    return _stacked_shares(shown, ax=ax, ylabel="share of the group's spend", title="Category mix by group")


def plot_share_by_group(shares: pd.DataFrame, *, title: str, ax=None):
    """Stacked bars of a member-form field's level shares per group."""
    return _stacked_shares(shares, ax=_ax(ax), ylabel="share of members", title=title)


def _stacked_shares(shares: pd.DataFrame, *, ax, ylabel: str, title: str):
    """One stacked bar per group (rows) of shares (columns), legend outside."""
    shares.plot(kind="bar", stacked=True, ax=ax, colormap="tab20", width=0.8)
    ax.yaxis.set_major_formatter(mtick.PercentFormatter(1.0))
    ax.set_xlabel("group")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=8)
    ax.tick_params(axis="x", rotation=0)
    return ax


def plot_repurchase(intervals: pd.DataFrame, groups: pd.DataFrame, *, ax=None):
    """Box plot of each customer's median days between purchases, by group."""
    ax = _ax(ax)
    df = groups[["customer_id", "group"]].merge(intervals.reset_index()[["customer_id", "median_interval"]], on="customer_id")
    sns.boxplot(data=df, x="group", y="median_interval", color="#8DA0CB", showfliers=False, ax=ax)
    ax.set_xlabel("group")
    ax.set_ylabel("median days between purchases")
    ax.set_title("Repurchase interval by group")
    return ax


def plot_kpis(kpis: pd.DataFrame, *, ax=None):
    """Monthly sales (line) and new vs returning customers (bars)."""
    ax = _ax(ax)
    x = kpis["month"].astype(str)
    ax.bar(x, kpis["returning_customers"], color="#8DA0CB", label="returning customers")
    ax.bar(x, kpis["new_customers"], bottom=kpis["returning_customers"], color="#FC8D62", label="new customers")
    ax.set_ylabel("customers")
    ax.tick_params(axis="x", rotation=60)
    ax2 = ax.twinx()
    ax2.plot(x, kpis["sales"], color="#222222", marker="o", label="sales")
    ax2.set_ylabel(money("monthly sales, millions"))
    ax2.yaxis.set_major_formatter(mtick.FuncFormatter(lambda v, _p: f"{v / 1e6:,.1f}M"))
    ax2.set_ylim(bottom=0)  # from zero: a truncated axis would exaggerate the swings
    ax2.grid(False)
    ax.legend(loc="upper left")
    ax2.legend(loc="upper right")
    ax.set_title("Monthly sales and customers")
    return ax


def plot_product_classes(classes: pd.DataFrame, *, ax=None):
    """Products: weekly units (log) against sales rank, coloured by class."""
    ax = _ax(ax)
    df = classes.assign(weekly_units=classes["weekly_units"].clip(lower=0.01))
    sns.scatterplot(data=df, x="sales_rank", y="weekly_units", hue="class", s=14, ax=ax,
                    palette={"bestseller": "#55A868", "regular": "#4C72B0", "slow mover": "#C44E52"})
    ax.set_yscale("log")
    ax.set_xlabel("sales rank (1 = best)")
    ax.set_ylabel("units sold per week (log scale)")
    ax.set_title("Bestsellers, regular items and slow movers")
    return ax


def plot_rules(rules: pd.DataFrame, *, ax=None):
    """Horizontal bars: lift of the top association rules."""
    ax = _ax(ax)
    labels = rules["antecedent"].astype(str) + " → " + rules["consequent"].astype(str)
    ax.barh(labels[::-1], rules["lift"][::-1], color="#4C72B0")
    ax.axvline(1.0, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("lift (1 = bought together no more than by chance)")
    ax.set_title("Items bought together")
    return ax


def plot_k_choice(scores: pd.DataFrame, *, ax=None):
    """Elbow (inertia) and silhouette against k; the chosen k is marked."""
    ax = _ax(ax)
    ax.plot(scores["k"], scores["inertia"], marker="o", color="#4C72B0", label="inertia (elbow)")
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel("inertia (within-cluster sum of squares)")
    ax2 = ax.twinx()
    ax2.plot(scores["k"], scores["silhouette"], marker="s", color="#C44E52", label="silhouette")
    best = scores.loc[scores["best"]].iloc[0]
    ax2.scatter([best["k"]], [best["silhouette"]], s=150, facecolors="none", edgecolors="black", zorder=5)
    if "elbow" in scores.columns and scores["elbow"].any():
        elbow = scores.loc[scores["elbow"]].iloc[0]
        ax.axvline(elbow["k"], color="#4C72B0", ls=":", lw=1)
        ax.annotate(f"elbow k={int(elbow['k'])}", (elbow["k"], elbow["inertia"]), xytext=(5, 5),
                    textcoords="offset points", fontsize=8, color="#4C72B0")
    ax2.annotate(f"chosen k={int(best['k'])}", (best["k"], best["silhouette"]), xytext=(5, -12),
                 textcoords="offset points", fontsize=8)
    ax2.set_ylabel("silhouette (higher = better separated)")
    ax2.grid(False)
    ax.legend(loc="upper center")
    ax2.legend(loc="upper right")
    ax.set_title("Choosing k: elbow and silhouette")
    return ax


def plot_clusters(projection: pd.DataFrame, names: dict, *, ax=None, max_points: int = 5000, seed: int = 0):
    """2-D PCA view of the customers, coloured by cluster."""
    ax = _ax(ax)
    df = projection.sample(min(len(projection), max_points), random_state=seed)
    df = df.assign(segment=df["cluster"].map(lambda c: f"{c}: {names.get(c, c)}"))
    sns.scatterplot(data=df.sort_values("cluster"), x="pc1", y="pc2", hue="segment", s=10, alpha=0.6, ax=ax)
    ax.set_xlabel("first principal component (standardised features)")
    ax.set_ylabel("second principal component")
    ax.set_title("Customer clusters (2-D view)")
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=8)
    return ax


def plot_churn(churn: pd.DataFrame, *, ax=None):
    """Churn rate per value tier over time."""
    ax = _ax(ax)
    sns.lineplot(data=churn, x="checkpoint", y="churn_rate", hue="tier", marker="o", ax=ax)
    ax.yaxis.set_major_formatter(mtick.PercentFormatter(1.0))
    ax.set_xlabel("checkpoint date")
    ax.set_ylabel("churn rate (share of the tier)")
    ax.set_title("Churn by value tier")
    ax.tick_params(axis="x", rotation=30)
    return ax


def plot_calibration(table: pd.DataFrame, *, unit: str = "days", ax=None):
    """Predicted against actual holdout purchases by calibration frequency (the literature's calibration/holdout plot).

    Takes :func:`crm_kit.clv.frequency_table` (one point per number of
    calibration purchases, 7+ pooled) or :func:`crm_kit.clv.calibration_table`
    (groups of equal size).
    """
    ax = _ax(ax)
    by_count = "calibration_purchases" in table.columns
    x = table["calibration_purchases"] if by_count else table["frequency"]
    ax.plot(x, table["actual"], marker="o", label="actual")
    ax.plot(x, table["predicted"], marker="s", ls="--", label="predicted by the model")
    ax.set_xlabel("repeat purchases in the calibration period" if by_count
                  else "mean repeat purchases in the calibration period (groups of equal size)")
    ax.set_ylabel("mean purchases per customer in the holdout")
    ax.set_title(f"CLV model check: calibration vs holdout (time unit: {unit})")
    ax.legend()
    return ax


def plot_tracking(tracking: pd.DataFrame, *, ax=None):
    """Cumulative repeat purchases over time, actual against the model, the calibration end marked."""
    ax = _ax(ax)
    ax.plot(tracking["date"], tracking["actual"], label="actual")
    ax.plot(tracking["date"], tracking["predicted"], ls="--", label="predicted by the model")
    holdout = tracking[tracking["period"] == "holdout"]
    if len(holdout):
        ax.axvline(holdout["date"].iloc[0], color="grey", lw=1, ls=":")
        ax.annotate("holdout starts", (holdout["date"].iloc[0], 0), xytext=(4, 4), textcoords="offset points", fontsize=8)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("date")
    ax.set_ylabel("cumulative repeat purchases (all customers)")
    ax.set_title("CLV model check: tracking cumulative repeat purchases")
    ax.legend()
    return ax


def plot_overlap(matrix: pd.DataFrame, *, ax=None):
    """Heatmap of customers shared by each pair of segments (diagonal: segment sizes)."""
    ax = _ax(ax)
    sns.heatmap(matrix, annot=len(matrix) <= 16, fmt="d", cmap="Blues", ax=ax, cbar_kws={"label": "customers"})
    ax.set_title("Segment overlap: customers in both")
    return ax


def plot_lift(lift: pd.DataFrame, *, estimate: str = "lift", ax=None):
    """Relative effect of each metric with its confidence interval.

    ``estimate="lift"``: the difference over the (random) control group,
    relative to the control mean. ``estimate="did"``: the difference-in-
    differences against a comparison group, relative to the treated's base
    mean (metrics without a DiD, the ticket, are left out).
    """
    ax = _ax(ax)
    if estimate == "lift":
        df, scale = lift.copy(), lift["control_mean"]
        mid, lo, hi = df["relative_lift"], df["ci_low"] / scale, df["ci_high"] / scale
        xlabel = "lift over the control group (bars: estimate; whiskers: confidence interval)"
        title = "Campaign effect, measured against the control group"
    else:
        df = lift[lift["did"].notna()].copy()
        scale = df["treated_base_mean"]
        mid, lo, hi = df["did"] / scale, df["did_ci_low"] / scale, df["did_ci_high"] / scale
        xlabel = "difference-in-differences, relative to the treated's base (whiskers: confidence interval)"
        title = "Campaign effect against a comparison group (not random)"
    y = np.arange(len(df))
    ax.barh(y, mid, color="#4C72B0", alpha=0.8)
    ax.errorbar(mid, y, xerr=[mid - lo, hi - mid], fmt="none", ecolor="black", capsize=4)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, [f"{m} per customer" for m in df["metric"]])
    ax.xaxis.set_major_formatter(mtick.PercentFormatter(1.0))
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return ax


def plot_arms(comparisons: pd.DataFrame | str, *, metric: str = "sales", ax=None):
    """Each comparison of a multi-arm round (arm against control, arm against arm) with its joint (Bonferroni) interval.

    A sentence instead of the table (one treatment arm) draws nothing and returns ``None``.
    """
    if isinstance(comparisons, str):
        return None
    ax = _ax(ax)
    df = comparisons[comparisons["metric"] == metric].reset_index(drop=True)
    y = np.arange(len(df))[::-1]
    mid = df["difference"].to_numpy(float)
    colours = ["#4C72B0" if a == "control" else "#DD8452" for a in df["against"]]
    ax.barh(y, mid, color=colours, alpha=0.8)
    ax.errorbar(mid, y, xerr=[mid - df["joint_ci_low"], df["joint_ci_high"] - mid], fmt="none", ecolor="black", capsize=4)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, [f"{a} vs {b}" for a, b in zip(df["arm"], df["against"])])
    ax.set_xlabel("difference in visits per customer, whiskers: joint 95 % interval (Bonferroni)" if metric == "visits"
                  else money("difference in sales per customer, whiskers: joint 95 % interval (Bonferroni)"))
    ax.set_title("Each arm against control (blue) and against each other (orange)")
    return ax


def plot_uplift(deciles: pd.DataFrame | None, *, ax=None):
    """Observed uplift (treated mean - control mean) by decile of predicted uplift, out of fold, beside the prediction.

    Without a table (no model could be fitted) nothing is drawn and ``None`` returned.
    """
    if deciles is None:
        return None
    ax = _ax(ax)
    long = deciles.melt(id_vars="decile", value_vars=["observed_uplift", "predicted_uplift"],
                        var_name="figure", value_name="uplift")
    long["figure"] = long["figure"].map({"observed_uplift": "observed (treated - control)",
                                         "predicted_uplift": "predicted (mean)"})
    sns.barplot(long, x="decile", y="uplift", hue="figure", ax=ax)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("decile of predicted uplift (1 = highest), out of fold")
    ax.set_ylabel(money("incremental sales per customer"))
    ax.set_title("Does the uplift model rank customers? Observed uplift by predicted decile")
    ax.legend(title=None)
    return ax


def plot_naive_vs_controlled(comparison: pd.DataFrame, *, ax=None):
    """Naive before/after growth against the control group's growth and the controlled effect (lift or DiD)."""
    ax = _ax(ax)
    df = comparison[comparison["figure"].str.contains("growth|relative")].copy()
    labels = ["naive (mean of rates)", "naive (ratio of totals)", "control, no campaign", "controlled effect"]
    colors = ["#C44E52", "#DD8452", "#8C8C8C", "#4C72B0"]
    ax.bar(labels[: len(df)], df["value"], color=colors[: len(df)])
    for i, v in enumerate(df["value"]):
        ax.annotate(f"{v:+.0%}", (i, v), ha="center", va="bottom")
    ax.yaxis.set_major_formatter(mtick.PercentFormatter(1.0))
    ax.set_ylabel("sales growth / lift")
    ax.set_title("Why the naive before/after figure misleads")
    ax.tick_params(axis="x", rotation=15)
    return ax


def plot_group_sizes(summary: pd.DataFrame, *, group_col: str, ax=None):
    """Customers per result group (A1-A4 or A41-A44)."""
    ax = _ax(ax)
    sns.barplot(data=summary, x=group_col, y="customers", color="#4C72B0", ax=ax)
    for p, v in zip(ax.patches, summary["customers"]):
        ax.annotate(f"{v:,}", (p.get_x() + p.get_width() / 2, p.get_height()), ha="center", va="bottom")
    ax.set_xlabel("group")
    ax.set_ylabel("treated customers")
    ax.set_title("Who reached the goals")
    return ax


def plot_flow(nodes: Sequence[tuple[int, str, float]], links: Sequence[tuple[str, str, float]], *,
              title: str = "Who went where", ax=None, width: float = 0.18):
    """An alluvial (Sankey-like) flow: columns of nodes sized by customers, bands between them.

    Parameters
    ----------
    nodes
        ``(column, name, count)``; nodes of a column are stacked top down in order.
    links
        ``(source name, target name, count)``.

    Examples
    --------
    The flows of a tier migration (:func:`crm_kit.changes.migration_flows`): each node is labelled with its
    customers:

    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from crm_kit import changes, plotting
    >>> matrix = pd.DataFrame([[1, 1], [1, 2]], index=["A", "B"], columns=["A", "B"])
    >>> ax = plotting.plot_flow(*changes.migration_flows(matrix))
    >>> ax.get_title()
    'Who went where'
    >>> [text.get_text().replace("\\n", " / ") for text in ax.texts]
    ['A (last month) / 2', 'B (last month) / 3', 'A (this month) / 2', 'B (this month) / 3']
    >>> plt.close(ax.figure)
    """
    if ax is None:
        _fig, ax = plt.subplots(figsize=(12, 6))
    cols: dict[int, list] = {}
    for col, name, count in nodes:
        cols.setdefault(col, []).append((name, count))
    total = max(sum(c for _n, c in v) for v in cols.values())
    gap = total * 0.04
    pos = {}
    palette = sns.color_palette("tab10", n_colors=len(nodes))
    for col, items in cols.items():
        y = 0.0
        for name, count in items:
            pos[name] = {"x": col, "y0": y, "y1": y + count, "out": y, "in": y}
            y += count + gap
    small = total * 0.06  # a node thinner than this gets its label beside it, spaced from its neighbours
    last_label: dict[int, float] = {}
    for i, (name, p) in enumerate(pos.items()):
        ax.add_patch(plt.Rectangle((p["x"] - width / 2, p["y0"]), width, p["y1"] - p["y0"], color=palette[i % len(palette)], alpha=0.9))
        count = p["y1"] - p["y0"]
        middle = (p["y0"] + p["y1"]) / 2
        if count >= small:
            ax.text(p["x"], middle, f"{name}\n{count:,.0f}", ha="center", va="center", fontsize=8,
                    color="black", bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})
            continue
        y = max(middle, last_label.get(p["x"], -np.inf) + total * 0.045)
        last_label[p["x"]] = y
        ax.text(p["x"] + width / 2 + 0.03, y, f"{name}: {count:,.0f}", ha="left", va="center", fontsize=8,
                color="black", bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1})
    xs = np.linspace(0, 1, 50)
    smooth = xs * xs * (3 - 2 * xs)
    for src, dst, count in links:
        s, d = pos[src], pos[dst]
        x0, x1 = s["x"] + width / 2, d["x"] - width / 2
        top0, top1 = s["out"], d["in"]
        s["out"] += count
        d["in"] += count
        lower = top0 + (top1 - top0) * smooth
        ax.fill_between(x0 + (x1 - x0) * xs, lower, lower + count, color="#9DB4D3", alpha=0.5, lw=0)
    ax.set_xlim(-0.5, max(cols) + 0.5)
    ax.set_ylim(-gap, max(p["y1"] for p in pos.values()) + gap)
    ax.invert_yaxis()
    ax.axis("off")
    ax.set_title(title)
    return ax


_NODE_NAMES = {"sales": "sales", "customers": "customers", "orders_per_customer": "orders per customer",
               "order_value": "order value", "items_per_order": "items per order", "price_per_item": "price per item"}
_NODE_PLACES = {"sales": (0.45, 0.86), "customers": (0.08, 0.5), "orders_per_customer": (0.45, 0.5),
                "order_value": (0.82, 0.5), "items_per_order": (0.62, 0.13), "price_per_item": (1.0, 0.13)}


def _figure_text(node: str, value: float) -> str:
    if node in ("sales", "order_value", "price_per_item"):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if node == "customers":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def plot_revenue_tree(tree: pd.DataFrame, *, segment: str = "all", before: str = "last month",
                      after: str = "this month", ax=None):
    """The revenue tree as a diagram: each node's value in both periods and its contribution to the change of sales.

    ``tree`` is :func:`crm_kit.changes.revenue_tree`; the boxes of the leaves add
    up to the root's change (LMDI). Green boxes added sales, red ones took sales away.
    """
    if ax is None:
        _fig, ax = plt.subplots(figsize=(12, 5.2))
    rows = tree[tree["segment"] == segment].set_index("node")
    if rows.empty:
        raise ValueError(f"the tree has no segment {segment!r}")
    for node, parent in rows["parent"].items():
        if isinstance(parent, str) and parent in rows.index:
            (x0, y0), (x1, y1) = _NODE_PLACES[parent], _NODE_PLACES[node]
            ax.plot([x0, x0, x1, x1], [y0 - 0.1, (y0 + y1) / 2, (y0 + y1) / 2, y1 + 0.1], color="grey", lw=1, zorder=1)
    for node, row in rows.iterrows():
        x, y = _NODE_PLACES[node]
        change = row["relative_change"]
        text = (f"{_NODE_NAMES[node]}\n{_figure_text(node, row['before'])} → {_figure_text(node, row['after'])}"
                + (f" ({change:+.1%})" if np.isfinite(change) else "")
                + f"\n{'change' if node == 'sales' else 'contribution'}: {row['contribution']:+,.0f}")
        colour = "#DDDDDD" if node == "sales" else ("#B7E1B0" if row["contribution"] >= 0 else "#F4B6B6")
        ax.text(x, y, text, ha="center", va="center", fontsize=8.5, zorder=2,
                bbox={"boxstyle": "round,pad=0.5", "facecolor": colour, "edgecolor": "grey"})
    ax.set_xlim(-0.1, 1.14)
    ax.set_ylim(0, 1)
    ax.axis("off")
    where = "" if segment == "all" else f" — {segment}"
    ax.set_title(f"Revenue tree{where}: {before} → {after} — " + money("sales and contributions"))
    return ax


def plot_contributions(tree: pd.DataFrame, *, ax=None):
    """Each segment's sales change split into its factors (LMDI contributions, stacked), the net change marked."""
    ax = _ax(ax)
    leaves = ["customers", "orders_per_customer", "items_per_order", "price_per_item"]
    if "items_per_order" not in set(tree["node"]):
        leaves = ["customers", "orders_per_customer", "order_value"]
    wide = tree[tree["node"].isin(leaves)].pivot(index="segment", columns="node", values="contribution")[leaves]
    wide = wide.reindex(["all"] + [s for s in wide.index if s != "all"])
    net = tree[tree["node"] == "sales"].set_index("segment")["contribution"].reindex(wide.index)
    colours = dict(zip(leaves, sns.color_palette("Set2", len(leaves))))
    positive = np.zeros(len(wide))
    negative = np.zeros(len(wide))
    y = np.arange(len(wide))
    for leaf in leaves:
        v = wide[leaf].to_numpy(float)
        left = np.where(v >= 0, positive, negative)
        ax.barh(y, v, left=left, color=colours[leaf], label=_NODE_NAMES[leaf], height=0.6)
        positive += np.where(v >= 0, v, 0)
        negative += np.where(v < 0, v, 0)
    ax.scatter(net.to_numpy(float), y, color="black", marker="D", zorder=3, label="net change of sales")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, [str(s) for s in wide.index])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(mtick.FuncFormatter(lambda v, _p: f"{v / 1e6:,.1f}M" if abs(v) >= 1e6 or v == 0
                                                      else f"{v:,.0f}"))
    ax.set_xlabel(money("contribution to the change of sales"))
    ax.set_ylabel("segment")
    ax.set_title("Where the change came from, by segment")
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_migration(matrix: pd.DataFrame, *, unit: str = "customers", ax=None):
    """Heatmap of a migration matrix: rows last month, columns this month; the diagonal stayed put.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from crm_kit import changes, plotting
    >>> moves = pd.DataFrame({"tier_before": ["A", "A", "B"], "tier_after": ["A", "B", "A"],
    ...                       "sales_before": [300.0, 250.0, 90.0], "sales_after": [320.0, 60.0, 280.0]})
    >>> ax = plotting.plot_migration(changes.migration_matrix(moves))
    >>> ax.get_title()
    'Migration: last month → this month (customers)'
    >>> ax.get_ylabel(), ax.get_xlabel()
    ('last month (tier)', 'this month (tier)')
    >>> [text.get_text() for text in ax.texts]  # the counts in the cells, row by row
    ['1', '1', '1', '0']
    >>> plt.close(ax.figure)
    """
    ax = _ax(ax)
    money_cells = unit != "customers"
    values = matrix / 1e3 if money_cells else matrix
    sns.heatmap(values, annot=matrix.shape[0] * matrix.shape[1] <= 200, fmt=",.0f", cmap="Blues", ax=ax,
                cbar_kws={"label": money(f"{unit}, thousands") if money_cells else "customers"})
    ax.set_xlabel(str(matrix.columns.name or "this month"))
    ax.set_ylabel(str(matrix.index.name or "last month"))
    ax.set_title(f"Migration: last month → this month ({'sales this month' if money_cells else 'customers'})")
    ax.tick_params(axis="x", rotation=30)
    return ax


def plot_cohorts(table: pd.DataFrame, *, ax=None):
    """Heatmap of a cohort table (share still buying): acquisition month × months since the first purchase."""
    if ax is None:
        _fig, ax = plt.subplots(figsize=(11, 5))
    shown = table.copy()
    labels = [str(c) for c in shown.index]
    if labels:
        labels[0] += " (and before)"
    sns.heatmap(shown, annot=shown.size <= 400, fmt=".0%", cmap="YlGnBu", vmin=0, vmax=1, ax=ax,
                yticklabels=labels, cbar_kws={"label": "share of the cohort buying", "format": mtick.PercentFormatter(1.0)},
                annot_kws={"fontsize": 7})
    ax.set_xlabel("months since the first purchase")
    ax.set_ylabel("acquisition month (first purchase)")
    ax.set_title("Cohorts: who is still buying")
    return ax


def plot_unusual(unusual: pd.DataFrame, *, ax=None):
    """Each headline's change on the month before (dot) against its usual range (bar: mean ± threshold × sd)."""
    ax = _ax(ax)
    df = unusual.reset_index(drop=True)
    y = np.arange(len(df))
    ax.hlines(y, df["growth_low"], df["growth_high"], color="#BBBBBB", lw=8, label="usual range (last months' changes)")
    colours = df["verdict"].map({"unusual": "#C44E52", "usual": "#4C72B0"}).fillna("#999999")
    ax.scatter(df["growth"], y, color=colours, zorder=3, s=40, label="this month's change")
    ax.scatter(df["growth_last_year"], y, facecolors="none", edgecolors="black", zorder=3, s=40,
               label="same month last year")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, [_NODE_NAMES.get(f, f.replace("_", " ")) for f in df["figure"]])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(mtick.PercentFormatter(1.0))
    ax.set_xlabel("change on the month before (%)")
    ax.set_title("What is unusual this month (red: outside the usual range)")
    ax.legend(loc="best", fontsize=8)
    return ax


def localise(ax):
    """Every title, axis label and legend text of ``ax``'s figure in :data:`LANGUAGE` (known texts only)."""
    if LANGUAGE == "en" or ax is None:
        return ax
    for axis in ax.figure.axes:
        axis.set_title(translate(axis.get_title(), LANGUAGE))
        axis.set_xlabel(translate(axis.get_xlabel(), LANGUAGE))
        axis.set_ylabel(translate(axis.get_ylabel(), LANGUAGE))
        legend = axis.get_legend()
        if legend is not None:
            for text in legend.get_texts():
                text.set_text(translate(text.get_text(), LANGUAGE))
    return ax


def _localised(fn):
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return localise(fn(*args, **kwargs))

    return wrapper


for _name in [n for n in __all__ if n.startswith("plot_")]:
    globals()[_name] = _localised(globals()[_name])
