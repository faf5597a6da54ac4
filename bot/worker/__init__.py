"""The worker: SLA milestones become notifications, and notifications reach their channels.

- `dispatcher`: claims due milestone rows in batches (``BEGIN IMMEDIATE`` on SQLite,
  ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), re-checks each ticket, writes the outbox rows
  (idempotency keys per ticket, target and due instant; a breach once per ticket and
  target) and marks the rows done, in one transaction. It sleeps until the next due
  instant; a COMMIT in this process that schedules something sooner wakes it (`wake`), and
  it never sleeps longer than ``worker_max_sleep_seconds`` (default 5 s), the bound for
  rows written by other processes.
- `outbox`: one drainer per channel `Sender` (`senders`): short claim transaction, the
  platform call outside any transaction, short record transaction; pacing per chat and per
  channel (`pacing`), retries with exponential backoff and jitter or the platform's
  ``retry_after``, the dead letter after ``notify_max_attempts`` (ERROR log, a console
  message to every admin, counted by `supportbot notifications list`); held messages are
  released at their time.
- `escalation`: who hears a milestone, from the pack (`escalation` ladder and levels).
- `digest`: the managers' daily digest (``manager_daily_digest``).
- `console`: console messages wait for the console session (default) or go to a log.
- `clock`: every instant comes from an injectable clock (system, shifted/scaled, manual).
- `runner` / `plugin`: `supportbot worker`, ``python -m bot.worker``, and the worker
  inside `supportbot serve`.

The domain services never import this package: they publish database signals
(`bot.db.signals`) that the worker subscribes to (`wake`).
"""
