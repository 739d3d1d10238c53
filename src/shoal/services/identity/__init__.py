"""Identity (Keystone v3 semantics): placeholder."""
