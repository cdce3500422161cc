#!/usr/bin/env python3
"""Writes docs/performance.md from the JSON of focal_bench (one file per
kernel table it ran on), its table probe, the 1.0 release's focal_bench and
peers.py, so that every number in the document is one that was measured.

  report.py --focal RUN.json [RUN.json ...] [--tables TABLES.json]
            [--v1 V1.json | --v1-missing REASON] [--peers PEERS.json]
            --out FILE [--command TEXT] [--elapsed SECONDS]

Standard library only. bench/README.md says what every figure means.
"""
import argparse
import json
import os
import sys

TABLES = ["scalar", "avx2", "avx512"]   # lowest first, as focal_isa() names them

# The release's floors.
FLOOR_MATRIX_RATIO = {"f32": 1.5, "f64": 2.5}     # configuration time / its shape's base f32 time
FLOOR_BANDWIDTH_PERCENT = {"cls": 70.0, "seg": 50.0, "det": 40.0}   # best table, fused f32
FLOOR_SMALL_NS = {"f32": 500.0, "f64": 800.0}      # best table, fused, per call
FLOOR_MEMORY_KIB = 4096                            # every workload, every table
V1_WORKLOADS = ("cls", "seg", "det", "small")      # fused f32 on the best table no slower than 1.0

# 1.0's floors, kept as information.
OLD_FLOOR_SPEEDUP = (("cls", "composed", 10.0), ("seg", "composed", 10.0), ("det", "torchvision", 50.0))

PEER_NAMES = {
    "composed": "PyTorch composed focal loss",
    "cross_entropy": "F.cross_entropy (gamma = 0)",
    "torchvision": "torchvision sigmoid_focal_loss",
    "bce_with_logits": "F.binary_cross_entropy_with_logits (gamma = 0)",
}
HEADLINE_PEER = {"cls": "composed", "seg": "composed", "det": "torchvision", "small": "composed"}
# Each headline workload with the peers it is compared with: the composed
# focal loss (or torchvision's) and the gamma = 0 PyTorch loss.
PEER_COMPARISONS = (("cls", ("composed", "cross_entropy")), ("seg", ("composed", "cross_entropy")),
                    ("det", ("torchvision", "bce_with_logits")), ("small", ("composed", "cross_entropy")))


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


def ratio_text(r):
    return "-" if r is None else f"{r:.2f}x"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def verdict(ok):
    if ok is None:
        return "NOT MEASURED"
    return "PASS" if ok else "FAIL"


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def table_rank(name):
    return TABLES.index(name) if name in TABLES else -1


def time_text(t, per_call):
    if t is None:
        return "-"
    return f"{sig(t['ns_per_call'])} ns" if per_call else f"{sig(t['median_ms'])} ms"


class Run:
    """One focal_bench JSON: the figures of one kernel table."""

    def __init__(self, doc, path):
        self.doc = doc
        self.path = path
        self.machine = doc.get("machine", {})
        tab = doc.get("table") or {}
        self.isa = tab.get("focal_isa") or self.machine.get("focal_isa", "unknown")
        self.requested = tab.get("requested") or self.machine.get("focal_max_isa_env")
        self.expected = tab.get("expected")
        self.error = doc.get("error")
        # The figures are this table's only if focal_isa() says so.
        self.valid = self.expected is None or self.expected == self.isa
        self.name = self.isa if self.valid else (self.expected or self.requested or self.isa)
        self.threads = doc.get("threads", [1, 2])
        self.ops = doc.get("ops", ["forward", "backward", "fused"])
        self.policy = doc.get("matrix_policy", "none")
        self.matrix_threads = doc.get("matrix_threads", self.threads[0] if self.threads else 1)
        self.workloads = {w["name"]: w for w in doc.get("workloads", [])}
        self.shapes = doc.get("matrix_shapes", [])
        self.configs = doc.get("matrix_configs", [])
        self.quick = doc.get("quick", False)

    def lib(self, workload, dtype, op, threads):
        for t in self.doc.get("timings", []):
            if (t["workload"], t["dtype"], t["op"], t["threads"]) == (workload, dtype, op, threads):
                return t
        return None

    def bandwidth_share(self, workload, threads):
        for b in self.doc.get("fused_f32_bandwidth", []):
            if b["workload"] == workload and b["threads"] == threads:
                return b
        return None

    def streaming(self, workload, threads):
        for b in self.doc.get("bandwidth", []):
            if b["workload"] == workload and b["threads"] == threads:
                return b
        return None

    def memory(self, workload):
        return [m for m in self.doc.get("memory", []) if m["workload"] == workload]

    def entry(self, shape, config, dtype, threads):
        for m in self.doc.get("matrix", []):
            if (m["shape"], m["config"], m["dtype"], m["threads"]) == (shape, config, dtype, threads):
                return m
        return None

    def time(self, shape, config, dtype, threads):
        e = self.entry(shape, config, dtype, threads)
        return e["median_ms"] if e is not None and e.get("runs") and e.get("median_ms") else None

    def shape_configs(self, shape):
        return [c for c in self.configs if c["shape"] == shape]

    def ratio(self, shape, config, dtype, threads):
        t = self.time(shape, config, dtype, threads)
        b = self.time(shape, "base", "f32", threads)
        return None if t is None or b is None else t / b

    def matrix_rows(self, shape):
        """(config, threads) pairs of the run, in table order: base at every thread count."""
        rows = []
        for c in self.shape_configs(shape):
            if not c.get("selected"):
                continue
            ths = self.threads if c["name"] == "base" else [self.matrix_threads]
            rows += [(c, th) for th in ths]
        return rows


