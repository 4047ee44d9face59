"""``assetmap store …`` through the real CLI: exit codes 0 / 2 / 3, JSON output, both back ends."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from _postgis import release, shared_server

from assetmap import data
from assetmap.cli import main
from assetmap.store import open_store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def pg():
    """The PostGIS server (never skipped: a server that cannot start fails the tests)."""
    yield shared_server()
    release()


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _run(*args: str) -> subprocess.CompletedProcess:
    env = os.environ.copy()
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "assetmap", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A GeoPackage store made by `store init` from the shipped data (built once for the module)."""
    path = str(tmp_path_factory.mktemp("cli") / "shipped.gpkg")
    res = _run("store", "init", "--store", path, "--by", "setup", "--json")
    assert res.returncode == 0, res.stderr
    return path, json.loads(res.stdout)


def test_init_loads_the_shipped_data(shipped, capsys):
    path, summary = shipped
    counts = summary["counts"]
    assert counts["partners"] == len(data.load_partners())
    assert counts["schools"] == len(data.load_schools())
    assert counts["boundaries"] == summary["loaded"]["towns"] + summary["loaded"]["districts"] > 0
    assert counts["audit_entries"] == counts["partners"]
    code, out, _ = _cli(capsys, "store", "check", "--store", path, "--json")
    assert code == 0 and json.loads(out)["ok"] is True


def test_init_again_changes_nothing(shipped, tmp_path, capsys):
    path, summary = shipped
    copy = tmp_path / "again.gpkg"
    with open_store(path) as s:  # copy through the store so the WAL is included
        s._conn.execute(f"VACUUM INTO '{copy}'")
    code, out, _ = _cli(capsys, "store", "init", "--store", str(copy), "--json")
    again = json.loads(out)
    assert (
        code == 0
        and again["loaded"]["partners"]["added"] == 0
        and again["loaded"]["partners"]["updated"] == 0
    )
    assert again["counts"]["audit_entries"] == summary["counts"]["audit_entries"]


def test_edit_is_durable_when_it_exits_0_and_stale_exits_3(shipped, tmp_path, capsys):
    path = str(tmp_path / "edit.gpkg")
    with open_store(shipped[0]) as s:
        s._conn.execute(f"VACUUM INTO '{path}'")
    pid = data.load_partners()["partner_id"].iloc[0]
    code, out, _ = _cli(capsys, "store", "show", "--store", path, "--partner", pid, "--json")
    assert code == 0 and json.loads(out)["version"] == 1
    res = _run("store", "edit", "--store", path, "--partner", pid, "--set", "phone=860-555-0142",
               "--set", "languages=es;ht", "--expect-version", "1", "--by", "ana")  # fmt: skip
    assert res.returncode == 0, res.stderr
    with open_store(path) as s:  # a fresh connection sees the committed edit
        rec = s.get_partner(pid)
    assert (
        rec["phone"] == "860-555-0142" and rec["languages"] == ["es", "ht"] and rec["version"] == 2
    )
    res = _run(
        "store",
        "edit",
        "--store",
        path,
        "--partner",
        pid,
        "--set",
        "phone=000",
        "--expect-version",
        "1",
        "--by",
        "bo",
    )
    assert res.returncode == 3
    assert (
        "now version 2" in res.stderr
        and "phone is now '860-555-0142'" in res.stderr
        and "Traceback" not in res.stderr
    )
    code, out, _ = _cli(capsys, "store", "edit", "--store", path, "--partner", pid, "--verify", "--verified-on", "2026-11-01",
                        "--expect-version", "2", "--by", "ana", "--json")  # fmt: skip
    assert (
        code == 0
        and json.loads(out)["last_verified"] == "2026-11-01"
        and json.loads(out)["verified_by"] == "ana"
    )
    code, out, _ = _cli(capsys, "store", "history", "--store", path, "--partner", pid, "--json")
    fields = [(e["version"], e["field"]) for e in json.loads(out)]
    assert fields == [
        (1, "*"),
        (2, "phone"),
        (2, "languages"),
        (3, "last_verified"),
        (3, "verified_by"),
    ]
    code, out, _ = _cli(
        capsys, "store", "edit", "--store", path, "--partner", pid, "--retire", "--by", "lee"
    )
    assert code == 0
    assert open_store(path).get_partner(pid)["retired"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["store", "edit", "--partner", "x", "--set", "phone"], "write FIELD=VALUE"),
        (["store", "edit", "--partner", "x"], "nothing to do"),
        (["store", "show", "--partner", "nope"], "no partner with partner_id 'nope'"),
        (["store", "export", "--out", "x.xlsx"], "use a file ending in .gpkg, .geojson or .csv"),
        (["store", "import", "missing.csv"], "no such file"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path, capsys, args, message):
    code, _, err = _cli(capsys, *args, "--store", str(tmp_path / "s.gpkg"))
    assert code == 2 and message in err and "Traceback" not in err


