"""shoal.cluster."""
