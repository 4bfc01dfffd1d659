"""The RoCE preset's retransmission timer: a queue pair's ACK timeout, not htsim's 1 ms."""
from uesim.experiments.collectives import run_collective
from uesim.experiments.presets import ROCE_RTO_PS, merge, preset
from uesim.topologies import leaf_spine


def test_the_preset_timer_is_the_queue_pair_ack_timeout():
    p = preset("roce")
    assert p["transport"]["min_rto_ps"] == ROCE_RTO_PS == 4_096_000 * 2**18    # 4.096 us x 2^18


def test_packets_held_by_pauses_do_not_time_out_under_the_preset():
    # a tree all-reduce over a 2:1 leaf-spine under PFC: with htsim's 1 ms timer, packets
    # held behind paused queues time out and go-back-N resends hundreds of packets that
    # were never lost; the preset's timer waits for them, and the run is faster
    p = preset("roce")
    G = leaf_spine(8, 4, 8)
    runs = {}
    for rto in (1_000_000_000, ROCE_RTO_PS):
        runs[rto] = run_collective("all_reduce", 16 << 20, topology=G, n_ranks=64, algo="tree",
                                   transport=merge(p["transport"], {"min_rto_ps": rto}), fabric=p["fabric"])
    short, preset_run = runs[1_000_000_000], runs[ROCE_RTO_PS]
    assert short.sources["timeouts"] > 0 and short.sources["retransmits"] > 100
    assert preset_run.sources["timeouts"] == preset_run.sources["retransmits"] == 0
    assert preset_run.sources["drops"] == short.sources["drops"] == 0          # lossless both
    assert preset_run.time_ps < short.time_ps
