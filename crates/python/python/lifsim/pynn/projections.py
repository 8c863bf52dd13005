"""PyNN's Projection for lifsim: connections as arrays, made by PyNN's connectors.

PyNN's connectors (AllToAll ... FromFile, CSA) call ``_convergent_connect``
once per postsynaptic cell; the Projection keeps the connections as NumPy
arrays (presynaptic index, postsynaptic index, weight, delay), which answer
``get``/``set``/``save`` and which ``build.py`` writes as lifsim projections.
Weights are PyNN's (nA current-based, µS conductance-based, mV for
IF_curr_delta), which are lifsim's units too.
"""

from __future__ import annotations

import numpy as np
from lazyarray import larray
from pyNN import common, errors
from pyNN.connectors import FixedTotalNumberConnector
from pyNN.random import RandomDistribution
from pyNN.space import Space

from . import simulator
from .cells import StaticSynapse


class Connection(common.Connection):
    """One connection of a Projection: a view of its row in the arrays."""

    def __init__(self, projection, i):
        self._projection = projection
        self._i = i

    @property
    def presynaptic_index(self):
        return int(self._projection._pre[self._i])

    @property
    def postsynaptic_index(self):
        return int(self._projection._post[self._i])

    def _get(self, name):
        return float(self._projection._values[name][self._i])

    def _set(self, name, value):
        self._projection._values[name][self._i] = value
        simulator.state.mark_changed()

    weight = property(lambda self: self._get("weight"), lambda self, v: self._set("weight", v))
    delay = property(lambda self: self._get("delay"), lambda self, v: self._set("delay", v))

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) for name in attribute_names)


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector, synapse_type=None,
                 source=None, receptor_type=None, space=Space(), label=None):
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population, connector,
                                   synapse_type, source, receptor_type, space, label)
        if type(self.synapse_type) is not StaticSynapse:
            raise NotImplementedError(
                f"lifsim.pynn: synapse type {type(self.synapse_type).__name__} is not available "
                f"(lifsim has static synapses only)")
        targets = getattr(self.post, "populations", [self.post])
        for target in targets:
            if not hasattr(target.celltype, "lifsim_model"):
                raise errors.ConnectionError(f"lifsim.pynn: cannot connect onto {type(target.celltype).__name__} cells")
        self._conductance_based = any(t.celltype.conductance_based for t in targets)
        self._chunks = []
        self._pre = np.zeros(0, dtype=np.int64)
        self._post = np.zeros(0, dtype=np.int64)
        self._values = {"weight": np.zeros(0), "delay": np.zeros(0)}
        if not self._fixed_total_number(connector):
            connector.connect(self)
        self._consolidate()
        simulator.state.projections.append(self)
        simulator.state.mark_changed()

    # -- made by the connectors -------------------------------------------

    def _fixed_total_number(self, connector) -> bool:
        """FixedTotalNumberConnector with replacement, drawn as whole arrays:
        PyNN's own draws one connection at a time in Python, hours for PD14's
        10^7 synapses. The same distribution: each of the n connections from a
        source and onto a target drawn uniformly (pairs i == i drawn again
        without autapses), weights and delays from the synapse type. Returns
        False (PyNN's connector runs) where that does not apply."""
        if not (isinstance(connector, FixedTotalNumberConnector) and connector.with_replacement):
            return False
        values = {}
        native = self.synapse_type.native_parameters
        for name in ("weight", "delay"):
            base = native[name].base_value
            if not isinstance(base, (int, float, np.integer, np.floating, RandomDistribution)):
                return False
            values[name] = base
        rng, n = connector.rng, int(connector.n)
        pre = np.asarray(rng.next(n, "uniform_int", {"low": 0, "high": self.pre.size}, mask=None), dtype=np.int64)
        post = np.asarray(rng.next(n, "uniform_int", {"low": 0, "high": self.post.size}, mask=None), dtype=np.int64)
        if not connector.allow_self_connections and self.pre == self.post:
            same = pre == post
            while same.any():
                k = int(same.sum())
                pre[same] = rng.next(k, "uniform_int", {"low": 0, "high": self.pre.size}, mask=None)
                post[same] = rng.next(k, "uniform_int", {"low": 0, "high": self.post.size}, mask=None)
                same = pre == post
        drawn = {}
        for name, base in values.items():
            if isinstance(base, RandomDistribution):
                drawn[name] = np.asarray(base.next(n), dtype=float).reshape(n)
            else:
                drawn[name] = np.full(n, float(base))
        self._chunks.append((pre, post, drawn))
        return True

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index, location_selector=None,
                            **connection_parameters):
        if location_selector is not None:
            raise NotImplementedError("lifsim.pynn: lifsim has point neurons only (no location_selector)")
        pre = np.asarray(presynaptic_indices, dtype=np.int64).ravel()
        n = pre.size
        values = {}
        for name in ("weight", "delay"):
            value = connection_parameters.get(name)
            values[name] = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
        self._chunks.append((pre, np.full(n, int(postsynaptic_index), dtype=np.int64), values))

    def _consolidate(self):
        if not self._chunks:
            return
        self._pre = np.concatenate([self._pre] + [c[0] for c in self._chunks])
        self._post = np.concatenate([self._post] + [c[1] for c in self._chunks])
        for name in self._values:
            self._values[name] = np.concatenate([self._values[name]] + [c[2][name] for c in self._chunks])
        self._chunks = []
        self._check()

    def _check(self):
        weight, delay = self._values["weight"], self._values["delay"]
        if self._conductance_based and np.any(weight < 0):
            raise errors.ConnectionError("lifsim.pynn: weights of conductance-based synapses must be >= 0 µS")
        # Delays count on the step grid (build.py rounds them, as NEST does).
        floor, dt = simulator.state.default_delay, simulator.state.dt
        if delay.size and np.round(delay.min() / dt) * dt < floor - 1e-9 * dt:
            raise errors.ConnectionError(
                f"lifsim.pynn: delay {delay.min()} ms is below min_delay ({floor} ms) on the {dt} ms grid")

    def _arrays(self):
        """(pre index, post index, weight, delay) of every connection."""
        self._consolidate()
        return self._pre, self._post, self._values["weight"], self._values["delay"]

    # -- PyNN's interface -------------------------------------------------

    def __len__(self):
        self._consolidate()
        return int(self._pre.size)

    def __getitem__(self, i):
        self._consolidate()
        if isinstance(i, (int, np.integer)):
            if not -len(self) <= i < len(self):
                raise IndexError(f"connection {i} of a projection of {len(self)}")
            return Connection(self, int(i) % len(self))
        return [Connection(self, int(j)) for j in np.arange(len(self))[i]]

    @property
    def connections(self):
        return [Connection(self, i) for i in range(len(self))]

    def _get_attributes_as_list(self, names):
        self._consolidate()
        columns = []
        for name in names:
            if name == "presynaptic_index":
                columns.append(self._pre.tolist())
            elif name == "postsynaptic_index":
                columns.append(self._post.tolist())
            else:
                columns.append(self._values[name].tolist())
        return list(zip(*columns))

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        self._consolidate()
        out = []
        shape = (self.pre.size, self.post.size)
        for name in names:
            name = name[:-1] if name.endswith("s") and name[:-1] in self._values else name
            v = self._values[name]
            if multiple_synapses == "sum":
                values = np.zeros(shape)
                np.add.at(values, (self._pre, self._post), v)
                count = np.zeros(shape, dtype=np.int64)
                np.add.at(count, (self._pre, self._post), 1)
                values[count == 0] = np.nan
            elif multiple_synapses in ("min", "max"):
                values = np.full(shape, np.nan)
                (np.fmin if multiple_synapses == "min" else np.fmax).at(values, (self._pre, self._post), v)
            elif multiple_synapses == "first":
                values = np.full(shape, np.nan)
                values[self._pre[::-1], self._post[::-1]] = v[::-1]
            else:  # last
                values = np.full(shape, np.nan)
                values[self._pre, self._post] = v
            out.append(values)
        return out

    def _set_attributes(self, parameter_space):
        self._consolidate()
        for name, value in parameter_space.items():
            if name not in self._values:
                raise errors.NonExistentParameterError(name, "StaticSynapse", list(self._values))
            self._values[name] = self._evaluate_at(value, name)
        self._check()
        simulator.state.mark_changed()

    def _evaluate_at(self, value, name):
        """A PyNN attribute value (a larray over pre x post) at every connection."""
        base = value.base_value if isinstance(value, larray) else value
        if isinstance(base, RandomDistribution):
            return np.asarray(base.next(len(self)), dtype=float).reshape(len(self))
        if isinstance(value, larray) and value.is_homogeneous:
            return np.full(len(self), float(value.evaluate(simplify=True)))
        full = value.evaluate(simplify=False) if isinstance(value, larray) else np.asarray(value)
        full = np.broadcast_to(np.asarray(full, dtype=float), (self.pre.size, self.post.size))
        out = full[self._pre, self._post]
        if np.isnan(out).any():
            raise errors.InvalidParameterValueError(f"{name}: the array has NaN where a connection exists")
        return out

    def _set_initial_value_array(self, variable, value):
        raise NotImplementedError("lifsim.pynn: static synapses have no state variables to initialize")

