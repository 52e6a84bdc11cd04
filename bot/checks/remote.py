"""The services mila delivers to: the mail server, the provisioning endpoint, the SMS gateway.

Nothing reaches a subscriber or a department. The mail server is asked to take the sender (`MAIL FROM`) and the
conversation is reset before any recipient or content. The provisioning endpoint and the SMS gateway get a
**probe**: a POST with `X-Mila-Probe: 1` and the body `{"probe": true, "idempotency_key": "probe:…"}`, signed like
an order (provisioning) or with the bearer token (SMS gateway); the README asks receivers to answer it 2xx and do
nothing else. With probes off (`MILA_PROBES=false`, `mila doctor --no-probe`) only a connection is opened, and the
line says the service was not probed.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from urllib.parse import urlsplit

import aiohttp
import aiosmtplib

from bot.config import IdentificationSettings, MailSettings, ProvisioningSettings
from bot.health import Finding, error, ok, warning
from bot.services.mail import smtp_options
from bot.services.outbox import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign

PROBE_HEADER = "X-Mila-Probe"
TIMEOUT = 10.0


async def check_smtp(settings: MailSettings) -> list[Finding]:
    part = "mail"
    if settings.smtp_url is None:
        return [warning(part, "SMTP_URL is not set: complaint e-mails wait in the mail outbox",
                        "set SMTP_URL to the operator's mail server")]  # fmt: skip
    options = smtp_options(settings)
    where = f"{options['hostname']}:{options['port']}"
    client = aiosmtplib.SMTP(**(options | {"timeout": min(float(options["timeout"]), TIMEOUT)}))
    try:
        try:
            await client.connect()
        except aiosmtplib.SMTPAuthenticationError:
            return [error(part, f"{where} refuses the user name and password of SMTP_URL",
                          "check the credentials in SMTP_URL (smtp://user:password@host:port)")]  # fmt: skip
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return [error(part, f"cannot talk to the mail server at {where} ({type(exc).__name__})",
                          "check the host and port in SMTP_URL, and that this machine may reach it")]  # fmt: skip
        encrypted = client.get_transport_info("sslcontext") is not None
        secure = "TLS" if options["use_tls"] else "STARTTLS" if encrypted else "no TLS"
        try:
            await client.mail(settings.sender)
        except aiosmtplib.SMTPResponseException as exc:
            return [error(part, f"{where} refuses the sender MAIL_FROM <{settings.sender}>: {exc.code} "
                                f"{exc.message}"[:300],
                          "use a sender address the mail server accepts from this machine (MAIL_FROM)")]  # fmt: skip
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return [error(part, f"{where} dropped the connection at MAIL FROM ({type(exc).__name__})")]
        findings = [ok(part, f"{where} ({secure}) takes the sender <{settings.sender}>; nothing was sent")]
        if secure == "no TLS" and options["hostname"] not in ("localhost", "127.0.0.1", "::1"):
            findings.append(warning(part, f"the connection to {where} is not encrypted (the server offers no "
                                          "STARTTLS)", "use smtps:// or a server that offers STARTTLS"))  # fmt: skip
        return findings
    finally:
        if client.is_connected:
            try:
                await client.rset()
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


def _probe_body() -> bytes:
    key = f"probe:{secrets.token_hex(8)}"
    return json.dumps({"probe": True, "idempotency_key": key}, separators=(",", ":")).encode()


async def _post_probe(url: str, body: bytes, headers: dict[str, str]) -> int | str:
    """The HTTP status of the probe, or what prevented an answer."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http,
            http.post(url, data=body, headers=headers, allow_redirects=False) as response,
        ):
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return type(exc).__name__


async def _connects(url: str) -> str | None:
    """None when a TCP connection to the URL's host and port opens, else why not."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), TIMEOUT)
    except (OSError, TimeoutError) as exc:
        return type(exc).__name__
    writer.close()
    return None


def _judge(part: str, what: str, answer: int | str, secret_name: str) -> Finding:
    if isinstance(answer, str):
        return error(part, f"{what} does not answer ({answer})", "check the URL and that this machine may reach it")
    if 200 <= answer < 300:
        return ok(part, f"{what} answers the signed probe with {answer}")
    if answer in (401, 403):
        return error(part, f"{what} refuses the probe's credentials ({answer})", f"check {secret_name}")
    if answer in (404, 405, 410):
        return error(part, f"{what} answers {answer}: nothing takes POSTs at that path", "check the URL's path")
    if 300 <= answer < 400:
        return error(part, f"{what} answers {answer} (a redirect): mila does not follow it", "use the final URL")
    if 400 <= answer < 500:
        return warning(part, f"{what} is reachable but answers the probe {answer}",
                       "a receiver answers a request with X-Mila-Probe: 1 with 2xx (see the README)")  # fmt: skip
    return error(part, f"{what} answers {answer}: it is failing", "look at the receiver's own logs")


async def check_provisioning(settings: ProvisioningSettings, *, probe: bool) -> list[Finding]:
    part = "provisioning"
    if settings.url is None:
        return [warning(part, "PROVISIONING_URL is not set: orders wait in the outbox",
                        "set PROVISIONING_URL to the operator's provisioning endpoint")]  # fmt: skip
    findings: list[Finding] = []
    if settings.secret is None or not settings.secret.get_secret_value():
        findings.append(warning(part, "PROVISIONING_SECRET is not set: orders are signed with an empty key",
                                "agree a secret with the receiver and set it"))  # fmt: skip
    where = _where(settings.url)
    if not probe:
        problem = await _connects(settings.url)
        findings.append(error(part, f"{where} does not accept connections ({problem})") if problem else
                        ok(part, f"{where} accepts connections (not probed)"))  # fmt: skip
        return findings
    body = _probe_body()
    secret = settings.secret.get_secret_value().encode() if settings.secret else b""
    headers = {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: sign(secret, body),
               IDEMPOTENCY_HEADER: json.loads(body)["idempotency_key"], PROBE_HEADER: "1"}  # fmt: skip
    findings.append(_judge(part, where, await _post_probe(settings.url, body, headers), "PROVISIONING_SECRET"))
    return findings


async def check_sms(settings: IdentificationSettings, *, probe: bool) -> list[Finding]:
    part = "sms"
    if settings.sms_gateway_url is None:
        return [warning(part, "SMS_GATEWAY_URL is not set: one-time codes go to the demo outbox, no phone gets them",
                        "set SMS_GATEWAY_URL (and SMS_GATEWAY_TOKEN) for a real service")]  # fmt: skip
    where = _where(settings.sms_gateway_url)
    if not probe:
        problem = await _connects(settings.sms_gateway_url)
        return [error(part, f"{where} does not accept connections ({problem})") if problem else
                ok(part, f"{where} accepts connections (not probed)")]  # fmt: skip
    headers = {"Content-Type": "application/json", PROBE_HEADER: "1"}
    if settings.sms_gateway_token is not None:
        headers["Authorization"] = f"Bearer {settings.sms_gateway_token.get_secret_value()}"
    answer = await _post_probe(settings.sms_gateway_url, _probe_body(), headers)
    return [_judge(part, where, answer, "SMS_GATEWAY_TOKEN")]


def _where(url: str) -> str:
    """The URL without a query (it may hold a key)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
