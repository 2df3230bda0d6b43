/*
 * Unit tests for market_item.c: the items the project ships, as `make
 * install` lays them out (MARKETPLACE_INSTALLED, made by make check), all
 * load and keep the marketplace's promises (every parameter titled,
 * described, defaulted unless required, and named in README.md); and
 * items broken in each way are refused with a message that says how.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "json.h"
#include "market_item.h"
#include "tap.h"

static char tmp[] = "/tmp/scriptorch-test-market.XXXXXX";

static void
put(const char *rel, const char *text, int mode)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	for (char *p = path + strlen(tmp) + 1; (p = strchr(p, '/')) != NULL;
	    p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	if ((f = fopen(path, "w")) == NULL) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	chmod(path, (mode_t)mode);
}

static void
test_shipped(void)
{
	static const struct {
		const char *name, *type;
	} want[] = {
		{ "color-correct", "shell" }, { "extract-frames", "shell" },
		{ "frame-stats", "binary" }, { "sequence-check", "python" },
		{ "watermark", "shell" },
	};
	const char *dir = getenv("MARKETPLACE_INSTALLED");
	struct market_item it;
	struct verr e;
	int gone;

	if (dir == NULL) {
		printf("Bail out! MARKETPLACE_INSTALLED is not set (make check "
		    "sets it)\n");
		exit(1);
	}
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int rc = market_item_load(dir, want[i].name, &it, &gone, &e);

		if (!ok(rc == 0, "shipped item %s loads", want[i].name)) {
			printf("#   %s: %s\n", e.field, e.message);
			continue;
		}
		is_str(market_item_str(&it, "type"), want[i].type,
		    "  its type is %s", want[i].type);
		ok(strncmp(it.version, "sha256:", 7) == 0 &&
		    strlen(it.version) == 7 + 64, "  its version: %s",
		    it.version);
		ok(strlen(it.docs) > 500 && strstr(it.docs, "## Parameters") &&
		    strstr(it.docs, "## Examples") && strstr(it.docs,
		    "```json"), "  its docs have parameters and examples with "
		    "JSON");
		market_item_free(&it);
	}
	ok(market_item_load(dir, "no-such-item", &it, &gone, &e) == -1 &&
	    gone == 1, "no such item: missing");
	ok(market_item_load(dir, "../etc", &it, &gone, &e) == -1 &&
	    gone == 1, "a name that is not an item's: missing");
}

static void
test_docs_missing(void)
{
	const char *text = "{\"properties\":{\"input\":{},\"lut\":{},"
	    "\"gain\":{}}}";
	yajl_val inputs = json_parse(text, strlen(text), NULL, 0);
	struct buf m = BUF_INIT;

	ok(inputs != NULL, "test schema parses");
	is_int(market_docs_missing("`input` and `lut` and `gain`", inputs, &m),
	    0, "every parameter named");
	is_int(market_docs_missing("`input`, lut and `gains`", inputs, &m), 2,
	    "a name without backticks, or inside a longer span, is not named");
	is_str(buf_str(&m), "lut, gain", "  the missing ones, in order");
	buf_reset(&m);
	is_int(market_docs_missing(NULL, inputs, &m), 3, "no docs: all missing");
	yajl_tree_free(inputs);
	buf_free(&m);
}

#define META_OK "{\"title\":\"T\",\"summary\":\"S\",\"type\":\"shell\"," \
	"\"script\":\"run.sh\",\"tools\":[\"sh\"]," \
	"\"inputs\":{\"type\":\"object\",\"required\":[\"a\"],\"properties\":{" \
	"\"a\":{\"type\":\"string\",\"title\":\"A\",\"description\":\"a\"}," \
	"\"b\":{\"type\":\"integer\",\"title\":\"B\",\"description\":\"b\"," \
	"\"default\":2}}}}"

/* item `name` with these files loads, or is refused with `words`. */
static void
item(const char *name, const char *meta, const char *docs, int script,
    const char *words)
{
	char rel[128];
	struct market_item it;
	struct verr e;
	int gone, rc;

	snprintf(rel, sizeof(rel), "%s/item.json", name);
	if (meta != NULL)
		put(rel, meta, 0644);
	snprintf(rel, sizeof(rel), "%s/README.md", name);
	if (docs != NULL)
		put(rel, docs, 0644);
	snprintf(rel, sizeof(rel), "%s/run.sh", name);
	if (script)
		put(rel, "#!/bin/sh\necho hi\n", 0755);
	rc = market_item_load(tmp, name, &it, &gone, &e);
	if (words == NULL) {
		if (!ok(rc == 0, "item %s loads", name))
			printf("#   %s\n", e.message);
	} else {
		if (!ok(rc == -1 && gone == 0 && strstr(e.message, words),
		    "item %s is refused: %s", name, e.message))
			printf("#   want \"%s\"\n", words);
	}
	market_item_free(&it);
}

