"""The runtime's template database (the three packs and the cast of users), for the pages' tests."""

from tests.runtime.conftest import sqlite_template  # noqa: F401  (a fixture, used through template_copy)
