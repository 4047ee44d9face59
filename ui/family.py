"""Rendering for the public Find help page: origin lookup, search, result cards, print.

Every data string reaches the page through :func:`assetmap.maps.escape_text` inside
``st.html`` (which also runs DOMPurify); nothing here uses ``unsafe_allow_html``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from assetmap._errors import AssetmapError, InputError
from assetmap.index import PartnerIndex
from assetmap.maps import APPROXIMATE_QUALITIES, escape_text, family_map, safe_url, tel_href
from assetmap.near import Location, resolve_place
from ui import cache
from ui.widgets import NEED_ICONS, md_literal, show_map

RADII_KM: list[float] = [2, 5, 10, 25]
#: The same choice in miles (shown when settings.distance_unit is "mi"; searched in km).
RADII_MI: list[float] = [1, 3, 5, 15]
KM_PER_MI = 1.609344
#: "When can you go?" choices (``assetmap.schedules.OPEN_CHOICES`` plus any time).
WHEN_OPTIONS: list[str] = ["any", "evening", "weekend", "summer"]
_WHEN_ICONS = {"any": "🕘", "evening": "🌙", "weekend": "📅", "summer": "☀️"}
DEFAULT_RADIUS_KM: float = 5
DEFAULT_RADIUS_MI: float = 3
MAX_RESULTS = 25
NEAREST_FALLBACK = 5

#: Page CSS (constants only): big need buttons, cards, phone-width safety, print layout.
PAGE_CSS = """<style>
.st-key-family [data-testid="stButtonGroup"] button { font-size: 1.1rem; padding: 0.55rem 0.9rem;
  min-height: 3rem; }
