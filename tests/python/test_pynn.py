"""lifsim.pynn, the PyNN backend: PyNN's own system-test scenarios against the
documented list (docs/pynn.md), the unit translations against hand-computed
values, and networks built through PyNN against the same networks built
through lifsim.Network directly, spike for spike."""

import math
import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import lifsim_testing  # noqa: F401  (a clear message when lifsim is not installed)

pytest.importorskip("pyNN", reason="PyNN is not installed (scripts/python-env.sh installs it)")

import lifsim  # noqa: E402
import lifsim.pynn as sim  # noqa: E402
from lifsim.pynn import simulator  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import pynn_scenarios  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def documented():
    """docs/pynn.md's scenario table: {scenario: (passes, error text)}."""
    rows = {}
    for line in (ROOT / "docs" / "pynn.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"`test\w*\.test\w*`", cells[0]) and cells[1] in ("yes", "no"):
            rows[cells[0].strip("`")] = (cells[1] == "yes", cells[2].strip("`"))
    return rows


def built_populations():
    """The lifsim populations of the last build, as the network file says them."""
    return tomllib.loads(simulator.state._network.to_toml())["population"]


# -- PyNN's scenarios ----------------------------------------------------------


def test_pynn_scenarios_pass_and_fail_as_documented():
    assert pynn_scenarios.scenarios_dir(), "no PyNN sdist: scripts/python-env.sh unpacks it into .venv/pynn-sdist"
    table = documented()
    results = pynn_scenarios.run_all()
    assert len(results) == 66 and set(results) == set(table), sorted(set(results) ^ set(table))
    wrong = []
    for name, (ok, why, _) in results.items():
        passes, error = table[name]
        if ok != passes or (not ok and error not in why):
            wrong.append(f"{name}: {'passes' if ok else 'fails: ' + why}; docs/pynn.md says {passes}, {error!r}")
    assert not wrong, "\n".join(wrong)
    assert sum(ok for ok, _, _ in results.values()) == sum(p for p, _ in table.values())


# -- units ----------------------------------------------------------------------


def test_cell_parameters_become_lifsims_by_hand():
    sim.setup(timestep=0.1)
    p = sim.Population(3, sim.IF_curr_exp(tau_m=10.0, cm=0.25, v_rest=-70.0, v_reset=-75.0, v_thresh=-52.0,
                                          tau_refrac=2.0, i_offset=[0.1, 0.2, 0.3], tau_syn_E=3.0))
    p.initialize(v=-61.0)
    sim.run(0.1)
    (pop,) = built_populations()
    # r = tau_m / cm = 10 ms / 0.25 nF = 40 MOhm; nA, mV and ms pass unchanged.
    assert pop["model"] == "iaf_psc_exp" and pop["r"] == 40.0 and pop["tau_m"] == 10.0
    assert (pop["v_rest"], pop["v_reset"], pop["v_thresh"], pop["t_ref"]) == (-70.0, -75.0, -52.0, 2.0)
    # and back: PyNN's names and units
    assert p.get("cm") == pytest.approx(0.25) and p.get("tau_refrac") == 2.0
    np.testing.assert_allclose(p.get("i_offset"), [0.1, 0.2, 0.3])
    sim.end()


def test_heterogeneous_parameters_split_into_lifsim_populations():
    sim.setup(timestep=0.1)
    p = sim.Population(4, sim.IF_cond_exp(tau_m=[10.0, 20.0, 10.0, 20.0], cm=0.5))
    sim.run(0.1)
    pops = built_populations()
    assert sorted((q["size"], q["tau_m"], q["r"]) for q in pops) == [(2, 10.0, 20.0), (2, 20.0, 40.0)]
    np.testing.assert_allclose(p.get("cm"), 0.5)
    sim.end()


def test_a_dc_current_from_t0_fires_when_the_membrane_equation_says():
    # V(t) = R I (1 - exp(-(t - t0) / tau_m)) from V = 0 reaches v_thresh at
    # t0 + tau_m ln(R I / (R I - v_thresh)); R = tau_m / cm = 20 MOhm, I = 1 nA.
    sim.setup(timestep=0.01)
    p = sim.Population(1, sim.IF_curr_exp(tau_m=20.0, cm=1.0, v_rest=0.0, v_reset=0.0, v_thresh=10.0, tau_refrac=500.0))
    p.initialize(v=0.0)
    sim.DCSource(amplitude=1.0, start=30.0, stop=200.0).inject_into(p)
    p.record("spikes")
    sim.run(100.0)
    (train,) = p.get_data().segments[0].spiketrains
    expected = 30.0 + 20.0 * math.log(20.0 / (20.0 - 10.0))
    assert len(train) == 1 and abs(float(train[0]) - expected) <= 0.02, (train, expected)
    sim.end()


# -- PyNN against lifsim.Network --------------------------------------------------


TIMES = [[2.0, 7.5, 12.3, 30.0], [4.1, 4.2, 18.0], [1.0, 25.5]]
CONNS = [(0, 0, 2.5, 1.0), (1, 0, 1.5, 2.3), (2, 1, 4.0, 1.0), (0, 2, 3.0, 0.5), (1, 2, -2.0, 1.7), (2, 2, 6.0, 1.0)]


def pynn_spikes():
    sim.setup(timestep=0.1, min_delay=0.1)
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=TIMES))
    cells = sim.Population(3, sim.IF_curr_exp(tau_m=15.0, cm=0.5, v_rest=-65.0, v_reset=-70.0, v_thresh=-60.0,
                                              tau_refrac=2.0, tau_syn_E=2.0, i_offset=[0.1, 0.25, 0.0]))
    cells.initialize(v=[-65.0, -62.0, -64.0])
    sim.Projection(src, cells, sim.FromListConnector(CONNS, column_names=["weight", "delay"]),
                   receptor_type="excitatory")
    cells.record("spikes")
    sim.run(20.0)
    sim.run(40.0)  # two pieces
    trains = cells.get_data().segments[0].spiketrains
    sim.end()
    return [np.asarray(t.magnitude) for t in trains]


