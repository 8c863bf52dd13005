#!/usr/bin/env python3
"""PD14 accuracy over several seeds: is lifsim as close to NEST as NEST is to itself?

bench/microcircuit.py compares one lifsim run with one or two NEST runs; one pair of
NEST seeds cannot say whether a KS distance of 0.015 is "no larger than between two
NEST seeds" (issue 13). This companion runs --lifsim-seeds lifsim runs and
--nest-seeds NEST runs of the same microcircuit (examples/make_microcircuit.py's
network, bench/peers/nest_microcircuit.py for NEST 3.10), one process at a time and
each under `nice -n --nice`, keeps every run's spikes under --keep DIR (a run whose
spike file and record are already there, made with the same parameters, is not run
again, so the analysis can be redone or extended by more seeds), and reports per
population, over [--t-discard, --t-model] ms, with bench/microcircuit.py's
statistics (the microcircuit-PD14-model benchmarking recipe's definitions):

- the mean rate of every run: mean, standard deviation and range over seeds, for
  lifsim and for NEST;
- for the distributions of per-neuron rates, ISI CVs and spike-count correlations,
  the Kolmogorov-Smirnov distance of every lifsim-vs-NEST pair (N x M pairs) beside
  every NEST-vs-NEST pair (M (M-1) / 2) and every lifsim-vs-lifsim pair: median and
  range of each;
- a verdict per population and measure: "yes" when the median lifsim-vs-NEST distance
  is at most the largest NEST-vs-NEST distance (lifsim is, typically, no farther
  from a NEST run than some NEST run is from another);
- an exact permutation test of the same question: if lifsim's runs were further
  NEST seeds, the N + M runs would be exchangeable, and the energy statistic
  2 mean(cross KS) - mean(lifsim-lifsim KS) - mean(NEST-NEST KS) of the true
  labelling would be an ordinary draw among all C(N + M, N) relabellings; p is the
  fraction of relabellings whose statistic is at least the observed one (smallest
  possible p: 1 / C(N + M, N), or 2 / C(2N, N) when N = M, where swapping the labels
  gives the same statistic: 1/35 for 4 + 4 runs, 1/462 for 6 + 6). A small p says
  lifsim's runs are told apart from NEST's; a large p says these seeds cannot tell
  them apart.

Accuracy only: no times are reported (the machine is shared).

  bench/.venv-peers/bin/python bench/microcircuit_seeds.py --scale 1 --t-model 3000 \\
      --lifsim-seeds 1,2,3,4 --nest-seeds 1,2,3,4 --keep /tmp/pd14-keep --json r.json
"""

import argparse
import datetime
import hashlib
import itertools
import json
import os
import pathlib
import subprocess
import sys

import numpy as np

BENCH = pathlib.Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
import microcircuit as mcb  # noqa: E402 (the statistics: one definition of each)

POPS, MEASURES = mcb.POPS, mcb.MEASURES


# --- running, or finding the run already kept --------------------------------

def run_logged(argv, log, nice, stdout_path=None):
    """Runs argv under nice; its stderr goes to `log`, its stdout to stdout_path."""
    env = dict(os.environ, PYNEST_QUIET="1", OMP_NUM_THREADS="1")
    full = ["nice", "-n", str(nice)] + argv
    print(f"  running: {' '.join(argv)}", file=sys.stderr, flush=True)
    with open(log, "w") as err, open(stdout_path or os.devnull, "w") as out:
        code = subprocess.run(full, stdout=out, stderr=err, cwd=str(ROOT), env=env).returncode
    if code != 0:
        tail = " | ".join(pathlib.Path(log).read_text().strip().splitlines()[-3:])
        raise SystemExit(f"microcircuit_seeds: {' '.join(argv[:3])} ... failed "
                         f"(exit status {code}; {log}): {tail}")


