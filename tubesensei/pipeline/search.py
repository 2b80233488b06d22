"""Full-text search over cleaned transcripts (SQLite FTS5 over ~30-second chunks).

Query language, deliberately small: words are ANDed, a "quoted string" is a phrase, a leading
``-`` excludes a word or phrase. Every term is passed to FTS5 as a quoted string, so no input
(NEAR, *, ^, column filters, unbalanced quotes or parentheses) can reach FTS5's own syntax.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from tubesensei.db.engine import Database

HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


class BadQuery(ValueError):
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


async def search(
    db: Database,
    query: str,
    *,
    channel_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 20,
) -> list[SearchHit]:
    """Ranked hits (best first) with the second each one starts at and a snippet."""
    match = build_match(query)
    where = ["transcript_chunks_fts MATCH :match"]
    params: dict[str, Any] = {"match": match}
    if channel_id:
        where.append("ch.youtube_channel_id = :channel_id")
        params["channel_id"] = channel_id
    if since:
        where.append("v.published_at >= :since")
        params["since"] = since.replace(tzinfo=None)
    if until:
        where.append("v.published_at < :until")
        params["until"] = until.replace(tzinfo=None)
    sql = f"""
        SELECT v.youtube_video_id, v.title, ch.youtube_channel_id, ch.title, v.published_at,
               c.start_s,
               snippet(transcript_chunks_fts, 0, '{HIGHLIGHT_START}', '{HIGHLIGHT_END}', '…', 16),
               bm25(transcript_chunks_fts) AS rank
        FROM transcript_chunks_fts
        JOIN transcript_chunks c ON c.id = transcript_chunks_fts.rowid
        JOIN transcripts t ON t.id = c.transcript_id
        JOIN videos v ON v.id = t.video_id
        JOIN channels ch ON ch.id = v.channel_id
        WHERE {' AND '.join(where)}
        ORDER BY rank
    """
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = int(limit)
    async with db.read() as s:
        rows = (await s.execute(text(sql), params)).all()
    return [
        SearchHit(
            video_id=r[0],
            title=r[1],
            channel_id=r[2],
            channel_title=r[3],
            published_at=_as_datetime(r[4]),
            start_s=float(r[5]),
            snippet=r[6],
            rank=float(r[7]),
        )
        for r in rows
    ]


def _as_datetime(value: Any) -> datetime | None:
    from datetime import UTC

    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
