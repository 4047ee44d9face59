"""Exports: every format reads back; spreadsheet cells never start a formula (OWASP)."""

from __future__ import annotations

import csv
import json

import geopandas as gpd
import networkx as nx
import openpyxl
import pandas as pd
import pyogrio
import pytest
from _frames import FORMULAS, XSS, gaps, need_profile, network, partners, schools

from assetmap._errors import InputError
from assetmap.export import export_network, export_partners, format_for
from assetmap.export._tabular import DANGEROUS_STARTS, safe_cell


def _dangerous(cell: object) -> bool:
    """A text cell a spreadsheet would run: starts (after spaces) with = + - @ TAB CR LF NUL,
    unless it is a plain number (Excel reads -72.7 as a number, not a formula)."""
    if not isinstance(cell, str) or not cell:
        return False
    head = cell.lstrip(" ")[:1] or cell[:1]
    if head not in DANGEROUS_STARTS and cell[:1] not in DANGEROUS_STARTS:
        return False
    try:
        float(cell)
        return False
    except ValueError:
        return True


def _csv_cells(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


@pytest.fixture
def frames():
    p = partners()
    # Hostile values in the partners every export sees.
    p.loc[0, "phone"] = FORMULAS[1]  # '+1 860 555 0100'
    p.loc[3, "hours"] = FORMULAS[5]  # '\r=2'
    p.loc[3, "eligibility"] = FORMULAS[6]  # '\n=3'
    p.loc[0, "description"] = "\0=4"
    return {
        "partners": p,
        "network": network(),
        "schools": schools(),
        "gaps": gaps(),
        "profile": need_profile(),
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1 860 555 0100", "'+1 860 555 0100"),
        ("-2", "'-2"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=2", "'\r=2"),
        ("\n=3", "'\n=3"),
        ("\0x", "'\0x"),
        ("  =1", "'  =1"),
        ("Food pantry", "Food pantry"),
        (-72.5, -72.5),
        (3, 3),
        (True, True),
        (None, None),
        (float("nan"), None),
        (["en", "es"], "en; es"),
        ([], None),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", "csv"),
        ("a.XLSX", "xlsx"),
        ("a.kumu.xlsx", "kumu"),
        ("a.geojson", "geojson"),
        ("a.gpkg", "gpkg"),
        ("a.graphml", "graphml"),
        ("a.json", "hsds"),
        ("a.zip", "hsds_csv"),
        ("a.html", "html"),
        ("Sheet.PDF", "pdf"),
        ("folder/", "hsds_csv"),
    ],
)
def test_format_for(name, fmt):
    assert format_for(name) == fmt


def test_unknown_format_names_the_choices():
    with pytest.raises(InputError, match="cannot tell the format.*xlsx"):
        format_for("a.docx")
    with pytest.raises(InputError, match="unknown format"):
        format_for("a.csv", fmt="docx")


def test_csv_network_reads_back_and_is_neutralised(tmp_path, frames):
    out = export_network(frames["network"], tmp_path / "n.csv", partners=frames["partners"])
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(df) == 4
    assert list(df.columns[:8]) == [
        "school_id",
        "school_name",
        "district_id",
        "need",
        "need_label",
        "role",
        "rank",
        "partner_id",
    ]
    assert set(df["role"]) == {"lead", "backup", "gap"}
    for row in _csv_cells(out):
        for cell in row:
            assert not _dangerous(cell), repr(cell)
    health = df[df["partner_id"] == "p2"].iloc[0]
    assert health["phone"] == "'" + FORMULAS[0]
    assert health["partner_name"] == XSS[0] + " Clinic"  # text kept exactly (not HTML-escaped)
    ex = df[df["partner_id"] == "p3"].iloc[0]
    assert ex["example_label"] == "EXAMPLE (fictional)"
    assert ex["partner_name"] == "'=cmd|' /C calc'!A0"


def test_csv_partners_every_hostile_value(tmp_path, frames):
    out = export_partners(frames["partners"], tmp_path / "p.csv")
    cells = _csv_cells(out)
    for row in cells:
        for cell in row:
            assert not _dangerous(cell), repr(cell)
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    by = df.set_index("partner_id")
    assert by.loc["p1", "phone"] == "'+1 860 555 0100"
    assert by.loc["p4", "phone"] == "'-2"
    assert by.loc["p4", "hours"] == "'\r=2"
    assert by.loc["p3", "organization"] == "'@SUM(1+1)"
    assert by.loc["p3", "hours"] == "'\t=1"
    assert by.loc["p2", "stale"] == "True" and by.loc["p1", "stale"] == "False"
    assert by.loc["p3", "example_label"] == "EXAMPLE (fictional)"
    assert float(by.loc["p1", "lon"]) == pytest.approx(-72.68)


def test_xlsx_sheets_text_cells_never_formulas(tmp_path, frames):
    out = export_network(
        frames["network"],
        tmp_path / "n.xlsx",
        partners=frames["partners"],
        gaps=frames["gaps"],
        profile=frames["profile"],
    )
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [
        "network", "partners", "data_completeness", "gaps", "need_profile", "about"
    ]  # fmt: skip
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    assert c.data_type == "s"
                    assert not _dangerous(c.value), (ws.title, c.coordinate, c.value)
    net = pd.read_excel(out, sheet_name="network")
    assert len(net) == 4 and net["distance_km"].dropna().tolist() == [1.1, 2.0, 9.5]
    parts = pd.read_excel(out, sheet_name="partners")
    assert len(parts) == 3  # only partners used by the network
    assert parts.set_index("partner_id").loc["p3", "example_label"] == "EXAMPLE (fictional)"
    assert "EXAMPLE (fictional)" in " ".join(str(c.value) for c in wb["about"]["A"])
    prof = pd.read_excel(out, sheet_name="need_profile", dtype={"display": str})
    assert prof["display"].tolist() == ["40", "<6", "12"]
    # what is known about the network's partners, per category (independent recount)
    comp = pd.read_excel(out, sheet_name="data_completeness").set_index("category")
    assert comp.loc["(all)", "partners"] == len(parts)
    for field in ("languages", "phone"):
        known = sum(1 for v in parts[field] if isinstance(v, str) and v.strip())
        assert comp.loc["(all)", f"with_{field}"] == known, field


def test_xlsx_partners_only(tmp_path, frames):
    out = export_partners(frames["partners"], tmp_path / "p.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["partners", "data_completeness", "about"]
    df = pd.read_excel(out, sheet_name="partners", dtype=str)
    assert df.set_index("partner_id").loc["p2", "phone"] == "'" + FORMULAS[0]
    assert len(df) == 4


def test_geojson_points_and_lines(tmp_path, frames):
    out = export_network(
        frames["network"],
        tmp_path / "n.geojson",
        partners=frames["partners"],
        schools=frames["schools"],
    )
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert "crs" not in doc
    kinds = [f["properties"]["feature_type"] for f in doc["features"]]
    assert (
        kinds.count("partner") == 3
        and kinds.count("network_link") == 3
        and kinds.count("school") == 1
    )
    gdf = pyogrio.read_dataframe(out)
    assert set(gdf.geometry.geom_type) == {"Point", "LineString"}
    line = gdf[gdf["feature_type"] == "network_link"].iloc[0]
    assert list(line.geometry.coords)[0] == (-72.69, 41.76)


def test_geojson_partners_skip_missing_locations(tmp_path, frames):
    p = frames["partners"]
    p.loc[1, "geometry"] = None
    out = export_partners(p, tmp_path / "p.geojson")
    gdf = pyogrio.read_dataframe(out)
    assert sorted(gdf["partner_id"]) == ["p1", "p3", "p4"]
    assert gdf.set_index("partner_id").loc["p1", "languages"] == "en;es"


def test_gpkg_layers_read_back(tmp_path, frames):
    out = export_network(
        frames["network"],
        tmp_path / "n.gpkg",
        partners=frames["partners"],
        schools=frames["schools"],
        gaps=frames["gaps"],
    )
    layers = dict(pyogrio.list_layers(out))
    assert layers == {
        "partners": "Point",
        "schools": "Point",
        "network_lines": "LineString",
        "gaps": "Point",
    }
    parts = gpd.read_file(out, layer="partners", engine="pyogrio")
    assert parts.crs.to_epsg() == 4326 and len(parts) == 3
    lines = gpd.read_file(out, layer="network_lines", engine="pyogrio")
    assert sorted(lines["role"]) == ["backup", "lead", "lead"]
    g = gpd.read_file(out, layer="gaps", engine="pyogrio")
    assert len(g) == 2 and g.geometry.notna().sum() == 1  # s2 is not a network school
    # Rewriting the same path replaces the file (no duplicated rows).
    export_network(frames["network"], out, partners=frames["partners"])
    assert len(gpd.read_file(out, layer="partners", engine="pyogrio")) == 3


def test_graphml_reads_back(tmp_path, frames):
    out = export_network(frames["network"], tmp_path / "n.graphml", partners=frames["partners"])
    g = nx.read_graphml(out, force_multigraph=True)
    kinds = nx.get_node_attributes(g, "kind")
    assert sorted(k for k in kinds.values() if k == "partner") == ["partner"] * 3
    assert kinds["school:s1"] == "school" and kinds["need:legal"] == "need"
    roles = sorted(
        d["role"] for _, _, d in g.edges(data=True) if d.get("kind") in ("lead", "backup")
    )
    assert roles == ["backup", "lead", "lead"]
    assert any(d.get("kind") == "gap" for _, _, d in g.edges(data=True))
    assert g.nodes["partner:p3"]["example"] in (True, "true", "True")


def test_graphml_partners_only_links_needs(tmp_path, frames):
    out = export_partners(frames["partners"], tmp_path / "p.graphml")
    g = nx.read_graphml(out, force_multigraph=True)
    assert g.has_edge("partner:p1", "need:food")
    assert g.has_edge("partner:p3", "need:adult_ed")


def test_kumu_workbook(tmp_path, frames):
    out = export_network(frames["network"], tmp_path / "n.kumu.xlsx", partners=frames["partners"])
    assert out.name == "n.kumu.xlsx"
    el = pd.read_excel(out, sheet_name="Elements")
    co = pd.read_excel(out, sheet_name="Connections")
    assert {"Label", "Type", "Description", "Tags"} <= set(el.columns)
    assert {"From", "To", "Type", "Direction"} <= set(co.columns)
    assert el["Label"].is_unique
    assert set(co["From"]) | set(co["To"]) <= set(el["Label"])
    assert "Lead partner" in set(co["Type"])
    wb = openpyxl.load_workbook(out)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f" and not _dangerous(c.value)


def test_inputs_are_not_mutated(tmp_path, frames):
    before = {k: v.copy() for k, v in frames.items()}
    export_network(
        frames["network"],
        tmp_path / "n.xlsx",
        **{k: frames[k] for k in ("partners", "schools", "gaps", "profile")},
    )
    for k, v in frames.items():
        pd.testing.assert_frame_equal(pd.DataFrame(v), pd.DataFrame(before[k]))


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="partners must be"):
        export_partners([1], tmp_path / "p.csv")
    with pytest.raises(TypeError, match="network must be"):
        export_network({"a": 1}, tmp_path / "n.csv")


def test_rejected_export_keeps_the_previous_file(tmp_path, frames):
    target = tmp_path / "n.xlsx"
    export_network(frames["network"], target)
    size = target.stat().st_size
    with pytest.raises(TypeError, match="schools must be"):
        export_network(frames["network"], target, schools="not a frame")
    assert target.stat().st_size == size
    assert [p.name for p in tmp_path.iterdir()] == ["n.xlsx"]


def test_shipped_partners_export_roundtrip(tmp_path):
    from assetmap.data import data_path, load_partners

    if not data_path("ct/partners.geojson").exists():
        pytest.fail("data/ct/partners.geojson is missing")
    p = load_partners()
    out = export_partners(p, tmp_path / "ct.gpkg")
    back = gpd.read_file(out, layer="partners", engine="pyogrio")
    assert len(back) == len(p)
    head = p.head(300)
    xl = export_partners(head, tmp_path / "ct.xlsx")
    assert len(pd.read_excel(xl, sheet_name="partners")) == len(head)
