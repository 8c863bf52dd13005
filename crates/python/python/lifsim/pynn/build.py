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
  with NumPy from the setup() seed, up to the end of the run asked for (the
  next run past it builds the network again with the trains extended).
* A projection's connections (made by PyNN's connectors, in Python) become one
  lifsim projection per target population and delay (in steps): a sparse
  matrix W[target, source] whose entries are the weights. Several connections
  of a pair within one matrix add up, which is exact: every lifsim synapse
  type is linear in its weight.
* Current sources add to ``i_ext`` over the time they are on; the network is
  built again at each time one switches (simulator.py carries the state over).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Any, Dict, List, Tuple

import numpy as np
import scipy.sparse

from .. import Network, NetworkDescription
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
        #: Each lifsim population: (name, start, stop, its native synapse
        #: parameters, its PyNN cell type).
        self.groups: List[Tuple[str, int, int, Dict[str, float], Any]] = []
        #: The folder of the projections' matrix files.
        self.files = tempfile.TemporaryDirectory(prefix="lifsim-pynn-")


class _Tables:
    """Network-file tables written as text, read by the core in one go: a
    lifsim.Network checks the whole network at each entry it adds, which is
    quadratic in the thousands of inputs and projections a PyNN network may
    make (one per relay cell, per target and delay)."""

    def __init__(self) -> None:
        self.lines: List[str] = []

    def add(self, kind: str, **fields: Any) -> None:
        self.lines.append(f"\n[[{kind}]]")
        for key, value in fields.items():
            self.lines.append(f"{key} = {_toml(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(_toml(v) for v in value) + "]"


def build_network(state: Any, t_now: float, t_stop: float) -> Tuple[Network, Layout, float]:
    """The lifsim.Network of ``state``'s PyNN network; the currents on at
    ``t_now``; Poisson spikes up to ``t_stop``. Returns it, its layout and the
    time up to which it holds (the next current switch or t_stop)."""
    dt = state.dt
    horizon = _horizon(state, t_now, t_stop)
    net = Network(dt=dt, seed=state.seed, name="pynn")
    n = sum(p.size for p in state.populations)
    layout = Layout(n)
    currents = _currents_at(state, t_now)
    tables = _Tables()
    start = 0
    for k, pop in enumerate(state.populations):
        pop._gids = np.empty(pop.size, dtype=np.int64)
        if cells.is_source(pop.celltype):
            name = f"p{k}"
            net.population(name, pop.size, **_RELAY)
            pop._gids[:] = np.arange(start, start + pop.size)
            layout.groups.append((name, start, start + pop.size, {}, pop.celltype))
            _relay_inputs(tables, state, pop, name, horizon)
            start += pop.size
        else:
            start = _neuron_population(net, layout, pop, k, start, currents.get(id(pop)))
        layout.owner[pop._gids] = k
        layout.index[pop._gids] = np.arange(pop.size)
    _projections(tables, layout, state.projections, dt)
    text = net.to_toml() + tables.text()
    desc = NetworkDescription.from_toml(text, layout.files.name, name="pynn")
    return Network.from_description(desc), layout, horizon


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
        layout.groups.append((name, start, start + len(members), synaptic, celltype))
        start += len(members)
    return start


def _relay_inputs(tables, state, pop, name, horizon):
    """Spike generators that make relay neuron i spike at each of its times before ``horizon``."""
    dt = state.dt
    if isinstance(pop.celltype, cells.SpikeSourceArray):
        trains = [cells.spike_times_of(v) for v in np.broadcast_to(pop._parameters["spike_times"], (pop.size,))]
    else:
        trains = _source_trains(state, pop, horizon)
    # An empty generator first, so that the relays have their input channel
    # whether or not there are spikes yet (a rebuild must keep the channels).
    kick = dict(weight=_KICK, delay=dt, synapse="delta")
    tables.add("input", type="spike_generator", target=[name], times=[], **kick)
    for i, times in enumerate(trains):
        steps = np.unique(np.round(np.asarray(times) / dt).astype(np.int64))
        steps = steps[steps >= 1]  # a relay cannot spike at t = 0 (the kick takes one step)
        if steps.size:
            tables.add("input", type="spike_generator", target=[name], neurons=[i],
                       times=((steps - 1) * dt).tolist(), **kick)


_CHUNK = 1024  # intervals drawn at a time: a train's prefix does not depend on the horizon


