#!/usr/bin/env bash
# scripts/test.sh: the project's test command (`make test`).
#
# Starts throw-away MinIO and versitygw (S3) and Azurite (Azure Blob) servers
# on free loopback ports, creates the test buckets/container, exports the
# OBJSTORE_TEST_* variables the tests read (see internal/testenv), then runs
# gofmt, go vet and go test, stopping at the first failure. The servers and
# their temp dirs are removed on exit, Ctrl-C included.
#
# Needs only Go, node (20+) and npm. Pinned MinIO, versitygw and Azurite
# builds are kept in ${OBJSTORE_CACHE:-$HOME/.cache/objstore}; the first run
# builds MinIO (~5 minutes) and versitygw (~2 minutes) from source and
# npm-installs Azurite, later runs reuse them. versitygw keeps its objects in
# a temp dir under $TMPDIR, which must support user extended attributes
# (ext4, xfs, btrfs; tmpfs since Linux 6.6).
#
# Usage:
#   scripts/test.sh              full run; extra go test flags come from
#                                $TESTFLAGS (default: -race -timeout 30m)
#   scripts/test.sh --env-only   start the servers, print `export ...` lines
#                                for a shell, and wait until Ctrl-C
#   scripts/test.sh --check      gofmt and go vet only, no servers
#
# Environment: OBJSTORE_CACHE (cache dir), TESTFLAGS, CI (passed through; under
# CI=true tests fail instead of skipping when a backend URL is missing),
# OBJSTORE_HEALTH_TIMEOUT (seconds to wait for each server, default 60).

set -euo pipefail

readonly MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
readonly VERSITYGW_VERSION=v1.8.0
readonly AZURITE_VERSION=3.37.0
readonly BUCKET=objstore-test
readonly CONTAINER=objstore-test
readonly REGION=us-east-1
# Test-only credentials for the throw-away MinIO and versitygw: both servers
# take the same root keys, so the one AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
# pair the S3 driver reads from the environment works for either.
readonly S3_ACCESS_KEY=objstore-test
readonly S3_SECRET_KEY=objstore-test-secret
# The well-known, public Azurite (storage emulator) account and key, as in
# Azurite's own source.
readonly AZURITE_ACCOUNT=devstoreaccount1
readonly AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; }

mode=test
case $# in
0) ;;
1)
	case $1 in
	--env-only) mode=env ;;
	--check) mode=check ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage
		die "unknown argument: $1"
		;;
	esac
	;;
*)
	usage
	die "too many arguments"
	;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

CACHE=${OBJSTORE_CACHE:-$HOME/.cache/objstore}
HEALTH_TIMEOUT=${OBJSTORE_HEALTH_TIMEOUT:-60}
TESTFLAGS=${TESTFLAGS--race -timeout 30m}

command -v go >/dev/null || die "go not found in PATH"

# ---------------------------------------------------------------------------
# Cleanup: stop what we started, remove what we created.

WORK=""          # per-run temp dir: data dirs, logs, helper binary
MINIO_PID=""     # running servers
VERSITYGW_PID=""
AZURITE_PID=""
GO_INSTALL_TMP="" # install temp dirs, set only while an install is in progress
AZURITE_TMP=""
CHILD_PGID=""    # process group of a running install (see run_killable)

