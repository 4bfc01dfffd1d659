"""The htsim .cm reader: flows, ids, start truncation, triggers, header counts, and one
clear error (file, line, what) for every bad line."""
import doctest
from pathlib import Path

import pytest

from uesim.experiments import traffic
from uesim.experiments.schema import ScenarioError
from uesim.experiments.workloads import cm as cm_mod
from uesim.experiments.workloads.cm import read_cm

REF = Path(__file__).resolve().parents[2] / "benchmarks" / "reference" / "htsim"


def write(tmp_path, text, name="t.cm"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_doctests():
    assert doctest.testmod(cm_mod).failed == 0


def test_plain_flows_and_start_truncation(tmp_path):
    p = write(tmp_path, "# comment\nNodes 8\nConnections 3\n\n"
                        "0->5 start 0 size 2000000\n"
                        "1->2 id 7 start 3.9 size 10\n"
                        "  3->4   size 5 start 12 prio 3\n")
    cm = read_cm(p)
    assert cm.nodes == 8 and cm.triggers == [] and cm.failures == []
    f0, f1, f2 = cm.flows
    assert (f0["id"], f0["src"], f0["dst"], f0["size_bytes"], f0["start_ps"], f0["cm_id"]) == \
        (0, 0, 5, 2_000_000, 0, None)
    assert (f1["cm_id"], f1["start_ps"]) == (7, 3_000_000)          # 3.9 us -> 3 us, as htsim
    assert (f2["src"], f2["dst"], f2["start_ps"], f2["size_bytes"]) == (3, 4, 12_000_000, 5)
    for f in cm.flows:
        assert f["start_trigger"] is f["send_done_trigger"] is f["recv_done_trigger"] is None


def test_triggers(tmp_path):
    p = write(tmp_path, "Nodes 4\nConnections 4\nTriggers 3\n"
                        "0->1 id 1 start 0 size 100 send_done_trigger 1 recv_done_trigger 2\n"
                        "1->2 id 2 trigger 1 size 100 send_done_trigger 3\n"
                        "2->3 id 3 trigger 2 size 100 send_done_trigger 3\n"
                        "3->0 id 4 trigger 3 size 100\n"
                        "trigger id 1 oneshot\ntrigger id 2 multishot\ntrigger id 3 barrier count 2\n")
    cm = read_cm(p)
    assert [(t["id"], t["kind"], t["count"]) for t in cm.triggers] == \
        [(1, "oneshot", 0), (2, "multishot", 0), (3, "barrier", 2)]
    assert [f["start_trigger"] for f in cm.flows] == [None, 1, 2, 3]
    assert [f["start_ps"] for f in cm.flows] == [0, None, None, None]
    assert cm.flows[0]["send_done_trigger"] == 1 and cm.flows[0]["recv_done_trigger"] == 2
    assert cm.flows[1]["send_done_trigger"] == cm.flows[2]["send_done_trigger"] == 3


def test_trigger_defined_before_use(tmp_path):
    p = write(tmp_path, "Nodes 2\ntrigger id 5 oneshot\n0->1 id 1 start 0 size 1 send_done_trigger 5\n"
                        "1->0 id 2 trigger 5 size 1\n")
    assert [f["start_trigger"] for f in read_cm(p).flows] == [None, 5]


@pytest.mark.parametrize("text, message", [
    ("Nodes 4\n0->1 size 100\n", ":2: no start method"),
    ("Nodes 4\n0->1 start 0 size 100 trigger 1\ntrigger id 1 oneshot\n", ":2: both start time and trigger"),
    ("Nodes 4\n0->1 trigger 1 size 100\ntrigger id 1 oneshot\n", ":2: a flow started by a trigger needs an 'id N'"),
    ("Nodes 4\n0->1 id 1 trigger 9 size 100\n", ":2: trigger 9 is referenced but not specified"),
    ("Nodes 4\n0->1 start 0 size 1 send_done_trigger 4\n", ":2: send_done_trigger 4 is referenced"),
    ("Nodes 4\n0->1 start 0 size 100 colour red\n", ":2: unknown token 'colour'"),
    ("Nodes 4\n0->1 start x size 100\n", ":2: start 'x' is not a number"),
    ("Nodes 4\n0->1 start -1 size 100\n", ":2: start -1 must be a number >= 0"),
    ("Nodes 4\n0->1 start 0 size 0\n", ":2: size 0 must be >= 1"),
    ("Nodes 4\n0->1 start 0\n", ":2: flow has no 'size BYTES'"),
    ("Nodes 4\n0->1 start 0 size\n", ":2: size needs a value"),
    ("Nodes 4\n0->9 start 0 size 10\n", ":2: destination host 9 out of range 0..3"),
    ("Nodes 4\n2->2 start 0 size 10\n", ":2: source and destination are both host 2"),
    ("Nodes 4\na->1 start 0 size 10\n", ":2: source host 'a' is not an integer"),
    ("Nodes 4\n0->1 id 0 start 0 size 10\n", ":2: id 0 must be >= 1"),
    ("Nodes 4\n0->1 id 3 start 0 size 10\n1->2 id 3 start 0 size 10\n", ":3: flow id 3 already used at line 2"),
    ("Nodes 4\n0->1 start 0 size 10 msg 1\n", ":2: 'msg'"),
    ("Nodes 4\nConnections 2\n0->1 start 0 size 10\n", "mismatch in connections count: header says 2, the file has 1"),
    ("Nodes 4\nTriggers 1\n0->1 start 0 size 10\n", "mismatch in triggers count"),
    ("Nodes 4\n0->1 start 0 size 10\ntrigger id 1\n", ":3: trigger with no type"),
    ("Nodes 4\n0->1 start 0 size 10\ntrigger oneshot\n", ":3: trigger with no id"),
    ("Nodes 4\n0->1 start 0 size 10\ntrigger id 1 barrier\n", ":3: barrier trigger 1 needs 'count N'"),
    ("Nodes 4\n0->1 start 0 size 10\ntrigger id 1 oneshot barrier count 2\n", ":3: trigger has two types"),
    ("Nodes 4\n0->1 start 0 size 10\ntrigger id 1 oneshot\ntrigger id 1 multishot\n", ":4: trigger 1 already defined at line 3"),
    ("Nodes 4\n0->1 start 0 size 10\nNodes 5\n", ":3: header line 'Nodes' after"),
    ("Nodes 4\nhello world\n", ":2: cannot parse 'hello world'"),
    ("Nodes 4\n", "no flows"),
    ("Nodes 4\n0->1 start 0 size 10\nfailure switch_type SPINE switch_id 0 link_id 0\n", ":3: switch_type 'SPINE'"),
])
def test_bad_lines_name_file_line_and_problem(tmp_path, text, message):
    p = write(tmp_path, text, "bad.cm")
    with pytest.raises(ScenarioError) as err:
        read_cm(p)
    assert message in str(err.value)
    assert str(p) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="nope.cm"):
        read_cm(tmp_path / "nope.cm")


