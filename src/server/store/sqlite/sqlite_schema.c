/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SQLite schema as an append-only list of migrations: migration i takes
 * a database from version i to i + 1. Never edit a shipped migration; add a
 * new one. Version 1 lays out the whole server (devices, releases, rollouts
 * too), so later features add queries, not rewrites. Times are unix seconds.
 */
#include <stddef.h>

#include "sqlite_schema.h"

static const char v1[] =
    "CREATE TABLE tenants ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  gateway_token_sha256 TEXT UNIQUE," /* DDI GatewayToken, hashed */
    "  created_at INTEGER NOT NULL) STRICT;"

    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  password_hash TEXT NOT NULL,"
    "  is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),"
    "  created_at INTEGER NOT NULL,"
    "  password_changed_at INTEGER NOT NULL) STRICT;"

    "CREATE TABLE memberships ("
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  role TEXT NOT NULL CHECK (role IN ('admin','publisher','approver','operator','viewer')),"
    "  PRIMARY KEY (user_id, tenant_id)) STRICT;"
    "CREATE INDEX memberships_tenant ON memberships(tenant_id);"

    /* Sessions and API tokens: only the SHA-256 of the secret is kept. */
    "CREATE TABLE tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('session','api')),"
    "  name TEXT NOT NULL DEFAULT '',"
    "  token_sha256 TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  revoked_at INTEGER) STRICT;"
    "CREATE INDEX tokens_user ON tokens(user_id, kind);"

    /* Names are copied, not referenced: the log outlives deleted users and tenants. */
    "CREATE TABLE audit_log ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  actor_id INTEGER,"
    "  actor TEXT,"
    "  tenant_id INTEGER,"
    "  tenant TEXT,"
    "  action TEXT NOT NULL,"
    "  object TEXT,"
    "  detail TEXT,"
    "  client TEXT) STRICT;"
    "CREATE INDEX audit_tenant ON audit_log(tenant_id, id);"

    /* --- Created now for the device API, releases and rollouts. --- */
    "CREATE TABLE devices ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  controller_id TEXT NOT NULL,"
    "  name TEXT,"
    "  product TEXT,"
    "  model TEXT,"
    "  attributes TEXT NOT NULL DEFAULT '{}'," /* JSON object from DDI configData */
    "  token_sha256 TEXT UNIQUE,"              /* DDI TargetToken, hashed */
    "  installed_release_id INTEGER REFERENCES releases(id) ON DELETE SET NULL,"
    "  last_seen INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (tenant_id, controller_id)) STRICT;"

    "CREATE TABLE device_groups ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  UNIQUE (tenant_id, name)) STRICT;"

    "CREATE TABLE group_members ("
    "  group_id INTEGER NOT NULL REFERENCES device_groups(id) ON DELETE CASCADE,"
    "  device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  PRIMARY KEY (group_id, device_id)) STRICT;"

    /* A release belongs to the tenant that published it (the manufacturer). */
    "CREATE TABLE releases ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  product TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  security_version INTEGER NOT NULL DEFAULT 0,"
    "  kind TEXT NOT NULL DEFAULT 'otter' CHECK (kind IN ('otter','swupdate','rauc','other')),"
    "  manifest TEXT," /* exact bytes of manifest.json for otter packages */
    "  created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (tenant_id, product, version)) STRICT;"

    /* Content-addressed files of a release; hashes in the forms DDI wants. */
    "CREATE TABLE artifacts ("
    "  id INTEGER PRIMARY KEY,"
    "  release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,"
    "  filename TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  sha1 TEXT NOT NULL,"
    "  md5 TEXT NOT NULL,"
    "  url TEXT," /* external base URL (CDN) or NULL for local storage */
    "  UNIQUE (release_id, filename)) STRICT;"

    /* Carrier sign-off: one decision per (release, tenant that will deploy it). */
    "CREATE TABLE approvals ("
    "  id INTEGER PRIMARY KEY,"
    "  release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','approved','rejected')),"
    "  decided_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    "  decided_at INTEGER,"
    "  comment TEXT,"
    "  UNIQUE (release_id, tenant_id)) STRICT;"

    "CREATE TABLE rollouts ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  release_id INTEGER NOT NULL REFERENCES releases(id),"
    "  name TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'draft'"
    "    CHECK (state IN ('draft','running','paused','finished','canceled')),"
    "  target_filter TEXT NOT NULL DEFAULT '{}'," /* JSON: product, model, group, attributes */
    "  current_stage INTEGER NOT NULL DEFAULT 0,"
    "  created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (tenant_id, name)) STRICT;"

    "CREATE TABLE rollout_stages ("
    "  rollout_id INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  percent INTEGER NOT NULL CHECK (percent BETWEEN 0 AND 100),"
    "  success_threshold INTEGER NOT NULL DEFAULT 100," /* percent to advance */
    "  failure_threshold INTEGER NOT NULL DEFAULT 0,"   /* percent to auto-pause */
    "  PRIMARY KEY (rollout_id, idx)) STRICT;"

    /* One deployment of a release to a device (a DDI action). */
    "CREATE TABLE actions ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  rollout_id INTEGER REFERENCES rollouts(id) ON DELETE SET NULL,"
    "  release_id INTEGER NOT NULL REFERENCES releases(id),"
    "  stage INTEGER,"
    "  state TEXT NOT NULL DEFAULT 'scheduled' CHECK (state IN"
    "    ('scheduled','downloading','installing','success','failure','canceled')),"
    "  last_feedback TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL) STRICT;"
    "CREATE INDEX actions_device ON actions(device_id, state);"
    "CREATE INDEX actions_rollout ON actions(rollout_id, state);";