stop_pid() {
	local pid=$1 i
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do # up to 10s for a clean exit
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap '' INT TERM # finish cleaning up even if Ctrl-C is pressed again
	if [[ -n $CHILD_PGID ]]; then
		kill -TERM -- "-$CHILD_PGID" 2>/dev/null || true
		wait "$CHILD_PGID" 2>/dev/null || true
	fi
	stop_pid "$MINIO_PID"
	stop_pid "$VERSITYGW_PID"
	stop_pid "$AZURITE_PID"
	MINIO_PID="" VERSITYGW_PID="" AZURITE_PID=""
	[[ -z $WORK ]] || rm -rf "$WORK"
	[[ -z $GO_INSTALL_TMP ]] || rm -rf "$GO_INSTALL_TMP"
	[[ -z $AZURITE_TMP ]] || rm -rf "$AZURITE_TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# gofmt + go vet

run_checks() {
	local files=() f out
	# Every .go file except those in hidden dirs (.git, .cache, ...) and
	# testdata, like the go command itself.
	while IFS= read -r -d '' f; do
		files+=("$f")
	done < <(find . \( -type d \( -name '.?*' -o -name testdata \) -prune \) -o -type f -name '*.go' -print0)
	log "gofmt -l"
	if ((${#files[@]})); then
		out=$(gofmt -l "${files[@]}")
		if [[ -n $out ]]; then
			log "these files are not gofmt-formatted (run gofmt -w on them):"
			printf '%s\n' "$out" >&2
			exit 1
		fi
	fi
	log "go vet ./..."
	go vet ./...
}

if [[ $mode == check ]]; then
	run_checks
	log "checks passed"
	exit 0
fi

# ---------------------------------------------------------------------------
# Pinned tools, installed once into the cache. Each is built/installed into a
# temp dir inside the cache and renamed into place, so an interrupted install
# never leaves a half-done tool where the next run would pick it up.

MINIO_BIN=$CACHE/minio-$MINIO_VERSION/minio
VERSITYGW_BIN=$CACHE/versitygw-$VERSITYGW_VERSION/versitygw
AZURITE_DIR=$CACHE/azurite-$AZURITE_VERSION
AZURITE_BIN=$AZURITE_DIR/node_modules/.bin/azurite-blob

# run_killable cmd...: run a long command (an install) in its own process
# group and wait for it. Waiting on a background job lets the INT/TERM traps
# run at once, and cleanup can then stop the whole group (go and its
# compilers, npm and its scripts) instead of waiting minutes for it.
run_killable() {
	local rc=0
	set -m
	"$@" </dev/null &
	CHILD_PGID=$!
	set +m
	wait "$CHILD_PGID" || rc=$?
	CHILD_PGID=""
	return "$rc"
}

# go_install name pkg version bin minutes: unless bin is there, build
# pkg@version with go install into a temp dir in the cache, and rename the
# binary to bin.
go_install() {
	local name=$1 pkg=$2 version=$3 bin=$4 minutes=$5 exe=${2##*/}
	[[ -x $bin ]] && return 0
	mkdir -p "$CACHE"
	log "$name $version is not in $CACHE: building it with 'go install' (takes ~$minutes minutes, only once)..."
	GO_INSTALL_TMP=$(mktemp -d "$CACHE/.$exe-build.XXXXXX")
	mkdir "$GO_INSTALL_TMP/bin" "$GO_INSTALL_TMP/gotmp"
	# pkg@version ignores this repository's go.mod; GOFLAGS is cleared so the
	# developer's settings do not affect it either. GOTMPDIR keeps go's work
	# dir inside GO_INSTALL_TMP, so an interrupted build leaves nothing behind.
	run_killable env GOBIN="$GO_INSTALL_TMP/bin" GOTMPDIR="$GO_INSTALL_TMP/gotmp" GOFLAGS= GOWORK=off CGO_ENABLED=0 \
		go install "$pkg@$version" ||
		die "building $name $version failed"
	[[ -x $GO_INSTALL_TMP/bin/$exe ]] || die "go install did not produce $GO_INSTALL_TMP/bin/$exe"
	mkdir -p "${bin%/*}"
	mv -f "$GO_INSTALL_TMP/bin/$exe" "$bin" # same file system: an atomic rename
	rm -rf "$GO_INSTALL_TMP"
	GO_INSTALL_TMP=""
	log "$name installed at $bin"
}

ensure_minio() { go_install MinIO github.com/minio/minio "$MINIO_VERSION" "$MINIO_BIN" 5; }
ensure_versitygw() { go_install versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION" "$VERSITYGW_BIN" 2; }

ensure_azurite() {
	[[ -x $AZURITE_BIN ]] && return 0
	command -v npm >/dev/null || die "npm not found in PATH (needed once, to install Azurite $AZURITE_VERSION)"
	mkdir -p "$CACHE"
	log "Azurite $AZURITE_VERSION is not in $CACHE: installing it with npm (only once)..."
	AZURITE_TMP=$(mktemp -d "$CACHE/.azurite-install.XXXXXX")
	run_killable npm install --prefix "$AZURITE_TMP/pkg" --no-audit --no-fund "azurite@$AZURITE_VERSION" >&2 ||
		die "npm install azurite@$AZURITE_VERSION failed"
	[[ -x $AZURITE_TMP/pkg/node_modules/.bin/azurite-blob ]] ||
		die "npm install did not produce node_modules/.bin/azurite-blob"
	if [[ -e $AZURITE_DIR ]]; then
		if [[ -x $AZURITE_BIN ]]; then
			# Another run finished installing meanwhile: use that one.
			rm -rf "$AZURITE_TMP"
			AZURITE_TMP=""
			return 0
		fi
		# A broken leftover (e.g. a non-atomic manual install): set it aside.
		mv "$AZURITE_DIR" "$AZURITE_TMP/broken"
	fi
	mv "$AZURITE_TMP/pkg" "$AZURITE_DIR" # same file system: an atomic rename
	rm -rf "$AZURITE_TMP"
	AZURITE_TMP=""
	[[ -x $AZURITE_BIN ]] || die "Azurite install at $AZURITE_DIR is incomplete"
	log "Azurite installed in $AZURITE_DIR"
}

ensure_minio
ensure_versitygw
ensure_azurite
command -v node >/dev/null || die "node not found in PATH (Azurite needs node 20+)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/objstore-test.XXXXXX")

# The helper (internal/testenv/cmd/setup) picks free ports, probes health
# and creates the bucket/container.
log "building internal/testenv/cmd/setup"
go build -o "$WORK/setup" ./internal/testenv/cmd/setup
SETUP=$WORK/setup

# ---------------------------------------------------------------------------
# Servers

free_ports() { # n -> sets PORTS array
	local out
	out=$("$SETUP" -free-ports "$1") || die "could not pick free ports"
	# shellcheck disable=SC2206 # one number per line
	PORTS=($out)
}

launch_minio() {
	free_ports 2
	MINIO_PORT=${PORTS[0]}
	MINIO_CONSOLE_PORT=${PORTS[1]}
	MINIO_LOG=$WORK/minio.log
	rm -rf "$WORK/minio-data" "$WORK/minio-certs"
	mkdir -p "$WORK/minio-data" "$WORK/minio-certs"
	MINIO_ROOT_USER=$S3_ACCESS_KEY MINIO_ROOT_PASSWORD=$S3_SECRET_KEY \
		MINIO_BROWSER=off MINIO_UPDATE=off \
		"$MINIO_BIN" server \
		--address "127.0.0.1:$MINIO_PORT" \
		--console-address "127.0.0.1:$MINIO_CONSOLE_PORT" \
		--certs-dir "$WORK/minio-certs" \
		"$WORK/minio-data" </dev/null >"$MINIO_LOG" 2>&1 &
	MINIO_PID=$!
}

# versitygw logs nothing when it has bound its port (its banner comes
# before), but it logs every request it serves; readiness is its health path
# answering 200 and that request showing in its log. The posix backend maps
# each bucket to a subdirectory of the data dir; the setup helper creates the
# bucket with CreateBucket like on MinIO. --keep-alive: versitygw closes each
# connection after one response unless told otherwise, which S3 and MinIO
# do not do.
readonly VERSITYGW_HEALTH=/objstore-health
launch_versitygw() {
	free_ports 1
	VERSITYGW_PORT=${PORTS[0]}
	VERSITYGW_LOG=$WORK/versitygw.log
	rm -rf "$WORK/versitygw-data"
	mkdir -p "$WORK/versitygw-data"
	# versitygw reads its settings from VGW_* variables too, and the keys
	# from ROOT_ACCESS_KEY_ID/ROOT_SECRET_ACCESS_KEY before ours: keep the
	# developer's out.
	local unset=(-u ROOT_ACCESS_KEY_ID -u ROOT_SECRET_ACCESS_KEY) v
	for v in $(compgen -e); do
		[[ $v != VGW_* ]] || unset+=(-u "$v")
	done
	(cd "$WORK" && exec env "${unset[@]}" ROOT_ACCESS_KEY="$S3_ACCESS_KEY" ROOT_SECRET_KEY="$S3_SECRET_KEY" "$VERSITYGW_BIN" \
		--port "127.0.0.1:$VERSITYGW_PORT" --region "$REGION" --health "$VERSITYGW_HEALTH" --keep-alive \
		posix "$WORK/versitygw-data") </dev/null >"$VERSITYGW_LOG" 2>&1 &
	VERSITYGW_PID=$!
}

launch_azurite() {
	free_ports 1
	AZURITE_PORT=${PORTS[0]}
	AZURITE_LOG=$WORK/azurite.log
	rm -rf "$WORK/azurite"
	mkdir -p "$WORK/azurite"
	# Blobs go to disk, in $WORK, not to memory: in memory every write
	# is an extent of its own, and the blob GC, every 10 minutes, deletes
	# the unreferenced ones in one pass that answers no request meanwhile
	# and grows with their square (2,000 took 7 s, 8,000 took 97 s; a
	# test run froze for 102 s). On disk, extents are a few shared files.
	# cd so that nothing else Azurite might write lands in the repository.
	(cd "$WORK/azurite" && exec "$AZURITE_BIN" \
		--location "$WORK/azurite" --skipApiVersionCheck --disableTelemetry \
		--blobHost 127.0.0.1 --blobPort "$AZURITE_PORT") </dev/null >"$AZURITE_LOG" 2>&1 &
	AZURITE_PID=$!
}

show_log() { # name file
	log "last lines of the $1 log ($2):"
	tail -n 40 "$2" >&2 || true
}

# wait_ready pid logfile listen_re url want_status: 0 once pid is alive, url
# answers (with want_status, or with anything if empty) and its log matches
# listen_re (it has bound its port, or served the probe); 1 if pid died; 2 on
# timeout. The log check makes sure it is our server answering and not some
# other process that grabbed the port between picking and binding it.
wait_ready() {
	local pid=$1 logf=$2 listen_re=$3 url=$4 want=$5 code deadline=$((SECONDS + HEALTH_TIMEOUT))
	while ((SECONDS < deadline)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if code=$("$SETUP" -probe "$url" 2>/dev/null) && [[ -z $want || $code == "$want" ]] &&
			grep -qE "$listen_re" "$logf"; then
			return 0
		fi
		sleep 0.2
	done
	return 2
}

# ensure_ready name: wait for the server; if it died because its port was
# taken between picking and binding it, relaunch on new ports (3 tries).
ensure_ready() {
	local name=$1 attempt rc pid base url want logf listen_re
	for attempt in 1 2 3; do
		# listen_re: the line each (pinned) server logs once its port is
		# bound, or once it has served the probe.
		case $name in
		MinIO)
			pid=$MINIO_PID base=http://127.0.0.1:$MINIO_PORT logf=$MINIO_LOG
			listen_re="API: http://127\.0\.0\.1:$MINIO_PORT([^0-9]|\$)"
			url=$base/minio/health/live want=200
			;;
		versitygw)
			pid=$VERSITYGW_PID base=http://127.0.0.1:$VERSITYGW_PORT logf=$VERSITYGW_LOG
			listen_re="\| 200 \|.*\| GET \| $VERSITYGW_HEALTH \|"
			url=$base$VERSITYGW_HEALTH want=200
			;;
		Azurite)
			pid=$AZURITE_PID base=http://127.0.0.1:$AZURITE_PORT logf=$AZURITE_LOG
			listen_re="listens on http://127\.0\.0\.1:$AZURITE_PORT([^0-9]|\$)"
			url=$base/ want=
			;;
		esac
		rc=0
		wait_ready "$pid" "$logf" "$listen_re" "$url" "$want" || rc=$?
		case $rc in
		0)
			log "$name is up at $base (pid $pid)"
			return 0
			;;
		2)
			show_log "$name" "$logf"
			die "$name did not become healthy within ${HEALTH_TIMEOUT}s ($url)"
			;;
		esac
		wait "$pid" 2>/dev/null || true
		if ((attempt < 3)) && grep -qiE 'address already in use|EADDRINUSE|port is already in use' "$logf"; then
			log "$name lost its port to another process; retrying on new ports"
			case $name in
			MinIO) launch_minio ;;
			versitygw) launch_versitygw ;;
			Azurite) launch_azurite ;;
			esac
			continue
		fi
		show_log "$name" "$logf"
		if [[ $name == versitygw ]] && grep -q 'xattr check failed' "$logf"; then
			die "versitygw needs user extended attributes in $WORK; point TMPDIR at a directory on ext4, xfs or btrfs"
		fi
		die "$name exited during start-up"
	done
}

