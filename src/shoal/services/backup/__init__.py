"""The volume backup service (Cinder's backup API over Ceph RBD); see :mod:`.driver`."""
