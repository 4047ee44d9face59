"""Staff widgets for programs, the framework and outcomes (pages stay thin).

Everything is read fresh from the workspace store on each run (the program tables are small),
so a program saved on one page shows at once on Find help, the Framework page and the CLI.
Every data string reaches the page through ``st.dataframe`` or escaped ``st.html``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from assetmap.auth import can
from assetmap.framework import Framework, coverage, load_framework
from assetmap.outcomes import outcome_history, progress, record_outcome
from assetmap.programs import list_programs, read_programs, save_program, to_table, write_programs
from ui import cache, registry, widgets

DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
AUDIENCES = ["families", "parents", "students", "students_with_disabilities", "staff"]
DAY_LABELS = dict(zip(DAYS, ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], strict=True))


def _md(text: object) -> str:
    """Outside text (file names, error messages quoting cells) as literal Markdown."""
    from ui.widgets import md_literal

    return md_literal(text)


def _expiring(data: bytes, mime: str, file_name: str):
    """Made on click for this session and removed from the server seconds later (issue 10)."""
    from ui.exports import expiring

    return expiring(lambda: data, mime=mime, file_name=file_name)


def framework() -> Framework:
    """The framework config (cached by the library)."""
    return load_framework()


def programs(*, include_retired: bool = False) -> list[dict[str, Any]]:
    """The workspace's programs, read fresh."""
    return list_programs(registry.store(), include_retired=include_retired)


def programs_for(principal: Any) -> list[dict[str, Any]]:
    """Programs serving the principal's schools, plus programs not tied to any school."""
    mine = set(widgets.schools_for(principal)["school_id"].astype(str))
    return [p for p in programs() if not p.get("school_ids") or mine & set(p["school_ids"])]


def program_table(progs: list[dict[str, Any]]) -> pd.DataFrame:
    """The programs as a readable table (partner names instead of ids)."""
    table = to_table(progs)
    names = dict(
        zip(
            cache.public_partners()["partner_id"].astype(str),
            cache.public_partners()["name"],
            strict=False,
        )
    )
    table.insert(2, "partner", [names.get(str(p), p) for p in table["partner_id"]])
    fw = framework()
    table["impact_level"] = [fw.level(x).name if fw.level(x) else "" for x in table["impact_level"]]
    return table.drop(columns=["description", "plays"])


def _partner_options(principal: Any) -> tuple[list[str], dict[str, str]]:
    partners = cache.partners(principal)
    partners = partners.sort_values("name")
    labels = {
        str(pid): f"{name} — {city}" if isinstance(city, str) and city else str(name)
        for pid, name, city in zip(
            partners["partner_id"], partners["name"], partners.get("city", ""), strict=False
        )
    }
    return ["", *labels], labels


