"""Networks from Python: populations, projections and inputs, as network files say them.

``Network`` is a convenient front over ``NetworkDescription``, the Rust core's
description of a network (the one definition: parameter names, units, defaults
and checks are the core's). Every call adds one entry, as a network file's
table, and the core reads and checks the whole network again; so whatever a
``Network`` holds, ``save`` writes as a file ``lifsim run`` reads, and
``Network.load`` reads any network file back.

This module only turns Python arguments into those tables (keywords, NumPy
arrays, matrices) and spikes into NumPy arrays per population.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple, Union

import numpy as np

from . import analysis
from ._running import Running
from .inputs import Input, target_key
from . import monitors as _monitors
from .monitors import Rate, StateMonitor
from ._lifsim import PARAMETERS, NetworkDescription
from ._lifsim import Simulation as _Simulation
from ._lifsim import _read_spikes
from ._lifsim import resume as _resume

__all__ = ["Input", "Network", "Population", "Simulation", "Spikes", "resume"]

# The population parameters a network file takes, from the core's parameter table.
_POPULATION_PARAMETERS = {p["name"]: p for p in PARAMETERS if "population" in p["fronts"]}
# Those that may be one value per neuron (a list or a 1-D array) or a distribution.
_PER_NEURON = ("i_ext", "v0")


class Population:
    """A population of a Network: its name, size and neuron ids (start:stop)."""

    def __init__(self, name: str, size: int, start: int, model: str) -> None:
        self.name = name
        self.size = size
        self.start = start
        self.stop = start + size
        self.model = model

    @property
    def ids(self) -> np.ndarray:
        """The global ids of its neurons."""
        return np.arange(self.start, self.stop, dtype=np.uint32)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"Population({self.name!r}, {self.size}, {self.model}, ids {self.start}:{self.stop})"


_Targets = Union[Population, str, Sequence[Union[Population, str]]]


def _names(targets: _Targets, what: str) -> list:
    """Population handles or names as a list of names."""
    if isinstance(targets, (Population, str)):
        targets = [targets]
    names = []
    for t in targets:
        if isinstance(t, Population):
            names.append(t.name)
        elif isinstance(t, str):
            names.append(t)
        else:
            raise TypeError(f"{what} must be a Population, a name or a list of them, got {type(t).__name__}")
    return names


def _number(value: Any, name: str, *, per_neuron: bool = False) -> Any:
    """Checks the type of a parameter value; returns it as the core takes it."""
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise TypeError(f"{name} must be a number, got bool")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, dict):
        return value  # a distribution: the core checks its keys
    if per_neuron and isinstance(value, (list, tuple, np.ndarray)):
        array = np.asarray(value)
        if array.ndim != 1 or not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
            raise TypeError(f"{name} must be a 1-D array of numbers (one per neuron), got {array.dtype} {array.shape}")
        return np.ascontiguousarray(array, dtype=np.float64)
    allowed = "a number, a distribution dict or one value per neuron" if per_neuron else "a number or a distribution dict"
    raise TypeError(f"{name} must be {allowed}, got {type(value).__name__}")


class Network:
    """A network of populations, projections and inputs (what a network file says).

    >>> net = lifsim.Network(dt=0.1, seed=1)
    >>> E = net.population("E", 3200, model="iaf_psc_exp", tau_m=20.0, v_rest=-49.0,
    ...                    v_reset=-60.0, v_thresh=-50.0, t_ref=5.0,
    ...                    v0={"distribution": "uniform", "low": -60.0, "high": -50.0})
    >>> net.connect(E, [E], rule="fixed_probability", p=0.02, weight=1.62,
    ...             delay=0.0, synapse="exponential", tau_syn=5.0)
    >>> spikes = net.run(1000.0)        # or: sim = net.build(); sim.run(500.0); ...

    Parameters take the units of network files (ms, mV, nA, MOhm, µS, Hz) and
    their defaults; the Rust core checks every value, and errors are
    ValueError / TypeError naming the population or projection and parameter.
    """

    def __init__(
        self,
        dt: float = 0.1,
        seed: int = 1,
        *,
        duration: float = 0.0,
        name: str = "network",
        dtype: str = "float64",
    ) -> None:
        desc = NetworkDescription.empty(name=name, dt=_number(dt, "dt"), duration=_number(duration, "duration"), seed=_int(seed, "seed"))
        if dtype != "float64":
            desc = desc.with_settings({"dtype": dtype})
        self._desc = desc
        self._files: Optional[tempfile.TemporaryDirectory] = None

    # -- the description -------------------------------------------------

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Network":
        """Reads a network file (any file ``lifsim run`` takes)."""
        net = cls.__new__(cls)
        net._desc = NetworkDescription.load(os.fspath(path))
        net._files = None
        return net

    @classmethod
    def from_description(cls, desc: NetworkDescription) -> "Network":
        """A Network over an existing NetworkDescription."""
        net = cls.__new__(cls)
        net._desc = desc
        net._files = None
        return net

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the network file ``path`` (``lifsim run path`` runs it).

        Matrices given to connect() are written beside it as ``<stem>.<k>.npz``
        (scipy.sparse's format) or ``.npy``, and named relative to it.
        """
        path = os.fspath(path)
        desc = self._desc
        if self._files is not None:
            desc = self._moved_files(path)
        desc.save(path)

    def to_toml(self) -> str:
        """The network file as text (file names relative to the current folder)."""
        return self._desc.to_toml()

    @property
    def description(self) -> NetworkDescription:
        """The core's description of the network."""
        return self._desc

    @property
    def populations(self) -> Dict[str, Population]:
        """The populations by name, in neuron order."""
        out, start = {}, 0
        for name, size, model in self._desc.populations:
            out[name] = Population(name, size, start, model)
            start += size
        return out

    def __getitem__(self, name: str) -> Population:
        return self.populations[name]

    @property
    def n(self) -> int:
        """Number of neurons."""
        return self._desc.n

    @property
    def dt(self) -> float:
        """Time step, ms."""
        return self._desc.dt

    @property
    def seed(self) -> int:
        """Seed of every random draw (connectivity, weights, delays, v0, Poisson)."""
        return self._desc.seed

    @property
    def duration(self) -> float:
        """The run time of ``lifsim run`` (and of run() without a duration), ms."""
        return self._desc.duration

    def set(self, **settings: Any) -> None:
        """Changes name, dt, duration, seed or dtype (checked as a file's)."""
        self._desc = self._desc.with_settings(settings)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Network) and self._desc == other._desc

    def __repr__(self) -> str:
        return repr(self._desc).replace("NetworkDescription", "Network", 1)

    # -- building it -----------------------------------------------------

    def population(self, name: str, size: int, *, model: Optional[str] = None, **params: Any) -> Population:
        """Adds a population of ``size`` neurons of ``model`` (default iaf_psc_exp).

        ``params`` are the population parameters of network files: tau_m (ms),
        v_rest, v_reset, v_thresh (mV), r (MOhm), t_ref (ms), i_ext (nA) and v0
        (mV), each a number; i_ext and v0 may also be a distribution dict
        ({"distribution": "uniform", "low": ..., "high": ...}) or one value per
        neuron (a list or 1-D NumPy array of ``size`` values).
        """
        entry: Dict[str, Any] = {"name": name, "size": _int(size, "size"), "model": model}
        for key, value in params.items():
            if key not in _POPULATION_PARAMETERS:
                known = ", ".join(_POPULATION_PARAMETERS)
                raise TypeError(f"population() got an unexpected keyword argument {key!r}; the parameters are {known}")
            entry[key] = _number(value, key, per_neuron=key in _PER_NEURON)
        self._desc = self._desc.with_entry("population", entry)
        return self.populations[name]

    def connect(
        self,
        source: _Targets,
        target: _Targets,
        *,
        rule: Optional[str] = None,
        weight: Any = None,
        delay: Any = None,
        synapse: Optional[str] = None,
        tau_syn: Optional[float] = None,
        e_rev: Optional[float] = None,
        p: Optional[float] = None,
        indegree: Optional[int] = None,
        outdegree: Optional[int] = None,
        n: Optional[int] = None,
        allow_autapses: Optional[bool] = None,
        allow_multapses: Optional[bool] = None,
        matrix: Any = None,
        weight_scale: Optional[float] = None,
    ) -> None:
        """Adds a projection from ``source`` onto ``target`` (populations or lists of them).

        ``rule`` is a connection rule of network files: all_to_all, one_to_one,
        fixed_probability (``p``), fixed_indegree (``indegree``), fixed_outdegree
        (``outdegree``), fixed_total_number (``n``); or give ``matrix``, a dense
        array or scipy.sparse matrix W[target, source] whose non-zero entries are
        the synapses and their weights (times ``weight_scale``). ``weight`` and
        ``delay`` (ms) are numbers or distribution dicts; ``synapse`` is delta,
        exponential or alpha (with ``tau_syn``), or conductance (``tau_syn``, ``e_rev``).
        """
        entry: Dict[str, Any] = {
            "source": _names(source, "source"),
            "target": _names(target, "target"),
            "weight": _number(weight, "weight"),
            "delay": _number(delay, "delay"),
            "synapse": synapse,
            "tau_syn": _number(tau_syn, "tau_syn"),
            "e_rev": _number(e_rev, "e_rev"),
            "p": _number(p, "p"),
            "indegree": _int(indegree, "indegree"),
            "outdegree": _int(outdegree, "outdegree"),
            "n": _int(n, "n"),
            "allow_autapses": _bool(allow_autapses, "allow_autapses"),
            "allow_multapses": _bool(allow_multapses, "allow_multapses"),
            "weight_scale": _number(weight_scale, "weight_scale"),
        }
        if matrix is not None:
            if rule not in (None, "from_file"):
                raise ValueError(f"rule: a matrix gives the synapses itself; got rule={rule!r} beside it")
            entry["rule"] = "from_file"
            entry["file"] = self._matrix_file(matrix)
        else:
            entry["rule"] = rule if rule is not None else _missing("rule", "connect() needs rule=... or matrix=...")
        self._desc = self._desc.with_entry("projection", entry)

    def poisson(
        self,
        target: _Targets,
        rate: float,
        weight: float,
        *,
        synapse: Optional[str] = None,
        tau_syn: Optional[float] = None,
        e_rev: Optional[float] = None,
        neurons: Optional[Iterable[int]] = None,
    ) -> Input:
        """An independent Poisson train of ``rate`` Hz into every target neuron."""
        return self._input("poisson", target, neurons, rate=_number(rate, "rate"), weight=_number(weight, "weight"),
                    synapse=synapse, tau_syn=_number(tau_syn, "tau_syn"), e_rev=_number(e_rev, "e_rev"))

    def current(self, target: _Targets, amplitude: float, *, neurons: Optional[Iterable[int]] = None) -> Input:
        """A constant current of ``amplitude`` nA into every target neuron (NEST's dc_generator)."""
        return self._input("current", target, neurons, amplitude=_number(amplitude, "amplitude"))

    def spike_generator(
        self,
        target: _Targets,
        times: Sequence[float],
        weight: float,
        *,
        delay: Optional[float] = None,
        synapse: Optional[str] = None,
        tau_syn: Optional[float] = None,
        e_rev: Optional[float] = None,
        neurons: Optional[Iterable[int]] = None,
    ) -> Input:
        """Spikes at ``times`` (ms) into every target neuron, after ``delay`` (ms)."""
        times = [_number(t, "times") for t in np.asarray(times, dtype=np.float64).ravel()]
        return self._input("spike_generator", target, neurons, times=times, weight=_number(weight, "weight"),
                    delay=_number(delay, "delay"), synapse=synapse, tau_syn=_number(tau_syn, "tau_syn"),
                    e_rev=_number(e_rev, "e_rev"))

    def _input(self, kind: str, target: _Targets, neurons: Optional[Iterable[int]], **fields: Any) -> Input:
        entry: Dict[str, Any] = {"type": kind, "target": _names(target, "target"), **fields}
        if neurons is not None:
            entry["neurons"] = [_int(i, "neurons") for i in np.asarray(neurons).ravel().tolist()]
        index = self._desc.num_inputs
        self._desc = self._desc.with_entry("input", entry)
        return Input(index, kind, entry["target"])

    # -- monitors (the network file's [record] entries) ------------------

    def record_state(
        self,
        population: str,
        variables: Sequence[str] = ("V_m",),
        *,
        ids: Optional[Iterable[int]] = None,
        n: Optional[int] = None,
        interval: Optional[float] = None,
        start: Optional[float] = None,
        stop: Optional[float] = None,
    ) -> None:
        """Records ``variables`` of neurons ``ids`` (population-local) or the
        first ``n`` of ``population`` (default: all) every ``interval`` ms (a
        ``[[record.state]]`` table): ``Simulation.monitors`` once built, a
        ``.state.npz`` file from ``lifsim run``."""
        if isinstance(variables, str):
            variables = [variables]
        entry: Dict[str, Any] = {
            "population": population,
            "variables": list(variables),
            "n": _int(n, "n"),
            "interval": _number(interval, "interval"),
            "start": _number(start, "start"),
            "stop": _number(stop, "stop"),
        }
        if ids is not None:
            entry["ids"] = [_int(i, "ids") for i in np.asarray(ids).ravel().tolist()]
        self._desc = self._desc.with_entry("record.state", entry)

    def record_spikes(self, population: str, *, n: Optional[int] = None, ids: Any = None) -> None:
        """Records the spikes of neurons ``ids`` (population-local: a list, or
        a ``range`` with step 1) or the first ``n`` of ``population`` (default:
        all of it), as Brian2's ``SpikeMonitor(G[:n])`` (a
        ``[[record.spikes_from]]`` table). Once any population is named, only
        the named neurons' spikes are kept (Simulation.run, spikes(); the
        spike file of ``lifsim run``); ``Simulation.rate`` still counts every
        neuron. Call it once per population."""
        entry: Dict[str, Any] = {"population": population, "n": _int(n, "n")}
        if isinstance(ids, range) and ids.step == 1:
            entry["ids"] = {"start": ids.start, "stop": ids.stop}
        elif ids is not None:
            entry["ids"] = [_int(i, "ids") for i in np.asarray(ids).ravel().tolist()]
        self._desc = self._desc.with_entry("record.spikes_from", entry)

    def record_rate(self, bin: Optional[float] = None) -> None:
        """Records every population's rate (``[record] rate``), in bins of
        ``bin`` ms (default: one step): a ``.rate.npz`` file from ``lifsim
        run``. (``Simulation.rate`` computes it from the spikes in any case.)"""
        entry = {} if bin is None else {"bin": _number(bin, "bin")}
        self._desc = self._desc.with_entry("record.rate", entry)

    # -- running it ------------------------------------------------------

    def build(self, *, threads: Optional[int] = None,
              state_to: Union[None, str, os.PathLike, bool] = None) -> "Simulation":
        """Builds the synapses and the initial state: a Simulation at t = 0.

        ``state_to`` says where the network's own state monitors
        (``[[record.state]]``, Network.record_state) go. None (default): as
        the network says: with ``[record] state_to = "disk"`` they stream,
        together, to ``<network name>.state.npz`` in the current folder (as
        ``lifsim run`` streams them to ``<stem>.state.npz``; a name that is
        no file name raises ValueError asking for a path), else they stay
        in memory. A path: they stream to it, whatever the network says.
        False: they stay in memory.
        """
        return Simulation(self._desc.build(threads=threads, state_to=state_to), self)

    def run(self, duration: Optional[float] = None, *, threads: Optional[int] = None, progress: bool = False) -> "Spikes":
        """Builds and runs the network for ``duration`` ms (default: its duration)."""
        return self.build(threads=threads).run(duration, progress=progress)

    # -- matrices ----------------------------------------------------------

    def _matrix_file(self, matrix: Any) -> str:
        """Writes a connect() matrix where the core reads it: a scipy.sparse
        matrix (anything with tocsr()) as scipy's .npz, an array as .npy."""
        if self._files is None:
            self._files = tempfile.TemporaryDirectory(prefix="lifsim-network-")
        k = self._desc.num_projections
        if hasattr(matrix, "tocsr"):
            csr = matrix.tocsr()
            path = os.path.join(self._files.name, f"projection{k}.npz")
            np.savez(path, format=np.array(b"csr"), shape=np.array(csr.shape, dtype=np.int64),
                     data=np.asarray(csr.data), indices=np.asarray(csr.indices), indptr=np.asarray(csr.indptr))
        else:
            array = np.asarray(matrix)
            if array.dtype not in (np.float32, np.float64):
                raise TypeError(f"matrix must be float32 or float64 (W[target, source]), got {array.dtype}")
            path = os.path.join(self._files.name, f"projection{k}.npy")
            np.save(path, array)
        return path

    def _moved_files(self, path: str) -> NetworkDescription:
        """The description with the connect() matrices copied beside ``path``."""
        folder, stem = os.path.split(os.path.splitext(path)[0])
        text = self._desc.to_toml(self._files.name)
        for name in sorted(os.listdir(self._files.name)):
            target = f"{stem}.{name}"
            shutil.copyfile(os.path.join(self._files.name, name), os.path.join(folder or ".", target))
            text = text.replace(f'file = "{name}"', f'file = "{target}"')
        return NetworkDescription.from_toml(text, folder or ".", name=self._desc.name)


