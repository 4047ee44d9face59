"""The network as a graph: GraphML (networkx) and a Kumu workbook (Elements + Connections).

Nodes: ``school:<id>``, ``partner:<id>``, ``need:<code>``. Edges: school→partner for every
lead/backup slot (role, need, rank, distance, language coverage, score, reason),
partner→need (``serves``) and school→need (``has_need``, ``gap`` when nobody covers it).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from assetmap.export._common import EXAMPLE_LABEL, Bundle, present
from assetmap.languages import load_languages
from assetmap.taxonomy import load_taxonomy

__all__ = ["network_graph", "bundle_graphml", "bundle_kumu"]


def _attr(v: Any) -> Any:
    """A GraphML-storable value (str/int/float/bool) or None to leave it out."""
    if isinstance(v, list | tuple | set):
        return ";".join(str(x) for x in v) if v else None
    if not present(v):
        return None
    if hasattr(v, "item") and not isinstance(v, str):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, bool | int | float | str):
        return v
    return str(v)


def _add(g: nx.MultiDiGraph, node: str, **attrs: Any) -> None:
    clean = {k: a for k, v in attrs.items() if (a := _attr(v)) is not None}
    if node in g:
        g.nodes[node].update(clean)
    else:
        g.add_node(node, **clean)


def network_graph(bundle: Bundle) -> nx.MultiDiGraph:
    """A directed multigraph of schools, partners and needs built from the bundle."""
    tax = load_taxonomy()
    g = nx.MultiDiGraph(name="assetmap network")
    p = bundle.partners
    for rec, geom in zip(p.drop(columns="geometry").to_dict("records"), p.geometry, strict=True):
        pid = f"partner:{rec['partner_id']}"
        ok = geom is not None and not geom.is_empty
        _add(
            g,
            pid,
            kind="partner",
            label=rec.get("name"),
            partner_id=rec.get("partner_id"),
            category=rec.get("category"),
            languages=rec.get("languages"),
            phone=rec.get("phone"),
            address=rec.get("address"),
            city=rec.get("city"),
            website=rec.get("website"),
            mou_status=rec.get("mou_status"),
            example=bool(rec.get("example")),
            example_label=rec.get("example_label"),
            stale=bool(rec.get("stale")),
            lat=geom.y if ok else None,
            lon=geom.x if ok else None,
        )
        if bundle.network is None:
            for code in rec.get("services") or []:
                top = str(code).split(".")[0]
                _add(g, f"need:{top}", kind="need", label=tax.label(top), need=top)
                if not g.has_edge(pid, f"need:{top}", key="serves"):
                    g.add_edge(pid, f"need:{top}", key="serves", kind="serves")
    for rec, geom in zip(
        bundle.schools.drop(columns="geometry").to_dict("records"),
        bundle.schools.geometry,
        strict=True,
    ):
        ok = geom is not None and not geom.is_empty
        _add(
            g,
            f"school:{rec['school_id']}",
            kind="school",
            label=rec.get("name"),
            school_id=rec.get("school_id"),
            district_id=rec.get("district_id"),
            lat=geom.y if ok else None,
            lon=geom.x if ok else None,
        )
    if bundle.network is not None:
        for r in bundle.network.to_dict("records"):
            sid = f"school:{r['school_id']}"
            need = str(r.get("need") or "")
            nid = f"need:{need}"
            _add(g, sid, kind="school", label=r.get("school_name"), school_id=r.get("school_id"))
            _add(g, nid, kind="need", label=r.get("need_label") or tax.label(need), need=need)
            if r.get("role") == "gap":
                g.add_edge(sid, nid, key="gap", kind="gap", reason=_attr(r.get("reason")) or "")
                continue
            if not g.has_edge(sid, nid, key="has_need"):
                g.add_edge(sid, nid, key="has_need", kind="has_need")
            if not present(r.get("partner_id")):
                continue
            pid = f"partner:{r['partner_id']}"
            _add(
                g,
                pid,
                kind="partner",
                label=r.get("partner_name"),
                partner_id=r.get("partner_id"),
                category=r.get("category"),
                example=bool(r.get("example")),
                stale=bool(r.get("stale")),
            )
            if not g.has_edge(pid, nid, key="serves"):
                g.add_edge(pid, nid, key="serves", kind="serves")
            attrs = {
                "kind": r.get("role"),
                "role": r.get("role"),
                "need": need,
                "rank": r.get("rank"),
                "distance_km": r.get("distance_km"),
                "language_coverage": r.get("language_coverage"),
                "score": r.get("score"),
                "reason": r.get("reason"),
                "languages_needed": r.get("languages_needed"),
                "mou_status": r.get("mou_status"),
            }
            g.add_edge(
                sid,
                pid,
                key=f"{need}:{r.get('role')}",
                **{k: a for k, v in attrs.items() if (a := _attr(v)) is not None},
            )
    return g


def bundle_graphml(bundle: Bundle, path: Path) -> None:
    nx.write_graphml(network_graph(bundle), path, named_key_ids=True)


def bundle_kumu(bundle: Bundle, path: Path) -> None:
    """A Kumu import workbook: ``Elements`` (Label, Type, Description, Tags, …) and
    ``Connections`` (From, To, Type, Direction, …). Labels are made unique so Kumu's
    label matching links the right elements."""
    from assetmap.export._tabular import write_xlsx

    g = network_graph(bundle)
    langs = load_languages()
    labels: dict[str, str] = {}
    used: set[str] = set()
    elements = []
    type_names = {"school": "School", "partner": "Partner", "need": "Need"}
    for node, a in g.nodes(data=True):
        base = str(a.get("label") or node.split(":", 1)[1])
        label = base
        if label in used:
            extra = a.get("city") or a.get("district_id") or node.split(":", 1)[1]
            label = f"{base} ({extra})"
            n = 2
            while label in used:
                label = f"{base} ({extra} {n})"
                n += 1
        used.add(label)
        labels[node] = label
        tags = []
        if a.get("kind") == "partner":
            if a.get("category"):
                tags.append(str(a["category"]))
            if a.get("example"):
                tags.append(EXAMPLE_LABEL)
            if a.get("stale"):
                tags.append("stale")
        lang_names = "; ".join(langs.name(c) for c in str(a.get("languages") or "").split(";") if c)
        elements.append(
            {
                "Label": label,
                "Type": type_names.get(str(a.get("kind")), str(a.get("kind"))),
                "Description": EXAMPLE_LABEL + " — not a real organisation"
                if a.get("example")
                else "",
                "Tags": " | ".join(tags),
                "ID": node,
                "Category": a.get("category"),
                "Languages": lang_names,
                "Phone": a.get("phone"),
                "Address": ", ".join(str(x) for x in (a.get("address"), a.get("city")) if x),
                "Website": a.get("website"),
                "MOU status": a.get("mou_status"),
                "District": a.get("district_id"),
                "Example": bool(a.get("example")),
                "Stale": bool(a.get("stale")),
            }
        )
    conns = []
    for u, v, a in g.edges(data=True):
        kind = str(a.get("kind"))
        conns.append(
            {
                "From": labels[u],
                "To": labels[v],
                "Type": {"lead": "Lead partner", "backup": "Backup partner"}.get(
                    kind, kind.replace("_", " ")
                ),
                "Direction": "directed",
                "Need": a.get("need"),
                "Rank": a.get("rank"),
                "Distance (km)": a.get("distance_km"),
                "Language coverage": a.get("language_coverage"),
                "Score": a.get("score"),
                "Reason": a.get("reason"),
            }
        )
    write_xlsx(
        {"Elements": pd.DataFrame(elements), "Connections": pd.DataFrame(conns)},
        path,
        notes=[
            "Kumu import: Elements and Connections sheets (From/To are element Labels).",
            f"Elements tagged '{EXAMPLE_LABEL}' are fictional example partners.",
        ],
        notes_sheet="About",
    )
