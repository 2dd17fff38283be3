/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a user is shown of an offered update, read from the server's
 * deploymentBase (or confirmationBase) body: the action, the version, the
 * download size, and from chunks[].metadata (s8 wire agreement, docs/ddi.md
 * "User consent"): otter.notes.<lang> (release notes, at most 8 KiB each),
 * otter.security = 1, otter.size = download bytes. Metadata the device does
 * not know is ignored (the server may add more); a bad known value is an
 * error naming it.
 */
#ifndef OTTER_CONTROL_OFFER_H
#define OTTER_CONTROL_OFFER_H

#include <stddef.h>

#include "otter_control_proto.h"
#include "otter_err.h"

/*
 * Parses body (len bytes): key is "deployment" (deploymentBase) or
 * "confirmation" (confirmationBase, which sets offer->consent). The offer
 * is cleared first; the caller clears it. OTTER_EFORMAT, OTTER_ENOMEM.
 */
int otter_control_offer_parse(const char *body, size_t len, const char *key,
                              otter_control_offer *offer, otter_err *err);

/*
 * The body of POST .../confirmationBase/{action}/feedback (hawkBit's user
 * consent): {"confirmation":"confirmed"|"denied","code":0,"details":[detail]}.
 * Caller frees; NULL when out of memory.
 */
char *otter_control_confirmation_new(int confirmed, const char *detail);

/*
 * hawkBit's user consent for the offer of action: 1 confirm (the user's
 * download or start of it), -1 deny (decline), 0 nothing asked yet.
 * todo_* are otter_control_todo's fields for the request's action.
 */
int otter_control_consent_answer(const char *todo_action, int download, int start, int decline,
                                 const char *action);

#endif
