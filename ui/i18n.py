"""Streamlit glue for the family view's languages (catalogs live in ``assetmap.i18n``)."""

from __future__ import annotations

import streamlit as st

from assetmap.i18n import Translator, available_languages, get_translator

#: Class prefix Streamlit gives a keyed container (``st.container(key=...)``).
_KEY_CLASS = "st-key-"


@st.cache_resource(show_spinner=False)
def translator(code: str) -> Translator:
    """The (cached) translator for a UI language code."""
    return get_translator(code)


@st.cache_resource(show_spinner=False)
def _languages() -> dict[str, str]:
    return dict(available_languages())


def language_codes() -> list[str]:
    """UI language codes with a catalog, in picker order (English first)."""
    return list(_languages())


def autonym(code: str) -> str:
    """The language's own name, for the picker ('español', 'العربية')."""
    return _languages().get(code, code)


def initial_language() -> str:
    """The UI language to start with: ``?lang=`` if it names a catalog, else the browser's."""
    codes = language_codes()
    q = st.query_params.get("lang")
    if q in codes:
        return str(q)
    loc = st.context.locale or ""
    base = loc.split("-")[0].lower() if loc else ""
    return base if base in codes else "en"


def direction_css(container_key: str, *, rtl: bool) -> str:
    """CSS that lays a keyed container out right-to-left (or left-to-right).

    Built only from constants: ``container_key`` is a code-side constant, never data.
    """
    d = "rtl" if rtl else "ltr"
    align = "right" if rtl else "left"
    sel = f".{_KEY_CLASS}{container_key}"
    # The whole page turns, not only the keyed container: the language picker above it, the
    # headings and paragraphs (Streamlit's markdown sets its own alignment) and the captions.
    page = '[data-testid="stMainBlockContainer"]'
    text = ", ".join(
        f"{root} {el}"
        for root in (page, sel)
        for el in ("h1", "h2", "h3", "p", "li", '[data-testid="stMarkdownContainer"]',
                   '[data-testid="stCaptionContainer"]', "label")
    )  # fmt: skip
    return (
        f"<style>{page}, {sel} {{ direction: {d}; text-align: {align}; }}"
        f" {text} {{ direction: {d}; text-align: {align}; }}"
        f" {sel} input, {sel} textarea {{ direction: {d}; text-align: {align}; }}</style>"
    )
