"""The canonical-record layer: one partner field table (:mod:`.fields`), one header mapper
(:mod:`.headers`), public layouts recognised by header signature and crosswalks from a
source's own codes to categories and services (:mod:`.layouts`, :mod:`.prepare`).

Library code only (no streamlit). :mod:`assetmap.schema` normalises the prepared frames.
Submodules load lazily: ``assetmap.ingest.fields`` needs only the standard library, so the
store's edit path stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "HeaderMatch": "headers",
    "header_key": "headers",
    "map_headers": "headers",
    "match_header": "headers",
    "synonyms": "headers",
    "Layout": "layouts",
    "load_crosswalk": "layouts",
    "load_layouts": "layouts",
    "recognise": "layouts",
    "Prepared": "prepare",
    "category_from_name": "prepare",
    "parse_socrata_location": "prepare",
    "prepare": "prepare",
    "PARTNER_FIELDS": "fields",
    "partner_id_for": "fields",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'assetmap.ingest' has no attribute {name!r}")
    return getattr(importlib.import_module(f"assetmap.ingest.{_WHERE[name]}"), name)
