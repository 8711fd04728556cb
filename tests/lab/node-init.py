"""PID 1 of one lab node (run by tests/lab/lab; stdlib only).

Usage (inside fresh mount/UTS/IPC/PID namespaces and the node's netns):
    python3 -I node-init.py NODE NODE_DIR [CHECKOUT]

1. sets the hostname, bind-mounts the node's private directories from
   NODE_DIR, mounts fresh tmpfs on /tmp, /dev/shm and /run, then bind-mounts
   the checkout CHECKOUT (read-only) at its own path again, because the tests
   run its files inside the node and it may live under /tmp, /run or /opt,
   which the node covers, and NODE_DIR/fence (when present) at /run/lab-fence,
   the node's request directory for the lab's fence device (fence_mwhalab asks
   the host side, tests/lab/fencer.py, through it); creates
   /run/lab-init.ready when all this is done;
2. starts `corosync -f`, waits until `corosync-cfgtool -s` answers, then
   starts `pacemakerd -f`;
3. reaps every child (daemons that agents double-fork end up here) until it
   is killed.  SIGKILL from the host = node crash (the kernel kills the whole
   PID namespace).  SIGTERM = clean shutdown: pacemakerd first, then
   corosync, then everything left.
"""

import grp
import os
import pwd
import signal
import socket
import sys
import time

NODE, ND = sys.argv[1], sys.argv[2]
CHECKOUT = sys.argv[3] if len(sys.argv) > 3 else None
FENCE_CHANNEL = "/run/lab-fence"  # fence_mwhalab's request directory (NODE_DIR/fence)
READY = "/run/lab-init.ready"  # tests/lab/lab waits for it (the node's /run only)
SANE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ENV = {"PATH": SANE_PATH, "HOME": "/root", "LANG": "C.UTF-8", "LAB_NODE": NODE}
STOP_TIMEOUT = float(os.environ.get("LAB_STOP_TIMEOUT", "120"))

# (directory or file under NODE_DIR, mount point)
BINDS = [
    ("etc/corosync", "/etc/corosync"),
    ("etc/hosts", "/etc/hosts"),
    ("var/lib/pacemaker", "/var/lib/pacemaker"),
    ("var/lib/corosync", "/var/lib/corosync"),
    ("var/lib/heartbeat", "/var/lib/heartbeat"),
    ("var/lib/pcsd", "/var/lib/pcsd"),
    ("var/lib/mwha", "/var/lib/mwha"),
    ("var/log/pacemaker", "/var/log/pacemaker"),
    ("var/log/corosync", "/var/log/corosync"),
    ("var/log/crmsh", "/var/log/crmsh"),
    ("var/log/pcsd", "/var/log/pcsd"),
    ("opt", "/opt"),
]
TMPFS = [  # mount point, mode; /run last: NODE_DIR may live under /run
    ("/tmp", "1777"),
    ("/dev/shm", "1777"),
    ("/run", "0755"),
]
WATCHED = {}  # pid -> name, for the daemons we log about
EXITED = {}  # pid -> wait status, for children we wait on explicitly
STOP = False
SIGS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} init[{NODE}]: {msg}", flush=True)


def spawn(argv, out="/dev/null", pass_fd=None):
    """Start argv with stdin=/dev/null, stdout+stderr appended to out
    (out=None: keep ours, i.e. the node's init.log)."""
    actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0)]
    if out is not None:
        actions += [
            (os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ]
    if pass_fd is not None:  # kept open (same number) in the child
        os.set_inheritable(pass_fd, True)
    try:
        return os.posix_spawnp(argv[0], argv, ENV, file_actions=actions,
                               setsigmask=(), setsigdef=SIGS)
    finally:
        if pass_fd is not None:
            os.set_inheritable(pass_fd, False)


def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        EXITED[pid] = status
        if pid in WATCHED:
            log(f"{WATCHED.pop(pid)} (pid {pid}) exited: {describe(status)}")


def describe(status):
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"status {os.waitstatus_to_exitcode(status)}"


def tick(timeout):
    """Wait up to timeout s for a signal; handle it; reap."""
    global STOP
    info = signal.sigtimedwait(SIGS, timeout)
    if info is not None and info.si_signo != signal.SIGCHLD:
        if not STOP:
            log(f"got signal {info.si_signo}: clean shutdown")
        STOP = True
    reap()


def wait_pid(pid, timeout):
    """Wait for a child to exit; return its wait status or None on timeout/stop."""
    deadline = time.monotonic() + timeout
    while pid not in EXITED:
        if time.monotonic() > deadline:
            return None
        tick(0.05)
    return EXITED.pop(pid)


def run(argv, pass_fd=None):
    status = wait_pid(spawn(argv, None, pass_fd), 60)
    if status is None or os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"init[{NODE}]: failed: {' '.join(argv)}")