def add_program_form(principal: Any) -> None:
    """The 'Add a program' form; saves through :func:`assetmap.programs.save_program`."""
    fw = framework()
    schools = widgets.schools_for(principal)
    school_ids = schools.sort_values("name")["school_id"].astype(str).tolist()
    school_names = dict(
        zip(schools["school_id"].astype(str), schools["name"].astype(str), strict=True)
    )
    options, labels = _partner_options(principal)
    langs = cache.languages()
    editable = {p["program_id"]: p for p in programs_for(principal)}
    editing = st.selectbox(
        "Edit an existing program, or add a new one",
        ["", *editable],
        format_func=lambda i: "— a new program —" if i == "" else editable[i]["name"],
        key="prog_edit",
        on_change=_prefill,
        args=(editable,),
    )
    current = editable.get(editing)
    if current is not None:
        extra = len(current.get("schedules") or []) - 1
        st.caption(
            f"Version {current['version']}, last saved by {current['updated_by']}."
            + (
                f" The form edits the first schedule; its {extra} other schedules are kept."
                if extra > 0
                else ""
            )
        )
        if st.button("Retire this program", key="prog_retire"):
            from assetmap.programs import retire_program

            retire_program(registry.store(), current["program_id"], by=principal.user)
            st.success(f"Retired “{current['name']}” (kept with its history and outcomes).")
            return
    with st.form("prog_add", clear_on_submit=False):
        name = st.text_input("Program name", key="prog_name", placeholder="e.g. Parent Academy")
        description = st.text_area("Description (optional)", key="prog_description")
        partner = st.selectbox(
            "Run by (partner)",
            options,
            format_func=lambda p: (
                "— none (school staff or online) —" if p == "" else labels.get(p, p)
            ),
            key="prog_partner",
        )
        where = st.radio(
            "Where it happens",
            ["partner_site", "school", "online"],
            format_func={
                "partner_site": "At the partner's site",
                "school": "At a school",
                "online": "Online",
            }.get,
            horizontal=True,
            key="prog_where",
        )
        at_school = st.selectbox(
            "School where it happens (if at a school)",
            ["", *school_ids],
            format_func=lambda s: "—" if s == "" else school_names.get(s, s),
            key="prog_at_school",
        )
        served = st.multiselect(
            "Schools whose families it serves",
            school_ids,
            format_func=lambda s: school_names.get(s, s),
            key="prog_schools",
        )
        c1, c2 = st.columns(2)
        with c1:
            languages = st.multiselect(
                "Languages",
                list(langs.languages),
                format_func=widgets.language_label,
                key="prog_langs",
            )
            cost = st.selectbox(
                "Cost", ["free", "sliding_scale", "fee", "unknown"], key="prog_cost"
            )
            audience = st.multiselect(
                "For whom",
                AUDIENCES,
                key="prog_audience",
            )
        with c2:
            principles = st.multiselect(
                "Guiding principles it serves",
                [p.id for p in fw.principles],
                format_func=lambda i: f"{fw.principle(i).number}. {fw.principle(i).name}",
                key="prog_principles",
            )
            impact = st.selectbox(
                "Impact level",
                [lv.id for lv in fw.levels],
                format_func=lambda i: f"{fw.level(i).name} — {fw.level(i).description}",
                key="prog_impact",
            )
        st.markdown("**When** (one weekly schedule; add more later by importing)")
        d1, d2, d3 = st.columns([2, 1, 1])
        with d1:
            days = st.multiselect("Days", DAYS, format_func=DAY_LABELS.get, key="prog_days")
        with d2:
            opens = st.time_input("From", dt.time(18, 0), key="prog_opens")
        with d3:
            closes = st.time_input("To", dt.time(20, 0), key="prog_closes")
        e1, e2 = st.columns(2)
        with e1:
            valid_from = st.date_input("First date (seasonal only)", value=None, key="prog_from")
        with e2:
            valid_to = st.date_input("Last date (seasonal only)", value=None, key="prog_to")
        f1, f2, f3 = st.columns(3)
        with f1:
            accessible = st.selectbox("Accessible (ADA)", ["unknown", "yes", "no"], key="prog_ada")
        with f2:
            shared = st.checkbox("Welcomes district staff alongside its own", key="prog_shared")
        with f3:
            public = st.checkbox("Show on Find help", value=True, key="prog_public")
        submitted = st.form_submit_button("Save program", type="primary")
    if not submitted:
        return
    if not partner and where == "partner_site":
        where = "school" if at_school else "online"
    for sid in [*served, *([at_school] if at_school else [])]:
        if not can(
            principal, "edit_network", {"school_id": sid, "district_id": widgets.district_of(sid)}
        ):
            st.error(f"You may not add programs for school {sid}.")
            return
    raw = {
        "name": name,
        "description": description,
        "partner_id": partner or None,
        "location_type": where,
        "location_school_id": at_school or None,
        "school_ids": served,
        "audience": audience,
        "languages": languages,
        "cost": cost,
        "principles": principles,
        "impact_level": impact,
        "schedules": [
            {
                "byday": ",".join(days),
                "opens_at": opens.strftime("%H:%M"),
                "closes_at": closes.strftime("%H:%M"),
                "valid_from": valid_from.isoformat() if valid_from else None,
                "valid_to": valid_to.isoformat() if valid_to else None,
            }
        ]
        if days
        else [],
        "ada_accessible": None if accessible == "unknown" else accessible,
        "shared_staffing": shared,
        "public": public,
    }
    if current is not None:
        raw["program_id"] = current["program_id"]
        raw["plays"] = current.get("plays") or []
        raw["schedules"] = raw["schedules"] + list(current.get("schedules") or [])[1:]
        raw["capacity"] = current.get("capacity")
    try:
        rec = save_program(
            registry.store(),
            raw,
            by=principal.user,
            expect_version=None if current is None else int(current["version"]),
        )
    except Exception as exc:  # noqa: BLE001 - an InputError names the field; anything else is shown too
        st.error(str(exc))
        return
    st.success(f"Saved “{rec['name']}” (version {rec['version']}).")


