"""``tubesensei demo``: the whole product, end to end, against the bundled simulator.

One process: the simulator on a free loopback port (some latency and a few 5xx faults, so
retries and every unavailable reason show up), a throw-away data folder, the simulated
channels queued for discovery exactly as ``tubesensei enqueue channel`` queues them, and a
burst consumer in a thread. The calling thread only polls the database for progress a few
times a second; the summary is read from the database at the end, never from counters.

Nothing here reads the user's configuration or environment: the demo must not touch a real
corpus, a real API key or a PostgreSQL URL someone has exported.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tubesensei.app import Runtime, check_data_dir
from tubesensei.config import ConfigError, load_settings
from tubesensei.queries import corpus, jobs, state, transcripts

# The simulator accepts any key; this one exists so the product's key handling is exercised
# (and tests can check it is never printed or stored).
DEMO_API_KEY = "sim-demo-key-never-shown-0451"
# Transcript work has ended for a video in one of these (waiting videos are not queued yet).
FINISHED = ("done", "unavailable", "failed")
WAITING = "waiting"
BURST_WAIT_SECONDS = 5.0
GRACE_SECONDS = 3.0


class DemoInputError(ConfigError):
    """Bad demo input (a data folder that already holds a corpus): one line, exit 2."""


@dataclass(frozen=True)
class DemoOptions:
    channels: int = 5
    videos_per_channel: int = 60
    workers: int = 4
    seed: int = 7
    data_dir: Path | None = None  # None: a temporary folder, removed at the end unless keep
    keep: bool = False
    latency_ms: float = 30.0
    error_rate: float = 0.03
    tui: bool = False  # watch the run in the TUI; the summary follows when you quit it


@dataclass(frozen=True)
class ChannelProgress:
    ref: str  # what was queued, e.g. "@simchannel0"
    title: str | None  # None until discovery has stored the channel
    discovered: bool
    wanted: int  # videos that should get a transcript (stored, not waiting)
    finished: int  # of those: done + unavailable + failed
    failed: int


@dataclass(frozen=True)
class DemoProgress:
    channels: list[ChannelProgress]
    retries: int

    @property
    def discovered(self) -> int:
        return sum(c.discovered for c in self.channels)

    @property
    def all_discovered(self) -> bool:
        return all(c.discovered for c in self.channels)

    @property
    def wanted(self) -> int:
        return sum(c.wanted for c in self.channels)

    @property
    def finished(self) -> int:
        return sum(c.finished for c in self.channels)

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.channels)


@dataclass(frozen=True)
class DemoReport:
    channels: int
    videos_by_kind: dict[str, int]
    transcripts: int
    unavailable_by_reason: dict[str, int]
    retries: int  # jobs that needed more than one attempt
    failures: int  # jobs that failed
    processed: int  # videos whose transcript work ended (done, unavailable, failed)
    wall_s: float
    quota_units: int
    faults_injected: int
    data_dir: Path
    kept: bool
    interrupted: bool
    search_word: str | None = None
    workers: int = 0

    @property
    def videos(self) -> int:
        return sum(self.videos_by_kind.values())

    @property
    def unavailable(self) -> int:
        return sum(self.unavailable_by_reason.values())

    @property
    def videos_per_minute(self) -> float:
        return self.processed / (self.wall_s / 60) if self.wall_s > 0 else 0.0

    def explore_commands(self) -> list[str]:
        """Commands that read the corpus this demo left behind (empty if it was removed)."""
        if not self.kept:
            return []
        env = f"TUBESENSEI_DATA_DIR={shlex.quote(str(self.data_dir))}"
        word = self.search_word or "garden"
        return [
            f"{env} tubesensei channels list",
            f"{env} tubesensei transcripts search {shlex.quote(word)}",
            f"{env} tubesensei videos list --status unavailable",
            f"{env} tubesensei jobs list --status failed",
            f"{env} tubesensei transcripts export --format jsonl --out corpus.jsonl",
        ]


@dataclass
class _Stop:
    """Set by SIGINT/SIGTERM; the demo then stops the consumer and cleans up."""

    event: threading.Event = field(default_factory=threading.Event)
    signals: int = 0


def demo_runtime(options: DemoOptions, data_dir: Path, base_url: str) -> Runtime:
    """Settings for the demo alone: no config file, no environment, the simulator's URLs."""
    overrides: dict[str, Any] = {
        "data_dir": data_dir,
        "youtube.api_key": DEMO_API_KEY,
        "youtube.api_endpoint": base_url,
        "youtube.web_base_url": base_url,
        # The simulator has no rate limit to respect; retries come back within the run.
        "limits.transcripts_per_minute": 0,
        "limits.retry_base_seconds": 0.5,
        "limits.retry_max_seconds": 2.0,
        "limits.worker_concurrency": options.workers,
        "limits.max_concurrent_jobs": options.workers,
        "queue.poll_interval_seconds": 0.2,
        "metrics.enabled": False,
    }
    # os.devnull as the config file: the user's tubesensei.toml must not leak into the demo.
    return Runtime(load_settings(Path(os.devnull), overrides, environ={}))