log "starting MinIO, versitygw and Azurite"
launch_minio
launch_versitygw
launch_azurite
ensure_ready MinIO
ensure_ready versitygw
ensure_ready Azurite

MINIO_ENDPOINT=http://127.0.0.1:$MINIO_PORT
VERSITYGW_ENDPOINT=http://127.0.0.1:$VERSITYGW_PORT
AZURITE_ENDPOINT=http://127.0.0.1:$AZURITE_PORT/$AZURITE_ACCOUNT

"$SETUP" -timeout 30s \
	-s3-endpoint "$MINIO_ENDPOINT" -s3-endpoint "$VERSITYGW_ENDPOINT" -region "$REGION" -bucket "$BUCKET" \
	-access-key "$S3_ACCESS_KEY" -secret-key "$S3_SECRET_KEY" \
	-azure-endpoint "$AZURITE_ENDPOINT" -azure-account "$AZURITE_ACCOUNT" \
	-azure-key "$AZURITE_KEY" -container "$CONTAINER" >&2 ||
	die "creating the test buckets/container failed"

# ---------------------------------------------------------------------------
# Environment for the tests (see internal/testenv).

# Keep the developer's own AWS setup out of the way.
UNSET_VARS=(AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3)
unset "${UNSET_VARS[@]}"
: >"$WORK/aws-empty-config"

