#!/usr/bin/python3
"""Bytes a heaptrack run left allocated, grouped by who allocated them (issue #10 item 10, Docs/testing.md).

    python3 bench/heap_sites.py HEAPTRACK_FILE [HEAPTRACK_FILE …] [--requests N …] [--top 25] [--timeline 60]

For each file `heaptrack_print --flamegraph-cost-type leaked` gives the not-freed bytes per backtrace; each
backtrace is charged to a group: the library that asked for the memory (SQLite, libssl, libcrypto, libssh, the
Swift runtime, glibc) and the innermost ImageGate function on the stack (demangled). Two files side by side, a
short and a long soak of the same mix, with their request counts, show per group whether what is left grows
with the work done (a leak) or stays put (state that is set up once, or a cache at its bound). What is freed
at exit (a TLS context's session cache, SQLite's page cache on close) is not in that list: `--timeline SECONDS`
prints the live heap over the run (heaptrack's massif export, the lowest value of each interval: transfers'
buffers come and go, what stays is the floor), which shows those too.
"""
import argparse
import collections
import os
import re
import subprocess
import tempfile

LIBRARIES = [  # first match from the allocation outwards
    ("sqlite3", "SQLite"), ("ssh_", "libssh"), ("SSL_", "libssl"), ("ssl", "libssl"), ("tls_", "libssl"),
    ("ossl_", "libcrypto"), ("OSSL_", "libcrypto"), ("EVP_", "libcrypto"), ("CRYPTO_", "libcrypto"),
    ("OPENSSL_", "libcrypto"), ("ASN1", "libcrypto"), ("asn1", "libcrypto"), ("curl", "libcurl"),
    ("PQ", "libpq"), ("swift_", "Swift runtime"), ("$s", "Swift code"),
]
OURS = re.compile(r"\$s\d*(ImageGateApp|HTTPServer|FTPServer|SFTPServer|SQLiteCatalog|PostgresCatalog|ImageCatalog|"
                  r"ImageManagement|GateCore|SystemIO|TLSSupport|DownloadTokens|URLFetcher|S3Client|S3BlobStore|"
                  r"SliceCache|ImageInspection|imagegate)")


def demangle(names):
    if not names:
        return {}
    r = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names),
                       capture_output=True, text=True)
    out = r.stdout.splitlines() if r.returncode == 0 else names
    return dict(zip(names, out))


def leaked_by_group(path):
    with tempfile.NamedTemporaryFile(suffix=".txt") as f:
        subprocess.run(["heaptrack_print", "-f", path, "-F", f.name, "--flamegraph-cost-type", "leaked"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        lines = open(f.name, errors="replace").read().splitlines()
    groups = collections.Counter()
    for line in lines:
        stack, _, n = line.rpartition(" ")
        if not n.isdigit() or int(n) == 0:
            continue
        frames = [x.split(" (")[0] for x in stack.rstrip(";").split(";")]  # root first, allocation last
        library = next((name for f in reversed(frames) for key, name in LIBRARIES if key in f), "other")
        ours = next((f for f in reversed(frames) if OURS.match(f)), "(start-up, no ImageGate frame)")
        groups[(library, ours)] += int(n)
    return groups


def timeline(path, step):
    """[(seconds, live heap bytes)], the lowest snapshot of each `step` seconds."""
    with tempfile.NamedTemporaryFile(suffix=".massif") as f:
        subprocess.run(["heaptrack_print", "-f", path, "-M", f.name, "--massif-detailed-freq", "0"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        last = {}
        t = None
        for line in open(f.name, errors="replace"):
            if line.startswith("time="):
                t = float(line[5:])
            elif line.startswith("mem_heap_B=") and t is not None:
                k = int(t // step)
                last[k] = min(last.get(k, 1 << 62), int(line[11:]))
    return [((k + 1) * step, v) for k, v in sorted(last.items())]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--requests", nargs="*", type=int, help="requests each run served, in file order")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--timeline", type=float, help="print the live heap every SECONDS of each run")
    a = ap.parse_args()
    if a.timeline:
        for f in a.files:
            print(f"{os.path.basename(f)}: live heap (KiB) at " + ", ".join(
                f"{t:.0f} s {b / 1024:.0f}" for t, b in timeline(f, a.timeline)))
    runs = [leaked_by_group(f) for f in a.files]
    names = demangle(sorted({g[1] for r in runs for g in r if g[1].startswith("$s")}))
    total = collections.Counter()
    for r in runs:
        for g, n in r.items():
            total[g] += n
    print("not freed at exit (KiB) per run: " + ", ".join(
        f"{os.path.basename(f)} {sum(r.values()) / 1024:.0f}" + (f" ({a.requests[i]} requests)" if a.requests else "")
        for i, (f, r) in enumerate(zip(a.files, runs))))
    for lib in sorted({g[0] for g in total}):
        print(f"  {lib:14s} " + "  ".join(f"{sum(n for g, n in r.items() if g[0] == lib) / 1024:9.0f}" for r in runs))
    print()
    for g, _ in total.most_common(a.top):
        print("  ".join(f"{r.get(g, 0) / 1024:9.1f}" for r in runs) + f"  {g[0]:13s} {names.get(g[1], g[1])[:110]}")


if __name__ == "__main__":
    main()
