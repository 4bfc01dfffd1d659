"""ns-3 worker process for the uesim cross-check.

Runnable as a plain script (no uesim imports, stdlib only besides the ``ns3``
wheel's ``cppyy``)::

    python worker.py < request.json > result.json

Run it with the current directory set to an empty temporary directory.  Only
the JSON result is written to stdout; everything else (ns-3 and cling
warnings, Python prints) goes to stderr, because file descriptor 1 is
redirected to 2 before ns-3 is loaded.

Request (JSON object)::

    {"graph": <networkx node-link data, edges under "edges">,
     "flows": [{"id", "src", "dst", "size_bytes", "start_ps", "rate_bps"}, ...],
     "payload_bytes": int, "queue_packets": int|null, "queue_bytes": int|null,
     "stop_ps": int|null, "trace_queues": bool, "seed": int}

Model (see ``runner.py`` for the full description):

* Only the ns-3 modules needed are loaded (core, stats, network, bridge,
  traffic-control, internet, point-to-point, applications, flow-monitor):
  the ~20 ns-3 headers used are parsed by cling and those shared libraries
  are loaded with ``cppyy.load_library`` (about 1 s); ``from ns import ns``
  would parse all 42 modules (about 10-13 s).
* Time resolution is set to picoseconds before any ``Time`` is created.
* Every packet on the wire is payload + UDP 8 + IPv4 20 + PPP 2 bytes.
* Senders are a C++ application (``uesim_ns3::PacedUdpSender``): packet k of a
  flow is handed to its UDP socket at exactly
  ``start_ps + floor(W_k * 8 * 10**12 / rate_bps)`` ps, where ``W_k`` is the
  number of wire bytes (payload + 30) of packets 0..k-1.  No drift, no
  randomness.
* Receivers are a C++ UDP sink per (destination host, port).
* The simulation stops as soon as every packet sent has been received or
  dropped (counted in C++), or at ``stop_ps`` if given, or at a safety cap of
  the last flow start + 10 s of simulated time.
"""

from __future__ import annotations

import json
import os
import sys
import time

HEADER_BYTES = 30  # UDP 8 + IPv4 20 + PPP 2
UDP_IP_BYTES = 28

# Parsing the few headers used (about 0.65 s) instead of the seven
# "<module>-module.h" umbrella headers (about 1.3 s).
NEEDED_HEADERS = (
    "simulator", "nstime", "config", "boolean", "rng-seed-manager", "node-container",
    "internet-stack-helper", "point-to-point-helper", "point-to-point-net-device",
    "ipv4-address-helper", "ipv4-global-routing-helper", "ipv4-l3-protocol",
    "flow-monitor-helper", "flow-monitor", "ipv4-flow-classifier", "udp-socket-factory",
    "inet-socket-address", "socket", "traffic-control-layer", "queue-disc", "application", "queue-size",
    "drop-tail-queue", "data-rate",
)
# Load order respects library dependencies (readelf -d NEEDED).
NEEDED_LIBS = (
    "core",
    "stats",
    "network",
    "bridge",
    "traffic-control",
    "internet",
    "point-to-point",
    "applications",
    "flow-monitor",
)

