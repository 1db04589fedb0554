#!/usr/bin/env bash
# The main job on its embedded default, no server needed, in the two steps of Flink's
# application mode:
#   1. on the laptop: upload the local job jar and a UDF jar to the upload target, here the
#      embedded default file:// store (.demo/store/), and get the rewritten URIs;
#   2. in the pod's init container: fetch them into <base-dir>/<namespace>/<cluster-id>/.
# Run it twice: the second time everything is skipped and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

demo="$PWD/.demo"
mkdir -p "$demo/laptop"
[ -f "$demo/laptop/my-flink-job.jar" ] || head -c 2000000 /dev/urandom >"$demo/laptop/my-flink-job.jar"
[ -f "$demo/laptop/my-udf.jar" ] || echo "a UDF jar" >"$demo/laptop/my-udf.jar"

echo "== 1. upload (laptop): local:// artifacts -> file://$demo/store/"
options=$(pnpm exec flink-artifacts upload "local://$demo/laptop/my-flink-job.jar" \
  "-Dkubernetes.artifacts.local-upload-target=file://$demo/store/" \
  "-Duser.artifacts.artifact-list=local://$demo/laptop/my-udf.jar")
echo "$options"

echo
echo "== 2. fetch (init container): into $demo/artifacts/default/quickstart/"
eval "set -- $(echo "$options" | tr '\n' ' ')"
pnpm exec flink-artifacts fetch "$@" \
  -Dkubernetes.cluster-id=quickstart \
  -Dkubernetes.namespace=default \
  "-Duser.artifacts.base-dir=$demo/artifacts"

echo
echo "== files Flink finds in $demo/artifacts/default/quickstart"
ls -l "$demo/artifacts/default/quickstart"