EXPORT_VARS=(
	OBJSTORE_TEST_S3_URL OBJSTORE_TEST_VERSITYGW_URL OBJSTORE_TEST_AZURE_URL
	OBJSTORE_TEST_MINIO_ENDPOINT OBJSTORE_TEST_VERSITYGW_ENDPOINT OBJSTORE_TEST_AZURITE_ENDPOINT
	AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_EC2_METADATA_DISABLED
	AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
	AZSTORE_AZURITE_KEY
)
export OBJSTORE_TEST_S3_URL="s3://$BUCKET?endpoint=$MINIO_ENDPOINT&region=$REGION&use_path_style=true"
export OBJSTORE_TEST_VERSITYGW_URL="s3://$BUCKET?endpoint=$VERSITYGW_ENDPOINT&region=$REGION&use_path_style=true"
export OBJSTORE_TEST_AZURE_URL="azblob://$CONTAINER?endpoint=$AZURITE_ENDPOINT&account=$AZURITE_ACCOUNT&credential=AZURITE"
export OBJSTORE_TEST_MINIO_ENDPOINT=$MINIO_ENDPOINT
export OBJSTORE_TEST_VERSITYGW_ENDPOINT=$VERSITYGW_ENDPOINT
export OBJSTORE_TEST_AZURITE_ENDPOINT=$AZURITE_ENDPOINT
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export AWS_REGION=$REGION
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=$WORK/aws-empty-config
export AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-empty-config
export AZSTORE_AZURITE_KEY=$AZURITE_KEY
export CI="${CI:-}"