CPP_HELPERS = r"""
#include <vector>
#include <string>
#include <sstream>
#include <map>
namespace uesim_ns3 {
using namespace ns3;

struct Counters {
    uint64_t sent = 0;         // packets accepted by a sender's UDP socket
    uint64_t send_fail = 0;    // packets refused by a sender's UDP socket
    uint64_t received = 0;     // packets delivered to a sink socket
    uint64_t queue_drops = 0;  // device queue drops
    uint64_t ip_drops = 0;     // Ipv4L3Protocol drops (no route, TTL, ...)
    uint64_t apps_active = 0;  // sender apps not finished
    bool stop_on_complete = true;
    bool completed = false;
    int64_t completed_ps = -1;
};
static Counters g;
static std::vector<uint32_t> g_qmax_pkts;
static std::vector<uint32_t> g_qmax_bytes;
static std::vector<uint64_t> g_qdrops;

inline void CheckDone() {
    if (g.apps_active == 0 && g.sent == g.received + g.queue_drops + g.ip_drops && !g.completed) {
        g.completed = true;
        g.completed_ps = Simulator::Now().GetPicoSeconds();
        if (g.stop_on_complete) Simulator::Stop();
    }
}

void Reset(bool stop_on_complete) {
    g = Counters();
    g.stop_on_complete = stop_on_complete;
    g_qmax_pkts.clear(); g_qmax_bytes.clear(); g_qdrops.clear();
}
uint64_t Sent() { return g.sent; }
uint64_t SendFail() { return g.send_fail; }
uint64_t Received() { return g.received; }
uint64_t QueueDrops() { return g.queue_drops; }
uint64_t IpDrops() { return g.ip_drops; }
bool Completed() { return g.completed; }
int64_t CompletedPs() { return g.completed_ps; }

// ---------------------------------------------------------------- sender
class PacedUdpSender : public Application {
public:
    static TypeId GetTypeId() {
        static TypeId tid = TypeId("uesim_ns3::PacedUdpSender")
            .SetParent<Application>()
            .SetGroupName("Applications");
        return tid;
    }
    TypeId GetInstanceTypeId() const override { return GetTypeId(); }

    // Creates the socket now: bound to the source host's address and an
    // ephemeral port (returned), connected to (dst, dport).
    uint16_t Setup(Ptr<Node> node, Ipv4Address src, Ipv4Address dst, uint16_t dport,
                   uint64_t size_bytes, uint32_t payload_bytes, uint32_t header_bytes,
                   int64_t start_ps, uint64_t rate_bps) {
        m_size = size_bytes; m_payload = payload_bytes; m_header = header_bytes;
        m_start = start_ps; m_rate = rate_bps;
        m_socket = Socket::CreateSocket(node, UdpSocketFactory::GetTypeId());
        if (m_socket->Bind(InetSocketAddress(src, 0)) != 0) {
            NS_FATAL_ERROR("uesim: cannot bind a sender socket (out of ephemeral ports?)");
        }
        if (m_socket->Connect(InetSocketAddress(dst, dport)) != 0) {
            NS_FATAL_ERROR("uesim: cannot connect a sender socket");
        }
        Address a;
        m_socket->GetSockName(a);
        g.apps_active += 1;
        return InetSocketAddress::ConvertFrom(a).GetPort();
    }

private:
    void StartApplication() override {
        SendNext();
    }
    void StopApplication() override {
        if (m_event.IsPending()) {
            Simulator::Cancel(m_event);
        }
    }
    void Finish() {
        g.apps_active -= 1;
        CheckDone();
    }
    void SendNext() {
        uint64_t left = m_size - m_sentBytes;
        uint32_t n = left < m_payload ? (uint32_t)left : m_payload;
        Ptr<Packet> p = Create<Packet>(n);
        if (m_socket->Send(p) >= 0) { g.sent += 1; } else { g.send_fail += 1; }
        m_sentBytes += n;
        m_wireBytes += (uint64_t)n + m_header;
        if (m_sentBytes >= m_size) {
            Finish();
            return;
        }
        unsigned __int128 bits = (unsigned __int128)m_wireBytes * 8u;
        int64_t next = m_start + (int64_t)((bits * 1000000000000ull) / m_rate);
        int64_t now = Simulator::Now().GetPicoSeconds();
        m_event = Simulator::Schedule(PicoSeconds(next - now), &PacedUdpSender::SendNext, this);
    }

    Ptr<Socket> m_socket;
    uint64_t m_size = 0, m_sentBytes = 0, m_wireBytes = 0, m_rate = 1;
    uint32_t m_payload = 1, m_header = 0;
    int64_t m_start = 0;
    EventId m_event;
};

// Returns the sender's UDP source port.
uint16_t MakeSender(Ptr<Node> node, Ipv4Address src, Ipv4Address dst, uint16_t dport,
                    uint64_t size_bytes, uint32_t payload_bytes, uint32_t header_bytes,
                    int64_t start_ps, uint64_t rate_bps) {
    Ptr<PacedUdpSender> app = CreateObject<PacedUdpSender>();
    uint16_t sport = app->Setup(node, src, dst, dport, size_bytes, payload_bytes, header_bytes,
                                start_ps, rate_bps);
    node->AddApplication(app);
    app->SetStartTime(PicoSeconds(start_ps));
    return sport;
}

// ---------------------------------------------------------------- sink
static void SinkRecv(Ptr<Socket> s) {
    Ptr<Packet> p;
    while ((p = s->Recv())) {
        g.received += 1;
    }
    CheckDone();
}

void MakeSink(Ptr<Node> node, uint16_t port) {
    Ptr<Socket> s = Socket::CreateSocket(node, UdpSocketFactory::GetTypeId());
    if (s->Bind(InetSocketAddress(Ipv4Address::GetAny(), port)) != 0) {
        NS_FATAL_ERROR("uesim: cannot bind sink port " << port);
    }
    s->SetRecvCallback(MakeCallback(&SinkRecv));
}

// ---------------------------------------------------------------- drops / queues
static void IpDrop(const Ipv4Header&, Ptr<const Packet>, Ipv4L3Protocol::DropReason,
                   Ptr<Ipv4>, uint32_t) {
    g.ip_drops += 1;
    CheckDone();
}

void WatchIpDrops(Ptr<Node> node) {
    Ptr<Ipv4L3Protocol> ip = node->GetObject<Ipv4L3Protocol>();
    ip->TraceConnectWithoutContext("Drop", MakeCallback(&IpDrop));
}

static void QPkts(uint32_t idx, uint32_t, uint32_t v) {
    if (v > g_qmax_pkts[idx]) g_qmax_pkts[idx] = v;
}
static void QBytes(uint32_t idx, uint32_t, uint32_t v) {
    if (v > g_qmax_bytes[idx]) g_qmax_bytes[idx] = v;
}
static void QDrop(uint32_t idx, Ptr<const Packet>) {
    g_qdrops[idx] += 1;
    g.queue_drops += 1;
    CheckDone();
}

// Returns the index of the tracked queue.
uint32_t WatchDevice(Ptr<NetDevice> dev, bool trace_depth) {
    Ptr<PointToPointNetDevice> p2p = DynamicCast<PointToPointNetDevice>(dev);
    NS_ABORT_MSG_UNLESS(p2p, "uesim: not a PointToPointNetDevice");
    Ptr<Queue<Packet>> q = p2p->GetQueue();
    uint32_t idx = g_qmax_pkts.size();
    g_qmax_pkts.push_back(0); g_qmax_bytes.push_back(0); g_qdrops.push_back(0);
    if (trace_depth) {
        q->TraceConnectWithoutContext("PacketsInQueue", MakeBoundCallback(&QPkts, idx));
        q->TraceConnectWithoutContext("BytesInQueue", MakeBoundCallback(&QBytes, idx));
    }
    q->TraceConnectWithoutContext("Drop", MakeBoundCallback(&QDrop, idx));
    return idx;
}

// Remove root queue discs where present (returns how many were removed).
uint32_t UninstallRootQdiscs(NetDeviceContainer c) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < c.GetN(); ++i) {
        Ptr<NetDevice> d = c.Get(i);
        Ptr<TrafficControlLayer> tc = d->GetNode()->GetObject<TrafficControlLayer>();
        if (tc && tc->GetRootQueueDiscOnDevice(d)) {
            tc->DeleteRootQueueDiscOnDevice(d);
            n++;
        }
    }
    return n;
}

uint32_t RootQueueDiscCount(Ptr<Node> node) {
    Ptr<TrafficControlLayer> tc = node->GetObject<TrafficControlLayer>();
    uint32_t n = 0;
    for (uint32_t i = 0; i < node->GetNDevices(); ++i) {
        if (tc && tc->GetRootQueueDiscOnDevice(node->GetDevice(i))) n++;
    }
    return n;
}

std::string QueueStats() {
    std::ostringstream o;
    for (size_t i = 0; i < g_qmax_pkts.size(); ++i) {
        o << g_qmax_pkts[i] << ' ' << g_qmax_bytes[i] << ' ' << g_qdrops[i] << '\n';
    }
    return o.str();
}

// ---------------------------------------------------------------- flow monitor
// One line per classified flow:
// src_ip dst_ip sport dport first_tx_ps last_tx_ps first_rx_ps last_rx_ps tx_packets
// rx_packets lost_packets tx_bytes rx_bytes dropped_packets
std::string FlowStats(Ptr<FlowMonitor> mon, Ptr<FlowClassifier> cls) {
    mon->CheckForLostPackets();
    Ptr<Ipv4FlowClassifier> c = DynamicCast<Ipv4FlowClassifier>(cls);
    std::ostringstream o;
    for (const auto& kv : mon->GetFlowStats()) {
        Ipv4FlowClassifier::FiveTuple t = c->FindFlow(kv.first);
        const FlowMonitor::FlowStats& s = kv.second;
        uint64_t dropped = 0;
        for (auto d : s.packetsDropped) dropped += d;
        o << t.sourceAddress.Get() << ' ' << t.destinationAddress.Get() << ' '
          << t.sourcePort << ' ' << t.destinationPort << ' '
          << s.timeFirstTxPacket.GetPicoSeconds() << ' ' << s.timeLastTxPacket.GetPicoSeconds() << ' '
          << s.timeFirstRxPacket.GetPicoSeconds() << ' ' << s.timeLastRxPacket.GetPicoSeconds() << ' '
          << s.txPackets << ' ' << s.rxPackets << ' ' << s.lostPackets << ' '
          << s.txBytes << ' ' << s.rxBytes << ' ' << dropped << '\n';
    }
    return o.str();
}
}  // namespace uesim_ns3
"""


