"""Logging: one format for every process (text, or JSON lines with HUB_LOG_FORMAT=json),
secrets and tracking tokens redacted from every line, quiet libraries, business events as
fields. Records are captured for real (caplog, or the hub's own handler on standard error),
and one test reads the access log of a real gunicorn."""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses

from hub import logs, secrets
from hub.errors import ConfigError, PermanentError
from hub.settings import load_settings
from hub.stock import sync
from tests.conftest import (
    QUIET_ROYALMAIL,
    ROOT,
    SHOPIFY_SECRET,
    WOO_SECRET,
    accounts_fixture,
    free_port,
    receive,
    shipped_order,
)
from tests.processes import HUB, hub_env, serving
from tests.shipping.test_fulfilment import FakeShop
from tests.stock.test_stock_sync import STORE, FakeStore

accounts_file = accounts_fixture(QUIET_ROYALMAIL)
BIN = Path(sys.executable).parent
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\w+) (\S+) (.*)$")


@pytest.fixture
def stderr_logs(capsys) -> Iterator:
    """Configure the hub's logging as a process would; ``read()`` gives what it wrote.
    The text format at INFO is put back afterwards."""

    def configure(**settings: str):
        logs.configure(load_settings(settings, environ={}))
        capsys.readouterr()

    def read() -> str:
        return capsys.readouterr().err

    configure.read = read  # type: ignore[attr-defined]
    yield configure
    logs.configure(load_settings({"log_level": "INFO"}, environ={}))


# -- one format -------------------------------------------------------------------------------


def test_text_lines_are_time_level_logger_message_and_fields(stderr_logs):
    stderr_logs()
    logging.getLogger("hub.translation").info(
        "order translated", extra={"order": 12, "external_id": "450789469", "note": "two words"}
    )
    [line] = stderr_logs.read().splitlines()
    match = TEXT_LINE.match(line)
    assert match, line
    assert match.groups() == (
        "INFO",
        "hub.translation",
        'order translated order=12 external_id=450789469 note="two words"',
    )


def test_json_lines_carry_utc_time_level_logger_message_and_extra_fields(stderr_logs):
    stderr_logs(log_format="json")
    log = logging.getLogger("hub.inbox")
    log.info("delivery received", extra={"account": "shop-a", "delivery": 7})
    try:
        raise ValueError("bad payload")
    except ValueError:
        log.exception("translation failed")
    first, second = (json.loads(line) for line in stderr_logs.read().splitlines() if line[0] == "{")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first.pop("time"))
    assert first == {
        "level": "INFO",
        "logger": "hub.inbox",
        "message": "delivery received",
        "account": "shop-a",
        "delivery": 7,
    }
    assert second["level"] == "ERROR" and "ValueError: bad payload" in second["exception"]


