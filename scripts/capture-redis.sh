#!/usr/bin/env bash
# Capture real Redis traffic on loopback for lockstep's golden tests.
#
# Usage: scripts/capture-redis.sh OUT_DIR [--requests N] [--full] [--big BYTES]
#                                  [--iface lo|any] [--snaplen N]
#
# Starts a throwaway redis-server (no persistence, no config file) on a free
# loopback port, captures its traffic with tcpdump while running a pipelined
# redis-benchmark workload plus a handful of redis-cli commands with varied
# reply types, then writes:
#   OUT_DIR/capture.pcap       the capture (tcp port P on lo)
#   OUT_DIR/commandstats.txt   INFO commandstats, taken after capture stopped
#   OUT_DIR/versions.txt       redis-server / redis_version / tcpdump versions
#   OUT_DIR/port.txt           the server port (for analyze --ports)
#
# --full adds what the lossless view must get right: pipelining 64 deep,
# 20 KB values, inline commands (redis-benchmark -t ping_inline), and
# scripts/redis-workload.py's raw RESP: RESP3 with CLIENT TRACKING pushes,
# pub/sub in RESP2 and RESP3, MONITOR, inline commands, *0 and *-1 requests,
# short connections reusing one client port. --big BYTES adds a SET and GET
# of a BYTES-long value (over 10 MiB: the RESP limit). --iface any captures
# on Linux's any device (link type SLL); --snaplen N cuts packets at N bytes
# (tcpdump -s 96: truncated payloads, which lockstep must warn about).
# Every command the server executes is sent while tcpdump is capturing, so the
# commandstats are exact ground truth for the requests in the capture (except
# the deliberately unknown command, which Redis counts only in errorstats).
# The script fails if tcpdump reports kernel drops or the end-of-workload
# marker (ECHO lockstep-capture-end) is missing from the capture.
# Background processes are always cleaned up on exit.
set -euo pipefail

