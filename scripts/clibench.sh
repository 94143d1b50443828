#!/usr/bin/env bash
# clibench.sh: the objstore command against aws s3 cp, rclone and s5cmd on
# the test MinIO, interleaved, as issue 15 measured them:
#   1 GiB down, 500 x 4 KiB up, 500 x 4 KiB down.
# Each round runs every tool once per transfer, in a rotating order; a
# tool's time is divided by aws's in the same round, and the table shows
# the median of the rounds' ratios (lower is better, min–max in
# brackets) and the median peak RSS. CLIBENCH_RAW=FILE keeps the raw
# times (round, transfer, tool, seconds, peak RSS KiB). Downloads are made as durable as objstore's (which fsyncs each file
# before renaming it into place): the other tools' timed command ends
# with sync(1) of the files they wrote.
#
#   bash scripts/test.sh --env-only > /tmp/env.sh &  ...  . /tmp/env.sh
#   flock /tmp/objstore-bench.lock bash scripts/clibench.sh [ROUNDS [BIG]]
#
# Needs aws, rclone and s5cmd on PATH (or S5CMD=/path); a tool missing is
# skipped. BIG defaults to 1GiB (a size for head -c: 1G, 256M).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-5}
big=${2:-1G}
: "${OBJSTORE_TEST_MINIO_ENDPOINT:?source the exports of scripts/test.sh --env-only first}"
ep=$OBJSTORE_TEST_MINIO_ENDPOINT
bucket=objstore-test
run=clibench-$RANDOM$RANDOM
work=$(mktemp -d /tmp/clibench.XXXXXX)
trap 'rm -rf "$work"' EXIT

go build -o "$work/objstore" ./cmd/objstore
S5CMD=${S5CMD:-$(command -v s5cmd || true)}

tools=(objstore aws)
# CLIBENCH_JOBS=N adds a column: objstore with cp -r -j N (default 16).
[ -n "${CLIBENCH_JOBS:-}" ] && tools+=(objstore-j$CLIBENCH_JOBS)
command -v rclone >/dev/null && tools+=(rclone)
[ -n "$S5CMD" ] && tools+=(s5cmd)

export AWS_ENDPOINT_URL_S3=$ep AWS_REGION=${AWS_REGION:-us-east-1}
# rclone, through its environment: a remote named m.
export RCLONE_CONFIG=/dev/null RCLONE_CONFIG_M_TYPE=s3 RCLONE_CONFIG_M_PROVIDER=Minio RCLONE_CONFIG_M_ENDPOINT=$ep \
	RCLONE_CONFIG_M_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_M_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
	RCLONE_CONFIG_M_REGION=$AWS_REGION

# The data: one big object and 500 small ones, put once.
mkdir -p "$work/small"
head -c "$big" /dev/urandom > "$work/big.bin"
for i in $(seq -w 1 500); do head -c 4096 /dev/urandom > "$work/small/f$i"; done
"$work/objstore" cp -q "$work/big.bin" "s3://$bucket/$run/big.bin"
"$work/objstore" cp -q -r "$work/small" "s3://$bucket/$run/small"
rm "$work/big.bin"