def _missing(name: str, message: str) -> Any:
    raise ValueError(f"{name}: {message}")


def _int(value: Any, name: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    return int(value)


def _bool(value: Any, name: str) -> Optional[bool]:
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    raise TypeError(f"{name} must be True or False, got {type(value).__name__}")


class Spikes:
    """Spikes of a run: times (ms), neuron ids, and the population of each.

    Attributes:
        times: float64 spike times, ms, sorted.
        ids: uint32 global neuron ids, in the order of times.
        population: int index into ``names`` of each spike's population.
        names: the population names, in neuron order.
    ``spikes["E"]`` is the spikes of population E alone (ids still global;
    ``spikes["E"].ids - net["E"].start`` numbers them within it).
    ``recorded``: where the network records some neurons' spikes only
    (Network.record_spikes), the global ids recorded by population name
    (None: every neuron's). rates() and psth() are then those of the
    recorded neurons, and the per-neuron measures are NaN for the others.
    """

    def __init__(self, times: np.ndarray, ids: np.ndarray, populations: Sequence[tuple], t_start: float, t_stop: float,
                 recorded: Optional[Dict[str, np.ndarray]] = None) -> None:
        self.times = times
        self.ids = ids
        self.recorded = recorded
        self._populations = list(populations)
        self.names = [p[0] for p in self._populations]
        stops = np.array([p[2] for p in self._populations], dtype=np.int64)
        self.population = np.searchsorted(stops, ids, side="right")
        self.t_start = t_start
        self.t_stop = t_stop

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, name: str) -> "Spikes":
        k = self.names.index(name)
        keep = self.population == k
        return Spikes(self.times[keep], self.ids[keep], self._populations, self.t_start, self.t_stop, self.recorded)

    def by_population(self) -> Dict[str, "Spikes"]:
        """The spikes of each population, by name."""
        return {name: self[name] for name in self.names}

    def rates(self) -> Dict[str, float]:
        """Mean firing rate of each population over t_start..t_stop, Hz."""
        span = (self.t_stop - self.t_start) * 1e-3
        out = {}
        for k, (name, start, stop) in enumerate(self._populations):
            count = int(np.count_nonzero(self.population == k))
            out[name] = count / (self._size(name) * span) if span > 0 else 0.0
        return out

    def _size(self, name: str) -> float:
        """Neurons of ``name`` whose spikes these are (NaN: none recorded)."""
        k = self.names.index(name)
        if self.recorded is None:
            return self._populations[k][2] - self._populations[k][1]
        return len(self.recorded[name]) if name in self.recorded else float("nan")

    def _per_neuron(self, name: str, values: np.ndarray) -> np.ndarray:
        """``values`` of each neuron of ``name``, NaN where its spikes are not recorded."""
        if self.recorded is None:
            return values
        start = self._populations[self.names.index(name)][1]
        out = np.full(len(values), np.nan)
        kept = np.asarray(self.recorded.get(name, []), dtype=np.int64) - start
        out[kept] = values[kept]
        return out

    def rates_per_neuron(self, name: str) -> np.ndarray:
        """Firing rate of each neuron of population ``name``, Hz (see ``lifsim.analysis``)."""
        return self._per_neuron(name, analysis.rates_per_neuron(self.times, self.ids, self._populations, name, self.t_start, self.t_stop))

    def isi_cv(self, name: str) -> np.ndarray:
        """ISI coefficient of variation of each neuron of ``name`` (NaN below 3 spikes)."""
        return self._per_neuron(name, analysis.isi_cv(self.times, self.ids, self._populations, name))

    def fano_factor(self, name: str, bin: float = 100.0) -> np.ndarray:
        """Fano factor of each neuron's spike counts in bins of ``bin`` ms (NaN if silent)."""
        return self._per_neuron(name, analysis.fano_factor(self.times, self.ids, self._populations, name, self.t_start, self.t_stop, bin))

    def psth(self, name: str, bin: float = 1.0) -> Tuple[np.ndarray, np.ndarray]:
        """Population ``name``'s rate in bins of ``bin`` ms: (bin start times, Hz)."""
        t, r = analysis.psth(self.times, self.ids, self._populations, name, self.t_start, self.t_stop, bin)
        k = self.names.index(name)
        return t, r * (self._populations[k][2] - self._populations[k][1]) / self._size(name)

    def to_pandas(self) -> Any:
        """A pandas DataFrame, one row a spike: time_ms, id, population, index."""
        return analysis.to_pandas(self.times, self.ids, self._populations)

    def to_neo(self, names: Optional[Sequence[str]] = None) -> Any:
        """A Neo Block: one SpikeTrain a neuron (of the populations ``names``, all by default)."""
        return analysis.to_neo(self.times, self.ids, self._populations, self.t_start, self.t_stop, names)

    def plot(self, *, per_population: Optional[int] = None, bin: float = 1.0, ax: Any = None) -> Any:
        """The raster coloured by population over the population rates (matplotlib figure)."""
        return analysis.plot(self.times, self.ids, self._populations, self.t_start, self.t_stop,
                             per_population=per_population, bin=bin, ax=ax)

    def __repr__(self) -> str:
        return f"Spikes({len(self)} spikes, {self.t_start}-{self.t_stop} ms, populations {self.names})"


