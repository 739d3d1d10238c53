# Shared by scripts/: create .venv (Python 3.11–3.13) and install shoal with its test extras.
# Works on a fresh Debian 12 or 13 as root: installs python3/python3-venv from Debian if missing.
# The system's python3 comes first: Debian's python3-rados/python3-rbd are built for it.
_find_python() {
  local c
  for c in "${SHOAL_PYTHON:-}" python3 python3.13 python3.12 python3.11; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 &&
       "$c" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null
    then
      echo "$c"; return 0
    fi
  done
  return 1
}

ensure_venv() {
  local py
  if ! py=$(_find_python); then
    echo "installing Python 3 from Debian's packages" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
    py=$(_find_python)
  fi
  if [ ! -x .venv/bin/python ]; then
    if ! "$py" -m venv .venv 2>/dev/null; then
      rm -rf .venv
      echo "installing python3-venv from Debian's packages" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      "$py" -m venv .venv
    fi
  fi
  local stamp=.venv/.shoal-installed
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v 'is ignored' || true
    .venv/bin/python -c 'import shoal, pytest' && touch "$stamp"
  fi
}
