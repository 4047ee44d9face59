"""Printable family resource sheet: escaping, languages, right-to-left, example labels."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from _frames import XSS, network, partners

from assetmap.export import export_network, export_partners
from assetmap.export._common import Bundle
from assetmap.export._sheet import render_sheets

RAW = [
    "<script>alert(1)</script>",
    "${alert(document.domain)}",
    "</script><script>",
    'onerror="alert(3)"',
    "javascript:alert(1)",
    "<img",
]


def _net_with_payloads():
    net = network()
    net.loc[0, "partner_name"] = XSS[0]
    net.loc[0, "hours"] = XSS[1]
    net.loc[0, "address"] = XSS[2]
    net.loc[1, "partner_name"] = XSS[3]
    net.loc[1, "website"] = "javascript:alert(1)"
    net.loc[2, "phone"] = "`${alert(4)}`"
    net.loc[0, "school_name"] = XSS[0] + " School"
    return net


def test_payloads_are_escaped_in_the_sheet(tmp_path):
    out = export_network(_net_with_payloads(), tmp_path / "sheet.html")
    html = out.read_text(encoding="utf-8")
    for p in RAW:
        assert p not in html, p
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#36;&#123;alert(document.domain)&#125;" in html
    assert "<script" not in html.lower()
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith(("tel:", "https://", "http://")) for h in hrefs)


def test_sheet_content_english(tmp_path):
    b = Bundle.from_frames(partners=partners(), network=network())
    html = render_sheets(b, language="en", today=dt.date(2026, 11, 23))
    assert '<html lang="en" dir="ltr">' in html
    assert "Help for families near \u2068Burns School\u2069" in html
    assert "<title>Help for families near \u2068Burns School\u2069</title>" in html
    assert 'href="tel:+18605550101"' in html
    assert "EXAMPLE (fictional)" in html  # p3 is a backup and an example partner
    assert "No place nearby for this need yet" in html  # the legal gap
    assert "@page { size: letter" in html
    assert html.count('<article class="page">') == 1


@pytest.mark.parametrize("code", ["ar", "ur", "ps", "prs", "fa"])
def test_right_to_left_languages(code):
    b = Bundle.from_frames(partners=partners(), network=network())
    html = render_sheets(b, language=code)
    assert re.search(r'<html lang="[^"]+" dir="rtl">', html)


def test_arabic_sheet_is_translated(tmp_path):
    out = export_network(network(), tmp_path / "ar.html", language="ar")
    html = out.read_text(encoding="utf-8")
    assert 'dir="rtl"' in html and 'lang="ar' in html
    assert re.search("[\u0600-\u06ff]{3,}", html)  # Arabic text, not the English fallback
    assert "Help for families near" not in html


def test_spanish_need_labels():
    b = Bundle.from_frames(partners=partners(), network=network())
    html = render_sheets(b, language="es")
    assert 'lang="es"' in html
    assert "Comida" in html


def test_one_page_per_school_and_a4():
    net = network()
    other = net.copy().assign(school_id="s9", school_name="Other School")
    import pandas as pd

    b = Bundle.from_frames(partners=partners(), network=pd.concat([net, other], ignore_index=True))
    html = render_sheets(b, paper="a4")
    assert html.count('<article class="page">') == 2
    assert "@page { size: a4" in html
    with pytest.raises(ValueError, match="paper"):
        render_sheets(b, paper="legal")


def test_partner_directory_sheet(tmp_path):
    out = export_partners(partners(), tmp_path / "dir.html")
    html = out.read_text(encoding="utf-8")
    for p in RAW:
        assert p not in html
    assert "EXAMPLE (fictional)" in html
    assert "Hartford Food Pantry" in html


def test_full_network_stays_compact_for_one_page():
    """18 needs: one table row each, no backup lines and no long URLs (fits one printed page;
    checked by printing to PDF in Chromium during development)."""
    import pandas as pd

    from assetmap.taxonomy import load_taxonomy

    base = network().iloc[[0, 2]]
    rows = []
    for need in load_taxonomy().top_needs:
        for _, r in base.iterrows():
            rows.append(dict(r, need=need, need_label=need))
    b = Bundle.from_frames(partners=partners(), network=pd.DataFrame(rows))
    html = render_sheets(b)
    assert html.count('<tr><th scope="row">') == 18
    assert 'class="also"' not in html
    assert "https://" not in html
    # With few needs the backups are listed.
    few = render_sheets(Bundle.from_frames(partners=partners(), network=network()))
    assert 'class="also"' in few


def test_bidi_isolation_of_data_in_rtl():
    b = Bundle.from_frames(partners=partners(), network=network())
    html = render_sheets(b, language="ar")
    assert '<bdi dir="ltr">(860) 555-0101</bdi>' in html
    # dir="auto" resolved from the first strong character (the PDF renderer does not do it)
    assert '<bdi dir="ltr">1 Main St</bdi>' in html
    net = network()
    net.loc[0, "partner_name"] = "مركز الأسرة Family Center"
    net.loc[0, "hours"] = "24/7"
    html = render_sheets(Bundle.from_frames(partners=partners(), network=net), language="ar")
    assert '<bdi dir="rtl">مركز الأسرة Family Center</bdi>' in html
    assert "<bdi>24/7</bdi>" in html  # no strong character: left to the bidi algorithm


def test_sensitive_partner_address_never_on_the_sheet():
    p = partners()
    p.loc[0, "sensitive"] = True  # p1 leads food in the network
    html = render_sheets(Bundle.from_frames(partners=p, network=network()))
    assert "1 Main St" not in html
    assert "Hartford Food Pantry" in html and "tel:+18605550101" in html


@pytest.mark.parametrize(
    ("code", "badge", "unit"), [("ar", "مثال (خيالي)", "ميل"), ("vi", "VÍ DỤ (hư cấu)", "dặm")]
)  # miles by default (settings.distance_unit)
def test_badge_and_distance_unit_are_in_the_sheet_language(code, badge, unit):
    p = partners()
    p["example"] = True
    html = render_sheets(Bundle.from_frames(partners=p, network=network(), language=code))
    assert badge in html and "EXAMPLE (fictional)</span>" not in html
    assert re.search(r"\d[.,٫]\d\s?" + unit, html)
