#!/usr/bin/env python3
# Simulated OMFLOW Booster (ROOT/Booster/lib/booster.py): the "data transfer center".
# Writes run/booster.pid, listens on BOOSTER_BIND:BOOSTER_PORT after BOOSTER_START_DELAY s, and
# answers one line per connection:
#   "HELLO <server>\n" -> "BOOSTER <name> <role>\n"   (records that <server> talks to it)
#   "STATUS\n"         -> one JSON line {name, role, servers: {server: last-seen epoch}}
#   "PEER <name> <state> <active-since>\n" -> the same line about this Booster (pairing, below)
# <role> is the content of run/role (written by bin/booster-role), else BOOSTER_DEFAULT_ROLE.
# Pairing (BOOSTER_HA_IP set: the "HA Booster IP" the guide has each Booster installed with): the
# two Boosters connect to each other and decide Active/Standby themselves; run/role is then not
# read. Every BOOSTER_HA_POLL s this Booster sends PEER to BOOSTER_HA_IP:BOOSTER_HA_PORT and
# decides from the answer (the real product's protocol and rules are not public; these are
# invented): it starts undecided ("starting", answering HELLO as standby); the HA Booster
# active -> standby; the HA Booster starting too -> the smaller name is active; the HA Booster
# standby -> active; both active (after a partition) -> the one active longer stays, the other
# becomes standby; no answer for BOOSTER_HA_TIMEOUT s (since the last answer, or since the start)
# -> a starting or standby Booster becomes active. Every decision is logged ("now active: ...").
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
HA = (CONF["BOOSTER_HA_IP"], int(CONF["BOOSTER_HA_PORT"])) if CONF["BOOSTER_HA_IP"] else None
# The pairing's state: starting | active | standby, and since when this Booster is active.
pair = {"state": "starting", "active_since": 0.0}


def role():
    if HA:
        with lock:
            return "active" if pair["state"] == "active" else "standby"
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
        elif words[:1] == ["PEER"] and HA:
            with lock:
                line = "PEER %s %s %.3f\n" % (NAME, pair["state"], pair["active_since"])
            self.wfile.write(line.encode())
        elif words[:1] == ["STATUS"]:
            now_role = role()
            with lock:
                body = {"name": NAME, "role": now_role, "pid": os.getpid(), "servers": dict(servers)}
                if HA:
                    body["pairing"] = {"state": pair["state"], "ha_booster": "%s:%d" % HA}
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


def become(state, why):
    with lock:
        if pair["state"] == state:
            return
        pair["state"] = state
        pair["active_since"] = time.time() if state == "active" else 0.0
    log("booster", "now %s: %s" % (state, why))


def ask_peer():
    """The HA Booster's (name, state, active-since), or None when it does not answer."""
    with lock:
        mine = "PEER %s %s %.3f\n" % (NAME, pair["state"], pair["active_since"])
    try:
        with socket.create_connection(HA, timeout=1) as c:
            c.settimeout(1)
            c.sendall(mine.encode())
            words = c.makefile().readline(200).split()
        if len(words) == 4 and words[0] == "PEER" and words[2] in ("starting", "active", "standby"):
            return words[1], words[2], float(words[3])
    except (OSError, ValueError):
        pass
    return None


def pairing():
    last_answer = time.time()           # silence is counted from the start
    peer = "%s:%d" % HA
    while True:
        answer = ask_peer()
        with lock:
            me, since = pair["state"], pair["active_since"]
        if answer is None:
            silent = time.time() - last_answer
            if me != "active" and silent >= num("BOOSTER_HA_TIMEOUT"):
                become("active", "HA Booster %s did not answer for %.1f s" % (peer, silent))
        else:
            last_answer = time.time()
            name, other, other_since = answer
            if other == "active" and me != "active":
                become("standby", "HA Booster %s (%s) is active" % (name, peer))
            elif other == "active" and me == "active":
                if (other_since, name) < (since, NAME):
                    become("standby", "HA Booster %s (%s) is active too, and longer" % (name, peer))
            elif other == "standby" and me != "active":
                become("active", "HA Booster %s (%s) is standby" % (name, peer))
            elif other == "starting" and me == "starting":
                if NAME < name:
                    become("active", "HA Booster %s (%s) is starting too; smaller name" % (name, peer))
                else:
                    become("standby", "HA Booster %s (%s) is starting too; it has the smaller name" % (name, peer))
        time.sleep(num("BOOSTER_HA_POLL"))


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
if HA:
    log("booster", "starting (paired with HA Booster %s:%d)" % HA)
else:
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
if HA:
    threading.Thread(target=pairing, daemon=True).start()
srv.serve_forever()
