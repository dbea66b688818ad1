#!/usr/bin/env bash
# ImageGate vs nginx, side by side in one run, on loopback only.
#
#   bash bench/run.sh            # build (release), run every measurement, refresh Docs/benchmarks.md
#
# Environment knobs (defaults are what Docs/benchmarks.md records):
#   BENCH_REPS=3            full-download repetitions per server
#   BENCH_WRK_SECONDS=10    wrk duration per server (plus a 2 s unrecorded warm-up)
#   BENCH_SLOW_CONNS=1000   concurrent slow downloads in the memory test
#   BENCH_HOLD=10           seconds the slow downloads are held open
#   BENCH_NO_BUILD=1        skip `swift build` (use the existing .build/release/imagegate)
#   BENCH_NO_DOC=1          print results, leave Docs/benchmarks.md alone
#
# What it does: makes a temp dir; creates (or reuses, cached in bench/out/) a 2 GiB random file;
# imports it into a fresh ImageGate data dir; starts `imagegate serve` (release, 2 loops, access log
# OFF) and nginx (2 workers, sendfile on, tcp_nopush off, tcp_nodelay on, access_log off) serving
# the *same* blob file (same inode, same page cache): nginx through `location /d/` with
# secure_link + secure_link_md5 (per-request token work, like ImageGate's signed links) and a plain
# `location /plain/`. Then measures (a) full 2 GiB downloads with curl, (b) 64 KiB random ranges
# with wrk -t2 -c16, (c) RSS with 1,000 slow downloads, and writes the results section of
# Docs/benchmarks.md (between the bench:results markers). Servers are killed by PID on exit.
#
# Other benchmarks (each refreshes its own results section of Docs/benchmarks.md; same knobs where they apply):
#   bash bench/run.sh sftp          -> bench/sftp.py        ImageGate SFTP vs OpenSSH sshd + sftp-server
#   bash bench/run.sh https-ftp     -> bench/https_ftp.py   ImageGate HTTPS vs nginx, plain FTP vs vsftpd
#   bash bench/run.sh url-import    -> bench/url_import.py  ImageGate URL import vs curl -o FILE
#   bash bench/run.sh metrics       -> bench/metrics_overhead.py  64 KiB ranges, metrics listener on vs off
#   bash bench/run.sh metrics-callgrind -> bench/metrics_callgrind.py  the same, in instructions per request
#                                      (valgrind callgrind: repeatable on a busy machine)
#   bash bench/run.sh metrics-scrape -> bench/metrics_scrape.py  CPU of one /metrics scrape and of the health round
#   bash bench/run.sh hotpath       -> bench/hotpath.py     the issue-17 matrix: wrk -t1/-t2, 16/256 connections,
#                                      64 KiB / 128-byte unaligned ranges, valid and bad token, HTTPS, aria2c; server
#                                      and client CPU per request, client-bound rows flagged, per-loop balance
#   bash bench/run.sh multinode     -> bench/multinode.py   one node on PostgreSQL vs SQLite (64 KiB ranges, mint and
#                                      import rates); three nodes behind HAProxy vs one, three clients (issue #12)
#   bash bench/run.sh s3 [--smoke]  -> bench/s3_store.py    blobs on S3 (SeaweedFS) vs local disk: warm-cache and
#                                      cold-cache downloads (vs curl --aws-sigv4 from the store), imports (issue #13)
#   bash bench/run.sh s3-cold-timeline -> bench/s3_cold_timeline.py  where a cold-cache download's time goes, by
#                                      cache.readahead_slices (printed only; a diagnostic, no Docs section)
set -euo pipefail

