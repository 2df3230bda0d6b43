/*
 * sender.c - the callback sender process (sender.h).
 *
 * One loop: claim what is due into free slots, wait in curl_multi_poll()
 * for the transfers, the doorbell or the next poll, drive the transfers,
 * record each one that ended. Every slot owns one easy handle (kept from
 * attempt to attempt, so connections to a receiver are reused through the
 * multi handle's cache), the claim it works on, the signed body and its
 * header list.
 *
 * An attempt is a delivery when libcurl completed it with a 2xx status
 * within CALLBACK_TIMEOUT_MS, redirects not followed. The answer's body is
 * read and dropped, at most RESPONSE_MAX bytes of it: a receiver that
 * answers 2xx with an endless body has answered, and one that answers
 * anything else with it has not. Nothing of the answer is kept but its
 * status.
 *
 * Where the claim came from decides nothing here: a delivery written by
 * another node is sent the same way, from the execution's row as stored
 * (its secrets already masked by the runner that recorded it).
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "buf.h"
#include "callback.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "execution.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "sender.h"
#include "shm.h"
#include "store.h"

/* A claimed attempt belongs to its sender this long; a sender that dies
 * mid-attempt leaves it to be claimed again after that. Well above the
 * attempt's own timeout and the time to record it. */
#define LEASE_S 60
/* Bytes of an answer's body read (and dropped) at most. */
#define RESPONSE_MAX (64 * 1024)
/* Deliveries older than callback_max_age_s that nothing attempted are
 * failed this often, in batches. */
#define EXPIRE_EVERY_MS 10000.0
#define EXPIRE_BATCH 500

static volatile sig_atomic_t stopping;
/* The doorbell's descriptor, for the signal handler. */
static int doorbell_fd = -1;

struct slot {
	CURL *easy;
	int busy;
	struct delivery_claim cl;
	unsigned long long token;   /* of the claim */
	double claimed_ms;          /* clock_mono_ms() of the claim */
	struct buf body;
	struct curl_slist *headers;
	size_t got;                 /* answer bytes seen */
	int capped;                 /* stopped reading at RESPONSE_MAX */
	char errbuf[CURL_ERROR_SIZE];
};

/* An outcome waiting to be written (record). */
struct outcome {
	long long id;
	unsigned long long token;
	const char *status;         /* a literal */
	int code;
	char *error;                /* owned, or NULL */
	long long retry_ms;
};

struct sender {
	const struct conf *c;
	struct shm *shm;
	struct db *db;
	CURLM *multi;
	struct slot *slots;
	int nslots;
	int nbusy;
	double next_claim_ms;       /* the next poll: claims without a ring */
	double next_retry_ms;       /* the soonest retry of ours, or 0 */
	double next_expire_ms;
	int more_due;               /* the last claim filled every free slot */
	/* Outcomes not yet written: every attempt that ended in one turn of
	 * the loop is written in one transaction (flush). At most one per
	 * slot, and one per claim of a batch that could not be attempted. */
	struct outcome *out;
	size_t nout, capout;
};

void
sender_doorbell_init(struct shm *shm)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd == -1)
		fatal("eventfd");
	/* Never 0-2: shm starts zeroed, and 0 is what "unset" looks like. */
	if (fd <= 2) {
		int hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (hi == -1)
			fatal("fcntl F_DUPFD_CLOEXEC");
		close(fd);
		fd = hi;
	}
	shm->sender_efd = fd;
}

void
sender_notify(struct shm *shm)
{
	uint64_t one = 1;

	if (shm == NULL || shm->sender_efd <= 2)
		return;
	/* EAGAIN only when the counter is full: it is rung already. */
	(void)!write(shm->sender_efd, &one, sizeof(one));
}

static void
on_term(int sig)
{
	uint64_t one = 1;
	int saved = errno;

	(void)sig;
	stopping = 1;
	/* Wake the poll (write is async-signal-safe). */
	if (doorbell_fd > 2)
		(void)!write(doorbell_fd, &one, sizeof(one));
	errno = saved;
}

