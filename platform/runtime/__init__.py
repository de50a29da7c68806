"""Runtime: the record service, queries, permissions, audit and the API."""
