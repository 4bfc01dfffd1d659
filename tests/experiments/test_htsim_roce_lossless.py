"""``uesim htsim --transport roce ... -queue_type lossless_input`` end to end against
htsim_roce's PFC runs (reference/htsim/MODEL-roce.md sections 2-4)."""
import json
from pathlib import Path

import pytest

from uesim.experiments.frontends import htsim

REF = Path(__file__).resolve().parents[2] / "benchmarks" / "reference" / "htsim"
ROCE = ["--transport", "roce", "-nodes", "16", "-strat", "ecmp_host", "-paths", "1"]


def run(capsys, cm, *extra):
    assert htsim.main([*ROCE, "-tm", str(REF / cm), *extra, "--json"]) == 0
    out = capsys.readouterr().out.splitlines()
    return out, json.loads(out[-1])


def test_incast_with_pfc_matches_htsim_roce(capsys):
    out, s = run(capsys, "incast.cm", "-queue_type", "lossless_input", "-q", "100", "-end", "3000")
    assert "PFC xoff 60000 B xon 48000 B" in "\n".join(out)
    # htsim_roce: last flow 2451.3 us, no drops, no retransmissions, PAUSEs sent
    assert s["flows_finished"] == 15 and s["packets_new"] == 15 * 501
    assert s["last_fct_us"] == pytest.approx(2451.3, rel=0.005)
    assert s["packets_rtx"] == 0 and s["nacks"] == 0
    assert s["pfc_pauses"] > 100
    # per-ingress sharing (the parking lot): host 14, alone on host 15's ToR, takes about
    # a third of the bottleneck and finishes first, at 491 us in htsim
    finished = [line for line in out if "finished at" in line]
    assert finished[0].startswith("Flow Roce_14_15 ")
    assert s["fct_us"][14] == pytest.approx(491, rel=0.03)
    # without PFC the bottleneck still bounds the last flow and the FIFOs share by input
    # port as well (host 14 first, at 484 us), but PFC changes who gets what in between
    _, plain = run(capsys, "incast.cm", "-end", "3000")
    assert not plain["pfc_pauses"] and plain["last_fct_us"] == pytest.approx(2451.3, rel=1e-3)
    assert plain["fct_us"][14] == pytest.approx(491, rel=0.03)
    assert max(abs(a - b) for a, b in zip(plain["fct_us"], s["fct_us"])) > 100


def test_single_flow_with_pfc_is_the_closed_form(capsys):
    # nothing congests one flow: PFC never pauses and the FCT is htsim's 176.216 us
    _, s = run(capsys, "one.cm", "-queue_type", "lossless_input")
    assert s["last_fct_us"] == pytest.approx(176.21632, abs=1e-6) and s["pfc_pauses"] == 0


def test_pfc_thresholds_flag_moves_pauses(capsys):
    _, lo = run(capsys, "incast.cm", "-queue_type", "lossless_input", "-end", "3000")
    _, hi = run(capsys, "incast.cm", "-queue_type", "lossless_input", "-pfc_thresholds", "40", "60", "-end", "3000")
    assert hi["pfc_pauses"] < lo["pfc_pauses"]
    assert hi["last_fct_us"] == pytest.approx(2451.3, rel=0.005)
