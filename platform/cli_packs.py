"""``xrm pack plan`` and ``xrm pack upgrade``: preview and apply a new version of an installed pack."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xrm.metadata.upgrade_plan import UpgradePlan

console = Console(highlight=False)


def print_plan(plan: UpgradePlan) -> None:
    """The plan as tables a consultant can read before applying it."""
    console.print(f"[bold]Upgrade {escape(plan.pack)} {escape(plan.from_version)} → {escape(plan.to_version)}[/bold]",
                  soft_wrap=True)
    for name in plan.entities_added:
        console.print(f"  + entity {name} (new table)")
    for name, rows in plan.entities_removed:
        console.print(f"  - entity {name}: no longer in the pack; its table and {rows} records are kept")
    if plan.fields:
        table = Table("Entity", "Field", "Change", "Type", "Records", "Note", title="Fields")
        for line in plan.fields:
            change = f"renamed from {line.old_name}" if line.change == "renamed" else line.change
            kind = f"{line.old_type} → {line.type}" if line.old_type else (line.type or "")
            table.add_row(line.entity, line.field, change, kind, "" if line.rows is None else str(line.rows),
                          line.detail or "")
        console.print(table)
    if plan.constraints:
        table = Table("Entity", "Kind", "Name", "Fields", "Change", "Violating records", title="Indexes and constraints")
        for c in plan.constraints:
            table.add_row(c.entity, c.kind, c.name, ", ".join(c.fields), c.change, str(c.violations))
        console.print(table)
    if plan.options:
        table = Table("Entity", "Field", "Value", "Change", "Records", title="Picklist values")
        for o in plan.options:
            table.add_row(o.entity, o.field, o.value, o.change, str(o.rows))
        console.print(table)
    if plan.objects:
        table = Table("Kind", "Name", "Change", title="Views, workflows, roles, dashboards, rule files")
        for obj in plan.objects:
            table.add_row(obj.kind, obj.name, obj.change)
        console.print(table)
    for name in plan.rules_added:
        console.print(f"  + rule \"{escape(name)}\"", soft_wrap=True)
    for name in plan.rules_removed:
        console.print(f"  - rule \"{escape(name)}\"", soft_wrap=True)
    if plan.conflicts:
        table = Table("What", "Property", "Admin value", "Pack value", "Resolution", title="Conflicts with admin customizations")
        for c in plan.conflicts:
            table.add_row(c.name, c.property or "", json.dumps(c.admin_value, default=str),
                          json.dumps(c.pack_value, default=str), ("[red]" if c.blocking else "") + escape(c.resolution))
        console.print(table)
    for o in plan.offending:
        sample = ", ".join(json.dumps(row, default=str) for row in o.sample)
        console.print(f"[red]refused[/red] {escape(o.message)} — e.g. {escape(sample)}", soft_wrap=True)
    console.print(f"{len(plan.operations)} schema operations." if plan.ok else "[red]The upgrade cannot be applied.[/red]")


@click.command("plan")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_context
def pack_plan(ctx: click.Context, path: Path, as_json: bool) -> None:
    """Show what upgrading to the pack at PATH would change (nothing is changed). Exit code 1 when it cannot apply."""
    from xrm.cli import _context, _engine, _print_problems
    from xrm.metadata.upgrade import plan_upgrade

    plan = plan_upgrade(_engine(ctx), path, _context())
    if as_json:
        click.echo(json.dumps(plan.to_json(), indent=2))
    else:
        _print_problems(plan.problems)
        print_plan(plan)
    if not plan.ok:
        sys.exit(1)


@click.command("upgrade")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--backup-dir", type=click.Path(file_okay=False, path_type=Path),
              help="SQLite: where the copy of the database made before upgrading goes (default: beside it).")
@click.pass_context
def pack_upgrade(ctx: click.Context, path: Path, backup_dir: Path | None) -> None:
    """Upgrade an installed pack to the version at PATH: data and admin customizations kept, all or nothing."""
    from xrm.cli import _context, _engine, _print_problems
    from xrm.metadata.upgrade import UpgradeRefused, upgrade_pack

    try:
        result = upgrade_pack(_engine(ctx), path, _context(), backup_dir=backup_dir)
    except UpgradeRefused as refused:
        _print_problems(refused.plan.problems)
        print_plan(refused.plan)
        raise click.ClickException(str(refused)) from None
    print_plan(result.plan)
    if result.backup is not None:
        console.print(f"The database as it was before is saved in {result.backup}", soft_wrap=True)
    console.print(f"[green]Upgraded {result.plan.pack} to {result.plan.to_version}[/green].")
