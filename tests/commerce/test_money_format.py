"""Money as shoppers read it, amounts as merchants type them, and display-only exchange rates."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from commerce.errors import NotFound
from commerce.models import ExchangeRate
from commerce.money import (
    InvalidAmount,
    InvalidExchangeRate,
    Money,
    convert_for_display,
    do_set_exchange_rate,
    parse_amount,
)
from commerce.stores import do_create_store


@pytest.mark.parametrize("amount, currency, locale, shown", [
    (125000, "KES", "en", "KSh 1,250.00"),
    (125000, "KES", "en_KE", "KSh 1,250.00"),
    (125000, "KES", "sw", "KSh 1,250.00"),
    (125000, "KES", "sw_KE", "KSh 1,250.00"),
    (500000, "NGN", "en_NG", "₦5,000.00"),
    (15000, "UGX", "en_UG", "USh 15,000"),
    (1250, "GHS", "en_GH", "GH₵ 12.50"),
    (250000, "TZS", "sw_TZ", "TSh 2,500.00"),
    (1500, "RWF", "en", "RF 1,500"),
    (5000, "XOF", "fr", "5 000 CFA"),
    (5000, "XAF", "fr_CM", "5 000 CFA"),
    (5000, "XOF", "en", "CFA 5,000"),
    (1250, "ZAR", "en", "R12.50"),
    (1250, "EGP", "en", "E£ 12.50"),
    (1250, "ETB", "am", "Br 12.50"),
    (1250, "ZMW", "en", "K12.50"),
    (125050, "KES", "pt", "KSh 1.250,50"),
    (-125000, "KES", "en", "-KSh 1,250.00"),
    (0, "UGX", "en", "USh 0"),
    (999, "USD", "en", "$9.99"),  # not ours: Babel's symbol
])
def test_format_uses_the_symbols_shoppers_know_and_babels_grouping(amount, currency, locale,
                                                                    shown):
    assert Money(amount, currency).format(locale) == shown


def test_format_falls_back_to_the_language_when_babel_lacks_the_region():
    assert Money(12000, "KES").format("ha_KE") == "KSh 120.00"
    assert Money(12000, "KES").format("xx") == "KSh 120.00"


def test_format_uses_plain_spaces_for_gsm7_screens():
    shown = Money(123456700, "XOF").format("fr")
    assert shown == "123 456 700 CFA"
    assert "\u00a0" not in shown and "\u202f" not in shown


@pytest.mark.parametrize("amount, currency, short", [
    (12000, "KES", "KSh 120"),
    (12050, "KES", "KSh 120.50"),
    (12005, "KES", "KSh 120.05"),
    (125000000, "KES", "KSh 1,250,000"),
    (500000, "NGN", "₦5,000"),
    (15000, "UGX", "USh 15,000"),
    (1250, "GHS", "GH₵ 12.50"),
])
def test_format_short_drops_zero_cents(amount, currency, short):
    assert Money(amount, currency).format_short("en") == short


@pytest.mark.parametrize("text, currency, minor", [
    ("1250", "KES", 125000),
    ("1,250.50", "KES", 125050),
    (" 12.5 ", "KES", 1250),
    ("12.340", "KES", 1234),
    ("0", "KES", 0),
    ("15,000", "UGX", 15000),
    ("100.0", "UGX", 100),
    ("5000", "XOF", 5000),
])
def test_parse_amount_gives_minor_units(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize("text, currency, message", [
    ("12.345", "KES", "KES amounts have at most 2 decimal places; 12.345 has more."),
    ("100.5", "UGX", "UGX amounts are whole numbers; 100.5 is not."),
    ("", "KES", "'' is not an amount: use digits, like 1250 or 1,250.50."),
    ("-5", "KES", "'-5' is not an amount: use digits, like 1250 or 1,250.50."),
    ("1e3", "KES", "'1e3' is not an amount: use digits, like 1250 or 1,250.50."),
    ("NaN", "KES", "'NaN' is not an amount: use digits, like 1250 or 1,250.50."),
    ("12,5", "KES", "'12,5' is not an amount: use digits, like 1250 or 1,250.50."),
    ("KSh 5", "KES", "'KSh 5' is not an amount: use digits, like 1250 or 1,250.50."),
    ("9" * 20, "KES", "99999999999999999999 is too large an amount."),
])
def test_parse_amount_refuses_what_is_not_a_whole_number_of_minor_units(text, currency,
                                                                        message):
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(text, currency)
    assert caught.value.code == "invalid_amount"
    assert caught.value.message == message


# -- exchange rates -------------------------------------------------------------------------------
def test_a_price_is_shown_in_another_currency_rounded_half_even(db, store):
    do_set_exchange_rate(db, store, "USD", "0.0077")
    # 1,250.00 KES x 0.0077 = 9.625 USD: 962.5 cents, half-even down to 962
    assert convert_for_display(db, store, Money(125000, "KES"), "USD") == Money(962, "USD")
    do_set_exchange_rate(db, store, "usd", Decimal("0.005"))  # replaces the earlier rate
    assert db.scalar(select(func.count(ExchangeRate.id))) == 1
    assert convert_for_display(db, store, Money(5100, "KES"), "USD") == Money(26, "USD")  # 25.5
    assert convert_for_display(db, store, Money(4900, "KES"), "USD") == Money(24, "USD")  # 24.5
    assert convert_for_display(db, store, Money(5000, "KES"), "USD") == Money(25, "USD")


def test_half_way_rounds_to_even_minor_units(db, store):
    do_set_exchange_rate(db, store, "UGX", "0.5")
    # 1 KES -> 0.5 UGX -> 0; 3 -> 1.5 -> 2; 5 -> 2.5 -> 2; 7 -> 3.5 -> 4
    assert convert_for_display(db, store, Money(100, "KES"), "UGX") == Money(0, "UGX")
    assert convert_for_display(db, store, Money(300, "KES"), "UGX") == Money(2, "UGX")
    assert convert_for_display(db, store, Money(500, "KES"), "UGX") == Money(2, "UGX")
    assert convert_for_display(db, store, Money(700, "KES"), "UGX") == Money(4, "UGX")


def test_conversion_into_a_currency_without_minor_units(db, store):
    do_set_exchange_rate(db, store, "UGX", "28.6")
    assert convert_for_display(db, store, Money(125000, "KES"), "UGX") == Money(35750, "UGX")


def test_without_a_rate_there_is_no_conversion(db, store):
    with pytest.raises(NotFound):
        convert_for_display(db, store, Money(100, "KES"), "USD")


def test_rates_are_per_store(db, store):
    other = do_create_store(db, "duka-la-juma", "Duka la Juma", "KES", "KE", "en", ["en"],
                            "Africa/Nairobi")
    do_set_exchange_rate(db, other, "USD", "0.0077")
    with pytest.raises(NotFound):
        convert_for_display(db, store, Money(100, "KES"), "USD")


@pytest.mark.parametrize("quote, rate, message", [
    ("USD", "0", "An exchange rate must be more than zero."),
    ("USD", "-1", "An exchange rate must be more than zero."),
    ("USD", "NaN", "An exchange rate must be more than zero."),
    ("USD", "abc", "'abc' is not a number."),
    ("USD", 0.0077, "Give the rate as a decimal string, like \"0.0077\"."),
    ("USD", 1, "Give the rate as a decimal string, like \"0.0077\"."),
    ("USD", "0.00000000001", "An exchange rate has 10 decimal places at most."),
    ("USD", "1" + "0" * 14, "That exchange rate is too large."),
    ("KES", "1", "KES is the store's own currency."),
    ("XYZ", "1", "XYZ is not a currency we know."),
    ("US", "1", "'US' is not a currency code like KES or USD."),
])
def test_a_bad_rate_is_refused_and_changes_nothing(db, store, quote, rate, message):
    with pytest.raises(InvalidExchangeRate) as caught:
        do_set_exchange_rate(db, store, quote, rate)
    assert caught.value.code == "invalid_exchange_rate"
    assert caught.value.message == message
    assert db.scalar(select(func.count(ExchangeRate.id))) == 0


def test_only_money_in_the_store_currency_is_converted(db, store):
    do_set_exchange_rate(db, store, "USD", "0.0077")
    with pytest.raises(ValueError):
        convert_for_display(db, store, Money(100, "UGX"), "USD")
