"""Prometheus metrics of one `mila run` process, served at `/metrics`.

Each process has its own registry (not prometheus_client's global one) so tests and benchmarks can build several
applications in one interpreter without "duplicated timeseries" errors. Labels never carry a user id or text.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.services.guard_events import GuardEvents

# Outcomes of one update, the `outcome` label of `mila_updates_total`.
HANDLED = "handled"  # the turn ran and its replies went out
DUPLICATE = "duplicate"  # seen before (re-delivery): no second effect
IGNORED = "ignored"  # nothing for the bot (edited message, group chat, service message)
FAILED = "failed"  # not processed (Redis down, user busy): it must come back
REJECTED = "rejected"  # refused before parsing (bad secret, too large, malformed)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.updates = Counter(
            "mila_updates", "Updates received, by channel and outcome", ["channel", "outcome"], registry=self.registry
        )
        self.latency = Histogram(
            "mila_update_seconds",
            "Time from receiving an update to its replies being sent",
            ["channel"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
            registry=self.registry,
        )
        self.sent = Counter(
            "mila_messages_sent", "Messenger API calls that delivered something", ["channel", "method"],
            registry=self.registry,
        )  # fmt: skip
        self.rate_limit_waits = Counter(
            "mila_rate_limit_waits", "Times sending paused for the platform's rate limit", ["channel"],
            registry=self.registry,
        )  # fmt: skip
        self.errors = Counter("mila_errors", "Errors by channel and kind", ["channel", "kind"], registry=self.registry)
        self.guards = Counter(
            "mila_identification_guard", "What the identification guards did: failures, refusals, locks, alarms",
            ["event"], registry=self.registry,
        )  # fmt: skip

        # The parts of the service and its background workers (bot.health, bot.workers).
        self.part_up = Gauge(
            "mila_part_up", "1 when a part of the service passed its start-up check and runs, 0 when it is stopped",
            ["part"], registry=self.registry,
        )  # fmt: skip
        self.worker_up = Gauge(
            "mila_worker_up", "1 while a background worker task runs, 0 while it is dead (until its restart)",
            ["worker"], registry=self.registry,
        )  # fmt: skip
        self.worker_last_success = Gauge(
            "mila_worker_last_success_timestamp_seconds", "Unix time of a worker's last pass that did its work",
            ["worker"], registry=self.registry,
        )  # fmt: skip
        self.worker_restarts = Counter(
            "mila_worker_restarts", "Times a worker task died (an error, or killed) and was started again",
            ["worker"], registry=self.registry,
        )  # fmt: skip
        # Backlogs, read from the database and Redis when /metrics is scraped: the same in every process.
        self.outbox_pending = Gauge(
            "mila_outbox_pending", "Orders (outbox=orders) or e-mails (outbox=mail) not delivered yet",
            ["outbox"], registry=self.registry,
        )  # fmt: skip
        self.outbox_oldest = Gauge(
            "mila_outbox_oldest_pending_seconds", "Age of the oldest row not delivered yet (0 when none waits)",
            ["outbox"], registry=self.registry,
        )  # fmt: skip
        self.outbox_failed = Gauge(
            "mila_outbox_failed", "Rows given up (kept, see `mila outbox list --failed`)", ["outbox"],
            registry=self.registry,
        )  # fmt: skip
        self.desk_pending = Gauge(
            "mila_desk_pending_posts", "Posts waiting in the relay queue of a support group", ["group"],
            registry=self.registry,
        )  # fmt: skip
        self.desk_behind = Gauge(
            "mila_desk_behind_seconds", "How long the oldest waiting post of a support group has waited", ["group"],
            registry=self.registry,
        )  # fmt: skip
        self.desk_waiting_tickets = Gauge(
            "mila_desk_waiting_tickets", "Support tickets waiting for an operator", registry=self.registry
        )
        self.identification_failures = Gauge(
            "mila_identification_failures", "Failed identification attempts in the current lockout window, all chats",
            registry=self.registry,
        )  # fmt: skip
        self.identification_alarm = Gauge(
            "mila_identification_alarm",
            "1 while the failures of all chats are over MILA_LOCKOUT_TOTAL (many chats guessing; nobody is paused)",
            registry=self.registry,
        )  # fmt: skip

    def watch(self, events: GuardEvents) -> None:
        """Count what the identification guards of this process do (their events are words, never a user)."""
        events.listen(lambda event: self.guards.labels(event).inc())

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
