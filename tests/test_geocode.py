"""Geocoders against a loopback server speaking the Census and Nominatim formats."""

from __future__ import annotations

import socket
import threading

import pandas as pd
import pytest
from geoserver import ReplayServer, configure, expected_point
from hypothesis import given, settings
from hypothesis import strategies as st

from assetmap import data
from assetmap._errors import GeocoderUnavailable
from assetmap.geocode import (
    ATTRIBUTION,
    Address,
    GeocodeCache,
    Geocoder,
    geocode_frame,
    geocode_offline,
    parse_oneline,
)
from assetmap.geocode._census import parse_batch_reply
from assetmap.settings import get_settings

BATCH = "/geocoder/locations/addressbatch"


@pytest.fixture
def server():
    with ReplayServer(nominatim_min_interval=1.0, slow_s=1.5) as srv:
        yield srv
    get_settings.cache_clear()
    data._gazetteer.cache_clear()


@pytest.fixture(autouse=True)
def _reset_settings():
    yield
    get_settings.cache_clear()
    data._gazetteer.cache_clear()


def addr(street: str, city: str = "Hartford", zip_: str = "06103") -> Address:
    return Address.of(street, city, "CT", zip_)


# -- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("80 Seymour St, Hartford, CT 06106", ("80 Seymour St", "Hartford", "CT", "06106")),
        ("80 Seymour St, Hartford, CT", ("80 Seymour St", "Hartford", "CT", "")),
        (
            "500 Main St., Suite 2, Hartford, CT 06103-1234",
            ("500 Main St., Suite 2", "Hartford", "CT", "06103"),
        ),
        ("Niantic", ("Niantic", "", "", "")),
        ("06510", ("", "", "", "06510")),
        ("", ("", "", "", "")),
    ],
)
def test_parse_oneline(text, parts):
    a = parse_oneline(text)
    assert (a.street, a.city, a.state, a.zip) == parts


def test_address_zip_read_as_number_gets_leading_zero():
    assert Address.of("1 Main St", "Hartford", "CT", 6103).zip == "06103"
    assert Address.of("1 Main St", "Hartford", "CT", float("nan")).zip == ""


def test_parse_batch_reply_quoted_fields_and_short_rows():
    text = (
        '"3","3 Gramercy Park West, New York, NY, 10003","Match","Exact",'
        '"3 GRAMERCY PARK W, NEW YORK, NY, 10003","-73.98658,40.738323","59653655","R"\n'
        '"2","79 Wistful Vista, Wistful Vista, IL, ","No_Match"\n'
        '"7","1 Twin Rd, X, CT, ","Tie"\n'
    )
    got = parse_batch_reply(text)
    assert got["3"].matched and (got["3"].lat, got["3"].lon) == (40.738323, -73.98658)
    assert got["3"].quality == "exact"
    assert got["2"].status == "no_match"
    assert got["7"].status == "ambiguous" and not got["7"].matched


# -- Census batch ---------------------------------------------------------------------------


def test_census_batch_merges_by_id_and_reports_the_rest(server, monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path, server, census_batch_size=10)
    streets = [f"{i} Main St" for i in range(1, 21)] + [
        "5 APPROX Ave",
        "1 NOWHERE Rd",
        "2 TWIN Oaks Ln",
        "9 Elm St",
    ]
    addresses = [addr(s) for s in streets]
    gc = Geocoder(providers=["census"])
    results = gc.geocode_many(addresses)
    for s, res in zip(streets, results, strict=True):
        if "NOWHERE" in s:
            assert res.status == "no_match" and res.lat is None
        elif "TWIN" in s:
            assert res.status == "ambiguous" and not res.matched
        else:
            assert res.matched, s
            assert (res.lat, res.lon) == expected_point(s)
            assert res.source == "census"
            assert res.quality == ("non_exact" if "APPROX" in s else "exact")
    hits = server.hits_for(BATCH)
    assert len(hits) == 3 and all(len(h.rows) <= 10 for h in hits)
    assert sorted(server.batch_streets()) == sorted(streets)


def test_cache_means_nothing_is_asked_twice(server, monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path, server)
    streets = [f"{i} Oak St" for i in range(1, 8)] + ["1 NOWHERE Rd", "3 TWIN Rd"]
    addresses = [addr(s) for s in streets] + [addr("1 Oak St")]  # a repeat within the run
    first = Geocoder(providers=["census"]).geocode_many(addresses)
    assert len(server.batch_streets()) == len(streets)  # the repeat was asked once
    second = Geocoder(providers=["census"]).geocode_many(addresses)  # a fresh instance: cache file
    assert len(server.hits) == 1
    assert [(r.status, r.lat, r.lon) for r in first] == [(r.status, r.lat, r.lon) for r in second]
    assert second[-2].status == "ambiguous" and second[-3].status == "no_match"
    assert len(GeocodeCache(get_settings().geocode_cache_path)) == len(streets)
    # the single-address path uses onelineaddress, and is cached too
    one = Geocoder(providers=["census"]).geocode("77 Pine St, Hartford, CT 06106")
    assert one.matched and (one.lat, one.lon) == expected_point("77 Pine St")
    Geocoder(providers=["census"]).geocode("77 Pine St, Hartford, CT 06106")
    assert len(server.hits_for("/geocoder/locations/onelineaddress")) == 1


