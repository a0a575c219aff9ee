"""Leaflet's JavaScript and CSS, inlined into the page so a map works with no network.

The files come from the ``XStatic-Leaflet`` package on PyPI (a dependency of this project): the
same Leaflet release Folium links to on a CDN (1.9.3), packaged as plain files with no code and
no dependencies. The CSS's images (layer-switcher and default-marker icons) become ``data:``
URIs, and the source-map comment is dropped, so the page makes no request at all.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

import folium
from branca.element import Element, Figure

__all__ = ["LEAFLET_VERSION", "inline_leaflet", "leaflet_css", "leaflet_js"]

LEAFLET_VERSION = "1.9.3"
_IMAGE_URL = re.compile(r"url\((['\"]?)images/([\w.-]+\.png)\1\)")
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)


def _data() -> Traversable:
    """The folder of Leaflet's files in the installed XStatic-Leaflet package."""
    try:
        return resources.files("xstatic.pkg.leaflet") / "data"
    except ModuleNotFoundError as exc:  # pragma: no cover - a broken install
        raise ModuleNotFoundError(
            "the map needs Leaflet from the XStatic-Leaflet package: pip install XStatic-Leaflet "
            "(it is a dependency of schoolplan; reinstall with pip install -e .)"
        ) from exc


@cache
def leaflet_js() -> str:
    """Leaflet's minified JavaScript, safe to put inside a ``<script>`` element.

    Returns
    -------
    str
        The script, without its source-map comment.
    """
    text = (_data() / "leaflet.js").read_text(encoding="utf-8")
    return _SOURCE_MAP.sub("", text).replace("</script", "<\\/script")


@cache
def leaflet_css() -> str:
    """Leaflet's CSS with its images inlined as ``data:`` URIs.

    Returns
    -------
    str
        The style sheet, safe to put inside a ``<style>`` element.
    """
    text = (_data() / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        png = (_data() / "images" / match.group(2)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"

    return _IMAGE_URL.sub(inline, text).replace("</style", "<\\/style")


def inline_leaflet(m: folium.Map) -> folium.Map:
    """Make a Folium map self-contained: Leaflet inlined, no other library linked.

    Folium links Leaflet, jQuery, Bootstrap, Font Awesome and Leaflet.awesome-markers from CDNs.
    The maps of this project use none but Leaflet (no ``folium.Popup``, which needs jQuery, and
    no ``folium.Icon``, which needs the others), so those links are dropped and Leaflet's script
    and style sheet are put into the page's ``<head>``.

    Parameters
    ----------
    m : folium.Map
        The map; changed in place.

    Returns
    -------
    folium.Map
        `m`.
    """
    m.default_js = []
    m.default_css = []
    header = _figure(m).header
    header.add_child(Element(f"<style>{leaflet_css()}</style>"), name="leaflet_css")
    header.add_child(Element(f"<script>{leaflet_js()}</script>"), name="leaflet")
    return m


def _figure(m: folium.Map) -> Figure:
    root = m.get_root()
    if not isinstance(root, Figure):  # pragma: no cover - folium always makes one
        raise TypeError("the map is not drawn in a branca Figure")
    return root
