"""What every built simulation has, dense or network: the clock, the state,
the potentials, and a run with an optional progress bar. ``Simulation``
(lifsim.network) and ``DenseSimulation`` (lifsim.dense) both build on it."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Dict, TypeVar

import numpy as np

R = TypeVar("R")


class Running:
    """A built simulation at some step: ``self._sim`` is the extension's object."""

    _sim: Any

    def _piece(self, progress: bool, run: Callable[[Any], R]) -> R:
        """Calls ``run(bar)`` with a progress bar when asked for, closing it
        however the run ends (Ctrl-C included)."""
        bar = ProgressBar() if progress else None
        try:
            return run(bar)
        finally:
            if bar is not None:
                bar.close()

    def state(self) -> Dict[str, Any]:
        """The whole dynamic state (what a checkpoint holds), as NumPy arrays."""
        return self._sim.state()

    def set_state(self, state: Dict[str, Any]) -> None:
        """Puts the simulation in a state() of this model (any thread count)."""
        self._sim.set_state(state)

    def voltages(self) -> np.ndarray:
        """Membrane potentials now, mV."""
        return self._sim.voltages()

    @property
    def t(self) -> float:
        """Time simulated so far, ms."""
        return self._sim.t

    @property
    def step(self) -> int:
        """Steps simulated so far."""
        return self._sim.step

    @property
    def n(self) -> int:
        """Number of neurons."""
        return self._sim.n

    @property
    def threads(self) -> int:
        """Threads a step is split across."""
        return self._sim.threads

    def __repr__(self) -> str:
        return repr(self._sim)


class ProgressBar:
    """Called by a running piece with (steps done, steps, spikes): tqdm's bar
    when tqdm is installed, else a one-line text bar on stderr."""

    def __init__(self) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        self._tqdm = tqdm(total=0, unit="step", unit_scale=True) if tqdm is not None else None
        self._last = 0
        self._started = time.monotonic()

    def __call__(self, done: int, total: int, spikes: int) -> None:
        if self._tqdm is not None:
            self._tqdm.total = total
            self._tqdm.update(done - self._last)
            self._tqdm.set_postfix(spikes=spikes, refresh=False)
        else:
            width = 30
            filled = width * done // max(total, 1)
            elapsed = time.monotonic() - self._started
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} steps, {spikes} spikes, {elapsed:.1f} s")
            sys.stderr.flush()
        self._last = done

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
        else:
            sys.stderr.write("\n")
            sys.stderr.flush()
