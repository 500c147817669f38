"""A phone that dials a Duka server exactly as Africa's Talking would (for the CLI and tests)."""
from __future__ import annotations

import uuid

import httpx

USSD_PATH = "/channels/ussd/africastalking"


class NotAUssdAnswer(Exception):
    """The server answered with something other than a ``CON``/``END`` screen."""


class UssdPhone:
    def __init__(self, base_url: str, phone: str, service_code: str = "*384*123#",
                 network_code: str = "63902", timeout: float = 15.0):
        self.client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self.phone = phone
        self.service_code = service_code
        self.network_code = network_code
        self.session_id = ""
        self.inputs: list[str] = []
        self.screen = ""

    @property
    def ended(self) -> bool:
        return self.screen.startswith("END ")

    def dial(self, prefilled: str = "") -> str:
        """Start a session; ``prefilled`` is what extra digits in the dial string carry."""
        self.session_id = f"ATUid_{uuid.uuid4().hex}"
        self.inputs = [prefilled] if prefilled else []
        return self._hop()

    def send(self, user_input: str) -> str:
        self.inputs.append(user_input)
        return self._hop()

    def _hop(self) -> str:
        response = self.client.post(USSD_PATH, data={
            "sessionId": self.session_id, "serviceCode": self.service_code,
            "phoneNumber": self.phone, "networkCode": self.network_code,
            "text": "*".join(self.inputs),  # AT accumulates every input of the session
        })
        if not response.text.startswith(("CON ", "END ")):
            # Not a Duka server at that URL, or a proxy's error page: no screen to show.
            raise NotAUssdAnswer(f"HTTP {response.status_code} with no USSD screen from "
                                 f"{response.url}")
        self.screen = response.text
        return self.screen

    def close(self) -> None:
        self.client.close()
