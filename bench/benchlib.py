"""Shared plumbing for the protocol benchmarks (bench/sftp.py, bench/https_ftp.py, bench/url_import.py).

Loopback only. Every server is started by us, in its own process group, recorded by PID and stopped on
exit (SIGTERM, then SIGKILL of that group after 5 s), whatever the exit path (normal end, failure, Ctrl-C,
SIGTERM). The temp dir is removed; logs of a failed run are copied to bench/out/last-failure-NAME/.
One bench at a time: the same lock file as bench/run.sh.
"""
import fcntl
import glob
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
DOC = os.path.join(ROOT, "Docs", "benchmarks.md")
# BENCH_BIN: another binary (a debug build for a smoke run of a script); then build() builds nothing.
BIN = os.environ.get("BENCH_BIN") or os.path.join(ROOT, ".build", "release", "imagegate")
HZ = os.sysconf("SC_CLK_TCK")
GiB = 1 << 30


class Failure(Exception):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    raise Failure(msg)


def need(*tools):
    for t in tools:
        if shutil.which(t) is None and not os.access(t, os.X_OK):
            die(f"{t} is missing: run scripts/install-deps.sh --bench")


def median(xs):
    return statistics.median(xs)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def stat_fields(pid):
    """Fields of /proc/PID/stat after the command name: [0] is field 3 (state)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(") ", 1)[1].split()


def cpu_ticks(pids, children=False):
    """utime+stime (all threads) summed over pids; with children=True also cutime+cstime, i.e. every
    descendant that has exited and been reaped (sshd's and vsftpd's per-connection processes)."""
    total = 0
    for p in pids:
        try:
            a = stat_fields(p)
        except FileNotFoundError:
            die(f"process {p} is gone")
        total += int(a[11]) + int(a[12])
        if children:
            total += int(a[13]) + int(a[14])
    return total


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def ksoftirqd_pids():
    out = []
    for d in glob.glob("/proc/[0-9]*/comm"):
        try:
            with open(d) as f:
                if f.read().startswith("ksoftirqd/"):
                    out.append(int(d.split("/")[2]))
        except OSError:
            pass
    return out


def run_client(argv, stdin_text=None, env=None, timeout=600):
    """Runs a client to completion. Returns (rc, wall seconds, client CPU seconds incl. its reaped children,
    stdout, stderr). CPU comes from wait4's rusage (the client and every descendant it waited for)."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
                         stdout=out, stderr=err, env=env, start_new_session=True)
    if stdin_text is not None:
        p.stdin.write(stdin_text.encode())
        p.stdin.close()
    deadline = t0 + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.killpg(p.pid, signal.SIGKILL)
            os.wait4(p.pid, 0)
            die(f"{argv[0]} did not finish within {timeout} s")
        time.sleep(0.002)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    return p.returncode, wall, ru.ru_utime + ru.ru_stime, out.read().decode(errors="replace"), \
        err.read().decode(errors="replace")