# cmd TOOL TRANSFER OUT: the shell command of one transfer into OUT.
cmd() {
	local tool=$1 transfer=$2 out=$3 src=s3://$bucket/$run
	case $tool/$transfer in
	objstore/bigdown) echo "$work/objstore cp -q $src/big.bin $out/big.bin" ;;
	objstore/smallup) echo "$work/objstore cp -q -r $work/small $src/up-$out_id" ;;
	objstore/smalldown) echo "$work/objstore cp -q -r $src/small $out/small" ;;
	objstore-j*/bigdown) echo "$work/objstore cp -q $src/big.bin $out/big.bin" ;;
	objstore-j*/smallup) echo "$work/objstore cp -q -r -j ${tool#objstore-j} $work/small $src/up-$out_id" ;;
	objstore-j*/smalldown) echo "$work/objstore cp -q -r -j ${tool#objstore-j} $src/small $out/small" ;;
	aws/bigdown) echo "aws s3 cp --only-show-errors $src/big.bin $out/big.bin && sync $out/big.bin" ;;
	aws/smallup) echo "aws s3 cp --only-show-errors --recursive $work/small $src/up-$out_id/" ;;
	aws/smalldown) echo "aws s3 cp --only-show-errors --recursive $src/small/ $out/small && sync $out/small/*" ;;
	rclone/bigdown) echo "env -u AWS_CA_BUNDLE rclone copyto m:$bucket/$run/big.bin $out/big.bin && sync $out/big.bin" ;;
	rclone/smallup) echo "env -u AWS_CA_BUNDLE rclone copy $work/small m:$bucket/$run/up-$out_id" ;;
	rclone/smalldown) echo "env -u AWS_CA_BUNDLE rclone copy m:$bucket/$run/small $out/small && sync $out/small/*" ;;
	s5cmd/bigdown) echo "$S5CMD --endpoint-url $ep cp $src/big.bin $out/big.bin && sync $out/big.bin" ;;
	s5cmd/smallup) echo "$S5CMD --endpoint-url $ep cp '$work/small/*' $src/up-$out_id/" ;;
	s5cmd/smalldown) echo "$S5CMD --endpoint-url $ep cp '$src/small/*' $out/small/ && sync $out/small/*" ;;
	esac
}

results=$work/results.tsv # round transfer tool seconds maxrss_kib
for r in $(seq 1 "$rounds"); do
	n=${#tools[@]}
	for transfer in bigdown smallup smalldown; do
		for k in $(seq 0 $((n - 1))); do
			tool=${tools[$(((k + r) % n))]}
			out=$work/out-$tool
			out_id=$tool-$r
			rm -rf "$out" && mkdir -p "$out"
			c=$(cmd "$tool" "$transfer" "$out")
			/usr/bin/time -f "%e %M" -o "$work/time" sh -c "$c" >/dev/null
			read -r secs rss < "$work/time"
			printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$transfer" "$tool" "$secs" "$rss" >> "$results"
			rm -rf "$out"
		done
	done
	echo "round $r done" >&2
done
"$work/objstore" rm -r "s3://$bucket/$run/" >/dev/null
[ -n "${CLIBENCH_RAW:-}" ] && cp "$results" "$CLIBENCH_RAW"

# The table: per transfer and tool, the median over rounds of time / aws's
# time in the same round, and the median peak RSS.
python3 - "$results" "${tools[@]}" <<'PY'
import sys, statistics, collections
path, tools = sys.argv[1], sys.argv[2:]
rows = [l.split('\t') for l in open(path).read().split('\n') if l]
t = {(r, tr, tool): (float(s), int(rss)) for r, tr, tool, s, rss in rows}
rounds = sorted({r for r, *_ in rows})
names = {'bigdown': 'big down', 'smallup': '500 × 4 KiB up', 'smalldown': '500 × 4 KiB down'}
print('| transfer | ' + ' | '.join(tools) + ' |')
print('|---|' + '---|' * len(tools))
for tr in ['bigdown', 'smallup', 'smalldown']:
    cells = []
    for tool in tools:
        ratios = [t[(r, tr, tool)][0] / t[(r, tr, 'aws')][0] for r in rounds]
        cells.append('%.2f (%.2f–%.2f)' % (statistics.median(ratios), min(ratios), max(ratios)))
    print('| %s | %s |' % (names[tr], ' | '.join(cells)))
print()
print('| peak RSS (MiB), median | ' + ' | '.join(tools) + ' |')
print('|---|' + '---|' * len(tools))
for tr in ['bigdown', 'smallup', 'smalldown']:
    cells = ['%.0f' % (statistics.median([t[(r, tr, tool)][1] for r in rounds]) / 1024) for tool in tools]
    print('| %s | %s |' % (names[tr], ' | '.join(cells)))
print()
print('aws s3 cp seconds, median: ' + ', '.join('%s %.2f' % (names[tr], statistics.median([t[(r, tr, "aws")][0] for r in rounds])) for tr in ['bigdown', 'smallup', 'smalldown']))
PY
