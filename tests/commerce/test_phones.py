import pytest

from commerce.errors import InvalidPhoneNumber
from commerce.phones import to_e164


@pytest.mark.parametrize("raw", ["+254712345678", "0712345678", "0712 345 678", "254712345678"])
def test_kenyan_numbers_in_any_usual_form_become_e164(raw):
    assert to_e164(raw, "KE") == "+254712345678"


@pytest.mark.parametrize("raw", ["", "hello", "+2547", "07123", 712345678, None, ["0712345678"]])
def test_what_is_not_a_phone_number_is_refused(raw):
    with pytest.raises(InvalidPhoneNumber):
        to_e164(raw, "KE")
    with pytest.raises(InvalidPhoneNumber):  # every time: a refusal is not remembered as a number
        to_e164(raw, "KE")
