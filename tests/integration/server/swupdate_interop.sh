#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Debian's SWUpdate (suricatta, hawkBit DDI client) against otter-server on
# 127.0.0.1: a signed .swu uploaded as a foreign release and assigned to a
# device goes through poll -> deploymentBase -> download -> install into a
# file -> feedback; restarted with -c 2 it reports success and the server
# records the action finished/success. (Facts: docs/ddi.md, notes on swupdate.)
source "$(dirname "$0")/lib.sh"
need_packages swupdate cpio jq openssl curl

start_server swupdate-interop "[ddi]
polling = 1s"
sw_pid=
cleanup() {
  if [ -n "$sw_pid" ]; then kill -TERM "$sw_pid" 2>/dev/null || true; wait "$sw_pid" 2>/dev/null || true; fi
  if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  return 0
}
trap cleanup EXIT

# ---- a signed .swu that installs rootfs.img into a plain file ----
mkdir -p "$work/swu" "$work/out" "$work/tmp1" "$work/tmp2"
cd "$work/swu"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=otter-test \
  -keyout signing.key -out signing.crt >/dev/null 2>&1
head -c 200000 /dev/urandom > rootfs.img
sha=$(sha256sum rootfs.img | cut -d' ' -f1)
cat > sw-description <<SWD
software = {
  version = "1.0.0";
  hardware-compatibility: [ "1.0" ];
  images: ( {
    filename = "rootfs.img";
    type = "rawfile";
    path = "$work/out/rootfs.img";
    installed-directly = true;
    sha256 = "$sha";
  } );
}
SWD
openssl cms -sign -in sw-description -out sw-description.sig -signer signing.crt \
  -inkey signing.key -outform DER -nosmimecap -binary
printf '%s\n' sw-description sw-description.sig rootfs.img | cpio -o -H newc --quiet > gw.swu
# A .swu whose signed description promises another image digest: SWUpdate must refuse it.
mkdir bad && cp rootfs.img bad/
sed "s/$sha/$(printf '%064d' 0)/; s|$work/out/rootfs.img|$work/out/bad.img|" sw-description > bad/sw-description
(cd bad && openssl cms -sign -in sw-description -out sw-description.sig -signer ../signing.crt \
  -inkey ../signing.key -outform DER -nosmimecap -binary &&
  printf '%s\n' sw-description sw-description.sig rootfs.img | cpio -o -H newc --quiet > ../bad.swu)
cd - >/dev/null

# ---- server side: tenant, device, foreign release, deployment ----
A=$(login admin "$ADMIN_PW")
expect "tenant created" "$(jreq POST /api/v1/tenants "$A" '{"name":"acme"}')" 201
expect "device provisioned" "$(jreq POST /api/v1/tenants/acme/devices "$A" \
  '{"controller_id":"gw-0001","model":"gw-a"}')" 201
TT=$(body .token)
expect ".swu uploaded as a foreign release" "$(req POST \
  '/api/v1/tenants/acme/releases?type=foreign&filename=gw.swu&version=1.0.0' "$A" \
  --data-binary @"$work/swu/gw.swu")" 201
RID=$(body .id)
expect "sha1 recorded" "$(body .artifact.hashes.sha1)" "$(sha1sum "$work/swu/gw.swu" | cut -d' ' -f1)"
expect "not approved yet: no deployment (409)" "$(jreq POST /api/v1/tenants/acme/deployments "$A" \
  "{\"release\":$RID,\"devices\":[\"gw-0001\"]}")" 409
expect "approved" "$(approve acme "$RID" "$A")" 200
expect "release assigned" "$(jreq POST /api/v1/tenants/acme/deployments "$A" \
  "{\"release\":$RID,\"devices\":[\"gw-0001\"]}")" 201
AID=$(body '.actions[0].id')

# action_field FIELD: the action's field as the management API shows it.
action_field() { req GET "/api/v1/tenants/acme/actions/$AID" "$A" >/dev/null; body "$1"; }
# wait_for SECONDS JQ_EXPR: until the action document satisfies the expression.
wait_for() {
  for _ in $(seq $(($1 * 5))); do
    req GET "/api/v1/tenants/acme/actions/$AID" "$A" >/dev/null
    [ "$(jq -r "$2" "$work/body")" = true ] && return 0
    sleep 0.2
  done
  return 1
}
run_swupdate() { # run_swupdate TMPDIR [extra -u options]
  TMPDIR="$1" swupdate -v -k "$work/swu/signing.crt" -H test:1.0 \
    -u "-t acme -u $URL -i ${CID:-gw-0001} ${AUTH:--k $TT} -p 1 $2" >"$1/swupdate.log" 2>&1 &
  sw_pid=$!
}

# ---- first run: download and install, reported as proceeding ----
run_swupdate "$work/tmp1" ""
if wait_for 60 '[.feedback[].details[]] | any(test("All Chunks Installed"))'; then
  ok "swupdate installed every chunk and said so"
else
  bad "no 'All Chunks Installed.' feedback"; tail -30 "$work/tmp1/swupdate.log"
fi
kill -TERM "$sw_pid"; wait "$sw_pid" 2>/dev/null || true; sw_pid=
expect "the file was installed byte for byte" "$(sha256sum "$work/out/rootfs.img" 2>/dev/null | cut -d' ' -f1)" "$sha"
expect "action still running before the reboot" "$(action_field .status)" running

# ---- after the "reboot": -c 2 reports success ----
run_swupdate "$work/tmp2" "-c 2"
if wait_for 60 '.status == "finished" and .result == "success"'; then
  ok "server recorded the action finished with success"
else
  bad "action not finished/success: $(action_field '.status + "/" + .result')"
  tail -30 "$work/tmp2/swupdate.log"
fi
kill -TERM "$sw_pid"; wait "$sw_pid" 2>/dev/null || true; sw_pid=
expect "device reports the installed version" "$(req GET /api/v1/tenants/acme/devices/gw-0001 "$A" >/dev/null; body .version)" 1.0.0
expect "the poll now offers installedBase" "$(req GET /acme/controller/v1/gw-0001 "TargetToken $TT" >/dev/null; body '._links | has("installedBase")')" true

# ---- a .swu SWUpdate refuses: reported closed/failure at once (device speaks with the
# tenant's GatewayToken this time) ----
expect "gateway token" "$(req POST /api/v1/tenants/acme/gateway-token "$A")" 201
GW=$(body .token)
jreq POST /api/v1/tenants/acme/devices "$A" '{"controller_id":"gw-0002","model":"gw-a"}' >/dev/null
BAD=$(upload acme "$A" "$work/swu/bad.swu" "type=foreign&filename=gw.swu&version=1.0.1")
expect "assigned" "$(jreq POST /api/v1/tenants/acme/deployments "$A" \
  "{\"release\":$BAD,\"devices\":[\"gw-0002\"]}")" 201
AID=$(body '.actions[0].id')
mkdir -p "$work/tmp3"
CID=gw-0002 AUTH="-g $GW" run_swupdate "$work/tmp3" ""
if wait_for 60 '.status == "error" and .result == "failure"'; then
  ok "refused install reported as error/failure"
else
  bad "action not error/failure: $(action_field '.status + "/" + .result')"
  tail -30 "$work/tmp3/swupdate.log"
fi
kill -TERM "$sw_pid"; wait "$sw_pid" 2>/dev/null || true; sw_pid=
expect "nothing installed from the bad .swu" "$(test -e "$work/out/bad.img" && echo present || echo absent)" absent

stop_server
finish
