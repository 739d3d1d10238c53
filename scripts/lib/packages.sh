# shellcheck shell=bash
# The Debian packages the project's scripts install (one list per tool; scripts/system-packages
# installs their union before the tests).
# shellcheck disable=SC2034
CEPH_PACKAGES=(ceph-mon ceph-osd ceph-mgr ceph-common python3-rados python3-rbd)
PG_PACKAGES=(postgresql)
QEMU_PACKAGES=(qemu-utils qemu-block-extra)
# virt-xml-validate (libvirt-clients; it runs xmllint from libxml2-utils), which checks the
# domain XML shoal writes against libvirt's schema.
LIBVIRT_PACKAGES=(libvirt-clients libxml2-utils)
