"""Open Referral HSDS 3.0 into partner rows (one per service at a location).

Accepted forms (as in the HSDS 3.0 examples): JSON of an organization (with nested
services and locations), a service, a service-at-location, a list of any of them, or a
paged list (``{"contents": [...]}``); and the tabular CSV data package (a folder or a .zip
holding organizations.csv, services.csv, locations.csv, service_at_location.csv, …).

Output columns use canonical Partners names plus ``lat``/``lon`` and ``hsds_*`` ids; codes
(services, languages) are mapped later by :mod:`assetmap.schema`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from assetmap._errors import InputError
from assetmap.io._common import Loaded, Source, is_bytes, load_source, local_path
from assetmap.io._csv import read_csv_bytes
from assetmap.io._zip import open_zip
from assetmap.report import ValidationReport

__all__ = ["is_hsds", "read_hsds_source", "HSDS_TABLES"]

HSDS_TABLES = (
    "organizations",
    "services",
    "locations",
    "service_at_location",
    "languages",
    "phones",
    "addresses",
    "schedules",
    "attributes",
    "taxonomy_terms",
    "cost_options",
    "accessibility",
)
_ORG_KEYS = {"tax_status", "legal_status", "year_incorporated", "organization_identifiers"}


def _is_hsds_json(obj: Any) -> bool:
    items = obj.get("contents") if isinstance(obj, dict) and "contents" in obj else obj
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        return False
    first = items[0]
    if first.get("type") in ("Feature", "FeatureCollection"):
        return False
    keys = set(first)
    return bool(
        {"service_at_locations", "services"} & keys
        or {"service", "location"} <= keys
        or _ORG_KEYS & keys
        or ({"name", "status"} <= keys and "organization" in keys)
    )


def is_hsds(source: Loaded | Path) -> bool:
    """True for HSDS JSON, an HSDS CSV data package folder, or its zip."""
    if isinstance(source, Path):
        return source.is_dir() and (source / "services.csv").is_file()
    head = source.data[:4]
    if head == b"PK\x03\x04":
        try:
            sz = open_zip(source.data, name=source.name)
        except InputError:
            return False
        return any(PurePosixPath(m).name == "services.csv" for m in sz.members)
    if source.data.lstrip()[:1] not in (b"{", b"["):
        return False
    try:
        return _is_hsds_json(json.loads(source.data))
    except (ValueError, RecursionError):
        return False


# ---------------------------------------------------------------- the shared converter


def _s(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return str(v).strip()


def _first(*vals: Any) -> str:
    for v in vals:
        if _s(v):
            return _s(v)
    return ""


def _oe_map() -> dict[str, str]:
    from assetmap.taxonomy import load_taxonomy

    tax = load_taxonomy()
    out: dict[str, str] = {}
    for code, need in tax.needs.items():
        if need.parent is not None:
            for oe in need.oe_ids:
                out.setdefault(oe, code)
    for code, need in tax.needs.items():
        if need.parent is None:
            for oe in need.oe_ids:
                out.setdefault(oe, code)
    return out


def _cost(service: dict[str, Any]) -> tuple[str, str]:
    """(cost code, text) from cost_options / fees_description."""
    options = [o for o in service.get("cost_options") or [] if isinstance(o, dict)]
    text = _first(service.get("fees_description"), service.get("fees"))
    amounts = []
    for o in options:
        try:
            amounts.append(float(_s(o.get("amount")).replace(",", "")))
        except ValueError:
            continue
    low = text.lower()
    if "sliding" in low:
        code = "sliding_scale"
    elif amounts and all(a == 0 for a in amounts) or re.search(r"\bfree\b|no cost|no charge", low):
        code = "free"
    elif amounts or re.search(r"\bpay|\bcharge|\bfee|[$£€]\s?\d", low):
        code = "fee"
    else:
        code = "unknown"
    if options and not text:
        text = "; ".join(
            " ".join(
                x
                for x in (
                    _s(o.get("option")),
                    _s(o.get("amount")),
                    _s(o.get("currency")),
                    _s(o.get("amount_description")),
                )
                if x
            )
            for o in options
        )
    return code, text


def _hours(schedules: list[dict[str, Any]]) -> str:
    parts = []
    for sch in schedules:
        if not isinstance(sch, dict):
            continue
        desc = _s(sch.get("description"))
        if desc:
            parts.append(desc)
            continue
        opens, closes, days = (
            _s(sch.get("opens_at")),
            _s(sch.get("closes_at")),
            _s(sch.get("byday")),
        )
        if opens or closes:
            parts.append(" ".join(x for x in (days, f"{opens[:5]}-{closes[:5]}") if x))
    return "; ".join(dict.fromkeys(parts))


def _ada(location: dict[str, Any]) -> bool | None:
    recs = [a for a in location.get("accessibility") or [] if isinstance(a, dict)]
    if not recs:
        return None
    text = " ".join(_s(a.get("description")) + " " + _s(a.get("details")) for a in recs).lower()
    if re.search(r"\bnot (wheelchair )?accessible|no wheelchair|no step-free|inaccessible", text):
        return False
    if re.search(r"wheelchair|accessible|step-free|ramp|elevator|lift", text):
        return True
    return None


def _phone(*sources: list[Any] | None) -> str:
    for lst in sources:
        for p in lst or []:
            if isinstance(p, dict) and _s(p.get("number")):
                num = _s(p.get("number")).strip('"')
                ext = _s(p.get("extension"))
                return f"{num} x{ext}" if ext else num
    return ""


def _languages(*sources: list[Any] | None) -> list[str]:
    out: list[str] = []
    for lst in sources:
        for lang in lst or []:
            if not isinstance(lang, dict):
                continue
            val = _first(lang.get("code"), lang.get("name"))
            if val and val not in out:
                out.append(val)
    return out


#: assetmap's own taxonomy in its exports: a partner's category and flags (not services).
PARTNER_TAXONOMY = "assetmap-partner"
_EXAMPLE_ALERT = re.compile(r"^EXAMPLE\b.*not a real organisation\.?\s*", re.IGNORECASE)


def _is_partner_term(attr: dict[str, Any], term: dict[str, Any]) -> bool:
    return _s(term.get("taxonomy")) == PARTNER_TAXONOMY or _s(attr.get("link_type")) in (
        "partner_category",
        "partner_flag",
    )


def _partner_signals(service: dict[str, Any]) -> tuple[str, set[str]]:
    """The category and flags (``placement:town`` included) an assetmap export attached."""
    category, flags = "", set()
    for attr in service.get("attributes") or []:
        term = attr.get("taxonomy_term") if isinstance(attr, dict) else None
        if not isinstance(term, dict) or not _is_partner_term(attr, term):
            continue
        kind, _, value = _s(term.get("code")).partition(":")
        if kind == "category" and value:
            category = value
        elif kind == "flag" and value:
            flags.add(value)
        elif kind == "placement" and value:
            flags.add(f"placement:{value}")
    if _EXAMPLE_ALERT.match(_s(service.get("alert"))):
        flags.add("example")
    return category, flags


def _terms(service: dict[str, Any], oe: dict[str, str]) -> list[str]:
    out: list[str] = []
    for attr in service.get("attributes") or []:
        if not isinstance(attr, dict):
            continue
        term = attr.get("taxonomy_term") or {}
        if not isinstance(term, dict) or _is_partner_term(attr, term):
            continue
        code, name = _s(term.get("code")), _s(term.get("name"))
        val = oe.get(code) or name or code
        if val and val not in out:
            out.append(val)
    return out


def _address(location: dict[str, Any]) -> dict[str, str]:
    addrs = [a for a in location.get("addresses") or [] if isinstance(a, dict)]
    addrs.sort(key=lambda a: 0 if _s(a.get("address_type")) == "physical" else 1)
    if not addrs:
        return {"address": "", "city": "", "state": "", "postal_code": ""}
    a = addrs[0]
    return {
        "address": ", ".join(x for x in (_s(a.get("address_1")), _s(a.get("address_2"))) if x),
        "city": _s(a.get("city")),
        "state": _s(a.get("state_province")),
        "postal_code": _s(a.get("postal_code")),
    }


def _row(
    sal: dict[str, Any],
    service: dict[str, Any],
    location: dict[str, Any],
    org: dict[str, Any],
    *,
    source: str,
    oe: dict[str, str],
) -> dict[str, Any]:
    cost, cost_text = _cost(service)
    eligibility = _s(service.get("eligibility_description"))
    ages = [_s(service.get("minimum_age")), _s(service.get("maximum_age"))]
    if any(ages) and "age" not in eligibility.lower():
        eligibility = "; ".join(
            x for x in (eligibility, f"ages {ages[0] or '0'}-{ages[1] or ''}".rstrip("-")) if x
        )
    assured = _s(service.get("assured_date"))[:10]
    category, flags = _partner_signals(service)
    own_id = (
        _s(location.get("external_identifier"))
        if _s(location.get("external_identifier_type")) == "assetmap_partner_id"
        else ""
    )
    row: dict[str, Any] = {
        "partner_id": _first(
            own_id,
            sal.get("id"),
            f"{_s(service.get('id'))}@{_s(location.get('id'))}".strip("@"),
        ),
        "name": _first(service.get("name"), location.get("name"), org.get("name")),
        "organization": _s(org.get("name")),
        "services": ";".join(_terms(service, oe)),
        "languages": ";".join(
            _languages(service.get("languages"), location.get("languages"), sal.get("languages"))
        ),
        **_address(location),
        "phone": _phone(
            sal.get("phones"), service.get("phones"), location.get("phones"), org.get("phones")
        ),
        "email": _first(service.get("email"), org.get("email")),
        "website": _first(service.get("url"), org.get("website"), org.get("url")),
        "hours": _hours(
            (sal.get("schedules") or [])
            + (service.get("schedules") or [])
            + (location.get("schedules") or [])
        ),
        "description": _EXAMPLE_ALERT.sub(
            "", _first(sal.get("description"), service.get("description"))
        ),
        "eligibility": eligibility,
        "cost": cost,
        "cost_description": cost_text,
        "ada_accessible": _ada(location),
        "last_verified": assured,
        "delivery": "in_person"
        if _s(location.get("location_type")) in ("", "physical") and location
        else "",
        "source": source,
        "lat": _s(location.get("latitude")),
        "lon": _s(location.get("longitude")),
        "hsds_location_name": _s(location.get("name")),
        "hsds_service_id": _s(service.get("id")),
        "hsds_location_id": _s(location.get("id")),
        "hsds_organization_id": _s(org.get("id")),
    }
    if category:
        row["category"] = category
    for flag in ("example", "sensitive"):
        if flag in flags:
            row[flag] = True
    placement = [f.split(":", 1)[1] for f in flags if f.startswith("placement:")]
    if placement and row["lat"]:
        row["geocode_quality"] = placement[0]
    if _s(service.get("status")) and _s(service.get("status")) != "active":
        row["hsds_status"] = _s(service.get("status"))
    return row


def _rows_from_service(
    service: dict[str, Any], org: dict[str, Any], *, source: str, oe: dict[str, str]
) -> list[dict[str, Any]]:
    org = service.get("organization") if isinstance(service.get("organization"), dict) else org
    sals = [s for s in service.get("service_at_locations") or [] if isinstance(s, dict)]
    if not sals:
        return [_row({}, service, {}, org or {}, source=source, oe=oe)]
    return [
        _row(
            s,
            service,
            s.get("location") if isinstance(s.get("location"), dict) else {},
            org or {},
            source=source,
            oe=oe,
        )
        for s in sals
    ]


def _rows_from_bundle(doc: dict[str, Any], *, source: str) -> list[dict[str, Any]]:
    """The flat export form ({organizations, locations, services, service_at_locations,
    taxonomy_terms, ...}, as assetmap writes it): join the lists by id."""
    oe = _oe_map()
    by_id = {
        k: {_s(x.get("id")): x for x in doc.get(k) or [] if isinstance(x, dict)}
        for k in ("organizations", "locations", "services", "taxonomy_terms")
    }
    for svc in by_id["services"].values():
        for attr in svc.get("attributes") or []:
            if isinstance(attr, dict) and "taxonomy_term" not in attr:
                attr["taxonomy_term"] = by_id["taxonomy_terms"].get(
                    _s(attr.get("taxonomy_term_id")), {}
                )
    rows, used = [], set()
    for sal in doc.get("service_at_locations") or []:
        svc = by_id["services"].get(_s(sal.get("service_id"))) if isinstance(sal, dict) else None
        if svc is None:
            continue
        used.add(_s(svc.get("id")))
        loc = by_id["locations"].get(_s(sal.get("location_id")), {})
        org = by_id["organizations"].get(_s(svc.get("organization_id")), {})
        rows.append(_row(sal, svc, loc, org, source=source, oe=oe))
    for sid, svc in by_id["services"].items():
        if sid not in used:
            org = by_id["organizations"].get(_s(svc.get("organization_id")), {})
            rows.append(_row({}, svc, {}, org, source=source, oe=oe))
    return rows


def _rows_from_json(obj: Any, *, source: str, report: ValidationReport) -> list[dict[str, Any]]:
    if isinstance(obj, dict) and all(
        isinstance(obj.get(k), list) for k in ("services", "locations", "service_at_locations")
    ):
        return _rows_from_bundle(obj, source=source)
    oe = _oe_map()
    items = obj.get("contents") if isinstance(obj, dict) and "contents" in obj else obj
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise InputError(f"{source}: not HSDS JSON (expected an object or a list of objects).")
    rows: list[dict[str, Any]] = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            report.add("not an HSDS record (expected an object)", row=n, value=str(item)[:80])
            continue
        keys = set(item)
        if {"service", "location"} <= keys or (
            "service" in keys and isinstance(item.get("service"), dict)
        ):
            service = item.get("service") or {}
            org = (
                service.get("organization") if isinstance(service.get("organization"), dict) else {}
            )
            loc = item.get("location") if isinstance(item.get("location"), dict) else {}
            rows.append(_row(item, service, loc, org or {}, source=source, oe=oe))
        elif "services" in keys or _ORG_KEYS & keys:
            services = [s for s in item.get("services") or [] if isinstance(s, dict)]
            if not services:
                report.warn(
                    f"organization {_s(item.get('name'))!r} has no services; nothing to map",
                    row=n,
                    value=_s(item.get("id")),
                    hint="HSDS partners come from services at locations",
                )
            for svc in services:
                rows.extend(_rows_from_service(svc, item, source=source, oe=oe))
        elif "name" in keys:
            rows.extend(_rows_from_service(item, {}, source=source, oe=oe))
        else:
            report.add(
                "not an HSDS organization, service or service_at_location",
                row=n,
                value=str(sorted(keys))[:80],
            )
    return rows


# ---------------------------------------------------------------- the CSV data package


def _records(tables: dict[str, pd.DataFrame], name: str) -> list[dict[str, Any]]:
    df = tables.get(name)
    if df is None:
        return []
    return [{k: _s(v) for k, v in rec.items()} for rec in df.to_dict("records")]


def _group(recs: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in recs:
        if r.get(key):
            out.setdefault(r[key], []).append(r)
    return out


def _rows_from_tables(
    tables: dict[str, pd.DataFrame], *, source: str, report: ValidationReport
) -> list[dict[str, Any]]:
    """One row per service at a location (services without one: a row without location)."""
    oe = _oe_map()
    orgs = {r["id"]: r for r in _records(tables, "organizations") if r.get("id")}
    services = {r["id"]: r for r in _records(tables, "services") if r.get("id")}
    locations = {r["id"]: r for r in _records(tables, "locations") if r.get("id")}
    phones = _records(tables, "phones")
    schedules = _records(tables, "schedules")
    _nest_services(services, tables, phones, schedules, report)
    _nest_locations(locations, orgs, tables, phones)
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for n, sal in enumerate(_records(tables, "service_at_location"), start=2):
        svc = services.get(sal.get("service_id", ""))
        if svc is None:
            report.add(
                "service_at_location points at a service that is not in services.csv; skipped",
                row=n,
                column="service_id",
                value=sal.get("service_id"),
                hint="fix the id or add the service",
            )
            continue
        loc = locations.get(sal.get("location_id", ""))
        if loc is None:
            report.warn(
                "service_at_location points at a location that is not in locations.csv; kept without a location",
                row=n,
                column="location_id",
                value=sal.get("location_id"),
            )
            loc = {}
        sal["phones"] = [p for p in phones if p.get("service_at_location_id") == sal.get("id")]
        sal["schedules"] = [
            s for s in schedules if s.get("service_at_location_id") == sal.get("id")
        ]
        used.add(svc["id"])
        org = orgs.get(svc.get("organization_id", ""), {})
        rows.append(_row(sal, svc, loc, org, source=source, oe=oe))
    for sid, svc in services.items():
        if sid not in used:
            org = orgs.get(svc.get("organization_id", ""), {})
            rows.append(_row({}, svc, {}, org, source=source, oe=oe))
    return rows


def _nest_services(
    services: dict[str, dict[str, Any]],
    tables: dict[str, pd.DataFrame],
    phones: list[dict[str, Any]],
    schedules: list[dict[str, Any]],
    report: ValidationReport,
) -> None:
    """Attach each service's languages, phones, costs, schedules and taxonomy attributes."""
    terms = {r["id"]: r for r in _records(tables, "taxonomy_terms") if r.get("id")}
    langs = _records(tables, "languages")
    costs = _group(_records(tables, "cost_options"), "service_id")
    attrs = _group(_records(tables, "attributes"), "link_id")
    for sid, svc in services.items():
        svc["languages"] = [lg for lg in langs if lg.get("service_id") == sid]
        svc["phones"] = [
            p for p in phones if p.get("service_id") == sid and not p.get("service_at_location_id")
        ]
        svc["cost_options"] = costs.get(sid, [])
        svc["attributes"] = []
        for a in attrs.get(sid, []):
            term = terms.get(a.get("taxonomy_term_id", ""))
            if term is None:
                report.warn(
                    "attribute points at a taxonomy term that is not in taxonomy_terms.csv",
                    column="taxonomy_term_id",
                    value=a.get("taxonomy_term_id"),
                    hint="add the term or remove the attribute",
                )
                continue
            svc["attributes"].append(
                {"taxonomy_term": term, "link_type": a.get("link_type"), "value": a.get("value")}
            )
        svc["schedules"] = [
            s
            for s in schedules
            if s.get("service_id") == sid and not s.get("service_at_location_id")
        ]


