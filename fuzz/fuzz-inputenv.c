/*
 * fuzz-inputenv.c - libFuzzer target: the child's environment and stdin
 * built from a run's input and a script's env. The input is
 * "INPUT\0ENV\0MODE". Every entry of what is built must be NAME=value with
 * a name of letters, digits and _ only.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "inputenv.h"
#include "json.h"
#include "verr.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *modes[] = { "env", "stdin", "both" };
	const uint8_t *z1 = memchr(data, '\0', size), *z2;
	struct inputenv_vars vars = { "7", "/var/lib/scriptorch/work/7-x",
	    NULL, NULL, "/usr/local/bin:/usr/bin:/bin", NULL };
	yajl_val input, env = NULL;
	char **envp = NULL;
	struct buf in = BUF_INIT;
	struct verr e;

	if (z1 == NULL || (z2 = memchr(z1 + 1, '\0',
	    size - (size_t)(z1 - data) - 1)) == NULL)
		return 0;
	input = json_parse((const char *)data, (size_t)(z1 - data), NULL, 0);
	env = json_parse((const char *)z1 + 1, (size_t)(z2 - z1 - 1), NULL, 0);
	verr_clear(&e);
	if (input != NULL && (env == NULL ||
	    inputenv_check_script_env(env, &e) == 0)) {
		const char *mode = modes[(size - (size_t)(z2 - data)) % 3];
		verr_clear(&e);
		if (inputenv_build(input, mode, env, &vars, &envp, &in, &e) == 0) {
			for (size_t i = 0; envp[i] != NULL; i++) {
				const char *eq = strchr(envp[i], '=');
				if (eq == NULL || eq == envp[i] ||
				    strspn(envp[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789_") !=
				    (size_t)(eq - envp[i]))
					abort();        /* not NAME=value */
			}
			inputenv_free(envp);
		}
	}
	buf_free(&in);
	yajl_tree_free(env);
	yajl_tree_free(input);
	return 0;
}
