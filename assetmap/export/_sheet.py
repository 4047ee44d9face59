"""Printable one-page family resource sheet per school (HTML with print CSS; the same
document becomes the PDF sheet in :mod:`assetmap.export._pdf`).

The sheet is in the family's language (``assetmap.i18n``), right-to-left with the right
``lang`` for Arabic, Urdu, Pashto, Dari and Persian. Every data string goes through
:func:`assetmap.maps.escape_text`; links are ``tel:`` (from :func:`~assetmap.maps.tel_href`)
and http(s) only. Fictional example partners carry a visible "EXAMPLE (fictional)" badge.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd

from assetmap.auth import withhold_sensitive
from assetmap.export._common import Bundle, present
from assetmap.i18n import get_translator
from assetmap.languages import load_languages
from assetmap.maps import escape_text, safe_url, tel_href

__all__ = ["render_sheets", "bundle_html", "PAPER_SIZES"]

PAPER_SIZES = ("letter", "a4")
#: With more needs than this on a page, backups are left out so the sheet stays one page.
_MAX_NEEDS_WITH_BACKUPS = 10

_CSS = """
@page { size: %(paper)s; margin: 9mm 10mm; }
* { box-sizing: border-box; }
html { font: 10pt/1.3 %(fonts)s; color: #111; }
:lang(zh) { font-family: "Noto Sans CJK SC", %(fonts)s; }
body { margin: 0; }
.page { max-width: 190mm; margin: 0 auto; padding: 4mm 0; }
.page + .page { break-before: page; page-break-before: always; }
h1 { font-size: 15pt; margin: 0 0 1mm; }
.subtitle { margin: 0 0 3mm; color: #333; }
.cards { columns: 2; column-gap: 5mm; }
.card { break-inside: avoid; page-break-inside: avoid; border: 0.3mm solid #999;
        border-radius: 2mm; padding: 2mm 3mm; margin: 0 0 3mm; }
table.net { width: 100%%; border-collapse: collapse; font-size: 8pt; line-height: 1.15; }
table.net th, table.net td { border-bottom: 0.25mm solid #bbb; padding: 0.6mm 1mm; vertical-align: top;
  text-align: start; }
table.net thead th { background: #eee; font-size: 8pt; }
table.net tbody th { font-weight: 700; width: 16%%; }
table.net tr { break-inside: avoid; page-break-inside: avoid; }
.addr { color: #333; font-size: 7.5pt; }
.nowrap { white-space: nowrap; }
.need { font-weight: 700; font-size: 11pt; margin-bottom: 1mm; }
.name { font-weight: 700; }
.row { margin: 0.4mm 0; }
.k { color: #444; }
.also { margin-top: 1mm; font-size: 9pt; color: #333; }
.none { font-style: italic; color: #444; }
.badge { display: inline-block; background: #fff3cd; color: #664d03; border: 0.3mm solid #d9a400;
         border-radius: 1mm; padding: 0 1mm; font-size: 8pt; font-weight: 700; }
a { color: #0b4f9c; text-decoration: none; }
footer { margin-top: 2mm; border-top: 0.3mm solid #999; padding-top: 2mm; font-size: 9pt; }
.notice { margin-top: 1mm; font-size: 8.5pt; }
[dir="rtl"] .cards { direction: rtl; }
@media screen { body { background: #eee; } .page { background: #fff; padding: 10mm; margin: 5mm auto;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); } }
@media print { a { color: #111; } }
"""


#: Noto families shipped by Debian's fonts-noto-core / fonts-noto-cjk (what the PDF renderer
#: finds through fontconfig), then the usual browser fonts: no script falls to tofu boxes.
#: Urdu is set in Noto Sans Arabic (naskh style) like Arabic, Persian and Pashto: Noto Nastaliq
#: Urdu needs about 1.8x the line height, which pushes an 18-need sheet onto a second page.
_FONTS = ", ".join(
    f'"{f}"' if " " in f else f
    for f in (
        "Noto Sans",
        "Noto Sans Arabic",
        "Noto Naskh Arabic",
        "Noto Nastaliq Urdu",
        "Noto Sans Hebrew",
        "Noto Sans Devanagari",
        "Noto Sans Bengali",
        "Noto Sans CJK SC",
        "Segoe UI",
        "Arial",
        "sans-serif",
    )
)


def _dir(text: str) -> str | None:
    """Direction of the first strong character (what ``dir="auto"`` resolves to), made
    explicit: WeasyPrint lays out each element in its CSS ``direction`` and does not isolate
    ``<bdi>`` on its own, so Latin names in an Arabic sheet need ``dir="ltr"`` spelled out."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return None


def _e(v: Any) -> str:
    return escape_text(v) if present(v) else ""


def _partner_block(r: dict[str, Any], t: Any, *, lead: bool) -> str:
    langs = load_languages()
    name = _b(r.get("partner_name") or r.get("name"))
    badge = (
        f' <span class="badge">{escape_text(t("sheet.example_badge"))}</span>'
        if r.get("example")
        else ""
    )
    if not lead:
        phone = r.get("phone")
        tel = tel_href(phone)
        ph = (
            f' — <a href="{escape_text(tel)}"><bdi dir="ltr">{_e(phone)}</bdi></a>'
            if tel
            else (f" — {_e(phone)}" if present(phone) else "")
        )
        return f"<div>{name}{badge}{ph}</div>"
    parts = [f'<div class="name">{name}{badge}</div>']
    phone = r.get("phone")
    if present(phone):
        tel = tel_href(phone)
        shown = f'<a href="{escape_text(tel)}">{_e(phone)}</a>' if tel else _e(phone)
        parts.append(
            f'<div class="row"><span class="k">{escape_text(t("sheet.phone"))}:</span> {shown}</div>'
        )
    if present(r.get("address")):
        parts.append(
            f'<div class="row"><span class="k">{escape_text(t("sheet.address"))}:</span> {_b(r.get("address"))}</div>'
        )
    codes = r.get("languages") if isinstance(r.get("languages"), list) else []
    if codes:
        names = ", ".join(langs.name(str(c), autonym=True) for c in codes)
        parts.append(
            f'<div class="row"><span class="k">{escape_text(t("sheet.languages"))}:</span> {escape_text(names)}</div>'
        )
    if present(r.get("hours")):
        parts.append(
            f'<div class="row"><span class="k">{escape_text(t("sheet.hours"))}:</span> {_b(t.hours(r.get("hours")) if present(r.get("hours")) else None)}</div>'
        )
    if present(r.get("distance_km")):
        parts.append(
            f'<div class="row"><span class="k">{escape_text(t("sheet.distance"))}:</span> '
            f"{escape_text(t.distance(float(r['distance_km']), r.get('geocode_quality')))}</div>"
        )
    url = safe_url(r.get("website"))
    if url:
        parts.append(f'<div class="row"><a href="{escape_text(url)}">{escape_text(url)}</a></div>')
    return "".join(parts)


def _b(v: Any) -> str:
    """Escaped text isolated for bidi (Latin names and addresses inside right-to-left pages)."""
    if not present(v):
        return ""
    d = _dir(str(v))
    return f'<bdi dir="{d}">{escape_text(v)}</bdi>' if d else f"<bdi>{escape_text(v)}</bdi>"


def _phone_html(phone: Any) -> str:
    if not present(phone):
        return ""
    tel = tel_href(phone)
    shown = f'<bdi dir="ltr">{_e(phone)}</bdi>'
    return f'<a href="{escape_text(tel)}">{shown}</a>' if tel else shown


def _school_page(school_name: str, rows: pd.DataFrame, t: Any, today: dt.date) -> str:
    """One page: a table with one row per need (lead partner; backups on a short line when
    there are few needs, so the page stays one page for the full 18 needs)."""
    langs = load_languages()
    needs = list(dict.fromkeys(rows["need"].tolist()))
    with_backups = len(needs) <= _MAX_NEEDS_WITH_BACKUPS
    any_example = False
    body = []
    for need in needs:
        grp = rows[rows["need"] == need].sort_values("rank", kind="stable")
        label = escape_text(t.need_label(str(need)))
        lead = grp[grp["role"] == "lead"]
        backups = grp[grp["role"] == "backup"]
        if not len(lead):
            body.append(
                f'<tr><th scope="row">{label}</th>'
                f'<td colspan="5" class="none">{escape_text(t("sheet.no_partner"))}</td></tr>'
            )
            continue
        r = lead.iloc[0].to_dict()
        any_example |= bool(r.get("example"))
        badge = (
            f' <span class="badge">{escape_text(t("sheet.example_badge"))}</span>'
            if r.get("example")
            else ""
        )
        who = f'<div class="name">{_b(r.get("partner_name"))}{badge}</div>'
        if present(r.get("address")):
            who += f'<div class="addr">{_b(r.get("address"))}</div>'
        if with_backups and len(backups):
            items = [_partner_block(b.to_dict(), t, lead=False) for _, b in backups.iterrows()]
            any_example |= bool(backups["example"].any())
            who += '<div class="also">' + "".join(items) + "</div>"
        codes = r.get("languages") if isinstance(r.get("languages"), list) else []
        lang_names = ", ".join(langs.name(str(c), autonym=True) for c in codes)
        dist = _short_distance(t, r) if present(r.get("distance_km")) else ""
        body.append(
            f'<tr><th scope="row">{label}</th><td>{who}</td>'
            f'<td class="nowrap">{_phone_html(r.get("phone"))}</td>'
            f"<td>{_b(lang_names)}</td><td>{_b(t.hours(r.get('hours')) if present(r.get('hours')) else None)}</td>"
            f'<td class="nowrap">{_b(dist)}</td></tr>'
        )
    head = "".join(
        f'<th scope="col">{escape_text(t(k))}</th>'
        for k in (
            "sheet.need",
            "sheet.partner",
            "sheet.phone",
            "sheet.languages",
            "sheet.hours",
            "sheet.distance",
        )
    )
    notice = (
        f'<div class="notice"><span class="badge">{escape_text(t("sheet.example_badge"))}</span> '
        f"{escape_text(t('sheet.example_notice'))}</div>"
        if any_example
        else ""
    )
    return (
        '<article class="page">'
        f"<h1>{escape_text(t('sheet.title', school=chr(0x2068) + school_name + chr(0x2069)))}</h1>"
        f'<p class="subtitle">{escape_text(t("sheet.subtitle"))}</p>'
        f'<table class="net"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
        f"<footer>{escape_text(t('sheet.footer'))}{notice}"
        f'<div class="notice">{escape_text(t("sheet.generated", date=t.format_date(today)))}</div></footer>'
        "</article>"
    )


def _directory_rows(bundle: Bundle) -> pd.DataFrame:
    """Partners-only export: one 'need' per top-level service, nearest-first is unknown."""
    recs = []
    p = bundle.partners
    for rec in withhold_sensitive(p.drop(columns="geometry")).to_dict("records"):
        if rec.get("published") is False:
            continue
        addr = ", ".join(str(x) for x in (rec.get("address"), rec.get("city")) if present(x))
        for code in dict.fromkeys(str(c).split(".")[0] for c in (rec.get("services") or [])):
            recs.append(
                {
                    "need": code,
                    "role": "lead",
                    "rank": 1,
                    "partner_name": rec.get("name"),
                    "phone": rec.get("phone"),
                    "address": addr,
                    "languages": rec.get("languages") or [],
                    "hours": rec.get("hours"),
                    "website": rec.get("website"),
                    "example": bool(rec.get("example")),
                }
            )
    return pd.DataFrame(recs, columns=["need", "role", "rank", "partner_name", "phone", "address",
                                       "languages", "hours", "website", "example"])  # fmt: skip


def render_sheets(
    bundle: Bundle,
    *,
    language: str | None = None,
    paper: str = "letter",
    today: dt.date | None = None,
) -> str:
    """The HTML document: one printable page per school of the network (or, for a
    partners-only bundle, one directory page listing partners by need)."""
    if paper.lower() not in PAPER_SIZES:
        raise ValueError(f"render_sheets: paper must be one of {PAPER_SIZES}, got {paper!r}")
    t = get_translator(language or bundle.language)
    today = today or dt.date.today()
    pages = []
    names: list[str] = []
    if bundle.network is not None:
        net = bundle.network
        # Sheets go to families: a sensitive site (e.g. a safe haven) shows no address,
        # map point or distance (the one rule in assetmap.auth.withhold_sensitive).
        hidden = [
            str(pid)
            for pid, sens in zip(
                bundle.partners["partner_id"], bundle.partners["sensitive"], strict=True
            )
            if sens is True or str(sens).lower() == "true"
        ]
        net = withhold_sensitive(net, sensitive_ids=hidden)
        for sid in dict.fromkeys(net["school_id"].tolist()):
            rows = net[net["school_id"] == sid]
            name = rows["school_name"].iloc[0] if present(rows["school_name"].iloc[0]) else sid
            names.append(str(name))
            pages.append(_school_page(str(name), rows, t, today))
    else:
        rows = _directory_rows(bundle)
        order = {code: i for i, code in enumerate(dict.fromkeys(rows["need"]))}
        rows = (
            rows.assign(_o=rows["need"].map(order))
            .sort_values("_o", kind="stable")
            .drop(columns="_o")
        )
        pages.append(_directory_page(rows, t, today))
    # The document title (browser tab, PDF metadata) names the school of a one-school sheet.
    one = chr(0x2068) + names[0] + chr(0x2069) if len(names) == 1 else ""
    title = escape_text(t("sheet.title", school=one).strip())
    return (
        f'<!DOCTYPE html>\n<html lang="{escape_text(t.lang)}" dir="{escape_text(t.dir)}">\n<head>\n'
        '<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS % {'paper': paper.lower(), 'fonts': _FONTS}}</style>\n</head>\n<body>\n"
        + "\n".join(pages)
        + "\n</body>\n</html>\n"
    )


def _directory_page(rows: pd.DataFrame, t: Any, today: dt.date) -> str:
    cards = []
    any_example = bool(rows["example"].any()) if len(rows) else False
    for need in dict.fromkeys(rows["need"].tolist()):
        grp = rows[rows["need"] == need]
        items = [_partner_block(r.to_dict(), t, lead=True) for _, r in grp.iterrows()]
        cards.append(
            f'<section class="card"><div class="need">{escape_text(t.need_label(str(need)))}</div>'
            + '<hr style="border:0;border-top:0.2mm solid #ccc">'.join(items)
            + "</section>"
        )
    notice = (
        f'<div class="notice"><span class="badge">{escape_text(t("sheet.example_badge"))}</span> '
        f"{escape_text(t('sheet.example_notice'))}</div>"
        if any_example
        else ""
    )
    return (
        '<article class="page">'
        f'<p class="subtitle">{escape_text(t("sheet.subtitle"))}</p>'
        f'<div class="cards">{"".join(cards)}</div>'
        f"<footer>{escape_text(t('sheet.footer'))}{notice}"
        f'<div class="notice">{escape_text(t("sheet.generated", date=t.format_date(today)))}</div></footer>'
        "</article>"
    )


def bundle_html(bundle: Bundle, path: Path) -> None:
    path.write_text(render_sheets(bundle), encoding="utf-8")


def _short_distance(t, r) -> str:
    """The table cell in the sheet's language: '0.8 mi' (or '1.2 km' with
    ``distance_unit = "km"``) for an exact placement; 'about 1 mi away, ZIP area' for an
    approximate one."""
    from assetmap.units import display_unit, is_approximate, to_unit

    quality = r.get("geocode_quality")
    if is_approximate(quality):
        return t.distance(float(r["distance_km"]), quality)
    if display_unit() == "km":
        return t("sheet.km", km=t.format_km(to_unit(float(r["distance_km"]), "km")))
    return t("sheet.mi", mi=t.format_km(to_unit(float(r["distance_km"]), "mi")))
