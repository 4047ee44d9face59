"""``assetmap geocode`` through the real CLI (subprocess) against the loopback replay server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from geoserver import ReplayServer, expected_point

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
CLI = [sys.executable, "-m", "assetmap", "geocode"]

#: Census misses in the big file, and who answers them.
MISSES = {
    "1 OSMONLY Way": "nominatim",
    "2 OSMONLY Way": "nominatim",
    "3 OSMONLY Way": "nominatim",
    "4 TWIN Oaks Rd": "nominatim",
    "5 NOWHERE Rd": "gazetteer",  # Nominatim has nothing either; ZIP 06103 centroid
    "6 NOWHERE Rd": "gazetteer",
    "7 NOWHERE Rd": "",  # in 'Atlantis' with no ZIP: fails
}


def _env(tmp_path: Path, srv: ReplayServer | None) -> dict[str, str]:
    data_dir = tmp_path / "data" / "ct"
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "gazetteer.csv").write_bytes((DATA / "gazetteer_mini.csv").read_bytes())
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        ASSETMAP_DATA_DIR=str(tmp_path / "data"),
        ASSETMAP_GEOCODE_CACHE_PATH=str(tmp_path / "var" / "geocode_cache.sqlite"),
        ASSETMAP_USER_AGENT="assetmap-tests/0.1 (tests@example.org)",
        ASSETMAP_NOMINATIM_MIN_INTERVAL_S="0.2",
        ASSETMAP_GEOCODE_BACKOFF_S="0.05",
    )
    if srv is not None:
        env["ASSETMAP_CENSUS_GEOCODER_URL"] = srv.url
        env["ASSETMAP_NOMINATIM_URL"] = srv.url
    return env


@pytest.fixture
def inproc(monkeypatch, tmp_path):
    """Run ``assetmap geocode`` in this process (same parser and handler, no interpreter start)."""
    from assetmap import data
    from assetmap.cli import main
    from assetmap.settings import get_settings

    def run(args, srv=None, **env):
        for k, v in {**_env(tmp_path, srv), **env}.items():
            if k.startswith("ASSETMAP_"):
                monkeypatch.setenv(k, v)
        get_settings.cache_clear()
        data._gazetteer.cache_clear()
        try:
            return main(["geocode", *args])
        except SystemExit as exc:  # argparse errors
            return exc.code

    yield run
    get_settings.cache_clear()
    data._gazetteer.cache_clear()


def _big_file(tmp_path: Path, n: int = 2500) -> tuple[Path, pd.DataFrame]:
    rows = []
    misses = list(MISSES)
    for i in range(n):
        if i < len(misses):
            street = misses[i]
            city, zip_ = ("Atlantis", "") if "7 NOWHERE" in street else ("Hartford", "06103")
        else:
            street, city, zip_ = (
                f"{i} Main St",
                ["Hartford", "New Haven", "Stamford"][i % 3],
                f"06{i % 900:03d}",
            )
        rows.append(
            {
                "Site ID": f"{i:05d}",
                "Site Name": f"Site {i}",
                "Address": street,
                "City": city,
                "State": "CT",
                "ZIP": zip_,
                "Notes": "=1+2" if i == 100 else "-5" if i == 101 else "",
            }
        )
    df = pd.DataFrame(rows)
    path = tmp_path / "sites.csv"
    df.to_csv(path, index=False)
    return path, df


def test_geocode_2500_rows_with_progress_and_summary(tmp_path, inproc, capsys):
    src, df = _big_file(tmp_path)
    out = tmp_path / "sites_geocoded.csv"
    with ReplayServer(nominatim_min_interval=0.2) as srv:
        env = _env(tmp_path, srv)
        t0 = time.perf_counter()
        r = subprocess.run(
            [*CLI, str(src), str(out)], env=env, capture_output=True, text=True, timeout=120
        )
        elapsed = time.perf_counter() - t0
        assert r.returncode == 0, r.stderr
        print(f"2,500-row geocode against the replay server: {elapsed:.2f} s (subprocess)")
        assert "geocoding: 100%" in r.stderr and "2500/2500" in r.stderr  # the progress bar
        assert "geocoded 2500 rows" in r.stdout
        assert "2497 matched, 2 fallback (town/ZIP centroid), 1 failed" in r.stdout
        assert "row 8: 7 NOWHERE Rd, Atlantis, CT" in r.stdout  # spreadsheet row of the failure
        assert "© OpenStreetMap contributors, ODbL" in r.stdout
        batches = srv.hits_for("/geocoder/locations/addressbatch")
        assert [len(h.rows) for h in batches] == [1000, 1000, 500]
        assert sorted(q.split(",")[0] for q in srv.searches()) == sorted(
            s for s in MISSES if "OSMONLY" in s or "TWIN" in s or "NOWHERE" in s
        )
        assert all(h.status == 200 for h in srv.hits)
        times = sorted(h.t for h in srv.hits_for("/search"))
        assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.2

        got = pd.read_csv(out, dtype=str, keep_default_na=False)
        assert list(got.columns) == [*df.columns, "lat", "lon", "geocode_source", "geocode_quality"]
        assert len(got) == 2500
        assert (got["Site ID"] == df["Site ID"]).all()  # order and ids kept
        for _, row in got.iterrows():
            source = MISSES.get(row["Address"], "census")
            assert row["geocode_source"] == source, row["Address"]
            if source in ("census", "nominatim"):
                assert (float(row["lat"]), float(row["lon"])) == expected_point(row["Address"])
        assert got.loc[4, "geocode_quality"] == "zip" and float(got.loc[4, "lat"]) == 41.767
        assert got.loc[6, "lat"] == "" and got.loc[6, "geocode_quality"] == "none"
        assert (
            got.loc[100, "Notes"] == "'=1+2" and got.loc[101, "Notes"] == "'-5"
        )  # no formulas out (OWASP)

        # again, in another process, as JSON, into a GeoPackage: everything comes from the cache
        n_hits = len(srv.hits)
        capsys.readouterr()
        code = inproc([str(src), str(tmp_path / "again.gpkg"), "--json", "--no-progress"], srv)
        assert code == 0
        assert len(srv.hits) == n_hits
    s = json.loads(capsys.readouterr().out)
    assert (s["total"], s["matched"], s["fallback"], s["failed"]) == (2500, 2497, 2, 1)
    assert s["by_source"] == {"census": 2493, "nominatim": 4, "gazetteer": 2}
    assert s["failures"] == [
        {
            "row": 8,
            "address": "7 NOWHERE Rd, Atlantis, CT",
            "status": "no_match",
            "reason": "census: no match (cached); nominatim: no match (cached); "
            "gazetteer: no town, village or ZIP recognised",
        }
    ]
    g = gpd.read_file(tmp_path / "again.gpkg")
    assert len(g) == 2500 and g.geometry.isna().sum() == 1


@pytest.mark.parametrize("suffix", [".xlsx", ".geojson"])
def test_output_format_follows_the_extension(tmp_path, suffix, inproc):
    src = tmp_path / "few.csv"
    pd.DataFrame(
        {"Name": ["A", "B"], "Street": ["1 Elm St", "=cmd"], "Town": ["Hartford", "Niantic"]}
    ).to_csv(src, index=False)
    out = tmp_path / f"few{suffix}"
    with ReplayServer() as srv:
        code = inproc(
            [
                str(src),
                str(out),
                "--provider",
                "census",
                "--provider",
                "gazetteer",
                "--no-progress",
            ],
            srv,
        )
    assert code == 0
    if suffix == ".xlsx":
        import openpyxl

        ws = openpyxl.load_workbook(out).active
        cells = {c.value: c.data_type for c in ws["B"]}
        assert cells["'=cmd"] == "s"  # text, not a formula
        got = pd.read_excel(out, dtype=str)
    else:
        got = gpd.read_file(out)
        assert got.geometry.notna().all()
    assert list(got["geocode_source"]) == ["census", "gazetteer"]


def test_offline_never_contacts_a_service(tmp_path, inproc, capsys):
    src = tmp_path / "families.csv"
    pd.DataFrame({"home address": ["12 Oak St, Hartford, CT 06106", "Niantic, CT"]}).to_csv(
        src, index=False
    )
    with ReplayServer() as srv:
        code = inproc(
            [
                str(src),
                str(tmp_path / "o.csv"),
                "--offline",
                "--address-column",
                "home address",
                "--json",
            ],
            srv,
        )
        assert srv.hits == []
    assert code == 0
    assert json.loads(capsys.readouterr().out)["by_quality"] == {"zip": 1, "town": 1}
    assert not (tmp_path / "var" / "geocode_cache.sqlite").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["OUT.txt"], "cannot tell the output format from '.txt'"),
        (["OUT.csv", "--address-column", "Nope"], "address column(s) ['Nope'] not in the file"),
        (["OUT.csv", "--provider", "bing"], "invalid choice: 'bing'"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(tmp_path, args, message, inproc, capsys):
    src = tmp_path / "x.csv"
    src.write_text("Name,Street\nA,1 Elm St\n", encoding="utf-8")
    args = [str(tmp_path / a) if a.startswith("OUT") else a for a in args]
    assert inproc([str(src), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_service_down_is_reported_and_the_rest_falls_back(tmp_path, inproc, capsys):
    src = tmp_path / "x.csv"
    src.write_text("Name,Street,Zip\nA,1 Elm St,06103\n", encoding="utf-8")
    down = {"ASSETMAP_CENSUS_GEOCODER_URL": "http://127.0.0.1:9", "ASSETMAP_GEOCODE_RETRIES": "0"}
    code = inproc(
        [str(src), str(tmp_path / "o.csv"), "--provider", "census", "--provider", "gazetteer"],
        **down,
    )
    assert code == 0
    out = capsys.readouterr()
    assert "US Census Geocoder" in out.err and "unavailable" in out.err
    assert "0 matched, 1 fallback" in out.out
    assert inproc([str(src), str(tmp_path / "o.csv"), "--provider", "census"], **down) == 2
    err = capsys.readouterr().err
    assert "US Census Geocoder" in err and "Traceback" not in err


def test_rows_with_coordinates_keep_them(tmp_path, inproc, capsys):
    src = tmp_path / "mixed.csv"
    src.write_text(
        "Name,Street,City,lat,lon\nA,1 Elm St,Hartford,41.5,-72.5\nB,2 Elm St,Hartford,,\n",
        encoding="utf-8",
    )
    with ReplayServer() as srv:
        assert inproc([str(src), str(tmp_path / "o.csv"), "--no-progress", "--json"], srv) == 0
        assert (
            srv.batch_streets() == []
            and len(srv.hits_for("/geocoder/locations/onelineaddress")) == 1
        )
    got = pd.read_csv(tmp_path / "o.csv", dtype=str, keep_default_na=False)
    assert list(got.columns) == [
        "Name",
        "Street",
        "City",
        "lat",
        "lon",
        "geocode_source",
        "geocode_quality",
    ]
    assert got.loc[0, ["lat", "lon", "geocode_source"]].tolist() == ["41.5", "-72.5", "source"]
    assert (float(got.loc[1, "lat"]), float(got.loc[1, "lon"])) == expected_point("2 Elm St")
    assert json.loads(capsys.readouterr().out)["kept"] == 1


def _student_survey(tmp_path: Path) -> Path:
    src = tmp_path / "student_survey.csv"
    pd.DataFrame(
        {
            "Student Name": ["Ana Example", "Ben Example"],
            "SASID": ["1000000001", "1000000002"],
            "Birth Date": ["2014-03-02", "2013-11-20"],
            "home_address": ["200 Main Street, Hartford, CT 06103", "12 Oak St, Hartford, CT"],
        }
    ).to_csv(src, index=False)
    return src


def test_student_records_are_refused_before_anything_leaves(tmp_path, inproc, capsys):
    """Issue 10 (8): a student survey's home addresses are not sent to Census unasked."""
    src = _student_survey(tmp_path)
    with ReplayServer() as srv:
        code = inproc([str(src), str(tmp_path / "o.csv"), "--address-column", "home_address"], srv)
        assert srv.hits == []
    assert code == 2
    err = capsys.readouterr().err
    assert "looks like family or student records" in err and "SASID" in err
    assert "--personal-data-ok" in err and "Traceback" not in err
    assert "Ana Example" not in err  # values never echoed
    assert not (tmp_path / "o.csv").exists()


def test_acknowledged_personal_records_are_geocoded_but_never_cached(tmp_path, inproc, capsys):
    src = _student_survey(tmp_path)
    with ReplayServer(known={"200 Main Street, Hartford, CT 06103": (41.7655, -72.6737)}) as srv:
        code = inproc(
            [str(src), str(tmp_path / "o.csv"), "--address-column", "home_address",
             "--personal-data-ok", "--provider", "census", "--json"],
            srv,
        )  # fmt: skip
        assert srv.hits  # the user asked for it
    assert code == 0, capsys.readouterr().err
    assert not (tmp_path / "var" / "geocode_cache.sqlite").exists()


def test_partner_files_with_addresses_and_phones_are_not_refused():
    from assetmap.needs import personal_record_columns

    partners = pd.DataFrame(
        {
            "Name": ["Food Pantry"],
            "Address": ["1 Main St"],
            "City": ["Hartford"],
            "Phone": ["(860) 555-0100"],
            "Email": ["info@pantry.example.org"],
            "Contact": ["Front desk"],
        }
    )
    assert personal_record_columns(partners) == {}
