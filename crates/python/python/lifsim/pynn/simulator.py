"""The simulator state of the lifsim PyNN backend: time, the network, the run.

PyNN calls describe the network lazily (populations, projections, current
sources); the first ``run`` builds it into a ``lifsim.Network`` (``build.py``)
and a ``lifsim.Simulation``, and later runs continue that Simulation piece by
piece (which lifsim guarantees gives the spikes of one long run).

What lifsim fixes at build time (parameters, step currents, the Poisson
sources' spikes) may change during a PyNN run: a parameter ``set`` between
runs, a ``StepCurrentSource``'s next step, a Poisson source that runs longer
than the spikes drawn for it. There the network is built again with the new
values and the Simulation's whole dynamic state (``Simulation.state()``: V,
synaptic currents, spikes in flight, refractory clocks) moves into it, so the
run goes on where it was; the state monitors of recorded ``v`` / ``gsyn_*``
keep their samples and start again on the new Simulation (recording.py).
"""

from __future__ import annotations

import numpy as np
from pyNN import common

name = "lifsim"


class ID(int, common.IDMixin):
    """A PyNN cell id: an int that knows its population."""

    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


class State(common.control.BaseState):
    """Time, settings and the network of the current simulation."""

    def __init__(self):
        common.control.BaseState.__init__(self)
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self.min_delay_setting = "auto"
        self.max_delay = 10.0
        self.threads = 1
        self.seed = 1
        self.clear()

    # -- PyNN's interface --------------------------------------------------

    @property
    def min_delay(self):
        """setup()'s min_delay; with 'auto', the smallest delay of the projections (dt without any)."""
        if self.min_delay_setting != "auto":
            return self.min_delay_setting
        delays = [prj._arrays()[3] for prj in self.projections]
        delays = [d.min() for d in delays if d.size]
        return float(min(delays)) if delays else self.dt

    @property
    def default_delay(self):
        """The delay of a StaticSynapse given none: min_delay, or dt with 'auto'."""
        return self.dt if self.min_delay_setting == "auto" else self.min_delay_setting

    def clear(self):
        """Forgets the network (setup() and end())."""
        self.recorders = set([])
        self.populations = []
        self.projections = []
        self.current_sources = []
        self.id_counter = 0
        self.segment_counter = -1
        self.write_on_end = []
        self.reset()

    def reset(self):
        """Back to t = 0 with the network's initial state: the next run builds again.
        (PyNN's reset has stored each recorder's data as a segment first.)"""
        for recorder in getattr(self, "recorders", ()):
            recorder._reset()
        self.running = False
        self.t = 0.0
        self.t_start = 0.0
        self.segment_counter += 1
        self._sim = None
        self._layout = None
        self._horizon = 0.0
        self._stale = False

    def mark_changed(self):
        """Something lifsim fixed at build time changed: the next run builds
        the network again and carries the dynamic state over."""
        if self._sim is not None:
            self._stale = True

    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        """Runs the network up to ``tstop`` ms, building or rebuilding it where needed."""
        from . import build, recording

        steps_to = int(round(tstop / self.dt))
        while int(round(self.t / self.dt)) < steps_to:
            step_now = int(round(self.t / self.dt))
            if self._sim is None or self._stale or step_now >= self._horizon / self.dt - 0.5:
                self._rebuild(tstop)
            # Run up to the next time the network must be built again (a
            # current source's switch, the end of the Poisson spikes drawn).
            recording.sync_monitors(self)
            stop = steps_to if self._horizon == np.inf else min(steps_to, int(round(self._horizon / self.dt)))
            spikes = self._sim.run((stop - step_now) * self.dt)
            self.t = stop * self.dt
            build.deliver_spikes(self, spikes)
        self.running = True

    # -- building ----------------------------------------------------------

    def _rebuild(self, tstop):
        from . import build, recording

        recording.retire_monitors(self)
        old = None if self._sim is None else self._sim.state()
        network, layout, horizon = build.build_network(self, self.t, tstop)
        sim = network.build(threads=self.threads)
        if old is not None:
            try:
                sim.set_state(old)
            except Exception as err:  # the core names what does not fit
                raise RuntimeError(
                    f"lifsim.pynn: the change made after the run started needs a network lifsim "
                    f"cannot continue into ({err}); call reset() first"
                ) from err
        self._network = network
        self._sim = sim
        self._layout = layout
        self._horizon = horizon
        self._stale = False


state = State()
