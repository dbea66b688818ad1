#!/usr/bin/python3
"""Where a running server's resident memory is (issue #10 item 10, Docs/testing.md).

    python3 bench/heap_snapshot.py PID [--malloc-stats]

Prints VmRSS/RssAnon and the process's anonymous mappings grouped by size (1 MiB mappings in the hundreds are
thread stacks that were never released), then, with --malloc-stats, attaches gdb for a moment to call glibc's
malloc_stats(): the per-arena "system bytes" (what malloc holds) and "in use bytes" (live allocations) go to
the server's standard error. Live bytes that stay flat while RSS grows mean retention, not a leak.
"""
import collections
import re
import subprocess
import sys


def main():
    pid = int(sys.argv[1])
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "RssAnon", "RssFile", "Threads")):
                print(line.strip())
    groups = collections.defaultdict(lambda: [0, 0])
    current = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split()
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                current = None
                if len(parts) < 6:  # anonymous
                    mib = (hi - lo) >> 20
                    current = f"anonymous, {mib} MiB" if mib else "anonymous, < 1 MiB"
                    groups[current][0] += 1
            elif current and line.startswith("Rss:"):
                groups[current][1] += int(line.split()[1])
    for name, (count, rss) in sorted(groups.items(), key=lambda kv: -kv[1][1]):
        print(f"{name:24s} mappings={count:5d} rss={rss:8d} KiB")
    if "--malloc-stats" in sys.argv:
        r = subprocess.run(["gdb", f"/proc/{pid}/exe", "-p", str(pid), "-batch",
                            "-ex", "call ((void (*)(void)) malloc_stats)()"], capture_output=True, text=True)
        print("malloc_stats() written to the server's standard error" if r.returncode == 0 else r.stderr[-500:])


if __name__ == "__main__":
    main()
