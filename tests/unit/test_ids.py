"""Table-driven tests for tubesensei.youtube.ids (every form a user may paste)."""

from __future__ import annotations

import random
import string

import pytest

from tubesensei.youtube.ids import (
    ChannelRef,
    InvalidReference,
    is_channel_id,
    is_video_id,
    parse_channel_ref,
    parse_video_id,
)

CID = "UCBJycsmduvYEL83R_U4JriQ"  # 24 chars
VID = "dQw4w9WgXcQ"  # 11 chars
VID2 = "a-_b9Z0x_Y-"

CHANNEL_VALID = [
    # bare ids and handles
    (CID, ChannelRef("id", CID)),
    (f"  {CID}\n", ChannelRef("id", CID)),
    ("@mkbhd", ChannelRef("handle", "mkbhd")),
    ("@MKBHD", ChannelRef("handle", "MKBHD")),
    ("mkbhd", ChannelRef("handle", "mkbhd")),
    ("Veritasium", ChannelRef("handle", "Veritasium")),
    ("@some.name-with_bits", ChannelRef("handle", "some.name-with_bits")),
    ("@abc", ChannelRef("handle", "abc")),
    ("@" + "x" * 30, ChannelRef("handle", "x" * 30)),
    ("UCLA_fan", ChannelRef("handle", "UCLA_fan")),
    ("@日本語チャンネル", ChannelRef("handle", "日本語チャンネル")),
    ("@%E6%97%A5%E6%9C%AC%E8%AA%9E", ChannelRef("handle", "日本語")),
    ("@हिन्दी", ChannelRef("handle", "हिन्दी")),
    ("\u200b@mkbhd\ufeff", ChannelRef("handle", "mkbhd")),
    # /channel/ URLs
    (f"https://www.youtube.com/channel/{CID}", ChannelRef("id", CID)),
    (f"http://youtube.com/channel/{CID}/", ChannelRef("id", CID)),
    (f"youtube.com/channel/{CID}/videos", ChannelRef("id", CID)),
    (f"www.youtube.com/channel/{CID}?view_as=subscriber", ChannelRef("id", CID)),
    (f"https://m.youtube.com/channel/{CID}/featured", ChannelRef("id", CID)),
    (f"https://music.youtube.com/channel/{CID}", ChannelRef("id", CID)),
    (f"HTTPS://WWW.YOUTUBE.COM/channel/{CID}", ChannelRef("id", CID)),
    (f"//www.youtube.com/channel/{CID}", ChannelRef("id", CID)),
    (f"https://www.youtube.com:443/channel/{CID}", ChannelRef("id", CID)),
    (f"channel/{CID}", ChannelRef("id", CID)),
    # handle URLs with tabs, tracking params, encodings
    ("https://www.youtube.com/@mkbhd", ChannelRef("handle", "mkbhd")),
    ("https://www.youtube.com/@mkbhd/", ChannelRef("handle", "mkbhd")),
    ("https://www.youtube.com/@mkbhd/videos", ChannelRef("handle", "mkbhd")),
    ("youtube.com/@mkbhd/shorts", ChannelRef("handle", "mkbhd")),
    ("www.youtube.com/@mkbhd/streams", ChannelRef("handle", "mkbhd")),
    ("https://youtube.com/@mkbhd/featured?si=AbCdEf123", ChannelRef("handle", "mkbhd")),
    ("https://m.youtube.com/@mkbhd/playlists", ChannelRef("handle", "mkbhd")),
    ("https://www.youtube.com/@mkbhd/about?feature=shared", ChannelRef("handle", "mkbhd")),
    ("https://www.youtube.com/@mkbhd?sub_confirmation=1", ChannelRef("handle", "mkbhd")),
    ("https://www.youtube.com/@mkbhd#top", ChannelRef("handle", "mkbhd")),
    ("https://www.youtube.com/@Some.Creator", ChannelRef("handle", "Some.Creator")),
    (
        "https://www.youtube.com/@%E6%97%A5%E6%9C%AC%E8%AA%9E/videos",
        ChannelRef("handle", "日本語"),
    ),
    ("https://www.youtube.com/%40mkbhd", ChannelRef("handle", "mkbhd")),
    ("@mkbhd/videos", ChannelRef("handle", "mkbhd")),
    ("@mkbhd?si=xyz", ChannelRef("handle", "mkbhd")),
    # custom names, usernames, legacy vanity URLs
    ("https://www.youtube.com/c/LinusTechTips", ChannelRef("custom", "LinusTechTips")),
    ("youtube.com/c/LinusTechTips/videos?si=1", ChannelRef("custom", "LinusTechTips")),
    ("c/LinusTechTips", ChannelRef("custom", "LinusTechTips")),
    ("https://www.youtube.com/user/pewdiepie", ChannelRef("username", "pewdiepie")),
    ("http://m.youtube.com/user/pewdiepie/about", ChannelRef("username", "pewdiepie")),
    ("user/pewdiepie", ChannelRef("username", "pewdiepie")),
    ("https://www.youtube.com/LinusTechTips", ChannelRef("custom", "LinusTechTips")),
    ("https://www.youtube.com/c/%E6%97%A5%E6%9C%AC", ChannelRef("custom", "日本")),
    # video references given where a channel is expected
    (f"https://www.youtube.com/watch?v={VID}", ChannelRef("video", VID)),
    (f"https://youtu.be/{VID}?si=abc", ChannelRef("video", VID)),
    (f"youtube.com/shorts/{VID}", ChannelRef("video", VID)),
    (f"video:{VID}", ChannelRef("video", VID)),
]

