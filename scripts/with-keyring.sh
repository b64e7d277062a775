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
printf 'coffer-test' | gnome-keyring-daemon --unlock --components=secrets >/dev/null

# The daemon claims its bus name some time after --unlock returns; the first keychain call must wait for it.
for _ in $(seq 1 100); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
    export COFFER_KEYRING_READY=1
    exec "$@"
  fi
  sleep 0.1
done
echo "with-keyring: org.freedesktop.secrets never appeared on the session bus" >&2
exit 1
