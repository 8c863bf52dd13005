#!/usr/bin/env python3
"""Runs lifsim, NEST and Brian2 on the network workloads and compares them.

The workloads: `cuba`, `brunel` (SPEC section 3), `coba` and `brunel_alpha`
(section 4), from examples/WORKLOAD.toml. Every simulator runs as its own process, one thread each, interleaved: each of the
--reps repetitions runs every runner once per workload, so a slow spell of the
machine hits them all alike. One Markdown table per workload: medians over the
repetitions of setup (network construction), simulation, their total, firing rate
and peak RSS, and each peer's ratios to lifsim; then the checks of issue 5 (cuba,
brunel) and issue 12 (coba, brunel_alpha).

  bench/compare_networks.py                 # all four workloads, 3 repetitions
  bench/compare_networks.py --reps 1 --workloads cuba
  bench/compare_networks.py --workloads coba,brunel_alpha --json-out results.json

Peers (bench/peers/, set up by bench/setup_peers.sh and bench/setup_brian2.sh):
nest_cuba.py (iaf_psc_exp), nest_brunel.py (iaf_psc_delta; and --neuron iaf_psc_exp,
a different model shown for its cost only), nest_coba.py (iaf_cond_exp),
nest_brunel_alpha.py (iaf_psc_alpha), brian2_cuba.py, brian2_brunel.py and
brian2_coba.py in runtime and C++ standalone modes (brunel_alpha has no Brian2
peer).

Checks printed: cuba (issue 5): rate within 10 % of NEST and of Brian2 standalone,
lifsim at least 10x faster than NEST's simulation phase and 3x faster than Brian2
standalone's binary; brunel: rate within 10 % of NEST, at least 5x faster than
NEST's simulation phase and its setup + simulation, peak memory at most a quarter
of NEST's. coba (issue 12): rate within 10 % of NEST and of Brian2 (standalone and
runtime), at least 10x faster than NEST's simulation phase and 3x faster than
Brian2 standalone's binary; brunel_alpha: rate within 10 % of NEST, at least 10x
faster than NEST's simulation phase. Each prints one JSON line with setup_s, sim_s,
rate_hz, peak_rss_mb, spikes. For Brian2 standalone the total is the compiled
binary's wall time (compilation excluded). For lifsim the total is the wall time of
the whole `lifsim run` process (start-up, network construction, simulation, output)
and its peak RSS that process's, from /usr/bin/time; setup and simulation come from
its --json summary. A runner that is missing (no venv, no lifsim binary or example
file) is reported as not available; the others still run.

Standard library only: run it with any Python 3.9+.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCH = pathlib.Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS = BENCH / "peers"
NEST_PY = BENCH / ".venv-peers" / "bin" / "python"
BRIAN2_PY = BENCH / ".venv-brian2" / "bin" / "python"
GNU_TIME = "/usr/bin/time"
WORKLOADS = ("cuba", "brunel", "coba", "brunel_alpha")
DEFAULT_LIFSIM_CMD = ("{lifsim} run {root}/examples/{workload}.toml --seed {seed} --threads 1 "
                      "--format events --out {tmp}/spikes.npz --json {json}")

# Every runner single-threaded, whatever the library.
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                  "MKL_NUM_THREADS": "1", "RAYON_NUM_THREADS": "1"}


class Runner:
    """One simulator configuration on one workload."""

    def __init__(self, name, workload, argv, note="", same_model=True):
        self.name = name
        self.workload = workload
        self.argv = argv  # list with {seed} / {json} placeholders, or None
        self.note = note
        self.same_model = same_model  # False: shown for cost, left out of rate checks
        self.unavailable = None  # reason, when it cannot run here
        self.results = []
        self.failures = []


def peer_runners(workload):
    """The NEST and Brian2 runners for one workload (availability checked later)."""
    nest = [str(NEST_PY)]
    brian2 = [str(BRIAN2_PY)]
    runners = []
    if workload == "cuba":
        runners.append(Runner("NEST iaf_psc_exp", workload,
                              nest + [str(PEERS / "nest_cuba.py"), "--seed", "{seed}"]))
    elif workload == "coba":
        runners.append(Runner("NEST iaf_cond_exp", workload,
                              nest + [str(PEERS / "nest_coba.py"), "--seed", "{seed}"],
                              note="GSL RKF45, adaptive"))
    elif workload == "brunel_alpha":
        runners.append(Runner("NEST iaf_psc_alpha", workload,
                              nest + [str(PEERS / "nest_brunel_alpha.py"), "--seed",
                                      "{seed}"]))
        return runners  # no Brian2 peer for brunel_alpha
    else:
        runners.append(Runner("NEST iaf_psc_delta", workload,
                              nest + [str(PEERS / "nest_brunel.py"), "--seed", "{seed}"]))
        runners.append(Runner("NEST iaf_psc_exp", workload,
                              nest + [str(PEERS / "nest_brunel.py"), "--neuron",
                                      "iaf_psc_exp", "--seed", "{seed}"],
                              note="exponential PSCs (tau_syn 0.5 ms), PSP peaks matched: "
                                   "a different model, shown for its cost",
                              same_model=False))
    script = str(PEERS / f"brian2_{workload}.py")
    runners.append(Runner("Brian2 runtime", workload,
                          brian2 + [script, "--mode", "runtime", "--seed", "{seed}"],
                          note="Cython code generation"))
    runners.append(Runner("Brian2 C++ standalone", workload,
                          brian2 + [script, "--mode", "standalone"],
                          note="total = the compiled binary's wall time"))
    return runners


def lifsim_runner(workload, args):
    cmd = args.lifsim_cmd.format(lifsim=shlex.quote(str(args.lifsim)),
                                 root=shlex.quote(str(ROOT)), workload=workload,
                                 seed="{seed}", json="{json}", tmp="{tmp}")
    runner = Runner("lifsim", workload, shlex.split(cmd))
    if not args.lifsim.is_file():
        runner.unavailable = f"no binary at {args.lifsim} (cargo build --release)"
    elif "{root}/examples/{workload}.toml" in args.lifsim_cmd and \
            not (ROOT / "examples" / f"{workload}.toml").is_file():
        runner.unavailable = f"no examples/{workload}.toml yet"
    return runner


def check_peer_available(runner):
    python = pathlib.Path(runner.argv[0])
    if not python.exists():
        setup = "setup_peers.sh" if python == NEST_PY else "setup_brian2.sh"
        runner.unavailable = f"{python.parent.parent.name} missing (run bench/{setup})"
        return
    module = "nest" if python == NEST_PY else "brian2"
    probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True,
                           env=child_env())
    if probe.returncode != 0:
        runner.unavailable = f"cannot import {module} in {python.parent.parent.name}"


def child_env():
    env = dict(os.environ)
    env.update(ONE_THREAD_ENV)
    env["PYNEST_QUIET"] = "1"
    return env


def run_once(runner, seed, timeout):
    """Runs one process; returns its JSON record plus wall_s and child_peak_rss_mb.

    child_peak_rss_mb is the process's own peak RSS as GNU time reports it. (Linux
    starts a child's ru_maxrss at the peak of the process that forked it, so
    os.wait4 from here would never report less than this script's own ~15 MB;
    /usr/bin/time forks the command from a small process of its own.) Without
    /usr/bin/time it falls back to os.wait4's number.
    """
    with tempfile.TemporaryDirectory(prefix="lifsim-compare-") as tmp:
        json_path = os.path.join(tmp, "summary.json")
        rss_path = os.path.join(tmp, "peak_rss_kib")
        argv = [a.replace("{seed}", str(seed)).replace("{json}", json_path)
                .replace("{tmp}", tmp) for a in runner.argv]
        if os.access(GNU_TIME, os.X_OK):
            argv = [GNU_TIME, "-f", "%M", "-o", rss_path] + argv
        out_path, err_path = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
        with open(out_path, "w") as out, open(err_path, "w") as err:
            start = time.perf_counter()
            child = subprocess.Popen(argv, stdout=out, stderr=err, cwd=str(ROOT),
                                     env=child_env())
            timer = threading.Timer(timeout, child.kill)
            timer.start()
            try:
                _, status, usage = os.wait4(child.pid, 0)
            finally:
                timer.cancel()
            wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        with open(out_path) as f:
            stdout = f.read()
        with open(err_path) as f:
            stderr = f.read()
        if wall >= timeout:
            raise RuntimeError(f"timed out after {timeout} s")
        if child.returncode != 0:
            tail = " | ".join(stderr.strip().splitlines()[-3:])
            raise RuntimeError(f"exit status {child.returncode}: {tail}")
        if runner.name == "lifsim":
            if not os.path.exists(json_path):
                raise RuntimeError("lifsim wrote no --json summary")
            with open(json_path) as f:
                record = lifsim_record(json.load(f))
        else:
            lines = [line for line in stdout.splitlines() if line.startswith("{")]
            if not lines:
                raise RuntimeError("no JSON line on stdout")
            record = json.loads(lines[-1])
        child_peak = usage.ru_maxrss / 1024.0
        if argv[0] == GNU_TIME and os.path.exists(rss_path):
            with open(rss_path) as f:
                child_peak = int(f.read().split()[-1]) / 1024.0
    record["wall_s"] = wall
    record["child_peak_rss_mb"] = child_peak
    if runner.name == "lifsim":
        # The whole process, measured as for the peers whatever lifsim reports itself
        # (its own VmHWM, kept as reported_peak_rss_mb).
        record["reported_peak_rss_mb"] = record["peak_rss_mb"]
        record["peak_rss_mb"] = child_peak
    return record


def first_key(summary, names, scale=1.0):
    """The first of `names` found in a (possibly nested) JSON summary, times scale."""
    stack = [summary]
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            for name in names:
                if isinstance(node.get(name), (int, float)):
                    return float(node[name]) * scale
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return None


def lifsim_record(summary):
    """Reads the fields the table needs from lifsim's --json summary."""
    record = {
        "setup_s": first_key(summary, ["setup_s", "construction_s", "build_s",
                                       "network_s", "setup_seconds"]),
        "sim_s": first_key(summary, ["sim_s", "simulation_s", "simulate_s", "run_s",
                                     "simulation_seconds"]),
        "rate_hz": first_key(summary, ["rate_hz", "mean_rate_hz", "rate",
                                       "mean_rate"]),
        "peak_rss_mb": first_key(summary, ["peak_rss_mb", "peak_memory_mb"]),
        "spikes": first_key(summary, ["spikes", "num_spikes", "spike_count",
                                      "n_spikes"]),
    }
    if record["peak_rss_mb"] is None:
        kib = first_key(summary, ["peak_rss_kib", "peak_rss_kb"])
        if kib is None:
            b = first_key(summary, ["peak_rss_bytes", "peak_memory_bytes"])
            record["peak_rss_mb"] = None if b is None else b / 2**20
        else:
            record["peak_rss_mb"] = kib / 1024.0
    record["summary"] = summary
    return record


