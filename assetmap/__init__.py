"""assetmap: map a community's assets for its schools.

The public verbs are re-exported here; the modules behind them are the library's parts
(DESIGN.md): io, schema, taxonomy, languages, geocode, needs, index, near, match, coverage,
network, export, maps, store. The library never imports streamlit.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
