# Shared assertions for the shell tests under tests/: `check` records a pass or a failure with
# a description, `wait_until` polls a command with a limit, `finish` prints the tally and sets
# the exit status. Sourced, not run.

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

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
