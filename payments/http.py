"""Calling providers over ``httpx``: explicit timeouts, a few quick retries for reads.

Every failure to get an answer (timeout, connection refused, 5xx) becomes
``ProviderUnavailable``; a 4xx is the provider's refusal and is left to the provider module to
read. A 5xx with no JSON in it is not the provider's answer but a gateway's page (a 504: it
gave up waiting for the provider), so a request that changes something may have been carried
out (``maybe_taken``). Only idempotent calls (token, status query) are retried here; asking
for money again is left to the job queue's retry, so a slow provider is never asked twice
within one call.
"""
from __future__ import annotations

import logging
import time

import httpx

from payments.base import ProviderUnavailable

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# The request went out, then no answer came back: it may have been acted on.
SENT_THEN_LOST = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.WriteError,
                  httpx.RemoteProtocolError)


def make_client(base_url: str, timeout: float | httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.Client:
    return httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                        headers={"User-Agent": "Duka/1 (+payments)"})


def send(client: httpx.Client, method: str, url: str, *, retries: int = 0,
         backoff: float = 0.5, **kwargs) -> httpx.Response:
    """``client.request`` that raises ``ProviderUnavailable`` for timeouts, network errors
    and 5xx, after ``retries`` more tries spaced ``backoff``, ``2*backoff``, ... seconds."""
    for attempt in range(retries + 1):
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as error:
            unanswered = no_answer(method, url, error)
        else:
            if response.status_code < 500:
                return response
            unanswered = ProviderUnavailable(
                f"{method} {url} answered {response.status_code}: {response.text[:200]}",
                maybe_taken=method != "GET" and not json_of(response))
        log.warning("payment provider: %s (try %d of %d)", unanswered, attempt + 1, retries + 1)
        if attempt < retries:
            time.sleep(backoff * 2 ** attempt)
    raise unanswered


def no_answer(method: str, url: str, error: httpx.TransportError) -> ProviderUnavailable:
    """What a request that got no answer (a timeout, a network error) becomes, and whether the
    provider may have carried it out (``maybe_taken``): only a request that changes something
    (not a GET) that went out before the connection failed."""
    if isinstance(error, httpx.TimeoutException):
        problem = f"{method} {url} timed out ({error.__class__.__name__})"
    else:
        problem = f"{method} {url} failed: {error}"
    taken = isinstance(error, SENT_THEN_LOST) and method != "GET"
    return ProviderUnavailable(problem, maybe_taken=taken)


def json_of(response: httpx.Response) -> dict:
    """The response's JSON object, or ``{}`` when it has none (providers' error pages)."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