def _nest_locations(
    locations: dict[str, dict[str, Any]],
    orgs: dict[str, dict[str, Any]],
    tables: dict[str, pd.DataFrame],
    phones: list[dict[str, Any]],
) -> None:
    """Attach each location's addresses, accessibility, languages and phones; orgs' phones."""
    langs = _records(tables, "languages")
    addresses = _group(_records(tables, "addresses"), "location_id")
    access = _group(_records(tables, "accessibility"), "location_id")
    for lid, loc in locations.items():
        loc["addresses"] = addresses.get(lid, [])
        loc["accessibility"] = access.get(lid, [])
        loc["languages"] = [
            lg for lg in langs if lg.get("location_id") == lid and not lg.get("service_id")
        ]
        loc["phones"] = [
            p for p in phones if p.get("location_id") == lid and not p.get("service_id")
        ]
    for oid, org in orgs.items():
        org["phones"] = [
            p
            for p in phones
            if p.get("organization_id") == oid
            and not p.get("service_id")
            and not p.get("location_id")
        ]


def _tables_from(
    files: dict[str, tuple[bytes, str]], *, source: str, report: ValidationReport
) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {}
    for table in HSDS_TABLES:
        if table not in files:
            continue
        data, shown = files[table]
        sub = ValidationReport(file=shown)
        try:
            df = read_csv_bytes(Loaded(data=data, name=shown, suffix=".csv"), report=sub)
        except InputError as exc:
            if table == "services":
                raise
            report.warn(
                f"{table}.csv could not be read and was ignored: {exc}", value=f"{table}.csv"
            )
            continue
        for p in sub.errors:
            report.add(
                f"{table}.csv: {p.message}", row=p.row, column=p.column, value=p.value, hint=p.hint
            )
        tables[table] = df
    if "services" not in tables:
        raise InputError(
            f"{source}: no services.csv — not an HSDS CSV data package "
            f"(expected {', '.join(t + '.csv' for t in HSDS_TABLES[:4])}, …)."
        )
    missing = [
        t + ".csv" for t in ("organizations", "locations", "service_at_location") if t not in tables
    ]
    if missing:
        report.warn(
            f"the data package has no {', '.join(missing)}",
            hint="services without locations are kept without a location",
        )
    report.notes["hsds_tables"] = sorted(tables)
    return tables


