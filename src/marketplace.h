/*
 * marketplace.h - the marketplace service: the ready-made scripts of the
 * config's marketplace_dir (market_item.h), whether each is installed,
 * and installing one: its directory copied into the first script root,
 * under "marketplace/", and registered as a script through the registry
 * (registry_create_with: the same checks as any registration), with the
 * install recorded in the same transaction (store_market_install_add).
 * Shared by the API (api_marketplace.c); docs/marketplace.md describes
 * the items' format, docs/api.md the answers.
 *
 * Ownership: items and installs passed to a callback are borrowed for the
 * call. A struct script filled by marketplace_install is the caller's
 * (script_free, whatever the status). Strings and trees passed in are
 * borrowed. `magic` is a libmagic cookie or NULL, borrowed.
 */
#ifndef SCRIPTORCH_MARKETPLACE_H
#define SCRIPTORCH_MARKETPLACE_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "market_item.h"
#include "script.h"
#include "store.h"
#include "verr.h"

struct conf;
struct db;
struct shm;

enum market_status {
	MKT_OK = 0,
	MKT_NOT_FOUND,    /* 404: no such item, or it cannot be read (e) */
	MKT_INVALID,      /* 422: the body, a tool missing on this node, or
	                   * the registry's refusal (e says which) */
	MKT_CONFLICT,     /* 409: a script of that name exists */
	MKT_FILES,        /* 500: the files could not be copied (e says why) */
	MKT_DB,           /* database failure: see db_error(db) */
};

/* The subdirectory of the first script root that installs go to. */
#define MARKET_INSTALL_SUBDIR "marketplace"

/*
 * Calls fn for each readable item of c->marketplace_dir, by name, with
 * the scripts installed from it that still exist (ninst of them, oldest
 * first; the newest is the item's installed_script_id) and the tools it
 * needs that this node lacks (a comma-separated list, "" for none). An
 * item that cannot be read is left out and logged once per call; a
 * marketplace_dir that does not exist lists nothing. MKT_OK or MKT_DB.
 */
enum market_status marketplace_list(struct db *db, const struct conf *c,
    void (*fn)(void *arg, const struct market_item *it,
    const struct market_install *inst, size_t ninst, const char *missing),
    void *arg);

/*
 * Installs item `name` (docs/api.md, "Marketplace"). `body` is NULL or
 * the request's object: "name" (the script's, default the item's) and
 * "enabled" (default true), nothing else. The tools the item needs must
 * be on this node (else MKT_INVALID naming them); the name must be free
 * (else MKT_CONFLICT, before anything is copied). The item's directory is
 * copied to <root>/marketplace/<script name> (or <script name>-2, -3, ...
 * when a directory of that name is left from a script deleted since), its
 * files root's and read-only, then registered from the item's metadata
 * with the script's path in the copy; the item's timeout_s and limits are
 * lowered to this node's maxima when above them. On any failure after the
 * copy, the copy is removed. On MKT_OK `out` is the stored script.
 */
enum market_status marketplace_install(struct db *db, const struct conf *c,
    void *magic, struct shm *shm, const char *name, yajl_val body,
    const char *actor, struct script *out, struct verr *e);

#endif
