"""shoal.services."""
