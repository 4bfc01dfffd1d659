"""Traffic given as data: htsim ``.cm`` files, explicit flow lists, topology files.

Values are checked against the single-flow analytic FCT on an idle path: with the window
transport and a window that covers the bandwidth-delay product, a flow of ``n`` packets
finishes ``n`` serialisations + the hops' propagation and store-and-forward after its
start, plus the ACK's way back.
"""
import textwrap

import pytest

from uesim.experiments import ScenarioError, check_scenario, load_scenario, run_scenario
from uesim.experiments.traffic import explicit, read_cm
from uesim.topologies import leaf_spine, write_graphml, write_json

CM = """\
Nodes 16
Connections 4
# a comment
0->13 start 0 size 2000000
1->15 id 7 start 12.9 size 4096

2->3 start 100 size 1
15->0 start 3.2 size 123456
"""


def test_read_cm_values(tmp_path):
    path = tmp_path / "m.cm"
    path.write_text(CM)
    keys = ("id", "src", "dst", "size_bytes", "start_ps")
    assert [{k: f[k] for k in keys} for f in read_cm(path)] == [
        {"id": 0, "src": 0, "dst": 13, "size_bytes": 2_000_000, "start_ps": 0},
        {"id": 1, "src": 1, "dst": 15, "size_bytes": 4096, "start_ps": 12_000_000},  # truncated to us
        {"id": 2, "src": 2, "dst": 3, "size_bytes": 1, "start_ps": 100_000_000},
        {"id": 3, "src": 15, "dst": 0, "size_bytes": 123456, "start_ps": 3_000_000},
    ]
    assert len(read_cm(path, n_hosts=16)) == 4


@pytest.mark.parametrize("text, n_hosts, message", [
    ("0->1 start 0 size big\n", None, "1: size 'big' is not an integer"),
    ("Nodes 4\n0->1 start 0 size 10\n0->4 start 0 size 10\n", None,
     "3: destination host 4 out of range 0..3"),
    ("0->1 start 0 size 10\n0->4 start 0 size 10\n", 4, "2: destination host 4 out of range 0..3"),
    ("7->1 start 0 size 10\n", 4, "1: source host 7 out of range 0..3"),
])
def test_read_cm_errors_name_the_line(tmp_path, text, n_hosts, message):
    path = tmp_path / "bad.cm"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        read_cm(path, n_hosts)
    assert str(info.value) == f"{path}:{message}"


def test_read_cm_missing_file(tmp_path):
    with pytest.raises(ScenarioError) as info:
        read_cm(tmp_path / "nope.cm")
    assert str(info.value) == f"connection matrix {str(tmp_path / 'nope.cm')!r}: No such file or directory"


def test_reference_htsim_matrix_reads(tmp_path):
    ref = tmp_path / "one.cm"
    ref.write_text("Nodes 16\nConnections 1\n0->13 start 0 size 2000000\n")
    (flow,) = read_cm(ref, 16)
    assert {k: flow[k] for k in ("id", "src", "dst", "size_bytes", "start_ps")} == \
        {"id": 0, "src": 0, "dst": 13, "size_bytes": 2_000_000, "start_ps": 0}


def test_explicit_values_and_defaults():
    flows = explicit(4, [{"src": 0, "dst": 3, "size_bytes": 10},
                         {"src": 2, "dst": 1, "size_bytes": 5, "start_ps": 7}])
    assert flows == [{"id": 0, "src": 0, "dst": 3, "size_bytes": 10, "start_ps": 0},
                     {"id": 1, "src": 2, "dst": 1, "size_bytes": 5, "start_ps": 7}]


@pytest.mark.parametrize("flows, message", [
    ([], "traffic.flows is empty"),
    ([3], r"traffic.flows\[0\] = 3: must be a table \{src, dst, size_bytes, start_ps\}"),
    ([{"src": 0, "dst": 1, "size_bytes": 1, "prio": 2}],
     r"unknown key traffic.flows\[0\].'prio'; allowed: dst, size_bytes, src, start_ps"),
    ([{"src": 0, "size_bytes": 1}], r"missing key traffic.flows\[0\].'dst'"),
    ([{"src": 0, "dst": 1, "size_bytes": 0}], r"traffic.flows\[0\].size_bytes = 0: must be an integer >= 1"),
    ([{"src": 0, "dst": 1, "size_bytes": True}], r"traffic.flows\[0\].size_bytes = True: must be an integer >= 1"),
    ([{"src": 0, "dst": -1, "size_bytes": 1}], r"traffic.flows\[0\].dst = -1: must be an integer >= 0"),
    ([{"src": 0, "dst": "1", "size_bytes": 1}], r"traffic.flows\[0\].dst = '1': must be an integer >= 0"),
    ([{"src": -1, "dst": 1, "size_bytes": 1}], r"traffic.flows\[0\].src = -1: must be an integer >= 0"),
    ([{"src": 0, "dst": 1, "size_bytes": 1, "start_ps": -5}], r"traffic.flows\[0\].start_ps = -5: must be an integer >= 0"),
    ([{"src": 0, "dst": 4, "size_bytes": 1}], r"traffic.flows\[0\].dst = 4: must be a host index 0..3"),
    ([{"src": 2, "dst": 2, "size_bytes": 1}], r"traffic.flows\[0\]: src and dst are both 2"),
])
def test_explicit_errors(flows, message):
    with pytest.raises(ScenarioError, match=f"^{message}$"):      # the whole message
        explicit(4, flows)


