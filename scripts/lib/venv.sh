# Shared by scripts/: create .venv (Python 3.11) and install shoal with its test extras.
ensure_venv() {
  local py="${SHOAL_PYTHON:-}"
  if [ -z "$py" ]; then
    for c in python3.11 python3; do
      if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then py=$c; break; fi
    done
  fi
  if [ -z "$py" ]; then
    echo "installing python3.11 from Debian" >&2
    apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
    py=python3
  fi
  if [ ! -x .venv/bin/python ]; then "$py" -m venv .venv; fi
  local stamp=.venv/.shoal-installed
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v 'is ignored' || true
    .venv/bin/python -c 'import shoal, pytest' && touch "$stamp"
  fi
}