def read_hsds_source(
    source: Source, *, name: str | None = None, report: ValidationReport | None = None
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read HSDS JSON, a CSV data package folder or its zip into partner rows."""
    files: dict[str, tuple[bytes, str]] = {}
    obj: Any = None
    if (
        not is_bytes(source)
        and isinstance(source, str | os.PathLike)
        and local_path(source).is_dir()
    ):
        folder = local_path(source)
        shown = name or folder.name
        rep = report or ValidationReport(file=shown)
        for table in HSDS_TABLES:
            f = folder / f"{table}.csv"
            if f.is_file():
                files[table] = (load_source(f).data, f"{shown}/{table}.csv")
    else:
        loaded = load_source(source, name=name)
        shown = loaded.name
        rep = report or ValidationReport(file=shown)
        if loaded.data[:4] == b"PK\x03\x04":
            sz = open_zip(loaded.data, name=shown)
            for member in sz.members:
                stem = PurePosixPath(member).stem
                if (
                    PurePosixPath(member).suffix.lower() == ".csv"
                    and stem in HSDS_TABLES
                    and stem not in files
                ):
                    files[stem] = (sz.read(member), f"{shown}/{member}")
        else:
            try:
                obj = json.loads(loaded.data)
            except RecursionError as exc:
                raise InputError(f"{shown}: the JSON is nested too deeply to read.") from exc
            except ValueError as exc:
                raise InputError(f"{shown}: not valid JSON ({exc}).") from exc
            if not _is_hsds_json(obj):
                raise InputError(
                    f"{shown}: not HSDS 3.0 JSON (expected organizations with services, services, "
                    "or service_at_location records)."
                )
    rep.kind = rep.kind or "partners"
    rep.notes["format"] = "hsds"
    if obj is not None:
        rows = _rows_from_json(obj, source=f"HSDS: {shown}", report=rep)
    else:
        tables = _tables_from(files, source=shown, report=rep)
        rows = _rows_from_tables(tables, source=f"HSDS: {shown}", report=rep)
    frame = pd.DataFrame(rows, dtype=object)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    rep.rows_read = len(frame)
    return frame, rep
