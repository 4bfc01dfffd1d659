"""Time series sampled off the hot path: they do not change the run, they show what the
fabric did (an incast queue rises and drains, a bottleneck runs at line rate), and every
``[outputs]`` key moves them the way it says."""
import numpy as np
import pandas as pd
import pytest

from uesim.experiments import ScenarioError, check_scenario, run_scenario
from uesim.experiments.timeseries import Sampler, ports_from_spec, wide

GBPS100 = 100_000_000_000
TOPO = {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 1, "hosts_per_leaf": 4,
        "host_rate_bps": GBPS100, "fabric_rate_bps": GBPS100, "delay_ps": 1_000_000}
INCAST = {"pattern": "incast", "size_bytes": 200_000, "receiver": 0, "n_senders": 4}


def scenario(outputs=None, **kw):
    raw = {"topology": dict(TOPO), "traffic": dict(INCAST), "seed": 3,
           "transport": {"cc": {"name": "fixed", "cwnd_bytes": 65536}}}
    raw.update(kw)
    if outputs is not None:
        raw["outputs"] = outputs
    return check_scenario(raw)


UET = {"name": "uet", "cc": {"name": "nscc"}, "lb": {"name": "oblivious"}}


@pytest.fixture(scope="module")
def incast():
    return run_scenario(scenario({"timeseries_interval_ps": 1_000_000}))


def bottleneck(res):
    """The leaf's port down to the incast receiver (gpu0)."""
    ports = res.ports
    return int(ports[(ports.node == "leaf0") & (ports.peer == "gpu0")].port.iloc[0])


@pytest.mark.parametrize("kw", [
    {},                                                                    # FIFO fast path
    {"transport": UET, "fabric": {"trimming": True, "buffer_bytes": 60_000}},   # dequeue path, trims
], ids=["window-fastpath", "uet-nscc-trimming"])
def test_sampling_does_not_change_the_run(kw):
    plain = run_scenario(scenario(None, **kw))
    sampled = run_scenario(scenario({"timeseries_interval_ps": 700_000, "timeseries_ports": "all"}, **kw))
    pd.testing.assert_frame_equal(plain.flows, sampled.flows)
    pd.testing.assert_frame_equal(plain.ports, sampled.ports)
    assert plain.stats["events"] == sampled.stats["events"]      # sampler wake-ups not counted
    assert sampled.stats["timeseries_samples"] > 10
    assert plain.timeseries is None and sampled.timeseries is not None


def test_incast_queue_rises_then_drains(incast):
    q = wide(incast.timeseries, "port", "queue_bytes")[bottleneck(incast)]
    peak = int(q.values.argmax())
    assert q.iloc[peak] > 150_000                   # four senders x 64 KiB windows into one port
    assert q.iloc[0] < q.iloc[peak] and q.iloc[-1] == 0
    rise = q.iloc[: peak + 1].values
    assert (np.diff(rise[:8]) > 0).all()            # fills packet by packet at first
    assert q.iloc[peak:].iloc[-10:].max() == 0      # and ends drained
    # the other downlinks of the receiver's leaf never queue more than a packet
    others = wide(incast.timeseries, "port", "queue_bytes").drop(columns=bottleneck(incast))
    assert others.values.max() <= 4096


def test_bottleneck_utilisation_is_one_while_busy(incast):
    ts = incast.timeseries
    q = wide(ts, "port", "queue_bytes")[bottleneck(incast)]
    u = wide(ts, "port", "utilisation")[bottleneck(incast)]
    busy = (q > 8192) & (q.shift(1) > 8192)         # backlogged for the whole interval
    assert busy.sum() > 30
    assert u[busy].between(0.999, 1.001).all(), u[busy].describe()
    # idle at the end; bytes out over the run = what the port counted
    assert u.iloc[-5:].max() == 0
    dt = incast.timeseries_data.interval_ps
    sent = (u.values * GBPS100 * dt / 8e12).sum()
    assert sent == pytest.approx(incast.ports.tx_bytes[bottleneck(incast)], rel=1e-6)


def test_flow_series(incast):
    ts = incast.timeseries
    acked = wide(ts, "flow", "acked_bytes")
    assert (acked.diff().fillna(0) >= 0).all().all()               # never goes back
    assert (acked.iloc[-1] == INCAST["size_bytes"]).all()
    cwnd = wide(ts, "flow", "cwnd_bytes")
    assert set(np.unique(cwnd.values[~np.isnan(cwnd.values)])) == {65536}   # fixed window
    # NaN once a flow has finished (its last ACK)
    end_us = incast.flows.set_index("flow_id").end_ps / 1e6
    for fid in cwnd.columns:
        assert cwnd[fid][cwnd.index > end_us[fid]].isna().all()
        assert cwnd[fid][cwnd.index < end_us[fid]].notna().all()


def test_nscc_window_moves_in_the_series():
    res = run_scenario(scenario({"timeseries_interval_ps": 1_000_000}, transport=UET,
                                fabric={"trimming": True, "buffer_bytes": 60_000}))
    cwnd = wide(res.timeseries, "flow", "cwnd_bytes")
    assert cwnd.nunique().max() > 3                 # NSCC cuts and grows the window


