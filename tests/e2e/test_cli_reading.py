"""Reading the corpus through the real CLI: transcripts in paragraphs, `videos show`,
`transcripts languages` (YouTube asked live, the simulator speaking the real protocol),
the languages a miss records, re-queueing misses after a change of transcripts.languages —
which a running consumer follows without a restart — and cancelled videos queued again.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e import test_cli_corpus as corpus_tests
from tests.e2e.test_cli_corpus import ok, one_line_error
from tests.jobs_helpers import sim_environ
from tubesensei.sim import SimConfig, running_simulator

# The corpus the CLI corpus tests read (their fixtures, shared: one simulated world).
sim = corpus_tests.sim
corpus_file = corpus_tests.corpus_file
env = corpus_tests.env
corpus = corpus_tests.corpus


def tracks(video) -> list[dict]:
    """The simulator's truth about a video's tracks, in the shape videos show records."""
    return [{"language_code": t.language_code, "language": t.language,
             "is_generated": t.is_generated, "is_translatable": t.is_translatable}
            for t in video.caption_tracks]


def shown(run_cli, video_id: str) -> dict:
    return json.loads(ok(run_cli("videos", "show", video_id, "--json")))


# -- transcripts show: paragraphs for auto-generated captions -------------------------------


def test_an_auto_generated_transcript_reads_in_timestamped_paragraphs(run_cli, sim,
                                                                      corpus) -> None:
    """Auto captions have no punctuation: still a paragraph with a timestamp at least every
    minute (the shared rule in formatting.py, 45 s at most), not one block of text."""
    video = max((v for v in sim.world.videos if v.case in ("generated_en", "finished_live")),
                key=lambda v: v.duration_s)
    assert video.duration_s > 600
    text = ok(run_cli("transcripts", "show", video.video_id))
    header, _, body = text.partition("\n\n")
    assert "auto-generated" in header
    stamps = re.findall(r"^\[(\d+):(\d\d)(?::(\d\d))?\] \S", body, re.M)
    seconds = [int(a) * 3600 + int(b) * 60 + int(c) if c else int(a) * 60 + int(b)
               for a, b, c in stamps]
    assert len(seconds) >= video.duration_s / 60
    assert seconds == sorted(seconds) and seconds[0] <= 5
    gaps = [b - a for a, b in itertools.pairwise(seconds)]
    assert max(gaps) <= 60, gaps
    assert len(body.strip().split("\n\n")) == len(seconds)  # each paragraph has its time
    data = json.loads(ok(run_cli("transcripts", "show", video.video_id, "--format", "json")))
    words = [w for line in body.splitlines() for w in line.split()[1:]]
    assert words == data["text"].split()


def test_the_tui_transcript_view_uses_the_same_paragraph_rule() -> None:
    source = Path("tubesensei/tui/screens/transcript.py")
    root = Path(__file__).resolve().parents[2]
    assert ".paragraphs()" in (root / source).read_text(encoding="utf-8")
    shared = (root / "tubesensei/queries/transcripts.py").read_text(encoding="utf-8")
    assert "from tubesensei.formatting import paragraphs" in shared


# -- videos show ------------------------------------------------------------------------------


def test_videos_show_a_stored_transcript(run_cli, sim, corpus) -> None:
    video = next(v for v in sim.world.videos if v.case == "multi_language")
    data = shown(run_cli, f"https://www.youtube.com/watch?v={video.video_id}&t=3")
    assert data["video_id"] == video.video_id and data["title"] == video.title
    assert data["channel_id"] == video.channel_id and data["kind"] == "video"
    assert data["duration_s"] == video.duration_s and data["view_count"] == video.view_count
    assert data["transcript_status"] == "done" and data["unavailable_reason"] is None
    (stored,) = data["transcripts"]
    assert (stored["language_code"], stored["is_generated"], stored["translated_from"],
            stored["chosen_by"]) == ("en", False, None, "manual")
    assert stored["segments"] == len(video.expected_segments("en", False))
    assert stored["words"] > 50
    assert data["available_languages"] == tracks(video) and data["languages_checked_at"]
    assert data["jobs"] == []  # the corpus was built without the job system
    table = ok(run_cli("videos", "show", video.video_id))
    assert video.title in table and "youtube offers" in table
    assert f"{stored['segments']:,} segments" in table
    for track in video.caption_tracks:
        assert f"{track.language_code}  {track.language}" in table
    assert "no jobs for this video" in table
    assert "(manual, chosen: manual)" in table


def test_the_first_listed_language_wins_and_videos_show_says_by_which_rule(
        run_cli, sim, corpus, tubesensei_exe: list[str], monkeypatch) -> None:
    """A generated track in the first listed language beats a manual one in the second; the
    stored transcript, its job's result and `videos show` (a real subprocess) name the rule."""
    video = next(v for v in sim.world.videos if v.case == "no_english" and v.is_public)
    first, second = sorted({t.language_code for t in video.caption_tracks})
    saved = list(video.caption_tracks)
    # YouTube now lists only a generated track in `first` and a manual one in `second`.
    monkeypatch.setattr(video, "caption_tracks",
                        [t for t in saved if t.is_generated or t.language_code != first])
    assert {(t.language_code, t.is_generated) for t in video.caption_tracks} == {
        (first, True), (second, False)}
    monkeypatch.setenv("TUBESENSEI_TRANSCRIPTS__LANGUAGES", json.dumps([first, second]))
    monkeypatch.setenv("TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE", "0")
    assert f"stores {first} (generated), chosen: generated" in ok(
        run_cli("transcripts", "languages", video.video_id))
    ok(run_cli("enqueue", "video", video.video_id))
    assert run_cli("run-consumer", "--burst", "--burst-wait", "0").exit_code == 0
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TUBESENSEI_")}
    environ.update(sim_environ(sim.base_url, corpus))
    shown_json = subprocess.run([*tubesensei_exe, "videos", "show", video.video_id, "--json"],
                                env=environ, capture_output=True, text=True, timeout=60)
    assert shown_json.returncode == 0 and shown_json.stderr == "", shown_json.stderr
    data = json.loads(shown_json.stdout)
    assert data["transcript_status"] == "done"
    (stored,) = data["transcripts"]
    assert (stored["language_code"], stored["is_generated"], stored["chosen_by"]) == (
        first, True, "generated")
    assert stored["segments"] == len(video.expected_segments(first, True))
    (job,) = data["jobs"]
    assert job["status"] == "completed" and job["result"]["chosen_by"] == "generated"
    assert "(generated, chosen: generated)" in ok(run_cli("videos", "show", video.video_id))
    header = ok(run_cli("transcripts", "show", video.video_id)).partition("\n\n")[0]
    assert "chosen: generated" in header
    as_json = json.loads(ok(run_cli("transcripts", "show", video.video_id, "--format", "json")))
    assert (as_json["language_code"], as_json["chosen_by"]) == (first, "generated")


