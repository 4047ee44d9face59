"""``assetmap framework | plays | esy | program … | outcome …``: Connecticut's family-engagement
framework over the workspace's programs.

The workspace is the store (``--store``, default ``settings.store_location``); an empty
store is first filled with the shipped data, as the app does.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from assetmap._errors import InputError

_PROGRAM_EXAMPLES = """examples:
  assetmap program add --name "Parent Academy" --partner pls-6400 --school 0640611 \\
      --language es --schedule "TU 18:00-20:00" --principle modeling_learning \\
      --principle family_leadership --impact connecting --cost free --by ana
  assetmap program list --school 0640611 --json
  assetmap program import programs.json --by ana      # HSDS services, or .csv / .xlsx
  assetmap program export --out programs.xlsx
  assetmap program history --program prog-1a2b3c4d5e
"""
_OUTCOME_EXAMPLES = """examples:
  assetmap outcome record --program prog-1a2b3c4d5e --measure families_served --value 12 --period 2026-27 --by ana
  assetmap outcome record --school 0640611 --measure home_visits_completed --value 30 --period 2026-27 --by ana
  assetmap outcome progress --district 0640011 --json
  assetmap outcome history --out outcomes.csv
"""


def _common() -> argparse.ArgumentParser:
    c = argparse.ArgumentParser(add_help=False)
    c.add_argument(
        "--store",
        metavar="LOCATION",
        help="the workspace: a .gpkg path or postgresql:// URL (default: settings store_location)",
    )
    c.add_argument("--json", action="store_true", help="print JSON")
    return c


def _by_parser() -> argparse.ArgumentParser:
    b = argparse.ArgumentParser(add_help=False)
    b.add_argument("--by", help="who makes the change (default: the login name)")
    return b


def register(sub: argparse._SubParsersAction) -> None:
    common, by = _common(), _by_parser()
    p = sub.add_parser(
        "framework",
        parents=[common],
        help="principle coverage of a school or district, with suggested plays and partners",
        description="One row per guiding principle of Connecticut's family-engagement framework: "
        "the programs serving it, their highest impact level and, where it has nothing or only "
        "low-impact activity, plays that fit and partners within reach. "
        "Example: assetmap framework --school 0640611 --json",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--school", help="school id, e.g. 0640611")
    where.add_argument("--district", help="district id, e.g. 0640011")
    p.add_argument("--reach-km", type=float, default=8.0, help="partners within this distance")
    p.add_argument("--check", action="store_true", help="only check config/framework.toml")
    p.set_defaults(handler=_framework)

    p = sub.add_parser(
        "plays",
        parents=[common],
        help="the framework's plays by role, with the programs and partners that deliver them",
        description="Example: assetmap plays --role principal",
    )
    p.add_argument("--role", choices=("district_leader", "principal", "teacher", "family"))
    p.set_defaults(handler=_plays)

    p = sub.add_parser(
        "esy",
        parents=[common],
        help="accessible summer programs near each school overlapping the district's ESY window",
        description="Example: assetmap esy --district 0640011 --start 2027-07-06 --end 2027-08-06",
    )
    p.add_argument("--district", required=True, help="district id, e.g. 0640011")
    p.add_argument("--start", help="ESY start (default: [esy] in config/framework.toml)")
    p.add_argument("--end", help="ESY end")
    p.add_argument("--reach-km", type=float, help="distance from the school")
    p.set_defaults(handler=_esy)

    p = sub.add_parser(
        "program",
        help="programs (HSDS services with schedules): add, list, import, export, history, retire",
        description="Programs and activities partners and schools run for families.",
        epilog=_PROGRAM_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmds = p.add_subparsers(dest="program_command", metavar="ACTION", parser_class=type(p))
    c = cmds.add_parser("add", parents=[common, by], help="add or update one program")
    c.add_argument("--id", dest="program_id", help="program id (to update; default made from name)")
    c.add_argument("--name", required=True)
    c.add_argument("--description")
    c.add_argument("--partner", help="partner id of the organisation that runs it")
    c.add_argument("--where", choices=("partner_site", "school", "online"), help="where it happens")
    c.add_argument("--at-school", help="school id where it happens (--where school)")
    c.add_argument("--school", action="append", default=[], help="school it serves (repeatable)")
    c.add_argument("--audience", action="append", default=[])
    c.add_argument("--language", action="append", default=[])
    c.add_argument("--cost", choices=("free", "sliding_scale", "fee", "unknown"))
    c.add_argument("--principle", action="append", default=[], help="guiding principle id")
    c.add_argument(
        "--impact", help="impact level id (informing, connecting, co_designing, families_leading)"
    )
    c.add_argument("--play", action="append", default=[])
    c.add_argument(
        "--schedule",
        action="append",
        default=[],
        help="'TU 18:00-20:00' or 'MO WE 09:00-12:00 (2027-07-06 to 2027-08-06)' (repeatable)",
    )
    c.add_argument("--accessible", choices=("yes", "no"))
    c.add_argument("--shared-staffing", action="store_true", help="welcomes district staff (ESY)")
    c.add_argument("--capacity", type=int)
    c.add_argument("--private", action="store_true", help="staff only: not on Find help")
    c.add_argument("--expect-version", type=int)
    c.set_defaults(handler=_program_add)
    c = cmds.add_parser("list", parents=[common], help="list programs")
    c.add_argument("--school", help="only programs serving this school")
    c.add_argument("--open", choices=("evening", "weekend", "summer"), action="append", default=[])
    c.add_argument("--include-retired", action="store_true")
    c.set_defaults(handler=_program_list)
    c = cmds.add_parser("import", parents=[common, by], help="add/update programs from a file")
    c.add_argument("file", help=".json (HSDS services), .csv or .xlsx")
    c.set_defaults(handler=_program_import)
    c = cmds.add_parser("export", parents=[common], help="write programs to .json/.csv/.xlsx")
    c.add_argument("--out", required=True)
    c.add_argument("--include-retired", action="store_true")
    c.set_defaults(handler=_program_export)
    c = cmds.add_parser("history", parents=[common], help="every saved version")
    c.add_argument("--program", help="program id (default: all)")
    c.set_defaults(handler=_program_history)
    c = cmds.add_parser("retire", parents=[common, by], help="retire a program (history kept)")
    c.add_argument("--program", required=True)
    c.set_defaults(handler=_program_retire)
    p.set_defaults(handler=_need_action("program"))

    p = sub.add_parser(
        "outcome",
        help="outcomes per program, partner and school; progress against targets",
        epilog=_OUTCOME_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmds = p.add_subparsers(dest="outcome_command", metavar="ACTION", parser_class=type(p))
    c = cmds.add_parser("record", parents=[common, by], help="record what happened")
    c.add_argument("--program")
    c.add_argument("--partner")
    c.add_argument("--school")
    c.add_argument("--measure", required=True)
    c.add_argument("--value", required=True, type=float)
    c.add_argument("--period", required=True, help="e.g. 2026-27 or 2026-fall")
    c.add_argument("--note")
    c.set_defaults(handler=_outcome_record)
    c = cmds.add_parser("progress", parents=[common], help="progress against the district targets")
    g = c.add_mutually_exclusive_group(required=True)
    g.add_argument("--district")
    g.add_argument("--school")
    c.add_argument("--period")
    c.add_argument("--out", help="also write .csv or .xlsx")
    c.set_defaults(handler=_outcome_progress)
    c = cmds.add_parser("history", parents=[common], help="every recorded row (corrections too)")
    c.add_argument("--out", help="also write .csv or .xlsx")
    c.set_defaults(handler=_outcome_history)
    p.set_defaults(handler=_need_action("outcome"))


def _need_action(cmd: str) -> Any:
    def handler(args: argparse.Namespace) -> int:
        raise InputError(
            f"give an action, e.g. 'assetmap {cmd} list' (see 'assetmap {cmd} --help')."
        )

    return handler


def _store(args: argparse.Namespace) -> Any:
    from assetmap.store import open_store

    return open_store(args.store, load_if_empty=True)


def _by(args: argparse.Namespace) -> str:
    if args.by:
        return args.by
    try:
        return os.environ.get("ASSETMAP_USER") or getpass.getuser()
    except (KeyError, OSError):
        raise InputError("give --by NAME (who makes the change).") from None


def _dump(obj: Any) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=1, default=str)
    sys.stdout.write("\n")


def _records(frame: Any) -> list[dict[str, Any]]:
    import pandas as pd

    return [
        {k: (None if not isinstance(v, list | dict) and pd.isna(v) else v) for k, v in r.items()}
        for r in frame.to_dict(orient="records")
    ]


def _write_table(frame: Any, out: str) -> None:
    from pathlib import Path

    from assetmap.export._tabular import write_csv, write_xlsx

    path = Path(out)
    if path.suffix.lower() == ".csv":
        write_csv(frame, path)
    elif path.suffix.lower() == ".xlsx":
        write_xlsx({"data": frame}, path)
    else:
        raise InputError(f"--out {out}: write .csv or .xlsx.")
    sys.stderr.write(f"wrote {path}\n")


def _framework(args: argparse.Namespace) -> int:
    from assetmap.framework import coverage, load_framework

    fw = load_framework()
    if args.check:
        print(f"config/framework.toml: {len(fw.principles)} principles, {len(fw.levels)} levels, "
              f"{len(fw.plays)} plays, {len(fw.targets)} targets — no problems")  # fmt: skip
        return 0
    if not (args.school or args.district):
        raise InputError(
            "give --school ID or --district ID (e.g. assetmap framework --school 0640611)."
        )
    from assetmap.programs import list_programs

    with _store(args) as store:
        table = coverage(
            list_programs(store),
            schools=store.schools(),
            partners=store.partners(),
            school=args.school,
            district=args.district,
            framework=fw,
            reach_km=args.reach_km,
        )
    rows = _records(table[["principle", "programs", "highest_impact_level", "suggestions"]])
    if args.json:
        _dump(rows)
        return 0
    for r in rows:
        level = r["highest_impact_level"] or "none"
        progs = ", ".join(r["programs"]) or "no programs"
        print(f"{r['principle']}: {progs} [highest: {level}]")
        for s in r["suggestions"]:
            print(f"    suggest: {s}")
    return 0


def _plays(args: argparse.Namespace) -> int:
    from assetmap.framework import load_framework, plays_table
    from assetmap.programs import list_programs

    with _store(args) as store:
        table = plays_table(
            load_framework(), list_programs(store), store.partners(), role=args.role
        )
    rows = _records(table)
    if args.json:
        _dump(rows)
        return 0
    for r in rows:
        print(f"[{r['role']}] {r['title']} — {r['summary']} (source: {r['source']})")
        if r["programs"]:
            print(f"    delivered by: {', '.join(r['programs'])} ({', '.join(r['partners'])})")
    return 0


def _esy(args: argparse.Namespace) -> int:
    import datetime as dt

    from assetmap.framework import esy_overlap, load_framework
    from assetmap.programs import list_programs, program_locations

    fw = load_framework()
    try:
        start = dt.date.fromisoformat(args.start) if args.start else fw.esy_window[0]
        end = dt.date.fromisoformat(args.end) if args.end else fw.esy_window[1]
    except (ValueError, TypeError):
        raise InputError(
            "--start/--end: give dates as YYYY-MM-DD (or set [esy] in config/framework.toml)."
        ) from None
    with _store(args) as store:
        progs = list_programs(store)
        schools = store.schools()
        if schools[schools["district_id"].astype(str) == str(args.district)].empty:
            raise InputError(
                f"no district {args.district!r} with schools; e.g. --district 0640011."
            )
        locs = program_locations(progs, partners=store.partners(), schools=schools)
        table = esy_overlap(
            progs,
            schools=schools,
            locations=locs,
            window=(start, end),
            reach_km=args.reach_km or fw.esy_reach_km,
            district=args.district,
        )
    rows = _records(table)
    if args.json:
        _dump(rows)
        return 0
    print(f"{len(rows)} school/program pairs overlapping ESY {start} to {end}")
    for r in rows:
        d = "online" if r["distance_km"] is None else f"{r['distance_km']:.1f} km"
        staff = "shared staffing welcome" if r["shared_staffing"] else "no shared staffing noted"
        print(f"{r['school']} ({r['school_id']}): {r['program']} — {d}, {r['dates']}, {staff}")
    return 0


def _program_add(args: argparse.Namespace) -> int:
    from assetmap.programs import parse_schedules_text, save_program

    raw = {
        "program_id": args.program_id,
        "name": args.name,
        "description": args.description,
        "partner_id": args.partner,
        "location_type": args.where or ("school" if args.at_school else None),
        "location_school_id": args.at_school,
        "school_ids": args.school,
        "audience": args.audience,
        "languages": args.language,
        "cost": args.cost,
        "principles": args.principle,
        "impact_level": args.impact,
        "plays": args.play,
        "schedules": [s for text in args.schedule for s in parse_schedules_text(text)],
        "ada_accessible": args.accessible,
        "shared_staffing": args.shared_staffing,
        "capacity": args.capacity,
        "public": not args.private,
    }
    with _store(args) as store:
        rec = save_program(store, raw, by=_by(args), expect_version=args.expect_version)
    if args.json:
        _dump(rec)
    else:
        print(f"saved {rec['program_id']} ({rec['name']}), version {rec['version']}")
    return 0


def _program_list(args: argparse.Namespace) -> int:
    from assetmap.programs import list_programs, programs_open, to_table
    from assetmap.schedules import parse_open

    with _store(args) as store:
        progs = list_programs(store, include_retired=args.include_retired)
        if args.school:
            progs = [p for p in progs if args.school in (p.get("school_ids") or [])]
        if args.open:
            progs = programs_open(progs, parse_open(args.open))
        if args.school and progs:
            progs = _with_best_times(progs, args.school, store)
    if args.json:
        _dump(progs)
        return 0
    table = to_table(progs)
    print(f"{len(table)} programs")
    for _, r in table.iterrows():
        print(f"{r['program_id']}  {r['name']}  [{r['schedules'] or 'no schedule'}]  "
              f"languages: {r['languages'] or '-'}  principles: {r['principles'] or '-'}")  # fmt: skip
    for p in progs:
        if p.get("fits_families_best_times"):
            print(f"    {p['name']} meets the times families gave: {p['fits_families_best_times']}")
    return 0


def _with_best_times(progs: list[dict[str, Any]], school: str, store: Any) -> list[dict[str, Any]]:
    """Add ``fits_families_best_times``: the school's published best-time shares each program
    meets (the workspace's survey aggregates, small cells hidden); left out when the
    workspace's survey asked no best times."""
    from assetmap.programs import program_slots
    from assetmap.schedules import times_fit
    from assetmap.workspace import Workspace

    profile = Workspace(store).profile()
    prof = profile.best_times() if profile is not None else None
    if prof is None:
        return progs
    mine = prof[prof["school_id"] == str(school)]
    from assetmap.settings import get_settings

    floor = get_settings().min_denominator
    return [
        {**p, "fits_families_best_times": times_fit(program_slots(p), mine, min_denominator=floor)}
        for p in progs
    ]


def _program_import(args: argparse.Namespace) -> int:
    from assetmap.programs import read_programs, save_program

    raws = read_programs(args.file)
    by = _by(args)
    problems, saved = [], 0
    with _store(args) as store:
        for i, raw in enumerate(raws):
            try:
                save_program(store, raw, by=by)
                saved += 1
            except InputError as exc:
                problems.append(f"{args.file} row {i + 1}: {exc}")
    for p in problems[:50]:
        sys.stderr.write(f"  - {p}\n")
    print(f"saved {saved} programs; {len(problems)} rows with problems")
    return 2 if problems and not saved else 0


def _program_export(args: argparse.Namespace) -> int:
    from assetmap.programs import list_programs, write_programs

    with _store(args) as store:
        progs = list_programs(store, include_retired=args.include_retired)
    path = write_programs(progs, args.out)
    print(f"wrote {len(progs)} programs to {path}")
    return 0


def _program_history(args: argparse.Namespace) -> int:
    from assetmap.programs import program_history

    with _store(args) as store:
        rows = program_history(store, args.program)
    if args.program and not rows:
        raise InputError(f"no program {args.program!r} in the workspace (assetmap program list).")
    if args.json:
        _dump(rows)
        return 0
    for r in rows:
        print(
            f"{r['program_id']} v{r['version']} {r['action']} by {r['by']} at {r['at']}: {r['record']['name']}"
        )
    return 0


def _program_retire(args: argparse.Namespace) -> int:
    from assetmap.programs import retire_program

    with _store(args) as store:
        v = retire_program(store, args.program, by=_by(args))
    print(f"retired {args.program} (version {v})")
    return 0


def _outcome_record(args: argparse.Namespace) -> int:
    from assetmap.outcomes import record_outcome

    with _store(args) as store:
        row = record_outcome(
            store,
            program_id=args.program,
            partner_id=args.partner,
            school_id=args.school,
            measure=args.measure,
            value=args.value,
            period=args.period,
            note=args.note,
            by=_by(args),
        )
    if args.json:
        _dump(row)
    else:
        print(f"recorded {row['measure']} = {row['value']} for {row['period']} "
              f"(program {row['program_id'] or '-'}, school {row['school_id'] or '-'})")  # fmt: skip
    return 0


def _outcome_progress(args: argparse.Namespace) -> int:
    from assetmap.outcomes import outcome_history, progress
    from assetmap.programs import list_programs

    with _store(args) as store:
        schools = store.schools()
        if args.school:
            schools = schools[schools["school_id"].astype(str) == args.school]
            if schools.empty:
                raise InputError(f"no school {args.school!r} (give a 7-digit id, e.g. 0640611).")
        table = progress(
            outcome_history(store),
            schools=schools,
            programs=list_programs(store, include_retired=True),
            district=args.district,
            period=args.period,
        )
    if args.out:
        _write_table(table, args.out)
    if args.json:
        _dump(_records(table))
        return 0
    for r in _records(table):
        need = "—" if r["needed"] is None else r["needed"]
        mark = "met" if r["met"] else ("unknown" if r["met"] is None else "not yet")
        print(f"{r['school']} ({r['school_id']}): {r['target']}: {r['actual']} of {need} ({mark})")
    return 0


def _outcome_history(args: argparse.Namespace) -> int:
    from assetmap.outcomes import outcome_history

    with _store(args) as store:
        table = outcome_history(store)
    if args.out:
        _write_table(table, args.out)
    if args.json:
        _dump(_records(table))
        return 0
    print(table.to_string(index=False) if len(table) else "no outcomes recorded")
    return 0
