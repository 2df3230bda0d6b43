/* Unit tests of the scripts memo (registry.h): what an API worker takes
 * as fresh (by id or name, under a generation, for a second), what a
 * runner finds by revision, and which entry a new one replaces. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"
#include "tap.h"

static void
make(struct script *s, long long id, const char *name, const char *rev)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->updated_at, sizeof(s->updated_at), "%s", rev);
	s->path = strdup("/srv/scripts/x.sh");
	s->args_json = strdup("[\"{{input.a}}\"]");
	s->env_json = strdup("{}");
	s->outputs_json = strdup("{}");
}

int
main(void)
{
	struct script_memo m;
	struct script s, got;
	char name[32];

	plan_lazy();
	memset(&m, 0, sizeof(m));
	memset(&got, 0, sizeof(got));
	ok(registry_memo_get_fresh(&m, 5, NULL, 0, &got) == -1,
	    "an empty memo knows nothing");

	make(&s, 5, "grade", "2026-11-26T10:00:00.000Z");
	registry_memo_put(&m, &s, 3);
	ok(registry_memo_get_fresh(&m, 5, NULL, 3, &got) == 0 &&
	    got.id == 5 && strcmp(got.name, "grade") == 0 &&
	    strcmp(got.args_json, s.args_json) == 0 &&
	    got.args_json != s.args_json && got.requirements == NULL,
	    "found by id, as a copy of its own");
	script_free(&got);
	ok(registry_memo_get_fresh(&m, 0, "grade", 3, &got) == 0 &&
	    got.id == 5, "found by name");
	script_free(&got);
	ok(registry_memo_get_fresh(&m, 0, "other", 3, &got) == -1 &&
	    registry_memo_get_fresh(&m, 6, NULL, 3, &got) == -1,
	    "not another script");
	ok(registry_memo_get_fresh(&m, 5, NULL, 4, &got) == -1,
	    "a script change on the node (a new generation) forgets it");

	ok(registry_memo_get_rev(&m, 5, "2026-11-26T10:00:00.000Z",
	    &got) == 0 && got.id == 5, "a runner finds it by revision");
	script_free(&got);
	ok(registry_memo_get_rev(&m, 5, "2026-11-26T10:00:01.000Z",
	    &got) == -1, "but not at another revision");

	/* The same script again replaces its entry. */
	script_free(&s);
	make(&s, 5, "grade", "2026-11-26T10:00:01.000Z");
	registry_memo_put(&m, &s, 3);
	ok(registry_memo_get_rev(&m, 5, "2026-11-26T10:00:01.000Z",
	    &got) == 0, "the new revision is there");
	script_free(&got);
	ok(registry_memo_get_rev(&m, 5, "2026-11-26T10:00:00.000Z",
	    &got) == -1, "the old one is gone");
	script_free(&s);

	/* A full memo gives up its least recently used entry. */
	for (int i = 0; i < SCRIPT_MEMO_SLOTS; i++) {
		snprintf(name, sizeof(name), "s%d", 100 + i);
		make(&s, 100 + i, name, "r");
		registry_memo_put(&m, &s, 3);
		script_free(&s);
		usleep(1000);
	}
	ok(registry_memo_get_fresh(&m, 5, NULL, 3, &got) == -1,
	    "the oldest entry made room");
	int all = 1;
	for (int i = 0; i < SCRIPT_MEMO_SLOTS; i++) {
		if (registry_memo_get_fresh(&m, 100 + i, NULL, 3, &got) != 0)
			all = 0;
		script_free(&got);
	}
	ok(all, "the %d newest are all there", SCRIPT_MEMO_SLOTS);

	/* An entry holds for SCRIPT_MEMO_MS only. */
	usleep((SCRIPT_MEMO_MS + 50) * 1000);
	ok(registry_memo_get_fresh(&m, 100, NULL, 3, &got) == -1,
	    "after a second it is stale");
	ok(registry_memo_get_rev(&m, 100, "r", &got) == 0,
	    "a revision lookup does not age");
	script_free(&got);

	registry_memo_free(&m);
	ok(m.s[0].id == 0, "freed and emptied");
	return done_testing();
}