def test_bad_location_exits_2(capsys, tmp_path):
    code, _, err = _cli(capsys, "store", "check", "--store", str(tmp_path / "s.txt"))
    assert code == 2 and "neither a GeoPackage path" in err


def test_export_formats_and_csv_injection_guard(tmp_path, capsys):
    path = str(tmp_path / "x.gpkg")
    with open_store(path) as s:
        s.add_partner({"partner_id": "evil", "name": "=HYPERLINK(\"http://x\")", "phone": "+1 860", "lat": 41.7,
                       "lon": -72.6, "services": "food;housing", "license_expiration": "2027-06-30"}, by="t")  # fmt: skip
    for suffix in (".csv", ".geojson", ".gpkg"):
        out = tmp_path / f"out{suffix}"
        code, _, err = _cli(capsys, "store", "export", "--store", path, "--out", str(out))
        assert code == 0, err
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert rows[0]["name"] == '\'=HYPERLINK("http://x")' and rows[0]["phone"] == "'+1 860"
    assert rows[0]["services"] == "food;housing" and rows[0]["license_expiration"] == "2027-06-30"
    for suffix in (".geojson", ".gpkg"):
        g = gpd.read_file(tmp_path / f"out{suffix}")
        assert (
            g.loc[0, "partner_id"] == "evil" and g.geometry[0].x == -72.6 and "stale" in g.columns
        )


def test_diff_between_saved_networks(tmp_path, capsys):
    path = str(tmp_path / "n.gpkg")
    with open_store(path) as s:
        s.save_network(
            "090111",
            pd.DataFrame({"need": ["food", "legal"], "partner_id": ["a", None]}),
            as_of="2026-01-15",
            by="t",
        )
        s.save_network(
            "090111",
            pd.DataFrame({"need": ["food", "legal"], "partner_id": ["b", "c"]}),
            as_of="2026-06-01",
            by="t",
        )
    code, out, _ = _cli(capsys, "store", "diff", "--store", path, "--school", "090111", "--from", "2026-01-15",
                        "--to", "2026-06-01", "--json")  # fmt: skip
    d = json.loads(out)
    assert (
        code == 0
        and d["partners_added"] == ["b", "c"]
        and d["partners_removed"] == ["a"]
        and d["needs_covered"] == ["legal"]
    )
    code, out, _ = _cli(
        capsys,
        "store",
        "diff",
        "--store",
        path,
        "--school",
        "090111",
        "--from",
        "2026-01-15",
        "--to",
        "2026-06-01",
    )
    assert "needs covered: legal" in out


def test_check_exits_1_when_the_trail_does_not_replay(tmp_path, capsys):
    path = str(tmp_path / "t.gpkg")
    with open_store(path) as s:
        s.add_partner({"partner_id": "a", "name": "A"}, by="t")
        with s._write() as cur:
            cur.execute("UPDATE partners SET name = 'B'")
    code, out, _ = _cli(capsys, "store", "check", "--store", path)
    assert code == 1 and "name replays to 'A' but is stored as 'B'" in out