VIDEO_VALID = [
    (VID, VID),
    (f" {VID2}\t", VID2),
    (f"https://www.youtube.com/watch?v={VID}", VID),
    (f"http://www.youtube.com/watch?v={VID}", VID),
    (f"www.youtube.com/watch?v={VID}", VID),
    (f"youtube.com/watch?v={VID}&t=42s", VID),
    (f"https://www.youtube.com/watch?app=desktop&v={VID}&t=42s", VID),
    (f"https://www.youtube.com/watch?v={VID}&list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG&index=3", VID),
    (f"https://www.youtube.com/watch?feature=youtu.be&v={VID}", VID),
    (f"https://www.youtube.com/watch?v={VID}#t=30", VID),
    (f"https://www.youtube.com/watch/{VID}", VID),
    (f"https://m.youtube.com/watch?v={VID}", VID),
    (f"https://music.youtube.com/watch?v={VID}&list=RDAMVM{VID}", VID),
    (f"https://youtu.be/{VID}", VID),
    (f"https://youtu.be/{VID}?si=Xy12_ab-CD", VID),
    (f"youtu.be/{VID}?t=42", VID),
    (f"https://youtu.be/{VID}/", VID),
    (f"https://www.youtube.com/shorts/{VID}", VID),
    (f"https://youtube.com/shorts/{VID}?feature=share", VID),
    (f"https://www.youtube.com/live/{VID}?si=abc", VID),
    (f"https://www.youtube.com/embed/{VID}?start=30&autoplay=1", VID),
    (f"https://www.youtube.com/v/{VID}?version=3", VID),
    (f"https://www.youtube.com/e/{VID}", VID),
    (f"https://www.youtube-nocookie.com/embed/{VID}", VID),
    (f"youtube-nocookie.com/embed/{VID}?rel=0", VID),
    (f"https://www.youtube.com/?v={VID}", VID),
    (f"watch?v={VID}", VID),
    (f"shorts/{VID}", VID),
    (f"video:{VID}", VID),
]