/*
 * Version 2: the device API. Actions get the DDI lifecycle (status and
 * result apart, so approvals and staged rollouts can sit on top: rollout
 * and stage stay nullable), the deployment and cancel feedback of devices
 * is kept per action, devices remember whether they sent their configData,
 * and releases keep the manifest facts for listings as JSON. Version 1
 * never wrote an action, so the table is recreated rather than altered
 * (SQLite cannot change a CHECK constraint in place).
 */
static const char v2[] =
    "DROP TABLE actions;"
    "CREATE TABLE actions ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  release_id INTEGER NOT NULL REFERENCES releases(id)," /* no cascade: 409 on delete */
    "  rollout_id INTEGER REFERENCES rollouts(id) ON DELETE SET NULL,"
    "  stage INTEGER,"
    "  status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN"
    "    ('scheduled','running','canceling','finished','canceled','error')),"
    "  result TEXT NOT NULL DEFAULT 'none' CHECK (result IN ('none','success','failure')),"
    "  download TEXT NOT NULL DEFAULT 'forced' CHECK (download IN ('skip','attempt','forced')),"
    "  update_mode TEXT NOT NULL DEFAULT 'forced'"
    "    CHECK (update_mode IN ('skip','attempt','forced')),"
    "  maintenance_window TEXT CHECK (maintenance_window IN ('available','unavailable')),"
    "  last_execution TEXT,"
    "  last_finished TEXT,"
    "  created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL) STRICT;"
    "CREATE INDEX actions_device ON actions(device_id, status);"
    "CREATE INDEX actions_rollout ON actions(rollout_id, status);"
    "CREATE INDEX actions_release ON actions(release_id);"

    "CREATE TABLE action_feedback ("
    "  id INTEGER PRIMARY KEY,"
    "  action_id INTEGER NOT NULL REFERENCES actions(id) ON DELETE CASCADE,"
    "  at INTEGER NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('deployment','cancel')),"
    "  execution TEXT NOT NULL,"
    "  finished TEXT NOT NULL,"
    "  progress_cnt INTEGER,"
    "  progress_of INTEGER,"
    "  details TEXT NOT NULL DEFAULT '[]') STRICT;" /* JSON array of strings */
    "CREATE INDEX action_feedback_action ON action_feedback(action_id, id);"

    "ALTER TABLE devices ADD COLUMN config_sent INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE releases ADD COLUMN meta TEXT NOT NULL DEFAULT '{}';"
    "CREATE INDEX artifacts_sha256 ON artifacts(sha256);";

