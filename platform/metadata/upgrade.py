"""Upgrading an installed pack to a new version: plan it, then apply it, keeping data and the admin layer.

Both run the same steps in one transaction (``schema_transaction``: schema
lock, metadata version bumped first so app processes wait, SQLite foreign keys
off for table rebuilds):

1. validate the new version against everything else installed;
2. replace the pack's documents, carry the admin overlays over
   (``rebase_*_overlay``: renames followed, conflicts resolved — the admin's
   value wins), keep picklist values that records still hold as inactive;
3. check the result like a pack (every installed pack, every rule);
4. compute each table change (``schema_changes``), check it against the
   records, and apply it through alembic operations;
5. record everything in the schema history.

``plan_upgrade`` rolls all of it back and returns the ``UpgradePlan`` (the
operations it would run included), so the plan is what the upgrade does.
``upgrade_pack`` commits — only when the plan has no error, offending records
or blocking conflict.  On SQLite it first copies the database file with the
sqlite3 backup API.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.engine import make_url

from xrm.context import Context
from xrm.errors import XrmError
from xrm.metadata import admin_store, store
from xrm.metadata.catalog import Catalog
from xrm.metadata.entity_renames import declared_entity_renames, move_admin_layer, rename_entity_data
from xrm.metadata.layer_checks import check_catalog_pack, rule_problems, schema_problems
from xrm.metadata.layers import ADMIN_LAYER, OVERLAID_KINDS, StoredDocument, effective_entity
from xrm.metadata.model import Entity, Pack
from xrm.metadata.org_tables import PLATFORM_PACK
from xrm.metadata.problems import PackProblem, has_errors
from xrm.metadata.schema_changes import EntityDiff, apply_diff, entity_diff, live_columns
from xrm.metadata.schema_checks import check_diff, value_use
from xrm.metadata.schema_session import schema_transaction
from xrm.metadata.schema_sync import AppliedOperation, create_entity_tables
from xrm.metadata.tables import entity_tables
from xrm.metadata.upgrade_plan import (
    Conflict,
    ConstraintLine,
    FieldLine,
    OptionLine,
    UpgradePlan,
    declared_renames,
    object_lines,
    rebase_entity_overlay,
    rebase_role_overlay,
    rule_names,
)
from xrm.metadata.validation import validate_pack
from xrm.system_tables import packs, schema_history


class UpgradeRefused(XrmError):
    """The plan has errors, records in the way or a blocking conflict: nothing was changed."""

    def __init__(self, plan: UpgradePlan) -> None:
        super().__init__(f"the upgrade of {plan.pack} to {plan.to_version} is refused; nothing was changed")
        self.plan = plan


@dataclass(frozen=True)
class UpgradeResult:
    plan: UpgradePlan
    backup: Path | None = None


class _Planned(Exception):
    def __init__(self, plan: UpgradePlan) -> None:
        self.plan = plan


def plan_upgrade(engine: Engine, root: Path, context: Context) -> UpgradePlan:
    """What upgrading to the pack at ``root`` would do (computed by doing it and rolling back)."""
    try:
        with schema_transaction(engine) as connection:
            raise _Planned(_upgrade(connection, Path(root), context, apply=True))
    except _Planned as planned:
        return planned.plan


def upgrade_pack(engine: Engine, root: Path, context: Context, *, backup_dir: Path | None = None) -> UpgradeResult:
    """Upgrade to the pack at ``root``; ``UpgradeRefused`` (nothing changed) unless the plan is clean."""
    backup = None
    try:
        with schema_transaction(engine) as connection:
            if connection.dialect.name == "sqlite":  # under the write lock: exactly the state being upgraded
                backup = backup_sqlite(engine, backup_dir, Path(root).name)
            plan = _upgrade(connection, Path(root), context, apply=True)
            if not plan.ok:
                raise _Planned(plan)
    except _Planned as refused:
        if backup is not None:
            backup.unlink(missing_ok=True)  # nothing changed: the copy is not needed
        raise UpgradeRefused(refused.plan) from None
    return UpgradeResult(plan, backup)


def backup_sqlite(engine: Engine, folder: Path | None, label: str) -> Path | None:
    """A consistent copy of the SQLite database file (the sqlite3 backup API), beside it unless ``folder``."""
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        return None
    source = Path(database)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = (folder or source.parent) / f"{source.stem}.before-upgrade-{label}-{stamp}{source.suffix}"
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)
    return target


def _upgrade(connection: Connection, root: Path, context: Context, *, apply: bool) -> UpgradePlan:
    before = store.load_catalog(connection)
    report = validate_pack(root, before)
    installed = before.packs.get(report.name)
    plan = UpgradePlan(report.name, installed.version if installed else "", "", problems=report.problems)
    if report.pack is None:
        return plan
    pack = report.pack
    plan = replace(plan, to_version=pack.version)
    if installed is None or report.name in (PLATFORM_PACK,):
        return replace(plan, problems=(*plan.problems, PackProblem(
            "pack.json", f"pack '{pack.name}' is not installed: install it instead", path="$.name")))
    if not _newer(pack.version, installed.version):
        return replace(plan, problems=(*plan.problems, PackProblem(
            "pack.json", f"version {pack.version} is not newer than the installed {installed.version}",
            path="$.version", expected=f"a version above {installed.version}", found=pack.version)))
    old_docs = admin_store.stored_documents(connection, admin_store.PACK_LAYER, None, pack=pack.name)
    new_docs = _new_documents(pack, report.source)
    old_entities = {d.name: d.definition for d in old_docs if d.kind == "entity"}
    new_entities = {d.name: d.definition for d in new_docs if d.kind == "entity"}
    renames = {name: declared_renames(doc) for name, doc in new_entities.items()}
    rows = {name: _rows(connection, before.entities[name]) for name in old_entities if name in before.entities}
    moves, move_problems = declared_entity_renames(new_entities, old_entities)
    if moves:  # from here on, a renamed entity goes by its new name (its table keeps the old one until applied)
        back = {old: new for new, old in moves.items()}
        move_admin_layer(connection, moves)
        old_docs = [replace(d, name=back.get(d.name, d.name)) if d.kind == "entity" else d for d in old_docs]
        old_entities = {back.get(n, n): doc for n, doc in old_entities.items()}
        before = replace(before, entities={**before.entities, **{new: before.entities[old] for new, old in moves.items()}})
    problems = list(plan.problems) + move_problems + _rename_problems(renames, old_entities)

    overlays, conflicts = _rebased_overlays(connection, pack, old_docs, new_docs, renames)
    options = _picklist_values(connection, before, old_entities, new_entities, renames, overlays)
    _remember_removed_fields(before, old_entities, new_entities, renames, overlays)
    admin_store.delete_pack_layer(connection, pack.name)
    store.save_pack_documents(connection, pack, report.source, context)
    connection.execute(update(packs).where(packs.c.name == pack.name).values(
        version=pack.version, label=pack.label, description=pack.description,
        manifest=report.source.manifest.data if report.source.manifest else {}, updated_at=context.now))
    for (kind, name), (owner, definition) in overlays.items():
        admin_store.save_overlay(connection, kind, name, owner, definition, context)

    effective = [found for name, doc in new_entities.items()
                 if (found := effective_entity(doc, overlays.get(("entity", name), ("", {}))[1])) is not None]
    problems += schema_problems(effective)
    if has_errors(problems):
        return replace(plan, problems=tuple(problems), conflicts=tuple(conflicts), options=tuple(options), rows=rows)
    after = store.load_catalog(connection)
    problems += [p for name in after.packs if name != PLATFORM_PACK
                 for p in check_catalog_pack(after, name, rules=False)]
    problems += rule_problems(after)
    conflicts += _removed_but_used(problems, overlays, new_entities)
    plan = replace(plan, problems=_unique(problems), conflicts=tuple(conflicts), options=tuple(options), rows=rows,
                   objects=tuple(object_lines(old_docs, new_docs, ("view", "workflow", "role", "dashboard", "rule_file"))),
                   rules_added=tuple(sorted(rule_names(_rules(new_docs)) - rule_names(_rules(old_docs)))),
                   rules_removed=tuple(sorted(rule_names(_rules(old_docs)) - rule_names(_rules(new_docs)))))
    if plan.errors:
        return plan
    added = [after.entities[n] for n in new_entities if n not in old_entities]
    diffs = [entity_diff(before.entities.get(n), after.entities.get(n), renames=renames.get(n, {}), moved=moves,
                         existing_columns=live_columns(connection, before.entities[n].table_name))
             for n in old_entities if n in before.entities]
    offending = tuple(o for diff in diffs for o in check_diff(connection, diff))
    plan = replace(plan, entities_added=tuple(e.name for e in added),
                   entities_removed=tuple((n, rows.get(n, 0)) for n in old_entities if n not in new_entities),
                   entities_renamed=tuple((old, new, rows.get(old, 0)) for new, old in moves.items()),
                   fields=tuple(line for diff in diffs for line in _field_lines(connection, diff)),
                   constraints=tuple(line for diff in diffs for line in _constraint_lines(diff, offending)),
                   offending=offending)
    if not plan.ok or not apply:
        return plan
    applied = [op for new, old in moves.items() for op in rename_entity_data(connection, old, new)]
    applied += create_entity_tables(connection, added) if added else []
    for diff in diffs:
        applied += apply_diff(connection, diff)
    from xrm.runtime.formula_backfill import backfill_added_formulas  # the runtime computes formulas
    from xrm.runtime.pack_organization import ensure_organization  # the runtime writes records

    applied += backfill_added_formulas(connection, after, diffs, context)

    ensure_organization(connection, pack, after, context)
    _record(connection, plan, applied, context)
    return replace(plan, operations=tuple({"operation": o.operation, "target": o.target, "detail": dict(o.detail)}
                                          for o in applied))


def _newer(new: str, old: str) -> bool:
    try:
        return Version(new) > Version(old)
    except InvalidVersion:
        return new != old


def _unique(problems: list[PackProblem]) -> tuple[PackProblem, ...]:
    return tuple(dict.fromkeys(problems))


def _new_documents(pack: Pack, source: Any) -> list[StoredDocument]:
    documents = [StoredDocument(kind, document.data["name"], pack.name, document.data) for kind, document in source.documents]
    return documents + [StoredDocument("rule_file", f"{pack.name}/{f.path}", pack.name, {"path": f.path, "text": f.text})
                        for f in pack.rule_files]


def _rules(documents: list[StoredDocument]) -> list[Mapping[str, Any]]:
    return [d.definition for d in documents if d.kind == "rule_file"]


def _rename_problems(renames: Mapping[str, Mapping[str, str]], old: Mapping[str, Any]) -> list[PackProblem]:
    problems = []
    for entity, pairs in renames.items():
        names = {f["name"] for f in (old.get(entity) or {}).get("fields", ())}
        for new, previous in pairs.items():
            if previous not in names:
                problems.append(PackProblem(
                    f"entities/{entity}.json", f"field '{new}' is renamed from '{previous}', which the installed "
                    f"version of {entity} does not have", expected="a field of the installed version",
                    found=previous, severity="warning"))
    return problems


def _rows(connection: Connection, entity: Entity) -> int:
    table = entity_tables([entity])[entity.name]
    return connection.execute(select(func.count()).select_from(table)).scalar_one()


def _rebased_overlays(connection: Connection, pack: Pack, old_docs: list[StoredDocument], new_docs: list[StoredDocument],
                      renames: Mapping[str, Mapping[str, str]]) -> tuple[dict[tuple[str, str], tuple[str, dict]], list]:
    """Every admin overlay this upgrade touches, carried over: ``(kind, name) → (owner pack, overlay)``."""
    old = {(d.kind, d.name): d.definition for d in old_docs}
    new = {(d.kind, d.name): d.definition for d in new_docs}
    result: dict[tuple[str, str], tuple[str, dict]] = {}
    conflicts: list = []
    for row in admin_store.stored_documents(connection, ADMIN_LAYER, OVERLAID_KINDS):
        key = (row.kind, row.name)
        if row.kind == "entity" and (row.pack == pack.name or key in new):
            overlay, found = rebase_entity_overlay(row.name, row.definition, old.get(key), new.get(key),
                                                   renames.get(row.name, {}))
        elif row.kind == "role":
            mine = row.pack == pack.name
            overlay, found = rebase_role_overlay(row.name, row.definition, old.get(key) if mine else None,
                                                 new.get(key) if mine else row.definition, renames)
        else:
            continue
        result[key] = (pack.name if key in new else row.pack, overlay)
        conflicts += found
    return result, conflicts


def _picklist_values(connection: Connection, before: Catalog, old_entities: Mapping[str, Any],
                     new_entities: Mapping[str, Any], renames: Mapping[str, Mapping[str, str]],
                     overlays: dict[tuple[str, str], tuple[str, dict]]) -> list[OptionLine]:
    """Values the new version adds or drops; a dropped value records still hold is kept, inactive."""
    lines: list[OptionLine] = []
    for name, new_doc in new_entities.items():
        entity = before.entities.get(name)
        if entity is None or name not in old_entities:
            continue
        owner, overlay = overlays.get(("entity", name), (entity.pack, {}))
        effective = effective_entity(new_doc, overlay) or {"fields": []}
        back = {new: old for new, old in renames.get(name, {}).items()}
        for field in effective["fields"]:
            old_field = entity.field(back.get(field["name"], field["name"]))
            if old_field is None or not old_field.options:
                continue
            now = {o["value"] for o in field.get("options", ())}
            lines += [OptionLine(name, field["name"], o["value"], "added") for o in field.get("options", ())
                      if old_field.option(o["value"]) is None]
            for option in old_field.options:
                if option.value in now:
                    continue
                count, _sample = value_use(connection, entity, old_field, option.value)
                if count:
                    patch = overlay.setdefault("fields", {}).setdefault(field["name"], {})
                    patch.setdefault("added_options", []).append(
                        {"value": option.value, "label": option.label, "active": False})
                    lines.append(OptionLine(name, field["name"], option.value, "kept_inactive", count,
                                            "the pack drops the value; records hold it, so it stays, inactive"))
                else:
                    lines.append(OptionLine(name, field["name"], option.value, "removed"))
        if overlay:
            overlays[("entity", name)] = (owner, overlay)
    return lines


def _removed_but_used(problems: list[PackProblem], overlays: Mapping[tuple[str, str], tuple[str, dict]],
                      new_entities: Mapping[str, Any]) -> list[Conflict]:
    """Fields administrators removed that the new version still declares and uses: restore them first."""
    conflicts = []
    for name, document in new_entities.items():
        removed = overlays.get(("entity", name), ("", {}))[1].get("removed") or {}
        for field in document["fields"]:
            unknown = f"entity '{name}' has no field '{field['name']}'"
            if field["name"] in removed and any(unknown in p.message for p in problems if p.severity == "error"):
                conflicts.append(Conflict("field", f"{name}.{field['name']}", "removed", True, None,
                                          "refused: the administrator removed the field and the new version uses "
                                          "it; restore the field (its data was kept), then upgrade", blocking=True))
    return conflicts


def _remember_removed_fields(before: Catalog, old_entities: Mapping[str, Any], new_entities: Mapping[str, Any],
                             renames: Mapping[str, Mapping[str, str]],
                             overlays: dict[tuple[str, str], tuple[str, dict]]) -> None:
    """Fields the new version drops keep their column: the admin layer lists them as removed, to restore or purge."""
    for name, new_doc in new_entities.items():
        entity = before.entities.get(name)
        if entity is None or name not in old_entities:
            continue
        kept = {f["name"] for f in new_doc["fields"]} | set(renames.get(name, {}).values())
        owner, overlay = overlays.get(("entity", name), (entity.pack, {}))
        gone = {f["name"]: f for f in old_entities[name]["fields"] if f["name"] not in kept and entity.field(f["name"])}
        if gone:
            overlay.setdefault("removed", {}).update(gone)
            overlays[("entity", name)] = (owner, overlay)


def _field_lines(connection: Connection, diff: EntityDiff) -> list[FieldLine]:
    if diff.before is None or diff.after is None:
        return []
    table = entity_tables([diff.before])[diff.before.name]
    before, after, name = diff.before, diff.after, diff.entity

    def filled(column: str) -> int | None:
        if column not in table.c:
            return None
        return connection.execute(select(func.count()).select_from(table).where(table.c[column].is_not(None))).scalar_one()

    old_of = {new: old for old, new in diff.renamed}
    lines = [FieldLine(name, f, "added", type=after.field(f).type)  # type: ignore[union-attr]
             for f in diff.added if f not in diff.backfill]
    total = connection.execute(select(func.count()).select_from(table)).scalar_one() if diff.backfill else 0
    lines += [FieldLine(name, f, "added", type=after.field(f).type, rows=total,  # type: ignore[union-attr]
                        detail=f"required: existing records get the default {value!r}") for f, value in diff.backfill.items()]
    lines += [FieldLine(name, new, "renamed", old_name=old, rows=filled(old)) for old, new in diff.renamed]
    lines += [FieldLine(name, f, "removed", type=before.field(f).type, rows=filled(f),  # type: ignore[union-attr]
                        detail="column and data kept; purge it to drop them") for f in diff.removed]
    for f in diff.retyped:
        old = before.field(old_of.get(f, f))
        lines.append(FieldLine(name, f, "retyped", type=after.field(f).type, old_type=old.type,  # type: ignore[union-attr]
                               rows=filled(old_of.get(f, f))))
    lines += [FieldLine(name, f, "required", rows=filled(old_of.get(f, f))) for f in diff.made_required]
    lines += [FieldLine(name, f, "optional") for f in diff.made_optional if f not in diff.removed]
    return lines


def _constraint_lines(diff: EntityDiff, offending: tuple) -> list[ConstraintLine]:
    violations = {(o.entity, o.fields): o.count for o in offending if o.code == "duplicates"}
    lines = [ConstraintLine(diff.entity, "unique", n, c, "added", violations.get((diff.entity, c), 0))
             for n, c in diff.uniques_added]
    lines += [ConstraintLine(diff.entity, "unique", n, (), "dropped") for n in diff.uniques_dropped]
    lines += [ConstraintLine(diff.entity, "index", n, c, "added") for n, c in diff.indexes_added]
    lines += [ConstraintLine(diff.entity, "index", n, (), "dropped") for n in diff.indexes_dropped]
    return lines


def _record(connection: Connection, plan: UpgradePlan, applied: list[AppliedOperation], context: Context) -> None:
    summary = {"from": plan.from_version, "to": plan.to_version, "entities_added": list(plan.entities_added),
               "fields": len(plan.fields), "conflicts": [c.resolution for c in plan.conflicts]}
    rows = [{"operation": "upgrade", "target": plan.pack, "detail": summary}]
    rows += [{"operation": op.operation, "target": op.target, "detail": dict(op.detail)} for op in applied]
    connection.execute(insert(schema_history), [
        {**row, "pack": plan.pack, "pack_version": plan.to_version, "applied_at": context.now,
         "applied_by": context.actor.name} for row in rows])
