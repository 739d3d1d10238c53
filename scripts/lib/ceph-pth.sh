# shellcheck shell=bash
# Shared by scripts/: make Debian's python3-rados / python3-rbd importable from the project venv.
#
# Debian's bindings live in /usr/lib/python3/dist-packages and are built for Debian's own python3;
# the venv (made from that python3) can import them when that directory comes *after* the venv's own
# site-packages on sys.path. A .pth file in site-packages appends it there (a .pth line is added
# at the end of sys.path), so packages installed in the venv always win.
#
#   . scripts/lib/ceph-pth.sh
#   ensure_ceph_pth [VENV_DIR]        # default: .venv; returns non-zero if the import still fails

CEPH_PTH_NAME=zz-debian-dist-packages.pth
CEPH_PTH_DIST=/usr/lib/python3/dist-packages

ensure_ceph_pth() {
  local venv=${1:-.venv} py site
  py=$venv/bin/python
  if [ ! -x "$py" ]; then
    echo "ensure_ceph_pth: no venv python at $py" >&2
    return 1
  fi
  if ! compgen -G "$CEPH_PTH_DIST/rados*.so" >/dev/null ||
     ! compgen -G "$CEPH_PTH_DIST/rbd*.so" >/dev/null; then
    echo "ensure_ceph_pth: python3-rados/python3-rbd are not installed (no $CEPH_PTH_DIST/{rados,rbd}*.so)" >&2
    return 1
  fi
  site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') || return 1
  if [ "$(cat "$site/$CEPH_PTH_NAME" 2>/dev/null)" != "$CEPH_PTH_DIST" ]; then
    printf '%s\n' "$CEPH_PTH_DIST" >"$site/$CEPH_PTH_NAME"
  fi
  if ! "$py" -c 'import rados, rbd' >/dev/null 2>&1; then
    echo "ensure_ceph_pth: 'import rados, rbd' still fails in $venv:" >&2
    "$py" -c 'import rados, rbd' 2>&1 | tail -n 5 >&2
    return 1
  fi
}
