"""Roles: what public, coordinator, leader and admin principals may see and do."""

from __future__ import annotations

import tomllib

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from assetmap import auth
from assetmap._errors import ConfigError, PermissionDenied
from assetmap.auth import PUBLIC, Principal, can, visible_partners, visible_profiles

ANA = Principal("ana", "coordinator", {"090111"}, {"0901"})
BO = Principal("bo", "coordinator", {"090222"}, {"0901"})
LEE = Principal("lee", "leader", set(), {"0901"})
ADMIN = Principal("root", "admin")


def _partners() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "partner_id": ["pub", "shelter", "draft-ana", "draft-bo", "draft-district", "gone"],
            "name": [
                "Library",
                "Safe House",
                "Ana's draft",
                "Bo's draft",
                "District draft",
                "Closed",
            ],
            "address": [
                "1 Main St",
                "5 Hidden Rd",
                "2 Oak St",
                "3 Elm St",
                "4 Pine St",
                "9 Old Rd",
            ],
            "postal_code": ["06103"] * 6,
            "phone": ["860-1", "860-2 (24h hotline)", "860-3", "860-4", "860-5", "860-6"],
            "email": ["a@x.org", "help@haven.org", None, None, None, None],
            "published": [True, True, False, False, False, True],
            "sensitive": [False, True, False, False, False, False],
            "retired": [False, False, False, False, False, True],
            "owner_school_id": [None, None, "090111", "090222", None, None],
            "owner_district_id": [None, None, "0901", "0901", "0901", None],
            "mou_status": ["active", "active", "prospective", "none", "none", "expired"],
            "verified_by": ["ana", "ana", None, None, None, None],
            "version": [3, 2, 1, 1, 1, 4],
        },
        geometry=[
            Point(-72.6, 41.7),
            Point(-72.61, 41.71),
            Point(0, 0),
            Point(0, 0),
            Point(0, 0),
            Point(0, 0),
        ],
        crs="EPSG:4326",
    )


def test_password_hashes_are_salted_and_verified():
    h1, h2 = auth.hash_password("correct horse"), auth.hash_password("correct horse")
    assert h1 != h2 and h1.startswith("scrypt$16384$8$1$") and "correct" not in h1
    assert auth.verify_password("correct horse", h1) and not auth.verify_password("wrong", h1)
    assert not auth.verify_password("x", "garbage") and not auth.verify_password(
        "x", "scrypt$1$2$3$!!$!!"
    )
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    legacy = (
        "pbkdf2_sha256$1000$"
        + base64.b64encode(salt).decode()
        + "$"
        + base64.b64encode(hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1000)).decode()
    )
    assert auth.verify_password("pw", legacy) and not auth.verify_password("pW", legacy)


def test_local_accounts_from_secrets_toml():
    text = auth.accounts_toml(
        {"ana": ("coordinator", "s3cret!", ["090111"]), "lee": ("leader", "pw2", [], ["0901"])}
    )
    secrets = tomllib.loads(text)
    assert "s3cret" not in text
    p = auth.authenticate(secrets["accounts"], "ana", "s3cret!")
    assert p == Principal("ana", "coordinator", {"090111"}, set()) and p.is_staff
    assert auth.authenticate(secrets["accounts"], "ana", "wrong") is None
    assert auth.authenticate(secrets["accounts"], "nobody", "s3cret!") is None
    assert auth.authenticate(auth.load_local_accounts(secrets), "lee", "pw2").districts == {"0901"}
    with pytest.raises(ConfigError, match="plain 'password'"):
        auth.load_local_accounts({"accounts": {"x": {"password": "pw", "role": "admin"}}})
    with pytest.raises(ConfigError, match="unknown role 'boss'"):
        auth.load_local_accounts({"accounts": {"x": {"password_hash": "h", "role": "boss"}}})


def test_secrets_example_parses_and_lets_nobody_in():
    from assetmap.settings import project_root

    secrets = tomllib.loads((project_root() / ".streamlit" / "secrets.toml.example").read_text())
    accounts = auth.load_local_accounts(secrets)
    assert {a.principal.role for a in accounts.values()} == {"coordinator", "leader", "admin"}
    for user in accounts:
        assert auth.authenticate(secrets["accounts"], user, "change-me") is None


