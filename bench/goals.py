"""The issue's goals that `make bench` does not measure yet, said plainly as "NOT met".

Run: ``python bench/goals.py``.
"""

from __future__ import annotations

UNMEASURED = (
    "bursts: 50 chats at once on Slack (Telegram: bench/bursts.py), first-reply p99 <= 500 ms, "
    "action acknowledged p99 <= 300 ms",
    "framework floor: our handling p99 / bare python-telegram-bot (slack-bolt) echo p99 "
    "on the same fake server <= 2.5x",
    "scale-out: 2 serve processes + workers on PostgreSQL over 1, >= 1.8x events/s, "
    "0 errors, 0 duplicate sends",
)


def main() -> None:
    """Print each unmeasured goal."""
    for goal in UNMEASURED:
        print(f"{goal}: NOT met (no benchmark measures it yet)")


if __name__ == "__main__":
    main()
