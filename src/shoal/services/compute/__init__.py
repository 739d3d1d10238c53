"""The compute service (Nova v2.1): servers whose disks live in Ceph pools.

:mod:`shoal.services.compute.libvirt` is the hypervisor side: the domain XML upstream's
libvirt driver writes for RBD-backed guests, and the per-host libvirt secrets.
"""
