"""Public datasets: verified offline, downloaded and converted from the publishers' layout (crm_kit.store.public)."""

from __future__ import annotations


import pandas as pd
import pytest

@pytest.mark.realdata
def test_public_datasets_verify_offline_and_refuse_changed_files(tmp_path):
    import shutil

    from crm_kit import DataError, load_store
    from crm_kit.store.public import PUBLIC_DATASETS, fetch_public_dataset, public_data_spec
    from conftest import SHARED_DATA, shared_file

    shared_file("online_retail", "online_retail.parquet")
    for name in PUBLIC_DATASETS:
        assert fetch_public_dataset(name, cache=SHARED_DATA) == SHARED_DATA / name
    store = load_store({**public_data_spec("online_retail_ii", cache=SHARED_DATA), "cache": False})
    assert store.health().set_index("figure")["value"]["customers"] > 4000
    copy = tmp_path / "lenta_sample"
    copy.mkdir()
    shutil.copy(SHARED_DATA / "lenta_sample" / "lenta_dataset_50k.csv", copy)
    with open(copy / "lenta_dataset_50k.csv", "a") as fh:
        fh.write("1,1,0.0,30.0,1\n")
    with pytest.raises(DataError, match="does not match its sha256"):
        fetch_public_dataset("lenta_sample", cache=tmp_path)
    with pytest.raises(DataError, match=r"dataset 'completejourney' is not in .* set CRM_KIT_CACHE"):
        fetch_public_dataset("completejourney", cache=tmp_path)


def _publisher_copy(monkeypatch, name, checks):
    """Make PUBLIC_DATASETS[name] expect the small fake archive's own figures (the real ones are large)."""
    from crm_kit.store import public as datasets

    meta = {**datasets.PUBLIC_DATASETS[name], "checks": checks}
    monkeypatch.setitem(datasets.PUBLIC_DATASETS, name, meta)


def test_uci_archive_is_downloaded_converted_checked_and_read_offline(tmp_path, monkeypatch):
    """A zip holding 'Online Retail.xlsx', as UCI ships it, served from a file:// address."""
    import zipfile

    from crm_kit import DataError
    from crm_kit.store.public import MANIFEST, fetch_public_dataset

    sheet = pd.DataFrame({
        "InvoiceNo": ["536365", "536365", "C536379"], "StockCode": ["85123A", "71053", "D"],
        "Description": ["HEART", "LANTERN", "Discount"], "Quantity": [6, 6, -1],
        "InvoiceDate": pd.to_datetime(["2010-12-01 08:26", "2010-12-01 08:26", "2010-12-01 09:41"]),
        "UnitPrice": [2.55, 3.39, 27.5], "CustomerID": [17850.0, 17850.0, 14527.0], "Country": ["United Kingdom"] * 3,
    })
    xlsx = tmp_path / "Online Retail.xlsx"
    sheet.to_excel(xlsx, index=False)
    archive = tmp_path / "online+retail.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(xlsx, "Online Retail.xlsx")
    cache = tmp_path / "cache"
    _publisher_copy(monkeypatch, "online_retail", {"online_retail.parquet": {"rows": 3, "sum": ("Quantity * UnitPrice", 8.14)}})
    folder = fetch_public_dataset("online_retail", cache=cache, download=True, url=archive.as_uri())
    converted = pd.read_parquet(folder / "online_retail.parquet")
    assert converted["InvoiceNo"].tolist() == ["536365", "536365", "C536379"]  # text, the C prefix kept
    assert (folder / MANIFEST).exists()
    assert fetch_public_dataset("online_retail", cache=cache) == folder  # offline, verified by the manifest
    pd.DataFrame({"x": [1]}).to_parquet(folder / "online_retail.parquet")
    with pytest.raises(DataError, match="does not match its sha256"):
        fetch_public_dataset("online_retail", cache=cache)

    # a download that does not reproduce the publisher's figures is not kept
    _publisher_copy(monkeypatch, "online_retail", {"online_retail.parquet": {"rows": 541_909}})
    with pytest.raises(DataError, match=r"3 rows after conversion, the publisher gives 541,909"):
        fetch_public_dataset("online_retail", cache=tmp_path / "other", download=True, url=archive.as_uri())
    assert not (tmp_path / "other" / "online_retail" / "online_retail.parquet").exists()
    with pytest.raises(DataError, match=r"could not download 'online_retail' from its publisher"):
        fetch_public_dataset("online_retail", cache=tmp_path / "third", download=True, url=(tmp_path / "gone.zip").as_uri())