def _ns3_prefix() -> str:
    """Directory of the installed ``ns3`` wheel (the one holding include/ns3)."""
    for entry in sys.path:
        cand = os.path.join(entry or os.getcwd(), "ns3")
        if os.path.isdir(os.path.join(cand, "include", "ns3")):
            return cand
    raise RuntimeError("ns-3 not installed: pip install 'uesim[ns3]'")


def load_ns3():
    """Load only the ns-3 modules the cross-check needs; return (cppyy.gbl.ns3, version)."""
    prefix = _ns3_prefix()
    libdir = None
    for variant in ("lib64", "lib"):
        if os.path.isdir(os.path.join(prefix, variant)):
            libdir = os.path.join(prefix, variant)
            break
    if libdir is None:
        raise RuntimeError(f"no lib/ or lib64/ under {prefix}")
    version = None
    for name in sorted(os.listdir(libdir)):
        if name.startswith("libns") and name.endswith("-core.so"):
            version = name[len("libns") : -len("-core.so")]
            break
    if version is None:
        raise RuntimeError(f"no libns*-core.so in {libdir}")

    import cppyy
    import libcppyy

    libcppyy.AddSmartPtrType("Ptr")
    cppyy.add_library_path(libdir)
    cppyy.add_include_path(os.path.join(prefix, "include"))
    # Same defines as the ns package's loader sets for the wheel's bundled
    # third-party libraries (gsl for core, sqlite3/libxml2 for stats).
    cppyy.cppdef(
        "#ifndef HAVE_GSL\n#define HAVE_GSL 1\n#endif\n"
        "#ifndef HAVE_SQLITE3\n#define HAVE_SQLITE3 1\n#endif\n"
        "#ifndef HAVE_LIBXML2\n#define HAVE_LIBXML2 1\n#endif\n"
    )
    for mod in NEEDED_HEADERS:
        cppyy.include(f"ns3/{mod}.h")
    for mod in NEEDED_LIBS:
        cppyy.load_library(f"libns{version}-{mod}.so")
    return cppyy, cppyy.gbl.ns3, version