.am-card { border: 1px solid #d0d7de; border-radius: 10px; padding: 0.8rem 1rem; margin: 0 0 0.8rem 0;
  overflow-wrap: anywhere; word-break: break-word; background: #fff; }
.am-card h3 { font-size: 1.15rem; margin: 0 0 0.3rem 0; padding: 0; }
.am-dist { font-weight: 600; color: #1f6f8b; }
.am-example { display: inline-block; background: #fff3cd; color: #664d03; border-radius: 6px;
  padding: 0.1rem 0.45rem; font-size: 0.85rem; margin: 0.2rem 0; }
.am-links a { display: inline-block; margin: 0.35rem 0.9rem 0 0; font-weight: 600; }
.am-meta { margin: 0.15rem 0; }
[data-testid="stMainBlockContainer"] { max-width: 760px; }
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding-left: 0.8rem; padding-right: 0.8rem; }
}
@media print {
  header, [data-testid="stSidebar"], [data-testid="stToolbar"], [data-testid="stDecoration"],
  .st-key-noprint, iframe { display: none !important; }
  .am-card { break-inside: avoid; }
}
</style>"""


def need_options() -> list[str]:
    """'all' then the top-level need codes in taxonomy order."""
    return ["all", *cache.taxonomy().top_needs]


def need_button_label(t: Any, code: str) -> str:
    """'🍎 Comida' — the icon and the translated need label."""
    if code == "all":
        return f"✳️ {t('find.all_needs')}"
    return f"{NEED_ICONS.get(code, '•')} {t.need_label(code)}"


_ZIPLIKE = re.compile(r"^\s*\d{5}(?:-\d{4})?\s*$")


def looks_like_address(text: str) -> bool:
    """A street address (a house number and a street), not a town or a ZIP code."""
    text = (text or "").strip()
    return (
        bool(re.search(r"\d", text))
        and bool(re.search(r"[^\W\d_]{2,}", text))
        and not bool(_ZIPLIKE.match(text))
    )


CONSENT_FOR_KEY = "_find_consent_for"


def resolve_origin(t: Any, *, place: str, gazetteer: pd.DataFrame) -> Location | None:
    """Where to search from: a town or ZIP (offline), or a street address with consent.

    Town and ZIP are resolved offline from the shipped gazetteer. Text that looks like a
    street address is sent to the outside geocoder (Census; never cached) only after the
    page showed the notice and the family ticked the consent box. Problems are shown in
    the family's language; ``None`` means "nothing to search yet".
    """
    place = (place or "").strip()
    if not place:
        return None
    try:
        return resolve_place(place, gazetteer)
    except InputError:
        pass
    if not looks_like_address(place):
        st.warning(t("find.place_not_found"))
        return None
    st.info(t("find.address_notice"))
    # consent covers one address: a new address asks again (issue 10)
    if st.session_state.get(CONSENT_FOR_KEY) != place:
        st.session_state["find_consent"] = False
        st.session_state[CONSENT_FOR_KEY] = place
    if not st.checkbox(t("find.address_consent"), key="find_consent"):
        return None
    try:
        return _geocode_address(place)
    except AssetmapError:
        st.warning(t("find.place_not_found"))
        return None


def _geocode_address(address: str) -> Location:
    from assetmap.geocode import Geocoder

    hit = Geocoder(providers=("census",), cache=False).geocode(address)
    if not hit.matched:
        raise InputError(f"address not found: {hit.message}")
    return Location(
        float(hit.lat), float(hit.lon), hit.matched_address or address, "point", hit.quality
    )


def search(
    index: PartnerIndex,
    origin: Location,
    *,
    need: str | None,
    radius_km: float,
    when: str = "any",
    programs: list[dict[str, Any]] | None = None,
) -> tuple[gpd.GeoDataFrame, bool]:
    """Partners within ``radius_km`` serving ``need`` (nearest first), or the nearest few.

    ``when`` (evening / weekend / summer) keeps partners open then, by their hours or a
    public program they run. Returns the results and whether they are within the radius
    (False: nearest beyond it).
    """
    needs = [need] if need else []
    if when and when != "any":
        from assetmap.near import open_filter

        res = open_filter(
            index.radius(origin.lat, origin.lon, radius_km, needs=needs), [when], programs or []
        )
        if len(res):
            return res.iloc[:MAX_RESULTS].reset_index(drop=True), True
        beyond = open_filter(
            index.knn(origin.lat, origin.lon, len(index), needs=needs), [when], programs or []
        )
        return beyond.iloc[:NEAREST_FALLBACK].reset_index(drop=True), False
    from assetmap.near import prefer_stated

    def within(idx: PartnerIndex) -> gpd.GeoDataFrame:
        return idx.radius(origin.lat, origin.lon, radius_km, needs=needs, limit=MAX_RESULTS)

    def nearest(idx: PartnerIndex) -> gpd.GeoDataFrame:
        return idx.knn(origin.lat, origin.lon, NEAREST_FALLBACK, needs=needs)

    # places that say they offer the help come before those where it is a category's guess
    res = within(index)
    if len(res):
        return (prefer_stated(res, within, index) if needs else res), True
    res = nearest(index)
    return (prefer_stated(res, nearest, index) if needs else res), False


#: beyond this a walk is not a way to get there: no "min walk" line (and a bounded search)
WALK_MINUTES_SHOWN = 120.0


def with_walk_minutes(results: gpd.GeoDataFrame, origin: Location) -> gpd.GeoDataFrame:
    """Results with ``travel_minutes`` walking and its ``travel_time_basis``: on the
    workspace's road network when one was imported, else estimated (see config/roads.toml)."""
    from assetmap.roads import load_network, travel_minutes
    from assetmap.settings import get_settings

    if results.empty:
        return results
    mins, on = travel_minutes(
        load_network(get_settings().store_location),
        "walk",
        [origin.lat],
        [origin.lon],
        results.geometry.y.to_numpy(),
        results.geometry.x.to_numpy(),
        max_minutes=WALK_MINUTES_SHOWN,
    )
    out = results.copy()
    out["travel_minutes"] = mins[0]
    out["travel_time_basis"] = ["network" if x else "estimated" for x in on[0]]
    return out


def walk_text(t: Any, row: Any) -> str:
    """'about 15 min walk' ('(estimated)' without a road network), or '' when unknown."""
    mins = row.get("travel_minutes")
    if mins is None or not math.isfinite(float(mins)):
        return ""
    key = (
        "find.walk_minutes"
        if row.get("travel_time_basis") == "network"
        else ("find.walk_minutes_estimated")
    )
    return t(key, minutes=max(1, round(float(mins))))


def when_label(t: Any, code: str) -> str:
    """'🌙 Por la tarde-noche' — icon and translated label of a "when" choice."""
    return f"{_WHEN_ICONS.get(code, '•')} {t(f'find.when_{code}')}"


def public_programs() -> list[dict[str, Any]]:
    """The workspace's programs a family may see (read fresh: staff edits show at once)."""
    from assetmap.programs import list_programs
    from assetmap.programs import public_programs as public_only
    from ui import registry

    progs = list_programs(registry.store())
    return public_only(progs, public_partner_ids=cache.public_partners()["partner_id"].astype(str))


def programs_near(
    programs: list[dict[str, Any]], origin: Location, *, radius_km: float, when: str
) -> pd.DataFrame:
    """Public programs near the origin (then online ones) open at ``when``."""
    from assetmap.programs import program_locations, programs_open
    from assetmap.programs import programs_near as near_programs

    if when and when != "any":
        programs = programs_open(programs, [when])
    locs = program_locations(programs, partners=cache.public_partners(), schools=cache.schools())
    return near_programs(
        programs, lat=origin.lat, lon=origin.lon, radius_km=radius_km, locations=locs
    )


