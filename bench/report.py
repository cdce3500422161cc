#!/usr/bin/env python3
"""Writes docs/performance.md from the JSON of focal_bench and peers.py, so
that every number in the document is one that was measured.

  report.py --focal FOCAL.json [--peers PEERS.json] --out FILE [--command TEXT]

Standard library only.
"""
import argparse
import json
import os
import sys

FLOOR_SPEEDUP_COMPOSED = 10.0    # cls and seg: libfocal fused f32 vs PyTorch composed fwd+bwd
FLOOR_SPEEDUP_TORCHVISION = 50.0  # det: libfocal fused f32 vs torchvision sigmoid_focal_loss fwd+bwd
FLOOR_BANDWIDTH_PERCENT = 50.0    # cls: fused f32 bytes / time, against the streaming limit
FLOOR_SMALL_NS = 2000.0           # small: fused f32 per call
FLOOR_MEMORY_KIB = 4096           # every workload: peak RSS growth during the calls

PEER_NAMES = {
    "composed": "PyTorch composed focal loss",
    "cross_entropy": "F.cross_entropy (gamma = 0)",
    "torchvision": "torchvision sigmoid_focal_loss",
    "bce_with_logits": "F.binary_cross_entropy_with_logits (gamma = 0)",
}


def sig(v, digits=3):
    """v with about `digits` significant digits, no exponent for ordinary sizes."""
    if v is None:
        return "-"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 10 ** (digits - 1):
        return f"{v:,.0f}"
    decimals = 0
    while a < 10 ** (digits - 1) and decimals < 6:
        a *= 10
        decimals += 1
    return f"{v:.{decimals}f}"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def verdict(ok):
    if ok is None:
        return "NOT MEASURED"
    return "PASS" if ok else "FAIL"


class Data:
    def __init__(self, focal, peers):
        self.focal = focal
        self.peers = peers
        self.threads = focal.get("threads", [1, 2])
        self.workloads = {w["name"]: w for w in focal.get("workloads", [])}

    def lib(self, workload, dtype, op, threads):
        for t in self.focal.get("timings", []):
            if (t["workload"], t["dtype"], t["op"], t["threads"]) == (workload, dtype, op, threads):
                return t
        return None

    def peer(self, workload, impl, op, threads, dtype="f32"):
        if not self.peers:
            return None
        for t in self.peers.get("timings", []):
            if (t["workload"], t["impl"], t["op"], t["threads"], t["dtype"]) == (workload, impl, op, threads, dtype):
                return t
        return None

    def bandwidth_share(self, workload, threads):
        for b in self.focal.get("fused_f32_bandwidth", []):
            if b["workload"] == workload and b["threads"] == threads:
                return b
        return None

    def streaming(self, workload, threads):
        for b in self.focal.get("bandwidth", []):
            if b["workload"] == workload and b["threads"] == threads:
                return b
        return None

    def memory(self, workload):
        return [m for m in self.focal.get("memory", []) if m["workload"] == workload]


def speedup(d, workload, impl, threads):
    lib = d.lib(workload, "f32", "fused", threads)
    peer = d.peer(workload, impl, "fwd_bwd", threads)
    if lib is None or peer is None or not lib["median_ms"]:
        return lib, peer, None
    return lib, peer, peer["median_ms"] / lib["median_ms"]


def floors(d):
    rows = []
    passed = total = 0

    def add(name, threads, measured, target, ok):
        nonlocal passed, total
        total += 1
        passed += ok is True
        rows.append([name, threads, measured, target, f"**{verdict(ok)}**"])

    for workload, impl, floor in (("cls", "composed", FLOOR_SPEEDUP_COMPOSED),
                                  ("seg", "composed", FLOOR_SPEEDUP_COMPOSED),
                                  ("det", "torchvision", FLOOR_SPEEDUP_TORCHVISION)):
        for th in d.threads:
            _, _, s = speedup(d, workload, impl, th)
            add(f"{workload}: fused f32 vs {PEER_NAMES[impl]} fwd+bwd", th,
                "-" if s is None else f"{sig(s)}x", f">= {floor:g}x", None if s is None else s >= floor)
    for th in d.threads:
        b = d.bandwidth_share("cls", th)
        add("cls: fused f32 share of streaming read+write bandwidth", th,
            "-" if b is None else f"{sig(b['percent'])} %", f">= {FLOOR_BANDWIDTH_PERCENT:g} %",
            None if b is None else b["percent"] >= FLOOR_BANDWIDTH_PERCENT)
    for th in d.threads:
        t = d.lib("small", "f32", "fused", th)
        add("small: fused f32 time per call", th, "-" if t is None else f"{sig(t['ns_per_call'])} ns",
            f"< {FLOOR_SMALL_NS:g} ns", None if t is None else t["ns_per_call"] < FLOOR_SMALL_NS)
    for workload in ("cls", "seg", "det", "small"):
        mem = d.memory(workload)
        worst = max((m["extra_kib"] for m in mem), default=None)
        add(f"{workload}: memory beyond inputs and outputs (worst of f32, f64; all thread counts)", "all",
            "-" if worst is None else f"{worst:,} KiB", f"< {FLOOR_MEMORY_KIB:,} KiB",
            None if worst is None else worst < FLOOR_MEMORY_KIB)
    return rows, passed, total


