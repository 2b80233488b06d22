"""Corpus correctness on PostgreSQL: removed videos marked and marked back, and one channel
once (the claim's guarded UPDATE), as on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.integration.pipeline_env import make_pipeline
from tests.integration.test_pipeline import changed_world_scans
from tests.jobs_helpers import scalar, settings_for
from tubesensei.db.models import Channel, ProcessingJob
from tubesensei.jobs.discovery_claims import claim_or_join
from tubesensei.jobs.system import JobSystem
from tubesensei.sim import SimConfig, running_simulator
from tubesensei.youtube.ids import parse_channel_ref

pytestmark = pytest.mark.server


@pytest.fixture
def sim():
    with running_simulator(SimConfig(seed=5, channel_sizes=[20, 40])) as running:
        yield running


def test_scans_keep_the_corpus_true_on_postgresql(sim, pg_url: str) -> None:
    p = make_pipeline(sim, pg_url)
    try:
        changed_world_scans(sim, p)
    finally:
        p.close()
        p.db.dispose()


def test_one_claim_per_channel_on_postgresql(sim, pg_url: str, tmp_path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d", TUBESENSEI_DATABASE__URL=pg_url)
    system = JobSystem(settings)
    try:
        channel = sim.world.channels[0]
        a, b = system.enqueue_channels([parse_channel_ref(channel.handle),
                                        parse_channel_ref(channel.channel_id)])
        with system.db.write() as s:
            s.add(Channel(youtube_channel_id=channel.channel_id, title="t",
                          handle=channel.handle[1:].lower()))
        pk = scalar(settings, "SELECT id FROM channels")
        assert claim_or_join(system.db, a.job_id, pk, "auto") is None
        with system.db.write() as s:
            s.execute(update(ProcessingJob).where(ProcessingJob.id == a.job_id)
                      .values(status="running"))
        assert claim_or_join(system.db, b.job_id, pk, "auto") == {
            "channel": channel.channel_id, "mode": "auto", "queued": 0, "joined": a.job_id}
        # Stored now: the handle and the id are one job at enqueue.
        again = system.enqueue_channels([parse_channel_ref(channel.handle.upper())])
        assert again[0].spec.entity_id == channel.channel_id
    finally:
        system.close()
