"""``xrm rules ...``: check rule files and run the rule tests packs ship."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

console = Console(highlight=False)


def _catalog_with_dependencies(ctx: click.Context, path: Path):  # noqa: ANN202
    """The database's catalog (or the platform's), plus the packs ``path`` depends on found beside it."""
    from xrm.cli import _engine, _print_problems
    from xrm.db import database_exists
    from xrm.metadata.installer import installed_catalog
    from xrm.metadata.org import platform_catalog
    from xrm.metadata.validation import validate_pack
    from xrm.rules.testing import pack_with_dependencies

    catalog = installed_catalog(_engine(ctx)) if database_exists(ctx.obj) else platform_catalog()
    for dependency in pack_with_dependencies(path)[:-1]:
        report = validate_pack(dependency, catalog)
        if report.pack is None:
            _print_problems(report.problems)
            raise click.ClickException(f"{dependency} (needed by {path}) is not valid")
        if report.pack.name not in catalog.packs:
            catalog = catalog.with_pack(report.pack)
    return catalog


@click.group()
def rules() -> None:
    """Check rule files and run the rule tests of a pack."""


@rules.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_context
def rules_check(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Check the rules of the packs at PATHS (default: the rules installed in the database).

    Syntax, unknown fields, type errors and unknown teams, queues and calendars
    are errors with file, line and column; rules that may loop are warnings.
    """
    from xrm.cli import _engine, _print_problems
    from xrm.metadata.validation import validate_pack

    failed = False
    if not paths:
        from xrm.rules.checker import check_rules, org_names

        engine = _engine(ctx)
        with engine.connect() as connection:
            from xrm.metadata import store

            catalog = store.load_catalog(connection)
            report = check_rules([(k.split("/", 1)[0], f) for k, f in catalog.rule_files.items()], catalog,
                                 org_names(connection))
        _print_problems(report.problems)
        failed = bool(report.errors)
        _summary("installed rules", report.ruleset, report.syntax, report.errors, len(report.problems))
    for path in paths:
        report = validate_pack(path, _catalog_with_dependencies(ctx, path))
        problems = [p for p in report.problems if p.file.endswith(".rules")]
        _print_problems(problems)
        errors = [p for p in problems if p.severity == "error"]
        if report.pack is None and not errors:
            _print_problems([p for p in report.problems if p not in problems])
            errors = [p for p in report.problems if p.severity == "error"]
        failed = failed or bool(errors)
        if report.pack is not None:
            from xrm.rules.checker import check_rules

            checked = check_rules([(report.pack.name, f) for f in report.pack.rule_files],
                                  _catalog_with_dependencies(ctx, path).with_pack(report.pack))
            _summary(f"pack {report.pack.name}", checked.ruleset, checked.syntax, errors, len(problems))
        else:
            console.print(f"[red]{escape(str(path))}: {len(errors)} error{'s' if len(errors) != 1 else ''}[/red]",
                          soft_wrap=True)
    if failed:
        sys.exit(1)


def _summary(what: str, ruleset, syntax, errors, problems: int) -> None:  # noqa: ANN001
    tests = sum(len(s.tests) for s in syntax)
    colour = "red" if errors else "green"
    warnings = problems - len(errors)
    console.print(f"[{colour}]{escape(what)}: {len(ruleset.rules)} rules, {tests} tests, {len(errors)} errors, "
                  f"{warnings} warnings[/{colour}]", soft_wrap=True)


@rules.command("test")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--verbose", "-v", is_flag=True, help="Show every rule decision of each test.")
def rules_test(path: Path, verbose: bool) -> None:
    """Run the rule tests of the pack at PATH in a scratch database (its dependencies are found beside it)."""
    from xrm.cli import _print_problems
    from xrm.metadata.problems import PackInvalid
    from xrm.rules.testing import run_pack_tests

    try:
        outcomes = run_pack_tests(path)
    except PackInvalid as invalid:  # the pack (or one it needs) does not install: say where, like pack install
        _print_problems(invalid.problems)
        raise click.ClickException(f"{invalid}; its rule tests cannot run") from None
    for outcome in outcomes:
        mark = "[green]PASS[/green]" if outcome.passed else "[red]FAIL[/red]"
        console.print(f"{mark} {escape(outcome.file)}:{outcome.line} {escape(outcome.name)}", soft_wrap=True)
        for failure in outcome.failures:
            console.print(f"     {escape(failure)}", soft_wrap=True)
        if verbose and outcome.result is not None:
            for decision in outcome.result.decisions:
                console.print(f"       · {escape(decision['summary'])}", soft_wrap=True)
    failed = sum(not o.passed for o in outcomes)
    colour = "red" if failed else "green"
    console.print(f"[{colour}]{len(outcomes) - failed} passed, {failed} failed[/{colour}]")
    if failed or not outcomes:
        if not outcomes:
            console.print("[yellow]the pack has no rule tests[/yellow]")
        sys.exit(1)
