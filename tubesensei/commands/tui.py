"""``tubesensei tui``: the live dashboard. Textual is imported only inside the command."""

from __future__ import annotations

import click

from tubesensei.commands.common import AppContext, pass_app
from tubesensei.errors import BadInput


@click.command(name="tui")
@click.option("--with-consumer", is_flag=True,
              help="Also run the job consumer in this process (stopped when you quit).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="With --with-consumer: worker threads (default: limits.worker_concurrency).")
@click.option("--refresh", type=click.FloatRange(0.2, 60.0), default=1.0, show_default=True,
              help="Seconds between refreshes.")
@click.option("--theme", default=None,
              help="A Textual theme, e.g. textual-light (ctrl+p switches it live).")
@pass_app
def tui_command(app: AppContext, with_consumer: bool, workers: int | None, refresh: float,
                theme: str | None) -> None:
    """Watch and steer the work: queues, jobs, failures, sessions, channels, transcripts.

    Press ? inside for every key. The data refreshes about once a second, whether the
    consumer runs here (--with-consumer), in another terminal or on another machine.

    \b
    Example:
        tubesensei tui
        tubesensei tui --with-consumer --workers 4
    """
    if workers is not None and not with_consumer:
        raise BadInput("--workers needs --with-consumer")
    import threading

    from tubesensei.tui.app import TubeSenseiApp
    from tubesensei.tui.data import TuiData

    system = app.runtime().jobs()
    data = TuiData(system)
    tui = TubeSenseiApp(data, refresh_interval=refresh, theme=None)
    if theme is not None and theme not in tui.available_themes:
        raise BadInput(f"unknown theme {theme!r} (try: "
                       f"{', '.join(sorted(tui.available_themes))})")
    tui.theme = theme or tui.theme
    consumer = thread = None
    if with_consumer:
        from tubesensei.jobs.consumer import Consumer

        consumer = Consumer(system, workers=workers)
        # Not the main thread: the consumer installs no signal handlers; we stop it on quit.
        thread = threading.Thread(target=consumer.run, kwargs={"install_signals": False},
                                  name="tubesensei-consumer", daemon=True)
        thread.start()
        tui.consumer_label = f"{consumer.threads_wanted} threads here"
    try:
        tui.run()
    finally:
        if consumer is not None and thread is not None:
            click.echo("stopping the consumer: running jobs get "
                       f"{consumer.grace_seconds:g}s to finish…", err=True)
            consumer.stop()
            thread.join(consumer.grace_seconds + 10)
