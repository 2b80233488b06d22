"""What a pipeline call needs: settings, the database, YouTube clients and a quota meter.

A ``Pipeline`` belongs to one thread: httplib2 and the requests session youtube-transcript-api
uses are not thread-safe. The database is the process's one :class:`Database`, shared. The
job system makes a Pipeline per worker thread; the CLI one per command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tubesensei.config import Settings, TranscriptSettings
from tubesensei.db.engine import Database
from tubesensei.pipeline.quota import QuotaMeter
from tubesensei.youtube.data_api import DataApiClient
from tubesensei.youtube.errors import ConfigurationError
from tubesensei.youtube.transcripts import TranscriptClient

T = TypeVar("T")


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def transcript_client(settings: Settings) -> TranscriptClient:
    """A transcript client as the settings say: languages, translation, endpoint, timeouts,
    proxies. One per thread (see TranscriptClient)."""
    yt, tr = settings.youtube, settings.transcripts
    return TranscriptClient(
        languages=tr.languages,
        allow_translation=tr.allow_translation,
        web_base_url=yt.web_base_url,
        timeout=(yt.connect_timeout_seconds, yt.timeout_seconds),
        proxy_http=_secret(yt.proxy_http_url),
        proxy_https=_secret(yt.proxy_https_url),
        webshare_username=_secret(yt.webshare_username),
        webshare_password=_secret(yt.webshare_password),
        webshare_locations=yt.webshare_locations,
    )


@dataclass
class Pipeline:
    settings: Settings
    db: Database
    meter: QuotaMeter = field(default_factory=QuotaMeter)
    _api: DataApiClient | None = None
    _transcripts: TranscriptClient | None = None

    @property
    def api(self) -> DataApiClient:
        if self._api is None:
            yt = self.settings.youtube
            key = _secret(yt.api_key)
            if not key:
                raise ConfigurationError(
                    "no YouTube Data API key: set TUBESENSEI_YOUTUBE__API_KEY or youtube.api_key"
                )
            self._api = DataApiClient(
                key,
                api_endpoint=yt.api_endpoint,
                timeout=yt.timeout_seconds,
                on_units=self.meter.record,
                unit_costs={
                    "channels.list": yt.list_cost,
                    "playlistItems.list": yt.list_cost,
                    "videos.list": yt.list_cost,
                    "search.list": yt.search_cost,
                },
            )
        return self._api

    @property
    def transcripts(self) -> TranscriptClient:
        if self._transcripts is None:
            self._transcripts = transcript_client(self.settings)
        return self._transcripts

    def use_transcript_settings(self, transcripts: TranscriptSettings) -> None:
        """Follow a change of the ``[transcripts]`` settings (a consumer re-reads them per
        job, see jobs/live_settings.py): the next transcript client is built with them."""
        if transcripts == self.settings.transcripts:
            return
        self.settings = self.settings.model_copy(update={"transcripts": transcripts})
        if self._transcripts is not None:
            self._transcripts.close()
            self._transcripts = None

    def call_api(self, fn: Callable[..., T], *args: Any) -> T:
        """Make a blocking Data API call; if it fails, persist the units it spent anyway
        (Google charges failed calls). On success the caller's transaction persists them."""
        try:
            return fn(*args)
        except BaseException:
            with self.db.write() as s:
                self.meter.flush(s)
            raise

    def close(self) -> None:
        """Close the YouTube clients (the database belongs to the process, not to us)."""
        if self._transcripts is not None:
            self._transcripts.close()
            self._transcripts = None