def nest_run(args, seed):
    """NEST seed `seed`: its spike file, running it unless kept with these parameters."""
    spikes = args.keep / f"nest-{seed}.npz"
    record = args.keep / f"nest-{seed}.json"
    argv = [str(args.nest_python), str(BENCH / "peers" / "nest_microcircuit.py"),
            "--scale", str(args.scale), "--seed", str(seed), "--threads", str(args.threads),
            "--t-sim", str(args.t_model), "--out", str(spikes)]
    if args.poisson:
        argv.append("--poisson")
    want = {"n_scaling": args.scale, "k_scaling": args.scale, "t_sim_ms": args.t_model,
            "background": "poisson" if args.poisson else "dc", "threads": args.threads,
            "seed": seed}
    if spikes.is_file() and record.is_file():
        have = json.loads(record.read_text())
        if all(have.get(k) == v for k, v in want.items()):
            return spikes, have, "kept"
        raise SystemExit(f"microcircuit_seeds: {record} was made with other parameters "
                         f"({ {k: have.get(k) for k in want} }); use another --keep folder")
    if args.analyse_only:
        raise SystemExit(f"microcircuit_seeds: --analyse-only: no kept NEST seed {seed} "
                         f"({spikes}, {record})")
    tmp = record.with_suffix(".out")
    run_logged(argv, args.keep / f"nest-{seed}.log", args.nice, tmp)
    lines = [line for line in tmp.read_text().splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"microcircuit_seeds: NEST seed {seed} printed no JSON record ({tmp})")
    tmp.write_text(lines[-1] + "\n")
    tmp.rename(record)  # the record last: a run cut off midway is not taken as kept
    return spikes, json.loads(lines[-1]), "ran"


def lifsim_run(args, seed, net, net_sha):
    """lifsim seed `seed`: its spike file, running it unless kept with these parameters."""
    spikes = args.keep / f"lifsim-{seed}.npz"
    summary = args.keep / f"lifsim-{seed}.summary.json"
    record = args.keep / f"lifsim-{seed}.json"
    argv = [str(args.lifsim), "run", str(net), "--seed", str(seed),
            "--threads", str(args.threads), "--format", "events", "--out", str(spikes),
            "--json", str(summary), "--quiet"]
    want = {"network_sha256": net_sha, "seed": seed, "threads": args.threads}
    if spikes.is_file() and record.is_file():
        have = json.loads(record.read_text())
        if all(have.get(k) == v for k, v in want.items()):
            return spikes, have, "kept"
        raise SystemExit(f"microcircuit_seeds: {record} was made with another network file, "
                         "seed or thread count; use another --keep folder")
    if args.analyse_only:
        raise SystemExit(f"microcircuit_seeds: --analyse-only: no kept lifsim seed {seed} "
                         f"({spikes}, {record})")
    run_logged(argv, args.keep / f"lifsim-{seed}.log", args.nice)
    s = json.loads(summary.read_text())
    rec = dict(want, command=" ".join(argv), synapses=s["synapses"],
               pop_rates_whole_run_hz=[p["rate_hz"] for p in s["populations"]])
    record.write_text(json.dumps(rec) + "\n")
    return spikes, rec, "ran"


# --- comparison ----------------------------------------------------------------

def spread(values):
    """median, min and max of a list of distances (None when empty, or when a sample
    was empty: a population with no neuron of more than 2 spikes has no CVs)."""
    if not values or np.isnan(values).any():
        return None
    v = np.asarray(values, float)
    return {"median": float(np.median(v)), "min": float(v.min()), "max": float(v.max()),
            "n": len(v), "all": [float(x) for x in v]}


def energy(d, group_a):
    """2 mean(cross) - mean(within a) - mean(within b) of the distance matrix d."""
    n = len(d)
    a = np.zeros(n, bool)
    a[list(group_a)] = True
    b = ~a
    cross = d[np.ix_(a, b)].mean()

    def within(mask):
        sub = d[np.ix_(mask, mask)]
        k = int(mask.sum())
        return sub[np.triu_indices(k, 1)].mean() if k > 1 else 0.0

    return 2.0 * cross - within(a) - within(b)


def permutation_p(d, n_a):
    """Exact permutation p of the energy statistic over every relabelling of the runs
    (the first n_a rows of d are group a): P(E_perm >= E_obs) under exchangeability."""
    observed = energy(d, range(n_a))
    stats = [energy(d, comb) for comb in itertools.combinations(range(len(d)), n_a)]
    # a relative tolerance: relabellings with the same statistic up to rounding count
    ge = sum(1 for e in stats if e >= observed - 1e-12 * max(1.0, abs(observed)))
    return ge / len(stats), len(stats), float(observed)


