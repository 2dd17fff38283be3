/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Roles a user holds in a tenant. They are duties, not a ladder: a
 * publisher is not an approver. `admin` of a tenant may do everything in
 * that tenant; a global admin (users.is_admin) may do everything everywhere.
 * Roles are bits so a route can name every role it admits in one mask.
 */
#ifndef OTTER_RBAC_H
#define OTTER_RBAC_H

#include "otter_err.h"

typedef enum otter_role {
    OTTER_ROLE_NONE = 0,
    OTTER_ROLE_VIEWER = 1 << 0,
    OTTER_ROLE_OPERATOR = 1 << 1,
    OTTER_ROLE_APPROVER = 1 << 2,
    OTTER_ROLE_PUBLISHER = 1 << 3,
    OTTER_ROLE_ADMIN = 1 << 4,
} otter_role;

/* Every tenant role: what read-only routes admit. */
#define OTTER_ROLES_ANY                                                                            \
    (OTTER_ROLE_VIEWER | OTTER_ROLE_OPERATOR | OTTER_ROLE_APPROVER | OTTER_ROLE_PUBLISHER |        \
     OTTER_ROLE_ADMIN)

/* Mask of an operation only global admins may do (create a tenant, ...). */
#define OTTER_ROLES_GLOBAL_ADMIN 0u

/* "viewer", "operator", ... ; "none" for OTTER_ROLE_NONE or an unknown value. */
const char *otter_rbac_role_name(otter_role role);

/* Parses a role name; OTTER_EFORMAT naming the valid roles otherwise. */
int otter_rbac_role_parse(const char *name, otter_role *role, otter_err *err);

/*
 * True when a user with tenant role `role` (OTTER_ROLE_NONE if not a
 * member) and global admin flag `is_admin` may do what `allowed` admits.
 * Tenant admins are admitted everywhere in their tenant; allowed == 0
 * (OTTER_ROLES_GLOBAL_ADMIN) admits global admins only.
 */
int otter_rbac_allows(unsigned allowed, int is_admin, otter_role role);

#endif