def test_empty_batch_reply_is_retried(server, monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path, server)
    server.empty_batch_replies = 1
    streets = ["1 Ash St", "2 Ash St", "3 Ash St"]
    results = Geocoder(providers=["census"]).geocode_many([addr(s) for s in streets])
    assert all(r.matched for r in results)
    assert len(server.hits_for(BATCH)) == 2


def test_empty_replies_forever_are_reported_and_not_cached(server, monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path, server, geocode_retries=1)
    server.empty_batch_replies = 100
    gc = Geocoder(providers=["census", "gazetteer"])
    results = gc.geocode_many([addr("1 Ash St"), addr("2 Ash St", "New Haven", "06510")])
    assert [r.source for r in results] == ["gazetteer", "gazetteer"]
    assert [r.quality for r in results] == ["zip", "zip"]
    assert any("empty reply" in e for e in gc.provider_errors)
    server.empty_batch_replies = 0
    again = Geocoder(providers=["census"]).geocode_many([addr("1 Ash St"), addr("2 Ash St")])
    assert all(r.source == "census" for r in again)  # errors were not cached


def test_slow_reply_past_timeout(server, monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path, server, geocode_timeout_s=0.3, geocode_retries=1)
    with pytest.raises(GeocoderUnavailable, match=r"no answer within 0.3 s"):
        Geocoder(providers=["census"]).geocode("1 SLOW Rd, Hartford, CT 06103")
    gc = Geocoder(providers=["census", "gazetteer"])
    res = gc.geocode("1 SLOW Rd, Hartford, CT 06103")
    assert res.source == "gazetteer" and res.quality == "zip"
    assert gc.provider_errors and "US Census Geocoder" in gc.provider_errors[0]


