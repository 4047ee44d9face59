"""One rule for sensitive sites (e.g. a domestic-violence shelter): no address, map point or
distance in any family-facing output — the rule itself, the public partner view, the HTML
and PDF family sheets, the HSDS export and the family map (the Find help page is covered in
tests/test_app.py and the Chromium journey)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from _frames import network, partners

from assetmap.auth import PUBLIC, WITHHELD_FOR_SENSITIVE, visible_partners, withhold_sensitive
from assetmap.export import export_network
from assetmap.export._common import Bundle
from assetmap.export._sheet import render_sheets

#: A distance no other row of the fixture network has, so its absence is meaningful.
ODD_KM = 7.37


def _sensitive_network() -> tuple[pd.DataFrame, pd.DataFrame]:
    """p1 (leads food) is a sensitive site, 7.37 km from the school."""
    p = partners()
    p.loc[0, "sensitive"] = True
    net = network()
    net.loc[net["partner_id"] == "p1", "distance_km"] = ODD_KM
    net.loc[net["partner_id"] == "p1", "reason"] = f"serves food; {ODD_KM} km away"
    return p, net


def test_the_rule_blanks_location_and_distance_fields_only_on_sensitive_rows():
    frame = pd.DataFrame(
        {
            "partner_id": ["a", "b", "c"],
            "name": ["Shelter", "Pantry", "Clinic"],
            "phone": ["1", "2", "3"],
            "address": ["1 Secret Rd", "2 Main St", "3 Oak Ave"],
            "distance_km": [0.9, 1.2, 3.4],
            "partner_lat": [41.7, 41.8, 41.9],
            "partner_lon": [-72.6, -72.7, -72.8],
            "reason": ["0.9 km away", "1.2 km away", "3.4 km away"],
            "sensitive": [True, False, False],
        }
    )
    out = withhold_sensitive(frame, sensitive_ids=["c"])
    for col in ("address", "distance_km", "partner_lat", "partner_lon", "reason"):
        assert out.loc[0, col] is None and out.loc[2, col] is None, col
        assert out.loc[1, col] == frame.loc[1, col], col
    assert out["location_withheld"].tolist() == [True, False, True]
    assert out["phone"].tolist() == ["1", "2", "3"]  # reachable by phone
    assert frame.loc[0, "address"] == "1 Secret Rd"  # the input is not changed
    assert {"address", "distance_km", "lat", "lon"} <= set(WITHHELD_FOR_SENSITIVE)


def test_public_partner_view_has_no_point_address_or_distance():
    p = partners()
    p.loc[0, "sensitive"] = True
    p["distance_km"] = [0.5, 1.0, 2.0, 3.0]
    out = visible_partners(PUBLIC, p)
    row = out[out["partner_id"] == "p1"].iloc[0]
    assert row["geometry"] is None and row["address"] is None and row["distance_km"] is None
    assert bool(row["location_withheld"]) and row["phone"]
    other = out[out["partner_id"] == "p4"].iloc[0]
    assert other["distance_km"] == 3.0 and other["geometry"] is not None


@pytest.mark.parametrize("lang", ["en", "ar", "es"])
def test_html_sheet_never_shows_a_sensitive_distance(lang):
    p, net = _sensitive_network()
    html = render_sheets(Bundle.from_frames(partners=p, network=net, language=lang))
    assert "Hartford Food Pantry" in html and "tel:+18605550101" in html  # still listed
    assert "1 Main St" not in html
    # 7.37 km = 4.6 mi (the shelter, withheld); 2.0 km = 1.2 mi (another partner, shown)
    assert not re.search(r"7[.,٫]4|4[.,٫]6", html), "the shelter's distance reached the sheet"
    assert re.search(r"1[.,٫]2", html), "other partners keep their distance"


def test_sensitive_flag_on_the_network_rows_alone_is_enough():
    p, net = _sensitive_network()
    p.loc[0, "sensitive"] = False
    net["sensitive"] = net["partner_id"] == "p1"
    html = render_sheets(Bundle.from_frames(partners=p, network=net))
    assert "1 Main St" not in html and not re.search(r"7[.,]4|4[.,]6", html)


def test_pdf_sheet_never_shows_a_sensitive_distance(tmp_path):
    from io import BytesIO

    from pypdf import PdfReader

    from assetmap.export import pdf_unavailable

    # `make test` installs Pango/HarfBuzz; without them this must fail, not pass unseen
    assert pdf_unavailable() is None, pdf_unavailable()
    p, net = _sensitive_network()
    out = tmp_path / "sheet.pdf"
    export_network(net, out, partners=p)
    text = "\n".join(pg.extract_text() for pg in PdfReader(BytesIO(out.read_bytes())).pages)
    assert "Hartford Food Pantry" in text
    assert "1 Main St" not in text and "7.4" not in text and "4.6" not in text
    assert "1.2 mi" in text  # a non-sensitive partner's distance is printed (2.0 km)


def test_directory_sheet_shows_the_town_only():
    p, _ = _sensitive_network()
    html = render_sheets(Bundle.from_frames(partners=p))
    assert "Hartford Food Pantry" in html and "1 Main St" not in html


def test_hsds_export_has_no_point_or_address_for_a_sensitive_site():
    from assetmap.export._hsds import hsds_document

    p, _ = _sensitive_network()
    doc = hsds_document(Bundle.from_frames(partners=p))
    loc = {x["external_identifier"]: x for x in doc["locations"]}["p1"]
    assert loc.get("latitude") is None and "addresses" not in loc


def test_family_map_never_plots_a_sensitive_site():
    from assetmap.maps import family_map

    p, _ = _sensitive_network()
    html = family_map(p, (41.76, -72.69)).get_root().render()
    assert "Hartford Food Pantry" not in html and "1 Main St" not in html


def test_shipped_network_with_a_sensitive_lead_on_the_sheet():
    """A real network (shipped Hartford school, shipped partners): flag the lead of one need
    as a sensitive site, as a safe haven is; its row keeps name and phone but shows neither
    address nor distance, in English and Arabic."""
    from assetmap.data import load_partners, load_schools, survey_path
    from assetmap.index import PartnerIndex
    from assetmap.match import prepare
    from assetmap.needs import load_profile
    from assetmap.network import build_network

    schools = load_schools()
    profile, _ = load_profile(survey_path(), schools=schools)
    partners = load_partners()
    ctx = prepare(partners_index=PartnerIndex.build(partners), profile=profile, schools=schools)
    net = build_network(["0640611"], profile=profile, context=ctx)
    leads = net[(net["role"] == "lead") & net["distance_km"].notna()]
    lead = leads.iloc[0]
    pid = str(lead["partner_id"])
    flagged = partners.assign(sensitive=partners["partner_id"].astype(str) == pid)
    for lang in ("en", "ar"):
        html = render_sheets(Bundle.from_frames(partners=flagged, network=net, language=lang))
        name = str(lead["partner_name"]).replace("&", "&amp;")
        assert name in html
        rows = [r for r in html.split("<tr>") if name in r]
        assert rows
        for row in rows:
            if present_address := lead.get("address"):
                assert str(present_address) not in row
            assert "km" not in row and "كم" not in row, row