/* The answer's body: counted and dropped, RESPONSE_MAX at most. */
static size_t
on_answer(char *data, size_t size, size_t n, void *arg)
{
	struct slot *sl = arg;

	(void)data;
	sl->got += size * n;
	if (sl->got > RESPONSE_MAX) {
		sl->capped = 1;
		return 0;       /* CURLE_WRITE_ERROR: enough read */
	}
	return size * n;
}

/* Empties a slot after its attempt (the claim's url too). */
static void
slot_clear(struct slot *sl)
{
	free(sl->cl.url);
	memset(&sl->cl, 0, sizeof(sl->cl));
	buf_reset(&sl->body);
	curl_slist_free_all(sl->headers);
	sl->headers = NULL;
	sl->got = 0;
	sl->capped = 0;
	sl->errbuf[0] = '\0';
	sl->busy = 0;
}

/*
 * The body of delivery `cl`: its execution as the API shows it, stdout
 * and stderr cut to their last CALLBACK_STREAM_TAIL bytes (then marked
 * truncated). 1 when rendered into `out`, 0 when the execution is gone,
 * -1 on a database failure.
 */
static int
render_body(struct sender *s, const struct delivery_claim *cl,
    struct buf *out)
{
	struct execution x, v;
	struct jw w;
	size_t a;
	int found;

	if (store_execution_get(s->db, cl->execution_id, &x, &found) == -1)
		return -1;
	if (!found)
		return 0;
	v = x;      /* a view: x keeps owning the strings */
	if (v.stdout_data != NULL && v.stdout_len > CALLBACK_STREAM_TAIL) {
		a = callback_tail_start(v.stdout_data, v.stdout_len,
		    CALLBACK_STREAM_TAIL);
		v.stdout_data += a;
		v.stdout_len -= a;
		v.stdout_truncated = 1;
	}
	if (v.stderr_data != NULL && v.stderr_len > CALLBACK_STREAM_TAIL) {
		a = callback_tail_start(v.stderr_data, v.stderr_len,
		    CALLBACK_STREAM_TAIL);
		v.stderr_data += a;
		v.stderr_len -= a;
		v.stderr_truncated = 1;
	}
	jw_init(&w, out);
	execution_render(&w, &v, 1);
	jw_free(&w);
	execution_free(&x);
	return 1;
}

/* Queues an outcome for the next flush. */
static void
record(struct sender *s, const struct delivery_claim *cl,
    unsigned long long token, const char *status, int code,
    const char *error, long long retry_ms)
{
	if (s->nout == s->capout) {
		s->capout = s->capout ? s->capout * 2 : 32;
		if ((s->out = realloc(s->out, s->capout * sizeof(*s->out))) ==
		    NULL)
			fatal("realloc");
	}
	s->out[s->nout++] = (struct outcome){ cl->id, token, status, code,
	    error != NULL ? xstrdup(error) : NULL, retry_ms };
}

/* Writes the queued outcomes, n > 1 of them in one transaction (one
 * commit instead of one per delivery: a node's deliveries per second are
 * bounded by its sender's commits). 0, or -1 with nothing written. */
static int
write_outcomes(struct sender *s, size_t *stale)
{
	int tx = s->nout > 1, recorded;

	*stale = 0;
	if (db_begin(s->db) == -1 || (tx && db_tx_begin(s->db) == -1))
		return -1;
	for (size_t i = 0; i < s->nout; i++) {
		struct outcome *o = &s->out[i];
		if (store_delivery_record(s->db, o->id, o->token, o->status,
		    o->code, o->error, o->retry_ms, &recorded) == -1)
			goto fail;
		if (!recorded) {
			log_warnx("delivery %lld: its claim ran out before the "
			    "attempt was recorded; another sender has it now",
			    o->id);
			(*stale)++;
		}
	}
	if (tx && db_tx_commit(s->db) == -1)
		return -1;
	return 0;
fail:
	if (tx)
		db_tx_rollback(s->db);
	return -1;
}

