"""Request parameters of the Data API list methods: parts, maxResults, filters, page tokens.

Errors are raised as ``Bad`` carrying Google's error reply.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from .reply import Reply, google_error

PARTS = {
    "channels.list": {"auditDetails", "brandingSettings", "contentDetails",
                      "contentOwnerDetails", "id", "localizations", "snippet", "statistics",
                      "status", "topicDetails"},
    "playlistItems.list": {"contentDetails", "id", "snippet", "status"},
    "videos.list": {"contentDetails", "fileDetails", "id", "liveStreamingDetails",
                    "localizations", "paidProductPlacementDetails", "player",
                    "processingDetails", "recordingDetails", "snippet", "statistics",
                    "status", "suggestions", "topicDetails"},
    "search.list": {"id", "snippet"},
}
Params = dict[str, list[str]]


class Bad(Exception):
    def __init__(self, reply: Reply):
        self.reply = reply


def values(params: Params, name: str) -> list[str]:
    return [x.strip() for raw in params.get(name, []) for x in raw.split(",") if x.strip()]


def one(params: Params, name: str) -> str | None:
    vals = params.get(name)
    return vals[0] if vals else None


def parts(params: Params, endpoint: str) -> frozenset[str]:
    names = values(params, "part")
    if not names:
        raise Bad(google_error(400, "Required parameter: part", "required",
                               location="part"))
    for name in names:
        if name not in PARTS[endpoint]:
            raise Bad(google_error(400, f"'{name}'", "unknownPart", "youtube.part",
                                   location="part"))
    return frozenset(names)


def max_results(params: Params, low: int = 0, default: int = 5) -> int:
    raw = one(params, "maxResults")
    if raw is None:
        return default
    try:
        n = int(raw)
    except ValueError:
        n = -1
    if not low <= n <= 50:
        msg = f"Invalid value '{raw}'. Values must be within the range: [{low}, 50]"
        raise Bad(google_error(400, msg, "invalidParameter", location="maxResults"))
    return n


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    shift = n = 0
    while True:
        b = data[i]
        n |= (b & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not b & 0x80:
            return n, i


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def playlist_token(offset: int, backwards: bool = False) -> str:
    """Like real tokens: "EAAaBlBUOkNESQ" = {2: 0, 3: "PT:" + b64({1: 50})}."""
    inner = b"PT:" + base64.b64encode(b"\x08" + _varint(offset)).rstrip(b"=")
    return _b64(b"\x10" + (b"\x01" if backwards else b"\x00") + b"\x1a"
                + _varint(len(inner)) + inner)


def search_token(offset: int, backwards: bool = False) -> str:
    """Like real search tokens: "CAUQAA" = {1: 5, 2: 0}."""
    return _b64(b"\x08" + _varint(offset) + b"\x10" + (b"\x01" if backwards else b"\x00"))


def page_start(params: Params, size: int, search: bool) -> int:
    token = one(params, "pageToken")
    if not token:
        return 0
    try:
        data = _unb64(token)
        if search:
            offset, i = _read_varint(data, 1)
            back = data[i + 1]
        else:
            back = data[1]
            inner = data[4:].decode()
            if not inner.startswith("PT:"):
                raise ValueError(inner)
            b = inner[3:]
            offset, _ = _read_varint(base64.b64decode(b + "=" * (-len(b) % 4)), 1)
    except (ValueError, IndexError, UnicodeDecodeError):
        raise Bad(google_error(400, "The request specifies an invalid page token.",
                               "invalidPageToken", "youtube.parameter",
                               location="pageToken")) from None
    return max(0, offset - size) if back else offset


def item_playlist(item_id: str) -> str:
    """Playlist item ids are base64("<playlistId>.<16 hex>")."""
    try:
        raw = base64.b64decode(item_id + "=" * (-len(item_id) % 4), validate=True)
        return raw.decode().split(".")[0]
    except ValueError:  # binascii.Error and UnicodeDecodeError included
        return ""


def filters(params: Params, names: tuple[str, ...]) -> list[str]:
    return [n for n in names if one(params, n) not in (None, "")]


def no_filter(expected: str) -> Bad:
    msg = f"No filter selected. Expected one of: {expected}"
    return Bad(google_error(400, msg, "missingRequiredParameter", "youtube.parameter",
                            location="parameters.", location_type="other"))


def incompatible(names: list[str]) -> Bad:
    msg = f"Incompatible parameters specified in the request: {', '.join(names)}"
    return Bad(google_error(400, msg, "incompatibleParameters", "youtube.parameter",
                            location="parameters.", location_type="other"))


def unauthorized(name: str) -> Bad:
    msg = f"The request uses the <code>{name}</code> parameter but is not properly authorized."
    return Bad(google_error(401, msg, "authorizationRequired", "youtube.parameter",
                            location=name))


def ids(params: Params) -> list[str]:
    found = list(dict.fromkeys(values(params, "id")))
    if len(found) > 50:
        raise Bad(google_error(400, "The request specifies an invalid filter parameter.",
                               "invalidFilters", "youtube.parameter",
                               location="parameters.", location_type="other"))
    return found


def parse_time(params: Params, name: str) -> datetime | None:
    raw = one(params, name)
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    except ValueError:
        raise Bad(google_error(400, f"Invalid value '{raw}'.", "invalidParameter",
                               location=name)) from None