def _prefill(editable: dict[str, dict[str, Any]]) -> None:
    """Fill the form's widgets from the program chosen for editing (or clear them)."""
    p = editable.get(st.session_state.get("prog_edit") or "")
    state = st.session_state
    if p is None:
        for k in ("prog_name", "prog_description"):
            state[k] = ""
        return
    first = (p.get("schedules") or [{}])[0]

    def hhmm(v: Any, default: dt.time) -> dt.time:
        try:
            return dt.time.fromisoformat(str(v))
        except ValueError:
            return default

    state["prog_name"] = p["name"]
    state["prog_description"] = p.get("description") or ""
    state["prog_partner"] = p.get("partner_id") or ""
    state["prog_where"] = p.get("location_type") or "online"
    state["prog_at_school"] = p.get("location_school_id") or ""
    state["prog_schools"] = list(p.get("school_ids") or [])
    state["prog_langs"] = list(p.get("languages") or [])
    state["prog_cost"] = p.get("cost") or "unknown"
    state["prog_audience"] = [a for a in p.get("audience") or [] if a in AUDIENCES]
    state["prog_principles"] = list(p.get("principles") or [])
    state["prog_impact"] = p.get("impact_level") or framework().levels[0].id
    state["prog_days"] = [d for d in str(first.get("byday") or "").split(",") if d in DAYS]
    state["prog_opens"] = hhmm(first.get("opens_at"), dt.time(18, 0))
    state["prog_closes"] = hhmm(first.get("closes_at"), dt.time(20, 0))
    state["prog_from"] = (
        dt.date.fromisoformat(first["valid_from"]) if first.get("valid_from") else None
    )
    state["prog_to"] = dt.date.fromisoformat(first["valid_to"]) if first.get("valid_to") else None
    ada = p.get("ada_accessible")
    state["prog_ada"] = "unknown" if ada is None else ("yes" if ada else "no")
    state["prog_shared"] = bool(p.get("shared_staffing"))
    state["prog_public"] = bool(p.get("public", True))


def outcome_form(principal: Any) -> None:
    """The 'Record an outcome' form: per program (its partner filled in) and/or per school;
    scoped to the principal's own schools."""
    fw = framework()
    by_id = {p["program_id"]: p for p in programs_for(principal)}
    schools = widgets.schools_for(principal)
    names = dict(zip(schools["school_id"].astype(str), schools["name"].astype(str), strict=True))
    with st.form("outcome_add"):
        pid = st.selectbox(
            "Program",
            [*by_id, ""],
            format_func=lambda i: by_id[i]["name"] if i else "— none: a school-level outcome —",
            key="out_program",
        )
        measure = st.selectbox(
            "What happened",
            list(fw.measures),
            format_func=lambda m: m.replace("_", " "),
            key="out_measure",
        )
        value = st.number_input("How many", min_value=0, step=1, value=0, key="out_value")
        period = st.text_input("Period", value=_school_year(), key="out_period")
        school = st.selectbox(
            "School (may stay empty when the program serves one school)",
            ["", *sorted(names, key=names.get)],
            format_func=lambda s: names.get(s, "—"),
            key="out_school",
        )
        note = st.text_input("Note (optional)", key="out_note")
        submitted = st.form_submit_button("Record", type="primary")
    if not submitted:
        return
    prog = by_id.get(pid)
    served = (prog or {}).get("school_ids") or []
    target_school = school or (served[0] if len(served) == 1 else None)
    if target_school is None and principal.role != "admin":
        st.error("Choose the school this outcome is for.")
        return
    if target_school and not can(
        principal,
        "record_outcome",
        {"school_id": target_school, "district_id": widgets.district_of(target_school)},
    ):
        st.error(f"You may not record outcomes for school {target_school}.")
        return
    try:
        row = record_outcome(
            registry.store(),
            program_id=pid or None,
            school_id=school or None,
            measure=measure,
            value=int(value),
            period=period,
            note=note or None,
            by=principal.user,
        )
    except Exception as exc:  # noqa: BLE001 - an InputError names the field
        st.error(str(exc))
        return
    what = prog["name"] if prog else names.get(str(row["school_id"]), row["school_id"])
    st.success(
        f"Recorded {row['value']} {row['measure'].replace('_', ' ')} for {what} ({row['period']})."
    )


