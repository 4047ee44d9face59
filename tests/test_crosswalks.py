"""The NTEE crosswalk (config/crosswalks/ntee.toml) on real IRS Business Master File rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from assetmap._errors import ConfigError
from assetmap.crosswalks import load_ntee_crosswalk
from assetmap.taxonomy import load_taxonomy

SAMPLE = Path(__file__).parent / "data" / "irs_bmf_ct_sample.csv"


@pytest.fixture(scope="module")
def verdicts() -> dict[str, object]:
    xw = load_ntee_crosswalk()
    rows = pd.read_csv(SAMPLE, dtype=str).to_dict("records")
    return {r["EIN"]: xw.classify_row(r) for r in rows}


@pytest.mark.parametrize(
    ("ein", "category", "service"),
    [
        ("010694939", "human_services", "food.pantry"),  # Plymouth Community Food Pantry, K31
        ("061445097", "legal_aid", "legal"),  # Statewide Legal Services of CT, I80
        ("010613380", "immigrant_services", "language_access"),  # United Haitian American Soc.
        ("060897105", "health", "health.primary"),  # Community Health Center Inc, E32
        ("060867978", "behavioral_health", "mental_health.counseling"),  # Bridges, F320
        ("060646905", "youth_development", "out_of_school"),  # Southington-Cheshire YMCAs, P270
        ("060646773", "housing", "housing.shelter"),  # The Open Hearth Association, L410
        ("010607204", "faith", None),  # Primera Iglesia Bautista, X21
        ("010780011", "faith", None),  # church (FOUNDATION 10) with no NTEE code
    ],
)
def test_real_partners_get_category_and_stated_services(verdicts, ein, category, service):
    v = verdicts[ein]
    assert v.included, v.reason
    assert v.category == category
    if service is None:
        assert v.services == ()  # the category defaults apply, as inferred services
    else:
        assert service in v.services
    assert not v.sensitive


@pytest.mark.parametrize(
    ("ein", "reason"),
    [
        ("061456237", "homeowner or tenant association"),  # L50, 501(c)(3)
        ("030438959", "501(c)(4) organization"),  # an L50 association filing as c(4)
        ("060849684", "booster club"),  # Weston High School Boosters Club, no NTEE code
        ("061051840", "booster club"),  # Windham High School Booster Club, B19
        ("060333010", "501(c)(8) organization"),  # New London Lodge of Elks
        ("030603732", "private non-operating foundation"),  # P40 but FOUNDATION 04
        ("010949570", "private non-operating foundation"),  # a T20 family foundation
        ("061423812", "religious media or communications"),  # X83 publishing
        ("010855174", "parent-teacher organization"),  # Cheney Tech PTO
        ("010597012", None),  # lacrosse club coded O50: included (IRS codes can be loose)
        ("060646668", "NTEE code not mapped to a partner category"),  # Hartford Hospital E220
    ],
)
def test_non_partners_are_excluded_with_a_reason(verdicts, ein, reason):
    v = verdicts[ein]
    if reason is None:
        assert v.included and v.category == "youth_development"
    else:
        assert not v.included
        assert v.reason == reason


def test_family_violence_shelters_are_sensitive(verdicts):
    # P43 / P430 / P43Z are all the P43 rule, and a name saying "safe haven" is enough too
    for ein in ("061057356", "060996479", "920880971"):
        v = verdicts[ein]
        assert v.included and v.sensitive, ein
        assert v.rule == "P43"
        assert "safety.domestic_violence" in v.services
    # a shelter the IRS left without an NTEE code is not a partner at all (not placed)
    assert not verdicts["060960005"].included


def test_longest_prefix_wins_and_codes_are_normalised():
    xw = load_ntee_crosswalk()
    assert xw.rule_for("p43z").code == "P43"
    assert xw.rule_for("X20").code == "X"
    assert xw.rule_for("X830").exclude
    assert xw.rule_for("") is None
    # BMF two-digit fields read as numbers still work
    v = xw.classify(ntee="K31", subsection=3, foundation=15.0, name="Food Pantry")
    assert v.included and v.category == "human_services"


def test_every_rule_names_real_taxonomy_codes():
    tax = load_taxonomy()
    xw = load_ntee_crosswalk()
    for rule in xw.rules.values():
        if rule.exclude:
            continue
        assert rule.category in tax.categories
        assert all(s in tax.needs for s in rule.services)


def test_bad_crosswalk_is_a_config_error(tmp_path):
    bad = tmp_path / "ntee.toml"
    bad.write_text('[codes]\nK31 = { category = "grocery_store" }\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown category 'grocery_store'"):
        load_ntee_crosswalk(bad)
    bad.write_text('[codes]\nK31 = { category = "human_services", services = ["pizza"] }\n')
    with pytest.raises(ConfigError, match="unknown service 'pizza'"):
        load_ntee_crosswalk(bad)
    bad.write_text("[codes\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_ntee_crosswalk(bad)
