"""Roles and what each may see: checked on the server for every staff page and download.

Roles (issue 6):

- ``public`` — families: the Find-help view only. Published, non-retired partners; no survey
  figures; staff-only columns removed; a *sensitive* partner (e.g. a domestic-violence
  shelter) is shown as a contact-only entry: name, category, services, languages, phone,
  website, hours and town stay, while address, postal code, e-mail and the map point are
  withheld (``location_withheld`` is True; with ``sensitive="drop"`` such rows are removed).
- ``coordinator`` — their own schools: survey profiles and networks of those schools only;
  all published partners plus unpublished partners owned by their schools.
- ``leader`` — their whole district(s).
- ``admin`` — everything, including accounts.

Local accounts live in ``.streamlit/secrets.toml`` under ``[accounts.<username>]`` with a salted
scrypt hash made by :func:`hash_password` (see ``.streamlit/secrets.toml.example``). With
``st.login`` (OIDC) the signed-in e-mail is looked up in ``[staff."<email>"]`` for the role.
Nothing here imports streamlit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import secrets as _secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetmap._errors import ConfigError, PermissionDenied
from assetmap.ingest.fields import public_columns

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ROLES",
    "STAFF_ROLES",
    "ACTIONS",
    "SCOPED_ACTIONS",
    "Principal",
    "PUBLIC",
    "PUBLIC_PARTNER_COLUMNS",
    "WITHHELD_FOR_SENSITIVE",
    "withhold_sensitive",
    "hash_password",
    "verify_password",
    "load_local_accounts",
    "authenticate",
    "SignInThrottle",
    "SignInThrottled",
    "THROTTLE",
    "principal_from_oidc",
    "accounts_toml",
    "is_loopback",
    "first_run_admin",
    "can",
    "require",
    "visible_partners",
    "visible_profiles",
    "visible_schools",
]

log = logging.getLogger(__name__)

ROLES: tuple[str, ...] = ("public", "coordinator", "leader", "admin")
STAFF_ROLES: tuple[str, ...] = ("coordinator", "leader", "admin")

#: Actions and the roles that may do them (scope — own schools/district — is checked separately).
ACTIONS: Mapping[str, tuple[str, ...]] = {
    "find_help": ROLES,  # the public Find-help view
    "view_partner": ROLES,  # one partner; unpublished/sensitive rules apply
    "view_staff_page": STAFF_ROLES,
    "view_survey": STAFF_ROLES,  # need profiles (aggregated, suppressed)
    "view_network": STAFF_ROLES,
    "edit_network": STAFF_ROLES,
    "record_outcome": STAFF_ROLES,
    "view_unpublished": STAFF_ROLES,
    "view_sensitive": STAFF_ROLES,
    "edit_partner": STAFF_ROLES,
    "verify_partner": STAFF_ROLES,
    "add_partner": STAFF_ROLES,
    "retire_partner": ("leader", "admin"),
    "import_partners": ("leader", "admin"),
    "publish_partners": ("leader", "admin"),  # review uploaded (staged) partners
    "download": STAFF_ROLES,
    "download_survey": STAFF_ROLES,
    "view_district": ("leader", "admin"),
    "view_audit": ("leader", "admin"),
    "manage_accounts": ("admin",),
}

#: Actions limited to the principal's schools (coordinator) or districts (leader).
SCOPED_ACTIONS = frozenset(
    {"view_survey", "download_survey", "view_network", "edit_network", "record_outcome"}
)

#: The only partner columns a public session ever receives.
PUBLIC_PARTNER_COLUMNS: tuple[str, ...] = public_columns()  # from assetmap.ingest.fields
#: Fields blanked for a sensitive partner in every family-facing output (pages, HTML and PDF
#: sheets, public exports): where it is (address, point) and how far it is from a school or a
#: family (a distance to a known place gives the location away). The map point is removed too.
WITHHELD_FOR_SENSITIVE: tuple[str, ...] = (
    "address",
    "postal_code",
    "email",
    "distance_km",
    "distance_mi",
    "distance",
    "lat",
    "lon",
    "partner_lat",
    "partner_lon",
    "reason",  # network explanations quote the distance ("0.9 km away")
)


def withhold_sensitive(
    frame: pd.DataFrame,
    *,
    sensitive_ids: Iterable[str] = (),
    id_column: str = "partner_id",
) -> pd.DataFrame:
    """The one rule for family-facing outputs: a sensitive site (e.g. a domestic-violence
    shelter) never shows an address, a map point or a distance.

    A row is sensitive when its ``sensitive`` column is true or its ``id_column`` value is in
    ``sensitive_ids`` (for frames such as networks that carry only the partner id). Returns a
    new frame with ``WITHHELD_FOR_SENSITIVE`` blanked and the geometry removed on those rows,
    and ``location_withheld`` set (True for them, kept or False for the others).
    """
    out = frame.copy()
    ids = {str(i) for i in sensitive_ids}
    flags = [False] * len(out)
    if "sensitive" in out.columns:
        flags = [_truthy(v, False) for v in out["sensitive"]]
    if ids and id_column in out.columns:
        flags = [f or str(i) in ids for f, i in zip(flags, out[id_column], strict=True)]
    before = (
        [_truthy(v, False) for v in out["location_withheld"]]
        if "location_withheld" in out.columns
        else [False] * len(out)
    )
    out["location_withheld"] = [a or b for a, b in zip(before, flags, strict=True)]
    if not any(flags):
        return out
    import numpy as np

    mask = np.asarray(flags, dtype=bool)
    for col in WITHHELD_FOR_SENSITIVE:
        if col in out.columns:
            out[col] = out[col].astype(object)
            out.loc[mask, col] = None
    if "geometry" in out.columns:
        out.loc[mask, "geometry"] = None
    return out


_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_DUMMY_HASH: str | None = None


@dataclass(frozen=True)
class Principal:
    """Who is asking: user name, role, and the schools/districts the role covers."""

    user: str
    role: str = "public"
    schools: frozenset[str] = field(default_factory=frozenset)
    districts: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ConfigError(
                f"unknown role {self.role!r} for {self.user!r}; use one of {', '.join(ROLES)}."
            )
        object.__setattr__(self, "schools", frozenset(str(s) for s in self.schools))
        object.__setattr__(self, "districts", frozenset(str(d) for d in self.districts))

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


PUBLIC = Principal("public", "public")


# ---------------------------------------------------------------------- passwords
def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A salted scrypt hash: ``scrypt$n$r$p$<salt b64>$<hash b64>`` (store this, never the password)."""
    if not isinstance(password, str) or not password:
        raise ValueError("password must be a non-empty string")
    salt = salt if salt is not None else _secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches a hash from :func:`hash_password` (constant-time compare).

    Also accepts ``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>``.
    """
    try:
        parts = str(encoded).split("$")
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (int(x) for x in parts[1:4])
            salt, want = base64.b64decode(parts[4]), base64.b64decode(parts[5])
            got = hashlib.scrypt(str(password).encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(want),
                                 maxmem=256 * 1024 * 1024)  # fmt: skip
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            salt, want = base64.b64decode(parts[2]), base64.b64decode(parts[3])
            got = hashlib.pbkdf2_hmac(
                "sha256", str(password).encode("utf-8"), salt, int(parts[1]), len(want)
            )
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


# ---------------------------------------------------------------------- accounts
@dataclass(frozen=True)
class _Account:
    principal: Principal
    password_hash: str


def _as_set(v: Any) -> frozenset[str]:
    if v is None:
        return frozenset()
    if isinstance(v, str):
        return frozenset(s.strip() for s in v.replace(";", ",").split(",") if s.strip())
    return frozenset(str(s) for s in v)


def load_local_accounts(secrets: Mapping[str, Any]) -> dict[str, _Account]:
    """Local staff accounts from a secrets mapping (``[accounts.<user>]`` or the table itself).

    Each account: ``password_hash`` (from :func:`hash_password`), ``role``, optional ``schools``
    and ``districts`` lists. Plain ``password`` entries are refused.
    """
    table = secrets.get("accounts", secrets) if isinstance(secrets, Mapping) else {}
    out: dict[str, _Account] = {}
    for user, spec in (table or {}).items():
        if not isinstance(spec, Mapping):
            continue
        if "password" in spec and "password_hash" not in spec:
            raise ConfigError(
                f"account {user!r} has a plain 'password' in secrets; store only 'password_hash' "
                "(make one with: python -m assetmap.auth hash)."
            )
        ph = spec.get("password_hash")
        if not ph:
            raise ConfigError(f"account {user!r} has no password_hash.")
        role = str(spec.get("role", "coordinator"))
        if role == "public":
            raise ConfigError(f"account {user!r}: 'public' is not a staff role.")
        principal = Principal(
            str(user), role, _as_set(spec.get("schools")), _as_set(spec.get("districts"))
        )
        out[str(user)] = _Account(principal, str(ph))
    return out


class SignInThrottled(PermissionDenied):
    """Too many failed sign-ins for this user or from this client; ``wait_s`` to go."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = max(1.0, float(wait_s))
        super().__init__(f"too many failed sign-ins; try again in {math.ceil(self.wait_s)} seconds")