def test_a_miss_records_the_languages_youtube_offered(run_cli, sim, corpus) -> None:
    video = sim.world.find("no_english")
    data = shown(run_cli, video.video_id)
    assert (data["transcript_status"], data["unavailable_reason"]) == (
        "unavailable", "no_transcript_in_language")
    assert data["available_languages"] == tracks(video) and data["transcripts"] == []
    offered = ", ".join(f"{t.language_code} ({'generated' if t.is_generated else 'manual'})"
                        for t in video.caption_tracks)
    assert data["transcript_error"].endswith(f"available: {offered}")
    table = ok(run_cli("videos", "show", video.video_id))
    assert "no_transcript_in_language" in table
    for track in video.caption_tracks:
        kind = "generated" if track.is_generated else "manual"
        assert f"{track.language_code}  {track.language}: {kind}, translatable" in table


def test_videos_show_says_when_nothing_is_offered_or_known(run_cli, sim, corpus) -> None:
    disabled = sim.world.find("captions_disabled")
    data = shown(run_cli, disabled.video_id)
    assert data["available_languages"] == [] and data["unavailable_reason"] == \
        "transcripts_disabled"
    assert "captions are disabled" in ok(run_cli("videos", "show", disabled.video_id))
    live = sim.world.find("live")
    data = shown(run_cli, live.video_id)
    assert data["transcript_status"] == "waiting" and data["available_languages"] is None
    assert f"transcripts languages {live.video_id}" in ok(run_cli("videos", "show",
                                                                  live.video_id))
    gone = sim.world.find("unavailable")
    assert shown(run_cli, gone.video_id)["available_languages"] is None  # could not be listed


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (["videos", "show", "tooshort"], 2, "video id"),
    (["videos", "show", "@simchannel0"], 2, "handle is not a video"),
    (["videos", "show"], 2, "Missing argument"),
    (["videos", "show", "AAAAAAAAAAA"], 1, "not in the corpus"),
    (["transcripts", "languages", "https://vimeo.com/1"], 2, "not a YouTube URL"),
])
def test_videos_show_refuses_bad_and_unknown_videos(run_cli, corpus, args, code,
                                                    fragment) -> None:
    one_line_error(run_cli(*args), code, fragment)