def test_the_format_setting_reads_environment_then_file_and_refuses_others(tmp_path):
    assert load_settings(environ={}).log_format == "text"
    config = tmp_path / "hub.toml"
    config.write_text('[settings]\nlog_format = "json"\n')
    assert load_settings(environ={"HUB_CONFIG": str(config)}).log_format == "json"
    env = {"HUB_CONFIG": str(config), "HUB_LOG_FORMAT": "text"}
    assert load_settings(environ=env).log_format == "text"
    with pytest.raises(ConfigError, match="log_format must be text or json"):
        load_settings(environ={"HUB_LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="log_level must be one of"):
        logs.configure(load_settings({"log_level": "LOUD"}, environ={}))


def test_apscheduler_says_only_warnings_unless_the_hub_logs_at_debug(stderr_logs):
    stderr_logs()
    sched = logging.getLogger("apscheduler.scheduler")
    sched.info("Added job 'stock.sync' to job store 'default'")
    sched.warning("Run time of job was missed")
    out = stderr_logs.read()
    assert "Added job" not in out and "Run time of job was missed" in out
    stderr_logs(log_level="DEBUG")
    sched.info("Added job 'stock.sync'")
    assert "Added job" in stderr_logs.read()


def test_configuring_twice_keeps_one_handler(stderr_logs):
    stderr_logs()
    stderr_logs()
    logging.getLogger("hub").warning("once")
    assert stderr_logs.read().count("once") == 1


# -- redaction --------------------------------------------------------------------------------


def test_registered_secrets_are_scrubbed_in_any_case(caplog):
    secret = "Sk-" + uuid.uuid4().hex  # mixed case, unique to this test
    secrets.register([secret])
    secrets.install_logging()
    with caplog.at_level(logging.INFO, logger="hub.http"):
        log = logging.getLogger("hub.http")
        log.info("echoed %s, %s and %s", secret, secret.upper(), secret.lower())
    [record] = caplog.records
    assert secret.lower() not in record.getMessage().lower()
    assert record.getMessage() == "echoed [redacted], [redacted] and [redacted]"
    assert secrets.scrub(f"error: {secret.swapcase()}") == "error: [redacted]"


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("Authorization: Bearer eyJhbGciOi.J9x-y", "Authorization: Bearer [redacted]"),
        ("authorization: basic dXNlcjpwYXNz", "authorization: basic [redacted]"),
        ("AUTHORIZATION=sk_live_51H", "AUTHORIZATION=[redacted]"),
        ("sent bearer abc.def", "sent bearer [redacted]"),
        (
            "GET /orders.json?access_token=shpat_9&limit=5",
            "GET /orders.json?access_token=[redacted]&limit=5",
        ),
        ("refresh Token=Zz9 and API_KEY=k-1", "refresh Token=[redacted] and API_KEY=[redacted]"),
        ('{"password": "hunter2", "n": 1}', '{"password": "[redacted]", "n": 1}'),
        ('{"Client_Secret": "a\\"b", "ok": "x"}', '{"Client_Secret": "[redacted]", "ok": "x"}'),
        ("{'api_key': 'k'}", "{'api_key': '[redacted]'}"),
        ("X-Shopify-Access-Token: shpat_1", "X-Shopify-Access-Token: [redacted]"),
        ("secret=s3 passwd=p4", "secret=[redacted] passwd=[redacted]"),
        (
            '"GET /track/Ab_c-9?format=json HTTP/1.1"',
            '"GET /track/[redacted]?format=json HTTP/1.1"',
        ),
        ("3 tokens refreshed; password too short", "3 tokens refreshed; password too short"),
    ],
)
def test_credential_shaped_values_are_redacted_from_log_records(caplog, message, shown):
    secrets.install_logging()
    with caplog.at_level(logging.INFO, logger="hub.test"):
        logging.getLogger("hub.test").info("%s", message)
    [record] = caplog.records
    assert record.getMessage() == shown
    assert caplog.text.rstrip().endswith(shown)


def test_every_credential_pattern_needs_a_word_the_gate_looks_for():
    """``redact`` skips its patterns on a line without any gate word, so a pattern that
    could match without one would be skipped too: each pattern's own match, on its own, must
    hold a gate word, and a plain access line holds none."""
    samples = [
        "Bearer x", "bEaReR x", "Authorization: x", "authorization='x'", "X-Api-Key: x",
        "X-Apikey: x", "X-Auth-Token: x", '"my_secret": "x"', "'passwd': 'x'", "api-key=x",
        "TOKEN=x", "pass_password=x", "/track/x",
    ]  # fmt: skip
    for pattern, _ in secrets._PATTERNS:
        matches = [m[0] for m in map(pattern.search, samples) if m]
        assert matches, f"no sample for {pattern.pattern}"
        for match in matches:
            assert secrets.gated(match), (pattern.pattern, match)
    plain = "POST /webhooks/shop-a 202 remote=127.0.0.1 bytes=89 ms=3 agent=curl/8"
    assert not secrets.gated(plain)
    assert secrets.redact(plain) == plain


