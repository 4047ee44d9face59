"""Streamlit glue for the assetmap app: cached loaders, widgets, the role gate, i18n.

Only ``app.py``, ``views/`` (the pages) and this package import streamlit; the library never does.
"""
