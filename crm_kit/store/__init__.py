"""The store: a data spec checked, read, mapped to the canonical schema, cleaned and cached.

Modules, in the order the data flows through them:

``spec``
    the canonical schema, the data spec and its complete check (before anything is read),
    named sources (``data: demo`` is registered by :mod:`crm_kit.demo`);
``sniff``, ``profile``, ``layouts``
    what ``crm-kit init`` learns of a file before a spec exists: its type, encoding and delimiter from the
    bytes; every column's layouts over all rows; the number, date and zone layouts both init and the load read;
``source``
    a table's path resolved to its files (one file, a glob, a URI), and each file's content digest;
``connect``
    the engine connection (DuckDB's memory cap and spill folder, or a Spark session);
``convert``
    files the engine cannot read as exported, converted once into the cache (encodings, footers, Excel, zip);
``read``
    a table's cells read as text (parts one by one) and its columns mapped to canonical names;
``derive``
    joined date and time columns, cells filled down, emails hashed, before the values are typed;
``cast``
    typing the text (null tokens, numbers in any locale, timestamps and zones), every value checked;
``prepare``
    one table from source to typed columns: the steps above composed;
``engine_errors``
    an engine's error while reading, as the kit's one line with the fix;
``clean``
    the named cleaning rules, each counted;
``cache``
    the cleaned store kept as a DuckDB file keyed by spec and input files, whatever the engine, and
    exported once as Parquet for the engines that read it (Spark: :func:`~crm_kit.store.cache.parquet_store`)
    (stores no spec can reach any more removed as a new one is written: :func:`remove_unreachable_stores`);
``model``
    :class:`Store`, what every analysis receives;
``load``
    :func:`load_store` (the straight path through all of the above), :func:`load_personal`, and
    :func:`store_calendar_of` (the cleaned store's first and last line time without a load on the engine);
``public``
    the public datasets (UCI Online Retail I and II, the Complete Journey, Lenta) and their cache.
"""

from .cache import remove_unreachable_stores
from .load import load_personal, load_store, store_calendar_of
from .model import Store
from .source import source_files
from .spec import (
    CANONICAL_COLUMNS,
    CLEANING_DEFAULTS,
    PERSONAL_FIELDS,
    check_spec,
    load_data_spec,
    register_source,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "CLEANING_DEFAULTS",
    "PERSONAL_FIELDS",
    "Store",
    "check_spec",
    "load_data_spec",
    "load_personal",
    "load_store",
    "register_source",
    "remove_unreachable_stores",
    "source_files",
    "store_calendar_of",
]