def test_text_values_are_bare_or_quoted_json_and_times_cut_to_the_millisecond():
    from hub.logs import _text_value, timestamp

    values = (True, False, 7, -1, None, 1.5, "a-b", "", "two words", 'a="b"', {"k": [1]})
    assert [_text_value(v) for v in values] == [
        "true", "false", "7", "-1", "null", "1.5", "a-b", '""', '"two words"',
        '"a=\\"b\\""', '"{\\"k\\": [1]}"',
    ]  # fmt: skip
    record = logging.LogRecord("x", logging.INFO, "", 0, "m", (), None)
    record.created = 1_765_000_000.9996  # cut, never rounded up into the next second
    assert timestamp(record) == "2025-12-06T05:46:40.999Z"
    record.created = 1_765_000_000.0
    assert timestamp(record) == "2025-12-06T05:46:40.000Z"


def test_fields_and_tracebacks_are_redacted_too(stderr_logs):
    stderr_logs(log_format="json")
    log = logging.getLogger("hub.fulfilment")
    try:
        raise RuntimeError("refused: Authorization: Bearer tok-123")
    except RuntimeError:
        log.exception("push failed", extra={"page": "https://hub.example/track/Secret-Token"})
    out = stderr_logs.read()
    assert "tok-123" not in out and "Secret-Token" not in out
    assert json.loads(out.splitlines()[-1])["page"] == "https://hub.example/track/[redacted]"


def test_the_redacted_path_is_the_tracking_pages_route(app):
    """If the tracking page moves, the redaction must move with it."""
    rules = [r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("track.")]
    assert rules and all(r.startswith("/track/<") for r in rules), rules


# -- business events --------------------------------------------------------------------------


def _json_lines(text: str) -> list[dict]:
    """The JSON log lines in ``text``, each without its time (which is checked once, above)."""
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    for line in lines:
        line.pop("time")
    return lines


