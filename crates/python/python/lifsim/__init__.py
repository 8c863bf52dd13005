"""lifsim: fast, bit-exact simulation of leaky integrate-and-fire networks.

NumPy arrays in, NumPy arrays out. The seed notebook's run in one call::

    import numpy as np
    import lifsim

    W = lifsim.load_weights("weights.npy")   # or any (N, N) float array
    res = lifsim.simulate(W)                 # dt=0.01, t_max=100, tau_m=20, ...
    res.spikes                               # bool (9999, N): np.asarray(spike_train)

Functions:
    simulate          run a network; returns a SimulationResult
    Weights           W checked once and held, for many runs on one network
    load_weights      W from an .npy file, in the layout simulate uses as is
    generate_weights  a deterministic random W (as `lifsim gen-weights`)
    workload          a named reference workload: (W, keyword arguments)
    PARAMETERS        the parameter table: name, unit, default, help of each parameter

Networks of populations, projections and inputs (what a network file says)::

    net = lifsim.Network(dt=0.1, seed=1)
    E = net.population("E", 3200, model="iaf_psc_exp", tau_m=20.0, ...)
    net.connect(E, [E], rule="fixed_probability", p=0.02, weight=1.62,
                synapse="exponential", tau_syn=5.0)
    sim = net.build()          # a Simulation at t = 0
    spikes = sim.run(500.0)    # Spikes: times, ids, population; again for more

    Network           build, load (Network.load("cuba.toml")), save a network file
    Simulation        a built network, run piece by piece; state, checkpoints
    Spikes            times (ms), ids and population of each spike of a run
    resume            a Simulation from Simulation.save_checkpoint's file
    read_spikes       Spikes of a spike file lifsim wrote (.npz, .spikes, .h5, .npy)
    sweep             runs over a grid of parameters and seeds, one per core
    NetworkDescription  the core's description a Network holds
    Input             an input of a Network (what poisson, current return)

    sim.set(E, i_ext=0.5)  # between pieces: new parameters, same state

The seed's model in pieces: DenseNetwork(W, **simulate's keywords).build()
gives a DenseSimulation: run(steps=100) twice is simulate's 200 steps.

Every behaviour lives in lifsim's Rust core; this package is a thin binding.
"""

from ._lifsim import (
    NetworkDescription,
    PARAMETERS,
    WORKLOADS,
    SimulationResult,
    Weights,
    __version__,
    generate_weights,
    load_weights,
    simulate,
    workload,
)
from .dense import DenseNetwork, DenseSimulation
from .inputs import Input
from .monitors import Rate, StateMonitor
from .network import Network, Population, Simulation, Spikes, read_spikes, resume
from .sweep import Sweep, sweep
from ._arguments import naming_arguments

simulate = naming_arguments(simulate)

__all__ = [
    "DenseNetwork",
    "DenseSimulation",
    "Input",
    "Network",
    "NetworkDescription",
    "PARAMETERS",
    "Population",
    "Rate",
    "Simulation",
    "StateMonitor",
    "Spikes",
    "Sweep",
    "sweep",
    "resume",
    "read_spikes",
    "WORKLOADS",
    "SimulationResult",
    "Weights",
    "__version__",
    "generate_weights",
    "load_weights",
    "simulate",
    "workload",
]
