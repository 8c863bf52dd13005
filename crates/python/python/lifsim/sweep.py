"""Parameter sweeps: many runs of one model over a grid of values and seeds,
run concurrently, one simulation per core, as ``lifsim bench --sweep`` does.

Each run uses one thread and shares nothing with the others, so a sweep gives
exactly the bits its runs give one after another (the GIL is released while
a simulation steps, so the runs of a sweep really run in parallel)::

    sw = lifsim.sweep(W, {"i_ext": [15.0, 20.0, 25.0], "tau_m": [10.0, 20.0]}, t_max=50.0)
    for params, res in sw:               # 6 runs, the grid in order, first key slowest
        print(params, res.count)

    net = lifsim.Network.load("examples/cuba.toml")
    sw = lifsim.sweep(net, {"E.i_ext": [0.0, 0.1], "seed": [1, 2, 3]}, duration=200.0)
    sw.results[0].rates()                # Spikes of the first point

For a dense weight matrix the grid's keys are keywords of ``lifsim.simulate``;
for a Network they are network settings (``seed``, ``dt``) or
``"POPULATION.parameter"`` (set with ``Simulation.set`` before the run).
"""

import itertools
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

__all__ = ["Sweep", "batch", "sweep"]

# What a Network point may set before its build; everything else is POP.param.
_NETWORK_SETTINGS = ("seed", "dt")


class Sweep:
    """The runs of a sweep, in grid order: ``points[k]`` gave ``results[k]``."""

    def __init__(self, points: List[Dict[str, Any]], results: List[Any]) -> None:
        self.points = points
        self.results = results

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self) -> Iterator[Tuple[Dict[str, Any], Any]]:
        return iter(zip(self.points, self.results))

    def __getitem__(self, k: int) -> Tuple[Dict[str, Any], Any]:
        return self.points[k], self.results[k]

    def __repr__(self) -> str:
        keys = sorted({k for p in self.points for k in p})
        return f"Sweep({len(self)} runs over {', '.join(keys) or 'nothing'})"


def grid(values: Mapping[str, Sequence[Any]]) -> List[Dict[str, Any]]:
    """Every combination of ``values`` (a dict of lists), first key slowest."""
    if not isinstance(values, Mapping):
        raise TypeError(f"sweep: the grid must be a dict of lists of values, got {type(values).__name__}")
    keys = list(values)
    lists = []
    for key in keys:
        v = values[key]
        if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            raise TypeError(f"sweep: {key!r} must be a list of values, got {v!r}")
        v = list(v)
        if not v:
            raise ValueError(f"sweep: {key!r} has no values")
        lists.append(v)
    return [dict(zip(keys, combo)) for combo in itertools.product(*lists)]


def sweep(
    model: Any,
    values: Optional[Mapping[str, Sequence[Any]]] = None,
    *,
    jobs: Optional[int] = None,
    duration: Optional[float] = None,
    **fixed: Any,
) -> Sweep:
    """Runs ``model`` at every point of the grid ``values``, ``jobs`` at a time.

    model : a weight matrix (NumPy array or lifsim.Weights) for the seed's
        dense model, or a lifsim.Network.
    values : dict of lists, e.g. ``{"i_ext": [15, 20], "seed": [1, 2]}``; the
        runs are every combination, first key slowest (itertools.product).
    jobs : runs at a time (default: the cores, at most the number of runs).
        Each run uses one thread.
    duration : ms per run, for a Network (default: the network's duration).
    fixed : for a weight matrix, keywords of ``lifsim.simulate`` common to
        every run (``t_max=50.0``); not allowed for a Network.

    Returns a Sweep: points (dicts) and results (SimulationResult for a
    matrix, Spikes for a Network), in grid order. The first error raised by a
    run is raised here, naming its point.
    """
    from .network import Network

    points = grid(values or {})
    jobs = _jobs("sweep", jobs, len(points))
    if isinstance(model, Network):
        if fixed:
            raise TypeError(f"sweep: a Network takes no simulate() keywords, got {', '.join(fixed)}")
        run = _network_runner(model, duration, points)
    else:
        if duration is not None:
            raise TypeError("sweep: duration is for a Network; the dense model takes t_max")
        run = _dense_runner(model, fixed)
    return _run_all("sweep", run, points, jobs)


