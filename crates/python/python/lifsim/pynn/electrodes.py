"""Current sources: DCSource and StepCurrentSource as lifsim's i_ext over time.

lifsim's external current is constant through a built network, so a source is
a piecewise-constant current: ``build.py`` adds the amplitude on at a time to
the targets' ``i_ext``, and the network is built again (the dynamic state
carried over, simulator.py) at each time a source switches. A switch time is
rounded to the step grid; the current acts from that step on.
ACSource and NoisyCurrentSource change every step and are not available.
"""

from __future__ import annotations

import numpy as np
from pyNN.parameters import Sequence
from pyNN.standardmodels import build_translations, electrodes

from . import simulator


class _Source:
    """What build.py asks of a current source."""

    def _init(self):
        object.__setattr__(self, "_targets", [])
        object.__setattr__(self, "_native", {})

    def inject_into(self, cells):
        """Injects this source's current into ``cells`` (Population, view, Assembly or list of IDs)."""
        groups = {}
        for cell in cells:
            root = cell.parent
            groups.setdefault(id(root), (root, []))[1].append(root.id_to_index(cell))
        for root, index in groups.values():
            if not root.celltype.injectable:
                raise TypeError(f"lifsim.pynn: cannot inject current into {type(root.celltype).__name__} cells")
            self._targets.append((root, np.asarray(index, dtype=np.int64)))
        simulator.state.current_sources.append((self, self._targets[-len(groups):]))
        simulator.state.mark_changed()

    def _adopt_defaults(self):
        """Takes the parameters given to the constructor (with PyNN's defaults)."""
        parameters = self.translate(self.parameter_space)
        self.set_native_parameters(parameters)

    def set_native_parameters(self, parameters):
        parameters.shape = (1,)
        parameters.evaluate(simplify=True)
        for name, value in parameters.items():
            self._native[name] = _plain(value)
        self._check()
        simulator.state.mark_changed()

    def get_native_parameters(self):
        return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in self._native.items()}

    def get_parameters(self):
        """The source's parameters (PyNN's names and units: the same as lifsim's)."""
        return self.get_native_parameters()

    def _check(self):
        pass

    def record(self):
        raise NotImplementedError("lifsim.pynn: recording a current source's current is not available")


def _plain(value):
    """A parameter value as a number or a float array (unwrapping PyNN Sequences)."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.ravel()[0]
    if isinstance(value, Sequence):
        return np.asarray(value.value, dtype=float)
    return float(value)


def _grid(t, dt):
    return np.rint(np.asarray(t, dtype=float) / dt) * dt


class DCSource(_Source, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"), ("stop", "stop"))

    def __init__(self, **parameters):
        self._init()
        electrodes.DCSource.__init__(self, **parameters)
        self._adopt_defaults()

    def _switch_times(self):
        dt = simulator.state.dt
        return [float(_grid(self._native["start"], dt)), float(_grid(self._native["stop"], dt))]

    def _amplitude_at(self, t, dt):
        start, stop = self._switch_times()
        return float(self._native["amplitude"]) if start - dt / 2 <= t < stop - dt / 2 else 0.0


class StepCurrentSource(_Source, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = build_translations(("amplitudes", "amplitudes"), ("times", "times"))

    def __init__(self, **parameters):
        self._init()
        electrodes.StepCurrentSource.__init__(self, **parameters)
        self._adopt_defaults()

    def _check(self):
        times = np.asarray(self._native.get("times", []), dtype=float)
        amplitudes = np.asarray(self._native.get("amplitudes", []), dtype=float)
        if times.size != amplitudes.size:
            raise ValueError(f"StepCurrentSource: {times.size} times but {amplitudes.size} amplitudes")
        if np.any(times < 0):
            raise ValueError("StepCurrentSource: times must be >= 0 ms")
        if np.any(np.diff(times) < 0):
            raise ValueError("StepCurrentSource: times must be in increasing order")
        # Onto the step grid; several times on one step: the last amplitude holds.
        dt = simulator.state.dt
        times = _grid(times, dt)
        keep = np.append(np.diff(times) > dt / 2, True) if times.size else np.zeros(0, dtype=bool)
        self._native["times"], self._native["amplitudes"] = times[keep], amplitudes[keep]

    def _steps(self):
        return self._native.get("times", np.zeros(0)), self._native.get("amplitudes", np.zeros(0))

    def _switch_times(self):
        return self._steps()[0].tolist()

    def _amplitude_at(self, t, dt):
        times, amplitudes = self._steps()
        k = np.searchsorted(times, t + dt / 2, side="right") - 1
        return float(amplitudes[k]) if k >= 0 else 0.0


class ACSource(electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__

    def __init__(self, **parameters):
        raise NotImplementedError("lifsim.pynn: ACSource is not available (lifsim's currents are piecewise constant)")


class NoisyCurrentSource(electrodes.NoisyCurrentSource):
    __doc__ = electrodes.NoisyCurrentSource.__doc__

    def __init__(self, **parameters):
        raise NotImplementedError("lifsim.pynn: NoisyCurrentSource is not available")
