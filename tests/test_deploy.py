"""What `deploy/` gives an operator holds against the code: every query of the Grafana dashboard and of the
Prometheus alert rules names a metric that `/metrics` of mila really serves, and the alerts worth having are there."""

from __future__ import annotations

import json
import re

import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.config import PROJECT_ROOT
from bot.health import Parts, ok
from bot.metrics import Metrics
from bot.server import build_web_app
from bot.workers import Supervisor
from tests.conftest import AppFactory

DEPLOY = PROJECT_ROOT / "deploy"
_METRIC = re.compile(r"\b(mila_[a-z0-9_]+)")
_SUFFIXES = {
    "counter": ("",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
}


async def served_metric_names(make_app: AppFactory) -> set[str]:
    """The series names /metrics of a running app serves (its own output, not the code's idea of it)."""
    app = await make_app("rs")
    metrics = Metrics()
    parts, supervisor = Parts(metrics), Supervisor(metrics)
    parts.report("telegram", [ok("telegram", "token valid")])
    async with TestClient(TestServer(build_web_app(app, metrics, [], parts, supervisor))) as client:
        response = await client.get("/metrics")
        assert response.status == 200
        body = await response.text()
    names: set[str] = set()
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names.update(name + suffix for suffix in _SUFFIXES.get(kind, ("",)))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads((DEPLOY / "grafana" / "mila-dashboard.json").read_text(encoding="utf-8"))
    queries: list[tuple[str, str]] = []
    for panel in dashboard["panels"]:
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        queries.extend((panel["title"], target["expr"]) for target in panel["targets"])
    return queries


def alert_rules() -> dict[str, str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "mila-alerts.yml").read_text(encoding="utf-8"))
    return {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}


async def test_every_dashboard_query_names_a_metric_mila_serves(make_app: AppFactory) -> None:
    served = await served_metric_names(make_app)
    queries = dashboard_queries()
    named = {name for _, expr in queries for name in _METRIC.findall(expr)}
    assert len(named) >= 15  # the dashboard covers the service, not one panel
    for title, expr in queries:
        names = _METRIC.findall(expr)
        assert names, f"{title!r}: {expr} names no mila metric"
        unknown = [name for name in names if name not in served]
        assert not unknown, f"{title!r}: {unknown} are not served by /metrics"


async def test_every_alert_names_a_metric_mila_serves_and_the_needed_ones_are_there(make_app: AppFactory) -> None:
    served = await served_metric_names(make_app)
    rules = alert_rules()
    for name in ("MilaWorkerDead", "MilaOutboxBacklog", "MilaDeskBacklog", "MilaTelegram429",
                 "MilaIdentificationGuessing", "MilaIdentificationAlarm", "MilaPartStopped"):  # fmt: skip
        assert name in rules, f"no alert {name}"
    for alert, expr in rules.items():
        names = _METRIC.findall(expr)
        assert names or expr.startswith("up{"), f"{alert}: {expr}"
        assert all(name in served for name in names), f"{alert}: {names} not all served by /metrics"


def test_the_systemd_unit_and_the_proxy_expose_what_they_should() -> None:
    unit = (DEPLOY / "systemd" / "mila@.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/mila/.venv/bin/mila run" in unit and "HTTP_PORT=%i" in unit and "KillSignal=SIGTERM" in unit
    proxy = (DEPLOY / "nginx" / "mila.conf").read_text(encoding="utf-8")
    public = set(re.findall(r"location\s+(?:=\s*)?(/\S*)", proxy))
    assert public == {"/webhook/telegram", "/webhook/viber", "/support/media/", "/"}
    assert "location / { return 404; }" in proxy  # /healthz, /metrics and the console stay off the internet
