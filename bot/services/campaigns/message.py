"""What a recipient sees: the campaign's text in their language, its picture and button, and the one-tap opt-out.

Built from core replies only, so every channel renders it its own way. The opt-out button carries
`news:off:<campaign id>`: the consent handler needs no session for it (it works days later) and counts the
opt-out for this campaign after checking that the user really was one of its recipients.
"""

from __future__ import annotations

from bot.core.i18n import N_, Translator
from bot.core.replies import Button, Picture, Reply, Text
from bot.services.campaigns.spec import CampaignSpec

# The same words as the button of /news, so the user recognises it.
STOP_NEWS = N_("Stop sending me news")
OPT_OUT_PREFIX = "news:off:"


def opt_out_payload(campaign_id: int) -> str:
    return f"{OPT_OUT_PREFIX}{campaign_id}"


def compose(spec: CampaignSpec, campaign_id: int, translator: Translator) -> list[Reply]:
    code = translator.code
    rows: list[tuple[Button, ...]] = []
    label = spec.button_label(code)
    if spec.button is not None and label is not None:
        rows.append((Button(label, url=spec.button.url),))
    rows.append((Button(translator.gettext(STOP_NEWS), opt_out_payload(campaign_id)),))
    text = spec.text_for(code)
    if spec.picture is not None:
        return [Picture(spec.picture, text, tuple(rows))]
    return [Text(text, tuple(rows))]
