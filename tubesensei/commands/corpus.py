"""Commands over the local corpus: channels and videos (transcripts: commands/transcripts.py).

Each command parses its arguments (bad input exits 2 before anything is opened or written),
calls one library function and prints a table, or JSON with ``--json``.
"""

from __future__ import annotations

from typing import Any

import click

from tubesensei.commands.common import (
    DASH_ARGS,
    AppContext,
    channel_ref,
    json_option,
    limit_option,
    lone_help,
    pass_app,
    shown_rows,
)
from tubesensei.commands.output import (
    console,
    hms,
    interactive,
    number,
    plain,
    print_json,
    showing,
    table,
    when,
)
from tubesensei.db.models import TRANSCRIPT_STATUSES, VIDEO_KINDS
from tubesensei.errors import BadInput, Failure

TABLE_ROWS = 50  # rows a table shows when --limit is not given


# -- channels -------------------------------------------------------------------------------


@click.group(name="channels")
def channels_group() -> None:
    """Channels in the corpus: add, sync, list, show, pause, resume, remove."""


@channels_group.command(name="add")
@click.argument("refs", nargs=-1, required=True)
@json_option
@pass_app
def channels_add(app: AppContext, refs: tuple[str, ...], as_json: bool) -> None:
    """Resolve channels through the YouTube Data API now and store them.

    REF is a UC… id, an @handle, or any channel or video URL. Adding a channel again (by
    handle, id or URL) refreshes it; it is stored once. Videos are found by discovery
    (`tubesensei enqueue channel REF`).

    Every reference is checked first (a malformed one: exit 2, nothing added). Network
    trouble and YouTube's 5xx answers are retried with the jobs' back-off (limits.max_attempts,
    limits.retry_base_seconds; at most a minute of waiting in all). Each reference gets a
    line: added, already there, not found, or failed after N attempts; exit 1 if any was not
    added.

    \b
    Example:
        tubesensei channels add @veritasium
        tubesensei channels add https://www.youtube.com/channel/UCHnyfMqiRRG1u-2MsSQLbXA
    """
    from tubesensei.jobs.policy import CommandRetry
    from tubesensei.pipeline.channels import add_channel
    from tubesensei.youtube.errors import ConfigurationError, Permanent, YouTubeError

    parsed = [channel_ref(r) for r in refs]  # every reference checked before any lookup
    runtime = app.runtime()
    pipeline = runtime.pipeline()
    retry = CommandRetry(runtime.settings.limits)
    rows: list[dict[str, Any]] = []
    for text, ref in zip(refs, parsed, strict=True):
        row: dict[str, Any] = {"ref": text, "outcome": "", "attempts": 0, "error": None,
                               "channel": None}
        try:
            added = add_channel(pipeline, ref, retry)
        except ConfigurationError:
            raise  # no key, a bad key: the same for every reference
        except YouTubeError as exc:
            row["outcome"] = "not_found" if isinstance(exc, Permanent) else "failed"
            row["error"] = exc.message
        else:
            row["outcome"] = "added" if added.created else "already_there"
            row["channel"] = _channel_fields(added.channel)
        row["attempts"] = retry.attempts
        rows.append(row)
        if not as_json:
            click.echo(_added_line(row))
    if as_json:
        print_json(rows)
    failed = [r for r in rows if r["error"] is not None]
    if failed:
        reasons = "; ".join(f"{r['ref']}: {_failure(r)}" for r in failed)
        what = "channel not added" if len(rows) == 1 else (
            f"{len(failed)} of {len(rows)} channels not added")
        raise Failure(f"{what}: {reasons}")


def _channel_fields(channel: Any) -> dict[str, Any]:
    return {"youtube_channel_id": channel.youtube_channel_id, "title": channel.title,
            "handle": channel.handle, "status": channel.status,
            "video_count": channel.video_count, "subscriber_count": channel.subscriber_count}


def _failure(row: dict[str, Any]) -> str:
    if row["outcome"] == "failed":
        tries = row["attempts"]
        return f"failed after {tries} attempt{'s' if tries != 1 else ''}: {row['error']}"
    return row["error"]