def _jobs(what: str, jobs: Optional[int], runs: int) -> int:
    """The runs at a time: ``jobs``, checked, or the cores; at most ``runs``."""
    if jobs is None:
        jobs = os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"{what}: jobs must be a positive integer, got {jobs!r}")
    return min(jobs, runs)


def _run_all(what: str, run: Any, points: List[Dict[str, Any]], jobs: int) -> "Sweep":
    """``run(point)`` for every point, ``jobs`` at a time, in grid order; the
    first error is raised again naming its point."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run, p) for p in points]
        results = []
        for point, future in zip(points, futures):
            try:
                results.append(future.result())
            except (TypeError, ValueError) as e:
                raise type(e)(f"{what} point {point}: {e}") from e
    return Sweep(points, results)


def _dense_runner(weights: Any, fixed: Dict[str, Any]):
    from . import Weights, simulate

    if "threads" in fixed:
        raise TypeError("sweep: each run has one thread; set jobs= for runs at a time")
    # Checked (NaN, shape) once, not once per run.
    w = weights if isinstance(weights, Weights) else Weights(weights)

    def run(point: Dict[str, Any]) -> Any:
        return simulate(w, **{**fixed, **point}, threads=1)

    return run


def _network_runner(net: Any, duration: Optional[float], points: List[Dict[str, Any]]):
    from .network import Network

    pops = net.populations
    for point in points:
        for key in point:
            if key in _NETWORK_SETTINGS:
                continue
            pop, _, param = key.partition(".")
            if not param or pop not in pops:
                raise ValueError(
                    f"sweep: {key!r} is neither a network setting ({', '.join(_NETWORK_SETTINGS)}) nor "
                    f"POPULATION.parameter with a population of this network ({', '.join(pops)})")

    def run(point: Dict[str, Any]) -> Any:
        settings = {k: v for k, v in point.items() if k in _NETWORK_SETTINGS}
        each = Network.from_description(net.description)
        if settings:
            each.set(**settings)
        # Points return spikes only: no point streams state to a file.
        sim = each.build(threads=1, state_to=False)
        changes: Dict[str, Dict[str, Any]] = {}
        for key, value in point.items():
            if key not in _NETWORK_SETTINGS:
                pop, _, param = key.partition(".")
                changes.setdefault(pop, {})[param] = value
        for pop, params in changes.items():
            sim.set(pop, **params)
        return sim.run(duration)

    return run


def batch(
    sim: Any,
    values: Optional[Mapping[str, Sequence[Any]]] = None,
    *,
    duration: Optional[float] = None,
    jobs: Optional[int] = None,
) -> Sweep:
    """Runs branches of the simulation ``sim`` from where it stands now,
    one per point of the grid ``values`` of ``"POPULATION.parameter"`` keys
    (what ``Simulation.set`` changes), ``jobs`` at a time, each ``duration``
    ms (default: to the network's duration) on one thread. ``sim`` itself
    does not move.

    What sweep does not: the branches share the run so far (a warm-up is
    simulated once, not once per point). Each branch is the simulation
    resumed from a checkpoint of its state (the network built again, as
    ``lifsim.resume`` does), so a branch gives bit for bit what
    ``sim.set(...)`` and ``sim.run(duration)`` give. Returns a Sweep of
    Spikes, in grid order.
    """
    from .network import resume

    points = grid(values or {})
    pops = [name for name, _, _ in sim._sim.populations]
    for point in points:
        for key in point:
            pop, _, param = key.partition(".")
            if not param or pop not in pops:
                raise ValueError(
                    f"batch: {key!r} is not POPULATION.parameter with a population of this network "
                    f"({', '.join(pops)}); a seed or dt needs a new build (lifsim.sweep)")
    jobs = _jobs("batch", jobs, len(points))
    with tempfile.TemporaryDirectory(prefix="lifsim-batch-") as folder:
        checkpoint = os.path.join(folder, "branch.npz")
        sim.save_checkpoint(checkpoint)

        def run(point: Dict[str, Any]) -> Any:
            branch = resume(checkpoint, threads=1, state_to=False)
            changes: Dict[str, Dict[str, Any]] = {}
            for key, value in point.items():
                pop, _, param = key.partition(".")
                changes.setdefault(pop, {})[param] = value
            for pop, params in changes.items():
                branch.set(pop, **params)
            return branch.run(duration)

        return _run_all("batch", run, points, jobs)
