"""Numbers in what support sees, masked whatever separates their digits."""

from __future__ import annotations

import pytest

from bot.console.masking import mask_numbers


@pytest.mark.parametrize("text", ["064,123,4567", "064_123_4567", "064\u2009123\u20094567", "064\u202f123\u202f4567",
                                  "064 - 123 - 4567", "064;123;4567"])  # fmt: skip
def test_numbers_with_any_separator_are_masked(text: str) -> None:
    masked = mask_numbers(f"zovite me na {text} hvala", "RS")
    assert "123" not in masked and "4567" not in masked, masked
    assert masked.startswith("zovite me na ") and masked.endswith(" hvala")


def test_masking_keeps_short_numbers_and_words() -> None:
    assert mask_numbers("paket 20 GB za 990 RSD, 3 meseca", "RS") == "paket 20 GB za 990 RSD, 3 meseca"
    assert mask_numbers("broj 064 123 4567", "RS") == "broj +381 64 ••• •• 67"
