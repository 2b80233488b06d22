"""Transcript commands: show, languages, search, export, reclean."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
    plain,
    print_json,
    showing,
    silence_stdout,
    table,
)
from tubesensei.errors import BadInput, Failure

SEARCH_ROWS = 20  # hits a table shows when --limit is not given
DATE = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])


@click.group(name="transcripts")
def transcripts_group() -> None:
    """Transcripts: show, search, export, re-clean the stored ones; list a video's on YouTube."""


@transcripts_group.command(name="show", context_settings=DASH_ARGS)
@click.argument("video")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "srt", "vtt"]),
              default="text", show_default=True, help="Output format.")
@click.option("--language", metavar="CODE", help="Language code (default: the stored one).")
@pass_app
def transcripts_show(app: AppContext, video: str, fmt: str, language: str | None) -> None:
    """Print a video's cleaned transcript (text with a timestamp per paragraph, JSON with
    segments, or SRT/VTT subtitles). A video without one says why and exits 1.

    VIDEO is an 11-character id or any video URL.

    \b
    Example:
        tubesensei transcripts show https://youtu.be/dQw4w9WgXcQ
        tubesensei transcripts show dQw4w9WgXcQ --format srt > talk.srt
    """
    from tubesensei.pipeline.export import to_srt, to_vtt
    from tubesensei.queries.transcripts import show_transcript
    from tubesensei.youtube.ids import parse_video_id

    if lone_help(video):
        return
    video_id = parse_video_id(video)
    transcript = app.reader().query(show_transcript, video_id, language)
    if fmt == "json":
        print_json(transcript.as_dict())
    elif fmt == "srt":
        click.echo(to_srt(transcript.segments), nl=False)
    elif fmt == "vtt":
        click.echo(to_vtt(transcript.segments), nl=False)
    else:
        kind = "auto-generated" if transcript.is_generated else "manual"
        about = transcript.language_code if kind in transcript.language else (
            f"{transcript.language_code}, {kind}")  # "English (auto-generated)" says it
        if transcript.chosen_by:  # the rule of the transcript choice that picked it
            about += f", chosen: {transcript.chosen_by}"
        try:
            click.echo(f"{transcript.title}\n{transcript.channel_title} · "
                       f"https://youtu.be/{transcript.video_id} · {transcript.language} "
                       f"({about}) · {transcript.word_count:,} words\n")
            for start, paragraph in transcript.paragraphs():
                click.echo(f"[{hms(start)}] {paragraph}\n")
        except BrokenPipeError:  # `... | head`: the reader has gone, which is fine
            silence_stdout()


@transcripts_group.command(name="languages", context_settings=DASH_ARGS)
@click.argument("video")
@json_option
@pass_app
def transcripts_languages(app: AppContext, video: str, as_json: bool) -> None:
    """Ask YouTube now which transcripts a video has: language, manual or auto-generated,
    translatable (like youtube_transcript_api --list-transcripts), and which one your
    transcripts.languages would store. Nothing is stored; the video need not be in the
    corpus. Captions disabled or the video unavailable: one line, exit 1.

    VIDEO is an 11-character id or any video URL.

    \b
    Example:
        tubesensei transcripts languages dQw4w9WgXcQ
        tubesensei transcripts languages https://youtu.be/dQw4w9WgXcQ --json
    """
    from tubesensei.pipeline.transcripts import offered_tracks
    from tubesensei.youtube.ids import parse_video_id
    from tubesensei.youtube.transcripts import choose

    if lone_help(video):
        return
    video_id = parse_video_id(video)  # bad input is refused before anything is asked
    settings = app.runtime().settings
    tracks = offered_tracks(settings, video_id)
    if as_json:
        print_json([t.as_dict() for t in tracks])
        return
    t = table(f"Transcripts YouTube lists for {video_id}")
    for name in ("code", "language", "kind", "translatable"):
        t.add_column(name, no_wrap=True)
    for track in tracks:
        t.add_row(plain(track.language_code), plain(track.language), track.kind,
                  "yes" if track.is_translatable else "no")
    console().print(t)
    wanted = list(settings.transcripts.languages)
    chosen = choose(tracks, wanted)
    setting = f"transcripts.languages = {json.dumps(wanted)}"
    if chosen is not None:
        best, rule = chosen
        click.echo(f"{setting}: stores {best.language_code} ({best.kind}), chosen: {rule}")
    elif settings.transcripts.allow_translation and any(x.is_translatable for x in tracks):
        click.echo(f"{setting}: none listed; stores a translation "
                   f"to {wanted[0]} if YouTube offers one (allow_translation)")
    else:
        click.echo(f"{setting}: none listed; a fetch ends "
                   "unavailable (no_transcript_in_language)")


def _highlighted(hit: Any) -> Any:
    """The snippet with its matches in bold: markers become styles, nothing becomes markup."""
    from rich.text import Text

    from tubesensei.queries.search import HIGHLIGHT_END, HIGHLIGHT_START

    out = Text()
    bold = False
    for part in hit.snippet.replace(HIGHLIGHT_END, HIGHLIGHT_START).split(HIGHLIGHT_START):
        out.append(part, style="bold yellow" if bold else None)
        bold = not bold
    return out


