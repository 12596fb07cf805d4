"""The dormancy sweep's activity: read one page of dormant items and store their findings."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from activities.shield import shielded
from core.policy import load_policy
from core.settings import Settings
from db.dormancy import store_findings, sweep_page
from domain.dormancy import SweepJob, SweepPage


class DormancyActivities:
    """Reads the policy file and the database on each page, so a policy change counts at once."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    @activity.defn(name="sweep_dormancy")
    @shielded
    def sweep_dormancy(self, job: SweepJob) -> SweepPage:
        """One page: the systems dormant as of `job.now` (or no longer), findings stored."""
        rules = load_policy(self._settings).credentials
        days, every = rules.dormancy_days, rules.dormancy_sweep_hours
        if days <= 0:
            return SweepPage(days=days, every_hours=every, systems=[])
        with Session(self._engine) as session:
            systems, after = sweep_page(
                session, now=job.now, days=days, after=job.after, limit=job.limit
            )
        items = [d for s in systems for d in s.items]
        found = store_findings(self._engine, items, days=days, now=job.now)
        return SweepPage(
            days=days, every_hours=every, systems=systems, findings=found, next_after=after
        )
