"""The pieces of the map that Folium lacks: school symbols, legend, layer order and A/B toggle.

Each element writes its data into the page as JSON (:func:`js_json`), never as HTML or
JavaScript source, so a name from the input data cannot end a string or a ``<script>`` element.
Text that Leaflet shows as HTML (popups, tooltips, the legend) is escaped before it gets here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Final

import folium
from branca.element import MacroElement
from folium.template import Template

__all__ = [
    "DECISIONS",
    "KeepOnTop",
    "LegendControl",
    "MarkerLayer",
    "PlanToggle",
    "js_json",
    "school_icon",
]

DECISIONS: Final = ("keep", "expand", "new", "close")
"""School decisions the map draws, in legend order."""

_FILL: Final = {"keep": "#2563eb", "expand": "#16a34a", "new": "#f97316", "close": "#e5e7eb"}
_LINE: Final = {"keep": "#1e3a8a", "expand": "#14532d", "new": "#9a3412", "close": "#374151"}
_JS_ESCAPES: Final = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027", "\u2028": "\\u2028",
     "\u2029": "\\u2029"}
)  # fmt: skip


def js_json(value: Any) -> str:
    """JSON for a ``<script>`` element: ``<``, ``>``, ``&`` and ``'`` as ``\\u`` escapes.

    Parameters
    ----------
    value : Any
        JSON-serialisable data (numbers must be finite).

    Returns
    -------
    str
        A JavaScript expression equal to `value`, which cannot close the script element.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate(_JS_ESCAPES)


def _star(points: int = 5, outer: float = 48.0, inner: float = 20.0) -> str:
    """Vertices of a star centred in a 100 x 100 box, as SVG polygon points."""
    corners = []
    for i in range(2 * points):
        radius = outer if i % 2 == 0 else inner
        angle = math.pi * i / points - math.pi / 2
        corners.append(f"{50 + radius * math.cos(angle):.1f},{52 + radius * math.sin(angle):.1f}")
    return " ".join(corners)


_STAR: Final = _star()
_STROKE: Final = 'stroke-width="2" vector-effect="non-scaling-stroke"'


def school_icon(decision: str, size: float) -> str:
    """The SVG symbol of a school: circle (kept), circle with plus (expanded), star (new),
    grey dashed circle with a cross (closed).

    Parameters
    ----------
    decision : {"keep", "expand", "new", "close"}
        The school's decision.
    size : float
        Width and height of the symbol, pixels.

    Returns
    -------
    str
        An ``<svg>`` element built from constants only (no input text).
    """
    fill, line = _FILL[decision], _LINE[decision]
    shape = {
        "keep": f'<circle cx="50" cy="50" r="46" fill="{fill}" stroke="{line}" {_STROKE}/>',
        "expand": f'<circle cx="50" cy="50" r="46" fill="{fill}" stroke="{line}" {_STROKE}/>'
        f'<path d="M50 24V76M24 50H76" stroke="#ffffff" stroke-width="14"/>',
        "new": f'<polygon points="{_STAR}" fill="{fill}" stroke="{line}" {_STROKE}/>',
        "close": f'<circle cx="50" cy="50" r="46" fill="{fill}" fill-opacity="0.85" '
        f'stroke="{line}" stroke-dasharray="3 2" {_STROKE}/>'
        f'<path d="M30 30L70 70M70 30L30 70" stroke="{line}" stroke-width="10"/>',
    }[decision]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size:g}" height="{size:g}" '
        f'viewBox="0 0 100 100" aria-hidden="true">{shape}</svg>'
    )


