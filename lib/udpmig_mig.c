/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The migration state machine: one const table [state][event] of
 * {flags, target, actions}, and a step function that looks it up. The
 * only logic outside the table is DST_DRAINING's "END and drained, in
 * either order", expressed by the SET_END, SET_DRAINED and GUARD flags.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "udpmig_mig.h"
#include "udpmig_priv.h"

#define DIM(a) (sizeof(a) / sizeof((a)[0]))

/* Flags of a table entry. */
#define T_LEGAL       0x01 /* the event is legal in the state */
#define T_SET_END     0x02 /* set end_seen */
#define T_SET_DRAINED 0x04 /* set drained */
#define T_GUARD       0x08 /* go to .to only if end_seen && drained; else stay, no actions */

struct trans {
	uint8_t flags; /* T_* */
	uint8_t to; /* enum udpmig_mig_state */
	uint16_t actions; /* UDPMIG_MIG_A_* */
};

_Static_assert(UDPMIG_MIG_S_MAX <= UINT8_MAX, "state does not fit struct trans");
_Static_assert(UDPMIG_MIG_A_ALL <= UINT16_MAX, "actions do not fit struct trans");

/* Shorthands for the table only. */
#define S(name) UDPMIG_MIG_S_##name
#define A(name) UDPMIG_MIG_A_##name
/* clang-format off */
#define GO(to_, act_) { .flags = T_LEGAL, .to = S(to_), .actions = (act_) }
#define STAY(self_)   { .flags = T_LEGAL, .to = S(self_), .actions = 0 }
/* clang-format on */

/* The source gives up before the blackout: nothing is held anywhere. */
#define A_SRC_QUIT (A(SEND_ABORT) | A(CLOSE_CHANNEL))
/* The VM runs here again while the source holds its buffer. */
#define A_SRC_BACK (A(SEND_ABORT) | A(INJECT) | A(STOP_INTERCEPT) | A(CLOSE_CHANNEL))
/* The source drops everything it holds (forced). */
#define A_SRC_DROP (A(DROP) | A(STOP_INTERCEPT) | A(CLOSE_CHANNEL))
/* The tail is over. */
#define A_SRC_END (A(STOP_INTERCEPT) | A(SEND_END))
/* The destination forgets the VM and what it holds. */
#define A_DST_DROP (A(DROP) | A(STOP_INTERCEPT) | A(CLOSE_CHANNEL))
/* The destination releases live packets behind what is left to inject. */
#define A_DST_DONE (A(STOP_INTERCEPT) | A(CLOSE_CHANNEL))

/*
 * [state][event]; an entry left zero is illegal (-EPERM). Keep this in
 * step with the event list in udpmig_mig.h and with docs/.
 */
