"""Tests against a real Ceph cluster (Debian's Ceph 16), started by ``scripts/ceph-dev``."""