# "-word" excludes a word: query text, not options ("-hot" too: DASH_ARGS).
@transcripts_group.command(name="search", context_settings=DASH_ARGS)
@click.argument("words", nargs=-1, required=True)
@click.option("--channel", "channel", metavar="REF", help="Only this stored channel.")
@click.option("--since", type=DATE, help="Videos published on or after DATE (YYYY-MM-DD, UTC).")
@click.option("--until", type=DATE, help="Videos published on or before DATE (whole day).")
@limit_option(SEARCH_ROWS)
@json_option
@pass_app
def transcripts_search(app: AppContext, words: tuple[str, ...], channel: str | None,
                       since: datetime | None, until: datetime | None, limit: int | None,
                       as_json: bool) -> None:
    """Full-text search of the cleaned transcripts, best matches first.

    Words are ANDed; a "quoted string" is a phrase; -word excludes a word (a query that is
    only exclusions, or leaves a quote open, is refused). Each hit is a passage of about 30
    seconds with a link to the second it starts at.

    \b
    Example:
        tubesensei transcripts search 'dark matter' --channel @veritasium
        tubesensei transcripts search '"standard model"' -higgs --since 2024-01-01 --json
    """
    from tubesensei.queries.search import parse_query, search_page

    if lone_help(words):
        return
    for word in words:  # a mistyped option is not a query word
        if word.startswith("--") and word[2:3].isalpha():
            raise BadInput(f"no such option: {word.split('=', 1)[0]} "
                           "(see 'tubesensei transcripts search --help')")
    query = " ".join(words)
    parse_query(query)  # an unparseable query is bad input: refuse before opening anything
    ref = channel_ref(channel)
    start = since.replace(tzinfo=UTC) if since else None
    # A bare date means the whole day; a time means that instant.
    end = until.replace(tzinfo=UTC) if until else None
    if end is not None and end.time() == datetime.min.time():
        end += timedelta(days=1)
    hits, total = app.reader().query(
        search_page, query, channel=ref, since=start, until=end,
        limit=shown_rows(limit, as_json, SEARCH_ROWS), with_total=not as_json)
    if as_json:
        print_json([hit.as_dict() for hit in hits])
        return
    if not hits:
        click.echo("no matches")
        return
    t = table()
    for name in ("video", "channel", "at", "passage", "link"):
        passage = name == "passage"
        t.add_column(name, no_wrap=not passage, overflow="ellipsis", ratio=1 if passage else None,
                     max_width=20 if name == "channel" else None,
                     min_width={"video": 11, "at": 7, "link": 34}.get(name))
    for hit in hits:
        t.add_row(hit.video_id, plain(hit.channel_title), hms(hit.start_s), _highlighted(hit),
                  hit.link)
    console().print(t)
    if total.capped:  # counting stops at the cap: say so rather than print a wrong number
        click.echo(f"showing {len(hits)} of {total.text()} matching passages "
                   "(use --limit N or --json for more)")
    else:
        showing(len(hits), total, "matching passages")


class _Progress:
    """Export progress on stderr, only when stderr is a terminal (never mixed into data)."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, report: Any) -> None:
        if self.enabled and report.videos % 50 == 0:
            click.echo(f"\rexported {report.videos:,} transcripts", nl=False, err=True)

    def done(self, report: Any, where: Path) -> None:
        if self.enabled:
            click.echo("\r", nl=False, err=True)
        click.echo(f"exported {report.videos:,} transcripts ({report.files:,} files, "
                   f"{report.bytes / 1e6:.1f} MB) to {where}", err=True)


def _stdout_utf8() -> io.TextIOWrapper | Any:
    """JSONL is UTF-8 whatever the terminal's encoding says."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        return sys.stdout
    sys.stdout.flush()
    return io.TextIOWrapper(buffer, encoding="utf-8", newline="\n", write_through=True)


@transcripts_group.command(name="export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "txt", "srt", "vtt"]),
              help="jsonl: one transcript per line; txt/srt/vtt: one file each (required).")
@click.option("--channel", "channels", metavar="REF", multiple=True,
              help="Only these stored channels (repeatable).")
@click.option("--since", type=DATE, help="Videos published on or after DATE (UTC).")
@click.option("--changed-since", type=DATE,
              help="Transcripts stored on or after DATE (UTC): incremental exports.")
@click.option("--language", "languages", metavar="CODE", multiple=True,
              help="Only transcripts in this language (repeatable; en takes en-US too).")
@click.option("--out", type=click.Path(path_type=Path, allow_dash=True),
              help="jsonl: a file or folder (default, or '-': stdout); txt/srt/vtt: a folder "
                   "(required).")
@click.option("--name", "name", metavar="TEMPLATE",
              help="txt/srt/vtt: file path under --out, from {id} {title} {channel_id} "
                   "{channel_handle} {channel_title} {published:%Y-%m-%d} {language} {kind} "
                   "(default {channel_id}/{id}).")
