"""Transcript cleaning: raw caption segments in, clean corpus text out.

The corpus feeds AI idea extraction, so the aim is every spoken word exactly once, in order,
with its timing, and nothing that was not spoken. ``clean_segments`` applies these rules, each
a small function below with its own tests:

1. ``decode_html``: HTML entities decoded until stable (at most ``MAX_UNESCAPE_ROUNDS``,
   so ``&amp;#39;`` becomes ``'``); caption formatting tags (``<font …>``, ``<i>``, ``<b>``,
   ``<c>``, ``<v …>``, WebVTT ``<00:01.000>`` timestamps…) removed, ``<br>`` read as a line
   break; Unicode NFC. Only known tag names are removed, so speech such as "x < y" stays.
2. ``drop_annotations``: non-speech removed: every ``[…]`` group (YouTube's convention for
   sound cues and speaker labels, including ``[ __ ]``, its censored-word marker);
   ``(…)`` only when every word in it describes a sound (``(laughter)``,
   ``(upbeat music)``, ``(audience applauding)``), so "(which is true)" stays; a group
   attached to the word before it is notation and stays (``arr[0]``, ``print()``); sung
   lines (``♪ … ♪``, or a line starting or ending with a music note); ``>>`` speaker-change
   markers, leading dialogue dashes and punctuation left dangling at a line start. A line
   or segment left without letters or digits is dropped; the other segments keep their
   start and duration exactly.
3. ``normalize_whitespace``: runs of any whitespace (non-breaking spaces, tabs, line
   breaks) become one space; zero-width spaces, word joiners, byte-order marks, soft hyphens
   and control characters go. Zero-width (non-)joiners are kept inside words, where Persian,
   Indic scripts and emoji need them. Applied to each line before rule 4 compares lines.
4. ``remove_rolling_duplicates``: auto-generated captions scroll: each segment repeats the
   previous one's last line(s), or re-sends the previous text with words added. Words
   already emitted are dropped; new words that continue a line extend the previous segment
   (which keeps the earliest start, and its end grows), new lines start a new segment.
   A repeat must start at a line start of the previous segment, so one word said twice
   across a boundary ("I think that / that is…") is kept. The price: a whole segment said
   twice in a row ("No." / "No.") is kept once.
5. ``build_text``: segments joined with spaces; a paragraph break (``"\\n\\n"``) where the
   silence between two segments (next start minus previous end) is at least
   ``PARAGRAPH_PAUSE_SECONDS`` *and* the previous segment ends a sentence. Transcripts with
   almost no sentence punctuation (auto-captions) break on the pause alone.
6. ``word_count`` counts whitespace-separated words of ``text``; ``char_count`` is its length.

Cleaning is idempotent: cleaning the output's segments again changes nothing. Bump
``CLEANING_VERSION`` whenever a rule changes, so stored transcripts can be re-cleaned.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

__all__ = [
    "CLEANING_VERSION",
    "MAX_UNESCAPE_ROUNDS",
    "PARAGRAPH_PAUSE_SECONDS",
    "CleanedTranscript",
    "Segment",
    "build_text",
    "clean_segments",
    "count_words",
    "decode_html",
    "drop_annotations",
    "normalize_whitespace",
    "remove_rolling_duplicates",
]

CLEANING_VERSION = 1
MAX_UNESCAPE_ROUNDS = 4
PARAGRAPH_PAUSE_SECONDS = 2.0
# Below this many sentence ends per 100 words, a transcript counts as unpunctuated.
_PUNCTUATED_PER_100_WORDS = 1.0
# Gaps are differences of floats; a 2.0 s pause must not read as 1.9999999.
_EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class Segment:
    """One caption: ``start`` and ``duration`` in seconds, ``text`` as shown on screen."""

    start: float
    duration: float
    text: str

    @property
    def end(self) -> float:
        return self.start + self.duration

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any] | Any) -> Segment:
        """Build from a youtube-transcript-api snippet or its ``to_raw_data()`` dict."""
        if isinstance(raw, Mapping):
            return cls(float(raw["start"]), float(raw["duration"]), str(raw["text"]))
        return cls(float(raw.start), float(raw.duration), str(raw.text))


@dataclass(frozen=True, slots=True)
class CleanedTranscript:
    """The cleaned segments (one line each), the joined text and its counts."""

    segments: list[Segment]
    text: str
    word_count: int
    char_count: int


# -- rule 1: entities and tags ----------------------------------------------------------

_TAG_RE = re.compile(
    r"<\s*/?\s*(?:font|span|i|b|u|s|c|v|em|strong|p|div|ruby|rt|rp|sup|sub|mark|lang)"
    r"(?:\s[^<>]*|\.[^<>]*)?/?>"
    r"|<\d{1,2}:\d{2}(?::\d{2})?[.,]\d{3}>",  # WebVTT karaoke timestamps
    re.IGNORECASE,
)
_BR_RE = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)


def decode_html(text: str) -> str:
    """Decode entities until stable (bounded), strip caption tags, NFC-normalise."""
    if "&" in text:
        for _ in range(MAX_UNESCAPE_ROUNDS):
            decoded = html.unescape(text)
            if decoded == text:
                break
            text = decoded
    if "<" in text:
        text = _BR_RE.sub("\n", text)
        text = _TAG_RE.sub("", text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


# -- rule 2: non-speech annotations ------------------------------------------------------

_NOTES = "♪♫♬♩🎵🎶"
# Blanks on a line (any whitespace but a line break, and invisible characters).
_BLANK = r"(?:[^\S\n]|[\u200b\u2060\ufeff\u00ad])"
# Bracket groups, with the blanks before them (the inner group is the content).
_SQUARE_RE = re.compile(_BLANK + r"*[\[［]([^\[\]［］]*)[\]］]")
_PAREN_RE = re.compile(_BLANK + r"*[(（]([^()（）]*)[)）]")
_NOTE_RE = re.compile(f"[{_NOTES}]")
_NOTE_PAIR_RE = re.compile(f"{_BLANK}*[{_NOTES}][^{_NOTES}]*[{_NOTES}]")
_ANNOTATION_HINT_RE = re.compile(f"[\\[［(（>\\-–—{_NOTES}]|^{_BLANK}*[,;:]", re.M)
# At a line start: dialogue dashes ("- Hi."), ">>" speaker changes, dangling punctuation.
_LINE_START_MARKS_RE = re.compile(
    rf"^(?:{_BLANK}*(?:[,;:]|[-–—](?={_BLANK}|$)|>>+))+{_BLANK}*", re.M
)
_MID_LINE_SPEAKER_RE = re.compile(rf"(?<=\s)>>+(?:{_BLANK}+|$)", re.M)

# Words that describe sounds; a parenthesised group made only of these (and at least one
# from _SOUNDS) is a cue, not speech.
_SOUND_WORDS = """
    applause applauding applauds laughter laughing laughs laugh chuckles chuckling chuckle
    giggles giggling giggle music musical inaudible indistinct unintelligible crosstalk
    silence sighs sighing sigh coughs coughing cough cheering cheers cheer clapping claps
    groans groaning gasps gasping whistles whistling sniffs sniffles sniffling static
    beeping beeps beep bleep bleeps bleeping buzzing chimes whooshing whoosh thud thuds
    footsteps ringing rings humming hums vocalizing vocalising exhales inhales breathing
    breathes grunts grunting screams screaming shouting yelling murmuring murmurs chattering
    chatter singing sings snoring sneezes sneezing crying sobbing sobs clears throat noise
    noises explosion gunshots gunshot thunder birds chirping barking barks whispers
    whispering speaking mumbles mumbling stammers
    笑 笑い 拍手 音楽 歓声