def compare(stats_l, stats_n):
    """Per population and measure: KS of every pair, spreads, verdict, permutation p."""
    out = {}
    runs = stats_l + stats_n
    n_l = len(stats_l)
    for name in POPS:
        entry = {}
        for m in MEASURES:
            k = len(runs)
            d = np.zeros((k, k))
            for i in range(k):
                for j in range(i + 1, k):
                    d[i, j] = d[j, i] = mcb.ks_distance(runs[i][name][m], runs[j][name][m])
            lvn = [d[i, j] for i in range(n_l) for j in range(n_l, k)]
            nvn = [d[i, j] for i in range(n_l, k) for j in range(i + 1, k)]
            lvl = [d[i, j] for i in range(n_l) for j in range(i + 1, n_l)]
            e = {"lifsim_vs_nest": spread(lvn), "nest_vs_nest": spread(nvn),
                 "lifsim_vs_lifsim": spread(lvl)}
            if np.isnan(d).any() or not nvn or not lvn:
                e["verdict"] = None
                e["permutation"] = None
            else:
                e["verdict"] = bool(e["lifsim_vs_nest"]["median"] <= e["nest_vs_nest"]["max"])
                p, count, obs = permutation_p(d, n_l)
                e["permutation"] = {"p": p, "relabellings": count, "energy": obs}
            entry[m] = e
        out[name] = entry
    return out


def rate_summary(stats_runs, name):
    means = [float(np.mean(s[name]["rate"])) for s in stats_runs]
    return {"mean": float(np.mean(means)),
            "sd": float(np.std(means, ddof=1)) if len(means) > 1 else None,
            "min": float(min(means)), "max": float(max(means)), "each_seed": means}


# --- report --------------------------------------------------------------------

def cell(s):
    if s is None:
        return "-"
    return f"{s['median']:.3f} [{s['min']:.3f}, {s['max']:.3f}]"


def print_report(report):
    a = report["arguments"]
    print(f"\nPD14, scale {a['scale']:g}, {a['background']} background, {a['t_model']:g} ms, "
          f"statistics over [{a['t_discard']:g}, {a['t_model']:g}] ms; lifsim seeds "
          f"{a['lifsim_seeds']}, NEST seeds {a['nest_seeds']}")
    print("\nmean rate, Hz: mean +- sd over seeds [min, max]")
    for name in POPS:
        r = report["populations"][name]["mean_rate_hz"]
        lf, ns = r["lifsim"], r["nest"]
        diff = (lf["mean"] - ns["mean"]) / ns["mean"] * 100 if ns["mean"] else float("nan")
        sd = lambda x: f"{x['sd']:.3f}" if x["sd"] is not None else "-"  # noqa: E731
        print(f"{name:5s} lifsim {lf['mean']:.3f} +- {sd(lf)} [{lf['min']:.3f}, {lf['max']:.3f}]"
              f"  NEST {ns['mean']:.3f} +- {sd(ns)} [{ns['min']:.3f}, {ns['max']:.3f}]"
              f"  {diff:+.1f} %")
    for m in MEASURES:
        print(f"\nKS {m}: median [min, max] over pairs; verdict = median(lifsim-NEST) <= "
              "max(NEST-NEST); p = permutation p")
        print(f"{'pop':5s} {'lifsim-NEST':>22s} {'NEST-NEST':>22s} {'lifsim-lifsim':>22s} "
              f"{'verdict':>7s} {'p':>6s}")
        for name in POPS:
            e = report["populations"][name]["ks"][m]
            v = "-" if e["verdict"] is None else ("yes" if e["verdict"] else "NO")
            p = "-" if e["permutation"] is None else f"{e['permutation']['p']:.3f}"
            print(f"{name:5s} {cell(e['lifsim_vs_nest']):>22s} {cell(e['nest_vs_nest']):>22s} "
                  f"{cell(e['lifsim_vs_lifsim']):>22s} {v:>7s} {p:>6s}")