def machine_section(d):
    m = d.focal.get("machine", {})
    pm = (d.peers or {}).get("machine", {})
    gib = m.get("memory_kib", 0) / (1024 * 1024)
    caches = ", ".join(m.get("caches", [])) or "unknown"
    isa = m.get("focal_isa", "unknown")
    env = m.get("focal_max_isa_env")
    rows = [
        ["CPU", f"{m.get('cpu', 'unknown')}; {m.get('logical_cpus')} logical CPUs, {m.get('cores')} cores; "
                f"AVX2 {'yes' if m.get('cpu_avx2') else 'no'}, FMA {'yes' if m.get('cpu_fma') else 'no'}"],
        ["Caches (cpu0)", caches],
        ["Memory", f"{gib:.1f} GiB"],
        ["OS", f"{m.get('os', 'unknown')}; {m.get('kernel', 'unknown')}"],
        ["Compiler", f"{m.get('compiler', 'unknown')}; CMake build type {m.get('build_type')}, "
                     f"flags `{m.get('c_flags')}`"],
        ["libfocal", f"{m.get('libfocal_version')} (header {m.get('header_version')}); "
                     f"instruction-set path `{isa}`" + (f", FOCAL_MAX_ISA={env}" if env else "")],
        ["PyTorch", "not measured" if not d.peers else
         f"torch {pm.get('torch')}, torchvision {pm.get('torchvision')}, Python {pm.get('python')}"],
        ["Load average (1/5/15 min)", f"{m.get('loadavg_start')} at the start of focal_bench, "
                                      f"{m.get('loadavg_end')} at its end"
         + (f"; {pm.get('loadavg_start')} at the start of peers.py" if d.peers else "")],
        ["Date", f"{d.focal.get('date')} (focal_bench)" + (f", {d.peers.get('date')} (peers.py)" if d.peers else "")],
    ]
    return table(["", ""], rows)


def busy_warning(d):
    m = d.focal.get("machine", {})
    cpus = m.get("logical_cpus") or 1
    loads = []
    for key in ("loadavg_start", "loadavg_end"):
        try:
            loads.append(float(str(m.get(key, "")).split()[0]))
        except (ValueError, IndexError):
            pass
    if d.peers:
        try:
            loads.append(float(str(d.peers["machine"].get("loadavg_start", "")).split()[0]))
        except (ValueError, IndexError, KeyError):
            pass
    worst = max(loads, default=0.0)
    if worst > 0.5 * cpus:
        return (f"> **The machine was busy during this run** (1-minute load average up to {worst:.2f} on "
                f"{cpus} logical CPUs): other processes competed for the cores, so times are longer and "
                f"noisier than on an idle machine, for libfocal and PyTorch alike.\n")
    return ""


def comparison_section(d):
    rows = []
    for workload, impls in (("cls", ("composed", "cross_entropy")), ("seg", ("composed", "cross_entropy")),
                            ("det", ("torchvision", "bce_with_logits"))):
        for th in d.threads:
            for impl in impls:
                lib, peer, s = speedup(d, workload, impl, th)
                if lib is None and peer is None:
                    continue
                rows.append([workload, th, "-" if lib is None else f"{sig(lib['median_ms'])} ms", PEER_NAMES[impl],
                             "-" if peer is None else f"{sig(peer['median_ms'])} ms",
                             "-" if s is None else f"{sig(s)}x"])
    for th in d.threads:
        for impl in ("composed", "cross_entropy"):
            lib = d.lib("small", "f32", "fused", th)
            peer = d.peer("small", impl, "fwd_bwd", th)
            if lib is None and peer is None:
                continue
            s = None if lib is None or peer is None else peer["ns_per_call"] / lib["ns_per_call"]
            rows.append(["small", th, "-" if lib is None else f"{sig(lib['ns_per_call'])} ns",
                         PEER_NAMES[impl], "-" if peer is None else f"{sig(peer['ns_per_call'])} ns",
                         "-" if s is None else f"{sig(s)}x"])
    return table(["workload", "threads", "libfocal fused f32", "peer (forward+backward)", "peer",
                  "speed-up (peer / libfocal)"], rows)