/*
 * Version 3: approvals and staged rollouts. Neither table of version 1 was
 * ever written, so both are recreated: an approval is one row per release
 * (a release belongs to one tenant) and can be revoked; a rollout keeps its
 * download/update modes, why it is paused and how many devices it targeted;
 * stages gain a minimum sample before their thresholds are judged. Tokens
 * gain the 'ticket' kind (short-lived, only for event streams), which needs
 * the table rebuilt to change its CHECK.
 */
static const char v3[] =
    "DROP TABLE approvals;"
    "CREATE TABLE approvals ("
    "  release_id INTEGER PRIMARY KEY REFERENCES releases(id) ON DELETE CASCADE,"
    "  state TEXT NOT NULL CHECK (state IN ('approved','rejected','revoked')),"
    "  decided_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    "  decided_by_name TEXT NOT NULL," /* kept when the user is deleted */
    "  decided_at INTEGER NOT NULL,"
    "  comment TEXT NOT NULL DEFAULT '') STRICT;"

    "DROP TABLE rollout_stages;"
    "DROP TABLE rollouts;"
    "CREATE TABLE rollouts ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'draft'"
    "    CHECK (state IN ('draft','running','paused','finished','canceled')),"
    "  pause_reason TEXT NOT NULL DEFAULT '',"
    "  current_stage INTEGER NOT NULL DEFAULT 0,"
    "  target_filter TEXT NOT NULL DEFAULT '{}',"
    "  download TEXT NOT NULL DEFAULT 'forced' CHECK (download IN ('skip','attempt','forced')),"
    "  update_mode TEXT NOT NULL DEFAULT 'forced'"
    "    CHECK (update_mode IN ('skip','attempt','forced')),"
    "  maintenance_window TEXT CHECK (maintenance_window IN ('available','unavailable')),"
    "  devices INTEGER NOT NULL DEFAULT 0,"
    "  accepted_failures INTEGER NOT NULL DEFAULT 0," /* failures an operator resumed past */
    "  created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    "  created_by_name TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  UNIQUE (tenant_id, name)) STRICT;"
    "CREATE INDEX rollouts_release ON rollouts(release_id);"
    "CREATE TABLE rollout_stages ("
    "  rollout_id INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  percent INTEGER NOT NULL CHECK (percent BETWEEN 1 AND 100),"
    "  success_threshold INTEGER NOT NULL CHECK (success_threshold BETWEEN 0 AND 100),"
    "  failure_threshold INTEGER NOT NULL CHECK (failure_threshold BETWEEN 0 AND 100),"
    "  min_devices INTEGER NOT NULL DEFAULT 0 CHECK (min_devices >= 0),"
    "  PRIMARY KEY (rollout_id, idx)) STRICT;"
    "CREATE INDEX actions_rollout_stage ON actions(rollout_id, stage);"

    "CREATE TABLE tokens_v3 ("
    "  id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('session','api','ticket')),"
    "  name TEXT NOT NULL DEFAULT '',"
    "  token_sha256 TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  revoked_at INTEGER) STRICT;"
    "INSERT INTO tokens_v3 SELECT id, user_id, kind, name, token_sha256, created_at, expires_at,"
    "  revoked_at FROM tokens;"
    "DROP TABLE tokens;"
    "ALTER TABLE tokens_v3 RENAME TO tokens;"
    "CREATE INDEX tokens_user ON tokens(user_id, kind);";

/*
 * Version 4: one row counting the writes a device poll could see, so
 * servers sharing a database know when their poll caches went stale
 * (otter_store_generation()).
 */
static const char v4[] = "CREATE TABLE change_counter ("
                         "  id INTEGER PRIMARY KEY CHECK (id = 1),"
                         "  n INTEGER NOT NULL) STRICT;"
                         "INSERT INTO change_counter(id, n) VALUES (1, 0);";

/*
 * A rollout's counts (rules on every closing feedback, stats, event streams)
 * group its actions by stage, status and result: from this index alone, not
 * the table (SQLite at 100,000 actions: 68 ms of CPU per count -> 2-5 ms).
 * It starts with (rollout_id, stage), so that index goes.
 */
static const char v5[] =
    "CREATE INDEX actions_rollout_counts ON actions(rollout_id, stage, status, result);"
    "DROP INDEX actions_rollout_stage;";

