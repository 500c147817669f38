"""Alembic environment: the URL comes from the app (``config.attributes["url"]``) or DATABASE_URL."""
from __future__ import annotations

import os

from alembic import context

from admin import models as admin_models  # noqa: F401  (staff, API keys, webhooks)
from channels import models as channel_models  # noqa: F401  (the channels' own tables)
from commerce import models  # noqa: F401  (registers the tables on Base.metadata)
from commerce.db import Base, make_engine, normalise_url

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    url = config.attributes.get("url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("Set DATABASE_URL, or run `flask --app wsgi db upgrade`.")
    return normalise_url(url)


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url())
    with engine.connect() as connection:
        # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
