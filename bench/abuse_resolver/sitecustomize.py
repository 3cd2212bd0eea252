"""For `python -m bench abuse` only: a DNS-rebinding name inside the served process.

With ADGEN_BENCH_REBIND=1, `rebind.test` resolves to 127.0.0.2 (an allowed callback address) the
first time and to 127.0.0.1 (loopback, not allowed) every later time, the way an attacker's DNS
server with a zero TTL answers. Each lookup appends a line to $ADGEN_BENCH_REBIND_LOG so the bench
can count them. Nothing changes for any other name, or without the variable.
"""

import os

if os.environ.get("ADGEN_BENCH_REBIND") == "1":
    import socket
    import threading

    _real_getaddrinfo = socket.getaddrinfo
    _lock = threading.Lock()
    _calls = [0]

    def _rebinding_getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.lower().rstrip(".") == "rebind.test":
            with _lock:
                _calls[0] += 1
                answer = "127.0.0.2" if _calls[0] == 1 else "127.0.0.1"
                log = os.environ.get("ADGEN_BENCH_REBIND_LOG")
                if log:
                    with open(log, "a", encoding="utf-8") as handle:
                        handle.write(f"{os.getpid()} {_calls[0]} {answer}\n")
            return _real_getaddrinfo(answer, port, *args, **kwargs)
        return _real_getaddrinfo(host, port, *args, **kwargs)

    socket.getaddrinfo = _rebinding_getaddrinfo
