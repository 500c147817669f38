import pytest

from commerce.money import Money, minor_units


def test_minor_units_follow_iso_4217():
    assert minor_units("KES") == 2
    assert minor_units("NGN") == 2
    assert minor_units("UGX") == 0
    assert minor_units("XOF") == 0


def test_amounts_are_whole_minor_units_never_floats():
    with pytest.raises(TypeError):
        Money(12.5, "KES")
    with pytest.raises(TypeError):
        Money(100, "KES") * 1.5


def test_adding_money_of_two_currencies_is_refused():
    with pytest.raises(ValueError):
        Money(100, "KES") + Money(100, "UGX")


def test_arithmetic_and_formatting():
    total = Money(12050, "KES") * 2 + Money(100, "KES")
    assert total == Money(24200, "KES")
    assert total.format("en_KE") == "KSh 242.00"
    assert Money(15000, "UGX").format("en_UG") == "USh 15,000"
