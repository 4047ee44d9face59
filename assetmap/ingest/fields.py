"""The one partner field table: name, kind, choices, public, editable, default.

Everything else derives from it: the canonical column order
(:data:`assetmap.model.PARTNER_COLUMNS`), the store schema and coercion
(:data:`assetmap.store.FIELD_KINDS`), the allowed values, the columns a public session may
receive (:data:`assetmap.auth.PUBLIC_PARTNER_COLUMNS`) and the partner-id rule
(:func:`partner_id_for`). This module imports nothing from the rest of assetmap but text
folding, so every layer can use it.

>>> [f.name for f in PARTNER_FIELDS][:3]
['partner_id', 'name', 'organization']
>>> partner_id_for({"source": "s", "name": "Café", "address": "", "city": ""}) == \\
...     partner_id_for({"source": "S", "name": " cafe ", "address": None, "city": None})
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assetmap._text import fold

__all__ = [
    "Field",
    "PARTNER_FIELDS",
    "ID_PARTS",
    "canonical_columns",
    "store_fields",
    "field_kinds",
    "field_choices",
    "public_columns",
    "editable_fields",
    "partner_id_for",
    "stable_id",
]

#: Kinds: text, list (``;``-joined in files), real, bool, bool3 (True/False/unknown), date
#: (ISO text), json (extra attributes).


@dataclass(frozen=True)
class Field:
    """One partner field."""

    name: str
    kind: str = "text"
    choices: tuple[str, ...] = ()
    public: bool = False  # may a public (family-facing) session receive it?
    editable: bool = True  # may staff change it with update_partner?
    canonical: bool = True  # False: kept by the store only (ownership, attributes)
    default: Any = None


_T, _P = "text", True
PARTNER_FIELDS: tuple[Field, ...] = (
    Field("partner_id", public=_P, editable=False),
    Field("name", public=_P),
    Field("organization", public=_P),
    Field("category", public=_P),
    Field("services", "list", public=_P),
    Field("services_inferred", "list", public=_P),  # category defaults, not the source
    Field("languages", "list", public=_P),
    Field("address", public=_P),
    Field("city", public=_P),
    Field("state", public=_P),
    Field("postal_code", public=_P),
    Field("phone", public=_P),
    Field("email", public=_P),
    Field("website", public=_P),
    Field("hours", public=_P),
    Field("description", public=_P),
    Field("eligibility", public=_P),
    Field(
        "cost", choices=("free", "sliding_scale", "fee", "unknown"), public=_P, default="unknown"
    ),
    Field("capacity", "real"),  # families per year or slots; NaN when unknown
    Field("delivery", "list", public=_P),  # in_person, virtual, home_visit, mobile
    Field("ada_accessible", "bool3", public=_P),
    Field("mou_status", choices=("none", "prospective", "active", "expired"), default="none"),
    Field("last_verified", "date", public=_P),
    Field("source"),
    Field("as_of", "date", public=_P),  # the source layer's as-of date (its vintage)
    Field("example", "bool", public=_P, default=False),  # the fictional seeded examples
    Field("published", "bool", default=True),  # False: staff-only record
    Field("sensitive", "bool", default=False),  # True: address never shown publicly
    Field("geocode_source", default="source"),
    Field("geocode_quality", public=_P, default="exact"),  # exact/rooftop/street/zip/town/none
    # store-only: who owns an unpublished record (roles use these)
    Field("owner_school_id", canonical=False),
    Field("owner_district_id", canonical=False),
    Field("verified_by", editable=False, canonical=False),
    # columns beyond the canonical ones (e.g. license_expiration), kept as a JSON object
    Field("attributes", "json", canonical=False),
)

#: The parts of a record the partner-id rule hashes, for records that come without an id.
ID_PARTS: tuple[str, ...] = ("source", "name", "address", "city")


def canonical_columns() -> list[str]:
    """Canonical partner columns in order, ``geometry`` last."""
    return [f.name for f in PARTNER_FIELDS if f.canonical] + ["geometry"]


def store_fields() -> tuple[Field, ...]:
    """Every field the store keeps (canonical and store-only)."""
    return PARTNER_FIELDS


def field_kinds() -> dict[str, str]:
    """``name -> kind`` for every stored field."""
    return {f.name: f.kind for f in PARTNER_FIELDS}


def field_choices() -> dict[str, tuple[str, ...]]:
    """``name -> allowed values`` for the fields with a closed list."""
    return {f.name: f.choices for f in PARTNER_FIELDS if f.choices}


def public_columns() -> tuple[str, ...]:
    """The only partner columns a public session receives (plus the withheld flag, geometry)."""
    return (*(f.name for f in PARTNER_FIELDS if f.public), "location_withheld", "geometry")


def editable_fields() -> tuple[str, ...]:
    """Fields staff may change."""
    return tuple(f.name for f in PARTNER_FIELDS if f.editable)


def stable_id(*parts: object, prefix: str = "p") -> str:
    """A stable short id from text parts (same input -> same id, in every run); case,
    accents and surrounding spaces do not matter."""
    key = "|".join(fold("" if p is None else p) for p in parts)
    return f"{prefix}-{hashlib.sha1(key.encode('utf-8'), usedforsecurity=False).hexdigest()[:12]}"


def partner_id_for(record: Mapping[str, Any]) -> str:
    """The partner-id rule for a record without an id: source + name + address + city."""
    return stable_id(*(record.get(k) for k in ID_PARTS))
