"""Lossless round trips: every partner export format re-imports to the same partners (ids,
categories, services, languages, locations, placement quality, example/sensitive flags), and
the CLI accepts its own exports as --partners input."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from assetmap.export import export_partners
from assetmap.languages import load_languages
from assetmap.model import conform_partners
from assetmap.schema import load_file
from assetmap.taxonomy import load_taxonomy

FORMATS = ("csv", "xlsx", "geojson", "gpkg", "json", "zip")
HSDS = ("json", "zip")
TAX = load_taxonomy()
CATEGORIES = sorted(TAX.categories)
NEEDS = sorted(TAX.needs)
LANGS = sorted(load_languages().languages)[:25]


def _key(gdf: gpd.GeoDataFrame, fmt: str) -> dict[str, tuple]:
    out = {}
    for rec, g in zip(gdf.drop(columns="geometry").to_dict("records"), gdf.geometry, strict=True):
        where = None if g is None or g.is_empty else (round(g.y, 5), round(g.x, 5))
        if fmt in HSDS and rec["sensitive"]:
            where = "withheld"  # HSDS is public: a sensitive partner's point is never written
        out[str(rec["partner_id"])] = (
            rec["category"],
            tuple(sorted(rec["services"])),
            tuple(sorted(rec["languages"])),
            where,
            rec["geocode_quality"] if where not in (None, "withheld") else None,
            bool(rec["example"]),
            bool(rec["sensitive"]),
        )
    return out


def _roundtrip(partners: gpd.GeoDataFrame, folder: Path, fmt: str) -> gpd.GeoDataFrame:
    path = folder / f"p.{fmt}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_partners(partners, path)
        back, rep = load_file(path)
    assert rep.errors == [], [p.describe() for p in rep.errors]
    return back


_PLACEHOLDERS = {"nan", "none", "null", "n/a", "na", "<na>"}
_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,11}", fullmatch=True)
_partner = st.fixed_dictionaries(
    {
        "name": st.text(
            st.characters(codec="utf-8", categories=("L", "N", "Zs")),
            min_size=1,
            max_size=20,
            # placeholders such as "NA" or "None" read as blank on import, by design (real
            # spreadsheets use them for empty cells); a partner needs a real name
        ).filter(lambda s: s.strip() and s.strip().lower() not in _PLACEHOLDERS),  # fmt: skip
        "category": st.sampled_from(CATEGORIES),
        "services": st.lists(st.sampled_from(NEEDS), max_size=3, unique=True),
        "languages": st.lists(st.sampled_from(LANGS), max_size=3, unique=True),
        # exports keep 6 decimals (about 0.1 m): generate points at that precision
        "lat": st.integers(41_000_000, 42_000_000).map(lambda v: v / 1e6),
        "lon": st.integers(-73_600_000, -71_900_000).map(lambda v: v / 1e6),
        "geocode_quality": st.sampled_from(["exact", "street", "zip", "town"]),
        "example": st.booleans(),
        "sensitive": st.booleans(),
    }
)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_partner, min_size=1, max_size=4), ids=st.lists(_ids, min_size=4,
       max_size=4, unique_by=str.lower))  # fmt: skip
def test_every_format_reimports_the_same_partners(tmp_path, rows, ids):
    recs = []
    for pid, r in zip(ids, rows, strict=False):
        services = r["services"] or list(TAX.categories[r["category"]].default_services)
        recs.append(dict(r, partner_id=pid, services=services, source="roundtrip test"))
    geoms = [Point(r.pop("lon"), r.pop("lat")) for r in recs]
    partners = conform_partners(gpd.GeoDataFrame(recs, geometry=geoms, crs="EPSG:4326"))
    for fmt in FORMATS:
        back = _roundtrip(partners, tmp_path, fmt)
        assert _key(back, fmt) == _key(partners, fmt), fmt


@pytest.fixture(scope="module")
def shipped():
    """The shipped partners' examples (flags, sensitive, town placements) + 150 real ones."""
    frame, _ = load_file(Path(__file__).parent.parent / "data" / "ct" / "partners.geojson")
    keep = frame["example"] | (frame.index < 150)
    return frame[keep].reset_index(drop=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_shipped_partners_survive_every_format(shipped, tmp_path, fmt):
    back = _roundtrip(shipped, tmp_path, fmt)
    want = shipped[shipped["published"]] if fmt in HSDS else shipped  # HSDS: public only
    assert _key(back, fmt) == _key(want, fmt)


@pytest.mark.parametrize("fmt", ["gpkg", "json"])
def test_network_accepts_each_export_of_the_shipped_data(tmp_path, fmt, capsys):
    from assetmap.cli import main

    out = tmp_path / f"e.{fmt}"
    assert main(["export", "--out", str(out)]) == 0
    code = main(["network", "--school", "0640611", "--partners", str(out), "--out",
                 str(tmp_path / "n.csv")])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "n.csv").read_text(encoding="utf-8").count("\n") > 10
