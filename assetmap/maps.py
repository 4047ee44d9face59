"""Folium map builders shared by the app and the HTML exports.

Security (RELIABILITY.md §1.1): folium popups and tooltips are HTML sinks, some inside
JavaScript template literals. So no data string ever reaches folium as popup or tooltip
text. Every string is escaped once, in Python, by :func:`escape_text` (HTML entities plus
`` ` `` ``$`` ``\\``), links pass :func:`safe_url` (http/https only), and the escaped values
travel to the page as JSON with ``<``, ``>``, ``&`` and ``'`` written as ``\\u00XX``.
Popups and tooltips are then assembled in the browser from those pre-escaped values, and
only when a point is clicked or hovered.

Scale (DESIGN.md "Maps", issue 7): no Python folium object per marker. All points of a
layer are one JSON array; the browser turns them into canvas circle markers and adds them
in bulk to one client-side cluster group (Leaflet.markercluster, ``chunkedLoading``);
per-category layers are sub-groups of that one cluster (Leaflet.FeatureGroup.SubGroup), so
toggling a category keeps a single, consistent clustering.

>>> escape_text('<b onclick="x">${1}</b>')
'&lt;b onclick=&quot;x&quot;&gt;&#36;&#123;1&#125;&lt;/b&gt;'
>>> safe_url("javascript:alert(1)") is None
True
"""

from __future__ import annotations

import functools
import html
import json
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import folium
import geopandas as gpd
import pandas as pd
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import MarkerCluster
from folium.template import Template

from assetmap._fresh import stale_flags
from assetmap.languages import load_languages
from assetmap.settings import get_settings
from assetmap.taxonomy import load_taxonomy

__all__ = [
    "escape_text",
    "safe_url",
    "tel_href",
    "partner_map",
    "network_map",
    "family_map",
    "GAP_COLORS",
    "ROLE_COLORS",
]

log = logging.getLogger(__name__)

OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
_SUBGROUP_JS = (
    "https://unpkg.com/leaflet.featuregroup.subgroup@1.0.2/dist/leaflet.featuregroup.subgroup.js"
)
#: School colours by number of gaps: none, 1-2, 3-5, 6 or more.
#: Colour-blind-safe: blue for none, then oranges that darken with the number of gaps.
GAP_COLORS: tuple[str, ...] = ("#2166ac", "#fdb863", "#e66101", "#7f3b08")
#: Network line colours by role.
ROLE_COLORS: Mapping[str, str] = {"lead": "#08519c", "backup": "#6baed6"}
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{3,8}$")
_DOMAIN_RE = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(:\d+)?([/?#].*)?$")
_CTRL_RE = re.compile(r"[\x00-\x20\x7f]")
_JINJA_OPEN_RE = re.compile(r"\{(?=[{%#])")


# ---------------------------------------------------------------------------------------
# Escaping and links


def escape_text(s: object) -> str:
    """The one escaping helper for data strings shown in HTML or map popups.

    ``html.escape(quote=True)`` plus `` ` `` → ``&#96;``, ``$`` → ``&#36;``, ``\\`` → ``&#92;``
    (folium puts some HTML inside JavaScript template literals) and ``{`` ``}`` →
    ``&#123;`` ``&#125;``: branca compiles every rendered map script a second time as a
    Jinja template, so a literal ``{{``, ``{%`` or ``{#`` in data would run or break it
    (issue 10). None/NaN give ``""``.

    >>> escape_text("Food Hub {{ 7*191 }}")
    'Food Hub &#123;&#123; 7*191 &#125;&#125;'
    """
    if s is None:
        return ""
    if isinstance(s, float) and math.isnan(s):
        return ""
    if s is pd.NA or s is pd.NaT:
        return ""
    out = html.escape(str(s), quote=True)
    return (
        out.replace("`", "&#96;")
        .replace("$", "&#36;")
        .replace("\\", "&#92;")
        .replace("{", "&#123;")
        .replace("}", "&#125;")
    )


def safe_url(u: object) -> str | None:
    """The URL if it is an ``http``/``https`` link with a host, else None.

    A bare domain (``www.example.org/path``) is taken as ``https://``. The result is not
    HTML-escaped: pass it through :func:`escape_text` before putting it in an attribute.

    >>> safe_url("example.org")
    'https://example.org'
    >>> safe_url("data:text/html,<script>") is None
    True
    """
    if u is None or (isinstance(u, float) and math.isnan(u)):
        return None
    s = str(u).strip()
    if not s or _CTRL_RE.search(s):
        return None
    try:
        parts = urlsplit(s)
    except ValueError:
        return None
    if not parts.scheme and _DOMAIN_RE.match(s):
        s = "https://" + s
        parts = urlsplit(s)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return s


def tel_href(phone: object) -> str | None:
    """A ``tel:`` link for a phone number (digits and a leading +; US numbers get +1).

    >>> tel_href("(860) 555-0100 ext. 2")
    'tel:+18605550100'
    >>> tel_href("call us") is None
    True
    """
    if phone is None or (isinstance(phone, float) and math.isnan(phone)):
        return None
    s = str(phone).strip()
    s = re.split(r"(?i)\s*(?:ext\.?|x|#)\s*\d+\s*$", s)[0]
    plus = s.startswith("+")
    digits = re.sub(r"\D", "", s)
    if len(digits) < 7 or len(digits) > 15:
        return None
    if not plus and len(digits) == 10:
        digits = "1" + digits
        plus = True
    elif not plus and len(digits) == 11 and digits.startswith("1"):
        plus = True
    return "tel:" + ("+" if plus else "") + digits


def _color(c: object, default: str = "#777777") -> str:
    s = str(c or "")
    return s if _COLOR_RE.match(s) else default


def _js(obj: Any) -> str:
    """Compact JSON safe to place inside a ``<script>`` block.

    Also inert for branca's second Jinja pass over rendered scripts: every ``{`` that could
    open a Jinja tag (``{{``, ``{%``, ``{#``) is written ``\\u007b``. In compact JSON such a
    ``{`` can only sit inside a string (a structural ``{`` is followed by ``"`` or ``}``).
    """
    return _JINJA_OPEN_RE.sub(
        r"\\u007b",
        json.dumps(obj, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027"),
    )


def _finite_point(geom: Any) -> tuple[float, float] | None:
    """(lat, lon) of a point geometry, or None when missing, empty or out of range."""
    if geom is None or getattr(geom, "is_empty", True):
        return None
    if geom.geom_type != "Point":
        geom = geom.representative_point()
    lat, lon = float(geom.y), float(geom.x)
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return round(lat, 5), round(lon, 5)


def _finite_latlon(lat: Any, lon: Any) -> tuple[float, float] | None:
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(la) and math.isfinite(lo) and -90 <= la <= 90 and -180 <= lo <= 180):
        return None
    return round(la, 5), round(lo, 5)


def _as_list(v: Any) -> list[str]:
    if isinstance(v, list | tuple | set):
        return [str(x) for x in v]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return []
    return [x.strip() for x in str(v).split(";") if x.strip()]


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "t")
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return False
    return bool(v)


# ---------------------------------------------------------------------------------------
# Map elements


_HELPERS_JS = r"""
window.assetmap = window.assetmap || (function () {
  function marker(r, s) {
    var ex = r[3] & 1, approx = r[3] & 4;
    var m = L.circleMarker([r[0], r[1]], {
      radius: s.radius, color: ex ? '#000000' : s.stroke, weight: ex ? 2 : (approx ? 1.5 : 1),
      dashArray: ex ? '3,2' : (approx ? '2,3' : null), fillColor: s.colors[r[2]] || '#777777',
      fillOpacity: approx ? s.opacity * 0.45 : s.opacity, renderer: s.renderer});
    m._am = r; m._ams = s;
    return m;
  }
  function popup(r, s) {
    var h = '<div class="am-pop"><div class="am-title">' + r[4] + '</div>';
    if (r[3] & 1) { h += '<div class="am-flag">' + s.text.example + '</div>'; }
    if ((r[3] & 2) && s.text.stale) { h += '<div class="am-stale">' + s.text.stale + '</div>'; }
    if ((r[3] & 4) && s.text.approx) { h += '<div class="am-approx">' + s.text.approx + '</div>'; }
    for (var j = 0; j < s.fields.length; j++) {
      var f = s.fields[j], v = s.str[r[5 + j]];
      if (!v) { continue; }
      if (f[1] === 'tel') {
        h += v[1] ? '<div>' + f[0] + ': <a href="' + v[1] + '">' + v[0] + '</a></div>'
                  : '<div><span class="am-k">' + f[0] + ':</span> ' + v[0] + '</div>';
      } else if (f[1] === 'url') {
        h += '<div><a href="' + v + '" target="_blank" rel="noopener noreferrer">' + f[0] + '</a></div>';
      } else if (f[0]) {
        h += '<div><span class="am-k">' + f[0] + ':</span> ' + v + '</div>';
      } else {
        h += '<div>' + v + '</div>';
      }
    }
    return h + '</div>';
  }
  function bind(group, map) {
    group.on('click', function (e) {
      var l = e.layer || e.sourceTarget;
      if (!l || !l._am) { return; }
      L.popup({maxWidth: 320}).setLatLng(l.getLatLng()).setContent(popup(l._am, l._ams)).openOn(map);
    });
    group.on('mouseover', function (e) {
      var l = e.layer || e.sourceTarget;
      if (!l || !l._am || l.getTooltip()) { return; }
      l.bindTooltip(l._am[4]).openTooltip();
    });
  }
  function lines(rows, s) {
    var out = new Array(rows.length);
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i], st = s.styles[r[4]];
      var l = L.polyline([[r[0], r[1]], [r[2], r[3]]], {color: st.color, weight: st.weight,
        dashArray: st.dash, opacity: 0.8, renderer: s.renderer});
      l._tip = r[5];
      out[i] = l;
    }
    var g = L.featureGroup(out);
    g.on('mouseover', function (e) {
      var l = e.layer;
      if (l && l._tip && !l.getTooltip()) { l.bindTooltip(l._tip, {sticky: true}).openTooltip(e.latlng); }
    });
    return g;
  }
  return {marker: marker, popup: popup, bind: bind, lines: lines};
})();
"""

_CSS = """
<style>
.am-pop{font:13px/1.35 system-ui,sans-serif;max-width:300px}
.am-pop .am-title{font-weight:700;font-size:14px;margin-bottom:2px}
.am-pop .am-k{color:#555}
.am-pop .am-flag{background:#fff3cd;color:#664d03;padding:1px 4px;border-radius:3px;display:inline-block;margin:2px 0;font-weight:600}
.am-pop .am-stale{color:#8a5300;font-size:12px}
.am-legend{background:#fff;padding:6px 8px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:12px/1.4 system-ui,sans-serif;max-height:260px;overflow:auto}
.am-legend i{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:5px;vertical-align:-1px;border:1px solid #333}
.am-legend .am-sq{border-radius:2px}
.am-legend b{display:block;margin:2px 0}
</style>
"""


class _Helpers(MacroElement):
    """Defines the shared ``assetmap`` JavaScript helpers once per page (before any layer)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}"""
        + _CSS
        + """{% endmacro %}
        {% macro script(this, kwargs) %}"""
        + _HELPERS_JS
        + """{% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "AssetmapHelpers"


class _Shared(MacroElement):
    """One style object per point layer family: colours, labels and the string table.

    Rows refer to strings by index into ``str`` so repeated values (categories, languages,
    services, hours…) are sent once. Every entry is already escaped.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.style_js }};
        {{ this.get_name() }}.renderer = L.canvas({padding: 0.5});
        {% endmacro %}
        """
    )

    def __init__(self, style: dict[str, Any]) -> None:
        super().__init__()
        self._name = "AssetmapStyle"
        self.style_js = _js(style)


class _PointLayer(JSCSSMixin, Layer):
    """Many points as one JSON array, drawn as canvas circle markers in the browser.

    With ``cluster`` the markers go (in bulk) into that marker-cluster group as a
    sub-group (so the layer control can toggle it); without, into a plain feature group.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var s = {{ this.shared.get_name() }};
            var rows = {{ this.rows_js }};
            var ms = new Array(rows.length);
            for (var i = 0; i < rows.length; i++) { ms[i] = assetmap.marker(rows[i], s); }
            {% if this.cluster is not none %}
            return L.featureGroup.subGroup({{ this.cluster.get_name() }}, ms);
            {% else %}
            var g = L.featureGroup(ms);
            assetmap.bind(g, {{ this._parent.get_name() }});
            return g;
            {% endif %}
        })();
        {% endmacro %}
        """
    )
    default_js = [("featuregroupsubgroupjs", _SUBGROUP_JS)]

    def __init__(
        self,
        rows: list[list[Any]],
        *,
        shared: _Shared,
        name: str,
        cluster: MarkerCluster | None = None,
        show: bool = True,
        control: bool = True,
    ) -> None:
        # ``name`` is shown in the layer control as HTML: callers pass escaped text.
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "AssetmapPoints"
        self.cluster = cluster
        self.shared = shared
        self.rows_js = _js(rows)
        self.n = len(rows)


class _LineLayer(Layer):
    """Straight school→partner lines from one JSON array (canvas polylines)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var s = {{ this.style_js }};
            s.renderer = L.canvas({padding: 0.5});
            return assetmap.lines({{ this.rows_js }}, s);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, rows: list[list[Any]], *, styles: list[dict[str, Any]], name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "AssetmapLines"
        self.rows_js = _js(rows)
        self.style_js = _js({"styles": styles})
        self.n = len(rows)


