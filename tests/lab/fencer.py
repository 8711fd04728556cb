"""Host side of the lab's fence device (run by tests/lab/lab up; stdlib only).

Usage (on the host, as root):  python3 -I fencer.py LAB_DIR LAB_SCRIPT

fence_mwhalab runs inside a node (pacemaker-fenced calls it there) and cannot
see another node's processes, so it writes a request into the node's own
request directory: /run/lab-fence in the node is $LAB_DIR/nodes/NODE/fence on
the host (node-init.py bind-mounts it).  This process serves those directories:

    req-ID    written by the agent (rename of a temp file): action=..., target=...
    resp-ID   written here (rename of a temp file): the exit status on the
              first line, then the text for the agent's stdout

The requester is the node whose directory holds the request (a node cannot
pose as another).  Targets must be nodes of the lab ($LAB_DIR/size); nothing
else can be named.  off/on go through the lab script (`lab _fence-off NODE`:
SIGKILL of the node's init by recorded, verified host PID, then its netns is
removed; `lab start NODE --no-wait`).  status reads the same records.  Every
off/on/reboot is appended to $LAB_DIR/fencing.log, one line per event:

    EPOCH_MS ISO_TIME by=NODE action=off target=NODE result=requested|done|failed [detail]

Exits when $LAB_DIR/size disappears (lab down also kills it by recorded PID).
"""

import datetime
import os
import re
import subprocess
import sys
import threading
import time

LAB_DIR, LAB = sys.argv[1], sys.argv[2]
RID = re.compile(r"^req-([0-9A-Za-z-]{1,80})$")
NODE = re.compile(r"^n[1-9]$")
LOG_LOCK = threading.Lock()
TARGET_LOCKS = {}
BUSY = set()  # request files being handled
BUSY_LOCK = threading.Lock()


def now_ms():
    return int(time.time() * 1000)


def log(by, action, target, result, detail=""):
    ms = now_ms()
    iso = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    line = f"{ms} {iso} by={by} action={action} target={target} result={result}"
    if detail:
        line += f" {detail}"
    with LOG_LOCK:
        with open(os.path.join(LAB_DIR, "fencing.log"), "a") as f:
            f.write(line + "\n")
    print(line, flush=True)


def nodes():
    try:
        with open(os.path.join(LAB_DIR, "size")) as f:
            n = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return [f"n{k}" for k in range(1, n + 1)]


def read_small(path):
    with open(path) as f:
        return f.read(256).strip()


def init_pid(node):
    """The host PID of NODE's init, if that PID still is the init we recorded."""
    nd = os.path.join(LAB_DIR, "nodes", node)
    try:
        pid = read_small(os.path.join(nd, "init.pid"))
        ns = read_small(os.path.join(nd, "init.pidns"))
        if pid and ns and os.readlink(f"/proc/{int(pid)}/ns/pid") == ns:
            return int(pid)
    except (OSError, ValueError):
        pass
    return None


def run_lab(*args, timeout=40):
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LAB_DIR": LAB_DIR, "LANG": "C.UTF-8", "HOME": "/root"}
    try:
        p = subprocess.run([LAB, *args], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout)
        return p.returncode, (p.stdout + p.stderr).strip().replace("\n", "; ")
    except subprocess.TimeoutExpired:
        return 1, f"lab {' '.join(args)} did not finish within {timeout}s"


def power_off(by, action, target):
    t0 = time.monotonic()
    pid = init_pid(target)
    rc, out = run_lab("_fence-off", target)
    ms = int((time.monotonic() - t0) * 1000)
    if rc == 0 and init_pid(target) is None:
        what = f"init pid {pid} killed" if pid else "was off already"
        log(by, action, target, "done", f"in={ms}ms ({what})")
        return 0, f"{target} is off"
    log(by, action, target, "failed", f"in={ms}ms ({out})")
    return 1, f"could not power off {target}: {out}"


def power_on(by, action, target):
    if init_pid(target) is not None:
        log(by, action, target, "done", "(was on already)")
        return 0, f"{target} is on"
    t0 = time.monotonic()
    rc, out = run_lab("start", target, "--no-wait", timeout=60)
    ms = int((time.monotonic() - t0) * 1000)
    if rc == 0 and init_pid(target) is not None:
        log(by, action, target, "done", f"in={ms}ms (booted)")
        return 0, f"{target} is on"
    log(by, action, target, "failed", f"in={ms}ms ({out})")
    return 1, f"could not power on {target}: {out}"


def handle(by, action, target):
    known = nodes() or []
    if action == "monitor":
        return 0, f"lab host side serves {len(known)} nodes"
    if action == "list":
        return 0, "\n".join(f"{n},{n}" for n in known)
    if action == "list-status":
        return 0, "\n".join(f"{n},{n},{'on' if init_pid(n) else 'off'}" for n in known)
    if not NODE.match(target) or target not in known:
        return 1, f"{target!r} is not a node of this lab ({' '.join(known)})"
    if action == "status":
        return (0, "on") if init_pid(target) else (2, "off")
    if action not in ("off", "on", "reboot"):
        return 1, f"unsupported action {action!r}"
    lock = TARGET_LOCKS.setdefault(target, threading.Lock())
    log(by, action, target, "requested")
    with lock:
        if action == "on":
            return power_on(by, action, target)
        rc, text = power_off(by, action, target)
        if action == "reboot" and rc == 0:
            return power_on(by, action, target)
        return rc, text


def respond(chan, rid, rc, text):
    tmp = os.path.join(chan, f".resp-{rid}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as e:
        print(f"cannot answer {rid} in {chan}: {e}", flush=True)
        return
    with os.fdopen(fd, "w") as f:
        f.write(f"{rc}\n{text}\n")
    os.rename(tmp, os.path.join(chan, f"resp-{rid}"))


def serve(by, chan, name, rid):
    path = os.path.join(chan, name)
    try:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return
        with os.fdopen(fd) as f:
            if not os.path.isfile(f"/proc/self/fd/{f.fileno()}"):
                return
            text = f.read(1024)
        os.unlink(path)
        req = {}
        for line in text.splitlines():
            k, _, v = line.partition("=")
            req[k.strip()] = v.strip()
        try:
            rc, out = handle(by, req.get("action", ""), req.get("target", ""))
        except Exception as e:  # never leave the agent without an answer
            rc, out = 1, f"host side error: {e}"
        respond(chan, rid, rc, out)
    finally:
        with BUSY_LOCK:
            BUSY.discard(path)


def main():
    print(f"fencer: serving {LAB_DIR} (pid {os.getpid()})", flush=True)
    while True:
        known = nodes()
        if known is None:
            print("fencer: the lab is gone; exiting", flush=True)
            return 0
        for n in known:
            chan = os.path.join(LAB_DIR, "nodes", n, "fence")
            try:
                names = os.listdir(chan)
            except OSError:
                continue
            for name in names:
                m = RID.match(name)
                if not m:
                    continue
                path = os.path.join(chan, name)
                with BUSY_LOCK:
                    if path in BUSY:
                        continue
                    BUSY.add(path)
                threading.Thread(target=serve, args=(n, chan, name, m.group(1)), daemon=True).start()
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
