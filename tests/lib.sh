# shellcheck shell=bash
# Shared assertions for the shell tests under tests/: `check` records a pass or a failure with
# a description, `wait_until` polls a command with a limit, `lacks` asserts an absence that a
# failing command cannot fake, `finish` prints the tally and sets the exit status. Sourced, not run.

passed=0
failed=0

check() {
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok - $what"
    else
        failed=$((failed + 1))
        echo "FAIL - $what"
    fi
}

# wait_until SECONDS CMD...: true as soon as CMD succeeds, false after SECONDS.
wait_until() {
    local limit=$1
    shift
    local end=$((SECONDS + limit))
    while [ "$SECONDS" -lt "$end" ]; do
        if "$@"; then
            return 0
        fi
        sleep 0.5
    done
    "$@"
}

# lacks ERE CMD...: CMD succeeds and no line of its output matches ERE. The "nothing there"
# assertions use it so that a command that could not run (node down, file missing) is a failure,
# not an empty answer: `check "no ban" lacks cli-ban on n1 cibadmin -Q -o constraints`.
lacks() {
    local ere=$1 out
    shift
    out=$("$@") || { echo "  could not run: $*"; return 1; }
    if grep -Eq -- "$ere" <<<"$out"; then
        grep -E -- "$ere" <<<"$out" | head -n 5 | sed 's/^/  found: /'
        return 1
    fi
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
