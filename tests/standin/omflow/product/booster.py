#!/usr/bin/env python3
# Simulated OMFLOW Booster (ROOT/Booster/lib/booster.py): the "data transfer center".
# Writes run/booster.pid, listens on BOOSTER_BIND:BOOSTER_PORT after BOOSTER_START_DELAY s, and
# answers one line per connection:
#   "HELLO <server>\n" -> "BOOSTER <name> <role>\n"   (records that <server> talks to it)
#   "STATUS\n"         -> one JSON line {name, role, servers: {server: last-seen epoch}}
# <role> is the content of run/role (written by bin/booster-role), else BOOSTER_DEFAULT_ROLE.
# SIGTERM: exit 0 after BOOSTER_STOP_DELAY s (BOOSTER_IGNORE_TERM=1: ignored).
# BOOSTER_START_FAIL=1: exit 1 after the delay without listening.
# BOOSTER_WORKER=1: a detached worker (double fork, setsid, a command line that mentions ROOT but
# not ROOT/Booster) inherits the listening socket and keeps serving if the Booster dies.
import json
import os
import socket
import socketserver
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from omflowcommon import (CONF, ROOT, flag, log, num, on_term, path, remove_pid,  # noqa: E402
                          write_pid)

PID = path("Booster", "run", "booster.pid")
ROLE = path("Booster", "run", "role")
NAME = CONF["BOOSTER_NAME"] or socket.gethostname()
servers = {}
lock = threading.Lock()


def role():
    try:
        with open(ROLE) as f:
            return f.read().strip() or CONF["BOOSTER_DEFAULT_ROLE"]
    except OSError:
        return CONF["BOOSTER_DEFAULT_ROLE"]


class Handler(socketserver.StreamRequestHandler):
    timeout = 2

    def handle(self):
        try:
            line = self.rfile.readline(200).decode(errors="replace").strip()
        except OSError:
            return
        words = line.split()
        if words[:1] == ["HELLO"] and len(words) >= 2:
            now_role = role()
            with lock:
                first = words[1] not in servers
                servers[words[1]] = time.time()
            if first:
                log("booster", "server %s talks to this booster (%s)" % (words[1], now_role))
            self.wfile.write(("BOOSTER %s %s\n" % (NAME, now_role)).encode())
        elif words[:1] == ["STATUS"]:
            with lock:
                body = {"name": NAME, "role": role(), "pid": os.getpid(), "servers": dict(servers)}
            self.wfile.write((json.dumps(body) + "\n").encode())
        else:
            self.wfile.write(b"ERROR unknown request\n")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def stop(signum, frame):
    log("booster", "SIGTERM: stopping")
    time.sleep(num("BOOSTER_STOP_DELAY"))
    remove_pid(PID)
    os._exit(0)


WORKER = r'''
import os, socket, sys, time
s = socket.socket(fileno=int(sys.argv[1]))
while True:
    c, _ = s.accept()
    c.sendall(b"BOOSTER worker-of-%s standby\n" % sys.argv[2].encode())
    c.close()
'''


def start_worker(srv):
    fd = srv.socket.fileno()
    if os.fork():
        os.wait()
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    os.chdir("/")
    os.set_inheritable(fd, True)
    os.execv(sys.executable, [sys.executable, "-c", WORKER, str(fd), NAME, ROOT])


on_term(stop, "BOOSTER_IGNORE_TERM")
write_pid(PID)
log("booster", "starting (role file says %s)" % role())
time.sleep(num("BOOSTER_START_DELAY"))
if flag("BOOSTER_START_FAIL"):
    log("booster", "start fails (switch)")
    remove_pid(PID)
    sys.exit(1)
try:
    srv = Server((CONF["BOOSTER_BIND"], int(CONF["BOOSTER_PORT"])), Handler)
except OSError as e:
    log("booster", "cannot listen on port %s: %s" % (CONF["BOOSTER_PORT"], e))
    remove_pid(PID)
    sys.exit(1)
log("booster", "listening on %s:%s" % (CONF["BOOSTER_BIND"], CONF["BOOSTER_PORT"]))
if flag("BOOSTER_WORKER"):
    start_worker(srv)
srv.serve_forever()
