"""Handles of a Network's inputs, and what ``Simulation.set`` changes.

``Network.poisson``, ``current`` and ``spike_generator`` return an ``Input``:
the input's place in the network (inputs are numbered in the order they were
added, as a network file lists them), so that a built simulation can change
its parameters between two pieces of its run::

    noise = net.poisson(E, rate=8000.0, weight=0.1)
    sim = net.build()
    sim.run(500.0)
    sim.set(noise, rate=12000.0)
    sim.run(500.0)
"""

from __future__ import annotations

from typing import Any, Sequence, Union


class Input:
    """An input of a Network: its number (from 0, in the order added), kind and targets."""

    def __init__(self, index: int, kind: str, target: Sequence[str]) -> None:
        self.index = index
        self.kind = kind
        self.target = list(target)

    def __repr__(self) -> str:
        return f"Input({self.index}, {self.kind} -> {', '.join(self.target)})"


def target_key(target: Any) -> Union[str, int]:
    """What the core's Simulation.set takes for ``target``: a population's
    name (a Population has one) or an input's number."""
    if isinstance(target, Input):
        return target.index
    if isinstance(target, str):
        return target
    name = getattr(target, "name", None)
    if isinstance(name, str) and hasattr(target, "ids"):
        return name
    raise TypeError(f"target must be a Population, a population's name or an Input, got {type(target).__name__}")
