# shellcheck shell=bash
# Shared by scripts/: install Debian packages that are missing, one installer at a time.
#
#   . scripts/lib/apt.sh
#   apt_missing PKG...          # prints the packages of PKG... that are not installed
#   apt_ensure WHO PKG...       # installs the missing ones (root + apt-get); WHO prefixes messages
#
# apt_ensure holds /run/lock/shoal-apt.lock (waits up to 15 min) so that parallel callers (two
# ceph-dev ups, the test command) never race for dpkg's own lock; every apt step is bounded.
# It returns non-zero, with the tail of apt's log on stderr, when anything fails.

SHOAL_APT_LOCK=${SHOAL_APT_LOCK:-/run/lock/shoal-apt.lock}

apt_missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

apt_ensure() {
  local who=$1 missing apt_log fd rc=0
  shift
  missing=$(apt_missing "$@")
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "$who: missing Debian packages (${missing//$'\n'/ }): install them as root" >&2
    return 1
  fi
  mkdir -p "$(dirname "$SHOAL_APT_LOCK")"
  exec {fd}>>"$SHOAL_APT_LOCK"  # a free descriptor: callers may hold their own locks
  if ! flock -w 900 "$fd"; then
    echo "$who: timed out waiting for another installer ($SHOAL_APT_LOCK)" >&2
    exec {fd}>&-
    return 1
  fi
  missing=$(apt_missing "$@")
  if [ -n "$missing" ]; then
    apt_log=$(mktemp /tmp/shoal-apt.XXXXXX)
    echo "$who: installing from Debian's packages: ${missing//$'\n'/ }" >&2
    # shellcheck disable=SC2086
    if ! { timeout 600 apt-get update -q &&
           DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -q \
             --no-install-recommends -o DPkg::Lock::Timeout=300 $missing; } >"$apt_log" 2>&1
    then
      tail -n 25 "$apt_log" >&2
      echo "$who: apt-get failed" >&2
      rc=1
    fi
    rm -f "$apt_log"
  fi
  flock -u "$fd"
  exec {fd}>&-
  return "$rc"
}
