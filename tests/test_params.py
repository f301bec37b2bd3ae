"""Notebook parameters: parsed from the notebook, unknown and mistyped keys are errors."""

from __future__ import annotations

import papermill as pm
import pytest

from crm_kit import ParameterError
from crm_kit.params import describe_parameters, load_params_files, notebook_parameters, validate_params
from conftest import ROOT

NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_parameter_is_typed_documented_and_readable_by_papermill(notebook):
    declared = notebook_parameters(notebook)
    assert declared, "a notebook without parameters"
    assert all(p.help for p in declared.values()), "each parameter needs a comment"
    inspected = pm.inspect_notebook(str(ROOT / "notebooks" / f"{notebook}.ipynb"))
    assert set(inspected) == set(declared)
    for name, info in inspected.items():
        assert info["inferred_type_name"] != "None" or declared[name].type == "None", name


def test_unknown_parameter_is_an_error_with_a_suggestion():
    with pytest.raises(ParameterError, match=r"unknown parameter 'monht' \(did you mean 'month'\?\) for notebook 01_knowledge_discovery"):
        validate_params("01_knowledge_discovery", {"monht": "2025-09"})


def test_mistyped_parameter_is_an_error():
    with pytest.raises(ParameterError, match=r"parameter 'groups' of notebook 01_knowledge_discovery must be int, got str"):
        validate_params("01_knowledge_discovery", {"groups": "10"})
    with pytest.raises(ParameterError, match="must be int, got bool"):
        validate_params("01_knowledge_discovery", {"groups": True})


def test_floats_accept_ints_and_defaults_fill_in():
    full = validate_params("01_knowledge_discovery", {"pareto_target": 1})
    assert full["pareto_target"] == 1 and full["groups"] == 10


def test_unknown_notebook():
    with pytest.raises(ParameterError, match="no notebook '99_nothing'"):
        notebook_parameters("99_nothing")


def test_describe_lists_type_default_help():
    text = describe_parameters("01_knowledge_discovery")
    assert "month" in text and "str" in text and "empty: derived from the data" in text


def test_params_files_layer_and_bad_yaml(tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("common: {data: demo}\nnotebooks: {x: {month: '2025-09'}}\n")
    b.write_text("common: {output_dir: out}\n")
    merged = load_params_files(a, b)
    assert merged["common"] == {"data": "demo", "output_dir": "out"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("common: [unclosed\n")
    with pytest.raises(ParameterError, match="is not valid YAML"):
        load_params_files(bad)


def test_choice_parameters_accept_only_their_values():
    declared = notebook_parameters("04_campaign_results")
    assert declared["control"].choices == ["contacts", "never_contacted"]
    assert validate_params("04_campaign_results", {"control": "never_contacted"})["control"] == "never_contacted"
    with pytest.raises(ParameterError, match=r"must be one of \['contacts', 'never_contacted'\], got 'never_contact' "
                                             r"\(did you mean 'never_contacted'\?\)"):
        validate_params("04_campaign_results", {"control": "never_contact"})
    with pytest.raises(ParameterError, match=r"'arms_source' of notebook 04_campaign_results must be one of"):
        validate_params("04_campaign_results", {"arms_source": 1})


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_choice_defaults_are_among_their_choices(notebook):
    for p in notebook_parameters(notebook).values():
        if p.choices is not None:
            assert p.default in p.choices, p.name


def test_target_kinds_of_the_notebook_are_the_package_s():
    from crm_kit.campaign import TARGET_KINDS

    assert set(notebook_parameters("03_campaign_design")["target_kind"].choices) == set(TARGET_KINDS)


def test_a_yaml_file_that_expands_through_its_aliases_is_refused_in_one_line(tmp_path):
    """A 500-byte "billion laughs" file would take gigabytes to read: refused before it is expanded."""
    from crm_kit.params import read_yaml

    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(levels) + "\nsteps: *i\n")
    with pytest.raises(ParameterError, match="expands to more than 100,000 values") as caught:
        read_yaml(path)
    assert len(str(caught.value)) < 300
    ok = tmp_path / "ok.yaml"
    ok.write_text("common: &c {data: demo}\nagain: *c\n")  # an alias or two is fine
    assert read_yaml(ok)["again"] == {"data": "demo"}
