#!/usr/bin/env bash
# Tests scripts/slurm/regress-array.sh for real: starts a one-node Slurm cluster on this machine
# (../shared/CLUSTER.md recipe: Debian slurmctld, slurmd, munge; installed when missing, as CI
# runs as root), runs the smoke campaign (examples/regress/smoke.toml, on the trigger) as a 3-task job array with a dependent merge job, and
# checks the merged report.json is byte-identical to a single local run. Fails loudly when
# Slurm cannot be installed or started; never skips. Daemons are stopped by their PIDs.
#
# Usage: scripts/slurm/test-cluster.sh   (from anywhere; builds eic-bench first)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

fail() { echo "test-cluster: FAIL: $*" >&2; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  [[ $(id -u) -eq 0 ]] || fail "Slurm is not installed and this is not root: apt-get install -y slurmctld slurmd munge"
  echo "== installing slurmctld slurmd munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y slurmctld slurmd munge >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y slurmctld slurmd munge >/dev/null; } \
    || fail "apt-get install slurmctld slurmd munge failed"
fi

cargo build -q --release -p eic-bench
bin=$repo/target/release/eic-bench

tmp=$(mktemp -d /tmp/eic-slurm.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
  for f in "$tmp/slurmd.pid" "$tmp/slurmctld.pid" "$tmp/munged.pid"; do
    [[ -s "$f" ]] && kill "$(cat "$f")" 2>/dev/null || true
  done
  sleep 1
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== munge (own key and socket in $tmp)"
mkdir -p "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chown -R munge:munge "$tmp/munge" 2>/dev/null || true
chmod 700 "$tmp/munge"
chmod 400 "$tmp/munge/munge.key"
sock=$tmp/munge/munge.sock
munged --force --key-file="$tmp/munge/munge.key" --socket="$sock" \
  --pid-file="$tmp/munged.pid" --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/seed" \
  2>"$tmp/munged.err" || { cat "$tmp/munged.err" >&2; fail "munged did not start"; }

echo "== slurm.conf"
host=$(hostname)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
port=$(( 20000 + $$ % 20000 ))
mkdir -p "$tmp/state" "$tmp/spool"
cat >"$tmp/slurm.conf" <<CONF
ClusterName=eicregress
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
NodeName=$host CPUs=$(nproc) RealMemory=$mem_mb State=UNKNOWN
PartitionName=regress Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$tmp/slurm.conf

echo "== starting slurmctld and slurmd"
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start (log: $(tail -5 "$tmp/slurmctld.log" 2>/dev/null))"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start (log: $(tail -5 "$tmp/slurmd.log" 2>/dev/null))"
for _ in $(seq 1 60); do
  state=$(sinfo -h -o '%T' 2>/dev/null | head -1 || true)
  [[ "$state" == "idle" ]] && break
  sleep 0.5
done
[[ "${state:-}" == "idle" ]] || fail "node not idle after 30 s (sinfo: ${state:-none}); logs in $tmp"
sinfo

echo "== campaign as a job array (3 shards) + dependent merge"
out=$tmp/out
start=$(date +%s.%N)
set +e
EIC_BENCH=$bin scripts/slurm/regress-array.sh --wait examples/regress/smoke.toml \
  examples/workplan-tables examples/regress/candidate-raised-imt "$out" 3
rc=$?
set -e
end=$(date +%s.%N)
[[ $rc -eq 5 ]] || fail "merge job exit code $rc, expected 5 (the raised IMT candidate regresses)"
for k in 1 2 3; do [[ -s "$out/shard-$k-of-3.json" ]] || fail "shard $k/3 results missing"; done

echo "== single local run for comparison (same arguments as the array: absolute paths)"
set +e
"$bin" regress "$repo/examples/regress/smoke.toml" --baseline "$repo/examples/workplan-tables" \
  --candidate "$repo/examples/regress/candidate-raised-imt" -o "$tmp/single" >/dev/null
set -e
cmp "$out/report.json" "$tmp/single/report.json" || fail "merged report.json differs from the single run"
cmp "$out/report.html" "$tmp/single/report.html" || fail "merged report.html differs from the single run"
# The cluster's scratch ($tmp) is deleted at exit, the merge job's "report:" path with it:
# keep the merged report where it can be opened (out/ is ignored by git).
kept=$repo/out/slurm-test
rm -rf "$kept" && mkdir -p "$kept"
cp "$out/report.html" "$out/report.json" "$out/junit.xml" "$kept/"
printf 'test-cluster: OK: 3-task array + merge on Slurm in %.1f s; merged report identical to the single run\n' \
  "$(echo "$end - $start" | bc)"
echo "test-cluster: the merged report is kept in $kept/report.html ($tmp, the cluster's scratch, is deleted now)"