/*
 * Writes what record() queued. A failure is retried once (a deadlock
 * with another sender's claim), then logged: the leases run out and the
 * deliveries are attempted again, at least once, never lost.
 */
static void
flush(struct sender *s)
{
	size_t stale;

	if (s->nout == 0)
		return;
	if (write_outcomes(s, &stale) == -1 &&
	    write_outcomes(s, &stale) == -1)
		log_warnx("cannot record %zu attempt%s: %s; %s attempted again "
		    "after %s lease", s->nout, s->nout == 1 ? "" : "s",
		    db_errmsg(s->db), s->nout == 1 ? "it is" : "they are",
		    s->nout == 1 ? "its" : "their");
	for (size_t i = 0; i < s->nout; i++)
		free(s->out[i].error);
	s->nout = 0;
}

/* A failed attempt: pending again after the backoff, or failed when the
 * next attempt would come after callback_max_age_s. */
static void
attempt_failed(struct sender *s, const struct delivery_claim *cl,
    unsigned long long token, double claimed_ms, int code, const char *why)
{
	long long delay = callback_backoff_ms(cl->attempts);
	double now = clock_mono_ms();
	double age = cl->age_ms + (now - claimed_ms);

	if (callback_give_up(age, delay, s->c->callback_max_age_s)) {
		log_warnx("delivery %lld to \"%s\" failed for good after %u "
		    "attempt%s: %s", cl->id, cl->url, cl->attempts,
		    cl->attempts == 1 ? "" : "s", why);
		record(s, cl, token, "failed", code, why, 0);
		metrics_callback(s->shm, METRICS_CB_FAILED, -1);
		return;
	}
	log_info("delivery %lld to \"%s\": attempt %u failed (%s); next in "
	    "%lld ms", cl->id, cl->url, cl->attempts, why, delay);
	record(s, cl, token, "pending", code, why, delay);
	metrics_callback(s->shm, METRICS_CB_RETRY, -1);
	/* Our own retry is due then: claim again by that time, even when
	 * it comes before the next poll (poll_interval_ms above 1 s). */
	if (s->next_retry_ms == 0 || now + (double)delay < s->next_retry_ms)
		s->next_retry_ms = now + (double)delay;
}

/* A delivery that cannot be attempted at all (its execution is gone, its
 * URL no longer allowed): failed now, with why. */
static void
cannot_attempt(struct sender *s, const struct delivery_claim *cl,
    unsigned long long token, const char *why)
{
	log_warnx("delivery %lld to \"%s\" failed: %s", cl->id, cl->url, why);
	record(s, cl, token, "failed", 0, why, 0);
	metrics_callback(s->shm, METRICS_CB_FAILED, -1);
}

/* Sets the easy handle of `sl` up for its claim; 0, or -1 with why. */
static int
slot_prepare(struct sender *s, struct slot *sl, char *why, size_t whylen)
{
	char sig[CALLBACK_SIG_LEN], line[160];
	long long ts = (long long)time(NULL);
	CURL *e = sl->easy;

	callback_sign(s->c->callback_key, s->c->callback_key_len, ts,
	    sl->body.data, sl->body.len, sig);
	sl->headers = curl_slist_append(sl->headers,
	    "Content-Type: application/json");
	sl->headers = curl_slist_append(sl->headers,
	    "X-Scriptorch-Event: execution.finished");
	snprintf(line, sizeof(line), "X-Scriptorch-Delivery: %lld", sl->cl.id);
	sl->headers = curl_slist_append(sl->headers, line);
	snprintf(line, sizeof(line), "X-Scriptorch-Timestamp: %lld", ts);
	sl->headers = curl_slist_append(sl->headers, line);
	snprintf(line, sizeof(line), "X-Scriptorch-Signature: %s", sig);
	sl->headers = curl_slist_append(sl->headers, line);
	/* No "Expect: 100-continue" wait before a large body. */
	sl->headers = curl_slist_append(sl->headers, "Expect:");
	if (sl->headers == NULL) {
		snprintf(why, whylen, "out of memory for the headers");
		return -1;
	}
	curl_easy_reset(e);
	if (curl_easy_setopt(e, CURLOPT_URL, sl->cl.url) != CURLE_OK) {
		snprintf(why, whylen, "libcurl refused the URL");
		return -1;
	}
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 0L);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, sl->body.data);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)sl->body.len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, sl->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "scriptorch/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)CALLBACK_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)CALLBACK_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, sl);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, sl->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, sl);
	sl->errbuf[0] = '\0';
	return 0;
}

