"""Checking metadata with the admin layer applied, as strictly as a pack is checked.

An admin change or a pack upgrade produces new effective documents; before
anything is written they go through the same JSON Schemas and cross-file
checks as a pack folder (``xrm.metadata.validation``), plus the installed
rules against the new catalog, so a field a view, workflow or rule still uses
cannot disappear and a default must fit its field.  Problems name the file the
object would have in its pack (``entities/lead.json``) and a JSON path in the
effective document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from xrm.metadata.builder import build_entity
from xrm.metadata.catalog import Catalog
from xrm.metadata.check_scope import Located, Scope
from xrm.metadata.crosscheck import cross_check
from xrm.metadata.model import Entity
from xrm.metadata.org_tables import PLATFORM_PACK
from xrm.metadata.problems import PackProblem, has_errors
from xrm.metadata.schemas import schema_errors


def entity_file(name: str) -> str:
    return f"entities/{name}.json"


def schema_problems(documents: Iterable[Mapping[str, Any]], kind: str = "entity") -> list[PackProblem]:
    folder = {"entity": "entities", "role": "roles"}[kind]
    return [problem for document in documents
            for _, problem in schema_errors(kind, document, f"{folder}/{document.get('name', '?')}.json")]


def build_checked(documents: Iterable[Mapping[str, Any]], pack: str) -> tuple[list[Entity], list[PackProblem]]:
    """Entities built from effective documents, or the schema problems that stop it."""
    documents = list(documents)
    problems = schema_problems(documents)
    if has_errors(problems):
        return [], problems
    return [build_entity(document, pack) for document in documents], problems


def check_catalog_pack(catalog: Catalog, pack: str, *, rules: bool = True) -> list[PackProblem]:
    """Cross-file problems of one pack's objects as ``catalog`` (admin layer applied) has them.

    The admin layer may reach across packs (a crm role granting on a custom entity), so the pack is
    checked as if it depended on every installed pack.
    """
    scope = Scope(
        pack_name=pack,
        manifest={"name": pack, "depends_on": {p: ">=0" for p in catalog.packs if p not in (pack, PLATFORM_PACK)}},
        entities=tuple(Located(e, entity_file(e.name), tuple(range(len(e.fields))))
                       for e in catalog.entities.values() if e.pack == pack),
        views=_owned(catalog, pack, "view", catalog.views, "views"),
        workflows=_owned(catalog, pack, "workflow", catalog.workflows, "workflows"),
        roles=_owned(catalog, pack, "role", catalog.roles, "roles"),
        dashboards=_owned(catalog, pack, "dashboard", catalog.dashboards, "dashboards"),
        installed=catalog.without_pack(pack),
    )
    problems = [p for p in cross_check(scope) if p.code != "missing_dependency"]
    return problems + (rule_problems(catalog) if rules else [])


def _owned(catalog: Catalog, pack: str, kind: str, items: Mapping[str, Any], folder: str) -> tuple[Located, ...]:
    return tuple(Located(item, f"{folder}/{name}.json") for name, item in items.items()
                 if catalog.owner(kind, name) == pack)


def rule_problems(catalog: Catalog) -> list[PackProblem]:
    """The installed rule files checked against ``catalog`` (a field they use may not go)."""
    from xrm.rules.checker import OrgNames, check_rules

    if not catalog.rule_files:
        return []
    files = [(key.split("/", 1)[0], rule_file) for key, rule_file in catalog.rule_files.items()]
    org = OrgNames(catalog.declared("teams"), catalog.declared("queues"), catalog.declared("calendars"))
    return [p for p in check_rules(files, catalog, org).problems if p.severity == "error"]
