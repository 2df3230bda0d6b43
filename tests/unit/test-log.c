/* Unit tests of log.c: one event stays one line whatever its fields hold. */
#include "config.h"

#include <string.h>

#include "log.h"
#include "tap.h"

int
main(void)
{
	char out[64];

	plan_lazy();
	log_escape("plain text, é", out, sizeof(out));
	is_str(out, "plain text, é", "printable text and UTF-8 pass as they are");
	log_escape("evil\ninfo [1] master: forged", out, sizeof(out));
	is_str(out, "evil\\ninfo [1] master: forged", "a newline is written as \\n");
	ok(strchr(out, '\n') == NULL, "no newline reaches the line");
	log_escape("a\rb\tc\\d", out, sizeof(out));
	is_str(out, "a\\rb\\tc\\\\d", "CR, tab and backslash escaped");
	log_escape("\x1b[31mred\x7f", out, sizeof(out));
	is_str(out, "\\x1b[31mred\\x7f", "other control bytes as \\xNN");
	log_escape("\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
	    "\n\n\n\n\n\n\n\n\n\n", out, sizeof(out));
	ok(strlen(out) < sizeof(out) && strchr(out, '\n') == NULL,
	    "an escaped text longer than the buffer is cut, still one line");
	ok(strlen(out) % 2 == 0, "never cut inside an escape");
	return done_testing();
}
