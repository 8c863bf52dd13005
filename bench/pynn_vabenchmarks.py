"""PyNN's examples/VAbenchmarks.py (COBA and CUBA), unmodified, on lifsim.pynn
and, where NEST is installed, on pyNN.nest: rates and wall times side by side.

    .venv/bin/python bench/pynn_vabenchmarks.py [--json out.json]

The script is PyNN's own file from its source distribution (scripts/python-env.sh
unpacks it into .venv/pynn-sdist). It picks its backend by name
(``get_simulator`` imports ``pyNN.<name>``); for lifsim this runner calls
``lifsim.pynn.register()`` (``pyNN.lifsim`` in sys.modules) before running the file
(the one "import line" difference). Each run is a fresh process; pyNN.nest runs with
bench/.venv-peers/bin/python (bench/setup_peers.sh plus ``pip install PyNN``).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEST_PY = os.path.join(ROOT, "bench", ".venv-peers", "bin", "python")

# Run inside the child process: alias the backend and run the file as __main__.
LIFSIM_PRELUDE = """
import runpy, sys
import lifsim.pynn
lifsim.pynn.register()  # importable as pyNN.lifsim
sys.argv = sys.argv[1:]  # python -c CODE file backend benchmark: the file's argv
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def script() -> str:
    found = sorted(glob.glob(os.path.join(ROOT, ".venv", "pynn-sdist", "*", "examples", "VAbenchmarks.py")))
    if not found:
        sys.exit("no PyNN sdist in .venv/pynn-sdist: run scripts/python-env.sh")
    return found[-1]


def run(python: str, backend: str, benchmark: str, path: str) -> dict:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="vabench-") as tmp:
        if backend == "lifsim":
            cmd = [python, "-c", LIFSIM_PRELUDE, path, backend, benchmark]
        else:
            cmd = [python, path, backend, benchmark]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, env=dict(os.environ, PYNEST_QUIET="1"))
        wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{backend} {benchmark} failed:\n{out.stderr[-3000:]}")
    text = out.stdout

    def number(label):
        m = re.search(rf"{label}\s*:\s*([-0-9.e+]+)", text)
        return float(m.group(1)) if m else None

    return {"backend": backend, "benchmark": benchmark, "exc_rate_hz": number("Excitatory rate"),
            "inh_rate_hz": number("Inhibitory rate"), "build_s": number("Build time"),
            "sim_s": number("Simulation time"), "process_wall_s": round(wall, 3),
            "load_avg_1min_before": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--no-nest", action="store_true", help="lifsim only")
    args = parser.parse_args()
    path = script()
    backends = [("lifsim", sys.executable)]
    if not args.no_nest and os.path.exists(NEST_PY):
        backends.append(("nest", NEST_PY))
    results = []
    for benchmark in ("COBA", "CUBA"):
        for backend, python in backends:
            r = run(python, backend, benchmark, path)
            results.append(r)
            print(f"{benchmark} {backend:6s} exc {r['exc_rate_hz']:7.3f} Hz  inh {r['inh_rate_hz']:7.3f} Hz  "
                  f"build {r['build_s']} s  sim {r['sim_s']} s  process {r['process_wall_s']} s", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"script": os.path.relpath(path, ROOT), "cpus": os.cpu_count(),
                       "about": "build_s and sim_s as VAbenchmarks.py prints them (lifsim builds its network "
                                "at the first run, so its sim_s includes that); process_wall_s the whole process",
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
