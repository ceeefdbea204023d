"""Domain value objects and rules (no I/O)."""
