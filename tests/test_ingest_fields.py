"""One field table drives the canonical columns, the store schema, the allowed values, the
public column list and the partner-id rule."""

from __future__ import annotations

import pandas as pd

from assetmap.auth import PUBLIC_PARTNER_COLUMNS
from assetmap.ingest.fields import PARTNER_FIELDS, partner_id_for
from assetmap.model import PARTNER_COLUMNS
from assetmap.schema import normalize_partners
from assetmap.store import EDITABLE_FIELDS, FIELD_KINDS
from assetmap.store._base import coerce_value, make_partner_id


def test_every_partner_list_derives_from_the_field_table():
    names = [f.name for f in PARTNER_FIELDS]
    assert PARTNER_COLUMNS == [f.name for f in PARTNER_FIELDS if f.canonical] + ["geometry"]
    assert list(FIELD_KINDS) == names
    assert set(PUBLIC_PARTNER_COLUMNS) - {"location_withheld", "geometry"} == {
        f.name for f in PARTNER_FIELDS if f.public
    }
    assert "partner_id" not in EDITABLE_FIELDS and "phone" in EDITABLE_FIELDS
    # staff-only fields never reach a public session
    for private in ("mou_status", "published", "sensitive", "owner_school_id", "attributes"):
        assert private not in PUBLIC_PARTNER_COLUMNS


def test_choices_come_from_the_table():
    import pytest

    from assetmap._errors import InputError

    assert coerce_value("cost", "free") == "free"
    with pytest.raises(InputError, match="not allowed"):
        coerce_value("mou_status", "maybe")


def test_one_partner_id_rule_for_import_and_store():
    raw = pd.DataFrame(
        {"name": ["Café Esperanza"], "address": ["12 Main St"], "city": ["Hartford"]}
    )
    raw["lat"], raw["lon"] = "41.76", "-72.68"
    gdf, _ = normalize_partners(raw, file="coalition.csv")
    rec = {"source": "coalition.csv", "name": "Café Esperanza", "address": "12 Main St",
           "city": "Hartford"}  # fmt: skip
    assert gdf.loc[0, "partner_id"] == make_partner_id(rec) == partner_id_for(rec)
    assert partner_id_for(rec) == partner_id_for({k: f" {v.upper()} " for k, v in rec.items()})
