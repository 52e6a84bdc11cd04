"""Viber as the deployment configured it: whose token this is (`get_account_info`) and the webhook Viber has.

`get_account_info` only reads; nothing is sent to anyone.
"""

from __future__ import annotations

from bot.channels.viber.client import ViberClient, ViberError, ViberUnavailable
from bot.config import ViberSettings
from bot.health import Finding, error, ok, warning

PART = "viber"
INVALID_TOKEN = 2


async def check_viber(
    settings: ViberSettings, client: ViberClient | None = None, *, webhook: bool = True
) -> list[Finding]:
    """The token, and (`webhook`) the webhook Viber has; on `client`, or one made from the settings and closed."""
    token = settings.auth_token.get_secret_value() if settings.auth_token else ""
    if not token:
        return [ok(PART, "not configured (VIBER_AUTH_TOKEN unset)")]
    own = client is None
    client = client or ViberClient(token, settings.api_base, retry_delays=())
    findings: list[Finding] = []
    try:
        try:
            info = await client.call("get_account_info", {}, purpose="get_account_info")
        except ViberUnavailable as exc:
            return [warning(PART, f"Viber does not answer ({exc})", "check the network path to VIBER_API_BASE")]
        except ViberError as exc:
            if exc.status == INVALID_TOKEN:
                return [error(PART, "Viber refuses the token (status 2, invalidAuthToken)",
                              "copy the bot's token from the Viber admin panel into VIBER_AUTH_TOKEN")]  # fmt: skip
            return [error(PART, f"get_account_info refused: {exc}", "check VIBER_AUTH_TOKEN")]
        name, uri = info.get("name", "?"), info.get("uri", "?")
        findings.append(ok(PART, f"token valid: the bot “{name}” (uri {uri}) — make sure this is the bot you meant"))
        registered = str(info.get("webhook") or "")
        if not webhook:
            return findings
        if not settings.webhook_url:
            findings.append(error(PART, "VIBER_WEBHOOK_URL is not set", "set the public HTTPS URL of /webhook/viber"))
        elif registered == settings.webhook_url:
            findings.append(ok(PART, f"webhook {registered}: Viber has it"))
        elif not registered:
            findings.append(warning(PART, "no webhook is set at Viber yet", "mila run sets it when it starts"))
        else:
            findings.append(warning(PART, f"Viber sends callbacks to {registered}, not to VIBER_WEBHOOK_URL",
                                    "mila run sets its own at start: another deployment of this bot?"))  # fmt: skip
        return findings
    finally:
        if own:
            await client.close()