def _day_names(locale: str) -> dict[str, str]:
    from babel.dates import get_day_names

    try:
        names = get_day_names("abbreviated", locale=locale.replace("-", "_"))
    except Exception:  # noqa: BLE001 - a locale Babel lacks: keep the HSDS day codes
        return {}
    return {code: names[i] for i, code in enumerate(("MO", "TU", "WE", "TH", "FR", "SA", "SU"))}


def when_text(t: Any, schedules: list[dict[str, Any]]) -> str:
    """Schedules with day names in the family's language: 'mar. 18:00–20:00'."""
    days = _day_names(t.locale)
    parts = []
    for s in schedules or []:
        names = " ".join(days.get(d, d) for d in str(s.get("byday") or "").split(","))
        text = f"{names} {s.get('opens_at')}–{s.get('closes_at')}"
        if s.get("valid_from") or s.get("valid_to"):
            text += f" ({s.get('valid_from') or '…'} – {s.get('valid_to') or '…'})"
        parts.append(text)
    return "; ".join(parts)


def program_card_html(t: Any, row: Any, *, partners: pd.DataFrame, family_language: str) -> str:
    """One program card (name, who runs it, where, when, languages, cost, phone), escaped."""
    langs_tbl = cache.languages()
    names = dict(zip(partners["partner_id"].astype(str), partners["name"], strict=False))
    phones = dict(zip(partners["partner_id"].astype(str), partners["phone"], strict=False))
    pid = str(row.get("partner_id") or "")
    parts = [
        '<div class="am-card am-program">',
        f"<h3><bdi>{escape_text(_text(row['name']))}</bdi></h3>",
    ]
    if pid and names.get(pid):
        parts.append(f'<div class="am-meta"><bdi>{escape_text(_text(names[pid]))}</bdi></div>')
    km = row.get("distance_km")
    if km is None or (isinstance(km, float) and math.isnan(km)):
        parts.append(f'<div class="am-meta am-dist">{escape_text(t("find.online"))}</div>')
    else:
        parts.append(f'<div class="am-meta am-dist">{escape_text(t.distance(float(km)))}</div>')
    when = when_text(t, list(row.get("schedules") or []))
    if when:
        parts.append(
            f'<div class="am-meta"><b>{escape_text(t("find.hours"))}:</b> <bdi>{escape_text(when)}</bdi></div>'
        )
    codes = sorted(row.get("languages") or [], key=lambda c: c != family_language)
    if codes:
        shown = ", ".join(
            f"<bdi>{escape_text(langs_tbl.get(c).autonym if langs_tbl.get(c) else c)}</bdi>"
            for c in codes
        )
        parts.append(
            f'<div class="am-meta"><b>{escape_text(t("find.languages"))}:</b> {shown}</div>'
        )
    if row.get("cost") == "free":
        parts.append(f'<div class="am-meta">{escape_text(t("find.free"))}</div>')
    tel = tel_href(phones.get(pid))
    if tel:
        parts.append(
            f'<div class="am-links"><a href="{escape_text(tel)}">📞 {escape_text(t("find.call"))} '
            f'<bdi dir="ltr">{escape_text(_text(phones.get(pid)))}</bdi></a></div>'
        )
    parts.append("</div>")
    return "".join(parts)


def show_programs(t: Any, rows: pd.DataFrame, *, lang: str) -> None:
    """The programs section (nothing when there are none)."""
    if rows.empty:
        return
    st.subheader(t("find.programs_heading"))
    partners = cache.public_partners()
    cards = "".join(
        program_card_html(t, r, partners=partners, family_language=lang)
        for _, r in rows.head(MAX_RESULTS).iterrows()
    )
    st.html(f'<div class="am-results" dir="{"rtl" if t.rtl else "ltr"}">{cards}</div>')


def _text(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v).strip()


