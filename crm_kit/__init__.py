"""crm-kit: a notebook-based CRM analysis kit (knowledge discovery, segmentation,
campaign design and two-round result analysis) on an Ibis/DuckDB engine."""

from .data import Store, load_store
from .errors import CRMKitError, DataError, EmptyGroupError, MissingColumnError, ParameterError

__version__ = "0.1.0"

__all__ = [
    "Store",
    "load_store",
    "CRMKitError",
    "DataError",
    "EmptyGroupError",
    "MissingColumnError",
    "ParameterError",
    "__version__",
]
