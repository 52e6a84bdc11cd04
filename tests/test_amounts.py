"""Typed amounts, table-driven: what a subscriber types at an amount question, and what is taken or refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.core.amounts import AmountError, AmountReason, find_amounts, parse_amount

LOW, HIGH = Decimal("1"), Decimal("1000000")


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("1500", "1500.00"),
        ("1.500", "1500.00"),
        ("2.340,50", "2340.50"),
        ("2340,50", "2340.50"),
        ("2340.50", "2340.50"),
        ("2 340.50", "2340.50"),
        ("2 340,50", "2340.50"),
        ("2\u00a0340,50", "2340.50"),
        ("2,340.50", "2340.50"),
        ("1.234.567,8", None),  # above the bound: checked below as TOO_LARGE
        ("2000 din", "2000.00"),
        ("2000 dinara", "2000.00"),
        ("1500 dinara", "1500.00"),
        ("2000din", "2000.00"),
        ("50 manat", "50.00"),
        ("12,4 TMT", "12.40"),
        ("RSD 750", "750.00"),
        ("+500", "500.00"),
        ("1500.", "1500.00"),
    ],
)
def test_amounts_written_the_ways_people_write_them(typed: str, amount: str | None) -> None:
    if amount is None:
        with pytest.raises(AmountError) as refused:
            parse_amount(typed, minimum=LOW, maximum=HIGH)
        assert refused.value.reason is AmountReason.TOO_LARGE
        assert refused.value.value == Decimal("1234567.80")
        return
    assert parse_amount(typed, minimum=LOW, maximum=HIGH) == Decimal(amount)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("500 za 2 meseca", AmountReason.SEVERAL),  # not 5.002,00
        ("500-1000", AmountReason.SEVERAL),
        ("-100", AmountReason.NEGATIVE),
        ("−100", AmountReason.NEGATIVE),  # the minus sign a phone keyboard offers
        ("-10", AmountReason.NEGATIVE),  # tk: not 10,00 TMT
        ("- 10 manat", AmountReason.NEGATIVE),
        ("1e3", AmountReason.NOT_PLAIN),  # not 13,00
        ("1E3", AmountReason.NOT_PLAIN),
        ("12,345", AmountReason.TOO_LARGE),  # three digits after one separator group thousands: 12345 > 10000
        ("12.3456", AmountReason.NOT_PLAIN),
        ("1.23.4", AmountReason.NOT_PLAIN),
        ("8.12.2026", AmountReason.NOT_PLAIN),
        ("pet stotina", AmountReason.NONE),
        ("", AmountReason.NONE),
        ("0", AmountReason.TOO_SMALL),
        ("0,50", AmountReason.TOO_SMALL),
        ("20000", AmountReason.TOO_LARGE),
    ],
)
def test_anything_but_one_plain_positive_amount_in_bounds_is_refused_with_its_reason(
    typed: str, reason: AmountReason
) -> None:
    with pytest.raises(AmountError) as refused:
        parse_amount(typed, minimum=Decimal("1"), maximum=Decimal("10000"))
    assert refused.value.reason is reason


def test_find_amounts_reads_every_number_on_its_own() -> None:
    assert find_amounts("500 za 2 meseca") == [Decimal("500.00"), Decimal("2.00")]
    assert find_amounts("platio sam -100, pa 2.340,50 din") == [Decimal("-100.00"), Decimal("2340.50")]
    assert find_amounts("1e3 i 50 manat") == [Decimal("50.00")]
    assert find_amounts("broj R-12345678") == [Decimal("12345678.00")]
    assert find_amounts("N2 nije broj") == []
    assert find_amounts("nema iznosa") == []


def test_bounds_are_inclusive() -> None:
    assert parse_amount("100", minimum=Decimal("100"), maximum=Decimal("100")) == Decimal("100.00")
    with pytest.raises(AmountError) as refused:
        parse_amount("99,99", minimum=Decimal("100"), maximum=Decimal("200"))
    assert refused.value.reason is AmountReason.TOO_SMALL