class Simulation(Running):
    """A built network at some time of its run (Network.build, lifsim.resume).

    ``run(duration)`` goes on for ``duration`` ms and returns that piece's
    Spikes; pieces give, bit for bit, the spikes of one run as long as them all.
    """

    def __init__(self, sim: _Simulation, network: Optional[Network] = None) -> None:
        self._sim = sim
        self.network = network

    def run(self, duration: Optional[float] = None, *, progress: bool = False) -> Spikes:
        """Runs ``duration`` ms more (default: up to the network's duration).

        progress=True shows a progress bar (tqdm's when installed, else a text
        bar on stderr). Ctrl-C stops between steps with KeyboardInterrupt,
        keeping what was simulated (spikes(), t).
        """
        t0 = self._sim.t
        times, ids = self._piece(progress, lambda bar: self._sim.run(duration, progress=bar))
        return Spikes(times, ids, self._sim.populations, t0, self._sim.t, self._sim._recorded)

    def record_state(
        self,
        population: str,
        variables: Sequence[str] = ("V_m",),
        *,
        ids: Optional[Iterable[int]] = None,
        n: Optional[int] = None,
        interval: Optional[float] = None,
        start: Optional[float] = None,
        stop: Optional[float] = None,
        to: Optional[Union[str, os.PathLike]] = None,
    ) -> StateMonitor:
        """Records ``variables`` (``V_m``; ``I_syn``; ``g_ex``, ``g_in``: see
        lifsim.monitors) of neurons ``ids`` (population-local) or the first
        ``n`` of ``population`` (default: all) every ``interval`` ms (default
        dt), from now on: a StateMonitor whose ``times`` and ``values`` fill
        as the simulation runs. A sample at ``t`` is the state at the end of
        the step ending at ``t`` (NEST's multimeter). With ``to``, the
        samples stream to that .npz file as the run goes (memory holds one
        block of 64 MiB at most), written after each run() as ``lifsim run``
        writes its ``.state.npz`` (its temporary ``<to>.partial-*`` files
        stay beside it until the simulation is gone).
        """
        return _monitors.record_state(self._sim, population, variables, ids=ids, n=n,
                                      interval=interval, start=start, stop=stop, to=to)

    @property
    def monitors(self) -> "list[StateMonitor]":
        """The state monitors the network asked for (Network.record_state,
        ``[[record.state]]``) and those added since, in order."""
        return [StateMonitor(self._sim, k) for k in range(self._sim._state_monitors)]

    def rate(self, population: Optional[str] = None, bin: Optional[float] = None) -> Rate:
        """The population rate of ``population`` (default: every neuron) from
        the spikes so far, in bins of ``bin`` ms (default dt), Brian2's
        PopulationRateMonitor: (times in ms at the end of each bin, rate in Hz,
        spike counts)."""
        return _monitors.rate(self._sim, population, bin)

    def spikes(self) -> Spikes:
        """Every spike since the simulation was built (or resumed)."""
        times, ids = self._sim.spikes()
        return Spikes(times, ids, self._sim.populations, 0.0, self._sim.t, self._sim._recorded)

    def set(self, target: Union[Population, str, Input], **values: Any) -> None:
        """Changes parameters for the rest of the run, keeping the state.

        ``target`` is a population (or its name): its neuron parameters tau_m,
        r, v_rest, v_reset, v_thresh, t_ref, i_ext (a number, a distribution
        dict or one value per neuron); or an Input (from Network.poisson,
        current): a Poisson input's rate and weight, a current's amplitude.
        Values are checked as a network file's are. Sizes, models, v0,
        projections, the seed and dt cannot change without building the
        network again (ValueError). Checkpoints after it hold the change.
        """
        self._sim.set(target_key(target), dict(values))

    def batch(self, values: Dict[str, Sequence[Any]], *, duration: Optional[float] = None,
              jobs: Optional[int] = None) -> Any:
        """Branches from now, one per point of the grid ``values``
        ({"E.i_ext": [0.1, 0.2], ...}), run concurrently for ``duration`` ms
        each: a lifsim.Sweep of Spikes, bit for bit what set() and run() give
        each branch one by one (lifsim/sweep.py's batch)."""
        from .sweep import batch
        return batch(self, values, duration=duration, jobs=jobs)

    def save_checkpoint(self, path: Union[str, os.PathLike]) -> None:
        """Writes the network and its state; lifsim.resume(path) goes on from it."""
        self._sim.save_checkpoint(os.fspath(path))

    @property
    def synapses(self) -> int:
        """Number of synapses."""
        return self._sim.synapses



def resume(path: Union[str, os.PathLike], *, threads: Optional[int] = None,
           state_to: Union[None, str, os.PathLike, bool] = None) -> Simulation:
    """A Simulation from a checkpoint of Simulation.save_checkpoint, at its
    step; ``state_to`` as in Network.build."""
    return Simulation(_resume(os.fspath(path), threads=threads, state_to=state_to))


def read_spikes(path: Union[str, os.PathLike], *, dt: Optional[float] = None,
                population: Optional[str] = None) -> Spikes:
    """The Spikes of a spike file lifsim writes (events .npz, .spikes stream,
    SONATA .h5; a dense .npy with its ``dt``), read as ``lifsim info`` and
    ``lifsim plot`` read it: its populations, and where it holds some
    neurons' spikes only, ``recorded`` (so rates() are over those neurons,
    as ``lifsim info`` gives them). ``population`` chooses one of a SONATA
    file's populations."""
    d = _read_spikes(os.fspath(path), dt=dt, population=population)
    return Spikes(d["times"], d["ids"], d["populations"], 0.0, d["t_stop"], d["recorded"])
