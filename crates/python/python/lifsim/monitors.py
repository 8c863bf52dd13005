"""Monitors of a running simulation: state variables and population rate.

``sim.record_state("E", ["V_m"], n=10, interval=1.0)`` returns a
:class:`StateMonitor` whose ``times`` and ``values`` fill as the simulation
runs (pieces append); ``sim.rate("E", bin=1.0)`` gives the population rate
from the spikes so far as a :class:`Rate`.

A sample at time ``t`` is the state at the end of the step ending at ``t``
(after threshold and reset), at ``t = interval, 2 interval, ...`` as NEST's
multimeter records. Variables, named as NEST's recordables: ``V_m`` (mV) for
every model, ``I_syn`` (nA, the summed synaptic current) for iaf_psc_exp,
iaf_psc_alpha and lif_euler, ``g_ex`` and ``g_in`` (µS) for iaf_cond_exp.
"""

from __future__ import annotations

import os
from typing import Any, Dict, NamedTuple, Optional, Sequence, Union

import numpy as np


class Rate(NamedTuple):
    """A population rate: ``times`` (ms, the end of each bin), ``rate``
    (Hz: spikes / (N * bin)) and ``counts`` (spikes per bin)."""

    times: np.ndarray
    rate: np.ndarray
    counts: np.ndarray


class StateMonitor:
    """State variables of some neurons of one population over time.

    ``times`` (ms, shape (samples,)), ``ids`` (population-local, ascending)
    and ``values`` (a dict: variable -> array of shape (samples, neurons));
    ``monitor["V_m"]`` is ``monitor.values["V_m"]``. Each read gives the
    samples taken so far. A monitor streamed to disk
    (``record_state(..., to=path)``) holds one block of samples in memory;
    its file (``path``, the layout of ``lifsim run``'s ``.state.npz``) is
    written with every sample so far after each ``run()``, and reads come
    from it.
    """

    def __init__(self, sim: Any, index: int) -> None:
        self._sim = sim
        self._index = index
        self._cache: Optional[tuple] = None

    def _record(self) -> Dict[str, Any]:
        # The merge over partitions is redone only after more steps.
        step = self._sim.step
        if self._cache is None or self._cache[0] != step:
            self._cache = (step, self._read())
        return self._cache[1]

    def _read(self) -> Dict[str, Any]:
        record = self._sim._state_record(self._index)
        path = self.path
        if path is None or not os.path.exists(path):
            return record
        # Streamed: the engine holds nothing past the last run's end; the
        # file holds every sample.
        with np.load(path) as z:
            # One file may hold several monitors (a network's state_to = "disk").
            prefix = self._sim._state_key(self._index)
            record["times"] = z[f"{prefix}/times_ms"]
            record["values"] = {v: z[f"{prefix}/{v}"] for v in record["values"]}
        return record

    @property
    def path(self) -> Optional[str]:
        """The file the samples stream to, if they do (``to=``)."""
        path = self._sim._state_file(self._index)
        return None if path is None else os.fspath(path)

    @property
    def population(self) -> str:
        """The population recorded."""
        return str(self._record()["population"])

    @property
    def ids(self) -> np.ndarray:
        """Population-local indices of the recorded neurons, ascending."""
        return self._record()["ids"]

    @property
    def times(self) -> np.ndarray:
        """Time of each sample, ms."""
        return self._record()["times"]

    @property
    def values(self) -> Dict[str, np.ndarray]:
        """Per variable: the samples, shape (samples, neurons)."""
        return dict(self._record()["values"])

    @property
    def variables(self) -> Sequence[str]:
        """The variables recorded."""
        return list(self._record()["values"])

    def __getitem__(self, variable: str) -> np.ndarray:
        values = self._record()["values"]
        if variable not in values:
            raise KeyError(f"{variable!r} is not recorded (recorded: {', '.join(values)})")
        return values[variable]

    def __len__(self) -> int:
        return len(self.times)

    def __repr__(self) -> str:
        r = self._record()
        return (
            f"StateMonitor({r['population']!r}, {list(r['values'])}, "
            f"{len(r['ids'])} neurons, {len(r['times'])} samples)"
        )


def record_state(
    sim: Any,
    population: str,
    variables: Sequence[str] = ("V_m",),
    *,
    ids: Optional[Sequence[int]] = None,
    n: Optional[int] = None,
    interval: Optional[float] = None,
    start: Optional[float] = None,
    stop: Optional[float] = None,
    to: Optional[Union[str, os.PathLike]] = None,
) -> StateMonitor:
    """Adds a state monitor to the engine ``sim`` (a ``_lifsim.Simulation``),
    its samples streamed to the file ``to`` if given."""
    if isinstance(variables, str):
        variables = [variables]
    id_list = None if ids is None else [int(i) for i in np.asarray(ids).ravel()]
    index = sim._record_state(
        population,
        list(variables),
        ids=id_list,
        n=n,
        interval=interval,
        start=start,
        stop=stop,
        to=None if to is None else os.fspath(to),
    )
    return StateMonitor(sim, index)


def rate(sim: Any, population: Optional[str] = None, bin: Optional[float] = None) -> Rate:
    """The population rate of ``sim`` (a ``_lifsim.Simulation``) so far."""
    times, counts, hz = sim._rate(population, bin)
    return Rate(times, hz, counts)
