"""The entity model: frozen dataclasses that every layer above metadata works with.

Packs and the database hold metadata as JSON documents; ``xrm.metadata.builder``
turns a validated document into these objects.  Nothing outside
``xrm.metadata`` should read the raw documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from xrm.metadata.dashboards import Dashboard

OnDelete = Literal["restrict", "set_null", "cascade"]
RecordScope = Literal["own", "team", "all"]


@dataclass(frozen=True)
class PicklistOption:
    """One value of a picklist: stored ``value``, shown ``label``."""

    value: str
    label: str
    order: int
    color: str | None = None
    active: bool = True


@dataclass(frozen=True)
class Field:
    """A field of an entity; which optional attributes apply depends on ``type``."""

    name: str
    type: str
    label: str
    required: bool = False
    unique: bool = False
    indexed: bool = False
    read_only: bool = False
    hidden: bool = False
    default: Any = None
    help_text: str | None = None
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    currency_code: str | None = None
    options: tuple[PicklistOption, ...] = ()
    target: str | None = None
    on_delete: OnDelete | None = None
    expression: str | None = None
    returns: str | None = None
    format: str | None = None
    description: str | None = None
    #: Forms show the field only while this expression holds.
    visible_when: str | None = None
    #: While this expression holds, the field must have a value.
    required_when: str | None = None
    #: A field type's own properties that have no attribute above (types registered by extensions).
    settings: Mapping[str, Any] = dataclass_field(default_factory=lambda: MappingProxyType({}))

    def option(self, value: str) -> PicklistOption | None:
        """The picklist option stored as ``value``, if any."""
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True)
class Index:
    """A database index over one or more fields."""

    name: str
    fields: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class ValidationRule:
    """A condition every saved record must satisfy (an expression), and what to say when not."""

    name: str
    check: str
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entity:
    """An entity: one table, its fields, constraints and validation rules."""

    name: str
    label: str
    plural_label: str
    pack: str
    display_field: str
    fields: tuple[Field, ...]
    indexes: tuple[Index, ...] = ()
    unique_together: tuple[tuple[str, ...], ...] = ()
    validations: tuple[ValidationRule, ...] = ()
    description: str | None = None
    #: The table, when it is not the entity's name (the platform's own entities: ``xrm_users``...).
    table: str | None = None
    _by_name: Mapping[str, Field] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", MappingProxyType({f.name: f for f in self.fields}))

    @property
    def table_name(self) -> str:
        """The database table that holds this entity's records."""
        return self.table or self.name

    def field(self, name: str) -> Field | None:
        """The field called ``name``, if the entity has it."""
        return self._by_name.get(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(self._by_name)


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class ListView:
    """A named list of an entity's records: columns, filter and sort."""

    name: str
    entity: str
    label: str
    columns: tuple[str, ...]
    filter: str | None = None
    sort: tuple[SortKey, ...] = ()
    default: bool = False


@dataclass(frozen=True)
class EntryActions:
    """What entering a workflow state does: fields set (name → expression) and people notified."""

    set: tuple[tuple[str, str], ...] = ()
    notify: tuple[str, ...] = ()
    message: str | None = None


@dataclass(frozen=True)
class WorkflowState:
    name: str
    label: str
    final: bool = False
    on_enter: EntryActions | None = None


@dataclass(frozen=True)
class ApprovalRule:
    """Who must approve a transition before it completes, when, and how long the request stays open."""

    approver: str
    when: str | None = None
    expires_after: int | None = None
    pending: str | None = None
    on_reject: str | None = None
    set_approver: str | None = None
    comment_field: str | None = None

    @property
    def approver_kind(self) -> str:
        """``manager``, ``role`` or ``queue``."""
        return self.approver.partition(":")[0]

    @property
    def approver_name(self) -> str | None:
        return self.approver.partition(":")[2] or None


@dataclass(frozen=True)
class Transition:
    """A move between workflow states, guarded by an expression and by roles."""

    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    guard: str | None = None
    roles: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    approval: ApprovalRule | None = None


@dataclass(frozen=True)
class Workflow:
    """A state machine on one picklist field of an entity."""

    name: str
    entity: str
    field: str
    label: str
    initial: str
    states: tuple[WorkflowState, ...]
    transitions: tuple[Transition, ...]


@dataclass(frozen=True)
class EntityPermission:
    """What a role may do with one entity."""

    entity: str
    create: bool = False
    read: bool = False
    update: bool = False
    delete: bool = False
    scope: RecordScope = "own"
    hidden_fields: tuple[str, ...] = ()
    read_only_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Role:
    name: str
    label: str
    permissions: tuple[EntityPermission, ...]
    description: str | None = None


@dataclass(frozen=True)
class RuleFile:
    """A rules file shipped by a pack, kept as text until the rules engine compiles it."""

    path: str
    text: str


@dataclass(frozen=True)
class Pack:
    """A whole pack: its manifest and every object it declares."""

    name: str
    version: str
    label: str
    description: str | None
    depends_on: Mapping[str, str]
    entities: tuple[Entity, ...]
    views: tuple[ListView, ...] = ()
    workflows: tuple[Workflow, ...] = ()
    roles: tuple[Role, ...] = ()
    rule_files: tuple[RuleFile, ...] = ()
    dashboards: tuple[Dashboard, ...] = ()
    #: teams, queues and business calendars the pack's rules name (created on install when missing)
    organization: Mapping[str, Any] = dataclass_field(default_factory=lambda: MappingProxyType({}))