/*
 * Starts the attempt of a claim in a free slot: its body rendered and
 * signed, the URL checked again against this node's callback_allow_hosts
 * (the config may have changed since the URL was accepted, or another
 * node accepted it), the transfer added to the multi handle. A claim that
 * cannot be attempted is recorded at once.
 */
static void
start(struct sender *s, struct delivery_claim *cl, unsigned long long token)
{
	struct slot *sl = NULL;
	char why[600];
	int rc;

	why[0] = '\0';
	for (int i = 0; i < s->nslots; i++)
		if (!s->slots[i].busy) {
			sl = &s->slots[i];
			break;
		}
	if (sl == NULL)
		fatalx("sender: a claim without a free slot");
	if (callback_url_check(cl->url, s->c->callback_allow_hosts, NULL, why,
	    sizeof(why)) == -1) {
		cannot_attempt(s, cl, token, why);
		free(cl->url);
		return;
	}
	sl->cl = *cl;           /* the slot owns the url now */
	sl->token = token;
	sl->claimed_ms = clock_mono_ms();
	sl->busy = 1;
	rc = render_body(s, &sl->cl, &sl->body);
	if (rc <= 0) {
		if (rc == 0) {
			snprintf(why, sizeof(why), "execution %lld no longer "
			    "exists", sl->cl.execution_id);
			cannot_attempt(s, &sl->cl, token, why);
		} else {
			/* The lease brings it back. */
			log_warnx("delivery %lld: cannot read execution %lld: %s",
			    sl->cl.id, sl->cl.execution_id, db_errmsg(s->db));
		}
		slot_clear(sl);
		return;
	}
	if (slot_prepare(s, sl, why, sizeof(why)) == -1 ||
	    curl_multi_add_handle(s->multi, sl->easy) != CURLM_OK) {
		if (why[0] == '\0')
			snprintf(why, sizeof(why), "libcurl cannot start it");
		attempt_failed(s, &sl->cl, token, sl->claimed_ms, 0, why);
		slot_clear(sl);
		return;
	}
	s->nbusy++;
	log_debug("delivery %lld: attempt %u to \"%s\" (%zu bytes)", sl->cl.id,
	    sl->cl.attempts, sl->cl.url, sl->body.len);
}

/*
 * Claims what is due into the free slots. When every free slot got one,
 * more may be due: the loop claims again as soon as a slot is free
 * (more_due). Otherwise nothing more is due now, and the sender is to
 * wake when the soonest pending delivery is (a retry of its own or of
 * another node's sender, a lease that runs out), if that comes before
 * the next poll.
 */
