"""Simulator configuration and the fault knobs that can change at runtime."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

BLOCKED_VARIANTS = ("ip_blocked", "recaptcha", "bot_detected")


@dataclass
class Faults:
    """Runtime fault knobs. All are changeable with ``Simulator.set_faults`` or
    ``POST /__sim/faults``.

    - latency_ms: added to every protocol request.
    - error_rate: fraction of requests answered 500/503 (Google JSON body for the Data API,
      plain HTML for web endpoints).
    - timeout_rate: fraction of requests that stall ``stall_seconds`` before answering.
    - quota_per_day: Data API units available (None = unlimited).
    - blocked: web endpoints behave like YouTube blocking this IP. ``blocked_variant``:
      ``ip_blocked`` (HTTP 429 -> IpBlocked), ``recaptcha`` (watch page is a captcha page
      -> IpBlocked), ``bot_detected`` (player says "Sign in to confirm you're not a bot"
      -> RequestBlocked).
    - valid_api_keys: None accepts any non-empty key; otherwise only these keys.
    - consent_required: the watch page answers the EU cookie-consent page until the
      client sends a ``CONSENT=YES+...`` cookie.
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    stall_seconds: float = 30.0
    quota_per_day: int | None = None
    blocked: bool = False
    blocked_variant: str = "ip_blocked"
    valid_api_keys: list[str] | None = None
    consent_required: bool = False

    def update(self, **knobs: Any) -> None:
        names = {f.name for f in fields(self)}
        unknown = set(knobs) - names
        if unknown:
            raise ValueError(f"unknown fault knob(s): {', '.join(sorted(unknown))}")
        coerced = {name: _coerce(name, value) for name, value in knobs.items()}
        for name, value in coerced.items():  # all or nothing
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _coerce(name: str, value: Any) -> Any:
    if name in ("latency_ms", "stall_seconds"):
        value = float(value)
        if value < 0:
            raise ValueError(f"{name} must be >= 0")
        return value
    if name in ("error_rate", "timeout_rate"):
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be within [0, 1]")
        return value
    if name == "quota_per_day":
        return None if value is None else int(value)
    if name in ("blocked", "consent_required"):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if name == "blocked_variant":
        if value not in BLOCKED_VARIANTS:
            raise ValueError(f"blocked_variant must be one of {', '.join(BLOCKED_VARIANTS)}")
        return value
    if name == "valid_api_keys":
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        return [str(k) for k in value]
    raise ValueError(name)  # pragma: no cover - guarded by update()


@dataclass
class SimConfig:
    """What world to generate and which faults to start with.

    ``channel_sizes`` (one channel per entry) replaces ``channels`` x
    ``videos_per_channel``; ``extra_channels`` appends channels of the given sizes.
    ``anchor`` is the world's "now": uploads are spread before it.
    """

    seed: int = 1
    channels: int = 3
    videos_per_channel: int = 40
    channel_sizes: list[int] | None = None
    extra_channels: list[int] = field(default_factory=list)
    anchor: str = "2025-06-01T12:00:00Z"
    request_log_size: int = 500
    latency_ms: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    stall_seconds: float = 30.0
    quota_per_day: int | None = None
    blocked: bool = False
    blocked_variant: str = "ip_blocked"
    valid_api_keys: list[str] | None = None
    consent_required: bool = False

    def sizes(self) -> list[int]:
        base = (list(self.channel_sizes) if self.channel_sizes is not None
                else [self.videos_per_channel] * self.channels)
        return base + list(self.extra_channels)

    def initial_faults(self) -> Faults:
        faults = Faults()
        faults.update(**{f.name: getattr(self, f.name) for f in fields(Faults)})
        return faults
