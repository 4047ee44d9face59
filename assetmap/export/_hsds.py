"""Open Referral HSDS 3.0: JSON document and CSV data package from canonical Partners.

Mapping (DOMAIN.md §1.3): one ``organization`` per distinct organisation name; per partner
site one ``location`` (with ``address`` and ``accessibility`` from ``ada_accessible``), one
``service`` (``phone``, ``schedule`` with the hours text in ``description``, ``language``,
``cost_option``/``fees_description`` from ``cost``, ``eligibility_description``,
``assured_date`` from ``last_verified``) and a ``service_at_location``. Need/service codes
are an embedded ``taxonomy`` (assetmap-needs v1) with only the ``taxonomy_term``\\s used,
linked to services by ``attribute`` (``link_type`` ``service_type``); each used term carries
its Open Eligibility ids as an ``attribute`` with ``link_type`` ``oe_crosswalk``.

Unpublished partners are left out; sensitive ones lose their street address and point.
Example partners say so in ``service.alert`` and the descriptions.

The JSON document is ``{"version": "3.0", "organizations": [...], "locations": [...],
"services": [...], "service_at_locations": [...], "taxonomies": [...], "taxonomy_terms":
[...], "attributes": [...]}``; :func:`validate_hsds` checks every object against the HSDS
3.0 JSON Schemas shipped in ``hsds_schema/`` and the references between them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from assetmap import __version__
from assetmap.export._common import EXAMPLE_LABEL, Bundle, present
from assetmap.languages import load_languages
from assetmap.maps import safe_url
from assetmap.taxonomy import load_taxonomy

__all__ = ["hsds_document", "validate_hsds", "bundle_hsds_json", "bundle_hsds_csv", "SCHEMA_DIR"]

SCHEMA_DIR = Path(__file__).with_name("hsds_schema")
_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/assetmap/assetmap#hsds")
_EMAIL_RE = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[A-Za-z]{2,}$")
_COST_TEXT = {"free": "Free", "sliding_scale": "Sliding scale", "fee": "Fee"}

#: Top-level list -> HSDS object schema file.
COLLECTIONS: dict[str, str] = {
    "organizations": "organization.json",
    "locations": "location.json",
    "services": "service.json",
    "service_at_locations": "service_at_location.json",
    "taxonomies": "taxonomy.json",
    "taxonomy_terms": "taxonomy_term.json",
    "attributes": "attribute.json",
}


def _id(kind: str, key: object) -> str:
    return str(uuid.uuid5(_NS, f"{kind}:{key}"))


def _text(v: Any) -> str | None:
    return str(v).strip() if present(v) else None


def _date(v: Any) -> str | None:
    if not present(v):
        return None
    try:
        return pd.Timestamp(str(v)).date().isoformat()
    except (ValueError, TypeError):
        return None


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    """Drop None and empty lists (HSDS fields are optional unless required)."""
    return {k: v for k, v in d.items() if v is not None and v != []}


def hsds_document(bundle: Bundle) -> dict[str, Any]:
    """The HSDS 3.0 JSON document for the bundle's partners."""
    tax = load_taxonomy()
    langs = load_languages()
    p = bundle.partners
    orgs: dict[str, dict[str, Any]] = {}
    locations, services, sals = [], [], []
    used_terms: set[str] = set()
    links: list[tuple[str, str]] = []  # (service id, need code)
    partner_terms: list[tuple[str, str]] = []  # (service id, "category:x" / "flag:y")
    for rec, geom in zip(p.drop(columns="geometry").to_dict("records"), p.geometry, strict=True):
        if rec.get("published") is False:
            continue
        pid = str(rec["partner_id"])
        example = bool(rec.get("example"))
        org_name = _text(rec.get("organization")) or _text(rec.get("name")) or pid
        org_id = _id("organization", org_name)
        website = safe_url(rec.get("website"))
        email = _text(rec.get("email"))
        email = email if email and _EMAIL_RE.match(email) else None
        desc = _text(rec.get("description")) or ""
        if example:
            desc = f"{EXAMPLE_LABEL}: not a real organisation. {desc}".strip()
        if org_id not in orgs:
            orgs[org_id] = _compact(
                {
                    "id": org_id,
                    "name": org_name,
                    "description": desc or f"{org_name}: no description provided",
                    "website": website,
                    "email": email,
                }
            )
        loc_id, svc_id = _id("location", pid), _id("service", pid)
        sensitive = bool(rec.get("sensitive"))
        ok = (
            geom is not None
            and not geom.is_empty
            and math.isfinite(geom.x)
            and math.isfinite(geom.y)
        )
        addresses = []
        if _text(rec.get("address")) and not sensitive:
            addresses.append(
                {
                    "id": _id("address", pid),
                    "location_id": loc_id,
                    "address_1": _text(rec.get("address")),
                    "city": _text(rec.get("city")) or "",
                    "state_province": _text(rec.get("state")) or "",
                    "postal_code": _text(rec.get("postal_code")) or "",
                    "country": "US",
                    "address_type": "physical",
                }
            )
        access = []
        ada = rec.get("ada_accessible")
        if ada is True or ada is False:
            access.append(
                {
                    "id": _id("accessibility", pid),
                    "location_id": loc_id,
                    "description": "Wheelchair accessible (ADA)"
                    if ada
                    else "Not wheelchair accessible",
                }
            )
        locations.append(
            _compact(
                {
                    "id": loc_id,
                    "location_type": "physical",
                    "organization_id": org_id,
                    "name": _text(rec.get("name")),
                    "latitude": round(geom.y, 6) if ok and not sensitive else None,
                    "longitude": round(geom.x, 6) if ok and not sensitive else None,
                    "external_identifier": pid,
                    "external_identifier_type": "assetmap_partner_id",
                    "addresses": addresses,
                    "accessibility": access,
                }
            )
        )
        codes = [str(c) for c in (rec.get("services") or [])]
        for code in codes:
            if code in tax.needs:
                used_terms.add(code)
                if "." in code:
                    used_terms.add(code.split(".")[0])
                links.append((svc_id, code))
        lang_codes = [str(c) for c in (rec.get("languages") or [])]
        cost = str(rec.get("cost") or "unknown")
        cost_text = _COST_TEXT.get(cost)
        phone = _text(rec.get("phone"))
        hours = _text(rec.get("hours"))
        services.append(
            _compact(
                {
                    "id": svc_id,
                    "organization_id": org_id,
                    "name": _text(rec.get("name")) or pid,
                    "description": desc or None,
                    "url": website,
                    "email": email,
                    "status": "active",
                    "interpretation_services": (
                        "Services in " + ", ".join(langs.name(c) for c in lang_codes)
                        if any(c != "en" for c in lang_codes)
                        else None
                    ),
                    "fees_description": cost_text,
                    "eligibility_description": _text(rec.get("eligibility")),
                    "assured_date": _date(rec.get("last_verified")),
                    "alert": f"{EXAMPLE_LABEL}: not a real organisation" if example else None,
                    "phones": [
                        {
                            "id": _id("phone", pid),
                            "service_id": svc_id,
                            "number": phone,
                            "type": "voice",
                        }
                    ]
                    if phone
                    else [],
                    "schedules": [
                        {"id": _id("schedule", pid), "service_id": svc_id, "description": hours}
                    ]
                    if hours
                    else [],
                    "languages": [
                        {
                            "id": _id("language", f"{pid}:{c}"),
                            "service_id": svc_id,
                            "name": langs.name(c),
                            "code": c,
                        }
                        for c in lang_codes
                    ],
                    "cost_options": [
                        _compact(
                            {
                                "id": _id("cost_option", pid),
                                "service_id": svc_id,
                                "option": cost_text,
                                "amount": 0 if cost == "free" else None,
                                "currency": "USD" if cost == "free" else None,
                            }
                        )
                    ]
                    if cost_text
                    else [],
                }
            )
        )
        sals.append(
            {"id": _id("service_at_location", pid), "service_id": svc_id, "location_id": loc_id}
        )
        category = _text(rec.get("category"))
        if category:
            partner_terms.append((svc_id, f"category:{category}"))
        for flag in ("example", "sensitive"):
            if bool(rec.get(flag)):
                partner_terms.append((svc_id, f"flag:{flag}"))
        quality = _text(rec.get("geocode_quality"))
        if ok and not sensitive and quality not in ("", "exact", "none"):
            partner_terms.append((svc_id, f"placement:{quality}"))  # approximate: say so

    tax_id = _id("taxonomy", f"{tax.name}:{tax.version}")
    terms, attributes = [], []
    term_ids = {code: _id("taxonomy_term", f"{tax.name}:{code}") for code in used_terms}
    for code in [c for c in tax.needs if c in used_terms]:
        need = tax.needs[code]
        terms.append(
            _compact(
                {
                    "id": term_ids[code],
                    "code": code,
                    "name": need.label,
                    "description": f"{need.label} ({tax.name} v{tax.version} code {code})",
                    "parent_id": term_ids.get(need.parent) if need.parent else None,
                    "taxonomy": tax.name,
                    "taxonomy_id": tax_id,
                    "language": "en",
                }
            )
        )
        if need.oe_ids:
            attributes.append(
                {
                    "id": _id("attribute", f"oe:{code}"),
                    "link_id": term_ids[code],
                    "link_type": "oe_crosswalk",
                    "link_entity": "taxonomy_term",
                    "taxonomy_term_id": term_ids[code],
                    "value": ";".join(need.oe_ids),
                }
            )
    by_service: dict[str, list[dict[str, Any]]] = {}
    for svc_id, code in links:
        by_service.setdefault(svc_id, []).append(
            {
                "id": _id("attribute", f"{svc_id}:{code}"),
                "link_id": svc_id,
                "link_type": "service_type",
                "link_entity": "service",
                "taxonomy_term_id": term_ids[code],
            }
        )
    partner_tax = _partner_terms(partner_terms, by_service, terms, tax)
    for svc in services:
        if svc["id"] in by_service:
            svc["attributes"] = by_service[svc["id"]]
    taxonomies = []
    if terms:
        taxonomies.append(
            _compact(
                {
                    "id": tax_id,
                    "name": tax.name,
                    "description": "assetmap's two-level need/service vocabulary, cross-walked to Open Eligibility",
                    "uri": safe_url(tax.uri),
                    "version": tax.version,
                }
            )
        )
    if partner_tax:
        taxonomies.append(partner_tax)
    return {
        "version": "3.0",
        "generator": f"assetmap {__version__}",
        "generated": dt.date.today().isoformat(),
        "organizations": list(orgs.values()),
        "locations": locations,
        "services": services,
        "service_at_locations": sals,
        "taxonomies": taxonomies,
        "taxonomy_terms": terms,
        "attributes": attributes,
    }