def test_r_package_tables_become_csv(tmp_path, monkeypatch):
    """The CRAN source package keeps one .rda per table under data/; pyreadr reads them."""
    import tarfile

    import pyreadr

    from crm_kit.store.public import PUBLIC_DATASETS, fetch_public_dataset

    pkg = tmp_path / "completejourney" / "data"
    pkg.mkdir(parents=True)
    tables = {
        "transactions_sample": pd.DataFrame({"household_id": ["1", "2"], "basket_id": ["b1", "b2"],
                                             "sales_value": [1.5, 2.25]}),
        "products": pd.DataFrame({"product_id": ["p1"], "department": ["GROCERY"]}),
        "demographics": pd.DataFrame({"household_id": ["1"], "age": ["25-34"]}),
        "campaigns": pd.DataFrame({"campaign_id": ["18", "18"], "household_id": ["1", "2"]}),
        "campaign_descriptions": pd.DataFrame({"campaign_id": ["18"], "campaign_type": ["Type A"]}),
        "coupon_redemptions": pd.DataFrame({"household_id": ["2"], "campaign_id": ["18"]}),
    }
    for table, frame in tables.items():
        pyreadr.write_rdata(str(pkg / f"{table}.rda"), frame, df_name=table)
    archive = tmp_path / "completejourney_1.1.1.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(tmp_path / "completejourney", "completejourney")
    checks = {f"{t}.csv.gz": {"rows": len(f)} for t, f in tables.items()}
    checks["transactions_sample.csv.gz"]["sum"] = ("sales_value", 3.75)
    _publisher_copy(monkeypatch, "completejourney", checks)
    folder = fetch_public_dataset("completejourney", cache=tmp_path / "cache", download=True, url=archive.as_uri())
    for fname in PUBLIC_DATASETS["completejourney"]["files"]:
        table = fname.removesuffix(".csv.gz")
        got = pd.read_csv(folder / fname, dtype=str)
        pd.testing.assert_frame_equal(got, tables[table].astype(str), check_dtype=False)


def test_a_draw_the_team_made_cannot_be_downloaded(tmp_path):
    from crm_kit import DataError
    from crm_kit.store.public import fetch_public_dataset

    with pytest.raises(DataError, match=r"'lenta_sample' cannot be rebuilt from its publisher"):
        fetch_public_dataset("lenta_sample", cache=tmp_path, download=True)


def test_online_retail_ii_takes_the_2009_sheet_with_text_dates(tmp_path, monkeypatch):
    import zipfile

    from crm_kit.store.public import fetch_public_dataset

    xlsx = tmp_path / "online_retail_II.xlsx"
    first = pd.DataFrame({"Invoice": ["489434", "C489449"], "StockCode": ["85048", "22087"], "Quantity": [12, -12],
                          "InvoiceDate": pd.to_datetime(["2009-12-01 07:45", "2009-12-01 10:33"]),
                          "Price": [6.95, 2.95], "Customer ID": [13085.0, 16321.0]})
    with pd.ExcelWriter(xlsx) as writer:
        first.to_excel(writer, sheet_name="Year 2009-2010", index=False)
        first.head(1).to_excel(writer, sheet_name="Year 2010-2011", index=False)
    archive = tmp_path / "online+retail+ii.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(xlsx, "online_retail_II.xlsx")
    _publisher_copy(monkeypatch, "online_retail_ii",
                    {"online_retail_II_2009_2010.parquet": {"rows": 2, "sum": ("Quantity * Price", 48.0)}})
    folder = fetch_public_dataset("online_retail_ii", cache=tmp_path / "cache", download=True, url=archive.as_uri())
    converted = pd.read_parquet(folder / "online_retail_II_2009_2010.parquet")
    assert converted["InvoiceDate"].tolist() == ["2009-12-01 07:45:00", "2009-12-01 10:33:00"]
    assert converted["Invoice"].tolist() == ["489434", "C489449"]


@pytest.mark.realdata
def test_fetch_command_verifies_the_cache_and_names_the_fix(tmp_path, capsys):
    from conftest import SHARED_DATA, shared_file

    from crm_kit.cli import main

    shared_file("online_retail", "online_retail.parquet")
    assert main(["fetch", "online_retail", "lenta_sample", "--cache", str(SHARED_DATA)]) == 0
    out = capsys.readouterr().out
    assert "online_retail: " in out and "checksums verified" in out and "MIT (scikit-uplift)" in out
    assert main(["fetch", "completejourney", "--cache", str(tmp_path)]) == 2
    assert "fetch it with download=True" in capsys.readouterr().err