static const struct trans trans_table[UDPMIG_MIG_S_MAX][UDPMIG_MIG_E_MAX] = {
	[S(IDLE)] = {
		[UDPMIG_MIG_E_START] = GO(SRC_PRECOPY, A(OPEN_CHANNEL)),
		[UDPMIG_MIG_E_OFFLINE] =
			GO(SRC_OFFLINE, A(OPEN_CHANNEL) | A(START_INTERCEPT) | A(STREAM)),
		[UDPMIG_MIG_E_EXPECT] = GO(DST_EXPECTING, A(START_INTERCEPT)),
		[UDPMIG_MIG_E_REMOVE] = STAY(IDLE),
	},
	[S(SRC_PRECOPY)] = {
		[UDPMIG_MIG_E_START] = STAY(SRC_PRECOPY),
		[UDPMIG_MIG_E_OFFLINE] = GO(SRC_OFFLINE, A(START_INTERCEPT) | A(STREAM)),
		[UDPMIG_MIG_E_CANCEL] = GO(IDLE, A_SRC_QUIT),
		[UDPMIG_MIG_E_ABORT] = GO(IDLE, A_SRC_QUIT),
		[UDPMIG_MIG_E_RESUMED_REMOTE] = GO(SRC_FORWARDING, A(START_INTERCEPT) | A(STREAM)),
		[UDPMIG_MIG_E_TIMEOUT] = GO(IDLE, A_SRC_QUIT),
		[UDPMIG_MIG_E_REMOVE] = GO(IDLE, A_SRC_QUIT),
	},
	[S(SRC_OFFLINE)] = {
		[UDPMIG_MIG_E_OFFLINE] = STAY(SRC_OFFLINE),
		[UDPMIG_MIG_E_ABORT] = GO(IDLE, A_SRC_BACK),
		[UDPMIG_MIG_E_RESUMED_REMOTE] = GO(SRC_FORWARDING, A(STREAM)),
		[UDPMIG_MIG_E_TIMEOUT] = GO(IDLE, A_SRC_BACK),
		[UDPMIG_MIG_E_REMOVE] = GO(IDLE, A_SRC_DROP),
	},
	[S(SRC_FORWARDING)] = {
		[UDPMIG_MIG_E_RESUMED_REMOTE] = STAY(SRC_FORWARDING),
		[UDPMIG_MIG_E_TAIL_QUIET] = GO(SRC_GONE, A_SRC_END),
		[UDPMIG_MIG_E_TIMEOUT] = GO(SRC_GONE, A_SRC_END),
		[UDPMIG_MIG_E_REMOVE] = GO(IDLE, A_SRC_DROP),
	},
	[S(SRC_GONE)] = {
		[UDPMIG_MIG_E_TIMEOUT] = GO(IDLE, A(DROP) | A(CLOSE_CHANNEL)),
		[UDPMIG_MIG_E_REMOVE] = GO(IDLE, A(DROP) | A(CLOSE_CHANNEL)),
	},
	[S(DST_EXPECTING)] = {
		[UDPMIG_MIG_E_ABORT] = GO(IDLE, A_DST_DROP),
		[UDPMIG_MIG_E_EXPECT] = STAY(DST_EXPECTING),
		[UDPMIG_MIG_E_RESUMED_LOCAL] = GO(DST_DRAINING, A(INJECT) | A(ANNOUNCE)),
		[UDPMIG_MIG_E_END_RECEIVED] = {
			.flags = T_LEGAL | T_SET_END,
			.to = S(DST_EXPECTING),
			.actions = 0,
		},
		[UDPMIG_MIG_E_PEER_ABORT] = GO(IDLE, A_DST_DROP),
		[UDPMIG_MIG_E_TIMEOUT] = GO(IDLE, A_DST_DROP),
		[UDPMIG_MIG_E_REMOVE] = GO(IDLE, A_DST_DROP),
	},
	[S(DST_DRAINING)] = {
		[UDPMIG_MIG_E_RESUMED_LOCAL] = STAY(DST_DRAINING),
		[UDPMIG_MIG_E_END_RECEIVED] = {
			.flags = T_LEGAL | T_SET_END | T_GUARD,
			.to = S(IDLE),
			.actions = A_DST_DONE,
		},
		[UDPMIG_MIG_E_DRAINED] = {
			.flags = T_LEGAL | T_SET_DRAINED | T_GUARD,
			.to = S(IDLE),
			.actions = A_DST_DONE,
		},
		[UDPMIG_MIG_E_PEER_ABORT] = GO(IDLE, A_DST_DONE),
		[UDPMIG_MIG_E_TIMEOUT] = GO(IDLE, A_DST_DONE),
		[UDPMIG_MIG_E_REMOVE] = GO(IDLE, A_DST_DROP),
	},
};

static const char *const state_names[] = {
#define NAME_(name) #name,
	UDPMIG_MIG_STATES(NAME_)
#undef NAME_
};

static const char *const event_names[] = {
#define NAME_(name) #name,
	UDPMIG_MIG_EVENTS(NAME_)
#undef NAME_
};

static const char *const action_names[] = {
#define NAME_(name) #name,
	UDPMIG_MIG_ACTIONS(NAME_)
#undef NAME_
};

_Static_assert(DIM(state_names) == UDPMIG_MIG_S_MAX, "state_names");
_Static_assert(DIM(event_names) == UDPMIG_MIG_E_MAX, "event_names");
_Static_assert(DIM(action_names) == UDPMIG_MIG_AB_MAX, "action_names");

/* Whether @ns is an acceptable timeout for state @s. */
static bool
timeout_ok(enum udpmig_mig_state s, uint64_t ns)
{
	if (s == UDPMIG_MIG_S_IDLE)
		return ns == 0;
	return ns >= 1 && ns <= UDPMIG_MIG_TIMEOUT_MAX_NS;
}

void
udpmig_mig_timeouts_default(struct udpmig_mig_timeouts *t)
{
	if (t == NULL)
		return;
	memset(t, 0, sizeof(*t));
	t->ns[UDPMIG_MIG_S_SRC_PRECOPY] = 600 * UDPMIG_MIG_NS_PER_S;
	t->ns[UDPMIG_MIG_S_SRC_OFFLINE] = 10 * UDPMIG_MIG_NS_PER_S;
	t->ns[UDPMIG_MIG_S_SRC_FORWARDING] = 30 * UDPMIG_MIG_NS_PER_S;
	t->ns[UDPMIG_MIG_S_SRC_GONE] = 2 * UDPMIG_MIG_NS_PER_S;
	t->ns[UDPMIG_MIG_S_DST_EXPECTING] = 660 * UDPMIG_MIG_NS_PER_S;
	t->ns[UDPMIG_MIG_S_DST_DRAINING] = 5 * UDPMIG_MIG_NS_PER_S;
}