@click.option("--chunks", type=click.FloatRange(min=5, max=3600), metavar="SECONDS",
              help="jsonl: one object per passage of about SECONDS (start, end, link) "
                   "instead of one per video.")
@click.option("--include-removed", is_flag=True,
              help="Also videos YouTube no longer lists (deleted or made private since they "
                   "were stored); left out by default.")
@click.option("--in-place", is_flag=True,
              help="jsonl: write into an existing --out that is a symbolic link, device or "
                   "FIFO as it is (refused otherwise).")
@pass_app
def transcripts_export(app: AppContext, fmt: str | None, channels: tuple[str, ...],
                       since: datetime | None, changed_since: datetime | None,
                       languages: tuple[str, ...], out: Path | None, name: str | None,
                       chunks: float | None, include_removed: bool, in_place: bool) -> None:
    """Export stored transcripts: JSONL for the AI phase, or txt/srt/vtt per video.

    Files go to <out>/<channel id>/<video id>.<ext> (a language suffix when not English), or
    where --name puts them. A file is written beside its name and renamed when complete; an
    --out that is a symbolic link, a device or a FIFO is refused unless --in-place. Streams
    from the database: memory stays flat whatever the corpus size. JSONL's keys are listed
    in docs/export.md.

    \b
    Example:
        tubesensei transcripts export --format jsonl > corpus.jsonl
        tubesensei transcripts export --format jsonl --chunks 60 --out passages.jsonl
        tubesensei transcripts export --format jsonl --changed-since 2026-11-01 > new.jsonl
        tubesensei transcripts export --format srt --channel @veritasium --out subtitles/ \\
            --name '{channel_handle}/{published:%Y-%m-%d}-{title}-{id}'
    """
    from tubesensei.pipeline.export import (
        NameTemplate,
        check_target,
        export_files,
        export_jsonl_file,
        export_stream,
    )
    from tubesensei.queries.transcripts import ExportFilter

    if fmt is None:  # checked here: click's own message lists the choices on four lines
        raise BadInput("missing option '--format': jsonl, txt, srt or vtt")
    refs = [channel_ref(c) for c in channels]
    if out is not None and str(out) == "-":
        out = None
    if fmt != "jsonl" and out is None:
        raise BadInput(f"--format {fmt} writes one file per video: give --out FOLDER")
    if chunks is not None and fmt != "jsonl":
        raise BadInput("--chunks: only with --format jsonl")
    if name is not None and fmt == "jsonl":
        raise BadInput("--name: only with --format txt, srt or vtt (one file per video)")
    template = NameTemplate(name) if name is not None else None
    codes = tuple(_language_code(code) for code in languages)
    where = ExportFilter(
        published_since=since.replace(tzinfo=UTC) if since else None,
        changed_since=changed_since.replace(tzinfo=UTC) if changed_since else None,
        languages=codes,
        include_removed=include_removed,
    )
    if out is not None:
        check_target(out, fmt, in_place=in_place)  # type: ignore[arg-type]
    db = app.reader()
    if out is None:
        _export_to_stdout(lambda stream: export_stream(db, "jsonl", stream, where,
                                                       chunks=chunks, channels=refs))
        return
    progress = _Progress()
    if fmt == "jsonl" and not (out.is_dir() and not out.is_symlink()):
        report = export_jsonl_file(db, out, where, in_place=in_place, chunks=chunks,
                                   channels=refs)
    else:
        report = export_files(db, fmt, out, where, progress=progress,  # type: ignore[arg-type]
                              name=template, chunks=chunks, channels=refs)
    progress.done(report, out)


def _language_code(code: str) -> str:
    """A language code as YouTube writes them (en, pt-BR, zh-Hans): BadInput otherwise."""
    import re

    code = code.strip()
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", code):
        raise BadInput(f"--language {code!r}: not a language code (en, de, pt-BR, zh-Hans)")
    return code


def _export_to_stdout(write: Any) -> None:
    """JSONL on stdout: a reader that goes away (`| head`) is fine; a full disk or an I/O
    error behind a redirect is a failure, exit 1."""
    stream = _stdout_utf8()
    try:
        write(stream)
        stream.flush()
    except BrokenPipeError:  # `... | head`: the reader has gone, which is fine
        silence_stdout()
    except OSError as exc:
        silence_stdout()
        raise Failure(f"cannot write to standard output: {exc.strerror or exc}") from None
    finally:
        if stream is not sys.stdout and not stream.closed:
            stream.detach()


@transcripts_group.command(name="reclean")
@click.option("--all", "everything", is_flag=True,
              help="Re-clean every transcript, not only those cleaned by an older version.")
@pass_app
def transcripts_reclean(app: AppContext, everything: bool) -> None:
    """Clean stored transcripts again from their raw segments (after cleaning improved).

    The search index follows. Nothing is fetched from YouTube.

    \b
    Example:
        tubesensei transcripts reclean
        tubesensei transcripts reclean --all
    """
    from tubesensei.pipeline.transcripts import reclean

    report = reclean(app.runtime().database(), everything=everything)
    click.echo(f"re-cleaned {report.transcripts:,} transcripts, {report.changed:,} changed")

