/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "Verify the connection" (docs/device-ui.md): one request to the DDI
 * server as the daemon makes it (CA, pin, client certificate, proxy,
 * token), and the failure named for a user, one word for a UI and a
 * sentence:
 *   metered          [preconditions] metered = forbid and metered_command
 *                    says the link is metered (exit 0)
 *   dns              the server's name does not resolve
 *   refused          nothing listens there (connection refused)
 *   no_route         network or host unreachable
 *   timeout          no answer in time
 *   pin              the server's key is not the pinned one
 *   cert_expired     the server's certificate has expired
 *   tls_untrusted    the server's certificate is not trusted (CA, name)
 *   tls              another TLS failure
 *   device_refused   the server refused this device (HTTP 401, 403)
 *   http             another HTTP status
 *   config           the settings themselves are wrong (pin over http ...)
 *   ""               it worked
 */
#ifndef OTTER_CONTROL_VERIFY_H
#define OTTER_CONTROL_VERIFY_H

#include <stddef.h>

#include "otter_agent_conf.h"
#include "otter_ddi_http.h"

/* Fills failure (word, "" when fine) and message (the sentence). */
void otter_control_verify(const otter_agent_conf *conf, const otter_ddi_conn *c, char *failure,
                          size_t failure_len, char *message, size_t message_len);

/* The name of a curl result (for tests of the classification). */
const char *otter_control_verify_name(int curl_code, long os_errno, long verify_result,
                                      long http_status);

#endif
