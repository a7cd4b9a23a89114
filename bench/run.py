#!/usr/bin/env python3
"""bench/run.py -- drives the C benchmarks of issue 4 and writes docs/BENCHMARKS.md.

    run.py --bin build/bench --stage build/stage-bench --smoke
        every workload x implementation at tiny counts, correctness only
        (plus: swiftpoll and raw epoll must not allocate on the hot path);
        prints "N passed, M failed" and exits 1 on any failure.

    run.py --bin ... --stage ... [--quick] [--rounds 5] --doc docs/BENCHMARKS.md --charts docs
        the benchmark: every (implementation, workload) pair --rounds times,
        interleaved with the order of implementations rotated each round;
        median / min / max per pair, and the median of the per-round ratio to
        raw epoll (speed: epoll time / implementation time, so > 1 is faster).
        Then the idle sweep, timeouts, heap allocations per hot call
        (LD_PRELOAD counter), callgrind instructions per call, .so size and
        dlopen time.  Raw results go to bench/results/ (not committed).

The programs are built by `make bench-bin` (mk/bench.mk); this script only runs
them and never builds anything.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

ALL_IMPLS = ["epoll", "swiftpoll", "cabi", "mio", "polling", "libuv", "libevent", "poll", "swiftpoll-poll"]
IMPLS = list(ALL_IMPLS)     # the ones available in this run (set by select_impls)
SKIPPED = {}                # impl -> why it did not run
LABELS = {"epoll": "raw epoll", "swiftpoll": "swiftpoll", "cabi": "C build of the ABI (reference)",
          "mio": "mio 0.8 (Rust)", "polling": "smol-rs/polling 2 (Rust)",
          "libuv": "libuv", "libevent": "libevent", "poll": "raw poll(2)",
          "swiftpoll-poll": "swiftpoll over poll(2)"}
# swiftpoll over poll(2) is the bench-swiftpoll program with the library's
# backend chosen through the environment; the program prints backend=NAME
# and a run that did not get the backend it asked for is a failure.
PROG = {"swiftpoll-poll": "swiftpoll"}
ENV = {"swiftpoll-poll": {"SWIFTPOLL_BACKEND": "poll"}}
EXPECT_BACKEND = {"swiftpoll": "epoll", "swiftpoll-poll": "poll", "poll": "poll", "epoll": "epoll"}
# ratio base: raw poll(2) for swiftpoll's poll(2) backend, raw epoll for the rest
BASE = {"swiftpoll-poll": "poll"}
POLL_IMPLS = ("poll", "swiftpoll-poll")
# the callgrind programs: cost-* (bench/src/cost.c) for the C ones, the `cost`
# mode of the Rust programs (the same sequence, bench/rust/src/lib.rs)
COST_PROG = {"epoll": "epoll", "swiftpoll": "swiftpoll", "cabi": "cabi", "libuv": "libuv",
             "libevent": "libevent", "poll": "poll", "swiftpoll-poll": "swiftpoll",
             "mio": "mio", "polling": "polling"}


def cost_argv(bindir, impl, n):
    if impl in ("mio", "polling"):
        return [os.path.join(bindir, "bench-" + impl), "cost", str(n)]
    return [os.path.join(bindir, "cost-" + COST_PROG[impl]), str(n)]
# the library's epoll-path figures before the backends (0.1.0, docs/BENCHMARKS.md
# of commit a6e083e); issue 8: no more than these + 5 after the backend change
PREV_SWIFTPOLL_COST = {"op_wait": 101.1, "op_register": 81.0, "op_deregister": 37.0, "op_wake": 50.1}
WORKLOADS = ["ring", "burst", "idle", "churn", "waker"]
ALL_WORKLOADS = WORKLOADS + ["timeouts"]
IDLE_SWEEP = [0, 1000, 10000, 100000]
TARGETS = {"ring": 0.98, "burst": 1.0, "idle": 0.98, "churn": 0.98, "waker": 0.98}
POLL_TARGETS = {"ring": 0.95, "burst": 0.95}   # swiftpoll-poll vs raw poll(2), issue 8
UNITS = {
    "ring": "ns per hop (wait + read + write)",
    "burst": "ns per event (4,096 pipes, capacity 1,024)",
    "idle": "ns per hop, 2-pipe ring beside the idle eventfds",
    "churn": "ns per register + deregister",
    "waker": "ns per round trip (wake, wait, wake back, wait)",
}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def base_of(impl):
    return BASE.get(impl, "epoll")


def select_impls(args):
    """Drops the implementations that cannot run here, with the reason."""
    SKIPPED.clear()
    header = os.path.join(args.stage, "include", "swiftpoll.h")
    try:
        with open(header) as f:
            has_poll = "SWIFTPOLL_BACKEND_POLL" in f.read()
    except OSError:
        has_poll = False
    for impl in ALL_IMPLS:
        prog = os.path.join(args.bin, "bench-" + PROG.get(impl, impl))
        if not os.access(prog, os.X_OK):
            SKIPPED[impl] = ("`%s` not built (mk/bench.mk builds it with cargo from Debian's librust-mio-dev / "
                             "librust-polling-dev: `make deps`)" % os.path.relpath(prog, ROOT)
                             if impl in ("mio", "polling") else "`%s` not built" % prog)
        elif impl == "swiftpoll-poll" and not has_poll:
            SKIPPED[impl] = ("the library under test has no poll(2) backend yet (its swiftpoll.h has no "
                             "SWIFTPOLL_BACKEND_POLL / swiftpoll_poll_new_backend, issue 8)")
    IMPLS[:] = [i for i in ALL_IMPLS if i not in SKIPPED]


def nofile_hard():
    import resource
    h = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 10 ** 9 if h == resource.RLIM_INFINITY else h


def idle_count_args(impl, n, scale):
    """poll(2) costs ~150 ns per registered eventfd per wait (it is O(n)):
    the poll rows of `idle` get fewer hops, about a second's worth at scale 1
    (ns per hop stays the figure, so ratios stay comparable)."""
    if impl not in POLL_IMPLS:
        return []
    if n is None:
        n = min(100000, nofile_hard() - 128)
    hops = int(max(100, min(200000 * scale, 5e6 * scale / max(n, 1))))
    return ["--count", str(hops)]


def parse_line(out, prefix="BENCH"):
    for line in out.splitlines():
        if line.startswith(prefix + " "):
            d = {}
            for kv in line.split()[1:]:
                k, _, v = kv.partition("=")
                try:
                    d[k] = int(v)
                except ValueError:
                    try:
                        d[k] = float(v)
                    except ValueError:
                        d[k] = v
            return d
    return None


class Runner:
    def __init__(self, bindir, timeout=300):
        self.bindir = bindir
        self.timeout = timeout

    def run(self, impl, workload, args=(), env_extra=None):
        prog = PROG.get(impl, impl)
        cmd = [os.path.join(self.bindir, "bench-" + prog), workload] + list(args)
        env = dict(os.environ)
        env.pop("SWIFTPOLL_BACKEND", None)
        env.update(ENV.get(impl, {}))
        if env_extra:
            env.update(env_extra)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout, env=env,
                               preexec_fn=self._nice)
        except subprocess.TimeoutExpired:
            return None, "timed out after %ds: %s" % (self.timeout, " ".join(cmd))
        if p.returncode != 0:
            return None, "exit %d: %s\n%s%s" % (p.returncode, " ".join(cmd), p.stdout, p.stderr)
        d = parse_line(p.stdout)
        envs = " ".join("%s=%s" % kv for kv in ENV.get(impl, {}).items())
        if d is None or d.get("impl") != prog or d.get("workload") != workload or d.get("ops", 0) <= 0:
            return None, "no valid BENCH line from %s %s:\n%s%s" % (envs, " ".join(cmd), p.stdout, p.stderr)
        want = EXPECT_BACKEND.get(impl)
        if want and d.get("backend") != want:
            return None, "%s %s ran over backend %s, expected %s" % (envs, " ".join(cmd), d.get("backend"), want)
        return d, None

    @staticmethod
    def _nice():
        # Every implementation runs at the same raised priority where allowed, so
        # that other work on a shared machine disturbs the runs less.
        try:
            os.nice(-10)
        except OSError:
            pass

    def alloc_env(self):
        return {"LD_PRELOAD": os.path.join(self.bindir, "alloccount.so")}


# --------------------------------------------------------------------------
# smoke test (make test-bench)
# --------------------------------------------------------------------------
def smoke(args):
    r = Runner(args.bin, timeout=60)
    passed = failed = 0
    t0 = time.time()

    def result(name, err):
        nonlocal passed, failed
        if err:
            failed += 1
            print("FAIL %s: %s" % (name, err.strip()))
        else:
            passed += 1
            print("ok   %s" % name)

    select_impls(args)
    for impl in ALL_IMPLS:
        if impl in SKIPPED:
            print("skip %s: %s" % (impl, SKIPPED[impl]))
    for impl in IMPLS:
        for w in ALL_WORKLOADS:
            # no heap allocation in the hot loop: swiftpoll (both backends) and the raw limits
            strict = impl in ("epoll", "swiftpoll", "cabi", "poll", "swiftpoll-poll")
            extra = ["--scale", "0.01", "--idle", "1000"]
            if strict:
                extra.append("--strict-allocs")
            d, err = r.run(impl, w, extra, r.alloc_env() if strict else None)
            if not err and strict and d.get("allocs") != 0:
                err = "allocs=%s (the counter was not preloaded?)" % d.get("allocs")
            if not err and w == "timeouts":
                # mio 0.8 truncates timeouts to milliseconds (a 50 us wait returns at once): not checked
                for t in ("t50us", "t1ms", "t1500us"):
                    if d["%s_min" % t] < d["%s_req" % t] and impl != "mio":
                        err = "%s: a wait returned early (%d ns < %d ns)" % (t, d["%s_min" % t], d["%s_req" % t])
            result("%s %s%s" % (impl, w, " (no heap allocation)" if strict else ""), err)
        # the callgrind program and dlopen timer run (without valgrind here)
        if impl in COST_PROG:
            env = dict(os.environ)
            env.pop("SWIFTPOLL_BACKEND", None)
            env.update(ENV.get(impl, {}))
            p = subprocess.run(cost_argv(args.bin, impl, 200), capture_output=True, text=True, timeout=60, env=env)
            result("%s cost program" % impl,
                   None if p.returncode == 0 and "COST ok" in p.stdout else "exit %d %s%s" % (p.returncode, p.stdout, p.stderr))
    lib = swiftpoll_lib(args.stage)
    p = subprocess.run([os.path.join(args.bin, "dlopen_time"), lib or "missing", "swiftpoll_poll_wait"],
                       capture_output=True, text=True, timeout=60)
    result("dlopen libswiftpoll", None if p.returncode == 0 and "DLOPEN" in p.stdout else p.stdout + p.stderr)
    print("bench smoke: %.1f s" % (time.time() - t0))
    if SKIPPED:
        print("skipped (see above): %s" % ", ".join(SKIPPED))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def swiftpoll_lib(stage):
    d = os.path.join(stage, "lib")
    if not os.path.isdir(d):
        return None
    # the newest version staged (an older one may be left in the stage)
    found = [f for f in os.listdir(d) if re.match(r"libswiftpoll\.so\.\d+\.\d+\.\d+$", f)]
    found.sort(key=lambda f: [int(x) for x in f.split(".so.")[1].split(".")])
    return os.path.join(d, found[-1]) if found else None


# --------------------------------------------------------------------------
# the benchmark
# --------------------------------------------------------------------------
def med(xs):
    return statistics.median(xs) if xs else float("nan")


def run_rounds(r, args, scale, log):
    """results[w][impl] = list of per-round dicts (None where a run failed)."""
    results = {w: {i: [] for i in IMPLS} for w in ALL_WORKLOADS}
    errors = []
    for rnd in range(args.rounds):
        order = IMPLS[rnd % len(IMPLS):] + IMPLS[:rnd % len(IMPLS)]
        for w in ALL_WORKLOADS:
            for impl in order:
                extra = idle_count_args(impl, None, scale) if w == "idle" else []
                d, err = r.run(impl, w, ["--scale", str(scale)] + extra)
                if err:
                    errors.append(err)
                    log("  FAIL %s" % err.splitlines()[0])
                results[w][impl].append(d)
        LOADS.append((time.time(), os.getloadavg()[0]))
        log("round %d/%d done (order %s), load %.1f" % (rnd + 1, args.rounds, " ".join(order), LOADS[-1][1]))
    return results, errors


def summarise(results):
    summary = {}
    for w in WORKLOADS:
        summary[w] = {}
        for impl in IMPLS:
            base = results[w][base_of(impl)]
            runs = results[w][impl]
            vals = [d["ns_per_op"] for d in runs if d]
            ratios = [b["ns_per_op"] / d["ns_per_op"] for b, d in zip(base, runs) if b and d]
            cpu = [d["cpu_ns_per_op"] for d in runs if d]
            cpu_ratios = [b["cpu_ns_per_op"] / d["cpu_ns_per_op"] for b, d in zip(base, runs)
                          if b and d and d["cpu_ns_per_op"] > 0]
            summary[w][impl] = {
                "median": med(vals), "min": min(vals) if vals else float("nan"),
                "max": max(vals) if vals else float("nan"),
                "ratio": med(ratios), "ratio_min": min(ratios) if ratios else float("nan"),
                "ratio_max": max(ratios) if ratios else float("nan"),
                "cpu": med(cpu), "cpu_ratio": med(cpu_ratios),
                "cpu_ratio_min": min(cpu_ratios) if cpu_ratios else float("nan"),
                "cpu_ratio_max": max(cpu_ratios) if cpu_ratios else float("nan"),
                "n": len(vals), "ops": runs[0]["ops"] if runs and runs[0] else 0,
                "extra": runs[0] if runs and runs[0] else {},
            }
    return summary


def idle_sweep(r, args, scale, log):
    out = {i: {} for i in IMPLS}
    cpu = {i: {} for i in IMPLS}
    reg = {i: {} for i in IMPLS}
    errors = []
    rounds = max(3, args.rounds // 2 + 1)
    for rnd in range(rounds):
        order = IMPLS[rnd % len(IMPLS):] + IMPLS[:rnd % len(IMPLS)]
        for n in IDLE_SWEEP:
            for impl in order:
                d, err = r.run(impl, "idle", ["--scale", str(scale), "--idle", str(n)]
                               + idle_count_args(impl, n, scale))
                if err:
                    errors.append(err)
                    continue
                out[impl].setdefault(d["idle"], []).append(d["ns_per_op"])
                cpu[impl].setdefault(d["idle"], []).append(d["cpu_ns_per_op"])
                if d["idle"]:
                    reg[impl].setdefault(d["idle"], []).append(d["reg_ns_per_fd"])
    log("idle sweep done")
    return ({i: {n: med(v) for n, v in out[i].items()} for i in IMPLS},
            {i: {n: med(v) for n, v in cpu[i].items()} for i in IMPLS},
            {i: {n: med(v) for n, v in reg[i].items()} for i in IMPLS}, errors)


def timeouts_summary(results):
    s = {}
    for impl in IMPLS:
        runs = [d for d in results["timeouts"][impl] if d]
        s[impl] = {}
        for t in ("t50us", "t1ms", "t1500us"):
            if not runs:
                continue
            s[impl][t] = {
                "req": runs[0]["%s_req" % t],
                "med": med([d["%s_med" % t] for d in runs]),
                "min": min(d["%s_min" % t] for d in runs),
                "max": max(d["%s_max" % t] for d in runs),
                "early": sum(d["%s_early" % t] for d in runs),
                "waits": sum(d["ops"] // 3 for d in runs),
                "cpu_ns": med([d["%s_cpu_ns" % t] for d in runs]),
                "cpu_pct": med([d["%s_cpu_pct" % t] for d in runs]),
            }
    return s


def alloc_pass(r, log):
    """Heap allocations in the timed (hot) section of each workload."""
    out = {i: {} for i in IMPLS}
    for impl in IMPLS:
        for w in ALL_WORKLOADS:
            d, err = r.run(impl, w, ["--scale", "0.05", "--idle", "10000"]
                           + (idle_count_args(impl, 10000, 0.05) if w == "idle" else []), r.alloc_env())
            out[impl][w] = (d["allocs"], d["ops"]) if d else None
    log("allocation counts done")
    return out


CALLGRIND_OPS = {"op_wait": "wait (1 event)", "op_register": "register", "op_deregister": "deregister",
                 "op_wake": "wake"}


def callgrind_pass(args, n, log):
    out = {}
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        log("valgrind not found: no instruction counts")
        return None
    os.makedirs(args.results, exist_ok=True)
    for impl in IMPLS:
        if impl not in COST_PROG:
            continue
        cg = os.path.join(args.results, "callgrind.%s.out" % impl)
        env = dict(os.environ)
        env.pop("SWIFTPOLL_BACKEND", None)
        env.update(ENV.get(impl, {}))
        p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg]
                           + cost_argv(args.bin, impl, n),
                           capture_output=True, text=True, timeout=600, env=env)
        if p.returncode != 0:
            log("callgrind %s failed: %s" % (impl, p.stderr[-500:]))
            continue
        a = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", cg],
                           capture_output=True, text=True, timeout=120).stdout
        with open(cg + ".annotated.txt", "w") as f:
            f.write(a)
        out[impl] = {}
        for fn in CALLGRIND_OPS:
            m = re.search(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?\S*:" + fn + r"\b", a, re.M)
            if m:
                out[impl][fn] = int(m.group(1).replace(",", "")) / n
    log("callgrind done")
    return out


def dlopen_pass(args, log, runs=40):
    libs = {"swiftpoll": swiftpoll_lib(args.stage)}
    for name, soname, sym in (("libuv", "libuv.so.1", "uv_run"),
                              ("libevent_core", "libevent_core-2.1.so.7", "event_base_loop"),
                              ("libevent", "libevent-2.1.so.7", "event_base_loop")):
        path = os.path.join("/usr/lib/x86_64-linux-gnu", soname)
        libs[name] = path if os.path.exists(path) else None
    syms = {"swiftpoll": "swiftpoll_poll_wait", "libuv": "uv_run", "libevent_core": "event_base_loop",
            "libevent": "event_base_loop"}
    out = {}
    for name, path in libs.items():
        if not path:
            continue
        real = os.path.realpath(path)
        times = []
        for _ in range(runs):
            p = subprocess.run([os.path.join(args.bin, "dlopen_time"), path, syms[name]],
                               capture_output=True, text=True, timeout=30)
            d = parse_line(p.stdout, "DLOPEN")
            if d:
                times.append(d["ns"])
        deps = subprocess.run(["ldd", real], capture_output=True, text=True).stdout
        ndeps = len([l for l in deps.splitlines() if "=>" in l])
        exported = subprocess.run(["nm", "-D", "--defined-only", real], capture_output=True, text=True).stdout
        out[name] = {"path": real, "size": os.path.getsize(real), "dlopen_ns": med(times),
                     "dlopen_min": min(times) if times else float("nan"), "deps": ndeps,
                     "exports": len([l for l in exported.splitlines() if " T " in l])}
    log("dlopen and size done")
    return out


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60).stdout.strip()
    except Exception:
        return ""


def rust_versions():
    pkgs = []
    for pkg in ("mio", "polling"):
        d = sorted(x for x in os.listdir("/usr/share/cargo/registry") if re.match(pkg + r"-\d", x)) \
            if os.path.isdir("/usr/share/cargo/registry") else []
        pkgs.append(d[-1] if d else pkg + " n/a")
    rustc = sh("/usr/bin/rustc --version") or sh("rustc --version")
    return "%s, %s (Debian's crate sources)" % (rustc or "rustc n/a", ", ".join(pkgs))


LOADS = []   # (seconds since start, 1-minute load average), sampled during the run


def load_text():
    if not LOADS:
        return "n/a"
    v = [x for _, x in LOADS]
    return ("1-minute load average %.1f at the start, median %.1f, max %.1f over the run (2 cores; "
            "above ~2 the benchmark shares the CPUs with other work)" % (v[0], statistics.median(v), max(v)))


def environment(args):
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    pc = "PKG_CONFIG_PATH=%s/lib/pkgconfig pkg-config" % args.stage
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": "%s, %s cores, %s" % (cpu or platform.machine(), os.cpu_count(), mem),
        "kernel": platform.release(),
        "os": sh(". /etc/os-release; echo $PRETTY_NAME"),
        "glibc": sh("ldd --version | head -1 | awk '{print $NF}'"),
        "cc": sh("cc --version | head -1"),
        "swift": sh("swift --version 2>&1 | head -1"),
        "swiftpoll": sh(pc + " --modversion swiftpoll"),
        "libuv": sh("pkg-config --modversion libuv"),
        "libevent": sh("pkg-config --modversion libevent_core"),
        "valgrind": sh("valgrind --version"),
        "python": platform.python_version(),
        "rust": rust_versions(),
        "git": sh("git -C %s rev-parse --short HEAD" % ROOT),
        "nofile": sh("ulimit -Hn"),
    }


# --------------------------------------------------------------------------
# charts and the document
# --------------------------------------------------------------------------
COLORS = {"epoll": "#555555", "swiftpoll": "#f05138", "cabi": "#f6b26b", "libuv": "#3a7bd5",
          "libevent": "#6aa84f", "mio": "#8e44ad", "polling": "#c39bd3", "poll": "#999999",
          "swiftpoll-poll": "#b03a2e"}


def charts(outdir, summary, idle, idle_cpu, tsum, cost):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no charts (make bench installs it)")
        return []
    made = []
    # 1. speed relative to raw epoll (wall, CPU), and swiftpoll over poll(2)
    #    relative to raw poll(2) (wall and CPU side by side)
    epoll_peers = [i for i in IMPLS if i not in POLL_IMPLS]
    fig, axs = plt.subplots(1, 3, figsize=(17, 4.8), gridspec_kw={"width_ratios": [3, 3, 2]})
    width = 0.8 / max(1, len(epoll_peers))
    for ax, key, title in ((axs[0], "ratio", "wall time"), (axs[1], "cpu_ratio", "CPU time (user + system)")):
        for k, impl in enumerate(epoll_peers):
            xs = [i + (k - (len(epoll_peers) - 1) / 2) * width for i in range(len(WORKLOADS))]
            ys = [summary[w][impl][key] for w in WORKLOADS]
            lo = [max(0, y - summary[w][impl][key + "_min"]) for w, y in zip(WORKLOADS, ys)]
            hi = [max(0, summary[w][impl][key + "_max"] - y) for w, y in zip(WORKLOADS, ys)]
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=LABELS[impl], color=COLORS[impl])
        ax.axhline(1.0, color="black", lw=0.8)
        ax.axhline(0.98, color="#f05138", lw=0.8, ls="--", label="target 0.98")
        ax.set_xticks(range(len(WORKLOADS)))
        ax.set_xticklabels(WORKLOADS)
        ax.set_title("Speed relative to raw epoll, by %s" % title, fontsize=10)
    axs[0].set_ylabel("median of per-round ratios (higher is faster)")
    handles, labels = axs[0].get_legend_handles_labels()
    ax = axs[2]
    if "swiftpoll-poll" in IMPLS:
        for k, (key, lab, col) in enumerate((("ratio", "wall", "#b03a2e"), ("cpu_ratio", "CPU", "#e6b0aa"))):
            xs = [i + (k - 0.5) * 0.38 for i in range(len(WORKLOADS))]
            ys = [summary[w]["swiftpoll-poll"][key] for w in WORKLOADS]
            lo = [max(0, y - summary[w]["swiftpoll-poll"][key + "_min"]) for w, y in zip(WORKLOADS, ys)]
            hi = [max(0, summary[w]["swiftpoll-poll"][key + "_max"] - y) for w, y in zip(WORKLOADS, ys)]
            ax.bar(xs, ys, 0.38, yerr=[lo, hi], capsize=2, label="swiftpoll over poll(2), " + lab, color=col)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.axhline(0.95, color="#b03a2e", lw=0.8, ls="--", label="target 0.95 (ring, burst)")
        ax.legend(fontsize=7, loc="lower right")
    else:
        ax.text(0.5, 0.5, "swiftpoll over poll(2): not run", ha="center", transform=ax.transAxes)
    ax.set_xticks(range(len(WORKLOADS)))
    ax.set_xticklabels(WORKLOADS)
    ax.set_title("swiftpoll over poll(2) relative to raw poll(2)", fontsize=10)
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=len(labels))
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    p = os.path.join(outdir, "bench-ratios.png")
    fig.savefig(p, dpi=100)
    plt.close(fig)
    made.append(p)
    # 2. idle sweep: every implementation on log-log axes (poll(2) grows with N,
    #    epoll stays flat), and the epoll family's CPU time on a linear scale
    fig, axs = plt.subplots(1, 2, figsize=(12, 4.4))
    for impl in IMPLS:
        pts = sorted(idle_cpu[impl].items())
        if pts:
            axs[0].plot([max(n, 1) for n, _ in pts], [v for _, v in pts], marker="o", label=LABELS[impl],
                        color=COLORS[impl], ls="--" if impl in POLL_IMPLS else "-")
    axs[0].set_xscale("log")
    axs[0].set_yscale("log")
    axs[0].set_xlabel("idle registrations (0 plotted at 1)")
    axs[0].set_ylabel("CPU ns per hop (median of rounds, log)")
    axs[0].set_title("poll(2) is O(n) in registrations, epoll is flat", fontsize=9)
    axs[0].legend(fontsize=7, loc="upper left")
    for impl in IMPLS:
        if impl in POLL_IMPLS:
            continue
        pts = sorted(idle_cpu[impl].items())
        if pts:
            axs[1].plot([max(n, 1) for n, _ in pts], [v for _, v in pts], marker="o", label=LABELS[impl],
                        color=COLORS[impl])
    axs[1].set_xscale("log")
    axs[1].set_ylim(bottom=0)
    axs[1].set_xlabel("idle registrations (0 plotted at 1)")
    axs[1].set_title("epoll-based: ns per hop, CPU time (flat is right)", fontsize=9)
    axs[1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    p = os.path.join(outdir, "bench-idle.png")
    fig.savefig(p, dpi=100)
    plt.close(fig)
    made.append(p)
    # 3. timeouts
    fig, axs = plt.subplots(1, 2, figsize=(12, 4.4))
    ts = ("t50us", "t1ms", "t1500us")
    tw = 0.8 / max(1, len(IMPLS))
    for k, impl in enumerate(IMPLS):
        if not tsum.get(impl):
            continue
        xs = [i + (k - (len(IMPLS) - 1) / 2) * tw for i in range(len(ts))]
        axs[0].bar(xs, [tsum[impl][t]["med"] / 1000 for t in ts], tw, label=impl, color=COLORS[impl])
        axs[1].bar(xs, [tsum[impl][t]["cpu_pct"] for t in ts], tw, label=impl, color=COLORS[impl])
    reqs = [50, 1000, 1500]
    for i, q in enumerate(reqs):
        axs[0].hlines(q, i - 0.45, i + 0.45, color="black", lw=1)
    axs[0].set_xticks(range(len(ts)))
    axs[0].set_xticklabels(["50 us", "1 ms", "1.5 ms"])
    axs[0].set_ylabel("achieved wait, median (us); black line: requested")
    axs[0].legend(fontsize=7)
    axs[1].set_xticks(range(len(ts)))
    axs[1].set_xticklabels(["50 us", "1 ms", "1.5 ms"])
    axs[1].set_ylabel("CPU time / wall time during the waits (%)")
    axs[1].set_title("CPU burned while waiting (spinning = 100%)", fontsize=9)
    fig.tight_layout()
    p = os.path.join(outdir, "bench-timeouts.png")
    fig.savefig(p, dpi=110)
    plt.close(fig)
    made.append(p)
    # 4. instructions per call
    if cost:
        fig, ax = plt.subplots(figsize=(9, 4.4))
        ops = list(CALLGRIND_OPS)
        have = [i for i in IMPLS if i in cost]
        cw = 0.8 / max(1, len(have))
        for k, impl in enumerate(have):
            xs = [i + (k - (len(have) - 1) / 2) * cw for i in range(len(ops))]
            ax.bar(xs, [cost[impl].get(o, 0) for o in ops], cw, label=impl, color=COLORS[impl])
        ax.set_xticks(range(len(ops)))
        ax.set_xticklabels([CALLGRIND_OPS[o] for o in ops])
        ax.set_yscale("log")
        ax.set_ylabel("user-space instructions per call (callgrind, log)")
        ax.set_title("Instructions per hot call, outside the kernel")
        ax.legend(fontsize=7)
        fig.tight_layout()
        p = os.path.join(outdir, "bench-cost.png")
        fig.savefig(p, dpi=110)
        plt.close(fig)
        made.append(p)
    return made


def fmt_ratio(x, nd=2):
    """A ratio: fixed decimals near 1, significant digits far from it (raw
    poll(2) against epoll is 0.0003 on idle and 200 on churn)."""
    if x is None or x != x:
        return "n/a"
    if 0.01 <= x < 100:
        return "%.*f" % (nd, x)
    return "%.0f" % x if x >= 100 else "%.2g" % x


def fmt(x, nd=0):
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    return ("{:,.%df}" % nd).format(x)


def python_section(args):
    """The Python rows come from bench/python (the Python suite's), whose report
    make bench / bench-quick have it write to --python-md just before."""
    p = args.python_md
    if p and os.path.exists(p):
        with open(p) as f:
            text = f.read().strip()
        # its headings one level down, under this page's "## Python"
        text = re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", text, flags=re.M)
        return ("The Python suite's report (`bench/python/run.py` via `make bench-python`, which `make bench` "
                "runs just before the C benchmarks), included from `%s`.\n\n%s\n"
                % (os.path.relpath(p, ROOT), text))
    return ("*Not measured in this run.* The Python rows (`select.epoll`, `selectors.EpollSelector`, "
            "swiftpoll's binding and `SwiftPollSelector`, and the asyncio echo benchmark) come from "
            "`bench/python/` (the Python suite, `make bench-python`); `make bench` runs it and includes "
            "its report here when it is present.\n")


OTHER_REPORTS = (("Ruby", "docs/BENCHMARKS-ruby.md", "make bench-ruby"),
                 ("Lua", "docs/BENCHMARKS-lua.md", "make bench-lua"))


def other_reports_section():
    """The Ruby and Lua suites write their own reports (make bench-ruby /
    bench-lua, run by make bench when those targets exist): linked and
    included here when the files are there."""
    out = []
    for lang, rel, cmd in OTHER_REPORTS:
        p = os.path.join(ROOT, rel)
        if not os.path.exists(p):
            out.append("- %s: no report yet (`%s` writes `%s`)." % (lang, cmd, rel))
            continue
        out.append("- %s: [`%s`](%s) (written by `%s`, which says when and how it ran), included below."
                   % (lang, rel, os.path.basename(rel), cmd))
    for lang, rel, cmd in OTHER_REPORTS:
        p = os.path.join(ROOT, rel)
        if os.path.exists(p):
            with open(p) as f:
                text = f.read().strip()
            # its headings under this page's "### Lua" / "### Ruby"
            text = re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + 3) + " ", text, flags=re.M)
            out.append("\n### %s\n\n%s" % (lang, text))
    return "\n".join(out) + "\n"


def write_doc(args, env, summary, idle, idle_cpu, idle_reg, tsum, allocs, cost, libs, errors, mode, elapsed, pngs):
    L = []
    a = L.append
    a("# Benchmarks: swiftpoll, raw epoll, mio, polling, libuv, libevent; swiftpoll over poll(2)")
    a("")
    a("Generated by `bench/run.py` (do not edit by hand). Command: **`%s`** (%s, %d rounds; took %.0f s)."
      % (args.command, mode, args.rounds, elapsed))
    a("")
    a("| | |")
    a("|---|---|")
    for k, label in (("date", "date"), ("machine", "machine"), ("os", "OS"), ("kernel", "kernel"),
                     ("glibc", "glibc"), ("cc", "C compiler"), ("swift", "Swift"), ("swiftpoll", "swiftpoll"),
                     ("libuv", "libuv"), ("libevent", "libevent"), ("valgrind", "valgrind"),
                     ("python", "Python"), ("rust", "Rust peers"), ("git", "commit"), ("load", "machine load")):
        a("| %s | %s |" % (label, env.get(k) or "n/a"))
    a("")
    a("How to read it: every (implementation, workload) pair ran %d times, interleaved (each round runs "
      "every implementation once per workload, the order of implementations rotated each round). "
      "**ratio** = raw epoll's time (raw poll(2)'s for swiftpoll over poll(2)) / the implementation's "
      "time *in the same round*, so > 1 is faster than the base; the table gives the median of the per-round ratios (min..max), which survives a "
      "noisy shared machine where absolute figures do not. Absolute figures are medians (min..max). "
      "Every program runs at nice -10 where allowed, all implementations alike."
      % args.rounds)
    a("")
    a("All implementations run the same program (`bench/src/workloads.c`) over a four-function backend "
      "(`bench/src/be_*.h`): raw epoll (edge-triggered `EPOLLIN|EPOLLRDHUP`, `epoll_wait`, "
      "`epoll_pwait2` for timeouts, an eventfd waker: the limit), swiftpoll through its installed header "
      "and `pkg-config swiftpoll`, libuv (`uv_poll_t`, `uv_async_t`, `uv_timer_t`, one `uv_run` turn per wait), "
      "libevent (`event_assign`/`event_add` with `EV_ET`, `event_active` as waker, one `event_base_loop` "
      "turn per wait). Every program checks its own work (exact counts, the expected token on every event, "
      "every byte read exactly once and in order) and exits non-zero otherwise.")
    a("")
    a("Issue 8 added: **mio** 0.8 and **smol-rs/polling** 2 (`bench/rust/`, the same workloads, checks and "
      "output line in Rust, built offline by `make bench-bin` with Debian's cargo against the crate sources of "
      "`librust-mio-dev` and `librust-polling-dev`): mio registers `SourceFd` READABLE (edge-triggered, like "
      "raw epoll) and wakes with `mio::Waker`; polling is oneshot-only, so its programs re-arm an fd with "
      "`modify` after consuming its event (what async-io does), and its one notifier per poller stands in for "
      "the waker. **raw poll(2)** (`bench/src/be_poll.h`: a pollfd array with O(1) register/deregister, "
      "`poll`/`ppoll`, an eventfd waker drained when reported) is the limit of **swiftpoll over poll(2)**, "
      "which is the same `bench-swiftpoll` program run with `SWIFTPOLL_BACKEND=poll` (each run prints the "
      "backend the library chose, and a run that did not get poll(2) counts as failed). The poll(2) rows are "
      "compared with raw poll(2), not with epoll.")
    a("")
    if SKIPPED:
        a("**Not run here:** " + "; ".join("%s (%s)" % (LABELS[i], why) for i, why in SKIPPED.items()) + ".")
        a("")
    a("![speed relative to raw epoll](bench-ratios.png)")
    a("")
    a("## Results")
    a("")
    m = re.search(r"median ([\d.]+)", env.get("load", ""))
    loaded = m is not None and float(m.group(1)) > 2.5
    a("Speed relative to raw epoll: median of the per-round ratios (min..max over rounds). "
      "**Wall** is the primary figure on a quiet machine; **CPU** uses the process's CPU time (user + system, "
      "all threads) instead, which leaves out time spent waiting for a CPU on a busy machine."
      + (" **This run was made on a loaded machine (%s): read the CPU ratios, and callgrind's counts below.**"
         % env.get("load") if loaded else ""))
    a("")
    peers = [i for i in IMPLS if i != "epoll"]
    for key, title in (("ratio", "Wall time"), ("cpu_ratio", "CPU time")):
        a("%s, ratio to the base (raw epoll; raw poll(2) for swiftpoll over poll(2)):" % title)
        a("")
        a("| workload | " + " | ".join("%s%s" % (i, " (vs poll)" if base_of(i) == "poll" else "") for i in peers) + " |")
        a("|---|" + "---|" * len(peers))
        for w in WORKLOADS:
            row = [w]
            for impl in peers:
                x = summary[w][impl]
                r_ = "%s (%s..%s)" % (fmt_ratio(x[key], 3), fmt_ratio(x[key + "_min"]), fmt_ratio(x[key + "_max"]))
                row.append("**" + r_.replace(" (", "** (", 1) if key == "ratio" else r_)
            a("| " + " | ".join(row) + " |")
        a("")
    a("Absolute figures, wall time: median (min..max) over rounds, in the unit of each workload.")
    a("")
    a("| workload | unit | " + " | ".join(IMPLS) + " |")
    a("|---|---|" + "---|" * len(IMPLS))
    for w in WORKLOADS:
        row = ["%s (%s ops)" % (w, fmt(summary[w]["epoll"]["ops"])), UNITS[w]]
        for impl in IMPLS:
            x = summary[w][impl]
            row.append("%s (%s..%s)" % (fmt(x["median"]), fmt(x["min"]), fmt(x["max"])))
        a("| " + " | ".join(row) + " |")
    a("")
    a("`cabi` is not a product: it is `bench/src/cabi.c`, the hot paths of the same C ABI written in C "
      "(errno preserved, `-errno` results, the one-waiter check, events widened in place), built as a "
      "shared library and linked like swiftpoll. swiftpoll against cabi isolates the cost of the Swift "
      "implementation from the cost of the ABI's contract.")
    a("")
    idle_n = summary["idle"]["epoll"]["extra"].get("idle", "?")
    a("The `idle` row ran with %s idle eventfds registered: as many as RLIMIT_NOFILE allowed, at most "
      "100,000 (the program raises the soft limit to the hard one, and the hard one too where it may; "
      "the hard limit here was %s and the session lacks CAP_SYS_RESOURCE, so 100,000 was out of reach). "
      "libuv and libevent have no per-wait capacity: they report every ready fd in one turn; polling's "
      "epoll buffer holds 1,000 events. The poll(2) rows of `idle` run fewer hops (about a second's worth: "
      "each wait costs ~150 ns per registered eventfd); ns per hop is the figure either way."
      % (fmt(idle_n) if isinstance(idle_n, int) else idle_n, env.get("nofile", "?")))
    a("")
    a("### Targets")
    a("")
    ahead = [i for i in ("mio", "polling", "libuv", "libevent") if i in IMPLS]
    a("| workload | target (swiftpoll vs raw epoll) | swiftpoll wall | met | swiftpoll CPU | met | "
      + " | ".join("ahead of %s" % i for i in ahead) + " |")
    a("|---|---|---|---|---|---|" + "---|" * len(ahead))
    for w in WORKLOADS:
        s_ = summary[w]
        sp = s_["swiftpoll"]["ratio"]
        sc = s_["swiftpoll"]["cpu_ratio"]
        a("| %s | >= %.2f | %.3f | %s | %.3f | %s | %s |" % (
            w, TARGETS[w], sp, "yes" if sp >= TARGETS[w] else "**no**", sc, "yes" if sc >= TARGETS[w] else "**no**",
            " | ".join("yes" if sp > s_[i]["ratio"] else "**no**" for i in ahead)))
    a("")
    a("### swiftpoll over poll(2) against raw poll(2)")
    a("")
    if "swiftpoll-poll" in IMPLS:
        a("Ratio = raw poll(2)'s time / swiftpoll-over-poll(2)'s time in the same round (median, min..max). "
          "Issue 8's target: >= 0.95 on ring and burst. Raw poll(2) against raw epoll is given for scale.")
        a("")
        a("| workload | target | wall | met | CPU | met | raw poll(2) vs raw epoll (wall) |")
        a("|---|---|---|---|---|---|---|")
        for w in WORKLOADS:
            x = summary[w]["swiftpoll-poll"]
            t = POLL_TARGETS.get(w)
            a("| %s | %s | **%.3f** (%.2f..%.2f) | %s | %.3f | %s | %s |" % (
                w, ">= %.2f" % t if t else "-", x["ratio"], x["ratio_min"], x["ratio_max"],
                ("yes" if x["ratio"] >= t else "**no**") if t else "",
                x["cpu_ratio"], ("yes" if x["cpu_ratio"] >= t else "**no**") if t else "",
                fmt_ratio(summary[w]["poll"]["ratio"], 3)))
    else:
        a("*Not run:* %s." % SKIPPED.get("swiftpoll-poll", "?"))
    a("")
    a("## Idle registrations: epoll waits stay flat, poll(2) waits grow with N")
    a("")
    a("ns per hop of a 2-pipe ring with N never-ready eventfds registered beside it (median of rounds), "
      "and the cost of registering them (ns per fd, including one zero-timeout wait so that libuv applies them). "
      "poll(2) hands the kernel the whole table on every wait, so its cost per hop is O(N) (inherent; the "
      "issue asks to show the curve): compare swiftpoll over poll(2) with raw poll(2), not with epoll.")
    a("")
    ns = sorted({n for i in IMPLS for n in idle[i]})
    a("| implementation | time | " + " | ".join("N = %s" % fmt(n) for n in ns) + " | max/min | register, ns per fd (largest N) |")
    a("|---|---|" + "---|" * (len(ns) + 2))
    for impl in IMPLS:
        for kind, data in (("wall", idle), ("CPU", idle_cpu)):
            vals = [data[impl].get(n) for n in ns]
            good = [v for v in vals if v]
            spread = max(good) / min(good) if good else float("nan")
            big = max(idle_reg[impl]) if idle_reg[impl] else None
            a("| %s | %s | %s | %.2f | %s |" % (impl, kind, " | ".join(fmt(v) for v in vals), spread,
                                                 fmt(idle_reg[impl].get(big)) if big and kind == "wall" else ""))
    a("")
    a("![idle sweep](bench-idle.png)")
    a("")
    a("## Timeouts: never early, never spinning")
    a("")
    a("Waits with nothing ready (one idle eventfd registered). Achieved wall time per wait (median, min, "
      "max over all rounds), waits that returned before the requested time, and CPU time per wait. "
      "A poller that rounds sub-millisecond timeouts down to 0 (mio 0.8) would show a 50 us wait "
      "returning at once and ~100% CPU.")
    a("")
    a("| implementation | requested | median | min | max | early | CPU per wait | CPU % |")
    a("|---|---|---|---|---|---|---|---|")
    for impl in IMPLS:
        for t, label in (("t50us", "50 us"), ("t1ms", "1 ms"), ("t1500us", "1.5 ms")):
            x = tsum.get(impl, {}).get(t)
            if not x:
                continue
            a("| %s | %s | %s us | %s us | %s us | %d of %d | %s us | %.1f |" % (
                impl, label, fmt(x["med"] / 1000, 1), fmt(x["min"] / 1000, 1), fmt(x["max"] / 1000, 1),
                x["early"], x["waits"], fmt(x["cpu_ns"] / 1000, 1), x["cpu_pct"]))
    a("")
    a("libuv's timers have millisecond resolution (50 us becomes 1 ms; 1.5 ms becomes 2 ms). libevent by "
      "default reads `CLOCK_MONOTONIC_COARSE` (no `EVENT_BASE_FLAG_PRECISE_TIMER`), so its timers "
      "fire on the kernel tick. Raw epoll and swiftpoll use `epoll_pwait2` (nanoseconds), raw poll(2) "
      "`ppoll`. mio 0.8 converts a timeout with `Duration::as_millis` (truncation): a 50 us wait becomes "
      "`epoll_wait(..., 0)` and returns at once (every one of them early; a loop waiting on it spins), and "
      "1.5 ms becomes 1 ms. polling 2 arms a timerfd on every wait (nanoseconds, two more system calls).")
    a("")
    a("![timeouts](bench-timeouts.png)")
    a("")
    a("## Cost accounting")
    a("")
    a("### Heap allocations in the hot loop")
    a("")
    a("Counted by `build/bench/alloccount.so` (LD_PRELOAD; it interposes malloc, calloc, realloc, "
      "posix_memalign, aligned_alloc, memalign, valloc) over the timed section of each workload "
      "(setup excluded). `make test` (test-bench) fails if swiftpoll (either backend), raw epoll or raw "
      "poll(2) allocates there. The Rust programs allocate through glibc's malloc, so they are counted too.")
    a("")
    a("| implementation | " + " | ".join(ALL_WORKLOADS) + " |")
    a("|---|" + "---|" * len(ALL_WORKLOADS))
    for impl in IMPLS:
        cells = []
        for w in ALL_WORKLOADS:
            x = allocs[impl].get(w)
            cells.append("n/a" if not x else ("%d in %s ops" % (x[0], fmt(x[1])) if x[0] else "0"))
        a("| %s | %s |" % (impl, " | ".join(cells)))
    a("")
    a("### User-space instructions per call (callgrind)")
    a("")
    if cost:
        a("`valgrind --tool=callgrind` on `bench/src/cost.c`: each hot call in its own noinline function "
          "(`op_*`), inclusive instructions / calls. Kernel work is not counted (it is the same syscall "
          "for all); this is everything the library adds in user space, glibc's syscall wrapper included. "
          "The wait returns one event; register includes libuv's loop turn; wake is measured with "
          "libevent's threading on (as its cross-thread wake needs). Raw data: `bench/results/callgrind.*`.")
        a("")
        have = [i for i in IMPLS if i in cost]
        a("| call | " + " | ".join(have) + " | swiftpoll - epoll | swiftpoll-poll - poll |")
        a("|---|" + "---|" * (len(have) + 2))
        nan = float("nan")
        for op, label in CALLGRIND_OPS.items():
            cells = [fmt(cost[i].get(op), 1) for i in have]
            d = cost.get("swiftpoll", {}).get(op, nan) - cost.get("epoll", {}).get(op, nan)
            dp = cost.get("swiftpoll-poll", {}).get(op, nan) - cost.get("poll", {}).get(op, nan)
            a("| %s | %s | %s | %s |" % (label, " | ".join(cells), fmt(d, 1), fmt(dp, 1)))
        a("")
        a("mio and polling: the `cost` mode of their Rust programs (the same sequence; the `op_*` functions "
          "are `#[no_mangle]`, `#[inline(never)]`). Their wait includes the harness copying the event's token "
          "out of the library's event list (a few instructions), and polling's wait excludes the `modify` "
          "that re-arms the fd after each event (polling is oneshot-only), which the workloads do pay.")
        a("")
        a("**The epoll path after the backend change (issue 8):** swiftpoll's instructions per call now, "
          "against the library before the backends (0.1.0: docs/BENCHMARKS.md at commit a6e083e). "
          "The issue allows at most + 5.")
        a("")
        a("| call | before (0.1.0) | now (%s) | change | within + 5 |" % (env.get("swiftpoll") or "?"))
        a("|---|---|---|---|---|")
        for op, label in CALLGRIND_OPS.items():
            now = cost.get("swiftpoll", {}).get(op)
            prev = PREV_SWIFTPOLL_COST[op]
            a("| %s | %s | %s | %s | %s |" % (label, fmt(prev, 1), fmt(now, 1),
                                             "%+.1f" % (now - prev) if now is not None else "n/a",
                                             ("yes" if now - prev <= 5 else "**no**") if now is not None else "n/a"))
        a("")
        a("![instructions per call](bench-cost.png)")
    else:
        a("valgrind was not available: no instruction counts.")
    a("")
    a("### Library size and load time")
    a("")
    a("Size of the installed (stripped) shared object, its shared-library dependencies, exported "
      "functions, and the time of one cold `dlopen(RTLD_NOW)` + `dlsym` in a fresh process "
      "(`build/bench/dlopen_time`, median of 40 processes).")
    a("")
    a("| library | file | size (bytes) | needs | exported functions | dlopen, median (min) |")
    a("|---|---|---|---|---|---|")
    for name, x in libs.items():
        a("| %s | `%s` | %s | %d libs | %d | %s us (%s) |" % (
            name, os.path.basename(x["path"]), fmt(x["size"]), x["deps"], x["exports"],
            fmt(x["dlopen_ns"] / 1000, 1), fmt(x["dlopen_min"] / 1000, 1)))
    a("")
    a("## Python")
    a("")
    a(python_section(args))
    a("## Ruby and Lua")
    a("")
    a(other_reports_section())
    a("## Findings")
    a("")
    findings = os.path.join(ROOT, "bench", "FINDINGS.md")
    if os.path.exists(findings):
        with open(findings) as f:
            a(f.read().strip())
    else:
        a("(none recorded)")
    a("")
    if errors:
        a("## Failed runs")
        a("")
        for e in errors[:20]:
            a("- `%s`" % e.splitlines()[0])
        a("")
    a("## Reproducing")
    a("")
    a("```sh")
    a("make deps          # Debian: libuv1-dev libevent-dev valgrind cargo librust-mio-dev librust-polling-dev")
    a("make bench         # ~13-17 minutes (plus the Python, Ruby, Lua suites'): this page and docs/bench-*.png")
    a("make bench-quick   # a tenth of the counts, ~3 minutes")
    a("build/bench/bench-swiftpoll ring --scale 0.1   # one program, one line")
    a("SWIFTPOLL_BACKEND=poll build/bench/bench-swiftpoll ring --scale 0.1   # the same over poll(2)")
    a("build/bench/bench-mio ring --scale 0.1        # mio; bench-polling, bench-poll likewise")
    a("```")
    a("")
    a("Counts at scale 1: ring 500,000 hops over 64 pipes; burst 200 rounds over 4,096 pipes (capacity "
      "1,024); idle 200,000 hops beside up to 100,000 idle eventfds; churn 1,000,000 register + deregister "
      "of one socket (every 1,024th proved live and then proved gone); waker 200,000 round trips between "
      "two threads; timeouts 200 waits each of 50 us, 1 ms, 1.5 ms. The poll(2) rows of idle: about 5,000,000 / N "
      "hops (at least 100).")
    a("")
    with open(args.doc, "w") as f:
        f.write("\n".join(L))


def bench(args):
    t_start = time.time()

    def log(msg):
        print("[%5.0fs] %s" % (time.time() - t_start, msg), flush=True)

    scale = args.scale or (0.1 if args.quick else 1.0)
    mode = "quick: a tenth of the counts" if args.quick else "full counts"
    r = Runner(args.bin)
    select_impls(args)
    for impl, why in SKIPPED.items():
        log("skip %s: %s" % (impl, why))
    os.makedirs(args.results, exist_ok=True)
    lim = sh("ulimit -Hn")
    log("mode %s, %d rounds, RLIMIT_NOFILE hard %s" % (mode, args.rounds, lim))
    LOADS.append((time.time(), os.getloadavg()[0]))
    results, errors = run_rounds(r, args, scale, log)
    summary = summarise(results)
    for w in WORKLOADS:
        log("%-6s " % w + "  ".join("%s %.0f ns (x%.3f, cpu x%.3f)" % (i, summary[w][i]["median"], summary[w][i]["ratio"], summary[w][i]["cpu_ratio"])
                                    for i in IMPLS))
    idle, idle_cpu, idle_reg, e2 = idle_sweep(r, args, scale, log)
    errors += e2
    tsum = timeouts_summary(results)
    allocs = alloc_pass(r, log)
    cost = callgrind_pass(args, 2000 if args.quick else 10000, log)
    libs = dlopen_pass(args, log, runs=20 if args.quick else 40)
    LOADS.append((time.time(), os.getloadavg()[0]))
    env = environment(args)
    env["load"] = load_text()
    elapsed = time.time() - t_start   # the measuring; the same figure in the JSON and the page
    raw = {"meta": {"rounds": args.rounds, "command": args.command, "mode": mode,
                    "elapsed": elapsed},
           "env": env, "results": results, "summary": summary, "idle": idle, "idle_cpu": idle_cpu,
           "idle_reg": idle_reg,
           "timeouts": tsum, "allocs": allocs, "callgrind": cost, "libs": libs, "errors": errors,
           "impls": IMPLS, "skipped": SKIPPED}
    with open(os.path.join(args.results, "results-%s.json" % ("quick" if args.quick else "full")), "w") as f:
        json.dump(raw, f, indent=1, default=str)
    pngs = charts(args.charts, summary, idle, idle_cpu, tsum, cost)
    write_doc(args, env, summary, idle, idle_cpu, idle_reg, tsum, allocs, cost, libs, errors, mode,
              elapsed, pngs)
    log("wrote %s and %s" % (args.doc, ", ".join(pngs)))
    return 1 if errors else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--stage", required=True)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--scale", type=float, default=0, help="count scale (a test of this script: 0.01)")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "BENCHMARKS.md"))
    ap.add_argument("--charts", default=os.path.join(ROOT, "docs"))
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--command", default="make bench")
    ap.add_argument("--python-md", default="", help="the Python suite's report to include")
    ap.add_argument("--from-json", help="rewrite the document from a saved results-*.json, run nothing")
    args = ap.parse_args()
    if args.smoke:
        return smoke(args)
    if args.from_json:
        return redoc(args)
    return bench(args)


def redoc(args):
    """Rewrites the document and charts from a saved results file (after editing
    bench/FINDINGS.md, say) without running anything again."""
    with open(args.from_json) as f:
        raw = json.load(f)
    IMPLS[:] = raw.get("impls", [i for i in ALL_IMPLS if i in raw["summary"]["ring"]])
    SKIPPED.clear()
    SKIPPED.update(raw.get("skipped", {}))
    intkeys = lambda d: {i: {int(n): v for n, v in d[i].items()} for i in d}
    idle, idle_cpu, idle_reg = intkeys(raw["idle"]), intkeys(raw["idle_cpu"]), intkeys(raw["idle_reg"])
    allocs = {i: {w: tuple(x) if x else None for w, x in raw["allocs"][i].items()} for i in raw["allocs"]}
    meta = raw.get("meta", {})
    args.rounds = meta.get("rounds", args.rounds)
    args.command = meta.get("command", args.command)
    pngs = charts(args.charts, raw["summary"], idle, idle_cpu, raw["timeouts"], raw["callgrind"])
    write_doc(args, raw["env"], raw["summary"], idle, idle_cpu, idle_reg, raw["timeouts"], allocs,
              raw["callgrind"], raw["libs"], raw["errors"], meta.get("mode", "?"), meta.get("elapsed", 0), pngs)
    print("wrote %s from %s" % (args.doc, args.from_json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
