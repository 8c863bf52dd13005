"""lifsim as a PyNN backend: ``import lifsim.pynn as sim``.

Built on PyNN's ``common`` base classes (PyNN 0.13) over lifsim's Python
network API. A script describes the network through PyNN; the first ``run``
builds it into a ``lifsim.Network`` and runs it; later runs continue the same
simulation; ``reset`` starts again from the initial state. docs/pynn.md says
what is available (cell types, sources, connectors, recording) and which of
PyNN's own system-test scenarios pass.

Units are PyNN's (ms, mV, nA, nF, µS, Hz); lifsim's differ only in its
membrane resistance ``r = tau_m / cm``.
"""

from pyNN import errors, random, space  # noqa: F401
from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.connectors import *  # noqa: F401,F403
from pyNN.connectors import FixedProbabilityConnector
from pyNN.network import Network  # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.recording import get_io
from pyNN.recording import *  # noqa: F401,F403
from pyNN.space import Space  # noqa: F401
from pyNN.standardmodels import StandardCellType

from . import simulator
from .cells import (  # noqa: F401
    IF_cond_exp,
    IF_curr_alpha,
    IF_curr_delta,
    IF_curr_exp,
    SpikeSourceArray,
    SpikeSourceGamma,
    SpikeSourcePoisson,
    SpikeSourcePoissonRefractory,
    StaticSynapse,
)
from .electrodes import ACSource, DCSource, NoisyCurrentSource, StepCurrentSource  # noqa: F401
from .populations import Assembly, Population, PopulationView  # noqa: F401
from .projections import Projection


class NativeRNG(NumpyRNG):
    """lifsim.pynn's "native" generator. Connections, weights and delays are
    drawn in Python here (PyNN's connectors), so it is NumPy's generator,
    seeded by default from setup(rng_seed=...)."""

    def __init__(self, seed=None, parallel_safe=True):
        NumpyRNG.__init__(self, seed if seed is not None else simulator.state.seed, parallel_safe)


def register():
    """Makes this backend importable as ``pyNN.lifsim`` too, for scripts that
    pick their backend by name (``pyNN.utility.get_simulator``). PyNN is one
    package, so another distribution cannot add a module to it: this puts
    lifsim.pynn in ``sys.modules`` under that name, for this process."""
    import sys

    import pyNN

    sys.modules["pyNN.lifsim"] = sys.modules[__name__]
    pyNN.lifsim = sys.modules[__name__]


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """Starts a new simulation: ``timestep`` (ms), ``min_delay`` (ms or 'auto'),
    and the extras ``threads`` (lifsim's threads), ``rng_seed`` (the seed of
    lifsim's draws and of the Poisson sources), ``max_delay``. Other extras of
    other backends (``spike_precision``, ``t_flush``, ...) are accepted and unused."""
    max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    common.setup(timestep, min_delay, **extra_params)
    state = simulator.state
    state.clear()
    state.dt = float(timestep)
    state.min_delay_setting = "auto" if min_delay == "auto" else float(min_delay)
    state.max_delay = 1e12 if max_delay == "auto" else float(max_delay)
    state.threads = int(extra_params.get("threads", 1) or 1)
    state.seed = int(extra_params.get("rng_seed", 42))
    return rank()


def end(compatible_output=True):
    """Writes the data recorded to files (record(..., to_file=...)). The
    network and its recordings stay until the next setup(), as with pyNN.nest:
    get_data() after end() still gives them (PyNN's test_issue499)."""
    for population, variables, filename in simulator.state.write_on_end:
        io = get_io(filename)
        population.write_data(io, variables)
    simulator.state.write_on_end = []


run, run_until = common.build_run(simulator)
run_for = run
reset = common.build_reset(simulator)
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = \
    common.build_state_queries(simulator)

create = common.build_create(Population)
connect = common.build_connect(Projection, FixedProbabilityConnector, StaticSynapse)
set = common.set
record = common.build_record(simulator)


def record_v(source, filename):
    return record(["v"], source, filename)


def record_gsyn(source, filename):
    return record(["gsyn_exc", "gsyn_inh"], source, filename)


def list_standard_models():
    """The names of the standard cell types this backend has."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType) and obj is not StandardCellType]
