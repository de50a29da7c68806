"""The README documents every registry entry: field types and ``xrm`` commands (a new one fails here until written up)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest

from tests.conftest import REPO_ROOT
from xrm.cli import main
from xrm.metadata.fieldtypes import field_type_names

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The README text under the heading ``title``, up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(title)}$", README, re.MULTILINE)
    assert match, f"README has no section {title!r}"
    body = README[match.end():]
    end = re.search(rf"^#{{1,{len(match.group(1))}}} ", body, re.MULTILINE)
    return body[: end.start()] if end else body


def table_first_column(text: str) -> list[str]:
    """The first cell of every row of the Markdown tables in ``text`` (header and rule rows left out)."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    cells = [row.split("|")[1].strip() for row in rows]
    return [cell for cell in cells[2:] if not set(cell) <= set("-: ")] if rows else []


def documented_field_types() -> set[str]:
    return {name for cell in table_first_column(section("Field types")) for name in re.findall(r"`([a-z_]+)`", cell)}


def command_paths(command: click.Command, prefix: str = "xrm") -> Iterator[tuple[str, click.Command]]:
    """Every command and subcommand below ``command`` as it is typed, e.g. ``xrm pack validate``."""
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield f"{prefix} {name}", sub
            yield from command_paths(sub, f"{prefix} {name}")


COMMANDS = dict(command_paths(main))
OPTIONS = sorted({(path, opt) for path, cmd in [("xrm", main), *COMMANDS.items()] for param in cmd.params
                  if isinstance(param, click.Option) for opt in param.opts if opt.startswith("--")})


def test_the_readers_find_what_they_look_for() -> None:
    """Guards the two tests below against passing because nothing was found."""
    assert {"text", "long_text", "lookup", "autonumber"} <= documented_field_types()
    assert {"xrm migrate", "xrm pack", "xrm pack validate", "xrm schema export"} <= set(COMMANDS)
    assert ("xrm pack validate", "--json") in OPTIONS


@pytest.mark.parametrize("name", field_type_names())
def test_field_type_is_in_the_readme_field_type_table(name: str) -> None:
    assert name in documented_field_types(), f"field type {name!r} is registered but not in README.md's table"


def test_readme_field_type_table_has_no_unregistered_types() -> None:
    assert documented_field_types() <= set(field_type_names())


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_command_is_in_the_readme(path: str) -> None:
    assert re.search(rf"`{re.escape(path)}[` ]", README), f"`{path}` is a command but README.md does not mention it"


@pytest.mark.parametrize(("path", "option"), OPTIONS)
def test_command_option_is_in_the_readme(path: str, option: str) -> None:
    assert option in README, f"{path} takes {option} but README.md does not mention it"