def direct_spikes():
    # The same network: spike generators straight into the cells, one per
    # connection (a relay's spike at T with delay d arrives at T + d).
    net = lifsim.Network(dt=0.1, seed=1)
    net.population("c", 3, model="iaf_psc_exp", tau_m=15.0, r=30.0, v_rest=-65.0, v_reset=-70.0, v_thresh=-60.0,
                   t_ref=2.0, i_ext=[0.1, 0.25, 0.0], v0=[-65.0, -62.0, -64.0])
    for pre, post, w, d in CONNS:
        net.spike_generator("c", TIMES[pre], w, delay=d, synapse="exponential", tau_syn=2.0, neurons=[post])
    spikes = net.run(60.0, threads=1)
    return [spikes.times[spikes.ids == i] for i in range(3)]


def test_a_pynn_network_gives_lifsims_spikes_bit_for_bit():
    got, want = pynn_spikes(), direct_spikes()
    assert sum(len(w) for w in want) >= 3
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_projection_get_set_and_save(tmp_path):
    sim.setup(timestep=0.1)
    a = sim.Population(3, sim.SpikeSourceArray(spike_times=[[1.0]] * 3))
    b = sim.Population(3, sim.IF_curr_exp())
    prj = sim.Projection(a, b, sim.FromListConnector(CONNS, column_names=["weight", "delay"]))
    w = prj.get("weight", format="array")
    want = np.full((3, 3), np.nan)
    for pre, post, weight, _ in CONNS:
        want[pre, post] = weight
    np.testing.assert_array_equal(w, want)
    prj.set(weight=0.75)
    assert {c[2] for c in prj.get("weight", format="list")} == {0.75}
    prj.save("all", str(tmp_path / "c.txt"), format="list")
    saved = np.loadtxt(tmp_path / "c.txt")
    np.testing.assert_array_equal(saved[:, :2], [(c[0], c[1]) for c in CONNS])
    np.testing.assert_array_equal(saved[:, 2], 0.75)
    np.testing.assert_allclose(saved[:, 3], [c[3] for c in CONNS])
    sim.end()


