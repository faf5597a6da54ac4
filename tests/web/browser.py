"""Headless Chromium for the dashboard's end-to-end tests, and a server on 127.0.0.1.

Chromium and its driver are Debian's `chromium` and `chromium-driver`, installed by
`make setup` when missing (as root, with apt). Without them the tests skip, naming them.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = ("chromedriver", "chromium-driver")


def _which(names: tuple[str, ...], *paths: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return next((path for path in paths if Path(path).exists()), None)


def start_chromium() -> Any:
    """A headless Chromium driven by Selenium, or a skip naming what is missing."""
    browser = _which(CHROMIUM)
    driver = _which(DRIVER, "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
    if browser is None or driver is None:
        pytest.skip(
            "headless browser tests need Debian's chromium and chromium-driver "
            "(`make setup` installs them as root: apt-get install -y chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=420,900",  # a phone's width: the pages must work there
        "--lang=en",
    ):
        options.add_argument(flag)
    options.binary_location = browser
    return webdriver.Chrome(service=Service(driver), options=options)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1:`port` in a thread; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ready = threading.Event()
    while not ready.wait(0.05):  # the server flips `started` once it listens
        if server.started:
            ready.set()
        elif not thread.is_alive():
            raise RuntimeError("the test server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
