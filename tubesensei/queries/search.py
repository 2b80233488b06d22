"""Full-text search over cleaned transcripts, in ~30-second passages (transcript_chunks).

Query language, deliberately small: words are ANDed, a "quoted string" is a phrase, a leading
``-`` excludes a word or phrase. A query with an unbalanced double quote, only exclusions or
no word at all is refused (BadQuery) rather than searched for nothing. The same parsed terms
go to either database, always as bound values, so no input (NEAR, *, ^, &, !, column
filters, parentheses) can reach the engine's own query syntax:

- SQLite: FTS5 (tokenizer 'porter unicode61 remove_diacritics 2'), every term a quoted FTS5
  string; ranked by bm25.
- PostgreSQL: the ``tubesensei`` text search configuration (migration 0005: lower case,
  accents removed, the Porter stemmer, no stop words: FTS5's behaviour), every term through
  ``phraseto_tsquery``; ranked by ``ts_rank_cd``, negated so that lower is better on both.

Results have one shape on both: the passage's video, channel, start second, a snippet with
the matches between HIGHLIGHT_START/END, and a youtu.be link at that second.

Ranking on SQLite is FTS5's bm25 over every matching chunk: exact, and its cost grows with
the number of matches (FTS5 has no top-k shortcut). benchmarks/queries measures it: a word in
one chunk in seven of a 300k-chunk corpus takes ~30 ms, a word in nearly every chunk ~200 ms.
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
from tubesensei.formatting import video_link
from tubesensei.queries.corpus import channel_pk as stored_channel_pk
from tubesensei.youtube.ids import ChannelRef

HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"
TS_CONFIG = "tubesensei"  # PostgreSQL's text search configuration (migration 0005)
SNIPPET_WORDS = 16
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


class BadQuery(BadInput, ValueError):
    """A search query that cannot be searched for: an unbalanced double quote, only
    exclusions, nothing the index holds (one-line message saying which)."""


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
        return video_link(self.video_id, self.start_s)

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


@dataclass(frozen=True)
class Terms:
    """A parsed query: the words or phrases that must appear, and those that must not."""

    include: tuple[str, ...]
    exclude: tuple[str, ...]


def _shown(query: str, width: int = 40) -> str:
    """The query as an error message quotes it: one line, not too long."""
    one_line = " ".join(query.split())
    return repr(one_line if len(one_line) <= width else one_line[: width - 1] + "…")


def parse_query(query: str) -> Terms:
    """Split a user query into terms; BadQuery when it cannot be searched for: a double quote
    left open (the phrase would end nowhere), only exclusions (nothing to find), or no word
    the index holds."""
    include: list[str] = []
    exclude: list[str] = []
    # FTS5 reads its query as a C string: a NUL would end it inside a quoted term.
    query = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in query)
    if query.count('"') % 2:
        raise BadQuery(f"unbalanced double quote in the query {_shown(query)}: "
                       'close the phrase with another " (or leave the quotes out)')
    for m in _TOKEN.finditer(query):
        negated, phrase, word = m.group(1), m.group(2), m.group(3)
        if phrase is None:
            negated = "-" if word.startswith("-") and len(word) > 1 else ""
            phrase = word[1:] if negated else word
        if not _has_token_chars(phrase):
            continue  # nothing the tokenizer would index: it would match no row at all
        (exclude if negated else include).append(phrase.strip())
    if not include and exclude:
        shown = " ".join(f'-"{t}"' if " " in t else f"-{t}" for t in exclude)
        raise BadQuery(f"the query only excludes ({shown}): add a word or phrase to search "
                       "for")
    if not include:
        raise BadQuery(f"the query {_shown(query)} has no words to search for")
    return Terms(tuple(include), tuple(exclude))


def build_match(query: str) -> str:
    """Translate a user query into a safe FTS5 MATCH expression."""
    terms = parse_query(query)
    expr = " AND ".join(_quote(t) for t in terms.include)
    for term in terms.exclude:
        expr += f" NOT {_quote(term)}"
    return expr


def _tsquery(terms: Terms, params: dict[str, Any]) -> str:
    """The PostgreSQL tsquery of the terms, every term a bound parameter."""
    parts = []
    for n, term in enumerate(terms.include):
        params[f"i{n}"] = term
        parts.append(f"phraseto_tsquery('{TS_CONFIG}', :i{n})")
    for n, term in enumerate(terms.exclude):
        params[f"x{n}"] = term
        parts.append(f"!! phraseto_tsquery('{TS_CONFIG}', :x{n})")
    return "(" + " && ".join(parts) + ")"


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


_HEADLINE = (f'StartSel="{HIGHLIGHT_START}", StopSel="{HIGHLIGHT_END}", '
             f"MaxWords={SNIPPET_WORDS}, MinWords=6, ShortWord=0")


def _ranked_sql_postgres(tsquery: str, filtered: str, limit: int | None) -> str:
    """Matching passages, best first: (chunk id, score, snippet). The GIN index finds the
    matches; ts_headline, the costly part, runs for the page alone (the outer query)."""
    return f"""
        SELECT ranked.id, ranked.score,
               ts_headline('{TS_CONFIG}', c.text, ranked.q, :headline)
        FROM (SELECT c.id, -ts_rank_cd(c.tsv, q.q) AS score, q.q
              FROM transcript_chunks c, (SELECT {tsquery} AS q) q
              WHERE c.tsv @@ q.q{filtered}
              ORDER BY score, c.id {"LIMIT :limit" if limit is not None else ""}) ranked
        JOIN transcript_chunks c ON c.id = ranked.id
        ORDER BY ranked.score, ranked.id"""


def _count_sql_postgres(tsquery: str, filtered: str) -> str:
    return (f"SELECT count(*) FROM transcript_chunks c, (SELECT {tsquery} AS q) q "
            f"WHERE c.tsv @@ q.q{filtered}")


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
    """Ranked hits (best first) and how many passages match in all (for "showing N of M").

    ``channel`` (any reference) must name a stored channel (ChannelNotInCorpus otherwise);
    ``since`` is inclusive, ``until`` exclusive, both on the video's publication time.
    Raises BadQuery when the query cannot be searched for (see parse_query).
    """
    terms = parse_query(query)
    filtered, params = _filters(stored_channel_pk(s, channel), _utc(since), _utc(until))
    if limit is not None:
        params["limit"] = int(limit)
    if s.get_bind().dialect.name == "postgresql":
        tsquery = _tsquery(terms, params)
        params["headline"] = _HEADLINE
        ranked_sql = _ranked_sql_postgres(tsquery, filtered, limit)
        count_sql = _count_sql_postgres(tsquery, filtered)
    else:
        params["match"] = build_match(query)
        ranked_sql = _ranked_sql(filtered, limit)
        join = _JOIN_CHUNK if filtered else ""
        count_sql = (f"SELECT count(*) FROM transcript_chunks_fts {join} "
                     f"WHERE transcript_chunks_fts MATCH :match{filtered}")
    ranked = s.execute(_statement(ranked_sql, params), params).all()
    total = len(ranked)
    if with_total and limit is not None and total >= limit:
        count_params = {k: v for k, v in params.items() if k not in ("limit", "headline")}
        total = s.execute(_statement(count_sql, count_params), count_params).scalar_one()
    return _hits(s, ranked), total


def _hits(s: Session, ranked: list[Any]) -> list[SearchHit]:
    """The page's passages with their videos and channels, in rank order."""
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
    return hits


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
