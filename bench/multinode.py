#!/usr/bin/python3
"""Scale-out benchmark (issue #12, item 9), on loopback, with the multi-node harness of the integration tests
(Tests/integration/cluster.py: nodes on 127.0.0.11…, HAProxy on 127.0.0.1, PostgreSQL from pg-cluster.sh).

    python3 bench/multinode.py          # or: bash bench/run.sh multinode

Part 1, same run, the two nodes alternating: one node on PostgreSQL against one node on SQLite (the embedded
default, no catalog.url):
  (a) 64 KiB random unaligned ranges, wrk -t2 -c16 (bench/random-range.lua): requests/s, server CPU per request
      (the node; PostgreSQL's backends beside it), client CPU. Goal: PostgreSQL ≥ 0.95x SQLite (the
      authorization cache keeps the catalog off the hot path).
  (b) link mint rate: BENCH_MINT_THREADS keep-alive clients POST /api/v1/images/ID/links for BENCH_MINT_SECONDS.
  (c) import rate: BENCH_IMPORTS uploads of 1 MiB each through the API (create, one PATCH, wait available),
      one after the other.
Part 2: aggregate throughput of three wrk clients at once (-t1 -c16 each, 1 MiB random ranges) through HAProxy
to three nodes on PostgreSQL, against the same three clients through the same HAProxy to one node (the other
two set to maintenance on HAProxy's admin socket).

CPU: utime+stime from /proc (imagegate: all threads; PostgreSQL: the postmaster and its backends, when this
script started the cluster; HAProxy: its process), wrk from its rusage. A row is flagged CLIENT-BOUND when a wrk
thread used more than 80 % of a core, MACHINE-BOUND when everything measured used more than 90 % of all CPUs:
then the row says more about the load generator or the machine than about the servers.

Knobs: BENCH_BYTES (default 1 GiB, cached in bench/out/), BENCH_WRK_SECONDS=10, BENCH_ROUNDS=2,
BENCH_MINT_SECONDS=5, BENCH_MINT_THREADS=4, BENCH_IMPORTS=30, BENCH_PARTS=single,cluster,
BENCH_SINGLE=postgres,embedded, BENCH_NO_BUILD=1, BENCH_NO_DOC=1, BENCH_FORCE=1 (write the doc even when the
load average at the start is above half the CPU count, which otherwise leaves Docs/benchmarks.md alone).
"""
import http.client
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import (BIN, HZ, ROOT, GiB, Bench, build, cached_file, die, finish, fmt_ratio, log,  # noqa: E402
                      machine, median, need)

os.environ.setdefault("IMAGEGATE_BIN", BIN)  # the harness runs the release binary
sys.path.insert(0, os.path.join(ROOT, "Tests", "integration"))
from cluster import API, Cluster, PostgresServer  # noqa: E402

SIZE = int(os.environ.get("BENCH_BYTES", str(GiB)))
SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
MINT_SECONDS = float(os.environ.get("BENCH_MINT_SECONDS", "5"))
MINT_THREADS = int(os.environ.get("BENCH_MINT_THREADS", "4"))
IMPORTS = int(os.environ.get("BENCH_IMPORTS", "30"))
PARTS = os.environ.get("BENCH_PARTS", "single,cluster").split(",")
SINGLE = os.environ.get("BENCH_SINGLE", "postgres,embedded").split(",")
LUA = os.path.join(ROOT, "bench", "random-range.lua")
OS_ARGS = ["--system-type", "Linux", "--platform", "CentOS", "--os-version", "7.9", "--architecture", "x86_64",
           "--boot-mode", "BIOS"]
NODE_SETTINGS = {"http.loops": "2", "log.level": "warn", "log.access": "off", "http.max_connections": "20000",
                 "http.max_connections_per_peer": "20000"}


# ------------------------------------------------------------------------------------------------ CPU

def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            a = f.read().rsplit(") ", 1)[1].split()
        return int(a[11]) + int(a[12])
    except (FileNotFoundError, ProcessLookupError):
        return 0


