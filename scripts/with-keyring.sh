#!/usr/bin/env bash
# Runs a command against a private, real Secret Service (gnome-keyring) on a private D-Bus session, so tests
# use a real OS keychain without touching anyone's own. Where gnome-keyring or dbus is missing, the command
# runs as it is and the keychain tests report themselves skipped with that reason.
set -euo pipefail

if [ "${COFFER_IN_KEYRING_SESSION:-}" != 1 ]; then
  if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
    echo "with-keyring: dbus-run-session or gnome-keyring-daemon not installed; keychain tests will be skipped" >&2
    export COFFER_NO_KEYRING_REASON="gnome-keyring-daemon and dbus-run-session are not installed (apt-get install gnome-keyring dbus dbus-x11 libsecret-tools)"
    exec "$@"
  fi
  export COFFER_IN_KEYRING_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi

unset DISPLAY
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/run" HOME_KEYRING_SCRATCH="$scratch"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
unlock() { printf 'coffer-test' | gnome-keyring-daemon --unlock --components=secrets "$@" >/dev/null; }
bus() { dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus "$@" 2>/dev/null || true; }
# The daemon claims its bus name some time after --unlock returns; the first keychain call must wait for it.
on_bus() {
  for _ in $(seq 1 100); do
    bus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q 'boolean true' && return 0
    sleep 0.1
  done
  return 1
}
daemon_pid() { bus org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets | awk '/uint32/ {print $2}'; }

unlock
if ! on_bus; then
  echo "with-keyring: org.freedesktop.secrets never appeared on the session bus" >&2
  exit 1
fi
export COFFER_KEYRING_READY=1

# gnome-keyring-daemon sometimes aborts under many concurrent clients (a GLib trap; dmesg shows
# "traps: gnome-keyring-d ... in libglib"). The bus then starts another one by activation, without this
# XDG_DATA_HOME and with no unlocked login keyring, and every later keychain test failed ("no result
# found"): one crash cost a CI run 64 tests. The watchdog starts ours again and unlocks it, and says so.
daemon=$(daemon_pid)
(
  while sleep 0.5; do
    if [ -n "$daemon" ] && ! kill -0 "$daemon" 2>/dev/null; then
      echo "with-keyring: gnome-keyring-daemon (pid $daemon) died; starting it again" >&2
      unlock --replace || true
      on_bus || true
      daemon=$(daemon_pid)
    fi
  done
) &
watchdog=$!
status=0
"$@" || status=$?
kill "$watchdog" 2>/dev/null || true
exit "$status"