/*
 * Version 6: what each change touched, under its count, so a server
 * sharing the database drops only those devices' cached polls (a
 * device's feedback or configData need not void the whole fleet's).
 * device_id 0: the change may touch any device.
 */
static const char v6[] = "CREATE TABLE change_log ("
                         "  seq INTEGER NOT NULL,"
                         "  device_id INTEGER NOT NULL,"
                         "  PRIMARY KEY (seq, device_id)) STRICT, WITHOUT ROWID;";

/*
 * Version 7: a rollout can retry its failed devices (resume with
 * retry_failed). The failed action stays in the device's history, marked
 * with the action that replaced it, and leaves the rollout's counts: the
 * count index takes the mark second, so those counts stay index-only.
 */
static const char v7[] = "ALTER TABLE actions ADD COLUMN"
                         "  superseded_by INTEGER REFERENCES actions(id) ON DELETE SET NULL;"
                         "DROP INDEX actions_rollout_counts;"
                         "CREATE INDEX actions_rollout_counts"
                         "  ON actions(rollout_id, superseded_by, stage, status, result);";

/*
 * Version 8: a tenant id is never used twice. Without AUTOINCREMENT SQLite
 * hands out max(id) + 1, so deleting the newest tenant gave its id to the
 * next one, and with it the deleted tenant's audit log (kept by id). The
 * table is rebuilt (the runner turns foreign keys off around migrations,
 * else DROP TABLE would cascade into every tenant's rows), and the counter
 * starts above every id the audit log still names, so ids deleted before
 * this upgrade are not handed out either.
 */
static const char v8[] = "CREATE TABLE tenants_v8 ("
                         "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
                         "  name TEXT NOT NULL UNIQUE,"
                         "  gateway_token_sha256 TEXT UNIQUE,"
                         "  created_at INTEGER NOT NULL) STRICT;"
                         "INSERT INTO tenants_v8(id, name, gateway_token_sha256, created_at)"
                         "  SELECT id, name, gateway_token_sha256, created_at FROM tenants;"
                         "DROP TABLE tenants;"
                         "ALTER TABLE tenants_v8 RENAME TO tenants;"
                         "DELETE FROM sqlite_sequence WHERE name = 'tenants';"
                         "INSERT INTO sqlite_sequence(name, seq) SELECT 'tenants', max("
                         "  (SELECT coalesce(max(id), 0) FROM tenants),"
                         "  (SELECT coalesce(max(tenant_id), 0) FROM audit_log));";

/*
 * Version 9: delta packages of a release (issue #12), each from one earlier
 * release of the same tenant, stored content-addressed like the full
 * artifact and offered by DDI to devices that run from_version. A release
 * with deltas to or from it is not deleted (otter_store_release_delete
 * refuses), so no delta file is left without its row; the cascades only
 * serve a tenant's deletion.
 */
static const char v9[] =
    "CREATE TABLE release_deltas ("
    "  id INTEGER PRIMARY KEY,"
    "  release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,"
    "  from_release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,"
    "  from_version TEXT NOT NULL,"
    "  filename TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  sha1 TEXT NOT NULL,"
    "  md5 TEXT NOT NULL,"
    "  created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (release_id, from_release_id),"
    "  UNIQUE (release_id, filename)) STRICT;"
    "CREATE INDEX release_deltas_from ON release_deltas(from_release_id);"
    "CREATE INDEX release_deltas_sha256 ON release_deltas(sha256);";

/* ---- consent (issue #17): version 10 ---- */
/*
 * Version 10: the user's consent (docs/ddi.md "User consent"). A rollout
 * and each action carry the operator's consent mode; an action asked with
 * "ask" waits for the device's confirmation (confirm: none = not asked,
 * waiting, confirmed, denied) and keeps the user's last choice reported in
 * feedback (user_choice, user_until for a postponement). A device with
 * hawkBit's auto-confirm active has a row in device_autoconfirm.
 */
