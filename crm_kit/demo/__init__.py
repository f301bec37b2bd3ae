"""The demo store: a seeded membership store that plants the worked case, built on the package.

``plan`` holds the case's numbers, rounds and 4P plans (once); ``model`` the
generating model (personas, habits, who responds to which channel);
``generator`` draws the months without campaigns; ``simulator`` plays out
any campaign design on them; ``store`` assembles the store and tells a
notebook which variant to load. Importing this package registers the
named data source ``demo`` (``data: demo`` or ``data: demo:3000`` in params),
so the store package never imports the demo.
"""

from ..store.spec import register_outcome_source, register_source
from .generator import DEMO_VERSION, default_demo_dir
from .model import PERSONAS, RESPONSE_MODEL, model_table, response_table
from .plan import (
    DEMO_GROUP_SALES,
    DEMO_GROUP_VISITS,
    DEMO_MONTHS,
    DEMO_ROUNDS,
    DEMO_SEED,
    ROUND_PLANS,
    case_parameters,
    case_preset,
    describe_preset,
)
from .outcomes import OUTCOME_TRUTH, demo_outcome_table, simulate_outcome_table
from .planted import plant_change, read_planted
from .simulator import Design, simulate_campaign
from .store import CampaignData, campaign_data, demo_data_spec, ensure_demo_store, generate_demo_store

__all__ = [
    "CampaignData",
    "Design",
    "PERSONAS",
    "RESPONSE_MODEL",
    "campaign_data",
    "model_table",
    "response_table",
    "simulate_campaign",
    "DEMO_GROUP_SALES",
    "DEMO_GROUP_VISITS",
    "DEMO_MONTHS",
    "DEMO_ROUNDS",
    "DEMO_SEED",
    "DEMO_VERSION",
    "ROUND_PLANS",
    "case_parameters",
    "case_preset",
    "describe_preset",
    "default_demo_dir",
    "demo_data_spec",
    "ensure_demo_store",
    "OUTCOME_TRUTH",
    "demo_outcome_table",
    "simulate_outcome_table",
    "generate_demo_store",
    "plant_change",
    "read_planted",
]

register_source("demo", demo_data_spec)
register_outcome_source("demo", demo_outcome_table)
