"""The family resource sheet as PDF: the HTML sheet (:mod:`assetmap.export._sheet`) laid out
by WeasyPrint with its print CSS (one Letter/A4 page per school, right-to-left where the
language needs it; Pango/HarfBuzz shape Arabic, Urdu, Pashto and Dari).

WeasyPrint needs the system libraries Pango (with PangoFT2), HarfBuzz, fontconfig and GLib;
when they cannot be loaded the export stops with :class:`~assetmap._errors.DependencyMissing`
naming the Debian packages to install (``scripts/install_system_deps.sh`` installs them).

The renderer fetches nothing: the sheet is self-contained (inline CSS, no images), and the
URL fetcher refuses every URL, so data in a sheet can never make it read a local file or a
remote address.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from functools import cache
from pathlib import Path
from typing import Any

from assetmap._errors import DependencyMissing
from assetmap.export._common import Bundle
from assetmap.export._sheet import render_sheets

__all__ = ["bundle_pdf", "html_to_pdf", "pdf_unavailable", "require"]

#: Debian packages WeasyPrint loads at run time (fonts: fonts-noto-core, fonts-noto-cjk).
SYSTEM_PACKAGES = (
    "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 libglib2.0-0"
)
_HINT = (
    f"install the system libraries it needs (Debian/Ubuntu: apt-get install {SYSTEM_PACKAGES} "
    "fonts-noto-core, or run scripts/install_system_deps.sh), or export the sheet as .html "
    "and print it to PDF from a browser"
)


@cache
def _weasyprint() -> Any:
    """The weasyprint module, imported once; its library-loading chatter (a banner printed on
    stdout, a warning) is kept out of the CLI's output."""
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import weasyprint
    except ImportError as exc:
        raise DependencyMissing(
            f"PDF export needs the Python package WeasyPrint ({exc}); "
            "pip install 'weasyprint>=68.1', or export the sheet as .html"
        ) from exc
    except OSError as exc:
        raise DependencyMissing(
            f"PDF export: WeasyPrint could not load a system library ({exc}); {_HINT}"
        ) from exc
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    return weasyprint


def require() -> None:
    """Raise :class:`DependencyMissing` unless WeasyPrint and its libraries load."""
    _weasyprint()


def pdf_unavailable() -> str | None:
    """None when PDF export works here, else the message saying what to install."""
    try:
        require()
    except DependencyMissing as exc:
        return str(exc)
    return None


def _no_fetching(wp: Any) -> Any:
    class NoFetcher(wp.urls.URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"the family sheet loads no external resources ({url[:60]!r})")

    return NoFetcher()


def html_to_pdf(html: str) -> bytes:
    """``html`` (a self-contained document) laid out for print, as PDF bytes."""
    wp = _weasyprint()
    doc = wp.HTML(string=html, base_url=None, url_fetcher=_no_fetching(wp))
    return doc.write_pdf()


def bundle_pdf(bundle: Bundle, path: Path) -> None:
    path.write_bytes(html_to_pdf(render_sheets(bundle)))