class Data:
    def __init__(self, runs, tables, v1, v1_missing, peers):
        self.runs = runs
        self.tables = tables
        self.v1 = v1
        self.v1_missing = v1_missing
        self.peers = peers
        valid = [r for r in runs if r.valid]
        self.best = max(valid, key=lambda r: table_rank(r.isa)) if valid else None
        self.threads = self.best.threads if self.best else [1, 2]

    def run_for(self, table_name):
        for r in self.runs:
            if r.name == table_name:
                return r
        return None

    def peer(self, workload, impl, op, threads, dtype="f32"):
        if not self.peers:
            return None
        for t in self.peers.get("timings", []):
            if (t["workload"], t["impl"], t["op"], t["threads"], t["dtype"]) == (workload, impl, op, threads, dtype):
                return t
        return None

    def v1_timing(self, workload, dtype, op, threads):
        if not self.v1:
            return None
        for t in self.v1.get("timings", []):
            if (t["workload"], t["dtype"], t["op"], t["threads"]) == (workload, dtype, op, threads):
                return t
        return None

    def v1_isa(self):
        return (self.v1 or {}).get("machine", {}).get("focal_isa", "unknown")


# ---- floors ----------------------------------------------------------------


class Floors:
    def __init__(self):
        self.rows = []
        self.failures = []   # (text, hint)
        self.passed = self.failed = self.unmeasured = 0

    def add(self, name, table_name, threads, measured, target, ok, hint=None):
        self.rows.append([name, f"`{table_name}`" if table_name else "-", threads, measured, target,
                          f"**{verdict(ok)}**"])
        if ok is None:
            self.unmeasured += 1
        elif ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append((f"{name} ({'table ' + table_name if table_name else 'all tables'}, "
                                  f"threads {threads}): {measured}, target {target}", hint))

    @property
    def total(self):
        return len(self.rows)


# Matrix rows whose storage is a half type: focal_bench times them in the
# float32 run only, against the float32 base.
HALF_ROWS = {"bf16", "f16"}


def matrix_floor(run, shape, dtype):
    """Worst ratio of the run's configurations of one shape and precision, and the verdict."""
    limit = FLOOR_MATRIX_RATIO[dtype]
    worst = None
    over, missing, counted = [], [], 0
    for c, th in run.matrix_rows(shape):
        if dtype == "f32" and c["name"] == "base":
            continue   # the reference itself
        if dtype != "f32" and c["name"] in HALF_ROWS:
            continue   # half storage is timed in the float32 run only
        r = run.ratio(shape, c["name"], dtype, th)
        label = c["name"] + (f" ({th} threads)" if th != run.matrix_threads else "")
        if r is None:
            missing.append(label)
            continue
        counted += 1
        if worst is None or r > worst[0]:
            worst = (r, label)
        if r > limit:
            over.append((label, r))
    if worst is None:
        text = "only the base configuration was run" if not missing else f"{len(missing)} not measured"
        return None, text, missing, over
    text = f"worst {worst[0]:.2f}x ({worst[1]}) of {plural(counted, 'configuration')}"
    if over:
        text += "; over: " + ", ".join(f"{n} {r:.2f}x" for n, r in over)
    if missing:
        text += f"; {len(missing)} not measured"
    ok = False if over else (None if missing else True)
    return ok, text, missing, over


