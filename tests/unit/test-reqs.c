/* Unit tests for reqs.c (requirements normalization and the venv key). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "reqs.h"
#include "tap.h"

/* The text on one line, for a TAP test name. */
static const char *
show(const char *s)
{
	static char out[256];
	size_t i = 0;

	if (s == NULL)
		return "(null)";
	for (; *s != '\0' && i + 3 < sizeof(out); s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t') {
			out[i++] = '\\';
			out[i++] = *s == '\n' ? 'n' : *s == '\r' ? 'r' : 't';
		} else {
			out[i++] = *s;
		}
	}
	out[i] = '\0';
	return out;
}

static char *
norm(const char *text, struct verr *e)
{
	struct buf b = BUF_INIT;

	verr_clear(e);
	buf_adds(&b, "");
	if (reqs_normalize(text, &b, e) == -1) {
		ok(b.len == 0, "  output untouched on error");
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

#define NORM(text, want) do {						\
	struct verr e_;							\
	char *got_ = norm(text, &e_);					\
	is_str(got_, want, "normalize \"%s\"", show(text));			\
	if (got_ == NULL)						\
		printf("#   %s\n", e_.message);				\
	free(got_);							\
} while (0)

#define REJECT(text, msg) do {						\
	struct verr e_;							\
	char *got_ = norm(text, &e_);					\
	ok(got_ == NULL, "reject \"%s\"", show(text));			\
	is_str(e_.field, "requirements", "  field");			\
	if ((msg) != NULL)						\
		is_str(e_.message, (const char *)(msg), "  message");	\
	else								\
		printf("#   %s\n", e_.message);				\
	free(got_);							\
} while (0)

