"""Statistics of spike trains, per population, as NumPy arrays.

The functions take spikes as ``lifsim.Spikes`` gives them (times in ms, global
neuron ids, the populations as ``(name, first id, end id)``) and return NumPy
arrays; ``Spikes`` has each as a method (``spikes.isi_cv("E")``). The
definitions are the field's usual ones, each stated where it is defined:

- ``rates_per_neuron``: spikes of each neuron / the span, Hz;
- ``isi_cv``: std / mean of each neuron's inter-spike intervals (NumPy's std,
  ``ddof=0``, as Elephant's ``cv``), for neurons with at least 3 spikes (the
  PD14 benchmarking recipe's rule), NaN for the others;
- ``fano_factor``: variance / mean of each neuron's spike counts in bins of
  ``bin`` ms (``ddof=0``), NaN for a neuron without spikes;
- ``psth``: spikes of the population per bin / (neurons x bin width), Hz
  (Brian2's PopulationRateMonitor binned; NEST's examples' histograms).

Exports: ``to_pandas`` (one row a spike), ``to_neo`` (a Neo ``Block``, one
``SpikeTrain`` a neuron, for Elephant); ``plot`` draws what ``lifsim plot``
draws (a raster coloured by population over the population rate) with
matplotlib. pandas, neo and matplotlib are optional.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np

__all__ = ["rates_per_neuron", "isi_cv", "fano_factor", "psth", "to_pandas", "to_neo", "plot"]

# (name, first global id, end global id)
Populations = Sequence[Tuple[str, int, int]]


def _span(t_start: float, t_stop: float) -> float:
    if not t_stop > t_start:
        raise ValueError(f"the spikes cover no time: t_start {t_start} ms, t_stop {t_stop} ms")
    return t_stop - t_start


def _population(populations: Populations, name: str) -> Tuple[int, int]:
    for p, lo, hi in populations:
        if p == name:
            return lo, hi
    raise KeyError(f"no population {name!r}; the populations are {[p[0] for p in populations]}")


def _bins(t_start: float, t_stop: float, bin: float) -> np.ndarray:
    if not bin > 0:
        raise ValueError(f"bin must be a positive width in ms, got {bin!r}")
    n = int(np.floor(_span(t_start, t_stop) / bin + 1e-9))
    if n < 1:
        raise ValueError(f"bin {bin} ms is longer than the spikes' span of {t_stop - t_start} ms")
    return t_start + bin * np.arange(n + 1)


def rates_per_neuron(times, ids, populations: Populations, name: str, t_start: float, t_stop: float) -> np.ndarray:
    """Firing rate of each neuron of population ``name`` (in id order), Hz."""
    lo, hi = _population(populations, name)
    keep = (ids >= lo) & (ids < hi)
    counts = np.bincount(np.asarray(ids[keep], dtype=np.int64) - lo, minlength=hi - lo)
    return counts / (_span(t_start, t_stop) * 1e-3)


def _trains(times, ids, lo: int, hi: int):
    """Each neuron's spike times (sorted), in id order."""
    keep = (ids >= lo) & (ids < hi)
    t, i = np.asarray(times[keep]), np.asarray(ids[keep], dtype=np.int64) - lo
    order = np.lexsort((t, i))
    t, i = t[order], i[order]
    cuts = np.searchsorted(i, np.arange(hi - lo + 1))
    return [t[cuts[k]:cuts[k + 1]] for k in range(hi - lo)]


def isi_cv(times, ids, populations: Populations, name: str) -> np.ndarray:
    """Coefficient of variation of each neuron's inter-spike intervals (NaN below 3 spikes)."""
    lo, hi = _population(populations, name)
    out = np.full(hi - lo, np.nan)
    for k, train in enumerate(_trains(times, ids, lo, hi)):
        if len(train) >= 3:
            isi = np.diff(train)
            out[k] = isi.std() / isi.mean()
    return out


def fano_factor(times, ids, populations: Populations, name: str, t_start: float, t_stop: float,
                bin: float) -> np.ndarray:
    """Each neuron's variance / mean of its spike counts in bins of ``bin`` ms (NaN if silent)."""
    lo, hi = _population(populations, name)
    edges = _bins(t_start, t_stop, bin)
    keep = (ids >= lo) & (ids < hi) & (times >= edges[0]) & (times <= edges[-1])
    b = np.minimum(((times[keep] - edges[0]) / bin).astype(np.int64), len(edges) - 2)
    counts = np.zeros((hi - lo, len(edges) - 1))
    np.add.at(counts, (np.asarray(ids[keep], dtype=np.int64) - lo, b), 1.0)
    mean = counts.mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean > 0, counts.var(axis=1) / mean, np.nan)


