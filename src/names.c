#include "config.h"

#include <string.h>

#include "names.h"

#define NAME_MAX_LEN 64

int
names_check_script(const char *name, struct verr *e)
{
	size_t i;

	if (name == NULL || name[0] == '\0') {
		verr_set(e, "name", "name must not be empty");
		return -1;
	}
	if (!(name[0] >= 'a' && name[0] <= 'z')) {
		verr_set(e, "name", "name must start with a lower-case letter a-z");
		return -1;
	}
	for (i = 1; name[i] != '\0'; i++) {
		char c = name[i];

		if (i >= NAME_MAX_LEN) {
			verr_set(e, "name", "name must be at most %d characters",
			    NAME_MAX_LEN);
			return -1;
		}
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-')
			continue;
		verr_set(e, "name", "name may contain only a-z, 0-9, '.', '_' "
		    "and '-' (found '%c' at position %zu)",
		    (unsigned char)c >= 0x20 && (unsigned char)c < 0x7f ? c : '?',
		    i + 1);
		return -1;
	}
	return 0;
}