def test_bad_video_references_write_nothing(run_cli, env) -> None:
    for args in (["videos", "show", "tooshort"], ["transcripts", "languages", "tooshort"]):
        one_line_error(run_cli(*args), 2, "video id")
    assert not env.exists()


# -- transcripts languages: YouTube asked now -------------------------------------------------


def test_transcripts_languages_lists_what_youtube_offers(run_cli, sim, env, monkeypatch) -> None:
    video = sim.world.find("no_english")
    assert json.loads(ok(run_cli("transcripts", "languages", video.video_id, "--json"))) == \
        tracks(video)
    table = ok(run_cli("transcripts", "languages", f"https://youtu.be/{video.video_id}"))
    for track in video.caption_tracks:
        assert track.language in table
    assert 'transcripts.languages = ["en"]: none listed' in table
    assert "no_transcript_in_language" in table
    first = video.caption_tracks[0]
    monkeypatch.setenv("TUBESENSEI_TRANSCRIPTS__LANGUAGES", json.dumps(["xx", first.language_code]))
    assert f"stores {first.language_code} (manual)" in ok(
        run_cli("transcripts", "languages", video.video_id))
    generated = sim.world.find("generated_en")
    rows = json.loads(ok(run_cli("transcripts", "languages", generated.video_id, "--json")))
    assert rows == tracks(generated) and rows[0]["is_generated"] is True
    assert not (env / "tubesensei.db").exists()  # asked YouTube, stored nothing


@pytest.mark.parametrize(("case", "fragment"), [
    ("captions_disabled", "transcripts are disabled"),
    ("unavailable", "video is unavailable"),
    ("age_restricted", "age-restricted"),
    ("unplayable", "unplayable"),
])
def test_transcripts_languages_of_a_video_without_any_is_one_line(run_cli, sim, env, case,
                                                                  fragment) -> None:
    one_line_error(run_cli("transcripts", "languages", sim.world.find(case).video_id), 1,
                   fragment)


def test_transcripts_languages_of_a_video_youtube_does_not_know(run_cli, env) -> None:
    one_line_error(run_cli("transcripts", "languages", "AAAAAAAAAAA"), 1, "unavailable")


def test_transcripts_languages_when_youtube_blocks_us(run_cli, env, monkeypatch) -> None:
    with running_simulator(SimConfig(seed=5, channels=1, videos_per_channel=3,
                                     blocked=True)) as blocked:
        monkeypatch.setenv("TUBESENSEI_YOUTUBE__WEB_BASE_URL", blocked.base_url)
        video = blocked.world.channels[0].videos[0]
        one_line_error(run_cli("transcripts", "languages", video.video_id), 1, "blocking")


