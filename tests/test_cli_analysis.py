"""CLI needs / match / gaps / network / export: suppressed figures only, no PII, exit codes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

from assetmap.cli import main

DATA = Path(__file__).parent / "data"
PII_SURVEY = str(DATA / "survey_pii.csv")
PII_VALUES = [
    "Zeldwhistle",
    "Quixby",
    "Marzipan",
    "zeld.family",
    "9900000001",
    "Quillfeather",
    "860-555-1001",
    "555-2001",
    "2015-01-10",
]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def file_text(path: Path) -> str:
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as zf:
            return "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
    if path.suffix == ".gpkg":
        return path.read_bytes().decode("latin-1")
    return path.read_text(encoding="utf-8")


def assert_no_pii(text: str) -> None:
    for value in PII_VALUES:
        assert value not in text, f"PII value {value!r} leaked"


def test_needs_json_is_suppressed(capsys):
    code, out, err = run(capsys, "needs", "--json")
    assert code == 0
    recs = json.loads(out)
    assert recs and {"school_id", "dimension", "count", "display", "suppressed", "pct"} <= set(
        recs[0]
    )
    for r in recs:
        if r["suppressed"]:
            assert r["count"] is None and r["pct"] is None
            assert r["display"] in ("<6", "fewer than 6 responses")
        else:
            assert r["count"] == 0 or r["count"] >= 6
            assert r["display"] == str(r["count"])
    assert all(r["synthetic"] for r in recs)
    assert "SYNTHETIC" in err


def test_pii_never_reaches_any_output(capsys, tmp_path):
    texts = []
    code, out, err = run(capsys, "needs", "--survey", PII_SURVEY, "--json")
    assert code == 0
    texts += [out, err]
    small = [r for r in json.loads(out) if r["school_id"] == "0640911"]
    assert [r["display"] for r in small] == ["fewer than 6 responses"]
    assert "Student Name" in err and "SASID" in err  # reported by column name
    code, out, err = run(capsys, "match", "--survey", PII_SURVEY, "--school", "0640611", "--json")
    assert code == 0 and json.loads(out)
    texts += [out, err]
    code, out, err = run(capsys, "gaps", "--survey", PII_SURVEY, "--json")
    assert code == 0 and "gaps" in json.loads(out)
    texts += [out, err]
    for name in ("net.csv", "net.xlsx", "net.json", "net.geojson", "net.html", "net.graphml"):
        path = tmp_path / name
        code, out, err = run(
            capsys,
            "network",
            "--survey",
            PII_SURVEY,
            "--district",
            "Hartford School District",
            "--out",
            str(path),
            "--json",
        )
        assert code == 0, err
        assert path.exists()
        texts += [out, err, file_text(path)]
    assert_no_pii("\n".join(texts))


def test_network_workbook_for_a_hartford_school(capsys, tmp_path):
    path = tmp_path / "network.xlsx"
    code, out, err = run(
        capsys, "network", "--school", "Burns Latino Studies Academy", "--out", str(path)
    )
    assert code == 0, err
    wb = openpyxl.load_workbook(path)
    assert {"network", "partners", "gaps", "need_profile"} <= set(wb.sheetnames)
    rows = list(wb["network"].iter_rows(values_only=True))
    df = pd.DataFrame(rows[1:], columns=rows[0])
    assert set(df["school_name"]) == {"Burns Latino Studies Academy"}
    leads = df[df["role"] == "lead"]
    assert len(leads) >= 5 and leads["need"].is_unique
    assert (df["role"] == "backup").any()
    for col in ("distance_km", "language_coverage", "partner_name", "reason"):
        assert leads[col].notna().all(), col
    # languages: no shipped source records any, so every lead's languages are unknown (an
    # empty cell, never "English only"), and the language gaps say it is missing data
    assert leads["languages"].fillna("").eq("").all()
    grows = list(wb["gaps"].iter_rows(values_only=True))
    gdf = pd.DataFrame(grows[1:], columns=grows[0])
    lang_gaps = gdf[gdf["gap_kind"] == "language"]
    assert len(lang_gaps) and set(lang_gaps["reason"]) == {"language_unknown"}
    assert leads["languages_needed"].notna().all()
    prof = list(wb["need_profile"].iter_rows(values_only=True))
    pdf = pd.DataFrame(prof[1:], columns=prof[0])
    shown = pd.to_numeric(pdf["count"], errors="coerce")
    assert not ((shown >= 1) & (shown <= 5)).any()


def test_network_family_sheet_pdf(capsys, tmp_path):
    from pypdf import PdfReader

    path = tmp_path / "sheet.pdf"
    code, out, err = run(
        capsys,
        "network",
        "--school",
        "Burns Latino Studies Academy",
        "--out",
        str(path),
        "--language",
        "ar",
        "--json",
    )
    assert code == 0, err
    assert path.read_bytes().startswith(b"%PDF-")
    recs = json.loads(out)  # stdout stays pure JSON while the PDF is made
    assert {r["school_name"] for r in recs} == {"Burns Latino Studies Academy"}
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Burns Latino Studies Academy" in text
    assert "Help for families near" not in text  # Arabic, not the English fallback
    assert f"wrote {path}" in err


def test_text_outputs(capsys):
    code, out, _ = run(capsys, "needs", "--survey", PII_SURVEY, "--school", "0640911")
    assert code == 0 and "fewer than 6 responses" in out
    code, out, _ = run(capsys, "match", "--survey", PII_SURVEY, "--school", "M. D. Fox School")
    assert code == 0 and "M. D. Fox School" in out and "score" in out
    code, out, _ = run(capsys, "gaps", "--survey", PII_SURVEY, "--district", "0640011")
    assert code == 0


def test_export_partners(capsys, tmp_path):
    path = tmp_path / "partners.geojson"
    code, _, err = run(capsys, "export", "--out", str(path))
    assert code == 0, err
    gdf = gpd.read_file(path)
    from assetmap.data import load_partners

    assert len(gdf) == len(load_partners())


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["needs", "--survey", "/nonexistent/survey.csv"], "no such file"),
        (
            ["match", "--survey", PII_SURVEY, "--school", "No Such School Anywhere"],
            "no single school",
        ),
        (["gaps", "--survey", PII_SURVEY, "--district", "Atlantis"], "no district"),
        (["network", "--survey", PII_SURVEY, "--out", "x.csv"], "one of the arguments"),
        (
            ["network", "--survey", PII_SURVEY, "--school", "0640111", "--out", "x.csv"],
            "no survey responses",
        ),
        (["match", "--survey", PII_SURVEY, "--limit", "0"], "--limit"),
    ],
)
def test_bad_input_exits_2_without_traceback(capsys, argv, needle):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert needle in err
    assert "Traceback" not in err


def test_hartford_gaps_tell_missing_data_from_missing_services_and_whom_to_call(capsys):
    code, out, err = run(capsys, "gaps", "--district", "0640011", "--json")
    assert code == 0, err
    res = json.loads(out)
    reasons = {g["reason"] for g in res["gaps"]}
    assert reasons <= {"no_partner_within_reach", "language_not_offered", "language_unknown"}
    # no shipped partner has languages recorded: language gaps are data gaps, not deserts
    assert "language_unknown" in reasons and "language_not_offered" not in reasons
    cov = res["coverage"]
    assert {c["surveyed_text"] for c in cov} == {"8 of 39 schools surveyed"}
    assert all(c["schools_with_need"] <= 8 for c in cov)
    comp = {c["category"]: c for c in res["completeness"]}
    assert comp["(all)"]["pct_languages"] == 0.0 and comp["(all)"]["pct_phone"] > 0
    code, out, err = run(capsys, "calllist", "--district", "0640011", "--json", "--limit", "5")
    assert code == 0, err
    calls = json.loads(out)
    assert calls["language_unknown_gaps"] == sum(
        g["reason"] == "language_unknown" for g in res["gaps"]
    )
    top = calls["call_list"]
    assert len(top) == 5 and [r["rank"] for r in top] == [1, 2, 3, 4, 5]
    assert all(r["phone"] for r in top)  # callable partners first
    assert all("languages" in r["missing"] for r in top)
    assert [r["gaps_resolvable"] for r in top] == sorted(
        (r["gaps_resolvable"] for r in top), reverse=True
    )
