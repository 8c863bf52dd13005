"""Shared harness for the NEST network peers (`nest_cuba.py`, `nest_brunel.py`).

Not a peer itself. A peer builds its network inside `build` (timed as the setup
phase: kernel set-up, `Create`, `Connect`), then `simulate` runs `nest.Simulate`
(the simulation phase, as NEST's own `brunel_delta_nest.py` times it; NEST's
`Prepare`, which builds its connection tables, is part of `Simulate` and is
reported on its own as `prepare_s`). One JSON line goes to stdout:
{"peer", "workload", "setup_s", "sim_s", "rate_hz", "peak_rss_mb", "spikes", ...}.
"""

import argparse
import json
import os
import resource
import sys
import time


def parse_args(description):
    """The command line every NEST peer takes: --seed, --threads, --t-sim."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seed", type=int, default=1, help="NEST rng_seed (>= 1)")
    parser.add_argument("--threads", type=int, default=1,
                        help="NEST local_num_threads (the comparison uses 1)")
    parser.add_argument("--t-sim", type=float, default=1000.0,
                        help="simulated time, ms (default 1000, as the workload)")
    args = parser.parse_args()
    if args.seed < 1:
        parser.error("--seed must be >= 1 (NEST's rng_seed)")
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    if args.t_sim <= 0:
        parser.error("--t-sim must be > 0")
    return args


def import_nest():
    """Imports NEST quietly (its banner goes to stdout, which must hold only JSON)."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    saved = os.dup(1)
    os.dup2(2, 1)  # anything NEST prints while loading lands on stderr
    try:
        import nest
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    if hasattr(nest, "VerbosityLevel"):  # NEST 3.9+
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    return nest


def peak_rss_mb():
    """This process's peak resident set size, MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(nest, args, peer, workload, build):
    """Times `build(nest)` (setup) and `nest.Simulate` (simulation), prints the JSON line.

    `build` resets nothing itself: the kernel is reset and configured here (resolution
    0.1 ms, one thread unless --threads, rng_seed --seed), inside the setup time. It
    returns (recorder, n_neurons, extra) where recorder is a spike_recorder
    connected to every neuron and extra a dict merged into the JSON line.
    """
    start = time.perf_counter()
    nest.ResetKernel()
    nest.set(resolution=0.1, local_num_threads=args.threads, rng_seed=args.seed,
             print_time=False)
    recorder, n_neurons, extra = build(nest)
    built = time.perf_counter()
    # Simulate == Prepare + Run + Cleanup; split only to report Prepare's share.
    nest.Prepare()
    prepared = time.perf_counter()
    nest.Run(args.t_sim)
    nest.Cleanup()
    done = time.perf_counter()

    spikes = int(recorder.n_events)
    num_synapses = int(nest.num_connections)
    record = {
        "peer": peer,
        "workload": workload,
        "setup_s": built - start,
        "sim_s": done - built,
        "rate_hz": spikes / n_neurons / (args.t_sim / 1000.0),
        "peak_rss_mb": peak_rss_mb(),
        "spikes": spikes,
        "prepare_s": prepared - built,
        "neurons": n_neurons,
        # Includes the n_neurons recorder connections (and generator ones).
        "connections": num_synapses,
        "threads": args.threads,
        "seed": args.seed,
        "nest_version": nest.__version__,
    }
    record.update(extra)
    print(json.dumps(record), flush=True)