def floors(d):
    f = Floors()
    # Every configuration against its shape's base, on every table measured.
    for run in sorted((r for r in d.runs if r.valid), key=lambda r: -table_rank(r.isa)):
        for s in run.shapes:
            shape = s["name"]
            for dtype in ("f32", "f64"):
                ok, text, _, over = matrix_floor(run, shape, dtype)
                hint = None
                if over:
                    name = over[0][0].split(" ")[0]
                    hint = (f"`bash bench/profile.sh {shape}:{name}:{dtype} {shape}:base:f32`; re-time with "
                            f"`FOCAL_MAX_ISA={run.isa} build-bench/bench/focal_bench --workload {shape} "
                            f"--config {name} --ops none`")
                f.add(f"matrix {shape}, {dtype}: every configuration / base f32", run.isa,
                      f"{run.matrix_threads} (base: {', '.join(map(str, run.threads))})", text,
                      f"<= {FLOOR_MATRIX_RATIO[dtype]:g}x", ok, hint)
    best = d.best
    best_name = best.isa if best else None
    # Bandwidth, on the best table.
    for w, floor in FLOOR_BANDWIDTH_PERCENT.items():
        for th in d.threads:
            b = best.bandwidth_share(w, th) if best else None
            f.add(f"{w}: fused f32 share of streaming read+write bandwidth", best_name, th,
                  "-" if b is None else f"{sig(b['percent'])} % ({sig(b['gbs'])} of {sig(b['limit_gbs'])} GB/s)",
                  f">= {floor:g} %", None if b is None else b["percent"] >= floor,
                  f"`bash bench/profile.sh {w}` (instructions per element)")
    # small, on the best table.
    for dtype, floor in FLOOR_SMALL_NS.items():
        for th in d.threads:
            t = best.lib("small", dtype, "fused", th) if best else None
            f.add(f"small: fused {dtype} time per call", best_name, th,
                  "-" if t is None else f"{sig(t['ns_per_call'])} ns", f"<= {floor:g} ns",
                  None if t is None else t["ns_per_call"] <= floor,
                  f"`bash bench/profile.sh small:base:{dtype}` (the call's fixed cost)")
    # No slower than 1.0.
    for w in V1_WORKLOADS:
        for th in d.threads:
            new = best.lib(w, "f32", "fused", th) if best else None
            old = d.v1_timing(w, "f32", "fused", th)
            per_call = w == "small"
            key = "ns_per_call" if per_call else "median_ms"
            measured = "-"
            ok = None
            if new is not None and old is not None:
                measured = (f"{time_text(new, per_call)} vs {time_text(old, per_call)}: "
                            f"{new[key] / old[key]:.2f}x 1.0's time")
                ok = new[key] <= old[key]
            f.add(f"{w}: fused f32 no slower than 1.0", best_name, th, measured, "<= 1.00x", ok,
                  f"`bash bench/profile.sh {w}` here and with the 1.0 tree's bench/profile.sh")
    # Memory, on every table.
    for w in ("cls", "seg", "det", "small"):
        worst = None
        for run in d.runs:
            if not run.valid:
                continue
            for m in run.memory(w):
                if worst is None or m["extra_kib"] > worst[0]:
                    worst = (m["extra_kib"], run.isa, m["dtype"])
        f.add(f"{w}: memory beyond inputs and outputs (worst of f32, f64, every table and thread count)", None,
              "all", "-" if worst is None else f"{worst[0]:,} KiB ({worst[1]}, {worst[2]})",
              f"< {FLOOR_MEMORY_KIB:,} KiB", None if worst is None else worst[0] < FLOOR_MEMORY_KIB)
    return f


def old_floors(d):
    rows = []
    best = d.best
    for w, impl, floor in OLD_FLOOR_SPEEDUP:
        for th in d.threads:
            lib = best.lib(w, "f32", "fused", th) if best else None
            peer = d.peer(w, impl, "fwd_bwd", th)
            s = None if lib is None or peer is None else peer["median_ms"] / lib["median_ms"]
            rows.append([f"{w}: fused f32 vs {PEER_NAMES[impl]} fwd+bwd", f"`{best.isa}`" if best else "-", th,
                         "-" if s is None else f"{sig(s)}x", f">= {floor:g}x", verdict(None if s is None else s >= floor)])
    return table(["floor (1.0)", "table", "threads", "measured", "target", "result"], rows)


# ---- sections ---------------------------------------------------------------


def tables_section(d):
    rows = []
    probe = {t["name"]: t for t in (d.tables or {}).get("tables", [])}
    names = list(TABLES) + [r.name for r in d.runs if r.name not in TABLES]
    for name in names:
        p = probe.get(name)
        run = d.run_for(name)
        cpu = "-" if p is None else ("yes" if p["cpu"] else f"no (lacks {p['cpu_missing']})")
        isa = "-" if p is None else f"`{p['focal_isa']}`"
        if run is not None and run.valid:
            status = f"measured: {run_scope(run)}"
        elif run is not None:
            status = f"**not measured**: {run.error}"
        elif p is not None and p["status"] != "run":
            status = f"not measured: {p['reason']}"
        elif p is not None:
            status = "not measured: not selected in this run (run.sh --tables)"
        else:
            continue
        rows.append([f"`{name}`", cpu, isa, status])
    text = table(["table", "CPU can run it", "focal_isa() with FOCAL_MAX_ISA = table", "in this report"], rows)
    if d.tables:
        text += (f"\n\nWithout FOCAL_MAX_ISA, libfocal picks `{d.tables.get('default_isa', 'unknown')}` on this "
                 "machine. A table the CPU can run but focal_isa() does not name under its cap is not compiled "
                 "into this build of libfocal: the library falls back to a lower one, whose figures are in "
                 "that table's own section and nowhere else.")
    return text


def run_scope(run):
    n_all = sum(1 for c in run.configs)
    n_sel = sum(1 for c in run.configs if c.get("selected"))
    ops = ", ".join(run.ops) if run.ops else "none"
    scope = f"headline workloads ({ops}), matrix {run.policy}"
    if run.configs:
        scope += f" ({n_sel} of {n_all} configurations)"
    return scope


