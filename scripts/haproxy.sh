#!/usr/bin/env bash
# A throwaway HAProxy for multi-node tests, from Debian's haproxy package, never the system service.
#   scripts/haproxy.sh start DIR   check DIR/haproxy.cfg, start haproxy as a daemon, pid in DIR/haproxy.pid
#   scripts/haproxy.sh stop DIR    stop it (SIGTERM, wait for exit)
# The caller writes DIR/haproxy.cfg (frontends on 127.0.0.1 ports it chose: HTTP in mode http, HTTPS and SFTP
# as mode tcp passthrough; see Docs/deployment.md). The script adds nothing to the configuration; it runs as
# the calling user, so the config should not ask for user/group/chroot. Output: DIR/haproxy.log.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 64; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$(cd "$2" && pwd)
cfg=$dir/haproxy.cfg
pidfile=$dir/haproxy.pid
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$haproxy" ] || { echo "haproxy.sh: haproxy not installed (apt-get install haproxy)" >&2; exit 1; }

case "$cmd" in
start)
    [ -f "$cfg" ] || { echo "haproxy.sh: $cfg missing" >&2; exit 1; }
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "haproxy.sh: already running (pid $(cat "$pidfile"))" >&2
        exit 1
    fi
    "$haproxy" -c -f "$cfg" >"$dir/haproxy.log" 2>&1 || { cat "$dir/haproxy.log" >&2; exit 1; }
    # -D: daemon; the parent returns once the listeners are bound (a bind error fails here, with the reason).
    "$haproxy" -D -f "$cfg" -p "$pidfile" >>"$dir/haproxy.log" 2>&1 || { cat "$dir/haproxy.log" >&2; exit 1; }
    [ -s "$pidfile" ] || { echo "haproxy.sh: no pid file written" >&2; exit 1; }
    head -n 1 "$pidfile"
    ;;
stop)
    [ -f "$pidfile" ] || exit 0
    # Master-worker or not, the pid file lists every process haproxy started.
    pids=$(cat "$pidfile")
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 1 100); do
        alive=0
        for p in $pids; do
            # A zombie (exited, not yet reaped by a container's init) counts as gone.
            kill -0 "$p" 2>/dev/null && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$p/stat" 2>/dev/null && alive=1
        done
        [ $alive -eq 1 ] || break
        sleep 0.1
    done
    for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
    rm -f "$pidfile"
    ;;
*) usage ;;
esac
