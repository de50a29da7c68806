"""``xrm pack plan`` and ``xrm pack upgrade``: preview and apply a new version of an installed pack."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from xrm.metadata.upgrade_plan import FieldLine, UpgradePlan

console = Console(highlight=False)


def _records(rows: int | None) -> str:
    return "" if rows is None else f" ({rows} record{'s' if rows != 1 else ''})"


def _field_line(line: FieldLine) -> str:
    where = f"{line.entity}.{line.field}"
    text = {
        "added": f"+ field {where} ({line.type})",
        "renamed": f"~ field {line.entity}.{line.old_name} renamed to {line.field}, data moved",
        "removed": f"- field {where} no longer in the pack",
        "retyped": f"~ field {where} type {line.old_type} → {line.type}",
        "required": f"~ field {where} becomes required",
        "optional": f"~ field {where} becomes optional",
    }.get(line.change, f"~ field {where} {line.change}")
    return text + _records(line.rows) + (f": {line.detail}" if line.detail else "")


def print_plan(plan: UpgradePlan) -> None:
    """The plan, one change a line (names never cut), for a consultant to read before applying it."""
    lines = [f"+ entity {name} (new table)" for name in plan.entities_added]
    lines += [f"- entity {name} no longer in the pack: its table and {rows} records are kept"
              for name, rows in plan.entities_removed]
    lines += [f"~ entity {old} renamed to {new}, table and records moved{_records(rows)}"
              for old, new, rows in plan.entities_renamed]
    lines += [_field_line(line) for line in plan.fields]
    lines += [f"{'+' if c.change == 'added' else '-'} {c.kind} {c.name} on {c.entity}({', '.join(c.fields)})"
              + (f": {c.violations} records violate it" if c.violations else "") for c in plan.constraints]
    lines += [f"{'+' if o.change == 'added' else '~' if o.change == 'kept_inactive' else '-'} value "
              f"{o.entity}.{o.field} = '{o.value}' {o.change.replace('_', ' ')}{_records(o.rows or None)}"
              for o in plan.options]
    lines += [f"{'+' if o.change == 'added' else '-' if o.change == 'removed' else '~'} {o.kind} {o.name} {o.change}"
              for o in plan.objects]
    lines += [f'+ rule "{name}"' for name in plan.rules_added]
    lines += [f'- rule "{name}"' for name in plan.rules_removed]
    console.print(f"[bold]Upgrade {escape(plan.pack)} {escape(plan.from_version)} → {escape(plan.to_version)}[/bold]",
                  soft_wrap=True)
    for line in lines:
        console.print(f"  {line}", soft_wrap=True, markup=False)
    if plan.conflicts:
        console.print("[bold]Conflicts with admin customizations[/bold]")
    for c in plan.conflicts:
        what = f"{c.name}" + (f" {c.property}" if c.property else "")
        values = f": admin {json.dumps(c.admin_value, default=str)}, pack {json.dumps(c.pack_value, default=str)}"
        style = "red" if c.blocking else "yellow"
        console.print(f"  [{style}]![/{style}] {escape(what + values)} — {escape(c.resolution)}", soft_wrap=True)
    for o in plan.offending:
        sample = ", ".join(json.dumps(row, default=str) for row in o.sample)
        console.print(f"  [red]refused[/red] {escape(o.message)} — e.g. {escape(sample)}", soft_wrap=True)
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
