"""The face and body chart's zones, and the small chart of a session's
zones on the client's timeline (written in Python: a long history has thirty
of them). The full chart is templates/includes/chart.html; the shapes,
includes/chart_defs.html, once on the page."""

from __future__ import annotations

from sessions_app.badges import esc

# The order the chart's zones are drawn in (a later one lies over an earlier one).
CHART_ORDER = (
    "scalp",
    "face",
    "neck",
    "nape",
    "arms",
    "hands",
    "shoulders",
    "decolletage",
    "upper_back",
    "lower_back",
    "abdomen",
    "flanks",
    "buttocks",
    "thighs",
    "knees",
    "calves",
)


def chart_mini(injections) -> str:
    """A small chart of the zones the injections treated (each injection's
    area loaded), named for screen readers by their areas."""
    zones = {i.area.chart_zone for i in injections if i.area.chart_zone}
    names = ", ".join(i.area.name for i in injections)
    uses = "".join(f'<use href="#zone-{esc(key)}" class="chart-mini-on"/>' for key in CHART_ORDER if key in zones)
    label = esc(names or "areas treated")
    return (
        f'<svg viewBox="4 2 192 214" class="chart-mini" role="img" aria-label="Chart: {label}">\n'
        '  <use href="#chart-all" class="chart-body"/>\n'
        f"  {uses}\n</svg>"
    )
