# shellcheck shell=bash
# Shared by scripts/*-venv: a tool in a venv of its own, apart from shoal's, pinned by a
# requirements file; idempotent (reinstalls when the pins change).
#
#   . scripts/lib/toolvenv.sh
#   ensure_tool_venv VENV REQUIREMENTS WHAT CHECK...   # prints the venv's bin directory
#
# CHECK... is a command run inside the venv's bin directory after installing (e.g.
# `tempest --version`); the install counts as done (stamped) only when it succeeds.
. "$(dirname "${BASH_SOURCE[0]}")/venv.sh"

ensure_tool_venv() {
  local venv=$1 req=$2 what=$3 py stamp
  shift 3
  py=$(_find_python) || { ensure_venv; py=$(_find_python); }
  stamp=$venv/.installed
  if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
  fi
  if [ ! -f "$stamp" ] || [ "$req" -nt "$stamp" ]; then
    echo "installing $what into $venv" >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" 2>&1 \
      | grep -v 'is ignored' >&2 || true
    (PATH="$PWD/$venv/bin:$PATH" "$@") >/dev/null && touch "$stamp"
  fi
  echo "$PWD/$venv/bin"
}