def card_html(t: Any, row: pd.Series, *, family_language: str) -> str:
    """One result card, every data string escaped."""
    langs_tbl = cache.languages()
    codes = list(row.get("languages") or [])
    codes.sort(key=lambda c: c != family_language)
    lang_names = "، " if t.rtl else ", "
    lang_names = lang_names.join(
        f"<bdi>{escape_text(langs_tbl.get(c).autonym if langs_tbl.get(c) else c)}</bdi>"
        for c in codes
    )
    parts = ['<div class="am-card">']
    parts.append(f"<h3><bdi>{escape_text(_text(row['name']))}</bdi></h3>")
    if bool(row.get("example")):
        parts.append(f'<div class="am-example">{escape_text(t("find.example_notice"))}</div>')
    km = row.get("distance_km")
    if km is not None and not (isinstance(km, float) and math.isnan(km)):
        dist = t.distance(float(km), row.get("geocode_quality"))
        parts.append(f'<div class="am-meta am-dist">{escape_text(dist)}</div>')
    # placed only at its ZIP or town area: the distance line says "about …, ZIP area"; a walking
    # time or directions to the area's centre would read as exact, so neither is shown
    approximate = _text(row.get("geocode_quality")).lower() in APPROXIMATE_QUALITIES
    walk = None if approximate else walk_text(t, row)
    if walk:
        parts.append(f'<div class="am-meta am-walk">{escape_text(walk)}</div>')
    addr = ", ".join(x for x in (_text(row.get("address")), _text(row.get("city"))) if x)
    if addr:
        parts.append(f'<div class="am-meta"><bdi>{escape_text(addr)}</bdi></div>')
    if lang_names:
        parts.append(
            f'<div class="am-meta"><b>{escape_text(t("find.languages"))}:</b> {lang_names}</div>'
        )
    hours = t.hours(_text(row.get("hours")))  # weekday words in the family's language
    if hours:
        parts.append(
            f'<div class="am-meta"><b>{escape_text(t("find.hours"))}:</b> <bdi>{escape_text(hours)}</bdi></div>'
        )
    links = []
    tel = tel_href(row.get("phone"))
    if tel:
        links.append(
            f'<a href="{escape_text(tel)}">📞 {escape_text(t("find.call"))} '
            f'<bdi dir="ltr">{escape_text(_text(row.get("phone")))}</bdi></a>'
        )
    geom = row.get("geometry")
    if geom is not None and not geom.is_empty and not approximate:
        links.append(
            f'<a href="https://www.openstreetmap.org/directions?to={geom.y:.5f}%2C{geom.x:.5f}" '
            f'target="_blank" rel="noopener noreferrer">🧭 {escape_text(t("find.directions"))}</a>'
        )
    web = safe_url(row.get("website"))
    if web:
        links.append(
            f'<a href="{escape_text(web)}" target="_blank" rel="noopener noreferrer">🔗 '
            f"{escape_text(t('find.website'))}</a>"
        )
    if links:
        parts.append(f'<div class="am-links">{"".join(links)}</div>')
    parts.append("</div>")
    return "".join(parts)


def show_results(
    t: Any,
    results: gpd.GeoDataFrame,
    *,
    lang: str,
    origin: Location,
    within: bool,
    radius_km: float,
) -> None:
    """Heading, count, the cards, a small map and a print button."""
    st.subheader(t("find.results_heading"))
    st.caption(md_literal(origin.label))  # a geocoder's reply: plain text
    if not within:
        st.info(t("find.no_results"))
    if results.empty:
        return
    if within:
        st.write(t("find.results_count", n=len(results)))
    cards = "".join(card_html(t, row, family_language=lang) for _, row in results.iterrows())
    dir_attr = "rtl" if t.rtl else "ltr"
    st.html(f'<div class="am-results" dir="{dir_attr}">{cards}</div>')
    st.subheader(t("find.map_heading"))
    # a home address (a point): no third-party tiles around it (issue 10)
    m = family_map(
        results,
        (origin.lat, origin.lon),
        language=lang,
        radius_km=radius_km,
        tiles=origin.kind != "point",
    )
    with st.container(key="noprint"):
        show_map(m, height=320, key="find_map")
        print_button(t("find.print"))


def print_button(label: str) -> None:
    """A button that opens the browser's print dialog (print CSS hides the chrome)."""
    st.iframe(
        '<button onclick="window.parent.print()" style="font-size:1rem;padding:0.5rem 1rem;'
        'border-radius:8px;border:1px solid #1f6f8b;background:#fff;color:#1f6f8b;cursor:pointer">'
        f"🖨️ {escape_text(label)}</button>",
        height=56,
    )


def confidential(partners: pd.DataFrame, *, need: str | None) -> pd.DataFrame:
    """Partners whose location is withheld for safety (e.g. a domestic-violence shelter) that
    serve ``need`` (all of them when no need is chosen): listed by phone only."""
    if "location_withheld" not in partners.columns:
        return partners.iloc[0:0]
    rows = partners[partners["location_withheld"].astype(bool)]
    if need:
        tax = cache.taxonomy()
        rows = rows[[tax.serves(list(v or []), need) for v in rows["services"]]]
    return rows.sort_values("name")


def show_confidential(t: Any, rows: pd.DataFrame, *, lang: str) -> None:
    """The contact-only entries: name, languages, hours and phone; no address, map or distance."""
    if rows.empty:
        return
    st.subheader(t("find.confidential"))
    cards = "".join(card_html(t, row, family_language=lang) for _, row in rows.iterrows())
    st.html(f'<div class="am-results" dir="{"rtl" if t.rtl else "ltr"}">{cards}</div>')
