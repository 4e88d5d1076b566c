"""The records a capacity study is made of: one lived month's realized KPIs per port and planner.

They are the seam between the parts of a study: `month` lives a month (or `textbook` plays the
queueing textbook) and returns a :class:`MonthResult`; the study stores each one as it comes, so an
interrupted study continues, and aggregates them into the CSVs, the knee and the plots.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Planner(StrEnum):
    """Who plans the month: each port re-planning first come, first served on every event (how the
    ports work today), or one portsync live plan for the three ports."""

    FCFS = "fcfs"
    PORTSYNC = "portsync"


class MonthKey(BaseModel):
    """Which month of a study: the option, the traffic level and the seed (the same key, the same
    month, the same numbers)."""

    model_config = ConfigDict(frozen=True)

    option: str = Field(description="The option studied ('base' for the ports as they are).")
    growth: float = Field(gt=0, description="Traffic as a multiple of today's (1.0 = today).")
    seed: int = Field(ge=0, description="The month's seed: its traffic, weather, ETA noise and actuals.")

    def slug(self) -> str:
        return f"{self.option}__g{self.growth:g}__s{self.seed}"


class PortKpis(BaseModel):
    """One port's realized figures over one lived month, for one planner, after the warm-up."""

    port_id: str = Field(description="The port (UN/LOCODE-like id of the problem).")
    planner: Planner = Field(description="Who planned the month.")
    berths: int = Field(ge=0, description="Berths the port had in the month.")
    calls: int = Field(ge=0, description="Calls counted (ETA after the warm-up, served).")
    unservable: int = Field(ge=0, description="Calls counted that could not be served at all.")
    occupancy: float = Field(ge=0, description="Berth-hours occupied over berth-hours open, after the "
                             "warm-up (0-1).")
    wait_mean_h: float = Field(ge=0, description="Mean waiting, hours: berthing - ready (the vessel could be "
                               "there at service speed and its cargo is ready), at anchor or held back at "
                               "sea.")
    wait_p95_h: float = Field(ge=0, description="95th percentile of waiting, hours.")
    anchorage_wait_mean_h: float = Field(
        default=0.0, ge=0, description="Mean of berthing - actual arrival at the port, hours: the wait spent "
        "at anchor (a just-in-time arrival moves the rest to sea; wait_mean_h counts both).")
    service_mean_h: float = Field(ge=0, description="Mean time at berth (handling), hours (0 when no call "
                                  "was counted).")
    wq_over_s: float = Field(ge=0, description="Mean waiting over mean service time (Wq/S), the "
                             "port-planning literature's congestion measure.")
    dwell_mean_h: float = Field(ge=0, description="Mean dwell (waiting + at berth), hours.")
    lateness_mean_h: float = Field(ge=0, description="Mean lateness past the requested departure, hours.")
    queue_mean: float = Field(ge=0, description="Time-averaged number of vessels waiting (L_q).")
    arrivals_per_h: float = Field(ge=0, description="Arrival rate counted, per hour (lambda).")
    littles_law_gap: float = Field(ge=0, description="|L_q - lambda * W_q| / max(L_q, lambda * W_q, "
                                   "1e-9): Little's law, computed independently of the means.")


class MonthResult(BaseModel):
    """One lived month: its key, the warm-up cut off, and the figures per port and planner."""

    key: MonthKey = Field(description="Option, growth level and seed.")
    warmup_h: float = Field(ge=0, description="Hours at the start of the month not counted.")
    hours: float = Field(gt=0, description="Hours counted after the warm-up.")
    tail_h: float = Field(default=0.0, ge=0, description="Hours generated and lived after the counted hours, "
                          "not counted (arrivals there still compete with the last counted calls).")
    calls: int = Field(ge=0, description="Calls in the month (all ports, warm-up included).")
    plans_checked: int = Field(ge=0, description="Plan versions that passed the independent checker.")
    ports: list[PortKpis] = Field(description="Per port and planner.")