def bandwidth_section(d):
    rows = []
    for name in ("cls", "seg", "det"):
        for th in d.threads:
            b = d.bandwidth_share(name, th)
            s = d.streaming(name, th)
            if b is None or s is None:
                continue
            rows.append([name, th, sig(b["bytes"] / 1e6), sig(b["fused_ms"]), sig(b["gbs"]),
                         f"{sig(s['scale_gbs_best'])} / {sig(s['memcpy_gbs_best'])}", sig(b["limit_gbs"]),
                         f"{sig(b['percent'])} %"])
    return table(["workload", "threads", "bytes moved (MB)", "fused f32 (ms)", "libfocal (GB/s)",
                  "streaming scale / memcpy (GB/s)", "limit (GB/s)", "share of limit"], rows)


def exp_section(d):
    rows = [[e["isa"], e["threads"], sig(e["gexp_per_s"]), f"{e['max_rel_error']:.1e}"]
            for e in d.focal.get("exp", [])]
    text = table(["exp kernel (compiled for)", "threads", "Gexp/s", "max relative error"], rows)
    notes = []
    for th in d.threads:
        best = max((e["gexp_per_s"] for e in d.focal.get("exp", []) if e["threads"] == th), default=None)
        for name in ("cls", "seg"):
            t = d.lib(name, "f32", "fused", th)
            if best and t:
                notes.append(f"{name}, {th} thread{'s' if th > 1 else ''}: libfocal's fused f32 runs "
                             f"{sig(t['melem_per_s'] / 1e3)} G elements/s, {sig(100 * t['melem_per_s'] / 1e3 / best)} % "
                             f"of the best exp rate (a softmax needs at least one exp per element)")
    if notes:
        text += "\n\n" + "\n".join(f"- {n}" for n in notes)
    return text


def small_section(d):
    rows = []
    for dtype in ("f32", "f64"):
        for th in d.threads:
            cells = [dtype, th]
            for op in ("forward", "backward", "fused"):
                t = d.lib("small", dtype, op, th)
                cells.append("-" if t is None else sig(t["ns_per_call"]))
            rows.append(cells)
    text = table(["dtype", "threads", "forward (ns/call)", "backward (ns/call)", "fused (ns/call)"], rows)
    peer_rows = []
    for impl in ("composed", "cross_entropy"):
        for th in d.threads:
            f = d.peer("small", impl, "forward", th)
            b = d.peer("small", impl, "fwd_bwd", th)
            if f or b:
                peer_rows.append([PEER_NAMES[impl], th, "-" if f is None else sig(f["ns_per_call"]),
                                  "-" if b is None else sig(b["ns_per_call"])])
    if peer_rows:
        text += "\n\nPyTorch on the same (64, 10) problem, float32:\n\n" + table(
            ["peer", "threads", "forward (ns/call)", "forward+backward (ns/call)"], peer_rows)
    return text


def memory_section(d):
    rows = []
    for m in d.focal.get("memory", []):
        rows.append([m["workload"], m["dtype"], f"{m['extra_kib']:,}", f"{m['buffers_kib']:,}",
                     f"{m['rss_before_kib']:,}", f"{m['hwm_after_kib']:,}",
                     "yes" if m.get("peak_reset") else "no (upper bound)"])
    return table(["workload", "dtype", "beyond inputs and outputs (KiB)", "benchmark's buffers (KiB)",
                  "resident before the calls (KiB)", "peak during the calls (KiB)", "peak mark reset"], rows)


def libfocal_table(d):
    rows = []
    for name, w in d.workloads.items():
        per_call = w.get("per_call")
        for dtype in ("f32", "f64"):
            for th in d.threads:
                cells = [name, dtype, th]
                for op in ("forward", "backward", "fused"):
                    t = d.lib(name, dtype, op, th)
                    if t is None:
                        cells += ["-", "-"]
                    elif per_call:
                        cells += [f"{sig(t['ns_per_call'])} ns", sig(t["melem_per_s"])]
                    else:
                        cells += [f"{sig(t['median_ms'])} ms", sig(t["melem_per_s"])]
                    if t is not None:
                        cells[-2] += f" ({t['runs']})"
                rows.append(cells)
    return table(["workload", "dtype", "threads", "forward (runs)", "Melem/s", "backward (runs)", "Melem/s",
                  "fused (runs)", "Melem/s"], rows)


def peers_table(d):
    rows = []
    for t in (d.peers or {}).get("timings", []):
        time = f"{sig(t['ns_per_call'])} ns" if t["workload"] == "small" else f"{sig(t['median_ms'])} ms"
        rows.append([t["workload"], t["dtype"], t["impl"], "forward" if t["op"] == "forward" else "forward+backward",
                     t["threads"], f"{time} ({t['runs']})", sig(t["melem_per_s"])])
    return table(["workload", "dtype", "implementation", "op", "threads", "median (runs)", "Melem/s"], rows)


