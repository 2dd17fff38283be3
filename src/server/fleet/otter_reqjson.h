/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Management API request bodies: each request kind is a flat JSON object
 * with a fixed set of keys. Parsing is strict — unknown or duplicate keys,
 * wrong types, over-long strings, names outside the allowed characters and
 * nesting deeper than max_depth are refused, with `where` naming the field
 * ("body.password") so clients can point at it.
 */
#ifndef OTTER_REQJSON_H
#define OTTER_REQJSON_H

#include <stddef.h>
#include <stdint.h>

#include "otter_err.h"

typedef enum otter_req_kind {
    OTTER_REQ_NONE = 0,        /* the route takes no body: an empty one or "{}" */
    OTTER_REQ_LOGIN,           /* username, password */
    OTTER_REQ_TENANT_CREATE,   /* name */
    OTTER_REQ_USER_CREATE,     /* username, password, [is_admin] */
    OTTER_REQ_MEMBER_CREATE,   /* username, password, role */
    OTTER_REQ_ROLE_SET,        /* role */
    OTTER_REQ_PASSWORD_SET,    /* password */
    OTTER_REQ_PASSWORD_CHANGE, /* old_password, new_password */
    OTTER_REQ_TOKEN_CREATE,    /* name, password (the caller's), [expires_in] */
    OTTER_REQ_DEVICE_CREATE,   /* controller_id, model, [group], [name] */
    OTTER_REQ_GROUP_CREATE,    /* name */
    /* release, [devices] (names, joined by '\n'), [group], [download], [update],
       [maintenance_window] */
    OTTER_REQ_DEPLOY,
    OTTER_REQ_DECISION,    /* [comment] (approve, reject, revoke) */
    OTTER_REQ_MAINTENANCE, /* maintenance_window */
    OTTER_REQ_RESUME,      /* [retry_failed]; an empty body is fine too */
    /* Not flat: the API checks the media type and reads these bodies itself. */
    OTTER_REQ_CSV,     /* text/csv in memory (bulk device provisioning) */
    OTTER_REQ_UPLOAD,  /* streamed to disk (release upload), never in memory */
    OTTER_REQ_ROLLOUT, /* nested JSON (filter, stages), parsed by otter_api_rollouts.c */
    OTTER_REQ_JSON,    /* another JSON object its handler parses (otter_api_devca.c) */
    OTTER_REQ_KIND_COUNT
} otter_req_kind;

#define OTTER_REQJSON_FIELDS_MAX 7
#define OTTER_REQJSON_LIST_MAX 1000 /* names in a list field */
#define OTTER_REQJSON_WHERE_MAX 64

typedef struct otter_reqjson {
    otter_req_kind kind;
    struct {
        int present;
        char *str; /* owned, NUL-free UTF-8 */
        int64_t num;
        int boolean;
    } v[OTTER_REQJSON_FIELDS_MAX];
    char where[OTTER_REQJSON_WHERE_MAX]; /* set on failure: "body", "body.role", ... */
} otter_reqjson;

/*
 * Parses buf[0..len) as a request of kind. max_depth bounds nesting before
 * jansson sees the text (it recurses). On success out holds the values
 * (release with otter_reqjson_clear); on failure OTTER_EFORMAT and
 * out->where says where.
 */
int otter_reqjson_parse(otter_req_kind kind, const char *buf, size_t len, unsigned max_depth,
                        otter_reqjson *out, otter_err *err);

/*
 * Nesting depth of JSON text, counted without parsing (stops counting past
 * max_depth), so jansson is never handed text that would recurse deeply.
 */
size_t otter_reqjson_depth(const char *buf, size_t len, unsigned max_depth);

/* Frees the strings of r and zeroes it. */
void otter_reqjson_clear(otter_reqjson *r);

/* The value of key, or NULL / 0 when absent. key must belong to r's kind. */
const char *otter_reqjson_str(const otter_reqjson *r, const char *key);
int otter_reqjson_has(const otter_reqjson *r, const char *key);
int64_t otter_reqjson_int(const otter_reqjson *r, const char *key);
int otter_reqjson_bool(const otter_reqjson *r, const char *key);

/*
 * True when s is a valid tenant or user name: 1..64 of [A-Za-z0-9._@-],
 * starting with a letter or digit. Names go into URLs and DDI paths, so
 * they are kept to characters that need no escaping anywhere.
 */
int otter_reqjson_name_ok(const char *s);

#endif
