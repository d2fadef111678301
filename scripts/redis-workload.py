#!/usr/bin/env python3
"""The raw-socket part of scripts/capture-redis.sh's --full workload.

Usage: redis-workload.py PORT [--big BYTES]

Speaks RESP by hand where redis-cli cannot: RESP3 (HELLO 3) with CLIENT
TRACKING invalidation pushes, pub/sub in RESP2 and RESP3 (SUBSCRIBE of several
channels, PUBLISH from another client, UNSUBSCRIBE with and without names),
MONITOR, inline commands, *0 and *-1 requests, short connections reusing one
client port (closed with RST, so no TIME_WAIT keeps the port), and with --big a
value larger than the 10 MiB RESP limit (SET, then GET). Every request waits
for what the server sends back, so the capture holds each reply.
"""
import socket
import struct
import sys
import time

PORT = int(sys.argv[1])
BIG = int(sys.argv[sys.argv.index('--big') + 1]) if '--big' in sys.argv else 0


def cmd(*words):
    out = b'*%d\r\n' % len(words)
    for w in words:
        w = w if isinstance(w, bytes) else str(w).encode()
        out += b'$%d\r\n%s\r\n' % (len(w), w)
    return out


def connect(src_port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if src_port:
            s.bind(('127.0.0.1', src_port))
        s.connect(('127.0.0.1', PORT))
    except OSError:
        s.close()
        raise
    return s


def expect(s, marker, timeout=10.0):
    """Reads until `marker` (bytes) has arrived; returns everything read."""
    s.settimeout(timeout)
    data = b''
    while marker not in data:
        chunk = s.recv(1 << 20)
        if not chunk:
            raise SystemExit('connection closed while waiting for %r' % marker)
        data += chunk
    return data


def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()


# RESP3 with client tracking: GET k, another client's SET k sends an invalidate push
a = connect()
a.sendall(cmd('HELLO', 3)); expect(a, b'modules')
a.sendall(cmd('CLIENT', 'TRACKING', 'on')); expect(a, b'+OK\r\n')
a.sendall(cmd('GET', 'lockstep:tracked')); expect(a, b'\r\n')
b = connect()
b.sendall(cmd('SET', 'lockstep:tracked', 'v2')); expect(b, b'+OK\r\n')
expect(a, b'invalidate')
a.sendall(cmd('GET', 'lockstep:tracked')); expect(a, b'v2\r\n')

# RESP3 pub/sub: three confirmations, a message, UNSUBSCRIBE of all and of none
a.sendall(cmd('SUBSCRIBE', 'ch1', 'ch2', 'ch3')); expect(a, b'ch3\r\n:3\r\n')
a.sendall(cmd('PSUBSCRIBE', 'pat*')); expect(a, b':4\r\n')
b.sendall(cmd('PUBLISH', 'ch2', 'hello')); expect(b, b':1\r\n')
expect(a, b'hello\r\n')
b.sendall(cmd('PUBLISH', 'pattern', 'p-hello')); expect(b, b':1\r\n')
expect(a, b'p-hello\r\n')
a.sendall(cmd('PING')); expect(a, b'+PONG\r\n')
a.sendall(cmd('UNSUBSCRIBE')); expect(a, b':1\r\n')
a.sendall(cmd('UNSUBSCRIBE')); data = expect(a, b'_\r\n:1\r\n')
a.sendall(cmd('PUNSUBSCRIBE', 'pat*')); expect(a, b':0\r\n')
a.close()

# RESP2 pub/sub: confirmations and messages are plain arrays
r2 = connect()
r2.sendall(cmd('SUBSCRIBE', 'ch1', 'ch2')); expect(r2, b'ch2\r\n:2\r\n')
b.sendall(cmd('PUBLISH', 'ch1', 'subscribe')); expect(b, b':1\r\n')
expect(r2, b'$7\r\nmessage\r\n$3\r\nch1\r\n$9\r\nsubscribe\r\n')
r2.sendall(cmd('PING')); expect(r2, b'pong\r\n$0\r\n\r\n')
r2.sendall(cmd('UNSUBSCRIBE', 'ch1', 'ch2')); expect(r2, b':0\r\n')
r2.sendall(cmd('GET', 'lockstep:tracked')); expect(r2, b'v2\r\n')
r2.close()

# MONITOR: the feed of what another client runs answers no request
m = connect()
m.sendall(cmd('MONITOR')); expect(m, b'+OK\r\n')
b.sendall(cmd('SET', 'lockstep:monitored', 1)); expect(b, b'+OK\r\n')
b.sendall(cmd('INCR', 'lockstep:monitored')); expect(b, b':2\r\n')
expect(m, b'"INCR"')
m.close()

# inline commands, *0 and *-1 (no reply), on one connection
i = connect()
i.sendall(b'PING\r\n'); expect(i, b'+PONG\r\n')
i.sendall(b'SET lockstep:inline "a b"\r\n'); expect(i, b'+OK\r\n')
i.sendall(b'*0\r\n*-1\r\nGET lockstep:inline\r\n'); expect(i, b'a b\r\n')
i.sendall(cmd('ECHO', 'after-inline')); expect(i, b'after-inline\r\n')
i.close()

# several short connections from one client port (RST close: no TIME_WAIT). Another process on
# the machine may be handed that ephemeral port meanwhile: then start again from a new one
def reuse_one_port(key):
    probe = connect()
    reused = probe.getsockname()[1]
    probe.sendall(cmd('PING')); expect(probe, b'+PONG\r\n')
    rst_close(probe)
    for n in range(4):
        for attempt in range(20):
            try:
                c = connect(reused)
                break
            except OSError:
                time.sleep(0.05)
        else:
            return False
        c.sendall(cmd('INCR', key)); expect(c, b':%d\r\n' % (n + 1))
        rst_close(c)
    return True


for round_ in range(10):
    if reuse_one_port('lockstep:reused:%d' % round_):
        break
else:
    raise SystemExit('could not reuse a client port in 10 tries')

if BIG:
    g = connect()
    g.sendall(cmd('SET', 'lockstep:huge', b'h' * BIG)); expect(g, b'+OK\r\n', 60)
    g.sendall(cmd('GET', 'lockstep:huge')); expect(g, b'h\r\n', 60)
    g.sendall(cmd('STRLEN', 'lockstep:huge')); expect(g, b':%d\r\n' % BIG)
    g.close()
b.close()
