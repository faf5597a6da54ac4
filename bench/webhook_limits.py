"""Benchmark: oversized unsigned POSTs to `/slack/events` against a real `supportbot serve`.

Starts the server (SQLite, Slack channel configured, no worker) in a subprocess, posts
unsigned 50 MB bodies (streamed, as an attacker would) six times, and prints for each the
status, the time to the answer, and the server's resident memory before and after. The
acceptance goal: 413 (or 401) in under a second, the server under 300 MB. Figures only;
the suite asserts the behaviour (status, body not read whole) without timing it.

Run: ``python bench/webhook_limits.py [--megabytes 50] [--posts 6]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
CHUNK = 256 * 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _body(megabytes: int) -> Iterator[bytes]:
    for _ in range(megabytes * 1024 * 1024 // CHUNK):
        yield b"x" * CHUNK


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--posts", type=int, default=6)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-limits-"))
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")},
        "SUPPORTBOT_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
        "SUPPORTBOT_SLACK_BOT_TOKEN": "xoxb-bench-token",
        "SUPPORTBOT_SLACK_SIGNING_SECRET": "bench-signing-secret-0123456789",
        "SUPPORTBOT_SLACK_API_URL": "http://127.0.0.1:9/api/",
        "SUPPORTBOT_RUN_WORKER_IN_SERVE": "false",
        "SUPPORTBOT_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "bot"]
    subprocess.run(
        [*command, "db", "upgrade"], env=env, cwd=folder, check=True, capture_output=True
    )
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        process = psutil.Process(server.pid)
        print(f"server memory at rest: {process.memory_info().rss / 2**20:.0f} MB")
        peak = 0.0
        with httpx.Client(timeout=30) as client:
            for n in range(1, args.posts + 1):
                started = time.perf_counter()
                try:
                    response = client.post(
                        f"{base}/slack/events",
                        content=_body(args.megabytes),
                        headers={"Content-Type": "application/json"},
                    )
                    status = str(response.status_code)
                except httpx.HTTPError as exc:  # the server may close the upload early
                    status = f"closed ({type(exc).__name__})"
                elapsed = time.perf_counter() - started
                rss = process.memory_info().rss / 2**20
                peak = max(peak, rss)
                print(
                    f"post {n}: {args.megabytes} MB unsigned → {status} in {elapsed:.3f} s; "
                    f"server {rss:.0f} MB"
                )
        print(f"peak server memory: {peak:.0f} MB (goal: under 300 MB)")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