case "${1:-}" in
    "") ;;
    sftp) exec /usr/bin/python3 "$(dirname "$0")/sftp.py" ;;
    https-ftp) exec /usr/bin/python3 "$(dirname "$0")/https_ftp.py" ;;
    url-import) exec /usr/bin/python3 "$(dirname "$0")/url_import.py" ;;
    metrics) exec /usr/bin/python3 "$(dirname "$0")/metrics_overhead.py" ;;
    metrics-callgrind) exec /usr/bin/python3 "$(dirname "$0")/metrics_callgrind.py" ;;
    metrics-scrape) exec /usr/bin/python3 "$(dirname "$0")/metrics_scrape.py" ;;
    hotpath) exec /usr/bin/python3 "$(dirname "$0")/hotpath.py" ;;
    multinode) exec /usr/bin/python3 "$(dirname "$0")/multinode.py" ;;
    s3) exec /usr/bin/python3 "$(dirname "$0")/s3_store.py" "${@:2}" ;;
    s3-cold-timeline) exec /usr/bin/python3 "$(dirname "$0")/s3_cold_timeline.py" "${@:2}" ;;
    *) echo "usage: $0 [sftp|https-ftp|url-import|metrics|metrics-callgrind|metrics-scrape|hotpath|multinode|s3|s3-cold-timeline]" >&2; exit 64 ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT="$ROOT/bench/out"
DOC="$ROOT/Docs/benchmarks.md"
BIN="$ROOT/.build/release/imagegate"
PY=/usr/bin/python3
REPS=${BENCH_REPS:-3}
WRK_SECONDS=${BENCH_WRK_SECONDS:-10}
SLOW_CONNS=${BENCH_SLOW_CONNS:-1000}
HOLD=${BENCH_HOLD:-10}
FILE_SIZE=$((2 * 1024 * 1024 * 1024))
RANGE=65536
LOOPS=2
SECRET="imagegate-bench-secret"

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() {
    printf '\n[bench] FAILED: %s\n' "$*" >&2
    exit 1
}

for tool in nginx wrk curl openssl ss "$PY"; do
    command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps.sh --bench"
done
nginx -V 2>&1 | grep -q -- --with-http_secure_link_module || die "this nginx lacks the secure_link module"

mkdir -p "$OUT"
# One run at a time (two runs would measure each other).
exec 9>"$OUT/run.lock"
flock -n 9 || die "another bench/run.sh is running (lock $OUT/run.lock)"

