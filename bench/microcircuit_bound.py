#!/usr/bin/env python3
"""The lower bound of a network run on this machine, and lifsim's distance from it.

    bench/microcircuit_bound.py NETWORK.toml RUN.json [--threads 2]

RUN.json is `lifsim run NETWORK.toml --json RUN.json`'s summary (per-population
rates; its sim_s and threads). From the network file's projections (fixed_total_number
counts `n`, or sources x in-degree) and the measured rates it computes the synaptic
events per second of model time, the bytes of synapses that must be read for them
(9 per event: lifsim's compact u32 target, f32 weight, one-byte delay), and then,
from bench/bound/event_cost.c compiled here and run on this machine (one copy per
thread, at once):

- the bandwidth bound on the real-time factor: the synapse bytes at the machine's
  measured streaming rate (no run can read its synapses faster);
- the inner loop alone: event_cost's cost of one event (read a synapse, add its
  weight into a float64 ring buffer of the partition's size, rows by delay then
  target, delays uniform over 40 slots: lifsim's delivery loop and nothing else) and
  the real-time factor it would give. Not a strict bound (PD14's delays cluster more
  than uniform ones, so lifsim's own rows can beat it), but what the ring buffer's
  memory traffic costs when nothing else is done.

Prints a table and, with --json, writes the numbers.
"""
import argparse
import json
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def events_per_second(net, rates):
    """Synaptic events per second of model time: each projection's synapses times
    its source population's rate."""
    sizes = {p["name"]: p["size"] for p in net["population"]}
    total = 0.0
    for p in net.get("projection", []):
        sources = p["source"] if isinstance(p["source"], list) else [p["source"]]
        targets = p["target"] if isinstance(p["target"], list) else [p["target"]]
        n_src = sum(sizes[s] for s in sources)
        if "n" in p:
            synapses = p["n"]
        elif "indegree" in p:
            synapses = p["indegree"] * sum(sizes[t] for t in targets)
        else:
            sys.exit(f"bound: projection {sources} -> {targets}: rule {p['rule']} not counted")
        # Synapses spread evenly over the sources (fixed_total_number, indegree).
        rate = sum(rates[s] * sizes[s] for s in sources) / n_src
        total += synapses * rate
    return total


def event_cost(neurons, slots, delays, events, threads):
    exe = Path("/tmp") / "lifsim_event_cost"
    subprocess.run(["cc", "-O2", "-march=native", "-o", str(exe),
                    str(HERE / "bound" / "event_cost.c")], check=True)
    procs = [subprocess.Popen([str(exe), str(neurons), str(slots), str(delays), str(events)],
                              stdout=subprocess.PIPE, text=True) for _ in range(threads)]
    out = [json.loads(p.communicate()[0]) for p in procs]
    return (min(o["stream_gb_s"] for o in out) * threads,
            max(o["ns_per_event"] for o in out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("network", type=Path)
    ap.add_argument("run", type=Path)
    ap.add_argument("--events", type=int, default=100_000_000,
                    help="events per event_cost copy (default 1e8)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    net = tomllib.loads(a.network.read_text())
    run = json.loads(a.run.read_text())
    rates = {p["name"]: p["rate_hz"] for p in run["populations"]}
    threads = run["threads"]
    n = sum(p["size"] for p in net["population"])
    per_s = events_per_second(net, rates)
    model_s = run["duration_ms"] * 1e-3
    # The ring of one partition: 64 slots (delays up to ~6 ms at 0.1 ms),
    # PD14's delays spread over about 40 of them.
    gb_s, ns = event_cost(n // threads, 64, 40, a.events, threads)
    bytes_per_s = 9 * per_s
    rtf_bw = bytes_per_s / (gb_s * 1e9)
    rtf_events = per_s * ns * 1e-9 / threads
    rtf = run["sim_s"] / model_s
    report = {
        "network": str(a.network), "neurons": n, "threads": threads,
        "events_per_model_s": per_s, "synapse_bytes_per_model_s": bytes_per_s,
        "stream_gb_s": gb_s, "ns_per_event": ns,
        "rtf_bound_bandwidth": rtf_bw, "rtf_inner_loop_alone": rtf_events,
        "rtf_lifsim": rtf, "lifsim_ns_per_event": run["sim_s"] * threads / (per_s * model_s) * 1e9,
    }
    print(f"events per model second      {per_s:.3e}")
    print(f"synapse bytes per model s    {bytes_per_s / 1e9:.2f} GB (9 B per event)")
    print(f"streaming rate ({threads} threads)    {gb_s:.2f} GB/s -> RTF >= {rtf_bw:.3f}")
    print(f"inner loop alone             {ns:.2f} ns per event per thread -> RTF {rtf_events:.3f}")
    print(f"lifsim                       RTF {rtf:.3f} "
          f"({report['lifsim_ns_per_event']:.2f} ns per event per thread)")
    if a.json:
        a.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
