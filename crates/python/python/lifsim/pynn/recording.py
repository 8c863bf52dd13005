"""Recording for the lifsim PyNN backend: spikes and state variables.

Spikes: the run hands each recording population its spikes (``_store``,
called by ``build.deliver_spikes``); ``get_data`` turns them into Neo spike
trains through PyNN's Recorder.

State variables: ``v`` is lifsim's ``V_m`` (mV), ``gsyn_exc`` / ``gsyn_inh``
its ``g_ex`` / ``g_in`` (µS, PyNN's unit: no scaling; IF_cond_exp only, as
PyNN's ``recordable`` lists say: PyNN raises RecordingError for the others).
Before each run piece (``sync_monitors``) every recorder has one lifsim state
monitor per lifsim population its cells are in, on the current Simulation;
when the network is built again (simulator.py), or the cells or interval
recorded change, the monitors' samples so far are kept (``_retire``) and new
monitors start on the new Simulation from the current time (lifsim samples on
the absolute grid ``k * interval``, so the pieces join without a gap).

Signals follow pyNN.nest: lifsim's samples (as NEST's multimeter) are at
``interval, 2 interval, ...``, the state at the end of the step ending there;
PyNN's signal starts at the recording start with the initial value (``v``'s
initial value, 0 for conductances), as pyNN.nest adds it, and after
``get_data(clear=True)`` with the last value before the clear.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np
from pyNN import recording

from . import simulator

#: PyNN's state variable -> lifsim's monitor variable (same units).
LIFSIM_VARIABLE = {"v": "V_m", "gsyn_exc": "g_ex", "gsyn_inh": "g_in"}


class Recorder(recording.Recorder):
    _simulator = simulator

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self._times = []
        self._indices = []
        self._forget_signals()

    # -- spikes ------------------------------------------------------------

    def _record(self, variable, new_ids, sampling_interval=None):
        if variable.name != "spikes" and variable.name not in LIFSIM_VARIABLE:
            raise NotImplementedError(f"lifsim.pynn: cannot record {variable.name!r}")
        if variable.name != "spikes" and sampling_interval is not None:
            dt = simulator.state.dt
            steps = float(sampling_interval) / dt
            if not (steps >= 1.0 - 1e-9 and abs(steps - round(steps)) < 1e-9):
                raise ValueError(f"lifsim.pynn: sampling_interval {sampling_interval} ms is not a positive "
                                 f"multiple of the timestep ({dt} ms)")
            self.sampling_interval = float(sampling_interval)

    def _store(self, indices: np.ndarray, times: np.ndarray) -> None:
        """Keeps a run piece's spikes of this population (indices within it, times in ms)."""
        self._indices.append(np.asarray(indices, dtype=np.int64))
        self._times.append(np.asarray(times, dtype=np.float64))

    def _spikes(self):
        if not self._times:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(self._indices), np.concatenate(self._times)

    def _get_spiketimes(self, ids, clear=False):
        index, times = self._spikes()
        all_cells = self.population.all_cells
        wanted = np.asarray([self.population.id_to_index(int(i)) for i in ids], dtype=np.int64) \
            if len(ids) else np.zeros(0, dtype=np.int64)
        keep = np.isin(index, wanted)
        id_array = np.asarray(all_cells, dtype=np.int64)[index[keep]]
        # With clear, PyNN's get() calls clear() once every variable is read.
        return id_array, times[keep].copy()

    def _local_count(self, variable, filter_ids=None):
        if variable.name != "spikes":
            raise NotImplementedError(f"lifsim.pynn: counts are of spikes, not {variable.name!r}")
        index, _ = self._spikes()
        counts = np.bincount(index, minlength=self.population.size)
        ids = self.filter_recorded(variable, filter_ids)
        return {int(i): int(counts[self.population.id_to_index(int(i))]) for i in ids}

    # -- state variables ---------------------------------------------------

    def _forget_signals(self) -> None:
        #: Samples of retired monitors: (times, population indices, {variable: (samples, cells)}).
        self._chunks: List[Tuple[np.ndarray, np.ndarray, Dict[str, np.ndarray]]] = []
        #: The live monitors: (key, variables, population indices, [(positions, StateMonitor)], Simulation).
        self._live: Optional[tuple] = None
        #: After get_data(clear=True): each variable's last value per cell (NaN where unknown).
        self._carry: Dict[str, np.ndarray] = {}
        #: When the signals start: 0, or the time of the last clear.
        self._start = 0.0

    def _state_variables(self) -> List[str]:
        return sorted({v.name for v in self.recorded if v.name in LIFSIM_VARIABLE and self.recorded[v]})

    def _recorded_indices(self) -> np.ndarray:
        ids = set()
        for variable in self.recorded:
            if variable.name in LIFSIM_VARIABLE:
                ids |= set(self.recorded[variable])
        return np.sort(self._indices_of(ids))

    def _indices_of(self, ids) -> np.ndarray:
        """Population indices of PyNN ids (vectorised: a recording may hold many cells)."""
        ids = np.fromiter((int(i) for i in ids), dtype=np.int64)
        if ids.size == 0:
            return ids
        return np.atleast_1d(np.asarray(self.population.id_to_index(ids), dtype=np.int64))

    def _sync(self, state) -> None:
        """Puts monitors of what is recorded now on ``state``'s Simulation
        (before a run piece), keeping the samples of those they replace."""
        variables = self._state_variables()
        if not variables:
            self._retire()
            return
        indices = self._recorded_indices()
        key = (tuple(variables), indices.tobytes(), self.sampling_interval)
        if self._live is not None and self._live[0] == key and self._live[4] is state._sim:
            return
        self._retire()
        gids = self.population._lifsim_gids()[indices]
        monitors = []
        for name, first, stop, _, _ in state._layout.groups:
            inside = np.flatnonzero((gids >= first) & (gids < stop))
            if inside.size == 0:
                continue
            monitor = state._sim.record_state(name, [LIFSIM_VARIABLE[v] for v in variables],
                                              ids=gids[inside] - first, interval=self.sampling_interval)
            # The monitor gives its neurons in ascending order (so are gids within a group).
            order = np.argsort(gids[inside], kind="stable")
            monitors.append((inside[order], monitor))
        self._live = (key, variables, indices, monitors, state._sim)

    def _read_live(self):
        """The live monitors' samples as a chunk (None without monitors)."""
        if self._live is None:
            return None
        _, variables, indices, monitors, _ = self._live
        times = monitors[0][1].times if monitors else np.zeros(0)
        values = {}
        for variable in variables:
            out = np.full((len(times), indices.size), np.nan)
            for positions, monitor in monitors:
                out[:, positions] = monitor[LIFSIM_VARIABLE[variable]]
            values[variable] = out
        return np.asarray(times, dtype=np.float64), indices, values

    def _retire(self) -> None:
        """Keeps the live monitors' samples and drops the monitors."""
        chunk = self._read_live()
        if chunk is not None and len(chunk[0]):
            self._chunks.append(chunk)
        self._live = None

    def _signals(self, variable: str, indices: np.ndarray, t0: float) -> np.ndarray:
        """``variable`` of cells ``indices`` (population indices) from ``t0``
        to now: (samples, cells), the first row the initial (or carried)
        value, NaN where a cell was not recorded (before its record() call)."""
        interval = float(self.sampling_interval)
        n = int(np.floor((simulator.state.t - t0) / interval + 1e-9)) + 1
        out = np.full((n, indices.size), np.nan)
        if variable in self._carry:
            out[0] = self._carry[variable][indices]
        else:
            out[0] = self._initial(variable)[indices]
        live = self._read_live()
        for times, chunk_indices, values in self._chunks + ([live] if live is not None else []):
            if variable not in values or not len(times):
                continue
            rows = np.round((times - t0) / interval).astype(np.int64)
            # Samples of this signal's grid only (a chunk of an earlier interval may be off it).
            keep = (rows >= 1) & (rows < n) & (np.abs(t0 + rows * interval - times) < 1e-6 * interval)
            # chunk_indices are ascending: where each wanted cell is in the chunk, if there.
            at = np.minimum(np.searchsorted(chunk_indices, indices), max(len(chunk_indices) - 1, 0))
            found = np.flatnonzero(chunk_indices[at] == indices) if len(chunk_indices) else np.zeros(0, int)
            out[np.ix_(rows[keep], found)] = values[variable][np.ix_(np.flatnonzero(keep), at[found])]
        return out

    def _initial(self, variable: str) -> np.ndarray:
        """Each cell's value at t = 0: initialize()'s v; conductances start at 0."""
        pop = self.population
        if variable == "v":
            return np.broadcast_to(np.asarray(pop._initial_v(), dtype=float), (pop.size,))
        return np.zeros(pop.size)

    def _get_all_signals(self, variable, ids, clear=False):
        indices = self._indices_of(ids)
        if indices.size == 0:
            return np.zeros((0, 0)), None
        t0 = float(self._recording_start_time.rescale("ms").magnitude)
        return self._signals(variable.name, indices, t0), None

    def _clear_simulator(self):
        """get_data(clear=True): drops the data so far; the next signals start
        now with the last values (pyNN.nest's convention)."""
        self._times = []
        self._indices = []
        recorded = self._recorded_indices()
        carry = {}
        for variable in self._state_variables():
            # PyNN has moved _recording_start_time to now already: from our own start.
            carry[variable] = np.full(self.population.size, np.nan)
            carry[variable][recorded] = self._signals(variable, recorded, self._start)[-1]
        self._carry = carry
        self._start = simulator.state.t
        # The live monitors keep their samples: those up to now fall outside
        # the next signals' time range.
        self._chunks = []

    def _reset(self):
        """reset(): back to t = 0, nothing recorded."""
        self._times = []
        self._indices = []
        self._forget_signals()


def sync_monitors(state) -> None:
    """Before a run piece: each recorder's monitors on the current Simulation."""
    for recorder in state.recorders:
        recorder._sync(state)


def retire_monitors(state) -> None:
    """Before the Simulation is replaced: keeps every recorder's samples so far."""
    for recorder in state.recorders:
        recorder._retire()