RATE, DELAY = 100_000_000_000, 1_000_000
TX_FULL = 4096 * 80            # ps at 100 Gb/s (80 ps per byte)
TX_ACK = 64 * 80


def analytic_fct(n_full, last_wire, hops):
    """Window >= BDP, packets in a row on one path of ``hops`` equal-rate links: the last
    byte arrives after every serialisation at the NIC, plus ``hops - 1`` serialisations of
    the largest packet (store and forward: the pipeline moves at its slowest stage) and
    the propagation; the last ACK then crosses the ``hops`` links back."""
    data = n_full * TX_FULL + last_wire * 80 + (hops - 1) * TX_FULL + hops * DELAY
    return data + hops * (TX_ACK + DELAY)


def small_topology():
    return {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 2, "hosts_per_leaf": 2,
            "host_rate_bps": RATE, "fabric_rate_bps": RATE, "delay_ps": DELAY}


def test_explicit_traffic_runs_with_analytic_fct():
    sc = check_scenario({
        "seed": 3, "topology": small_topology(),
        "transport": {"cc": {"name": "fixed", "cwnd_bytes": 1 << 20}},
        "traffic": {"pattern": "explicit", "flows": [
            {"src": 0, "dst": 1, "size_bytes": 4032 * 3},                     # same leaf: 2 hops
            {"src": 2, "dst": 0, "size_bytes": 4032 * 2 + 100, "start_ps": 5_000_000},  # 4 hops
        ]}})
    res = run_scenario(sc)
    f = res.flows.set_index("flow_id")
    assert list(f["src"]) == [0, 2] and list(f["dst"]) == [1, 0]
    assert list(f["start_ps"]) == [0, 5_000_000]
    assert f.loc[0, "end_ps"] - f.loc[0, "start_ps"] == analytic_fct(2, 4096, 2)
    assert f.loc[1, "end_ps"] - f.loc[1, "start_ps"] == analytic_fct(2, 164, 4)
    assert list(f["packets_sent"]) == [3, 3]
    assert list(f["rx_done_ps"] - f["start_ps"]) == [analytic_fct(2, 4096, 2) - 2 * (TX_ACK + DELAY),
                                                     analytic_fct(2, 164, 4) - 4 * (TX_ACK + DELAY)]


def test_cm_scenario_matches_explicit_one(tmp_path):
    (tmp_path / "t.cm").write_text("Nodes 4\nConnections 2\n0->3 start 0 size 50000\n"
                                   "1->2 id 9 start 2.7 size 30000\n")
    (tmp_path / "s.toml").write_text(textwrap.dedent("""
        seed = 2
        [topology]
        generator = "leaf_spine"
        n_leaves = 2
        n_spines = 2
        hosts_per_leaf = 2
        [traffic]
        pattern = "cm"
        file = "t.cm"
        """))
    sc = load_scenario(tmp_path / "s.toml")
    assert sc["traffic"]["file"] == str(tmp_path / "t.cm")      # resolved next to the scenario
    from_cm = run_scenario(sc).flows
    same = check_scenario({"seed": 2, "topology": {"generator": "leaf_spine", "n_leaves": 2,
                                                   "n_spines": 2, "hosts_per_leaf": 2},
                           "traffic": {"pattern": "explicit", "flows": [
                               {"src": 0, "dst": 3, "size_bytes": 50000},
                               {"src": 1, "dst": 2, "size_bytes": 30000, "start_ps": 2_000_000}]}})
    from_explicit = run_scenario(same).flows
    cols = ["src", "dst", "size_bytes", "start_ps", "end_ps", "packets_sent"]
    assert from_cm[cols].equals(from_explicit[cols])
    assert list(from_cm["start_ps"]) == [0, 2_000_000] and from_cm["finished"].all()


def test_cm_host_out_of_range_is_a_scenario_error(tmp_path):
    (tmp_path / "t.cm").write_text("0->9 start 0 size 100\n")
    sc = check_scenario({"topology": small_topology(),
                         "traffic": {"pattern": "cm", "file": str(tmp_path / "t.cm")}})
    with pytest.raises(ScenarioError, match="destination host 9 out of range 0..3"):
        run_scenario(sc)