usage() {
  echo "usage: $0 OUT_DIR [--requests N] [--full] [--big BYTES] [--iface lo|any] [--snaplen N]" >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
OUT_DIR=$1
shift
REQUESTS=2000
FULL=0
BIG_VALUE=0
IFACE=lo
SNAPLEN=262144
while [[ $# -gt 0 ]]; do
  case $1 in
    --full)
      FULL=1
      shift
      ;;
    --big)
      [[ $# -ge 2 ]] || usage
      BIG_VALUE=$2
      FULL=1
      shift 2
      ;;
    --iface)
      [[ $# -ge 2 ]] || usage
      IFACE=$2
      shift 2
      ;;
    --snaplen)
      [[ $# -ge 2 ]] || usage
      SNAPLEN=$2
      shift 2
      ;;
    --requests)
      [[ $# -ge 2 ]] || usage
      REQUESTS=$2
      shift 2
      ;;
    --requests=*)
      REQUESTS=${1#--requests=}
      shift
      ;;
    -h | --help) usage ;;
    *)
      echo "unknown argument: $1" >&2
      usage
      ;;
  esac
done
[[ $REQUESTS =~ ^[1-9][0-9]*$ ]] || {
  echo "--requests must be a positive integer, got '$REQUESTS'" >&2
  exit 2
}

[[ $BIG_VALUE =~ ^[0-9]+$ && $SNAPLEN =~ ^[1-9][0-9]*$ && ($IFACE == lo || $IFACE == any) ]] || {
  echo "--big takes a byte count, --snaplen a positive integer, --iface lo or any" >&2
  exit 2
}
TOOLS="redis-server redis-cli redis-benchmark tcpdump capinfos"
[[ $FULL == 1 ]] && TOOLS="$TOOLS python3"
for tool in $TOOLS; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "required tool not found in PATH: $tool" >&2
    exit 1
  }
done

mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/capture-redis.XXXXXX")

REDIS_PID=""
TCPDUMP_PID=""
PORT=""

# Waits up to 5 s for PID (already asked to stop) to exit, then kills it.
reap() {
  for _ in $(seq 1 50); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

cleanup() {
  local rc=$?
  set +e
  if [[ -n $TCPDUMP_PID ]] && kill -0 "$TCPDUMP_PID" 2>/dev/null; then
    kill -INT "$TCPDUMP_PID" 2>/dev/null
    reap "$TCPDUMP_PID"
  fi
  if [[ -n $REDIS_PID ]] && kill -0 "$REDIS_PID" 2>/dev/null; then
    redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1
    reap "$REDIS_PID"
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# True when nothing listens on TCP port $1 (uses ss; falls back to a bash
# /dev/tcp connect attempt to 127.0.0.1 when ss is not installed).
port_is_free() {
  if command -v ss >/dev/null 2>&1; then
    ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .
  else
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

pick_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 20001))
    if port_is_free "$p"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# Start redis-server; retry with another port if it fails to bind (race with
# another process grabbing the port between the check and the bind).
#
# Readiness is first checked without sending any command (wait until the port
# is LISTENing), so that every command the server ever executes happens while
# tcpdump is capturing: INFO commandstats is then exact ground truth for the
# capture (a PING sent before the capture would be counted but not captured,
# and CONFIG RESETSTAT counts itself).
for attempt in 1 2 3 4 5; do
  PORT=$(pick_port) || {
    echo "could not find a free port" >&2
    exit 1
  }
  redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --loglevel warning >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  up=0
  for _ in $(seq 1 100); do
    if ! kill -0 "$REDIS_PID" 2>/dev/null; then
      break
    fi
    if ! port_is_free "$PORT"; then
      up=1
      break
    fi
    sleep 0.05
  done
  [[ $up == 1 ]] && break
  echo "redis-server did not come up on port $PORT (attempt $attempt):" >&2
  cat "$WORK/redis.log" >&2 || true
  kill -KILL "$REDIS_PID" 2>/dev/null || true
  wait "$REDIS_PID" 2>/dev/null || true
  REDIS_PID=""
done
[[ -n $REDIS_PID ]] || {
  echo "giving up starting redis-server" >&2
  exit 1
}

# Start tcpdump and wait until it is really capturing. It writes into the
# private work dir (tcpdump may drop privileges and would own the file); the
# pcap is copied to OUT_DIR once complete.
PCAP="$OUT_DIR/capture.pcap"
rm -f "$PCAP"
# --immediate-mode matters: without it libpcap (TPACKET_V3) hands packets over
# in blocks after a ~1 s timeout, and the last, not yet retired block is lost
# when tcpdump is stopped, silently truncating the end of the workload.
# Immediate mode uses a TPACKET_V2 ring with one snaplen-sized slot per packet,
# so the default 2 MB buffer only holds ~8 packets of 256 KiB and bursts of
# pipelined traffic get dropped by the kernel: hence the 64 MiB buffer (-B).
tcpdump -i "$IFACE" --immediate-mode -U -s "$SNAPLEN" -B 65536 -w "$WORK/capture.pcap" "tcp port $PORT" \
  2>"$WORK/tcpdump.err" &
TCPDUMP_PID=$!
listening=0
for _ in $(seq 1 100); do
  if grep -q "listening on $IFACE" "$WORK/tcpdump.err" 2>/dev/null; then
    listening=1
    break
  fi
  if ! kill -0 "$TCPDUMP_PID" 2>/dev/null; then
    break
  fi
  sleep 0.05
done
if [[ $listening != 1 ]]; then
  echo "tcpdump did not start capturing:" >&2
  cat "$WORK/tcpdump.err" >&2 || true
  exit 1
fi
sleep 0.3

# Wait until the server answers PING (these PINGs are captured and counted).
pong=0
for _ in $(seq 1 100); do
  if [[ $(redis-cli -p "$PORT" ping 2>/dev/null || true) == PONG ]]; then
    pong=1
    break
  fi
  kill -0 "$REDIS_PID" 2>/dev/null || break
  sleep 0.05
done
if [[ $pong != 1 ]]; then
  echo "redis-server on port $PORT never answered PONG:" >&2
  cat "$WORK/redis.log" >&2 || true
  exit 1
fi

# ---- workload ---------------------------------------------------------------
rcli() {
  redis-cli -p "$PORT" "$@" >/dev/null
}

redis-benchmark -p "$PORT" -n "$REQUESTS" -c 4 -P 16 -t set,get,incr,lpush,lpop -d 16 -q \
  >"$WORK/benchmark.out" 2>&1 || {
  echo "redis-benchmark failed:" >&2
  cat "$WORK/benchmark.out" >&2
  exit 1
}

if [[ $FULL == 1 ]]; then
  # pipelining 64 deep; 20 KB values; inline PING (redis-benchmark's PING_INLINE)
  redis-benchmark -p "$PORT" -n "$REQUESTS" -c 4 -P 64 -t set,get,incr,lpush,lpop -d 16 -q >>"$WORK/benchmark.out" 2>&1 &&
    redis-benchmark -p "$PORT" -n 50 -c 2 -P 8 -t set,get -d 20000 -q >>"$WORK/benchmark.out" 2>&1 &&
    redis-benchmark -p "$PORT" -n 300 -c 2 -P 16 -t ping_inline -q >>"$WORK/benchmark.out" 2>&1 || {
    echo "redis-benchmark failed:" >&2
    cat "$WORK/benchmark.out" >&2
    exit 1
  }
  big_args=()
  [[ $BIG_VALUE -gt 0 ]] && big_args=(--big "$BIG_VALUE")
  python3 "$(dirname "$0")/redis-workload.py" "$PORT" "${big_args[@]}" || {
    echo "scripts/redis-workload.py failed" >&2
    exit 1
  }
fi

END_MARKER=lockstep-capture-end
BIG=$(head -c 3000 /dev/zero | tr '\0' 'x')
rcli SET lockstep:str hello                          # +OK
rcli GET lockstep:str                                # bulk string
rcli GET lockstep:missing                            # nil bulk
rcli LLEN lockstep:str || true                       # -WRONGTYPE
rcli LOCKSTEPNOSUCHCOMMAND foo || true               # -ERR unknown command
rcli INCR lockstep:counter                           # :1
rcli DEL lockstep:counter                            # :1
rcli MGET lockstep:str lockstep:missing lockstep:str # array with a nil
rcli RPUSH lockstep:list a b c                       # :3
rcli LRANGE lockstep:list 0 -1                       # array
rcli HSET lockstep:hash f1 v1 f2 v2                  # :2
rcli HGETALL lockstep:hash                           # array (RESP2 map)
rcli SET lockstep:big "$BIG"                         # +OK, 3 KB request
rcli GET lockstep:big                                # 3 KB bulk reply
rcli PING                                            # +PONG
rcli ECHO "$END_MARKER"                              # bulk; end-of-workload marker

sleep 1

# ---- stop the capture -------------------------------------------------------
kill -INT "$TCPDUMP_PID"
wait "$TCPDUMP_PID" || true
TCPDUMP_PID=""
if ! grep -q "packets captured" "$WORK/tcpdump.err"; then
  echo "tcpdump did not report a clean stop:" >&2
  cat "$WORK/tcpdump.err" >&2
  exit 1
fi
echo "tcpdump: $(grep -E 'captured|received|dropped' "$WORK/tcpdump.err" | paste -sd ';' -)" >&2
if grep -Eq "^[1-9][0-9]* packets? dropped by kernel" "$WORK/tcpdump.err"; then
  echo "tcpdump reports kernel drops; the capture is incomplete" >&2
  exit 1
fi
# The end marker must be in the capture twice (ECHO request and its reply),
# otherwise the tail of the workload was lost.
markers=$(tcpdump -r "$WORK/capture.pcap" -A 2>/dev/null | grep -c -- "$END_MARKER" || true)
# (A short --snaplen cuts the marker itself: then only tcpdump's drop count is checked.)
if [[ $markers -lt 2 && $SNAPLEN -ge 65535 ]]; then
  echo "end marker seen $markers time(s) in the capture, expected 2: capture truncated" >&2
  exit 1
fi
cp "$WORK/capture.pcap" "$PCAP"

# ---- server-side ground truth (after the capture stopped) -------------------
# (INFO itself is only counted after its reply is built, so it does not appear.)
{
  redis-cli -p "$PORT" INFO commandstats | tr -d '\r'
  echo
} | sed '/^$/d' >"$OUT_DIR/commandstats.txt"
{
  redis-server --version
  redis-cli -p "$PORT" INFO server | tr -d '\r' | grep '^redis_version'
  tcpdump --version 2>&1 | head -n 1
} >"$OUT_DIR/versions.txt"
echo "$PORT" >"$OUT_DIR/port.txt"

redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
wait "$REDIS_PID" 2>/dev/null || true
REDIS_PID=""

PACKETS=$(capinfos -c -M "$PCAP" | awk -F: '/Number of packets/ { gsub(/[^0-9]/, "", $2); print $2 }')
SIZE=$(stat -c %s "$PCAP")
echo "port: $PORT"
echo "packets: $PACKETS"
echo "size: $SIZE bytes"
echo "output: $OUT_DIR"