def test_v_follows_the_membrane_equation_under_dc():
    # v(t) = v_rest + i_offset * R * (1 - exp(-t / tau_m)), R = tau_m / cm,
    # below threshold; the signal starts at t = 0 with the initial value and
    # is sampled every sampling_interval (as pyNN.nest). Three tau_m make
    # three lifsim populations, in another order than PyNN's (by parameters).
    tau_m, cm, v_rest, i_offset = np.array([20.0, 10.0, 15.0]), 0.5, -65.0, 0.2
    sim.setup(timestep=0.1)
    p = sim.Population(3, sim.IF_curr_exp(tau_m=tau_m, cm=cm, v_rest=v_rest, v_thresh=0.0, i_offset=i_offset))
    p.initialize(v=v_rest)
    p[[2, 0]].record("v", sampling_interval=0.5)
    sim.run(100.0)
    signal = p.get_data().segments[0].filter(name="v")[0]
    sim.end()
    assert len({g["name"] for g in built_populations()}) == 3
    assert str(signal.units.dimensionality) == "mV"
    assert float(signal.t_start) == 0.0 and float(signal.sampling_period) == 0.5
    assert list(signal.array_annotations["channel_index"]) == [0, 2]
    t = np.arange(201)[:, None] * 0.5
    assert signal.shape == (201, 2)
    tau = tau_m[[0, 2]][None, :]
    want = v_rest + i_offset * (tau / cm) * (1.0 - np.exp(-t / tau))
    np.testing.assert_allclose(signal.magnitude, want, rtol=0, atol=1e-9)


def test_get_data_with_clear_starts_again_from_the_last_value():
    # pyNN.nest's convention: after get_data(clear=True) at T, the next signal
    # starts at T with the value there.
    sim.setup(timestep=0.1)
    p = sim.Population(1, sim.IF_curr_exp(tau_m=20.0, cm=1.0, v_rest=-65.0, v_thresh=0.0, i_offset=0.5))
    p.record("v")
    sim.run(30.0)
    first = p.get_data(clear=True).segments[0].filter(name="v")[0]
    sim.run(20.0)
    second = p.get_data().segments[0].filter(name="v")[0]
    sim.end()
    assert first.shape == (301, 1) and second.shape == (201, 1)
    assert float(second.t_start) == 30.0
    t = 30.0 + np.arange(201) * 0.1
    want = -65.0 + 0.5 * 20.0 * (1.0 - np.exp(-t / 20.0))
    np.testing.assert_allclose(second.magnitude[:, 0], want, rtol=0, atol=1e-9)
    assert second.magnitude[0, 0] == first.magnitude[-1, 0]


def test_gsyn_exc_decays_from_the_weight_after_one_spike():
    # One spike at 10 ms through a 1.5 ms delay arrives at 11.5 ms: g_ex is
    # weight * exp(-(t - 11.5) / tau_syn_E) (µS) after it; gsyn_inh stays 0.
    # lifsim takes the arrival in at the start of the step from 11.5 ms
    # (crates/core/tests/monitors.rs), so the sample at 11.5 ms itself is 0
    # (NEST's multimeter shows the weight there: one sample earlier).
    weight, tau_syn_e = 0.004, 3.0
    sim.setup(timestep=0.1)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    cell = sim.Population(1, sim.IF_cond_exp(tau_syn_E=tau_syn_e))
    sim.Projection(source, cell, sim.AllToAllConnector(), sim.StaticSynapse(weight=weight, delay=1.5))
    cell.record(["gsyn_exc", "gsyn_inh", "v"])
    sim.run(40.0)
    segment = cell.get_data().segments[0]
    sim.end()
    g_exc = segment.filter(name="gsyn_exc")[0]
    g_inh = segment.filter(name="gsyn_inh")[0]
    assert str(g_exc.units.dimensionality) == "uS"
    t = np.arange(401) * 0.1
    want = np.where(t > 11.5 + 1e-9, weight * np.exp(-(t - 11.5) / tau_syn_e), 0.0)
    np.testing.assert_allclose(g_exc.magnitude[:, 0], want, rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(g_inh.magnitude, 0.0)


def test_gsyn_of_a_current_based_cell_is_refused_as_pynn_does():
    from pyNN.errors import RecordingError

    sim.setup()
    p = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(RecordingError):
        p.record("gsyn_exc")
    sim.end()


def test_a_sampling_interval_off_the_step_grid_is_refused():
    sim.setup(timestep=0.1)
    p = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(ValueError, match=r"sampling_interval 0.25 ms is not a positive multiple of the timestep"):
        p.record("v", sampling_interval=0.25)
    sim.end()


def _noisy_run(pieces, threads=1):
    sim.setup(timestep=0.1, rng_seed=5, threads=threads)
    noise = sim.Population(10, sim.SpikeSourcePoisson(rate=100.0))
    cells = sim.Population(6, sim.IF_cond_exp(tau_refrac=2.0))
    sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(seed=2)),
                   sim.StaticSynapse(weight=0.01, delay=1.0))
    dc = sim.DCSource(amplitude=0.3, start=20.0, stop=60.0)
    cells[1:4].inject(dc)
    cells[::2].record(["v", "gsyn_exc"], sampling_interval=0.3)
    for piece in pieces:
        sim.run(piece)
    segment = cells.get_data().segments[0]
    sim.end()
    return {name: segment.filter(name=name)[0] for name in ("v", "gsyn_exc")}


