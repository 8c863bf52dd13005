"""Shared harness for the Brian2 network peers (`brian2_cuba.py`, `brian2_brunel.py`).

Not a peer itself. Each peer defines `build(b2, args)`, which creates the network's
Brian2 objects (with `b2` the `brian2` module) and returns (objects, spike_monitor,
n_neurons, extra), objects being everything the Network must hold; `run` runs it in one of Brian2's two modes and prints one JSON line:
{"peer", "workload", "setup_s", "sim_s", "rate_hz", "peak_rss_mb", "spikes", ...}.

`--mode runtime`: Brian2's default runtime mode (Cython code generation, compiled
modules cached under ~/.cython/brian_extensions; the first run after installing
compiles them, so the comparison script primes the cache with one untimed run).
setup_s is the Python construction (NeuronGroup, Synapses.connect, which runs
generated code), sim_s the wall time of `run(1 * second)` (which includes Brian2's
preparation of its code objects before the first step).

`--mode standalone`: C++ standalone (`set_device('cpp_standalone',
build_on_run=False)`, OpenMP off: one thread). The Python script only describes the
network; `device.build(compile=True, run=False)` writes and compiles the C++ project
(reported as compile_s, excluded from the comparison; the project directory is kept,
so unchanged files are not recompiled). The compiled `main` binary is then run here
as a child process: binary_s is its wall time, which is what "the binary" costs
(network construction, simulation, writing its results). sim_s is the simulation
loop alone as the binary reports it (results/last_run_info.txt) and setup_s the rest
(binary_s - sim_s). peak_rss_mb is the binary's own peak RSS (from GNU time, so
neither the compiler's nor this Python process's memory is counted); the Python
process's is python_peak_rss_mb.
No seed is set in standalone mode (a seed would be compiled into the binary): the
binary draws a fresh network and initial state each run.
"""

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_BUILD_ROOT = HERE.parent / ".brian2-build"
GNU_TIME = "/usr/bin/time"


def parse_args(description):
    """The command line every Brian2 peer takes: --mode, --seed, --build-dir, --t-sim."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--mode", choices=["runtime", "standalone"], default="runtime")
    parser.add_argument("--seed", type=int, default=1,
                        help="Brian2 seed (runtime mode only; see module doc)")
    parser.add_argument("--build-dir", type=pathlib.Path, default=None,
                        help="C++ project directory for standalone mode "
                             "[default: bench/.brian2-build/WORKLOAD]")
    parser.add_argument("--t-sim", type=float, default=1000.0,
                        help="simulated time, ms (default 1000, as the workload)")
    args = parser.parse_args()
    if args.t_sim <= 0:
        parser.error("--t-sim must be > 0")
    return args


def _maxrss_mb(usage):
    return usage.ru_maxrss / 1024.0  # Linux: KiB


def run(args, workload, build):
    """Builds and runs the network in args.mode, prints the JSON line."""
    start = time.perf_counter()
    import brian2 as b2
    b2.prefs.logging.console_log_level = "WARNING"
    b2.BrianLogger.suppress_name("brian2.codegen.generators.base")  # "unused" notes
    import_s = time.perf_counter() - start
    t_sim = args.t_sim * b2.ms
    if args.mode == "runtime":
        b2.prefs.codegen.target = "cython"
        b2.seed(args.seed)
        b2.defaultclock.dt = 0.1 * b2.ms
        start = time.perf_counter()
        objects, monitor, n_neurons, extra = build(b2, args)
        net = b2.Network(*objects)
        built = time.perf_counter()
        net.run(t_sim)
        done = time.perf_counter()
        spikes = int(monitor.num_spikes)
        record = {"setup_s": built - start, "sim_s": done - built,
                  "peak_rss_mb": _maxrss_mb(resource.getrusage(resource.RUSAGE_SELF)),
                  "seed": args.seed}
    else:
        build_dir = (args.build_dir or DEFAULT_BUILD_ROOT / workload).resolve()
        b2.set_device("cpp_standalone", directory=str(build_dir), build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = 0
        b2.defaultclock.dt = 0.1 * b2.ms
        start = time.perf_counter()
        objects, monitor, n_neurons, extra = build(b2, args)
        net = b2.Network(*objects)
        net.run(t_sim)
        described = time.perf_counter()
        b2.device.build(directory=str(build_dir), compile=True, run=False)
        compiled = time.perf_counter()
        binary_s, binary_rss_mb = _run_binary(b2.get_device(), build_dir)
        sim_s = b2.get_device()._last_run_time  # the binary's own timing of its run loop
        spikes = int(monitor.num_spikes)
        record = {"setup_s": binary_s - sim_s, "sim_s": sim_s, "binary_s": binary_s,
                  "compile_s": compiled - described, "describe_s": described - start,
                  "peak_rss_mb": binary_rss_mb,
                  "python_peak_rss_mb": _maxrss_mb(
                      resource.getrusage(resource.RUSAGE_SELF))}
    record = {"peer": f"brian2_{args.mode}", "workload": workload,
              **record, "rate_hz": spikes / n_neurons / (args.t_sim / 1000.0),
              "spikes": spikes, "neurons": n_neurons, "import_s": import_s,
              "brian2_version": b2.__version__, **extra}
    # Fixed key order: the five the comparison reads first.
    keys = ["peer", "workload", "setup_s", "sim_s", "rate_hz", "peak_rss_mb", "spikes"]
    ordered = {k: record[k] for k in keys}
    ordered.update({k: v for k, v in record.items() if k not in ordered})
    print(json.dumps(ordered), flush=True)


def _run_binary(device, build_dir):
    """Runs the compiled `main` as Brian2's device.run would, timing it and its memory.

    Returns (wall seconds, peak RSS MB of that child alone). Afterwards the device
    is marked as run, so the monitors read the binary's results as usual.
    """
    results_dir = os.path.join(str(build_dir), "results", "")
    os.makedirs(results_dir, exist_ok=True)
    run_info = os.path.join(results_dir, "last_run_info.txt")
    if os.path.exists(run_info):
        os.remove(run_info)  # never read a previous run's timing
    # A child's ru_maxrss starts from the peak of the process that forked it (Linux
    # keeps the larger across exec), so measured from here it would include this
    # Python process's ~110 MB. GNU time forks `main` from its own small process and
    # reports main's own peak; without it, fall back to the inflated number.
    rss_file = os.path.join(results_dir, "peak_rss_kib.txt")
    command = ["./main", "--results_dir", results_dir]
    if os.access(GNU_TIME, os.X_OK):
        command = [GNU_TIME, "-f", "%M", "-o", rss_file] + command
    with open(os.path.join(results_dir, "stdout.txt"), "w") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=str(build_dir), stdout=out,
                                 stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"brian2 standalone: {build_dir}/main exited with {child.returncode}; "
                 f"see {results_dir}stdout.txt")
    if command[0] == GNU_TIME:
        with open(rss_file) as f:
            peak_mb = int(f.read().split()[-1]) / 1024.0
    else:
        print(f"brian2 standalone: {GNU_TIME} not found; peak RSS includes the "
              "Python parent's", file=sys.stderr)
        peak_mb = _maxrss_mb(usage)
    # What CPPStandaloneDevice.run does after its own subprocess call.
    device.results_dir = results_dir
    device.has_been_run = True
    with open(run_info) as f:
        run_time, completed = f.read().split()
    device._last_run_time = float(run_time)
    device._last_run_completed_fraction = float(completed)
    return wall, peak_mb