if [[ $mode == env ]]; then
	shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
	echo "unset ${UNSET_VARS[*]}"
	for v in "${EXPORT_VARS[@]}"; do
		echo "export $v=$(shq "${!v}")"
	done
	log "MinIO (pid $MINIO_PID), versitygw (pid $VERSITYGW_PID) and Azurite (pid $AZURITE_PID) are running; logs in $WORK."
	log "Paste the lines above into your shell. Press Ctrl-C to stop the servers."
	while kill -0 "$MINIO_PID" 2>/dev/null && kill -0 "$VERSITYGW_PID" 2>/dev/null && kill -0 "$AZURITE_PID" 2>/dev/null; do
		sleep 1
	done
	show_log MinIO "$MINIO_LOG"
	show_log versitygw "$VERSITYGW_LOG"
	show_log Azurite "$AZURITE_LOG"
	die "a server exited unexpectedly"
fi

# ---------------------------------------------------------------------------
# gofmt, vet, test

run_checks

read -r -a flags <<<"$TESTFLAGS" || true
if [[ " ${flags[*]-} " == *" -race "* ]] && [[ $(go env CGO_ENABLED) != 1 ]]; then
	log "warning: -race needs cgo and a C compiler, and cgo is off here (go env CGO_ENABLED=0); running WITHOUT -race"
	kept=()
	for f in "${flags[@]}"; do
		[[ $f == -race ]] || kept+=("$f")
	done
	flags=(${kept[@]+"${kept[@]}"})
fi

log "go test ${flags[*]-} ./..."
go test ${flags[@]+"${flags[@]}"} ./...
log "all checks passed"
