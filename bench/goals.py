"""Every performance goal of the desk, with its verdict from the last `make bench`.

`make bench` saves each benchmark's output under ``var/bench/NAME.txt``; this reads them and
prints, per goal, "met" only when every line the benchmark printed for it says "met" and it
ran at the goal's size, "NOT met" otherwise, and "NOT met (not measured)" when no output
holds it (the benchmark was not run, or failed before printing it). It then quotes the lines.

Run: ``python bench/goals.py [--results var/bench]``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Goal:
    """One goal: what it asks, which output holds it, and how its lines begin."""

    text: str
    bench: str
    marks: tuple[str, ...]  # a line of the goal holds all of these
    command: str
    size: str = ""  # the output holds this when it ran at the goal's size


GOALS = (
    Goal(
        "reads: p99 <= 50 ms at 100,000 open tickets (SQLite and PostgreSQL)",
        "reads",
        ("reads:", "p99 at"),
        "python bench/reads.py --postgres",
        "100,000 =",
    ),
    Goal(
        "reads: growth of p99 from 100 to 100,000 open tickets <= 3x",
        "reads",
        ("reads:", "growth"),
        "python bench/reads.py --postgres",
        "100,000 =",
    ),
    Goal(
        "reads: concurrent writes during the reads never fail",
        "reads",
        ("reads: concurrent writes",),
        "python bench/reads.py --postgres",
    ),
    Goal(
        "bursts: Telegram, 50 chats at once, first reply p99 <= 500 ms",
        "bursts",
        ("bursts: Telegram first reply",),
        "python bench/bursts.py",
        "bursts: 50 chats at once",
    ),
    Goal(
        "bursts: Telegram, 50 chats at once, callback answered p99 <= 300 ms",
        "bursts",
        ("bursts: Telegram callback answered",),
        "python bench/bursts.py",
        "bursts: 50 chats at once",
    ),
    Goal(
        "bursts: Slack, 50 users at once, first reply p99 <= 500 ms",
        "bursts",
        ("bursts: Slack first reply",),
        "python bench/bursts.py",
        "bursts: 50 chats at once",
    ),
    Goal(
        "bursts: Slack, 50 users at once, block action acknowledged p99 <= 300 ms",
        "bursts",
        ("bursts: Slack block action",),
        "python bench/bursts.py",
        "bursts: 50 chats at once",
    ),
    Goal(
        "framework floor: our p99 / bare python-telegram-bot echo p99 <= 2.5x",
        "floor",
        ("floor: Telegram",),
        "python bench/floor.py",
        "floor: 50 chats at once",
    ),
    Goal(
        "framework floor: our p99 / bare slack-bolt echo p99 <= 2.5x",
        "floor",
        ("floor: Slack",),
        "python bench/floor.py",
        "floor: 50 chats at once",
    ),
    Goal(
        "dispatcher: lateness p99 <= 250 ms, 100,000 open tickets, 1,000,000 milestone rows",
        "milestones",
        ("dispatch lateness",),
        "python bench/milestones.py",
        "built 100000 open tickets",
    ),
    Goal(
        "dispatcher: peak RSS <= 300 MB",
        "milestones",
        ("peak RSS",),
        "python bench/milestones.py",
        "built 100000 open tickets",
    ),
    Goal(
        "scale-out: 2 serve processes + workers on PostgreSQL >= 1.8x events/s of 1, "
        "0 errors, 0 duplicate sends",
        "scaleout",
        ("scale-out: 2 processes / 1",),
        "python bench/scaleout.py",
    ),
)


def verdicts(results: Path) -> list[tuple[Goal, str, list[str]]]:
    """Each goal, its verdict and the lines it rests on."""
    out = []
    for goal in GOALS:
        path = results / f"{goal.bench}.txt"
        text = path.read_text(errors="replace") if path.exists() else ""
        lines = [
            line.strip()
            for line in text.splitlines()
            if all(mark in line for mark in goal.marks) and line.rstrip().endswith("met")
        ]
        if not lines:
            verdict = "NOT met (not measured)"
        elif any(line.endswith("NOT met") for line in lines):
            verdict = "NOT met"
        elif goal.size and goal.size not in text:
            verdict = "NOT met (measured at a smaller size than the goal's)"
        else:
            verdict = "met"
        out.append((goal, verdict, lines))
    return out


def main() -> int:
    """Print every goal with its verdict and figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "var" / "bench")
    args = parser.parse_args()
    print(f"Goals (outputs in {args.results}):")
    for goal, verdict, lines in verdicts(args.results):
        print(f"- {goal.text}: {verdict}   [{goal.command}]")
        for line in lines:
            print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
