"""Run the platform: ``python server.py`` serves http://127.0.0.1:8000.

It creates or updates the platform tables, installs the bundled packs
(crm, service, partners) that are not installed yet, and serves the web app
on an SQLite file (``xrm.db``) unless ``DATABASE_URL`` names another database.
Arguments are those of ``xrm serve`` (``--host``, ``--port``, ``--packs``).
"""

import sys

from xrm.cli import main

if __name__ == "__main__":
    main(["serve", *sys.argv[1:]])
