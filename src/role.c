/*
 * role.c - the names of the roles, both ways.
 */
#include "config.h"

#include <string.h>

#include "role.h"

const char *
role_name(enum role r)
{
	switch (r) {
	case ROLE_ADMIN: return "admin";
	case ROLE_OPERATOR: return "operator";
	case ROLE_VIEWER: return "viewer";
	default: return "none";
	}
}

int
role_parse(const char *s, enum role *out)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "admin") == 0)
		*out = ROLE_ADMIN;
	else if (strcmp(s, "operator") == 0)
		*out = ROLE_OPERATOR;
	else if (strcmp(s, "viewer") == 0)
		*out = ROLE_VIEWER;
	else
		return -1;
	return 0;
}
