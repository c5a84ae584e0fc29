#!/usr/bin/env python3
"""An HTTP server for the tests of health.http checks, with the ways a server can answer badly.

    health_http_server.py PORT MODE        (PORT 0: the kernel picks one, printed on the first line)

MODE, or file:PATH to read the mode from PATH at each request (so a test can change it):
    status:N       answers N with an empty body
    silent         accepts, reads the request and never answers
    trickle:MS     answers 200, one byte every MS milliseconds
    huge_body      answers 200 with a body of 10 MB
    huge_headers   answers a status line then 10 MB of header lines
Each connection has a thread of its own; the server runs until it is killed.
"""
import socket
import sys
import threading
import time

TEN_MB = 10 * 1024 * 1024


def mode_now(mode):
    if mode.startswith("file:"):
        with open(mode[5:]) as f:
            return f.read().strip()
    return mode


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return False
        data += chunk
    return True


def serve(conn, mode):
    try:
        if not read_request(conn):
            return
        mode = mode_now(mode)
        if mode.startswith("status:"):
            code = int(mode[7:])
            conn.sendall(b"HTTP/1.1 %d Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % code)
        elif mode == "silent":
            time.sleep(3600)
        elif mode.startswith("trickle:"):
            pause = int(mode[8:]) / 1000
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                conn.sendall(bytes([byte]))
                time.sleep(pause)
        elif mode == "huge_body":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % TEN_MB)
            conn.sendall(b"x" * TEN_MB)
        elif mode == "huge_headers":
            line = b"X-Padding: " + b"a" * 1000 + b"\r\n"
            conn.sendall(b"HTTP/1.1 200 OK\r\n" + line * (TEN_MB // len(line)) + b"\r\n")
    except OSError:
        pass  # the check gave up and closed its end: what a check may do
    finally:
        conn.close()


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
