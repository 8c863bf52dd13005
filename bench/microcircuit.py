#!/usr/bin/env python3
"""The PD14 microcircuit in lifsim and in NEST 3.10: accuracy the PD14 way, and cost.

Runs examples/make_microcircuit.py's network (N_scaling = K_scaling = --scale, the
repository's scaling_factor; DC background unless --poisson) for --t-model ms in
lifsim (`lifsim run`, --threads) and in NEST (bench/peers/nest_microcircuit.py, our
own script: iaf_psc_exp, the same derived parameters, local_num_threads = --threads)
with every seed of --nest-seeds, one process after another. Then, as the
microcircuit-PD14-model repository's benchmarking recipe does
(PyNEST/reference_data/analyze_reference_data.py, helpers.py), it discards the first
--t-discard ms (default 500) and compares per population:

- the mean firing rate;
- the distributions of per-neuron firing rates (every neuron), ISI CVs (neurons with
  more than 2 spikes) and spike-count correlation coefficients (all pairs of a random
  subsample of --cc-sample neurons per population, the same neurons in every run;
  --cc-bin ms bins; pairs with a silent neuron left out), by their Kolmogorov-Smirnov
  distance: lifsim against each NEST seed (mean over the seeds), beside NEST seed
  against NEST seed (mean over the pairs), the model's own variability.

and reports each simulator's setup time (building the network), simulation time,
real-time factor (simulation time / model time) and peak RSS of its whole process
(GNU time's maximum resident set size; os.wait4's without /usr/bin/time). Both
simulators record every spike in these runs (lifsim streams them to disk, NEST keeps
them in a spike_recorder); --timing-only runs without spikes (lifsim --format counts,
NEST without a recorder) and reports cost and lifsim's rates only. --dtype float32 runs
lifsim in single precision (NEST's runs are in double either way).

  bench/.venv-peers/bin/python bench/microcircuit.py --scale 0.2 --t-model 1500
  bench/.venv-peers/bin/python bench/microcircuit.py --scale 1 --t-model 10500 --json pd14.json
  bench/.venv-peers/bin/python bench/microcircuit.py --scale 1 --t-model 10000 --timing-only

NumPy is the only dependency beyond the standard library (the NEST venv has it); the
Kolmogorov-Smirnov statistic is computed here (scipy.stats.ks_2samp's statistic).
Spike files go to a temporary folder, or to --keep DIR.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

BENCH = pathlib.Path(__file__).resolve().parent
ROOT = BENCH.parent
GNU_TIME = "/usr/bin/time"
POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
MEASURES = ("rate", "cv", "cc")


# --- statistics (helpers.py's definitions) ---------------------------------

def ks_distance(a, b):
    """The two-sample Kolmogorov-Smirnov statistic sup_x |F_a(x) - F_b(x)| (NaN if a
    sample is empty), as scipy.stats.ks_2samp(a, b)[0]."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    x = np.concatenate([a, b])
    fa = np.searchsorted(a, x, side="right") / len(a)
    fb = np.searchsorted(b, x, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def window(times, ids, t0, t1):
    keep = (times >= t0) & (times <= t1)  # helpers.truncate_spike_data keeps both ends
    return times[keep], ids[keep]


def rates(ids, lo, hi, t0, t1):
    """Per-neuron rates (Hz) of neurons lo..hi-1 over [t0, t1] ms."""
    return np.bincount(ids - lo, minlength=hi - lo)[: hi - lo] / (t1 - t0) * 1e3


def isi_cvs(times, ids, lo, hi):
    """ISI CVs (std / mean, population std) of the neurons lo..hi-1 with > 2 spikes."""
    sel = (ids >= lo) & (ids < hi)
    t, n = times[sel], ids[sel].astype(np.int64) - lo
    order = np.lexsort((t, n))
    t, n = t[order], n[order]
    same = n[1:] == n[:-1]
    isi, who = np.diff(t)[same], n[1:][same]
    k = np.bincount(who, minlength=hi - lo)
    s1 = np.bincount(who, isi, minlength=hi - lo)
    s2 = np.bincount(who, isi * isi, minlength=hi - lo)
    ok = k >= 2
    mean = s1[ok] / k[ok]
    var = np.maximum(s2[ok] / k[ok] - mean * mean, 0.0)
    return np.sqrt(var) / mean


def count_correlations(times, ids, neurons, t0, t1, binsize):
    """Correlation coefficients of the spike counts (bins of binsize ms from t0, as
    helpers.generate_spike_counts) of every pair of `neurons`; NaN pairs dropped."""
    edges = np.arange(t0, t1 + binsize, binsize)
    index = np.full(int(max(neurons)) + 1, -1)
    index[neurons] = np.arange(len(neurons))
    sel = ids <= max(neurons)
    row = index[ids[sel]]
    keep = row >= 0
    counts = np.zeros((len(neurons), len(edges) - 1))
    t = times[sel][keep]
    col = np.searchsorted(edges, t, side="right") - 1
    col[t == edges[-1]] = len(edges) - 2  # np.histogram's last bin is closed
    inside = (col >= 0) & (col < len(edges) - 1)
    np.add.at(counts, (row[keep][inside], col[inside]), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cc = np.corrcoef(counts)
    upper = cc[np.triu_indices(len(neurons), k=1)]
    return upper[~np.isnan(upper)]


def statistics(spikes, sizes, t0, t1, cc_sample, cc_bin, subsample_seed=12345):
    """Per population: rates, CVs and CCs of one run's spikes (times ms, ids)."""
    times, ids = window(spikes["times"], spikes["ids"].astype(np.int64), t0, t1)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    rng = np.random.default_rng(subsample_seed)
    out = {}
    for p, name in enumerate(POPS):
        lo, hi = int(bounds[p]), int(bounds[p + 1])
        sel = (ids >= lo) & (ids < hi)
        sample = np.sort(rng.choice(hi - lo, size=min(cc_sample, hi - lo), replace=False)) + lo
        out[name] = {
            "rate": rates(ids[sel], lo, hi, t0, t1),
            "cv": isi_cvs(times[sel], ids[sel], lo, hi),
            "cc": count_correlations(times[sel], ids[sel], sample, t0, t1, cc_bin),
        }
    return out


# --- running ---------------------------------------------------------------

def run_process(argv, log):
    """Runs argv; returns (wall_s, peak_rss_mb of the process, stdout)."""
    with tempfile.TemporaryDirectory(prefix="lifsim-pd14-") as tmp:
        rss_path = os.path.join(tmp, "rss")
        full = ([GNU_TIME, "-f", "%M", "-o", rss_path] if os.access(GNU_TIME, os.X_OK) else []) + argv
        env = dict(os.environ, PYNEST_QUIET="1", OMP_NUM_THREADS="1")
        start = time.perf_counter()
        child = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 cwd=str(ROOT), env=env, text=True)
        out, err = child.communicate()
        wall = time.perf_counter() - start
        if child.returncode != 0:
            tail = " | ".join(err.strip().splitlines()[-3:])
            raise SystemExit(f"microcircuit: {' '.join(argv[:3])} ... failed "
                             f"(exit status {child.returncode}): {tail}")
        peak = float("nan")
        if os.path.exists(rss_path):
            peak = int(open(rss_path).read().split()[-1]) / 1024.0
        log.write(err)
    return wall, peak, out


def run_lifsim(args, net, out_dir, log):
    spikes = out_dir / ("lifsim.npy" if args.timing_only else "lifsim.npz")
    summary = out_dir / "lifsim.json"
    fmt = "counts" if args.timing_only else "events"
    argv = [str(args.lifsim), "run", str(net), "--seed", str(args.lifsim_seed),
            "--threads", str(args.threads), "--format", fmt, "--out", str(spikes),
            "--json", str(summary), "--quiet", "--dtype", args.dtype]
    print(f"  lifsim: {' '.join(argv)}", file=sys.stderr, flush=True)
    wall, peak, _ = run_process(argv, log)
    s = json.loads(summary.read_text())
    record = {"name": "lifsim", "seed": args.lifsim_seed, "setup_s": s["setup_s"],
              "sim_s": s["sim_s"], "wall_s": wall, "peak_rss_mb": peak,
              "reported_peak_rss_mb": s.get("peak_rss_bytes", 0) / 2**20,
              "synapses": s["synapses"], "synapse_bytes": s.get("synapse_bytes"),
              "pop_rates_whole_run_hz": [p["rate_hz"] for p in s["populations"]],
              "command": " ".join(argv)}
    return record, None if args.timing_only else spikes


def run_nest(args, seed, out_dir, log):
    spikes = out_dir / f"nest-{seed}.npz"
    argv = [str(args.nest_python), str(BENCH / "peers" / "nest_microcircuit.py"),
            "--scale", str(args.scale), "--seed", str(seed), "--threads", str(args.threads),
            "--t-sim", str(args.t_model)]
    if args.poisson:
        argv.append("--poisson")
    if not args.timing_only:
        argv += ["--out", str(spikes)]
    else:
        argv.append("--no-record")
    print(f"  NEST:   {' '.join(argv)}", file=sys.stderr, flush=True)
    wall, peak, out = run_process(argv, log)
    s = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    record = {"name": f"nest-{seed}", "seed": seed, "setup_s": s["setup_s"],
              "sim_s": s["sim_s"], "prepare_s": s["prepare_s"], "wall_s": wall,
              "peak_rss_mb": peak, "reported_peak_rss_mb": s["peak_rss_mb"],
              "synapses": s["synapses"], "nest_version": s["nest_version"],
              "command": " ".join(argv)}
    if "populations" in s:
        record["pop_rates_whole_run_hz"] = [p["rate_hz"] for p in s["populations"]]
    return record, None if args.timing_only else spikes


def load_spikes(path):
    with np.load(path) as f:
        return {"times": f["times"], "ids": f["ids"]}


def machine():
    model = platform.processor() or "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


# --- report ----------------------------------------------------------------

def compare(stats_lifsim, stats_nest, seeds):
    """KS distances per population and measure: lifsim vs each NEST seed, NEST pairs."""
    result = {}
    for name in POPS:
        entry = {}
        for m in MEASURES:
            vs = [ks_distance(stats_lifsim[name][m], stats_nest[s][name][m]) for s in seeds]
            pairs = [ks_distance(stats_nest[a][name][m], stats_nest[b][name][m])
                     for i, a in enumerate(seeds) for b in seeds[i + 1:]]
            entry[m] = {
                "lifsim_vs_nest": float(np.mean(vs)) if vs else None,
                "lifsim_vs_each_nest_seed": vs,
                "nest_vs_nest": float(np.mean(pairs)) if pairs else None,
                "nest_pairs": pairs,
            }
        result[name] = entry
    return result


def fmt(x, digits=3):
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def mean_cv(pop_stats):
    """The mean ISI CV of one population's statistics; None where no neuron has one."""
    return float(np.mean(pop_stats["cv"])) if len(pop_stats["cv"]) else None


def emit(report, printer, json_path):
    """Prints `report` with `printer` and, where asked, writes it as JSON."""
    printer(report)
    if json_path:
        json_path.write_text(json.dumps(report, indent=1) + "\n")
        print(f"\nJSON: {json_path}")


def print_report(report):
    a = report["arguments"]
    print(f"\nPD14 microcircuit, scale {a['scale']} ({report['neurons']:,} neurons, "
          f"{report['synapses']:,} synapses), {a['background']} background, "
          f"{a['t_model']:g} ms model time, {a['threads']} thread(s), lifsim in "
          f"{a.get('dtype', 'float64')}"
          + ("" if a["timing_only"] else
             f"; statistics over [{a['t_discard']:g}, {a['t_model']:g}] ms"))
    seeds = a["nest_seeds"]
    if "accuracy" in report:
        print("\nmean rate (Hz) and KS distance of the per-neuron rate, ISI CV and spike-count"
              f" correlation ({a['cc_bin']:g} ms bins, {a['cc_sample']} neurons) distributions:"
              f"\nlifsim vs NEST (mean over NEST seeds {seeds}) | NEST vs NEST (mean over pairs)")
        head = (f"{'pop':5s} {'lifsim':>7s} {'NEST':>7s} {'diff':>7s} | "
                f"{'KS rate':>7s} {'(NEST)':>7s} {'KS CV':>7s} {'(NEST)':>7s} "
                f"{'KS CC':>7s} {'(NEST)':>7s}")
        print(head)
        print("-" * len(head))
        for name in POPS:
            acc = report["accuracy"][name]
            r_l, r_n = acc["mean_rate_hz"]["lifsim"], acc["mean_rate_hz"]["nest"]
            diff = f"{(r_l - r_n) / r_n * 100:+6.1f}%" if r_n else "      -"
            cells = []
            for m in MEASURES:
                cells += [fmt(acc["ks"][m]["lifsim_vs_nest"]), fmt(acc["ks"][m]["nest_vs_nest"])]
            print(f"{name:5s} {r_l:7.3f} {r_n:7.3f} {diff} | "
                  + " ".join(f"{c:>7s}" for c in cells))
    else:
        print("\n(--timing-only: no spikes recorded; lifsim's whole-run rates, Hz: "
              + ", ".join(f"{n} {r:.3f}" for n, r in
                          zip(POPS, report["runs"][0]["pop_rates_whole_run_hz"])) + ")")
    print(f"\n{'run':10s} {'setup s':>9s} {'sim s':>9s} {'RTF':>7s} {'wall s':>9s} {'peak RSS MiB':>13s}")
    for r in report["runs"]:
        print(f"{r['name']:10s} {r['setup_s']:9.2f} {r['sim_s']:9.2f} {r['rtf']:7.3f} "
              f"{r['wall_s']:9.2f} {r['peak_rss_mb']:13.1f}")
    nest = [r for r in report["runs"] if r["name"] != "lifsim"]
    if nest:
        lif = report["runs"][0]
        sim = np.median([r["sim_s"] for r in nest])
        setup = np.median([r["setup_s"] for r in nest])
        rss = np.median([r["peak_rss_mb"] for r in nest])
        print(f"NEST / lifsim: simulation {sim / lif['sim_s']:.1f}x, setup "
              f"{setup / lif['setup_s']:.1f}x, peak RSS {rss / lif['peak_rss_mb']:.1f}x "
              f"(NEST medians)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--scale", type=float, default=0.2,
                        help="N_scaling = K_scaling (default 0.2, the repository's reference-data "
                             "scale; 1 is full scale: minutes and GBs)")
    parser.add_argument("--t-model", type=float, default=1500.0,
                        help="model time of each run, ms, the discarded start included (default 1500)")
    parser.add_argument("--t-discard", type=float, default=500.0,
                        help="ms left out at the start (default 500, the recipe's)")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads of each simulator (default 2; one run at a time)")
    parser.add_argument("--poisson", action="store_true", help="Poisson background, not DC")
    parser.add_argument("--nest-seeds", default="1,2",
                        help="NEST rng_seeds, comma-separated (default 1,2; two or more for the "
                             "NEST-vs-NEST distances)")
    parser.add_argument("--lifsim-seed", type=int, default=1)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                        help="lifsim's precision (NEST's is double)")
    parser.add_argument("--cc-sample", type=int, default=50,
                        help="neurons per population for the correlations (default 50, params.py's)")
    parser.add_argument("--cc-bin", type=float, default=2.0, help="ms (default 2, params.py's)")
    parser.add_argument("--timing-only", action="store_true",
                        help="record no spikes: cost only (the recipe's performance runs)")
    parser.add_argument("--lifsim", type=pathlib.Path, default=ROOT / "target" / "release" / "lifsim")
    parser.add_argument("--nest-python", type=pathlib.Path,
                        default=BENCH / ".venv-peers" / "bin" / "python")
    parser.add_argument("--keep", type=pathlib.Path, help="keep the network file and spikes here")
    parser.add_argument("--json", type=pathlib.Path, help="write the report here as JSON")
    args = parser.parse_args(argv)
    try:
        seeds = [int(s) for s in args.nest_seeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--nest-seeds: '{args.nest_seeds}' is not a comma-separated list of integers")
    if not seeds or min(seeds) < 1 or len(set(seeds)) != len(seeds):
        parser.error("--nest-seeds: distinct integers >= 1")
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    if args.t_model <= 0 or not (args.timing_only or 0 <= args.t_discard < args.t_model):
        parser.error("--t-model must be > 0 and --t-discard >= 0 and below it")
    if not 1 <= args.threads <= (os.cpu_count() or 1):
        parser.error(f"--threads must be between 1 and the {os.cpu_count()} cores")
    if not args.lifsim.is_file():
        parser.error(f"{args.lifsim}: no lifsim binary (cargo build --release)")
    if not args.nest_python.is_file():
        parser.error(f"{args.nest_python}: no NEST venv (bench/setup_peers.sh)")

    sys.path.insert(0, str(ROOT / "examples"))
    import make_microcircuit as mc  # noqa: E402 (the generator, NumPy only)

    with tempfile.TemporaryDirectory(prefix="lifsim-pd14-") as tmp:
        out_dir = args.keep or pathlib.Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        net = out_dir / "microcircuit.toml"
        net.write_text(mc.network_file(args.scale, args.scale, args.poisson,
                                       duration=args.t_model,
                                       record="counts" if args.timing_only else "events"))
        d = mc.derived(args.scale, args.scale, args.poisson)
        sizes = d["num_neurons"]
        log = open(out_dir / "stderr.log", "w")
        started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        load = os.getloadavg()[0]
        runs, files = [], []
        rec, f = run_lifsim(args, net, out_dir, log)
        runs.append(rec)
        files.append(f)
        for seed in seeds:
            rec, f = run_nest(args, seed, out_dir, log)
            runs.append(rec)
            files.append(f)
        for r in runs:
            r["rtf"] = r["sim_s"] / (args.t_model / 1000.0)
        report = {
            "about": "bench/microcircuit.py: PD14 in lifsim and NEST; KS distances as the "
                     "microcircuit-PD14-model benchmarking recipe computes them",
            "date": started, "machine": machine(), "load_avg_1min_before": load,
            "arguments": {"scale": args.scale, "t_model": args.t_model,
                          "t_discard": args.t_discard, "threads": args.threads,
                          "background": "poisson" if args.poisson else "dc",
                          "nest_seeds": seeds, "lifsim_seed": args.lifsim_seed,
                          "cc_sample": args.cc_sample, "cc_bin": args.cc_bin,
                          "timing_only": args.timing_only, "dtype": args.dtype},
            "command": " ".join([sys.executable] + sys.argv),
            "neurons": int(sizes.sum()), "synapses": int(d["num_synapses"].sum()),
            "runs": runs,
        }
        if not args.timing_only:
            print("  analysing spikes", file=sys.stderr, flush=True)
            t0, t1 = args.t_discard, args.t_model
            st = [statistics(load_spikes(f), sizes, t0, t1, args.cc_sample, args.cc_bin)
                  for f in files]
            stats_l, stats_n = st[0], dict(zip(seeds, st[1:]))
            ks = compare(stats_l, stats_n, seeds)
            report["accuracy"] = {
                name: {
                    "mean_rate_hz": {
                        "lifsim": float(np.mean(stats_l[name]["rate"])),
                        "nest": float(np.mean([np.mean(stats_n[s][name]["rate"]) for s in seeds])),
                        "nest_each_seed": [float(np.mean(stats_n[s][name]["rate"])) for s in seeds],
                    },
                    "mean_cv": {"lifsim": mean_cv(stats_l[name]),
                                "nest_each_seed": [mean_cv(stats_n[s][name]) for s in seeds]},
                    "samples": {m: {"lifsim": len(stats_l[name][m]),
                                    "nest_each_seed": [len(stats_n[s][name][m]) for s in seeds]}
                                for m in MEASURES},
                    "ks": ks[name],
                }
                for name in POPS
            }
        log.close()
    emit(report, print_report, args.json)


if __name__ == "__main__":
    main()
