#!/usr/bin/env python3
# Simulated OMFLOW Server (ROOT/Server/lib/omflow_server.py), started by the Booster Agent.
# Writes run/server.pid; every SERVER_POLL s it says "HELLO <name>" to BOOSTER_IP:BOOSTER_PORT
# and, when that does not answer as the Active Booster, to SECOND_BOOSTER_IP:SECOND_BOOSTER_PORT
# (setting.py order); it uses the first that answers "active", else the first that answers at all
# (the guide has the Active Booster do the work; what a real server does when the Booster named
# first answers as Standby is not public).
# HTTP on SERVER_HTTP_BIND:SERVER_HTTP_PORT after SERVER_START_DELAY s:
#   GET /         -> SERVER_HTTP_STATUS, "ok"
#   GET /booster  -> JSON {server, booster, role, address, since, checked}: the Booster in use
#                    (booster null when none answers)
#   GET /history  -> JSON list of {booster, role, address, at}: every change of Booster
# SIGTERM: exit 0 (SERVER_IGNORE_TERM=1: ignored).
import http.server
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from omflowcommon import CONF, log, num, on_term, path, remove_pid, write_pid  # noqa: E402

PID = path("Server", "run", "server.pid")
NAME = CONF["SERVER_NAME"] or socket.gethostname()
TARGETS = [(CONF["BOOSTER_IP"], int(CONF["BOOSTER_PORT"])),
           (CONF["SECOND_BOOSTER_IP"], int(CONF["SECOND_BOOSTER_PORT"]))]
state = {"server": NAME, "booster": None, "role": None, "address": None, "since": time.time(), "checked": 0}
history = []
lock = threading.Lock()


def ask(host, port):
    with socket.create_connection((host, port), timeout=1) as s:
        s.settimeout(1)
        s.sendall(("HELLO %s\n" % NAME).encode())
        words = s.makefile().readline(200).split()
    if len(words) == 3 and words[0] == "BOOSTER":
        return words[1], words[2]
    raise OSError("unexpected answer %r" % words)


def poll():
    while True:
        found = (None, None, None)
        for host, port in TARGETS:
            if not host:
                continue
            try:
                name, role = ask(host, port)
            except OSError:
                continue
            if found[0] is None or role == "active":
                found = (name, role, "%s:%d" % (host, port))
            if role == "active":
                break
        with lock:
            if found != (state["booster"], state["role"], state["address"]):
                state.update(booster=found[0], role=found[1], address=found[2], since=time.time())
                history.append({"booster": found[0], "role": found[1], "address": found[2], "at": time.time()})
                log("server", "now using booster %s (%s) at %s" % found)
            state["checked"] = time.time()
        time.sleep(num("SERVER_POLL"))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with lock:
            if self.path.startswith("/booster"):
                code, body = 200, json.dumps(state)
            elif self.path.startswith("/history"):
                code, body = 200, json.dumps(history)
            else:
                code = int(CONF["SERVER_HTTP_STATUS"])
                body = "ok" if code == 200 else "error"
        data = (body + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if body.startswith(("{", "[")) else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def stop(signum, frame):
    log("server", "SIGTERM: stopping")
    remove_pid(PID)
    os._exit(0)


on_term(stop, "SERVER_IGNORE_TERM")
write_pid(PID)
log("server", "starting; boosters %s" % TARGETS)
threading.Thread(target=poll, daemon=True).start()
time.sleep(num("SERVER_START_DELAY"))
http.server.ThreadingHTTPServer.allow_reuse_address = True
try:
    srv = http.server.ThreadingHTTPServer((CONF["SERVER_HTTP_BIND"], int(CONF["SERVER_HTTP_PORT"])), Handler)
except OSError as e:
    log("server", "cannot listen on %s: %s" % (CONF["SERVER_HTTP_PORT"], e))
    remove_pid(PID)
    sys.exit(1)
log("server", "HTTP on %s:%s" % (CONF["SERVER_HTTP_BIND"], CONF["SERVER_HTTP_PORT"]))
srv.serve_forever()
