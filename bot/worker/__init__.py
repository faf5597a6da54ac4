"""The worker: the SLA milestone dispatcher, the outbox senders, escalation and digests.

`bot.worker.wake` is imported by the domain services (it imports nothing from `bot`); the
rest is imported by the runner, the CLI and the HTTP app.
"""
