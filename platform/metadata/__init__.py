"""Metadata: packs, JSON Schemas, field types, the entity model and schema sync."""