class MarkerLayer(MacroElement):
    """Point features drawn as HTML symbols (Leaflet ``divIcon``), above every vector layer.

    Each feature's properties give ``icon`` (SVG from :func:`school_icon`), ``css`` (class
    names), ``size`` (pixels), ``z`` (z-index offset), ``tip`` (tooltip HTML) and ``popup``
    (popup HTML). The HTML must already be escaped.

    Parameters
    ----------
    data : dict
        A GeoJSON FeatureCollection in WGS-84 with the properties above.
    max_width : int, default 380
        Widest popup, pixels.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data_js }}, {
            pointToLayer: function (feature, latlng) {
                var p = feature.properties;
                return L.marker(latlng, {
                    icon: L.divIcon({
                        html: p.icon, className: p.css, iconSize: [p.size, p.size],
                        popupAnchor: [0, -p.size / 2], tooltipAnchor: [p.size / 2, 0]
                    }),
                    zIndexOffset: p.z
                });
            },
            onEachFeature: function (feature, layer) {
                layer.bindPopup(feature.properties.popup, {maxWidth: {{ this.max_width }}});
                layer.bindTooltip(feature.properties.tip, {direction: "right"});
            }
        }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, data: dict[str, Any], *, max_width: int = 380) -> None:
        super().__init__()
        self._name = "MarkerLayer"
        self.data_js = js_json(data)
        self.max_width = int(max_width)


class LegendControl(MacroElement):
    """A Leaflet control holding the legend, stacked with the other controls of its corner.

    Parameters
    ----------
    html : str
        The legend's content, already escaped.
    position : str, default "bottomleft"
        Corner of the map (Leaflet control position).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position_js }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", "plan-legend");
            div.innerHTML = {{ this.html_js }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, position: str = "bottomleft") -> None:
        super().__init__()
        self._name = "LegendControl"
        self.html_js = js_json(html)
        self.position_js = js_json(position)


class KeepOnTop(MacroElement):
    """Bring the given layers back on top whenever another overlay is switched on.

    Leaflet draws a vector layer switched on last above the others, so catchments turned off and
    on again would cover the village markers and catch their clicks. (School symbols are HTML
    markers, always above vector layers.)

    Parameters
    ----------
    layers : sequence of folium.FeatureGroup
        The layers to keep on top, lowest first.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.on("overlayadd", function () {
            {%- for layer in this.layers %}
            {{ layer.get_name() }}.bringToFront();
            {%- endfor %}
        });
        {% endmacro %}
        """
    )

    def __init__(self, layers: Sequence[folium.FeatureGroup]) -> None:
        super().__init__()
        self._name = "KeepOnTop"
        self.layers = list(layers)


class PlanToggle(MacroElement):
    """Two buttons that switch the map between plan A's layers and plan B's.

    Each pair is (layer of plan A, the same layer of plan B). Pressing "A" replaces every B layer
    that is on the map by its A twin, and the reverse; the layer switcher follows.

    Parameters
    ----------
    pairs : sequence of (folium.FeatureGroup, folium.FeatureGroup)
        The twin layers.
    labels : (str, str)
        Button labels, plain text.
    on_top : sequence of folium.FeatureGroup
        Layers to bring back on top after a switch.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var pairs = [
                {%- for a, b in this.pairs %}
                [{{ a.get_name() }}, {{ b.get_name() }}],
                {%- endfor %}
            ];
            var top = [{% for layer in this.on_top %}{{ layer.get_name() }},{% endfor %}];
            var labels = {{ this.labels_js }};
            var control = L.control({position: "topleft"});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", "plan-toggle leaflet-bar");
                var buttons = labels.map(function (label, side) {
                    var button = L.DomUtil.create("a", "plan-toggle-" + "ab"[side], div);
                    button.href = "#";
                    button.textContent = label;
                    L.DomEvent.on(button, "click", function (e) {
                        L.DomEvent.preventDefault(e);
                        show(side);
                    });
                    return button;
                });
                function show(side) {
                    pairs.forEach(function (pair) {
                        if (map.hasLayer(pair[1 - side])) {
                            map.removeLayer(pair[1 - side]);
                            map.addLayer(pair[side]);
                        }
                    });
                    top.forEach(function (layer) {
                        if (map.hasLayer(layer)) layer.bringToFront();
                    });
                    buttons.forEach(function (b, i) {
                        b.classList.toggle("active", i === side);
                    });
                }
                buttons[1].classList.add("active");
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            control.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        pairs: Sequence[tuple[folium.FeatureGroup, folium.FeatureGroup]],
        *,
        labels: tuple[str, str],
        on_top: Sequence[folium.FeatureGroup] = (),
    ) -> None:
        super().__init__()
        self._name = "PlanToggle"
        self.pairs = list(pairs)
        self.labels_js = js_json(list(labels))
        self.on_top = list(on_top)
