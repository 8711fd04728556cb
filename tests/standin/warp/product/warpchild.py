# Simulated ASTERIA Warp: one child service process (stands in for one of the many java children).
# Usage: warpchild.py NAME [--setsid]   (--setsid: leave the main process's process group/session)
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from warpcommon import on_sigquit_thread_dump, CONF, flag, log  # noqa: E402

name = sys.argv[1] if len(sys.argv) > 1 else "unnamed"
role = "child[%s]" % name
if "--setsid" in sys.argv[2:]:
    os.setsid()


def on_term(signum, frame):
    log(role, "got SIGTERM, exiting")
    sys.exit(0)


signal.signal(signal.SIGTERM, signal.SIG_IGN if flag("IGNORE_TERM") else on_term)
on_sigquit_thread_dump(role)
parent = os.getppid()
log(role, "started pgid=%d sid=%d" % (os.getpgid(0), os.getsid(0)))
while True:
    time.sleep(0.5)
    if os.getppid() != parent and CONF["CHILD_ORPHAN"] == "exit":
        log(role, "main process gone, exiting")
        sys.exit(0)
