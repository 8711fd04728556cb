# Simulated OMFLOW: helpers shared by the fake service scripts and processes (switches from
# ROOT/standin.conf, paths, the stand-in log, /proc checks, daemonizing).
# Every component lives in ROOT/<Component>/ and imports this file from ROOT/<Component>/lib/.
import os
import signal
import sys
import time

LIB = os.path.dirname(os.path.realpath(__file__))          # ROOT/<Component>/lib
COMPONENT = os.path.dirname(LIB)                            # ROOT/<Component>
ROOT = os.path.dirname(COMPONENT)
CONF_FILE = os.path.join(ROOT, "standin.conf")

DEFAULTS = {
    # Booster (ROOT/Booster)
    "BOOSTER_PORT": "5169", "BOOSTER_BIND": "0.0.0.0", "BOOSTER_NAME": "",
    "BOOSTER_START_DELAY": "0.2", "BOOSTER_START_FAIL": "0", "BOOSTER_START_SCRIPT_DELAY": "0",
    "BOOSTER_IGNORE_TERM": "0", "BOOSTER_STOP_HANG": "0", "BOOSTER_STOP_DELAY": "0.1",
    "BOOSTER_STATUS_HANG": "0", "BOOSTER_STATUS_DELAY": "0", "BOOSTER_ROLE_HOOK_FAIL": "0",
    "BOOSTER_DEFAULT_ROLE": "standby", "BOOSTER_WORKER": "0",
    "BOOSTER_HA_IP": "", "BOOSTER_HA_PORT": "5169", "BOOSTER_HA_POLL": "0.5", "BOOSTER_HA_TIMEOUT": "2",
    # Booster Agent (ROOT/BoosterAgent)
    "AGENT_START_DELAY": "0.1", "AGENT_IGNORE_TERM": "0", "AGENT_STOP_HANG": "0",
    "AGENT_STATUS_HANG": "0", "AGENT_STOPS_SERVER": "1", "AGENT_RESTART_SERVER": "1",
    "AGENT_START_FAIL": "0",
    # OMFLOW Server (ROOT/Server), started by the Booster Agent
    "SERVER_DETACH": "0", "SERVER_HTTP_BIND": "127.0.0.1", "SERVER_HTTP_PORT": "8000",
    "SERVER_START_DELAY": "0.3", "SERVER_NAME": "", "SERVER_POLL": "0.5",
    "SERVER_IGNORE_TERM": "0", "SERVER_HTTP_STATUS": "200",
    "BOOSTER_IP": "127.0.0.1", "SECOND_BOOSTER_IP": "", "SECOND_BOOSTER_PORT": "5169",
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


def flag(key):
    return CONF[key] not in ("", "0", "no", "false")


def num(key):
    return float(CONF[key])


def path(component, *parts):
    return os.path.join(ROOT, component, *parts)


def log(role, event):
    """Append one line to ROOT/<Component>/log/standin.log; never fails."""
    now = time.time()
    line = "%s.%03d %s pid=%d ppid=%d uid=%d %s\n" % (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)), now % 1 * 1000,
        role, os.getpid(), os.getppid(), os.getuid(), event)
    try:
        with open(os.path.join(COMPONENT, "log", "standin.log"), "a") as f:
            f.write(line)
    except OSError:
        pass


def proc_argv(pid):
    """argv of a live (non-zombie) process, else None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except (OSError, ValueError):
        return None
    if stat[stat.rindex(")") + 2:].split()[0] in ("Z", "X"):
        return None
    return argv


def read_pid(pidfile):
    try:
        with open(pidfile) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def running(pidfile, script):
    """PID named by pidfile if it is a live process running script, else None."""
    pid = read_pid(pidfile)
    argv = pid and proc_argv(pid)
    return pid if argv and script in argv else None


def write_pid(pidfile):
    tmp = pidfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(tmp, pidfile)


def remove_pid(pidfile):
    if read_pid(pidfile) == os.getpid():
        try:
            os.unlink(pidfile)
        except OSError:
            pass


def daemonize(argv, logfile):
    """Double fork + setsid, stdio to logfile, then exec argv. Returns in the caller only."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork():
        os.wait()
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.execv(argv[0], argv)


def on_term(handler, ignore_key):
    """SIGTERM runs handler, unless the switch ignore_key says to ignore it."""
    if flag(ignore_key):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, handler)


def sleep_forever():
    while True:
        time.sleep(3600)


def wait_gone(pid, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if proc_argv(pid) is None:
            return True
        time.sleep(0.05)
    return proc_argv(pid) is None
