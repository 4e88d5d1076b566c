"""Gantt chart of a berth plan: one row per berth, grouped by port, UTC time along the top.

The page opens offline from a file or from the API with nothing fetched from the network (its
Content-Security-Policy forbids it) and no script. Drawing decisions a planner should know:

- Times on the axis are UTC; each port header gives the port's local offset, and every tooltip gives
  both UTC and local times.
- The chart spans the planning horizon, widened when a call (or a frozen call's arrival) lies
  outside it; the part outside the horizon is greyed.
- A bar is the time at berth; the thin line before it runs from the planned arrival (dot) to the
  berth start: the wait at anchorage.
- Closures shade every berth of their port; maintenance windows are hatched on their berth's row.
- Calls on a berth the problem does not know (a hand-made plan with a typo) are drawn in an extra
  group marked "not in the problem" rather than dropped, so the chart shows what the plan says.

- A live plan's version (`write_live_gantt`): departed and at-berth calls are solid bars, planned
  calls outlined, and a vertical line marks the version's now.

`layout` places everything, `svg` draws the chart, `page` wraps it in the HTML page.
"""

from optimizer.gantt.layout import LiveMarks
from optimizer.gantt.live import live_chart, write_live_gantt
from optimizer.gantt.page import gantt_html, write_gantt
from optimizer.gantt.svg import gantt_svg

__all__ = ["LiveMarks", "gantt_html", "gantt_svg", "live_chart", "write_gantt", "write_live_gantt"]
