"""Keystone v3 (identity) over :mod:`shoal.services.identity`.

- :mod:`.routes`: ``/v3/auth/tokens`` (issue, validate, revoke), ``/v3/auth/catalog``,
  the catalog built from the deployment's endpoints, and the token validator the other
  services use when shoal is its own Keystone.
- :mod:`.admin_routes`: domains, projects, users, roles, grants, role assignments.
- :mod:`.remote`: validating tokens against a remote Keystone, as keystonemiddleware's
  ``auth_token`` does (``[keystone_authtoken]``).
"""
