"""Crosswalks from a source's own classification codes to assetmap partner categories.

The NTEE crosswalk (``config/crosswalks/ntee.toml``) turns an IRS Exempt Organizations
Business Master File (BMF) row into a partner category, the services its NTEE code states
and a *sensitive* flag (family-violence shelters: phone only, never a location), or says
why the row is not a community partner (private foundation, booster club, lodge, ...).

>>> xw = load_ntee_crosswalk()
>>> xw.classify(ntee="K31", subsection="03", foundation="15", name="PLYMOUTH FOOD PANTRY").category
'human_services'
>>> xw.classify(ntee="L50", subsection="03", foundation="15", name="X").reason
'homeowner or tenant association'
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from assetmap._errors import ConfigError
from assetmap._text import fold
from assetmap.settings import config_dir
from assetmap.taxonomy import load_taxonomy

__all__ = ["NteeRule", "BmfClass", "NteeCrosswalk", "load_ntee_crosswalk"]


@dataclass(frozen=True)
class NteeRule:
    """One ``[codes]`` entry: an NTEE prefix and what it means for assetmap."""

    code: str
    category: str | None = None
    label: str = ""
    services: tuple[str, ...] = ()
    sensitive: bool = False
    exclude: str | None = None


@dataclass(frozen=True)
class BmfClass:
    """The crosswalk's verdict on one BMF row.

    ``included`` rows carry ``category``, the ``services`` their code states (empty: use
    the category defaults, as inferred services) and ``sensitive``; excluded rows carry
    the ``reason``. ``rule`` is the NTEE prefix that decided (``"church"`` for FOUNDATION 10
    without a code, ``None`` when no rule applied).
    """

    included: bool
    reason: str
    category: str | None = None
    services: tuple[str, ...] = ()
    sensitive: bool = False
    ntee: str | None = None
    rule: str | None = None
    label: str = ""


def _norm_code(value: object) -> str:
    """'p43z ' -> 'P43Z'; '' for empty/NaN."""
    if value is None:
        return ""
    s = str(value).strip().upper()
    return "" if s in ("", "NAN", "NONE", "<NA>") else s


def _norm_two(value: object) -> str:
    """BMF two-digit codes as text: 3 -> '03', '3' -> '03', '' stays ''."""
    s = _norm_code(value)
    if s.endswith(".0"):
        s = s[:-2]
    return s.zfill(2) if s.isdigit() else s


def _word_pattern(words: Mapping[str, str]) -> re.Pattern[str] | None:
    keys = sorted((fold(w) for w in words), key=len, reverse=True)
    if not keys:
        return None
    return re.compile(r"\b(" + "|".join(re.escape(k) for k in keys) + r")\b")


@dataclass(frozen=True)
class NteeCrosswalk:
    """The loaded NTEE crosswalk; :meth:`classify` decides one row."""

    version: str
    rules: dict[str, NteeRule]
    subsections: tuple[str, ...]
    exclude_foundation: dict[str, str]
    church_foundation: str | None
    church_category: str | None
    exclude_common: dict[str, str]
    exclude_words: dict[str, str]
    sensitive_words: dict[str, str]
    _exclude_re: re.Pattern[str] | None = field(default=None, repr=False)
    _sensitive_re: re.Pattern[str] | None = field(default=None, repr=False)

    def rule_for(self, ntee: object) -> NteeRule | None:
        """The longest ``[codes]`` prefix of an NTEE code ('P43Z' -> the P43 rule)."""
        code = _norm_code(ntee)
        for n in range(min(len(code), 3), 0, -1):
            rule = self.rules.get(code[:n])
            if rule is not None:
                return rule
        return None

    def classify(
        self,
        *,
        ntee: object,
        subsection: object = "03",
        foundation: object = None,
        name: object = None,
    ) -> BmfClass:
        """Decide whether a BMF row is a community partner, and as what."""
        code = _norm_code(ntee) or None
        sub = _norm_two(subsection)
        fnd = _norm_two(foundation)
        if self.subsections and sub not in self.subsections:
            return BmfClass(False, f"501(c)({sub.lstrip('0') or sub}) organization", ntee=code)
        if fnd in self.exclude_foundation:
            return BmfClass(False, self.exclude_foundation[fnd], ntee=code)
        folded = fold(name)
        if self._exclude_re is not None and folded:
            m = self._exclude_re.search(folded)
            if m:
                return BmfClass(False, self.exclude_words[m.group(1)], ntee=code)
        if code is None:
            if self.church_foundation and fnd == self.church_foundation:
                return self._included(
                    NteeRule("church", self.church_category, "Church"), None, folded
                )
            return BmfClass(False, "no NTEE code", ntee=None)
        common = code[1:3]
        if common in self.exclude_common:
            return BmfClass(False, self.exclude_common[common], ntee=code, rule=code[:3])
        rule = self.rule_for(code)
        if rule is None:
            return BmfClass(False, "NTEE code not mapped to a partner category", ntee=code)
        if rule.exclude:
            return BmfClass(False, rule.exclude, ntee=code, rule=rule.code)
        return self._included(rule, code, folded)

    def _included(self, rule: NteeRule, code: str | None, folded: str) -> BmfClass:
        sensitive = rule.sensitive
        reason = rule.label or rule.code
        if not sensitive and self._sensitive_re is not None and folded:
            m = self._sensitive_re.search(folded)
            if m:
                sensitive = True
                reason = f"{reason}; sensitive: {self.sensitive_words[m.group(1)]}"
        return BmfClass(
            True,
            reason,
            category=rule.category,
            services=rule.services,
            sensitive=sensitive,
            ntee=code,
            rule=rule.code,
            label=rule.label,
        )

    def classify_row(self, row: Mapping[str, object]) -> BmfClass:
        """:meth:`classify` on a BMF row with its own column names (NTEE_CD, SUBSECTION, ...)."""
        return self.classify(
            ntee=row.get("NTEE_CD"),
            subsection=row.get("SUBSECTION"),
            foundation=row.get("FOUNDATION"),
            name=row.get("NAME"),
        )


def _build(raw: dict, path: Path) -> NteeCrosswalk:
    tax = load_taxonomy()
    rules: dict[str, NteeRule] = {}
    for code, spec in raw.get("codes", {}).items():
        key = _norm_code(code)
        if not re.fullmatch(r"[A-Z][0-9A-Z]{0,2}", key):
            raise ConfigError(f"{path}: [codes] key {code!r} is not an NTEE prefix")
        if spec.get("exclude"):
            rules[key] = NteeRule(key, exclude=str(spec["exclude"]))
            continue
        cat = spec.get("category")
        if cat not in tax.categories:
            raise ConfigError(f"{path}: code {code}: unknown category {cat!r}")
        services = tuple(spec.get("services", ()))
        for s in services:
            if s not in tax.needs:
                raise ConfigError(f"{path}: code {code}: unknown service {s!r}")
        rules[key] = NteeRule(
            key,
            category=cat,
            label=str(spec.get("label", "")),
            services=services,
            sensitive=bool(spec.get("sensitive", False)),
        )
    flt = raw.get("filters", {})
    church = flt.get("church", {})
    church_cat = church.get("category")
    if church_cat is not None and church_cat not in tax.categories:
        raise ConfigError(f"{path}: [filters.church] unknown category {church_cat!r}")
    excl_words = {fold(k): str(v) for k, v in flt.get("exclude_name_words", {}).items()}
    sens_words = {fold(k): str(v) for k, v in flt.get("sensitive_name_words", {}).items()}
    return NteeCrosswalk(
        version=str(raw.get("crosswalk", {}).get("version", "1")),
        rules=rules,
        subsections=tuple(_norm_two(s) for s in flt.get("subsections", ())),
        exclude_foundation={
            _norm_two(k): str(v) for k, v in flt.get("exclude_foundation", {}).items()
        },
        church_foundation=_norm_two(church.get("foundation")) or None,
        church_category=church_cat,
        exclude_common={str(k): str(v) for k, v in flt.get("exclude_common_codes", {}).items()},
        exclude_words=excl_words,
        sensitive_words=sens_words,
        _exclude_re=_word_pattern(excl_words),
        _sensitive_re=_word_pattern(sens_words),
    )


@functools.lru_cache(maxsize=4)
def load_ntee_crosswalk(path: Path | None = None) -> NteeCrosswalk:
    """Read ``config/crosswalks/ntee.toml`` (cached); ConfigError when it is unusable."""
    path = path or config_dir() / "crosswalks" / "ntee.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the NTEE crosswalk ({exc})") from exc
    return _build(raw, path)
