#!/usr/bin/env bash
# Line coverage of the Python modules and of the Cython (.pyx) modules.
#
#   tools/coverage.sh            # both reports
#   tools/coverage.sh python     # Python modules only (uses this checkout's build)
#   tools/coverage.sh cython     # Cython modules only (separate line-traced build)
#
# Python: pytest-cov over fabric/ protocols/ topologies/ experiments/ (*.py).
# Cython: the repository is copied to build-coverage/src (tracked and untracked, not
# ignored files), built there with UESIM_LINETRACE=1 (setup.py then compiles with
# linetrace=True and CYTHON_TRACE=1, CYTHON_TRACE_NOGIL=1), imported through a
# build-coverage/view/uesim/* symlink folder on PYTHONPATH (PYTHONNOUSERSITE=1, so
# no editable install of another checkout shadows it), and measured with the
# Cython.Coverage plugin.  The traced build is slow (about 3x): it never replaces the
# real one.  Reports: terminal tables; HTML in build-coverage/html-{python,cython}.
# Needs the dev extra: pip install -e ".[dev]".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/build-coverage"
WHAT="${1:-all}"
PY="${PYTHON:-python}"
mkdir -p "$OUT"

if [[ "$WHAT" == all || "$WHAT" == python ]]; then
  echo "== Python modules =="
  cat > "$OUT/python.coveragerc" <<RC
[run]
source = $ROOT/fabric, $ROOT/protocols, $ROOT/topologies, $ROOT/experiments
omit = */ns3/worker.py
data_file = $OUT/.coverage.python
[report]
skip_empty = true
precision = 1
RC
  (cd "$ROOT" && "$PY" -m pytest -q -p no:cacheprovider --cov --cov-config="$OUT/python.coveragerc" \
      --cov-report=term --cov-report=html:"$OUT/html-python" | tail -n 45) \
      || echo "(some tests failed: the coverage above is still reported)"
fi

if [[ "$WHAT" == all || "$WHAT" == cython ]]; then
  echo "== Cython modules (line-traced build in $OUT/src) =="
  rm -rf "$OUT/src" "$OUT/view"
  mkdir -p "$OUT/src" "$OUT/view/uesim"
  (cd "$ROOT" && git ls-files --cached --others --exclude-standard -z \
      | xargs -0 -I{} cp --parents {} "$OUT/src/")
  # a mutmut run in the same checkout keeps originals as FILE.bak while it mutates FILE
  (cd "$ROOT" && for bak in $(git ls-files --others --exclude-standard '*.bak'); do
      cp "$bak" "$OUT/src/${bak%.bak}"; rm -f "$OUT/src/$bak"; done)
  for pkg in fabric protocols topologies experiments; do ln -s "$OUT/src/$pkg" "$OUT/view/uesim/$pkg"; done
  export PYTHONPATH="$OUT/view" PYTHONNOUSERSITE=1
  (cd "$OUT/src" && UESIM_LINETRACE=1 "$PY" setup.py build_ext --inplace -q >/dev/null 2>&1 \
      || { echo "line-traced build failed"; exit 1; })
  where=$(cd "$OUT/src" && "$PY" -c "import os, uesim.fabric.network as m; print(os.path.realpath(m.__file__))")
  echo "importing $where"
  [[ "$where" == "$OUT/src/"* ]] || { echo "uesim is not imported from the traced copy"; exit 1; }
  cat > "$OUT/src/cython.coveragerc" <<RC
[run]
plugins = Cython.Coverage
source = fabric, protocols
data_file = $OUT/.coverage.cython
[report]
include = *.pyx
precision = 1
RC
  (cd "$OUT/src" && "$PY" -m coverage run --rcfile=cython.coveragerc -m pytest -q -p no:cacheprovider \
      | tail -n 3) || echo "(some tests failed: the coverage below is still reported)"
  (cd "$OUT/src" && "$PY" -m coverage report --rcfile=cython.coveragerc \
      && "$PY" -m coverage html --rcfile=cython.coveragerc -d "$OUT/html-cython" -q)
fi
