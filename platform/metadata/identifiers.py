"""Metadata names: the only text from a pack or an admin that becomes a SQL name.

A name is safe because it is checked here, and then still only ever reaches the
database through SQLAlchemy ``Table``/``Column`` objects, which quote it.
"""

from __future__ import annotations

import re
from typing import Final

MAX_IDENTIFIER_LENGTH: Final = 63  # PostgreSQL's NAMEDATALEN - 1

#: Used with ``fullmatch``: a ``$`` would also match before a final newline.
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")

#: Columns every entity table has; a pack may not declare fields with these names.
SYSTEM_COLUMNS: Final = frozenset(
    {"id", "version", "created_at", "created_by", "updated_at", "updated_by", "owner_id", "owner_queue_id"}
)

#: Words the REST API uses beside entity names under ``/api/`` (``/api/meta/...``); no entity may take them.
API_WORDS: Final = frozenset({"meta", "me", "openapi", "rules", "session", "auth", "docs", "approvals"})

#: Words of the expression language; a field called ``and`` could never be
#: referred to in an expression.  (Function names such as ``now`` are followed
#: by parentheses, so they stay usable as names.)
LANGUAGE_KEYWORDS: Final = frozenset(
    {
        "and", "or", "not", "in", "is", "empty", "like", "contains", "starts_with",
        "ends_with", "true", "false", "null", "if",
    }
)

#: Prefix of the platform's own tables; entities may not take it.
PLATFORM_TABLE_PREFIX: Final = "xrm_"
#: Prefixes the databases keep for themselves (SQLite refuses sqlite_ tables; pg_ is PostgreSQL's).
DATABASE_PREFIXES: Final = ("sqlite_", "pg_")


def identifier_problem(name: object, *, extra_reserved: frozenset[str] = frozenset()) -> str | None:
    """Return why ``name`` is not a valid metadata identifier, or None when it is."""
    if not isinstance(name, str):
        return f"a name must be a string, found {type(name).__name__}"
    if not name:
        return "a name cannot be empty"
    if len(name) > MAX_IDENTIFIER_LENGTH:
        return f"'{name}' is {len(name)} characters long; names have at most {MAX_IDENTIFIER_LENGTH}"
    if not _IDENTIFIER.fullmatch(name):
        return (
            f"'{name}' is not a valid name: use lowercase letters, digits and '_', "
            "starting with a letter (e.g. 'close_date')"
        )
    if name.startswith(PLATFORM_TABLE_PREFIX):
        return f"'{name}' starts with '{PLATFORM_TABLE_PREFIX}', which is reserved for the platform"
    if name.startswith(DATABASE_PREFIXES):
        return f"'{name}' starts with '{name.split('_')[0]}_', which the database reserves for itself"
    if name in LANGUAGE_KEYWORDS:
        return f"'{name}' is a keyword of the expression language and cannot be used as a name"
    if name in extra_reserved:
        return f"'{name}' is reserved by the platform"
    return None


def is_well_formed(name: object) -> bool:
    """True when ``name`` has an identifier's shape, reserved or not."""
    return isinstance(name, str) and len(name) <= MAX_IDENTIFIER_LENGTH and bool(_IDENTIFIER.fullmatch(name))


def is_identifier(name: object) -> bool:
    """True when ``name`` is a valid metadata identifier."""
    return identifier_problem(name) is None
