"""The response value handlers return, and Google's error body."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

JSON = "application/json; charset=UTF-8"
HTML = "text/html; charset=utf-8"
XML = "text/xml; charset=UTF-8"

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
           404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)


def dumps(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def google_error(code: int, message: str, reason: str, domain: str = "global",
                 location: str | None = None, location_type: str | None = None,
                 details: list | None = None) -> Reply:
    """``{"error": {code, message, errors: [{message, domain, reason, ...}], status}}`` with
    ``<``/``>`` written as ``\\u003c``/``\\u003e`` the way Google's front end does."""
    err: dict = {"message": message, "domain": domain, "reason": reason}
    if location is not None:
        err["location"] = location
        err["locationType"] = location_type or "parameter"
    body: dict = {"code": code, "message": message, "errors": [err],
                  "status": _STATUS.get(code, "UNKNOWN")}
    if details:
        body["details"] = details
    text = json.dumps({"error": body}, indent=2)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e")
    return Reply(code, (text + "\n").encode("utf-8"))