class SignInThrottle:
    """Failed sign-ins per user and per client (e.g. the browser's IP address).

    After ``max_failures`` failures within ``window_s`` seconds a key is locked for
    ``lockout_s`` seconds, doubling with each further lock (at most ``max_lockout_s``).
    A success clears the user's count (not the client's). Thread-safe; process-wide.
    """

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_s: float = 300.0,
        lockout_s: float = 30.0,
        max_lockout_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures, self.window_s = int(max_failures), float(window_s)
        self.lockout_s, self.max_lockout_s = float(lockout_s), float(max_lockout_s)
        self.clock = clock
        self._fails: dict[str, list[float]] = {}
        self._locked: dict[str, tuple[float, int]] = {}  # key -> (until, locks so far)
        self._lock = threading.Lock()

    def wait_s(self, *keys: str) -> float:
        """Seconds until all ``keys`` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            return max([0.0] + [self._locked.get(k, (0.0, 0))[0] - now for k in keys])

    def failure(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for k in keys:
                recent = [t for t in self._fails.get(k, []) if now - t < self.window_s]
                recent.append(now)
                if len(recent) >= self.max_failures:
                    locks = self._locked.get(k, (0.0, 0))[1] + 1
                    span = min(self.lockout_s * 2 ** (locks - 1), self.max_lockout_s)
                    self._locked[k] = (now + span, locks)
                    recent = []
                self._fails[k] = recent

    def reset(self) -> None:
        """Forget every count and lock."""
        with self._lock:
            self._fails.clear()
            self._locked.clear()

    def success(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)
            self._locked.pop(key, None)


#: The process-wide sign-in throttle used by :func:`authenticate`.
THROTTLE = SignInThrottle()


def authenticate(
    accounts: Mapping[str, Any],
    username: str,
    password: str,
    *,
    client: str | None = None,
    throttle: SignInThrottle | None = THROTTLE,
) -> Principal | None:
    """The principal of a local account when the password matches, else None.

    ``accounts`` is the ``[accounts]`` table (or the result of :func:`load_local_accounts`).
    Unknown users cost the same hashing time as known ones. Failures are logged as warnings
    and counted per user and per ``client`` (:class:`SignInThrottle`); while either is
    locked, :class:`SignInThrottled` is raised before any password is checked.
    """
    name = str(username or "").strip()
    keys = [f"user:{name.lower()}"] + ([f"client:{client}"] if client else [])
    if throttle is not None:
        wait = throttle.wait_s(*keys)
        if wait > 0:
            log.warning(
                "sign-in refused for %r from %s: throttled (%.0f s left)",
                name, client or "unknown client", wait,
            )  # fmt: skip
            raise SignInThrottled(wait)
    principal = _check_password(accounts, name, password)
    if throttle is not None:
        if principal is None:
            throttle.failure(*keys)
        else:
            throttle.success(keys[0])
    if principal is None:
        log.warning("failed sign-in for %r from %s", name, client or "unknown client")
    return principal


def _check_password(accounts: Mapping[str, Any], username: str, password: str) -> Principal | None:
    global _DUMMY_HASH
    loaded = (
        accounts
        if all(isinstance(v, _Account) for v in accounts.values())
        else load_local_accounts({"accounts": accounts})
    )
    acc = loaded.get(str(username or "").strip())
    if acc is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password("not-a-password")
        verify_password(str(password), _DUMMY_HASH)
        return None
    if not verify_password(str(password), acc.password_hash):
        return None
    return acc.principal


def principal_from_oidc(user_info: Mapping[str, Any], secrets: Mapping[str, Any]) -> Principal:
    """The principal for a user signed in through ``st.login``: role from ``[staff."<email>"]``.

    A signed-in user who is not listed gets the public role (signing in proves who someone is,
    not that they are staff). Only verified e-mails are matched when the IdP reports it.
    """
    email = str(user_info.get("email") or "").strip().lower()
    if not email or user_info.get("email_verified") is False:
        return PUBLIC
    staff = secrets.get("staff", {}) if isinstance(secrets, Mapping) else {}
    spec = None
    for key, val in (staff or {}).items():
        if str(key).strip().lower() == email:
            spec = val
            break
    if not isinstance(spec, Mapping):
        return Principal(email, "public")
    return Principal(email, str(spec.get("role", "coordinator")), _as_set(spec.get("schools")),
                     _as_set(spec.get("districts")))  # fmt: skip


def accounts_toml(accounts: Mapping[str, Any]) -> str:
    """``[accounts.*]`` TOML for ``{user: (role, password[, schools[, districts]])}`` (hashes the passwords)."""
    lines: list[str] = []
    for user, spec in accounts.items():
        role, password, *rest = spec
        schools = list(rest[0]) if len(rest) > 0 else []
        districts = list(rest[1]) if len(rest) > 1 else []
        lines += [
            f'[accounts."{user}"]',
            f'role = "{role}"',
            f'password_hash = "{hash_password(password)}"',
            "schools = [" + ", ".join(f'"{s}"' for s in schools) + "]",
            "districts = [" + ", ".join(f'"{d}"' for d in districts) + "]",
            "",
        ]
    return "\n".join(lines)


def is_loopback(address: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    a = (address or "").strip().strip("[]")
    if a.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(a).is_loopback
    except ValueError:
        return False


def first_run_admin(secrets_path: Path, *, username: str = "admin") -> str | None:
    """First run: when ``secrets_path`` defines no staff at all (no ``[accounts]``, no
    ``[staff]`` OIDC roles), add an ``admin`` account with a random password and return the
    password (the caller prints it once; only its salted hash is stored). Returns None when
    staff already exist. The file is created with owner-only permissions."""
    import os
    import tomllib

    text = secrets_path.read_text(encoding="utf-8") if secrets_path.exists() else ""
    try:
        current = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{secrets_path}: not valid TOML ({exc})") from exc
    if current.get("accounts") or current.get("staff"):
        return None
    password = _secrets.token_urlsafe(12)
    section = accounts_toml({username: ("admin", password, [], [])})
    secrets_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(secrets_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(
            ("\n" if text and not text.endswith("\n") else "")
            + "# First-run administrator made by `assetmap serve` (only the hash is kept).\n"
            + section
        )
    return password


# ---------------------------------------------------------------------- decisions
def _scope_ok(p: Principal, resource: Mapping[str, Any] | None) -> bool:
    if p.role == "admin" or resource is None:
        return True
    school = resource.get("school_id")
    district = resource.get("district_id")
    if p.role == "coordinator":
        return school is not None and str(school) in p.schools
    if p.role == "leader":
        return (district is not None and str(district) in p.districts) or (
            school is not None and str(school) in p.schools
        )
    return True


def can(principal: Principal, action: str, resource: Mapping[str, Any] | None = None) -> bool:
    """May ``principal`` do ``action`` (see ``ACTIONS``) on ``resource`` (a school/district/partner)?

    ``resource`` may carry ``school_id`` and ``district_id`` (scope: a coordinator only their
    schools, a leader their districts) or be a partner record (published/sensitive/owner rules).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    if principal.role not in ACTIONS[action]:
        return False
    if resource is not None and "partner_id" in resource:
        return _partner_visible(principal, resource) and (
            action in ("view_partner", "find_help") or principal.role != "public"
        )
    if action not in SCOPED_ACTIONS:
        return True
    if resource is None:  # a scoped request without a school or district: admins only
        return principal.role == "admin"
    return _scope_ok(principal, resource)


