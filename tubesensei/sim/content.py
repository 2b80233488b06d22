"""Deterministic ids, titles and caption text for the simulator.

Everything here is a pure function of its arguments (string-seeded ``random.Random`` is
stable across processes and Python runs), so the same seed always yields the same world.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
from dataclasses import dataclass
from functools import lru_cache

LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "es": "Spanish",
    "fr": "French",
    "pt": "Portuguese",
    "ja": "Japanese",
}
# What the player JSON offers under translationLanguages (a subset of the real list).
TRANSLATION_LANGUAGES = {
    "ar": "Arabic",
    "nl": "Dutch",
    "en": "English",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "ja": "Japanese",
    "pt": "Portuguese",
    "es": "Spanish",
}


def rng_for(*parts: object) -> random.Random:
    """A Random seeded by a stable string (str seeds are hashed with SHA-512)."""
    return random.Random(":".join(str(p) for p in parts))


def b64_id(rng: random.Random, nbytes: int) -> str:
    raw = rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def new_video_id(rng: random.Random) -> str:
    """11 chars of URL-safe base64 of 64 random bits, like real ids (last char in AEIM...)."""
    return b64_id(rng, 8)


def new_channel_id(rng: random.Random) -> str:
    """``UC`` + 22 chars of URL-safe base64 of 128 bits (24 chars total)."""
    return "UC" + b64_id(rng, 16)


def etag_of(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha1(data).digest()).decode("ascii").rstrip("=")


def hex_digest(*parts: object, n: int = 40) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:n].upper()


# ---------------------------------------------------------------------------------------
# Titles and descriptions

_ADJ = ("quick", "honest", "complete", "practical", "hidden", "simple", "modern", "classic",
        "surprising", "deep", "tiny", "giant", "broken", "perfect", "weird", "calm")
_NOUN = ("garden", "compiler", "sourdough", "synthesizer", "bicycle", "telescope", "database",
         "keyboard", "volcano", "coffee", "origami", "guitar", "robot", "notebook", "river",
         "camera", "chess opening", "battery", "spreadsheet", "kite")
_FORMAT = ("Guide to", "Review:", "Explained:", "I tried", "Building a", "Fixing a",
           "The truth about", "10 tips for", "Why I love", "Q&A about")
_CHANNEL_WORDS = ("Quantum", "Maple", "Copper", "Nimbus", "Orchid", "Basalt", "Velvet",
                  "Harbor", "Cobalt", "Juniper", "Falcon", "Saffron")
_CHANNEL_TAILS = ("Lab", "Workshop", "Academy", "Studio", "Notes", "Garage", "Kitchen", "Den")
_CATEGORIES = ("22", "27", "28", "26", "10", "24")


def channel_title(rng: random.Random) -> str:
    return f"{rng.choice(_CHANNEL_WORDS)} {rng.choice(_CHANNEL_WORDS)} {rng.choice(_CHANNEL_TAILS)}"


def video_title(rng: random.Random) -> tuple[str, list[str]]:
    adj, noun = rng.choice(_ADJ), rng.choice(_NOUN)
    title = f"{rng.choice(_FORMAT)} the {adj} {noun}"
    if rng.random() < 0.3:
        title += f" (part {rng.randint(2, 9)})"
    if rng.random() < 0.15:
        title += " & more"
    return title, [adj, noun, noun.split()[0] + " tips"]


def video_description(rng: random.Random, title: str) -> str:
    lines = [f"In this video: {title.lower()}.",
             f"Chapters:\n0:00 Intro\n{rng.randint(1, 5)}:{rng.randint(10, 59)} Main part",
             "Thanks for watching! Links & notes below."]
    return "\n\n".join(lines[: rng.randint(1, 3)])


def category_id(rng: random.Random) -> str:
    return rng.choice(_CATEGORIES)


# ---------------------------------------------------------------------------------------
# Caption text

_EN_TEMPLATES = (
    "Today we're going to look at the {adj} {noun}.",
    "It's {adj} how much the {noun} changes everything.",
    "Don't forget to check the \"{noun}\" settings first.",
    "Let's talk about the {noun} & the {noun2}.",
    "I think the {noun} is the most {adj} part.",
    "This is <i>really</i> {adj}, isn't it?",
    "So here's what happened with my {noun}.",
    "You'll need a {adj} {noun2} for this step.",
    "That's why the {noun} matters so much.",
    "We'll come back to the {noun2} in a minute.",
)
_LANG_TEMPLATES = {
    "de": ("Heute schauen wir uns den {noun} an.", "Das ist wirklich spannend.",
           "Grüße an alle Zuschauer!", "Wir sprechen über Größe und Qualität.",
           "Vergesst nicht, den Kanal zu abonnieren."),
    "es": ("Hoy vamos a hablar de {noun}.", "¿Qué opinas de esto?",
           "El niño y la señora están aquí.", "Esto es muy importante.",
           "¡Nos vemos en el próximo vídeo!"),
    "fr": ("Aujourd'hui, on parle de {noun}.", "C'est très intéressant.",
           "Voilà ce qu'il faut savoir.", "N'oubliez pas de vous abonner.",
           "À bientôt pour la suite !"),
    "pt": ("Hoje vamos falar sobre {noun}.", "Isso é muito legal.",
           "Não esqueça de se inscrever.", "Até a próxima!"),
    "ja": ("今日は{noun}について話します。", "これはとても面白いです。",
           "チャンネル登録をお願いします。", "また次回お会いしましょう。"),
}
_LANG_NOUNS = {
    "de": ("Garten", "Compiler", "Vulkan", "Kaffee"),
    "es": ("el jardín", "la cámara", "el café", "la guitarra"),
    "fr": ("la rivière", "l'appareil photo", "le café", "la guitare"),
    "pt": ("o jardim", "a câmera", "o café", "o violão"),
    "ja": ("庭", "カメラ", "コーヒー", "ギター"),
}
_TAG_RE = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Segment:
    """One caption line. ``markup`` is the caption source text (may hold <i> tags);
    ``text`` is what youtube-transcript-api yields by default (tags stripped)."""

    markup: str
    start: float
    duration: float

    @property
    def text(self) -> str:
        return _TAG_RE.sub("", self.markup)


def _sentence(rng: random.Random, lang: str) -> str:
    if lang == "en":
        tpl = rng.choice(_EN_TEMPLATES)
        return tpl.format(adj=rng.choice(_ADJ), noun=rng.choice(_NOUN), noun2=rng.choice(_NOUN))
    tpl = rng.choice(_LANG_TEMPLATES.get(lang, _LANG_TEMPLATES["de"]))
    return tpl.format(noun=rng.choice(_LANG_NOUNS.get(lang, _LANG_NOUNS["de"])))


def _r3(x: float) -> float:
    return round(x, 3)


@lru_cache(maxsize=256)
def manual_segments(key: str, lang: str, duration_s: int) -> tuple[Segment, ...]:
    """Sentence-per-segment captions, like a human-made track (with a few empty cues)."""
    rng = rng_for(key, "manual", lang)
    end = max(8, min(duration_s, 4 * 3600))
    out: list[Segment] = []
    t = rng.uniform(0.0, 1.0)
    while t < end - 1:
        dur = rng.uniform(1.5, 5.5)
        if rng.random() < 0.03:
            out.append(Segment("", _r3(t), _r3(0.5)))
        else:
            out.append(Segment(_sentence(rng, lang), _r3(t), _r3(dur)))
        t += dur + rng.uniform(0.0, 0.4)
    return tuple(out)


def _asr_words(rng: random.Random, lang: str) -> list[str]:
    sentence = _TAG_RE.sub("", _sentence(rng, lang))
    quote_ok = rng.random() < 0.3
    cleaned = sentence.replace("&", "and")
    if not quote_ok:
        cleaned = cleaned.replace('"', "")
    cleaned = re.sub(r"[.,!?¿¡;:。、]", "", cleaned).lower()
    return cleaned.split()


@lru_cache(maxsize=256)
def generated_segments(key: str, lang: str, duration_s: int) -> tuple[Segment, ...]:
    """Auto-caption style: lower case, no punctuation, [Music]/[Applause] cues, overlapping
    cue times and rolling duplicate lines (a cue repeating the previous line)."""
    rng = rng_for(key, "asr", lang)
    end = max(8, min(duration_s, 4 * 3600))
    lines: list[str] = ["[Music]"]
    words: list[str] = []
    while len(lines) * 2.8 < end:
        while len(words) < 9:
            words.extend(_asr_words(rng, lang))
            if rng.random() < 0.04:
                words.append("[Applause]")
        n = rng.randint(4, 8)
        lines.append(" ".join(words[:n]))
        words = words[n:]
    out: list[Segment] = []
    t = rng.uniform(0.0, 0.5)
    prev = ""
    for line in lines:
        step = rng.uniform(2.0, 3.6)
        roll = rng.random()
        if prev and roll < 0.12:
            out.append(Segment(prev, _r3(t), _r3(step * 0.5)))  # exact rolling duplicate
            t += step * 0.5
        text = f"{prev}\n{line}" if prev and roll > 0.85 else line
        out.append(Segment(text, _r3(t), _r3(step + rng.uniform(0.5, 2.0))))
        prev = line
        t += step
        if t >= end:
            break
    return tuple(out)


def translated(segments: tuple[Segment, ...], tlang: str) -> tuple[Segment, ...]:
    """Deterministic stand-in for YouTube's machine translation."""
    return tuple(
        Segment(f"[{tlang}] {s.markup}" if s.markup else "", s.start, s.duration)
        for s in segments
    )


def youtube_escape(markup: str) -> str:
    """Escape caption text the way YouTube's timedtext does: the text is HTML-escaped
    (``'`` -> ``&#39;``, ``"`` -> ``&quot;``, ``&`` -> ``&amp;``, tags kept), then
    XML-escaped (``&`` -> ``&amp;``, ``<`` -> ``&lt;``). So ``it's`` becomes
    ``it&amp;#39;s`` on the wire, as in real responses."""
    html = markup.replace("&", "&amp;").replace("'", "&#39;").replace('"', "&quot;")
    return html.replace("&", "&amp;").replace("<", "&lt;")


def fmt_seconds(x: float) -> str:
    s = f"{x:.3f}".rstrip("0").rstrip(".")
    return s or "0"