def test_service_down_gives_a_clear_message(monkeypatch, tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    configure(
        monkeypatch,
        tmp_path,
        None,
        census_geocoder_url=f"http://127.0.0.1:{port}",
        geocode_retries=1,
    )
    with pytest.raises(GeocoderUnavailable, match=r"unavailable after 2 attempts \(cannot connect"):
        Geocoder(providers=["census"]).geocode_many([addr("1 Main St"), addr("2 Main St")])


# -- Nominatim ------------------------------------------------------------------------------


def test_nominatim_refuses_stock_user_agent(server, monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path, server, user_agent="python-requests/2.32.3")
    with pytest.raises(GeocoderUnavailable, match=r"HTTP 403.*User-Agent"):
        Geocoder(providers=["nominatim"]).geocode("1 Main St, Hartford, CT")
    assert [h.status for h in server.hits_for("/search")] == [403]  # 403 is not retried


def test_nominatim_keeps_one_request_per_second_across_instances_and_threads(
    server, monkeypatch, tmp_path
):
    configure(
        monkeypatch, tmp_path, server, nominatim_min_interval_s=1.0, contact_email="ops@example.org"
    )
    found: dict[str, object] = {}

    def work(streets):
        gc = Geocoder(providers=["nominatim"])  # separate instances share the process limiter
        for s in streets:
            found[s] = gc.geocode(f"{s}, Hartford, CT 06103")

    threads = [
        threading.Thread(target=work, args=(x,))
        for x in (["1 A St", "2 A St"], ["3 A St", "4 A St"])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    hits = server.hits_for("/search")
    assert [h.status for h in hits] == [200] * 4
    times = sorted(h.t for h in hits)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 1.0, gaps
    for s, res in found.items():
        assert res.matched and (res.lat, res.lon) == expected_point(s)
        assert isinstance(res.lat, float) and res.source == "nominatim"
    assert {type(r.extra["place_id"]) for r in found.values()} == {str}
    assert "User-Agent" not in hits[0].params and hits[0].user_agent.startswith("assetmap-tests")
    assert hits[0].params["format"] == "json" and hits[0].params["countrycodes"] == "us"
    assert hits[0].params["email"] == "ops@example.org" and hits[0].params["limit"] == "1"


def test_nominatim_429_on_a_burst_is_retried_after_retry_after(monkeypatch, tmp_path):
    with ReplayServer(nominatim_min_interval=0.5) as srv:
        configure(monkeypatch, tmp_path, srv, nominatim_min_interval_s=0)  # a misconfigured client
        gc = Geocoder(providers=["nominatim"])
        res = [gc.geocode(f"{i} B St, Hartford, CT") for i in (1, 2)]
        assert all(r.matched for r in res)
        statuses = [h.status for h in srv.hits_for("/search")]
        assert statuses == [200, 429, 200]
        retry_gap = srv.hits_for("/search")[2].t - srv.hits_for("/search")[1].t
        assert retry_gap >= 0.95  # Retry-After: 1 was honoured


def test_nominatim_503_without_retry_after_backs_off_exponentially(monkeypatch, tmp_path):
    with ReplayServer(nominatim_min_interval=0.5, burst_status=503) as srv:
        configure(monkeypatch, tmp_path, srv, nominatim_min_interval_s=0, geocode_backoff_s=0.3)
        gc = Geocoder(providers=["nominatim"])
        res = [gc.geocode(f"{i} C St, Hartford, CT") for i in (1, 2)]
        assert all(r.matched for r in res)
        hits = srv.hits_for("/search")
        assert [h.status for h in hits] == [200, 503, 503, 200]
        waits = [b.t - a.t for a, b in zip(hits[1:], hits[2:], strict=False)]
        assert 0.28 <= waits[0] < 0.5 and waits[1] >= 0.58  # 0.3 s, then 0.6 s


def test_provider_chain_asks_each_service_only_for_what_is_left(server, monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path, server, nominatim_min_interval_s=0.2)
    server.nominatim_min_interval = 0.2
    streets = {
        "10 Main St": ("census", "exact"),
        "11 OSMONLY Way": ("nominatim", "exact"),
        "12 NOWHERE Rd": ("gazetteer", "zip"),
        "13 TWIN Rd": ("nominatim", "exact"),
    }
    addresses = [addr(s) for s in streets] + [Address.of("14 NOWHERE Rd", "Atlantis", "CT", "")]
    gc = Geocoder(providers=["census", "nominatim", "gazetteer"])
    res = gc.geocode_many(addresses)
    for (s, (source, quality)), r in zip(streets.items(), res, strict=False):
        assert (r.source, r.quality) == (source, quality), s
    assert (
        res[-1].status == "no_match"
        and "census" in res[-1].message
        and "gazetteer" in res[-1].message
    )
    assert sorted(q.split(",")[0] for q in server.searches()) == [
        "11 OSMONLY Way",
        "12 NOWHERE Rd",
        "13 TWIN Rd",
        "14 NOWHERE Rd",
    ]
    assert gc.attribution == ATTRIBUTION == "© OpenStreetMap contributors, ODbL"


# -- offline, privacy, frames ---------------------------------------------------------------


def test_gazetteer_resolves_towns_villages_and_zips_with_no_network(server, monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path, server)
    gc = Geocoder(allow_external=False)
    cases = {
        "Hartford": ("town", 41.7658, -72.6851),
        "Niantic": ("town", 41.3254, -72.1934),
        "west hartford, ct": ("town", 41.7621, -72.7420),
        "06510": ("zip", 41.3070, -72.9270),
        "12 Elm St, New Haven, CT 06510": ("zip", 41.3070, -72.9270),
        "12 Elm St, New Haven": ("town", 41.3083, -72.9279),
    }
    for text, (quality, lat, lon) in cases.items():
        r = gc.geocode(text)
        assert (r.source, r.quality, r.lat, r.lon) == ("gazetteer", quality, lat, lon), text
    assert gc.geocode("Springfield, MA").status == "no_match"
    assert server.hits == []
    assert gc.cache is None and gc.attribution == ""


def test_private_rows_never_leave_the_machine(server, monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path, server)
    families = pd.DataFrame(
        {"home_address": ["5 Oak St, Hartford, CT 06106", "9 Elm St, Niantic, CT"]}
    )
    out = geocode_offline(families, address_columns="home_address")
    assert list(out["geocode_source"]) == ["gazetteer", "gazetteer"]
    assert list(out["geocode_quality"]) == ["zip", "town"]
    out2 = geocode_frame(families, address_columns="home_address", allow_external=False)
    assert out2["lat"].tolist() == out["lat"].tolist()
    assert server.hits == []
    assert not (tmp_path / "var" / "geocode_cache.sqlite").exists()


def test_geocode_frame_adds_columns_keeps_existing_and_does_not_mutate(
    server, monkeypatch, tmp_path
):
    configure(monkeypatch, tmp_path, server)
    df = pd.DataFrame(
        {
            "Org": ["A", "B", "C", "D", "E"],
            "Street Address": ["1 Main St", "2 NOWHERE Rd", "3 Main St", "", "4 NOWHERE Rd"],
            "City": ["Hartford", "Hartford", "Hartford", "New Haven", "Atlantis"],
            "Zip": ["06103", "06106", "06103", "", ""],
            "lat": [None, None, 41.5, None, None],
            "lon": [None, None, -72.5, None, None],
        }
    )
    before = df.copy()
    seen = []
    out = geocode_frame(
        df, providers=["census", "gazetteer"], progress=lambda d, t: seen.append((d, t))
    )
    pd.testing.assert_frame_equal(df, before)
    assert list(out.columns) == [*df.columns, "geocode_source", "geocode_quality"]
    assert list(out["geocode_source"]) == ["census", "gazetteer", "source", "gazetteer", ""]
    assert list(out["geocode_quality"]) == ["exact", "zip", "exact", "town", "none"]
    assert (out.loc[0, "lat"], out.loc[0, "lon"]) == expected_point("1 Main St")
    assert out.loc[2, "lat"] == 41.5 and pd.isna(out.loc[4, "lat"])
    s = out.attrs["geocode_summary"]
    assert (s["matched"], s["fallback"], s["kept"], s["failed"]) == (1, 2, 1, 1)
    assert s["failures"][0]["row"] == 5 and "Atlantis" in s["failures"][0]["address"]
    assert seen[-1] == (4, 4)
    assert server.batch_streets() == ["1 Main St", "2 NOWHERE Rd", "4 NOWHERE Rd"]


def test_geocode_frame_names_a_missing_address_column(monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path)
    from assetmap._errors import InputError

    with pytest.raises(InputError, match="no address column found"):
        geocode_frame(pd.DataFrame({"foo": ["x"]}), allow_external=False)
    with pytest.raises(InputError, match=r"\['Adress'\] not in the file"):
        geocode_frame(pd.DataFrame({"foo": ["x"]}), address_columns="Adress", allow_external=False)


def test_shipped_gazetteer_resolves_every_town_and_zip_offline():
    get_settings.cache_clear()
    data._gazetteer.cache_clear()
    gaz = data.load_gazetteer()
    gc = Geocoder(allow_external=False)
    towns = gaz[gaz["kind"] == "town"]
    assert len(towns) == 169
    for row in towns.itertuples():
        r = gc.geocode(f"{row.name}, CT")
        assert (r.quality, r.lat, r.lon) == ("town", row.lat, row.lon), row.name
    for row in gaz[gaz["kind"] == "zip"].head(50).itertuples():
        r = gc.geocode(str(row.zip))
        assert (r.quality, r.lat, r.lon) == ("zip", row.lat, row.lon), row.zip


def test_survey_module_never_imports_a_geocoder():
    """Family survey rows are never geocoded (RELIABILITY.md §2): needs.py has no path to HTTP."""
    import ast

    import assetmap.needs

    tree = ast.parse(open(assetmap.needs.__file__, encoding="utf-8").read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not {
        m for m in imported if m.startswith(("assetmap.geocode", "requests", "urllib", "http"))
    }


_texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=30
)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            _texts,
            st.sampled_from(["Exact", "Non_Exact", "No_Match", "Tie"]),
            st.floats(-90, 90),
            st.floats(-180, 180),
        ),
        max_size=25,
    ),
    seed=st.randoms(use_true_random=False),
)
def test_batch_reply_is_merged_by_id_whatever_the_order_and_text(rows, seed):
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    expected = {}
    lines = []
    for i, (text, status, lat, lon) in enumerate(rows):
        rid = str(i + 1)
        if status in ("No_Match", "Tie"):
            lines.append([rid, text, status])
            expected[rid] = ("no_match" if status == "No_Match" else "ambiguous", None, None)
        else:
            lines.append([rid, text, "Match", status, text.upper(), f"{lon},{lat}", "1", "L"])
            expected[rid] = ("matched", lat, lon)
    seed.shuffle(lines)
    w.writerows(lines)
    got = parse_batch_reply(buf.getvalue())
    assert {k: (r.status, r.lat, r.lon) for k, r in got.items()} == expected


def test_census_is_not_asked_without_a_house_number(server, monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path, server)
    gc = Geocoder(providers=["census", "gazetteer"])
    res = gc.geocode_many(
        [
            parse_oneline("Niantic, CT"),
            parse_oneline("06510"),
            parse_oneline("Town Hall, Hartford, CT"),
        ]
    )
    assert [(r.source, r.quality) for r in res] == [
        ("gazetteer", "town"),
        ("gazetteer", "zip"),
        ("gazetteer", "town"),
    ]
    assert server.hits == []