static void
test_normalize(void)
{
	NORM(NULL, "");
	NORM("", "");
	NORM("\n\n  \n# only a comment\n   # indented\n", "");
	NORM("Pillow >= 10", "pillow>=10");
	NORM("zope.interface==5", "zope-interface==5");
	NORM("Foo__Bar.-baz == 1.0.*", "foo-bar-baz==1.0.*");
	NORM("numpy==1.26.4\npillow>=10\n", "numpy==1.26.4\npillow>=10");
	NORM("pillow>=10\r\nNumPy == 1.26.4\r\n", "numpy==1.26.4\npillow>=10");
	/* sorted, comments and blanks dropped, duplicates merged */
	NORM("# studio deps\nrequests\n\n  Django >=4.2, <5   # LTS\n"
	    "attrs\nrequests\n", "attrs\ndjango>=4.2,<5\nrequests");
	NORM("a==1 #c\nb==2\t# c\n", "a==1\nb==2");
	/* versions keep their case, names do not */
	NORM("PyYAML==6.0.1RC1", "pyyaml==6.0.1RC1");
	NORM("pkg ~= 1.4.2", "pkg~=1.4.2");
	NORM("pkg != 1.5 , >= 1.0", "pkg!=1.5,>=1.0");
	NORM("pkg===1.0+local", "pkg===1.0+local");
	NORM("pkg (>=1.0)", "pkg(>=1.0)");
	/* extras */
	NORM("requests[Security , SOCKS]>=2", "requests[security,socks]>=2");
	NORM("celery[Redis_Cache]", "celery[redis-cache]");
	NORM("pkg[ ]", "pkg");
	/* markers: whitespace collapsed, quoted text kept */
	NORM("requests ; python_version  <  \"3.8\"   and sys_platform == "
	    "'linux  x'", "requests; python_version < \"3.8\" and "
	    "sys_platform == 'linux  x'");
	NORM("Pillow>=10;python_version>='3.8'",
	    "pillow>=10; python_version>='3.8'");
	/* URLs: the #fragment is not a comment, a spaced # is */
	NORM("MyPkg @ https://x.example/y/MyPkg-1.0.whl#sha256=abc  # pin",
	    "mypkg @ https://x.example/y/MyPkg-1.0.whl#sha256=abc");
	NORM("pkg@https://h/p.whl", "pkg @ https://h/p.whl");
	NORM("pkg @ https://h/p.whl ; python_version<'3.9'",
	    "pkg @ https://h/p.whl ; python_version<'3.9'");
	NORM("pkg[Ex] @ git+https://h/r.git@v1.0#egg=pkg",
	    "pkg[ex] @ git+https://h/r.git@v1.0#egg=pkg");
	/* hashes */
	NORM("pkg==1.0 --hash=sha256:AA  --hash sha256:bb",
	    "pkg==1.0 --hash=sha256:AA --hash=sha256:bb");
	/* line continuations */
	NORM("pkg==1.0 \\\n    --hash=sha256:aa\nzed", "pkg==1.0 --hash=sha256:aa\nzed");
	NORM("Pil\\\nlow>=10", "pillow>=10");
	NORM("pkg==1 \\", "pkg==1");
	NORM("pkg==1 \\\n# comment\nb", "b\npkg==1");
	/* allowed global options, kept */
	NORM("--prefer-binary\nnumpy\n--only-binary  :all:",
	    "--only-binary :all:\n--prefer-binary\nnumpy");
	NORM("--pre", "--pre");

	/* where packages come from is the config's business */
	REJECT("numpy\n-i https://evil.example/simple", "requirements line 2: "
	    "-i is not allowed: the package index comes only from the daemon's "
	    "configuration (pip_index_url)");
	REJECT("-ihttps://evil.example/simple", NULL);
	/* Found by fuzz/fuzz-reqs: each was accepted, but its normal form
	 * ("n @ -/u", "nu10; --m", "rterfac @ #$py", "nm; #u") read differently. */
	REJECT("n@-/@@u", "requirements line 1: @ must be followed by a URL");
	REJECT("n @ -/u", "requirements line 1: @ must be followed by a URL");
	REJECT("nu10 ;--m", "requirements line 1: a marker cannot start with '-'");
	REJECT("rterfac@#$py", "requirements line 1: @ must be followed by a URL");
	REJECT("nm;#u", "requirements line 1: a marker cannot start with '#'");
	REJECT("nu;c\\\\\n\\\n", "requirements line 1 ends with a backslash");
	REJECT("p @ ./pkg", "requirements line 1: @ must be followed by a URL");
	NORM("p @ file:///srv/p-1.0.whl", "p @ file:///srv/p-1.0.whl");
	REJECT("--index-url=https://evil.example/simple", NULL);
	REJECT("  --extra-index-url https://evil.example/simple", NULL);
	REJECT("-f /wheels", NULL);
	REJECT("--find-links=/wheels", NULL);
	REJECT("--no-index", NULL);
	REJECT("--trusted-host evil.example", NULL);
	REJECT("-e git+https://h/r.git#egg=x", NULL);
	REJECT("--editable=.", NULL);
	REJECT("-r other.txt", NULL);
	REJECT("--requirement other.txt", NULL);
	REJECT("-c constraints.txt", NULL);
	REJECT("--constraint=c.txt", NULL);
	REJECT("--index-url\\\n=https://x", NULL);
	REJECT("--frobnicate", "requirements line 1: option --frobnicate is "
	    "not supported");
	REJECT("pkg==1 --index-url https://x", NULL);
	REJECT("pkg==1 --install-option=--prefix=/", NULL);
	REJECT("pkg==1 --hash", NULL);
	/* not a requirement we can name */
	REJECT("./local/dir", NULL);
	REJECT("/abs/pkg.whl", NULL);
	REJECT("https://h/p.whl", "requirements line 1 is a bare URL: write "
	    "name @ url");
	REJECT("a\n\nnumpy 1.26", "requirements line 3: expected a version "
	    "specifier such as ==1.0 or >=2 after the name");
	REJECT("pkg-==1", NULL);
	REJECT("pkg==1.0#frag", NULL);
	REJECT("pkg @", NULL);
	REJECT("pkg @ https://h/p.whl extra", NULL);
	REJECT("pkg[a,,b]", NULL);
	REJECT("pkg[a", NULL);
	REJECT("pkg==1;", NULL);
	REJECT("pkg==${VERSION}", NULL);
	REJECT("caf\xc3\xa9==1", NULL);
}

