"""PyNN's standard cell types, synapse type and current sources in lifsim's terms.

PyNN's units are ms, mV, nA, nF and µS; lifsim's are ms, mV, nA, MOhm and µS
(README "Units are PyNN's"), so the only unit change is the capacitance:
lifsim's ``r`` (MOhm) is ``tau_m / cm`` (ms / nF). ``tau_refrac`` is
lifsim's ``t_ref``, ``i_offset`` its ``i_ext``. The synaptic time constants
and reversal potentials are a property of a population in PyNN and of a
synapse type in lifsim: the network builder (``build.py``) reads them from the
target population when it writes each projection.

Each class maps onto one lifsim neuron model (``lifsim_model``) and says which
lifsim synapse type each PyNN receptor type becomes (``lifsim_synapse``).
"""

from __future__ import annotations

import numpy as np
from pyNN.standardmodels import build_translations, cells, electrodes, synapses

__all__ = [
    "IF_curr_exp",
    "IF_curr_delta",
    "IF_curr_alpha",
    "IF_cond_exp",
    "SpikeSourcePoisson",
    "SpikeSourceArray",
    "SpikeSourcePoissonRefractory",
    "SpikeSourceGamma",
    "StaticSynapse",
]

# The neuron parameters every lifsim model shares, as PyNN names them.
_LIF = (
    ("tau_m", "tau_m"),
    # r = tau_m / cm: MOhm = ms / nF. The reverse reads the native tau_m.
    ("cm", "r", "tau_m/cm", "tau_m/r"),
    ("v_rest", "v_rest"),
    ("v_reset", "v_reset"),
    ("v_thresh", "v_thresh"),
    ("tau_refrac", "t_ref"),
    ("i_offset", "i_ext"),
)


class _LifsimCell:
    """What the network builder needs of a lifsim-backed cell type."""

    #: The lifsim neuron model.
    lifsim_model = ""
    #: The lifsim synapse type of PyNN's excitatory and inhibitory receptors.
    lifsim_synapse = ""

    @classmethod
    def synapse_fields(cls, receptor: str, native: dict) -> dict:
        """The lifsim synapse fields (synapse, tau_syn, e_rev) of ``receptor``,
        from the target population's native parameters ``native`` (scalars)."""
        fields = {"synapse": cls.lifsim_synapse}
        suffix = "E" if receptor == "excitatory" else "I"
        if f"tau_syn_{suffix}" in native:
            fields["tau_syn"] = float(native[f"tau_syn_{suffix}"])
        if f"e_rev_{suffix}" in native:
            fields["e_rev"] = float(native[f"e_rev_{suffix}"])
        return fields


class IF_curr_exp(_LifsimCell, cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    lifsim_model = "iaf_psc_exp"
    lifsim_synapse = "exponential"
    translations = build_translations(*_LIF, ("tau_syn_E", "tau_syn_E"), ("tau_syn_I", "tau_syn_I"))
    receptor_types = ("excitatory", "inhibitory")


class IF_curr_alpha(_LifsimCell, cells.IF_curr_alpha):
    __doc__ = cells.IF_curr_alpha.__doc__
    lifsim_model = "iaf_psc_alpha"
    lifsim_synapse = "alpha"
    translations = build_translations(*_LIF, ("tau_syn_E", "tau_syn_E"), ("tau_syn_I", "tau_syn_I"))
    receptor_types = ("excitatory", "inhibitory")


class IF_curr_delta(_LifsimCell, cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__
    lifsim_model = "iaf_psc_delta"
    lifsim_synapse = "delta"
    translations = build_translations(*_LIF)
    receptor_types = ("excitatory", "inhibitory")


class IF_cond_exp(_LifsimCell, cells.IF_cond_exp):
    __doc__ = cells.IF_cond_exp.__doc__
    lifsim_model = "iaf_cond_exp"
    lifsim_synapse = "conductance"
    translations = build_translations(
        *_LIF,
        ("tau_syn_E", "tau_syn_E"),
        ("tau_syn_I", "tau_syn_I"),
        ("e_rev_E", "e_rev_E"),
        ("e_rev_I", "e_rev_I"),
    )
    receptor_types = ("excitatory", "inhibitory")


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    translations = build_translations(("rate", "rate"), ("start", "start"), ("duration", "duration"))


class SpikeSourcePoissonRefractory(cells.SpikeSourcePoissonRefractory):
    __doc__ = cells.SpikeSourcePoissonRefractory.__doc__
    translations = build_translations(
        ("rate", "rate"), ("tau_refrac", "tau_refrac"), ("start", "start"), ("duration", "duration"))


class SpikeSourceGamma(cells.SpikeSourceGamma):
    __doc__ = cells.SpikeSourceGamma.__doc__
    translations = build_translations(("alpha", "alpha"), ("beta", "beta"), ("start", "start"), ("duration", "duration"))


class SpikeSourceArray(cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = build_translations(("spike_times", "spike_times"))


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"))

    def _get_minimum_delay(self):
        from .simulator import state

        return state.default_delay


_RANDOM_SOURCES = (SpikeSourcePoisson, SpikeSourcePoissonRefractory, SpikeSourceGamma)


def is_random_source(celltype) -> bool:
    """Whether a cell type is a spike source whose spikes are drawn (build.py)."""
    return isinstance(celltype, _RANDOM_SOURCES)


def is_source(celltype) -> bool:
    """Whether a cell type is a spike source (a relay population in lifsim)."""
    return isinstance(celltype, _RANDOM_SOURCES + (SpikeSourceArray,))


def spike_times_of(values) -> np.ndarray:
    """A SpikeSourceArray's spike_times value (a pyNN Sequence) as a float array."""
    value = getattr(values, "value", values)
    return np.asarray(value, dtype=np.float64).ravel()


def check_spike_times(values) -> None:
    """Raises InvalidParameterValueError unless each cell's spike_times are in increasing order."""
    from pyNN.errors import InvalidParameterValueError

    for k, v in enumerate(np.atleast_1d(np.asarray(values, dtype=object))):
        times = spike_times_of(v)
        if np.any(np.diff(times) < 0):
            raise InvalidParameterValueError(f"SpikeSourceArray: the spike times of cell {k} are not in increasing order")


__all__ += ["electrodes"]
