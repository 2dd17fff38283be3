#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The user's consent (issue #17, docs/ddi.md "User consent") against a real
# otter-server on 127.0.0.1 with a real SQLite file (or PostgreSQL, see
# lib.sh), driven by curl as a foreign DDI client would follow hawkBit's
# documentation: consent auto, download_then_ask (hawkBit's soft action) and
# ask (confirmationBase: no deploymentBase before the device confirmed;
# denied stays open and counts as declined; a later confirm goes ahead),
# hawkBit's auto-confirm, malformed confirmation bodies refused without a
# change, the users' choices (otter.user=...) per device and counted in a
# rollout's stats, and the release notes of a signed manifest travelling
# from `otter pack --notes` to the management API and DDI chunk metadata.
source "$(dirname "$0")/lib.sh"
need_packages jq curl sqlite3 python3

keys="${OTTER_TEST_TMP:-/tmp}/consent-keys.$$"
rm -rf "$keys"; mkdir -p "$keys"
trap 'if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi; drop_pg_db; rm -rf "$keys" "${work:-/nonexistent}"' EXIT

"$otter" keygen --type ed25519 --out "$keys/rel" >/dev/null
"$otter" root new --pubkey "$keys/rel.pub" --threshold 1 -o "$keys/root.json" >/dev/null
head -c 100000 /dev/urandom > "$keys/v1.img"
"$otter" pack --product gw --compatible gw-a --version 1.0 --security-version 3 \
  --image rootfs="$keys/v1.img" --key "$keys/rel.key" -o "$keys/1.0.zip" >/dev/null

start_server consent "[trust]
root = $keys/root.json
[ddi]
polling = 90s"
A=$(login admin "$ADMIN_PW")
jreq POST /api/v1/tenants "$A" '{"name":"acme"}' >/dev/null
jreq POST /api/v1/tenants/acme/users "$A" '{"username":"op","password":"user-pass-12","role":"operator"}' >/dev/null
OP=$(login op user-pass-12)
R1=$(upload acme "$A" "$keys/1.0.zip")
declare -A TOK
for dev in auto dta ask ask2 ac r1 r2 r3; do
  jreq POST /api/v1/tenants/acme/devices "$OP" "{\"controller_id\":\"$dev\",\"model\":\"gw-a\"}" >/dev/null
  TOK[$dev]="TargetToken $(body .token)"
