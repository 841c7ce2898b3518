#!/usr/bin/env bash
# The one device command of issue 21: the CuPy solver on a real GPU (see benchmarks/README.md).
#
#   bash benchmarks/gpu_check.sh [gpu_check.py options]
#
# Installs carried wheels from .whl/ (if any) into /tmp/site, then runs benchmarks/gpu_check.py
# with the machine's python3 (PYTHON overrides it), teeing its output into $OUT/gpu_check.log.
# Results: $OUT (else ./gpu-results): gpu-<UTC time>.json and .txt, pytest.log, ncu.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
out="${OUT:-$PWD/gpu-results}"
mkdir -p "$out"
if compgen -G ".whl/*.whl" >/dev/null; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        .whl/*.whl || { echo "installing the carried wheels from .whl/ failed" >&2; exit 3; }
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: none"
    "$python" benchmarks/gpu_check.py --out "$out" "$@"
} 2>&1 | tee "$out/gpu_check.log"
exit "${PIPESTATUS[0]}"
