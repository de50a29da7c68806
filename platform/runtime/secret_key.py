"""The key that signs session cookies: shared by every app process through the database.

``XRM_SECRET_KEY`` overrides it; otherwise the first process to need it stores a
random one in ``xrm_settings``, so processes behind a load balancer agree
without any configuration and restarts do not sign everybody out.
"""

from __future__ import annotations

import os
import secrets

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from xrm.system_tables import settings

SETTING = "session_secret"


def secret_key(engine: Engine) -> str:
    configured = os.environ.get("XRM_SECRET_KEY")
    if configured:
        return configured
    with engine.connect() as connection:
        stored = connection.execute(select(settings.c.value).where(settings.c.name == SETTING)).scalar()
    if stored:
        return stored
    try:
        with engine.begin() as connection:
            connection.execute(insert(settings).values(name=SETTING, value=secrets.token_urlsafe(48)))
    except IntegrityError:
        pass  # another process stored one first: use theirs
    with engine.connect() as connection:
        return connection.execute(select(settings.c.value).where(settings.c.name == SETTING)).scalar_one()
