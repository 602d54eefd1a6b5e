#!/usr/bin/env bash
# A real xAPI Learning Record Store for the LRS test (tests/test_lrs.py): Ralph (ralph-malph on PyPI) with its
# file-system backend. It lives in its own virtualenv outside the work tree — its pins (fastapi, uvicorn, httpx)
# clash with the project's — the way scripts/llm-server.sh keeps llama.cpp apart.
#
#   scripts/lrs-server.sh install                 install once (idempotent; quick when already there)
#   scripts/lrs-server.sh python                  print the virtualenv's python
#   scripts/lrs-server.sh start DIR PORT USER PW  run Ralph on 127.0.0.1:PORT in the foreground, statements in DIR
#
# Environment: SIM_LRS_VENV overrides the virtualenv location.
set -euo pipefail
VENV="${SIM_LRS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cs-simulator/ralph-venv}"
PY="$VENV/bin/python"

have() {
  [ -x "$VENV/bin/ralph" ] && RALPH_RUNSERVER_BACKEND=fs "$PY" -c "import ralph.api, requests" >/dev/null 2>&1
}

install() {
  if have; then return 0; fi
  mkdir -p "$(dirname "$VENV")"
  [ -x "$PY" ] || python3 -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip
  # lrs: the API server; cli: `ralph auth` / `ralph runserver`; requests: imported by its OIDC module
  "$PY" -m pip install -q 'ralph-malph[lrs,cli]>=5,<6' requests
  have || { echo "lrs-server: install finished but ralph is not importable" >&2; exit 1; }
}

case "${1:-install}" in
  install) install ;;
  python) echo "$PY" ;;
  start)
    dir="${2:?usage: lrs-server.sh start DIR PORT USER PASSWORD}"
    port="${3:?port}"; user="${4:?user}"; password="${5:?password}"
    install
    mkdir -p "$dir/store"
    export RALPH_APP_DIR="$dir/app" RALPH_AUTH_FILE="$dir/auth.json" RALPH_RUNSERVER_BACKEND=fs
    export RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH="$dir/store"
    [ -s "$RALPH_AUTH_FILE" ] || "$VENV/bin/ralph" -v ERROR auth -u "$user" -p "$password" -s all \
      -M "mailto:$user@lrs.cs-simulator.org" -w >/dev/null
    cd "$dir"
    # Ralph 5's file backend writes every POST in "index" mode, which refuses a file that exists: it would keep
    # only the first POST. Its append mode is implemented (and what a log file wants) but not selectable, so the
    # launcher selects it. `ralph runserver` would also run uvicorn with --reload, watching the working directory.
    exec "$PY" - "$port" <<'PYEOF'
import sys

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend

FSLRSBackend.default_operation_type = BaseOperationType.APPEND
uvicorn.run("ralph.api:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
PYEOF
    ;;
  *) echo "usage: $0 install|python|start DIR PORT USER PASSWORD" >&2; exit 2 ;;
esac
