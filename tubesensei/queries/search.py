"""Full-text search over cleaned transcripts (SQLite FTS5 over ~30-second chunks).

Query language, deliberately small: words are ANDed, a "quoted string" is a phrase, a leading
``-`` excludes a word or phrase. Every term is passed to FTS5 as a quoted string, so no input
(NEAR, *, ^, column filters, unbalanced quotes or parentheses) can reach FTS5's own syntax.

Ranking is FTS5's bm25 over every matching chunk: exact, and its cost grows with the number
of matches (FTS5 has no top-k shortcut). benchmarks/queries measures it: a word in one chunk
in seven of a 300k-chunk corpus takes ~30 ms, a word in nearly every chunk ~200 ms.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from tubesensei.db.models import UTCDateTime
from tubesensei.errors import BadInput
from tubesensei.queries.corpus import channel_pk as stored_channel_pk
from tubesensei.youtube.ids import ChannelRef

HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


class BadQuery(BadInput, ValueError):
    """A search query with nothing to search for (one-line message)."""


@dataclass(frozen=True)
class SearchHit:
    video_id: str
    title: str
    channel_id: str
    channel_title: str
    published_at: datetime | None
    start_s: float
    snippet: str
    rank: float

    @property
    def link(self) -> str:
        return f"https://youtu.be/{self.video_id}?t={int(self.start_s)}"

    def plain_snippet(self, start: str = "", end: str = "") -> str:
        return self.snippet.replace(HIGHLIGHT_START, start).replace(HIGHLIGHT_END, end)

    def as_dict(self) -> dict[str, Any]:
        return {
            "video_id": self.video_id,
            "title": self.title,
            "channel_id": self.channel_id,
            "channel": self.channel_title,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "start_seconds": int(self.start_s),
            "snippet": self.plain_snippet("[", "]"),
            "link": self.link,
            "rank": self.rank,
        }


def _has_token_chars(term: str) -> bool:
    """Whether FTS5's unicode61 tokenizer finds a token in ``term``: its token characters
    are letters, numbers and private-use characters (not ``_``, which ``\\w`` would accept)."""
    return any(unicodedata.category(ch)[0] in "LN" or unicodedata.category(ch) == "Co"
               for ch in term)


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def build_match(query: str) -> str:
    """Translate a user query into a safe FTS5 MATCH expression."""
    include: list[str] = []
    exclude: list[str] = []
    # FTS5 reads its query as a C string: a NUL would end it inside a quoted term.
    query = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in query)
    for m in _TOKEN.finditer(query):
        negated, phrase, word = m.group(1), m.group(2), m.group(3)
        if phrase is None:
            negated = "-" if word.startswith("-") and len(word) > 1 else ""
            phrase = word[1:] if negated else word
        if not _has_token_chars(phrase):
            continue  # nothing the tokenizer would index: FTS5 would match no row at all
        (exclude if negated else include).append(_quote(phrase.strip()))
    if not include:
        raise BadQuery("the query has no words to search for")
    expr = " AND ".join(include)
    for term in exclude:
        expr += f" NOT {term}"
    return expr


# A filtered search tests each match's chunk against the transcripts that pass the filters:
# one lookup per match (the chunk) plus an in-memory set, instead of three (chunk,
# transcript, video), which halves the time of a channel filter on a common word.
_JOIN_CHUNK = "JOIN transcript_chunks c ON c.id = transcript_chunks_fts.rowid"


def _filters(
    channel_pk: int | None, since: datetime | None, until: datetime | None
) -> tuple[str, dict[str, Any]]:
    """The WHERE term that keeps matches of the filtered videos (empty when none filter)."""
    terms, params = [], {}
    if channel_pk is not None:
        terms.append("v.channel_id = :channel_pk")
        params["channel_pk"] = channel_pk
    if since is not None:
        terms.append("v.published_at >= :since")
        params["since"] = since
    if until is not None:
        terms.append("v.published_at < :until")
        params["until"] = until
    if not terms:
        return "", params
    return (
        " AND c.transcript_id IN (SELECT t.id FROM videos v JOIN transcripts t "
        f"ON t.video_id = v.id WHERE {' AND '.join(terms)})"
    ), params


def _statement(sql: str, params: dict[str, Any]) -> Any:
    stmt = text(sql)
    for name in ("since", "until"):  # stored as naive UTC: bind through the column's type
        if name in params:
            stmt = stmt.bindparams(bindparam(name, type_=UTCDateTime()))
    return stmt


def _ranked_sql(filtered: str, limit: int | None) -> str:
    """Matching chunks, best first: (chunk id, score, snippet).

    FTS5 scores every matching chunk whatever happens next, so the work that can wait
    waits: unfiltered, this touches the FTS table alone (joining videos and channels to
    every match before sorting costs 3-4 times as much on a common word); a channel or date
    filter has to look each match up to test it. It must stay a top-level SELECT:
    SQLite then evaluates snippet() only for the rows that leave the sorter, whereas inside
    a subquery it runs for every match (ten times slower on a common word).
    """
    source = f"transcript_chunks_fts {_JOIN_CHUNK}" if filtered else "transcript_chunks_fts"
    return f"""
        SELECT transcript_chunks_fts.rowid AS id, bm25(transcript_chunks_fts) AS score,
               snippet(transcript_chunks_fts, 0, '{HIGHLIGHT_START}', '{HIGHLIGHT_END}', '…', 16)
        FROM {source} WHERE transcript_chunks_fts MATCH :match{filtered}
        ORDER BY score, id {"LIMIT :limit" if limit is not None else ""}"""


_CHUNK_CONTEXT = text("""
    SELECT c.id, c.start_s, v.youtube_video_id, v.title, v.published_at,
           ch.youtube_channel_id, ch.title
    FROM transcript_chunks c
    JOIN transcripts t ON t.id = c.transcript_id
    JOIN videos v ON v.id = t.video_id
    JOIN channels ch ON ch.id = v.channel_id
    WHERE c.id IN :ids