def test_oidc_role_comes_from_the_staff_table():
    secrets = {"staff": {"Ana@District.org": {"role": "coordinator", "schools": ["090111"]}}}
    assert auth.principal_from_oidc({"email": "ana@district.org"}, secrets).schools == {"090111"}
    assert auth.principal_from_oidc({"email": "stranger@gmail.com"}, secrets).role == "public"
    assert (
        auth.principal_from_oidc({"email": "ana@district.org", "email_verified": False}, secrets)
        == PUBLIC
    )


def test_public_sees_only_published_rows_and_no_staff_columns():
    out = visible_partners(PUBLIC, _partners())
    assert list(out["partner_id"]) == ["pub", "shelter"]
    assert set(out.columns) <= set(auth.PUBLIC_PARTNER_COLUMNS)
    for col in ("mou_status", "verified_by", "version", "owner_school_id", "published", "retired"):
        assert col not in out.columns


def test_public_never_gets_a_sensitive_address_or_location():
    out = visible_partners(PUBLIC, _partners()).set_index("partner_id")
    s = out.loc["shelter"]
    assert s["phone"] == "860-2 (24h hotline)" and bool(s["location_withheld"])
    assert (
        s["address"] is None
        and s["postal_code"] is None
        and s["email"] is None
        and s["geometry"] is None
    )
    assert "5 Hidden Rd" not in out.drop(columns="geometry").to_json() and "41.71" not in str(
        out.geometry.tolist()
    )
    assert out.loc["pub", "address"] == "1 Main St" and not out.loc["pub", "location_withheld"]
    dropped = visible_partners(PUBLIC, _partners(), sensitive="drop")
    assert list(dropped["partner_id"]) == ["pub"]
    src = _partners()
    visible_partners(PUBLIC, src)
    assert src.loc[1, "address"] == "5 Hidden Rd"  # input never mutated


def test_coordinator_sees_own_schools_unpublished_data_only():
    ana = set(visible_partners(ANA, _partners())["partner_id"])
    assert ana == {"pub", "shelter", "draft-ana", "gone"}
    assert "draft-bo" not in ana and "draft-district" not in ana
    bo = set(visible_partners(BO, _partners())["partner_id"])
    assert "draft-ana" not in bo and "draft-bo" in bo
    staff_view = visible_partners(ANA, _partners()).set_index("partner_id")
    assert staff_view.loc["shelter", "address"] == "5 Hidden Rd"  # staff may refer families there


def test_leader_sees_the_district_and_admin_everything():
    assert set(visible_partners(LEE, _partners())["partner_id"]) == {
        "pub",
        "shelter",
        "draft-ana",
        "draft-bo",
        "draft-district",
        "gone",
    }
    other = Principal("max", "leader", set(), {"0999"})
    assert "draft-district" not in set(visible_partners(other, _partners())["partner_id"])
    assert len(visible_partners(ADMIN, _partners())) == 6


def test_survey_profiles_by_role():
    profiles = pd.DataFrame(
        {
            "school_id": ["090111", "090222", "099999"],
            "district_id": ["0901", "0901", "0999"],
            "need": ["food"] * 3,
            "families": [12, 30, 8],
            "suppressed": [False, False, False],
        }  # fmt: skip
    )
    assert visible_profiles(PUBLIC, profiles).empty
    assert list(visible_profiles(ANA, profiles)["school_id"]) == ["090111"]
    assert list(visible_profiles(LEE, profiles)["school_id"]) == ["090111", "090222"]
    assert len(visible_profiles(ADMIN, profiles)) == 3
    assert list(auth.visible_schools(BO, profiles)["school_id"]) == ["090222"]