static const char v10[] =
    "ALTER TABLE rollouts ADD COLUMN consent TEXT NOT NULL DEFAULT 'auto'"
    "  CHECK (consent IN ('auto','download_then_ask','ask'));"
    "ALTER TABLE actions ADD COLUMN consent TEXT NOT NULL DEFAULT 'auto'"
    "  CHECK (consent IN ('auto','download_then_ask','ask'));"
    "ALTER TABLE actions ADD COLUMN confirm TEXT NOT NULL DEFAULT 'none'"
    "  CHECK (confirm IN ('none','waiting','confirmed','denied'));"
    "ALTER TABLE actions ADD COLUMN user_choice TEXT NOT NULL DEFAULT ''"
    "  CHECK (user_choice IN ('','waiting','postponed','started','declined'));"
    "ALTER TABLE actions ADD COLUMN user_until INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE device_autoconfirm ("
    "  device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
    "  initiator TEXT NOT NULL,"
    "  remark TEXT NOT NULL,"
    "  activated_at INTEGER NOT NULL) STRICT;";
/* ---- end consent ---- */
/* ---- BEGIN schema version 11 (rotate, issue #13: per-tenant trust roots) ---- */
/*
 * Version 11: each tenant's chain of trust roots (docs/keys.md "Rotating the
 * root"). A row is one root version with the exact root.json bytes and its
 * signature list; versions of a tenant are unique, and the API adds only the
 * next one (otter_api_roots.c checks the TUF rule before the insert). Rows
 * are never updated: devices walk the whole history.
 */
static const char v11[] = "CREATE TABLE tenant_roots ("
                          "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
                          "  version INTEGER NOT NULL,"
                          "  root TEXT NOT NULL,"
                          "  signatures TEXT NOT NULL,"
                          "  created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
                          "  created_at INTEGER NOT NULL,"
                          "  PRIMARY KEY (tenant_id, version)) STRICT;";
/* ---- END schema version 11 ---- */

/* ---- s8-devca: version 12 (the lead renumbers at merge) ---- */
/*
 * Version 12: device certificates as DDI authentication (issue #13). A
 * tenant's device CAs (PEM, each with at most one CRL, replaced by the
 * next upload) and its DDI authentication mode; a tenant without a mode
 * row authenticates by token, as before.
 */
static const char v12[] =
    "CREATE TABLE device_cas ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    "  subject TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  not_after INTEGER NOT NULL,"
    "  pem TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  crl_pem TEXT,"
    "  crl_sha256 TEXT,"
    "  crl_this_update INTEGER,"
    "  crl_next_update INTEGER,"
    "  crl_uploaded_at INTEGER,"
    "  UNIQUE (tenant_id, sha256)) STRICT;"
    "CREATE TABLE tenant_ddi_auth ("
    "  tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,"
    "  mode TEXT NOT NULL CHECK (mode IN ('token', 'certificate', 'certificate+token')),"
    "  id_from TEXT NOT NULL CHECK (id_from IN ('cn', 'serial_number', 'san_dns'))) STRICT;";
/* ---- end s8-devca ---- */

/* ---- s9-windows: version 13 (issue #15: maintenance schedules, deferrals; the lead renumbers)
 * ---- */
/*
 * Version 13: a rollout's campaign controls (its weekly maintenance
 * schedule as otter_window.h JSON text, how many times and how long a user
 * may postpone, urgent = no deferral), a device group's schedule, and how
 * many times each action was postponed. Separate tables so the rollout and
 * group rows stay as they were.
 */
static const char v13[] =
    "CREATE TABLE rollout_campaign ("
    "  rollout_id INTEGER PRIMARY KEY REFERENCES rollouts(id) ON DELETE CASCADE,"
    "  schedule TEXT NOT NULL DEFAULT '',"
    "  deferral_max INTEGER NOT NULL DEFAULT -1 CHECK (deferral_max >= -1),"
    "  deferral_seconds INTEGER NOT NULL DEFAULT 0 CHECK (deferral_seconds >= 0),"
    "  urgent INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1))) STRICT;"
    "CREATE TABLE group_schedules ("
    "  group_id INTEGER PRIMARY KEY REFERENCES device_groups(id) ON DELETE CASCADE,"
    "  schedule TEXT NOT NULL) STRICT;"
    "ALTER TABLE actions ADD COLUMN deferrals INTEGER NOT NULL DEFAULT 0;";
/* ---- end s9-windows ---- */

