/*
 * role.h - what a token may do. The roles are ordered: a caller whose
 * role ranks at least the one a route needs may call it. Shared by the
 * request (the caller's role), the route table (the role each route
 * needs) and the tokens' store (the role kept with a token), so that
 * none of them includes another for it. Nothing here allocates.
 */
#ifndef SCRIPTORCH_ROLE_H
#define SCRIPTORCH_ROLE_H

enum role { ROLE_NONE = 0, ROLE_VIEWER = 1, ROLE_OPERATOR = 2, ROLE_ADMIN = 3 };

/* "admin", "operator", "viewer" or "none": a static string. */
const char *role_name(enum role r);
/* Parses "admin", "operator", "viewer" into *out: 0, or -1 (s NULL or
 * none of them; *out untouched). */
int role_parse(const char *s, enum role *out);

#endif
