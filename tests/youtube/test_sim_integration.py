"""DataApiClient and TranscriptClient against the in-process simulator (tubesensei.sim)."""

from __future__ import annotations

import math
import threading
from collections import Counter
from datetime import UTC, datetime

import pytest

from tests.youtube.fakes import elapsed
from tubesensei.sim import BLOCKED_VARIANTS, CASES, SimConfig, running_simulator
from tubesensei.youtube.data_api import DataApiClient
from tubesensei.youtube.errors import (
    Blocked,
    ConfigurationError,
    NotFoundReason,
    Permanent,
    QuotaExhausted,
    Transient,
    UnavailableReason,
)
from tubesensei.youtube.ids import ChannelRef
from tubesensei.youtube.quota import next_reset
from tubesensei.youtube.transcripts import TranscriptClient

KEY = "AIzaSy-integration-test-key-000"


@pytest.fixture(scope="module")
def sim():
    with running_simulator(SimConfig(seed=7, channels=2, videos_per_channel=60)) as running:
        yield running


@pytest.fixture(autouse=True)
def clean(request):
    yield
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").reset()


class Units:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def __call__(self, method: str, units: int) -> None:
        with self._lock:
            self.calls.append((method, units))

    @property
    def total(self) -> int:
        return sum(u for _, u in self.calls)

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.calls if m == method)


def api(sim, units: Units | None = None, **kwargs) -> DataApiClient:
    kwargs.setdefault("timeout", 5.0)
    return DataApiClient(KEY, sim.base_url, on_units=units, **kwargs)


# -- channel resolution --------------------------------------------------------------------

def test_resolve_every_reference_kind(sim) -> None:
    channel = sim.world.channels[1]
    units = Units()
    client = api(sim, units)
    refs = [ChannelRef("id", channel.channel_id), ChannelRef("handle", channel.handle[1:]),
            ChannelRef("handle", channel.handle[1:].upper()),
            ChannelRef("username", channel.username),
            ChannelRef("custom", channel.custom_url.lstrip("@")),
            ChannelRef("video", channel.videos[0].video_id)]
    for ref in refs:
        info = client.resolve_channel(ref)
        assert info.channel_id == channel.channel_id, ref
    assert info.title == channel.title
    assert info.handle == channel.handle[1:]
    assert info.uploads_playlist_id == channel.uploads_playlist_id
    assert info.video_count == sum(v.is_public for v in channel.videos)
    assert info.subscriber_count == channel.subscriber_count
    assert info.published_at == channel.published_at
    assert info.thumbnail_url and info.description == channel.description
    # one channels.list each, plus the videos.list for the video reference
    assert units.count("channels.list") == len(refs) and units.count("videos.list") == 1
    assert units.total == sim.stats()["quota_units_used"]


def test_custom_name_falls_back_to_search(sim) -> None:
    from structlog.testing import capture_logs

    channel = sim.world.channels[0]
    units = Units()
    with capture_logs() as logs:
        info = api(sim, units).resolve_channel(ChannelRef("custom", channel.title))
    assert info.channel_id == channel.channel_id
    assert ("search.list", 100) in units.calls
    assert any("search.list" in entry["event"] and entry["log_level"] == "warning"
               for entry in logs)
    requests = sim.stats()["requests"]
    assert requests["search.list"] == 1 and requests["channels.list"] == 2
    assert units.total == sim.stats()["quota_units_used"] == 102


@pytest.mark.parametrize(
    ("ref", "reason", "message"),
    [(ChannelRef("handle", "nobody-here"), NotFoundReason.CHANNEL_NOT_FOUND,
      "no YouTube channel @nobody-here"),
     (ChannelRef("id", "UC" + "z" * 22), NotFoundReason.CHANNEL_NOT_FOUND, None),
     (ChannelRef("username", "NoSuchUser"), NotFoundReason.CHANNEL_NOT_FOUND, None),
     (ChannelRef("custom", "zzqqxx"), NotFoundReason.CHANNEL_NOT_FOUND, None),
     (ChannelRef("video", "zzzzzzzzzzz"), NotFoundReason.VIDEO_NOT_FOUND, None)],
)
def test_unknown_references_are_permanent(sim, ref, reason, message) -> None:
    with pytest.raises(Permanent) as caught:
        api(sim).resolve_channel(ref)
    assert caught.value.reason == reason
    if message:
        assert str(caught.value) == message