def _added_line(row: dict[str, Any]) -> str:
    ch = row["channel"]
    if ch is None:
        word = "not found" if row["outcome"] == "not_found" else "failed"
        return f"{word:<13}  {row['ref']}  {_failure(row)}"
    handle = f"@{ch['handle']}" if ch["handle"] else "(no handle)"
    word = "added" if row["outcome"] == "added" else "already there"
    return (f"{word:<13}  {ch['title']}  {ch['youtube_channel_id']}  {handle}  "
            f"{number(ch['video_count'])} videos, {number(ch['subscriber_count'])} subscribers")


@channels_group.command(name="sync")
@click.argument("refs", nargs=-1)
@json_option
@pass_app
def channels_sync(app: AppContext, refs: tuple[str, ...], as_json: bool) -> None:
    """Refresh stored channels' titles, handles, descriptions and counts from YouTube now.

    Without REF, every stored channel (paused ones too; the daily `schedule.sync` skips
    those). One Data API call (1 unit) per 50 channels. A channel YouTube no longer returns
    (closed or removed) is marked `error` with the reason, never deleted, and rescans skip it;
    an `error` channel YouTube returns again is active again (a paused one stays paused).
    Transient failures are retried as by `channels add`.

    \b
    Example:
        tubesensei channels sync
        tubesensei channels sync @veritasium --json
    """
    from tubesensei.jobs.policy import CommandRetry
    from tubesensei.pipeline.channels import sync_channels
    from tubesensei.queries.corpus import get_channel, stored_channel_ids
    from tubesensei.youtube.errors import Transient

    parsed = [channel_ref(r) for r in refs]  # bad input is refused before anything is opened
    runtime = app.runtime()
    db = runtime.database()

    def chosen(s: Any) -> list[str]:  # every reference must name a stored channel
        ids = [get_channel(s, ref).youtube_channel_id for ref in parsed]
        return list(dict.fromkeys(ids)) if parsed else stored_channel_ids(s)

    ids = db.query(chosen)
    if not ids:
        if as_json:
            print_json([])
        else:
            click.echo("no channels yet (add one: tubesensei channels add @handle)")
        return
    done: list[dict[str, Any]] = []

    def show(result: Any) -> None:
        done.append(result.as_dict())
        if not as_json:
            click.echo(_sync_line(result))

    retry = CommandRetry(runtime.settings.limits)
    try:
        sync_channels(runtime.pipeline(), ids, retry=retry, on_result=show)
    except Transient as exc:  # what was synced before stays synced
        raise Failure(f"sync stopped after {retry.attempts} attempts: {exc.message} "
                      f"({len(done)} of {len(ids)} channels synced)") from None
    finally:
        if as_json:
            print_json(done)


_SYNC_WORDS = {"updated": "updated", "unchanged": "unchanged", "not_found": "not found"}
# Changes shown as "x changed" (long or unreadable values).
_BRIEF = {"description": "description", "thumbnail_url": "thumbnail",
          "uploads_playlist_id": "uploads playlist"}
_COUNT_NAMES = {"subscriber_count": "subscribers", "video_count": "videos",
                "view_count": "views"}


def _sync_line(result: Any) -> str:
    head = f"{_SYNC_WORDS[result.outcome]:<9}  {result.title}  {result.youtube_channel_id}"
    if result.outcome == "not_found":
        verb = "marked error" if result.status == "error" else f"stays {result.status}"
        return f"{head}  not found on YouTube: {verb} ({result.last_error})"
    said = []
    for name, (old, new) in result.changes.items():
        if name == "status":
            said.append(f"back on YouTube: {old} -> {new}")
        elif name in _BRIEF:
            said.append(f"{_BRIEF[name]} changed")
        elif name in _COUNT_NAMES:
            said.append(f"{_COUNT_NAMES[name]} {number(old)} -> {number(new)}")
        elif name == "handle":
            said.append(f"handle {'@' + old if old else '-'} -> {'@' + new if new else '-'}")
        else:
            said.append(f"{name} {old!r} -> {new!r}")
    return f"{head}  {'; '.join(said)}" if said else head


_COUNTS = ("videos", "transcripts", "unavailable", "pending", "failed")  # right-aligned


