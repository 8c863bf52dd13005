"""Type stubs of lifsim's extension module (the docstrings live in the module)."""

import os
from typing import Any, Literal, Optional, Sequence, Tuple, Union, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "NetworkDescription",
    "PARAMETERS",
    "Simulation",
    "resume",
    "SimulationResult",
    "WORKLOADS",
    "Weights",
    "__version__",
    "generate_weights",
    "load_weights",
    "simulate",
    "workload",
]

__version__: str
WORKLOADS: list[str]
PARAMETERS: Tuple[dict[str, Any], ...]
"""The parameter table: name, unit, kind, default, help, fronts (where it can be given)."""

_Dtype = Union[Literal["float64", "float32"], type[np.floating[Any]], np.dtype[Any]]
_Vector = Union[Sequence[float], npt.NDArray[np.floating[Any]], npt.NDArray[np.integer[Any]]]

@final
class SimulationResult:
    """What one call of lifsim.simulate recorded."""

    @property
    def spikes(self) -> npt.NDArray[np.bool_]:
        """bool (steps, N), the seed's np.asarray(spike_train); record="dense" only."""
    @property
    def times(self) -> npt.NDArray[np.float64]:
        """Spike times in ms, (step + 1) * dt, sorted; record="events" only."""
    @property
    def ids(self) -> npt.NDArray[np.uint32]:
        """The neuron of each spike, in the order of times; record="events" only."""
    @property
    def count(self) -> npt.NDArray[np.uint64]:
        """Spikes per neuron."""
    @property
    def rates(self) -> npt.NDArray[np.float64]:
        """Firing rate of each neuron, Hz."""
    @property
    def num_spikes(self) -> int:
        """Total number of spikes."""
    @property
    def mean_rate(self) -> float:
        """Mean firing rate over all neurons, Hz."""
    @property
    def n(self) -> int:
        """Number of neurons."""
    @property
    def steps(self) -> int:
        """Number of steps: len(np.arange(0, t_max, dt)) - 1."""
    @property
    def dt(self) -> float:
        """Time step, ms."""
    @property
    def duration(self) -> float:
        """Simulated time covered by the steps, steps * dt, ms."""
    @property
    def record(self) -> Literal["dense", "events", "counts"]:
        """What was recorded."""
    @property
    def dtype(self) -> Literal["float64", "float32"]:
        """The float type of the run."""
    @property
    def wall_time(self) -> float:
        """Seconds the simulation loop took (set-up excluded)."""

@final
class Weights:
    """A weight matrix checked once and held, immutable, for many simulate calls."""

    def __init__(self, W: npt.ArrayLike, *, dtype: _Dtype = "float64") -> None: ...
    @property
    def n(self) -> int:
        """Number of neurons N."""
    @property
    def shape(self) -> Tuple[int, int]:
        """(N, N)."""
    @property
    def dtype(self) -> Literal["float64", "float32"]:
        """The float type of the runs these weights are for."""
    def __array__(
        self, dtype: Optional[npt.DTypeLike] = None, copy: Optional[bool] = None
    ) -> npt.NDArray[np.floating[Any]]:
        """A copy of the matrix as a Fortran-order NumPy array."""

def simulate(
    W: Union[npt.ArrayLike, Weights],
    *,
    dt: float = 0.01,
    t_max: float = 100.0,
    tau_m: float = 20.0,
    v_reset: float = -65.0,
    v_thresh: float = -50.0,
    r: float = 1.0,
    v_rest: Optional[float] = None,
    i_ext: Union[float, _Vector] = 0.0,
    v0: Union[None, Literal["reset", "uniform"], float, _Vector] = None,
    t_ref: float = 0.0,
    dtype: _Dtype = "float64",
    record: Literal["dense", "events", "counts"] = "dense",
    seed: Optional[int] = 1,
    threads: Optional[int] = None,
) -> SimulationResult:
    """Simulate a recurrent network of leaky integrate-and-fire neurons."""

def load_weights(
    path: Union[str, os.PathLike[str]],
    *,
    dtype: Optional[_Dtype] = None,
) -> npt.NDArray[np.floating[Any]]:
    """Load an (N, N) weight matrix from an .npy file, in Fortran order."""

def generate_weights(
    n: int,
    *,
    mean: float = 0.0,
    std: float = 1.0,
    p: float = 1.0,
    quantum: Optional[float] = None,
    seed: int = 1,
    dtype: _Dtype = "float64",
) -> npt.NDArray[np.floating[Any]]:
    """A deterministic random (N, N) weight matrix, as `lifsim gen-weights` writes."""

def workload(
    name: Literal["seed", "seed-active"],
) -> Tuple[npt.NDArray[np.float64], dict[str, Any]]:
    """A named reference workload: W and the keyword arguments of simulate."""

_Path = Union[str, os.PathLike[str]]
_Spikes = Tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]