""").bindparams(bindparam("ids", expanding=True))
_CONTEXT_BATCH = 500


def search_page(
    s: Session,
    query: str,
    *,
    channel: ChannelRef | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 20,
    with_total: bool = True,
) -> tuple[list[SearchHit], int]:
    """Ranked hits (best first) and how many chunks match in all (for "showing N of M").

    ``channel`` (any reference) must name a stored channel (ChannelNotInCorpus otherwise);
    ``since`` is inclusive, ``until`` exclusive, both on the video's publication time.
    Raises BadQuery when the query has no words.
    """
    match = build_match(query)
    filtered, params = _filters(stored_channel_pk(s, channel), _utc(since), _utc(until))
    params["match"] = match
    if limit is not None:
        params["limit"] = int(limit)
    ranked = s.execute(_statement(_ranked_sql(filtered, limit), params), params).all()
    total = len(ranked)
    if with_total and limit is not None and total >= limit:
        join = _JOIN_CHUNK if filtered else ""
        count_sql = (f"SELECT count(*) FROM transcript_chunks_fts {join} "
                     f"WHERE transcript_chunks_fts MATCH :match{filtered}")
        count_params = {k: v for k, v in params.items() if k != "limit"}
        total = s.execute(_statement(count_sql, count_params), count_params).scalar_one()
    context: dict[int, Any] = {}
    for start in range(0, len(ranked), _CONTEXT_BATCH):
        ids = [row[0] for row in ranked[start:start + _CONTEXT_BATCH]]
        for row in s.execute(_CHUNK_CONTEXT, {"ids": ids}).all():
            context[row[0]] = row
    hits = []
    for chunk_id, score, snippet in ranked:
        _, start_s, video_id, title, published_at, channel_yt_id, channel_title = context[chunk_id]
        hits.append(SearchHit(
            video_id=video_id,
            title=title,
            channel_id=channel_yt_id,
            channel_title=channel_title,
            published_at=_as_datetime(published_at),
            start_s=float(start_s),
            snippet=snippet,
            rank=float(score),
        ))
    return hits, total


def search(
    s: Session,
    query: str,
    *,
    channel: ChannelRef | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 20,
) -> list[SearchHit]:
    """Ranked hits (best first) with the second each one starts at and a snippet."""
    hits, _ = search_page(s, query, channel=channel, since=since, until=until, limit=limit,
                          with_total=False)
    return hits


def _utc(value: datetime | None) -> datetime | None:
    """Aware as given; a naive datetime is read as UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
