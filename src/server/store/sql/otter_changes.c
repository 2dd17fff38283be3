/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Change tracking (see otter_changes.h and otter_store_generation()), with
 * the store's transactions, whose commit it completes: a transaction's
 * changes are logged in the database inside it, then told to this
 * server's caches.
 */
#include "otter_changes.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "otter_sql.h"

#define ANY_DEVICE OTTER_CHANGE_ANY_DEVICE
#define TX_DEVICES_MAX 64 /* more devices in one transaction count as any device */
#define LOG_READ_MAX 4096 /* log entries read at a time; more count as any device */
/* Change log entries kept (by count); a server further behind treats everything as changed. */
#define CHANGES_KEPT 65536
/* This server's recent log counts remembered (a power of two; read back within 250 ms). */
#define OWN_COUNTS 8192
/* Device slots for change stamps (a power of two): devices sharing a slot share invalidations. */
#define DEVICE_SLOTS 262144

/*
 * stamp moves with every change this server learns of; wide_stamp is the
 * stamp of the last change that may touch any device, device_stamp that
 * of the last change touching a device of the slot.
 */
struct otter_changes {
    _Atomic uint64_t stamp;
    _Atomic uint64_t wide_stamp;
    _Atomic uint64_t device_stamp[DEVICE_SLOTS];
    _Atomic int64_t checked_ms; /* CLOCK_MONOTONIC ms of the last good read of the log */
    atomic_int checking;        /* a thread is reading it */
    int64_t db_count;           /* the log's count applied so far; only the reading thread */
    int db_count_known;
    atomic_uint log_writes; /* this server's log entries, to drop old ones now and then */
    /* Counts this server logged and committed (at count % size), so reading them back is no change.
     */
    _Atomic int64_t own_counts[OWN_COUNTS];
};

/*
 * The transaction the calling thread holds, and what it changed of what a
 * poll reads: a transaction belongs to one thread from begin to commit.
 */
static _Thread_local otter_store *tx_store;
static _Thread_local int tx_changed, tx_wide;
static _Thread_local size_t tx_n;
static _Thread_local int64_t tx_devices[TX_DEVICES_MAX];

int otter_changes_new(otter_changes **out, otter_err *err)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : otter_err_set(err, OTTER_ENOMEM, "out of memory");
}