static void
test_key(void)
{
	char k1[65], k2[65], k3[65], k4[65], k5[65];
	struct buf opts = BUF_INIT, o2 = BUF_INIT;
	size_t i;
	int hex = 1;

	reqs_installer_opts("https://pypi.example/simple", NULL, 0, &opts);
	is_str(buf_str(&opts), "index-url=https://pypi.example/simple\n"
	    "find-links=\nno-index=0", "installer options string");
	reqs_installer_opts(NULL, "/wheels", 1, &o2);
	is_str(buf_str(&o2), "index-url=\nfind-links=/wheels\nno-index=1",
	    "installer options string 2");

	reqs_venv_key("numpy==1.26.4\npillow>=10", "3.11.2", buf_str(&opts), k1);
	reqs_venv_key("numpy==1.26.4\npillow>=10", "3.11.2", buf_str(&opts), k2);
	is_int(strlen(k1), 64, "key is 64 hex chars");
	for (i = 0; i < 64; i++)
		if (!((k1[i] >= '0' && k1[i] <= '9') ||
		    (k1[i] >= 'a' && k1[i] <= 'f')))
			hex = 0;
	ok(hex, "key is lower-case hex");
	is_str(k1, k2, "same inputs, same key");
	reqs_venv_key("numpy==1.26.4\npillow>=10", "3.11.3", buf_str(&opts), k3);
	ok(strcmp(k1, k3) != 0, "python version changes the key");
	reqs_venv_key("numpy==1.26.4\npillow>=10", "3.11.2", buf_str(&o2), k3);
	ok(strcmp(k1, k3) != 0, "installer options change the key");
	reqs_venv_key("numpy==1.26.4", "3.11.2", buf_str(&opts), k3);
	ok(strcmp(k1, k3) != 0, "requirements change the key");
	/* the delimiting: moving text across fields changes the key */
	reqs_venv_key("a\n", "3", "", k4);
	reqs_venv_key("a", "\n3", "", k5);
	ok(strcmp(k4, k5) != 0, "fields cannot bleed into each other");
	reqs_venv_key(NULL, NULL, NULL, k4);
	reqs_venv_key("", "", "", k5);
	is_str(k4, k5, "NULL is \"\"");
	/* a known answer (computed apart with python's hashlib), so the
	 * encoding cannot drift unnoticed */
	is_str(k1, "5b2a59122f814b0d221d5b43ccafb5d582d0864417e37d88a43db7d2cbfce6ca",
	    "known key");
	/* equivalent texts share a key once normalized */
	{
		struct buf a = BUF_INIT, b = BUF_INIT;
		struct verr e;

		reqs_normalize("Pillow >= 10\nnumpy==1.26.4 # pinned\n", &a, &e);
		reqs_normalize("\n# deps\nNumPy==1.26.4\npillow>=10", &b, &e);
		reqs_venv_key(buf_str(&a), "3.11.2", buf_str(&opts), k4);
		reqs_venv_key(buf_str(&b), "3.11.2", buf_str(&opts), k5);
		is_str(k4, k5, "equivalent requirements share a venv");
		buf_free(&a);
		buf_free(&b);
	}
	buf_free(&opts);
	buf_free(&o2);
}

/* What the server allows builds to fetch (allow_direct_urls,
 * allow_sdist), on normalized text. */
static void
test_sources(void)
{
	static const struct {
		const char *text;
		int urls, sdist, ok;
		const char *key;        /* the config key the refusal names */
	} t[] = {
		{ "numpy==1.26\npillow>=10", 0, 0, 1, NULL },
		{ "x @ file:///tmp/x-0.1.tar.gz", 0, 0, 0, "allow_direct_urls" },
		{ "x @ file:///tmp/x-0.1.tar.gz", 0, 1, 0, "allow_direct_urls" },
		{ "x @ file:///tmp/x-0.1.tar.gz", 1, 0, 0, "allow_sdist" },
		{ "x @ file:///tmp/x-0.1.tar.gz", 1, 1, 1, NULL },
		{ "a==1\nx @ https://h/x-1-py3-none-any.whl#sha256=ab", 0, 0, 0,
		  "allow_direct_urls" },
		{ "x @ https://h/x-1-py3-none-any.WHL?t=1 ; python_version>'3'",
		  1, 0, 1, NULL },
		{ "x @ git+https://h/x.git", 1, 0, 0, "allow_sdist" },
		{ "--no-binary :all:\na==1", 0, 0, 0, "allow_sdist" },
		{ "--no-binary :all:\na==1", 0, 1, 1, NULL },
		{ "--only-binary :all:\na==1", 0, 0, 1, NULL },
		{ "", 0, 0, 1, NULL },
	};
	struct verr e;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		verr_clear(&e);
		is_int(reqs_check_sources(t[i].text, t[i].urls, t[i].sdist, &e),
		    t[i].ok ? 0 : -1, "sources %s (urls %d, sdist %d)",
		    show(t[i].text), t[i].urls, t[i].sdist);
		if (t[i].key != NULL)
			ok(strcmp(e.field, "requirements") == 0 &&
			    strstr(e.message, t[i].key) != NULL,
			    "the refusal names %s: %s", t[i].key, e.message);
	}
}

int
main(void)
{
	plan_lazy();
	test_normalize();
	test_key();
	test_sources();
	return done_testing();
}