class Bench:
    """Context manager: lock, temp dir, started processes, cleanup."""

    def __init__(self, name):
        self.name = name
        self.procs = []  # (label, Popen, log path or None)
        os.makedirs(OUT, exist_ok=True)
        self.lock = open(os.path.join(OUT, "run.lock"), "w")
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            die(f"another benchmark is running (lock {OUT}/run.lock)")
        self.tmp = tempfile.mkdtemp(prefix=f"imagegate-{name}.", dir="/tmp")

    def __enter__(self):
        def on_signal(signum, frame):
            raise KeyboardInterrupt(f"signal {signum}")
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        return self

    def spawn(self, label, argv, logfile=None, stdout=None, **kw):
        """Starts a server in its own process group; stdout/stderr to files in the temp dir."""
        errf = open(logfile or os.path.join(self.tmp, f"{label}.stderr.log"), "ab")
        outf = open(stdout, "ab") if stdout else errf
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=outf, stderr=errf, start_new_session=True, **kw)
        self.procs.append((label, p))
        return p

    def alive(self, p, label):
        if p.poll() is not None:
            die(f"{label} (pid {p.pid}) exited with {p.returncode}: see {self.tmp}/{label}*.log")

    def stop(self, p, grace=5.0):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left in the group we created for it (forked workers, per-connection children).
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def __exit__(self, etype, e, tb):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for label, p in reversed(self.procs):
            self.stop(p)
        failed = etype is not None
        if failed:
            dst = os.path.join(OUT, f"last-failure-{self.name}")
            shutil.rmtree(dst, ignore_errors=True)
            os.makedirs(dst, exist_ok=True)
            for f in glob.glob(os.path.join(self.tmp, "*.log")) + glob.glob(os.path.join(self.tmp, "*.txt")):
                shutil.copy(f, dst)
            print(f"[bench] logs of the failed run: {dst}", file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if etype is Failure:
            print(f"\n[bench] FAILED: {e}", file=sys.stderr)
            sys.exit(1)
        if etype is KeyboardInterrupt:
            print(f"\n[bench] interrupted ({e})", file=sys.stderr)
            sys.exit(130)
        return False


# ---------------------------------------------------------------- ImageGate

def build():
    if os.environ.get("BENCH_NO_BUILD") or os.environ.get("BENCH_BIN"):
        return
    log("building release binary")
    r = subprocess.run(["swift", "build", "-c", "release", "--product", "imagegate"], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode(errors="replace")[-3000:])
        die("build failed")


def cached_file(size):
    """A random file of `size` bytes in bench/out/, made once from /dev/urandom and reused."""
    name = f"bench-{size // GiB}GiB.bin" if size % GiB == 0 else f"bench-{size}.bin"
    path = os.path.join(OUT, name)
    if not os.path.exists(path) or os.path.getsize(path) != size:
        log(f"creating {path} ({size} bytes from /dev/urandom, cached for later runs)")
        subprocess.run(f"head -c {size} /dev/urandom > '{path}.part' && mv '{path}.part' '{path}'", shell=True,
                       check=True)
    return path


def sha256_of(path):
    r = subprocess.run(["sha256sum", path], stdout=subprocess.PIPE, check=True)
    return r.stdout.split()[0].decode()


def cached_sha256(path):
    """sha256 of a cached source file, remembered beside it (keyed by size and mtime)."""
    st = os.stat(path)
    memo = f"{path}.sha256"
    key = f"{st.st_size} {int(st.st_mtime)}"
    if os.path.exists(memo):
        k, _, v = open(memo).read().strip().rpartition(" ")
        if k == key:
            return v
    v = sha256_of(path)
    open(memo, "w").write(f"{key} {v}\n")
    return v


def import_file(conf, data, src, name="bench.bin"):
    r = subprocess.run([BIN, "image", "import", "--file", src, "--name", name, "--json", "--config", conf,
                        "--data-dir", data, "--system-type", "Linux", "--platform", "CentOS", "--os-version", "7.9",
                        "--architecture", "x86_64", "--boot-mode", "BIOS"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        die(f"import failed: {r.stdout.decode(errors='replace')[-2000:]}")
    js = json.loads(r.stdout)
    blob = os.path.join(data, "blobs", js["id"])
    if os.path.getsize(blob) != os.path.getsize(src):
        die(f"blob {blob} is not {os.path.getsize(src)} bytes")
    subprocess.run(f"cat '{blob}' > /dev/null", shell=True, check=True)  # page cache warm
    return js, blob


def start_imagegate(bench, conf, data, listeners, extra=(), startup_seconds=20):
    """listeners: e.g. ["http", "sftp"]; extra: more serve flags. Returns (Popen, {"http": "http://127.0.0.1:P", ...}).
    startup_seconds: longer for a server under a profiler (heaptrack, valgrind)."""
    argv = [BIN, "serve", "--config", conf, "--data-dir", data]
    for name in listeners:
        argv += [f"--{name}", "127.0.0.1:0"]
    argv += list(extra)
    out = os.path.join(bench.tmp, "imagegate.out.txt")
    # A restarted server must not be read from its predecessor's lines (their ports are gone).
    if os.path.exists(out):
        os.remove(out)
    p = bench.spawn("imagegate", argv, stdout=out)
    found = {}
    deadline = time.time() + startup_seconds
    while time.time() < deadline and len(found) < len(listeners):
        bench.alive(p, "imagegate")
        for line in open(out).read().splitlines():
            for name in listeners:
                prefix = f"{name}: listening on "
                if line.startswith(prefix):
                    found[name] = line[len(prefix):].split()[0]
        time.sleep(0.1)
    if len(found) < len(listeners):
        die(f"imagegate did not report {listeners} within {startup_seconds} s (got {found})")
    return p, found


def mint(conf, data, image_id):
    r = subprocess.run([BIN, "link", "mint", image_id, "--ttl", "2h", "--json", "--config", conf, "--data-dir", data],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        die(f"link mint failed: {r.stdout.decode(errors='replace')}")
    return json.loads(r.stdout)


# ---------------------------------------------------------------- results

def sh(cmd):
    r = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return r.stdout.decode(errors="replace").strip()


def machine():
    cpu = sh("awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo")
    mem = sh("awk '/^MemTotal/{printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    return {
        "date": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
        "commit": sh(f"git -C '{ROOT}' rev-parse --short HEAD")
        + ("" if subprocess.run(["git", "-C", ROOT, "diff", "--quiet", "HEAD", "--", "Sources", "Package.swift"])
           .returncode == 0 else "+dirty"),
        "machine": f"{os.cpu_count()} CPUs ({cpu}), {mem} RAM, Linux {os.uname().release}",
        "load": open("/proc/loadavg").read().split()[:3],
        "swift": sh("swift --version 2>/dev/null | head -1") or "unknown",
    }


def ratio(a, b):
    return float("nan") if b == 0 else a / b


def fmt_ratio(a, b):
    return "n/a" if b == 0 else f"{a / b:.2f}x"


def update_doc(marker, script, body):
    """Replaces what is between <!-- bench:MARKER:begin … --> and <!-- bench:MARKER:end --> in Docs/benchmarks.md."""
    begin = f"<!-- bench:{marker}:begin (written by {script}; edits here are overwritten) -->"
    end = f"<!-- bench:{marker}:end -->"
    text = open(DOC).read()
    if begin not in text or end not in text:
        text = text.rstrip("\n") + f"\n\n## Results: {marker}\n\n{begin}\n{end}\n"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    open(DOC, "w").write(f"{head}{begin}\n{body.rstrip()}\n{end}{tail}")


def finish(marker, script, body):
    path = os.path.join(OUT, f"results-{marker}.md")
    open(path, "w").write(body)
    print(body)
    if not os.environ.get("BENCH_NO_DOC"):
        update_doc(marker, script, body)
        log(f"refreshed the {marker} results section of {DOC}")


def main_with_bin(name, doc, run):
    """The command line of a benchmark that can also measure another binary: `--bin PATH` (then the results are
    printed, and Docs/benchmarks.md is left alone) and `--label TEXT` (what that binary is). Calls
    run(bench, own_binary, label) inside Bench(name)."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--bin", help="an imagegate binary to measure instead of this checkout's release build")
    ap.add_argument("--label", help="what --bin is (printed with the results)")
    a = ap.parse_args()
    global BIN
    if a.bin:
        BIN = os.path.abspath(a.bin)
    label = a.label or ("binary " + BIN if a.bin else f"commit {machine()['commit']}")
    with Bench(name) as b:
        run(b, not a.bin, label)


def callgrind_range_requests(p, socks, path, port, size, span, ok, n, dump_glob, warmup=200, seed=17):
    """Sends keep-alive range requests of `span` bytes at random offsets (seeded) on `socks` (one socket, or a
    list of sockets: each round then sends one request on every connection before reading any answer, so the
    server has them all ready at once, as under wrk with that many connections), `warmup` requests first, then
    zeroes the callgrind counters of process `p`, sends `n` more (whole rounds: at least `n`), dumps and stops
    `p`. Every answer must start with `ok` (for example b"HTTP/1.1 206"). Returns the dump files, the
    instructions they count in all and the number of requests measured."""
    import random
    import re
    rng = random.Random(seed)
    if not isinstance(socks, list):
        socks = [socks]
    bufs = {id(s): b"" for s in socks}

    def ask(sock):
        start = rng.randrange(0, size - span)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nRange: bytes={start}-{start + span - 1}"
                     "\r\n\r\n".encode())

    def answer(sock):
        buf = bufs[id(sock)]
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(1 << 20)
            assert chunk, "connection closed"
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        assert head.startswith(ok), head
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        while len(buf) < length:
            chunk = sock.recv(1 << 20)
            assert chunk, "connection closed"
            buf += chunk
        bufs[id(sock)] = buf[length:]

    def rounds(count):
        done = 0
        while done < count:
            for s in socks:
                ask(s)
            for s in socks:
                answer(s)
            done += len(socks)
        return done

    rounds(warmup)
    subprocess.run(["callgrind_control", "-z", str(p.pid)], check=True, capture_output=True)
    measured = rounds(n)
    subprocess.run(["callgrind_control", "-d", str(p.pid)], check=True, capture_output=True)
    for s in socks:
        s.close()
    p.terminate()
    p.wait()
    dumps = sorted(glob.glob(dump_glob))
    total = sum(int(line.split()[1]) for d in dumps for line in open(d) if line.startswith("summary:"))
    return dumps, total, measured


def client_sockets(port, conns, tls=False):
    """`conns` connections to 127.0.0.1:`port` (TLS 1.3 without certificate checks when `tls`: the bench's
    self-signed servers), retried while the server (under valgrind) starts."""
    import socket
    import ssl
    ctx = None
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    out = []
    for _ in range(conns):
        for attempt in range(600):
            try:
                s = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                if attempt == 599:
                    raise
                time.sleep(0.2)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        out.append(ctx.wrap_socket(s) if ctx else s)
    return out
