"""Plans for the board's tests without solving: a Caspian-like month of 2,000 calls planned first
come, first served (a real plan of the optimizer's, in a second or two), stored as a finished job
straight into a server's database."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from api.db import Database, JobStatus
from optimizer.baseline import fcfs
from optimizer.domain import Problem
from optimizer.explain import unplannable_reasons
from optimizer.generator import generate
from optimizer.loading import load_problem
from optimizer.params import SolveOptions
from optimizer.plan import Plan, PlanSource, SolverFacts, SolveStatus, UnservedKind
from optimizer.report import build_plan


def fcfs_plan(problem: Problem) -> Plan:
    """The problem's FCFS plan with KPIs, waits and their reasons (compared with itself)."""
    assignments = fcfs(problem)
    facts = SolverFacts(status=SolveStatus.FEASIBLE, source=PlanSource.FCFS, solutions=1)
    return build_plan(problem, assignments, baseline=assignments, solver=facts)


@lru_cache(maxsize=4)
def fcfs_month(calls: int = 2000, days: int = 30, seed: int = 1) -> tuple[Problem, Plan]:
    """A generated month (or any size) and its FCFS plan."""
    problem = generate(calls, days, seed)
    return problem, fcfs_plan(problem)


def seed_job(database_url: str, problem: Problem, plan: Plan, owner: str = "",
             schema: str | None = None) -> str:
    """Store `problem` as a job that is done with `plan` (in `schema` on PostgreSQL): the id of the job."""
    db = Database(database_url, schema)
    db.migrate()
    try:
        new = db.create_job(owner=owner, problem_json=problem.model_dump_json(), problem_name=problem.name,
                            calls=len(problem.calls), options_json=SolveOptions().model_dump_json(),
                            request_hash=f"seeded-{problem.name}-{len(problem.calls)}", idempotency_key=None)
        claimed = db.claim_next()
        assert claimed is not None and claimed[0] == new.id, "the seeded job was not the next in the queue"
        assert db.record_plan(new.id, claimed[1], plan, final_status=JobStatus.DONE)
        return new.id
    finally:
        db.dispose()


def partial_week(week: dict[str, Any]) -> tuple[Problem, Plan, str]:
    """The week with one call that no plan can serve (its latest departure an hour after its ETA,
    shorter than its handling): its FCFS plan leaves that call unserved with the optimizer's own
    proof and reasons. (problem, plan, the unserved call's id)"""
    data = copy.deepcopy(week)
    voyage = data["voyages"][0]
    call_id = voyage["call_ids"][0]
    eta = datetime.fromisoformat(voyage["eta"])
    for c in data["calls"]:
        if c["id"] == call_id:
            c["latest_departure"] = (eta + timedelta(hours=1)).isoformat()
            c.pop("requested_departure", None)
    problem = load_problem(data)
    unserved = [u for u in unplannable_reasons(problem) if u.call_id == call_id]
    assert unserved and unserved[0].kind == UnservedKind.PROVEN, "the call should be proven unservable"
    assignments = [a for a in fcfs(problem) if a.call_id != call_id]
    facts = SolverFacts(status=SolveStatus.PARTIAL, source=PlanSource.FCFS, solutions=1)
    return problem, build_plan(problem, assignments, solver=facts, unserved=unserved), call_id
