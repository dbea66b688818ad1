#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, from Debian's postgresql package, never the system service.
#   scripts/pg-cluster.sh start DIR   initdb in DIR/data, start on 127.0.0.1 at a free port, print the URL
#   scripts/pg-cluster.sh url DIR     print the URL of the cluster in DIR
#   scripts/pg-cluster.sh stop DIR    stop it (fast shutdown); DIR stays for the caller to remove
# The server listens on 127.0.0.1 only; its Unix socket lives in DIR/sock; it runs as the calling user, or as
# the system user imagegate-test (created on first use) when called as root, since postgres refuses root.
# The URL (postgres://imagegate:PASSWORD@127.0.0.1:PORT/imagegate?sslmode=disable) carries a random password;
# the superuser "imagegate" owns the database "imagegate". Logs: DIR/postgres.log.
set -euo pipefail

usage() { echo "usage: $0 start|stop|url DIR" >&2; exit 64; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
test_user=imagegate-test

# The newest installed server version (Debian puts each major version in /usr/lib/postgresql/N/bin).
find_bin() {
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] || continue
        best=$(printf '%s\n%s\n' "$best" "$d" | sed '/^$/d' | sort -V | tail -n 1)
    done
    [ -n "$best" ] || { echo "pg-cluster: no PostgreSQL server found (apt-get install postgresql)" >&2; exit 1; }
    echo "$best"
}

# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$test_user" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

case "$cmd" in
start)
    bin=$(find_bin)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ ! -e "$dir/data" ] || { echo "pg-cluster: $dir/data exists already" >&2; exit 1; }
    if [ "$(id -u)" -eq 0 ]; then
        id -u "$test_user" >/dev/null 2>&1 ||
            useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$test_user"
        chown "$test_user:" "$dir"
        runuser -u "$test_user" -- test -w "$dir" || {
            echo "pg-cluster: $test_user cannot reach $dir (a parent directory is not searchable); use a dir under /tmp" >&2
            exit 1
        }
    fi
    password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
    as_owner mkdir -m 700 "$dir/sock"
    as_owner sh -c 'umask 077; cat > "$1"' sh "$dir/pwfile" <<<"$password"
    as_owner "$bin/initdb" -D "$dir/data" -U imagegate --pwfile="$dir/pwfile" --auth-host=scram-sha-256 \
        --auth-local=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner rm -f "$dir/pwfile"
    # Test settings: loopback only, socket in DIR, no durability (a test cluster is thrown away), English
    # messages (PostgresClient recognizes authentication failures by their text), enough connections for
    # several gateway nodes with their pools.
    as_owner sh -c 'cat >> "$1"' sh "$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
lc_messages = 'C'
max_connections = 200
EOF
    # A port is free when probed, but another process may take it before postgres binds: try a few.
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $port" -w -t 60 start >/dev/null; then
            as_owner "$bin/psql" -h "$dir/sock" -p "$port" -U imagegate -d postgres -qAt \
                -c 'CREATE DATABASE imagegate OWNER imagegate' >/dev/null
            url="postgres://imagegate:$password@127.0.0.1:$port/imagegate?sslmode=disable"
            as_owner sh -c 'umask 077; cat > "$1"' sh "$dir/url" <<<"$url"
            echo "$url"
            exit 0
        fi
        echo "pg-cluster: start on port $port failed (attempt $attempt), see $dir/postgres.log" >&2
    done
    exit 1
    ;;
url)
    [ -f "$dir/url" ] || { echo "pg-cluster: no cluster in $dir" >&2; exit 1; }
    as_owner cat "$dir/url"
    ;;
stop)
    [ -d "$dir/data" ] || exit 0
    bin=$(find_bin)
    if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
    ;;
*) usage ;;
esac
