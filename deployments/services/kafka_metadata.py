#!/usr/bin/env python3
"""Kafka health check without a JVM: one Metadata (v4) round trip to a broker.

Usage: kafka_metadata.py HOST:PORT [TIMEOUT_SECONDS]
Exit 0 and print "cluster=<id> controller=<id> brokers=<id>@<host>:<port>,..." when the broker
answers with at least one broker and a controller; exit 1 with the reason on stderr otherwise.
Wire format: Kafka protocol guide, Metadata request/response v4 (non-flexible, request header v1).
"""
import socket
import struct
import sys


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf += chunk
    return buf


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        size = struct.calcsize(fmt)
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s


def metadata(host, port, timeout):
    client_id = b"otklik-health"
    # header v1: api_key=3 (Metadata), api_version=4, correlation_id, client_id
    # body v4: topics=[] (none), allow_auto_topic_creation=false
    body = struct.pack(">hhih", 3, 4, 7, len(client_id)) + client_id + struct.pack(">ib", 0, 0)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", read_exact(sock, 4))[0]
        r = Reader(read_exact(sock, size))
    if r.take(">i") != 7:
        raise ValueError("correlation id mismatch")
    r.take(">i")  # throttle_time_ms
    brokers = []
    for _ in range(r.take(">i")):
        node_id, bhost, bport = r.take(">i"), r.string(), r.take(">i")
        r.string()  # rack
        brokers.append(f"{node_id}@{bhost}:{bport}")
    cluster_id = r.string()
    controller = r.take(">i")
    return cluster_id, controller, brokers


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    host, _, port = sys.argv[1].rpartition(":")
    timeout = float(sys.argv[2]) if len(sys.argv) == 3 else 5.0
    try:
        cluster_id, controller, brokers = metadata(host or "127.0.0.1", int(port), timeout)
    except (OSError, ValueError, struct.error) as e:
        print(f"kafka metadata request to {sys.argv[1]} failed: {e}", file=sys.stderr)
        return 1
    if not brokers or controller < 0:
        print(f"kafka at {sys.argv[1]} not ready: brokers={brokers} controller={controller}",
              file=sys.stderr)
        return 1
    print(f"cluster={cluster_id} controller={controller} brokers={','.join(brokers)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
