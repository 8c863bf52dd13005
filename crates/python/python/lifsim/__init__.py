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

Every behaviour lives in lifsim's Rust core; this package is a thin binding.
"""

from ._lifsim import (
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

__all__ = [
    "PARAMETERS",
    "WORKLOADS",
    "SimulationResult",
    "Weights",
    "__version__",
    "generate_weights",
    "load_weights",
    "simulate",
    "workload",
]
