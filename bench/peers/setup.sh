#!/usr/bin/env bash
# Issue 6's peer benchmark: a virtual environment with NautilusTrader, kept apart from
# hedgehog's own environment and dependencies (never used by CI).
#
#   bash bench/peers/setup.sh            # creates bench/peers/.venv
#   NAUTILUS_VERSION=1.221.0 bash bench/peers/setup.sh
#
# The version defaults to the one measured in BENCHMARKS.md; set NAUTILUS_VERSION= (empty) to
# take whatever pip gives on this Python.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
version="${NAUTILUS_VERSION-1.221.0}"

"$python" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' \
  || { echo "need Python >= 3.11 for nautilus_trader 1.221 (set PYTHON=...)" >&2; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "nautilus_trader${version:+==$version}" numpy
"$venv/bin/python" - <<'PY'
import sys
import nautilus_trader, numpy
print(f"bench/peers/.venv: Python {sys.version.split()[0]}, "
      f"nautilus_trader {nautilus_trader.__version__}, numpy {numpy.__version__}")
PY
