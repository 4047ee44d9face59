"""The role gate: who is signed in, and what each page and download may show them.

Staff sign in with Streamlit's ``st.login`` (OIDC) when ``[auth]`` is configured in
secrets, or else with a local account from ``[accounts]`` in ``.streamlit/secrets.toml``
(salted hashes; see ``.streamlit/secrets.toml.example``). Roles and password checks are
``assetmap.auth``'s; this module only keeps the signed-in principal in the session and
stops a page on the server before it renders anything a role may not see.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import streamlit as st

from assetmap import auth as core
from assetmap._errors import ConfigError
from assetmap.auth import Principal

SESSION_KEY = "principal"

#: Pages (and downloads) -> the ``assetmap.auth`` action that decides who may use them.
ACCESS: Mapping[str, str] = {
    "district_map": "view_district",
    "school_partners": "view_staff_page",
    "network": "view_staff_page",
    "download": "download",
    "data": "view_staff_page",
    "import": "import_partners",
}


def _secrets() -> Mapping[str, Any]:
    try:
        return st.secrets.to_dict()
    except (FileNotFoundError, OSError, ValueError):
        return {}
    except Exception:  # noqa: BLE001 - a broken secrets file must not take the public page down
        return {}


def oidc_configured() -> bool:
    """True when ``[auth]`` in secrets configures Streamlit's OIDC sign-in."""
    a = _secrets().get("auth")
    return isinstance(a, Mapping) and bool(a.get("redirect_uri") and a.get("cookie_secret"))


def local_accounts() -> Mapping[str, Any]:
    """The ``[accounts]`` table of local staff accounts (empty when none)."""
    acc = _secrets().get("accounts")
    return acc if isinstance(acc, Mapping) else {}


def current_principal() -> Principal:
    """The signed-in principal for this session (``public`` when nobody is)."""
    p = st.session_state.get(SESSION_KEY)
    if isinstance(p, Principal):
        return p
    if oidc_configured():
        user = st.user
        if getattr(user, "is_logged_in", False):
            p = core.principal_from_oidc(dict(user), _secrets())
            if p.is_staff:
                st.session_state[SESSION_KEY] = p
            return p
    return core.PUBLIC


def allowed(principal: Principal, action: str, resource: Mapping[str, Any] | None = None) -> bool:
    """May this principal use this page or download (optionally: for this school/district)?"""
    return core.can(principal, ACCESS.get(action, action), resource)


def require(action: str) -> Principal:
    """Stop the page (server side) unless the signed-in principal may do ``action``."""
    p = current_principal()
    if allowed(p, action):
        return p
    if p.is_staff:
        st.error(
            f"Your role ({p.role}) does not give access to this page. "
            "Ask an administrator if you need it."
        )
    else:
        st.warning(
            "This page is for school and district staff. Please sign in first "
            "(Staff sign in, in the menu)."
        )
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises


def _client() -> str | None:
    """The browser's address as Streamlit sees it (None when unknown, e.g. in tests)."""
    try:
        return st.context.ip_address or None
    except Exception:  # noqa: BLE001 - no script-run context
        return None


def sign_in_local(username: str, password: str) -> Principal | None:
    """Check a local account; on success keep the principal in the session."""
    try:
        p = core.authenticate(local_accounts(), username, password, client=_client())
    except core.SignInThrottled as exc:
        st.error(f"Too many failed sign-ins. Try again in {math.ceil(exc.wait_s)} seconds.")
        st.stop()
    except ConfigError as exc:
        st.error(f"The staff accounts are misconfigured: {exc}")
        return None
    if p is not None and p.is_staff:
        st.session_state[SESSION_KEY] = p
        return p
    return None


def sign_out() -> None:
    """Forget the principal (and end the OIDC session when there is one)."""
    st.session_state.pop(SESSION_KEY, None)
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def accounts_toml(accounts: Mapping[str, tuple]) -> str:
    """A secrets.toml ``[accounts]`` section for ``{user: (role, password[, schools[, districts]])}``."""
    return core.accounts_toml(accounts)
