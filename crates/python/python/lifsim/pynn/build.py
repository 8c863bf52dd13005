"""The PyNN network as a lifsim.Network: populations, relays, synapses, currents.

* A PyNN population of a lifsim cell type becomes one lifsim population per
  set of identical parameters (lifsim's neuron parameters are one value per
  population, but ``i_offset`` and ``v`` may be one per neuron); its cells keep
  their PyNN order through ``gids`` (each cell's lifsim id).
* A spike source population (SpikeSourceArray, SpikeSourcePoisson) becomes a
  population of relay neurons: ``iaf_psc_delta`` cells at rest at 0 mV with a
  threshold of 1 mV, each kicked over it by a spike generator one step before
  each of its spike times, so that it spikes at that time and its spikes go
  through ordinary projections. Poisson sources draw their spike times here,
  with NumPy from the setup() seed, up to the end of the run asked for.
* A projection's connections (made by PyNN's connectors, in Python) become one
  lifsim projection per target population and delay (in steps): a sparse
  matrix W[target, source] whose entries are the weights. Several connections
  of a pair within one matrix add up, which is exact: every lifsim synapse
  type is linear in its weight.
* Current sources add to ``i_ext`` over the time they are on; the network is
  built again at each time one switches (simulator.py carries the state over).
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np
import scipy.sparse

from .. import Network
from . import cells

# The relay neurons of spike sources: V jumps by _KICK mV over a 1 mV threshold.
_RELAY = dict(model="iaf_psc_delta", tau_m=1000.0, v_rest=0.0, v_reset=0.0, v_thresh=1.0, r=1.0, t_ref=0.0, v0=0.0)
_KICK = 1.0e3
# Neuron parameters of lifsim populations (the rest are synapse parameters).
_NEURON = ("tau_m", "r", "v_rest", "v_reset", "v_thresh", "t_ref")
_SYNAPTIC = ("tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I")


class Layout:
    """Where each PyNN cell is in the lifsim network."""

    def __init__(self, n: int) -> None:
        #: The PyNN population of each lifsim neuron, and its index there.
        self.owner = np.full(n, -1, dtype=np.int64)
        self.index = np.zeros(n, dtype=np.int64)
        #: Each lifsim population: (name, start, stop, the population's native synapse params).
        self.groups: List[Tuple[str, int, int, Dict[str, float]]] = []


def build_network(state: Any, t_now: float, t_stop: float) -> Tuple[Network, Layout, float]:
    """The lifsim.Network of ``state``'s PyNN network; the currents on at
    ``t_now``; Poisson spikes up to ``t_stop``. Returns it, its layout and the
    time up to which it holds (the next current switch or t_stop)."""
    dt = state.dt
    horizon = _next_switch(state, t_now, t_stop)
    net = Network(dt=dt, seed=state.seed, name="pynn")
    n = sum(p.size for p in state.populations)
    layout = Layout(n)
    currents = _currents_at(state, t_now)
    start = 0
    for k, pop in enumerate(state.populations):
        pop._gids = np.empty(pop.size, dtype=np.int64)
        if cells.is_source(pop.celltype):
            name = f"p{k}"
            net.population(name, pop.size, **_RELAY)
            pop._gids[:] = np.arange(start, start + pop.size)
            layout.groups.append((name, start, start + pop.size, {}))
            _relay_inputs(net, state, pop, name, k, horizon)
            start += pop.size
        else:
            start = _neuron_population(net, layout, pop, k, start, currents.get(id(pop)))
        layout.owner[pop._gids] = k
        layout.index[pop._gids] = np.arange(pop.size)
    for k, prj in enumerate(state.projections):
        _projection(net, layout, prj, k, dt)
    return net, layout, horizon


def _neuron_population(net, layout, pop, k, start, extra_current):
    celltype = pop.celltype
    if not isinstance(celltype, cells._LifsimCell):
        raise TypeError(f"lifsim.pynn: cell type {type(celltype).__name__} has no lifsim model")
    params = {name: np.broadcast_to(np.asarray(pop._parameters[name], dtype=float), (pop.size,))
              for name in _NEURON + _SYNAPTIC if name in pop._parameters}
    i_ext = np.broadcast_to(np.asarray(pop._parameters["i_ext"], dtype=float), (pop.size,)).copy()
    if extra_current is not None:
        i_ext += extra_current
    v0 = pop._initial_v()
    # One lifsim population per distinct set of neuron and synapse parameters.
    keys = np.stack([params[name] for name in params], axis=1)
    unique, which = np.unique(keys, axis=0, return_inverse=True)
    which = which.ravel()
    for g, row in enumerate(unique):
        members = np.flatnonzero(which == g)
        name = f"p{k}" if len(unique) == 1 else f"p{k}_{g}"
        values = dict(zip(params, row.tolist()))
        neuron = {key: values[key] for key in _NEURON}
        neuron["t_ref"] = round(neuron["t_ref"] / net.dt) * net.dt  # NEST rounds it to the grid
        net.population(name, len(members), model=celltype.lifsim_model, i_ext=i_ext[members], v0=v0[members],
                       **neuron)
        pop._gids[members] = np.arange(start, start + len(members))
        synaptic = {key: values[key] for key in _SYNAPTIC if key in values}
        layout.groups.append((name, start, start + len(members), synaptic))
        start += len(members)
    return start


def _relay_inputs(net, state, pop, name, k, horizon):
    """Spike generators that make relay neuron i spike at each of its times before ``horizon``."""
    dt = state.dt
    if isinstance(pop.celltype, cells.SpikeSourceArray):
        trains = [cells.spike_times_of(v) for v in np.broadcast_to(pop._parameters["spike_times"], (pop.size,))]
    else:
        trains = _poisson_trains(state, pop, k, horizon)
    for i, times in enumerate(trains):
        steps = np.unique(np.round(np.asarray(times) / dt).astype(np.int64))
        steps = steps[steps >= 1]  # a relay cannot spike at t = 0 (the kick takes one step)
        if steps.size:
            net.spike_generator(name, (steps - 1) * dt, _KICK, delay=dt, synapse="delta", neurons=[i])


def _poisson_trains(state, pop, k, horizon):
    """Each Poisson source's spikes in [start, min(start + duration, horizon)),
    drawn per source from a generator seeded by (setup seed, population, index)."""
    rate = np.broadcast_to(np.asarray(pop._parameters["rate"], dtype=float), (pop.size,))
    start = np.broadcast_to(np.asarray(pop._parameters["start"], dtype=float), (pop.size,))
    duration = np.broadcast_to(np.asarray(pop._parameters["duration"], dtype=float), (pop.size,))
    trains = []
    for i in range(pop.size):
        rng = np.random.default_rng([state.seed, pop._creation_index, i])
        stop = min(start[i] + duration[i], horizon)
        span = max(stop - start[i], 0.0)
        count = rng.poisson(rate[i] * span / 1000.0) if span > 0 else 0
        trains.append(np.sort(start[i] + rng.uniform(0.0, span, count)))
    return trains


def _projection(net, layout, prj, k, dt):
    pre, post, weight, delay = prj._arrays()
    if pre.size == 0:
        return
    src = prj.pre._lifsim_gids()[pre]
    tgt = prj.post._lifsim_gids()[post]
    celltype = prj.post.celltype
    steps = np.round(delay / dt).astype(np.int64)
    names = [g[0] for g in layout.groups]
    n = layout.owner.size
    for name, first, stop, synaptic in layout.groups:
        onto = (tgt >= first) & (tgt < stop)
        if not onto.any():
            continue
        fields = celltype.synapse_fields(prj.receptor_type, synaptic)
        for step in np.unique(steps[onto]):
            sel = onto & (steps == step)
            matrix = scipy.sparse.csr_matrix((weight[sel], (tgt[sel] - first, src[sel])), shape=(stop - first, n))
            net.connect(names, [name], matrix=matrix, delay=float(step * dt), **fields)


def _currents_at(state, t):
    """The current (nA) each injected population receives at time t: id(pop) -> array."""
    out: Dict[int, np.ndarray] = {}
    for source, target in state.current_sources:
        amplitude = source._amplitude_at(t, state.dt)
        if amplitude == 0.0:
            continue
        for pop, index in target:
            out.setdefault(id(pop), np.zeros(pop.size))
            np.add.at(out[id(pop)], index, amplitude)
    return out


def _next_switch(state, t_now, t_stop):
    """The first time after t_now (up to t_stop) at which a current source switches."""
    nxt = t_stop
    for source, _ in state.current_sources:
        for t in source._switch_times():
            if t > t_now + state.dt / 2 and t < nxt:
                nxt = t
    return nxt


def deliver_spikes(state, spikes) -> None:
    """Hands a run piece's spikes to the populations that record them."""
    if len(spikes) == 0:
        return
    owner = state._layout.owner[spikes.ids]
    index = state._layout.index[spikes.ids]
    for k, pop in enumerate(state.populations):
        if any(variable.name == "spikes" for variable in pop.recorder.recorded):
            mine = owner == k
            if mine.any():
                pop.recorder._store(index[mine], spikes.times[mine])
