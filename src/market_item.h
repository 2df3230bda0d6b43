/*
 * market_item.h - one item of the marketplace as it lies on disk, and its
 * JSON object (docs/marketplace.md).
 *
 * An item is a directory named like a script (names.h) under the config's
 * marketplace_dir, holding its script (and whatever else it needs: LUTs,
 * a program), item.json with its metadata, and README.md with its
 * documentation. market_item_load() reads and checks all of it: the
 * metadata's members and their types, the script's file, every parameter
 * of the inputs schema with a title and a description, every optional one
 * with a default, and the documentation naming each parameter as
 * `name`. What the registry checks at registration (args, outputs,
 * limits against the config) is left to it: an install answers those.
 *
 * Ownership: a struct market_item owns every member (market_item_free;
 * a zeroed struct is empty and may be freed). Strings passed in are
 * borrowed; nothing is logged.
 */
#ifndef SCRIPTORCH_MARKET_ITEM_H
#define SCRIPTORCH_MARKET_ITEM_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "buf.h"
#include "verr.h"
#include "versions.h"

struct jw;

/* The files of an item, and how big they may be. */
#define MARKET_META_FILE "item.json"
#define MARKET_DOCS_FILE "README.md"
#define MARKET_META_MAX (256 * 1024)
#define MARKET_DOCS_MAX (256 * 1024)

struct market_item {
	char name[65];
	char *dir;              /* the item's directory, absolute */
	yajl_val meta;          /* item.json, checked */
	char *docs;             /* README.md */
	char *script_path;      /* dir + "/" + meta's script */
	char version[VERSION_LEN]; /* as the script installed from it has */
};

/*
 * Reads the item `name` of directory `market_dir`: 0, or -1 with e saying
 * what is wrong in one sentence (field "" or the member of item.json at
 * fault); *missing is 1 when there is no such item (no directory, or one
 * without item.json), 0 when it is there but broken.
 */
int market_item_load(const char *market_dir, const char *name,
    struct market_item *it, int *missing, struct verr *e);
void market_item_free(struct market_item *it);

/* A member of the metadata (borrowed from it->meta), or NULL. */
yajl_val market_item_get(const struct market_item *it, const char *key);
const char *market_item_str(const struct market_item *it, const char *key);

/*
 * The tools of the item (meta "tools") that no directory of `path` (a
 * PATH, ":"-separated) holds as an executable regular file: appended to
 * `missing` as "ffmpeg, ffprobe". Returns how many.
 */
int market_item_tools_missing(const struct market_item *it, const char *path,
    struct buf *missing);

/*
 * The parameters (top-level properties of `inputs`) that `docs` does not
 * name as `name` (in backticks, as a Markdown code span): appended to
 * `missing`, comma-separated. Returns how many. Pure.
 */
int market_docs_missing(const char *docs, yajl_val inputs,
    struct buf *missing);

/* The item's own members of its JSON object (docs/api.md, Marketplace):
 * name, title, type, summary, docs, inputs, outputs, requirements, args,
 * input_mode, timeout_s, limits, tools, version. */
void market_item_write_members(struct jw *w, const struct market_item *it);

#endif
