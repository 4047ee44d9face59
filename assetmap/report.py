"""Validation report: one entry per problem, with file, row, column, value, message and hint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Problem", "ValidationReport"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem found while reading or validating a file.

    ``row`` is the 1-based data row as a person sees it in a spreadsheet (header = row 1,
    first data row = row 2) for tabular files, or the 1-based feature number for GIS files;
    ``None`` when the problem concerns the whole file.
    """

    message: str
    hint: str = ""
    file: str = ""
    row: int | None = None
    column: str | None = None
    value: Any = None
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["value"] is not None and not isinstance(d["value"], int | float | bool | str):
            d["value"] = str(d["value"])
        return d

    def describe(self) -> str:
        """One line for a person: where, what, how to fix."""
        where = self.file or "input"
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.value not in (None, ""):
            text += f" (value: {str(self.value)[:60]!r})"
        if self.hint:
            text += f". {self.hint}"
        return text


@dataclass
class ValidationReport:
    """Every problem found in one file, plus row counts."""

    file: str = ""
    kind: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        message: str,
        *,
        hint: str = "",
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
        severity: Severity = "error",
    ) -> Problem:
        """Record a problem and return it."""
        p = Problem(
            message=message,
            hint=hint,
            file=self.file,
            row=row,
            column=column,
            value=value,
            severity=severity,
        )
        self.problems.append(p)
        return p

    def warn(self, message: str, **kw: Any) -> Problem:
        return self.add(message, severity="warning", **kw)

    def extend(self, other: ValidationReport) -> None:
        self.problems.extend(other.problems)
        self.notes.update(other.notes)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when at least one row loaded (warnings and row errors allowed)."""
        return self.rows_loaded > 0

    def to_dict(self) -> dict[str, Any]:
        def strip(p: Problem) -> dict[str, Any]:
            d = p.to_dict()
            return {k: d[k] for k in ("row", "column", "value", "message", "hint")}

        return {
            "file": self.file,
            "kind": self.kind,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "errors": [strip(p) for p in self.errors],
            "warnings": [strip(p) for p in self.warnings],
        }

    def summary(self) -> str:
        return (
            f"{self.file}: {self.rows_loaded} of {self.rows_read} rows loaded, "
            f"{len(self.errors)} errors, {len(self.warnings)} warnings"
        )
