#!/usr/bin/env python3
# Stand-in database for the cluster lab: accepts TCP connections on argv[1] (port) and closes
# them; enough for the Booster agent's db_check (tcp://host:port). Run by ocf:heartbeat:anything.
# Logs "database listening" to ROOT/Database/log/standin.log (for start-order checks).
import os
import socket
import sys
import time

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