#: The second taxonomy of an export: a partner's category and its example/sensitive flags,
#: so a re-import gets the same partners back (the reader, assetmap.io._hsds, knows it).
PARTNER_TAXONOMY = "assetmap-partner"


def _partner_terms(
    links: list[tuple[str, str]],
    by_service: dict[str, list[dict[str, Any]]],
    terms: list[dict[str, Any]],
    tax: Any,
) -> dict[str, Any] | None:
    """Terms ``category:<code>``, ``flag:<name>`` and ``placement:<quality>`` (a point placed
    only at a town or ZIP centre) linked to services (link_type ``partner_category`` /
    ``partner_flag``); returns the taxonomy, or None when unused."""
    if not links:
        return None
    tax_id = _id("taxonomy", PARTNER_TAXONOMY)
    seen: dict[str, str] = {}
    for svc_id, code in links:
        if code not in seen:
            seen[code] = _id("taxonomy_term", f"{PARTNER_TAXONOMY}:{code}")
            kind, value = code.split(":", 1)
            label = tax.categories[value].label if value in tax.categories else value
            terms.append(
                {
                    "id": seen[code],
                    "code": code,
                    "name": label if kind == "category" else f"assetmap {kind}: {value}",
                    "description": f"assetmap partner {kind}: {value}",
                    "taxonomy": PARTNER_TAXONOMY,
                    "taxonomy_id": tax_id,
                    "language": "en",
                }
            )
        by_service.setdefault(svc_id, []).append(
            {
                "id": _id("attribute", f"{svc_id}:{code}"),
                "link_id": svc_id,
                "link_type": "partner_category" if code.startswith("category:") else "partner_flag",
                "link_entity": "service",
                "taxonomy_term_id": seen[code],
                "value": code.split(":", 1)[1],
            }
        )
    return {
        "id": tax_id,
        "name": PARTNER_TAXONOMY,
        "description": "assetmap partner categories (config/taxonomy.toml) and record flags",
        "version": str(tax.version),
    }