def psth(times, ids, populations: Populations, name: str, t_start: float, t_stop: float,
         bin: float) -> Tuple[np.ndarray, np.ndarray]:
    """The population's rate in bins of ``bin`` ms: (bin start times in ms, Hz)."""
    lo, hi = _population(populations, name)
    edges = _bins(t_start, t_stop, bin)
    keep = (ids >= lo) & (ids < hi)
    counts, _ = np.histogram(times[keep], bins=edges)
    return edges[:-1], counts / ((hi - lo) * bin * 1e-3)


def to_pandas(times, ids, populations: Populations) -> Any:
    """One row a spike: ``time_ms``, ``id`` (global), ``population`` (categorical), ``index`` (within it)."""
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("to_pandas needs pandas: pip install pandas") from e
    names = [p[0] for p in populations]
    starts = np.array([p[1] for p in populations], dtype=np.int64)
    stops = np.array([p[2] for p in populations], dtype=np.int64)
    k = np.searchsorted(stops, ids, side="right")
    return pd.DataFrame({
        "time_ms": np.asarray(times, dtype=np.float64),
        "id": np.asarray(ids),
        "population": pd.Categorical.from_codes(k, categories=names),
        "index": np.asarray(ids, dtype=np.int64) - starts[k],
    })


def to_neo(times, ids, populations: Populations, t_start: float, t_stop: float,
           names: Optional[Sequence[str]] = None) -> Any:
    """A Neo ``Block`` with one ``Segment``: a ``SpikeTrain`` (ms) per neuron of each
    population in ``names`` (all by default), annotated with ``population``,
    ``index`` (within it) and ``id`` (global), in id order; one ``Group`` a
    population holding its trains."""
    try:
        import neo
        import quantities as pq
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("to_neo needs neo: pip install neo") from e
    block = neo.Block(name="lifsim")
    segment = neo.Segment(name="run")
    block.segments.append(segment)
    for name, lo, hi in populations:
        if names is not None and name not in names:
            continue
        group = neo.Group(name=name)
        for k, train in enumerate(_trains(times, ids, lo, hi)):
            st = neo.SpikeTrain(train * pq.ms, t_start=t_start * pq.ms, t_stop=t_stop * pq.ms,
                                name=f"{name}[{k}]")
            st.annotate(population=name, index=k, id=lo + k)
            segment.spiketrains.append(st)
            group.add(st)
        block.groups.append(group)
    return block


def _subset(lo: int, hi: int, per_population: Optional[int]) -> np.ndarray:
    """The ids drawn of a population: all, or ``per_population`` evenly spaced (NEST's
    Brunel example plots the first 50; evenly spaced ones show the whole population)."""
    if per_population is None or per_population >= hi - lo:
        return np.arange(lo, hi)
    if per_population < 1:
        raise ValueError(f"per_population must be at least 1, got {per_population}")
    return lo + np.linspace(0, hi - lo - 1, per_population).round().astype(np.int64)


def plot(times, ids, populations: Populations, t_start: float, t_stop: float, *,
         per_population: Optional[int] = None, bin: float = 1.0, ax: Any = None) -> Any:
    """A raster of the spikes coloured by population (above) over each population's
    rate in ``bin`` ms bins (below), as ``lifsim plot`` draws it. ``per_population``:
    draw that many neurons of each population (evenly spaced), their rows stacked
    population after population. ``ax``: two matplotlib axes to draw into
    (raster, rate); by default a new figure. Returns the figure."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("plot needs matplotlib: pip install matplotlib") from e
    if ax is None:
        fig, ax = plt.subplots(2, 1, sharex=True, figsize=(8, 6), gridspec_kw={"height_ratios": [3, 1]})
    raster, rate = ax
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    row = 0
    for k, (name, lo, hi) in enumerate(populations):
        shown = _subset(lo, hi, per_population)
        keep = np.isin(ids, shown)
        rows = row + np.searchsorted(shown, ids[keep])
        colour = colours[k % len(colours)]
        raster.plot(times[keep], rows, ".", markersize=1.5, color=colour, label=name)
        t, r = psth(times, ids, populations, name, t_start, t_stop, bin)
        rate.plot(t + bin / 2, r, color=colour, label=name)
        row += len(shown)
    raster.set_ylabel("neuron" if per_population is None else f"neuron ({per_population} a population)")
    raster.set_ylim(-0.5, row - 0.5)
    raster.legend(loc="upper right", markerscale=6, fontsize="small")
    rate.set_xlabel("time (ms)")
    rate.set_ylabel(f"rate (Hz, {bin:g} ms bins)")
    rate.set_xlim(t_start, t_stop)
    return raster.figure