void otter_changes_free(otter_changes *c)
{
    free(c);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static _Atomic uint64_t *slot_of(otter_changes *c, int64_t device_id)
{
    return &c->device_stamp[(uint64_t)device_id & (DEVICE_SLOTS - 1)];
}

/* *at = max(*at, v): stamps never go back, whichever writer comes last. */
static void raise_to(_Atomic uint64_t *at, uint64_t v)
{
    uint64_t cur = atomic_load(at);
    while (cur < v && !atomic_compare_exchange_weak(at, &cur, v))
        ;
}

/*
 * Tells this server's caches of a change that is committed (so readers that
 * take the new stamp see its rows): n devices, or any device when n == 0.
 */
static void note_change(otter_changes *c, const int64_t *devices, size_t n)
{
    uint64_t stamp = atomic_fetch_add(&c->stamp, 1) + 1;
    if (n == 0)
        raise_to(&c->wide_stamp, stamp);
    for (size_t i = 0; i < n; i++)
        raise_to(slot_of(c, devices[i]), stamp);
}

static _Atomic int64_t *own_slot(otter_changes *c, int64_t count)
{
    return &c->own_counts[(uint64_t)count & (OWN_COUNTS - 1)];
}

static void tx_note(int64_t device_id)
{
    tx_changed = 1;
    if (device_id == ANY_DEVICE || tx_n == TX_DEVICES_MAX) {
        tx_wide = 1;
        return;
    }
    for (size_t i = 0; i < tx_n; i++)
        if (tx_devices[i] == device_id)
            return;
    tx_devices[tx_n++] = device_id;
}

/* ---- counted writes ---- */

int otter_change_begin(otter_store *s, otter_change *ch, otter_err *err)
{
    ch->s = NULL;
    ch->own = tx_store != s;
    int ret = ch->own ? otter_store_begin(s, err) : 0;
    if (ret == 0)
        ch->s = s; /* only a begun change can write (otter_sql_write() checks) */
    return ret;
}

int otter_change_end(otter_change *ch, int ret, int64_t device_id, otter_err *err)
{
    otter_store *s = ch->s;
    if (!s)
        return ret;
    ch->s = NULL;
    tx_note(device_id);
    if (!ch->own)
        return ret;
    if (ret < 0) {
        otter_store_rollback(s);
        return ret;
    }
    return otter_store_commit(s, err);
}

/* ---- transactions ---- */

int otter_store_begin(otter_store *s, otter_err *err)
{
    int ret = s->drv->begin(s->conn, err);
    if (ret == 0) {
        tx_store = s;
        tx_changed = tx_wide = 0;
        tx_n = 0;
    }
    return ret;
}

int otter_changes_tx_held(otter_store *s)
{
    return tx_store == s;
}

/*
 * One count for the change, an entry per device (0: any device), in the
 * writer's transaction. The counter's row lock is held to the commit, so
 * counts commit in order: a reader that sees count c has seen all below.
 */
static int log_change(otter_store *s, const int64_t *devices, size_t n, int64_t *count,
                      otter_err *err)
{
    *count = 0;
    int ret =
        otter_sql_write_quiet(s, "counting a change", count, err,
                              "UPDATE change_counter SET n = n + 1 WHERE id = 1 RETURNING n", "");
    for (size_t i = 0; ret == 0 && i < (n ? n : 1); i++)
        ret = otter_sql_write_quiet(s, "logging a change", NULL, err,
                                    "INSERT INTO change_log(seq, device_id) VALUES (?, ?)"
                                    " ON CONFLICT DO NOTHING",
                                    "ii", *count, n ? devices[i] : (int64_t)0);
    if (ret == 0 && atomic_fetch_add(&s->changes->log_writes, 1) % 256 == 255)
        ret = otter_sql_write_quiet(s, "dropping old change log entries", NULL, err,
                                    "DELETE FROM change_log WHERE seq <= ?", "i",
                                    *count - CHANGES_KEPT);
    return ret;
}

int otter_store_commit(otter_store *s, otter_err *err)
{
    int dirty = tx_store == s && tx_changed, ret;
    int64_t count = 0;
    size_t n = tx_wide ? 0 : tx_n;
    if (tx_store == s)
        tx_store = NULL;
    /* The log is written in the transaction itself: other servers see both or neither. */
    if (dirty && (ret = log_change(s, tx_devices, n, &count, err)) < 0) {
        s->drv->rollback(s->conn);
        return ret;
    }
    ret = s->drv->commit(s->conn, err);
    /* Only once committed: a count rolled back is given to the next change, maybe another server's.
     */
    if (dirty && ret == 0)
        atomic_store(own_slot(s->changes, count), count);
    if (dirty)
        note_change(s->changes, tx_devices, n);
    return ret;
}

void otter_store_rollback(otter_store *s)
{
    if (tx_store == s)
        tx_store = NULL;
    s->drv->rollback(s->conn);
}

/* ---- reading the other servers' changes ---- */

/* Log entries read in one go, checked before any is applied. */
struct log_read {
    otter_changes *c;
    int64_t last; /* highest count read */
    int wide;     /* a change to any device, or entries missing (dropped) */
    size_t total; /* entries read */
    size_t n;     /* other servers' devices among them */
    int64_t devices[LOG_READ_MAX];
};

static int log_entry(const otter_sqlrow *row, void *ctx, otter_err *err)
{
    struct log_read *r = ctx;
    int64_t count = otter_sql_int(row, 0), device_id = otter_sql_int(row, 1);
    (void)err;
    /* Counts are dense (one per logged change, committed in order): a jump means dropped entries.
     */
    if (count > r->last + 1)
        r->wide = 1;
    r->last = count;
    r->total++;
    if (atomic_load(own_slot(r->c, count)) == count) /* told at its commit already */
        return 0;
    if (device_id == ANY_DEVICE)
        r->wide = 1;
    else if (r->n < LOG_READ_MAX)
        r->devices[r->n++] = device_id;
    return 0;
}

/* Reads what other servers (and this one) logged since the last read; under c->checking. */
static int read_log(otter_store *s)
{
    otter_changes *c = s->changes;
    otter_err err;
    if (!c->db_count_known) {
        /* Start from now: nothing is cached yet, so nothing before matters. */
        int64_t counter = 0;
        if (otter_sql_read(s, "reading the change counter", otter_sql_int_row, &counter, &err,
                           "SELECT n FROM change_counter WHERE id = 1", "") < 0)
            return -1;
        c->db_count = counter;
        c->db_count_known = 1;
        note_change(c, NULL, 0);
        return 0;
    }
    struct log_read *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->c = c;
    r->last = c->db_count;
    int ret = otter_sql_read(s, "reading the change log", log_entry, r, &err,
                             "SELECT seq, device_id FROM change_log WHERE seq > ?"
                             " ORDER BY seq, device_id LIMIT ?",
                             "ii", c->db_count, (int64_t)LOG_READ_MAX);
    if (ret == 0 && r->last != c->db_count) {
        /*
         * A full read may have split the entries of its last count: the
         * rest are covered by treating the read as touching any device.
         */
        if (r->wide || r->total == LOG_READ_MAX)
            note_change(c, NULL, 0);
        else if (r->n)
            note_change(c, r->devices, r->n);
        c->db_count = r->last;
    }
    free(r);
    return ret < 0 ? -1 : 0;
}

int otter_store_generation(otter_store *s, uint64_t *gen)
{
    otter_changes *c = s->changes;
    int64_t now = now_ms();
    int expected = 0;
    /* One thread asks the database when due; the others go on with what is known. */
    if (now - atomic_load(&c->checked_ms) >= OTTER_STORE_CHANGES_CHECK_MS &&
        atomic_compare_exchange_strong(&c->checking, &expected, 1)) {
        /* Trusted from when the question was asked, not from when it was answered. */
        if (read_log(s) == 0)
            atomic_store(&c->checked_ms, now);
        atomic_store(&c->checking, 0);
    }
    return otter_store_generation_known(s, gen);
}

int otter_store_generation_known(otter_store *s, uint64_t *gen)
{
    *gen = atomic_load(&s->changes->stamp);
    if (now_ms() - atomic_load(&s->changes->checked_ms) > OTTER_STORE_CHANGES_BOUND_MS)
        return OTTER_ESTATE;
    return 0;
}

uint64_t otter_store_generation_wide(otter_store *s)
{
    return atomic_load(&s->changes->wide_stamp);
}

int otter_store_unchanged_since(otter_store *s, uint64_t gen, int64_t device_id)
{
    otter_changes *c = s->changes;
    return atomic_load(&c->wide_stamp) <= gen && atomic_load(slot_of(c, device_id)) <= gen;
}

/* ---- counted writes and the store's transactions (otter_sql.h) ---- */

int otter_sql_write(const otter_change *ch, const char *what, int64_t *out, otter_err *err,
                    const char *sql, const char *types, ...)
{
    /* A counted write needs a change that otter_change_begin() started and did not end. */
    if (!ch || !ch->s)
        return otter_err_set(err, OTTER_EUSAGE, "%s: a counted write outside its change", what);
    va_list ap;
    va_start(ap, types);
    int ret = otter_sql_vwrite(ch->s, what, out, err, sql, types, ap);
    va_end(ap);
    return ret;
}

int otter_sql_change(otter_store *s, int64_t device_id, const char *what, int64_t *out,
                     otter_err *err, const char *sql, const char *types, ...)
{
    otter_change ch;
    int ret = otter_change_begin(s, &ch, err);
    if (ret == 0) {
        va_list ap;
        va_start(ap, types);
        ret = otter_sql_vwrite(s, what, out, err, sql, types, ap);
        va_end(ap);
    }
    return otter_change_end(&ch, ret, device_id, err);
}

int otter_sql_tx_open(otter_store *s, int *own, otter_err *err)
{
    *own = !otter_changes_tx_held(s);
    return *own ? otter_store_begin(s, err) : 0;
}

int otter_sql_tx_close(otter_store *s, int own, int ret, otter_err *err)
{
    if (!own)
        return ret;
    if (ret < 0) {
        otter_store_rollback(s);
        return ret;
    }
    return otter_store_commit(s, err);
}
