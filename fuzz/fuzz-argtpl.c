/*
 * fuzz-argtpl.c - libFuzzer target: the argv template. The input is
 * "ARGS\0INPUT": a script's `args` and a run's input. Checked, then
 * expanded as a runner would; every argv entry must be a C string.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "argtpl.h"
#include "json.h"
#include "verr.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *z = memchr(data, '\0', size);
	struct argtpl_vars vars = { "/var/lib/scriptorch/work/1-abc",
	    "/var/lib/scriptorch/work/1-abc/out.json", "1" };
	yajl_val args, input = NULL;
	char **argv = NULL;
	struct verr e;

	if (z == NULL)
		return 0;
	args = json_parse((const char *)data, (size_t)(z - data), NULL, 0);
	if (args == NULL)
		return 0;
	verr_clear(&e);
	if (argtpl_check(args, &e) == 0) {
		size_t off = (size_t)(z - data) + 1;
		input = json_parse((const char *)data + off, size - off, NULL, 0);
		verr_clear(&e);
		if (input != NULL && argtpl_check_input(args, input, 1, &e) == 0 &&
		    argtpl_expand(args, input, &vars, &argv, &e) == 0) {
			for (size_t i = 0; argv[i] != NULL; i++)
				(void)strlen(argv[i]);
			argtpl_free(argv);
		}
	}
	yajl_tree_free(input);
	yajl_tree_free(args);
	return 0;
}