"""
_SOUND_FILLER_WORDS = """
    a an the and of in on with to audience crowd people man woman men women person
    background soft loud upbeat gentle dramatic intense suspenseful mellow ominous tense
    light cheerful somber sad happy playing plays continues fades out distant faint
    foreign language spanish french german english continue
"""
_SOUNDS = frozenset(_SOUND_WORDS.split())
_SOUND_FILLERS = frozenset(_SOUND_FILLER_WORDS.split())


def _is_sound_cue(inner: str) -> bool:
    """True for "laughter", "upbeat music", "audience applauding"; False for speech."""
    words = [w.strip(".,!?;:'\"-…").casefold() for w in inner.split()]
    words = [w for w in words if w]
    return (
        bool(words)
        and all(w in _SOUNDS or w in _SOUND_FILLERS for w in words)
        and any(w in _SOUNDS for w in words)
    )


def _drop_cue(match: re.Match[str]) -> str:
    """Remove a bracket group with the blanks before it, never gluing two words together.

    A group attached to the word before it is code or notation (``arr[0]``, ``print()``,
    ``f(x)``), not a cue, and stays.
    """
    text, start, end = match.string, match.start(), match.end()
    group = match.group(0)
    before = text[start - 1 : start]
    if group[0] in "[(［（" and (before.isalnum() or before in ("_", ")", "]", "）", "］")):
        return group
    if group[-1] in ")）" and not _is_sound_cue(match.group(1)):
        return group
    return " " if text[end : end + 1].isalnum() else ""


def _drop_sung_lines(text: str) -> str:
    if "\n" not in text:
        stripped = text.strip()
        if stripped[:1] in _NOTES or stripped[-1:] in _NOTES:
            return ""
        return text.translate(_NOTE_REMOVAL)
    return "\n".join(_drop_sung_lines(line) for line in text.split("\n"))


_NOTE_REMOVAL = str.maketrans(dict.fromkeys(_NOTES))


def drop_annotations(text: str) -> str:
    """Remove sound cues, censored-word markers, sung lines and speaker-change marks.

    Line breaks are kept (rule 4 compares lines); a line may come back empty. Punctuation
    left dangling at the start of a line (", and then") goes too.
    """
    if not _ANNOTATION_HINT_RE.search(text):
        return text  # the common case: plain speech
    while True:  # "[[Music]]" needs two rounds; every round that changes the text shrinks it
        before = text
        if "[" in text or "［" in text:
            text = _SQUARE_RE.sub(_drop_cue, text)
        if "(" in text or "（" in text:
            text = _PAREN_RE.sub(_drop_cue, text)
        if text == before:
            break
    if _NOTE_RE.search(text):
        text = _NOTE_PAIR_RE.sub("", text)
        text = _drop_sung_lines(text)
    if ">>" in text:
        text = _MID_LINE_SPEAKER_RE.sub("", text)
    return _LINE_START_MARKS_RE.sub("", text)


# -- rule 3: whitespace -------------------------------------------------------------------

# Zero-width space, word joiner, BOM, soft hyphen, C0/C1 controls other than whitespace.
_INVISIBLE_RE = re.compile("[\u200b\u2060\ufeff\u00ad\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
_STRAY_JOINER_RE = re.compile(r"(?:^|(?<=\s))[\u200c\u200d]+|[\u200c\u200d]+(?=\s|$)")


def normalize_whitespace(text: str) -> str:
    """One space between words, none at the ends; invisible characters removed."""
    if _INVISIBLE_RE.search(text):
        text = _INVISIBLE_RE.sub("", text)
    if "\u200c" in text or "\u200d" in text:
        text = _STRAY_JOINER_RE.sub("", text)
    return " ".join(text.split())


# -- rule 4: rolling duplicates -----------------------------------------------------------


def _words_and_line_starts(text: str) -> tuple[list[str], list[int]]:
    if "\n" not in text:
        return text.split(), [0]
    words: list[str] = []
    starts: list[int] = []
    for line in text.split("\n"):
        line_words = line.split()
        if line_words:
            starts.append(len(words))
            words.extend(line_words)
    return words, starts


def _repeated_prefix(previous: list[str], previous_starts: list[int], words: list[str]) -> int:
    """How many leading ``words`` repeat a tail of the previous segment's words.

    The repeated tail must begin at one of the previous segment's line starts (offset 0 is
    the prefix-extension case), so a single word said twice across a boundary is never
    taken for a repeat. The longest such tail wins.
    """
    total = len(previous)
    for offset in previous_starts:
        tail = total - offset
        if tail > len(words) or words[0] != previous[offset]:
            continue
        if words[:tail] == previous[offset:]:
            return tail
    return 0


class _Pending:
    """An output segment under construction (cheaper to mutate than a frozen Segment)."""

    __slots__ = ("duration", "source", "start", "words")

    def __init__(self, segment: Segment, words: list[str]) -> None:
        self.start, self.duration, self.words = segment.start, segment.duration, words
        self.source: Segment | None = segment  # reused as is when nothing changes

    def extend(self, segment: Segment, words: list[str]) -> None:
        self.words = self.words + words
        end = max(self.start + self.duration, segment.start + segment.duration)
        self.duration = round(end - self.start, 3)
        self.source = None

    def build(self) -> Segment:
        text = " ".join(self.words)
        source = self.source
        if source is not None and source.text == text:
            return source
        return Segment(self.start, self.duration, text)


def remove_rolling_duplicates(segments: Sequence[Segment]) -> list[Segment]:
    """Keep each spoken word once, in order, with the earliest start.

    Lines inside a segment's text are separated by ``"\\n"``; the segments returned have
    their lines joined into one. A segment that adds nothing is dropped and the previous
    segment's end extended over it.

    Joining lines hides where they began, so a result could still hold a segment that
    starts with the whole previous one (a line said twice); such pairs are merged too,
    until none is left, which makes the rule idempotent.
    """
    out = _remove_rolling_duplicates_once(segments)
    while _has_prefix_repeat(out):
        out = _remove_rolling_duplicates_once(out)
    return out


def _has_prefix_repeat(segments: list[Segment]) -> bool:
    for previous, segment in pairwise(segments):
        text, head = segment.text, previous.text
        if text.startswith(head) and (len(text) == len(head) or text[len(head)] == " "):
            return True
    return False


def _remove_rolling_duplicates_once(segments: Sequence[Segment]) -> list[Segment]:
    out: list[_Pending] = []
    previous: list[str] = []
    previous_starts: list[int] = []
    for segment in segments:
        words, starts = _words_and_line_starts(segment.text)
        if not words:
            continue
        repeated = _repeated_prefix(previous, previous_starts, words) if previous else 0
        previous, previous_starts = words, starts
        if repeated == 0:
            out.append(_Pending(segment, words))
        elif repeated < len(words) and repeated in starts:
            # The repeat ends where a new line begins: the new lines are a new segment.
            out.append(_Pending(segment, words[repeated:]))
        else:
            # Nothing new, or new words continue the last line: extend the last segment.
            out[-1].extend(segment, words[repeated:])
    return [pending.build() for pending in out]


# -- rule 5 and 6: text, paragraphs, counts -----------------------------------------------

_SENTENCE_END_RE = re.compile(r"[.!?…。！？][\"'”’»)\]]*$")
_SENTENCE_MARK_RE = re.compile(r"[.!?…。！？](?=[\s\"'”’»)\]]|$)")


def _is_unpunctuated(segments: Sequence[Segment]) -> bool:
    if not segments:
        return False
    # Counted over the texts joined by spaces: one regex pass instead of one per segment,
    # the same counts (a mark ending a segment is followed by a space instead of the end).
    joined = " ".join([s.text for s in segments])
    marks = len(_SENTENCE_MARK_RE.findall(joined))
    words = joined.count(" ") + 1  # each segment's spaces + 1
    return marks * 100 < words * _PUNCTUATED_PER_100_WORDS


def build_text(segments: Sequence[Segment], pause: float = PARAGRAPH_PAUSE_SECONDS) -> str:
    """Join one-line segments with spaces, with a paragraph break after long pauses."""
    if not segments:
        return ""
    pause_alone = _is_unpunctuated(segments)
    parts = [segments[0].text]
    for previous, segment in pairwise(segments):
        long_pause = segment.start - previous.end >= pause - _EPSILON
        if long_pause and (pause_alone or _SENTENCE_END_RE.search(previous.text)):
            parts.append("\n\n")
        else:
            parts.append(" ")
        parts.append(segment.text)
    return "".join(parts)


def count_words(text: str) -> int:
    """Whitespace-separated words (a run of CJK text without spaces counts as one)."""
    return len(text.split())


# -- the whole pipeline -------------------------------------------------------------------

_WORD_CHAR_RE = re.compile(r"[^\W_]")


# Printable ASCII that no rule touches: no entity or tag (& < >), no bracket group (( ) [ ]),
# no dash (dialogue dashes), no control character or line break. A line made of such words,
# one space apart, not starting with , ; or : and holding a letter or digit, comes out of
# rules 1-3 exactly as it went in: most caption lines, and the fast path below.
_PLAIN = r"[!-%'*-,.-;=?-Z\\^-~]"
_PLAIN_LINE = rf"(?![,;:]){_PLAIN}+(?: {_PLAIN}+)*"
_PLAIN_LINES_RE = re.compile(rf"{_PLAIN_LINE}(?:\n{_PLAIN_LINE})*")


def _clean_lines(text: str) -> str:
    """Rules 1-3 for one segment: its speech lines, normalised, joined by "\\n"."""
    if _PLAIN_LINES_RE.fullmatch(text):
        if "\n" not in text:
            return text if _WORD_CHAR_RE.search(text) else ""
        kept = [line for line in text.split("\n") if _WORD_CHAR_RE.search(line)]
        return kept[0] if len(kept) == 1 else "\n".join(kept)
    return _apply_rules_1_to_3(text)


def _apply_rules_1_to_3(text: str) -> str:
    text = drop_annotations(decode_html(text))
    kept = []
    for line in text.splitlines():
        line = normalize_whitespace(line)
        if _WORD_CHAR_RE.search(line):
            kept.append(line)
    return kept[0] if len(kept) == 1 else "\n".join(kept)


def clean_segments(segments: Iterable[Segment | Mapping[str, Any] | Any]) -> CleanedTranscript:
    """Apply every rule, in order, to raw caption segments (see the module docstring).

    Accepts ``Segment``s, youtube-transcript-api snippets or their raw-data dicts.
    """
    staged: list[Segment] = []
    for raw in segments:
        segment = raw if isinstance(raw, Segment) else Segment.from_raw(raw)
        text = _clean_lines(segment.text)
        if text == segment.text:
            staged.append(segment)
        elif text:
            staged.append(Segment(segment.start, segment.duration, text))
    cleaned = remove_rolling_duplicates(staged)
    text = build_text(cleaned)
    return CleanedTranscript(
        segments=cleaned, text=text, word_count=count_words(text), char_count=len(text)
    )
