"""The generic server-rendered UI."""
