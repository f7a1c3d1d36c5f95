"""The database schema, shared by SQLite and PostgreSQL.

Columns ending in nothing special hold no personal data. Personal content (texts, names,
numbers, raw payloads, file names) lives only in ``LargeBinary`` columns written through
``chatproof.store.personal``, so that the archive can encrypt it per data subject without
touching anything else (DESIGN invariant 4). Platform ids appear only as keyed hashes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")
Hash = String(64)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would otherwise hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; chatproof stores only aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Moment = UtcDateTime()

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("received_at", Moment, nullable=False),
    Column("body_sha256", Hash, nullable=False, index=True),
    Column("body", LargeBinary, nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("received_at", Moment, nullable=False),
    Column("reason", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("body_sha256", Hash, nullable=False),
    Column("body_size", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("resolved_at", Moment),
    Column("resolved_by", String(200)),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subject_id", String(36), nullable=False, unique=True),
    Column("wa_id_hash", Hash, nullable=False, unique=True),
    Column("wa_id", LargeBinary, nullable=False),
    Column("name", LargeBinary),
    Column("name_digest", Hash),
    Column("user_id", LargeBinary),
    Column("first_seen_at", Moment, nullable=False),
    Column("updated_at", Moment, nullable=False),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact_id", ForeignKey("contacts.id"), nullable=False),
    Column("business_number_id", String(64), nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("created_at", Moment, nullable=False),
    Column("last_message_at", Moment, nullable=False),
    Column("last_inbound_at", Moment),
    Column("message_count", Integer, nullable=False, server_default="0"),
    Column("unread_count", Integer, nullable=False, server_default="0"),
    Column("retention_class", String(40)),
    Column("inbound_count", Integer, nullable=False, server_default="0"),
    UniqueConstraint("contact_id", "business_number_id"),
    Index(None, "last_message_at"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("conversation_id", ForeignKey("conversations.id"), nullable=False),
    Column("delivery_id", ForeignKey("webhook_deliveries.id")),
    Column("platform_id_hash", Hash, nullable=False, unique=True),
    Column("platform_id", LargeBinary, nullable=False),
    Column("direction", String(8), nullable=False),
    Column("type", String(32), nullable=False),
    Column("sent_at", Moment, nullable=False),
    Column("received_at", Moment, nullable=False),
    Column("text", LargeBinary),
    Column("raw", LargeBinary, nullable=False),
    Column("context_hash", Hash),
    Column("related_hash", Hash),
    Column("state", String(16)),
    Column("state_at", Moment),
    Column("error_code", Integer),
    Column("error_title", Text),
    Column("edited_at", Moment),
    Column("revoked_at", Moment),
    Column("media_id", String(128)),
    Column("media_mime_type", String(128)),
    Column("media_sha256", String(128)),
    Column("media_filename", LargeBinary),
    Column("media_state", String(16)),
    Column("media_attempts", Integer, nullable=False, server_default="0"),
    Column("media_next_attempt_at", Moment),
    Column("media_error", Text),
    Column("media_blob", Hash),
    Column("log_index", BigInteger),
    Index(None, "conversation_id", "id"),
    Index(None, "sent_at"),
    # Most messages carry no media: only those that do are indexed.
    Index(
        "ix_messages_media_state_media_next_attempt_at",
        "media_state",
        "media_next_attempt_at",
        sqlite_where=text("media_state IS NOT NULL"),
        postgresql_where=text("media_state IS NOT NULL"),
    ),
)

statuses = Table(
    "statuses",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("platform_id_hash", Hash, nullable=False),
    Column("status", String(32), nullable=False),
    Column("at", Moment, nullable=False),
    Column("received_at", Moment, nullable=False),
    Column("delivery_id", ForeignKey("webhook_deliveries.id")),
    Column("error_code", Integer),
    Column("raw", LargeBinary, nullable=False),
    UniqueConstraint("platform_id_hash", "status"),
)

platform_events = Table(
    "platform_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_key", Hash, nullable=False, unique=True),
    Column("field", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("contact_id", ForeignKey("contacts.id")),
    Column("business_number_id", String(64), nullable=False),
    Column("at", Moment),
    Column("received_at", Moment, nullable=False),
    Column("delivery_id", ForeignKey("webhook_deliveries.id")),
    Column("raw", LargeBinary, nullable=False),
)

access_log = Table(
    "access_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", Moment, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200), nullable=False),
)

# The archive (DESIGN invariants 3 and 4): leaves are stored as written and never change;
# complete-subtree hashes let proofs be answered without reading the whole log. A leaf's own
# hash (level 0) sits in its row; ``merkle_nodes`` holds the levels from 4 up (the three
# between are hashed again from the leaves, ``store.log.STORED_FROM_LEVEL``). The log's one
# secondary index, by kind and number, grows at a few dozen places only; an index on a random
# key (subject, platform id) would cost a random page write per entry (docs/performance.md),
# so a message's entry is found through ``messages.log_index``.

log_state = Table(
    "log_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
)

log_entries = Table(
    "log_entries",
    metadata,
    Column("idx", Id, primary_key=True, autoincrement=False),
    Column("leaf", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("subject_id", String(36)),
    Column("platform_id_hash", Hash),
    Column("appended_at", Moment, nullable=False),
    Index(None, "kind", "idx"),
)

merkle_nodes = Table(
    "merkle_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

tree_heads = Table(
    "tree_heads",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("public_key", LargeBinary, nullable=False),
)

bucket_keys = Table(
    "bucket_keys",
    metadata,
    Column("bucket_id", String(32), primary_key=True),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("subject_id", String(36), nullable=False, index=True),
    Column("retention_class", String(40), nullable=False),
    Column("start_year", SmallInteger, nullable=False),
    Column("wrapped_key", LargeBinary),
    Column("master_version", Integer, nullable=False),
    Column("shredded_at", Moment),
    Column("shred_reason", Text),
    Column("shredded_by", String(200)),
    CheckConstraint(
        "(wrapped_key IS NULL) = (shredded_at IS NOT NULL)", name="wrapped_or_shredded"
    ),
    Index(None, "retention_class", "start_year"),
)

data_keys = Table(
    "data_keys",
    metadata,
    Column("key_id", LargeBinary(16), primary_key=True),
    Column("bucket_id", String(32), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    ForeignKeyConstraint(
        ["bucket_id", "generation"], ["bucket_keys.bucket_id", "bucket_keys.generation"]
    ),
    Index(None, "bucket_id", "generation"),
)

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subject_id", String(36), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("placed_by", String(200), nullable=False),
    Column("placed_at", Moment, nullable=False),
    Column("lifted_by", String(200)),
    Column("lifted_at", Moment),
)

witness_receipts = Table(
    "witness_receipts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("witness", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("tree_size", BigInteger, nullable=False, index=True),
    Column("root_hash", LargeBinary, nullable=False),
    Column("received_at_ms", BigInteger, nullable=False),
    Column("evidence", LargeBinary, nullable=False),
)

# People who use the inbox (issue 5). Secrets are stored only as hashes (passwords: argon2,
# API and session tokens: SHA-256 of 256 random bits) or sealed (the TOTP secret).

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subject_id", String(36), nullable=False, unique=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("language", String(2), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("must_change_password", SmallInteger, nullable=False, server_default="0"),
    Column("totp_secret", LargeBinary),
    Column("totp_enabled", SmallInteger, nullable=False, server_default="0"),
    Column("totp_last_counter", BigInteger),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("locked_until", Moment),
    Column("disabled_at", Moment),
    Column("created_at", Moment, nullable=False),
    Column("updated_at", Moment, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", Hash, nullable=False, unique=True),
    Column("created_at", Moment, nullable=False),
    Column("last_used_at", Moment),
    Column("revoked_at", Moment),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", Hash, nullable=False, unique=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("stage", String(16), nullable=False),
    Column("created_at", Moment, nullable=False),
    Column("expires_at", Moment, nullable=False),
    Column("revoked_at", Moment),
)

# Imported WhatsApp chat exports: one row per import with its provenance, and which messages
# each one added (the messages themselves are ordinary rows of ``messages``, keyed by a keyed
# fingerprint instead of a platform id).

imports = Table(
    "imports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("conversation_id", ForeignKey("conversations.id"), nullable=False, index=True),
    Column("file_sha256", Hash, nullable=False, index=True),
    Column("file_name", LargeBinary, nullable=False),
    Column("format", String(64), nullable=False),
    Column("confidence_pct", SmallInteger, nullable=False),
    Column("importer_version", String(32), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("imported_by", String(200), nullable=False),
    Column("imported_at", Moment, nullable=False),
    Column("messages_read", Integer, nullable=False, server_default="0"),
    Column("messages_added", Integer, nullable=False, server_default="0"),
    Column("bad_lines", Integer, nullable=False, server_default="0"),
    Column("media_stored", Integer, nullable=False, server_default="0"),
    Column("media_missing", Integer, nullable=False, server_default="0"),
)

imported_messages = Table(
    "imported_messages",
    metadata,
    Column("message_id", ForeignKey("messages.id"), primary_key=True, autoincrement=False),
    Column("import_id", ForeignKey("imports.id"), nullable=False, index=True),
    Column("line", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
)

# Lawful sending (issue 4). Consent events are only ever appended; the current state is
# derived from them. The suppression list is keyed by the number's keyed hash, so an opt-out
# outlives the erasure of the contact it came from (DESIGN invariant 4).

consent_events = Table(
    "consent_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact_id", ForeignKey("contacts.id"), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("action", String(16), nullable=False),
    Column("source", String(32), nullable=False),
    Column("at", Moment, nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("text_version", String(64), nullable=False),
    Column("proof", Text, nullable=False),
    Column("recorded_at", Moment, nullable=False),
    Index(None, "contact_id", "at"),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("number_hash", Hash, primary_key=True),
    Column("purpose", String(40), primary_key=True),
    Column("at", Moment, nullable=False),
    Column("source", String(32), nullable=False),
)

broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("template_name", String(200), nullable=False),
    Column("template_language", String(16), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("body_params", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", Moment, nullable=False),
    Column("updated_at", Moment, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("contact_id", ForeignKey("contacts.id"), nullable=False),
    Column("broadcast_id", ForeignKey("broadcasts.id")),
    Column("purpose", String(40), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("template_name", String(200)),
    Column("template_language", String(16)),
    Column("template_category", String(16)),
    Column("payload", LargeBinary, nullable=False),
    Column("origin", String(64), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("state", String(16), nullable=False),
    Column("delivery", String(16)),
    Column("business_initiated", SmallInteger, nullable=False, server_default="0"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Moment),
    Column("created_at", Moment, nullable=False),
    Column("updated_at", Moment, nullable=False),
    Column("sent_at", Moment),
    Column("platform_id_hash", Hash, index=True),
    Column("rule_id", String(64)),
    Column("error_code", Integer),
    Column("reason", Text),
    Column("attachment_blob", Hash),
    Column("media_id", String(128)),
    Index(None, "state", "next_attempt_at"),
    Index(None, "broadcast_id", "id"),
    Index(None, "contact_id", "created_at"),
)

reaction_cursors = Table(
    "reaction_cursors",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

automation_marks = Table(
    "automation_marks",
    metadata,
    Column("contact_id", ForeignKey("contacts.id"), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("at", Moment, nullable=False),
)

# The team inbox (issue 5): who works on a conversation, its labels, internal notes (sealed
# under the customer's subject, as they are about them), and the search index.

conversation_assignments = Table(
    "conversation_assignments",
    metadata,
    Column("conversation_id", ForeignKey("conversations.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("assigned_at", Moment, nullable=False),
)

labels = Table(
    "labels",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("created_at", Moment, nullable=False),
)

conversation_labels = Table(
    "conversation_labels",
    metadata,
    Column("conversation_id", ForeignKey("conversations.id"), primary_key=True),
    Column("label_id", ForeignKey("labels.id"), primary_key=True, index=True),
    Column("added_at", Moment, nullable=False),
)

notes = Table(
    "notes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("conversation_id", ForeignKey("conversations.id"), nullable=False),
    Column("author_id", ForeignKey("users.id"), nullable=False),
    Column("at", Moment, nullable=False),
    Column("text", LargeBinary, nullable=False),
    Index(None, "conversation_id", "id"),
)

# Per-person unread state (issue 5): how many of a conversation's inbound messages
# (``conversations.inbound_count``, which only grows) a person has seen. A conversation without
# a row is read up to the person's baseline: their account's creation, or for people who existed
# before per-person state, the moment it began (``read_baselines``).
read_states = Table(
    "read_states",
    metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("conversation_id", ForeignKey("conversations.id"), primary_key=True),
    Column("seen_inbound", Integer, nullable=False),
    Column("seen_at", Moment, nullable=False),
)

read_baselines = Table(
    "read_baselines",
    metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True, autoincrement=False),
    Column("since", Moment, nullable=False),
    Column("message_id", Id, nullable=False),
)

# Plain text of messages for full-text search: derived data, rebuilt from the sealed messages
# by the indexer and deleted when the data subject is shredded (DESIGN invariant 4).
message_search = Table(
    "message_search",
    metadata,
    Column("message_id", ForeignKey("messages.id"), primary_key=True, autoincrement=False),
    Column("conversation_id", ForeignKey("conversations.id"), nullable=False),
    Column("subject_id", String(36), nullable=False, index=True),
    Column("body", Text, nullable=False),
)

# Procedure documentation (Verfahrensdokumentation, GoBD Rz. 151 ff.): every generated version
# is kept for ten years (§ 147 (1) Nr. 1 AO) with the moment from which it applied, so the
# procedure in force on any date can be shown. Only ever appended.
procedure_versions = Table(
    "procedure_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("valid_from", Moment, nullable=False, index=True),
    Column("created_by", String(200), nullable=False),
    Column("language", String(2), nullable=False),
    Column("sha256", Hash, nullable=False),
    Column("text", Text, nullable=False),
    Column("log_index", BigInteger),
)

# The business's message templates as last synced from the platform (issue 4); the
# configured ones live in the configuration file.

message_templates = Table(
    "message_templates",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("language", String(16), primary_key=True),
    Column("category", String(16), nullable=False),
    Column("approved", SmallInteger, nullable=False),
    Column("status", String(32), nullable=False, server_default=""),
    Column("body_params", Integer, nullable=False),
    Column("header_params", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("buttons", Text, nullable=False),
    Column("synced_at", Moment, nullable=False),
)

# Data-subject requests (GDPR Art. 12-21) with their deadlines, and restrictions of processing
# (Art. 18): while one is in place the person is hidden from agents and never messaged.
# Subjects only by pseudonymous id; the identity check names the method, not the document.

data_subject_requests = Table(
    "data_subject_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("subject_id", String(36), nullable=False, index=True),
    Column("contact_id", ForeignKey("contacts.id"), nullable=False),
    Column("received_on", String(10), nullable=False),
    Column("identity_check", Text, nullable=False),
    Column("due_on", String(10), nullable=False, index=True),
    Column("extended_months", SmallInteger, nullable=False, server_default="0"),
    Column("extension_reason", Text, nullable=False, server_default=""),
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", Moment, nullable=False),
    Column("closed_at", Moment),
    Column("outcome", Text, nullable=False, server_default=""),
)

restrictions = Table(
    "restrictions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subject_id", String(36), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("request_id", ForeignKey("data_subject_requests.id")),
    Column("placed_by", String(200), nullable=False),
    Column("placed_at", Moment, nullable=False),
    Column("lifted_by", String(200)),
    Column("lifted_at", Moment),
)

# The tax auditor's audit period (GoBD Rz. 159: data access covers the audit's scope only);
# an auditor without one reads nothing in the audit workspace.

audit_scopes = Table(
    "audit_scopes",
    metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True, autoincrement=False),
    Column("period_from", String(10), nullable=False),
    Column("period_to", String(10), nullable=False),
    Column("set_by", String(200), nullable=False),
    Column("set_at", Moment, nullable=False),
)

# Quick replies an admin keeps in the browser (issue 5), next to those in chatproof.toml.
# Business texts, not personal data.
quick_replies = Table(
    "quick_replies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("text", Text, nullable=False),
    Column("updated_at", Moment, nullable=False),
    Column("updated_by", String(200), nullable=False),
)

# Operational settings an admin changes in the browser or with ``chatproof settings set``
# (issue 5): business hours, holidays, greeting/away/privacy texts. A stored value wins over
# chatproof.toml; ``value`` is JSON, and JSON ``null`` means "back to the file". Rows are never
# deleted, so the sum of versions only grows and tells other processes something changed.
# Business texts and schedules, not personal data.
operational_settings = Table(
    "operational_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("changed_by", String(200), nullable=False),
    Column("changed_at", Moment, nullable=False),
)
