"""Main journeys in a real headless Chromium against ``streamlit run app.py``.

Screenshots: artifacts/screenshots/*.png (paths printed). Marker ``browser``; never skipped.
"""

from __future__ import annotations

import re

import openpyxl
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

WAIT = 30_000


def _settle(page: Page) -> None:
    """Wait until Streamlit finished the current run (no 'Running' status widget)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=WAIT
    )
    page.wait_for_timeout(200)


def _open_find_help(page: Page, url: str, lang: str | None = None) -> None:
    page.goto(url + ("/?lang=" + lang if lang else "/"))
    page.get_by_test_id("stTextInput").first.wait_for(timeout=WAIT)
    _settle(page)


def _search(page: Page, place: str) -> None:
    box = page.get_by_test_id("stTextInput").first.locator("input")
    box.fill(place)
    box.press("Enter")
    _settle(page)


def test_family_searches_in_spanish_for_food_near_a_hartford_zip(page: Page, app_url: str, shot):
    _open_find_help(page, app_url, "es")
    expect(page.get_by_role("heading", name="Encuentre ayuda cerca de usted")).to_be_visible(
        timeout=WAIT
    )
    page.get_by_role("radio", name=re.compile("Comida")).first.click()
    _settle(page)
    _search(page, "06106")
    expect(page.get_by_text("Lugares que pueden ayudar")).to_be_visible(timeout=WAIT)
    cards = page.locator(".am-card")
    expect(cards.first).to_be_visible(timeout=WAIT)
    assert cards.count() >= 3
    # real food programs placed at their ZIP area: an approximate distance in miles, said so
    # (the test data's exact-placed fictional payload partner may come first)
    zip_cards = cards.filter(has_text="zona del código postal")
    expect(zip_cards.first).to_be_visible(timeout=WAIT)
    for i in range(zip_cards.count()):
        text = zip_cards.nth(i).inner_text()
        assert re.search(r"a unas \d+ millas, zona del código postal", text), text
    assert page.locator('.am-card a[href^="https://www.openstreetmap.org/directions"]').count() >= 1
    shot(page, "family_es_food_06106")


def test_script_payload_in_a_partner_name_is_text_and_never_runs(page: Page, app_url: str, shot):
    _open_find_help(page, app_url)
    _search(page, "06106")
    card = page.locator(".am-card", has_text="onerror=alert(1)")
    expect(card.first).to_be_visible(timeout=WAIT)
    # the payload is visible as text...
    assert "<script>window.__pwned=1</script>" in card.first.inner_text()
    # ...and created no element and ran nothing
    assert card.first.locator("img, script").count() == 0
    assert card.first.locator('a[href^="javascript:"]').count() == 0
    page.wait_for_timeout(1500)  # give any injected handler (also in the map iframe) a chance
    assert page.evaluate("() => window.__pwned") is None
    for frame in page.frames:
        try:
            assert frame.evaluate("() => window.__pwned") is None
        except Exception as exc:  # noqa: BLE001 - a detached/cross-origin frame can't run it
            assert "pwned" not in str(exc)
    assert page.dialogs == []  # type: ignore[attr-defined]
    shot(page, "xss_partner_shown_as_text")


def test_arabic_family_view_is_right_to_left(page: Page, app_url: str, shot):
    _open_find_help(page, app_url, "ar")
    _search(page, "Hartford")
    family = page.locator(".st-key-family")
    expect(family).to_be_visible(timeout=WAIT)
    assert family.evaluate("e => getComputedStyle(e).direction") == "rtl"
    results = page.locator(".am-results").first
    expect(results).to_be_visible(timeout=WAIT)
    assert results.evaluate("e => getComputedStyle(e).direction") == "rtl"
    shot(page, "family_ar_rtl")


def test_family_page_fits_a_phone_without_horizontal_scrolling(browser, app_url: str, shot):
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
        has_touch=True,
    )  # fmt: skip
    page = ctx.new_page()
    try:
        _open_find_help(page, app_url, "es")
        _search(page, "06106")
        expect(page.locator(".am-card").first).to_be_visible(timeout=WAIT)
        sizes = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert sizes[0] <= sizes[1], f"horizontal scroll: scrollWidth {sizes[0]} > {sizes[1]}"
        page.locator(".am-card").first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        shot(page, "family_phone_390")
    finally:
        ctx.close()


def _sign_in(page: Page, url: str, user: str, password: str) -> None:
    page.goto(url + "/sign_in")
    page.get_by_label("Username", exact=True).wait_for(timeout=WAIT)
    _settle(page)
    page.get_by_label("Username", exact=True).fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text("Account", exact=True)).to_be_visible(timeout=WAIT)
    _settle(page)


def _nav(page: Page, title: str) -> None:
    """Follow a sidebar link (a reload would start a new, signed-out session)."""
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    _settle(page)


def _pick(page: Page, label: str, option: str) -> None:
    # by role and exact name: a heading such as "Coverage per need" also carries a label
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.fill(option)
    page.get_by_role("option", name=re.compile(re.escape(option))).first.click()
    _settle(page)


def test_coordinator_builds_a_school_network_and_downloads_excel(
    page: Page, app_url: str, tmp_path, e2e_school, accounts, shot
):
    _sign_in(page, app_url, "coord", accounts["coord"])
    _nav(page, "Network & exports")
    expect(page.get_by_role("heading", name="Network & exports")).to_be_visible(timeout=WAIT)
    _settle(page)
    page.get_by_role("button", name="Build network").click()
    _settle(page)
    expect(page.get_by_text(re.compile("^Network for "))).to_be_visible(timeout=WAIT)
    with page.expect_download(timeout=WAIT) as dl:
        page.get_by_role("button", name="Excel workbook").click()
    path = tmp_path / "network.xlsx"
    dl.value.save_as(path)
    wb = openpyxl.load_workbook(path)
    assert "network" in wb.sheetnames, wb.sheetnames
    rows = list(wb["network"].iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    assert {"need", "role", "partner_name", "distance_km"} <= set(header), header
    body = [dict(zip(header, r, strict=False)) for r in rows[1:]]
    assert body and all(r["school_id"] == e2e_school["school_id"] for r in body)
    assert any(r["role"] == "lead" for r in body)
    shot(page, "coordinator_network")


def test_leader_views_gap_overlay_for_a_need_and_a_language(
    page: Page, app_url: str, e2e_school, accounts, shot
):
    _sign_in(page, app_url, "leader", accounts["leader"])
    _nav(page, "District map")
    expect(page.get_by_role("heading", name="District map")).to_be_visible(timeout=WAIT)
    _settle(page)
    _pick(page, "Need", "Child care")
    _pick(page, "Families' language", "Spanish")
    expect(page.get_by_role("combobox", name="Families' language", exact=True)).to_have_value(
        re.compile("Spanish"), timeout=WAIT
    )
    metric = page.get_by_test_id("stMetric").filter(has_text="Schools with a gap: Child care")
    expect(metric).to_be_visible(timeout=WAIT)
    # Hartford has schools whose Spanish-speaking families have no child care in Spanish nearby
    expect(metric.get_by_test_id("stMetricValue")).not_to_have_text("0", timeout=WAIT)
    gaps_with = int(metric.get_by_test_id("stMetricValue").inner_text().replace(",", ""))
    assert gaps_with >= 1
    charts = page.locator(
        '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
    )
    expect(charts.first).to_be_visible(timeout=WAIT)
    gaps_expander = page.get_by_test_id("stExpander").filter(
        has_text=re.compile(r"Gaps for Child care")
    )
    gaps_expander.get_by_text(re.compile(r"^Gaps for Child care")).click()
    expect(gaps_expander.get_by_test_id("stDataFrame")).to_be_visible(timeout=WAIT)
    assert page.locator("iframe").count() >= 1  # the folium map (st_folium)
    page.wait_for_timeout(1500)
    shot(page, "leader_gap_overlay")


def test_a_public_visitor_cannot_open_staff_pages_by_url(page: Page, app_url: str, shot):
    _open_find_help(page, app_url)
    nav = page.get_by_test_id("stSidebarNav")
    assert nav.get_by_text("District map", exact=True).count() == 0
    for path in ("/district_map", "/network_exports", "/data", "/school_partners"):
        page.goto(app_url + path)
        page.get_by_test_id("stTextInput").first.wait_for(timeout=WAIT)  # back on Find help
        _settle(page)
        assert page.get_by_role("heading", name="Find help near you").count() == 1
        for staff in ("District map", "Network & exports", "School partners"):
            assert page.get_by_role("heading", name=staff).count() == 0
        assert page.get_by_test_id("stDataFrame").count() == 0
    shot(page, "public_blocked_from_staff_pages")