int
udpmig_mig_timeouts_validate(const struct udpmig_mig_timeouts *t, char *err, size_t errlen)
{
	uint64_t need;

	if (t == NULL) {
		udpmig_set_err(err, errlen, "no timeouts");
		return -EINVAL;
	}
	for (unsigned int s = 0; s < UDPMIG_MIG_S_MAX; s++) {
		if (timeout_ok(s, t->ns[s]))
			continue;
		if (s == UDPMIG_MIG_S_IDLE)
			udpmig_set_err(err, errlen,
				"timeout of IDLE: %" PRIu64 " ns (accepted: 0, none)", t->ns[s]);
		else
			udpmig_set_err(err, errlen,
				"timeout of %s: %" PRIu64 " ns (accepted: 1 .. %" PRIu64 " ns)",
				state_names[s], t->ns[s], UDPMIG_MIG_TIMEOUT_MAX_NS);
		return -EINVAL;
	}
	/* Both at most one day: no overflow. */
	need = t->ns[UDPMIG_MIG_S_SRC_PRECOPY] + t->ns[UDPMIG_MIG_S_SRC_OFFLINE];
	if (t->ns[UDPMIG_MIG_S_DST_EXPECTING] < need) {
		udpmig_set_err(err, errlen,
			"timeout of DST_EXPECTING: %" PRIu64
			" ns (accepted: at least SRC_PRECOPY + SRC_OFFLINE = %" PRIu64 " ns)",
			t->ns[UDPMIG_MIG_S_DST_EXPECTING], need);
		return -EINVAL;
	}
	return 0;
}

/* Enter @s at @now_ns. */
static void
enter(struct udpmig_mig *m, enum udpmig_mig_state s, uint64_t now_ns, uint64_t timeout_ns)
{
	m->state = s;
	m->entered_ns = now_ns;
	if (s == UDPMIG_MIG_S_IDLE) {
		m->deadline_ns = UINT64_MAX;
		m->end_seen = false;
		m->drained = false;
	} else if (now_ns > UINT64_MAX - timeout_ns) {
		m->deadline_ns = UINT64_MAX;
	} else {
		m->deadline_ns = now_ns + timeout_ns;
	}
}

void
udpmig_mig_init(struct udpmig_mig *m, uint64_t now_ns)
{
	if (m == NULL)
		return;
	memset(m, 0, sizeof(*m));
	enter(m, UDPMIG_MIG_S_IDLE, now_ns, 0);
}

/* What a step did; read before @m changes. */
static void
fill_result(struct udpmig_mig_result *res, const struct udpmig_mig *m, enum udpmig_mig_state to,
	enum udpmig_mig_event ev, uint32_t actions, uint64_t now_ns)
{
	res->from = m->state;
	res->to = to;
	res->event = ev;
	res->actions = actions;
	res->elapsed_ns = now_ns > m->entered_ns ? now_ns - m->entered_ns : 0;
}

int
udpmig_mig_step(struct udpmig_mig *m, enum udpmig_mig_event ev, uint64_t now_ns,
	const struct udpmig_mig_timeouts *t, struct udpmig_mig_result *res)
{
	const struct trans *tr;
	enum udpmig_mig_state to;
	uint32_t actions;
	bool end_seen, drained;

	if (m == NULL || t == NULL || res == NULL)
		return -EINVAL;
	if ((unsigned int)ev >= UDPMIG_MIG_E_MAX || (unsigned int)m->state >= UDPMIG_MIG_S_MAX)
		return -EINVAL;

	tr = &trans_table[m->state][ev];
	if (!(tr->flags & T_LEGAL)) {
		fill_result(res, m, m->state, ev, 0, now_ns);
		return -EPERM;
	}
	end_seen = m->end_seen || (tr->flags & T_SET_END) != 0;
	drained = m->drained || (tr->flags & T_SET_DRAINED) != 0;
	to = (enum udpmig_mig_state)tr->to;
	actions = tr->actions;
	if ((tr->flags & T_GUARD) && !(end_seen && drained)) {
		to = m->state;
		actions = 0;
	}
	/* IDLE has no timeout: returning to it is never refused. */
	if (to != m->state && to != UDPMIG_MIG_S_IDLE && !timeout_ok(to, t->ns[to]))
		return -EINVAL;

	fill_result(res, m, to, ev, actions, now_ns);
	m->end_seen = end_seen;
	m->drained = drained;
	if (to != m->state)
		enter(m, to, now_ns, t->ns[to]);
	return 0;
}

