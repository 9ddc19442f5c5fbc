"""Schema revisions, oldest first. Each is a frozen copy of the schema change, never models."""
