"""shoal: OpenStack-compatible cloud block storage on Ceph RBD semantics."""

__version__ = "0.1.0"
