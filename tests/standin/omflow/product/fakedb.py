#!/usr/bin/env python3
# Stand-in database for the cluster lab: accepts TCP connections on argv[1] (port) and closes
# them; enough for the Booster agent's db_check (tcp://host:port). Run by ocf:heartbeat:anything
# (monitor_hook: fakedb.py --check PORT).
# Logs "database listening" to ROOT/Database/log/standin.log (for start-order checks).
import os
import socket
import sys
import time

if sys.argv[1] == "--check":
    # `fakedb.py --check PORT`: ocf:heartbeat:anything's monitor_hook. Its start returns once
    # the process runs and this hook passes, so the "database" counts as started only when it
    # answers, as a real database agent's start does: wait up to 5 s for the port.
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=1).close()
            sys.exit(0)
        except OSError:
            time.sleep(0.1)
    sys.exit(1)

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(16)
now = time.time()
try:
    with open(os.path.join(os.path.dirname(os.path.realpath(__file__)), "log", "standin.log"), "a") as f:
        f.write("%s.%03d database pid=%d database listening on %s\n" % (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)), now % 1 * 1000, os.getpid(), sys.argv[1]))
except OSError:
    pass
while True:
    c, _ = s.accept()
    c.close()