def postgres_pids(pg):
    """The postmaster and its children (backends, walwriter, …) of a cluster this script started."""
    if not pg.owned or not pg.dir:
        return []
    try:
        with open(os.path.join(pg.dir, "data", "postmaster.pid")) as f:
            master = int(f.readline())
    except (FileNotFoundError, PermissionError, ValueError):
        return []
    kids = []
    for task in os.listdir(f"/proc/{master}/task"):
        try:
            with open(f"/proc/{master}/task/{task}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except FileNotFoundError:
            pass
    return [master] + kids


class CPU:
    """CPU seconds of named process groups over an interval (pids re-read at the end: new backends count from
    their start, which is as close as /proc gets)."""

    def __init__(self, groups):
        self.groups = groups  # name -> callable returning pids
        self.start = {name: {p: ticks(p) for p in f()} for name, f in groups.items()}
        self.t0 = time.monotonic()

    def stop(self):
        wall = time.monotonic() - self.t0
        out = {}
        for name, f in self.groups.items():
            total = 0
            for p in f():
                total += ticks(p) - self.start[name].get(p, 0)
            out[name] = total / HZ
        return out, wall


# ------------------------------------------------------------------------------------------------ loads

def wrk_many(urls, threads, conns, span, seconds):
    """Runs one wrk per URL at the same time. Returns (requests, bytes, seconds, client CPU s, max client
    core share per thread)."""
    procs = []
    for url in urls:
        procs.append(subprocess.Popen(
            ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "-s", LUA, url, "--", str(SIZE), str(span), "0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    requests = nbytes = 0
    duration = 0.0
    client = 0.0
    share = 0.0
    for p in procs:
        _, status, ru = os.wait4(p.pid, 0)
        out = p.stdout.read()
        p.returncode = os.waitstatus_to_exitcode(status)
        m = re.search(r"BENCH requests=(\d+) bytes=(\d+) duration_us=(\d+) non206=(\d+) badlen=(\d+)", out)
        if p.returncode != 0 or not m:
            die(f"wrk failed: {out[-2000:]}")
        r, b, us, non206, badlen = map(int, m.groups())
        if non206 or badlen:
            die(f"wrk saw {non206} non-206 answers and {badlen} wrong lengths")
        requests += r
        nbytes += b
        duration = max(duration, us / 1e6)
        cpu = ru.ru_utime + ru.ru_stime
        client += cpu
        share = max(share, cpu / (us / 1e6) / threads)
    return requests, nbytes, duration, client, share


def mint_rate(api, image_id):
    """Links minted per second by MINT_THREADS keep-alive clients, and this process's CPU seconds."""
    stop = time.monotonic() + MINT_SECONDS
    counts = [0] * MINT_THREADS
    errors = []

    def worker(i):
        c = http.client.HTTPConnection(api.host, api.port, timeout=30)
        headers = {"Authorization": "Bearer " + api.key, "Content-Type": "application/json"}
        while time.monotonic() < stop:
            c.request("POST", f"/api/v1/images/{image_id}/links", body=b"{}", headers=headers)
            r = c.getresponse()
            r.read()
            if r.status != 201:
                errors.append(r.status)
                return
            counts[i] += 1
        c.close()

    t0, c0 = time.monotonic(), os.times()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(MINT_THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall, c1 = time.monotonic() - t0, os.times()
    if errors:
        die(f"minting answered {errors[0]}")
    return sum(counts), wall, (c1.user - c0.user) + (c1.system - c0.system)


def import_rate(api):
    """Uploads of 1 MiB each, one after the other, until available. Returns (imports, seconds)."""
    data = os.urandom(1 << 20)
    body = {"name": "bench import", "kind": "self_made", "format": "raw", "system_type": "Linux",
            "platform": "CentOS", "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS",
            "source": {"upload": {"size": len(data)}}}
    t0 = time.monotonic()
    for _ in range(IMPORTS):
        status, _, created, payload = api.call("POST", "/api/v1/imports", body)
        if status != 201:
            die(f"import create answered {status}: {payload[:200]}")
        status, _, _, payload = api.call("PATCH", created["upload_url"], raw=data, headers={
            "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        if status != 204:
            die(f"upload answered {status}: {payload[:200]}")
        while True:
            img = api.image(created["id"])
            if img["status"] == "available":
                break
            if img["status"] == "failed":
                die(f"import failed: {img.get('failure_reason')}")
            time.sleep(0.01)
    return IMPORTS, time.monotonic() - t0


# ------------------------------------------------------------------------------------------------ set-up

def warm(cluster):
    """Reads every blob once (page cache), wherever the blob layout puts them."""
    for top in [cluster.blobs_dir] + [n.data_dir for n in cluster.nodes]:
        for d, _, files in os.walk(top):
            for f in files:
                p = os.path.join(d, f)
                if os.path.getsize(p) >= SIZE:
                    subprocess.run(["cat", p], stdout=subprocess.DEVNULL, check=False)


def prepare(cluster, src):
    n1 = cluster.nodes[0]
    rec = n1.cli_json("image", "import", "--file", src, "--name", "bench.bin", *OS_ARGS)
    if rec["status"] != "available" or rec["size"] != SIZE:
        die(f"import gave {rec}")
    warm(cluster)
    api = API.of(cluster, n1)
    status, _, link, payload = api.call("POST", f"/api/v1/images/{rec['id']}/links", {"ttl": "2h"})
    if status != 201:
        die(f"mint answered {status}: {payload[:200]}")
    return rec, link, api


def flags(share, used, wall):
    out = []
    if share > 0.8:
        out.append("CLIENT-BOUND")
    if used / wall > 0.9 * os.cpu_count():
        out.append("MACHINE-BOUND")
    return " ".join(out) or "–"


# ------------------------------------------------------------------------------------------------ parts

def groups(node, pg, kind):
    return {"node": lambda: [node.proc.pid], "db": lambda: postgres_pids(pg) if kind == "postgres" else []}


def part_single(pg, src):
    """One node per catalog kind, each measured ROUNDS times, kinds alternating."""
    clusters = {}
    results = {k: {"rps": [], "cpu": [], "db": [], "share": [], "flags": []} for k in SINGLE}
    try:
        for kind in SINGLE:
            log(f"single node on {kind}: starting and importing")
            c = Cluster(nodes=1, catalog=kind, pg=pg, balancer=False, strict=False, extra_settings=NODE_SETTINGS)
            clusters[kind] = c
            c.start()
            clusters[kind] = (c,) + prepare(c, src)
        for r in range(ROUNDS):
            for kind in SINGLE:
                c, rec, link, api = clusters[kind]
                node = c.nodes[0]
                url = link["http"].replace(c.http_base, node.base("http"))
                log(f"round {r + 1}/{ROUNDS}: 64 KiB ranges on {kind}")
                wrk_many([url], 2, 16, 65536, 2)  # warm-up, not recorded
                cpu = CPU(groups(node, pg, kind))
                requests, _, seconds, client, share = wrk_many([url], 2, 16, 65536, SECONDS)
                used, wall = cpu.stop()
                res = results[kind]
                res["rps"].append(requests / seconds)
                res["cpu"].append(used["node"] * 1e6 / requests)
                res["db"].append(used["db"] * 1e6 / requests)
                res["share"].append(share)
                res["flags"].append(flags(share, used["node"] + used["db"] + client, wall))
        extra = {}
        for kind in SINGLE:
            c, rec, link, api = clusters[kind]
            node = c.nodes[0]
            log(f"{kind}: link mint rate")
            cpu = CPU(groups(node, pg, kind))
            minted, wall, client = mint_rate(api, rec["id"])
            used, _ = cpu.stop()
            log(f"{kind}: import rate")
            cpu2 = CPU(groups(node, pg, kind))
            imported, iwall = import_rate(api)
            used2, _ = cpu2.stop()
            extra[kind] = (minted / wall, used["node"] * 1e3 / minted, used["db"] * 1e3 / minted, client / wall,
                           imported / iwall, used2["node"] * 1e3 / imported, used2["db"] * 1e3 / imported)
    finally:
        for v in clusters.values():
            (v[0] if isinstance(v, tuple) else v).close()
    return results, extra


def part_cluster(pg, src):
    c = Cluster(nodes=3, catalog="postgres", pg=pg, strict=True, extra_settings=NODE_SETTINGS)
    try:
        log("three nodes on PostgreSQL behind HAProxy: starting and importing")
        c.start()
        rec, link, api = prepare(c, src)
        url = link["http"]  # through the balancer
        assert url.startswith(c.http_base)
        rows = {"1 node": [], "3 nodes": []}

        def cluster_groups():
            return {"nodes": lambda: [n.proc.pid for n in c.nodes], "haproxy": lambda: [c.balancer.pid],
                    "db": lambda: postgres_pids(pg)}

        for r in range(ROUNDS):
            for label in ("1 node", "3 nodes"):
                state = "enable" if label == "3 nodes" else "disable"
                for nid in ("node2", "node3"):
                    c.balancer.command(f"{state} server http_nodes/{nid}")
                c.balancer.wait_states({nid: "UP" if state == "enable" else "MAINT" for nid in ("node2", "node3")},
                                       backends=("http_nodes",))
                log(f"round {r + 1}/{ROUNDS}: three clients, {label}")
                wrk_many([url] * 3, 1, 16, 1 << 20, 2)
                cpu = CPU(cluster_groups())
                requests, nbytes, seconds, client, share = wrk_many([url] * 3, 1, 16, 1 << 20, SECONDS)
                used, wall = cpu.stop()
                rows[label].append((nbytes / seconds / 1e6, requests / seconds, used["nodes"] / wall,
                                    used["haproxy"] / wall, used["db"] / wall, client / wall, share,
                                    flags(share, sum(used.values()) + client, wall)))
        return rows
    finally:
        c.close()


def report(single, cluster_rows):
    m = machine()
    body = (f"### Multi-node run of {m['date']} (ImageGate {m['commit']})\n\n"
            f"- Machine: {m['machine']}; load average at the end: {' '.join(m['load'])}.\n"
            f"- Release binary, 2 event loops per node, access log off; PostgreSQL from scripts/pg-cluster.sh "
            "(test settings: fsync and synchronous_commit off), on the same machine.\n"
            "- CLIENT-BOUND: a wrk thread used more than 80 % of a core; MACHINE-BOUND: everything measured used "
            "more than 90 % of all CPUs. Such a row measures the load generator or the machine, not the servers.\n\n")
    if single:
        results, extra = single
        base = "embedded" if "embedded" in results else None
        body += (f"One node, 64 KiB random unaligned ranges, wrk -t2 -c16 -d{SECONDS}s, median of {ROUNDS} rounds "
                 "(kinds alternating):\n\n| catalog | requests/s | ratio | node CPU µs/req | PostgreSQL CPU µs/req | "
                 "wrk core/thread | flags |\n|---|---:|---:|---:|---:|---:|---|\n")
        for kind, r in results.items():
            rps = median(r["rps"])
            ratio = fmt_ratio(rps, median(results[base]["rps"])) if base else "–"
            body += (f"| {kind} | {rps:.0f} | {ratio} | {median(r['cpu']):.1f} | {median(r['db']):.1f} | "
                     f"{max(r['share']):.0%} | {', '.join(sorted(set(r['flags'])))} |\n")
        body += (f"\n| catalog | links minted/s ({MINT_THREADS} clients) | node CPU ms/link | PostgreSQL CPU ms/link "
                 f"| client CPU cores | imports/s (1 MiB, sequential) | node CPU ms/import | PostgreSQL CPU "
                 "ms/import |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
        for kind, e in extra.items():
            body += (f"| {kind} | {e[0]:.0f} | {e[1]:.2f} | {e[2]:.2f} | {e[3]:.2f} | {e[4]:.1f} | {e[5]:.1f} | "
                     f"{e[6]:.1f} |\n")
    if cluster_rows:
        body += (f"\nThree wrk clients at once (-t1 -c16 each, 1 MiB random ranges, {SECONDS} s) through HAProxy, "
                 f"median of {ROUNDS} rounds by MB/s; CPU in cores (CPU seconds per second):\n\n"
                 "| behind HAProxy | MB/s | requests/s | ratio | nodes CPU | HAProxy CPU | PostgreSQL CPU | wrk CPU | "
                 "wrk core/thread | flags |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
        one = median([x[0] for x in cluster_rows["1 node"]])
        for label, rows in cluster_rows.items():
            best = sorted(rows, key=lambda x: x[0])[len(rows) // 2]
            body += (f"| {label} | {best[0]:.0f} | {best[1]:.0f} | {fmt_ratio(best[0], one)} | {best[2]:.2f} | "
                     f"{best[3]:.2f} | {best[4]:.2f} | {best[5]:.2f} | {best[6]:.0%} | {best[7]} |\n")
    finish("multinode", "bench/multinode.py", body)


def main():
    need("wrk", "haproxy", "psql")
    # Three nodes, HAProxy, PostgreSQL and three load generators share the CPUs: other work on the machine
    # would be measured with them. A busy machine still runs (to try the script) but leaves the doc alone.
    load = os.getloadavg()[0]
    if load > 0.5 * os.cpu_count() and not os.environ.get("BENCH_FORCE"):
        log(f"load average {load:.1f} on {os.cpu_count()} CPUs: not a fair run, Docs/benchmarks.md is left alone "
            "(BENCH_FORCE=1 overrides)")
        os.environ["BENCH_NO_DOC"] = "1"
    with Bench("multinode"):
        build()
        src = cached_file(SIZE)
        pg = PostgresServer().start() if "postgres" in SINGLE or "cluster" in PARTS else None
        try:
            single = part_single(pg, src) if "single" in PARTS else None
            rows = part_cluster(pg, src) if "cluster" in PARTS else None
        finally:
            if pg:
                pg.stop()
        report(single, rows)


if __name__ == "__main__":
    main()