def total_of(runner, record):
    """The time each runner is judged by (see the module doc)."""
    if runner.name == "lifsim":
        return record["wall_s"]
    if "binary_s" in record:
        return record["binary_s"]
    return record["setup_s"] + record["sim_s"]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(runner):
    if not runner.results:
        return None
    r = runner.results
    return {
        "setup_s": median([x.get("setup_s") for x in r]),
        "sim_s": median([x.get("sim_s") for x in r]),
        "total_s": median([total_of(runner, x) for x in r]),
        "rate_hz": median([x.get("rate_hz") for x in r]),
        "rate_min": min(x["rate_hz"] for x in r if x.get("rate_hz") is not None)
        if any(x.get("rate_hz") is not None for x in r) else None,
        "rate_max": max(x["rate_hz"] for x in r if x.get("rate_hz") is not None)
        if any(x.get("rate_hz") is not None for x in r) else None,
        "peak_rss_mb": median([x.get("peak_rss_mb") for x in r]),
        "runs": len(r),
    }


def fmt(value, digits=3):
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:.2f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(workload, runners):
    lif = next(r for r in runners if r.name == "lifsim")
    base = summarize(lif)
    lines = [f"### {workload}", "",
             "| simulator | setup (s) | simulation (s) | total (s) | rate (Hz) | "
             "peak RSS (MB) | total / lifsim total | sim / lifsim total | "
             "peak RSS / lifsim |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for runner in runners:
        s = summarize(runner)
        if s is None:
            why = runner.unavailable or "; ".join(runner.failures[:1]) or "no runs"
            lines.append(f"| {runner.name} | not available: {why} | | | | | | | |")
            continue
        rate = fmt(s["rate_hz"])
        if s["runs"] > 1 and s["rate_min"] is not None:
            rate += f" ({fmt(s['rate_min'])}-{fmt(s['rate_max'])})"
        lif_total = base["total_s"] if base else None
        lif_peak = base["peak_rss_mb"] if base else None
        cols = [fmt(s["setup_s"]), fmt(s["sim_s"]), fmt(s["total_s"]), rate,
                fmt(s["peak_rss_mb"])]
        if runner is lif:
            cols += ["1", fmt(ratio(s["sim_s"], lif_total)), "1"]
        else:
            cols += [fmt(ratio(s["total_s"], lif_total)), fmt(ratio(s["sim_s"], lif_total)),
                     fmt(ratio(s["peak_rss_mb"], lif_peak))]
        name = runner.name + (f" ({runner.note})" if runner.note else "")
        lines.append(f"| {name} | " + " | ".join(cols) + " |")
    lines.append("")
    lines.append(f"Medians of {max((len(r.results) for r in runners), default=0)} "
                 "repetitions; rate range over the repetitions in brackets.")
    return "\n".join(lines)


def checks(workload, runners):
    """The targets of issue 5 (cuba, brunel) or 12 (coba, brunel_alpha), from the medians."""
    by_name = {r.name: summarize(r) for r in runners}
    lif = by_name.get("lifsim")
    out = []

    def verdict(ok):
        return "n/a" if ok is None else ("yes" if ok else "NO")

    def rate_check(peer):
        s = by_name.get(peer)
        if not lif or not s:
            out.append(f"- rate within 10 % of {peer}: n/a (not measured)")
            return
        diff = (lif["rate_hz"] - s["rate_hz"]) / s["rate_hz"] if lif["rate_hz"] else None
        ok = None if diff is None else abs(diff) <= 0.10
        out.append(f"- rate within 10 % of {peer}: {verdict(ok)} "
                   f"(lifsim {fmt(lif['rate_hz'])} Hz, {peer} {fmt(s['rate_hz'])} Hz"
                   + (f", {diff * 100:+.1f} %)" if diff is not None else ")"))

    def speed_check(peer, field, factor, what):
        s = by_name.get(peer)
        if not lif or not s:
            out.append(f"- at least {factor}x faster than {what}: n/a (not measured)")
            return
        x = ratio(s[field], lif["total_s"])
        ok = None if x is None else x >= factor
        out.append(f"- lifsim total at least {factor}x faster than {what}: {verdict(ok)} "
                   f"({fmt(s[field])} s / {fmt(lif['total_s'])} s = {fmt(x)}x)")

    if workload == "cuba":
        rate_check("NEST iaf_psc_exp")
        rate_check("Brian2 C++ standalone")
        speed_check("NEST iaf_psc_exp", "sim_s", 10, "NEST's simulation phase")
        speed_check("Brian2 C++ standalone", "total_s", 3, "Brian2 C++ standalone's binary")
    elif workload == "coba":
        rate_check("NEST iaf_cond_exp")
        rate_check("Brian2 C++ standalone")
        rate_check("Brian2 runtime")
        speed_check("NEST iaf_cond_exp", "sim_s", 10, "NEST's simulation phase")
        speed_check("Brian2 C++ standalone", "total_s", 3, "Brian2 C++ standalone's binary")
    elif workload == "brunel_alpha":
        rate_check("NEST iaf_psc_alpha")
        speed_check("NEST iaf_psc_alpha", "sim_s", 10, "NEST's simulation phase")
    else:
        rate_check("NEST iaf_psc_delta")
        speed_check("NEST iaf_psc_delta", "sim_s", 5, "NEST's simulation phase")
        speed_check("NEST iaf_psc_delta", "total_s", 5, "NEST's setup + simulation")
        s = by_name.get("NEST iaf_psc_delta")
        if lif and s and lif["peak_rss_mb"] is not None:
            x = ratio(lif["peak_rss_mb"], s["peak_rss_mb"])
            out.append(f"- peak memory at most a quarter of NEST's: {verdict(x <= 0.25)} "
                       f"({fmt(lif['peak_rss_mb'])} MB / {fmt(s['peak_rss_mb'])} MB = "
                       f"{fmt(x)})")
        else:
            out.append("- peak memory at most a quarter of NEST's: n/a (not measured)")
    return "\n".join([f"Checks ({workload}):"] + out)


def machine():
    model = platform.processor() or "unknown CPU"
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in text.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def lifsim_version(binary):
    """The binary, its --version, its build time and the tree it was built from."""
    if not binary.is_file():
        return f"{binary} (missing)"
    try:
        version = subprocess.run([str(binary), "--version"], capture_output=True,
                                 text=True).stdout.strip()
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain",
                                "--", "crates"], capture_output=True,
                               text=True).stdout.strip()
    except OSError:
        return str(binary)
    built = datetime.datetime.fromtimestamp(binary.stat().st_mtime).astimezone()
    tree = f"git {head}" + (" + uncommitted changes in crates/" if dirty else "")
    return (f"{version} ({binary.relative_to(ROOT) if binary.is_relative_to(ROOT) else binary},"
            f" built {built.isoformat(timespec='seconds')}; tree now: {tree})")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="comma-separated: " + ", ".join(WORKLOADS) + " (default all)")
    parser.add_argument("--skip", default="",
                        help="comma-separated runner names to leave out, e.g. "
                             "'NEST iaf_psc_exp,Brian2 runtime'")
    parser.add_argument("--lifsim", type=pathlib.Path,
                        default=ROOT / "target" / "release" / "lifsim",
                        help="lifsim binary (default target/release/lifsim)")
    parser.add_argument("--lifsim-cmd", default=DEFAULT_LIFSIM_CMD,
                        help="lifsim command template; {lifsim} {root} {workload} "
                             "{seed} {json} {tmp} (a scratch folder) are filled in "
                             "(default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds allowed per process (default 900)")
    parser.add_argument("--no-prime", action="store_true",
                        help="skip the untimed short Brian2 runtime run that fills "
                             "its Cython cache before the timed repetitions")
    parser.add_argument("--json-out", type=pathlib.Path,
                        help="write every run's record to this file")
    args = parser.parse_args()
    if args.reps < 1:
        parser.error("--reps must be >= 1")
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for w in workloads:
        if w not in WORKLOADS:
            parser.error(f"--workloads: unknown workload {w!r} ({', '.join(WORKLOADS)})")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    plan = {}
    for w in workloads:
        runners = [lifsim_runner(w, args)] + peer_runners(w)
        for r in runners[1:]:
            check_peer_available(r)
        plan[w] = [r for r in runners if r.name not in skip or r.name == "lifsim"]
        if "lifsim" in skip:
            plan[w][0].unavailable = "skipped (--skip)"

    command = " ".join(shlex.quote(a) for a in [sys.argv[0]] + sys.argv[1:])
    print(f"# {', '.join(workloads)}: lifsim against NEST and Brian2\n")
    print(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"- machine: {machine()}")
    print(f"- lifsim: {lifsim_version(args.lifsim)}")
    print(f"- command: `{command}`")
    print(f"- every process single-threaded ({', '.join(f'{k}=1' for k in ONE_THREAD_ENV)};"
          " NEST local_num_threads 1; Brian2 OpenMP off)\n", flush=True)

    if not args.no_prime:
        for w in workloads:
            for r in plan[w]:
                if r.name == "Brian2 runtime" and not r.unavailable:
                    print(f"priming Brian2's Cython cache for {w} (untimed) ...",
                          file=sys.stderr, flush=True)
                    try:
                        prime = Runner(r.name, w, r.argv + ["--t-sim", "10"])
                        run_once(prime, 1, args.timeout)
                    except RuntimeError as e:
                        print(f"  priming failed: {e}", file=sys.stderr)

    for rep in range(args.reps):
        seed = rep + 1
        for w in workloads:
            for r in plan[w]:
                if r.unavailable:
                    continue
                print(f"rep {rep + 1}/{args.reps} {w}: {r.name} ...", end=" ",
                      file=sys.stderr, flush=True)
                try:
                    rec = run_once(r, seed, args.timeout)
                except (RuntimeError, OSError, ValueError, KeyError) as e:
                    r.failures.append(str(e))
                    print(f"failed: {e}", file=sys.stderr, flush=True)
                    continue
                rec["rep"] = rep + 1
                r.results.append(rec)
                print(f"total {total_of(r, rec):.3f} s, rate {rec.get('rate_hz')} Hz",
                      file=sys.stderr, flush=True)

    for w in workloads:
        print(table(w, plan[w]))
        print()
        print(checks(w, plan[w]))
        for r in plan[w]:
            if r.unavailable:
                print(f"- {r.name}: not available ({r.unavailable})")
            elif r.failures:
                print(f"- {r.name}: {len(r.failures)} failed run(s): {r.failures[0]}")
        print()

    if args.json_out:
        dump = {"command": command, "machine": machine(),
                "runs": {w: {r.name: {"results": r.results, "failures": r.failures,
                                      "unavailable": r.unavailable}
                             for r in plan[w]} for w in workloads}}
        args.json_out.write_text(json.dumps(dump, indent=1))
    failed = any(r.failures and not r.results for w in workloads for r in plan[w])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
