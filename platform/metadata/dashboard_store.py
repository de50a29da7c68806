"""Dashboards in the metadata store: the packs' documents, and administrators' edits layered over them.

A pack's ``dashboards/*.json`` are stored like its other documents (layer
``pack``).  An administrator's edit is a document of the same kind and name in
layer ``admin``; it wins over the pack's.  Resetting deletes the admin
document, so the pack's (possibly upgraded) version shows again.  Both change
the metadata version, so every app process reloads its catalog.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from xrm.context import Context
from xrm.metadata.dashboard_checks import dashboard_problems
from xrm.metadata.dashboards import Dashboard, build_dashboard
from xrm.metadata.model import Entity
from xrm.metadata.problems import PackProblem
from xrm.metadata.schemas import schema_errors
from xrm.system_tables import metadata_documents

KIND = "dashboard"
ADMIN_LAYER = "admin"
#: Later layers win: an administrator's edit over the pack's document.
LAYERS = ("pack", ADMIN_LAYER)


def load_dashboards(connection: Connection) -> tuple[dict[str, Dashboard], dict[tuple[str, str], str]]:
    """Every dashboard (each name's winning layer) and the pack owning each: ``("dashboard", name) → pack``.

    An administrator's document that no longer builds (written under an older
    schema) gives way to the pack's, rather than breaking the catalog.
    """
    dashboards, owners = {}, {}
    for name, versions in _layered(connection).items():
        for pack, definition, _layer in reversed(versions):
            try:
                dashboards[name] = build_dashboard(definition)
            except (KeyError, TypeError, AttributeError):
                continue
            owners[(KIND, name)] = pack
            break
    return dashboards, owners


def _layered(connection: Connection) -> dict[str, list[tuple[str, Mapping[str, Any], str]]]:
    """Each dashboard's documents, lowest layer first: ``name → [(pack, definition, layer)]``."""
    t = metadata_documents
    rows = connection.execute(
        select(t.c.name, t.c.pack, t.c.definition, t.c.layer).where(t.c.kind == KIND, t.c.layer.in_(LAYERS)))
    found: dict[str, list[tuple[str, Mapping[str, Any], str]]] = {}
    for row in sorted(rows, key=lambda r: LAYERS.index(r.layer)):
        found.setdefault(row.name, []).append((row.pack, row.definition, row.layer))
    return found


def _documents(connection: Connection) -> dict[str, tuple[str, Mapping[str, Any], str]]:
    """Each dashboard's winning document: ``name → (pack, definition, layer)``."""
    return {name: versions[-1] for name, versions in _layered(connection).items()}


def dashboard_document(connection: Connection, name: str) -> tuple[Mapping[str, Any], bool] | None:
    """The winning document of dashboard ``name`` and whether it is an administrator's edit (None: no such dashboard)."""
    found = _documents(connection).get(name)
    return (found[1], found[2] == ADMIN_LAYER) if found else None


def dashboard_document_problems(document: Any, name: str, entities: Mapping[str, Entity]) -> list[PackProblem]:
    """An edited dashboard checked like a pack file: the JSON Schema, then the cross-checks against ``entities``
    (of the widgets the schema let through, so that every problem shows at once)."""
    file = f"dashboards/{name}.json"
    found = schema_errors(KIND, document, file)
    problems = [problem for _, problem in found]
    if not isinstance(document, dict) or not isinstance(document.get("widgets"), list):
        return problems
    if document.get("name") != name:
        problems.append(PackProblem(file, "a dashboard keeps its name", path="$.name", expected=name,
                                    found=str(document.get("name"))))
    broken = {path[1] for path, _ in found if len(path) > 1 and path[0] == "widgets"}
    if any(path[:1] != ("widgets",) or len(path) < 2 for path, _ in found if path[:1] not in (("label",), ("description",))):
        return problems  # the widget list itself is broken
    good = [i for i in range(len(document["widgets"])) if i not in broken]
    checked = {"name": name, "label": "-", "widgets": [document["widgets"][i] for i in good]}
    for problem in dashboard_problems(build_dashboard(checked), file, entities):
        if problem.severity == "error":
            path = re.sub(r"^\$\.widgets\[(\d+)\]", lambda m: f"$.widgets[{good[int(m.group(1))]}]", problem.path or "")
            problems.append(replace(problem, path=path))
    return problems


def save_admin_dashboard(connection: Connection, document: Mapping[str, Any], context: Context) -> None:
    """Store ``document`` (already checked) as the administrators' version of its dashboard."""
    from xrm.metadata.store import bump_metadata_version

    name = document["name"]
    owner = _documents(connection)[name][0]
    _delete_admin(connection, name)
    connection.execute(insert(metadata_documents).values(
        kind=KIND, name=name, pack=owner, layer=ADMIN_LAYER, definition=dict(document), updated_at=context.now))
    bump_metadata_version(connection)


def reset_dashboard(connection: Connection, name: str) -> None:
    """Drop the administrators' version of dashboard ``name``: the pack's shows again."""
    from xrm.metadata.store import bump_metadata_version

    _delete_admin(connection, name)
    bump_metadata_version(connection)


def _delete_admin(connection: Connection, name: str) -> None:
    t = metadata_documents
    connection.execute(delete(t).where(t.c.kind == KIND, t.c.name == name, t.c.layer == ADMIN_LAYER))