@pytest.mark.parametrize("threads", [1, 2])
def test_signals_of_a_run_in_pieces_are_those_of_one_run(threads):
    # The pieces end off the sampling grid; the DC source's switches and the
    # Poisson horizon build the network again mid-run (the monitors restart).
    # Two threads split the population across partitions.
    whole = _noisy_run([90.0], threads)
    pieces = _noisy_run([13.3, 40.0, 36.7], threads)
    if threads == 2:
        np.testing.assert_array_equal(whole["v"].magnitude, _noisy_run([90.0], 1)["v"].magnitude)
    for name, signal in whole.items():
        assert signal.shape == (301, 3), signal.shape
        np.testing.assert_array_equal(pieces[name].magnitude, signal.magnitude)
        assert np.isfinite(signal.magnitude).all()
    assert whole["v"].magnitude.std() > 0.5 and whole["gsyn_exc"].magnitude.max() > 0.0


def test_a_parameter_set_between_runs_acts_from_then_on():
    # As the DC test, with the current switched on by set(i_offset=...) at 50 ms:
    # the network is built again there with the state carried over.
    sim.setup(timestep=0.01)
    p = sim.Population(2, sim.IF_curr_exp(tau_m=20.0, cm=1.0, v_rest=0.0, v_reset=0.0, v_thresh=10.0,
                                          tau_refrac=500.0, i_offset=0.0))
    p.initialize(v=0.0)
    p.record("spikes")
    sim.run(50.0)
    p[1:2].set(i_offset=1.0)
    sim.run(50.0)
    trains = p.get_data().segments[0].spiketrains
    expected = 50.0 + 20.0 * math.log(2.0)
    assert len(trains[0]) == 0 and len(trains[1]) == 1
    assert abs(float(trains[1][0]) - expected) <= 0.02, (trains[1], expected)
    sim.end()


