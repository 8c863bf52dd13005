"""PyNN's Population, PopulationView and Assembly over lifsim populations.

A Population keeps its parameters in lifsim's names and units (the cell
type's native parameters, one array per name, as PyNN's mock backend does)
and its initial membrane potentials; ``build.py`` reads both when the network
is built. ``set`` after the run has started builds the network again at the
next run, carrying the dynamic state over (simulator.py).
"""

from __future__ import annotations

import numpy as np
from pyNN import common, errors
from pyNN.parameters import ParameterSpace, simplify
from pyNN.standardmodels import StandardCellType

from . import cells, simulator
from .recording import Recorder


def _translated(celltype, names, native_getter):
    """PyNN parameters ``names`` from native ones (all of them when one is computed)."""
    if any(name in celltype.computed_parameters() for name in names):
        native_names = celltype.get_native_names()
    else:
        native_names = celltype.get_native_names(*names)
    return celltype.reverse_translate(native_getter(*native_names))


class Assembly(common.Assembly):
    __doc__ = common.Assembly.__doc__
    _simulator = simulator

    def _lifsim_gids(self) -> np.ndarray:
        """The lifsim neuron id of each cell, in the Assembly's order (after a build)."""
        return np.concatenate([p._lifsim_gids() for p in self.populations])


class PopulationView(common.PopulationView):
    __doc__ = common.PopulationView.__doc__
    _assembly_class = Assembly
    _simulator = simulator

    def _indices(self) -> np.ndarray:
        return self.index_in_grandparent(np.arange(self.size))

    def _lifsim_gids(self) -> np.ndarray:
        return self.grandparent._gids[self._indices()]

    def _get_parameters(self, *names):
        if not isinstance(self.celltype, StandardCellType):
            return self._get_native_parameters(*names)
        return _translated(self.celltype, names, self._get_native_parameters)

    def _get_native_parameters(self, *names):
        root, index = self.grandparent, self._indices()
        parameter_dict = {}
        for name in names:
            value = root._parameters[name]
            if isinstance(value, np.ndarray) and value.shape == (root.size,):
                value = value[index]
            parameter_dict[name] = simplify(value)
        return ParameterSpace(parameter_dict, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        root, index = self.grandparent, self._indices()
        parameter_space.evaluate(simplify=False)
        for name, value in parameter_space.items():
            column = root._parameters[name]
            if not (isinstance(column, np.ndarray) and column.shape == (root.size,)):
                column = np.array([column] * root.size, dtype=object if name == "spike_times" else float)
            try:
                column[index] = value
            except ValueError as err:
                raise errors.InvalidParameterValueError(f"{name}: {err}")
            root._parameters[name] = column
        simulator.state.mark_changed()

    def initialize(self, **initial_values):
        """Sets initial values of this view's cells (in the root population)."""
        root, index = self.grandparent, self._indices()
        for variable, value in initial_values.items():
            values = _evaluated(value, self.size)
            root._initial.setdefault(variable, root._default_initial(variable))[index] = values

    def _set_initial_value_array(self, variable, initial_values):
        self.initialize(**{variable: initial_values})

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class Population(common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _create_cells(self):
        state = simulator.state
        ids = np.arange(state.id_counter, state.id_counter + self.size)
        self.all_cells = np.array([simulator.ID(i) for i in ids], dtype=simulator.ID)
        self._mask_local = np.ones(self.size, dtype=bool)
        for cell in self.all_cells:
            cell.parent = self
        state.id_counter += self.size
        if isinstance(self.celltype, StandardCellType):
            parameter_space = self.celltype.native_parameters
        else:
            parameter_space = self.celltype.parameter_space
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(simplify=False)
        self._parameters = parameter_space.as_dict()
        if "spike_times" in self._parameters:
            cells.check_spike_times(self._parameters["spike_times"])
        self._initial = {}
        self._gids = np.full(self.size, -1, dtype=np.int64)
        self._creation_index = len(state.populations)
        state.populations.append(self)
        state.mark_changed()

    def _lifsim_gids(self) -> np.ndarray:
        return self._gids

    def _default_initial(self, variable):
        default = self.celltype.default_initial_values.get(variable, 0.0)
        return np.full(self.size, float(default))

    def _initial_v(self) -> np.ndarray:
        """Each cell's initial membrane potential (mV)."""
        return self._initial.get("v", self._default_initial("v"))

    def _set_initial_value_array(self, variable, initial_values):
        self._initial[variable] = _evaluated(initial_values, self.size)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def _get_parameters(self, *names):
        if not isinstance(self.celltype, StandardCellType):
            return self._get_native_parameters(*names)
        return _translated(self.celltype, names, self._get_native_parameters)

    def _get_native_parameters(self, *names):
        return ParameterSpace({name: simplify(self._parameters[name]) for name in names}, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        parameter_space.evaluate(simplify=False)
        for name, value in parameter_space.items():
            if name == "spike_times":
                cells.check_spike_times(value)
            self._parameters[name] = value
        simulator.state.mark_changed()


def _evaluated(value, size):
    """An initial value (number, array, LazyArray, RandomDistribution) as ``size`` floats."""
    from lazyarray import larray

    if not isinstance(value, larray):
        value = larray(value, shape=(size,), dtype=float)
    out = value.evaluate(simplify=False)
    return np.broadcast_to(np.asarray(out, dtype=float), (size,)).copy()
