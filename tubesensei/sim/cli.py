"""``tubesensei sim serve``: run the simulator in the foreground."""

from __future__ import annotations

import click

from .config import BLOCKED_VARIANTS, SimConfig
from .server import Simulator, serve


@click.group(name="sim")
def sim() -> None:
    """A deterministic fake YouTube for tests, demos and benchmarks."""


@sim.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int, help="0 = a free port.")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--channels", default=3, show_default=True, type=click.IntRange(min=0))
@click.option("--videos-per-channel", default=40, show_default=True,
              type=click.IntRange(min=0))
@click.option("--channel-size", "channel_sizes", multiple=True,
              type=click.IntRange(min=0), help="Add a channel of this many videos (repeatable).")
@click.option("--latency-ms", default=0.0, show_default=True, type=click.FloatRange(min=0))
@click.option("--error-rate", default=0.0, show_default=True,
              type=click.FloatRange(0, 1), help="Fraction of requests answered 500/503.")
@click.option("--timeout-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1))
@click.option("--stall-seconds", default=30.0, show_default=True,
              type=click.FloatRange(min=0))
@click.option("--quota", default=None, type=click.IntRange(min=0),
              help="Data API units per day (default: unlimited).")
@click.option("--blocked", is_flag=True, help="Web endpoints act as if this IP is blocked.")
@click.option("--blocked-variant", default="ip_blocked", show_default=True,
              type=click.Choice(BLOCKED_VARIANTS))
@click.option("--valid-key", "valid_keys", multiple=True,
              help="Accept only these API keys (repeatable; default: any key).")
@click.option("--consent", is_flag=True, help="Serve the cookie-consent page first.")
def serve_cmd(host: str, port: int, seed: int, channels: int, videos_per_channel: int,
              channel_sizes: tuple[int, ...], latency_ms: float, error_rate: float,
              timeout_rate: float, stall_seconds: float, quota: int | None, blocked: bool,
              blocked_variant: str, valid_keys: tuple[str, ...], consent: bool) -> None:
    """Serve the simulator until Ctrl-C.

    \b
    Example:
        tubesensei sim serve --port 8765 --channels 3 --videos-per-channel 40
        TUBESENSEI_YOUTUBE__API_ENDPOINT=http://127.0.0.1:8765 \\
        TUBESENSEI_YOUTUBE__WEB_BASE_URL=http://127.0.0.1:8765 \\
        TUBESENSEI_YOUTUBE__API_KEY=any-key tubesensei channels add @simchannel0
    """
    config = SimConfig(
        seed=seed, channels=channels, videos_per_channel=videos_per_channel,
        extra_channels=list(channel_sizes), latency_ms=latency_ms, error_rate=error_rate,
        timeout_rate=timeout_rate, stall_seconds=stall_seconds, quota_per_day=quota,
        blocked=blocked, blocked_variant=blocked_variant,
        valid_api_keys=list(valid_keys) or None, consent_required=consent)

    def ready(s: Simulator) -> None:
        url = s.base_url
        click.echo(f"TubeSensei simulator on {url} "
                   f"({len(s.world.channels)} channels, {len(s.world.videos)} videos) - "
                   f"TUBESENSEI_YOUTUBE__API_ENDPOINT={url} "
                   f"TUBESENSEI_YOUTUBE__WEB_BASE_URL={url} "
                   "TUBESENSEI_YOUTUBE__API_KEY=any-key", nl=True)

    try:
        serve(config, host=host, port=port, on_ready=ready)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