static void
claim(struct sender *s)
{
	struct delivery_claim cl[STORE_DELIVERY_CLAIM_MAX];
	unsigned long long token;
	size_t n, want;
	double ms;

	s->more_due = 0;
	if (stopping || s->nbusy >= s->nslots)
		return;
	want = (size_t)(s->nslots - s->nbusy);
	if (want > STORE_DELIVERY_CLAIM_MAX)
		want = STORE_DELIVERY_CLAIM_MAX;
	/* A token per claim: a record can only ever match the claim it was
	 * made for. Non-zero, and within BIGINT's sign. */
	do {
		randombytes_buf(&token, sizeof(token));
		token &= 0x7fffffffffffffffULL;
	} while (token == 0);
	if (db_begin(s->db) == -1 ||
	    store_delivery_claim(s->db, token, LEASE_S, want, cl, &n) == -1) {
		if (db_error(s->db) != DB_EUNAVAIL)
			log_warnx("claiming deliveries: %s", db_errmsg(s->db));
		return;
	}
	for (size_t i = 0; i < n; i++)
		start(s, &cl[i], token);
	/* Claims that could not even be attempted. */
	flush(s);
	if (n == want) {
		s->more_due = 1;
		return;
	}
	if (store_delivery_next_due(s->db, &ms) == 0 && ms >= 0) {
		double at = clock_mono_ms() + ms;
		if (s->next_retry_ms == 0 || at < s->next_retry_ms)
			s->next_retry_ms = at;
	}
}

/* An attempt ended: its outcome recorded, its slot freed. */
static void
finish(struct sender *s, CURL *e, CURLcode res)
{
	struct slot *sl = NULL;
	long code = 0;
	char why[CURL_ERROR_SIZE + 200];

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&sl);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(s->multi, e);
	s->nbusy--;
	if ((res == CURLE_OK || (res == CURLE_WRITE_ERROR && sl->capped)) &&
	    code >= 200 && code < 300) {
		double ms = clock_mono_ms() - sl->claimed_ms;
		log_info("delivery %lld to \"%s\": delivered (HTTP %ld, attempt "
		    "%u, %.1f ms)", sl->cl.id, sl->cl.url, code, sl->cl.attempts,
		    ms);
		record(s, &sl->cl, sl->token, "delivered", (int)code, NULL, 0);
		metrics_callback(s->shm, METRICS_CB_DELIVERED,
		    sl->cl.age_ms + ms);
	} else {
		if (res == CURLE_OK && code >= 300 && code < 400)
			snprintf(why, sizeof(why), "answered HTTP %ld (redirects "
			    "are not followed)", code);
		else if (res == CURLE_OK || (res == CURLE_WRITE_ERROR &&
		    sl->capped))
			snprintf(why, sizeof(why), "answered HTTP %ld", code);
		else if (res == CURLE_OPERATION_TIMEDOUT)
			snprintf(why, sizeof(why), "no complete answer within "
			    "%d s", CALLBACK_TIMEOUT_MS / 1000);
		else
			snprintf(why, sizeof(why), "%s%s%s",
			    curl_easy_strerror(res), sl->errbuf[0] ? ": " : "",
			    sl->errbuf);
		attempt_failed(s, &sl->cl, sl->token, sl->claimed_ms,
		    (int)code, why);
	}
	slot_clear(sl);
}

/* Deliveries nothing attempted within callback_max_age_s: failed. */
static void
expire(struct sender *s)
{
	long long n = 0;

	if (db_begin(s->db) == -1)
		return;
	if (store_delivery_expire(s->db, s->c->callback_max_age_s,
	    EXPIRE_BATCH, &n) == -1) {
		if (db_error(s->db) != DB_EUNAVAIL)
			log_warnx("expiring deliveries: %s", db_errmsg(s->db));
		return;
	}
	if (n > 0)
		log_warnx("%lld deliver%s not attempted within "
		    "callback_max_age_s (%lld s): failed", n,
		    n == 1 ? "y was" : "ies were", s->c->callback_max_age_s);
	for (long long i = 0; i < n; i++)
		metrics_callback(s->shm, METRICS_CB_FAILED, -1);
}

/* Stopping: what is in flight is given back, due again at once, for the
 * next sender (ours after a restart, or another node's). */
