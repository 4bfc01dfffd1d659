"""``uesim htsim --transport roce``: htsim_roce command lines (MODEL-roce.md)."""
import json
from pathlib import Path

import pytest

from uesim.experiments import scenario as scenario_mod
from uesim.experiments.frontends import htsim, htsim_roce
from uesim.experiments.frontends.htsim import HtsimArgError

REF = Path(__file__).resolve().parents[2] / "benchmarks" / "reference" / "htsim"
ONE = ["-tm", str(REF / "one.cm"), "-nodes", "16", "-strat", "ecmp_host", "-paths", "1"]


def test_translation_follows_htsim_roce():
    tr = htsim_roce.translate(ONE + ["-q", "100", "-end", "500"])
    sc = tr.scenario
    assert sc["topology"] == {"generator": "fat_tree", "k": 4, "rate_bps": 100_000_000_000, "delay_ps": 1_000_000}
    t = sc["transport"]
    assert (t["name"], t["mtu_bytes"], t["header_bytes"], t["ack_bytes"]) == ("roce", 4064, 64, 64)
    assert t["ack_every_packets"] == 1 and t["min_rto_ps"] == 0 and t["htsim_extra_packet"]
    assert t["cc"] == {"name": "none"} and t["lb"] == {"name": "ecmp"}
    assert sc["run"] == {"until_ps": 500_000_000} and sc["seed"] == 13
    assert "pfc" not in sc["fabric"] and "ecn" not in sc["fabric"]
    t2 = htsim_roce.translate(ONE + ["-mtu", "2000", "-linkspeed", "200000", "-hop_latency", "0.5"]).scenario
    assert t2["transport"]["mtu_bytes"] == 2064
    assert t2["topology"]["rate_bps"] == 200_000_000_000 and t2["topology"]["delay_ps"] == 500_000


def test_one_flow_prints_htsims_finish_time(capsys):
    assert htsim.main(["--transport", "roce", *ONE, "--json"]) == 0
    out = capsys.readouterr().out.splitlines()
    line = next(x for x in out if "finished at" in x)
    # MODEL-roce.md 3: one.cm prints 176.216; htsim sends 501 packets for 2 MB
    assert line.startswith("Flow Roce_0_13 flowId 1000000001 roceSrc 0 finished at 176.216 ")
    assert " sent 501 rtx 0" in line
    summary = json.loads(out[-1])
    assert summary["last_fct_us"] == pytest.approx(176.21632) and summary["flows_finished"] == 1
    assert "pfc_pauses" in summary and summary["nacks"] == 0


def test_incast_is_bound_by_the_bottleneck(capsys):
    argv = ["--transport", "roce", "-tm", str(REF / "incast.cm"), "-nodes", "16", "-strat", "ecmp_host",
            "-end", "3000", "--json"]
    assert htsim.main(argv) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    # 15 x 501 packets of 4064 B through one 100 Gb/s port, plus the path: htsim 2451.3 us
    assert summary["flows_finished"] == 15 and summary["packets_new"] == 15 * 501
    assert summary["last_fct_us"] == pytest.approx(2451.3, rel=1e-3)


def test_lossless_input_needs_pfc(monkeypatch, capsys):
    argv = ONE + ["-queue_type", "lossless_input"]
    if not htsim_roce.pfc_available():
        with pytest.raises(HtsimArgError, match="PFC is not available in this build"):
            htsim_roce.translate(argv)
        assert htsim.main(["--transport", "roce", *argv]) == 2
        assert "PFC is not available" in capsys.readouterr().err
    # with a schema that knows fabric.pfc, the thresholds are htsim's (MTU = 4000 B units)
    monkeypatch.setitem(scenario_mod.FABRIC, "pfc", scenario_mod.Field(dict))
    sc = htsim_roce.translate(argv).scenario
    assert sc["fabric"]["pfc"] == {"enabled": True, "mode": "htsim", "xoff_bytes": 60_000, "xon_bytes": 48_000}
    sc = htsim_roce.translate(argv + ["-pfc_thresholds", "10", "20"]).scenario
    assert (sc["fabric"]["pfc"]["xoff_bytes"], sc["fabric"]["pfc"]["xon_bytes"]) == (80_000, 40_000)


@pytest.mark.parametrize("extra, match", [
    (["-strat", "perm"], "-strat 'perm': unknown; allowed: ecmp_host"),
    (["-queue_type", "composite"], "-queue_type 'composite': unknown; allowed: lossless_input"),
    (["-dcqcn"], "flag -dcqcn is not supported"),
    (["-paths", "0"], "-paths '0'"),
    (["-pfc_thresholds", "20", "10"], "LOW must be <= HIGH"),
    (["-nodes", "128"], "-nodes 128 but"),
    (["-mtu", "x"], "-mtu 'x'"),
])
def test_bad_flags_name_the_flag(extra, match):
    with pytest.raises(HtsimArgError, match=match):
        htsim_roce.translate(ONE + extra)


def test_transport_flag(capsys):
    assert htsim.main(["--transport", "tcp", *ONE]) == 2
    assert "allowed: uet" in capsys.readouterr().err
    assert htsim.main(["--transport", "roce"]) == 2          # usage
    assert "htsim_roce" in capsys.readouterr().out
    # the UET path is unchanged with --transport uet
    assert htsim.main(["--transport", "uet", "-tm", str(REF / "one.cm"), "-nodes", "16", "--json"]) == 0
    assert "Flow Uec_0_13" in capsys.readouterr().out