def test_interval_sets_the_number_of_samples(incast):
    fine = run_scenario(scenario({"timeseries_interval_ps": 250_000}))
    n1, n4 = incast.stats["timeseries_samples"], fine.stats["timeseries_samples"]
    assert n4 == pytest.approx(4 * n1, abs=4)
    t = fine.timeseries_data.t_ps
    assert (np.diff(t) == 250_000).all() and t[0] == 250_000
    # the last sample is the first one with nothing left to simulate
    assert t[-1] - 250_000 < fine.stats["sim_time_us"] * 1e6 <= t[-1]


def test_ports_selection():
    busy = run_scenario(scenario({"timeseries_interval_ps": 2_000_000}))
    every = run_scenario(scenario({"timeseries_interval_ps": 2_000_000, "timeseries_ports": "all"}))
    few = run_scenario(scenario({"timeseries_interval_ps": 2_000_000,
                                 "timeseries_ports": [3, ["leaf0", "gpu0"]]}))
    n = len(every.ports)
    assert list(every.timeseries_data.port_ids) == list(range(n))
    sent = every.ports.set_index("port").tx_bytes
    assert list(busy.timeseries_data.port_ids) == list(sent[sent > 0].index)
    assert 0 < len(busy.timeseries_data.port_ids) < n
    assert list(few.timeseries_data.port_ids) == [3, bottleneck(few)]
    # the long frame carries exactly those ports, two metrics each
    ports = few.timeseries[few.timeseries.kind == "port"]
    assert sorted(ports.id.unique()) == sorted([3, bottleneck(few)])
    assert set(ports.metric.unique()) == {"queue_bytes", "utilisation"}
    assert len(ports) == 2 * 2 * few.stats["timeseries_samples"]


def test_long_frame_layout(incast):
    df = incast.timeseries
    assert list(df.columns) == ["t_us", "kind", "id", "metric", "value"]
    assert set(df.kind.unique()) == {"port", "flow"}
    assert set(df[df.kind == "flow"].metric.unique()) == {"cwnd_bytes", "rate_bps", "acked_bytes"}
    n = incast.stats["timeseries_samples"]
    nports = len(incast.timeseries_data.port_ids)
    assert len(df) == n * (2 * nports + 3 * len(incast.flows))


def test_write_saves_the_series(tmp_path, incast):
    incast.write(tmp_path)
    back = pd.read_parquet(tmp_path / "timeseries.parquet")
    assert len(back) == len(incast.timeseries)
    assert back.value.sum() == pytest.approx(incast.timeseries.value.sum())
    plain = run_scenario(scenario())
    plain.write(tmp_path / "plain")
    assert not (tmp_path / "plain" / "timeseries.parquet").exists()


@pytest.mark.parametrize("outputs, message", [
    ({"timeseries_interval_ps": -1}, "outputs.timeseries_interval_ps = -1"),
    ({"timeseries_interval_ps": "1us"}, "outputs.timeseries_interval_ps = '1us'"),
    ({"timeseries_ports": "some"}, "allowed: all, busy"),
    ({"timeseries_ports": 3}, "outputs.timeseries_ports = 3"),
    ({"timeseries_ports": [-2]}, "outputs.timeseries_ports[0] = -2"),
    ({"timeseries_ports": [["leaf0"]]}, "outputs.timeseries_ports[0]"),
    ({"plot": 5}, "outputs.plot = 5"),
    ({"timeseries_flows": "some"}, "allowed: all, none"),
    ({"timeseries_flows": [1, -1]}, "outputs.timeseries_flows[1] = -1"),
    ({"timeseries_flows": {"a": 1}}, "outputs.timeseries_flows = {'a': 1}"),
    ({"sample_every": 5}, "unknown key 'outputs.sample_every'"),
])
def test_bad_outputs_are_named(outputs, message):
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        scenario(outputs)


def test_ports_that_do_not_exist_are_named_at_run_time():
    with pytest.raises(ScenarioError, match=r"outputs.timeseries_ports\[0\] = \['leaf0', 'gpu5'\]"):
        run_scenario(scenario({"timeseries_interval_ps": 1_000_000, "timeseries_ports": [["leaf0", "gpu5"]]}))
    with pytest.raises(ScenarioError, match="no port 999"):
        run_scenario(scenario({"timeseries_interval_ps": 1_000_000, "timeseries_ports": [999]}))


def test_interval_zero_is_off():
    res = run_scenario(scenario({"timeseries_interval_ps": 0}))
    assert res.timeseries is None and "timeseries_samples" not in res.stats


