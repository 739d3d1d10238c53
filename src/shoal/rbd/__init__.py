"""shoal.rbd."""
