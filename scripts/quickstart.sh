#!/usr/bin/env bash
# The main job on its embedded default, no server needed: fetch a job jar and a UDF jar from
# file:// sources into <base-dir>/<namespace>/<cluster-id>/, as the init container would, twice
# (the second run reuses both files), and show the result.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

demo="$PWD/.demo"
mkdir -p "$demo/src"
[ -f "$demo/src/my-flink-job.jar" ] || head -c 2000000 /dev/urandom >"$demo/src/my-flink-job.jar"
[ -f "$demo/src/my-udf.jar" ] || echo "a UDF jar" >"$demo/src/my-udf.jar"

fetch() {
  pnpm exec flink-artifacts fetch "file://$demo/src/my-flink-job.jar" \
    -Dkubernetes.cluster-id=quickstart \
    -Dkubernetes.namespace=default \
    "-Duser.artifacts.base-dir=$demo/artifacts" \
    "-Duser.artifacts.artifact-list=file://$demo/src/my-udf.jar" "$@"
}

echo "== first run: fetches (or reuses, if you ran this before)"
fetch
echo
echo "== second run: nothing changed, everything reused (JSON report)"
fetch --json
echo
echo "== files in $demo/artifacts/default/quickstart"
ls -l "$demo/artifacts/default/quickstart"
