"""Decision variables of the berth-allocation model, one group per concept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from optimizer.compiled import CompiledProblem


@dataclass
class CallVariables:
    """Where and when one call happens, in model steps.

    `served` is 0 when the plan leaves the call unserved: it then takes no berth and its times
    are the vessel passing the port (start = end = arrival at best), which keeps its voyage timed.
    """

    served: cp_model.IntVar
    arrival: cp_model.IntVar
    start: cp_model.IntVar
    end: cp_model.IntVar
    at_berth: dict[int, cp_model.IntVar]  # berth -> chosen literal
    intervals: dict[int, cp_model.IntervalVar]  # berth -> optional interval
    stays: dict[int, cp_model.IntVar] = field(default_factory=dict)  # berth -> stay, at closure ports


@dataclass
class Variables:
    calls: list[CallVariables]
    dwell: dict[int, cp_model.IntVar] = field(default_factory=dict)  # optional calls: 0 when unserved
    lateness: dict[int, cp_model.IntVar] = field(default_factory=dict)
    start_shift: dict[int, cp_model.IntVar] = field(default_factory=dict)

    @classmethod
    def build(cls, m: cp_model.CpModel, cp: CompiledProblem, lower: list[int],
              arrival_lower: list[int], tick: Callable[[], None] = lambda: None) -> Variables:
        """`tick` runs once per call (the solve's deadline check)."""
        h = cp.horizon
        calls = []
        one = m.new_constant(1)
        for c in cp.calls:
            tick()
            if c.frozen is not None:
                f = c.frozen
                served = one
                start = m.new_constant(f.start)
                end = m.new_constant(f.end)
                if f.arrival_down is not None:
                    arrival = m.new_constant(min(f.arrival_down, f.start))
                elif c.prev is None and c.eta is not None:
                    arrival = m.new_constant(min(c.eta, f.start))
                else:
                    arrival = m.new_int_var(-h, f.start, f"arr_{c.id}")
            else:
                if not c.optional:
                    served = one
                elif not c.can_serve:
                    served = m.new_constant(0)
                else:
                    served = m.new_bool_var(f"served_{c.id}")
                lo = arrival_lower[c.index] if c.optional else lower[c.index]
                start = m.new_int_var(lo, h, f"start_{c.id}")
                shortest = 0 if c.optional else min(o.steps for o in c.options)
                end = m.new_int_var(lo + shortest, h, f"end_{c.id}")
                if c.prev is None:
                    assert c.eta is not None
                    arrival = m.new_constant(c.eta)
                else:
                    arrival = m.new_int_var(arrival_lower[c.index], h, f"arr_{c.id}")
            at_berth: dict[int, cp_model.IntVar] = {}
            intervals: dict[int, cp_model.IntervalVar] = {}
            stays: dict[int, cp_model.IntVar] = {}
            if c.frozen is None:
                # At a port with closures a vessel may have to stay at berth past its handling time,
                # because it may not leave while the port is closed: the stay can grow by the longest
                # closure. Elsewhere the stay is exactly the handling time.
                hold = cp.longest_closure(c.port)
                for o in c.options:
                    lit = served if len(c.options) == 1 else m.new_bool_var(f"x_{c.id}_{o.berth}")
                    at_berth[o.berth] = lit
                    if hold:
                        stay = m.new_int_var(o.steps, o.steps + hold, f"stay_{c.id}_{o.berth}")
                        stays[o.berth] = stay
                        intervals[o.berth] = m.new_optional_interval_var(
                            start, stay, end, lit, f"iv_{c.id}_{o.berth}"
                        )
                    else:
                        intervals[o.berth] = m.new_optional_fixed_size_interval_var(
                            start, o.steps, lit, f"iv_{c.id}_{o.berth}"
                        )
            else:
                at_berth[c.frozen.berth] = one  # its berth is blocked by a fixed window instead
            calls.append(CallVariables(served, arrival, start, end, at_berth, intervals, stays))
        return cls(calls=calls)