def machine_section(d):
    best = d.best or (d.runs[0] if d.runs else None)
    m = best.machine if best else {}
    pm = (d.peers or {}).get("machine", {})
    gib = m.get("memory_kib", 0) / (1024 * 1024)
    caches = ", ".join(m.get("caches", [])) or "unknown"
    avx512 = m.get("cpu_avx512") or {}
    flags = (f"AVX2 {'yes' if m.get('cpu_avx2') else 'no'}, FMA {'yes' if m.get('cpu_fma') else 'no'}, AVX-512 "
             + (", ".join(f"{k[6:].upper()} {'yes' if v else 'no'}" for k, v in avx512.items()) or "unknown"))
    rows = [
        ["CPU", f"{m.get('cpu', 'unknown')}; {m.get('logical_cpus')} logical CPUs, {m.get('cores')} cores; {flags}"],
        ["Caches (cpu0)", caches],
        ["Memory", f"{gib:.1f} GiB"],
        ["OS", f"{m.get('os', 'unknown')}; {m.get('kernel', 'unknown')}"],
        ["Compiler", f"{m.get('compiler', 'unknown')}; CMake build type {m.get('build_type')}, "
                     f"flags `{m.get('c_flags')}`"],
        ["libfocal", f"{m.get('libfocal_version')} (header {m.get('header_version')}); kernel tables measured: "
                     + (", ".join(f"`{r.isa}`" for r in d.runs if r.valid) or "none")
                     + (f"; best `{d.best.isa}`" if d.best else "")],
        ["1.0 release", "not measured: " + (d.v1_missing or "no data") if not d.v1 else
         f"{d.v1.get('machine', {}).get('libfocal_version')} built from the git tag, its own focal_bench; "
         f"kernel path `{d.v1_isa()}`"],
        ["PyTorch", "not measured" if not d.peers else
         f"torch {pm.get('torch')}, torchvision {pm.get('torchvision')}, Python {pm.get('python')}"],
    ]
    loads = [f"{r.isa}: {r.machine.get('loadavg_start')} to {r.machine.get('loadavg_end')}" for r in d.runs]
    if d.v1:
        vm = d.v1.get("machine", {})
        loads.append(f"1.0: {vm.get('loadavg_start')} to {vm.get('loadavg_end')}")
    if d.peers:
        loads.append(f"peers.py: {pm.get('loadavg_start')} to {pm.get('loadavg_end')}")
    rows.append(["Load average (1/5/15 min)", "; ".join(loads)])
    dates = [f"{r.doc.get('date')} ({r.isa})" for r in d.runs]
    rows.append(["Date", ", ".join(dates)])
    return table(["", ""], rows)


def busy_warning(d):
    cpus = (d.best.machine if d.best else {}).get("logical_cpus") or 1
    loads = []
    docs = [r.doc.get("machine", {}) for r in d.runs]
    if d.v1:
        docs.append(d.v1.get("machine", {}))
    if d.peers:
        docs.append(d.peers.get("machine", {}))
    for m in docs:
        for key in ("loadavg_start", "loadavg_end"):
            try:
                loads.append(float(str(m.get(key, "")).split()[0]))
            except (ValueError, IndexError):
                pass
    worst = max(loads, default=0.0)
    if worst > 0.5 * cpus:
        return (f"> **The machine was busy during this run** (1-minute load average up to {worst:.2f} on "
                f"{cpus} logical CPUs): other processes competed for the cores, so times are longer and "
                f"noisier than on an idle machine, for libfocal, 1.0 and PyTorch alike.\n")
    return ""


def v1_section(d):
    best = d.best
    rows = []
    for w in V1_WORKLOADS:
        per_call = w == "small"
        key = "ns_per_call" if per_call else "median_ms"
        for th in d.threads:
            new = best.lib(w, "f32", "fused", th) if best else None
            old = d.v1_timing(w, "f32", "fused", th)
            peer = d.peer(w, HEADLINE_PEER[w], "fwd_bwd", th)
            rows.append([
                w, th, time_text(old, per_call), time_text(new, per_call),
                "-" if new is None or old is None else f"{new[key] / old[key]:.2f}x",
                time_text(peer, per_call),
                "-" if peer is None or old is None else f"{sig(peer[key] / old[key])}x",
                "-" if peer is None or new is None else f"{sig(peer[key] / new[key])}x",
            ])
    head = [f"1.0 (`{d.v1_isa()}`)" if d.v1 else "1.0",
            f"this build (`{best.isa}`)" if best else "this build"]
    text = table(["workload", "threads", head[0], head[1], "this / 1.0", "PyTorch fwd+bwd",
                  "1.0 speed-up", "this build's speed-up"], rows)
    if not d.v1:
        text = f"**1.0: NOT MEASURED** ({d.v1_missing or 'no data'}).\n\n" + text
    return text


def comparison_section(d):
    best = d.best
    rows = []
    for w, impls in PEER_COMPARISONS:
        per_call = w == "small"
        key = "ns_per_call" if per_call else "median_ms"
        for th in d.threads:
            for impl in impls:
                lib = best.lib(w, "f32", "fused", th) if best else None
                peer = d.peer(w, impl, "fwd_bwd", th)
                if lib is None and peer is None:
                    continue
                rows.append([w, th, time_text(lib, per_call), PEER_NAMES[impl], time_text(peer, per_call),
                             "-" if lib is None or peer is None else f"{sig(peer[key] / lib[key])}x"])
    return table(["workload", "threads", "libfocal fused f32", "peer (forward+backward)", "peer",
                  "speed-up (peer / libfocal)"], rows)


