"""Decision variables of the berth-allocation model, one group per concept."""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from optimizer.compiled import CompiledProblem


@dataclass
class CallVariables:
    """Where and when one call happens, in model steps."""

    arrival: cp_model.IntVar
    start: cp_model.IntVar
    end: cp_model.IntVar
    at_berth: dict[int, cp_model.IntVar]  # berth -> chosen literal
    intervals: dict[int, cp_model.IntervalVar]  # berth -> optional interval
    stays: dict[int, cp_model.IntVar] = field(default_factory=dict)  # berth -> stay, at closure ports


@dataclass
class Variables:
    calls: list[CallVariables]
    lateness: dict[int, cp_model.IntVar] = field(default_factory=dict)
    start_shift: dict[int, cp_model.IntVar] = field(default_factory=dict)
    overdue: dict[int, cp_model.IntVar] = field(default_factory=dict)  # only in a relaxed model
    link_overrun: dict[int, cp_model.IntVar] = field(default_factory=dict)  # only in a relaxed model

    @classmethod
    def build(cls, m: cp_model.CpModel, cp: CompiledProblem, lower: list[int]) -> Variables:
        h = cp.horizon
        calls = []
        for c in cp.calls:
            lo = lower[c.index]
            if c.frozen is not None:
                _, s, e, a = c.frozen
                start = m.new_constant(s)
                end = m.new_constant(e)
                if a is not None:
                    arrival = m.new_constant(min(a, s))
                elif c.prev is None and c.eta is not None:
                    arrival = m.new_constant(min(c.eta, s))
                else:
                    arrival = m.new_int_var(-h, s, f"arr_{c.id}")
            else:
                start = m.new_int_var(lo, h, f"start_{c.id}")
                end = m.new_int_var(lo + min(o.steps for o in c.options), h, f"end_{c.id}")
                if c.prev is None:
                    assert c.eta is not None
                    arrival = m.new_constant(c.eta)
                else:
                    arrival = m.new_int_var(-h, h, f"arr_{c.id}")
            at_berth: dict[int, cp_model.IntVar] = {}
            intervals: dict[int, cp_model.IntervalVar] = {}
            stays: dict[int, cp_model.IntVar] = {}
            # At a port with closures a vessel may have to stay at berth past its handling time,
            # because it may not leave while the port is closed: the stay can grow by the longest
            # closure. Elsewhere the stay is exactly the handling time.
            hold = cp.longest_closure(c.port) if c.frozen is None else 0
            for o in c.options:
                lit = m.new_constant(1) if len(c.options) == 1 else m.new_bool_var(f"x_{c.id}_{o.berth}")
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
            calls.append(CallVariables(arrival, start, end, at_berth, intervals, stays))
        return cls(calls=calls)
