"""State and rate monitors from Python: sim.record_state against the analytic
membrane potential, runs in pieces and thread counts bit for bit, sim.rate
against the spikes, Network.record_state/record_rate through the file
format, and their errors."""

import numpy as np
import pytest

import lifsim_testing  # noqa: F401  (a clear message when lifsim is not installed)

import lifsim


def dc_network(model="iaf_psc_exp"):
    net = lifsim.Network(dt=0.1, duration=100.0)
    net.population("N", 3, model=model, tau_m=10.0, r=40.0, v_rest=-70.0, v_reset=-70.0,
                   v_thresh=-50.0, v0=-70.0, i_ext=0.3)
    return net


def active_network(duration=100.0):
    net = lifsim.Network(dt=0.1, duration=duration, seed=4)
    net.population("E", 160, v_rest=0.0, v_reset=10.0, v_thresh=20.0, t_ref=2.0, tau_m=20.0)
    net.population("I", 40, v_rest=0.0, v_reset=10.0, v_thresh=20.0, tau_m=10.0)
    net.connect(["E"], ["E", "I"], rule="fixed_indegree", indegree=20, weight=0.5, delay=1.5,
                synapse="exponential", tau_syn=2.0)
    net.connect("I", ["E", "I"], rule="fixed_indegree", indegree=10, weight=-2.0, delay=0.8,
                synapse="exponential", tau_syn=2.0)
    net.poisson(["E", "I"], 15000.0, 0.8, synapse="exponential", tau_syn=2.0)
    return net


@pytest.mark.parametrize("model", ["iaf_psc_delta", "iaf_psc_exp", "iaf_psc_alpha", "iaf_cond_exp"])
def test_v_of_a_dc_driven_neuron_is_the_analytic_curve(model):
    sim = dc_network(model).build()
    mon = sim.record_state("N", ["V_m"], ids=[2, 0], interval=2.0)
    sim.run()
    t = mon.times
    np.testing.assert_allclose(t, np.arange(1, 51) * 2.0, rtol=0, atol=1e-12)
    assert mon.values["V_m"].shape == (50, 2) and list(mon.ids) == [0, 2]
    exact = -70.0 + 40.0 * 0.3 * (1.0 - np.exp(-t / 10.0))
    for i in range(2):
        np.testing.assert_allclose(mon["V_m"][:, i], exact, rtol=1e-9, atol=0)


def test_a_run_in_pieces_records_what_one_run_records():
    one = active_network().build(threads=1)
    m1 = one.record_state("E", ["V_m", "I_syn"], n=10, interval=0.5)
    one.run(100.0)
    two = active_network().build(threads=1)
    m2 = two.record_state("E", ["V_m", "I_syn"], n=10, interval=0.5)
    two.run(50.0)
    assert len(m2) == 100  # filled as the simulation runs
    two.run(50.0)
    assert len(one.spikes()) > 100
    np.testing.assert_array_equal(m1.times, m2.times)
    for v in ["V_m", "I_syn"]:
        assert m1[v].shape == (200, 10)
        assert m1[v].tobytes() == m2[v].tobytes()


def test_thread_counts_give_the_same_samples():
    runs = []
    for threads in (1, 2):
        sim = active_network().build(threads=threads)
        assert sim.threads == threads
        mon = sim.record_state("E", ["V_m", "I_syn"], ids=[0, 79, 80, 159])
        inh = sim.record_state("I", "V_m", n=5, interval=1.0)
        sim.run()
        runs.append((mon, inh, sim.rate("E", bin=1.0)))
    (a, ai, ar), (b, bi, br) = runs
    for v in ["V_m", "I_syn"]:
        assert a[v].tobytes() == b[v].tobytes()
    assert ai["V_m"].tobytes() == bi["V_m"].tobytes()
    assert ar.counts.tobytes() == br.counts.tobytes()


def test_the_rate_is_the_spike_count_over_neurons_and_time():
    sim = active_network().build()
    sim.run()
    spikes = sim.spikes()
    T = 100.0
    for name, (lo, hi) in {"E": (0, 160), "I": (160, 200), None: (0, 200)}.items():
        n = hi - lo
        count = int(np.count_nonzero((spikes.ids >= lo) & (spikes.ids < hi)))
        assert count > 50
        r = sim.rate(name)
        assert len(r.times) == 1000 and r.counts.sum() == count
        # Each step's rate is its count over N dt, so the mean is count / (N T).
        np.testing.assert_array_equal(r.rate, r.counts / (n * 0.1e-3))
        assert r.rate.mean() == pytest.approx(count / (n * T * 1e-3), rel=1e-12)
        binned = sim.rate(name, bin=5.0)
        np.testing.assert_allclose(binned.times, np.arange(1, 21) * 5.0)
        edges = np.arange(0, 101, 5.0)
        mine = spikes.times[(spikes.ids >= lo) & (spikes.ids < hi)]
        # Spike times are the ends of their steps: bins (t - 5, t].
        want, _ = np.histogram(mine - 0.05, bins=edges)
        np.testing.assert_array_equal(binned.counts, want)


def test_network_monitors_survive_save_and_load(tmp_path):
    net = dc_network()
    net.record_state("N", ["V_m", "I_syn"], ids=[1], interval=1.0)
    net.record_rate(bin=2.0)
    net.save(tmp_path / "n.toml")
    text = (tmp_path / "n.toml").read_text()
    assert "[[record.state]]" in text and "bin = 2.0" in text
    again = lifsim.Network.load(tmp_path / "n.toml")
    assert again == net
    sim = again.build()
    sim.run()
    [mon] = sim.monitors
    assert mon.population == "N" and list(mon.ids) == [1] and mon["V_m"].shape == (100, 1)
    assert np.all(mon["I_syn"] == 0.0)


def test_unknown_variables_and_populations_are_value_errors():
    sim = dc_network("iaf_psc_delta").build()
    with pytest.raises(ValueError, match=r'population "N" is iaf_psc_delta and has no variable "I_syn" \(it has V_m\)'):
        sim.record_state("N", ["I_syn"])
    with pytest.raises(ValueError, match=r'no population named "X" \(there are: N\)'):
        sim.record_state("X")
    with pytest.raises(ValueError, match=r"id 3 is not below the population's size 3"):
        sim.record_state("N", ids=[3])
    with pytest.raises(ValueError, match="multiple of dt"):
        sim.record_state("N", interval=0.25)
    with pytest.raises(ValueError, match=r'no population named "Y"'):
        sim.rate("Y")
    net = dc_network()
    with pytest.raises(ValueError, match=r'has no variable "g_in"'):
        net.record_state("N", ["g_in"])
    with pytest.raises(KeyError, match="not recorded"):
        sim.record_state("N")["I_syn"]
