/*
 * names.h - the script name rule of the API contract.
 */
#ifndef SCRIPTORCH_NAMES_H
#define SCRIPTORCH_NAMES_H

#include "verr.h"

/*
 * Checks `name` (borrowed; NULL is an error) against ^[a-z][a-z0-9._-]{0,63}$.
 * Returns 0 if it matches, else -1 with `e` filled (field "name").
 */
int names_check_script(const char *name, struct verr *e);

#endif
