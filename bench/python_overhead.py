"""What building and running a network from Python costs beside `lifsim run`.

CUBA (examples/cuba.toml, 4,000 neurons, 1 s) three ways, alternating, one thread:

- cli:     `lifsim run examples/cuba.toml --format events` as a whole process (read the
           file, build, run, write the spikes);
- python:  inside one Python process that has imported lifsim, `examples/cuba.py`'s
           network built in Python (`cuba.cuba()`), `net.build()` and `sim.run()`;
- startup: `python -c "import lifsim"`, the fixed cost a script pays once.

Prints each one's median and python / cli (the issue's "within 10 %" compares the
first two: interpreter start and import are reported apart, as a script pays them once
whatever it runs).

    .venv/bin/python bench/python_overhead.py --rounds 9 --json overhead.json
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

IN_PROCESS = """
import sys, time
sys.path.insert(0, {examples!r})
import cuba
for _ in range({rounds}):
    sys.stdin.readline()  # the bench's turn to this process
    t0 = time.perf_counter()
    sim = cuba.cuba().build(threads=1)
    spikes = sim.run()
    print(time.perf_counter() - t0, len(spikes.times), flush=True)
"""


def timed(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--lifsim", default=os.path.join(ROOT, "target/release/lifsim"))
    ap.add_argument("--json", help="write the medians here")
    args = ap.parse_args()
    out = tempfile.mkdtemp(prefix="lifsim-overhead-")
    cli = [args.lifsim, "run", os.path.join(ROOT, "examples/cuba.toml"), "--threads", "1",
           "--quiet", "--format", "events", "--out", os.path.join(out, "cuba.npz"),
           "--json", os.path.join(out, "cuba.json")]
    startup = [sys.executable, "-c", "import lifsim"]
    # One Python process runs every in-process round (as a notebook would), each
    # round's number read as it is printed, alternating with the other two.
    code = IN_PROCESS.format(examples=os.path.join(ROOT, "examples"), rounds=args.rounds)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    rows = {"cli": [], "python": [], "startup": []}
    spikes = None
    for _ in range(args.rounds):
        rows["cli"].append(timed(cli))
        proc.stdin.write("\n")
        proc.stdin.flush()
        seconds, n = proc.stdout.readline().split()
        rows["python"].append(float(seconds))
        spikes = int(n)
        rows["startup"].append(timed(startup))
    proc.wait()
    with open(os.path.join(out, "cuba.json")) as f:
        cli_spikes = json.load(f)["spikes"]
    if cli_spikes != spikes:
        sys.exit(f"python_overhead: the CLI saw {cli_spikes} spikes, Python {spikes}")
    med = {k: statistics.median(v) for k, v in rows.items()}
    for k, v in rows.items():
        print(f"{k:8s} median {med[k] * 1e3:7.1f} ms   ({', '.join(f'{x * 1e3:.0f}' for x in v)})")
    print(f"python / cli: {med['python'] / med['cli']:.3f}  ({spikes} spikes each)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"medians_s": med, "rounds": rows, "ratio": med["python"] / med["cli"],
                       "spikes": spikes}, f, indent=1)


if __name__ == "__main__":
    main()