def seeds_arg(parser, text, flag):
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        parser.error(f"{flag}: '{text}' is not a comma-separated list of integers")
    if not seeds or min(seeds) < 1 or len(set(seeds)) != len(seeds):
        parser.error(f"{flag}: distinct integers >= 1")
    return seeds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--scale", type=float, default=1.0, help="N = K scaling (default 1)")
    parser.add_argument("--t-model", type=float, default=3000.0,
                        help="model time of each run, ms (default 3000)")
    parser.add_argument("--t-discard", type=float, default=500.0,
                        help="ms left out at the start (default 500, the recipe's)")
    parser.add_argument("--threads", type=int, default=2, help="threads of each run (default 2)")
    parser.add_argument("--poisson", action="store_true", help="Poisson background, not DC")
    parser.add_argument("--lifsim-seeds", default="1,2,3", help="comma-separated (default 1,2,3)")
    parser.add_argument("--nest-seeds", default="1,2,3", help="comma-separated (default 1,2,3)")
    parser.add_argument("--cc-sample", type=int, default=50,
                        help="neurons per population for the correlations (default 50)")
    parser.add_argument("--cc-bin", type=float, default=2.0, help="ms (default 2)")
    parser.add_argument("--nice", type=int, default=19, help="niceness of every run (default 19)")
    parser.add_argument("--lifsim", type=pathlib.Path, default=ROOT / "target" / "release" / "lifsim")
    parser.add_argument("--nest-python", type=pathlib.Path,
                        default=BENCH / ".venv-peers" / "bin" / "python")
    parser.add_argument("--keep", type=pathlib.Path, required=True,
                        help="folder for the network file, spikes and run records (reused)")
    parser.add_argument("--analyse-only", action="store_true",
                        help="run nothing: analyse the runs kept under --keep")
    parser.add_argument("--json", type=pathlib.Path, help="write the report here as JSON")
    args = parser.parse_args(argv)
    lifsim_seeds = seeds_arg(parser, args.lifsim_seeds, "--lifsim-seeds")
    nest_seeds = seeds_arg(parser, args.nest_seeds, "--nest-seeds")
    if len(nest_seeds) < 2:
        parser.error("--nest-seeds: at least 2 (NEST-vs-NEST needs a pair)")
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    if not 0 <= args.t_discard < args.t_model:
        parser.error("--t-discard must be >= 0 and below --t-model")
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    if not args.analyse_only:
        if not args.lifsim.is_file():
            parser.error(f"{args.lifsim}: no lifsim binary (cargo build --release)")
        if not args.nest_python.is_file():
            parser.error(f"{args.nest_python}: no NEST venv (bench/setup_peers.sh)")

    sys.path.insert(0, str(ROOT / "examples"))
    import make_microcircuit as mc  # noqa: E402 (the generator, NumPy only)

    args.keep.mkdir(parents=True, exist_ok=True)
    net = args.keep / "microcircuit.toml"
    text = mc.network_file(args.scale, args.scale, args.poisson, duration=args.t_model,
                           record="events")
    # never rewritten under --analyse-only: the kept lifsim runs were made from it
    # (their records hold its hash, so a run from another file is refused anyway)
    if not args.analyse_only and (not net.is_file() or net.read_text() != text):
        net.write_text(text)
    net_sha = hashlib.sha256(text.encode()).hexdigest()
    sizes = mc.derived(args.scale, args.scale, args.poisson)["num_neurons"]
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")

    runs, files = [], []
    # NEST first: the long runs; then lifsim. One process at a time.
    for kind, seeds in (("nest", nest_seeds), ("lifsim", lifsim_seeds)):
        for seed in seeds:
            if kind == "nest":
                path, rec, how = nest_run(args, seed)
            else:
                path, rec, how = lifsim_run(args, seed, net, net_sha)
            print(f"  {kind} seed {seed}: {how}", file=sys.stderr, flush=True)
            runs.append({"simulator": kind, "seed": seed, "record": rec})
            files.append((kind, path))

    print("  analysing spikes", file=sys.stderr, flush=True)
    t0, t1 = args.t_discard, args.t_model
    stats = {"nest": [], "lifsim": []}
    for kind, path in files:
        stats[kind].append(mcb.statistics(mcb.load_spikes(path), sizes, t0, t1,
                                          args.cc_sample, args.cc_bin))
    ks = compare(stats["lifsim"], stats["nest"])
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    report = {
        "about": "bench/microcircuit_seeds.py: PD14 KS distances lifsim-vs-NEST over all "
                 "seed pairs beside NEST-vs-NEST; accuracy only, no times",
        "date_analysed": started, "git_commit_of_script": commit, "machine": mcb.machine(),
        "arguments": {"scale": args.scale, "t_model": args.t_model, "t_discard": args.t_discard,
                      "threads": args.threads,
                      "background": "poisson" if args.poisson else "dc",
                      "lifsim_seeds": lifsim_seeds, "nest_seeds": nest_seeds,
                      "cc_sample": args.cc_sample, "cc_bin": args.cc_bin},
        "command": " ".join([sys.executable] + sys.argv),
        "neurons": int(sizes.sum()), "runs": runs,
        "populations": {
            name: {
                "mean_rate_hz": {"lifsim": rate_summary(stats["lifsim"], name),
                                 "nest": rate_summary(stats["nest"], name)},
                "mean_cv": {k: [mcb.mean_cv(s[name]) for s in stats[k]]
                            for k in ("lifsim", "nest")},
                "samples": {m: {k: [len(s[name][m]) for s in stats[k]]
                                for k in ("lifsim", "nest")} for m in MEASURES},
                "ks": ks[name],
            }
            for name in POPS
        },
    }
    mcb.emit(report, print_report, args.json)


if __name__ == "__main__":
    main()
