"""shoal.services.image: the Image service (Glance v2 semantics)."""
