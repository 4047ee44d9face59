"""The canonical-record layer: one header mapper, public layouts recognised by header
signature, and crosswalks from a source's own codes to categories and services.

Library code only (no streamlit). :mod:`assetmap.schema` normalises the prepared frames.
"""

from assetmap.ingest.headers import HeaderMatch, header_key, map_headers, match_header, synonyms
from assetmap.ingest.layouts import Layout, load_crosswalk, load_layouts, recognise
from assetmap.ingest.prepare import Prepared, category_from_name, parse_socrata_location, prepare

__all__ = [
    "HeaderMatch",
    "Layout",
    "Prepared",
    "category_from_name",
    "header_key",
    "load_crosswalk",
    "load_layouts",
    "map_headers",
    "match_header",
    "parse_socrata_location",
    "prepare",
    "recognise",
    "synonyms",
]