def bandwidth_section(run):
    rows = []
    for name in ("cls", "seg", "det"):
        for th in run.threads:
            b = run.bandwidth_share(name, th)
            s = run.streaming(name, th)
            if b is None or s is None:
                continue
            floor = FLOOR_BANDWIDTH_PERCENT.get(name)
            rows.append([name, th, sig(b["bytes"] / 1e6), sig(b["fused_ms"]), sig(b["gbs"]),
                         f"{sig(s['scale_gbs_best'])} / {sig(s['memcpy_gbs_best'])}", sig(b["limit_gbs"]),
                         f"{sig(b['percent'])} %", f">= {floor:g} %" if floor else "-"])
    return table(["workload", "threads", "bytes moved (MB)", "fused f32 (ms)", "libfocal (GB/s)",
                  "streaming scale / memcpy (GB/s)", "limit (GB/s)", "share of limit", "floor"], rows)


def exp_section(run):
    rows = [[e["isa"], e["threads"], sig(e["gexp_per_s"]), f"{e['max_rel_error']:.1e}"]
            for e in run.doc.get("exp", [])]
    text = table(["exp kernel (compiled for)", "threads", "Gexp/s", "max relative error"], rows)
    notes = []
    for th in run.threads:
        best = max((e["gexp_per_s"] for e in run.doc.get("exp", []) if e["threads"] == th), default=None)
        for name in ("cls", "seg"):
            t = run.lib(name, "f32", "fused", th)
            if best and t:
                notes.append(f"{name}, {plural(th, 'thread')}: libfocal's fused f32 runs "
                             f"{sig(t['melem_per_s'] / 1e3)} G elements/s, "
                             f"{sig(100 * t['melem_per_s'] / 1e3 / best)} % of the best exp rate")
    if notes:
        text += "\n\n" + "\n".join(f"- {n}" for n in notes)
    return text


def small_section(d, run):
    rows = []
    for dtype in ("f32", "f64"):
        for th in run.threads:
            cells = [dtype, th]
            for op in ("forward", "backward", "fused"):
                t = run.lib("small", dtype, op, th)
                cells.append("-" if t is None else sig(t["ns_per_call"]))
            cells.append(f"<= {FLOOR_SMALL_NS[dtype]:g}")
            rows.append(cells)
    text = table(["dtype", "threads", "forward (ns/call)", "backward (ns/call)", "fused (ns/call)",
                  "fused floor (ns)"], rows)
    peer_rows = []
    for impl in ("composed", "cross_entropy"):
        for th in run.threads:
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
    for run in d.runs:
        if not run.valid:
            continue
        for m in run.doc.get("memory", []):
            rows.append([f"`{run.isa}`", m["workload"], m["dtype"], f"{m['extra_kib']:,}", f"{m['buffers_kib']:,}",
                         f"{m['rss_before_kib']:,}", f"{m['hwm_after_kib']:,}",
                         "yes" if m.get("peak_reset") else "no (upper bound)"])
    text = table(["table", "workload", "dtype", "beyond inputs and outputs (KiB)", "benchmark's buffers (KiB)",
                  "resident before the calls (KiB)", "peak during the calls (KiB)", "peak mark reset"], rows)
    worst_rows = []
    for run in d.runs:
        for s in run.shapes:
            entries = [m for m in run.doc.get("matrix", []) if m["shape"] == s["name"] and m.get("extra_kib") is not None]
            if entries:
                top = max(entries, key=lambda m: m["extra_kib"])
                worst_rows.append([f"`{run.isa}`", s["name"], f"{top['extra_kib']:,}",
                                   f"{top['config']} {top['dtype']}, {plural(top['threads'], 'thread')}"])
    if worst_rows:
        text += ("\n\nThe matrix's configurations, measured the same way for each configuration alone "
                 "(information; the floor is on the headline workloads):\n\n"
                 + table(["table", "shape", "worst beyond inputs and outputs (KiB)", "configuration"], worst_rows))
    return text


def matrix_section(run, shape):
    rows = []
    for c, th in run.matrix_rows(shape["name"]):
        cells = [f"`{c['name']}`" + ("" if th == run.matrix_threads else f" ({th} threads)"), c["what"]]
        results = []
        errors = []
        extra = None
        for dtype in ("f32", "f64"):
            e = run.entry(shape["name"], c["name"], dtype, th)
            t = run.time(shape["name"], c["name"], dtype, th)
            r = run.ratio(shape["name"], c["name"], dtype, th)
            cells += ["-" if t is None else sig(t), ratio_text(r)]
            if e is not None and e.get("error"):
                errors.append(f"{dtype}: {e['error']}")
            if e is not None and e.get("extra_kib") is not None:
                extra = max(extra or 0, e["extra_kib"])
            if (dtype == "f32" and c["name"] == "base") or (dtype != "f32" and c["name"] in HALF_ROWS):
                continue
            limit = FLOOR_MATRIX_RATIO[dtype]
            results.append((dtype, None if r is None else r <= limit))
        cells.append("-" if extra is None else f"{extra:,}")
        fails = [dt for dt, ok in results if ok is False]
        unmeasured = [dt for dt, ok in results if ok is None]
        if fails:
            res = "**FAIL** (" + ", ".join(fails) + ")"
        elif unmeasured:
            res = "NOT MEASURED (" + ", ".join(unmeasured) + ")"
        else:
            res = "PASS"
        if errors:
            res += "; " + "; ".join(f"`{e}`" for e in errors)
        cells.append(res)
        rows.append(cells)
    text = (f"**{shape['name']}**: {shape['problem']}; base: {shape['base']}. Threads: "
            f"{run.matrix_threads} (the base also at {', '.join(str(t) for t in run.threads if t != run.matrix_threads) or '-'}).\n\n")
    text += table(["configuration", "changes", "f32 (ms)", "f32 / base f32", "f64 (ms)", "f64 / base f32",
                   "memory (KiB)", f"floor (f32 <= {FLOOR_MATRIX_RATIO['f32']:g}x, f64 <= {FLOOR_MATRIX_RATIO['f64']:g}x)"],
                  rows)
    skipped = [c["name"] for c in run.shape_configs(shape["name"]) if not c.get("selected")]
    if skipped:
        text += ("\n\nNot run on this table (" + ("reduced matrix" if run.policy == "reduced" else
                                                   f"matrix {run.policy}") + "): "
                 + ", ".join(f"`{n}`" for n in skipped) + ".")
    return text


