"""The end-to-end scenarios tools/bench runs, the same for every contender.

Each scenario is one command line of the shared benchmark CLI (see
bench/peers/peer_cli.hpp) plus what to read from its JSON result. A contender
that does not implement a scenario exits with code 2 and is skipped.
"""

KIB = 1024
MIB = 1024 * 1024

# Contenders: herald first, then the peers. The binary names are the contract
# between tools/bench and the programs.
IMPLS = [
    ("herald", "herald-bench"),
    ("rawtcp", "peer-rawtcp"),
    ("zmq", "peer-zmq"),
    ("caf", "peer-caf"),
]

# What each contender is, for the report.
IMPL_NOTES = {
    "herald": "herald-bench: herald actors over herald's own transport",
    "rawtcp": "raw sockets, length-prefixed frames, large writes: the physical limit "
              "(tell) and the latency floor (ask)",
    "zmq": "ZeroMQ 4.3: PUSH/PULL (tell), REQ/REP and DEALER/ROUTER (ask), REQ/REP (reqresp)",
    "caf": "CAF 0.17 actors, io::middleman (BASP over TCP), sharing scheduler with 2 threads",
}


def size_label(n):
    if n >= MIB and n % MIB == 0:
        return "%d MiB" % (n // MIB)
    if n >= KIB and n % KIB == 0:
        return "%d KiB" % (n // KIB)
    return "%d B" % n


def _scenario(group, sid, title, args, metric, higher_is_better=True, x=None, herald_only=False):
    return {
        "group": group,
        "id": sid,
        "title": title,
        "args": args,
        "metric": metric,
        "higher_is_better": higher_is_better,
        "x": x,
        "herald_only": herald_only,
    }


def build(quick):
    """The scenario list; --quick keeps the shape with fewer points."""
    tell_sizes = [64, MIB] if quick else [64, KIB, 64 * KIB, MIB]
    reqresp_sizes = [KIB] if quick else [KIB, 10 * KIB, 100 * KIB]
    s = []
    for n in tell_sizes:
        s.append(_scenario("tell", "tell-%d" % n, "tell %s" % size_label(n),
                           ["tell", "--size", str(n), "--transport", "tcp", "--connections", "1"],
                           "msgs_per_s", x=n))
    for k in (1, 32):
        s.append(_scenario("ask", "ask-inflight-%d" % k, "ask 64 B, %d in flight" % k,
                           ["ask", "--size", "64", "--inflight", str(k)],
                           "rtt_per_s", x=k))
    for n in reqresp_sizes:
        s.append(_scenario("reqresp", "reqresp-%d" % n, "request/response %s" % size_label(n),
                           ["reqresp", "--size", str(n)], "req_per_s", x=n))
    for k in (1, 2):
        s.append(_scenario("local", "local-tell-%d" % k, "local tell %d->1" % k,
                           ["local-tell", "--senders", str(k)], "msgs_per_s", x=k))
    s.append(_scenario("local", "local-ask", "local ask", ["local-ask"], "rtt_per_s"))
    # herald's own transports and connection counts; the peers that can run
    # the same shape run it too (except over unix and inproc in --quick, to
    # stay under 3 minutes). 4 connections always has the peers: one sender
    # thread per connection.
    for t in ("unix", "inproc"):
        s.append(_scenario("transport", "tell-64-%s" % t, "tell 64 B over %s" % t,
                           ["tell", "--size", "64", "--transport", t, "--connections", "1"],
                           "msgs_per_s", x=t, herald_only=quick))
    for c in ((4,) if quick else (2, 4)):
        s.append(_scenario("transport", "tell-64-c%d" % c, "tell 64 B, %d connections" % c,
                           ["tell", "--size", "64", "--transport", "tcp", "--connections", str(c)],
                           "msgs_per_s", x="tcp x%d" % c, herald_only=quick and c != 4))
    return s
