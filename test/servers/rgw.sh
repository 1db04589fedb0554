#!/usr/bin/env bash
# Starts (or stops) a single-node Ceph cluster with a RADOS Gateway on loopback: the real S3
# server the tests and benchmarks talk to. No systemd, no keyrings (auth none), BlueStore on a
# sparse file so memory stays near 115 MB.
#
#   rgw.sh start DIR [PORT]   -> prints KEY=VALUE lines (endpoint, keys) once S3 answers
#   rgw.sh stop DIR
#
# Facts behind the settings: ../../../shared/notes/test-infra.md (Ceph section).
set -euo pipefail

cmd=${1:?usage: rgw.sh start|stop DIR [PORT]}
dir=${2:?usage: rgw.sh start|stop DIR [PORT]}
port=${3:-7480}
access_key=${RGW_ACCESS_KEY:-flinkartifactstest}
secret_key=${RGW_SECRET_KEY:-flinkartifactstestsecret}
mon_port=${RGW_MON_PORT:-$((port + 10000))}

stop() {
  for f in "$dir"/run/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  # give daemons a moment, then make sure
  for _ in $(seq 1 50); do
    alive=0
    for f in "$dir"/run/*.pid; do
      [ -f "$f" ] || continue
      pid=$(cat "$f" 2>/dev/null || true)
      [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive=1
    done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for f in "$dir"/run/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || { echo "unknown command $cmd" >&2; exit 2; }

for bin in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool ceph; do
  command -v "$bin" >/dev/null || { echo "rgw.sh: $bin not found; install ceph-mon ceph-osd radosgw ceph-common" >&2; exit 3; }
done

rm -rf "$dir"
mkdir -p "$dir"/{run,log,mon,osd,rgw}
dir=$(cd "$dir" && pwd)
fsid=$(cat /proc/sys/kernel/random/uuid)
conf="$dir/ceph.conf"

cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms cluster mode = crc
ms mon service mode = crc
ms service mode = crc
osd pool default size = 1
osd pool default min size = 1
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
# A test server on a shared disk: start down to 1% free (the default, 5%, refused at 15 GiB free).
mon data avail crit = 1
osd objectstore = bluestore
bluestore block create = true
bluestore block size = 68719476736
bluestore fsck on mount = false
osd memory target = 536870912
bluestore cache autotune = false
bluestore cache size = 134217728
run dir = $dir/run
log file = $dir/log/\$name.log
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
mon data = $dir/mon/\$name
osd data = $dir/osd/\$name
rgw data = $dir/rgw/\$name
keyring = $dir/\$name.keyring
CONF

cat >>"$conf" <<CONF
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw dns name = 127.0.0.1
rgw enable usage log = false
rgw thread pool size = 128
CONF

c() { "$@" -c "$conf" >>"$dir/log/setup.log" 2>&1; }

ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >>"$dir/log/setup.log" 2>&1
monmaptool --create --add a "v2:127.0.0.1:$mon_port" --fsid "$fsid" "$dir/monmap" >>"$dir/log/setup.log" 2>&1
mkdir -p "$dir/mon/mon.a"
c ceph-mon --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring"
c ceph-mon -i a
c ceph osd create
mkdir -p "$dir/osd/osd.0"
c ceph-osd -i 0 --mkfs
c ceph osd crush add osd.0 1 root=default
c ceph-osd -i 0
c radosgw -n client.rgw

endpoint="http://127.0.0.1:$port"
for _ in $(seq 1 600); do
  if curl -s -o /dev/null "$endpoint"; then break; fi
  sleep 0.1
done
curl -s -o /dev/null "$endpoint" || { echo "rgw.sh: radosgw did not answer on $endpoint; logs in $dir/log" >&2; exit 1; }

c radosgw-admin user create --uid=flink-artifacts-test --display-name="flink-artifacts tests" \
  --access-key="$access_key" --secret="$secret_key"

# The first bucket and object each stall for seconds while RGW creates its pools: pay that
# here rather than inside a timed test.
sig=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$access_key:$secret_key" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
curl -sf -X PUT "${sig[@]}" "$endpoint/warmup" >/dev/null
curl -sf -X PUT "${sig[@]}" --data-binary warm "$endpoint/warmup/warm.txt" >/dev/null

echo "S3_ENDPOINT=$endpoint"
echo "S3_ACCESS_KEY=$access_key"
echo "S3_SECRET_KEY=$secret_key"
echo "S3_DIR=$dir"
