# Simulated ASTERIA Warp: the main (flow service) process. Writes the PID file, runs and restarts
# child services, serves HTTP, stops on SIGTERM or on a stop request from fsstop.
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from warpcommon import (on_sigquit_thread_dump, CHILD_PY, CONF, LEASE_CONFLICTS, PID_FILE, STOP_REQUEST,  # noqa: E402
                        WRITER_LEASE, flag, log, num, services)

ROLE = "main"
state = {"term": False, "http_error": None}


def nap(seconds):
    """Sleep, but wake up early on SIGTERM."""
    end = time.monotonic() + seconds
    while not state["term"] and time.monotonic() < end:
        time.sleep(min(0.05, max(0, end - time.monotonic())))


def on_term(signum, frame):
    state["term"] = True


def serve_http(port, status):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = ("%s %s\n" % ("ok" if status == 200 else "error", socket.gethostname())).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    time.sleep(num("HTTP_DELAY"))
    try:
        server = ThreadingHTTPServer((CONF["HTTP_BIND"], port), Handler)
    except OSError as e:
        state["http_error"] = e
        return
    log(ROLE, "http listening on %s:%d (answers %d)" % (CONF["HTTP_BIND"], port, status))
    server.serve_forever()


def hold_writer_lease():
    """WRITER_LEASE=1: rewrite DATA_DIR/log/writer.lease ("NODE PID EPOCH_MS") every 100 ms, as
    the one writer of DATA_DIR. Before each write, a lease of another writer renewed less than
    1 s ago means two writers at once: appended to lease-conflicts.log (what tests assert on).
    A test instrument of the stand-in only; the product has no such file."""
    me = "%s %d" % (socket.gethostname(), os.getpid())
    tmp = "%s.%s.tmp" % (WRITER_LEASE, me.replace(" ", "."))
    while True:
        now_ms = int(time.time() * 1000)
        try:
            with open(WRITER_LEASE) as f:
                other = f.read(200).split()
            if len(other) == 3 and "%s %s" % (other[0], other[1]) != me and now_ms - int(other[2]) < 1000:
                with open(LEASE_CONFLICTS, "a") as f:
                    f.write("%d two writers: %s and %s (renewed %d ms ago)\n"
                            % (now_ms, me, " ".join(other[:2]), now_ms - int(other[2])))
        except (OSError, ValueError):
            pass
        try:
            with open(tmp, "w") as f:
                f.write("%s %d\n" % (me, now_ms))
            os.rename(tmp, WRITER_LEASE)
        except OSError as e:
            log(ROLE, "writer lease: %s" % e)
        time.sleep(0.1)


def spawn(name, last):
    argv = [sys.executable, CHILD_PY, name] + (["--setsid"] if last else [])
    proc = subprocess.Popen(argv)
    log(ROLE, "started child %s pid=%d" % (name, proc.pid))
    return proc


def shutdown(children, code, why):
    log(ROLE, "shutting down (%s)" % why)
    live = [p for p in children.values() if p and p.poll() is None]
    for p in live:
        p.terminate()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and any(p.poll() is None for p in live):
        time.sleep(0.05)
    for p in live:
        if p.poll() is None:
            log(ROLE, "child pid=%d ignored SIGTERM, sending SIGKILL" % p.pid)
            p.kill()
            p.wait()
    if not flag("KEEP_PIDFILE"):
        try:
            os.unlink(PID_FILE)
        except OSError:
            pass
    log(ROLE, "exit %d" % code)
    sys.exit(code)


def main():
    signal.signal(signal.SIGTERM, signal.SIG_IGN if flag("IGNORE_TERM") else on_term)
    on_sigquit_thread_dump(ROLE)
    log(ROLE, "started pgid=%d sid=%d cmd=%s" % (os.getpgid(0), os.getsid(0), " ".join(sys.argv)))
    try:
        os.unlink(STOP_REQUEST)                # a stale request from an earlier run
    except OSError:
        pass
    nap(num("START_DELAY"))
    if state["term"]:
        log(ROLE, "SIGTERM during startup, exit 0")
        sys.exit(0)
    fail = CONF["START_FAIL"]
    if fail not in ("", "0", "after_pid"):
        log(ROLE, "START_FAIL: exit 1 without PID file")
        sys.exit(1)
    try:
        with open(PID_FILE, "w") as f:
            f.write("%d\n" % os.getpid())
    except OSError as e:
        log(ROLE, "cannot write PID file %s: %s; exit 1" % (PID_FILE, e))
        sys.exit(1)
    log(ROLE, "wrote PID file %s" % PID_FILE)
    if fail == "after_pid":
        log(ROLE, "START_FAIL=after_pid: exit 1 leaving the PID file")
        sys.exit(1)

    names = services()
    children = {n: spawn(n, i == len(names) - 1) for i, n in enumerate(names)}
    died = {}
    port = int(CONF["HTTP_PORT"])
    if port:
        threading.Thread(target=serve_http, args=(port, int(CONF["HTTP_STATUS"])), daemon=True).start()
    if flag("WRITER_LEASE"):
        threading.Thread(target=hold_writer_lease, daemon=True).start()
    stop_seen_at = None
    next_stop_check = 0
    while True:
        if state["term"]:
            shutdown(children, 0, "SIGTERM")
        if state["http_error"]:
            shutdown(children, 1, "http port %d: %s" % (port, state["http_error"]))
        now = time.monotonic()
        if now >= next_stop_check:
            next_stop_check = now + 0.2
            if os.path.exists(STOP_REQUEST):
                if flag("STOP_HANG"):
                    if stop_seen_at is None:
                        log(ROLE, "STOP_HANG: ignoring stop request")
                    stop_seen_at = now
                else:
                    log(ROLE, "stop request received")
                    try:
                        os.unlink(STOP_REQUEST)
                    except OSError:
                        pass
                    nap(num("STOP_DELAY"))
                    shutdown(children, 0, "stop request")
        for i, n in enumerate(names):
            p = children[n]
            if p is not None and p.poll() is not None:
                log(ROLE, "child %s pid=%d died (status %d), restart in %ss"
                    % (n, p.pid, p.returncode, CONF["CHILD_RESTART_DELAY"]))
                children[n], died[n] = None, now
            if children[n] is None and now - died[n] >= num("CHILD_RESTART_DELAY"):
                children[n] = spawn(n, i == len(names) - 1)
        time.sleep(0.05)


if __name__ == "__main__":
    main()
