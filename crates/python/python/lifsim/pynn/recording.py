"""Recording for the lifsim PyNN backend: spikes.

The run hands each recording population its spikes (``_store``, called by
``build.deliver_spikes``); ``get_data`` turns them into Neo spike trains
through PyNN's Recorder. State variables (``v``, ``gsyn_exc``, ``gsyn_inh``)
need lifsim's state monitors, which this version of lifsim lacks: recording
them raises ``StateRecordingUnavailable``, unless ``lifsim.pynn.skip_state_recording(True)``
was called: then it warns and records nothing (so that a script made for
other backends, such as PyNN's VAbenchmarks, runs for its spikes).
"""

from __future__ import annotations

import warnings

import numpy as np
from pyNN import recording

from . import simulator


class StateRecordingUnavailable(NotImplementedError):
    """Recording a state variable (v, gsyn_*) needs lifsim's state monitors."""


class Recorder(recording.Recorder):
    _simulator = simulator

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self._times = []
        self._indices = []

    def _record(self, variable, new_ids, sampling_interval=None):
        if variable.name != "spikes":
            message = (f"lifsim.pynn: recording {variable.name!r} needs state monitors, which this version of "
                       f"lifsim does not have; only 'spikes' can be recorded")
            if not simulator.state.skip_state_recording:
                raise StateRecordingUnavailable(message)
            warnings.warn(message + "; recording nothing (skip_state_recording)", stacklevel=3)

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
        out = (id_array, times[keep].copy())
        if clear:
            self._clear_simulator()
        return out

    def _get_all_signals(self, variable, ids, clear=False):
        if simulator.state.skip_state_recording:
            return np.zeros((0, len(ids))), None  # PyNN leaves empty signals out
        raise StateRecordingUnavailable(f"lifsim.pynn: no {variable.name!r} recorded (no state monitors)")

    def _local_count(self, variable, filter_ids=None):
        if variable.name != "spikes":
            raise StateRecordingUnavailable(f"lifsim.pynn: no {variable.name!r} recorded (no state monitors)")
        index, _ = self._spikes()
        counts = np.bincount(index, minlength=self.population.size)
        ids = self.filter_recorded(variable, filter_ids)
        return {int(i): int(counts[self.population.id_to_index(int(i))]) for i in ids}

    def _clear_simulator(self):
        self._times = []
        self._indices = []

    def _reset(self):
        self._clear_simulator()
