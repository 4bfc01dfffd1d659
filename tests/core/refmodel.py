"""A tiny pure-Python reference model of the data plane and the window transport.

It shares nothing with the compiled engine but the topology's port list and
forwarding tables (routing is not what it checks).  It re-implements, in plain
Python: the event queue (heapq on (time, seq)), FIFO egress ports with drop-tail
(occupancy = bytes not yet fully serialised), store-and-forward links, the per-switch
ECMP hash, the load balancers' random streams, and the fixed-window transport with
one ACK per packet, and the host NIC that pulls one packet at a time from the
flows with data, round robin, when the port it last sent on has drained.  Given the same
inputs it must give identical per-flow times.
"""
import heapq
from collections import deque

M64 = (1 << 64) - 1


def mix_hash(flow, entropy, salt):
    x = (flow * 0x9E3779B97F4A7C15 + entropy * 0xC2B2AE3D27D4EB4F + salt) & M64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    x ^= x >> 31
    return x


class XorShift:
    def __init__(self, seed):
        self.x = (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & M64 or 1

    def rand32(self):
        x = self.x
        x ^= x >> 12
        x = (x ^ (x << 25)) & M64
        x ^= x >> 27
        self.x = x
        return ((x * 0x2545F4914F6CDD1D) & M64) >> 32


def oblivious_values(seed, n_paths):
    rng = XorShift(seed)
    values = list(range(n_paths))
    for i in range(n_paths - 1, 0, -1):
        j = rng.rand32() % (i + 1)
        values[i], values[j] = values[j], values[i]
    return values


class RefModel:
    def __init__(self, built, seed):
        net = built.net
        c = net.port_counters()
        self.peer = list(c["peer"])
        self.rate = list(c["rate_bps"])
        self.delay = list(c["delay_ps"])
        self.buffer = list(c["buffer_bytes"])
        self.busy = [0] * net.n_ports
        self.held = [[] for _ in range(net.n_ports)]    # [finish, size] oldest first
        self.host_of = {n: net.host_of_node(n) for n in range(net.n_nodes)}
        self.node_of = [net.node_of_host(h) for h in range(net.n_hosts)]
        self.hops = {}
        for node in range(net.n_nodes):
            for dst in range(net.n_hosts):
                self.hops[node, dst] = net.next_hops(node, dst)
        self.salt = [mix_hash(i, seed, 0x5851F42D4C957F2D) for i in range(net.n_nodes)]
        self.events, self.seq, self.now = [], 0, 0
        self.drops = 0
        self.nic_port = [None] * net.n_hosts
        self.ready = [deque() for _ in range(net.n_hosts)]
        self.pending = [False] * net.n_hosts

    # the host NIC: flows with data wait in a round-robin ring
    def nic_free_at(self, host):
        port = self.nic_port[host]
        return self.now if port is None else self.busy[port]

    def nic_ready(self, flow, host):
        if flow not in self.ready[host]:
            self.ready[host].append(flow)
        if not self.pending[host]:
            if self.nic_free_at(host) <= self.now:
                self.nic_pull(host)
            else:
                self.pending[host] = True
                self.at(self.nic_free_at(host), self.nic_event, host)

    def nic_event(self, host):
        self.pending[host] = False
        self.nic_pull(host)

    def nic_pull(self, host):
        ring = self.ready[host]
        while ring:
            flow = ring.popleft()
            pkt = flow.pull()
            if pkt is None:
                continue
            if flow.next_seq() is not None:
                ring.append(flow)
            self.nic_port[host] = self.forward(self.node_of[host], pkt)
            break
        if ring:
            self.pending[host] = True
            self.at(max(self.nic_free_at(host), self.now), self.nic_event, host)

    def at(self, t, fn, *args):
        heapq.heappush(self.events, (t, self.seq, fn, args))
        self.seq += 1

    def run(self):
        while self.events:
            self.now, _, fn, args = heapq.heappop(self.events)
            fn(*args)

    def tx_time(self, size, rate):
        return -(-size * 8 * 10**12 // rate)

    def forward(self, node, pkt):
        hops = self.hops[node, pkt["dst"]]
        port = hops[0] if len(hops) == 1 else hops[mix_hash(pkt["flow"], pkt["entropy"], self.salt[node]) % len(hops)]
        held = self.held[port]
        while held and held[0][0] <= self.now:
            held.pop(0)
        if sum(s for _, s in held) + pkt["size"] > self.buffer[port]:
            self.drops += 1
            return None
        start = max(self.now, self.busy[port])
        finish = start + self.tx_time(pkt["size"], self.rate[port])
        self.busy[port] = finish
        held.append((finish, pkt["size"]))
        self.at(finish + self.delay[port], self.arrive, self.peer[port], pkt)
        return port

    def arrive(self, node, pkt):
        host = self.host_of[node]
        if host < 0:
            self.forward(node, pkt)
        else:
            pkt["flow_obj"].receive(pkt)


class RefFlow:
    def __init__(self, model, fid, src, dst, size, start, cwnd, entropies, mtu, header, ack):
        self.m, self.id, self.src, self.dst, self.size = model, fid, src, dst, size
        self.cwnd, self.mtu, self.header, self.ack = cwnd, mtu, header, ack
        self.per = mtu - header
        self.n = -(-size // self.per)
        self.entropies, self.e_pos = entropies, 0
        self.next, self.inflight, self.acked = 0, 0, set()
        self.received = set()
        self.start, self.end, self.rx_done = start, None, None
        model.at(start, self.try_send)

    def payload(self, seq):
        return self.size - seq * self.per if seq == self.n - 1 else self.per

    def next_seq(self):
        if self.next >= self.n:
            return None
        wire = self.header + self.payload(self.next)
        if self.inflight > 0 and self.inflight + wire > self.cwnd:
            return None
        return self.next

    def try_send(self):
        if self.next_seq() is not None:
            self.m.nic_ready(self, self.src)

    def pull(self):
        if self.next_seq() is None:
            return None
        wire = self.header + self.payload(self.next)
        e = self.entropies[self.e_pos % len(self.entropies)]
        self.e_pos += 1
        pkt = {"kind": "data", "flow": self.id, "src": self.src, "dst": self.dst,
               "seq": self.next, "size": wire, "entropy": e, "flow_obj": self}
        self.next += 1
        self.inflight += wire
        return pkt

    def receive(self, pkt):
        if pkt["kind"] == "data":
            self.received.add(pkt["seq"])
            if len(self.received) == self.n and self.rx_done is None:
                self.rx_done = self.m.now
            pkt.update(kind="ack", src=self.dst, dst=self.src, size=self.ack)
            self.m.forward(self.m.node_of[self.dst], pkt)
            return
        seq = pkt["seq"]
        if seq in self.acked:
            return
        self.acked.add(seq)
        self.inflight -= self.header + self.payload(seq)
        if len(self.acked) == self.n:
            self.end = self.m.now
            return
        self.try_send()
