"""The redaction of log records keeps the shape formatters rely on."""

from __future__ import annotations

import logging

from uvicorn.logging import AccessFormatter

from bot.redact import install


def test_an_access_log_record_still_formats_after_redaction() -> None:
    install(extra=["s3cr3t-token-value"])
    record = logging.getLogRecordFactory()(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/healthz", "1.1", 200),
        None,
    )
    line = AccessFormatter("%(client_addr)s %(request_line)s %(status_code)s").format(record)
    assert "GET /healthz HTTP/1.1" in line


def test_a_secret_in_an_argument_is_masked_and_the_record_keeps_its_arguments() -> None:
    install(extra=["s3cr3t-token-value"])
    record = logging.getLogRecordFactory()(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/hook?t=s3cr3t-token-value", "1.1", 200),
        None,
    )
    assert isinstance(record.args, tuple)
    assert "s3cr3t-token-value" not in record.getMessage()
    line = AccessFormatter("%(request_line)s %(status_code)s").format(record)
    assert "s3cr3t-token-value" not in line