/* ---- s9-dstats: version 14 ---- */
/*
 * Version 14: artifact bytes a rollout's devices downloaded (issue #12,
 * docs/rollouts.md "Bytes sent"): per rollout and kind (full, delta) the
 * responses sent in full, their body bytes, and what the full package
 * would have cost for them. Added to by one upsert per download.
 */
static const char v14[] = "CREATE TABLE rollout_traffic ("
                          "  rollout_id INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
                          "  kind TEXT NOT NULL CHECK (kind IN ('full', 'delta')),"
                          "  downloads INTEGER NOT NULL,"
                          "  bytes INTEGER NOT NULL,"
                          "  full_equivalent INTEGER NOT NULL,"
                          "  PRIMARY KEY (rollout_id, kind)) STRICT;";
/* ---- end s9-dstats ---- */

/* ---- s10-cdn: version 15 ---- */
/*
 * Version 15: artifact bytes in the database ([storage] database = true,
 * otter_store_blobs.h) so several servers need no shared filesystem:
 * one row per artifact (content-addressed), its chunks as base64 text.
 */
static const char v15[] = "CREATE TABLE blobs ("
                          "  sha256 TEXT PRIMARY KEY,"
                          "  size INTEGER NOT NULL CHECK (size >= 0),"
                          "  chunks INTEGER NOT NULL CHECK (chunks >= 0),"
                          "  created_at INTEGER NOT NULL) STRICT;"
                          "CREATE TABLE blob_chunks ("
                          "  sha256 TEXT NOT NULL REFERENCES blobs(sha256) ON DELETE CASCADE,"
                          "  seq INTEGER NOT NULL CHECK (seq >= 0),"
                          "  data TEXT NOT NULL,"
                          "  PRIMARY KEY (sha256, seq)) STRICT;";
/* ---- end s10-cdn ---- */
/* ---- s10-caps: version 16 ---- */
/*
 * Version 16: server-side bandwidth caps on artifact bytes (issue #15,
 * docs/rollouts.md "Bandwidth caps"), bytes per second per rollout and per
 * tenant; no row: no cap.
 */
static const char v16[] =
    "CREATE TABLE rollout_caps ("
    "  rollout_id INTEGER PRIMARY KEY REFERENCES rollouts(id) ON DELETE CASCADE,"
    "  bytes_per_second INTEGER NOT NULL CHECK (bytes_per_second > 0)) STRICT;"
    "CREATE TABLE tenant_caps ("
    "  tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,"
    "  bytes_per_second INTEGER NOT NULL CHECK (bytes_per_second > 0)) STRICT;"
    "CREATE TABLE rollout_skipped ("
    "  rollout_id INTEGER PRIMARY KEY REFERENCES rollouts(id) ON DELETE CASCADE,"
    "  incompatible INTEGER NOT NULL) STRICT;"
    "CREATE TABLE rollout_samples ("
    "  rollout_id INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
    "  at INTEGER NOT NULL,"
    "  counts TEXT NOT NULL,"
    "  PRIMARY KEY (rollout_id, at)) STRICT;";
/* ---- end s10-caps ---- */
/* ---- s11-caps: version 17 ---- */
/*
 * Version 17: each server instance's demand on the bandwidth caps (issue
 * #15, otter_store_caps.h): downloads per capped rollout or tenant, with an
 * expiry, so servers on one database share a cap by their demand.
 */
static const char v17[] = "CREATE TABLE cap_demand ("
                          "  server TEXT NOT NULL,"
                          "  scope INTEGER NOT NULL CHECK (scope IN (0, 1)),"
                          "  cap_id INTEGER NOT NULL,"
                          "  demand INTEGER NOT NULL CHECK (demand > 0),"
                          "  expires_at INTEGER NOT NULL,"
                          "  PRIMARY KEY (server, scope, cap_id)) STRICT;";
/* ---- end s11-caps ---- */

const char *const otter_sqlite_migrations[] = {v1,  v2,  v3,  v4,  v5,  v6,  v7,  v8, v9,
                                               v10, v11, v12, v13, v14, v15, v16, v17};
const size_t otter_sqlite_n_migrations =
    sizeof otter_sqlite_migrations / sizeof *otter_sqlite_migrations;
