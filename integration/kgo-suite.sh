#!/usr/bin/env bash
# Runs franz-go's own kgo integration suite against `sluice agent` backed by a
# real redis-server (appendfsync always) and versitygw (posix backend), each on
# a free loopback port. The suite is run from a scratch module in a temporary
# directory that only requires franz-go at the version in go.mod, so none of
# its code is copied into this repository.
#
# Environment:
#   KGO_SUITE_RUN   -run pattern (default: every test)
#   KGO_SUITE_SKIP  -skip pattern (default: the transaction test; Sluice has
#                   no transactions, see README "Known issues")
#   KGO_SUITE_KEEP  set to keep the temporary directory (logs, data)
#   KGO_SUITE_TIMEOUT  go test -timeout (default 60m)
#   KGO_TEST_RECORDS   passed through: records per ETL test (kgo's default 500000)
#   KGO_LOG_LEVEL      passed through: kgo client logs (info by default)
#   SLUICE_AGENT_FLAGS flags for `sluice agent` (default --flush-interval 10ms:
#                   TestClient_Produce sends 20,000 records to one partition
#                   with ProduceSync, a few records per request, and at the
#                   250ms default spends about 13 minutes waiting for flushes)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run=${KGO_SUITE_RUN:-.}
skip=${KGO_SUITE_SKIP:-'^TestTxnEtl$'}
timeout=${KGO_SUITE_TIMEOUT:-60m}
go=${GO:-go}

need() {
	local found
	found=$(command -v "$1" 2>/dev/null || true)
	if [[ -z $found && -x $root/bin/$1 ]]; then found=$root/bin/$1; fi
	if [[ -z $found ]]; then
		echo "kgo-suite: $1 not found; run make deps" >&2
		exit 1
	fi
	echo "$found"
}
redis_bin=$(need redis-server)
redis_cli=$(need redis-cli)
versitygw_bin=$(need versitygw)
need curl >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kgo-suite.XXXXXX")
pids=()
teardown() {
	local status=$?
	# Reverse start order: the agent drains before its servers go.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	if [[ -n ${KGO_SUITE_KEEP:-} || $status -ne 0 ]]; then
		echo "kgo-suite: logs and data kept in $tmp" >&2
	else
		rm -rf "$tmp"
	fi
	exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# A port nothing listens on. The kernel could hand it to another process
# before ours binds it; each start below checks that its server came up.
free_port() {
	local port
	for _ in $(seq 100); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	echo "kgo-suite: no free port" >&2
	exit 1
}

# wait_for NAME PID CMD...: polls CMD until it succeeds, failing early when the
# process PID has exited.
wait_for() {
	local name=$1 pid=$2
	shift 2
	for _ in $(seq 300); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "kgo-suite: $name exited; its log:" >&2
			tail -20 "$tmp/$name.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "kgo-suite: $name did not come up in 30s; its log:" >&2
	tail -20 "$tmp/$name.log" >&2
	exit 1
}

echo "kgo-suite: building sluice"
(cd "$root" && $go build -o bin/sluice ./cmd/sluice)
franz_version=$(cd "$root" && $go list -m -f '{{.Version}}' github.com/twmb/franz-go)

redis_port=$(free_port)
mkdir -p "$tmp/redis"
"$redis_bin" --port "$redis_port" --bind 127.0.0.1 --dir "$tmp/redis" \
	--appendonly yes --appendfsync always --save '' >"$tmp/redis-server.log" 2>&1 &
pids+=($!)
wait_for redis-server "${pids[-1]}" "$redis_cli" -p "$redis_port" ping

access=sluice-kgo-access
secret=sluice-kgo-secret-0123456789
bucket=sluice-kgo
s3_port=$(free_port)
mkdir -p "$tmp/s3"
"$versitygw_bin" --access "$access" --secret "$secret" --region us-east-1 \
	--port "127.0.0.1:$s3_port" --quiet posix "$tmp/s3" >"$tmp/versitygw.log" 2>&1 &
pids+=($!)
wait_for versitygw "${pids[-1]}" curl -s -o /dev/null "http://127.0.0.1:$s3_port/"
# Through the S3 API, so the gateway records the bucket's owner and ACL.
# The gateway wants the payload hash header, here that of the empty body.
curl -sSf -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$access:$secret" \
	-H "x-amz-content-sha256: $(printf '' | sha256sum | cut -d' ' -f1)" \
	"http://127.0.0.1:$s3_port/$bucket" >/dev/null

kafka_port=$(free_port)
seeds=127.0.0.1:$kafka_port
# shellcheck disable=SC2086 # SLUICE_AGENT_FLAGS is a list of flags.
AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=us-east-1 \
	AWS_EC2_METADATA_DISABLED=true \
	"$root/bin/sluice" agent --listen "$seeds" --http-listen '' \
	--redis "redis://127.0.0.1:$redis_port/0" \
	--bucket "s3://$bucket?region=us-east-1&endpoint=http://127.0.0.1:$s3_port&path_style=true" \
	${SLUICE_AGENT_FLAGS---flush-interval 10ms} >"$tmp/sluice-agent.log" 2>&1 &
pids+=($!)
wait_for sluice-agent "${pids[-1]}" grep -q 'sluice ready' "$tmp/sluice-agent.log"
echo "kgo-suite: sluice agent on $seeds (redis 127.0.0.1:$redis_port, versitygw 127.0.0.1:$s3_port)"

mod=$tmp/mod
mkdir -p "$mod"
(
	cd "$mod"
	$go mod init kgosuite >/dev/null 2>&1
	$go mod edit -require="github.com/twmb/franz-go@$franz_version"
	# One import, so go mod tidy records what kgo's tests need.
	printf 'package kgosuite\n\nimport _ "github.com/twmb/franz-go/pkg/kgo"\n' >suite.go
	$go mod tidy
)

echo "kgo-suite: go test github.com/twmb/franz-go/pkg/kgo@$franz_version -run '$run' -skip '$skip'"
start=$(date +%s)
set +e
(
	cd "$mod"
	KGO_SEEDS=$seeds KGO_TEST_RF=1 $go test -count=1 -v -timeout "$timeout" \
		-run "$run" -skip "$skip" github.com/twmb/franz-go/pkg/kgo
) 2>&1 | tee "$tmp/kgo-test.log"
status=${PIPESTATUS[0]}
set -e
elapsed=$(($(date +%s) - start))

# Top-level tests only: subtests are indented.
count() { grep -c "^--- $1: " "$tmp/kgo-test.log" || true; }
echo "kgo-suite: franz-go $franz_version: $(count PASS) passed, $(count FAIL) failed, $(count SKIP) skipped in ${elapsed}s (skipped by name: $skip)"
if [[ $status -ne 0 ]]; then
	echo "kgo-suite: failed; agent log at $tmp/sluice-agent.log" >&2
	KGO_SUITE_KEEP=1
fi
exit "$status"
