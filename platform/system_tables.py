"""The platform's own tables, as SQLAlchemy Core ``Table`` objects.

They are created by the alembic revisions in ``xrm.migrations`` (``xrm
migrate``); a test checks that the migrated database matches these
definitions, so the two cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from xrm.metadata.org import ORG_ENTITIES
from xrm.metadata.sqltypes import RecordId, UTCDateTime
from xrm.metadata.tables import entity_table, field_indexes, table_items

system_metadata = MetaData()

#: The organization model's tables (``xrm.metadata.org``): each entity's own table.  ``xrm_users``
#: is the ``user`` entity's table plus the password hash, which no entity field exposes.
_org = {e.name: e for e in ORG_ENTITIES}
users = Table(
    "xrm_users", system_metadata,
    *table_items(_org["user"]), *field_indexes(_org["user"]),
    Column("password_hash", String(255)),
)
org_tables = {name: users if name == "user" else entity_table(entity, system_metadata)
              for name, entity in _org.items()}
team_members = org_tables["team_member"]

user_roles = Table(
    "xrm_user_roles", system_metadata,
    Column("user_id", RecordId, ForeignKey("xrm_users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(63), primary_key=True),
)

packs = Table(
    "xrm_packs", system_metadata,
    Column("name", String(63), primary_key=True),
    Column("version", String(40), nullable=False),
    Column("label", String(200), nullable=False),
    Column("description", Text),
    Column("manifest", JSON, nullable=False),
    Column("installed_at", UTCDateTime(), nullable=False),
    Column("installed_by", String(150), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

#: Metadata documents (entities, views, workflows, roles, rule files) by layer:
#: "pack" holds what packs declare; admin customizations will be a layer on top.
metadata_documents = Table(
    "xrm_metadata", system_metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("name", String(255), nullable=False),
    Column("pack", String(63), ForeignKey("xrm_packs.name", ondelete="CASCADE"), nullable=False),
    Column("layer", String(20), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("kind", "name", "layer", name="uq_xrm_metadata_kind_name_layer"),
)

schema_history = Table(
    "xrm_schema_history", system_metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("pack", String(63), nullable=False),
    Column("pack_version", String(40), nullable=False),
    Column("operation", String(40), nullable=False),
    Column("target", String(255), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("applied_at", UTCDateTime(), nullable=False),
    Column("applied_by", String(150), nullable=False),
)

#: Counters behind autonumber fields, one row per entity field.
sequences = Table(
    "xrm_sequences", system_metadata,
    Column("name", String(130), primary_key=True),
    Column("value", BigInteger, nullable=False, default=0),
)

#: Bumped on every metadata change, so app processes know to reload.
metadata_version = Table(
    "xrm_metadata_version", system_metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
)


#: Bearer tokens for programs; only a SHA-256 of each token is kept.
api_tokens = Table(
    "xrm_api_tokens", system_metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("user_id", RecordId, ForeignKey("xrm_users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
    UniqueConstraint("token_hash", name="uq_xrm_api_tokens_token_hash"),
)

#: One row per record change: who, when, through which channel, and each field's old and new value.
audit_log = Table(
    "xrm_audit", system_metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("entity", String(63), nullable=False),
    Column("record_id", RecordId, nullable=False),
    Column("action", String(20), nullable=False),
    Column("record_version", Integer, nullable=False),
    Column("actor_id", RecordId),
    Column("actor", String(150), nullable=False),
    Column("source", String(20), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("changes", JSON, nullable=False),
    Column("note", Text),
    Index("ix_xrm_audit_entity_record_id", "entity", "record_id"),
)

#: Platform-wide settings shared by every app process (e.g. the session signing key).
settings = Table(
    "xrm_settings", system_metadata,
    Column("name", String(63), primary_key=True),
    Column("value", Text, nullable=False),
)

#: Durable timers: each row is work due at an instant; the scheduler fires it once (``xrm.rules.scheduler``).
timers = Table(
    "xrm_timers", system_metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("kind", String(63), nullable=False),
    Column("key", String(255), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("fired_at", UTCDateTime()),
    UniqueConstraint("kind", "key", name="uq_xrm_timers_kind_key"),
    Index("ix_xrm_timers_status_due_at", "status", "due_at", "id"),  # the scheduler's order: no sort
)

#: The rules' decision trace: one row per rule evaluated for a record (fired, or, on request, why not).
rule_trace = Table(
    "xrm_rule_trace", system_metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("entity", String(63), nullable=False),
    Column("record_id", RecordId, nullable=False),
    Column("rule", String(255), nullable=False),
    Column("pack", String(63), nullable=False),
    Column("trigger", String(255), nullable=False),
    Column("fired", Boolean, nullable=False),
    Column("reason", Text),
    Column("seen", JSON, nullable=False),
    Column("actions", JSON, nullable=False),
    Column("summary", Text, nullable=False),
    Column("depth", Integer, nullable=False),
    Column("actor", String(150), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_xrm_rule_trace_entity_record_id", "entity", "record_id"),
)

#: Round-robin cursors: who in a team or queue got the last record, so the next goes to the one after.
assignment_cursors = Table(
    "xrm_assignment_cursors", system_metadata,
    Column("key", String(255), primary_key=True),
    Column("last_user_id", RecordId),
    Column("assigned", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

#: Outbound e-mail waiting to be sent by a mail relay (the platform records it; sending is the relay's job).
outbox = Table(
    "xrm_outbox", system_metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("to_user_id", RecordId, ForeignKey("xrm_users.id", ondelete="SET NULL")),
    Column("to_address", String(254), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("body", Text, nullable=False),
    Column("entity", String(63)),
    Column("record_id", RecordId),
    Column("status", String(20), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    Index("ix_xrm_outbox_status", "status", "id"),
)

#: Records returned to a public pool: their last owner may not claim them back until ``until``.
pool_protections = Table(
    "xrm_pool_protections", system_metadata,
    Column("entity", String(63), primary_key=True),
    Column("record_id", RecordId, primary_key=True),
    Column("user_id", RecordId, primary_key=True),
    Column("until", UTCDateTime(), nullable=False),
)

#: List views people save in the app: personal (their owner's) or shared (everyone who may read the entity).
saved_views = Table(
    "xrm_saved_views", system_metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("entity", String(63), nullable=False),
    Column("name", String(100), nullable=False),
    Column("owner_id", RecordId, ForeignKey("xrm_users.id", ondelete="CASCADE"), nullable=False),
    Column("shared", Boolean, nullable=False),
    Column("columns", JSON, nullable=False),
    Column("filter", Text),
    Column("sort", String(255)),
    Column("q", String(255)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("entity", "owner_id", "name", name="uq_xrm_saved_views_entity_owner_id_name"),
)

#: CSV imports: the file's checksum and how far it got, committed with each batch, so a re-run resumes
#: after the last finished batch (``xrm.runtime.import_jobs``).  ``content`` holds an uploaded file.
import_jobs = Table(
    "xrm_import_jobs", system_metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("entity", String(63), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("checksum", String(64), nullable=False),
    Column("encoding", String(40), nullable=False),
    Column("content", LargeBinary),
    Column("settings", JSON),
    Column("status", String(20), nullable=False),
    Column("total_rows", Integer, nullable=False),
    Column("last_row", Integer, nullable=False),
    Column("created", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("message", Text),
    Column("runner", String(255)),
    Column("user_id", RecordId, ForeignKey("xrm_users.id", ondelete="SET NULL")),
    Column("actor", String(150), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Index("ix_xrm_import_jobs_entity_checksum", "entity", "checksum"),
)

#: The rows an import refused: the original cells and every field error, written with their batch.
import_errors = Table(
    "xrm_import_errors", system_metadata,
    Column("job_id", RecordId, ForeignKey("xrm_import_jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("row", Integer, primary_key=True),
    Column("cells", JSON, nullable=False),
    Column("errors", Text, nullable=False),
)