@pytest.mark.parametrize("threads", [1, 2])
def test_runs_in_pieces_and_reset_repeat_the_spikes(threads):
    def network():
        sim.setup(timestep=0.1, rng_seed=7, threads=threads)
        noise = sim.Population(20, sim.SpikeSourcePoisson(rate=80.0, start=5.0, duration=150.0))
        cells = sim.Population(30, sim.IF_cond_exp(tau_refrac=2.0))
        rng = sim.NumpyRNG(seed=3)
        sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.3, rng=rng),
                       sim.StaticSynapse(weight=sim.RandomDistribution("uniform", low=0.01, high=0.03, rng=rng),
                                         delay=sim.RandomDistribution("uniform", low=0.5, high=3.0, rng=rng)))
        cells.record("spikes")
        return cells

    def spikes(segment):
        return [np.asarray(t.magnitude) for t in segment.spiketrains]

    cells = network()
    sim.run(200.0)
    whole = spikes(cells.get_data().segments[0])
    sim.end()
    cells = network()
    for piece in (30.0, 70.0, 100.0):
        sim.run(piece)
    pieces = spikes(cells.get_data().segments[0])
    sim.reset()
    sim.run(200.0)
    again = spikes(cells.get_data().segments[1])
    sim.end()
    assert sum(len(t) for t in whole) > 30
    for a, b, c in zip(whole, pieces, again, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("connector", ["one_to_one", "fixed_total", "array", "from_file", "distance"])
def test_connectors_make_the_connections_lifsim_builds(connector, tmp_path):
    sim.setup(timestep=0.1)
    a = sim.Population(6, sim.SpikeSourceArray(spike_times=[[1.0]] * 6))
    b = sim.Population(6, sim.IF_curr_exp())
    if connector == "one_to_one":
        c = sim.OneToOneConnector()
    elif connector == "fixed_total":
        c = sim.FixedTotalNumberConnector(20, rng=sim.NumpyRNG(seed=2))
    elif connector == "array":
        c = sim.ArrayConnector(np.eye(6, k=1, dtype=bool))
    elif connector == "from_file":
        np.savetxt(tmp_path / "c.txt", [(0, 1, 0.5, 1.0), (2, 3, 0.25, 2.0), (5, 0, 0.125, 1.5)])
        c = sim.FromFileConnector(str(tmp_path / "c.txt"))
    else:
        a.positions = np.stack([np.arange(6.0), np.zeros(6), np.zeros(6)])
        b.positions = np.stack([np.arange(6.0), np.zeros(6), np.zeros(6)])
        c = sim.DistanceDependentProbabilityConnector("d < 1.5", rng=sim.NumpyRNG(seed=1))
    prj = sim.Projection(a, b, c, sim.StaticSynapse(weight=0.5, delay=1.0))
    sim.run(1.0)
    expected = {"one_to_one": 6, "fixed_total": 20, "array": 5, "from_file": 3, "distance": 6 + 2 * 5}[connector]
    assert len(prj) == expected
    # every connection is a lifsim synapse, pairs with one delay merged into one
    pairs = {(c[0], c[1], round(c[2] / 0.1)) for c in prj.get(["delay"], format="list")}
    assert simulator.state._sim.synapses == len(pairs)
    sim.end()


def test_a_new_projection_after_a_run_asks_for_reset():
    sim.setup()
    a = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [2.0]]))
    b = sim.Population(2, sim.IF_curr_exp())
    sim.run(10.0)
    sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.0, delay=1.0))
    with pytest.raises(RuntimeError, match=r"call reset\(\) first"):
        sim.run(10.0)
    sim.reset()
    sim.run(10.0)  # built again from t = 0 with the projection
    assert simulator.state._sim.synapses == 4
    sim.end()


def test_write_data_writes_the_spikes_and_register_names_the_backend(tmp_path):
    from neo.io import PickleIO

    sim.register()
    import pyNN.lifsim

    assert pyNN.lifsim is sim
    sim.setup()
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 3.0], [2.0]]))
    src.record("spikes")
    sim.run(5.0)
    src.write_data(str(tmp_path / "s.pkl"))
    sim.end()
    block = PickleIO(str(tmp_path / "s.pkl")).read_block()
    trains = block.segments[0].spiketrains
    np.testing.assert_array_equal(trains[0].magnitude, [1.0, 3.0])
    np.testing.assert_array_equal(trains[1].magnitude, [2.0])


def test_what_lifsim_cannot_do_is_refused_by_name():
    from pyNN.errors import ConnectionError as PyNNConnectionError
    from pyNN.standardmodels.synapses import TsodyksMarkramSynapse

    sim.setup(timestep=0.1, min_delay=0.5)
    a = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [2.0]]))
    b = sim.Population(2, sim.IF_cond_exp())
    with pytest.raises(PyNNConnectionError, match="Weights must be positive for conductance-based"):
        sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=-0.1, delay=1.0))
    with pytest.raises(PyNNConnectionError, match=r"delay 0.2 ms is below min_delay \(0.5 ms\)"):
        sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=0.2))
    with pytest.raises(NotImplementedError, match="lifsim has static synapses only"):
        sim.Projection(a, b, sim.AllToAllConnector(), TsodyksMarkramSynapse(weight=0.1, delay=1.0))
    with pytest.raises(NotImplementedError, match="ACSource is not available"):
        sim.ACSource(amplitude=1.0)
    with pytest.raises(TypeError, match="cannot inject current into SpikeSourceArray cells"):
        sim.DCSource(amplitude=1.0).inject_into(a)
    sim.end()
