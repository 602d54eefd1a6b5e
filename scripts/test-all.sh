#!/usr/bin/env bash
# Every suite, in order of speed. Used by `make test` and therefore by CI.
set -euo pipefail
BIN=.venv/bin
echo "== lint"
$BIN/ruff check simulator web tests bench
$BIN/mypy
echo "== scenarios and knowledge validate"
$BIN/simulator validate --references
echo "== reference trainees through customer and grader (simulator check)"
$BIN/simulator check
echo "== persona probe battery, scripted customer, every scenario (simulator probe)"
SIM_EMBEDDER=fake $BIN/simulator probe --all --offline --json > /dev/null
echo "== fast suite"
$BIN/pytest -q -p no:cacheprovider -n auto
echo "== slow, browser and llm suites"
scripts/llm-server.sh install || echo "llm suite: the llama.cpp server could not be built; its tests will skip" >&2
scripts/llm-server.sh fetch-qwen || echo "llm suite: the Qwen test model could not be fetched; its probe test will skip" >&2
$BIN/pytest -q -p no:cacheprovider -m "slow or browser or llm" || { rc=$?; [ $rc -eq 5 ] || exit $rc; }
