"""The REST API under /api: records, metadata and the OpenAPI document, all generated from the catalog."""