def test_unknown_playlist_is_permanent(sim) -> None:
    with pytest.raises(Permanent) as caught:
        next(api(sim).iter_upload_pages("UU" + "z" * 22))
    assert caught.value.reason == NotFoundReason.PLAYLIST_NOT_FOUND


# -- uploads and details -------------------------------------------------------------------

def test_full_paging_of_a_thousand_video_channel() -> None:
    with running_simulator(SimConfig(seed=11, channel_sizes=[1000])) as big:
        channel = big.world.channels[0]
        units = Units()
        pages = list(api(big, units).iter_upload_pages(channel.uploads_playlist_id))
        stats = big.stats()
    public = [v.video_id for v in channel.videos if v.privacy == "public"]
    listed = [e.video_id for page in pages for e in page.entries]
    assert listed == public  # newest first, nothing private or deleted, nothing twice
    assert sum(p.skipped_private for p in pages) == sum(
        v.privacy == "private" for v in channel.videos)
    assert sum(p.skipped_deleted for p in pages) == sum(
        v.privacy == "deleted" for v in channel.videos)
    # The skipped rows keep their ids: a reconcile marks stored videos private or gone.
    assert [i for p in pages for i in p.private_ids] == [
        v.video_id for v in channel.videos if v.privacy == "private"]
    assert [i for p in pages for i in p.deleted_ids] == [
        v.video_id for v in channel.videos if v.privacy == "deleted"]
    assert len(pages) == math.ceil(1000 / 50) == stats["requests"]["playlistItems.list"]
    assert all(p.total_results == 1000 for p in pages)
    assert pages[-1].next_page_token is None and all(p.next_page_token for p in pages[:-1])
    assert units.calls == [("playlistItems.list", 1)] * len(pages)
    assert stats["quota_units_used"] == len(pages)
    by_id = {v.video_id: v for v in channel.videos}
    first = pages[0].entries[0]
    assert first.published_at == by_id[first.video_id].published_at
    assert first.title == by_id[first.video_id].title


def test_pages_are_pulled_lazily(sim) -> None:
    channel = sim.world.channels[0]
    pages = api(sim).iter_upload_pages(channel.uploads_playlist_id, page_size=10)
    first = next(pages)
    assert len(first.entries) + first.skipped_private + first.skipped_deleted == 10
    assert sim.stats()["requests"]["playlistItems.list"] == 1


def test_new_upload_appears_first(sim) -> None:
    channel = sim.world.channels[1]
    new = sim.add_upload(channel.channel_id)
    page = next(api(sim).iter_upload_pages(channel.uploads_playlist_id))
    assert page.entries[0].video_id == new.video_id


@pytest.mark.parametrize("count", [1, 50, 51, 120])
def test_details_are_batched_by_fifty(sim, count: int) -> None:
    videos = [v for ch in sim.world.channels for v in ch.videos]
    wanted = [v.video_id for v in videos][:count]
    units = Units()
    details = api(sim, units).videos_details(wanted)
    calls = math.ceil(count / 50)
    assert sim.stats()["requests"]["videos.list"] == calls
    assert units.calls == [("videos.list", 1)] * calls
    public = [v for v in wanted if sim.world.video(v).is_public]
    assert [d.video_id for d in details] == public  # private/deleted ids are simply absent


def test_details_match_the_world(sim) -> None:
    videos = [v for ch in sim.world.channels for v in ch.videos if v.is_public]
    details = {d.video_id: d for d in api(sim).videos_details([v.video_id for v in videos])}
    assert len(details) == len(videos)
    for video in videos:
        info = details[video.video_id]
        assert info.kind == video.kind, (video.case, info)
        assert info.duration_s == video.duration_s
        assert info.channel_id == video.channel_id and info.title == video.title
        assert info.published_at == video.published_at
        assert info.view_count == video.view_count
        assert info.comment_count == video.comment_count
        assert info.privacy_status == "public"
        assert info.was_live == (video.case == "finished_live")
        if video.case == "finished_live":
            assert info.actual_end == video.actual_end and info.kind == "video"
        if video.case == "upcoming":
            assert info.scheduled_start == video.scheduled_start
            assert info.live_broadcast_content == "upcoming"


