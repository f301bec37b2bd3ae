"""The demo store: a seeded membership store that plants the worked case, built on the package.

``plan`` holds the case's numbers, rounds and 4P plans (once); ``generator``
writes the store and its ground truth. Importing this package registers the
named data source ``demo`` (``data: demo`` or ``data: demo:3000`` in params),
so the store package never imports the demo.
"""

from ..store.spec import register_source
from .generator import DEMO_VERSION, default_demo_dir, demo_data_spec, ensure_demo_store, generate_demo_store
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

__all__ = [
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
    "generate_demo_store",
]

register_source("demo", demo_data_spec)