@functools.lru_cache(maxsize=1)
def _validators() -> dict[str, Any]:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    schemas = {
        f.name: json.loads(f.read_text(encoding="utf-8"))
        for f in sorted(SCHEMA_DIR.glob("*.json"))
        if f.name != "datapackage.json"
    }
    registry = Registry().with_resources(
        (name, Resource.from_contents(s, default_specification=DRAFT202012))
        for name, s in schemas.items()
    )
    out = {}
    for name, schema in schemas.items():
        rooted = dict(schema, **{"$id": name})
        out[name] = Draft202012Validator(
            rooted, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
    return out


def validate_hsds(doc: Any) -> list[str]:
    """Problems of an HSDS document (empty when valid): every object against its HSDS 3.0
    JSON Schema (from ``hsds_schema/``), unique ids, and the ids objects refer to."""
    if not isinstance(doc, dict):
        return [f"document: expected a JSON object, got {type(doc).__name__}"]
    problems: list[str] = []
    validators = _validators()
    seen: dict[str, str] = {}
    for key, schema in COLLECTIONS.items():
        items = doc.get(key, [])
        if not isinstance(items, list):
            problems.append(f"{key}: expected a list")
            continue
        for i, obj in enumerate(items):
            for err in validators[schema].iter_errors(obj):
                where = "/".join(str(x) for x in err.absolute_path)
                problems.append(f"{key}[{i}]{'.' + where if where else ''}: {err.message}")
            oid = obj.get("id") if isinstance(obj, dict) else None
            if oid in seen:
                problems.append(f"{key}[{i}].id: {oid} is also used by {seen[oid]}")
            elif oid:
                seen[oid] = f"{key}[{i}]"

    def ids(key: str) -> set[str]:
        return {o.get("id") for o in doc.get(key, []) if isinstance(o, dict)}

    orgs, locs, svcs = ids("organizations"), ids("locations"), ids("services")
    terms, taxes = ids("taxonomy_terms"), ids("taxonomies")

    def ref(key: str, i: int, field: str, value: Any, pool: set[str]) -> None:
        if value is not None and value not in pool:
            problems.append(f"{key}[{i}].{field}: {value} refers to nothing in this document")

    for i, s in enumerate(doc.get("services", [])):
        ref("services", i, "organization_id", s.get("organization_id"), orgs)
        for a in s.get("attributes", []):
            ref("services", i, "attributes.taxonomy_term_id", a.get("taxonomy_term_id"), terms)
    for i, loc in enumerate(doc.get("locations", [])):
        ref("locations", i, "organization_id", loc.get("organization_id"), orgs)
    for i, sal in enumerate(doc.get("service_at_locations", [])):
        ref("service_at_locations", i, "service_id", sal.get("service_id"), svcs)
        ref("service_at_locations", i, "location_id", sal.get("location_id"), locs)
    for i, t in enumerate(doc.get("taxonomy_terms", [])):
        ref("taxonomy_terms", i, "taxonomy_id", t.get("taxonomy_id"), taxes)
        ref("taxonomy_terms", i, "parent_id", t.get("parent_id"), terms)
    for i, a in enumerate(doc.get("attributes", [])):
        ref("attributes", i, "taxonomy_term_id", a.get("taxonomy_term_id"), terms)
    return problems


def bundle_hsds_json(bundle: Bundle, path: Path) -> None:
    doc = hsds_document(bundle)
    problems = validate_hsds(doc)
    if problems:  # a bug in the mapping, never the user's data: fail loudly
        raise RuntimeError("HSDS export does not validate: " + "; ".join(problems[:5]))
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


def _tables(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The document flattened into HSDS tables (resource name -> rows)."""
    t: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "organization", "location", "address", "accessibility", "service", "phone",
            "schedule", "language", "cost_option", "attribute", "service_at_location",
            "taxonomy", "taxonomy_term",
        )
    }  # fmt: skip
    t["organization"] = list(doc["organizations"])
    for loc in doc["locations"]:
        t["location"].append(loc)
        t["address"] += loc.get("addresses", [])
        t["accessibility"] += loc.get("accessibility", [])
    for s in doc["services"]:
        t["service"].append(s)
        t["phone"] += s.get("phones", [])
        t["schedule"] += s.get("schedules", [])
        t["language"] += s.get("languages", [])
        t["cost_option"] += s.get("cost_options", [])
        t["attribute"] += s.get("attributes", [])
    t["attribute"] += doc["attributes"]
    t["service_at_location"] = list(doc["service_at_locations"])
    t["taxonomy"] = list(doc["taxonomies"])
    t["taxonomy_term"] = list(doc["taxonomy_terms"])
    return t


def _write_package(doc: dict[str, Any], folder: Path) -> list[str]:
    from assetmap.export._tabular import write_csv

    package = json.loads((SCHEMA_DIR / "datapackage.json").read_text(encoding="utf-8"))
    resources = {r["name"]: r for r in package["resources"]}
    written = []
    kept = []
    for name, rows in _tables(doc).items():
        res = resources[name]
        fields = [f["name"] for f in res["schema"]["fields"]]
        frame = pd.DataFrame(
            [
                {f: row.get(f) for f in fields if not isinstance(row.get(f), list | dict)}
                for row in rows
            ],
            columns=fields,
        )
        write_csv(frame, folder / res["path"])
        written.append(res["path"])
        kept.append(res)
    package["resources"] = kept
    package["name"] = "assetmap_hsds_export"
    package["title"] = "assetmap partners as an HSDS 3.0 data package"
    package["created"] = doc["generated"]
    (folder / "datapackage.json").write_text(
        json.dumps(package, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return [*written, "datapackage.json"]


def bundle_hsds_csv(bundle: Bundle, path: Path) -> None:
    """HSDS CSV data package: into ``path`` when it is a folder, else a zip at ``path``."""
    doc = hsds_document(bundle)
    problems = validate_hsds(doc)
    if problems:
        raise RuntimeError("HSDS export does not validate: " + "; ".join(problems[:5]))
    if path.is_dir():
        _write_package(doc, path)
        return
    with tempfile.TemporaryDirectory() as tmp:
        files = _write_package(doc, Path(tmp))
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in files:
                zf.write(Path(tmp) / name, arcname=name)