done
ddi() { # ddi METHOD DEVICE TAIL [JSON]: a DDI request of DEVICE with its token
  local d=$2 t=$3
  if [ $# -ge 4 ]; then jreq "$1" "/acme/controller/v1/$d$t" "${TOK[$d]}" "$4"
  else req "$1" "/acme/controller/v1/$d$t" "${TOK[$d]}"; fi
}
deploy() { # deploy DEVICE CONSENT [EXTRA]: prints the status, action id in ACT
  jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R1,\"devices\":[\"$1\"],\"consent\":\"$2\"${3:-}}"
}
poll_links() { ddi GET "$1" "" >/dev/null; body '._links | keys | join(",")'; }
action() { req GET "/api/v1/tenants/acme/actions/$1" "$OP" >/dev/null; body "$2"; }

# ---- the operator's choice is checked ----
expect "unknown consent refused (400)" "$(deploy auto maybe)" 400
expect "... naming the field" "$(body .error.where)" body.consent
expect "download_then_ask with update forced refused (400)" "$(deploy dta download_then_ask ',"update":"forced"')" 400
expect "nothing was assigned by the refusals" "$(poll_links dta)" configData

# ---- auto: today's behaviour ----
expect "auto deployment (201)" "$(deploy auto auto)" 201
AUTO=$(body '.actions[0].id')
expect "auto: deploymentBase in the poll" "$(poll_links auto)" configData,deploymentBase
expect "auto: deploymentBase (200)" "$(ddi GET auto "/deploymentBase/$AUTO")" 200
expect "auto: forced/forced" "$(body '.deployment.download + "/" + .deployment.update')" forced/forced
expect "auto: otter.size in the chunk metadata" \
  "$(body '.deployment.chunks[0].metadata[] | select(.key == "otter.size") | .value')" "$(stat -c %s "$keys/1.0.zip")"
expect "auto: action says consent auto" "$(action "$AUTO" '.consent + "/" + .confirmation')" auto/none

# ---- download_then_ask: hawkBit's soft action, the user's choices as feedback ----
expect "download_then_ask deployment (201)" "$(deploy dta download_then_ask)" 201
DTA=$(body '.actions[0].id')
expect "dta: deploymentBase (200)" "$(ddi GET dta "/deploymentBase/$DTA")" 200
expect "dta: download forced, update attempt" "$(body '.deployment.download + "/" + .deployment.update')" forced/attempt
fb() { # fb DEVICE ACTION DETAIL: proceeding feedback with one details line
  ddi POST "$1" "/deploymentBase/$2/feedback" \
    "{\"id\":\"$2\",\"status\":{\"execution\":\"proceeding\",\"result\":{\"finished\":\"none\"},\"details\":[\"$3\"]}}"
}
expect "dta: otter.user=waiting (200)" "$(fb dta "$DTA" otter.user=waiting)" 200
expect "dta: the action shows the user waiting" "$(action "$DTA" .user.choice)" waiting
expect "dta: malformed choice refused (400)" "$(fb dta "$DTA" otter.user=whenever)" 400
expect "dta: postponed without until refused (400)" "$(fb dta "$DTA" otter.user=postponed)" 400
expect "dta: postponed with a bad time refused (400)" "$(fb dta "$DTA" 'otter.user=postponed;until=tomorrow')" 400
expect "dta: refusals changed nothing" "$(action "$DTA" '.user.choice + " " + (.feedback | length | tostring)')" "waiting 1"
expect "dta: postponed (200)" "$(fb dta "$DTA" 'otter.user=postponed;until=2030-01-02T03:04:05Z')" 200
expect "dta: postponed until that time" "$(action "$DTA" '.user.choice + " " + .user.until')" "postponed 2030-01-02T03:04:05Z"

# ---- ask: hawkBit's confirmationBase ----
expect "ask deployment (201)" "$(deploy ask ask)" 201
ASK=$(body '.actions[0].id')
expect "ask: confirmationBase, no deploymentBase in the poll" "$(poll_links ask)" configData,confirmationBase
expect "ask: the link names the action" "$(body ._links.confirmationBase.href)" "$URL/acme/controller/v1/ask/confirmationBase/$ASK"
expect "ask: deploymentBase refused before confirmation (404)" "$(ddi GET ask "/deploymentBase/$ASK")" 404
expect "ask: deployment feedback refused before confirmation (404)" "$(fb ask "$ASK" otter.user=started)" 404
expect "ask: confirmationBase state (200)" "$(ddi GET ask /confirmationBase)" 200
expect "ask: auto-confirm off, links to activate and to the action" \
  "$(body '(.autoConfirm.active | tostring) + " " + (._links | keys | join(","))')" "false activateAutoConfirm,confirmationBase"
expect "ask: confirmationBase/{id} (200)" "$(ddi GET ask "/confirmationBase/$ASK")" 200
expect "ask: the offer as deploymentBase shows it" \
  "$(body '.id + " " + .confirmation.download + " " + .confirmation.chunks[0].artifacts[0].filename + " " + .actionHistory.status')" \
  "$ASK forced gw-1.0.zip WAIT_FOR_CONFIRMATION"
conf() { ddi POST "$1" "/confirmationBase/$2/feedback" "$3"; }
expect "bad: empty body (400)" "$(conf ask "$ASK" '')" 400
expect "bad: not JSON (400)" "$(conf ask "$ASK" '{"confirmation":')" 400
expect "bad: unknown word (400)" "$(conf ask "$ASK" '{"confirmation":"maybe"}')" 400
expect "bad: unknown key (400)" "$(conf ask "$ASK" '{"confirmation":"confirmed","mood":"ok"}')" 400
expect "bad: code not an integer (400)" "$(conf ask "$ASK" '{"confirmation":"confirmed","code":"x"}')" 400
big=$(head -c 5000 /dev/zero | tr '\0' x)
expect "bad: oversized details line (400)" "$(conf ask "$ASK" "{\"confirmation\":\"confirmed\",\"details\":[\"$big\"]}")" 400
many=$(jq -cn '[range(200) | "x"]')
expect "bad: too many details (400)" "$(conf ask "$ASK" "{\"confirmation\":\"confirmed\",\"details\":$many}")" 400
expect "bad: other action (404)" "$(conf ask "$AUTO" '{"confirmation":"confirmed"}')" 404
expect "bad: action of consent auto (409)" "$(conf auto "$AUTO" '{"confirmation":"confirmed"}')" 409
expect "refusals changed nothing" "$(action "$ASK" '.confirmation + " " + (.feedback | length | tostring)')" "waiting 0"
expect "still asking after the refusals" "$(poll_links ask)" configData,confirmationBase
expect "denied (200)" "$(conf ask "$ASK" '{"confirmation":"denied","code":7,"details":["otter.user=declined"]}')" 200
expect "denied: the action stays open, declined" "$(action "$ASK" '.status + " " + .confirmation + " " + .user.choice')" "scheduled denied declined"
expect "denied: recorded as feedback" "$(action "$ASK" '.feedback[0].details | join(",")')" "confirmation=denied,code=7,otter.user=declined"
expect "denied: still confirmationBase" "$(poll_links ask)" configData,confirmationBase
expect "confirmed later (200)" "$(conf ask "$ASK" '{"confirmation":"confirmed"}')" 200
expect "confirmed: deploymentBase in the next poll" "$(poll_links ask)" configData,deploymentBase
expect "confirmed: deploymentBase (200)" "$(ddi GET ask "/deploymentBase/$ASK")" 200
expect "confirmed: no longer declined" "$(action "$ASK" '.confirmation + " " + (.user | tostring)')" "confirmed null"
expect "confirmed again: a retry (200)" "$(conf ask "$ASK" '{"confirmation":"confirmed"}')" 200
expect "denied after confirmed (409)" "$(conf ask "$ASK" '{"confirmation":"denied"}')" 409
expect "confirmationBase/{id} of a confirmed action (404)" "$(ddi GET ask "/confirmationBase/$ASK")" 404
expect "GET on feedback (405)" "$(ddi GET ask "/confirmationBase/$ASK/feedback")" 405

# ---- auto-confirm ----
expect "ask deployment for ac (201)" "$(deploy ac ask)" 201
expect "ac: asked" "$(poll_links ac)" configData,confirmationBase
expect "activateAutoConfirm bad body (400)" "$(ddi POST ac /confirmationBase/activateAutoConfirm '{"initiator":5}')" 400
expect "activateAutoConfirm (200)" "$(ddi POST ac /confirmationBase/activateAutoConfirm '{"initiator":"alice","remark":"night shift"}')" 200
expect "activateAutoConfirm again (409)" "$(ddi POST ac /confirmationBase/activateAutoConfirm '')" 409
expect "ac: the waiting action goes ahead" "$(poll_links ac)" configData,deploymentBase
expect "ac: state (200)" "$(ddi GET ac /confirmationBase)" 200
expect "ac: active with initiator and remark" \
  "$(body '(.autoConfirm.active | tostring) + " " + .autoConfirm.initiator + " " + .autoConfirm.remark + " " + (._links | keys | join(","))')" \
  "true alice night shift deactivateAutoConfirm"
expect "deactivateAutoConfirm (200)" "$(ddi POST ac /confirmationBase/deactivateAutoConfirm '')" 200
expect "ac: state off again" "$(ddi GET ac /confirmationBase >/dev/null; body .autoConfirm.active)" false

# ---- a rollout with consent ask: the users' choices in its stats ----
jreq POST /api/v1/tenants/acme/groups "$OP" '{"name":"lab"}' >/dev/null
for d in r1 r2 r3; do req PUT "/api/v1/tenants/acme/groups/lab/devices/$d" "$OP" >/dev/null; done
expect "rollout with a bad consent (400)" \
  "$(jreq POST /api/v1/tenants/acme/rollouts "$OP" "{\"name\":\"w0\",\"release\":$R1,\"filter\":{\"groups\":[\"lab\"]},\"stages\":[{\"percent\":100}],\"consent\":\"later\"}")" 400
expect "... naming the field" "$(body .error.where)" body.consent
expect "rollout ask (201)" \
  "$(jreq POST /api/v1/tenants/acme/rollouts "$OP" "{\"name\":\"w1\",\"release\":$R1,\"filter\":{\"groups\":[\"lab\"]},\"stages\":[{\"percent\":100}],\"consent\":\"ask\"}")" 201
RO=$(body .id)
expect "rollout shows its consent" "$(body .consent)" ask
expect "rollout start (200)" "$(jreq POST "/api/v1/tenants/acme/rollouts/$RO/start" "$OP" '{}')" 200
stats() { req GET "/api/v1/tenants/acme/rollouts/$RO/stats" "$OP" >/dev/null; body '.users | "\(.waiting) \(.postponed) \(.declined) \(.started)"'; }
expect "stats: three waiting for their users" "$(stats)" "3 0 0 0"
rid() { ddi GET "$1" "" >/dev/null; body '._links.confirmationBase.href' | sed 's#.*/##'; }
A1=$(rid r1); A2=$(rid r2); A3=$(rid r3)
expect "r1 declines (200)" "$(conf r1 "$A1" '{"confirmation":"denied"}')" 200
expect "r2 confirms (200)" "$(conf r2 "$A2" '{"confirmation":"confirmed"}')" 200
expect "stats: one declined, one waiting" "$(stats)" "1 0 1 0"
expect "r2 deploymentBase (200)" "$(ddi GET r2 "/deploymentBase/$A2")" 200
expect "r2 started (200)" "$(fb r2 "$A2" otter.user=started)" 200
expect "stats: one started" "$(stats)" "1 0 1 1"
expect "r3 confirms (200)" "$(conf r3 "$A3" '{"confirmation":"confirmed"}')" 200
expect "r3 deploymentBase (200)" "$(ddi GET r3 "/deploymentBase/$A3")" 200
expect "r3 postpones (200)" "$(fb r3 "$A3" 'otter.user=postponed;until=2030-01-01T00:00:00Z')" 200
expect "stats: one postponed" "$(stats)" "0 1 1 1"
expect "per device: r1's history shows the decline" \
  "$(req GET /api/v1/tenants/acme/devices/r1/history "$OP" >/dev/null; body '.actions[0].user.choice')" declined

# ---- release notes: signed in the manifest, shown by the API, sent as DDI chunk metadata ----
printf 'Fixes the Wi-Fi drop.\nFaster boot.' > "$keys/en.txt"
printf '修复 Wi-Fi 断开。' > "$keys/zh.txt"
head -c 100000 /dev/urandom > "$keys/v2.img"
"$otter" pack --product gw --compatible gw-a --version 1.1 --security-version 4 \
  --image rootfs="$keys/v2.img" --key "$keys/rel.key" --notes en="$keys/en.txt" --notes zh-CN="$keys/zh.txt" \
  -o "$keys/1.1.zip" >/dev/null
expect "otter inspect shows the signed notes" "$("$otter" inspect "$keys/1.1.zip" | grep -c -e '^notes: .*2 languages (signed)' -e 'Fixes the Wi-Fi drop.')" 2
# The same package with one byte of the English notes changed, the signature kept.
python3 - "$keys/1.1.zip" "$keys/tampered.zip" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
    for info in zin.infolist():
        data = zin.read(info.filename)
        if info.filename == "manifest.json":
            assert b"Wi-Fi drop" in data
            data = data.replace(b"Wi-Fi drop", b"Wi-Fi dpor")
        zout.writestr(info, data)
PY
expect "tampered notes: otter verify refuses the signature" \
  "$("$otter" verify "$keys/tampered.zip" --trust "$keys/root.json" 2>&1 >/dev/null | grep -c 'does not verify')" 1
expect "the untampered package verifies" "$("$otter" verify "$keys/1.1.zip" --trust "$keys/root.json" >/dev/null 2>&1; echo $?)" 0
expect "tampered notes: the server refuses the upload (422)" "$(req POST /api/v1/tenants/acme/releases "$A" --data-binary @"$keys/tampered.zip")" 422
R2=$(upload acme "$A" "$keys/1.1.zip")
expect "API: the release's notes" "$(req GET "/api/v1/tenants/acme/releases/$R2" "$OP" >/dev/null; body '.notes.en + "|" + .notes["zh-CN"]')" \
  "$(printf 'Fixes the Wi-Fi drop.\nFaster boot.|修复 Wi-Fi 断开。')"
expect "API: a release without notes has none" "$(req GET "/api/v1/tenants/acme/releases/$R1" "$OP" >/dev/null; body .notes)" null
# The auto device installs 1.0 (security version 3); 1.1 (4) is a security update for it.
close_ok() { ddi POST "$1" "/deploymentBase/$2/feedback" "{\"id\":\"$2\",\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"success\"}}}"; }
expect "auto installs 1.0 (200)" "$(close_ok auto "$AUTO")" 200
expect "1.1 to auto, asking (201)" "$(jreq POST /api/v1/tenants/acme/deployments "$OP" "{\"release\":$R2,\"devices\":[\"auto\"],\"consent\":\"ask\"}")" 201
N=$(body '.actions[0].id')
expect "DDI: confirmationBase carries the notes" \
  "$(ddi GET auto "/confirmationBase/$N" >/dev/null; body '[.confirmation.chunks[0].metadata[] | select(.key | startswith("otter.notes.")) | "\(.key)=\(.value)"] | join("|")')" \
  "$(printf 'otter.notes.en=Fixes the Wi-Fi drop.\nFaster boot.|otter.notes.zh-CN=修复 Wi-Fi 断开。')"
expect "DDI: a security update for this device" \
  "$(body '.confirmation.chunks[0].metadata[] | select(.key == "otter.security") | .value')" 1
expect "DDI: size of the download" \
  "$(body '.confirmation.chunks[0].metadata[] | select(.key == "otter.size") | .value')" "$(stat -c %s "$keys/1.1.zip")"

stop_server
finish