static void
test_broken(void)
{
	const char *docs = "# T\n`a` and `b`\n";
	struct market_item it;
	struct buf missing = BUF_INIT;
	struct verr e;
	int gone;

	if (mkdtemp(tmp) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	item("good", META_OK, docs, 1, NULL);
	item("no-docs", META_OK, NULL, 1, "README.md");
	item("undocumented", META_OK, "# T\n`a` only\n", 1,
	    "does not describe the parameter(s) b");
	item("no-script", META_OK, docs, 0, "is not a regular file");
	item("not-json", "{\"title\":", docs, 1, "not valid JSON");
	item("typo", "{\"titel\":\"T\"}", docs, 1, "unknown member \"titel\"");
	item("no-default", "{\"title\":\"T\",\"summary\":\"S\",\"type\":"
	    "\"shell\",\"script\":\"run.sh\",\"inputs\":{\"properties\":{\"b\":"
	    "{\"title\":\"B\",\"description\":\"b\"}}}}", docs, 1,
	    "\"b\" is optional and needs a default");
	item("no-title", "{\"title\":\"T\",\"summary\":\"S\",\"type\":"
	    "\"shell\",\"script\":\"run.sh\",\"inputs\":{\"required\":[\"a\"],"
	    "\"properties\":{\"a\":{\"description\":\"a\"}}}}", docs, 1,
	    "\"a\" needs a title and a description");
	item("bad-default", "{\"title\":\"T\",\"summary\":\"S\",\"type\":"
	    "\"shell\",\"script\":\"run.sh\",\"inputs\":{\"properties\":{\"a\":"
	    "{\"type\":\"string\",\"title\":\"A\",\"description\":\"a\","
	    "\"default\":3}}}}", docs, 1, "default must be a string");
	item("no-inputs", "{\"title\":\"T\",\"summary\":\"S\",\"type\":"
	    "\"shell\",\"script\":\"run.sh\"}", docs, 1, "inputs is missing");
	item("escape", "{\"title\":\"T\",\"summary\":\"S\",\"type\":\"shell\","
	    "\"script\":\"../good/run.sh\",\"inputs\":{\"properties\":{}}}",
	    docs, 1, "relative path of the item's script");
	item("bad-type", "{\"title\":\"T\",\"summary\":\"S\",\"type\":\"perl\","
	    "\"script\":\"run.sh\",\"inputs\":{\"properties\":{}}}", docs, 1,
	    "type must be");
	item("bad-tool", "{\"title\":\"T\",\"summary\":\"S\",\"type\":\"shell\","
	    "\"script\":\"run.sh\",\"tools\":[\"/bin/sh\"],\"inputs\":"
	    "{\"properties\":{}}}", docs, 1, "tools[0] must be a program");

	/* Tools: looked up in the PATH given. */
	ok(market_item_load(tmp, "good", &it, &gone, &e) == 0, "good loads");
	is_int(market_item_tools_missing(&it, "/usr/bin:/bin", &missing), 0,
	    "sh is in /usr/bin:/bin");
	is_int(market_item_tools_missing(&it, "/nonexistent:/proc", &missing),
	    1, "sh is not in /nonexistent:/proc");
	is_str(buf_str(&missing), "sh", "  named");
	market_item_free(&it);
	buf_free(&missing);
	fs_remove_path(tmp, NULL);
}

int
main(void)
{
	plan_lazy();
	test_docs_missing();
	test_shipped();
	test_broken();
	return done_testing();
}