def mount_checkout(fd):
    """The checkout, opened before the node's own mounts could hide it, at
    its own path again (read-only: the tests only read and run its files)."""
    os.makedirs(CHECKOUT, exist_ok=True)
    src = f"/proc/self/fd/{fd}"  # mount's own table: the fd is inherited
    run(["mount", "--no-canonicalize", "--bind", src, CHECKOUT], pass_fd=fd)
    run(["mount", "--no-canonicalize", "-o", "remount,bind,ro", CHECKOUT])
    os.close(fd)
    if not os.path.isfile(os.path.join(CHECKOUT, "tests/lab/lab")):
        raise SystemExit(f"init[{NODE}]: the checkout {CHECKOUT} is not visible after the bind mount")
    log(f"checkout {CHECKOUT} mounted read-only")


def mount_fence_channel(fd):
    """NODE_DIR/fence, opened before /run was covered, at /run/lab-fence."""
    os.makedirs(FENCE_CHANNEL, exist_ok=True)
    run(["mount", "--no-canonicalize", "--bind", f"/proc/self/fd/{fd}", FENCE_CHANNEL], pass_fd=fd)
    os.close(fd)
    os.chmod(FENCE_CHANNEL, 0o700)
    log(f"fence channel {os.path.join(ND, 'fence')} mounted at {FENCE_CHANNEL}")


def setup():
    socket.sethostname(NODE)
    fence_fd = None
    if os.path.isdir(os.path.join(ND, "fence")):
        fence_fd = os.open(os.path.join(ND, "fence"), os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
    checkout_fd = None
    if CHECKOUT:
        try:
            checkout_fd = os.open(CHECKOUT, os.O_PATH | os.O_DIRECTORY)
        except OSError as e:
            raise SystemExit(f"init[{NODE}]: cannot open the checkout {CHECKOUT}: {e}")
    for rel, dst in BINDS:
        run(["mount", "--bind", os.path.join(ND, rel), dst])
    for dst, mode in TMPFS:
        run(["mount", "-t", "tmpfs", "-o", f"mode={mode},nosuid,nodev",
             "lab-" + os.path.basename(dst), dst])
    if checkout_fd is not None:
        mount_checkout(checkout_fd)
    if fence_fd is not None:
        mount_fence_channel(fence_fd)
    hac = pwd.getpwnam("hacluster")
    hac_uid, hac_gid = hac.pw_uid, grp.getgrnam("haclient").gr_gid
    for path, mode, uid, gid in [
        ("/run/crm", 0o750, hac_uid, hac_gid),
        ("/run/resource-agents", 0o1755, 0, 0),
        ("/run/lock", 0o1777, 0, 0),
        ("/run/lock/subsys", 0o755, 0, 0),
        ("/run/user", 0o755, 0, 0),
    ]:
        os.makedirs(path, exist_ok=True)
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    with open(READY, "w") as f:
        f.write(f"{os.getpid()}\n")
    reap()


def stop(pid, name, timeout):
    if pid in WATCHED:
        log(f"stopping {name} (pid {pid})")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid in WATCHED and time.monotonic() < deadline:
            tick(0.1)


def shutdown(pcmk, coro):
    if pcmk:
        stop(pcmk, "pacemakerd", STOP_TIMEOUT)
    stop(coro, "corosync", 30)
    try:
        os.kill(-1, signal.SIGKILL)  # everything else in this PID namespace
    except ProcessLookupError:
        pass
    time.sleep(0.2)
    reap()
    log("node stopped")
    sys.exit(0)


def main():
    os.closerange(3, 1024)
    os.chdir("/")
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGS)
    log(f"starting (pid {os.getpid()} in the node)")
    setup()
    coro = spawn(["corosync", "-f"], "/var/log/corosync/corosync.stdout")
    WATCHED[coro] = "corosync"
    log(f"corosync started (pid {coro})")
    pcmk = None
    t0 = time.monotonic()
    while not STOP and coro in WATCHED:
        status = wait_pid(spawn(["corosync-cfgtool", "-s"]), 10)
        if status is not None and os.waitstatus_to_exitcode(status) == 0:
            break
        if time.monotonic() - t0 > 60:
            log("corosync never answered; not starting pacemaker")
            coro = None
            break
        tick(0.1)
    if not STOP and coro in WATCHED:
        log(f"corosync answers after {time.monotonic() - t0:.2f}s")
        pcmk = spawn(["pacemakerd", "-f"], "/var/log/pacemaker/pacemakerd.stdout")
        WATCHED[pcmk] = "pacemakerd"
        log(f"pacemakerd started (pid {pcmk})")
    while not STOP:
        tick(1.0)
        EXITED.clear()
    shutdown(pcmk, coro)


if __name__ == "__main__":
    main()