@final
class NetworkDescription:
    """A network as a network file describes it (immutable; lifsim.Network holds one)."""

    @staticmethod
    def empty(*, name: str = "network", dt: float = 0.1, duration: float = 0.0, seed: int = 1) -> NetworkDescription:
        """An empty network (no populations yet)."""
    @staticmethod
    def load(path: _Path) -> NetworkDescription:
        """Reads and checks a network file, as `lifsim run FILE` does."""
    @staticmethod
    def from_toml(text: str, folder: Optional[_Path] = None, *, name: str = "network") -> NetworkDescription:
        """Reads and checks the text of a network file (file names relative to folder)."""
    def with_entry(self, kind: Literal["population", "projection", "input"], entry: dict[str, Any]) -> NetworkDescription:
        """This description with one more entry (a network file's table), checked whole."""
    def with_settings(self, settings: dict[str, Any]) -> NetworkDescription:
        """This description with name, dt, duration, seed or dtype changed."""
    def to_toml(self, folder: Optional[_Path] = None) -> str:
        """The network file that says this network."""
    def save(self, path: _Path) -> None:
        """Writes the network file path, which `lifsim run` reads."""
    def build(self, *, threads: Optional[int] = None, state_to: Union[None, _Path, bool] = None) -> Simulation:
        """Builds the synapses and the initial state: a Simulation at t = 0."""
    @property
    def populations(self) -> list[Tuple[str, int, str]]:
        """(name, size, model) of each population, in neuron order."""
    @property
    def name(self) -> str: ...
    @property
    def dt(self) -> float:
        """Time step, ms."""
    @property
    def duration(self) -> float:
        """The run time of `lifsim run` on this network, ms."""
    @property
    def seed(self) -> int: ...
    @property
    def dtype(self) -> Literal["float64", "float32"]: ...
    @property
    def n(self) -> int:
        """Number of neurons."""
    @property
    def num_projections(self) -> int: ...
    @property
    def num_inputs(self) -> int: ...

@final
class Simulation:
    """A built network at some time of its run (lifsim.Simulation wraps it)."""

    def run(self, duration: Optional[float] = None, *, progress: Optional[Any] = None) -> _Spikes:
        """Runs duration ms more; the spikes of this piece as (times in ms, ids)."""
    def spikes(self) -> _Spikes:
        """Every spike so far, as (times in ms, ids)."""
    def voltages(self) -> npt.NDArray[np.float64]:
        """Membrane potentials now, mV."""
    def state(self) -> dict[str, Any]:
        """The whole dynamic state: step, pending and the named state arrays."""
    def set_state(self, state: dict[str, Any]) -> None:
        """Puts the simulation in a state() of this network."""
    def set(self, target: Union[str, int], values: dict[str, Any]) -> None:
        """Changes parameters of a population (its name) or input (its number) for the rest of the run."""
    def save_checkpoint(self, path: _Path) -> None:
        """Writes the network file and the state; resume(path) goes on from it."""
    def _record_state(
        self,
        population: str,
        variables: list[str],
        *,
        ids: Optional[list[int]] = None,
        n: Optional[int] = None,
        interval: Optional[float] = None,
        start: Optional[float] = None,
        stop: Optional[float] = None,
        to: Optional[str] = None,
    ) -> int:
        """Adds a state monitor from the next step on (streamed to the file to, if given); its index."""
    def _state_key(self, m: int) -> Optional[str]:
        """The key prefix of state monitor m's arrays in its file (E, E#2), if it streams to one."""
    def _state_file(self, m: int) -> Optional[str]:
        """The file state monitor m streams to, if it does."""
    def _state_record(self, m: int) -> dict[str, Any]:
        """State monitor m so far: population, ids, times (ms), values (name: (samples, neurons))."""
    @property
    def _recorded(self) -> Optional[dict[str, npt.NDArray[np.uint32]]]:
        """Global ids whose spikes are kept, by population ([[record.spikes_from]]); None: all."""
    @property
    def _state_monitors(self) -> int:
        """The number of state monitors."""
    def _rate(
        self, population: Optional[str] = None, bin: Optional[float] = None
    ) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.uint64], npt.NDArray[np.float64]]:
        """The population rate from the spikes so far: (times ms, counts, Hz)."""
    @property
    def step(self) -> int: ...
    @property
    def t(self) -> float:
        """Time simulated so far, ms."""
    @property
    def dt(self) -> float: ...
    @property
    def n(self) -> int: ...
    @property
    def synapses(self) -> int: ...
    @property
    def threads(self) -> int: ...
    @property
    def populations(self) -> list[Tuple[str, int, int]]:
        """(name, first id, one past the last id) of each population."""

def _read_spikes(path: _Path, *, dt: Optional[float] = None, population: Optional[str] = None) -> dict[str, Any]:
    """A spike file's times, ids, populations, t_stop and recorded ids (None: every neuron's)."""

def resume(path: _Path, *, threads: Optional[int] = None, state_to: Union[None, _Path, bool] = None) -> Simulation:
    """A Simulation from a checkpoint of Simulation.save_checkpoint, at its step."""

def _cli_main(argv: list[str]) -> int:
    """Runs the `lifsim` command line `argv` (argv[0] is the program name) in
    this process; returns its exit status (the wheel's `lifsim` command)."""
    ...

@final
class DenseSimulation:
    """The seed's dense model at some step of its run (lifsim.DenseSimulation wraps it)."""

    @staticmethod
    def build(W: Any, keywords: Optional[dict[str, Any]] = None, *, threads: Optional[int] = None) -> "DenseSimulation":
        """The model of simulate(W, **keywords) at step 0."""
    def run(
        self, duration: Optional[float] = None, *, steps: Optional[int] = None, progress: Optional[Any] = None
    ) -> _Spikes:
        """Runs duration ms or steps steps more; the spikes of this piece as (times in ms, ids)."""
    def spikes(self) -> _Spikes:
        """Every spike so far, as (times in ms, ids)."""
    def spike_steps(self) -> Tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
        """Every spike so far, as (steps, ids)."""
    def voltages(self) -> npt.NDArray[np.float64]:
        """Membrane potentials now, mV."""
    def state(self) -> dict[str, Any]:
        """The whole dynamic state: step, pending and the state arrays."""
    def set_state(self, state: dict[str, Any]) -> None:
        """Puts the simulation in a state() of this model."""
    @property
    def step(self) -> int: ...
    @property
    def t(self) -> float: ...
    @property
    def dt(self) -> float: ...
    @property
    def n(self) -> int: ...
    @property
    def threads(self) -> int: ...