CHANNEL_INVALID = [
    ("", "empty reference"),
    ("   \n\t ", "empty reference"),
    ("https://vimeo.com/123456", "not a YouTube URL: vimeo.com"),
    ("vimeo.com", "not a YouTube URL: vimeo.com"),
    ("https://www.youtube.co/@mkbhd", "not a YouTube URL: www.youtube.co"),
    ("https://studio.youtube.com/channel/" + CID, "unsupported YouTube address"),
    (CID[:-1], "channel id must be 24 characters starting with UC, got 23"),
    (CID + "x", "got 25"),
    (f"https://www.youtube.com/channel/{CID[:-1]}", "must be 24 characters starting with UC"),
    (f"https://www.youtube.com/channel/XX{CID[2:]}", "must start with UC"),
    (f"https://www.youtube.com/channel/{CID[:-1]}!", "invalid character '!'"),
    ("https://www.youtube.com/channel/", "no channel id after /channel/"),
    ("https://www.youtube.com/", "URL has no channel: www.youtube.com"),
    ("youtube.com", "URL has no channel: youtube.com"),
    ("https://www.youtube.com/playlist?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG", "playlist"),
    ("https://www.youtube.com/watch?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG", "playlist"),
    ("https://www.youtube.com/embed/videoseries?list=PL123", "embedded playlist"),
    ("https://www.youtube.com/watch", "no video id"),
    ("https://www.youtube.com/watch?v=abc", "video id must be 11 characters, got 3"),
    ("https://youtu.be/", "youtu.be URL has no video id"),
    ("https://www.youtube.com/results?search_query=cats", "/results is a YouTube page"),
    ("https://www.youtube.com/feed/subscriptions", "/feed is a YouTube page"),
    ("@", "handle is empty"),
    ("@ab", "handle must be 3-30 characters, got 2"),
    ("@" + "x" * 31, "got 31"),
    ("@bad!name", "invalid character '!'"),
    ("@@mkbhd", "invalid character '@'"),
    ("@%E6%97", "not valid percent-encoded UTF-8"),
    ("Linus Tech Tips", "contains a space"),
    (f"https://youtu.be/{VID} https://youtu.be/{VID}", "contains a space"),
    (VID, "could be a handle or a video id"),
    ("john.doe", "could be a handle or a web address"),
    ("ftp://youtube.com/@mkbhd", "unsupported URL scheme 'ftp'"),
    ("foo/bar", "not a channel reference"),
    ("https:///@mkbhd", "URL has no host"),
    ("https://www.youtube.com/c/", "no name after /c/"),
    ("https://www.youtube.com/user/bad*name", "username contains invalid character '*'"),
    ("video:abc", "video id must be 11 characters, got 3"),
]

VIDEO_INVALID = [
    ("", "empty reference"),
    ("dQw4w9WgXc", "video id must be 11 characters, got 10"),
    ("dQw4w9WgXcQQ", "got 12"),
    ("dQw4w9WgXc!", "invalid character '!'"),
    ("https://vimeo.com/76979871", "not a YouTube URL: vimeo.com"),
    ("https://dailymotion.com/video/x7tgad0", "not a YouTube URL: dailymotion.com"),
    ("example.org", "not a YouTube URL: example.org"),
    ("youtu.be", "URL has no video id: youtu.be"),
    ("https://www.youtube.com/@mkbhd", "it names a channel (@mkbhd)"),
    (f"https://www.youtube.com/channel/{CID}", "it names a channel"),
    ("@mkbhd", "a channel handle is not a video"),
    (CID, "a channel id is not a video id"),
    ("https://www.youtube.com/shorts/", "no video id after /shorts/"),
    ("https://www.youtube.com/watch?v=", "no video id"),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ?t=1", "invalid character '?'"),
    ("https://www.youtube.com/playlist?list=PL123", "a playlist URL is not a video"),
    ("https://youtube-nocookie.com/", "URL has no video id"),
]


@pytest.mark.parametrize(("text", "expected"), CHANNEL_VALID)
def test_parse_channel_ref_valid(text: str, expected: ChannelRef) -> None:
    assert parse_channel_ref(text) == expected


@pytest.mark.parametrize(("text", "expected"), VIDEO_VALID)
def test_parse_video_id_valid(text: str, expected: str) -> None:
    assert parse_video_id(text) == expected


@pytest.mark.parametrize(("text", "fragment"), CHANNEL_INVALID)
def test_parse_channel_ref_invalid(text: str, fragment: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_channel_ref(text)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


@pytest.mark.parametrize(("text", "fragment"), VIDEO_INVALID)
def test_parse_video_id_invalid(text: str, fragment: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_video_id(text)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_invalid_reference_is_a_value_error() -> None:
    assert issubclass(InvalidReference, ValueError)


def test_non_string_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_channel_ref(None)  # type: ignore[arg-type]


def test_long_garbage_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidReference) as info:
        parse_channel_ref("@" + "!" * 500)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [(CID, True), (CID[:-1], False), ("UX" + CID[2:], False), (CID[:-1] + "!", False),
     (None, False), (VID, False)],
)  # fmt: skip
def test_is_channel_id(value: object, expected: bool) -> None:
    assert is_channel_id(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(VID, True), (VID2, True), (VID[:-1], False), (VID + "a", False), ("dQw4w9WgXc=", False),
     (123, False)],
)  # fmt: skip
def test_is_video_id(value: object, expected: bool) -> None:
    assert is_video_id(value) is expected


