from __future__ import annotations

import io
import json
import logging

import structlog

from tubesensei.logging import MASK, SecretMasker, configure_logging


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_have_standard_fields_and_mask_secrets() -> None:
    out = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=out, secrets=["AIzaSyTopSecret0123"])
    log = structlog.get_logger("tubesensei.test")
    log.info(
        "calling",
        url="https://youtube.googleapis.com/youtube/v3/channels?part=id&key=AIzaSyTopSecret0123",
        note="key is AIzaSyTopSecret0123",
        api_key="AIzaSyTopSecret0123",
        proxy="http://user:pw1234@proxy:3128",
        nested={"password": "hunter2", "fine": "ok"},
        next_page_token="CDIQAA",
    )
    (event,) = lines(out)
    assert {"timestamp", "level", "logger", "event"} <= set(event)
    assert event["level"] == "info" and event["logger"] == "tubesensei.test"
    assert "AIzaSyTopSecret0123" not in out.getvalue()
    assert "pw1234" not in out.getvalue() and "hunter2" not in out.getvalue()
    assert event["url"].endswith("key=" + MASK)
    assert event["nested"] == {"password": MASK, "fine": "ok"}
    assert event["next_page_token"] == "CDIQAA"


def test_stdlib_loggers_are_masked_too() -> None:
    out = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", stream=out, secrets=["sekret-value-9"])
    logging.getLogger("googleapiclient.http").warning(
        "retrying GET https://x/y?key=sekret-value-9&part=snippet"
    )
    logging.getLogger("some.lib").error("proxy http://a:sekret-value-9@h:1 failed")
    text = out.getvalue()
    assert "sekret-value-9" not in text
    assert len(lines(out)) == 2


def test_exceptions_are_rendered_and_masked() -> None:
    out = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=out, secrets=["zzzsecretzzz"])
    try:
        raise RuntimeError("boom with zzzsecretzzz")
    except RuntimeError:
        structlog.get_logger("t").exception("failed")
    (event,) = lines(out)
    assert "RuntimeError" in event["exception"] and "zzzsecretzzz" not in out.getvalue()


def test_console_renderer_and_level_filter() -> None:
    out = io.StringIO()
    configure_logging(level="WARNING", fmt="console", stream=out, secrets=["abcdefgh"])
    log = structlog.get_logger("t")
    log.info("hidden")
    log.warning("shown", token="abcdefgh")
    text = out.getvalue()
    assert "hidden" not in text and "shown" in text and "abcdefgh" not in text


def test_file_output(tmp_path) -> None:
    target = tmp_path / "logs" / "x.log"
    configure_logging(level="INFO", fmt="json", file=target, secrets=[])
    structlog.get_logger("t").info("to-file", n=1)
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert json.loads(target.read_text().splitlines()[-1])["event"] == "to-file"


def test_masker_values() -> None:
    m = SecretMasker(["s3cr3t!"])
    assert m.mask_value("x", ("s3cr3t!", 1)) == (MASK, 1)
    assert m.mask_value("api_key", "") == ""
    assert m.mask_value("err", ValueError("bad s3cr3t!")) == f"ValueError: bad {MASK}"


def test_line_budget_logs_lines_while_readable_then_a_summary() -> None:
    from tubesensei.logging import LineBudget

    out = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=out)
    log = structlog.get_logger("tubesensei.test")
    budget = LineBudget(log, "not logged one by one", rate=0.0, burst=3, every=3600)
    allowed = [budget.allow("completed") for _ in range(5)]
    assert allowed == [True, True, True, False, False]
    budget.summary()  # not due yet
    assert lines(out) == []
    budget.summary(force=True)
    (event,) = lines(out)
    assert event["event"] == "not logged one by one" and event["completed"] == 2
    budget.summary(force=True)  # nothing counted since: nothing to say
    assert len(lines(out)) == 1
