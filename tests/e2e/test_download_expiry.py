"""Issue 10 (3): a staff download is made only on click, for the signed-in session, and a
copied ``/media/...`` link stops working seconds later (real HTTP fetch, no cookies)."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect
from test_journeys import WAIT, _nav, _settle, _sign_in

from assetmap.settings import get_settings

pytestmark = pytest.mark.browser


def _fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:  # no cookies, no session
            r.read()
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_network_workbook_link_expires_and_is_made_only_on_click(
    page: Page, app_url: str, accounts
):
    _sign_in(page, app_url, "coord", accounts["coord"])
    _nav(page, "Network & exports")
    page.get_by_role("button", name="Build network").click()
    _settle(page)
    expect(page.get_by_text(re.compile("^Network for "))).to_be_visible(timeout=WAIT)
    # nothing is on the server before the click: no link to a generated file on the page
    assert not re.search(r"[\"']/media/[0-9a-f]{20,}", page.content())
    with page.expect_download(timeout=WAIT) as dl:
        page.get_by_role("button", name="Excel workbook").click()
    url = dl.value.url
    assert "/media/" in url, url
    time.sleep(get_settings().download_expiry_s + 3)
    assert _fetch(url) == 404  # the link no longer serves the coordinator's workbook
