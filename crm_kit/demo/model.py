"""The demo store's generating model as data: personas, their habits, and who responds to which channel.

Every number the generator and the campaign simulator plant lives here once,
so that the documentation, the ground truth and a teacher's slide can print the same
table (:func:`model_table`, :func:`response_table`).

The model, in one paragraph: every member has latent traits drawn once — a
value rank, a persona, a visit rate and a mean ticket (each gamma-mixed
around the persona's level, so members of one decile differ and keep
differing), a dropout probability per visit (BG/NBD style: after each visit
a member leaves for good with probability ``p``) and per-channel
responsiveness. Months are then drawn from those traits: Poisson visits
(rate x season), a gamma spend per visit around the member's mean ticket
(Gamma-Gamma style) with a small monthly mood. The value rank's levels are
calibrated so that the base month reproduces the worked case's decile table.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = [
    "PERSONAS",
    "DROPOUT_BY_GROUP",
    "PERSONA_SHARES_BY_GROUP",
    "RESPONSE_MODEL",
    "SHAPES",
    "model_table",
    "response_table",
    "value_table",
]

#: persona -> habits: loyalty = chance a line is of the member's favourite brand; promo = chance a line is bought
#: on promotion; visit_style = how strongly the persona goes with a high (> 0) or low (< 0) visit rate for the
#: member's value (the persona weight is x exp(visit_style x z), z the member's standardised log rate mix: families shop often, premium shoppers rarely
#: with large baskets); mix = category tilts (x the store's shares); about = one line for the slide.
PERSONAS: dict[str, dict[str, Any]] = {
    "family": {
        "loyalty": 0.60, "promo": 0.30, "visit_style": 2.0,
        "mix": {"fresh produce": 1.6, "meat and seafood": 1.5, "dairy": 1.5, "baby": 3.0, "household paper": 1.3},
        "about": "the family shop: fresh food, dairy, baby; sticks to brands",
    },
    "premium": {
        "loyalty": 0.97, "promo": 0.02, "visit_style": -2.0,
        "mix": {"wine and spirits": 3.0, "small appliances": 2.5, "meat and seafood": 1.5, "home and apparel": 2.0},
        "about": "wine, appliances, meat at full price; the most brand loyal",
    },
    "deal hunter": {
        "loyalty": 0.08, "promo": 0.80, "visit_style": 0.5,
        "mix": {"cleaning": 2.0, "household paper": 2.0, "grains and oils": 1.6, "beverages": 1.5},
        "about": "buys on promotion, switches brands, stocks up on household goods",
    },
    "student snacker": {
        "loyalty": 0.30, "promo": 0.62, "visit_style": 0.0,
        "mix": {"personal care": 3.4, "snacks": 3.8},
        "about": "young, often a student on WeChat: toiletries and snacks, promotion-sensitive, not loyal",
    },
    "occasional": {
        "loyalty": 0.25, "promo": 0.10, "visit_style": -0.5,
        "mix": {},
        "about": "new or drifting away: buys little, no brand habit",
    },
}

#: persona shares by base-month group (1 = highest sales ... 10 = lowest): the case profiles its groups, so a
#: member's persona is drawn by the group their base month put them in (by their value rank if they did not buy)
PERSONA_SHARES_BY_GROUP: dict[int, dict[str, float]] = {
    1: {"family": 0.50, "premium": 0.42, "deal hunter": 0.08},
    2: {"family": 0.55, "premium": 0.35, "deal hunter": 0.10},
    3: {"family": 0.55, "premium": 0.25, "deal hunter": 0.20},
    4: {"family": 0.50, "premium": 0.20, "deal hunter": 0.30},
    5: {"family": 0.50, "premium": 0.15, "deal hunter": 0.30, "occasional": 0.05},
    6: {"family": 0.50, "premium": 0.08, "deal hunter": 0.32, "occasional": 0.10},
    7: {"family": 0.40, "deal hunter": 0.32, "student snacker": 0.10, "occasional": 0.18},
    8: {"family": 0.05, "deal hunter": 0.12, "student snacker": 0.75, "occasional": 0.08},
    9: {"deal hunter": 0.15, "student snacker": 0.10, "occasional": 0.75},
    10: {"occasional": 0.90, "deal hunter": 0.05, "student snacker": 0.05},
}
#: mean probability of leaving after a visit (BG/NBD's p), by the value rank's decile (1 = highest value);
#: a member's own p is this x Gamma(dropout shape) / shape
DROPOUT_BY_GROUP: tuple[float, ...] = (0.003, 0.004, 0.005, 0.006, 0.008, 0.010, 0.014, 0.02, 0.04, 0.08)

#: shapes of the gamma mixtures: between members (visit rate, mean ticket), within a member (spend per visit,
#: Gamma-Gamma's p) and the sd of the log of a member's monthly mood (tickets); the dropout probability of a
#: member is the persona's mean x Gamma(dropout, 1 / dropout)
SHAPES: dict[str, float] = {"visit_rate": 4.0, "mean_ticket": 25.0, "spend_per_visit": 6.0, "monthly_mood_sd": 0.10,
                            "dropout": 2.0}

#: channel -> who responds (share of contacted members of each persona; WeChat needs a WeChat user) and what a
#: responder does in the campaign month: visits x visit_mult, ticket x ticket_mult, plus extra_orders phone orders
#: (Poisson mean) of order_ticket x the member's mean ticket. Contacted non-responders do as they would have.
RESPONSE_MODEL: dict[str, dict[str, Any]] = {
    "WeChat": {
        "responders": {"student snacker": 0.85, "deal hunter": 0.30, "family": 0.10, "premium": 0.05, "occasional": 0.05},
        "needs_wechat": True, "visit_mult": 1.6, "ticket_mult": 1.4, "extra_orders": 0.0, "order_ticket": 0.0,
        "about": "weekly push and a free sample for a weekend visit: students on WeChat come more often, buy more",
    },
    "SMS": {
        "responders": {"deal hunter": 0.35, "family": 0.25, "occasional": 0.20, "premium": 0.10, "student snacker": 0.05},
        "needs_wechat": False, "visit_mult": 1.25, "ticket_mult": 1.05, "extra_orders": 0.0, "order_ticket": 0.0,
        "about": "promotions by text: deal hunters and families come a little more often",
    },
    "phone": {
        "responders": {"family": 0.60, "premium": 0.45, "occasional": 0.35, "deal hunter": 0.30, "student snacker": 0.05},
        "needs_wechat": False, "visit_mult": 1.0, "ticket_mult": 1.0, "extra_orders": 1.2, "order_ticket": 0.55,
        "about": "phone ordering with free delivery: non-students place about 1.2 extra orders a month",
    },
    "email": {
        "responders": {"premium": 0.20, "family": 0.10, "deal hunter": 0.10, "occasional": 0.05, "student snacker": 0.05},
        "needs_wechat": False, "visit_mult": 1.15, "ticket_mult": 1.05, "extra_orders": 0.0, "order_ticket": 0.0,
        "about": "a newsletter: a few premium shoppers come once more",
    },
    "Weibo": {
        "responders": {"student snacker": 0.30, "deal hunter": 0.10, "family": 0.02, "premium": 0.02, "occasional": 0.05},
        "needs_wechat": False, "visit_mult": 1.2, "ticket_mult": 1.1, "extra_orders": 0.0, "order_ticket": 0.0,
        "about": "a social-media post: some students respond",
    },
}


def model_table() -> pd.DataFrame:
    """The personas as a table a teacher can put on a slide: habits and the base-month groups they fill."""
    rows = []
    for name, p in PERSONAS.items():
        groups = [str(g) for g, shares in PERSONA_SHARES_BY_GROUP.items() if shares.get(name, 0) >= 0.3]
        rows.append({
            "persona": name,
            "what they do": p["about"],
            "favourite-brand share": p["loyalty"],
            "bought on promotion": p["promo"],
            "categories tilted up": ", ".join(p["mix"]) or "-",
            "main base-month groups": ", ".join(groups) or "-",
        })
    return pd.DataFrame(rows)


def value_table() -> pd.DataFrame:
    """How much and how often members of each value decile buy, and how likely they are to leave."""
    from .plan import DEMO_GROUP_SALES, DEMO_GROUP_VISITS

    return pd.DataFrame({
        "value decile": range(1, 11),
        "expected monthly sales (start of calibration)": DEMO_GROUP_SALES,
        "visits a month (start of calibration)": DEMO_GROUP_VISITS,
        "dropout per visit (mean)": DROPOUT_BY_GROUP,
    })


def response_table() -> pd.DataFrame:
    """The planted response model per channel: who responds (share per persona) and how."""
    rows = []
    for channel, r in RESPONSE_MODEL.items():
        rows.append({
            "channel": channel,
            "what happens": r["about"],
            **{f"responders: {k}": v for k, v in r["responders"].items()},
            "needs a WeChat user": r["needs_wechat"],
            "visits x": r["visit_mult"],
            "ticket x": r["ticket_mult"],
            "extra phone orders": r["extra_orders"],
        })
    return pd.DataFrame(rows).fillna(0.0)