@pytest.mark.parametrize("suffix, writer", [(".graphml", write_graphml), (".json", write_json)])
def test_topology_file_gives_the_same_run_as_the_generator(tmp_path, suffix, writer):
    params = {k: v for k, v in small_topology().items() if k != "generator"}
    writer(leaf_spine(**params), tmp_path / f"g{suffix}")
    traffic = {"pattern": "permutation", "size_bytes": 200_000}
    (tmp_path / "s.toml").write_text(f'seed = 4\n[topology]\nfile = "g{suffix}"\n'
                                     f'[traffic]\npattern = "permutation"\nsize_bytes = 200000\n')
    sc = load_scenario(tmp_path / "s.toml")
    assert sc["topology"]["file"] == str(tmp_path / f"g{suffix}")
    from_file = run_scenario(sc)
    from_gen = run_scenario(check_scenario({"seed": 4, "topology": small_topology(), "traffic": traffic}))
    assert from_file.flows.drop(columns=[]).equals(from_gen.flows)
    assert from_file.ports[["node", "peer", "tx_packets", "ecn_marks"]].equals(
        from_gen.ports[["node", "peer", "tx_packets", "ecn_marks"]])
    assert from_file.stats["events"] == from_gen.stats["events"]


@pytest.mark.parametrize("name, content, message", [
    ("g.txt", "x", r"topology.file = '.*g.txt': must end in .graphml or .json"),
    ("missing.json", None, r"topology.file = '.*missing.json': file not found"),
])
def test_topology_file_errors(tmp_path, name, content, message):
    if content is not None:
        (tmp_path / name).write_text(content)
    sc = check_scenario({"topology": {"file": str(tmp_path / name)},
                         "traffic": {"pattern": "permutation", "size_bytes": 1000}})
    with pytest.raises(ScenarioError, match=message):
        run_scenario(sc)


def test_topology_file_allows_no_other_key():
    with pytest.raises(ScenarioError, match="unknown key 'topology.n_leaves'; with topology.file only 'file'"):
        check_scenario({"topology": {"file": "g.json", "n_leaves": 2},
                        "traffic": {"pattern": "permutation", "size_bytes": 1000}})


def test_permutation_values():
    from uesim.experiments.traffic import permutation
    assert permutation(2, 10, seed=0) == [{"id": 0, "src": 0, "dst": 1, "size_bytes": 10, "start_ps": 0},
                                          {"id": 1, "src": 1, "dst": 0, "size_bytes": 10, "start_ps": 0}]
    flows = permutation(16, 5, seed=4, start_ps=9)
    assert [f["src"] for f in flows] == list(range(16)) and sorted(f["dst"] for f in flows) == list(range(16))
    assert all(f["src"] != f["dst"] and f["start_ps"] == 9 and f["size_bytes"] == 5 for f in flows)
    assert [f["id"] for f in flows] == list(range(16))
    assert permutation(16, 5, seed=4) != permutation(16, 5, seed=5)       # the seed is used
    assert permutation(16, 5, seed=4) == permutation(16, 5, seed=4)
    with pytest.raises(ScenarioError, match="^traffic.pattern = 'permutation' needs at least 2 hosts, got 1$"):
        permutation(1, 10, seed=0)


def test_incast_values():
    from uesim.experiments.traffic import incast
    assert incast(4, 7, receiver=2) == [
        {"id": 0, "src": 0, "dst": 2, "size_bytes": 7, "start_ps": 0},
        {"id": 1, "src": 1, "dst": 2, "size_bytes": 7, "start_ps": 0},
        {"id": 2, "src": 3, "dst": 2, "size_bytes": 7, "start_ps": 0}]
    assert [f["src"] for f in incast(4, 7, receiver=0, n_senders=1, start_ps=3)] == [1]
    assert incast(4, 7, receiver=0, n_senders=1, start_ps=3)[0]["start_ps"] == 3
    assert [f["src"] for f in incast(4, 7, receiver=0, n_senders=3)] == [1, 2, 3]
    assert [f["src"] for f in incast(5, 7, receiver=4, senders=[3, 0])] == [3, 0]
    assert [f["src"] for f in incast(5, 7, receiver=4, senders=[0], n_senders=3)] == [0]   # senders win


@pytest.mark.parametrize("kw, message", [
    ({"receiver": 4}, r"traffic.receiver = 4: must be a host index 0..3"),
    ({"receiver": -1}, r"traffic.receiver = -1: must be a host index 0..3"),
    ({"receiver": 0, "n_senders": 0}, r"traffic.n_senders = 0: must be 1..3"),
    ({"receiver": 0, "n_senders": 4}, r"traffic.n_senders = 4: must be 1..3"),
    ({"receiver": 0, "senders": [0]}, r"traffic.senders contains 0: must be host indices 0..3 other than the receiver"),
    ({"receiver": 0, "senders": [4]}, r"traffic.senders contains 4: must be host indices 0..3 other than the receiver"),
    ({"receiver": 0, "senders": [-1]}, r"traffic.senders contains -1: must be host indices 0..3 other than the receiver"),
])
def test_incast_errors(kw, message):
    from uesim.experiments.traffic import incast
    with pytest.raises(ScenarioError, match=f"^{message}$"):
        incast(4, 7, **kw)
