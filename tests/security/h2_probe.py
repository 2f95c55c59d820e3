#!/usr/bin/env python3
"""Raw HTTP/2 probes against a running keygate-server (manual; not in ctest).

gRPC clients cannot send what these send: frames that never finish a call,
streams reset right after they open, headers gRPC itself would refuse. Used
for the measurements in docs/reliability.md ("Fuzzing, sanitizers, hostile
input, authorization matrix").

  python3 tests/security/h2_probe.py --port 50051 rapid-reset --streams 100000
  python3 tests/security/h2_probe.py --port 50051 open-streams --streams 20000
  python3 tests/security/h2_probe.py --port 50051 bad-headers
  add --pid <server pid> to report the server's resident memory before/after,
  and --ack-settings to behave like a well-behaved client (ACK the server's
  SETTINGS, so that its MAX_CONCURRENT_STREAMS applies).

Standard library only; plaintext h2c (a server started without TLS).
"""
import argparse
import socket
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADERS, RST_STREAM, SETTINGS, CONTINUATION = 0x1, 0x3, 0x4, 0x9
END_HEADERS, ACK = 0x4, 0x1
CANCEL = 0x8


def hpack_int(value, prefix_bits, flags=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([flags | value])
    out = bytearray([flags | limit])
    value -= limit
    while value >= 128:
        out.append((value % 128) + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def literal(name, value):
    """An HPACK literal header field without indexing, new name, no Huffman."""
    return b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value


def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def request_headers(path=b"/keygate.v1.Authorizer/Authorize", extra=()):
    fields = [(b":method", b"POST"), (b":scheme", b"http"), (b":path", path),
              (b":authority", b"keygate"), (b"content-type", b"application/grpc"),
              (b"te", b"trailers")] + list(extra)
    return b"".join(literal(n, v) for n, v in fields)


def rss_mb(pid):
    if pid is None:
        return None
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return None


def connect(args):
    sock = socket.create_connection((args.host, args.port))
    sock.sendall(PREFACE + frame(SETTINGS, 0, 0, b""))
    if args.ack_settings:
        sock.sendall(frame(SETTINGS, ACK, 0, b""))
        time.sleep(0.2)
    return sock


def drain(sock, seconds):
    sock.settimeout(seconds)
    received = 0
    try:
        while True:
            data = sock.recv(1 << 20)
            if not data:
                break
            received += len(data)
    except (socket.timeout, ConnectionError):
        pass
    return received


def streams(args, reset):
    sock = connect(args)
    block = request_headers()
    before, start = rss_mb(args.pid), time.time()
    buffer, stream = bytearray(), 1
    try:
        for _ in range(args.streams):
            buffer += frame(HEADERS, END_HEADERS, stream, block)
            if reset:
                buffer += frame(RST_STREAM, 0, stream, struct.pack(">I", CANCEL))
            stream += 2
            if len(buffer) > (1 << 20):
                sock.sendall(buffer)
                buffer = bytearray()
        sock.sendall(buffer)
        outcome = "all frames sent"
    except (BrokenPipeError, ConnectionResetError):
        outcome = "server closed the connection"
    elapsed = time.time() - start
    time.sleep(1)
    during = rss_mb(args.pid)
    sock.close()
    time.sleep(2)
    print(f"{'rapid-reset' if reset else 'open-streams'}: {args.streams} streams in {elapsed:.1f}s, "
          f"{outcome}; server RSS {before} MB -> {during} MB, {rss_mb(args.pid)} MB after close")


def bad_headers(args):
    # Header sequences from gRPC C++ advisories (e.g. CVE-2023-1428: an
    # invalid `te`/`:scheme`/`grpclb_client_stats` plus >8 KiB of headers),
    # and an oversized header block split over CONTINUATION frames.
    pad = [(b"x-pad-a", b"A" * 4000), (b"x-pad-b", b"B" * 5000)]
    cases = {
        "te": [(b"te", b"x")] + pad,
        "scheme": [(b"x-scheme-probe", b"1")] + pad,
        "grpclb_client_stats": [(b"grpclb_client_stats", b"x")] + pad,
        "huge-continuation": [(f"x-{i}".encode(), b"D" * 1000) for i in range(300)],
    }
    for name, extra in cases.items():
        sock = connect(args)
        block = request_headers(extra=extra)
        if name == "scheme":
            block = block.replace(literal(b":scheme", b"http"), literal(b":scheme", b"gopher"))
        chunks = [block[i:i + 16000] for i in range(0, len(block), 16000)]
        try:
            for i, chunk in enumerate(chunks):
                flags = END_HEADERS if i == len(chunks) - 1 else 0
                sock.sendall(frame(HEADERS if i == 0 else CONTINUATION, flags, 1, chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass
        received = drain(sock, 3)
        sock.close()
        alive = True
        try:
            socket.create_connection((args.host, args.port), timeout=2).close()
        except OSError:
            alive = False
        print(f"bad-headers {name}: {received} bytes back; server {'up' if alive else 'DOWN'}")
        if not alive:
            sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, help="server pid, to report its resident memory")
    parser.add_argument("--ack-settings", action="store_true")
    parser.add_argument("probe", choices=["rapid-reset", "open-streams", "bad-headers"])
    parser.add_argument("--streams", type=int, default=100000)
    args = parser.parse_args()
    if args.probe == "bad-headers":
        bad_headers(args)
    else:
        streams(args, reset=args.probe == "rapid-reset")


if __name__ == "__main__":
    main()