# -- enqueue video --status/--reason: retry the misses ------------------------------------


def test_misses_are_retried_after_adding_languages(run_cli, sim, corpus, monkeypatch) -> None:
    misses = sorted(v.video_id for v in sim.world.videos
                    if v.case == "no_english" and v.is_public)
    assert len(misses) >= 2
    queued = ok(run_cli("enqueue", "video", "--status", "unavailable", "--reason",
                        "no_transcript_in_language"))
    assert sorted(re.findall(r"^queued +job \d+ +transcript (\S+)$", queued, re.M)) == misses
    again = ok(run_cli("enqueue", "video", "--reason", "no_transcript_in_language"))
    assert again.count("exists") == len(misses) and "already pending" in again
    languages = sorted({t.language_code for v in sim.world.videos for t in v.caption_tracks})
    monkeypatch.setenv("TUBESENSEI_TRANSCRIPTS__LANGUAGES", json.dumps(["en", *languages]))
    assert run_cli("run-consumer", "--burst", "--burst-wait", "0").exit_code == 0
    for vid in misses:
        data = shown(run_cli, vid)
        assert data["transcript_status"] == "done", data
        assert data["transcripts"][0]["language_code"] != "en"
        assert [j["status"] for j in data["jobs"]] == ["completed"]
    assert ok(run_cli("enqueue", "video", "--reason", "no_transcript_in_language")).strip() == \
        "no stored videos match --reason no_transcript_in_language"
    ch = sim.world.channels[1]
    assert ok(run_cli("enqueue", "video", "--status", "failed", "--channel", ch.handle)) \
        .startswith("no stored videos match --status failed --channel")


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (["enqueue", "video", "dQw4w9WgXcQ", "--status", "unavailable"], 2, "not both"),
    (["enqueue", "video"], 2, "give video references"),
    (["enqueue", "video", "--status", "done", "--reason", "age_restricted"], 2,
     "--reason goes with --status unavailable"),
    (["enqueue", "video", "--status", "finished"], 2, "'pending', 'queued', 'done'"),
    (["enqueue", "video", "--reason", "bored"], 2, "'transcripts_disabled'"),
    (["enqueue", "video", "--channel", "@simchannel0"], 2, "which videos?"),
    (["enqueue", "video", "--status", "failed", "--channel", "not a ref"], 2, "space"),
    (["enqueue", "video", "--status", "failed", "--channel", "@nosuch"], 1, "no channel @nosuch"),
])
def test_enqueue_video_selection_refuses_bad_input(run_cli, corpus, args, code,
                                                   fragment) -> None:
    one_line_error(run_cli(*args), code, fragment)


def test_a_cancelled_video_is_queued_again_by_enqueue_video(run_cli, sim, env,
                                                            monkeypatch) -> None:
    """Discovery queues a video, `jobs cancel` leaves it pending with no job: `enqueue video`
    gives it a new job, and the consumer stores its transcript."""
    monkeypatch.setenv("TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE", "0")  # no 30/min wait
    ch = sim.world.channels[1]
    ok(run_cli("enqueue", "channel", ch.handle))
    ok(run_cli("queues", "pause", "transcripts"))  # discovery only: its jobs stay queued
    assert run_cli("run-consumer", "--burst", "--burst-wait", "0").exit_code == 0
    video = next(v for v in ch.videos if v.case == "manual_en")
    (job,) = [j for j in shown(run_cli, video.video_id)["jobs"]]
    assert job["status"] == "pending"
    ok(run_cli("jobs", "cancel", str(job["id"])))
    data = shown(run_cli, video.video_id)
    assert data["transcript_status"] == "pending"
    assert [j["status"] for j in data["jobs"]] == ["cancelled"]
    out = ok(run_cli("enqueue", "video", video.video_id))
    assert re.match(rf"queued +job (\d+) +transcript {video.video_id}$", out.strip()), out
    data = shown(run_cli, video.video_id)
    assert data["transcript_status"] == "queued"
    assert [j["status"] for j in data["jobs"]] == ["pending", "cancelled"]
    ok(run_cli("queues", "resume", "transcripts"))
    assert run_cli("run-consumer", "--burst", "--burst-wait", "0").exit_code == 0
    data = shown(run_cli, video.video_id)
    assert data["transcript_status"] == "done"
    assert [j["status"] for j in data["jobs"]] == ["completed", "cancelled"]


