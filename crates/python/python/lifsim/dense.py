"""The seed's dense model run in pieces: ``lifsim.DenseNetwork(W, **kw).build()``.

``lifsim.simulate(W, **kw)`` runs the seed's model in one call; a
``DenseNetwork`` holds the same arguments (exactly simulate's keywords,
checked as simulate checks them) and builds a ``DenseSimulation`` that runs
piece by piece, as ``Network.build()`` does for networks of populations::

    dense = lifsim.DenseNetwork(W, i_ext=20.0, v0="uniform", seed=4)
    sim = dense.build(threads=2)
    sim.run(steps=100)
    sim.run(steps=100)     # the spikes of simulate(W, ...) over 200 steps, bit for bit
    sim.raster()           # bool (steps, N), as simulate's .spikes
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ._lifsim import DenseSimulation as _DenseSimulation
from ._running import Running

__all__ = ["DenseNetwork", "DenseSimulation"]


class DenseNetwork:
    """The seed's model on the weights ``W`` with ``lifsim.simulate``'s keyword arguments.

    Nothing is built or checked until build(); t_max is the length of
    run() without arguments (simulate's number of steps), and record has no
    effect (a DenseSimulation keeps spike events and gives raster()).
    """

    def __init__(self, W: Any, **keywords: Any) -> None:
        self.W = W
        self.keywords = keywords

    def build(self, *, threads: Optional[int] = None) -> "DenseSimulation":
        """Checks the arguments (simulate's errors) and builds the model at step 0."""
        return DenseSimulation(_DenseSimulation.build(self.W, self.keywords, threads=threads))

    def __repr__(self) -> str:
        shape = getattr(self.W, "shape", None)
        return f"DenseNetwork(W of shape {shape}, {self.keywords})"


class DenseSimulation(Running):
    """The seed's dense model at some step of its run (DenseNetwork.build)."""

    def __init__(self, sim: _DenseSimulation) -> None:
        self._sim = sim

    def run(self, duration: Optional[float] = None, *, steps: Optional[int] = None,
            progress: bool = False) -> Tuple[np.ndarray, np.ndarray]:
        """Runs ``duration`` ms or ``steps`` steps more (default: up to t_max's
        steps); returns this piece's spikes as (times in ms, ids).

        progress=True shows a progress bar; Ctrl-C stops between steps with
        KeyboardInterrupt, keeping what was simulated.
        """
        return self._piece(progress, lambda bar: self._sim.run(duration, steps=steps, progress=bar))

    def spikes(self) -> Tuple[np.ndarray, np.ndarray]:
        """Every spike so far as (times in ms, ids): times are (step + 1) * dt."""
        return self._sim.spikes()

    def raster(self) -> np.ndarray:
        """Every spike so far as simulate's dense array: bool (steps, N)."""
        steps, ids = self._sim.spike_steps()
        out = np.zeros((self._sim.step, self._sim.n), dtype=bool)
        out[steps.astype(np.intp), ids.astype(np.intp)] = True
        return out

    @property
    def dt(self) -> float:
        """Time step, ms."""
        return self._sim.dt

