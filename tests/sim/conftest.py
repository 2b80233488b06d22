from __future__ import annotations

import pytest

from tubesensei.sim import SimConfig, running_simulator

from .helpers import data_api, transcript_api


@pytest.fixture(scope="module")
def sim():
    with running_simulator(SimConfig(seed=7, channels=2, videos_per_channel=60)) as s:
        yield s


@pytest.fixture(autouse=True)
def _clean_sim(request):
    """Tests using the shared module simulator start with no faults and zero stats."""
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").reset()
    yield


@pytest.fixture
def yt(sim):
    return data_api(sim.base_url)


@pytest.fixture
def ytt(sim):
    return transcript_api(sim.base_url)
