"""``xrm scheduler ...``: fire the durable timers that are due."""

from __future__ import annotations

from datetime import datetime

import click

from xrm.db import make_engine
from xrm.migrate import upgrade


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise click.BadParameter(f"'{text}' is not an instant like 2026-12-01T08:00:00+01:00") from None
    if value.tzinfo is None:
        raise click.BadParameter("give the instant a time zone offset, e.g. 2026-12-01T08:00:00Z")
    return value


@click.group()
def scheduler() -> None:
    """Fire durable timers: time rules, scheduled rules, approval expiry."""


@scheduler.command("tick")
@click.option("--now", "now_text", metavar="ISO", help="Process everything due up to this instant (default: now).")
@click.pass_context
def scheduler_tick(ctx: click.Context, now_text: str | None) -> None:
    """Fire every timer due up to now (or --now) once, then exit."""
    from xrm.rules.scheduler import tick

    engine = make_engine(ctx.obj)
    upgrade(engine)
    result = tick(engine, _instant(now_text))
    click.echo(f"fired {result.fired}, retrying {result.retried}, failed {result.failed}")


@scheduler.command("run")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds between ticks.")
@click.pass_context
def scheduler_run(ctx: click.Context, interval: float) -> None:
    """Tick forever; several of these may run against one PostgreSQL."""
    from xrm.rules.scheduler import run

    engine = make_engine(ctx.obj)
    upgrade(engine)
    click.echo(f"scheduler running, a tick every {interval:g}s (Ctrl+C stops it)")
    run(engine, interval=interval)
