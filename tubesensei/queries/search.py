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

A page of results (a ``limit``) costs about the same on any query, however common its words.
FTS5 has no top-k shortcut: bm25 scores every match it is given, and first counts, for each
term, every passage in the corpus that holds it (its IDF: a pass over the term's positions).
So a query first walks its newest matches by chunk id, scoring nothing, up to TOTAL_CAP + 1
(the total: exact, or "10,000+" past the cap, a MatchCount that says so), then:
- up to RANK_POOL matches: all of them ranked by bm25;
- more, and one word, or two that are neither in more than WORD_SCORE_LIMIT passages (each
  word's IDF is a count of its doclist, ~10 ms for a word in every passage of 300k): its
  newest RANK_POOL ranked;
- more, and any other query (a phrase, more or commoner words: the IDF alone is a pass
  over their doclists, ~30 ms for a phrase of stop words): its newest first.
Either way a page costs ~5-25 ms on a 300k-passage corpus where a word in every passage took
200-400 ms (benchmarks/queries).
``limit=None`` (--json, export) ranks every match. PostgreSQL takes the very same candidates
and order rules (ts_rank_cd for bm25), so both databases give one answer.
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
TOTAL_CAP = 10_000
"""Matches counted at most: past it the total is "10,000+" (MatchCount.capped)."""
RANK_POOL = 2_000
"""Matches ranked at most: past this many, a query cheap to score is ranked over its newest
this many, any other lists its newest first."""
MAX_SCORED_TERMS = 2
"""A query of at most this many single words may be cheap to score (see _cheap_to_score)."""
WORD_SCORE_LIMIT = 30_000
"""Two words are cheap to score when neither is in more passages than this."""


class MatchCount(int):
    """How many passages match: exact, or (``capped``) more than this many."""

    capped: bool

    def __new__(cls, value: int, capped: bool = False) -> MatchCount:
        count = super().__new__(cls, value)
        count.capped = capped
        return count

    def text(self) -> str:
        """``1,234``, or ``10,000+`` when capped."""
        return f"{int(self):,}" + ("+" if self.capped else "")


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


# The chunk ids a channel's passages lie between: FTS5 reads a doclist from a rowid on (a
# seek), so a channel filter scans the matches in that stretch only, not the whole corpus.
# The transcripts of a channel are fetched together after its discovery, so their chunks
# are mostly near each other; either way, the IN test above decides.
_CHANNEL_CHUNKS = text("""
    SELECT min(c.id), max(c.id), count(*) FROM videos v
    JOIN transcripts t ON t.video_id = v.id
    JOIN transcript_chunks c ON c.transcript_id = t.id
    WHERE v.channel_id = :channel_pk""")


def _statement(sql: str, params: dict[str, Any]) -> Any:
    stmt = text(sql)
    for name in ("since", "until"):  # stored as naive UTC: bind through the column's type
        if name in params:
            stmt = stmt.bindparams(bindparam(name, type_=UTCDateTime()))
    return stmt


def _sqlite_source(filtered: str, params: dict[str, Any]) -> tuple[str, str]:
    """FROM and WHERE of the matches (the filters and the channel's stretch of chunk ids)."""
    where = "transcript_chunks_fts MATCH :match"
    if "lo" in params:
        where += " AND transcript_chunks_fts.rowid BETWEEN :lo AND :hi"
    source = f"transcript_chunks_fts {_JOIN_CHUNK}" if filtered else "transcript_chunks_fts"
    return source, where + filtered


def _newest_sql_sqlite(filtered: str, params: dict[str, Any]) -> str:
    """Matching chunk ids, newest first, straight off the doclists (FTS5 walks them by
    rowid, in either direction, and computes no score)."""
    source, where = _sqlite_source(filtered, params)
    return f"""
        SELECT transcript_chunks_fts.rowid AS id FROM {source} WHERE {where}
        ORDER BY transcript_chunks_fts.rowid DESC"""


def _ranked_sql(filtered: str, params: dict[str, Any], limit: int | None,
                newest_first: bool = False) -> str:
    """Matching chunks, best first: (chunk id, score, snippet).

    FTS5 scores every match it is given, whatever happens next, so the work that can wait
    waits: unfiltered, this touches the FTS table alone (joining videos and channels to
    every match before sorting costs 3-4 times as much on a common word); a channel or date
    filter has to look each match up to test it. ``:floor`` keeps the newest RANK_POOL
    matches (a rowid range FTS5 seeks to). It must stay a top-level SELECT: SQLite then
    evaluates snippet() only for the rows that leave the sorter, whereas inside a subquery
    it runs for every match (ten times slower on a common word).
    """
    source, where = _sqlite_source(filtered, params)
    if "floor" in params:
        where += " AND transcript_chunks_fts.rowid > :floor"
    if newest_first:  # no bm25 (it would count every passage holding the terms)
        return f"""
        SELECT transcript_chunks_fts.rowid AS id, 0.0 AS score,
               snippet(transcript_chunks_fts, 0, '{HIGHLIGHT_START}', '{HIGHLIGHT_END}', '…', 16)
        FROM {source} WHERE {where}
        ORDER BY transcript_chunks_fts.rowid DESC LIMIT :limit"""
    return f"""
        SELECT transcript_chunks_fts.rowid AS id, bm25(transcript_chunks_fts) AS score,
               snippet(transcript_chunks_fts, 0, '{HIGHLIGHT_START}', '{HIGHLIGHT_END}', '…', 16)
        FROM {source} WHERE {where}
        ORDER BY score, id {"LIMIT :limit" if limit is not None else ""}"""


_HEADLINE = (f'StartSel="{HIGHLIGHT_START}", StopSel="{HIGHLIGHT_END}", '
             f"MaxWords={SNIPPET_WORDS}, MinWords=6, ShortWord=0")


def _ranked_sql_postgres(tsquery: str, filtered: str, params: dict[str, Any],
                         limit: int | None, newest_first: bool = False) -> str:
    """Matching passages, best first: (chunk id, score, snippet). The GIN index finds the
    matches; ts_headline, the costly part, runs for the page alone (the outer query)."""
    floor = " AND c.id > :floor" if "floor" in params else ""
    score, order = "-ts_rank_cd(c.tsv, q.q)", "score, c.id"
    if newest_first:
        score, order = "0.0", "c.id DESC"
    return f"""
        SELECT ranked.id, ranked.score,
               ts_headline('{TS_CONFIG}', c.text, ranked.q, :headline)
        FROM (SELECT c.id, {score} AS score, q.q
              FROM transcript_chunks c, (SELECT {tsquery} AS q) q
              WHERE c.tsv @@ q.q{filtered}{floor}
              ORDER BY {order} {"LIMIT :limit" if limit is not None else ""}) ranked
        JOIN transcript_chunks c ON c.id = ranked.id
        ORDER BY {"ranked.id DESC" if newest_first else "ranked.score, ranked.id"}"""


def _newest_sql_postgres(tsquery: str, filtered: str) -> str:
    return f"""
        SELECT c.id FROM transcript_chunks c, (SELECT {tsquery} AS q) q
        WHERE c.tsv @@ q.q{filtered} ORDER BY c.id DESC"""


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
) -> tuple[list[SearchHit], MatchCount]:
    """Ranked hits (best first) and how many passages match in all (for "showing N of M").

    With a ``limit``: the total is exact up to TOTAL_CAP, then capped ("10,000+":
    MatchCount.capped), and the hits are the best matches, or of the newest RANK_POOL, or
    the newest ones (see the module's doc); ``limit=None`` ranks every match. ``channel``
    (any reference) must name a stored channel (ChannelNotInCorpus otherwise); ``since`` is
    inclusive, ``until`` exclusive, both on the video's publication time. Raises BadQuery
    when the query cannot be searched for (see parse_query).
    """
    terms = parse_query(query)
    channel_pk = stored_channel_pk(s, channel)
    filtered, params = _filters(channel_pk, _utc(since), _utc(until))
    postgres = s.get_bind().dialect.name == "postgresql"
    if postgres:
        tsquery = _tsquery(terms, params)
    else:
        params["match"] = build_match(query)
        if channel_pk is not None:
            lo, hi, chunks = s.execute(_CHANNEL_CHUNKS, {"channel_pk": channel_pk}).one()
            if lo is None:  # nothing stored from this channel
                return [], MatchCount(0)
            params.update(lo=lo, hi=hi)
            if chunks == hi - lo + 1 and since is None and until is None:
                filtered = ""  # every id of the stretch is the channel's: no lookup per match
    total: MatchCount | None = None
    newest_first = False
    if limit is not None:
        # One walk over the newest matches, scoring nothing: are there more than the cap?
        newest = (_newest_sql_postgres(tsquery, filtered) if postgres
                  else _newest_sql_sqlite(filtered, params))
        found = s.execute(_statement(
            f"SELECT count(*) FROM ({newest} LIMIT {TOTAL_CAP + 1}) newest", params),
            params).scalar_one()
        total = MatchCount(min(found, TOTAL_CAP), capped=found > TOTAL_CAP)
        if found > RANK_POOL:
            newest_first = not _cheap_to_score(s, terms, postgres)
            if not newest_first:  # rank the newest RANK_POOL: the ids above the next one's
                floor = s.execute(_statement(
                    f"{newest} LIMIT 1 OFFSET {RANK_POOL}", params), params).scalar()
                if floor is not None:
                    params["floor"] = floor
        params["limit"] = int(limit)
    if postgres:
        params["headline"] = _HEADLINE
        ranked_sql = _ranked_sql_postgres(tsquery, filtered, params, limit, newest_first)
    else:
        ranked_sql = _ranked_sql(filtered, params, limit, newest_first)
    ranked = s.execute(_statement(ranked_sql, params), params).all()
    if total is None or not with_total:
        total = MatchCount(len(ranked))
    return _hits(s, ranked), total


def _tokens(term: str) -> int:
    """How many tokens FTS5's unicode61 tokenizer finds in ``term`` (see _has_token_chars)."""
    count, inside = 0, False
    for ch in term:
        cat = unicodedata.category(ch)
        token_char = cat[0] in "LN" or cat == "Co"
        count += token_char and not inside
        inside = token_char
    return count


def _cheap_to_score(s: Session, terms: Terms, postgres: bool) -> bool:
    """Whether bm25 costs little on a query with many matches: one word (its IDF is a count
    of one doclist, ~10 ms for a word in every passage of 300k), or two that are neither in
    more than WORD_SCORE_LIMIT passages. A phrase's IDF needs every position of its words."""
    every = terms.include + terms.exclude
    if len(every) > MAX_SCORED_TERMS or any(_tokens(t) != 1 for t in every):
        return False
    return len(every) == 1 or all(_passages_with(s, t, postgres) <= WORD_SCORE_LIMIT
                                  for t in every)


def _passages_with(s: Session, word: str, postgres: bool) -> int:
    """Passages holding ``word``, counted up to WORD_SCORE_LIMIT + 1 (a doclist walk)."""
    if postgres:
        sql = (f"SELECT count(*) FROM (SELECT 1 FROM transcript_chunks c WHERE c.tsv @@ "
               f"phraseto_tsquery('{TS_CONFIG}', :w) LIMIT {WORD_SCORE_LIMIT + 1}) words")
        return int(s.execute(text(sql), {"w": word}).scalar_one())
    sql = ("SELECT count(*) FROM (SELECT rowid FROM transcript_chunks_fts WHERE "
           f"transcript_chunks_fts MATCH :w LIMIT {WORD_SCORE_LIMIT + 1})")
    return int(s.execute(text(sql), {"w": _quote(word)}).scalar_one())


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