TMP=$(mktemp -d /tmp/imagegate-bench.XXXXXX)
IG_PID=""
NGX_PID=""
SLOW_PID=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "$SLOW_PID" ] && kill "$SLOW_PID" 2>/dev/null || true
    if [ -n "$IG_PID" ] && kill -0 "$IG_PID" 2>/dev/null; then
        kill -TERM "$IG_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$IG_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$IG_PID" 2>/dev/null || true
    fi
    if [ -n "$NGX_PID" ] && kill -0 "$NGX_PID" 2>/dev/null; then
        kill -TERM "$NGX_PID" 2>/dev/null || true   # nginx master: fast shutdown, takes its workers along
        for _ in $(seq 50); do kill -0 "$NGX_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NGX_PID" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    if [ "$rc" -ne 0 ] && [ -d "$TMP" ]; then
        mkdir -p "$OUT/last-failure"
        cp -f "$TMP"/*.log "$TMP"/*.txt "$OUT/last-failure/" 2>/dev/null || true
        echo "[bench] logs of the failed run: $OUT/last-failure/" >&2
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# utime+stime in clock ticks, summed over the given processes (each /proc/PID/stat line already
# covers every thread of that process).
cpu_ticks() {
    local sum=0 p f a
    for p in "$@"; do
        f=$(sed 's/^.*) //' "/proc/$p/stat") || die "process $p is gone"
        read -r -a a <<<"$f"   # a[0] is field 3 (state): utime is field 14, stime field 15
        sum=$((sum + a[11] + a[12]))
    done
    echo "$sum"
}
rss_kib() { # VmRSS summed over the given processes
    local sum=0 p v
    for p in "$@"; do
        v=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status") || die "process $p is gone"
        sum=$((sum + v))
    done
    echo "$sum"
}
nginx_pids() { echo "$NGX_PID" $(pgrep -P "$NGX_PID" | tr '\n' ' '); }
alive() {
    kill -0 "$IG_PID" 2>/dev/null || die "imagegate (pid $IG_PID) died: $(tail -5 "$TMP/imagegate.log")"
    kill -0 "$NGX_PID" 2>/dev/null || die "nginx (pid $NGX_PID) died: $(tail -5 "$TMP/nginx-error.log")"
}
calc() { "$PY" -c "import sys; print($1)"; }
HZ=$(getconf CLK_TCK)
# Loopback receive processing that overflows into ksoftirqd is charged to no server: watch it.
KSOFTIRQD=$(pgrep -x -d ' ' 'ksoftirqd/[0-9]+' || true)
[ -n "$KSOFTIRQD" ] || die "no ksoftirqd threads found"
declare -A R   # results, key -> value; rendered at the end

# ---------------------------------------------------------------- build, file, data dir

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    log "building release binary"
    swift build -c release --product imagegate >"$TMP/build.log" 2>&1 || die "build failed: see $TMP/build.log"
fi
[ -x "$BIN" ] || die "no release binary at $BIN"

SRC="$OUT/bench-2GiB.bin"
if [ ! -f "$SRC" ] || [ "$(stat -c %s "$SRC")" -ne "$FILE_SIZE" ]; then
    log "creating $SRC (2 GiB from /dev/urandom, cached for later runs)"
    head -c "$FILE_SIZE" /dev/urandom >"$SRC.part"
    mv "$SRC.part" "$SRC"
fi

DATA="$TMP/data"
CONF="$TMP/imagegate.conf"
cat >"$CONF" <<EOF
# generated by bench/run.sh
data_dir = $DATA
http.listen = 127.0.0.1:0
http.loops = $LOOPS
# 1,000 slow downloads all come from 127.0.0.1: lift the per-peer cap (default 256) and the total.
http.max_connections = 20000
http.max_connections_per_peer = 20000
http.max_requests_per_connection = 1000
log.level = warn
# Access log off, as nginx's access_log off: neither server writes a line per request.
log.access = off
EOF

log "importing the file into a fresh data dir"
"$BIN" image import --file "$SRC" --name bench.bin --json --config "$CONF" --data-dir "$DATA" \
    --system-type Linux --platform CentOS --os-version 7.9 --architecture x86_64 --boot-mode BIOS >"$TMP/import.txt" \
    || die "import failed: $(cat "$TMP/import.txt")"
IMAGE_ID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/import.txt")
BLOB="$DATA/blobs/$IMAGE_ID"
[ "$(stat -c %s "$BLOB")" -eq "$FILE_SIZE" ] || die "blob $BLOB is not $FILE_SIZE bytes"
cat "$BLOB" >/dev/null   # page cache warm: both servers read this very inode

# ---------------------------------------------------------------- start ImageGate

log "starting imagegate"
"$BIN" serve --config "$CONF" --data-dir "$DATA" --http 127.0.0.1:0 >"$TMP/imagegate.out.txt" 2>"$TMP/imagegate.log" &
IG_PID=$!
IG_BASE=""
for _ in $(seq 100); do
    kill -0 "$IG_PID" 2>/dev/null || die "imagegate serve exited at start: $(cat "$TMP/imagegate.log")"
    IG_BASE=$(sed -n 's|^http: listening on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$TMP/imagegate.out.txt")
    [ -n "$IG_BASE" ] && break
    sleep 0.1
done
[ -n "$IG_BASE" ] || die "imagegate did not report a listening address within 10 s"
IG_PORT=${IG_BASE##*:}
IG_URL=$("$BIN" link mint "$IMAGE_ID" --ttl 2h --json --config "$CONF" --data-dir "$DATA" |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["http"])')
case "$IG_URL" in "$IG_BASE"/d/*) ;; *) die "minted link $IG_URL does not point at $IG_BASE" ;; esac

# ---------------------------------------------------------------- start nginx

NGX_PORT=$(free_port)
mkdir -p "$TMP/nginx-tmp"
NGX_USER=""
[ "$(id -u)" -eq 0 ] && NGX_USER="user root;"   # workers must read the blob inside the 0700 temp dir
cat >"$TMP/nginx.conf" <<EOF
# generated by bench/run.sh
$NGX_USER
worker_processes $LOOPS;
worker_rlimit_nofile 20000;
daemon off;
master_process on;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    sendfile on;
    tcp_nopush off;
    tcp_nodelay on;
    keepalive_requests 1000;
    keepalive_timeout 30s;
    default_type application/octet-stream;
    client_body_temp_path $TMP/nginx-tmp/body;
    proxy_temp_path $TMP/nginx-tmp/proxy;
    fastcgi_temp_path $TMP/nginx-tmp/fastcgi;
    uwsgi_temp_path $TMP/nginx-tmp/uwsgi;
    scgi_temp_path $TMP/nginx-tmp/scgi;
    server {
        listen 127.0.0.1:$NGX_PORT backlog=4096;
        # Token case: the MD5 of "expires uri secret" checked on every request.
        location /d/ {
            secure_link \$arg_md5,\$arg_expires;
            secure_link_md5 "\$secure_link_expires\$uri $SECRET";
            if (\$secure_link = "") { return 403; }
            if (\$secure_link = "0") { return 410; }
            alias $DATA/blobs/;
        }
        location /plain/ {
            alias $DATA/blobs/;
        }
    }
}
EOF
nginx -t -p "$TMP" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" >"$TMP/nginx-t.txt" 2>&1 ||
    die "nginx -t rejected the generated config: $(cat "$TMP/nginx-t.txt")"
log "starting nginx"
nginx -p "$TMP" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" >"$TMP/nginx.out.txt" 2>&1 &
NGX_PID=$!
NGX_BASE="http://127.0.0.1:$NGX_PORT"
for _ in $(seq 100); do
    kill -0 "$NGX_PID" 2>/dev/null || die "nginx exited at start: $(cat "$TMP/nginx-error.log" "$TMP/nginx.out.txt")"
    curl -s -o /dev/null "$NGX_BASE/plain/" 2>/dev/null && [ "$(pgrep -c -P "$NGX_PID")" -ge "$LOOPS" ] && break
    sleep 0.1
done
curl -s -o /dev/null "$NGX_BASE/plain/" || die "nginx is not answering on $NGX_BASE"
EXPIRES=$(($(date +%s) + 7200))
MD5=$(printf '%s' "${EXPIRES}/d/${IMAGE_ID} ${SECRET}" | openssl md5 -binary | openssl base64 | tr '+/' '-_' | tr -d '=')
NGX_URL="$NGX_BASE/d/$IMAGE_ID?md5=$MD5&expires=$EXPIRES"
NGX_PLAIN_URL="$NGX_BASE/plain/$IMAGE_ID"
log "imagegate pid $IG_PID at $IG_BASE; nginx master pid $NGX_PID (workers: $(pgrep -P "$NGX_PID" | tr '\n' ' ')) at $NGX_BASE"

# ---------------------------------------------------------------- sanity: right answers, or no benchmark

check_range() { # URL NAME: 206, Content-Range, 65536 bytes identical to the source file
    local url=$1 name=$2 s=$((12345 * RANGE)) code size
    read -r code size < <(curl -s -o "$TMP/range.bin" -w '%{http_code} %{size_download}\n' \
        -H "Range: bytes=$s-$((s + RANGE - 1))" "$url")
    [ "$code" = 206 ] || die "$name answered $code, not 206, to a 64 KiB range: refusing to benchmark error pages"
    [ "$size" = "$RANGE" ] || die "$name sent $size bytes for a 64 KiB range"
    cmp -s "$TMP/range.bin" <(tail -c +$((s + 1)) "$SRC" | head -c "$RANGE") || die "$name sent the wrong bytes"
}
check_range "$IG_URL" imagegate
check_range "$NGX_URL" "nginx secure_link"
check_range "$NGX_PLAIN_URL" "nginx plain"
code=$(curl -s -o /dev/null -w '%{http_code}' "$NGX_BASE/d/$IMAGE_ID?md5=AAAA&expires=$EXPIRES")
[ "$code" = 403 ] || die "nginx secure_link accepted a bad md5 (got $code): the token case would not be checked"
code=$(curl -s -o /dev/null -w '%{http_code}' "${IG_URL%/*}x/bench.bin")
[ "$code" = 404 ] || die "imagegate accepted a damaged token (got $code)"
for u in "$IG_URL" "$NGX_URL"; do
    h=$(curl -s -D - -o /dev/null "$u" -r 0-0 | tr -d '\r')
    grep -qi '^content-range: bytes 0-0/2147483648' <<<"$h" || die "no proper Content-Range from $u"
done
log "both servers answer 206 with the right 64 KiB; nginx refuses a bad md5 (403), imagegate a bad token (404)"

# ---------------------------------------------------------------- (a) full downloads

download() { # URL NAME KEY REP
    local url=$1 name=$2 key=$3 rep=$4 t0 t1 out code size speed
    alive
    local pids
    if [ "$key" = ig ]; then pids=$IG_PID; else pids=$(nginx_pids); fi
    local k0 k1 ccpu
    k0=$(cpu_ticks $KSOFTIRQD)
    t0=$(cpu_ticks $pids)
    out=$(/usr/bin/time -f '%U %S' -o "$TMP/curl-time.txt" \
        curl -s -o /dev/null -w '%{http_code} %{size_download} %{speed_download} %{time_total}' "$url")
    t1=$(cpu_ticks $pids)
    k1=$(cpu_ticks $KSOFTIRQD)
    read -r code size speed ttotal <<<"$out"
    ccpu=$(awk '{printf "%.2f", $1 + $2}' "$TMP/curl-time.txt")
    R[dl_${key}_client_$rep]=$ccpu
    R[dl_${key}_ksoft_$rep]=$((k1 - k0))
    [ "$code" = 200 ] || die "$name full download: status $code"
    [ "$size" = "$FILE_SIZE" ] || die "$name full download: $size bytes, expected $FILE_SIZE"
    R[dl_${key}_mbs_$rep]=$(calc "round($speed/1e6, 1)")
    R[dl_${key}_ticks_$rep]=$((t1 - t0))
    R[dl_${key}_secs_$rep]=$ttotal
    log "  $name rep $rep: $(calc "round($speed/1e6)") MB/s, $((t1 - t0)) server CPU ticks, ${ttotal}s; curl CPU ${ccpu}s; ksoftirqd $((k1 - k0)) ticks"
}
log "(a) full 2 GiB downloads, $REPS reps, alternating servers"
curl -s -o /dev/null "$IG_URL" && curl -s -o /dev/null "$NGX_URL"   # warm-up, not recorded
for rep in $(seq "$REPS"); do
    download "$IG_URL" imagegate ig "$rep"
    download "$NGX_URL" nginx ngx "$rep"
done
for k in ig ngx; do
    tot_ticks=0; speeds=""; per_rep=""
    for rep in $(seq "$REPS"); do
        tot_ticks=$((tot_ticks + R[dl_${k}_ticks_$rep]))
        speeds+="${R[dl_${k}_mbs_$rep]},"
        per_rep+="${R[dl_${k}_ticks_$rep]}/${R[dl_${k}_client_$rep]}/${R[dl_${k}_ksoft_$rep]}, "
    done
    R[dl_${k}_per_rep]=${per_rep%, }
    R[dl_${k}_mbs]=$(calc "sorted([${speeds%,}])[len([${speeds%,}])//2]")   # median
    R[dl_${k}_mbs_all]=${speeds%,}
    R[dl_${k}_cpu_gib]=$(calc "round($tot_ticks/$HZ/($REPS*2), 3)")       # 2 GiB per rep
    R[dl_${k}_ticks]=$tot_ticks
done

# ---------------------------------------------------------------- (b) 64 KiB random ranges

wrk_run() { # URL NAME KEY
    local url=$1 name=$2 key=$3 t0 t1 line
    alive
    local pids
    if [ "$key" = ig ]; then pids=$IG_PID; else pids=$(nginx_pids); fi
    wrk -t2 -c16 -d2s -s bench/random-range.lua "$url" -- "$FILE_SIZE" "$RANGE" >/dev/null 2>&1 || true  # warm-up
    t0=$(cpu_ticks $pids)
    /usr/bin/time -f '%U %S' -o "$TMP/wrk-time.txt" \
        wrk -t2 -c16 -d"${WRK_SECONDS}s" --latency -s bench/random-range.lua "$url" -- "$FILE_SIZE" "$RANGE" \
        >"$TMP/wrk-$key.txt" 2>&1 || die "wrk against $name failed: $(cat "$TMP/wrk-$key.txt")"
    t1=$(cpu_ticks $pids)
    R[rr_${key}_client]=$(awk '{printf "%.2f", $1 + $2}' "$TMP/wrk-time.txt")
    cp "$TMP/wrk-$key.txt" "$OUT/wrk-$key.txt"
    line=$(grep '^BENCH ' "$TMP/wrk-$key.txt") || die "no BENCH line from wrk against $name"
    local requests bytes duration_us non206 badlen connect read write status timeout
    eval "$(sed 's/^BENCH //' <<<"$line")"
    R[rr_${key}_requests]=$requests
    R[rr_${key}_rps]=$(calc "round($requests/($duration_us/1e6))")
    R[rr_${key}_non206]=$non206
    R[rr_${key}_badlen]=$badlen
    R[rr_${key}_errors]="connect $connect, read $read, write $write, timeout $timeout"
    R[rr_${key}_ticks]=$((t1 - t0))
    R[rr_${key}_cpu_gib]=$(calc "round($((t1 - t0))/$HZ/($requests*$RANGE/2**30), 3)")
    R[rr_${key}_p50]=$(awk '$1=="50%"{print $2}' "$TMP/wrk-$key.txt")
    R[rr_${key}_p99]=$(awk '$1=="99%"{print $2}' "$TMP/wrk-$key.txt")
    log "  $name: ${R[rr_${key}_rps]} req/s, non-206 $non206, bad length $badlen, errors: ${R[rr_${key}_errors]}, $((t1 - t0)) CPU ticks"
}
log "(b) wrk -t2 -c16 -d${WRK_SECONDS}s, 64 KiB random aligned ranges"
wrk_run "$IG_URL" imagegate ig
wrk_run "$NGX_URL" "nginx secure_link" ngx
wrk_run "$NGX_PLAIN_URL" "nginx plain" ngxp
alive

# ---------------------------------------------------------------- (c) memory with slow downloads

slow_run() { # URL NAME KEY PORT
    local url=$1 name=$2 key=$3 port=$4 base peak=0 v ready="" held after t0 t1
    alive
    local pids
    if [ "$key" = ig ]; then pids=$IG_PID; else pids=$(nginx_pids); fi
    sleep 2
    base=$(rss_kib $pids)
    "$PY" bench/slow_clients.py "$url" --connections "$SLOW_CONNS" --hold "$HOLD" >"$TMP/slow-$key.txt" 2>&1 &
    SLOW_PID=$!
    for _ in $(seq 600); do
        ready=$(grep '^READY' "$TMP/slow-$key.txt" || true)
        [ -n "$ready" ] && break
        kill -0 "$SLOW_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$ready" ] || die "slow clients against $name never got ready: $(cat "$TMP/slow-$key.txt")"
    sleep 2   # let the socket buffers fill and the server park every response
    held=$(ss -Htn state established "( sport = :$port )" | wc -l)
    t0=$(cpu_ticks $pids)
    for _ in $(seq $((HOLD - 4))); do
        v=$(rss_kib $pids)
        [ "$v" -gt "$peak" ] && peak=$v
        sleep 1
    done
    t1=$(cpu_ticks $pids)
    wait "$SLOW_PID" || true
    SLOW_PID=""
    sleep 3
    after=$(rss_kib $pids)
    local ok=${ready#*ok=}; ok=${ok%% *}
    R[mem_${key}_ready]=${ready#READY }
    R[mem_${key}_ok]=$ok
    R[mem_${key}_held]=$held
    R[mem_${key}_base]=$base
    R[mem_${key}_peak]=$peak
    R[mem_${key}_after]=$after
    R[mem_${key}_per_conn]=$(calc "round(($peak-$base)/$SLOW_CONNS, 1)")
    R[mem_${key}_hold_ticks]=$((t1 - t0))
    log "  $name: $ready; established on server port: $held; RSS idle $base KiB, peak $peak KiB, after close $after KiB; ${R[mem_${key}_per_conn]} KiB/conn; $((t1 - t0)) CPU ticks while held"
}
log "(c) $SLOW_CONNS slow downloads held ${HOLD}s"
slow_run "$IG_URL" imagegate ig "$IG_PORT"
slow_run "$NGX_URL" "nginx secure_link" ngx "$NGX_PORT"
alive
IG_ERRLOG_LINES=$(wc -l <"$TMP/imagegate.log")
cp "$TMP/imagegate.log" "$OUT/imagegate-stderr.log"
cp "$TMP/nginx-error.log" "$OUT/nginx-error.log" 2>/dev/null || true

# ---------------------------------------------------------------- results

R[date]=$(date -u +%Y-%m-%dT%H:%MZ)
R[commit]=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Package.swift || echo "+dirty")
R[nproc]=$(nproc)
R[kernel]=$(uname -r)
R[cpu]=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
R[mem]=$(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)
R[load]=$(cut -d' ' -f1-3 /proc/loadavg)
R[nginx]=$(nginx -v 2>&1 | sed 's/^nginx version: //')
R[curl]=$(curl --version | head -1 | cut -d' ' -f1-2)
R[wrk]=$({ wrk --version 2>&1 || true; } | head -1 | cut -d' ' -f1-2)   # wrk --version exits 1
R[python]=$("$PY" --version)
R[swift]=$({ swift --version 2>/dev/null || echo unknown; } | head -1)
R[hz]=$HZ
R[reps]=$REPS
R[wrk_seconds]=$WRK_SECONDS
R[slow_conns]=$SLOW_CONNS
R[hold]=$HOLD
R[ig_errlog_lines]=$IG_ERRLOG_LINES

{
    for k in "${!R[@]}"; do printf '%s\t%s\n' "$k" "${R[$k]}"; done
} | sort >"$OUT/results.tsv"
"$PY" bench/render.py "$OUT/results.tsv" >"$OUT/results.md"
cat "$OUT/results.md"
if [ -z "${BENCH_NO_DOC:-}" ]; then
    "$PY" bench/render.py --update "$DOC" "$OUT/results.md"
    log "refreshed the results section of $DOC"
fi

invalid=0
for k in ig ngx ngxp; do
    [ "${R[rr_${k}_non206]}" = 0 ] && [ "${R[rr_${k}_badlen]}" = 0 ] || invalid=1
done
for k in ig ngx; do [ "${R[mem_${k}_ok]}" = "$SLOW_CONNS" ] || invalid=1; done
[ "$invalid" = 0 ] || die "some responses were not what was measured (non-206, wrong length, or refused slow downloads): see the table"
log "done"