def libfocal_table(run):
    rows = []
    for name, w in run.workloads.items():
        per_call = w.get("per_call")
        for dtype in ("f32", "f64"):
            for th in run.threads:
                cells = [name, dtype, th]
                any_timing = False
                for op in ("forward", "backward", "fused"):
                    t = run.lib(name, dtype, op, th)
                    if t is None:
                        cells += ["-", "-"]
                        continue
                    any_timing = True
                    cells += [f"{time_text(t, per_call)} ({t['runs']})", sig(t["melem_per_s"])]
                if any_timing:
                    rows.append(cells)
    return table(["workload", "dtype", "threads", "forward (runs)", "Melem/s", "backward (runs)", "Melem/s",
                  "fused (runs)", "Melem/s"], rows)


def table_section(d, name):
    run = d.run_for(name)
    probe = {t["name"]: t for t in (d.tables or {}).get("tables", [])}.get(name)
    parts = [f"## Table `{name}`", ""]
    if run is None or not run.valid:
        if run is not None:
            reason = run.error or "focal_isa() did not name this table"
        elif probe is not None and probe["status"] != "run":
            reason = probe["reason"]
        elif probe is not None:
            reason = "not selected in this run (run.sh --tables)"
        else:
            reason = "no data"
        parts += [f"**Not measured**: {reason}.", ""]
        return parts
    m = run.machine
    parts += [
        f"focal_bench ran with FOCAL_MAX_ISA={run.requested or '(unset)'}; `focal_isa()` said `{run.isa}`. "
        f"Headline operations timed: {', '.join(run.ops) or 'none'}; matrix: {run.policy}"
        + (" (the reduced matrix: the rows marked reduced in bench/matrix.c, to keep the run short on this "
           "slow table)" if run.policy == "reduced" else "")
        + f". Load average {m.get('loadavg_start')} at the start, {m.get('loadavg_end')} at the end."
        + (" Quick run." if run.quick else ""), "",
    ]
    if run.error:
        parts += [f"> focal_bench reported an error: `{run.error}`", ""]
    if run.shapes:
        parts += ["### Configuration matrix", "",
                  "Fused forward+backward, median time; each ratio is to the same shape's base configuration in "
                  "float32 at the same thread count, measured in the same run.", ""]
        for s in run.shapes:
            parts += [matrix_section(run, s), ""]
    parts += ["### Headline workloads", "", libfocal_table(run), ""]
    if run is not d.best:
        bw = bandwidth_section(run)
        if bw.count("\n") > 1:
            parts += ["### Share of the machine's memory bandwidth", "", bw, ""]
    return parts


def workloads_section(d):
    run = d.best or (d.runs[0] if d.runs else None)
    rows = [[w["name"], w["description"], f"{w['elements']:,}"] for w in (run.doc.get("workloads", []) if run else [])]
    return table(["workload", "problem", "elements"], rows)


