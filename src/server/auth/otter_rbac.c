/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_rbac.h"

#include <string.h>

static const struct {
    otter_role role;
    const char *name;
} roles[] = {
    {OTTER_ROLE_VIEWER, "viewer"},     {OTTER_ROLE_OPERATOR, "operator"},
    {OTTER_ROLE_APPROVER, "approver"}, {OTTER_ROLE_PUBLISHER, "publisher"},
    {OTTER_ROLE_ADMIN, "admin"},
};

const char *otter_rbac_role_name(otter_role role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (roles[i].role == role)
            return roles[i].name;
    return "none";
}

int otter_rbac_role_parse(const char *name, otter_role *role, otter_err *err)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        if (strcmp(roles[i].name, name) == 0) {
            *role = roles[i].role;
            return 0;
        }
    }
    return otter_err_set(err, OTTER_EFORMAT,
                         "unknown role (expected admin, publisher, approver, operator or viewer)");
}

int otter_rbac_allows(unsigned allowed, int is_admin, otter_role role)
{
    if (is_admin)
        return 1;
    if (allowed == 0)
        return 0; /* global-admin-only operation */
    if (role == OTTER_ROLE_ADMIN)
        return 1;
    return role != OTTER_ROLE_NONE && (allowed & (unsigned)role) != 0;
}
