"""A deterministic fake of YouTube on loopback: the Data API v3 subset TubeSensei uses
(channels, playlistItems, videos, search) and the www.youtube.com endpoints that
youtube-transcript-api calls (watch page, innertube player, timedtext).

    from tubesensei.sim import SimConfig, running_simulator
    with running_simulator(SimConfig(seed=7, channels=2, videos_per_channel=60)) as sim:
        sim.base_url, sim.world.channels, sim.stats(), sim.set_faults(error_rate=0.2)

This package imports nothing else from tubesensei.
"""

from .config import BLOCKED_VARIANTS, Faults, SimConfig
from .server import Simulator, running_simulator, serve
from .web import INNERTUBE_API_KEY
from .world import CASES, SimChannel, SimTrack, SimVideo, SimWorld

__all__ = [
    "BLOCKED_VARIANTS", "CASES", "INNERTUBE_API_KEY", "Faults", "SimChannel", "SimConfig",
    "SimTrack", "SimVideo", "SimWorld", "Simulator", "running_simulator", "serve",
]