#: every secret of this module's accounts (ACCOUNTS and QUIET_ROYALMAIL)
SECRETS = (
    SHOPIFY_SECRET,
    "shop-a-old-secret",
    "shpat_test",
    WOO_SECRET,
    "ck_test",
    "cs_test",
    "rm-secret-0123456789",
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_shipment_pushed_to_the_channel_is_logged_with_its_fields(
    hub, client, worker, viewer, editor, stderr_logs
):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        shop = FakeShop(mock)
        order = shipped_order(hub, client, worker, viewer, editor)
        stderr_logs(log_format="json", log_level="DEBUG")
        worker.drain()
        out = stderr_logs.read()
    assert shop.kinds() == ["FulfilmentCheck", "FulfilmentOrders", "FulfilmentCreate"]
    [pushed] = [line for line in _json_lines(out) if line["message"] == "shipment pushed"]
    assert pushed == {
        "level": "INFO",
        "logger": "hub.fulfilment",
        "message": "shipment pushed",
        "order": order["id"],
        "account": "shop-a",
        "carrier": "royalmail",
        "tracking": "TT123456785GB",
        "channel_ref": "gid://shopify/Fulfillment/1",
        "complete": True,
    }
    # the Admin API token went out with every call; no line says it, nor the page's token
    token = order["tracking_page"].rsplit("/track/", 1)[1]
    assert not [s for s in (*SECRETS, token) if s.lower() in out.lower()]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_stock_pass_is_logged_with_its_counts(hub, stderr_logs):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        store = FakeStore(mock, STORE, 3, level=2)
        receive(hub, "SKU-0000", 5)
        stderr_logs(log_format="json", log_level="DEBUG")
        report = sync.sync_account(hub, hub.accounts["woo-a"], "delta")
        out = stderr_logs.read()
    assert sorted(store.pushed()) == [("SKU-0000", 5), ("SKU-0001", 0), ("SKU-0002", 0)]
    [passed] = [line for line in _json_lines(out) if line["message"] == "stock pass"]
    assert passed == {
        "level": "INFO",
        "logger": "hub.stock_sync",
        "message": "stock pass",
        "account": "woo-a",
        "mode": "delta",
        "checked": 3,
        "pushed": 3,
        "skipped": 0,
        "calls": 1,
        "errors": 0,
        "failed": None,
    }
    assert (report.checked, report.pushed, report.calls) == (3, 3, 1)
    assert not [s for s in SECRETS if s.lower() in out.lower()]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_refused_stock_pass_is_logged_with_the_reason_and_no_secret(hub, stderr_logs):
    """The store answers the batch with a 400 that quotes the consumer secret and a bearer
    token: the pass fails, and its line gives the reason with neither."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        FakeStore(mock, STORE, 1, level=2)
        receive(hub, "SKU-0000", 1)
        sync.sync_account(hub, hub.accounts["woo-a"], "full")
        echo = {"code": "bad", "message": "cs_test rejected; Authorization: Bearer tok-42"}
        mock.replace(responses.POST, f"{STORE}/products/batch", status=400, json=echo)
        receive(hub, "SKU-0000", 3)
        stderr_logs(log_format="json", log_level="DEBUG")
        with pytest.raises(PermanentError):
            sync.sync_account(hub, hub.accounts["woo-a"], "dirty")
        out = stderr_logs.read()
    [passed] = [line for line in _json_lines(out) if line["message"] == "stock pass"]
    assert passed == {
        "level": "INFO",
        "logger": "hub.stock_sync",
        "message": "stock pass",
        "account": "woo-a",
        "mode": "dirty",
        "checked": 1,
        "pushed": 0,  # the one call was refused whole
        "skipped": 1,
        "calls": 1,
        "errors": 0,
        "failed": f"PermanentError: POST {STORE}/products/batch: HTTP 400: "
        '{"code": "bad", "message": "[redacted] rejected; Authorization: Bearer [redacted]"}',
    }
    assert "cs_test" not in out and "tok-42" not in out


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_order_in_and_translated_is_logged_with_its_fields(
    hub, client, worker, viewer, editor, caplog
):
    caplog.set_level(logging.INFO)
    order = shipped_order(hub, client, worker, viewer, editor)
    events = {r.getMessage(): logs.fields(r) for r in caplog.records if r.name.startswith("hub")}
    received = events["delivery received"]
    assert received["account"] == "shop-a" and received["topic"] == "orders/create"
    assert received["delivery"]
    translated = events["order translated"]
    assert translated["order"] == order["id"]
    assert translated["external_id"] == order["external_id"]
    assert translated["status"]


# -- a real server ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("how", ["hub web", "gunicorn wsgi:app"])
def test_a_real_servers_access_log_has_no_tracking_token(
    hub, client, worker, viewer, editor, tmp_path, how
):
    order = shipped_order(hub, client, worker, viewer, editor)
    token = order["tracking_page"].rsplit("/track/", 1)[1]
    port = free_port()
    env = hub_env(hub.settings, HUB_LOG_LEVEL="INFO", HUB_LOG_FORMAT="json")
    if how == "hub web":
        args = [HUB, "web", "--port", str(port), "--workers", "1"]
    else:  # as DESIGN says it runs, from the repository with its gunicorn.conf.py
        args = [str(BIN / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"]
    log_path = tmp_path / "server.log"
    with serving(args, env, log_path, port, cwd=ROOT):
        base = f"http://127.0.0.1:{port}"
        page = requests.get(f"{base}/track/{token}?access_token=abc123xyz", timeout=5)
        assert page.status_code == 200
    text = log_path.read_text()
    assert token not in text and "abc123xyz" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert lines and all(line.keys() >= {"time", "level", "logger", "message"} for line in lines)
    [access] = [
        line
        for line in lines
        if line["logger"] == "gunicorn.access" and "/track/" in line["message"]
    ]
    assert access["message"] == "GET /track/[redacted]?access_token=[redacted] 200"
    assert access["remote"] == "127.0.0.1" and isinstance(access["ms"], int)
    assert any(line["logger"] == "gunicorn.error" for line in lines)  # "Booting worker"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_delivery_that_cannot_be_translated_is_logged_with_the_reason(
    hub, client, worker, caplog
):
    from tests.conftest import shopify_headers

    caplog.set_level(logging.INFO, logger="hub")
    body = b"{not json"
    assert (
        client.post("/webhooks/shop-a", data=body, headers=shopify_headers(body)).status_code == 202
    )
    worker.drain()
    [failed] = [logs.fields(r) for r in caplog.records if r.getMessage() == "translation failed"]
    assert failed["account"] == "shop-a" and failed["delivery"]
    assert failed["reason"].startswith("body is not valid JSON")