def require(principal: Principal, action: str, resource: Mapping[str, Any] | None = None) -> None:
    """Raise :class:`PermissionDenied` unless :func:`can` allows it."""
    if not can(principal, action, resource):
        what = (
            f" on {dict(resource)}" if resource is not None and "partner_id" not in resource else ""
        )
        raise PermissionDenied(
            f"role {principal.role!r} ({principal.user}) may not {action}{what}."
        )


def _truthy(v: Any, default: bool) -> bool:
    if v is None:
        return default
    if isinstance(v, float) and v != v:
        return default
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "t")
    return bool(v)


def _partner_visible(p: Principal, rec: Mapping[str, Any]) -> bool:
    if _truthy(rec.get("retired"), False) and p.role == "public":
        return False
    if _truthy(rec.get("published"), True):
        return True
    if p.role == "public":
        return False
    if p.role == "admin":
        return True
    owner_school = rec.get("owner_school_id")
    owner_district = rec.get("owner_district_id")
    owner_school = (
        None if owner_school is None or owner_school != owner_school else str(owner_school)
    )
    owner_district = (
        None if owner_district is None or owner_district != owner_district else str(owner_district)
    )
    if p.role == "coordinator":
        return owner_school is not None and owner_school in p.schools
    # leader: records owned by their district or one of its schools (schools listed on the principal)
    return (owner_district is not None and owner_district in p.districts) or (
        owner_school is not None and owner_school in p.schools
    )