def test_failures_are_read(tmp_path):
    p = write(tmp_path, "Nodes 4\nFailures 1\n0->1 start 0 size 10\nfailure switch_type CORE switch_id 2 link_id 1\n")
    assert read_cm(p).failures == [{"switch_type": "CORE", "switch_id": 2, "link_id": 1, "line": 4}]


def test_n_hosts_argument_overrides_header(tmp_path):
    p = write(tmp_path, "Nodes 16\n0->5 start 0 size 10\n")
    with pytest.raises(ScenarioError, match="out of range 0..3"):
        read_cm(p, n_hosts=4)


def test_traffic_read_cm_delegates(tmp_path):
    p = write(tmp_path, "Nodes 4\nConnections 1\n0->3 id 9 start 2 size 1000\n")
    flows = traffic.read_cm(p, 4)
    assert [(f["id"], f["src"], f["dst"], f["size_bytes"], f["start_ps"]) for f in flows] == \
        [(0, 0, 3, 1000, 2_000_000)]
    with pytest.raises(ScenarioError):
        traffic.read_cm(p, 2)


@pytest.mark.skipif(not REF.exists(), reason="htsim reference files not present")
@pytest.mark.parametrize("name, n, nodes", [("one.cm", 1, 16), ("incast.cm", 15, 16),
                                            ("perm_16n_16c_2MB.cm", 16, 16),
                                            ("perm_1024n_1024c_0u_2000000b.cm", 1024, 1024)])
def test_reference_files(name, n, nodes):
    cm = read_cm(REF / name)
    assert len(cm.flows) == n and cm.nodes == nodes
    assert all(f["size_bytes"] == 2_000_000 and f["start_ps"] == 0 for f in cm.flows)
