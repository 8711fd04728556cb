#!/usr/bin/env python3
# Simulated OMFLOW Booster Agent (ROOT/BoosterAgent/lib/boosteragent.py). Writes run/agent.pid,
# then starts the OMFLOW Server (python3 ROOT/Server/lib/omflow_server.py) and restarts it within
# 0.5 s whenever it dies (AGENT_RESTART_SERVER=0: does not). SERVER_DETACH=1: the server is
# started with a double fork + setsid, so it is not a descendant of the agent.
# SIGTERM: SIGTERM to the server (AGENT_STOPS_SERVER=0: leaves it running), then exit 0
# (AGENT_IGNORE_TERM=1: ignored). AGENT_START_FAIL=1: exits 1 at once.
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from omflowcommon import (daemonize, flag, log, num, on_term, path, remove_pid,  # noqa: E402
                          running, write_pid)

PID = path("BoosterAgent", "run", "agent.pid")
SERVER = path("Server", "lib", "omflow_server.py")
SERVER_PID = path("Server", "run", "server.pid")
children = []


def start_server():
    argv = [sys.executable, SERVER]
    if flag("SERVER_DETACH"):
        if os.fork() == 0:
            daemonize(argv, path("Server", "log", "console.log"))
            os._exit(0)
        os.wait()
    else:
        out = open(path("Server", "log", "console.log"), "a")
        children.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out))
    log("agent", "started the OMFLOW Server")


def stop(signum, frame):
    log("agent", "SIGTERM: stopping")
    pid = running(SERVER_PID, SERVER)
    if flag("AGENT_STOPS_SERVER") and pid:
        os.kill(pid, signal.SIGTERM)
        log("agent", "sent SIGTERM to the OMFLOW Server pid %d" % pid)
    remove_pid(PID)
    os._exit(0)


on_term(stop, "AGENT_IGNORE_TERM")
write_pid(PID)
if flag("AGENT_START_FAIL"):
    log("agent", "start fails (switch)")
    remove_pid(PID)
    sys.exit(1)
time.sleep(num("AGENT_START_DELAY"))
start_server()
grace = time.time() + 5               # the server writes its PID file when it starts
while True:
    time.sleep(0.5)
    for c in children:
        c.poll()                      # reap
    if running(SERVER_PID, SERVER) or time.time() < grace:
        continue
    if flag("AGENT_RESTART_SERVER"):
        log("agent", "the OMFLOW Server is gone: restarting it")
        start_server()
        grace = time.time() + 5
