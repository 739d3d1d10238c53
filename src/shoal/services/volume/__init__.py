"""The volume service (Cinder v3 semantics) on RBD; :mod:`.driver` is its backend driver."""
