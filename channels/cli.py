"""``flask --app wsgi ussd``: a terminal phone for the running server."""
from __future__ import annotations

import logging

import click
import httpx

from channels.ussd_phone import NotAUssdAnswer, UssdPhone
from commerce.demo import DEMO_USSD_CODE


@click.command("ussd")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True,
              help="The running Duka server.")
@click.option("--phone", default="+254712345678", show_default=True, help="Your MSISDN.")
@click.option("--code", default=DEMO_USSD_CODE, show_default=True, help="USSD service code.")
def ussd_command(url: str, phone: str, code: str) -> None:
    """Dial the server the way Africa's Talking does and show each screen."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # screens only, not request logs
    phone_ = UssdPhone(url, phone, code)
    click.echo(f"Dialling {code} from {phone} at {url} (Ctrl-D hangs up)\n")
    try:
        screen = phone_.dial()
        while True:
            click.echo(screen[4:] if screen[:4] in ("CON ", "END ") else screen)
            if not screen.startswith("CON "):
                break
            try:
                reply = click.prompt(">", prompt_suffix=" ", default="", show_default=False)
            except (EOFError, click.Abort):
                click.echo("\nHung up.")
                break
            click.echo()
            screen = phone_.send(reply)
    except httpx.UnsupportedProtocol:
        raise click.ClickException(f"--url needs http:// or https://, as in "
                                   f"http://127.0.0.1:5000 (got {url}).")
    except httpx.HTTPError as error:
        raise click.ClickException(f"Could not reach {url}: {str(error).rstrip('.')}. "
                                   "Is the server running?")
    except NotAUssdAnswer as error:
        raise click.ClickException(f"{error}. Is --url the Duka server (the address "
                                   "`flask --app wsgi demo` prints)?")
    finally:
        phone_.close()
