"""The store's behaviour, run identically against a GeoPackage file and a real PostGIS server.

The PostGIS server is started by ``tests/_postgis.py`` (or taken from
ASSETMAP_TEST_POSTGIS_URL); when it cannot be had these tests fail, they are never skipped.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import warnings

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from _postgis import release, shared_server
from shapely.geometry import MultiPolygon, Point, Polygon

from assetmap._errors import InputError, StaleVersionError
from assetmap.model import conform_partners
from assetmap.settings import get_settings
from assetmap.store import GeoPackageStore, open_store

BACKENDS = ["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)]


@pytest.fixture(scope="session")
def pg():
    """The PostGIS server (never skipped: a server that cannot start fails the tests)."""
    yield shared_server()
    release()


@pytest.fixture(params=BACKENDS)
def location(request, tmp_path):
    if request.param == "gpkg":
        return str(tmp_path / "store.gpkg")
    return request.getfixturevalue("pg").new_schema()


@pytest.fixture
def store(location):
    s = open_store(location)
    yield s
    s.close()


def _partners() -> gpd.GeoDataFrame:
    raw = gpd.GeoDataFrame(
        {
            "partner_id": ["food-1", "clinic-1", "shelter-1"],
            "name": ["North End Pantry", "Clínica Hispana", "Safe Haven"],
            "category": ["food_pantry", "health", "shelter"],
            "services": [["food", "food.pantry"], ["health"], ["housing", "safety"]],
            "languages": [["en", "es"], ["es", "pt"], ["en"]],
            "address": ["1 Main St", "22 Park St", "5 Hidden Rd"],
            "city": ["Hartford", "Hartford", "Hartford"],
            "postal_code": ["06103", "06106", "06105"],
            "phone": ["860-555-0101", "860-555-0102", "860-555-0103"],
            "capacity": [120, None, 12],
            "ada_accessible": [True, None, False],
            "last_verified": ["2026-10-01", None, "2020-01-01"],
            "sensitive": [False, False, True],
            "published": [True, True, True],
        },
        geometry=[Point(-72.675, 41.770), Point(-72.690, 41.755), Point(-72.700, 41.780)],
        crs="EPSG:4326",
    )
    return conform_partners(raw)


def _schools() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "school_id": ["090111", "090999"],
            "name": ["Near School", "Far School"],
            "district_id": ["0901", "0909"],
        },
        geometry=[Point(-72.680, 41.765), Point(-73.300, 41.200)],
        crs="EPSG:4326",
    )


@pytest.fixture
def loaded(store):
    counts = store.upsert_partners(_partners(), by="loader")
    assert counts == {"added": 3, "updated": 0, "unchanged": 0}
    store.put_schools(_schools(), by="loader")
    return store


# ---------------------------------------------------------------------- edits
def test_round_trip_keeps_every_canonical_value(loaded):
    back = loaded.partners().set_index("partner_id")
    src = _partners().set_index("partner_id")
    assert list(back.index) == ["clinic-1", "food-1", "shelter-1"]
    for pid in src.index:
        for col in ("name", "category", "services", "languages", "address", "postal_code", "phone", "cost",
                    "mou_status", "published", "sensitive", "last_verified"):  # fmt: skip
            a, b = back.at[pid, col], src.at[pid, col]
            assert a == b or (a is None or a != a) and (b is None or b != b), (pid, col, a, b)
        assert back.geometry[pid].equals_exact(src.geometry[pid], 1e-12)
    assert back.at["food-1", "capacity"] == 120 and pd.isna(back.at["clinic-1", "capacity"])
    assert (
        back.at["food-1", "ada_accessible"] is True
        and back.at["clinic-1", "ada_accessible"] is None
    )
    assert (back["version"] == 1).all() and not back["retired"].any()
    assert back.crs.to_epsg() == 4326


def test_update_bumps_version_and_audits_each_changed_field(loaded):
    v = loaded.update_partner("food-1", {"phone": "860-555-0199", "hours": "Mon 9-5", "name": "North End Pantry"},
                              by="ana", expect_version=1)  # fmt: skip
    assert v == 2
    rec = loaded.get_partner("food-1")
    assert rec["phone"] == "860-555-0199" and rec["hours"] == "Mon 9-5" and rec["version"] == 2
    assert rec["updated_by"] == "ana"
    h = loaded.history("food-1")
    assert list(h["action"]) == ["add", "update", "update"]
    upd = h[h["action"] == "update"].set_index("field")
    assert set(upd.index) == {"phone", "hours"}  # the unchanged name is not audited
    assert (
        upd.at["phone", "before"] == "860-555-0101" and upd.at["phone", "after"] == "860-555-0199"
    )
    assert (
        upd.at["hours", "before"] is None
        and (upd["version"] == 2).all()
        and (upd["by"] == "ana").all()
    )
    dt.datetime.fromisoformat(upd.at["phone", "at"].replace("Z", "+00:00"))


def test_noop_update_keeps_version(loaded):
    assert loaded.update_partner("food-1", {"phone": "860-555-0101"}, by="ana") == 1
    assert len(loaded.history("food-1")) == 1


def test_stale_version_is_refused_with_the_newer_value(loaded):
    loaded.update_partner("clinic-1", {"phone": "860-555-7777"}, by="bea", expect_version=1)
    with pytest.raises(
        StaleVersionError, match=r"now version 2.*phone is now '860-555-7777'.*by bea"
    ) as err:
        loaded.update_partner("clinic-1", {"phone": "860-555-0000"}, by="ana", expect_version=1)
    assert err.value.current["version"] == 2 and err.value.current["phone"] == "860-555-7777"
    rec = loaded.get_partner("clinic-1")
    assert rec["phone"] == "860-555-7777" and rec["version"] == 2  # nothing overwritten
    assert len(loaded.history("clinic-1")) == 2


def test_lists_points_and_types_are_coerced(loaded):
    loaded.update_partner("clinic-1", {"languages": "es; ht", "capacity": "40", "ada_accessible": "yes",
                                       "lat": "41.5", "lon": "-72.9"}, by="ana")  # fmt: skip
    rec = loaded.get_partner("clinic-1")
    assert (
        rec["languages"] == ["es", "ht"]
        and rec["capacity"] == 40.0
        and rec["ada_accessible"] is True
    )
    assert (rec["lat"], rec["lon"]) == (41.5, -72.9)
    geo = loaded.history("clinic-1").set_index("field").loc["geometry"]
    assert geo["before"] == [-72.69, 41.755] and geo["after"] == [-72.9, 41.5]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "red"}, "unknown partner field 'colour'"),
        ({"cost": "cheap"}, "cost='cheap' is not allowed"),
        ({"capacity": "many"}, "capacity='many' is not a number"),
        ({"lat": 141.0, "lon": -72.0}, "out of range.*swapped"),
        ({"lat": 41.0}, "lat and lon together"),
        ({"last_verified": "yesterday"}, "not a date; use YYYY-MM-DD"),
        ({"version": 9}, "cannot be set directly"),
        ({"retired": True}, "use retire_partner"),
        ({}, "no changes given"),
    ],
)
def test_bad_edits_name_the_fix(loaded, changes, message):
    with pytest.raises(InputError, match=message):
        loaded.update_partner("food-1", changes, by="ana")
    assert loaded.get_partner("food-1")["version"] == 1


def test_edit_needs_a_name_and_a_known_partner(loaded):
    with pytest.raises(InputError, match="name of who made it"):
        loaded.update_partner("food-1", {"phone": "1"}, by=" ")
    with pytest.raises(InputError, match="no partner with partner_id 'nope'"):
        loaded.update_partner("nope", {"phone": "1"}, by="ana")
    with pytest.raises(InputError, match="already exists"):
        loaded.add_partner({"partner_id": "food-1", "name": "Dup"}, by="ana")


def test_retire_never_deletes(loaded):
    v = loaded.retire_partner("shelter-1", by="lee", note="closed")
    assert v == 2
    assert "shelter-1" not in set(loaded.partners()["partner_id"])
    everything = loaded.partners(include_retired=True).set_index("partner_id")
    assert bool(everything.at["shelter-1", "retired"]) is True
    with pytest.raises(InputError, match="retired"):
        loaded.update_partner("shelter-1", {"phone": "1"}, by="ana")
    assert loaded.retire_partner("shelter-1", by="lee", retired=False) == 3
    assert "shelter-1" in set(loaded.partners()["partner_id"])
    assert loaded.counts()["retired"] == 0


def test_verify_and_stale_list_per_school(loaded, monkeypatch):
    today = dt.date(2026, 11, 1)
    assert set(loaded.stale_partners(today=today)["partner_id"]) == {"clinic-1", "shelter-1"}
    v = loaded.verify_partner("clinic-1", by="ana", at=dt.date(2026, 10, 30))
    rec = loaded.get_partner("clinic-1", today=today)
    assert (
        v == 2
        and rec["last_verified"] == "2026-10-30"
        and rec["verified_by"] == "ana"
        and not rec["stale"]
    )
    near = loaded.stale_partners(school_id="090111", reach_km=5, today=today)
    assert list(near["partner_id"]) == ["shelter-1"] and near["distance_km"].iloc[0] < 5
    assert loaded.stale_partners(school_id="090999", reach_km=5, today=today).empty
    with pytest.raises(InputError, match="no school with school_id 'x'"):
        loaded.stale_partners(school_id="x")
    monkeypatch.setenv("ASSETMAP_STALE_AFTER_DAYS", "20")
    get_settings.cache_clear()
    try:
        assert "food-1" in set(
            loaded.stale_partners(today=today)["partner_id"]
        )  # verified 31 days before
    finally:
        monkeypatch.delenv("ASSETMAP_STALE_AFTER_DAYS")
        get_settings.cache_clear()


def test_upsert_updates_changed_rows_only(loaded):
    frame = _partners()
    frame.loc[frame["partner_id"] == "food-1", "phone"] = "860-555-4242"
    counts = loaded.upsert_partners(frame, by="import")
    assert counts == {"added": 0, "updated": 1, "unchanged": 2}
    assert loaded.get_partner("food-1")["version"] == 2
    assert loaded.history("food-1")["action"].tolist() == ["add", "import"]
    dup = pd.concat([frame, frame.iloc[:1]])
    with pytest.raises(InputError, match="occurs twice"):
        loaded.upsert_partners(dup, by="import")


def test_concurrent_threads_share_one_store(loaded):
    errors = []

    def work(n):
        try:
            for i in range(15):
                loaded.add_partner(
                    {"partner_id": f"t{n}-{i}", "name": f"T{n}", "lat": 41.0, "lon": -72.0},
                    by=f"t{n}",
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert loaded.counts()["partners"] == 3 + 60


# ---------------------------------------------------------------------- checks
def test_audit_replays_to_current_state(loaded):
    loaded.update_partner("food-1", {"phone": "1", "services": ["food"]}, by="a")
    loaded.verify_partner("food-1", by="b", at="2026-05-01")
    loaded.retire_partner("clinic-1", by="c")
    loaded.add_partner({"partner_id": "new-1", "name": "New", "lat": 41.6, "lon": -72.7}, by="d")
    loaded.update_partner("new-1", {"lat": 41.61, "lon": -72.71, "languages": "es"}, by="e")
    assert loaded.replay_audit() == []
    assert loaded.integrity_check() == []


def test_replay_detects_an_unaudited_change(loaded):
    with loaded._write() as cur:  # a change made behind the store's back
        cur.execute(
            loaded._q("UPDATE partners SET phone = ? WHERE partner_id = ?"), ("000", "food-1")
        )
    problems = loaded.replay_audit()
    assert problems == ["partner 'food-1': phone replays to '860-555-0101' but is stored as '000'"]
    assert problems[0] in loaded.integrity_check()


# ---------------------------------------------------------------------- schools, boundaries, profiles
def test_schools_and_boundaries_round_trip(store):
    store.put_schools(_schools(), by="t")
    back = store.schools()
    assert list(back["school_id"]) == ["090111", "090999"] and back.geometry[0].equals(
        Point(-72.68, 41.765)
    )
    square = Polygon([(-73, 41), (-72, 41), (-72, 42), (-73, 42)])
    multi = MultiPolygon([Polygon([(0, 0), (1, 0), (1, 1)]), Polygon([(2, 2), (3, 2), (3, 3)])])
    bad = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])  # bow tie: made valid on the way in
    b = gpd.GeoDataFrame({"boundary_id": ["d1", "d2", "d3"], "name": ["A", "B", "C"], "pop": [1, 2, 3]},
                         geometry=[square, multi, bad], crs="EPSG:4326")  # fmt: skip
    assert store.put_boundaries(b, kind="district", by="t") == 3
    out = store.boundaries("district").set_index("boundary_id")
    assert (
        out.geometry["d1"].equals(square)
        and out.geometry["d2"].equals(multi)
        and out.geometry["d3"].is_valid
    )
    assert out.at["d2", "pop"] == 2
    store.put_boundaries(b.iloc[:1], kind="town", by="t")
    assert len(store.boundaries()) == 4 and len(store.boundaries("town")) == 1


def test_need_profiles_never_hold_survey_rows(store):
    survey_rows = pd.DataFrame({"response_id": ["r1"], "school_id": ["090111"], "needs": ["food"]})
    with pytest.raises(InputError, match="respondent-level columns.*response_id"):
        store.save_need_profile("090111", survey_rows, as_of="2026-09-01", by="t")
    with pytest.raises(InputError, match="no 'suppressed' column"):
        store.save_need_profile(
            "090111", pd.DataFrame({"need": ["food"], "families": [12]}), as_of="2026-09-01", by="t"
        )
    profile = pd.DataFrame(
        {"need": ["food", "housing"], "families": [12, None], "suppressed": [False, True]}
    )
    store.save_need_profile("090111", profile, as_of="2026-09-01", by="t")
    store.save_need_profile(
        "090111", profile.assign(families=[14, None]), as_of="2026-12-01", by="t"
    )
    assert store.need_profile("090111")["families"].iloc[0] == 14
    assert store.need_profile("090111", as_of="2026-10-01")["families"].iloc[0] == 12
    assert store.need_profile("nope") is None
    assert len(store.need_profile_index()) == 2


# ---------------------------------------------------------------------- networks & outcomes
def _net(rows):
    return pd.DataFrame(rows, columns=["need", "partner_id", "role", "distance_km"])


def test_network_snapshots_diff_and_outcomes(store):
    jan = _net([("food", "food-1", "lead", 0.8), ("food", "pantry-2", "backup", 2.0),
                ("housing", "shelter-1", "lead", 3.1), ("legal", None, None, None)])  # fmt: skip
    jun = _net([("food", "pantry-2", "lead", 2.0), ("legal", "law-1", "lead", 6.0),
                ("housing", None, None, None)])  # fmt: skip
    store.save_network("090111", jan, as_of="2026-01-15", by="ana")
    store.save_network("090111", jun, as_of=dt.date(2026, 6, 1), by="ana")
    snaps = store.networks("090111")
    assert list(snaps["as_of"]) == ["2026-01-15", "2026-06-01"] and list(snaps["entries"]) == [4, 3]
    d = store.network_diff("090111", "2026-01-15", "2026-06-01")
    assert d["partners_added"] == ["law-1"] and d["partners_removed"] == ["food-1", "shelter-1"]
    assert d["needs_covered"] == ["legal"] and d["needs_uncovered"] == ["housing"]
    assert d["leads_changed"]["food"] == ["food-1", "pantry-2"]
    with pytest.raises(
        InputError,
        match="no saved network for school '090111' on 2026-03-01.*2026-01-15, 2026-06-01",
    ):
        store.network_diff("090111", "2026-03-01", "2026-06-01")
    assert list(store.network("090111", as_of="2026-03-01")["partner_id"].fillna("-")) == [
        "food-1",
        "pantry-2",
        "shelter-1",
        "-",
    ]

    store.record_outcome("090111", as_of="2026-01-15", need="food", partner_id="food-1", term="2026-spring",
                         referrals_made=12, families_served=9, by="ana")  # fmt: skip
    store.record_outcome("090111", as_of="2026-06-01", need="food", partner_id="pantry-2", term="2026-fall",
                         referrals_made=5, families_served=4, by="ana")  # fmt: skip
    store.record_outcome(
        "090111",
        as_of="2026-06-01",
        need="food",
        partner_id="pantry-2",
        term="2026-fall",
        referrals_made=7,
        families_served=6,
        by="ana",
    )  # fmt: skip  (an update, not a second row)
    prog = store.progress("090111").set_index("term")
    assert (
        prog.at["2026-spring", "referrals_made"] == 12
        and prog.at["2026-fall", "families_served"] == 6
    )
    with pytest.raises(InputError, match="no entry for need 'food' and partner 'zzz'"):
        store.record_outcome(
            "090111", as_of="2026-06-01", need="food", partner_id="zzz", term="t", by="ana"
        )
    with pytest.raises(InputError, match="whole number"):
        store.record_outcome("090111", as_of="2026-06-01", need="food", partner_id="pantry-2", term="t",
                             referrals_made=-1, by="ana")  # fmt: skip
    # re-saving a date replaces the snapshot and keeps outcomes of entries that remain
    store.save_network("090111", jun.iloc[:2], as_of="2026-06-01", by="ana")
    out = store.outcomes("090111", term="2026-fall")
    assert len(out) == 1 and out["referrals_made"].iloc[0] == 7
    assert store.integrity_check() == []


# ---------------------------------------------------------------------- location & back-end specifics
def test_open_store_picks_the_back_end(tmp_path):
    with open_store(tmp_path / "a.gpkg") as s:
        assert s.kind == "gpkg"
    with pytest.raises(
        InputError, match="neither a GeoPackage path ending in .gpkg nor a postgresql:// URL"
    ):
        open_store(tmp_path / "a.sqlite")
    with pytest.raises(
        InputError,
        match="cannot connect to the PostGIS store postgresql://u:\\*\\*\\*@127.0.0.1:1/x",
    ):
        open_store("postgresql://u:secret@127.0.0.1:1/x")


def test_default_location_comes_from_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSETMAP_STORE_URL", str(tmp_path / "deep" / "default.gpkg"))
    get_settings.cache_clear()
    try:
        with open_store() as s:
            assert s.location == str(tmp_path / "deep" / "default.gpkg")
    finally:
        monkeypatch.delenv("ASSETMAP_STORE_URL")
        get_settings.cache_clear()


def test_geopackage_opens_in_gdal_after_edits(tmp_path):
    path = tmp_path / "qgis.gpkg"
    with open_store(path) as s:
        s.upsert_partners(_partners(), by="t")
        s.put_schools(_schools(), by="t")
        s.update_partner("food-1", {"lat": 41.9, "lon": -72.5}, by="t")
        s.refresh_extents()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # GDAL complaints surface as warnings
        layers = dict(pyogrio.list_layers(path))
        assert (
            layers["partners"] == "Point" and layers["schools"] == "Point" and "audit_log" in layers
        )
        info = pyogrio.read_info(path, layer="partners")
        assert info["crs"] == "EPSG:4326" and info["features"] == 3 and info["driver"] == "GPKG"
        gdf = gpd.read_file(path, layer="partners").set_index("partner_id")
    assert gdf.geometry["food-1"].equals(Point(-72.5, 41.9)) and gdf.at["food-1", "version"] == 2
    assert gdf.at["food-1", "services"] == "food;food.pantry"
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    ext = con.execute(
        "SELECT min_x, max_y FROM gpkg_contents WHERE table_name = 'partners'"
    ).fetchone()
    assert ext == (-72.7, 41.9)
    con.close()


def test_geopackage_durability_settings(tmp_path):
    with open_store(tmp_path / "d.gpkg") as s:
        assert isinstance(s, GeoPackageStore)
        assert s._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert s._conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 60000


def test_foreign_geopackage_is_not_taken_over(tmp_path):
    path = tmp_path / "other.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs=4326).to_file(path, layer="roads")
    with pytest.raises(InputError, match="not an assetmap store.*store import"):
        open_store(path)


@pytest.mark.postgis
def test_postgis_uses_real_geometry_columns(pg):
    url = pg.new_database()
    with open_store(url) as s:
        s.upsert_partners(_partners(), by="t")
        with s._read() as cur:
            cur.execute("SELECT ST_GeometryType(geometry), ST_SRID(geometry), ST_X(geometry) FROM partners "
                        "WHERE partner_id = 'food-1'")  # fmt: skip
            assert cur.fetchone() == ("ST_Point", 4326, -72.675)
            cur.execute(
                "SELECT COUNT(*) FROM partners WHERE ST_DWithin(geometry::geography, ST_MakePoint(-72.68, 41.765)::geography, 2000)"
            )
            assert cur.fetchone()[0] == 2


@pytest.fixture(scope="module")
def shipped_profile():
    from assetmap.data import load_schools, survey_path
    from assetmap.needs import load_profile

    profile, _report = load_profile(survey_path(), schools=load_schools())  # SYNTHETIC
    return profile


def test_published_need_profiles_of_the_shipped_survey(store, shipped_profile):
    n = store.save_need_profiles(shipped_profile, as_of="2026-10-01", by="t")
    pub = shipped_profile.published()
    assert n == pub["school_id"].nunique()
    sid = str(pub["school_id"].iloc[0])
    back = store.need_profile(sid)
    mine = pub[pub["school_id"] == sid].reset_index(drop=True)
    assert len(back) == len(mine) and list(back.columns) == list(mine.columns)
    assert back["suppressed"].tolist() == mine["suppressed"].tolist()
    assert back.loc[back["suppressed"], "count"].isna().all()  # suppressed cells stay blank
    leaky = mine.copy()
    leaky.loc[leaky["suppressed"].astype(bool), "count"] = 3
    if leaky["suppressed"].any():
        with pytest.raises(InputError, match="suppressed cells that still carry a count"):
            store.save_need_profile(sid, leaky, as_of="2026-10-02", by="t")
    with pytest.raises(InputError, match="also holds rows of"):
        store.save_need_profile(sid, pub, as_of="2026-10-02", by="t")


def test_networks_in_the_network_module_shape(store):
    from assetmap.network import NETWORK_COLUMNS

    rows = [
        {"school_id": "s1", "need": "food", "role": "lead", "rank": 1, "partner_id": "p1", "languages": ["es"],
         "distance_km": 1.2, "stale": False},
        {"school_id": "s1", "need": "legal", "role": "gap", "rank": 0, "partner_id": None, "languages": []},
        {"school_id": "s2", "need": "food", "role": "lead", "rank": 1, "partner_id": "p2", "languages": ["en"]},
    ]  # fmt: skip
    frame = pd.DataFrame(rows).reindex(columns=NETWORK_COLUMNS)
    with pytest.raises(InputError, match="also holds rows of \\['s2'\\]"):
        store.save_network("s1", frame, as_of="2026-09-01", by="t")
    assert len(store.save_networks(frame, as_of="2026-09-01", by="t")) == 2
    back = store.network("s1")
    assert list(back["role"]) == ["lead", "gap"] and back["languages"].iloc[0] == ["es"]
    assert store.networks()["school_id"].tolist() == ["s1", "s2"]


def test_edits_keep_working_after_qgis_adds_a_spatial_index(tmp_path):
    """QGIS/GDAL index a layer with the GeoPackage R-tree triggers (OGC GeoPackage spec, Annex F.3)."""
    path = tmp_path / "indexed.gpkg"
    with open_store(path) as s:
        s.upsert_partners(_partners(), by="t")
        with s._write() as cur:
            cur.execute(
                "CREATE VIRTUAL TABLE rtree_partners_geometry USING rtree(id, minx, maxx, miny, maxy)"
            )
            cur.execute(
                "INSERT INTO rtree_partners_geometry SELECT fid, ST_MinX(geometry), ST_MaxX(geometry), "
                "ST_MinY(geometry), ST_MaxY(geometry) FROM partners WHERE NOT ST_IsEmpty(geometry)"
            )
            cur.execute(
                "CREATE TRIGGER rtree_partners_geometry_insert AFTER INSERT ON partners "
                "WHEN (new.geometry NOT NULL AND NOT ST_IsEmpty(NEW.geometry)) BEGIN "
                "INSERT OR REPLACE INTO rtree_partners_geometry VALUES (NEW.fid, ST_MinX(NEW.geometry), "
                "ST_MaxX(NEW.geometry), ST_MinY(NEW.geometry), ST_MaxY(NEW.geometry)); END"
            )
            cur.execute(
                "CREATE TRIGGER rtree_partners_geometry_update1 AFTER UPDATE OF geometry ON partners "
                "WHEN OLD.fid = NEW.fid AND (NEW.geometry NOTNULL AND NOT ST_IsEmpty(NEW.geometry)) BEGIN "
                "INSERT OR REPLACE INTO rtree_partners_geometry VALUES (NEW.fid, ST_MinX(NEW.geometry), "
                "ST_MaxX(NEW.geometry), ST_MinY(NEW.geometry), ST_MaxY(NEW.geometry)); END"
            )
    with open_store(path) as s:  # a new connection, as after QGIS closed the file
        s.update_partner("food-1", {"lat": 41.9, "lon": -72.5}, by="t")
        s.add_partner({"partner_id": "n", "name": "N", "lat": 41.0, "lon": -73.0}, by="t")
        with s._read() as cur:
            cur.execute("SELECT minx, maxy FROM rtree_partners_geometry ORDER BY id")
            boxes = cur.fetchall()
        assert len(boxes) == 4
        assert boxes[0][0] == pytest.approx(-72.5) and boxes[0][1] == pytest.approx(41.9)
        assert s.integrity_check() == []


def test_a_store_made_before_a_field_existed_gains_it_on_open(tmp_path):
    """An older var/assetmap.gpkg lacks fields added since (e.g. ``as_of``): opening it adds
    them as empty columns (unknown), keeps every record, and edits work on the new field."""
    loc = str(tmp_path / "older.gpkg")
    s = open_store(loc)
    s.upsert_partners(_partners(), by="loader")
    s.close()
    with sqlite3.connect(loc) as con:  # what a store from the previous release looks like
        con.execute("ALTER TABLE partners DROP COLUMN as_of")
        assert "as_of" not in {r[1] for r in con.execute("PRAGMA table_info(partners)")}
    s = open_store(loc)
    try:
        recs = {r["partner_id"]: r for r in s.partner_records()}
        assert set(recs) == {"food-1", "clinic-1", "shelter-1"}
        assert recs["food-1"]["name"] == "North End Pantry" and not recs["food-1"]["as_of"]
        s.update_partner("food-1", {"as_of": "2026-11-01"}, by="ana")
        assert s.get_partner("food-1")["as_of"] == "2026-11-01"
    finally:
        s.close()
