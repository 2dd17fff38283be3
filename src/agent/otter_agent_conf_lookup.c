/* SPDX-License-Identifier: Apache-2.0 */
/* Lookups in a parsed agent.conf and the checks of a slot that need its whole section (apart
 * from the parser, which is near its size limit). */
#include "otter_agent_conf.h"

#include <string.h>

#include "otter_handler.h"

int otter_agent_conf_check_slot(const otter_agent_conf *conf, const otter_slot_conf *s,
                                const char *file, otter_err *err)
{
    if (strcmp(s->a, s->b) == 0)
        return otter_err_set(err, OTTER_EFORMAT, "%s: [slot.%s] a and b are the same path", file,
                             s->name);
    if ((otter_handler_is_ubi_name(s->a) || otter_handler_is_ubi_name(s->b)) &&
        strcmp(s->handler, "ubi") != 0)
        return otter_err_set(err, OTTER_EFORMAT, "%s: [slot.%s] ubiX:NAME needs handler = ubi",
                             file, s->name);
    if (!otter_handler_exists(s->handler) && !otter_agent_conf_handler(conf, s->handler))
        return otter_err_set(err, OTTER_EFORMAT,
                             "%s: [slot.%s] handler: '%.64s' is not raw, archive, file, ubi, "
                             "bootpart or a [handler.NAME] section",
                             file, s->name, s->handler);
    if (strcmp(s->handler, "raw") != 0 &&
        (strcmp(s->direct, "yes") == 0 || strcmp(s->discard, "yes") == 0))
        return otter_err_set(err, OTTER_EFORMAT,
                             "%s: [slot.%s] direct and discard are for the raw handler only", file,
                             s->name);
    return 0;
}

const otter_slot_conf *otter_agent_conf_slot(const otter_agent_conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->n_slots; i++)
        if (strcmp(conf->slots[i].name, name) == 0)
            return &conf->slots[i];
    return NULL;
}

const char *otter_agent_conf_slot_path(const otter_slot_conf *s, int side)
{
    return side == 0 ? s->a : side == 1 ? s->b : NULL;
}

const otter_handler_conf *otter_agent_conf_handler(const otter_agent_conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->n_handlers; i++)
        if (strcmp(conf->handlers[i].name, name) == 0)
            return &conf->handlers[i];
    return NULL;
}