def test_one_client_serves_several_threads(sim) -> None:
    client = api(sim)
    channel = sim.world.channels[0]
    results, errors = [], []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(client.resolve_channel(ChannelRef("id", channel.channel_id)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and len(results) == 20


# -- Data API failures ---------------------------------------------------------------------

def test_quota_exhaustion(sim) -> None:
    sim.set_faults(quota_per_day=3)
    client = api(sim)
    channel = sim.world.channels[0]
    for _ in range(3):
        client.resolve_channel(ChannelRef("id", channel.channel_id))
    before = next_reset(datetime.now(UTC))
    with pytest.raises(QuotaExhausted) as caught:
        client.resolve_channel(ChannelRef("id", channel.channel_id))
    assert caught.value.resets_at in (before, next_reset(datetime.now(UTC)))
    assert caught.value.resets_at.tzinfo is not None
    assert caught.value.resets_at > datetime.now(UTC)


def test_invalid_key_is_configuration_error_without_the_key(sim) -> None:
    sim.set_faults(valid_api_keys=["some-other-key"])
    with pytest.raises(ConfigurationError) as caught:
        api(sim).resolve_channel(ChannelRef("handle", "simchannel0"))
    assert KEY not in str(caught.value) and "key=" not in str(caught.value)
    assert "API key not valid" in str(caught.value)


def test_injected_server_errors_are_transient(sim) -> None:
    sim.set_faults(error_rate=1.0)
    units = Units()
    with pytest.raises(Transient):
        api(sim, units).videos_details([sim.world.channels[0].videos[0].video_id])
    assert units.calls == [("videos.list", 1)]
    assert sim.stats()["requests"]["videos.list"] == 1  # the library did not retry


def test_stall_is_transient_within_the_timeout(sim) -> None:
    sim.set_faults(timeout_rate=1.0, stall_seconds=5)
    client = api(sim, timeout=0.5)
    took, error = elapsed(lambda: client.resolve_channel(ChannelRef("handle", "simchannel0")))
    assert isinstance(error, Transient), error
    assert took < 2.5


# -- transcripts ---------------------------------------------------------------------------

EXPECTED = {
    "manual_en": None, "generated_en": None, "multi_language": None, "short": None,
    "finished_live": None,
    "no_english": UnavailableReason.NO_TRANSCRIPT_IN_LANGUAGE,
    "captions_disabled": UnavailableReason.TRANSCRIPTS_DISABLED,
    "unavailable": UnavailableReason.VIDEO_UNAVAILABLE,
    "age_restricted": UnavailableReason.AGE_RESTRICTED,
    "unplayable": UnavailableReason.UNPLAYABLE,
    "po_token_required": UnavailableReason.PO_TOKEN_REQUIRED,
    # What youtube-transcript-api makes of the player's answers for these (LOGIN_REQUIRED
    # "This video is private", ERROR "removed by the uploader", LIVE_STREAM_OFFLINE): an
    # unplayable video; live streams have no caption tracks yet.
    "private": UnavailableReason.UNPLAYABLE,
    "deleted": UnavailableReason.UNPLAYABLE,
    "upcoming": UnavailableReason.UNPLAYABLE,
    "live": UnavailableReason.TRANSCRIPTS_DISABLED,
}


def test_every_case_is_covered() -> None:
    assert set(EXPECTED) == set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_transcript_case(sim, case: str) -> None:
    videos = sim.world.videos_by_case(case)
    assert videos
    client = TranscriptClient(web_base_url=sim.base_url, timeout=(2, 5))
    for video in videos[:2]:
        if EXPECTED[case] is None:
            result = client.fetch(video.video_id)
            track = video.track("en")
            assert (result.language_code, result.is_generated) == ("en", track.is_generated)
            assert result.language == track.language and result.translated_from is None
            expected = video.expected_segments("en", track.is_generated)
            assert result.segments == [(s["start"], s["duration"], s["text"]) for s in expected]
        else:
            with pytest.raises(Permanent) as caught:
                client.fetch(video.video_id)
            assert caught.value.reason == EXPECTED[case]
            if EXPECTED[case] == UnavailableReason.NO_TRANSCRIPT_IN_LANGUAGE:
                for track in video.caption_tracks:
                    assert track.language_code in str(caught.value)


def test_language_preference_and_translation(sim) -> None:
    multi = sim.world.find("multi_language")
    other = next(t for t in multi.caption_tracks if t.language_code != "en")
    picked = TranscriptClient(languages=(other.language_code, "en"),
                              web_base_url=sim.base_url).fetch(multi.video_id)
    assert (picked.language_code, picked.is_generated) == (other.language_code, False)

    foreign = sim.world.find("no_english")
    source = next(t for t in foreign.caption_tracks if not t.is_generated)
    translated = TranscriptClient(allow_translation=True,
                                  web_base_url=sim.base_url).fetch(foreign.video_id)
    assert translated.language_code == "en" and translated.translated_from == \
        source.language_code
    expected = foreign.expected_segments(source.language_code, False, translate_to="en")
    assert translated.segments == [(s["start"], s["duration"], s["text"]) for s in expected]


@pytest.mark.parametrize("variant", BLOCKED_VARIANTS)
def test_blocked_modes(sim, variant: str) -> None:
    sim.set_faults(blocked=True, blocked_variant=variant)
    client = TranscriptClient(web_base_url=sim.base_url)
    with pytest.raises(Blocked):
        client.fetch(sim.world.find("manual_en").video_id)
    sim.set_faults(blocked=False)
    assert client.fetch(sim.world.find("manual_en").video_id).segments


def test_consent_page_is_handled(sim) -> None:
    sim.set_faults(consent_required=True)
    result = TranscriptClient(web_base_url=sim.base_url).fetch(sim.world.find("manual_en").video_id)
    assert result.segments
    assert sim.stats()["requests"]["watch"] == 2


def test_transcript_server_errors_are_transient_and_recover(sim) -> None:
    client = TranscriptClient(web_base_url=sim.base_url)
    video_id = sim.world.find("manual_en").video_id
    sim.set_faults(error_rate=1.0)
    with pytest.raises(Transient):
        client.fetch(video_id)
    sim.set_faults(error_rate=0.0)
    assert client.fetch(video_id).segments


def test_transcript_stall_is_transient_within_timeout(sim) -> None:
    sim.set_faults(timeout_rate=1.0, stall_seconds=5)
    client = TranscriptClient(web_base_url=sim.base_url, timeout=(1.0, 0.5))
    took, error = elapsed(lambda: client.fetch(sim.world.find("manual_en").video_id))
    assert isinstance(error, Transient), error
    assert took < 2.5


def test_flaky_server_statistics(sim) -> None:
    """With 30% injected errors every outcome is either a transcript or Transient."""
    sim.set_faults(error_rate=0.3)
    client = TranscriptClient(web_base_url=sim.base_url)
    outcomes = Counter()
    for video in sim.world.videos_by_case("manual_en")[:10]:
        try:
            client.fetch(video.video_id)
            outcomes["ok"] += 1
        except Transient:
            outcomes["transient"] += 1
    assert sum(outcomes.values()) == 10 and outcomes["transient"] > 0


def test_after_a_timeout_the_next_answer_is_not_the_late_one(sim) -> None:
    first, second = sim.world.channels
    client = api(sim, timeout=0.5)
    sim.set_faults(timeout_rate=1.0, stall_seconds=1.0)
    with pytest.raises(Transient):
        client.resolve_channel(ChannelRef("id", first.channel_id))
    sim.set_faults(timeout_rate=0.0)
    import time

    time.sleep(1.0)  # the stalled answer for `first` is now written to the old socket
    assert client.resolve_channel(ChannelRef("id", second.channel_id)).channel_id == \
        second.channel_id
