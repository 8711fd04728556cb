# Simulated ASTERIA Warp: helpers shared by the fake commands and processes
# (switches from standin.conf, paths, the stand-in log, /proc checks).
import os
import sys
import time

LIB = os.path.dirname(os.path.realpath(__file__))        # INSTALL_DIR/server/lib
INSTALL = os.path.dirname(os.path.dirname(LIB))
CONF_FILE = os.path.join(INSTALL, "standin.conf")
MAIN_PY = os.path.join(LIB, "warpmain.py")
CHILD_PY = os.path.join(LIB, "warpchild.py")

DEFAULTS = {
    "DATA_DIR": INSTALL, "PID_FILE": "", "FOREGROUND": "0", "DAEMON_KEEP_STDIO": "0",
    "START_DELAY": "0.5", "START_FAIL": "0", "N_CHILDREN": "3",
    "SERVICES": "FlowService ManagementConsole Schedule",
    "CHILD_RESTART_DELAY": "0.5", "CHILD_START_DELAY": "0", "CHILD_ORPHAN": "stay",
    "HTTP_PORT": "21381", "FSCTRL_DELAY": "0", "HTTP_BIND": "127.0.0.1", "HTTP_DELAY": "0", "HTTP_STATUS": "200",
    "KEEP_PIDFILE": "1", "IGNORE_TERM": "0",
    "STOP_HANG": "0", "STOP_DELAY": "0.3", "STOP_WAIT": "30",
    "FSCTRL_HANG": "0", "FSCTRL_WHOLE_DOWN_EXIT": "0", "SERVICE_DOWN": "",
    "WRITER_LEASE": "0",
}


def read_conf():
    """KEY=VALUE lines; '#' comments; a later line wins; surrounding quotes are stripped."""
    conf = dict(DEFAULTS)
    try:
        with open(CONF_FILE) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, val = line.split("=", 1)
                    val = val.strip()
                    if len(val) >= 2 and val[0] == val[-1] and val[0] in "'\"":
                        val = val[1:-1]
                    conf[key.strip()] = val
    except OSError:
        pass
    return conf


CONF = read_conf()
DATA = CONF["DATA_DIR"]
LOGDIR = os.path.join(DATA, "log")
PID_FILE = os.path.join(INSTALL, CONF["PID_FILE"]) if CONF["PID_FILE"] else os.path.join(LOGDIR, "flowsvc.pid")
STOP_REQUEST = os.path.join(LOGDIR, "stop.request")
STANDIN_LOG = os.path.join(LOGDIR, "standin.log")
WRITER_LEASE = os.path.join(LOGDIR, "writer.lease")
LEASE_CONFLICTS = os.path.join(LOGDIR, "lease-conflicts.log")


def flag(key):
    return CONF[key] not in ("", "0", "no", "false")


def num(key):
    return float(CONF[key])


def services():
    """Child service names: the first N_CHILDREN of SERVICES, padded with Child<i>."""
    names = CONF["SERVICES"].replace(",", " ").split()
    n = int(CONF["N_CHILDREN"])
    return (names + ["Child%d" % i for i in range(len(names) + 1, n + 1)])[:n]


def log(role, event):
    """Append one line to DATA_DIR/log/standin.log; never fails."""
    now = time.time()
    line = "%s.%03d %s pid=%d ppid=%d uid=%d %s\n" % (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)), now % 1 * 1000,
        role, os.getpid(), os.getppid(), os.getuid(), event)
    try:
        with open(STANDIN_LOG, "a") as f:
            f.write(line)
    except OSError:
        pass


def proc_info(pid):
    """(state, ppid, argv) of a live (non-zombie) process, else None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except (OSError, ValueError):
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[0], int(fields[1]), argv


def age(pid):
    """Seconds since process pid started (from /proc: field 22 of stat and /proc/uptime), else None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            started = int(f.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime") as f:
            return float(f.read().split()[0]) - started
    except (OSError, ValueError, IndexError):
        return None


def read_pid():
    try:
        with open(PID_FILE) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def running_main():
    """PID of the running main process (PID file names a live warpmain.py of this install), else None."""
    pid = read_pid()
    info = pid and proc_info(pid)
    return pid if info and MAIN_PY in info[2] else None


def find_children(main_pid):
    """{service name: pid} of live warpchild.py processes whose parent is main_pid."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = proc_info(int(entry))
            if info and info[1] == main_pid and CHILD_PY in info[2]:
                i = info[2].index(CHILD_PY)
                if i + 1 < len(info[2]):
                    found[info[2][i + 1]] = int(entry)
    return found


def sleep_forever():
    while True:
        time.sleep(3600)


def on_sigquit_thread_dump(role):
    """Like a JVM: SIGQUIT writes a thread dump to stdout (the console log) and goes on."""
    import signal

    def dump(signum, frame):
        print("Full thread dump (stand-in %s pid %d)" % (role, os.getpid()), flush=True)
        log(role, "got SIGQUIT, wrote a thread dump")
    signal.signal(signal.SIGQUIT, dump)
