"""Each notebook runs end to end through papermill with each params file; a bad key fails it."""

from __future__ import annotations

import json

import papermill as pm
import pytest
import yaml

from conftest import ROOT, SHARED_DATA

NB_DIR = ROOT / "notebooks"


def _run(notebook: str, tmp_path, **parameters):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    executed = tmp_path / f"{notebook}.ipynb"
    pm.execute_notebook(
        str(NB_DIR / f"{notebook}.ipynb"), str(executed), parameters={"output_dir": str(out), **parameters},
        cwd=str(NB_DIR), kernel_name="python3", progress_bar=False,
    )
    return out, executed


def _params(file: str, notebook: str) -> dict:
    spec = yaml.safe_load((ROOT / "params" / file).read_text())
    return {**spec.get("common", {}), **spec.get("notebooks", {}).get(notebook, {})}


@pytest.mark.notebook
def test_discovery_on_the_demo_store_recommends_group_8(demo_dir, tmp_path):
    out, _ = _run("01_knowledge_discovery", tmp_path, **_params("demo.yaml", "01_knowledge_discovery"))
    summary = json.loads((out / "discovery_summary.json").read_text())
    assert summary["target_group"] == 8
    assert [row["customers"] for row in summary["decile_table"]] == [1155] * 10
    assert (out / "customer_groups.parquet").exists()


@pytest.mark.notebook
@pytest.mark.realdata
def test_discovery_on_online_retail(tmp_path):
    if not (SHARED_DATA / "online_retail" / "online_retail.parquet").exists():
        pytest.skip("Online Retail not present in ../shared/data")
    out, executed = _run("01_knowledge_discovery", tmp_path, **_params("online_retail.yaml", "01_knowledge_discovery"))
    summary = json.loads((out / "discovery_summary.json").read_text())
    assert summary["customers"] > 1000
    text = executed.read_text()
    assert "no member table" in text  # the step that needs member forms says so


@pytest.mark.notebook
def test_unknown_parameter_stops_the_notebook(demo_dir, tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="unknown parameter 'monht'"):
        _run("01_knowledge_discovery", tmp_path, monht="2025-09")


@pytest.mark.notebook
def test_segmentation_on_the_demo_store(demo_dir, tmp_path):
    out, _ = _run("02_segmentation", tmp_path, **_params("demo.yaml", "02_segmentation"))
    segments = __import__("pandas").read_parquet(out / "customer_segments.parquet")
    for col in ("rfm_segment", "cluster", "cluster_name", "tier", "clv", "probability_alive", "age_group"):
        assert col in segments.columns and segments[col].notna().all(), col
    assert not {"name", "phone", "email", "wechat_id", "id_number", "address"} & set(segments.columns)


@pytest.mark.notebook
@pytest.mark.realdata
def test_segmentation_on_online_retail(tmp_path):
    if not (SHARED_DATA / "online_retail" / "online_retail.parquet").exists():
        pytest.skip("Online Retail not present in ../shared/data")
    out, executed = _run("02_segmentation", tmp_path, **_params("online_retail.yaml", "02_segmentation"))
    summary = json.loads((out / "segmentation_summary.json").read_text())
    assert summary["k"] >= 2 and summary["clv_total"] > 0
    assert "No member ages" in executed.read_text()
