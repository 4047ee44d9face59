"""Map colours stay apart for colour-blind readers: every category colour is distinct, library
and college (and the largest layers) differ under simulated protanopia/deuteranopia, and the
gap colours of schools darken with the number of gaps (readable without hue)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from assetmap.maps import GAP_COLORS
from assetmap.taxonomy import load_taxonomy

# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB.
_CVD = {
    "protan": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deutan": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
}


def _linear(hex_color: str) -> np.ndarray:
    c = np.array([int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _seen(hex_color: str, kind: str | None) -> np.ndarray:
    lin = _linear(hex_color)
    return np.clip(lin if kind is None else _CVD[kind] @ lin, 0, 1)


def _distance(a: str, b: str, kind: str | None) -> float:
    return float(np.linalg.norm(_seen(a, kind) - _seen(b, kind)))


def test_category_colours_are_distinct():
    cats = load_taxonomy().categories
    colours = [c.color.lower() for c in cats.values()]
    assert len(set(colours)) == len(colours)


@pytest.mark.parametrize("kind", [None, "protan", "deutan"])
def test_library_college_and_the_big_layers_stay_apart(kind):
    cats = load_taxonomy().categories
    big = ["library", "anchor_college", "anchor_hospital", "early_childhood", "health"]
    for a, b in itertools.combinations(big, 2):
        d = _distance(cats[a].color, cats[b].color, kind)
        assert d > 0.15, (a, b, kind, round(d, 3))


def test_gap_colours_darken_with_the_number_of_gaps():
    lum = [float(np.array([0.2126, 0.7152, 0.0722]) @ _linear(c)) for c in GAP_COLORS[1:]]
    assert lum == sorted(lum, reverse=True)
    for kind in ("protan", "deutan"):
        assert _distance(GAP_COLORS[0], GAP_COLORS[1], kind) > 0.15