int
udpmig_mig_poll(struct udpmig_mig *m, uint64_t now_ns, const struct udpmig_mig_timeouts *t,
	struct udpmig_mig_result *res)
{
	int ret;

	if (m == NULL || t == NULL || res == NULL)
		return -EINVAL;
	if ((unsigned int)m->state >= UDPMIG_MIG_S_MAX)
		return -EINVAL;
	if (m->state == UDPMIG_MIG_S_IDLE || now_ns < m->deadline_ns) {
		fill_result(res, m, m->state, UDPMIG_MIG_E_TIMEOUT, 0, now_ns);
		return 0;
	}
	ret = udpmig_mig_step(m, UDPMIG_MIG_E_TIMEOUT, now_ns, t, res);
	return ret == 0 ? 1 : ret;
}

bool
udpmig_mig_is_source(enum udpmig_mig_state s)
{
	switch (s) {
	case UDPMIG_MIG_S_SRC_PRECOPY:
	case UDPMIG_MIG_S_SRC_OFFLINE:
	case UDPMIG_MIG_S_SRC_FORWARDING:
	case UDPMIG_MIG_S_SRC_GONE:
		return true;
	case UDPMIG_MIG_S_IDLE:
	case UDPMIG_MIG_S_DST_EXPECTING:
	case UDPMIG_MIG_S_DST_DRAINING:
	case UDPMIG_MIG_S_MAX:
		break;
	}
	return false;
}

bool
udpmig_mig_is_destination(enum udpmig_mig_state s)
{
	switch (s) {
	case UDPMIG_MIG_S_DST_EXPECTING:
	case UDPMIG_MIG_S_DST_DRAINING:
		return true;
	case UDPMIG_MIG_S_IDLE:
	case UDPMIG_MIG_S_SRC_PRECOPY:
	case UDPMIG_MIG_S_SRC_OFFLINE:
	case UDPMIG_MIG_S_SRC_FORWARDING:
	case UDPMIG_MIG_S_SRC_GONE:
	case UDPMIG_MIG_S_MAX:
		break;
	}
	return false;
}

bool
udpmig_mig_intercepts(enum udpmig_mig_state s)
{
	switch (s) {
	case UDPMIG_MIG_S_SRC_OFFLINE:
	case UDPMIG_MIG_S_SRC_FORWARDING:
	case UDPMIG_MIG_S_DST_EXPECTING:
	case UDPMIG_MIG_S_DST_DRAINING:
		return true;
	case UDPMIG_MIG_S_IDLE:
	case UDPMIG_MIG_S_SRC_PRECOPY:
	case UDPMIG_MIG_S_SRC_GONE:
	case UDPMIG_MIG_S_MAX:
		break;
	}
	return false;
}

const char *
udpmig_mig_state_name(enum udpmig_mig_state s)
{
	if ((unsigned int)s >= DIM(state_names))
		return "?";
	return state_names[s];
}

const char *
udpmig_mig_event_name(enum udpmig_mig_event ev)
{
	if ((unsigned int)ev >= DIM(event_names))
		return "?";
	return event_names[ev];
}

const char *
udpmig_mig_action_name(uint32_t action)
{
	if (action == 0 || (action & (action - 1)) != 0 || (action & ~UDPMIG_MIG_A_ALL) != 0)
		return "?";
	return action_names[__builtin_ctz(action)];
}

/* Append @s to @buf (size @size) at offset *@len, as snprintf would. */
static void
append(char *buf, size_t size, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len < size) {
		size_t room = size - *len - 1;
		size_t k = n < room ? n : room;

		memcpy(buf + *len, s, k);
		buf[*len + k] = '\0';
	}
	*len += n;
}

int
udpmig_mig_actions_str(uint32_t mask, char *buf, size_t size)
{
	char hex[16];
	size_t len = 0;
	uint32_t unknown = mask & ~UDPMIG_MIG_A_ALL;

	if (buf == NULL && size > 0)
		return -EINVAL;
	if (size > 0)
		buf[0] = '\0';
	if (mask == 0) {
		append(buf, size, &len, "none");
		return (int)len;
	}
	for (unsigned int b = 0; b < UDPMIG_MIG_AB_MAX; b++) {
		if (!(mask & (UINT32_C(1) << b)))
			continue;
		if (len > 0)
			append(buf, size, &len, "|");
		append(buf, size, &len, action_names[b]);
	}
	if (unknown != 0) {
		if (len > 0)
			append(buf, size, &len, "|");
		snprintf(hex, sizeof(hex), "0x%" PRIx32, unknown);
		append(buf, size, &len, hex);
	}
	return (int)len;
}