def _school_year(today: dt.date | None = None) -> str:
    d = today or dt.date.today()
    start = d.year if d.month >= 7 else d.year - 1
    return f"{start}-{str(start + 1)[-2:]}"


def history_for(principal: Any) -> pd.DataFrame:
    """Recorded outcome rows for the principal's schools (all for an admin)."""
    hist = outcome_history(registry.store())
    if principal.role == "admin" or hist.empty:
        return hist
    mine = set(widgets.schools_for(principal)["school_id"].astype(str))
    one = {
        p["program_id"]: (p.get("school_ids") or [None])[0] for p in programs(include_retired=True)
    }
    keep = [
        (s in mine) or (not s and one.get(p) in mine)
        for s, p in zip(hist["school_id"], hist["program_id"], strict=True)
    ]
    return hist.loc[keep].reset_index(drop=True)


def progress_table(principal: Any, district: str | None, school: str | None = None) -> pd.DataFrame:
    """Progress against the district targets for a district (or one school)."""
    schools = widgets.schools_for(principal)
    if district is not None:
        schools = schools[schools["district_id"].astype(str) == str(district)]
    if school is not None:
        schools = schools[schools["school_id"].astype(str) == str(school)]
    return progress(
        outcome_history(registry.store()), schools=schools, programs=programs(include_retired=True)
    )


def download_table(frame: pd.DataFrame, *, name: str, key: str) -> None:
    """CSV and XLSX download buttons (spreadsheet-safe cells)."""
    from assetmap.export._tabular import write_csv, write_xlsx

    with tempfile.TemporaryDirectory() as tmp:
        csv_path, xlsx_path = Path(tmp) / f"{name}.csv", Path(tmp) / f"{name}.xlsx"
        write_csv(frame, csv_path)
        write_xlsx({name[:31]: frame}, xlsx_path)
        csv_bytes, xlsx_bytes = csv_path.read_bytes(), xlsx_path.read_bytes()
    xlsx_mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download CSV",
        _expiring(csv_bytes, "text/csv", f"{name}.csv"),
        f"{name}.csv",
        "text/csv",
        key=f"{key}_csv",
        on_click="ignore",
    )
    c2.download_button(
        "Download Excel",
        _expiring(xlsx_bytes, xlsx_mime, f"{name}.xlsx"),
        f"{name}.xlsx",
        xlsx_mime,
        on_click="ignore",
        key=f"{key}_xlsx",
    )


def show_progress(principal: Any, district: str | None) -> None:
    """The outcome-targets table with downloads (district view)."""
    table = progress_table(principal, district)
    if table.empty:
        st.info("No schools in view.")
        return
    fw = framework()
    st.caption(
        "Targets from config/framework.toml: "
        + "; ".join(f"{t.label} ({t.source})" for t in fw.targets)
    )
    st.dataframe(table.drop(columns=["source"]), hide_index=True)
    download_table(table, name="outcome_progress", key=f"progress_{district}")


def coverage_raw(
    principal: Any, *, school: str | None = None, district: str | None = None
) -> pd.DataFrame:
    """:func:`assetmap.framework.coverage` over the workspace for a school or district."""
    return coverage(
        programs(),
        schools=cache.schools(),
        partners=cache.partners(principal),
        school=school,
        district=district,
        framework=framework(),
    )


def coverage_table(raw: pd.DataFrame) -> pd.DataFrame:
    """The coverage readable in a table (lists joined, level names, suggestions counted)."""
    fw = framework()
    return pd.DataFrame(
        {
            "principle": raw["principle"],
            "programs": raw["programs"].map(", ".join),
            "highest_impact_level": [
                fw.level(x).name if fw.level(x) else "none" for x in raw["highest_impact_level"]
            ],
            "suggestions": raw["suggestions"].map(lambda s: f"{len(s)} plays" if s else ""),
        }
    )


def suggestions_html(raw: pd.DataFrame) -> str:
    """The suggested plays (with partners within reach) per principle, every string escaped."""
    from assetmap.maps import escape_text

    parts = []
    for _, r in raw.iterrows():
        if not r["suggestions"]:
            continue
        items = "".join(f"<li>{escape_text(x)}</li>" for x in r["suggestions"])
        parts.append(f"<p><b>{escape_text(r['principle'])}</b></p><ul>{items}</ul>")
    return "".join(parts) or "<p>Every principle has activity above the low-impact level.</p>"


