"""Public retail datasets: UCI Online Retail (I and II), the Complete Journey sample, the Lenta sample.

Each dataset lives in ``<cache>/<name>/`` (``$CRM_KIT_CACHE``, else
``data/cache``); every file is checked against its sha256 before use.
``download=True`` fetches the publisher's archive and converts it; a
converted file is kept only when it reproduces the publisher's figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.request
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ..config import cache_root
from ..errors import DataError, ParameterError

__all__ = ["PUBLIC_DATASETS", "MANIFEST", "cache_dir", "fetch_public_dataset", "public_data_spec"]


def cache_dir() -> Path:
    """Where public datasets are cached: ``$CRM_KIT_CACHE`` or ``data/cache`` in the project."""
    return cache_root()


#: public datasets: the files the kit reads (relative to the dataset folder) with their sha256,
#: the publisher's archive, how it is turned into those files, the published figures every
#: converted file must reproduce, and the licence. The checksums pin the prepared files (the
#: form in which ../shared/data holds them).
PUBLIC_DATASETS: dict[str, dict[str, Any]] = {
    "online_retail": {
        "files": {"online_retail.parquet": "05ef20f1d6d8dc011087f346d58bd2814cb11c5142c01af5df349837e6db7885"},
        "url": "https://archive.ics.uci.edu/static/public/352/online+retail.zip",
        "convert": "uci_online_retail",
        # Chen, Sain & Guo (2012) / the UCI page: rows and sum(Quantity x UnitPrice)
        "checks": {"online_retail.parquet": {"rows": 541_909, "sum": ("Quantity * UnitPrice", 9_747_747.93)}},
        "licence": "CC BY 4.0 (UCI); cite Chen, Sain & Guo (2012)",
    },
    "online_retail_ii": {
        "files": {"online_retail_II_2009_2010.parquet": "e92bcbbce1b7a1041ad79462879d4774bf050c7b8fee9f4eef89f09fb6330664"},
        "url": "https://archive.ics.uci.edu/static/public/502/online+retail+ii.zip",
        "convert": "uci_online_retail_ii",
        "checks": {"online_retail_II_2009_2010.parquet": {"rows": 525_461, "sum": ("Quantity * Price", 9_539_484.63)}},
        "licence": "CC BY 4.0 (UCI)",
    },
    "completejourney": {
        "files": {
            "transactions_sample.csv.gz": "5cc3f8a6a62e506cabac2645c6827a4ac78c71ebd98a4f252a36ac0c40a15e3f",
            "products.csv.gz": "4c2152032b9b89b25b8d74aaff2ec068df09b09c8d6317c777a238f567a59e76",
            "demographics.csv.gz": "229c0532e553791c758bdf07326d86b74cb5602a0a730423a054b3ad6f869870",
            "campaigns.csv.gz": "cde6063ec73b937150ae85d5b27eeb9fa4e90f47574b7d39d75141aed9726cfb",
            "campaign_descriptions.csv.gz": "e7edd7b05c586760b564b03fdbc566e5b75d348ce69920fe0f0b3e9e5307f6b7",
            "coupon_redemptions.csv.gz": "f62cafbe6734124c0a5d59fcd2d8317208b96fc6508aef37d5de8938d5a2b0c7",
        },
        # the CRAN source package: its data/ folder holds one .rda file per table (once a newer
        # release is out CRAN moves it to src/contrib/Archive/completejourney/: pass url=)
        "url": "https://cran.r-project.org/src/contrib/completejourney_1.1.1.tar.gz",
        "convert": "r_package_data",
        "checks": {
            "transactions_sample.csv.gz": {"rows": 75_000, "sum": ("sales_value", 233_935.24)},
            "products.csv.gz": {"rows": 92_331},
            "demographics.csv.gz": {"rows": 801},
            "campaigns.csv.gz": {"rows": 6_589},
            "campaign_descriptions.csv.gz": {"rows": 27},
            "coupon_redemptions.csv.gz": {"rows": 2_102},
        },
        "licence": "CC0 (R package completejourney 1.1.1)",
    },
    "lenta_sample": {
        "files": {"lenta_dataset_50k.csv": "3382d136c031a6c74b361d42a20bd9538a3412589a485a1d0d1b8c78f538d65c"},
        "url": "https://www.uplift-modeling.com/en/latest/api/datasets/fetch_lenta.html",
        # a random 50,000 of the 687,029 customers: no conversion reproduces this draw
        "convert": None,
        "checks": {"lenta_dataset_50k.csv": {"rows": 50_000}},
        "licence": "MIT (scikit-uplift)",
    },
}

#: written next to converted files: their sha256 at conversion time, the archive's, the source
MANIFEST = ".crm_kit_manifest.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _archive_member(names: list[str], wanted: str, archive: Path) -> str:
    """The one member of an archive whose file name is ``wanted`` (case-insensitive)."""
    hits = [n for n in names if Path(n).name.lower() == wanted.lower()]
    if not hits:
        raise DataError(f"{archive.name} holds no '{wanted}' (it holds {sorted(names)[:10]}); the publisher changed the archive")
    return hits[0]


def _convert_uci_online_retail(archive: Path, folder: Path, files: list[str]) -> None:
    import zipfile

    with zipfile.ZipFile(archive) as zf:
        with zf.open(_archive_member(zf.namelist(), "Online Retail.xlsx", archive)) as fh:
            frame = pd.read_excel(fh, dtype={"InvoiceNo": str, "StockCode": str}, engine="openpyxl")
    frame.to_parquet(folder / files[0], index=False)


def _convert_uci_online_retail_ii(archive: Path, folder: Path, files: list[str]) -> None:
    import zipfile

    with zipfile.ZipFile(archive) as zf:
        with zf.open(_archive_member(zf.namelist(), "online_retail_II.xlsx", archive)) as fh:
            frame = pd.read_excel(fh, sheet_name="Year 2009-2010", dtype={"Invoice": str, "StockCode": str},
                                  engine="openpyxl")
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    frame.to_parquet(folder / files[0], index=False)


def _convert_r_package_data(archive: Path, folder: Path, files: list[str]) -> None:
    import tarfile
    import tempfile

    import pyreadr

    with tarfile.open(archive) as tf, tempfile.TemporaryDirectory() as tmp:
        names = tf.getnames()
        for fname in files:
            table = fname.removesuffix(".csv.gz")
            member = _archive_member([n for n in names if "/data/" in f"/{n}"], f"{table}.rda", archive)
            local = Path(tmp) / Path(member).name  # read the member's bytes: no paths from the archive are used
            local.write_bytes(tf.extractfile(member).read())
            frames = pyreadr.read_r(str(local))
            frame = frames.get(table, next(iter(frames.values())))
            frame.to_csv(folder / fname, index=False, compression="gzip")


#: converter name -> function(archive, dataset folder, file names to write)
_CONVERTERS = {
    "uci_online_retail": _convert_uci_online_retail,
    "uci_online_retail_ii": _convert_uci_online_retail_ii,
    "r_package_data": _convert_r_package_data,
}


def _check_content(path: Path, checks: Mapping[str, Any]) -> None:
    """Compare a converted file with the figures its publisher gives (rows, a column total)."""
    import duckdb

    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv_auto"
    con = duckdb.connect()
    rows = con.execute(f"SELECT count(*) FROM {reader}(?)", [str(path)]).fetchone()[0]
    if "rows" in checks and rows != checks["rows"]:
        raise DataError(f"{path.name}: {rows:,} rows after conversion, the publisher gives {checks['rows']:,}; "
                        "the download is incomplete or a different version")
    if "sum" in checks:
        expr, expected = checks["sum"]
        total = con.execute(f"SELECT sum({expr}) FROM {reader}(?)", [str(path)]).fetchone()[0]
        if total is None or abs(total - expected) > 0.005 + 1e-9 * abs(expected):
            raise DataError(f"{path.name}: sum({expr}) is {total}, the publisher gives {expected:,.2f}; "
                            "the download is incomplete or a different version")


def _download_and_convert(name: str, meta: Mapping[str, Any], folder: Path, url: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if meta.get("convert") is None:
        raise DataError(
            f"'{name}' cannot be rebuilt from its publisher ({meta['url']}): it is a random draw the team made; "
            f"place {list(meta['files'])} in {folder} or point CRM_KIT_CACHE at a folder that holds them"
        )
    archive = folder / Path(url).name.replace("+", "_")
    partial = archive.with_name(archive.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:  # noqa: S310
            shutil.copyfileobj(response, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"could not download '{name}' from its publisher ({exc}); place {list(meta['files'])} in {folder} "
            "or point CRM_KIT_CACHE at a folder that holds them"
        ) from exc
    partial.replace(archive)
    files = list(meta["files"])
    try:
        _CONVERTERS[meta["convert"]](archive, folder, files)
        for fname in files:
            _check_content(folder / fname, meta["checks"].get(fname, {}))
    except Exception:
        for fname in files:  # never leave a half-converted dataset that a later call could take for whole
            (folder / fname).unlink(missing_ok=True)
        raise
    manifest = {
        "dataset": name, "source": url, "archive": archive.name, "archive_sha256": _sha256(archive),
        "licence": meta["licence"], "converted_at": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
        "files": {fname: _sha256(folder / fname) for fname in files},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def fetch_public_dataset(name: str, *, cache: str | os.PathLike | None = None, download: bool = False,
                         url: str | None = None) -> Path:
    """Return the verified local folder of a public dataset.

    The cache folder is ``cache``, else ``$CRM_KIT_CACHE``, else ``data/cache``;
    the dataset lives in ``<cache>/<name>/`` (``CRM_KIT_CACHE=../shared/data``
    reads the team's copies offline).

    Every file is checked before use: against the sha256 of the team's
    prepared copy, or — for files this function converted itself — against
    the sha256 recorded in the folder's manifest at conversion time (a file
    changed since is refused either way).

    With ``download=True`` a missing dataset's archive is fetched from the
    publisher (``url`` overrides the address, e.g. a mirror or a
    ``file://`` copy), converted to the listed files (UCI's spreadsheets to
    Parquet with openpyxl, the R package's ``.rda`` tables to CSV with
    pyreadr), and each converted file must reproduce the publisher's figures
    (row count, a column total) before it is kept.
    """
    if name not in PUBLIC_DATASETS:
        raise ParameterError(f"unknown dataset '{name}'; known: {sorted(PUBLIC_DATASETS)}")
    meta = PUBLIC_DATASETS[name]
    folder = (Path(cache) if cache is not None else cache_dir()) / name
    missing = [f for f in meta["files"] if not (folder / f).exists()]
    if missing and download:
        _download_and_convert(name, meta, folder, url or meta["url"])
        missing = [f for f in meta["files"] if not (folder / f).exists()]
    if missing:
        raise DataError(
            f"dataset '{name}' is not in {folder} (missing {missing}); set CRM_KIT_CACHE to the folder that holds "
            f"'{name}/' (e.g. ../shared/data) or fetch it with download=True (crm-kit fetch {name} --download)"
        )
    manifest_path = folder / MANIFEST
    recorded = json.loads(manifest_path.read_text(encoding="utf-8"))["files"] if manifest_path.exists() else {}
    for fname, digest in meta["files"].items():
        actual = _sha256(folder / fname)
        if actual != digest and actual != recorded.get(fname):
            raise DataError(f"{folder / fname} does not match its sha256 checksum; it was changed or truncated — fetch it again")
    return folder


def public_data_spec(name: str, *, cache: str | os.PathLike | None = None) -> dict[str, Any]:
    """A ready data spec for a public dataset in the cache (column maps and cleaning rules)."""
    folder = fetch_public_dataset(name, cache=cache)
    if name == "online_retail":
        return {
            "name": name,
            "tables": {
                "transactions": {
                    "path": str(folder / "online_retail.parquet"),
                    "columns": {
                        "customer_id": "CustomerID", "order_id": "InvoiceNo", "ts": "InvoiceDate",
                        "product_id": "StockCode", "quantity": "Quantity", "unit_price": "UnitPrice",
                        "store": "Country",
                    },
                }
            },
            "cleaning": {"cancellation_prefix": "C"},
        }
    if name == "online_retail_ii":
        return {
            "name": name,
            "tables": {
                "transactions": {
                    "path": str(folder / "online_retail_II_2009_2010.parquet"),
                    "columns": {
                        "customer_id": "Customer ID", "order_id": "Invoice", "ts": "InvoiceDate",
                        "product_id": "StockCode", "quantity": "Quantity", "unit_price": "Price",
                        "store": "Country",
                    },
                }
            },
            "cleaning": {"cancellation_prefix": "C"},
        }
    raise ParameterError(f"no ready data spec for '{name}' yet; draft one with crm-kit init FILES --output DIR, or write a data YAML (docs/how-to/own-data.md)")
