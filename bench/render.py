#!/usr/bin/python3
"""Render bench/run.sh results as Markdown, or put them into Docs/benchmarks.md.

    render.py RESULTS.tsv                 -> Markdown results section on stdout
    render.py --update DOC RESULTS.md     -> replace what is between the markers in DOC
"""
import sys

BEGIN = "<!-- bench:results:begin (written by bench/run.sh; edits here are overwritten) -->"
END = "<!-- bench:results:end -->"


def ratio(a, b, digits=2):
    a, b = float(a), float(b)
    return "n/a" if b == 0 else f"{a / b:.{digits}f}x"


def render(path):
    r = {}
    for line in open(path):
        k, _, v = line.rstrip("\n").partition("\t")
        r[k] = v
    f = float
    dl_ratio = f(r["dl_ig_mbs"]) / f(r["dl_ngx_mbs"])
    rr_ratio = f(r["rr_ig_rps"]) / f(r["rr_ngx_rps"])
    mem_ok = f(r["mem_ig_per_conn"]) < 64 and r["mem_ig_ok"] == r["slow_conns"]
    valid_rr = all(r[f"rr_{k}_non206"] == "0" and r[f"rr_{k}_badlen"] == "0" for k in ("ig", "ngx", "ngxp"))

    def met(ok):
        return "**met**" if ok else "**not met**"

    o = []
    o.append(f"### Run of {r['date']} (ImageGate {r['commit']})\n")
    o.append(f"- Machine: {r['nproc']} CPUs ({r['cpu']}), {r['mem']} RAM, Linux {r['kernel']}; "
             f"load average at the end of the run: {r['load']} (the machine is shared).")
    o.append(f"- Versions: {r['nginx']}, {r['curl']}, {r['wrk']}, {r['python']}, {r['swift']}.")
    o.append(f"- CPU time: utime+stime from `/proc/PID/stat` (all threads; nginx: master + workers), "
             f"{r['hz']} ticks/s, so one tick is {1000 / int(r['hz']):.0f} ms.\n")

    o.append("| Metric | ImageGate | nginx | ImageGate/nginx | Better | Goal |")
    o.append("|---|---:|---:|---:|---|---|")
    o.append(f"| Full 2 GiB download, curl, MB/s (median of {r['reps']}) | {r['dl_ig_mbs']} | {r['dl_ngx_mbs']} | "
             f"{dl_ratio:.2f}x | higher | ≥ 1.0x: {met(dl_ratio >= 1.0)} |")
    o.append(f"| ↳ server CPU s per GiB (all {r['reps']} reps) | {r['dl_ig_cpu_gib']} | {r['dl_ngx_cpu_gib']} | "
             f"{ratio(r['dl_ig_cpu_gib'], r['dl_ngx_cpu_gib'])} | lower | – |")
    o.append(f"| 64 KiB random ranges, wrk -t2 -c16 -d{r['wrk_seconds']}s, requests/s (nginx: secure_link) | "
             f"{r['rr_ig_rps']} | {r['rr_ngx_rps']} | {rr_ratio:.2f}x | higher | ≥ 1.0x: "
             f"{met(rr_ratio >= 1.0 and valid_rr)} |")
    o.append(f"| ↳ server CPU s per GiB of 64 KiB bodies | {r['rr_ig_cpu_gib']} | {r['rr_ngx_cpu_gib']} | "
             f"{ratio(r['rr_ig_cpu_gib'], r['rr_ngx_cpu_gib'])} | lower | – |")
    o.append(f"| ↳ latency p50 / p99 | {r['rr_ig_p50']} / {r['rr_ig_p99']} | {r['rr_ngx_p50']} / {r['rr_ngx_p99']} "
             f"| – | lower | – |")
    o.append(f"| RSS per slow download above idle, KiB ({r['slow_conns']} held {r['hold']} s) | "
             f"{r['mem_ig_per_conn']} | {r['mem_ngx_per_conn']} | "
             f"{ratio(r['mem_ig_per_conn'], r['mem_ngx_per_conn'])} | lower | < 64 KiB: {met(mem_ok)} |")
    o.append("")
    o.append("Reference without token work: nginx `location /plain/` (no secure_link) served "
             f"{r['rr_ngxp_rps']} requests/s at {r['rr_ngxp_cpu_gib']} CPU s/GiB "
             f"(ImageGate/nginx-plain: {ratio(r['rr_ig_rps'], r['rr_ngxp_rps'])} requests/s).\n")

    o.append("Details:\n")
    o.append(f"- Downloads, MB/s per rep (10^6 bytes/s, curl `speed_download`): ImageGate {r['dl_ig_mbs_all']}; "
             f"nginx {r['dl_ngx_mbs_all']}. Server CPU ticks over the {r['reps']} reps: ImageGate {r['dl_ig_ticks']}, "
             f"nginx {r['dl_ngx_ticks']}.")
    o.append(f"- Downloads per rep, server CPU ticks / curl CPU seconds (user+sys, `/usr/bin/time`) / ksoftirqd ticks "
             f"(all CPUs): ImageGate {r['dl_ig_per_rep']}; nginx {r['dl_ngx_per_rep']}.")
    for k, name in (("ig", "ImageGate"), ("ngx", "nginx secure_link"), ("ngxp", "nginx plain")):
        o.append(f"- wrk {name}: {r[f'rr_{k}_requests']} requests, non-206 {r[f'rr_{k}_non206']}, "
                 f"206 with a body ≠ 65536 bytes {r[f'rr_{k}_badlen']}, socket errors: {r[f'rr_{k}_errors']}; "
                 f"{r[f'rr_{k}_ticks']} server CPU ticks; wrk used {r[f'rr_{k}_client']} s CPU (user+sys).")
    for k, name in (("ig", "ImageGate"), ("ngx", "nginx")):
        o.append(f"- Slow downloads {name}: client saw `{r[f'mem_{k}_ready']}`; {r[f'mem_{k}_held']} established "
                 f"connections on the server port while held; VmRSS idle {r[f'mem_{k}_base']} KiB, peak "
                 f"{r[f'mem_{k}_peak']} KiB, 3 s after the clients closed {r[f'mem_{k}_after']} KiB; "
                 f"{r[f'mem_{k}_hold_ticks']} CPU ticks while the connections were parked.")
    o.append(f"- ImageGate wrote {r['ig_errlog_lines']} lines to standard error during the run (log.level = warn).")
    if not valid_rr:
        o.append("\n**INVALID: some range responses were not 206 with 65536 bytes; the requests/s above "
                 "include them.**")
    return "\n".join(o) + "\n"


def update(doc, results_md):
    body = open(results_md).read()
    try:
        text = open(doc).read()
    except FileNotFoundError:
        text = f"# Benchmarks\n\n## Results\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n## Results\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    open(doc, "w").write(f"{head}{BEGIN}\n{body}{END}{tail}")


if __name__ == "__main__":
    if sys.argv[1] == "--update":
        update(sys.argv[2], sys.argv[3])
    else:
        sys.stdout.write(render(sys.argv[1]))
