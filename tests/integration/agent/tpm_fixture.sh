#!/usr/bin/env bash
# shellcheck disable=SC2154 # work: set by the test
# SPDX-License-Identifier: Apache-2.0
# Sourced by the TPM tests: swtpm (Debian's software TPM 2.0) on 127.0.0.1.
# Its state directory is the TPM's NVRAM: it lives outside every device directory,
# so deleting a device's state leaves the TPM as a real chip would be left.
# Under CI=true a missing swtpm is a failure; elsewhere the test is skipped (77).
need_tpm_tools() {
  local t
  for t in swtpm "$@"; do
    if ! command -v "$t" >/dev/null; then
      if [ "${CI:-}" = true ]; then echo "FAIL: $t is not installed (make deps)" >&2; exit 1; fi
      echo "SKIP: $t is not installed (make deps)" >&2; exit 77
    fi
  done
}

# swtpm_start NVDIR: starts swtpm on 127.0.0.1 with its NVRAM in NVDIR; sets swtpm_pid
# and swtpm_tcti ("swtpm:host=127.0.0.1,port=N"). The TPM is started (TPM2_Startup)
# by swtpm itself. tpm2-tss's swtpm TCTI finds the control channel at port + 1: the
# control socket is bound here and handed over (fd=); the command port (swtpm binds it
# itself: its fd= means a connected client) is checked free first, and a start that
# lost it to another process in between is retried.
swtpm_start() {
  local nv=$1 try i
  mkdir -p "$nv"
  for try in 1 2 3 4 5; do
    : "start attempt $try"
    rm -f "$work/swtpm.port"
    python3 - "$nv" "$work/swtpm.port" <<'PY' &
import os, socket, sys
nv, portfile = sys.argv[1], sys.argv[2]
for attempt in range(100):
    srv, ctl = socket.socket(), socket.socket()
    srv.bind(("127.0.0.1", 0))
    try:
        ctl.bind(("127.0.0.1", srv.getsockname()[1] + 1))
        break
    except OSError:
        srv.close(); ctl.close()
else:
    sys.exit("swtpm: no two neighbouring free ports")
port = srv.getsockname()[1]
srv.close()
ctl.listen(4); os.set_inheritable(ctl.fileno(), True)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % port)
os.rename(portfile + ".tmp", portfile)
os.execvp("swtpm", ["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + nv,
                    "--server", "type=tcp,bindaddr=127.0.0.1,port=%d" % port,
                    "--ctrl", "type=tcp,fd=%d" % ctl.fileno(),
                    "--flags", "not-need-init,startup-clear"])
PY
    swtpm_pid=$!
    for i in $(seq 1 400); do [ -s "$work/swtpm.port" ] && break; : "$i"; kill -0 "$swtpm_pid" 2>/dev/null || break; sleep 0.05; done
    [ -s "$work/swtpm.port" ] || continue
    read -r swtpm_port < "$work/swtpm.port"
    # Ready when the command port answers (bounded); a dead swtpm lost its port: retry.
    for i in $(seq 1 400); do
      kill -0 "$swtpm_pid" 2>/dev/null || break
      if (exec 3<>"/dev/tcp/127.0.0.1/$swtpm_port") 2>/dev/null; then
        # shellcheck disable=SC2034 # swtpm_tcti is for the calling test
        swtpm_tcti="swtpm:host=127.0.0.1,port=$swtpm_port"
        return 0
      fi
      sleep 0.05
    done
    swtpm_stop
  done
  echo "swtpm did not start" >&2
  return 1
}

# swtpm_stop: ends the swtpm started last (its NVRAM stays in NVDIR).
swtpm_stop() {
  [ -n "${swtpm_pid:-}" ] || return 0
  kill "$swtpm_pid" 2>/dev/null || true
  wait "$swtpm_pid" 2>/dev/null || true
  swtpm_pid=
}