def analysis_section():
    """bench/analysis.md: the instruction counts of bench/profile.sh and what they say."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return "(bench/analysis.md is missing.)"


def render(d, command, elapsed_s, figure=None):
    fl = floors(d)
    quick = any(r.quick for r in d.runs) or (d.peers or {}).get("quick")
    best = d.best
    parts = [
        "# Performance",
        "",
        f"Generated by `{command}` from the JSON written by `focal_bench` (once per kernel table), the 1.0 "
        "release's `focal_bench` and `bench/peers.py` (`bench/report.py` turns them into this page; do not edit "
        "it by hand). What each figure means and how it is measured: [bench/README.md](../bench/README.md)."
        + (f" The whole run, builds included, took {elapsed_s / 60:.1f} minutes." if elapsed_s else ""),
        "",
    ]
    if figure:
        parts += [f"![libfocal's fused float32 call against PyTorch's forward + backward, and its share of the "
                  f"machine's bandwidth limit]({figure})", ""]
    if quick:
        parts += ["> **Quick run**: few repetitions, a smoke test of the benchmark rather than a measurement.", ""]
    warning = busy_warning(d)
    if warning:
        parts += [warning]
    if best is None:
        parts += ["> **No kernel table was measured**: every floor is NOT MEASURED.", ""]
    if not d.peers:
        parts += ["> PyTorch was not measured in this run (peers.py did not run or failed): "
                  "the comparisons are marked NOT MEASURED.", ""]
    if not d.v1:
        parts += [f"> The 1.0 release was not measured: {d.v1_missing or 'no data'}. Its comparisons are "
                  "marked NOT MEASURED.", ""]
    for r in d.runs:
        if r.error:
            parts += [f"> focal_bench on table `{r.name}` reported an error: `{r.error}`", ""]

    summary = f"**{fl.passed} of {fl.total} floors pass**"
    extras = []
    if fl.failed:
        extras.append(f"{fl.failed} fail")
    if fl.unmeasured:
        extras.append(f"{fl.unmeasured} not measured")
    if extras:
        summary += " (" + ", ".join(extras) + ")"
    summary += (f"; the best kernel table measured is `{best.isa}`." if best else ".")
    parts += ["## Summary", "", summary, ""]
    if fl.failures:
        parts += ["Failing floors, with the figure:", ""]
        for text, hint in fl.failures:
            parts.append(f"- {text}" + (f". Where the time goes: {hint}" if hint else ""))
        parts += ["", "bench/README.md (\"When a floor fails\") says how to find the cause.", ""]

    parts += [
        "## Floors", "",
        "The release's targets. The matrix floors hold on every kernel table measured; bandwidth, `small` and "
        "the comparison with 1.0 on the best table; memory on every table.", "",
        table(["floor", "table", "threads", "measured", "target", "result"], fl.rows), "",
        "1.0's floors, kept as information (not counted above):", "",
        old_floors(d), "",
        "## Machine", "", machine_section(d), "",
        "## Kernel tables", "", tables_section(d), "",
        "## Workloads", "", workloads_section(d), "",
        "Logits are normal with standard deviation 2, class indices uniform (det: each element positive with "
        "probability 1 %). Times are medians of repeated calls after a warm-up; the count of runs is in "
        "brackets in the full tables. The configuration matrix (below, per table) changes one setting of "
        "each shape's base at a time.", "",
        "## This build against 1.0 and PyTorch" + (f" (table `{best.isa}`)" if best else ""), "",
        "Fused forward+backward in float32 (`small`: per call), this build on its best table and the 1.0 "
        "release (its own focal_bench, built from the git tag, on its default kernel path) in the same run; "
        "each speed-up is PyTorch's forward+backward time over the library's.", "",
        v1_section(d), "",
        "## libfocal against PyTorch" + (f" (table `{best.isa}`)" if best else ""), "",
        "libfocal's fused forward+backward in float32 against the same loss written with PyTorch "
        "(forward and `backward()` through autograd), at the same thread count "
        "(`torch.set_num_threads`). The speed-up is the peer's median time over libfocal's. The programs run "
        "one after the other, so a change in the machine's load between them shows in the ratio.", "",
        comparison_section(d), "",
    ]
    if best is not None:
        parts += [
            f"## Share of the machine's memory bandwidth (table `{best.isa}`)", "",
            "Bytes the fused call must move (read the input and the targets, write the gradient) over its "
            "median time, against the best streaming read+write rate measured in the same run over a buffer of "
            "the input's size: `y[i] = x[i] * k` (compiler-vectorised) and `memcpy`, whichever is faster.", "",
            bandwidth_section(best), "",
            f"## exp throughput (measured in the `{best.isa}` run)", "",
            "A polynomial `expf` over 4096 floats that stay in L1, compiled for the baseline instruction set "
            "and, where the CPU has them, for AVX2+FMA and AVX-512: an upper bound for any loss that takes one "
            "exp per element.", "",
            exp_section(best), "",
            f"## Small problem: time per call (table `{best.isa}`)", "",
            "Softmax (64, 10): medians over batches of back-to-back calls. Calls this small run on the "
            "calling thread whatever the thread setting.", "",
            small_section(d, best), "",
        ]
    parts += [
        "## Memory beyond inputs and outputs", "",
        "Each headline workload and precision runs in a fresh process that allocates and touches its buffers, "
        "resets the kernel's peak-RSS mark (`/proc/self/clear_refs`), then makes every timed call "
        "(all operations, all thread counts). The figure is the peak resident set during the calls "
        "minus the resident set before them: scratch, thread stacks and anything else a call touched, "
        "including the library code pages the first calls fault in (a few hundred KiB).", "",
        memory_section(d), "",
    ]
    names = sorted({*TABLES, *(r.name for r in d.runs)}, key=lambda n: -table_rank(n))
    for name in names:
        parts += table_section(d, name)
    parts += [
        "## Where the time goes", "", analysis_section(), "",
    ]
    if d.peers:
        parts += ["## All PyTorch figures", "", peers_table(d), ""]
    return "\n".join(parts)


def peers_table(d):
    rows = []
    for t in (d.peers or {}).get("timings", []):
        rows.append([t["workload"], t["dtype"], t["impl"], "forward" if t["op"] == "forward" else "forward+backward",
                     t["threads"], f"{time_text(t, t['workload'] == 'small')} ({t['runs']})", sig(t["melem_per_s"])])
    return table(["workload", "dtype", "implementation", "op", "threads", "median (runs)", "Melem/s"], rows)


def load_json(path, what, required=False):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        if required:
            sys.exit(f"report.py: cannot read {what} {path}: {e}")
        print(f"report.py: ignoring {what} {path}: {e}", file=sys.stderr)
        return None


def write_figure(d, path):
    """The performance chart: the speed-up of libfocal's fused float32 call
    over each peer's forward + backward, per workload and thread count, and the
    share of the machine's bandwidth limit it reaches (best kernel table)."""
    import matplotlib
    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "libfocal"
    best = d.best
    if best is None:
        print("report.py: no valid run, no figure", file=sys.stderr)
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4), gridspec_kw={"width_ratios": [3, 2]})
    groups = []
    for w, impls in PEER_COMPARISONS:
        key = "ns_per_call" if w == "small" else "median_ms"
        for th in d.threads:
            lib = best.lib(w, "f32", "fused", th)
            ratios = []
            for impl in impls:
                peer = d.peer(w, impl, "fwd_bwd", th)
                ratios.append(None if lib is None or peer is None else peer[key] / lib[key])
            if any(r is not None for r in ratios):
                groups.append((f"{w}\n{th} thread{'s' if th > 1 else ''}", ratios))
    width = 0.38
    labels = ("PyTorch composed focal loss / torchvision sigmoid_focal_loss",
              "cross_entropy / binary_cross_entropy_with_logits (gamma = 0)")
    for k in range(2):
        xs = [i + (k - 0.5) * width for i in range(len(groups))]
        ys = [g[1][k] or 0.0 for g in groups]
        bars = left.bar(xs, ys, width, label=labels[k])
        for b, y in zip(bars, ys):
            if y:
                left.annotate(f"{y:.1f}x", (b.get_x() + b.get_width() / 2, y), ha="center", va="bottom",
                              fontsize=7, xytext=(0, 2), textcoords="offset points")
    left.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
    left.set_yscale("log")
    left.set_ylim(top=4 * max([y for g in groups for y in g[1] if y] or [1.0]))
    left.axhline(1.0, color="black", linewidth=0.8)
    left.set_ylabel("speed-up: peer time / libfocal time (log)")
    left.set_title("libfocal fused float32 against PyTorch forward + backward", fontsize=10)
    left.legend(fontsize=7, frameon=False, loc="upper left")
    left.grid(True, axis="y", color="0.88")

    rows = []
    for w in ("cls", "seg", "det"):
        for th in best.threads:
            b = best.bandwidth_share(w, th)
            if b is not None:
                rows.append((f"{w}\n{th} thread{'s' if th > 1 else ''}", b["percent"], FLOOR_BANDWIDTH_PERCENT.get(w)))
    xs = range(len(rows))
    right.bar(xs, [r[1] for r in rows], 0.6, color="tab:green")
    for x, r in zip(xs, rows):
        right.annotate(f"{r[1]:.0f} %", (x, r[1]), ha="center", va="bottom", fontsize=7,
                       xytext=(0, 2), textcoords="offset points")
        if r[2]:
            right.plot([x - 0.35, x + 0.35], [r[2], r[2]], color="black", linestyle="--", linewidth=1)
    right.set_xticks(list(xs), [r[0] for r in rows], fontsize=8)
    right.set_ylim(0, 105)
    right.set_ylabel("share of the bandwidth limit (%)")
    right.set_title("fused float32, table %s (dashed: floor)" % best.name, fontsize=10)
    right.grid(True, axis="y", color="0.88")
    cpu = best.machine.get("cpu", "")
    fig.suptitle(f"bench/run.sh on {cpu}".strip(), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None, "Creator": "bench/report.py"})
    print(f"report.py: wrote {path}")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--focal", required=True, nargs="+", help="focal_bench --json output, one per kernel table")
    ap.add_argument("--tables", help="focal_bench --tables --json output")
    ap.add_argument("--v1", help="the 1.0 release's focal_bench --json output")
    ap.add_argument("--v1-missing", help="why the 1.0 release was not measured")
    ap.add_argument("--peers", help="peers.py --json output (optional)")
    ap.add_argument("--out", required=True, help="the markdown file to write")
    ap.add_argument("--command", default="bash bench/run.sh", help="the command named in the page")
    ap.add_argument("--elapsed", type=float, help="seconds the whole run took, for the page")
    ap.add_argument("--figure", help="also draw the performance chart into this SVG file (needs matplotlib)")
    args = ap.parse_args()
    runs = []
    for path in args.focal:
        doc = load_json(path, "focal_bench results", required=len(args.focal) == 1)
        if doc is not None:
            runs.append(Run(doc, path))
    tables = load_json(args.tables, "table probe") if args.tables else None
    v1 = load_json(args.v1, "1.0 results") if args.v1 else None
    v1_missing = args.v1_missing or (None if v1 else "no 1.0 results were given")
    peers = load_json(args.peers, "peers.py results") if args.peers else None
    d = Data(runs, tables, v1, v1_missing, peers)
    # The chart first, so that the page links it only once it exists.
    figure = None
    if args.figure and write_figure(d, args.figure):
        figure = os.path.relpath(args.figure, os.path.dirname(os.path.abspath(args.out)) or ".")
    text = render(d, args.command, args.elapsed, figure)
    with open(args.out, "w") as f:
        f.write(text)
    fl = floors(d)
    print(f"report.py: wrote {args.out}: {fl.passed} of {fl.total} floors pass, {fl.failed} fail, "
          f"{fl.unmeasured} not measured")


if __name__ == "__main__":
    main()
