/* SPDX-License-Identifier: Apache-2.0 */
/* Lookups in a parsed agent.conf (apart from the parser, which is near its size limit). */
#include "otter_agent_conf.h"

#include <string.h>

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
