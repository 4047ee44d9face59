"""Family resource sheet as PDF (WeasyPrint): one page per school, the sheet's language and
direction, escaped text, and a clear message when the PDF libraries are missing."""

from __future__ import annotations

import importlib.abc
import re
import sys
from io import BytesIO

import pandas as pd
import pytest
from _frames import XSS, network, partners
from pypdf import PdfReader

from assetmap._errors import DependencyMissing
from assetmap.cli import main
from assetmap.export import export_network, export_partners, pdf_unavailable
from assetmap.export._pdf import _weasyprint

SCHOOL = "Burns Latino Studies Academy"
ARABIC = re.compile("[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]{3,}")


@pytest.fixture(scope="module")
def hartford():
    """The coordinated network of a shipped Hartford school and its partners."""
    from assetmap.data import load_partners, load_schools, survey_path
    from assetmap.index import PartnerIndex
    from assetmap.match import prepare
    from assetmap.near import resolve_school
    from assetmap.needs import load_profile
    from assetmap.network import build_network

    schools = load_schools()
    profile, _ = load_profile(survey_path(), schools=schools)
    ctx = prepare(
        partners_index=PartnerIndex.build(load_partners()), profile=profile, schools=schools
    )
    sid = str(resolve_school(SCHOOL, schools)[1]["school_id"])
    net = build_network([sid], profile=profile, context=ctx)
    p = ctx.index.partners
    return net, p[p["partner_id"].isin(set(net["partner_id"].dropna()))]


def _read(path):
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(data))
    return data, reader, "\n".join(page.extract_text() for page in reader.pages)


def _x_of(page, needle: str) -> float:
    """Horizontal position (pt from the left edge) where ``needle`` is drawn on ``page``."""
    xs = []

    def visit(text, cm, tm, _font, _size):
        if needle in text:
            xs.append(cm[0] * tm[4] + cm[2] * tm[5] + cm[4])

    page.extract_text(visitor_text=visit)
    assert xs, needle
    return xs[0]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_shipped_school_sheet_is_one_pdf_page(tmp_path, hartford, language):
    net, ptn = hartford
    out = export_network(net, tmp_path / f"sheet_{language}.pdf", partners=ptn, language=language)
    _, reader, text = _read(out)
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)
    assert SCHOOL in text
    assert SCHOOL in reader.metadata.title
    leads = net.loc[net["role"] == "lead", "partner_name"].dropna()
    assert len(leads) >= 5
    # Long names wrap across lines in a table cell; compare without the line breaks.
    flat = " ".join(text.split())
    assert sum(name in flat for name in leads.unique()) >= 3
    first_need = net.loc[net["role"] == "lead"].iloc[0]
    width = float(page.mediabox.width)
    if language == "en":
        assert "Help for families near" in text
        assert _x_of(page, str(first_need["need_label"])) < width / 3
    else:
        assert ARABIC.search(text)
        assert "Help for families near" not in text
        # right-to-left: the need column (first in the document) is drawn at the right edge
        from assetmap.i18n import get_translator

        label = get_translator("ar").need_label(str(first_need["need"]))
        assert _x_of(page, label) > width * 2 / 3
        # Latin addresses keep their order inside the Arabic page
        addr = net.loc[net["role"] == "lead", "address"].dropna()
        assert any(a in flat for a in addr)


def test_partner_payloads_are_literal_text(tmp_path):
    net = network()
    net.loc[0, "partner_name"] = XSS[0]
    net.loc[0, "hours"] = XSS[1]
    net.loc[1, "website"] = "javascript:alert(1)"
    out = export_network(net, tmp_path / "sheet.pdf", partners=partners())
    data, reader, text = _read(out)
    assert len(reader.pages) == 1
    assert "<script>alert(1)</script>" in text
    assert "${alert(document.domain)}" in "".join(text.split())  # may wrap after the "$"
    assert "&lt;" not in text
    assert b"/JavaScript" not in data and b"/JS " not in data and b"/JS(" not in data
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            uri = annot.get_object().get("/A", {}).get("/URI", "")
            assert str(uri).startswith(("tel:", "https://", "http://")), uri


def test_one_page_per_school(tmp_path):
    net = network()
    other = net.copy().assign(school_id="s9", school_name="Other School")
    both = pd.concat([net, other], ignore_index=True)
    out = export_network(both, tmp_path / "two.pdf", partners=partners(), language="es")
    _, reader, _ = _read(out)
    assert len(reader.pages) == 2
    assert "Burns School" in reader.pages[0].extract_text()
    assert "Other School" in reader.pages[1].extract_text()
    assert "Comida" in reader.pages[1].extract_text()


def test_partner_directory_pdf(tmp_path):
    out = export_partners(partners(), tmp_path / "dir.pdf")
    _, reader, text = _read(out)
    assert len(reader.pages) >= 1
    assert "Hartford Food Pantry" in text


class _NoLibraries(importlib.abc.MetaPathFinder):
    """Makes ``import weasyprint`` fail the way it does when Pango cannot be loaded."""

    def find_spec(self, name, path=None, target=None):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0': No such file or directory")
        return None


@pytest.fixture
def no_pango(monkeypatch):
    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_NoLibraries(), *sys.meta_path])
    _weasyprint.cache_clear()
    yield
    _weasyprint.cache_clear()


def test_missing_libraries_are_named(tmp_path, no_pango, capsys):
    assert "libpangoft2-1.0-0" in (pdf_unavailable() or "")
    old = tmp_path / "sheet.pdf"
    old.write_bytes(b"previous")
    with pytest.raises(DependencyMissing, match="apt-get install .*libpango-1.0-0"):
        export_network(network(), old, partners=partners())
    assert old.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.pdf"]
    code = main(["export", "--out", str(tmp_path / "partners.pdf")])
    out, err = capsys.readouterr()
    assert code == 2
    assert "could not load a system library" in err and "install_system_deps.sh" in err
    assert "Traceback" not in err and out == ""