@channels_group.command(name="list")
@json_option
@pass_app
def channels_list(app: AppContext, as_json: bool) -> None:
    """List the channels with videos discovered, transcripts stored and missing.

    \b
    Example:
        tubesensei channels list
        tubesensei channels list --json
    """
    from tubesensei.queries.corpus import list_channels

    rows = app.reader().query(list_channels)
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
def channels_show(app: AppContext, ref: str, as_json: bool) -> None:
    """Show one stored channel: metadata, counts, last scans.

    \b
    Example:
        tubesensei channels show @veritasium
    """
    from tubesensei.queries.corpus import list_channels

    parsed = channel_ref(ref)  # bad input is refused before anything is opened
    summary = app.reader().query(list_channels, parsed)[0]
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

    parsed = channel_ref(ref)  # bad input is refused before anything is opened
    channel = set_channel_status(app.runtime().database(), parsed, status)
    click.echo(f"{verb}  {channel.title}  {channel.youtube_channel_id}")


@channels_group.command(name="pause")
@click.argument("ref")
@pass_app
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
def channels_remove(app: AppContext, ref: str, yes: bool) -> None:
    """Delete a channel with all its videos, transcripts and search index entries.

    Asks first, showing what will go; without a terminal to ask on, --yes is required.

    \b
    Example:
        tubesensei channels remove @veritasium
        tubesensei channels remove UCHnyfMqiRRG1u-2MsSQLbXA --yes
    """
    from tubesensei.pipeline.channels import remove_channel
    from tubesensei.queries.corpus import list_channels

    parsed = channel_ref(ref)
    if not yes and not interactive():
        raise BadInput(f"not removing {parsed}: no terminal to confirm on (pass --yes)")
    db = app.runtime().database()
    if not yes:
        summary = db.query(list_channels, parsed)[0]
        click.confirm(
            f"Remove {summary.title} ({summary.youtube_channel_id}) with its "
            f"{summary.videos:,} videos and {summary.transcripts:,} transcripts?",
            abort=True,
        )
    removed = remove_channel(db, parsed)
    click.echo(f"removed  {removed.title}  {removed.youtube_channel_id}  "
               f"({removed.videos:,} videos, {removed.transcripts:,} transcripts)")


# -- videos ---------------------------------------------------------------------------------


@click.group(name="videos")
def videos_group() -> None:
    """Videos discovered in the corpus."""


@videos_group.command(name="list")
@click.option("--channel", "channel", metavar="REF", help="Only this stored channel.")
@click.option("--status", type=click.Choice(TRANSCRIPT_STATUSES), help="Transcript status.")
@click.option("--kind", type=click.Choice(VIDEO_KINDS), help="Video kind.")
@click.option("--removed/--listed", "removed", default=None,
              help="Only videos YouTube no longer lists (deleted or made private; kept with "
                   "their transcripts), or only those it does. Default: both.")
@limit_option(TABLE_ROWS)
@json_option
@pass_app
def videos_list(app: AppContext, channel: str | None, status: str | None, kind: str | None,
                removed: bool | None, limit: int | None, as_json: bool) -> None:
    """List videos, newest first, with their transcript status.

    A video YouTube no longer lists (found by a scan) shows "removed (gone)" or
    "removed (private)" beside its status; it is never deleted from the corpus.

    \b
    Example:
        tubesensei videos list --channel @veritasium --status unavailable
        tubesensei videos list --kind short --json
        tubesensei videos list --removed
    """
    from tubesensei.queries.corpus import list_videos

    ref = channel_ref(channel)
    rows, total = app.reader().query(
        list_videos, channel=ref, status=status, kind=kind, removed=removed,
        limit=shown_rows(limit, as_json, TABLE_ROWS))
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
        if r.missing_reason:
            transcript += f" · removed ({r.missing_reason})"
        t.add_row(when(r.published_at), r.video_id, plain(r.title), plain(r.channel_title),
                  r.kind + (" (was live)" if r.was_live else ""), hms(r.duration_s),
                  transcript)
    console().print(t)
    showing(len(rows), total, "videos")


def _offered(detail: Any) -> str:
    """The tracks YouTube listed at the last fetch, one per line."""
    tracks = detail.available_languages
    if tracks is None:
        return (f"not listed yet (ask YouTube now: tubesensei transcripts languages "
                f"{detail.video_id})")
    if not tracks:
        return f"none: captions are disabled (as of {when(detail.languages_checked_at)})"
    lines = []
    for t in tracks:
        extras = ["generated" if t.get("is_generated") else "manual"]
        if t.get("is_translatable"):
            extras.append("translatable")
        lines.append(f"{t.get('language_code')}  {t.get('language')}: {', '.join(extras)}")
    return "\n".join(lines) + f"\n(as of {when(detail.languages_checked_at)})"