def _edge_list(graph: dict) -> list:
    for key in ("edges", "links"):
        if key in graph:
            return graph[key]
    return []


def simulate(req: dict) -> dict:
    t_import0 = time.perf_counter()
    cppyy, ns, version = load_ns3()
    # Picosecond resolution before any Time value exists.
    ns.Time.SetResolution(ns.Time.PS)
    cppyy.cppdef(CPP_HELPERS)
    u = cppyy.gbl.uesim_ns3
    import_s = time.perf_counter() - t_import0

    t0 = time.perf_counter()
    graph = req["graph"]
    flows = req["flows"]
    payload = int(req["payload_bytes"])
    qp = req.get("queue_packets")
    qb = req.get("queue_bytes")
    stop_ps = req.get("stop_ps")
    trace_queues = bool(req.get("trace_queues", True))
    seed = int(req.get("seed", 1))
    if payload <= 0:
        raise ValueError("payload_bytes must be > 0")
    if payload + UDP_IP_BYTES > 65535:
        raise ValueError("payload_bytes too large for one UDP/IPv4 packet")

    ns.RngSeedManager.SetSeed(max(1, seed))
    ns.RngSeedManager.SetRun(1)
    ns.Config.SetDefault("ns3::Ipv4GlobalRouting::RandomEcmpRouting", ns.BooleanValue(True))

    nodes_json = graph["nodes"]
    n = len(nodes_json)
    index_of = {}
    for i, nd in enumerate(nodes_json):
        index_of[json.dumps(nd["id"], sort_keys=True)] = i
    hosts = [i for i, nd in enumerate(nodes_json) if nd.get("kind") == "gpu"]

    nodes = ns.NodeContainer()
    nodes.Create(n)
    stack = ns.InternetStackHelper()
    stack.Install(nodes)

    p2p = ns.PointToPointHelper()
    if qp is not None and qb is not None:
        raise ValueError("give queue_packets or queue_bytes, not both")
    if qb is not None:
        qsize = f"{int(qb)}B"
    else:
        qsize = f"{int(qp) if qp is not None else 100000}p"
    p2p.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", ns.QueueSizeValue(ns.QueueSize(qsize)))
    # Without a queue disc the device queue is the only queue; with flow control
    # disabled it drops tail at exactly MaxSize (otherwise traffic control stops
    # the queue early and drops above it).
    p2p.DisableFlowControl()

    addr = ns.Ipv4AddressHelper()
    addr.SetBase(ns.Ipv4Address("10.0.0.0"), ns.Ipv4Mask("255.255.255.252"))

    u.Reset(True)
    queue_keys = []  # (node index, neighbour index, link number) per tracked queue
    first_addr = {}  # node index -> Ipv4Address of its first interface
    n_links = 0
    for e in _edge_list(graph):
        if e.get("up", True) is False:
            continue
        a = index_of[json.dumps(e["source"], sort_keys=True)]
        b = index_of[json.dumps(e["target"], sort_keys=True)]
        rate = int(e["rate_bps"])
        delay = int(e["delay_ps"])
        links = int(e.get("links", 1))
        p2p.SetDeviceAttribute("DataRate", ns.DataRateValue(ns.DataRate(rate)))
        p2p.SetChannelAttribute("Delay", ns.TimeValue(ns.PicoSeconds(delay)))
        for k in range(links):
            devs = p2p.Install(nodes.Get(a), nodes.Get(b))
            ifs = addr.Assign(devs)
            addr.NewNetwork()
            # Ipv4AddressHelper::Assign installs the default FqCoDel root queue
            # disc only on devices with a NetDeviceQueueInterface, which
            # DisableFlowControl() leaves out; remove any that is there anyway
            # so packets go straight to the device's DropTail queue.
            u.UninstallRootQdiscs(devs)
            if a not in first_addr:
                first_addr[a] = ifs.GetAddress(0)
            if b not in first_addr:
                first_addr[b] = ifs.GetAddress(1)
            u.WatchDevice(devs.Get(0), trace_queues)
            u.WatchDevice(devs.Get(1), trace_queues)
            queue_keys.append((a, b, k))
            queue_keys.append((b, a, k))
            n_links += 1
    qdiscs = sum(u.RootQueueDiscCount(nodes.Get(i)) for i in range(n))
    if qdiscs:
        raise RuntimeError(f"{qdiscs} root queue discs remain installed")
    for i in range(n):
        u.WatchIpDrops(nodes.Get(i))

    ns.Ipv4GlobalRoutingHelper.PopulateRoutingTables()

    fmh = ns.FlowMonitorHelper()
    monitor = fmh.InstallAll()

    # Ports: flow j's sender socket is bound to its host's first address and an
    # ephemeral port (49152-65535, unique per node), so (src ip, sport) is
    # unique per flow and FlowMonitor's 5-tuples map back to flows.  Its
    # destination port is 1024 + j % 48000 (one sink socket per host and port).
    flow_ports = []
    flow_keys = []
    sinks = set()
    last_start = 0
    for j, f in enumerate(flows):
        src = int(f["src"])
        dst = int(f["dst"])
        if not (0 <= src < len(hosts) and 0 <= dst < len(hosts)):
            raise ValueError(f"flow {f.get('id', j)}: host index out of range (0..{len(hosts) - 1})")
        if src == dst:
            raise ValueError(f"flow {f.get('id', j)}: src == dst")
        sn, dn = hosts[src], hosts[dst]
        if dn not in first_addr or sn not in first_addr:
            raise ValueError(f"flow {f.get('id', j)}: host has no link")
        dport = 1024 + j % 48000
        if (dn, dport) not in sinks:
            u.MakeSink(nodes.Get(dn), dport)
            sinks.add((dn, dport))
        size = int(f["size_bytes"])
        rate = int(f["rate_bps"])
        start = int(f["start_ps"])
        if size <= 0 or rate <= 0 or start < 0:
            raise ValueError(f"flow {f.get('id', j)}: size_bytes, rate_bps must be > 0, start_ps >= 0")
        last_start = max(last_start, start)
        sport = int(u.MakeSender(nodes.Get(sn), first_addr[sn], first_addr[dn], dport, size,
                                 payload, HEADER_BYTES, start, rate))
        flow_ports.append((sport, dport))
        flow_keys.append((int(first_addr[sn].Get()), sport))

    cap_ps = last_start + 10 * 10**12
    stopped_at = int(stop_ps) if stop_ps is not None else cap_ps
    ns.Simulator.Stop(ns.PicoSeconds(stopped_at))
    build_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    if flows:
        ns.Simulator.Run()
    run_s = time.perf_counter() - t1
    end_ps = ns.Simulator.Now().GetPicoSeconds()
    events = int(ns.Simulator.GetEventCount())

    if u.Completed() and (stop_ps is None or u.CompletedPs() < int(stop_ps)):
        stopped_by = "complete"
    elif stop_ps is not None:
        stopped_by = "stop_ps"
    else:
        stopped_by = "cap"

    # Flow monitor -> per flow id.
    by_key = {}
    for line in str(u.FlowStats(monitor, fmh.GetClassifier())).splitlines():
        v = [int(x) for x in line.split()]
        key = (v[0], v[2])
        if key in by_key:  # should not happen; merge to be safe
            w = by_key[key]
            firsts = [min(a, b) for a, b in zip(w[4:8:2], v[4:8:2])]
            lasts = [max(a, b) for a, b in zip(w[5:8:2], v[5:8:2])]
            v = w[:4] + [firsts[0], lasts[0], firsts[1], lasts[1]] + [a + b for a, b in zip(w[8:], v[8:])]
        by_key[key] = v
    out_flows = []
    for j, f in enumerate(flows):
        v = by_key.get(flow_keys[j])
        row = {"id": f.get("id", j), "src": int(f["src"]), "dst": int(f["dst"]),
               "size_bytes": int(f["size_bytes"]), "start_ps": int(f["start_ps"]),
               "rate_bps": int(f["rate_bps"]), "sport": flow_ports[j][0], "dport": flow_ports[j][1]}
        if v is None:
            row.update(first_tx_ps=None, last_tx_ps=None, first_rx_ps=None, last_rx_ps=None,
                       fct_ps=None, tx_packets=0, rx_packets=0, lost_packets=0, tx_bytes=0,
                       rx_bytes=0, dropped_packets=0)
        else:
            (_, _, _, _, ftx, ltx, frx, lrx, txp, rxp, lost, txb, rxb, drp) = v
            row.update(first_tx_ps=ftx, last_tx_ps=ltx,
                       first_rx_ps=frx if rxp else None, last_rx_ps=lrx if rxp else None,
                       fct_ps=(lrx - int(f["start_ps"])) if rxp else None,
                       tx_packets=txp, rx_packets=rxp, lost_packets=lost, tx_bytes=txb,
                       rx_bytes=rxb, dropped_packets=drp)
        out_flows.append(row)

    queues = []
    qstats = str(u.QueueStats()).splitlines()
    for (a, b, k), line in zip(queue_keys, qstats):
        mp, mb, dr = (int(x) for x in line.split())
        queues.append({"node": a, "neighbor": b, "link": k, "max_packets": mp,
                       "max_bytes": mb, "drops": dr})

    counters = {"sent": int(u.Sent()), "send_fail": int(u.SendFail()),
                "received": int(u.Received()), "queue_drops": int(u.QueueDrops()),
                "ip_drops": int(u.IpDrops())}
    ns.Simulator.Destroy()
    wall_s = time.perf_counter() - t0
    return {
        "flows": out_flows,
        "queues": queues,
        "wall_s": wall_s,
        "build_s": build_s,
        "run_s": run_s,
        "import_s": import_s,
        "events": events,
        "end_ps": end_ps,
        "stopped_by": stopped_by,
        "header_bytes": HEADER_BYTES,
        "ns3_version": version,
        "n_links": n_links,
        "counters": counters,
    }


def main() -> int:
    # Keep stdout for the JSON result only: everything written to fd 1 from
    # here on (cling/ns-3 warnings, stray prints) lands on stderr.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    req = json.load(sys.stdin)
    res = simulate(req)
    data = json.dumps(res).encode()
    with os.fdopen(out_fd, "wb") as out:
        out.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