def visible_partners(
    principal: Principal,
    partners: pd.DataFrame,
    *,
    sensitive: str = "contact_only",
    school_districts: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The rows and columns of a Partners frame that ``principal`` may see (a new frame).

    - public: published, non-retired rows only, ``PUBLIC_PARTNER_COLUMNS`` only; sensitive
      rows become contact-only (``WITHHELD_FOR_SENSITIVE`` blanked, geometry removed,
      ``location_withheld`` True), or are dropped with ``sensitive="drop"``.
    - coordinator: published rows plus unpublished rows owned by their schools.
    - leader: published rows plus unpublished rows owned by their districts (a school's record
      counts for its district when ``school_districts`` maps school_id -> district_id).
    - admin: everything.
    """
    if sensitive not in ("contact_only", "drop"):
        raise ValueError(f"sensitive={sensitive!r}: use 'contact_only' or 'drop'")
    out = partners.copy()
    if out.empty:
        return _public_columns(out) if principal.role == "public" else out
    p = principal
    if p.role == "leader" and school_districts:
        extra = {s for s, d in school_districts.items() if str(d) in p.districts}
        p = Principal(p.user, p.role, p.schools | extra, p.districts)
    keep = [_partner_visible(p, rec) for rec in out.to_dict("records")]
    out = out.loc[keep]
    if principal.role != "public":
        return out
    sens = out.get("sensitive")
    flags = [_truthy(v, False) for v in sens] if sens is not None else [False] * len(out)
    if sensitive == "drop":
        out = out.loc[[not f for f in flags]]
        flags = [False] * len(out)
    out = _public_columns(out)
    out["location_withheld"] = flags
    return withhold_sensitive(out.assign(sensitive=flags)).drop(columns="sensitive")


def _public_columns(frame: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in PUBLIC_PARTNER_COLUMNS if c in frame.columns]
    cols += [c for c in ("lat", "lon", "distance_km") if c in frame.columns]
    out = frame[cols].copy()
    if "location_withheld" not in out.columns:
        out["location_withheld"] = False
    return out


def visible_profiles(principal: Principal, profiles: pd.DataFrame) -> pd.DataFrame:
    """Rows of a need-profile frame (with ``school_id``, optional ``district_id``) the principal may see.

    Public principals get none, ever; a coordinator only their schools; a leader their districts.
    """
    if principal.role == "public":
        return profiles.iloc[0:0].copy()
    if principal.role == "admin":
        return profiles.copy()
    keep = [can(principal, "view_survey", rec) for rec in _scope_records(profiles)]
    return profiles.loc[keep].copy()


def visible_schools(principal: Principal, schools: pd.DataFrame) -> pd.DataFrame:
    """The schools whose staff data (survey, networks) the principal may open."""
    if principal.role == "public":
        return schools.iloc[0:0].copy()
    if principal.role == "admin":
        return schools.copy()
    keep = [can(principal, "view_network", rec) for rec in _scope_records(schools)]
    return schools.loc[keep].copy()


def _scope_records(frame: pd.DataFrame) -> Iterable[dict[str, Any]]:
    cols = [c for c in ("school_id", "district_id") if c in frame.columns]
    if not cols:
        raise ValueError("frame needs a school_id or district_id column to be filtered by role")
    for rec in frame[cols].to_dict("records"):
        yield {k: (None if v is None or v != v else v) for k, v in rec.items()}


def _main(argv: list[str] | None = None) -> int:  # pragma: no cover - tiny helper for admins
    import getpass
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args[:1] != ["hash"]:
        sys.stderr.write(
            "usage: python -m assetmap.auth hash   (prompts for a password, prints its hash)\n"
        )
        return 2
    pw = getpass.getpass("password: ")
    if pw != getpass.getpass("again: "):
        sys.stderr.write("passwords differ\n")
        return 2
    sys.stdout.write(hash_password(pw) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