class _ClusterEvents(MacroElement):
    """Lazy popups/tooltips for every marker of a cluster group (one handler, not one each),
    and the cluster's one ``addTo(map)``, placed after all its sub-groups: sub-groups added to
    a cluster that is not yet on the map only queue their markers, so the cluster then clusters
    everything in one chunked pass (instead of one blocking 200 ms chunk per category)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (c, m) {
            if (c._amQueue) { c.addLayers = c._amQueue; delete c._amQueue; }
            assetmap.bind(c, m);
            c.addTo(m);
        })({{ this.cluster.get_name() }}, {{ this.map.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, cluster: MarkerCluster, m: folium.Map) -> None:
        super().__init__()
        self._name = "AssetmapClusterEvents"
        self.cluster = cluster
        self.map = m


class _ClusterQueue(MacroElement):
    """Before the sub-groups: while the cluster is off the map, their markers are only
    queued (markercluster's own off-map ``addLayers`` checks each marker against the whole
    queue, which is quadratic). :class:`_ClusterEvents` restores it and adds the cluster."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (c) {
            c._amQueue = c.addLayers;
            c.addLayers = function (ls) {
                for (var i = 0; i < ls.length; i++) { this._needsClustering.push(ls[i]); }
                return this;
            };
        })({{ this.cluster.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, cluster: MarkerCluster) -> None:
        super().__init__()
        self._name = "AssetmapClusterQueue"
        self.cluster = cluster


class _FitBounds(MacroElement):
    """``fitBounds`` without animation."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.fitBounds({{ this.bounds_js }}, {padding: [20, 20], animate: false});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "AssetmapFitBounds"
        self.bounds_js = _js(bounds)


class _Legend(MacroElement):
    """A legend control built from escaped labels and validated colours."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var c = L.control({position: {{ this.position_js }}});
            c.onAdd = function () {
                var d = L.DomUtil.create('div', 'am-legend');
                d.innerHTML = {{ this.html_js }};
                L.DomEvent.disableScrollPropagation(d);
                return d;
            };
            c.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, *, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "AssetmapLegend"
        self.html_js = _js(html_text)
        self.position_js = _js(position)


def _legend_html(sections: list[tuple[str, list[tuple[str, str]], bool]]) -> str:
    """sections: (title, [(label, colour)], square). Labels are escaped here."""
    parts = []
    for title, items, square in sections:
        if not items:
            continue
        parts.append(f"<b>{escape_text(title)}</b>")
        cls = ' class="am-sq"' if square else ""
        for label, color in items:
            parts.append(
                f'<div><i{cls} style="background:{_color(color)}"></i>{escape_text(label)}</div>'
            )
    return "".join(parts)


# ---------------------------------------------------------------------------------------
# Rows from the canonical frames

#: Placement qualities that put a partner only in an area (its ZIP or town), not at its site.
APPROXIMATE_QUALITIES = frozenset({"zip", "town"})

_PARTNER_TEXT_EN = {
    "example": "EXAMPLE (fictional) — not a real organisation",
    "stale": "Not verified recently",
    "approx": "Approximate location: the point is the ZIP or town area, not the street address",
    "category": "Category",
    "organization": "Organization",
    "address": "Address",
    "phone": "Phone",
    "hours": "Hours",
    "languages": "Languages",
    "services": "Services",
    "website": "Website",
    "distance": "Distance",
    "role": "Role",
}


def _partner_fields(text: Mapping[str, str]) -> list[list[str]]:
    e = {k: escape_text(v) for k, v in text.items()}
    return [
        [e["category"], ""],
        [e["organization"], ""],
        [e["address"], ""],
        [e["phone"], "tel"],
        [e["hours"], ""],
        [e["languages"], ""],
        [e["services"], ""],
        [e["distance"], ""],
        [e["website"], "url"],
    ]


class _Strings:
    """A string table for the browser: each distinct display value is escaped and sent once.

    Entry 0 is ``""`` (nothing to show). Entries are escaped strings or, for phones,
    ``[escaped display, escaped tel: link or ""]``.
    """

    def __init__(self) -> None:
        self.items: list[Any] = [""]
        self._index: dict[Any, int] = {"": 0}

    def add(self, value: Any) -> int:
        key = tuple(value) if isinstance(value, list) else value
        if not value or (isinstance(value, list) and not value[0]):
            return 0
        idx = self._index.get(key)
        if idx is None:
            idx = self._index[key] = len(self.items)
            self.items.append(value)
        return idx

    def column(self, raw: Sequence[Any], fmt: Any) -> list[int]:
        """Codes for a column: ``fmt(raw value)`` -> display text (escaped here), per distinct value."""
        cache: dict[Any, int] = {}
        out: list[int] = []
        append = out.append
        for v in raw:
            try:
                code = cache[v]
            except KeyError:
                code = cache[v] = self._encode(v, fmt)
            except TypeError:  # a list: key on its tuple
                key = tuple(v)
                code = cache.get(key)
                if code is None:
                    code = cache[key] = self._encode(key, fmt)
            append(code)
        return out

    def _encode(self, v: Any, fmt: Any) -> int:
        if not _present(v):
            return 0
        shown = fmt(v)
        return self.add(
            [escape_text(x) for x in shown] if isinstance(shown, list) else escape_text(shown)
        )


def _coords(
    frame: pd.DataFrame, lat_cols: Sequence[str], lon_cols: Sequence[str]
) -> tuple[Any, Any, Any]:
    """(lat array, lon array, valid mask) from a point geometry column or lat/lon columns.

    Missing, empty, non-finite or out-of-range locations are invalid (RELIABILITY.md §1.5).
    """
    import numpy as np
    import shapely

    n = len(frame)
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        geoms = frame.geometry.values
        arr = np.asarray(geoms, dtype=object)
        kinds = shapely.get_type_id(arr)
        non_point = (kinds != 0) & (kinds >= 0)
        if non_point.any():
            arr = arr.copy()
            arr[non_point] = shapely.point_on_surface(arr[non_point])
        with np.errstate(invalid="ignore"):
            lon = shapely.get_x(arr).astype(float)
            lat = shapely.get_y(arr).astype(float)
    else:
        lat = np.full(n, np.nan)
        lon = np.full(n, np.nan)
        for c in lat_cols:
            if c in frame.columns:
                lat = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
                break
        for c in lon_cols:
            if c in frame.columns:
                lon = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
                break
    valid = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    return np.round(lat, 5), np.round(lon, 5), valid


def _col(frame: pd.DataFrame, name: str, default: Any = None) -> list[Any]:
    return frame[name].tolist() if name in frame.columns else [default] * len(frame)


def _partner_rows(
    partners: pd.DataFrame,
    cat_index: Mapping[str, int],
    strings: _Strings,
    *,
    public: bool,
    autonyms: bool,
    need_label: Any = None,
    category_label: Any = None,
    distance_fmt: Any = None,
) -> tuple[list[list[Any]], list[str]]:
    """Compact rows ``[lat, lon, cat, flags, name, category, organization, address, phone,
    hours, languages, services, distance, website]`` (fields after the name are indexes into
    ``strings``; every string escaped) and their category codes, same order. Rows without a
    usable location are skipped (and logged)."""
    tax = load_taxonomy()
    langs = load_languages()
    need_label = need_label or tax.label
    category_label = category_label or tax.label
    if public:
        # Filter first: nothing of an unpublished or sensitive record may reach the page,
        # not even in the shared string table.
        keep = [
            _truthy_default(pub, True) and not _truthy(sens)
            for pub, sens in zip(
                _col(partners, "published"), _col(partners, "sensitive"), strict=True
            )
        ]
        partners = partners[keep]
    lat, lon, valid = _coords(partners, ("lat", "partner_lat"), ("lon", "partner_lon"))
    n = len(partners)
    names = _col(partners, "name") if "name" in partners.columns else _col(partners, "partner_name")
    cats = ["" if not _present(c) else str(c) for c in _col(partners, "category")]
    if "stale" in partners.columns:
        stale = [_truthy(v) for v in partners["stale"]]
    else:
        stale = stale_flags(_col(partners, "last_verified"))
    example = [
        _truthy(e) or str(src or "").startswith("EXAMPLE (fictional)")
        for e, src in zip(_col(partners, "example"), _col(partners, "source"), strict=True)
    ]
    published = [_truthy_default(v, True) for v in _col(partners, "published")]
    sensitive = [_truthy(v) for v in _col(partners, "sensitive")]
    # placed only at a ZIP or town area: drawn dashed and lighter, said so in the popup
    approximate = [str(q or "").strip().lower() in APPROXIMATE_QUALITIES
                   for q in _col(partners, "geocode_quality")]  # fmt: skip
    orgs = [
        o if _present(o) and o != nm else None
        for o, nm in zip(_col(partners, "organization"), names, strict=True)
    ]

    def addr(rec: tuple[Any, ...]) -> str:
        return ", ".join(str(x) for x in rec if _present(x))

    street = _col(partners, "address")
    city, state, zipc = (
        _col(partners, "city"),
        _col(partners, "state"),
        _col(partners, "postal_code"),
    )
    addresses = [
        (None, c, s_, None) if (sens and public) else (a, c, s_, z)
        for a, c, s_, z, sens in zip(street, city, state, zipc, sensitive, strict=True)
    ]

    def fmt_phone(p: Any) -> list[str]:
        return [str(p), tel_href(p) or ""]

    def fmt_langs(v: Any) -> str:
        return ", ".join(langs.name(c, autonym=autonyms) for c in _as_list(v))

    def fmt_services(v: Any) -> str:
        out: list[str] = []
        for code in _as_list(v):
            lab = need_label(code.split(".")[0])
            if lab not in out:
                out.append(lab)
        return ", ".join(out)

    def fmt_dist(v: Any) -> str:
        try:
            km = float(v)
        except (TypeError, ValueError):
            return ""
        if not math.isfinite(km):
            return ""
        return distance_fmt(km) if distance_fmt else f"{km:.1f} km"

    def listish(v: Any) -> Any:
        return tuple(_as_list(v))

    f_cat = strings.column(cats, lambda c: category_label(c))
    f_org = strings.column(orgs, str)
    f_addr = strings.column([tuple(x) for x in addresses], addr)
    f_phone = strings.column(_col(partners, "phone"), fmt_phone)
    f_hours = strings.column(_col(partners, "hours"), str)
    f_langs = strings.column([listish(v) for v in _col(partners, "languages")], fmt_langs)
    f_svc = strings.column([listish(v) for v in _col(partners, "services")], fmt_services)
    f_dist = strings.column(_col(partners, "distance_km"), fmt_dist)
    f_web = strings.column(_col(partners, "website"), lambda u: safe_url(u) or "")
    lat_l, lon_l = lat.tolist(), lon.tolist()
    rows: list[list[Any]] = []
    out_cats: list[str] = []
    skipped = 0
    for i in range(n):
        if public and (not published[i] or sensitive[i]):
            continue  # a sensitive site's point would reveal where it is
        if not valid[i]:
            skipped += 1
            continue
        rows.append(
            [
                lat_l[i],
                lon_l[i],
                cat_index.get(cats[i], 0),
                (1 if example[i] else 0) | (2 if stale[i] else 0) | (4 if approximate[i] else 0),
                escape_text(names[i]) if _present(names[i]) else "(no name)",
                f_cat[i],
                f_org[i],
                f_addr[i],
                f_phone[i],
                f_hours[i],
                f_langs[i],
                f_svc[i],
                f_dist[i],
                f_web[i],
            ]
        )
        out_cats.append(cats[i])
    if skipped:
        log.info("map: %d partner rows without a usable location were not drawn", skipped)
    return rows, out_cats


def _present(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    if isinstance(v, list | tuple):
        return any(_present(x) for x in v)
    return str(v).strip() not in ("", "nan", "None", "<NA>")


def _truthy_default(v: Any, default: bool) -> bool:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return default
    return _truthy(v)


def _school_rows(
    schools: pd.DataFrame,
    strings: _Strings,
    gap_counts: Mapping[str, int] | None,
    gap_text: Mapping[str, str] | None,
) -> list[list[Any]]:
    """Rows ``[lat, lon, colour, 0, name, district, grades, gaps]`` (fields are string codes)."""
    lat, lon, valid = _coords(schools, ("lat", "school_lat"), ("lon", "school_lon"))
    ids = ["" if not _present(v) else str(v) for v in _col(schools, "school_id")]
    names = _col(schools, "name") if "name" in schools.columns else _col(schools, "school_name")
    dist = [
        dn if _present(dn) else di
        for dn, di in zip(_col(schools, "district_name"), _col(schools, "district_id"), strict=True)
    ]
    f_dist = strings.column(dist, str)
    f_grades = strings.column(_col(schools, "grades"), str)
    f_gaps = strings.column([(gap_text or {}).get(sid) for sid in ids], str)
    rows: list[list[Any]] = []
    for i in range(len(schools)):
        if not valid[i]:
            continue
        ci = 0
        if gap_counts is not None:
            k = gap_counts.get(ids[i], 0)
            ci = 0 if k == 0 else 1 if k <= 2 else 2 if k <= 5 else 3
        rows.append(
            [
                float(lat[i]),
                float(lon[i]),
                ci,
                0,
                escape_text(names[i] if _present(names[i]) else ids[i]),
                f_dist[i],
                f_grades[i],
                f_gaps[i],
            ]
        )
    return rows


def _bounds(points: Iterable[tuple[float, float]]) -> list[list[float]] | None:
    lats, lons = [], []
    for la, lo in points:
        lats.append(la)
        lons.append(lo)
    if not lats:
        return None
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


#: Leaflet and its plugins, vendored (assetmap/static, see its README) and inlined into
#: every map document: a map loads no script or style from any CDN (issue 10).
_ASSET_JS = ("leaflet.js", "leaflet.markercluster.js", "leaflet.featuregroup.subgroup.js")
_ASSET_CSS = ("leaflet.css", "MarkerCluster.css", "MarkerCluster.Default.css")


@functools.cache
def _inline_assets() -> str:
    """``<style>`` and ``<script>`` blocks of the vendored Leaflet files (read once)."""
    base = resources.files("assetmap") / "static"
    parts = []
    for name in _ASSET_CSS:
        text = (base / name).read_text(encoding="utf-8")
        if "</style" in text.lower():
            raise RuntimeError(f"assetmap/static/{name} cannot be inlined")
        parts.append(f"<style>/* {name} */\n{text}</style>")
    for name in _ASSET_JS:
        text = (base / name).read_text(encoding="utf-8")
        if "</script" in text.lower():
            raise RuntimeError(f"assetmap/static/{name} cannot be inlined")
        parts.append(f"<script>/* {name} */\n{text}</script>")
    return "\n".join(parts)


class _Raw(Element):
    """Text placed in the page as it is: rendered as a variable, never compiled as a
    template (so the vendored code never meets branca's second Jinja pass)."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class _LocalAssets(MacroElement):
    """Inline Leaflet, markercluster and the sub-group plugin in the page ``<head>`` and
    drop every element's CDN links (folium's defaults: Leaflet, jQuery, Bootstrap,
    Font Awesome, awesome-markers, markercluster)."""

    def __init__(self) -> None:
        super().__init__()
        self._name = "AssetmapLocalAssets"

    def render(self, **kwargs: Any) -> None:  # noqa: ARG002 - branca's signature
        root = self._parent
        stack = [root]
        while stack:
            el = stack.pop()
            if isinstance(el, JSCSSMixin):
                el.default_js = []
                el.default_css = []
            stack.extend(getattr(el, "_children", {}).values())
        figure = self.get_root()
        figure.header.add_child(_Raw(_inline_assets()), name="assetmap_assets", index=0)


def _new_map(
    center: Sequence[float] | None,
    zoom: int | None,
    height: Any,
    width: Any,
    *,
    tiles: bool = True,
) -> folium.Map:
    settings = get_settings()
    start = list(center) if center is not None else list(settings.default_center)
    m = folium.Map(
        location=start,
        zoom_start=zoom or 9,
        tiles=None,
        prefer_canvas=True,
        height=height,
        width=width,
        control_scale=True,
    )
    m.default_js = []
    m.default_css = []
    _LocalAssets().add_to(m)
    _Helpers().add_to(m)
    tiles = tiles and (settings.map_tiles or "").strip()
    if tiles:
        layer = folium.TileLayer(
            tiles, attr=settings.map_attribution or OSM_ATTRIBUTION, name="Base map", control=False
        )
        layer.add_to(m)
        _TileFallback(layer).add_to(m)
    else:
        _TileFallback(None).add_to(m)
    return m


class _TileFallback(MacroElement):
    """A clean boundary-only map when tiles cannot load: the first tile error (offline, a
    blocked tile server) removes the tile layer and gives the map a plain light background,
    so boundaries, schools and partners stay readable instead of a grid of broken images.
    With no tile layer configured the map starts on that background."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (m, t) {
            function plain() {
                if (t && m.hasLayer(t)) { m.removeLayer(t); }
                m.getContainer().classList.add('am-no-tiles');
                m.getContainer().style.background = '#eef1f4';
                m.attributionControl.setPrefix('Leaflet');
            }
            if (!t) { plain(); return; }
            t.on('tileerror', plain);
        })({{ this._parent.get_name() }}, {{ this.tiles_name }});
        {% endmacro %}
        """
    )

    def __init__(self, layer: folium.TileLayer | None) -> None:
        super().__init__()
        self._name = "AssetmapTileFallback"
        self.layer = layer

    @property
    def tiles_name(self) -> str:
        return self.layer.get_name() if self.layer is not None else "null"


def _add_boundaries(m: folium.Map, boundaries: Any) -> list[tuple[float, float]]:
    """Boundary polygons styled by kind (district/town/school_zone); escaped tooltips."""
    frames = boundaries if isinstance(boundaries, list | tuple) else [boundaries]
    styles = {
        "district": {"color": "#2c3e91", "weight": 2.5, "fillOpacity": 0.03, "dashArray": None},
        "town": {"color": "#666666", "weight": 1, "fillOpacity": 0.0, "dashArray": "4,3"},
        "school_zone": {"color": "#7b3294", "weight": 1.5, "fillOpacity": 0.05, "dashArray": "2,4"},
    }
    corners: list[tuple[float, float]] = []
    for gdf in frames:
        if gdf is None or len(gdf) == 0:
            continue
        g = gdf if gdf.crs is None or gdf.crs.to_epsg() == 4326 else gdf.to_crs(4326)
        g = g[g.geometry.notna() & ~g.geometry.is_empty]
        if len(g) == 0:
            continue
        kinds = g["kind"].astype(str).tolist() if "kind" in g.columns else ["district"] * len(g)
        names = g["name"].tolist() if "name" in g.columns else [""] * len(g)
        geom = g.geometry.simplify(0.0003, preserve_topology=True)
        for kind in sorted(set(kinds)):
            mask = [k == kind for k in kinds]
            sub = gpd.GeoDataFrame(
                {"_label": [escape_text(n) for n, keep in zip(names, mask, strict=True) if keep]},
                geometry=list(geom[mask]),
                crs=4326,
            )
            style = styles.get(kind, styles["district"])
            folium.GeoJson(
                sub.__geo_interface__,
                name=escape_text(
                    {"district": "Districts", "town": "Towns", "school_zone": "School zones"}.get(
                        kind, kind.title()
                    )
                ),
                style_function=lambda _f, s=style: {
                    "color": s["color"],
                    "weight": s["weight"],
                    "fillOpacity": s["fillOpacity"],
                    "dashArray": s["dashArray"],
                },
                tooltip=folium.GeoJsonTooltip(fields=["_label"], labels=False),
                smooth_factor=1.0,
            ).add_to(m)
        minx, miny, maxx, maxy = g.total_bounds
        if all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
            corners += [(miny, minx), (maxy, maxx)]
    return corners


def _gap_summary(gaps: pd.DataFrame) -> tuple[dict[str, int], dict[str, str]]:
    tax = load_taxonomy()
    langs = load_languages()
    counts: dict[str, int] = {}
    text: dict[str, list[str]] = {}
    for rec in gaps.to_dict("records"):
        sid = str(rec.get("school_id"))
        counts[sid] = counts.get(sid, 0) + 1
        need = tax.label(str(rec.get("need") or ""))
        lang = rec.get("language")
        item = f"{need} ({langs.name(str(lang))})" if _present(lang) else need
        fam = rec.get("families_display")
        if _present(fam):
            item += f" — families: {fam}"
        text.setdefault(sid, []).append(item)
    return counts, {k: "; ".join(v) for k, v in text.items()}


def _add_schools(
    m: folium.Map, schools: pd.DataFrame, gaps: pd.DataFrame | None, *, name: str = "Schools"
) -> list[tuple[float, float]]:
    gap_counts = gap_text = None
    if gaps is not None:
        gap_counts, gap_text = _gap_summary(gaps)
    strings = _Strings()
    rows = _school_rows(schools, strings, gap_counts, gap_text)
    if gaps is not None:
        colors = list(GAP_COLORS)
        layer_name = "Schools by gaps"
    else:
        colors = ["#1f1f7a"]
        layer_name = name
    style = {
        "radius": 5,
        "stroke": "#ffffff",
        "opacity": 0.95,
        "colors": colors,
        "text": {"example": "", "stale": ""},
        "fields": [["", ""], [escape_text("Grades"), ""], [escape_text("Gaps"), ""]],
        "str": strings.items,
    }
    shared = _Shared(style).add_to(m)
    _PointLayer(rows, shared=shared, name=escape_text(layer_name)).add_to(m)
    if gaps is not None:
        _Legend(
            _legend_html(
                [
                    (
                        "Gaps per school",
                        [
                            ("none", GAP_COLORS[0]),
                            ("1–2", GAP_COLORS[1]),
                            ("3–5", GAP_COLORS[2]),
                            ("6 or more", GAP_COLORS[3]),
                        ],
                        False,
                    )
                ]
            ),
            position="bottomleft",
        ).add_to(m)
    return [(r[0], r[1]) for r in rows]


def _add_partners(
    m: folium.Map,
    partners: pd.DataFrame,
    *,
    by_category: bool,
    public: bool = False,
    cluster: bool = True,
    text: Mapping[str, str] = _PARTNER_TEXT_EN,
    autonyms: bool = False,
    need_label: Any = None,
    category_label: Any = None,
    distance_fmt: Any = None,
    legend: bool = True,
    layer_title: str = "Partners",
) -> list[tuple[float, float]]:
    tax = load_taxonomy()
    category_label = category_label or tax.label
    present = [
        str(c or "") for c in (partners["category"] if "category" in partners.columns else [])
    ]
    order = [c for c in tax.categories if c in set(present)]
    order += sorted({c for c in present if c not in tax.categories})
    cat_index = {c: i for i, c in enumerate(order)}
    colors = [
        _color(tax.categories[c].color) if c in tax.categories else "#777777" for c in order
    ] or ["#777777"]
    strings = _Strings()
    rows, cats = _partner_rows(
        partners,
        cat_index,
        strings,
        public=public,
        autonyms=autonyms,
        need_label=need_label,
        category_label=category_label,
        distance_fmt=distance_fmt,
    )
    style = {
        "radius": 6,
        "stroke": "#333333",
        "opacity": 0.85,
        "colors": colors,
        "text": {
            "example": escape_text(text["example"]),
            "stale": escape_text(text["stale"]),
            "approx": escape_text(text.get("approx", "")),
        },
        "fields": _partner_fields(text),
        "str": strings.items,
    }
    shared = _Shared(style).add_to(m)
    parent = None
    if cluster:
        parent = MarkerCluster(
            control=False,
            show=False,  # added to the map by _ClusterEvents, after its sub-groups
            options={
                "chunkedLoading": True,
                "chunkInterval": 400,
                "chunkDelay": 10,
                "showCoverageOnHover": False,
                "maxClusterRadius": 45,
                "disableClusteringAtZoom": 16,
                "spiderfyOnMaxZoom": True,
            },
        )
        parent.add_to(m)
        _ClusterQueue(parent).add_to(m)
    if by_category and cluster:
        by_cat: dict[str, list[list[Any]]] = {c: [] for c in order}
        for r, rc in zip(rows, cats, strict=True):
            by_cat[rc].append(r)
        for c in order:
            sub = by_cat[c]
            label = category_label(c) if c else "(no category)"
            _PointLayer(
                sub,
                shared=shared,
                name=f'<span style="color:{colors[cat_index[c]]}">&#9679;</span> '
                + escape_text(f"{label} ({len(sub)})"),
                cluster=parent,
            ).add_to(m)
    else:
        _PointLayer(
            rows, shared=shared, name=escape_text(f"{layer_title} ({len(rows)})"), cluster=parent
        ).add_to(m)
    if parent is not None:
        _ClusterEvents(parent, m).add_to(m)
    if legend and order:
        _Legend(
            _legend_html(
                [
                    (
                        "Partner categories",
                        [
                            (category_label(c) if c else "(no category)", colors[cat_index[c]])
                            for c in order
                        ],
                        False,
                    )
                ]
            )
        ).add_to(m)
    return [(r[0], r[1]) for r in rows]


def _network_lines(network: pd.DataFrame) -> list[list[Any]]:
    tax = load_taxonomy()
    rows: list[list[Any]] = []
    for rec in network.to_dict("records"):
        role = str(rec.get("role") or "")
        if role not in ROLE_COLORS:
            continue
        a = _finite_latlon(rec.get("school_lat"), rec.get("school_lon"))
        b = _finite_latlon(rec.get("partner_lat"), rec.get("partner_lon"))
        if a is None or b is None:
            continue
        need = (
            rec.get("need_label")
            if _present(rec.get("need_label"))
            else tax.label(str(rec.get("need") or ""))
        )
        dist = rec.get("distance_km")
        tip = f"{rec.get('school_name') or rec.get('school_id')} → {rec.get('partner_name')}: {need} ({role}"
        tip += f", {float(dist):.1f} km)" if _present(dist) else ")"
        rows.append([a[0], a[1], b[0], b[1], 0 if role == "lead" else 1, escape_text(tip)])
    return rows


def _finish(
    m: folium.Map,
    corners: list[tuple[float, float]],
    center: Any,
    zoom: Any,
    *,
    layer_control: bool = True,
) -> folium.Map:
    if layer_control:
        folium.LayerControl(collapsed=True).add_to(m)
    if center is None or zoom is None:
        b = _bounds(corners)
        if b is not None and (b[0] != b[1]):
            # Fit without animation and before any layer is drawn: a pan that ends while
            # the cluster is still loading in chunks trips markercluster (moveend before its
            # cluster bounds exist).
            fit = _FitBounds(b)
            fit._parent = m
            items = list(m._children.items())
            m._children.clear()
            m._children[fit.get_name()] = fit
            m._children.update(items)
        elif b is not None:
            m.location = b[0]
    return m


# ---------------------------------------------------------------------------------------
# Public builders


def partner_map(
    partners: pd.DataFrame,
    *,
    schools: pd.DataFrame | None = None,
    boundaries: Any = None,
    gaps: pd.DataFrame | None = None,
    network: pd.DataFrame | None = None,
    center: Sequence[float] | None = None,
    zoom: int | None = None,
    reach_circle: tuple[float, float, float] | None = None,
    layers_by_category: bool = True,
    public: bool = False,
    legend: bool = True,
    height: int | str = "100%",
    width: int | str = "100%",
) -> folium.Map:
    """A folium map of partners (clustered, one layer per category) with optional context.

    Parameters
    ----------
    partners
        Canonical Partners (GeoDataFrame) — or any frame with ``lat``/``lon``.
    schools, gaps
        School points; with the Gaps frame they are coloured by their number of gaps and
        their tooltip lists the gaps (suppressed family counts only).
    boundaries
        A Boundaries GeoDataFrame (``kind`` district/town/school_zone) or a list of them.
    network
        A Network frame: school→partner lines (lead solid, backup light).
    reach_circle
        ``(lat, lon, km)``: a reach ring around a school.
    public
        Drop unpublished partners and sensitive ones (e.g. a safe haven: its point would
        reveal the address); list those by phone elsewhere.
    """
    if not isinstance(partners, pd.DataFrame):
        raise TypeError(
            f"partner_map: partners must be a (Geo)DataFrame, got {type(partners).__name__}"
        )
    if reach_circle is not None and len(reach_circle) != 3:
        raise ValueError(f"partner_map: reach_circle must be (lat, lon, km), got {reach_circle!r}")
    m = _new_map(center, zoom, height, width)
    corners: list[tuple[float, float]] = []
    if boundaries is not None:
        corners += _add_boundaries(m, boundaries)
    if reach_circle is not None:
        lat, lon, km = (float(x) for x in reach_circle)
        folium.Circle(
            location=[lat, lon],
            radius=km * 1000.0,
            color="#3186cc",
            weight=2,
            fill=True,
            fill_opacity=0.05,
        ).add_to(m)
        d = km / 111.0
        corners += [
            (lat - d, lon - d / max(math.cos(math.radians(lat)), 0.1)),
            (lat + d, lon + d / max(math.cos(math.radians(lat)), 0.1)),
        ]
    if network is not None and len(network):
        rows = _network_lines(network)
        _LineLayer(
            rows,
            styles=[
                {"color": ROLE_COLORS["lead"], "weight": 3, "dash": None},
                {"color": ROLE_COLORS["backup"], "weight": 2, "dash": "5,4"},
            ],
            name=escape_text("Network links"),
        ).add_to(m)
    pts = _add_partners(m, partners, by_category=layers_by_category, public=public, legend=legend)
    if reach_circle is None and not corners:
        corners += pts
    if schools is not None and len(schools):
        spts = _add_schools(m, schools, gaps)
        if reach_circle is None:
            corners += spts
    return _finish(m, corners, center, zoom)


def _network_partners(network: pd.DataFrame) -> pd.DataFrame:
    """One row per partner of a Network frame, in the shape the partner layer reads."""
    net = (
        network[network["role"].isin(["lead", "backup"])] if "role" in network.columns else network
    )
    if len(net) == 0:
        return pd.DataFrame(columns=["name", "lat", "lon"])
    tax = load_taxonomy()
    out = []
    for pid, grp in net.groupby("partner_id", sort=False):
        first = grp.iloc[0]
        roles = [
            f"{r['need_label'] if _present(r.get('need_label')) else tax.label(str(r['need']))} ({r['role']})"
            for _, r in grp.iterrows()
        ]
        out.append(
            {
                "partner_id": pid,
                "name": first.get("partner_name"),
                "category": first.get("category"),
                "lat": first.get("partner_lat"),
                "lon": first.get("partner_lon"),
                "phone": first.get("phone"),
                "address": first.get("address"),
                "hours": first.get("hours"),
                "website": first.get("website"),
                "languages": first.get("languages"),
                "services": [str(r["need"]) for _, r in grp.iterrows()],
                "example": first.get("example"),
                "stale": first.get("stale"),
                "organization": "; ".join(dict.fromkeys(roles)),
            }
        )
    return pd.DataFrame(out)


def network_map(
    network: pd.DataFrame,
    *,
    schools: pd.DataFrame | None = None,
    boundaries: Any = None,
    gaps: pd.DataFrame | None = None,
    center: Sequence[float] | None = None,
    zoom: int | None = None,
    height: int | str = "100%",
    width: int | str = "100%",
) -> folium.Map:
    """A map of a coordinated network: schools, their lead/backup partners and the links.

    ``network`` is the Network frame (assetmap.network). Schools default to the network's
    own school points.
    """
    if not isinstance(network, pd.DataFrame):
        raise TypeError(f"network_map: network must be a DataFrame, got {type(network).__name__}")
    missing = {"school_id", "role", "partner_lat", "partner_lon", "school_lat", "school_lon"} - set(
        network.columns
    )
    if missing:
        raise ValueError(f"network_map: the network frame lacks columns {sorted(missing)}")
    m = _new_map(center, zoom, height, width)
    corners: list[tuple[float, float]] = []
    if boundaries is not None:
        _add_boundaries(m, boundaries)
    rows = _network_lines(network)
    _LineLayer(
        rows,
        styles=[
            {"color": ROLE_COLORS["lead"], "weight": 3, "dash": None},
            {"color": ROLE_COLORS["backup"], "weight": 2, "dash": "5,4"},
        ],
        name=escape_text("Network links"),
    ).add_to(m)
    text = dict(_PARTNER_TEXT_EN, organization="Role")
    pts = _add_partners(
        m,
        _network_partners(network),
        by_category=False,
        cluster=False,
        text=text,
        layer_title="Network partners",
    )
    corners += pts
    if schools is None:
        schools = (
            network.drop_duplicates("school_id")[
                ["school_id", "school_name", "district_id", "school_lat", "school_lon"]
            ]
            .rename(columns={"school_name": "name"})
            .reset_index(drop=True)
        )
    corners += _add_schools(m, schools, gaps)
    return _finish(m, corners, center, zoom)


def family_map(
    results: pd.DataFrame,
    center: Sequence[float],
    *,
    language: str = "en",
    radius_km: float | None = None,
    zoom: int | None = None,
    height: int | str = 360,
    width: int | str = "100%",
    tiles: bool = True,
) -> folium.Map:
    """A small map for the public family view: the search point and the nearby results.

    Only published partners are drawn; sensitive ones (safe havens) are never plotted.
    Popup labels follow ``language`` when the translation catalogs are available. With
    ``tiles=False`` no background tiles are requested (the plain background): used when
    ``center`` is a family's home address, so no tile server learns where it is.
    """
    if center is None or len(center) != 2 or _finite_latlon(center[0], center[1]) is None:
        raise ValueError(f"family_map: center must be (lat, lon) in range, got {center!r}")
    from assetmap.i18n import get_translator

    t = get_translator(language)
    text = dict(
        _PARTNER_TEXT_EN,
        example=t("find.example_notice"),
        stale="",  # families get "please call first" on the page itself
        approx="",  # families' cards say "about N mi, ZIP area" on the page itself
        category="",
        organization="",
        phone=t("sheet.phone"),
        address=t("sheet.address"),
        hours=t("find.hours"),
        languages=t("find.languages"),
        services=t("sheet.need"),
        distance=t("sheet.distance"),
        website=t("find.website"),
    )
    m = _new_map(center, zoom or 13, height, width, tiles=tiles)
    lat, lon = float(center[0]), float(center[1])
    folium.CircleMarker(
        location=[lat, lon],
        radius=7,
        color="#ffffff",
        weight=2,
        fill=True,
        fill_color="#d7263d",
        fill_opacity=1,
    ).add_to(m)
    corners = [(lat, lon)]
    if radius_km:
        folium.Circle(
            location=[lat, lon],
            radius=float(radius_km) * 1000,
            color="#3186cc",
            weight=1,
            fill=False,
        ).add_to(m)
    corners += _add_partners(
        m,
        results,
        by_category=False,
        public=True,
        cluster=len(results) > 200,
        text=text,
        autonyms=True,
        need_label=t.need_label,
        category_label=t.category_label,
        distance_fmt=t.distance,
        legend=False,
    )
    if zoom is None:
        _finish(m, corners, None, None, layer_control=False)
    return m