def _choose_data_dir(options: DemoOptions) -> tuple[Path, bool]:
    """(folder, remove it at the end). A folder the user names is never removed."""
    if options.data_dir is None:
        return Path(tempfile.mkdtemp(prefix="tubesensei-demo-")), not options.keep
    path = check_data_dir(options.data_dir)
    for name in ("tubesensei.db", "queue.db"):
        if (path / name).exists():
            raise DemoInputError(
                f"data folder {path}: already holds a TubeSensei {name}; the demo needs a new "
                "or empty folder"
            )
    return path, False


@contextmanager
def _signals_stop(stop: _Stop) -> Iterator[None]:
    """Ctrl-C / SIGTERM ask the demo to stop; a second one exits at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: Any) -> None:
        stop.signals += 1
        if stop.signals > 1:
            os._exit(130)
        stop.event.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _ConsumerThread(threading.Thread):
    """Runs the burst consumer; an error is handed back to the caller, not printed."""

    def __init__(self, consumer: Any) -> None:
        super().__init__(name="tubesensei-demo-consumer", daemon=True)
        self.consumer = consumer
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.consumer.run(install_signals=False)
        except BaseException as exc:
            self.error = exc


def run_demo(
    options: DemoOptions,
    on_progress: Callable[[DemoProgress], None] = lambda _p: None,
    *,
    poll_seconds: float = 0.25,
    on_start: Callable[[Path, int], None] = lambda _d, _n: None,
) -> DemoReport:
    """Run the demo to the end (or until Ctrl-C) and report what the database holds."""
    from tubesensei.jobs.consumer import Consumer
    from tubesensei.sim import SimConfig, running_simulator
    from tubesensei.youtube.ids import parse_channel_ref

    started = time.monotonic()
    data_dir, remove = _choose_data_dir(options)
    stop = _Stop()
    sim_config = SimConfig(
        seed=options.seed, channels=options.channels,
        videos_per_channel=options.videos_per_channel,
        latency_ms=options.latency_ms, error_rate=options.error_rate,
    )
    ended = False  # finished or interrupted; after an unexpected error the folder stays
    try:
        with _signals_stop(stop), running_simulator(sim_config) as sim:
            runtime = demo_runtime(options, data_dir, sim.base_url)
            runtime.setup_logging()
            system = runtime.jobs()
            db = runtime.database()  # progress is read on this thread, from the same engine
            refs = channel_entities([c.handle for c in sim.world.channels])
            on_start(data_dir, len(refs))
            try:
                system.enqueue_channels([parse_channel_ref(r) for r in refs])
                # No periodic rescans: a cron slot falling inside the run would only add noise.
                # With the dashboard the consumer keeps serving until the user quits it.
                consumer = Consumer(system, workers=options.workers, burst=not options.tui,
                                    burst_wait=BURST_WAIT_SECONDS, grace_seconds=GRACE_SECONDS,
                                    periodic_tasks=False)
                worker = _ConsumerThread(consumer)
                worker.start()
                if options.tui:
                    _run_tui(system)  # until the user quits it
                    consumer.stop()
                while worker.is_alive() and not stop.event.is_set():
                    on_progress(db.query(read_progress, refs))
                    stop.event.wait(poll_seconds)
                if stop.event.is_set():
                    consumer.stop()
                worker.join()
                if worker.error is not None:
                    raise worker.error
                wall = time.monotonic() - started
                on_progress(db.query(read_progress, refs))
                stats = sim.stats()
                report = db.query(
                    read_report, wall_s=wall, data_dir=data_dir, kept=not remove,
                    interrupted=stop.event.is_set(), faults_injected=stats["errors_injected"],
                    workers=options.workers,
                )
                ended = True
                return report
            finally:
                runtime.close()
    finally:
        if ended or stop.event.is_set():
            _close_log_handlers()
            if remove:
                shutil.rmtree(data_dir, ignore_errors=True)


def _run_tui(system: Any) -> None:
    """The dashboard on this (the main) thread while the consumer works in its own."""
    from tubesensei.tui.app import TubeSenseiApp
    from tubesensei.tui.data import TuiData

    app = TubeSenseiApp(TuiData(system), refresh_interval=0.5, theme=None)
    app.consumer_label = "demo consumer in this process"
    app.run()


def channel_entities(handles: list[str]) -> list[str]:
    """The ledger entities ``enqueue channel`` creates for these references."""
    from tubesensei.jobs.system import channel_entity
    from tubesensei.youtube.ids import parse_channel_ref

    return [channel_entity(parse_channel_ref(h)) for h in handles]


def read_progress(s: Session, refs: list[str]) -> DemoProgress:
    """Where the work stands, from the ledger and the videos table (a few cheap queries)."""
    discovery = jobs.statuses_of(s, "discover_channel", refs)
    titles: dict[str, str] = {}
    counts: dict[str, Counter[str]] = {}
    for handle, title, status, n in corpus.channel_status_counts(s):
        key = f"@{handle}"
        titles[key] = title or ""
        if status is not None:
            counts.setdefault(key, Counter())[status] = n
    channels = []
    for ref in refs:
        by_status = counts.get(ref, Counter())
        channels.append(
            ChannelProgress(
                ref=ref,
                title=titles.get(ref),
                discovered=discovery.get(ref) in ("completed", "failed", "cancelled"),
                wanted=sum(n for st, n in by_status.items() if st != WAITING),
                finished=sum(by_status[st] for st in FINISHED),
                failed=by_status["failed"],
            )
        )
    return DemoProgress(channels, jobs.count_jobs(s, retried=True))


_WORD = re.compile(r"[^\W\d_]{6,}")


def _search_word(texts: list[str]) -> str | None:
    """A word the corpus certainly holds, for the suggested search command: a topical one
    (in a few passages, not in most of them) rather than the most common."""
    passages: Counter[str] = Counter()
    for text in texts:
        passages.update({w.lower() for w in _WORD.findall(text)})
    if not passages:
        return None
    low, high = max(2, len(texts) // 50), max(2, len(texts) // 5)
    topical = [(n, w) for w, n in passages.items() if low <= n <= high]
    return max(topical)[1] if topical else passages.most_common(1)[0][0]


def read_report(s: Session, *, wall_s: float, data_dir: Path, kept: bool,
                interrupted: bool, faults_injected: int, workers: int) -> DemoReport:
    """The summary, read from the database the demo filled."""
    totals = corpus.corpus_totals(s)
    return DemoReport(
        channels=totals.channels,
        videos_by_kind=corpus.videos_by_kind(s),
        transcripts=transcripts.transcript_count(s),
        unavailable_by_reason=dict(sorted(totals.unavailable_by_reason.items())),
        retries=jobs.count_jobs(s, retried=True),
        failures=jobs.count_jobs(s, status="failed"),
        processed=sum(totals.videos_by_status.get(st, 0) for st in FINISHED),
        wall_s=wall_s,
        quota_units=state.quota_units_spent(s),
        faults_injected=faults_injected,
        data_dir=data_dir,
        kept=kept,
        interrupted=interrupted,
        search_word=_search_word(transcripts.sample_passages(s)),
        workers=workers,
    )


def _close_log_handlers() -> None:
    """Close the demo's log file (it may be about to be deleted)."""
    import logging

    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_tubesensei", False):
            root.removeHandler(handler)
            handler.close()
