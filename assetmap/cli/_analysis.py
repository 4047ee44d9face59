"""``assetmap needs | match | gaps | network | export``: survey-driven analysis and exports.

Survey figures only ever leave through the suppressed NeedProfile (``needs``); every other
command prints suppressed displays ("<6", "fewer than 6 responses") and never a raw count.
Identifying survey columns are dropped on reading and named (never quoted) on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assetmap._errors import InputError

_EXAMPLES = {
    "needs": "assetmap needs --survey survey.csv --json",
    "match": "assetmap match --school 0640611 --json",
    "gaps": "assetmap gaps --district 0640011",
    "calllist": "assetmap calllist --district 0640011",
    "network": "assetmap network --school 'Burns Latino Studies Academy' --out network.xlsx",
    "export": "assetmap export --out partners.gpkg",
}


def _survey_args(p: argparse.ArgumentParser) -> None:
    from assetmap.cli._core import store_arg

    store_arg(p)
    p.add_argument(
        "--survey",
        help="family survey (CSV or Excel, response level or aggregated); default: the "
        "survey kept in the workspace (the shipped SYNTHETIC one in the default workspace)",
    )
    p.add_argument("--partners", help="a partner file instead of the workspace's partners")


def register(sub: argparse._SubParsersAction) -> None:
    from assetmap.cli._core import store_arg

    p = sub.add_parser(
        "needs",
        help="the suppressed need profile of every surveyed school",
        description="Families per need, home language and need x language per school, with "
        "Connecticut small-cell suppression. Example: " + _EXAMPLES["needs"],
    )

    store_arg(p)
    p.add_argument("--survey", help="family survey; default: the survey kept in the workspace")
    p.add_argument("--school", action="append", default=[], help="only this school (id or name)")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.set_defaults(handler=_needs)

    p = sub.add_parser(
        "match",
        help="ranked partners for each need of a school",
        description="Partners per need ranked by an explainable score. Example: "
        + _EXAMPLES["match"],
    )
    _survey_args(p)
    p.add_argument(
        "--school",
        action="append",
        default=[],
        help="school id or name (repeatable; default: every surveyed school)",
    )
    p.add_argument("--limit", type=int, default=5, help="partners per need (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.add_argument(
        "--mode",
        choices=("walk", "drive"),
        help="score distance by travel minutes (config/roads.toml [decay_minutes]) on the "
        "workspace's road network, else estimated; candidates stay within reach in km",
    )
    p.add_argument(
        "--roads-store",
        metavar="LOCATION",
        help="workspace whose road network --mode uses (default: settings store_location)",
    )
    _engine_args(p)
    p.set_defaults(handler=_match, max_minutes=None)

    p = sub.add_parser(
        "gaps",
        help="needs and languages with no partner within reach",
        description="Needs and need x language pairs with no partner within reach, with the "
        "nearest partner beyond reach. Example: " + _EXAMPLES["gaps"],
    )
    _survey_args(p)
    p.add_argument("--district", help="district id or name")
    p.add_argument("--school", action="append", default=[], help="school id or name")
    p.add_argument("--json", action="store_true", help="print JSON")
    _travel_args(p)
    _engine_args(p)
    p.set_defaults(handler=_gaps)

    p = sub.add_parser(
        "calllist",
        help="partners to call first: missing language/hours data behind the most gaps",
        description="Partners whose missing language (or hours) data would resolve the most "
        "language_unknown gaps, with phone numbers, plus the data completeness per category. "
        "Example: " + _EXAMPLES["calllist"],
    )
    _survey_args(p)
    p.add_argument("--district", help="district id or name (default: every surveyed school)")
    p.add_argument("--limit", type=int, default=25, help="at most this many partners (25)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_calllist)

    p = sub.add_parser(
        "network",
        help="a coordinated partner network (lead + backups per need) to a file",
        description="Lead partner and up to two backups per need, for a school or every "
        "surveyed school of a district. The format follows --out: .csv .xlsx .kumu.xlsx "
        ".geojson .gpkg .graphml .json (HSDS 3.0) .zip (HSDS CSV) .html or .pdf (family sheet, "
        "one page per school; e.g. --out sheet.pdf --language ar). "
        "Example: " + _EXAMPLES["network"],
    )
    _survey_args(p)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--school", action="append", help="school id or name (repeatable)")
    who.add_argument("--district", help="district id or name")
    p.add_argument("--out", required=True, help="output file; the extension picks the format")
    p.add_argument(
        "--language",
        default="en",
        help="language of the family sheet (.html, .pdf), e.g. es, ar, ur, prs (default en)",
    )
    p.add_argument("--json", action="store_true", help="also print the network as JSON")
    _engine_args(p)
    p.set_defaults(handler=_network)

    p = sub.add_parser(
        "export",
        help="write partners to a file (same formats as network)",
        description="Export the workspace's partners (every current record; or --partners) to "
        "CSV, Excel, GeoJSON, GeoPackage, GraphML, HSDS, HTML or PDF. Example: "
        + _EXAMPLES["export"],
    )
    store_arg(p)
    p.add_argument("--partners", help="a partner file instead of the workspace's partners")
    p.add_argument("--out", required=True, help="output file; the extension picks the format")
    p.set_defaults(handler=_export)


# ------------------------------------------------------------------------------ helpers
def _travel_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mode",
        choices=("walk", "drive"),
        help="reach in travel minutes (config/roads.toml [reach_minutes]) instead of km; on "
        "the workspace's road network ('assetmap roads import'), else estimated",
    )
    p.add_argument("--max-minutes", type=float, help="one reach in minutes for every need")
    p.add_argument(
        "--roads-store",
        metavar="LOCATION",
        help="workspace whose road network --mode uses (default: settings store_location)",
    )


def _roads(args: argparse.Namespace):
    from assetmap.roads import load_network
    from assetmap.settings import get_settings

    if args.max_minutes is not None and not args.mode:
        raise InputError("--max-minutes needs a travel mode, e.g. --mode walk --max-minutes 20")
    if args.max_minutes is not None and not (0 < args.max_minutes < 1e6):
        raise InputError(
            f"--max-minutes must be a positive number, e.g. 20; got {args.max_minutes}"
        )
    return load_network(args.roads_store or get_settings().store_location)


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in r.items()} for r in df.to_dict("records")]


def _dump(obj: Any) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


def _workspace(args: argparse.Namespace):
    from assetmap.cli._core import open_workspace

    return open_workspace(args)


def _profile(path: str | None, schools, ws=None):
    from assetmap.needs import load_profile

    if path is None:
        profile = ws.profile() if ws is not None else None
        if profile is None:
            raise InputError(
                f"the workspace {ws.location if ws is not None else ''} holds no family survey; "
                "give one with --survey FILE (CSV or .xlsx), or keep one in the workspace with "
                "`assetmap init --survey FILE`."
            )
        # the kept survey's unrecognised answers are listed with --verbose only
        n_warn, warned = ws.survey_warnings()
        if logging.getLogger().isEnabledFor(logging.INFO):
            for w in warned[:20]:
                sys.stderr.write(f"warning: {w}\n")
        if profile.synthetic:
            extra = f"; {n_warn} answer(s) not recognised (--verbose lists them)" if n_warn else ""
            sys.stderr.write(
                f"note: this survey is SYNTHETIC (demo data, not real families){extra}\n"
            )
        return profile
    if not Path(path).is_file():
        raise InputError(f"--survey {path}: no such file. Give the path of a CSV or .xlsx survey.")
    profile, report = load_profile(path, schools=schools)
    for p in report.warnings[:20]:
        sys.stderr.write(f"warning: {p.describe()}\n")
    if len(report.warnings) > 20:
        sys.stderr.write(f"warning: … {len(report.warnings) - 20} more warnings\n")
    for p in report.errors[:20]:
        sys.stderr.write(f"error: {p.describe()}\n")
    if profile.synthetic:
        sys.stderr.write("note: this survey is SYNTHETIC (demo data, not real families)\n")
    return profile


def _index(path: str | None, ws):
    from assetmap.cli._core import _load_index

    return _load_index(path, ws)


def _school_ids(queries: list[str], schools) -> list[str]:
    from assetmap.near import resolve_school

    return [str(resolve_school(q, schools)[1]["school_id"]) for q in queries]


def _district_id(query: str, schools) -> str:
    from assetmap._text import fold

    q = str(query).strip()
    ids = schools["district_id"].astype(str)
    if (ids == q).any():
        return q
    if "district_name" in schools.columns:
        names = schools["district_name"].astype(str)
        for cand in (names.map(fold) == fold(q), names.map(fold).str.startswith(fold(q))):
            hit = ids[cand].unique()
            if len(hit) == 1:
                return str(hit[0])
    raise InputError(
        f"no district matches {q!r}. Give the district id (as the schools file spells it) "
        "or the district's full name."
    )


def _context(args, ws, schools, profile):
    from assetmap.match import prepare

    return prepare(
        partners_index=_index(args.partners, ws), profile=profile, schools=schools, zones=ws.zones()
    )


# ------------------------------------------------------------------------------ commands
def _needs(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    schools = ws.schools()
    profile = _profile(args.survey, schools, ws)
    pub = profile.published()
    if args.school:
        ids = _school_ids(args.school, schools)
        pub = pub[pub["school_id"].isin(ids)]
        if pub.empty:
            raise InputError(f"no survey responses for {', '.join(args.school)}")
    if args.json:
        _dump(_records(pub))
        return 0
    for sid, rows in pub.groupby("school_id", sort=False):
        total = rows[rows["dimension"] == "total"].iloc[0]
        print(f"{total['school_name']} ({sid}): {total['display']} families responded")
        needs = rows[(rows["dimension"] == "need") & (rows["display"] != "0")]
        if len(needs):
            print(
                "  needs:     "
                + ", ".join(
                    f"{n} {d}" for n, d in zip(needs["need"], needs["display"], strict=True)
                )
            )
        langs = rows[(rows["dimension"] == "language") & (rows["display"] != "0")]
        if len(langs):
            print(
                "  languages: "
                + ", ".join(
                    f"{la} {d}" for la, d in zip(langs["language"], langs["display"], strict=True)
                )
            )
    print("('<6' = fewer than 6 families, hidden to protect privacy; figures are families)")
    return 0


_MATCH_TEXT = ["need", "rank", "partner_name", "distance_km", "language_coverage", "score"]


def _match(args: argparse.Namespace) -> int:
    from assetmap.match import match_all

    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be at least 1 (e.g. --limit 5)")
    ws = _workspace(args)
    schools = ws.schools()
    profile = _profile(args.survey, schools, ws)
    ctx = _context(args, ws, schools, profile)
    ids = _school_ids(args.school, schools) if args.school else None
    if args.mode:
        from assetmap.roads import use_travel_time

        if _dask(args):
            raise InputError("--mode runs on the in-memory engine only: drop --engine dask")
        use_travel_time(ctx, mode=args.mode, roads=_roads(args))
    if _dask(args):
        res = _on_dask(args, ("match",), ids, profile, ctx, schools)["match"]
    else:
        res = match_all(ids, profile=profile, context=ctx, limit=args.limit)
    if args.mode:
        from assetmap.roads import with_travel_columns

        res = with_travel_columns(ctx, res)
    if args.json:
        _dump(_records(res))
        return 0
    for (sid, name), rows in res.groupby(["school_id", "school_name"], sort=False):
        print(f"{name} ({sid})")
        for _need, nrows in rows.groupby("need", sort=False):
            print(f"  {nrows['need_label'].iat[0]} (families: {nrows['families_display'].iat[0]})")
            for r in nrows.itertuples():
                flag = "" if r.within_reach else "  [beyond reach]"
                if args.mode:
                    est = " (estimated)" if r.travel_time_basis == "estimated" else ""
                    mins = r.travel_minutes
                    took = f"{mins:.0f} min" if mins == mins else "over an hour's"
                    flag += f"  {took} {r.mode}{est}"
                print(
                    f"    {r.rank}. {r.partner_name}  {r.distance_km:.1f} km  languages "
                    f"{','.join(r.languages) or '-'}  coverage {r.language_coverage:.0%}  "
                    f"score {r.score:.2f}{flag}"
                )
    return 0


def _gaps(args: argparse.Namespace) -> int:
    from assetmap.coverage import gaps, gaps_by_district

    ws = _workspace(args)
    schools = ws.schools()
    profile = _profile(args.survey, schools, ws)
    ctx = _context(args, ws, schools, profile)
    ids = None
    if args.school:
        ids = _school_ids(args.school, schools)
    elif args.district:
        did = _district_id(args.district, schools)
        ids = ctx.schools.loc[ctx.schools["district_id"].astype(str) == did, "school_id"].tolist()
        if not ids:
            raise InputError(f"district {did} has no surveyed schools")
    if args.mode or args.max_minutes is not None:
        return _gaps_in_minutes(args, ctx, ids)
    if _dask(args):
        g = _on_dask(args, ("gaps",), ids, profile, ctx, schools)["gaps"]
    else:
        g = gaps(ids, profile=profile, context=ctx)
    roll = gaps_by_district(g)
    if args.json:
        _dump(
            {
                "gaps": _records(g),
                "by_district": _records(roll),
                "coverage": _records(_honest_coverage(args, ctx, schools, ids)),
                "completeness": _records(_district_completeness(args, ctx, schools, ids)),
            }
        )
        return 0
    cov = _honest_coverage(args, ctx, schools, ids)
    if len(cov):
        print(f"{cov['surveyed_text'].iloc[0]}; coverage is computed over those only.")
    if g.empty:
        print("No gaps: every reported need has a partner within reach.")
        return 0
    for (sid, name), rows in g.groupby(["school_id", "school_name"], sort=False):
        print(f"{name} ({sid})")
        for r in rows.itertuples():
            what = r.need if r.gap_kind == "need" else f"{r.need} in {r.language}"
            near = (
                f"nearest {r.nearest_partner_name} at {r.nearest_distance_km:.1f} km"
                if r.nearest_partner_name
                else "no partner anywhere"
            )
            why = str(getattr(r, "reason", "") or "").replace("_", " ")
            print(
                f"  {r.gap_kind} gap ({why}): {what} (families {r.families_display}; "
                f"reach {r.reach_km:g} km; {near})"
            )
    return 0


def _gaps_in_minutes(args: argparse.Namespace, ctx, ids) -> int:
    from assetmap.roads import gaps_in_minutes

    roads = _roads(args)
    g = gaps_in_minutes(ctx, ids, mode=args.mode, roads=roads, max_minutes=args.max_minutes)
    if args.json:
        _dump({"gaps": _records(g), "travel_time_basis": "network" if roads else "estimated"})
        return 0
    verb = {"walk": "walk", "drive": "drive"}[args.mode]
    if roads is None:
        print("note: no road network imported: minutes are ESTIMATED from straight-line distance")
    if g.empty:
        print(f"No gaps: every reported need has a partner within its reach by {verb}.")
        return 0
    for (sid, name), rows in g.groupby(["school_id", "school_name"], sort=False):
        print(f"{name} ({sid})")
        for r in rows.itertuples():
            what = f"{r.need} help" if r.gap_kind == "need" else f"{r.need} help in {r.language}"
            est = " (estimated)" if r.travel_time_basis == "estimated" else ""
            near = (
                f"nearest {r.nearest_partner_name}, {r.nearest_travel_minutes:.0f} min{est}"
                if isinstance(r.nearest_partner_name, str)
                else f"none within {2 * r.reach_minutes:g} min"
            )
            print(
                f"  no {what} within a {r.reach_minutes:g}-minute {verb} "
                f"(families {r.families_display}; {near})"
            )
    return 0


def _scope_ids(args, schools) -> list[str] | None:
    """All schools of ``--district`` (surveyed or not); None = the whole state."""
    if getattr(args, "district", None):
        did = _district_id(args.district, schools)
        return (
            schools.loc[schools["district_id"].astype(str) == did, "school_id"].astype(str).tolist()
        )
    return None


def _honest_coverage(args, ctx, schools, ids) -> pd.DataFrame:
    """Coverage per need over the surveyed schools ("30 of 1,013 schools surveyed")."""
    from assetmap.coverage import need_coverage

    scope = _scope_ids(args, schools)
    if scope is None and getattr(args, "school", None):
        scope = list(ids or [])
    n = len(scope) if scope is not None else len(schools)
    return need_coverage(ctx, school_ids=scope, n_schools=n)


def _district_completeness(args, ctx, schools, ids) -> pd.DataFrame:
    """Completeness per category of the partners within the largest reach of the schools in
    scope (the partners their families could be sent to)."""
    from assetmap.completeness import completeness
    from assetmap.index import haversine_km

    p = ctx.index.partners
    scope = _scope_ids(args, schools) or ids
    sch = schools if scope is None else schools[schools["school_id"].astype(str).isin(scope)]
    if scope is None or len(sch) == 0:
        out = completeness(p)
    else:
        reach = ctx.settings.max_reach_km
        lat, lon = ctx.index.lat, ctx.index.lon
        near = np.zeros(len(p), dtype=bool)
        for pt in sch.geometry:
            if pt is None or pt.is_empty:
                continue
            near |= haversine_km(pt.y, pt.x, lat, lon) <= reach
        out = completeness(p[near])
    out.insert(0, "district_id", _district_id(args.district, schools) if args.district else None)
    return out


def _calllist(args: argparse.Namespace) -> int:
    from assetmap.completeness import call_list
    from assetmap.coverage import gaps

    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit must be at least 1, got {args.limit}")
    ws = _workspace(args)
    schools = ws.schools()
    profile = _profile(args.survey, schools, ws)
    ctx = _context(args, ws, schools, profile)
    ids = None
    if args.district:
        did = _district_id(args.district, schools)
        ids = ctx.schools.loc[ctx.schools["district_id"].astype(str) == did, "school_id"].tolist()
        if not ids:
            raise InputError(f"district {did} has no surveyed schools")
    g = gaps(ids, profile=profile, context=ctx)
    calls = call_list(ctx, g).head(args.limit)
    comp = _district_completeness(args, ctx, schools, ids)
    unknown = int((g["reason"] == "language_unknown").sum()) if len(g) else 0
    if args.json:
        _dump(
            {
                "language_unknown_gaps": unknown,
                "call_list": _records(calls),
                "completeness": _records(comp),
            }
        )
        return 0
    print(f"{unknown} gaps rest on partners whose languages are not recorded.")
    for r in calls.itertuples():
        phone = r.phone if isinstance(r.phone, str) and r.phone else "no phone on record"
        print(
            f"{r.rank:3d}. {r.name} ({r.city}) - {phone}: ask {' and '.join(r.missing)}; "
            f"could close {r.gaps_resolvable} gap(s) at {r.schools} school(s) "
            f"[{', '.join(r.needs)}; {', '.join(r.languages_to_ask)}]"
        )
    allrow = comp[comp["category"] == "(all)"].iloc[0]
    print(
        f"Data completeness ({int(allrow['partners']):,} partners in reach): languages "
        f"{allrow['pct_languages']:g} %, hours {allrow['pct_hours']:g} %, phone "
        f"{allrow['pct_phone']:g} %, verified {allrow['pct_last_verified']:g} %"
    )
    return 0


def _network(args: argparse.Namespace) -> int:
    from assetmap.coverage import gaps
    from assetmap.network import build_network

    ws = _workspace(args)
    schools = ws.schools()
    profile = _profile(args.survey, schools, ws)
    ctx = _context(args, ws, schools, profile)
    if args.school:
        ids = _school_ids(args.school, schools)
    else:
        did = _district_id(args.district, schools)
        ids = ctx.schools.loc[ctx.schools["district_id"].astype(str) == did, "school_id"].tolist()
        if not ids:
            raise InputError(f"district {did} has no surveyed schools")
    if _dask(args):
        both = _on_dask(args, ("network", "gaps"), ids, profile, ctx, schools)
        net, g = both["network"], both["gaps"]
    else:
        net = build_network(ids, profile=profile, context=ctx)
        g = gaps(ids, profile=profile, context=ctx)
    pub = profile.published()
    pub = pub[pub["school_id"].isin(ids)]
    out = _write_network(net, args.out, ctx, schools, g, pub, args.language)
    if args.json:
        _dump(_records(net))
    sys.stderr.write(
        f"wrote {out}: {len(net)} rows, {int((net['role'] == 'lead').sum())} leads, "
        f"{int((net['role'] == 'gap').sum())} gaps\n"
    )
    return 0


def _write_network(net, out, ctx, schools, gap_frame, pub, language) -> Path:
    from assetmap import export

    ids = set(net["partner_id"].dropna())
    partners = ctx.index.partners[ctx.index.partners["partner_id"].isin(ids)]
    sch = schools[schools["school_id"].astype(str).isin(set(net["school_id"]))]
    try:
        return export.export_network(
            net,
            out,
            partners=partners,
            schools=sch,
            gaps=gap_frame,
            profile=pub,
            language=language,
        )
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write ({exc.strerror or exc})") from exc


def _export(args: argparse.Namespace) -> int:
    from assetmap import export

    if args.partners:
        from assetmap.schema import load_file

        partners, report = load_file(args.partners, kind="partners")
        for w in report.warnings[:10]:
            sys.stderr.write(f"warning: {w.describe()}\n")
        if not report.ok:
            raise InputError(f"{args.partners}: no usable partner rows", report=report)
    else:
        partners = _workspace(args).partners(public=False)
    try:
        out = export.export_partners(partners, args.out)
    except OSError as exc:
        raise InputError(f"--out {args.out}: cannot write ({exc.strerror or exc})") from exc
    sys.stderr.write(f"wrote {out}: {len(partners)} partners\n")
    return 0


# ------------------------------------------------------------------------------ Dask engine
def _engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=("memory", "dask"),
        default="memory",
        help="memory (default; one machine) or dask: spatial partitions of the schools on a "
        "Dask cluster, same results",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --engine dask: a running dask.distributed scheduler (e.g. "
        "tcp://10.0.0.5:8786); default: a local cluster",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="with --engine dask and no --scheduler: local workers (default 2)",
    )


def _dask(args: argparse.Namespace) -> bool:
    if getattr(args, "engine", "memory") != "dask":
        if getattr(args, "scheduler", None):
            raise InputError(
                "--scheduler needs --engine dask (e.g. --engine dask --scheduler ADDRESS)"
            )
        return False
    if args.workers < 1:
        raise InputError("--workers must be at least 1 (e.g. --workers 2)")
    return True


def _on_dask(args, kinds, ids, profile, ctx, schools) -> dict:
    from assetmap.distributed import analyse_dask

    return analyse_dask(
        ids,
        partners=ctx.index,
        profile=profile,
        schools=schools,
        settings=ctx.settings,
        kinds=kinds,
        scheduler=args.scheduler,
        n_workers=args.workers,
        limit=getattr(args, "limit", 10),
    )