# -- a running consumer follows transcripts.languages ---------------------------------------


def _wait_for(run_cli, video_id: str, config: Path, want: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        data = json.loads(ok(run_cli("--config", str(config), "videos", "show", video_id,
                                     "--json")))
        if data["jobs"] and data["jobs"][0]["status"] == "completed":
            assert data["transcript_status"] == want, data
            return data
        assert time.monotonic() < deadline, data
        time.sleep(0.2)


def test_a_running_consumer_follows_changes_of_transcripts_languages(
    run_cli, sim, corpus, tmp_path: Path, tubesensei_exe: list[str]
) -> None:
    """No restart: the consumer re-reads the config file's [transcripts] when the file
    changed; a broken file keeps the languages in use and says so once."""
    a, b = [v for v in sim.world.videos if v.case == "no_english" and v.is_public][:2]
    wanted = sorted({t.language_code for v in (a, b) for t in v.caption_tracks})
    config = tmp_path / "consumer.toml"
    config.write_text('[transcripts]\nlanguages = ["en"]\n', encoding="utf-8")
    good = tmp_path / "cli.toml"
    shutil.copy(config, good)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TUBESENSEI_")}
    environ.update(sim_environ(sim.base_url, corpus))
    consumer = subprocess.Popen([*tubesensei_exe, "--config", str(config), "run-consumer",
                                 "--workers", "1", "--no-metrics"], env=environ,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ok(run_cli("--config", str(good), "enqueue", "video", a.video_id))
        _wait_for(run_cli, a.video_id, good, "unavailable")
        config.write_text(f"[transcripts]\nlanguages = {json.dumps(['en', *wanted])}\n",
                          encoding="utf-8")
        ok(run_cli("--config", str(good), "enqueue", "video", a.video_id))
        assert _wait_for(run_cli, a.video_id, good, "done")["transcripts"][0][
            "language_code"] in wanted
        config.write_text("[transcripts\nlanguages = 'broken'\n", encoding="utf-8")
        for _ in range(2):  # two jobs after the breakage: one warning
            ok(run_cli("--config", str(good), "enqueue", "video", b.video_id))
            assert _wait_for(run_cli, b.video_id, good, "done")["transcripts"]
    finally:
        consumer.terminate()
        _out, err = consumer.communicate(timeout=60)
    assert consumer.returncode == 0, err[-2000:]
    assert err.count("transcripts settings reloaded from the config file") == 1, err[-3000:]
    assert err.count("config file changed but cannot be used") == 1, err[-3000:]
    assert "Traceback" not in err


def test_transcripts_show_into_a_pipe_that_closes_early(sim, corpus,
                                                         tubesensei_exe: list[str]) -> None:
    """`transcripts show ID | head` is normal use: no error when head has had enough."""
    video = max((v for v in sim.world.videos if v.case in ("generated_en", "finished_live")),
                key=lambda v: v.duration_s)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TUBESENSEI_")}
    environ.update(sim_environ(sim.base_url, corpus))
    proc = subprocess.Popen([*tubesensei_exe, "transcripts", "show", video.video_id],
                            env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().decode().strip() == video.title
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and err == "", err
