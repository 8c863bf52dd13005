"""Runs PyNN's own system-test scenarios (PyNN's sdist, test/system/scenarios)
with the lifsim backend: ``python tests/python/pynn_scenarios.py`` prints each
scenario's outcome; test_pynn.py compares them with docs/pynn.md.

scripts/python-env.sh unpacks the sdist into .venv/pynn-sdist; PYNN_SDIST
names another copy.
"""

from __future__ import annotations

import contextlib
import glob
import importlib
import io
import inspect
import os
import sys
import tempfile
import time
import traceback
from typing import Dict, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def scenarios_dir() -> str:
    """The folder test/system of the PyNN sdist, or '' if there is none."""
    base = os.environ.get("PYNN_SDIST") or os.path.join(ROOT, ".venv", "pynn-sdist")
    found = sorted(glob.glob(os.path.join(base, "*", "test", "system", "scenarios")))
    return os.path.dirname(found[-1]) if found else ""


def scenarios():
    """Every scenario function: {"module.function": function}."""
    folder = scenarios_dir()
    if folder not in sys.path:
        sys.path.insert(0, folder)
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "scenarios", "test_*.py"))):
        module = importlib.import_module(f"scenarios.{os.path.basename(path)[:-3]}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("test_") and fn.__module__ == module.__name__:
                out[f"{module.__name__.split('.')[-1]}.{name}"] = fn
    return out


def run_all() -> Dict[str, Tuple[bool, str, float]]:
    """Runs each scenario with lifsim.pynn: {name: (passed, what failed, seconds)}."""
    import logging
    import warnings

    import lifsim.pynn as sim

    logging.disable(logging.CRITICAL)
    results = {}
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="pynn-scenarios-") as tmp:
        os.chdir(tmp)  # some scenarios write files into the current folder
        try:
            for name, fn in scenarios().items():
                t0 = time.perf_counter()
                try:
                    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                        warnings.simplefilter("ignore")
                        fn(sim)
                    results[name] = (True, "", time.perf_counter() - t0)
                except BaseException as err:  # noqa: BLE001 - a scenario may fail any way
                    if isinstance(err, KeyboardInterrupt):
                        raise
                    line = f"{type(err).__name__}: {err}".splitlines()[0][:200]
                    results[name] = (False, line, time.perf_counter() - t0)
                    if os.environ.get("PYNN_SCENARIOS_TRACE"):
                        traceback.print_exc()
        finally:
            os.chdir(cwd)
    return results


if __name__ == "__main__":
    res = run_all()
    for name, (ok, why, secs) in res.items():
        print(f"{'PASS' if ok else 'FAIL'} {secs:6.2f}s {name} {why}")
    print(f"{sum(ok for ok, _, _ in res.values())} of {len(res)} pass")