def _stored(detail: Any) -> str:
    if not detail.transcripts:
        return "none"
    lines = []
    for t in detail.transcripts:
        kind = "generated" if t.is_generated else "manual"
        if t.translated_from:
            kind += f", translated from {t.translated_from}"
        if t.chosen_by:  # the rule of the transcript choice that picked it
            kind += f", chosen: {t.chosen_by}"
        lines.append(f"{t.language_code}  {t.language} ({kind}): {t.segments:,} segments, "
                     f"{t.words:,} words, fetched {when(t.fetched_at)}")
    return "\n".join(lines)


def _presence(detail: Any) -> str:
    if detail.missing_reason is None:
        return "listed"
    how = ("made private" if detail.missing_reason == "private"
           else "gone (deleted, or no longer listed)")
    return f"removed: {how}, found by a scan {when(detail.missing_since)} (kept here)"


def _print_video(detail: Any) -> None:
    handle = f"@{detail.channel_handle}, " if detail.channel_handle else ""
    click.echo(f"{detail.title}\n{detail.link} · {detail.channel_title} "
               f"({handle}{detail.channel_id})\n")
    status = detail.transcript_status
    if detail.unavailable_reason:
        status += f" ({detail.unavailable_reason})"
    kind = detail.kind + (" (was live)" if detail.was_live else "")
    rows: list[tuple[str, Any]] = [
        ("kind", kind),
        ("published", when(detail.published_at)),
        ("scheduled", when(detail.scheduled_start_at) if detail.scheduled_start_at else None),
        ("duration", hms(detail.duration_s)),
        ("views", f"{number(detail.view_count)} (likes {number(detail.like_count)}, "
                  f"comments {number(detail.comment_count)})"),
        ("discovered", when(detail.discovered_at)),
        ("on youtube", _presence(detail)),
        ("transcript", status),
        ("why", detail.transcript_error),
        ("stored", _stored(detail)),
        ("youtube offers", _offered(detail)),
    ]
    t = table()
    t.add_column("field", no_wrap=True)
    t.add_column("value", overflow="fold")
    for name, value in rows:
        if value is not None:
            t.add_row(name, plain(value))
    console().print(t)
    if not detail.jobs:
        click.echo("no jobs for this video")
        return
    jobs = table("jobs")
    for name in ("job", "type", "status", "attempts", "created", "finished", "outcome or error"):
        jobs.add_column(name, no_wrap=name != "outcome or error", overflow="fold",
                        justify="right" if name == "job" else "left")
    for j in detail.jobs:
        said = f"{j.error_class}: {j.error}" if j.error_class and j.error else j.error
        if j.status == "retrying" and j.next_retry_at is not None:
            said = f"(next try {when(j.next_retry_at)}) {said or ''}".strip()
        if j.status == "completed":
            said = j.outcome
        jobs.add_row(str(j.id), j.job_type, j.status, f"{j.attempts}/{j.max_attempts}",
                     when(j.created_at), when(j.finished_at), plain(said or ""))
    console().print(jobs)


@videos_group.command(name="show", context_settings=DASH_ARGS)
@click.argument("video")
@json_option
@pass_app
def videos_show(app: AppContext, video: str, as_json: bool) -> None:
    """Show one stored video: metadata, transcript status or why there is none, the
    transcript stored, the languages YouTube offered at the last fetch, and its jobs.

    VIDEO is an 11-character id or any video URL.

    \b
    Example:
        tubesensei videos show dQw4w9WgXcQ
        tubesensei videos show https://youtu.be/dQw4w9WgXcQ --json
    """
    from tubesensei.queries.corpus import video_detail
    from tubesensei.youtube.ids import parse_video_id

    if lone_help(video):
        return
    video_id = parse_video_id(video)  # bad input is refused before anything is opened
    detail = app.reader().query(video_detail, video_id)
    if as_json:
        print_json(detail.as_dict())
        return
    _print_video(detail)