def _source_trains(state, pop, horizon):
    """Each random source's spikes in [start, start + duration) before
    ``horizon``: a renewal process whose intervals come from a generator
    seeded by (setup seed, population, cell), drawn in fixed chunks so that a
    longer horizon extends a train without changing its beginning (a run in
    pieces gives the spikes of one run). Intervals (ms): exponential with mean
    1000 / rate (SpikeSourcePoisson), that after a dead time tau_refrac with
    mean 1000 / rate - tau_refrac (SpikeSourcePoissonRefractory), gamma with
    shape alpha and scale 1000 / beta (SpikeSourceGamma)."""
    size = pop.size

    def column(name):
        return np.broadcast_to(np.asarray(pop._parameters[name], dtype=float), (size,))

    start, duration = column("start"), column("duration")
    celltype = pop.celltype
    trains = []
    for i in range(size):
        rng = np.random.default_rng([state.seed, pop._creation_index, i])
        stop = min(start[i] + duration[i], horizon)
        if isinstance(celltype, cells.SpikeSourceGamma):
            alpha, scale = column("alpha")[i], 1000.0 / column("beta")[i] if column("beta")[i] > 0 else np.inf
            draw = (lambda rng=rng, alpha=alpha, scale=scale: rng.gamma(alpha, scale, _CHUNK))
        else:
            rate = column("rate")[i]
            dead = column("tau_refrac")[i] if "tau_refrac" in pop._parameters else 0.0
            mean = 1000.0 / rate - dead if rate > 0 else np.inf
            if not mean > 0:
                raise ValueError(f"{type(celltype).__name__}: rate {rate} Hz leaves no time beside tau_refrac {dead} ms")
            draw = (lambda rng=rng, dead=dead, mean=mean: dead + rng.exponential(mean, _CHUNK))
        times, t = [], start[i]
        while np.isfinite(t) and t < stop:
            chunk = t + np.cumsum(draw())
            times.append(chunk[chunk < stop])
            t = chunk[-1]
        trains.append(np.concatenate(times) if times else np.zeros(0))
    return trains


def _projections(tables, layout, projections, dt):
    """The connections of every projection, one lifsim projection (a weight
    matrix file) per target population, synapse type and delay in steps."""
    pending: Dict[Tuple, List[Tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    for prj in projections:
        pre, post, weight, delay = prj._arrays()
        if pre.size == 0:
            continue
        src = prj.pre._lifsim_gids()[pre]
        tgt = prj.post._lifsim_gids()[post]
        steps = np.round(delay / dt).astype(np.int64)
        for g, (name, first, stop, synaptic, celltype) in enumerate(layout.groups):
            onto = (tgt >= first) & (tgt < stop)
            if not onto.any():
                continue
            fields = tuple(sorted(celltype.synapse_fields(prj.receptor_type, synaptic).items()))
            for step in np.unique(steps[onto]):
                sel = onto & (steps == step)
                pending.setdefault((g, fields, int(step)), []).append((tgt[sel] - first, src[sel], weight[sel]))
    names = [g[0] for g in layout.groups]
    n = layout.owner.size
    for k, ((g, fields, step), parts) in enumerate(sorted(pending.items(), key=lambda kv: (kv[0][0], kv[0][2]))):
        name, first, stop = layout.groups[g][:3]
        rows, cols, weights = (np.concatenate(column) for column in zip(*parts))
        csr = scipy.sparse.csr_matrix((weights, (rows, cols)), shape=(stop - first, n))
        path = os.path.join(layout.files.name, f"projection{k}.npz")
        np.savez(path, format=np.array(b"csr"), shape=np.array(csr.shape, dtype=np.int64), data=csr.data,
                 indices=csr.indices, indptr=csr.indptr)
        tables.add("projection", source=names, target=[name], rule="from_file", file=os.path.basename(path),
                   delay=step * dt, **dict(fields))


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


def _horizon(state, t_now, t_stop):
    """Up to when a network built at t_now holds: the first current switch
    after t_now, and the end of the Poisson blocks drawn to cover t_stop."""
    nxt = np.inf
    for source, _ in state.current_sources:
        for t in source._switch_times():
            if t > t_now + state.dt / 2 and t < nxt:
                nxt = t
    if any(cells.is_random_source(p.celltype) for p in state.populations):
        nxt = min(nxt, t_stop)
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
