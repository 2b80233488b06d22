"""Commands over the local corpus: channels, videos (transcripts live in corpus_transcripts).

Each command parses its arguments (bad input exits 2 before anything is opened or written),
calls one pipeline function and prints a table, or JSON with ``--json``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

import click

from tubesensei.commands.common import (
    AppContext,
    BadInput,
    database_call,
    json_option,
    pass_app,
    print_json,
    run_async,
    translate_errors,
)
from tubesensei.db.models import TRANSCRIPT_STATUSES, VIDEO_KINDS

T = TypeVar("T")
TABLE_ROWS = 50  # rows a table shows when --limit is not given


# -- shared helpers -------------------------------------------------------------------------


def pipeline_call(app: AppContext, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any,
                  **kwargs: Any) -> T:
    """Like database_call, for services that also talk to YouTube: ``fn(pipeline, ...)``."""
    from tubesensei.pipeline.context import Pipeline

    async def go() -> T:
        rt = app.runtime()
        pipeline = Pipeline(rt.settings, rt.database())
        try:
            return await fn(pipeline, *args, **kwargs)
        finally:
            await pipeline.close()

    return run_async(go())


def channel_ref(text: str | None) -> Any:
    """Parse a channel reference (InvalidReference → exit 2 through translate_errors)."""
    from tubesensei.youtube.ids import parse_channel_ref

    return parse_channel_ref(text) if text is not None else None


def console() -> Any:
    """Rich output on stdout; piped (no terminal, no $COLUMNS) it is 160 wide, not 80, so
    ids and titles are not cut to pieces in files and pagers."""
    import os

    from rich.console import Console

    out = Console(soft_wrap=False, highlight=False)
    if not out.is_terminal and not os.environ.get("COLUMNS"):
        out.width = 160
    return out


def table(title: str | None = None) -> Any:
    from rich.table import Table

    return Table(title=title, title_justify="left")


def plain(value: Any) -> Any:
    """A table cell that rich must not read as markup (titles may contain "[...]")."""
    from rich.text import Text

    return Text("" if value is None else str(value))


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def number(value: int | None) -> str:
    return f"{value:,}" if value is not None else "-"


def showing(shown: int, total: int, noun: str) -> None:
    if shown < total:
        click.echo(f"showing {shown} of {total:,} {noun} (use --limit N or --json for more)")


def interactive() -> bool:
    """Whether a person can answer a confirmation prompt."""
    return sys.stdin.isatty()


# -- channels -------------------------------------------------------------------------------


@click.group(name="channels")
def channels_group() -> None:
    """Channels in the corpus: add, list, show, pause, resume, remove."""


@channels_group.command(name="add")
@click.argument("refs", nargs=-1, required=True)
@pass_app
@translate_errors
def channels_add(app: AppContext, refs: tuple[str, ...]) -> None:
    """Resolve channels through the YouTube Data API now and store them.

    REF is a UC… id, an @handle, or any channel or video URL. Adding a channel again (by
    handle, id or URL) refreshes it; it is stored once. Videos are found by discovery
    (`tubesensei enqueue channel REF`).

    \b
    Example:
        tubesensei channels add @veritasium
        tubesensei channels add https://www.youtube.com/channel/UCHnyfMqiRRG1u-2MsSQLbXA
    """
    from tubesensei.pipeline.channels import add_channel

    parsed = [channel_ref(r) for r in refs]  # every reference checked before any lookup
    for ref in parsed:
        channel = pipeline_call(app, add_channel, ref)
        handle = f"@{channel.handle}" if channel.handle else "(no handle)"
        click.echo(
            f"added  {channel.title}  {channel.youtube_channel_id}  {handle}  "
            f"{number(channel.video_count)} videos, {number(channel.subscriber_count)} subscribers"
        )


_COUNTS = ("videos", "transcripts", "unavailable", "pending", "failed")  # right-aligned


@channels_group.command(name="list")
@json_option
@pass_app
@translate_errors
def channels_list(app: AppContext, as_json: bool) -> None:
    """List the channels with videos discovered, transcripts stored and missing.

    \b
    Example:
        tubesensei channels list
        tubesensei channels list --json
    """
    from tubesensei.pipeline.channels import list_channels

    rows = database_call(app, list_channels)
    if as_json:
        print_json([row.as_dict() for row in rows])
        return
    if not rows:
        click.echo("no channels yet (add one: tubesensei channels add @handle)")
        return
    t = table()
    for name in ("channel", "id", "handle", "status", "videos", "transcripts", "unavailable",
                 "pending", "failed", "last discovered"):
        t.add_column(name, justify="right" if name in _COUNTS else "left", no_wrap=True,
                     overflow="ellipsis", max_width=30 if name == "channel" else None,
                     min_width=24 if name == "id" else None)
    for r in rows:
        t.add_row(plain(r.title), r.youtube_channel_id, plain(f"@{r.handle}" if r.handle else "-"),
                  r.status, number(r.videos), number(r.transcripts), number(r.unavailable),
                  number(r.pending), number(r.failed), when(r.last_discovered_at))
    console().print(t)


@channels_group.command(name="show")
@click.argument("ref")
@json_option
@pass_app
@translate_errors
def channels_show(app: AppContext, ref: str, as_json: bool) -> None:
    """Show one stored channel: metadata, counts, last scans.

    \b
    Example:
        tubesensei channels show @veritasium
    """
    from tubesensei.pipeline.channels import list_channels

    parsed = channel_ref(ref)
    summary = database_call(app, list_channels, parsed)[0]
    data = summary.as_dict()
    if as_json:
        print_json(data)
        return
    t = table(f"{summary.title} ({summary.youtube_channel_id})")
    t.add_column("field")
    t.add_column("value", overflow="fold")
    for key, value in data.items():
        if key == "description":
            value = (value or "").split("\n", 1)[0][:200]
        t.add_row(key, plain("-" if value is None or value == "" else value))
    console().print(t)


def _set_status(app: AppContext, ref: str, status: str, verb: str) -> None:
    from tubesensei.pipeline.channels import set_channel_status

    channel = database_call(app, set_channel_status, channel_ref(ref), status)
    click.echo(f"{verb}  {channel.title}  {channel.youtube_channel_id}")


@channels_group.command(name="pause")
@click.argument("ref")
@pass_app
@translate_errors
def channels_pause(app: AppContext, ref: str) -> None:
    """Pause a channel: periodic rescans skip it (its stored data stays).

    \b
    Example:
        tubesensei channels pause @veritasium
    """
    _set_status(app, ref, "paused", "paused")


@channels_group.command(name="resume")
@click.argument("ref")
@pass_app
@translate_errors
def channels_resume(app: AppContext, ref: str) -> None:
    """Resume a paused (or failed) channel: rescans include it again.

    \b
    Example:
        tubesensei channels resume @veritasium
    """
    _set_status(app, ref, "active", "resumed")


@channels_group.command(name="remove")
@click.argument("ref")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_app
@translate_errors
def channels_remove(app: AppContext, ref: str, yes: bool) -> None:
    """Delete a channel with all its videos, transcripts and search index entries.

    Asks first, showing what will go; without a terminal to ask on, --yes is required.

    \b
    Example:
        tubesensei channels remove @veritasium
        tubesensei channels remove UCHnyfMqiRRG1u-2MsSQLbXA --yes
    """
    from tubesensei.pipeline.channels import list_channels, remove_channel

    parsed = channel_ref(ref)
    if not yes:
        if not interactive():
            raise BadInput(f"not removing {parsed}: no terminal to confirm on (pass --yes)")
        summary = database_call(app, list_channels, parsed)[0]
        click.confirm(
            f"Remove {summary.title} ({summary.youtube_channel_id}) with its "
            f"{summary.videos:,} videos and {summary.transcripts:,} transcripts?",
            abort=True,
        )
    removed = database_call(app, remove_channel, parsed)
    click.echo(f"removed  {removed.title}  {removed.youtube_channel_id}  "
               f"({removed.videos:,} videos, {removed.transcripts:,} transcripts)")


# -- videos ---------------------------------------------------------------------------------


@click.group(name="videos")
def videos_group() -> None:
    """Videos discovered in the corpus."""


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@videos_group.command(name="list")
@click.option("--channel", "channel", metavar="REF", help="Only this stored channel.")
@click.option("--status", type=click.Choice(TRANSCRIPT_STATUSES), help="Transcript status.")
@click.option("--kind", type=click.Choice(VIDEO_KINDS), help="Video kind.")
@click.option("--limit", type=click.IntRange(min=1), help=f"At most N rows (table default "
              f"{TABLE_ROWS}; --json: all).")
@json_option
@pass_app
@translate_errors
def videos_list(app: AppContext, channel: str | None, status: str | None, kind: str | None,
                limit: int | None, as_json: bool) -> None:
    """List videos, newest first, with their transcript status.

    \b
    Example:
        tubesensei videos list --channel @veritasium --status unavailable
        tubesensei videos list --kind short --json
    """
    from tubesensei.pipeline.videos import list_videos

    ref = channel_ref(channel)
    shown = limit if (limit is not None or as_json) else TABLE_ROWS
    rows, total = database_call(app, list_videos, channel=ref, status=status, kind=kind,
                                limit=shown)
    if as_json:
        print_json([row.as_dict() for row in rows])
        return
    if not rows:
        click.echo("no videos match")
        return
    t = table()
    # Ids, dates and lengths keep their width; titles give way on narrow screens.
    fixed = {"published": 16, "video": 11, "length": 7}
    for name in ("published", "video", "title", "channel", "kind", "length", "transcript"):
        t.add_column(name, no_wrap=True, overflow="ellipsis", min_width=fixed.get(name),
                     max_width={"title": 50, "channel": 24}.get(name))
    for r in rows:
        transcript = r.transcript_status
        if r.unavailable_reason:
            transcript += f" ({r.unavailable_reason})"
        t.add_row(when(r.published_at), r.video_id, plain(r.title), plain(r.channel_title),
                  r.kind + (" (was live)" if r.was_live else ""), duration(r.duration_s),
                  transcript)
    console().print(t)
    showing(len(rows), total, "videos")


def register(cli: click.Group) -> None:
    """Add the corpus commands to the root group."""
    from tubesensei.commands.corpus_transcripts import transcripts_group

    cli.add_command(channels_group)
    cli.add_command(videos_group)
    cli.add_command(transcripts_group)
