#!/usr/bin/env python3
"""A link emulator in user space: two TUN devices and a forwarder between
them with a rate, a one-way delay, random loss and a bounded queue (tail
drop), since this kernel has no netem.

    link.py --up-mbit 50 --rtt-ms 80 --loss 0.005 CLIENT_NS SERVER_NS

makes tun devices `lnkc` in CLIENT_NS (10.77.0.1) and `lnks` in SERVER_NS
(10.77.0.2), prints "ready", and forwards until killed. The rate applies
client to server (the uplink under test); the answers go at --down-mbit.
Loss applies to each packet in both directions; each direction carries
half the round trip. The uplink's queue holds two bandwidth-delay products
(at least 64 KiB): cellular links buffer deeply (bufferbloat), and one
would hold less than a loss-based flow's own window at its peak.
"""
import argparse
import collections
import fcntl
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000


def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def sh(*cmd):
    subprocess.run(cmd, check=True)


class Direction:
    """One way of the link: a bottleneck queue, then a delay line."""

    def __init__(self, out_fd, rate_bps, delay, loss, limit):
        self.out_fd, self.rate, self.delay, self.loss, self.limit = out_fd, rate_bps, delay, loss, limit
        self.queue, self.queued = collections.deque(), 0
        self.line = collections.deque()
        self.free_at = 0.0
        self.dropped = self.lost = self.passed = 0

    def arrive(self, pkt):
        if random.random() < self.loss:
            self.lost += 1
        elif self.queued + len(pkt) > self.limit:
            self.dropped += 1
        else:
            self.queue.append(pkt)
            self.queued += len(pkt)

    def run(self, now):
        """Moves what the link has sent on, delivers what arrived; the
        time of the next event, or None."""
        # Packets leave the queue as the link frees (a millisecond's
        # burst at most, to spare the loop wake-ups).
        while self.queue and self.free_at <= now + 0.001:
            pkt = self.queue.popleft()
            self.queued -= len(pkt)
            start = max(self.free_at, now - 0.001)
            self.free_at = start + (len(pkt) * 8 / self.rate if self.rate else 0)
            self.line.append((self.free_at + self.delay, pkt))
        while self.line and self.line[0][0] <= now:
            _, pkt = self.line.popleft()
            try:
                os.write(self.out_fd, pkt)
                self.passed += 1
            except BlockingIOError:
                self.dropped += 1
        nxt = [t for t in (self.queue and self.free_at - 0.001, self.line and self.line[0][0]) if t]
        return min(nxt) if nxt else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--up-mbit", type=float, required=True)
    p.add_argument("--down-mbit", type=float, default=0, help="0: the uplink's rate x 4")
    p.add_argument("--rtt-ms", type=float, required=True)
    p.add_argument("--loss", type=float, default=0.0)
    p.add_argument("--mtu", type=int, default=1500)
    p.add_argument("client_ns")
    p.add_argument("server_ns")
    a = p.parse_args()
    up = a.up_mbit * 1e6
    down = (a.down_mbit or a.up_mbit * 4) * 1e6
    one_way = a.rtt_ms / 2000
    limit = max(64 << 10, int(2 * up / 8 * a.rtt_ms / 1000))
    fc, fs = tun("lnkc"), tun("lnks")
    for dev, ns, me, peer in (("lnkc", a.client_ns, "10.77.0.1", "10.77.0.2"),
                              ("lnks", a.server_ns, "10.77.0.2", "10.77.0.1")):
        sh("ip", "link", "set", dev, "netns", ns)
        sh("ip", "-n", ns, "addr", "add", me, "peer", peer, "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "mtu", str(a.mtu), "up")
    dirs = {fc: Direction(fs, up, one_way, a.loss, limit),
            fs: Direction(fc, down, one_way, a.loss, limit * 4)}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    poller = select.epoll()
    for fd in dirs:
        poller.register(fd, select.EPOLLIN)
    timeout = -1
    try:
        while True:
            for fd, _ in poller.poll(timeout):
                d = dirs[fd]
                for _ in range(64):
                    try:
                        d.arrive(os.read(fd, 65536))
                    except BlockingIOError:
                        break
            now = time.monotonic()
            times = [t for t in (d.run(now) for d in dirs.values()) if t is not None]
            timeout = max(0.0, min(times) - time.monotonic()) if times else -1
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        u = dirs[fc]
        print(f"uplink: {u.passed} passed, {u.lost} lost, {u.dropped} dropped at the queue", file=sys.stderr)


if __name__ == "__main__":
    main()