@pytest.mark.parametrize(
    ("principal", "action", "resource", "allowed"),
    [
        (PUBLIC, "find_help", None, True),
        (PUBLIC, "view_survey", {"school_id": "090111"}, False),
        (PUBLIC, "download", None, False),
        (PUBLIC, "view_staff_page", None, False),
        (PUBLIC, "view_partner", {"partner_id": "x", "published": False}, False),
        (PUBLIC, "view_partner", {"partner_id": "x", "published": True}, True),
        (PUBLIC, "edit_partner", {"partner_id": "x", "published": True}, False),
        (ANA, "view_survey", {"school_id": "090111"}, True),
        (ANA, "view_survey", {"school_id": "090222"}, False),
        (ANA, "view_survey", None, False),
        (ANA, "view_network", {"school_id": "090222", "district_id": "0901"}, False),
        (
            ANA,
            "view_partner",
            {"partner_id": "x", "published": False, "owner_school_id": "090222"},
            False,
        ),
        (
            ANA,
            "edit_partner",
            {"partner_id": "x", "published": False, "owner_school_id": "090111"},
            True,
        ),
        (ANA, "retire_partner", None, False),
        (ANA, "view_staff_page", None, True),
        (LEE, "view_survey", {"school_id": "090222", "district_id": "0901"}, True),
        (LEE, "view_survey", {"school_id": "099999", "district_id": "0999"}, False),
        (LEE, "retire_partner", None, True),
        (LEE, "manage_accounts", None, False),
        (ADMIN, "manage_accounts", None, True),
        (ADMIN, "view_survey", None, True),
    ],
)
def test_can(principal, action, resource, allowed):
    assert can(principal, action, resource) is allowed


def test_require_raises_permission_denied():
    auth.require(ANA, "view_survey", {"school_id": "090111"})
    with pytest.raises(PermissionDenied, match="role 'public' .* may not view_survey"):
        auth.require(PUBLIC, "view_survey", {"school_id": "090111"})
    with pytest.raises(ValueError, match="unknown action 'fly'"):
        can(ADMIN, "fly")


# --------------------------------------------------------------------------- issue 10 (6)
class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _ana():
    return {"ana": {"role": "coordinator", "password_hash": auth.hash_password("right-pass-1")}}


def test_repeated_wrong_passwords_lock_the_user_then_it_clears():
    clock = _Clock()
    thr = auth.SignInThrottle(max_failures=5, window_s=300, lockout_s=30, clock=clock)
    acc = _ana()
    for _ in range(5):
        assert auth.authenticate(acc, "ana", "wrong", client="10.0.0.1", throttle=thr) is None
    # even the right password is refused while locked, from any client
    with pytest.raises(auth.SignInThrottled) as exc:
        auth.authenticate(acc, "ana", "right-pass-1", client="10.0.0.9", throttle=thr)
    assert 25 <= exc.value.wait_s <= 30
    clock.t += 31
    assert auth.authenticate(acc, "ana", "right-pass-1", client="10.0.0.9", throttle=thr)


def test_one_client_guessing_many_users_is_locked_and_locks_grow():
    clock = _Clock()
    thr = auth.SignInThrottle(max_failures=5, window_s=300, lockout_s=30, clock=clock)
    acc = _ana()
    for i in range(5):
        auth.authenticate(acc, f"user{i}", "guess", client="203.0.113.7", throttle=thr)
    with pytest.raises(auth.SignInThrottled):
        auth.authenticate(acc, "ana", "right-pass-1", client="203.0.113.7", throttle=thr)
    assert auth.authenticate(acc, "ana", "right-pass-1", client="198.51.100.1", throttle=thr)
    clock.t += 31
    for i in range(5):
        auth.authenticate(acc, f"user{i}", "guess", client="203.0.113.7", throttle=thr)
    assert thr.wait_s("client:203.0.113.7") == pytest.approx(60)  # the second lock doubles


def test_failed_sign_ins_are_warnings(caplog):
    thr = auth.SignInThrottle()
    caplog.set_level("INFO", logger="assetmap.auth")
    auth.authenticate(_ana(), "ana", "wrong", client="10.0.0.1", throttle=thr)
    rec = [r for r in caplog.records if "failed sign-in" in r.getMessage()]
    assert rec and rec[0].levelname == "WARNING" and "10.0.0.1" in rec[0].getMessage()
    assert "wrong" not in rec[0].getMessage()  # never the password


def test_the_app_default_throttle_is_on():
    thr = auth.THROTTLE
    try:
        for _ in range(thr.max_failures):
            auth.authenticate(_ana(), "ana-default", "wrong")
        with pytest.raises(auth.SignInThrottled):
            auth.authenticate(_ana(), "ana-default", "wrong")
    finally:
        thr.reset()