@pytest.mark.postgis
def test_cli_on_postgis(pg, tmp_path, capsys):
    url = pg.new_schema()
    code, out, err = _cli(capsys, "store", "init", "--store", url, "--empty", "--json")
    assert code == 0, err
    src = tmp_path / "partners.csv"
    src.write_text(
        "Site Name,Address,City,Zip,Latitude,Longitude,Services,Languages\n"
        "Hartford Public Library,500 Main St,Hartford,06103,41.7637,-72.6851,technology;adult_ed,en;es\n"
        "Grace Pantry,12 Oak St,Hartford,06106,41.7500,-72.6900,food,es\n",
        encoding="utf-8",
    )
    code, out, err = _cli(
        capsys, "store", "import", str(src), "--store", url, "--by", "ana", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["added"] == 2
    with open_store(url) as s:
        pid = s.partners().set_index("name").at["Grace Pantry", "partner_id"]
    res = _run(
        "store",
        "edit",
        "--store",
        url,
        "--partner",
        pid,
        "--set",
        "hours=Mon 9-12",
        "--expect-version",
        "1",
        "--by",
        "ana",
    )
    assert res.returncode == 0, res.stderr
    res = _run(
        "store",
        "edit",
        "--store",
        url,
        "--partner",
        pid,
        "--set",
        "hours=Tue",
        "--expect-version",
        "1",
        "--by",
        "bo",
    )
    assert res.returncode == 3 and "hours is now 'Mon 9-12'" in res.stderr
    res = _run("store", "show", "--store", url, "--partner", pid, "--json")
    rec = json.loads(res.stdout)
    assert rec["version"] == 2 and rec["hours"] == "Mon 9-12" and rec["postal_code"] == "06106"
    code, out, _ = _cli(capsys, "store", "check", "--store", url)
    assert code == 0


def test_first_start_fills_an_empty_store(tmp_path, monkeypatch):
    ct = tmp_path / "data" / "ct"
    ct.mkdir(parents=True)
    partners = gpd.GeoDataFrame({"partner_id": ["p1", "p2"], "name": ["One", "Two"], "services": ["food", "health;food"]},
                                geometry=gpd.points_from_xy([-72.6, -72.7], [41.7, 41.8]), crs=4326)  # fmt: skip
    partners.to_file(ct / "partners.geojson")
    gpd.GeoDataFrame({"school_id": ["s1"], "name": ["S"]}, geometry=gpd.points_from_xy([-72.65], [41.75]),
                     crs=4326).to_file(ct / "schools.geojson")  # fmt: skip
    from assetmap.settings import get_settings

    monkeypatch.setenv("ASSETMAP_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    data._read.cache_clear()
    try:
        with open_store(tmp_path / "first.gpkg", load_if_empty=True) as s:
            assert s.counts()["partners"] == 2 and s.counts()["schools"] == 1
            assert s.get_partner("p2")["services"] == ["health", "food"]
            s.update_partner("p1", {"phone": "1"}, by="t")
        with open_store(tmp_path / "first.gpkg", load_if_empty=True) as s:  # not loaded twice
            assert s.counts()["audit_entries"] == 3
        (ct / "schools.geojson").unlink()
        from assetmap._errors import InputError

        with pytest.raises(InputError, match="schools.geojson is missing.*store init --empty"):
            open_store(tmp_path / "second.gpkg", load_if_empty=True)
    finally:
        monkeypatch.delenv("ASSETMAP_DATA_DIR")
        get_settings.cache_clear()
        data._read.cache_clear()


def test_export_uses_the_one_guard_and_import_strips_control_characters(tmp_path, capsys):
    """Issue 10 (7): a NUL (or ESC) before "=" no longer slips a formula past the guard."""
    from assetmap.export._tabular import safe_cell

    assert safe_cell("\x00=1+1") == "'\x00=1+1" and safe_cell("\x1b=1") == "'\x1b=1"
    path = str(tmp_path / "x.gpkg")
    with open_store(path) as s:
        s.add_partner({"partner_id": "nul", "name": "\x00=HYPERLINK(\"http://x\")", "lat": 41.7,
                       "lon": -72.6, "hours": "Mon\x1b[31m 9-5\r\n", "services": "fo\x00od"}, by="t")  # fmt: skip
        rec = s.get_partner("nul")
    assert rec["name"] == '=HYPERLINK("http://x")'  # control characters dropped on the way in
    assert rec["hours"] == "Mon[31m 9-5" and rec["services"] == ["food"]
    out = tmp_path / "out.csv"
    code, _, err = _cli(capsys, "store", "export", "--store", path, "--out", str(out))
    assert code == 0, err
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert rows[0]["name"] == '\'=HYPERLINK("http://x")'