def workloads_section(d):
    rows = [[w["name"], w["description"], f"{w['elements']:,}"] for w in d.focal.get("workloads", [])]
    return table(["workload", "problem", "elements"], rows)


def analysis_section():
    """bench/analysis.md: the instruction counts of bench/profile.sh and what they say."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return "(bench/analysis.md is missing.)"


def render(d, command, elapsed_s):
    floor_rows, passed, total = floors(d)
    quick = d.focal.get("quick") or (d.peers or {}).get("quick")
    parts = [
        "# Performance",
        "",
        f"Generated by `{command}` from the JSON written by `focal_bench` and `bench/peers.py` "
        "(`bench/report.py` turns them into this page; do not edit it by hand). What each figure means "
        "and how it is measured: [bench/README.md](../bench/README.md)."
        + (f" The whole run, build included, took {elapsed_s / 60:.1f} minutes." if elapsed_s else ""),
        "",
    ]
    if quick:
        parts += ["> **Quick run**: few repetitions, a smoke test of the benchmark rather than a measurement.", ""]
    warning = busy_warning(d)
    if warning:
        parts += [warning]
    if not d.peers:
        parts += ["> PyTorch was not measured in this run (peers.py did not run or failed): "
                  "the comparisons are marked NOT MEASURED.", ""]
    if d.focal.get("error"):
        parts += [f"> focal_bench reported an error: `{d.focal['error']}`", ""]
    parts += [
        "## Machine", "", machine_section(d), "",
        "## Workloads", "", workloads_section(d), "",
        "Logits are normal with standard deviation 2, targets uniform (det: each element positive with "
        "probability 1 %). Times are medians of repeated calls after a warm-up; the count of runs is in "
        "brackets in the full tables.", "",
        "## Floors", "",
        f"**{passed} of {total} floors pass.**", "",
        table(["floor", "threads", "measured", "target", "result"], floor_rows), "",
        "## libfocal against PyTorch", "",
        "libfocal's fused forward+backward in float32 against the same loss written with PyTorch "
        "(forward and `backward()` through autograd), at the same thread count "
        "(`torch.set_num_threads`). The speed-up is the peer's median time over libfocal's. The two "
        "programs run one after the other, so a change in the machine's load between them shows "
        "in the ratio.", "",
        comparison_section(d), "",
        "## Share of the machine's memory bandwidth", "",
        "Bytes the fused call must move (read the input and the targets, write the gradient) over its "
        "median time, against the best streaming read+write rate measured in the same run over a buffer of "
        "the input's size: `y[i] = x[i] * k` (compiler-vectorised) and `memcpy`, whichever is faster.", "",
        bandwidth_section(d), "",
        "## exp throughput", "",
        "A polynomial `expf` over 4096 floats that stay in L1, compiled for the baseline instruction set "
        "and, where the CPU has them, for AVX2+FMA: an upper bound for any loss that takes one exp per element.", "",
        exp_section(d), "",
        "## Small problem: time per call", "",
        "Softmax (64, 10): medians over batches of back-to-back calls. Calls this small run on the "
        "calling thread whatever the thread setting.", "",
        small_section(d), "",
        "## Memory beyond inputs and outputs", "",
        "Each workload and precision runs in a fresh process that allocates and touches its buffers, "
        "resets the kernel's peak-RSS mark (`/proc/self/clear_refs`), then makes every timed call "
        "(all operations, all thread counts). The figure is the peak resident set during the calls "
        "minus the resident set before them: scratch, thread stacks and anything else a call touched, "
        "including the library code pages the first calls fault in (a few hundred KiB).", "",
        memory_section(d), "",
        "## Where the time goes" if passed == total else "## Where the time goes, and what bounds the floors that are not met", "",
        analysis_section(), "",
        "## All libfocal figures", "",
        libfocal_table(d), "",
    ]
    if d.peers:
        parts += ["## All PyTorch figures", "", peers_table(d), ""]
    return "\n".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--focal", required=True, help="focal_bench --json output")
    ap.add_argument("--peers", help="peers.py --json output (optional)")
    ap.add_argument("--out", required=True, help="the markdown file to write")
    ap.add_argument("--command", default="bash bench/run.sh", help="the command named in the page")
    ap.add_argument("--elapsed", type=float, help="seconds the whole run took, for the page")
    args = ap.parse_args()
    with open(args.focal) as f:
        focal = json.load(f)
    peers = None
    if args.peers:
        try:
            with open(args.peers) as f:
                peers = json.load(f)
        except (OSError, ValueError) as e:
            print(f"report.py: ignoring {args.peers}: {e}", file=sys.stderr)
    d = Data(focal, peers)
    text = render(d, args.command, args.elapsed)
    with open(args.out, "w") as f:
        f.write(text)
    rows, passed, total = floors(d)
    print(f"report.py: wrote {args.out}: {passed} of {total} floors pass")


if __name__ == "__main__":
    main()
