"""shoal.db."""