def test_port_levels_match_queue_bytes_on_both_paths():
    """``Network.port_levels`` agrees with ``queue_bytes`` per port at odd instants, on
    fast-path and dequeue-path ports, and its sent bytes never exceed ``tx_bytes``."""
    from uesim.experiments.run import (_fabric_config, build_topology, make_transport_flows,
                                       make_workload, network_sizing)
    from uesim.fabric import build_network
    for kw in ({}, {"transport": UET, "fabric": {"trimming": True, "buffer_bytes": 60_000}}):
        sc = scenario(None, **kw)
        G = build_topology(sc["topology"])
        rtt, _, buf = network_sizing(sc, G)
        built = build_network(G, config=_fabric_config(sc, buf))
        flows, _ = make_workload(sc, built.n_hosts)
        make_transport_flows(sc, flows, built.net, base_rtt_ps=rtt, rto_ps=15_000_000)
        net, checks = built.net, []
        q = np.zeros(net.n_ports, dtype=np.int64)
        s = np.zeros(net.n_ports, dtype=np.int64)

        def check():
            net.port_levels(q, s)
            tx = net.port_counters()["tx_bytes"]
            checks.append((q.tolist() == [net.queue_bytes(i) for i in range(net.n_ports)],
                           bool((s <= tx).all()), bool((tx - s <= q + 4096).all())))
        for t in range(333_333, 60_000_000, 777_777):
            built.sim.schedule_at(t, check)
        built.sim.run()
        assert len(checks) > 50 and all(all(c) for c in checks), checks
    with pytest.raises(ValueError, match="port_levels needs arrays"):
        net.port_levels(np.zeros(1, dtype=np.int64), s)


def test_sampler_arguments():
    from uesim.fabric import Network, Simulator
    sim = Simulator()
    net = Network(sim, 2, 2)
    net.add_port(0, 1, GBPS100, 1_000, 1_000_000)
    with pytest.raises(ValueError, match="interval_ps must be > 0"):
        Sampler(sim, net, [], 0)
    with pytest.raises(ValueError, match="allowed: 'all', 'busy'"):
        Sampler(sim, net, [], 10, ports="most")
    with pytest.raises(ValueError, match="no port 1"):
        Sampler(sim, net, [], 10, ports=[1])
    assert ports_from_spec("all", []) == "all"
    assert ports_from_spec([2, ["a", "b"]], [("a", "b", 0), ("b", "a", 0), ("a", "b", 1)]) == [2, 0, 2]


def test_sampling_stops_with_run_until():
    res = run_scenario(scenario({"timeseries_interval_ps": 1_000_000}, run={"until_ps": 20_500_000}))
    t = res.timeseries_data.t_ps
    assert t[-1] == 20_000_000 and len(t) == 20
    assert not res.flows.finished.all()


def test_flows_added_during_a_simulation_are_sampled():
    """With the Simulation API flows may be added while it runs: the sampler reads the
    live flow list, so a flow added after sampling began gets its own column, empty
    (NaN window, 0 acked) before it was added."""
    from uesim.experiments import Simulation
    from uesim.experiments.run import with_timeseries
    sim = Simulation("leaf_spine:n_leaves=2,n_spines=1,hosts_per_leaf=2", seed=1)
    sim.add_flow(1, 0, 100_000)
    sampler = Sampler(sim.sim, sim.net, sim.flow_objs, 1_000_000)
    for i in range(2, 6):     # one more flow every 5 us, more than the initial columns
        sim.sim.schedule_at(i * 5_000_000, sim.add_flow, 1 + i % 3, 0, 50_000)
    sim.run()
    res = with_timeseries(sim.result(), sampler)
    acked = wide(res.timeseries, "flow", "acked_bytes")
    cwnd = wide(res.timeseries, "flow", "cwnd_bytes")
    assert list(acked.columns) == [0, 1, 2, 3, 4]
    assert (acked.iloc[-1] == [100_000, 50_000, 50_000, 50_000, 50_000]).all()
    assert cwnd.loc[:14.0, 2].isna().all() and cwnd.loc[16.0:17.0, 2].notna().all()
    assert acked.loc[:10.0, 2].eq(0).all()
    assert res.stats["timeseries_samples"] == len(acked)


def test_flows_selection():
    some = run_scenario(scenario({"timeseries_interval_ps": 2_000_000, "timeseries_flows": [2, 0, 99]}))
    none = run_scenario(scenario({"timeseries_interval_ps": 2_000_000, "timeseries_flows": "none"}))
    every = run_scenario(scenario({"timeseries_interval_ps": 2_000_000}))
    assert list(every.timeseries_data.flow_ids) == [0, 1, 2, 3]
    assert list(some.timeseries_data.flow_ids) == [0, 2]          # in flow order; 99 is no flow
    assert sorted(some.timeseries[some.timeseries.kind == "flow"].id.unique()) == [0, 2]
    pd.testing.assert_frame_equal(wide(some.timeseries, "flow", "acked_bytes"),
                                  wide(every.timeseries, "flow", "acked_bytes")[[0, 2]])
    assert (none.timeseries.kind == "port").all() and len(none.timeseries_data.flow_ids) == 0
    with pytest.raises(ValueError, match="flow_ids = 'few'"):
        from uesim.fabric import Network, Simulator
        sim = Simulator()
        net = Network(sim, 2, 2)
        Sampler(sim, net, [], 10, flow_ids="few")
