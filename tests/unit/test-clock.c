/* Unit tests of clock.h's conversions between the database's DATETIME(3)
 * text and RFC 3339: what the API shows and what its filters accept. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "tap.h"

int
main(void)
{
	char out[64];

	plan_lazy();
	is_str(clock_db_to_rfc3339("2026-11-26 05:36:24.123", out, sizeof(out)),
	    "2026-11-26T05:36:24.123Z", "database time to RFC 3339");
	ok(clock_db_to_rfc3339(NULL, out, sizeof(out)) == NULL, "NULL stays NULL");
	ok(clock_rfc3339_to_db("2026-11-26T05:36:24.5Z", out, sizeof(out)) == 0,
	    "RFC 3339 parses");
	is_str(out, "2026-11-26 05:36:24.500", "fraction padded");
	ok(clock_rfc3339_to_db("2026-11-26T07:36:24+02:00", out, sizeof(out))
	    == 0, "offset parses");
	is_str(out, "2026-11-26 05:36:24.000", "offset applied");
	ok(clock_rfc3339_to_db("yesterday", out, sizeof(out)) == -1,
	    "garbage refused");
	ok(clock_rfc3339_to_db("2026-11-26T05:36:24", out, sizeof(out)) == -1,
	    "a zone is required");
	ok(clock_rfc3339_to_db("2026-02-30T00:00:00Z", out, sizeof(out)) == -1,
	    "a day the month lacks is refused");
	ok(clock_rfc3339_to_db("2025-02-29T00:00:00Z", out, sizeof(out)) == -1,
	    "29 February of a common year is refused");
	ok(clock_rfc3339_to_db("2024-02-29T23:59:59.999Z", out, sizeof(out)) == 0 &&
	    strcmp(out, "2024-02-29 23:59:59.999") == 0, "29 February of a leap year");
	ok(clock_rfc3339_to_db("2026-04-31T10:00:00Z", out, sizeof(out)) == -1,
	    "31 April is refused");
	ok(clock_rfc3339_to_db("2026-01-01T00:30:00+01:00", out, sizeof(out)) == 0 &&
	    strcmp(out, "2025-12-31 23:30:00.000") == 0,
	    "an offset crossing the year is applied");
	ok(clock_rfc3339_to_db("2026-01-01T00:00:00+24:00", out, sizeof(out)) == -1,
	    "an offset of 24 hours is refused");
	{
		double ms = clock_mono_ms();
		int64_t ns = clock_mono_ns();

		ok(ms > 0 && ns / 1000000 >= (int64_t)ms &&
		    ns / 1000000 - (int64_t)ms < 1000,
		    "one monotonic clock, read in ms and in ns");
	}
	return done_testing();
}