static void
give_back(struct sender *s)
{
	for (int i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];
		if (!sl->busy)
			continue;
		curl_multi_remove_handle(s->multi, sl->easy);
		if (db_begin(s->db) == -1 ||
		    store_delivery_release(s->db, sl->cl.id, sl->token,
		    "the attempt was interrupted: its sender stopped") == -1)
			log_warnx("delivery %lld: cannot give the attempt back "
			    "(%s); it is attempted again after its lease",
			    sl->cl.id, db_errmsg(s->db));
		slot_clear(sl);
	}
	s->nbusy = 0;
}

/* Empties the doorbell: 1 when it had rung. */
static int
doorbell_take(int fd)
{
	uint64_t v;

	return read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

void
sender_main(const struct conf *c, struct shm *shm)
{
	struct sender s;
	struct sigaction sa;
	struct curl_waitfd wfd;
	int rung = 1, running, left;
	CURLMsg *msg;

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.shm = shm;
	doorbell_fd = shm->sender_efd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (!c->has_callback_secret)
		fatalx("the sender needs a callback secret");
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	if ((s.multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	s.nslots = c->callback_concurrency;
	if ((s.slots = calloc((size_t)s.nslots, sizeof(*s.slots))) == NULL)
		fatal("calloc");
	for (int i = 0; i < s.nslots; i++)
		if ((s.slots[i].easy = curl_easy_init()) == NULL)
			fatalx("curl_easy_init failed");
	s.db = db_new(c);
	log_info("callback sender ready (%d at once, max age %lld s%s%s)",
	    s.nslots, c->callback_max_age_s,
	    c->callback_allow_hosts[0] ? ", hosts: " : ", any host",
	    c->callback_allow_hosts);

	while (!stopping) {
		double now = clock_mono_ms();
		int timeout;

		/* A ring while every slot was busy waits for a free one. */
		int retry_due = s.next_retry_ms != 0 && now >= s.next_retry_ms;
		if (s.nbusy < s.nslots && (rung || s.more_due || retry_due ||
		    now >= s.next_claim_ms)) {
			s.next_claim_ms = now + c->poll_interval_ms;
			if (retry_due)
				s.next_retry_ms = 0;
			rung = 0;
			claim(&s);
		}
		if (now >= s.next_expire_ms) {
			expire(&s);
			s.next_expire_ms = now + EXPIRE_EVERY_MS;
		}
		if (stopping)
			break;
		/* Sleep until the next claim is due, a transfer moves, or
		 * the doorbell rings (a signal rings it too); with every slot
		 * busy, until a transfer moves (libcurl shortens the wait to
		 * its own timers). */
		now = clock_mono_ms();
		if (s.nbusy >= s.nslots)
			timeout = 1000;
		else if (s.more_due || rung)
			timeout = 0;
		else {
			double next = s.next_claim_ms;
			if (s.next_retry_ms != 0 && s.next_retry_ms < next)
				next = s.next_retry_ms;
			timeout = next > now ? (int)(next - now) + 1 : 0;
		}
		wfd.fd = doorbell_fd;
		wfd.events = CURL_WAIT_POLLIN;
		wfd.revents = 0;
		curl_multi_poll(s.multi, &wfd, 1, timeout, NULL);
		if ((wfd.revents & CURL_WAIT_POLLIN) &&
		    doorbell_take(doorbell_fd))
			rung = 1;
		curl_multi_perform(s.multi, &running);
		while ((msg = curl_multi_info_read(s.multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
				finish(&s, msg->easy_handle, msg->data.result);
		flush(&s);
	}
	give_back(&s);
	for (int i = 0; i < s.nslots; i++) {
		curl_easy_cleanup(s.slots[i].easy);
		buf_free(&s.slots[i].body);
	}
	free(s.slots);
	free(s.out);
	curl_multi_cleanup(s.multi);
	curl_global_cleanup();
	db_close(s.db);
	log_info("callback sender stopping");
	_exit(0);
}