@pytest.mark.parametrize(
    ("ref", "shown"),
    [
        (ChannelRef("id", CID), CID),
        (ChannelRef("handle", "MKBHD"), "@MKBHD"),
        (ChannelRef("custom", "LinusTechTips"), "c/LinusTechTips"),
        (ChannelRef("username", "pewdiepie"), "user/pewdiepie"),
        (ChannelRef("video", VID), f"video:{VID}"),
    ],
)
def test_display_is_canonical(ref: ChannelRef, shown: str) -> None:
    assert ref.display() == shown
    assert str(ref) == shown
    assert parse_channel_ref(shown) == ref


def test_handles_compare_case_insensitively_by_key() -> None:
    assert parse_channel_ref("@MKBHD").key == parse_channel_ref("youtube.com/@mkbhd").key
    assert parse_channel_ref("@MKBHD") != parse_channel_ref("@mkbhd")  # case typed is kept
    assert ChannelRef("id", CID).key != ChannelRef("id", CID.lower()).key


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError):
        ChannelRef("playlist", "PL123")  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "expected"), CHANNEL_VALID)
def test_display_round_trips_every_valid_vector(text: str, expected: ChannelRef) -> None:
    ref = parse_channel_ref(text)
    assert parse_channel_ref(ref.display()) == ref
    assert parse_channel_ref(parse_channel_ref(ref.display()).display()) == ref


# -- property-style checks over generated references -----------------------------------

_ID_ALPHABET = string.ascii_letters + string.digits + "_-"
_HANDLE_ALPHABET = string.ascii_letters + string.digits + "_-." + "日本語ñéß"

_CHANNEL_TEMPLATES = [
    "{ref}",
    " {ref} ",
    "https://www.youtube.com/{path}",
    "http://youtube.com/{path}/",
    "m.youtube.com/{path}/videos",
    "https://music.youtube.com/{path}?si=abc123",
    "https://www.youtube.com/{path}/streams?feature=shared",
]
_VIDEO_TEMPLATES = [
    "{id}",
    "https://www.youtube.com/watch?v={id}",
    "https://www.youtube.com/watch?t=42s&v={id}&list=PL1",
    "https://youtu.be/{id}?si=xyz",
    "www.youtube.com/shorts/{id}",
    "https://www.youtube.com/live/{id}",
    "https://www.youtube.com/embed/{id}?start=5",
    "https://www.youtube-nocookie.com/embed/{id}",
    "m.youtube.com/watch?v={id}&feature=youtu.be",
]


def _random_refs(rng: random.Random, count: int) -> list[ChannelRef]:
    refs: list[ChannelRef] = []
    for _ in range(count):
        refs.append(ChannelRef("id", "UC" + "".join(rng.choices(_ID_ALPHABET, k=22))))
        handle = "".join(rng.choices(_HANDLE_ALPHABET, k=rng.randint(3, 30)))
        refs.append(ChannelRef("handle", handle))
    return refs


def test_generated_channel_refs_parse_in_every_url_form() -> None:
    rng = random.Random(20240601)
    for ref in _random_refs(rng, 200):
        path = f"channel/{ref.value}" if ref.kind == "id" else f"@{ref.value}"
        bare = ref.display()
        for template in _CHANNEL_TEMPLATES:
            text = template.format(ref=bare, path=path)
            assert parse_channel_ref(text) == ref, text
        assert parse_channel_ref(ref.display()) == ref


def test_generated_video_ids_parse_in_every_url_form() -> None:
    rng = random.Random(7)
    for _ in range(300):
        vid = "".join(rng.choices(_ID_ALPHABET, k=11))
        for template in _VIDEO_TEMPLATES:
            text = template.format(id=vid)
            assert parse_video_id(text) == vid, text
            if template != "{id}":
                assert parse_channel_ref(text) == ChannelRef("video", vid), text


def test_generated_wrong_length_ids_are_refused() -> None:
    rng = random.Random(11)
    for _ in range(200):
        length = rng.choice([n for n in range(1, 30) if n != 11])
        vid = "".join(rng.choices(_ID_ALPHABET, k=length))
        with pytest.raises(InvalidReference, match=f"got {length}"):
            parse_video_id(f"https://youtu.be/{vid}")