def import_programs(principal: Any, upload: Any) -> None:
    """Save every program of an uploaded HSDS .json / .csv / .xlsx; report problems by row."""
    suffix = Path(upload.name).suffix.lower()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(upload.getvalue())
        try:
            raws = read_programs(path)
        except Exception as exc:  # noqa: BLE001
            st.error(f"{_md(upload.name)}: {_md(exc)}")
            return
    saved, problems = 0, []
    for i, raw in enumerate(raws):
        try:
            save_program(registry.store(), raw, by=principal.user)
            saved += 1
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{_md(upload.name)} row {i + 1}: {_md(exc)}")
    (st.success if saved else st.warning)(f"{_md(upload.name)}: saved {saved} programs.")
    for p in problems[:30]:
        st.error(p)


def export_buttons(progs: list[dict[str, Any]]) -> None:
    """Download the programs as HSDS JSON, CSV or XLSX."""
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            s: write_programs(progs, Path(tmp) / f"programs{s}").read_bytes()
            for s in (".json", ".csv", ".xlsx")
        }
    xlsx_mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "HSDS JSON",
        _expiring(files[".json"], "application/json", "programs.json"),
        "programs.json",
        "application/json",
        key="prog_dl_json",
        on_click="ignore",
    )
    c2.download_button(
        "CSV",
        _expiring(files[".csv"], "text/csv", "programs.csv"),
        "programs.csv",
        "text/csv",
        key="prog_dl_csv",
        on_click="ignore",
    )
    c3.download_button(
        "Excel",
        _expiring(files[".xlsx"], xlsx_mime, "programs.xlsx"),
        "programs.xlsx",
        xlsx_mime,
        on_click="ignore",
        key="prog_dl_xlsx",
    )


def show_esy(principal: Any, district: str) -> None:
    """Accessible summer programs near the district's schools overlapping its ESY window."""
    from assetmap.framework import esy_overlap
    from assetmap.programs import program_locations

    fw = framework()
    if fw.esy_window is None:
        st.info("Set the district's ESY window in config/framework.toml ([esy] start, end).")
        return
    progs = programs()
    schools = widgets.schools_for(principal)
    locs = program_locations(progs, partners=cache.partners(principal), schools=cache.schools())
    table = esy_overlap(
        progs,
        schools=schools,
        locations=locs,
        window=fw.esy_window,
        reach_km=fw.esy_reach_km,
        district=district,
    )
    st.caption(
        f"ESY window {fw.esy_window[0]} to {fw.esy_window[1]}; accessible programs within "
        f"{fw.esy_reach_km:g} km whose dates overlap it."
    )
    if table.empty:
        st.info("No accessible summer program overlaps the ESY window near these schools yet.")
    else:
        st.dataframe(table, hide_index=True)


def best_times_fit(principal: Any, school_id: str) -> pd.DataFrame | None:
    """Programs serving a school with the share of its surveyed families whose best times they
    meet (published, suppressed figures only; None when the survey cannot be read)."""
    from assetmap.programs import program_slots
    from assetmap.schedules import times_fit
    from assetmap.settings import get_settings

    if not can(
        principal,
        "view_survey",
        {"school_id": school_id, "district_id": widgets.district_of(school_id)},
    ):
        return None
    try:
        prof = _best_times()
    except Exception:  # noqa: BLE001 - no survey: nothing to match against
        return None
    mine = prof[prof["school_id"] == str(school_id)]
    rows = [
        {
            "program": p["name"],
            "fits families' best times": times_fit(
                program_slots(p), mine, min_denominator=get_settings().min_denominator
            )
            or "—",
        }
        for p in programs()
        if str(school_id) in (p.get("school_ids") or [])
    ]
    return pd.DataFrame(rows, columns=["program", "fits families' best times"])


def _best_times() -> pd.DataFrame:
    """The workspace's published best-times table (empty when its survey asked none)."""
    from ui import registry

    profile = registry.workspace().profile()
    best = profile.best_times() if profile is not None else None
    if best is None:
        return pd.DataFrame(columns=["school_id", "time", "families", "respondents", "suppressed"])
    return best
