#!/usr/bin/python3
"""Blobs on an object store against blobs on local disk (issue 13, item 6), one run, loopback only.

    python3 bench/s3_store.py                  # or: bash bench/run.sh s3
    python3 bench/s3_store.py --smoke          # 40 MiB, two rounds, results printed, Docs left alone

Two ImageGate nodes run side by side (release, `http.loops = 2`, access log off): LOCAL keeps its blobs in its
data dir, S3 has `blobs.url = s3://…` on a SeaweedFS started by scripts/seaweedfs.sh (the test store: one
`weed server` with master, volume, filer and S3 gateway in one process, data on the same disk) and its read
cache (`cache.dir`, `cache.max_bytes` large enough for every image of the run) on local disk. Same random file
(cached in bench/out/) imported into both.

  (a) warm cache: full downloads (`curl -o /dev/null`) of the image from S3 (every slice already in its read
      cache, after one unrecorded download) and from LOCAL, alternating. Goal: S3 ≥ 0.95x LOCAL. A row during
      which the cache directory changed (a slice was fetched again) is flagged STORE-READ.
  (a') warm cache, 64 KiB unaligned random ranges (wrk -t2 -c16, bench/random-range.lua, --seconds each):
      requests/s of S3 against LOCAL: the read cache's cost per request.
  (b) cold cache: full downloads from S3 with an empty read cache (the node is stopped, its cache dir removed and
      the node started again before each one; the client is `curl -o /dev/null`) against `curl --aws-sigv4 -o
      /dev/null` of the same object straight from the SeaweedFS S3 endpoint, alternating. Goal: ImageGate ≥ 0.9x
      that curl, which writes nothing anywhere, while the node must write every byte into its read cache (new
      page-cache pages) and hash it. A third row, the same curl into a new file on the same disk (no goal), shows
      what filling the page cache alone costs on the machine. bench/s3_cold_timeline.py shows where a cold
      download's time goes (fetch per slice, fetches at once, waits at slice boundaries, by read-ahead depth).
  (c) import: `imagegate image import --file` of the file into S3 (multipart upload, `blobs.part_size` 64 MiB)
      and into LOCAL, alternating; each image is deleted and destroyed after its round. No goal: the cost of the
      store. (A URL import from nginx is bench/url_import.py's job, against a local node only.)

Per row: MB/s (ranges: requests/s), CPU seconds per GiB (ranges: µs per request) of ImageGate (the serving node; for imports the CLI process that imports),
of the client (curl's rusage) and of the store (the weed process, /proc), the client's share of one core. A row
is CLIENT-BOUND when curl (a wrk thread) used more than 80 % of a core (it measured the client), and
MACHINE-BOUND when everything measured used more than 90 % of all CPUs. Medians over --rounds rounds; each row
shows the round with the median MB/s. SeaweedFS and both nodes share the machine's CPUs and page cache: the
weed column says how much of the machine the store took.

Knobs: --bytes (BENCH_BYTES, default 2 GiB), --rounds (BENCH_ROUNDS, default 3), --seconds (BENCH_WRK_SECONDS,
default 10), --parts warm,ranges,cold,import (BENCH_PARTS), --smoke; BENCH_NO_BUILD=1, BENCH_BIN=PATH (e.g. .build/debug/imagegate; no build), BENCH_NO_DOC=1,
BENCH_FORCE=1 (write Docs/benchmarks.md even when the load average at the start is above half the CPU count).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (BIN, GiB, HZ, ROOT, Bench, build, cached_file, cached_sha256, children_of, cpu_ticks, die,  # noqa: E402
                      finish, fmt_ratio, log, machine, median, mint, need, run_client, sh, start_imagegate)

MiB = 1 << 20
LOOPS = 2
CLIENT_BOUND = 0.8
OS_ARGS = ["--system-type", "Linux", "--platform", "CentOS", "--os-version", "7.9", "--architecture", "x86_64",
           "--boot-mode", "BIOS"]
SEAWEEDFS = os.path.join(ROOT, "scripts", "seaweedfs.sh")
LUA = os.path.join(ROOT, "bench", "random-range.lua")


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bytes", type=int, default=int(os.environ.get("BENCH_BYTES", str(2 * GiB))),
                   help="image size in bytes (default 2 GiB)")
    p.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")),
                   help="measurements per row, the two sides alternating (default 3)")
    p.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_WRK_SECONDS", "10")),
                   help="wrk duration of each ranges measurement (default 10)")
    p.add_argument("--parts", default=os.environ.get("BENCH_PARTS", "warm,ranges,cold,import"),
                   help="which comparisons: warm,ranges,cold,import")
    p.add_argument("--smoke", action="store_true",
                   help="prove the script works: 40 MiB, two rounds, results printed, Docs/benchmarks.md left alone")
    a = p.parse_args()
    if a.smoke:
        a.bytes, a.rounds, a.seconds = 40 * MiB, 2, 2
        os.environ["BENCH_NO_DOC"] = "1"
    a.parts = a.parts.split(",")
    if set(a.parts) - {"warm", "ranges", "cold", "import"} or a.rounds < 1:
        p.error("--parts takes warm, ranges, cold, import; --rounds at least 1")
    return a


# ------------------------------------------------------------------------------------------------ the store

class SeaweedFS:
    """The test store of scripts/seaweedfs.sh in DIR; not a child of ours (setsid), so stopped explicitly."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "seaweedfs")
        self.env = {}
        self.pid = None

    def start(self):
        log("starting SeaweedFS (scripts/seaweedfs.sh)")
        r = subprocess.run(["bash", SEAWEEDFS, "start", self.dir], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if r.returncode != 0:
            die(f"seaweedfs.sh start failed: {r.stdout[-1500:]}")
        for line in open(os.path.join(self.dir, "env")):
            name, _, value = line.strip().removeprefix("export ").partition("=")
            self.env[name] = value
        self.pid = int(open(os.path.join(self.dir, "weed.pid")).read())
        return self

    def stop(self):
        subprocess.run(["bash", SEAWEEDFS, "stop", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Beside the other logs, so a failed run keeps it (benchlib copies TMP/*.log).
        if os.path.exists(os.path.join(self.dir, "weed.log")):
            shutil.copy(os.path.join(self.dir, "weed.log"), os.path.join(os.path.dirname(self.dir), "weed.log"))

    def pids(self):
        """weed and whatever it runs (one process today; descendants counted should that change)."""
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo += children_of(p)
        return out

    def curl(self, key, out="/dev/null", extra=()):
        """curl with its own SigV4, the way scripts/seaweedfs.sh talks to the store."""
        e = self.env
        return ["curl", "-sS", "--aws-sigv4", f"aws:amz:{e['IMAGEGATE_TEST_S3_REGION']}:s3", "--user",
                f"{e['IMAGEGATE_TEST_S3_KEY']}:{e['IMAGEGATE_TEST_S3_SECRET']}",
                "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", *extra, "-o", out,
                "-w", "%{http_code} %{size_download}",
                f"{e['IMAGEGATE_TEST_S3_ENDPOINT']}/{e['IMAGEGATE_TEST_S3_BUCKET']}/{key}"]


# ------------------------------------------------------------------------------------------------ the nodes

class Node:
    def __init__(self, b, name, settings=""):
        self.b, self.name = b, name
        self.data = os.path.join(b.tmp, f"data-{name}")
        self.conf = os.path.join(b.tmp, f"{name}.conf")
        self.proc = None
        self.base = None
        with open(self.conf, "w") as f:
            f.write(f"""# generated by bench/s3_store.py
data_dir = {self.data}
http.listen = 127.0.0.1:0
http.loops = {LOOPS}
http.max_connections_per_peer = 1000
# Two nodes side by side: the other fronts on ports of their own (or off), not on their fixed defaults.
https.listen = 127.0.0.1:0
sftp.listen = 127.0.0.1:0
ftp.listen = off
metrics.listen = off
log.level = warn
log.access = off
{settings}""")

    def start(self):
        self.proc, urls = start_imagegate(self.b, self.conf, self.data, ["http"])
        self.base = urls["http"]
        return self

    def stop(self):
        self.b.stop(self.proc)

    def cli(self, *args):
        r = subprocess.run([BIN, *args, "--config", self.conf, "--data-dir", self.data], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            die(f"{self.name}: imagegate {' '.join(args[:2])} failed: {r.stdout[-1500:]}")
        return r.stdout

    def import_file(self, src, name):
        """Times `image import --file` (the CLI process does the whole import). Returns (record, wall s, CPU s)."""
        rc, wall, cpu, out, err = run_client([BIN, "image", "import", "--file", src, "--name", name, "--json",
                                              "--config", self.conf, "--data-dir", self.data, *OS_ARGS], timeout=3600)
        if rc != 0:
            die(f"{self.name}: import failed: {out[-1000:]} {err[-1000:]}")
        rec = json.loads(out)
        if rec["status"] != "available":
            die(f"{self.name}: import ended {rec['status']}")
        return rec, wall, cpu

    def remove(self, image_id):
        self.cli("image", "delete", image_id)
        self.cli("image", "destroy", image_id)


def s3_settings(store, b, size):
    e = store.env
    creds = os.path.join(b.tmp, "s3-credentials")
    with open(creds, "w") as f:
        f.write(f"[default]\naws_access_key_id = {e['IMAGEGATE_TEST_S3_KEY']}\n"
                f"aws_secret_access_key = {e['IMAGEGATE_TEST_S3_SECRET']}\n")
    os.chmod(creds, 0o600)
    url = (f"s3://{e['IMAGEGATE_TEST_S3_BUCKET']}/bench?endpoint={e['IMAGEGATE_TEST_S3_ENDPOINT']}"
           f"&region={e['IMAGEGATE_TEST_S3_REGION']}&path_style=true")
    # The cache holds the warm image whole (and some): part (a) must never evict.
    cache_mib = max(2 * size // MiB + 256, 1024)
    return (f"blobs.url = {url}\nblobs.credentials_file = {creds}\n"
            f"cache.dir = {b.tmp}/cache-s3\ncache.max_bytes = {cache_mib}MiB\n")


# ------------------------------------------------------------------------------------------------ measuring

def measured(groups, argv, size, timeout=3600):
    """Runs a client (curl) while counting the CPU of named process groups. Returns a row dict."""
    before = {k: cpu_ticks(f()) for k, f in groups.items()}
    rc, wall, client, out, err = run_client(argv, timeout=timeout)
    after = {k: cpu_ticks(f()) for k, f in groups.items()}
    if rc != 0:
        die(f"{argv[0]} exit {rc}: {err[-500:]}")
    code, got = out.split()
    if code != "200" or int(got) != size:
        die(f"{argv[-1].split('?')[0]}: status {code}, {got} bytes, expected 200 and {size}")
    row = {k: (after[k] - before[k]) / HZ for k in groups}
    row.update(wall=wall, client=client, mbs=size / wall / 1e6)
    return row


def tree_bytes(top):
    """Bytes of the files under top: the read cache's content (it only grows by fetching a slice)."""
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(top) for f in fs)


def flags(row):
    out = []
    if row.get("store_read"):
        out.append("STORE-READ")
    if row["client"] / row["wall"] > CLIENT_BOUND:
        out.append("CLIENT-BOUND")
    used = row["client"] + sum(row.get(k, 0) for k in ("imagegate", "weed"))
    if used / row["wall"] > 0.9 * os.cpu_count():
        out.append("MACHINE-BOUND")
    return " ".join(out) or "–"


def med(rows):
    return sorted(rows, key=lambda r: r["mbs"])[len(rows) // 2]


def check_whole(url, sha, what):
    got = sh(f"curl -s '{url}' | sha256sum").split()[0]
    if got != sha:
        die(f"{what}: sha256 {got}, not the source's {sha}: refusing to benchmark")


# ------------------------------------------------------------------------------------------------ parts

def part_warm(a, b, local, s3, links, store):
    groups = {"local": {"imagegate": lambda: [local.proc.pid], "weed": store.pids},
              "s3": {"imagegate": lambda: [s3.proc.pid], "weed": store.pids}}
    rows = {"s3": [], "local": []}
    log("(a) warm cache: one unrecorded download from each node (fills S3's read cache)")
    cache = f"{b.tmp}/cache-s3"
    for side in ("s3", "local"):
        measured(groups[side], ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                links[side]], a.bytes)
    if tree_bytes(cache) < a.bytes:
        die(f"the read cache holds {tree_bytes(cache)} bytes after a whole download of {a.bytes}: not warm")
    for r in range(a.rounds):
        for side in (("s3", "local") if r % 2 == 0 else ("local", "s3")):
            c0 = tree_bytes(cache)
            row = measured(groups[side], ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                          links[side]], a.bytes)
            row["store_read"] = tree_bytes(cache) != c0
            rows[side].append(row)
            log(f"  round {r + 1} {side}: {row['mbs']:.0f} MB/s, imagegate {row['imagegate']:.2f} s, curl "
                f"{row['client']:.2f} s, weed {row['weed']:.2f} s CPU")
    return rows


def part_ranges(a, b, local, s3, links, store):
    """64 KiB unaligned random ranges, wrk -t2 -c16, on the warm cache: requests/s and CPU µs per request."""
    threads = 2
    cache = f"{b.tmp}/cache-s3"
    nodes = {"s3": s3, "local": local}
    rows = {"s3": [], "local": []}

    def wrk(side, seconds):
        node = nodes[side]
        groups = {"imagegate": lambda: [node.proc.pid], "weed": store.pids}
        before = {k: cpu_ticks(f()) for k, f in groups.items()}
        c0 = tree_bytes(cache)
        rc, wall, client, out, err = run_client(["wrk", f"-t{threads}", "-c16", f"-d{seconds}s", "-s", LUA,
                                                 links[side], "--", str(a.bytes), "65536", "0"],
                                                timeout=seconds + 60)
        after = {k: cpu_ticks(f()) for k, f in groups.items()}
        m = re.search(r"^BENCH (.*)$", out, re.M)
        if rc != 0 or not m:
            die(f"wrk against {side} failed: {out[-500:]} {err[-500:]}")
        v = {k: int(x) for k, x in (kv.split("=") for kv in m.group(1).split())}
        if v["non206"] or v["badlen"]:
            die(f"wrk against {side}: {v['non206']} answers not 206, {v['badlen']} of the wrong length")
        n, secs = max(v["requests"], 1), v["duration_us"] / 1e6
        return dict(rps=n / secs, wall=secs, client=client, share=client / secs / threads,
                    imagegate=(after["imagegate"] - before["imagegate"]) / HZ,
                    weed=(after["weed"] - before["weed"]) / HZ, requests=n, store_read=tree_bytes(cache) != c0,
                    errors=sum(v[k] for k in ("connect", "read", "write", "timeout")))

    log("(a') warm cache, 64 KiB random ranges, wrk -t2 -c16")
    for side in ("s3", "local"):
        wrk(side, 2)  # warm-up, not recorded
    for r in range(a.rounds):
        for side in (("s3", "local") if r % 2 == 0 else ("local", "s3")):
            row = wrk(side, a.seconds)
            rows[side].append(row)
            log(f"  round {r + 1} {side}: {row['rps']:.0f} req/s, imagegate {row['imagegate'] * 1e6 / row['requests']:.1f}"
                f" µs/req, wrk {row['client'] * 1e6 / row['requests']:.1f} µs/req ({row['share']:.0%} of a core per "
                f"thread), weed {row['weed']:.2f} s")
    return rows


def part_cold(a, b, s3, image_id, key, store):
    rows = {"imagegate": [], "curl": [], "curlfile": []}
    cache = f"{b.tmp}/cache-s3"
    # What writing the bytes to a new file costs on this machine (the read cache must do it; /dev/null does not):
    # in a VM that gives freed memory back to its host, filling new page-cache pages can cost several CPU-s/GiB.
    into_file = f"{b.tmp}/cold-curl.bin"

    def cold_node():
        s3.stop()
        shutil.rmtree(cache, ignore_errors=True)
        s3.start()
        return mint(s3.conf, s3.data, image_id)["http"]

    log("(b) cold cache: ImageGate with an empty read cache vs curl --aws-sigv4 from the store")
    measured({"weed": store.pids}, store.curl(key), a.bytes)  # warm-up of the store, not recorded
    for r in range(a.rounds):
        for side in (("imagegate", "curl", "curlfile") if r % 2 == 0 else ("curlfile", "curl", "imagegate")):
            if side == "imagegate":
                url = cold_node()
                row = measured({"imagegate": lambda: [s3.proc.pid], "weed": store.pids},
                               ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", url], a.bytes)
                if tree_bytes(cache) < a.bytes:  # the bytes came through the read cache, every slice of them
                    die(f"the read cache holds {tree_bytes(cache)} bytes after a cold download of {a.bytes}")
            elif side == "curlfile":
                if os.path.exists(into_file):
                    os.unlink(into_file)
                row = measured({"weed": store.pids}, store.curl(key, into_file), a.bytes)
                os.unlink(into_file)
                row["imagegate"] = 0.0
            else:
                row = measured({"weed": store.pids}, store.curl(key), a.bytes)
                row["imagegate"] = 0.0
            rows[side].append(row)
            log(f"  round {r + 1} {side}: {row['mbs']:.0f} MB/s, imagegate {row['imagegate']:.2f} s, curl "
                f"{row['client']:.2f} s, weed {row['weed']:.2f} s CPU")
    return rows


def part_import(a, local, s3, src, sha, store):
    rows = {"s3": [], "local": []}
    log("(c) import --file into S3 and into the local data dir")
    for r in range(a.rounds):
        for side, node in ((("s3", s3), ("local", local)) if r % 2 == 0 else (("local", local), ("s3", s3))):
            subprocess.run(["sync", "-f", node.data], check=True)  # no import pays for the last one's writeback
            w0 = cpu_ticks(store.pids())
            rec, wall, cpu = node.import_file(src, f"bench-import-{r}")
            weed = (cpu_ticks(store.pids()) - w0) / HZ
            if rec["sha256"] != sha or rec["size"] != a.bytes:
                die(f"{side} import: size {rec['size']} sha256 {rec['sha256']}, not the source's")
            node.remove(rec["id"])
            # The importing CLI is the ImageGate process here; no client beside it.
            row = dict(wall=wall, mbs=a.bytes / wall / 1e6, imagegate=cpu, weed=weed, client=0.0)
            rows[side].append(row)
            log(f"  round {r + 1} {side}: {row['mbs']:.0f} MB/s, import CPU {cpu:.2f} s, weed {weed:.2f} s")
    return rows


# ------------------------------------------------------------------------------------------------ report

def report(a, warm, ranges, cold, imports):
    m = machine()
    gib = a.bytes / GiB

    def cells(row, client=True):
        c = f"{row['client'] / gib:.2f} | {row['client'] / row['wall']:.0%}" if client else "– | –"
        return f"{row['imagegate'] / gib:.2f} | {c} | {row['weed'] / gib:.2f}"

    o = [f"### Object storage run of {m['date']} (ImageGate {m['commit']})", "",
         f"- Machine: {m['machine']}; load average at the end: {' '.join(m['load'])}.",
         f"- {a.bytes} bytes of random data; SeaweedFS (scripts/seaweedfs.sh, one `weed server`) on the same machine "
         f"and disk; binary {os.path.relpath(BIN, ROOT)}, {LOOPS} event loops per node, access log off; {a.rounds} "
         f"round{'s' if a.rounds > 1 else ''}, sides "
         "alternating; each row is the round with the median MB/s.",
         "- CPU in seconds per GiB moved (ranges: µs per request): ImageGate (the node; for an import the CLI "
         "process), the client (curl, wrk: rusage), weed (/proc). CLIENT-BOUND: curl, or a wrk thread, used more than "
         "80 % of a core; MACHINE-BOUND: everything measured used more than 90 % of all CPUs; STORE-READ: the read "
         "cache changed during a warm row (a slice was fetched again).", ""]
    head = ("| MB/s | ratio | ImageGate CPU s/GiB | curl CPU s/GiB | curl core | weed CPU s/GiB | flags |\n"
            "|---:|---:|---:|---:|---:|---:|---|")
    if warm:
        s, l_ = med(warm["s3"]), med(warm["local"])
        ok = median([r["mbs"] for r in warm["s3"]]) / median([r["mbs"] for r in warm["local"]])
        o += ["(a) Warm read cache: full download with `curl -o /dev/null`, goal S3 ≥ 0.95x local "
              f"({'**met**' if ok >= 0.95 else '**not met**'}: {ok:.2f}x on the medians):", "",
              "| node " + head.split("\n")[0], "|---" + head.split("\n")[1],
              f"| blobs on S3, slices in the read cache | {s['mbs']:.0f} | {fmt_ratio(s['mbs'], l_['mbs'])} | "
              f"{cells(s)} | {flags(s)} |",
              f"| blobs on local disk | {l_['mbs']:.0f} | 1.00x | {cells(l_)} | {flags(l_)} |", ""]
    if ranges:
        def range_flags(row):
            f = ["CLIENT-BOUND"] if row["share"] > CLIENT_BOUND else []
            if (row["client"] + row["imagegate"] + row["weed"]) / row["wall"] > 0.9 * os.cpu_count():
                f.append("MACHINE-BOUND")
            if row["store_read"]:
                f.append("STORE-READ")
            if row["errors"]:
                f.append(f"INVALID ({row['errors']} socket errors)")
            return " ".join(f) or "–"

        def rcells(row):
            n = row["requests"]
            return (f"{row['rps']:.0f} | {{}} | {row['imagegate'] * 1e6 / n:.1f} | {row['client'] * 1e6 / n:.1f} | "
                    f"{row['share']:.0%} | {row['weed'] * 1e6 / n:.1f} | {range_flags(row)}")

        s, l_ = (sorted(ranges[k], key=lambda r: r["rps"])[len(ranges[k]) // 2] for k in ("s3", "local"))
        o += [f"(a') Warm read cache, 64 KiB unaligned random ranges, wrk -t2 -c16 -d{a.seconds}s "
              "(bench/random-range.lua):", "",
              "| node | requests/s | ratio | ImageGate CPU µs/req | wrk CPU µs/req | wrk core/thread | weed CPU µs/req "
              "| flags |", "|---|---:|---:|---:|---:|---:|---:|---|",
              "| blobs on S3, slices in the read cache | " + rcells(s).format(fmt_ratio(s["rps"], l_["rps"])) + " |",
              "| blobs on local disk | " + rcells(l_).format("1.00x") + " |", ""]
    if cold:
        i, c = med(cold["imagegate"]), med(cold["curl"])
        ok = median([r["mbs"] for r in cold["imagegate"]]) / median([r["mbs"] for r in cold["curl"]])
        o += ["(b) Cold read cache (emptied, node restarted, before each ImageGate download) against curl "
              "`--aws-sigv4` straight from the S3 endpoint, goal ≥ 0.9x "
              f"({'**met**' if ok >= 0.9 else '**not met**'}: {ok:.2f}x on the medians):", "",
              "| download " + head.split("\n")[0], "|---" + head.split("\n")[1],
              f"| ImageGate, cold cache | {i['mbs']:.0f} | {fmt_ratio(i['mbs'], c['mbs'])} | {cells(i)} | "
              f"{flags(i)} |",
              f"| curl from SeaweedFS (`-o /dev/null`) | {c['mbs']:.0f} | 1.00x | – | {c['client'] / gib:.2f} | "
              f"{c['client'] / c['wall']:.0%} | {c['weed'] / gib:.2f} | {flags(c)} |"]
        if cold.get("curlfile"):
            f_ = med(cold["curlfile"])
            o += [f"| curl from SeaweedFS into a new file (no goal: what filling the page cache costs here) | "
                  f"{f_['mbs']:.0f} | {fmt_ratio(f_['mbs'], c['mbs'])} | – | {f_['client'] / gib:.2f} | "
                  f"{f_['client'] / f_['wall']:.0%} | {f_['weed'] / gib:.2f} | {flags(f_)} |"]
        o += [""]
    if imports:
        s, l_ = med(imports["s3"]), med(imports["local"])
        o += ["(c) `imagegate image import --file` (sha256, inspection; local: fsync; S3: 64 MiB multipart parts), "
              "no goal:", "",
              "| import into | seconds | MB/s | ratio | import CPU s/GiB | weed CPU s/GiB | flags |",
              "|---|---:|---:|---:|---:|---:|---|",
              f"| S3 | {s['wall']:.2f} | {s['mbs']:.0f} | {fmt_ratio(s['mbs'], l_['mbs'])} | "
              f"{s['imagegate'] / gib:.2f} | {s['weed'] / gib:.2f} | {flags(s)} |",
              f"| local data dir | {l_['wall']:.2f} | {l_['mbs']:.0f} | 1.00x | {l_['imagegate'] / gib:.2f} | "
              f"{l_['weed'] / gib:.2f} | {flags(l_)} |", ""]
    finish("s3-store", "bench/s3_store.py", "\n".join(o) + "\n")


# ------------------------------------------------------------------------------------------------ main

def main():
    a = parse()
    need("curl", "sha256sum", "sync", "openssl")
    load = os.getloadavg()[0]
    if load > 0.5 * os.cpu_count() and not os.environ.get("BENCH_FORCE"):
        log(f"load average {load:.1f} on {os.cpu_count()} CPUs: not a fair run, Docs/benchmarks.md is left alone "
            "(BENCH_FORCE=1 overrides)")
        os.environ["BENCH_NO_DOC"] = "1"
    with Bench("s3-store") as b:
        build()
        if not os.access(BIN, os.X_OK):
            die(f"no binary at {BIN} (BENCH_BIN=PATH for another)")
        src = cached_file(a.bytes)
        sha = cached_sha256(src)
        store = SeaweedFS(b.tmp)
        try:
            store.start()
            run(a, b, store, src, sha)
        finally:
            store.stop()


def run(a, b, store, src, sha):
    local = Node(b, "local")
    s3 = Node(b, "s3", s3_settings(store, b, a.bytes))
    warm = ranges = cold = imports = None
    if {"warm", "ranges", "cold"} & set(a.parts):
        log("importing the file into both nodes")
        ids = {}
        for name, node in (("local", local), ("s3", s3)):
            rec, _, _ = node.import_file(src, "bench.bin")
            ids[name] = rec["id"]
        key = f"bench/images/{ids['s3']}/1"  # Docs/object-storage.md, "Key layout": a fresh import's generation 1
        subprocess.run(f"cat '{local.data}/blobs/{ids['local']}' > /dev/null", shell=True, check=True)
        local.start()
        s3.start()
        links = {n: mint(node.conf, node.data, ids[n])["http"] for n, node in (("local", local), ("s3", s3))}
        for n, url in links.items():
            check_whole(url, sha, f"{n} node")
        # The object the cold comparison fetches directly must be the image's bytes.
        path = os.path.join(b.tmp, "direct.bin")
        rc, _, _, out, err = run_client(store.curl(key, path))
        if rc != 0 or out.split()[0] != "200" or sh(f"sha256sum '{path}'").split()[0] != sha:
            die(f"GET {key} from the store: {out} {err[-300:]}: not the image's bytes")
        os.unlink(path)
        log(f"local {local.base}, s3 {s3.base}, weed pid {store.pid}: both serve the file's bytes")
        if "warm" in a.parts:
            warm = part_warm(a, b, local, s3, links, store)
        if "ranges" in a.parts:
            ranges = part_ranges(a, b, local, s3, links, store)
        if "cold" in a.parts:
            cold = part_cold(a, b, s3, ids["s3"], key, store)
    if "import" in a.parts:
        imports = part_import(a, local, s3, src, sha, store)
    report(a, warm, ranges, cold, imports)


if __name__ == "__main__":
    main()
