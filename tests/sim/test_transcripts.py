"""The www.youtube.com side, driven through the real youtube-transcript-api."""

from __future__ import annotations

import json
import re
from itertools import pairwise

import pytest
from youtube_transcript_api import (
    AgeRestricted,
    InvalidVideoId,
    IpBlocked,
    NoTranscriptFound,
    PoTokenRequired,
    RequestBlocked,
    TranscriptsDisabled,
    VideoUnavailable,
    VideoUnplayable,
    YouTubeRequestFailed,
)

from tubesensei.sim import CASES, INNERTUBE_API_KEY, SimConfig, running_simulator

from .helpers import http

EXPECTED_ERROR = {
    "no_english": NoTranscriptFound,
    "captions_disabled": TranscriptsDisabled,
    "live": TranscriptsDisabled,
    "unavailable": VideoUnavailable,
    "age_restricted": AgeRestricted,
    "unplayable": VideoUnplayable,
    "po_token_required": PoTokenRequired,
    "upcoming": VideoUnplayable,
    "private": VideoUnplayable,
    "deleted": VideoUnplayable,
}


def test_small_world_has_every_case():
    with running_simulator(SimConfig(seed=3, channels=2, videos_per_channel=20)) as sim:
        for ch in sim.world.channels:
            assert {v.case for v in ch.videos} == set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_every_case_through_the_library(sim, ytt, case):
    v = sim.world.find(case)
    if case in EXPECTED_ERROR:
        with pytest.raises(EXPECTED_ERROR[case]):
            ytt.fetch(v.video_id)
        return
    fetched = ytt.fetch(v.video_id)
    assert fetched.to_raw_data() == v.expected_segments("en")
    track = v.track("en")
    assert (fetched.language, fetched.is_generated) == (track.language, track.is_generated)
    assert fetched.video_id == v.video_id


def test_manual_before_generated_and_languages(sim, ytt):
    v = sim.world.find("multi_language")
    listing = ytt.list(v.video_id)
    manual = {t.language_code for t in listing if not t.is_generated}
    assert manual == {t.language_code for t in v.caption_tracks if not t.is_generated}
    assert len(manual) >= 3
    assert ytt.fetch(v.video_id).is_generated is False
    other = sorted(manual - {"en"})[0]
    assert ytt.fetch(v.video_id, languages=[other]).to_raw_data() == \
        v.expected_segments(other)
    gen = listing.find_generated_transcript(["en"]).fetch()
    assert gen.is_generated and gen.language == "English (auto-generated)"
    translated = listing.find_transcript(["en"]).translate("ja").fetch()
    assert translated.to_raw_data() == v.expected_segments("en", False, translate_to="ja")


def test_no_english_lists_other_languages(sim, ytt):
    v = sim.world.find("no_english")
    with pytest.raises(NoTranscriptFound) as exc:
        ytt.fetch(v.video_id, languages=["en"])
    codes = {t.language_code for t in v.caption_tracks}
    assert all(f" - {code} " in str(exc.value) for code in codes)
    lang = sorted(codes)[0]
    assert ytt.fetch(v.video_id, languages=["en", lang]).language_code == lang


def test_generated_captions_look_like_auto_captions(sim, ytt):
    v = sim.world.find("generated_en")
    texts = [s.text for s in ytt.fetch(v.video_id)]
    assert texts[0] == "[Music]"
    assert any("'" in t for t in texts)  # &amp;#39; on the wire, unescaped by the library
    assert all(t == t.lower() for t in texts if "[" not in t)
    segs = v.segments("en", True)
    overlaps = sum(a.start + a.duration > b.start for a, b in pairwise(segs))
    assert overlaps > len(segs) // 2
    rolled = sum(a.text == b.text or b.text.startswith(a.text.split("\n")[-1] + "\n")
                 for a, b in pairwise(segs))
    assert rolled > 0
    assert v.spoken_lines("en")[0] != "[Music]"


def test_wire_format_matches_youtube(sim):
    v = sim.world.find("generated_en")
    status, body = http("POST", f"{sim.base_url}/youtubei/v1/player?key={INNERTUBE_API_KEY}",
                        {"context": {"client": {"clientName": "ANDROID"}},
                         "videoId": v.video_id})
    data = json.loads(body)
    assert data["playabilityStatus"]["status"] == "OK"
    track = data["captions"]["playerCaptionsTracklistRenderer"]["captionTracks"][0]
    assert track["baseUrl"].startswith("https://www.youtube.com/api/timedtext?v=")
    assert track["kind"] == "asr" and track["name"]["runs"][0]["text"].endswith("generated)")
    assert sim.base_url not in body.decode()
    local = track["baseUrl"].replace("https://www.youtube.com", sim.base_url)
    _, xml = http("GET", local.replace("&fmt=srv3", ""))
    assert xml.startswith(b'<?xml version="1.0" encoding="utf-8" ?><transcript><text start=')
    assert b"&amp;#39;" in xml
    _, srv3 = http("GET", local)
    assert b'<timedtext format="3">' in srv3
    forged = re.sub(r"signature=[^&]+", "signature=AB.CD", local)
    assert http("GET", forged)[0] == 403
    _, page = http("GET", f"{sim.base_url}/watch?v={v.video_id}")
    assert status == 200 and f'"INNERTUBE_API_KEY":"{INNERTUBE_API_KEY}"'.encode() in page


def test_po_token_urls_carry_exp_xpe(sim):
    v = sim.world.find("po_token_required")
    _, body = http("POST", f"{sim.base_url}/youtubei/v1/player?key={INNERTUBE_API_KEY}",
                   {"videoId": v.video_id})
    tracks = json.loads(body)["captions"]["playerCaptionsTracklistRenderer"]["captionTracks"]
    assert all("&exp=xpe&" in t["baseUrl"] for t in tracks)
    url = tracks[0]["baseUrl"].replace("https://www.youtube.com", sim.base_url)
    assert http("GET", url) == (200, b"")  # no PO token, no captions


def test_invalid_video_id(sim, ytt):
    with pytest.raises(VideoUnavailable):
        ytt.fetch("AAAAAAAAAAA")
    with pytest.raises(InvalidVideoId):
        ytt.fetch("https://www.youtube.com/watch?v=AAAAAAAAAAA")


@pytest.mark.parametrize("variant,exc", [("ip_blocked", IpBlocked), ("recaptcha", IpBlocked),
                                         ("bot_detected", RequestBlocked)])
def test_blocked_variants(sim, ytt, variant, exc):
    v = sim.world.find("manual_en")
    sim.set_faults(blocked=True, blocked_variant=variant)
    with pytest.raises(exc) as info:
        ytt.fetch(v.video_id)
    assert type(info.value) is exc
    sim.set_faults(blocked=False)
    assert len(ytt.fetch(v.video_id)) > 0


def test_web_5xx_is_plain(sim, ytt):
    sim.set_faults(error_rate=1.0)
    with pytest.raises(YouTubeRequestFailed):
        ytt.fetch(sim.world.find("manual_en").video_id)
    status, body = http("GET", f"{sim.base_url}/watch?v=x")
    assert status == 500 and body.startswith(b"<html>")


def test_consent_page_is_handled_by_the_library(sim, ytt):
    sim.set_faults(consent_required=True)
    v = sim.world.find("manual_en")
    status, page = http("GET", f"{sim.base_url}/watch?v={v.video_id}")
    assert status == 200 and b'action="https://consent.youtube.com/s"' in page
    assert ytt.fetch(v.video_id).to_raw_data() == v.expected_segments()
    assert sim.stats()["requests"]["watch"] == 3  # consent page, then the real page
