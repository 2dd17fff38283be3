/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A slow lane for the HTTP layer, private to otter_http*.c: a few threads
 * of its own and a bounded queue for requests whose handler is known to be
 * slow (a yescrypt password check takes tens of milliseconds). The request
 * is parked (MHD_suspend_connection) while its handler runs here, so the
 * pool threads that answer everyone else, device polls first of all, are
 * never the ones that wait; when the queue is full the request is answered
 * 503 at once instead of waiting.
 */
#ifndef OTTER_HTTP_LANE_H
#define OTTER_HTTP_LANE_H

typedef struct otter_http_lane otter_http_lane;

/* A lane of threads workers and at most queue_max waiting jobs; NULL on failure. */
otter_http_lane *otter_http_lane_new(unsigned threads, unsigned queue_max);

/*
 * Queues run(job) for a lane thread. Returns 0, or -1 when the queue is
 * full or the lane is stopping (then run is never called for job).
 */
int otter_http_lane_submit(otter_http_lane *l, void (*run)(void *job), void *job);

/* Runs every job still queued, joins the threads and frees l. NULL is allowed. */
void otter_http_lane_free(otter_http_lane *l);

#endif
