/*
 * settings.h - where the client sends its requests, and with what token.
 *
 * Each setting comes from the first of: a command-line option, the
 * environment (SCRIPTORCH_URL, SCRIPTORCH_TOKEN, SCRIPTORCH_CACERT; an
 * empty variable counts as unset), the config file. The config file is
 * --config FILE, else $SCRIPTORCH_CONFIG, else
 * $XDG_CONFIG_HOME/scriptorch/client.conf (XDG_CONFIG_HOME defaulting to
 * ~/.config); the default file may be absent, a named one may not. It is
 * INI (libinih), keys `url`, `token` and `cacert` at the top or in a
 * [client] section; anything else is refused, so a typo is not silently
 * ignored. Because a token in it is as good as a password and its url
 * decides where every token goes, the file is refused when it is not a
 * regular file owned by the user (or root), when group or others may
 * write it, and when it holds a token and group or others may read it.
 *
 * Ownership: settings_load() fills a struct settings whose strings it
 * owns; settings_free() releases them.
 */
#ifndef SCRIPTORCH_CLIENT_SETTINGS_H
#define SCRIPTORCH_CLIENT_SETTINGS_H

#include "buf.h"

/* What the command line said (borrowed strings; NULL when not given). */
struct settings_opts {
	const char *url;
	const char *token;
	const char *cacert;
	const char *config;
	int insecure;
};

struct settings {
	char *url;          /* http:// or https://, without a trailing '/' */
	char *token;        /* NULL: requests carry no token */
	char *cacert;       /* NULL: the system's CA certificates */
	int insecure;       /* --insecure: TLS certificates not checked */
	char *config;       /* the file that was read, or NULL */
	/* Where each setting came from, for messages: "--url",
	 * "SCRIPTORCH_URL", or the config file's path. */
	const char *url_from;
};

/* Loads the settings. Returns 0, or -1 with a one-line message in err
 * (no URL anywhere, a config file refused or unreadable, a URL that is
 * not http(s), a token with characters a header cannot carry). */
int settings_load(struct settings *s, const struct settings_opts *o,
    struct buf *err);
void settings_free(struct settings *s);

#endif
