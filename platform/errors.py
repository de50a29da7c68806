"""The root of every error the platform raises on purpose.

Errors are values with a place: each subclass carries enough to point a
consultant, an admin or an API client at what to fix.  Mapping errors to HTTP
problem+json happens in one handler table (``xrm.runtime``), never here.
"""

from __future__ import annotations


class XrmError(Exception):
    """Base class for errors the platform reports to its users."""


class ConfigurationError(XrmError):
    """The platform is set up wrongly (database URL, paths, settings)."""
