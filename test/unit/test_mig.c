/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/udpmig_mig: no EAL. The expected transitions are
 * written out again here, independently of the library's table, and
 * every (state, event) pair is checked against them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "udpmig_mig.h"
#include "unit.h"

#define DIM(a) (sizeof(a) / sizeof((a)[0]))

/* Shorthands. */
#define S(n) UDPMIG_MIG_S_##n
#define E(n) UDPMIG_MIG_E_##n
#define A(n) UDPMIG_MIG_A_##n

/* Distinct per-state timeouts, so a wrong index shows. */
static const struct udpmig_mig_timeouts tmo = {
	.ns = {
		[S(IDLE)] = 0,
		[S(SRC_PRECOPY)] = 1000,
		[S(SRC_OFFLINE)] = 200,
		[S(SRC_FORWARDING)] = 300,
		[S(SRC_GONE)] = 40,
		[S(DST_EXPECTING)] = 5000,
		[S(DST_DRAINING)] = 60,
	},
};

/* Every legal (state, event), with the end_seen/drained flags clear. */
struct exp_trans {
	enum udpmig_mig_state from;
	enum udpmig_mig_event ev;
	enum udpmig_mig_state to;
	uint32_t actions;
};

static const struct exp_trans legal[] = {
	{ S(IDLE), E(START), S(SRC_PRECOPY), A(OPEN_CHANNEL) },
	{ S(IDLE), E(OFFLINE), S(SRC_OFFLINE), A(OPEN_CHANNEL) | A(START_INTERCEPT) | A(STREAM) },
	{ S(IDLE), E(EXPECT), S(DST_EXPECTING), A(START_INTERCEPT) },
	{ S(IDLE), E(REMOVE), S(IDLE), 0 },

	{ S(SRC_PRECOPY), E(START), S(SRC_PRECOPY), 0 },
	{ S(SRC_PRECOPY), E(OFFLINE), S(SRC_OFFLINE), A(START_INTERCEPT) | A(STREAM) },
	{ S(SRC_PRECOPY), E(CANCEL), S(IDLE), A(SEND_ABORT) | A(CLOSE_CHANNEL) },
	{ S(SRC_PRECOPY), E(ABORT), S(IDLE), A(SEND_ABORT) | A(CLOSE_CHANNEL) },
	{ S(SRC_PRECOPY), E(RESUMED_REMOTE), S(SRC_FORWARDING), A(START_INTERCEPT) | A(STREAM) },
	{ S(SRC_PRECOPY), E(TIMEOUT), S(IDLE), A(SEND_ABORT) | A(CLOSE_CHANNEL) },
	{ S(SRC_PRECOPY), E(REMOVE), S(IDLE), A(SEND_ABORT) | A(CLOSE_CHANNEL) },

	{ S(SRC_OFFLINE), E(OFFLINE), S(SRC_OFFLINE), 0 },
	{ S(SRC_OFFLINE), E(ABORT), S(IDLE),
		A(SEND_ABORT) | A(INJECT) | A(STOP_INTERCEPT) | A(CLOSE_CHANNEL) },
	{ S(SRC_OFFLINE), E(RESUMED_REMOTE), S(SRC_FORWARDING), A(STREAM) },
	{ S(SRC_OFFLINE), E(TIMEOUT), S(IDLE),
		A(SEND_ABORT) | A(INJECT) | A(STOP_INTERCEPT) | A(CLOSE_CHANNEL) },
	{ S(SRC_OFFLINE), E(REMOVE), S(IDLE), A(DROP) | A(STOP_INTERCEPT) | A(CLOSE_CHANNEL) },

	{ S(SRC_FORWARDING), E(RESUMED_REMOTE), S(SRC_FORWARDING), 0 },
	{ S(SRC_FORWARDING), E(TAIL_QUIET), S(SRC_GONE), A(STOP_INTERCEPT) | A(SEND_END) },
	{ S(SRC_FORWARDING), E(TIMEOUT), S(SRC_GONE), A(STOP_INTERCEPT) | A(SEND_END) },
	{ S(SRC_FORWARDING), E(REMOVE), S(IDLE), A(DROP) | A(STOP_INTERCEPT) | A(CLOSE_CHANNEL) },

	{ S(SRC_GONE), E(TIMEOUT), S(IDLE), A(DROP) | A(CLOSE_CHANNEL) },
	{ S(SRC_GONE), E(REMOVE), S(IDLE), A(DROP) | A(CLOSE_CHANNEL) },

	{ S(DST_EXPECTING), E(ABORT), S(IDLE), A(DROP) | A(STOP_INTERCEPT) | A(CLOSE_CHANNEL) },
	{ S(DST_EXPECTING), E(EXPECT), S(DST_EXPECTING), 0 },
	{ S(DST_EXPECTING), E(RESUMED_LOCAL), S(DST_DRAINING), A(INJECT) | A(ANNOUNCE) },
	{ S(DST_EXPECTING), E(END_RECEIVED), S(DST_EXPECTING), 0 },
	{ S(DST_EXPECTING), E(PEER_ABORT), S(IDLE),
		A(DROP) | A(STOP_INTERCEPT) | A(CLOSE_CHANNEL) },
	{ S(DST_EXPECTING), E(TIMEOUT), S(IDLE), A(DROP) | A(STOP_INTERCEPT) | A(CLOSE_CHANNEL) },
	{ S(DST_EXPECTING), E(REMOVE), S(IDLE), A(DROP) | A(STOP_INTERCEPT) | A(CLOSE_CHANNEL) },

	{ S(DST_DRAINING), E(RESUMED_LOCAL), S(DST_DRAINING), 0 },
	{ S(DST_DRAINING), E(END_RECEIVED), S(DST_DRAINING), 0 },
	{ S(DST_DRAINING), E(DRAINED), S(DST_DRAINING), 0 },
	{ S(DST_DRAINING), E(PEER_ABORT), S(IDLE), A(STOP_INTERCEPT) | A(CLOSE_CHANNEL) },
	{ S(DST_DRAINING), E(TIMEOUT), S(IDLE), A(STOP_INTERCEPT) | A(CLOSE_CHANNEL) },
	{ S(DST_DRAINING), E(REMOVE), S(IDLE), A(DROP) | A(STOP_INTERCEPT) | A(CLOSE_CHANNEL) },
};

/* The row of @legal for (s, e), or NULL if the pair is illegal. */
static const struct exp_trans *
find_legal(enum udpmig_mig_state s, enum udpmig_mig_event e)
{
	for (size_t i = 0; i < DIM(legal); i++)
		if (legal[i].from == s && legal[i].ev == e)
			return &legal[i];
	return NULL;
}

/* Step that must succeed. */
static void
step_ok(struct udpmig_mig *m, enum udpmig_mig_event ev, uint64_t now, struct udpmig_mig_result *r)
{
	int ret = udpmig_mig_step(m, ev, now, &tmo, r);

	CU_ASSERT_EQUAL_FATAL(ret, 0);
}

/* Start @m in IDLE at 100 and take legal steps until it is in @s, at 100. */
static void
reach(struct udpmig_mig *m, enum udpmig_mig_state s)
{
	static const enum udpmig_mig_event path[UDPMIG_MIG_S_MAX][3] = {
		[S(IDLE)] = { E(MAX) },
		[S(SRC_PRECOPY)] = { E(START), E(MAX) },
		[S(SRC_OFFLINE)] = { E(START), E(OFFLINE), E(MAX) },
		[S(SRC_FORWARDING)] = { E(OFFLINE), E(RESUMED_REMOTE), E(MAX) },
		[S(SRC_GONE)] = { E(OFFLINE), E(RESUMED_REMOTE), E(TAIL_QUIET) },
		[S(DST_EXPECTING)] = { E(EXPECT), E(MAX) },
		[S(DST_DRAINING)] = { E(EXPECT), E(RESUMED_LOCAL), E(MAX) },
	};
	struct udpmig_mig_result r;

	udpmig_mig_init(m, 100);
	for (size_t i = 0; i < DIM(path[s]) && path[s][i] != E(MAX); i++)
		step_ok(m, path[s][i], 100, &r);
	CU_ASSERT_EQUAL_FATAL(m->state, s);
	CU_ASSERT_EQUAL(m->entered_ns, 100);
}

/* Fill a result with a pattern, to see what a call wrote. */
static void
poison(struct udpmig_mig_result *r)
{
	memset(r, 0xa5, sizeof(*r));
}

static bool
is_poisoned(const struct udpmig_mig_result *r)
{
	struct udpmig_mig_result p;

	poison(&p);
	return memcmp(&p, r, sizeof(p)) == 0;
}

static void
test_null_args(void)
{
	struct udpmig_mig m, before;
	struct udpmig_mig_result r;
	char err[128];

	udpmig_mig_init(&m, 5);
	before = m;
	poison(&r);
	CU_ASSERT_EQUAL(udpmig_mig_step(NULL, E(START), 10, &tmo, &r), -EINVAL);
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(START), 10, NULL, &r), -EINVAL);
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(START), 10, &tmo, NULL), -EINVAL);
	CU_ASSERT_EQUAL(udpmig_mig_poll(NULL, 10, &tmo, &r), -EINVAL);
	CU_ASSERT_EQUAL(udpmig_mig_poll(&m, 10, NULL, &r), -EINVAL);
	CU_ASSERT_EQUAL(udpmig_mig_poll(&m, 10, &tmo, NULL), -EINVAL);
	CU_ASSERT(memcmp(&m, &before, sizeof(m)) == 0);
	CU_ASSERT(is_poisoned(&r));

	err[0] = '\0';
	CU_ASSERT_EQUAL(udpmig_mig_timeouts_validate(NULL, err, sizeof(err)), -EINVAL);
	CU_ASSERT(err[0] != '\0');
	CU_ASSERT_EQUAL(udpmig_mig_timeouts_validate(NULL, NULL, 0), -EINVAL);

	/* The void functions accept NULL. */
	udpmig_mig_init(NULL, 0);
	udpmig_mig_timeouts_default(NULL);
	CU_ASSERT_EQUAL(udpmig_mig_actions_str(A(STREAM), NULL, 1), -EINVAL);
}

static void
test_event_out_of_range(void)
{
	static const int bad[] = { UDPMIG_MIG_E_MAX, UDPMIG_MIG_E_MAX + 1, 1000, -1, INT32_MIN };
	struct udpmig_mig m, before;
	struct udpmig_mig_result r;

	for (int s = 0; s < UDPMIG_MIG_S_MAX; s++) {
		reach(&m, s);
		before = m;
		for (size_t i = 0; i < DIM(bad); i++) {
			poison(&r);
			CU_ASSERT_EQUAL(
				udpmig_mig_step(&m, (enum udpmig_mig_event)bad[i], 200, &tmo, &r),
				-EINVAL);
			CU_ASSERT(memcmp(&m, &before, sizeof(m)) == 0);
			CU_ASSERT(is_poisoned(&r));
		}
	}
}

static void
test_state_out_of_range(void)
{
	struct udpmig_mig m, before;
	struct udpmig_mig_result r;

	udpmig_mig_init(&m, 0);
	m.state = UDPMIG_MIG_S_MAX;
	m.deadline_ns = 0;
	before = m;
	poison(&r);
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(REMOVE), 10, &tmo, &r), -EINVAL);
	CU_ASSERT_EQUAL(udpmig_mig_poll(&m, 10, &tmo, &r), -EINVAL);
	m.state = (enum udpmig_mig_state) - 1;
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(REMOVE), 10, &tmo, &r), -EINVAL);
	CU_ASSERT_EQUAL(udpmig_mig_poll(&m, 10, &tmo, &r), -EINVAL);
	m.state = before.state;
	CU_ASSERT(memcmp(&m, &before, sizeof(m)) == 0);
	CU_ASSERT(is_poisoned(&r));
}

/* Every illegal pair, with both flag values where they could matter. */
static void
test_illegal_pairs(void)
{
	struct udpmig_mig m, before;
	struct udpmig_mig_result r;
	unsigned int n_illegal = 0;

	for (int s = 0; s < UDPMIG_MIG_S_MAX; s++) {
		for (int e = 0; e < UDPMIG_MIG_E_MAX; e++) {
			if (find_legal(s, e) != NULL)
				continue;
			n_illegal++;
			for (int flags = 0; flags < 4; flags++) {
				reach(&m, s);
				m.end_seen = (flags & 1) != 0;
				m.drained = (flags & 2) != 0;
				before = m;
				poison(&r);
				CU_ASSERT_EQUAL(udpmig_mig_step(&m, e, 150, &tmo, &r), -EPERM);
				CU_ASSERT(memcmp(&m, &before, sizeof(m)) == 0);
				CU_ASSERT_EQUAL((int)r.from, s);
				CU_ASSERT_EQUAL((int)r.to, s);
				CU_ASSERT_EQUAL((int)r.event, e);
				CU_ASSERT_EQUAL(r.actions, 0);
				CU_ASSERT_EQUAL(r.elapsed_ns, 50);
			}
		}
	}
	CU_ASSERT_EQUAL(n_illegal + DIM(legal), UDPMIG_MIG_S_MAX * UDPMIG_MIG_E_MAX);
	/* The cases the brief names. */
	reach(&m, S(IDLE));
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(TIMEOUT), 0, &tmo, &r), -EPERM);
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(ABORT), 0, &tmo, &r), -EPERM);
	reach(&m, S(DST_EXPECTING));
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(OFFLINE), 0, &tmo, &r), -EPERM);
	CU_ASSERT_STRING_EQUAL(udpmig_mig_state_name(r.from), "DST_EXPECTING");
	reach(&m, S(SRC_OFFLINE));
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(CANCEL), 0, &tmo, &r), -EPERM);
}

static void
test_timeouts_invalid(void)
{
	struct udpmig_mig_timeouts t;
	char err[160];
	char small[8];

	for (int s = 0; s < UDPMIG_MIG_S_MAX; s++) {
		const uint64_t bad[] = {
			s == S(IDLE) ? 1 : 0,
			UDPMIG_MIG_TIMEOUT_MAX_NS + 1,
			UINT64_MAX,
		};

		for (size_t i = 0; i < DIM(bad); i++) {
			udpmig_mig_timeouts_default(&t);
			t.ns[s] = bad[i];
			err[0] = '\0';
			CU_ASSERT_EQUAL(
				udpmig_mig_timeouts_validate(&t, err, sizeof(err)), -EINVAL);
			CU_ASSERT_PTR_NOT_NULL(strstr(err, udpmig_mig_state_name(s)));
			CU_ASSERT_EQUAL(udpmig_mig_timeouts_validate(&t, NULL, 0), -EINVAL);
			memset(small, 'x', sizeof(small));
			CU_ASSERT_EQUAL(
				udpmig_mig_timeouts_validate(&t, small, sizeof(small)), -EINVAL);
			CU_ASSERT_EQUAL(small[sizeof(small) - 1], '\0');
		}
	}

	/* A destination must outlast its source's precopy and blackout. */
	udpmig_mig_timeouts_default(&t);
	t.ns[S(DST_EXPECTING)] = t.ns[S(SRC_PRECOPY)] + t.ns[S(SRC_OFFLINE)] - 1;
	CU_ASSERT_EQUAL(udpmig_mig_timeouts_validate(&t, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "DST_EXPECTING"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "SRC_PRECOPY"));
	t.ns[S(DST_EXPECTING)]++;
	CU_ASSERT_EQUAL(udpmig_mig_timeouts_validate(&t, err, sizeof(err)), 0);
}

/* step() refuses to enter a state whose timeout is bad, and changes nothing. */
static void
test_step_bad_timeout(void)
{
	struct udpmig_mig_timeouts t = tmo;
	struct udpmig_mig m, before;
	struct udpmig_mig_result r;

	udpmig_mig_init(&m, 0);
	before = m;
	t.ns[S(SRC_PRECOPY)] = 0;
	poison(&r);
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(START), 1, &t, &r), -EINVAL);
	t.ns[S(SRC_PRECOPY)] = UDPMIG_MIG_TIMEOUT_MAX_NS + 1;
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(START), 1, &t, &r), -EINVAL);
	CU_ASSERT(memcmp(&m, &before, sizeof(m)) == 0);
	CU_ASSERT(is_poisoned(&r));

	/* Only the target's entry matters: a bad one elsewhere is not read. */
	t = tmo;
	t.ns[S(SRC_GONE)] = 0;
	t.ns[S(IDLE)] = 7;
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(START), 1, &t, &r), 0);
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(CANCEL), 2, &t, &r), 0);
	CU_ASSERT_EQUAL(m.state, S(IDLE));
	CU_ASSERT_EQUAL(m.deadline_ns, UINT64_MAX);

	/* A self-transition reads no timeout; a refused step sets no flag. */
	t = tmo;
	t.ns[S(DST_EXPECTING)] = 0;
	t.ns[S(DST_DRAINING)] = 0;
	reach(&m, S(DST_EXPECTING));
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(END_RECEIVED), 110, &t, &r), 0);
	CU_ASSERT(m.end_seen);
	CU_ASSERT_EQUAL(m.deadline_ns, 5100);
	before = m;
	poison(&r);
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(RESUMED_LOCAL), 120, &t, &r), -EINVAL);
	CU_ASSERT(memcmp(&m, &before, sizeof(m)) == 0);
	CU_ASSERT(is_poisoned(&r));
}

static void
test_timeouts_default(void)
{
	struct udpmig_mig_timeouts t;
	char err[128] = "";

	memset(&t, 0xff, sizeof(t));
	udpmig_mig_timeouts_default(&t);
	CU_ASSERT_EQUAL(udpmig_mig_timeouts_validate(&t, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL(t.ns[S(IDLE)], 0);
	CU_ASSERT_EQUAL(t.ns[S(SRC_PRECOPY)], 600 * UDPMIG_MIG_NS_PER_S);
	CU_ASSERT_EQUAL(t.ns[S(SRC_OFFLINE)], 10 * UDPMIG_MIG_NS_PER_S);
	CU_ASSERT_EQUAL(t.ns[S(SRC_FORWARDING)], 30 * UDPMIG_MIG_NS_PER_S);
	CU_ASSERT_EQUAL(t.ns[S(SRC_GONE)], 2 * UDPMIG_MIG_NS_PER_S);
	CU_ASSERT_EQUAL(t.ns[S(DST_EXPECTING)], 660 * UDPMIG_MIG_NS_PER_S);
	CU_ASSERT_EQUAL(t.ns[S(DST_DRAINING)], 5 * UDPMIG_MIG_NS_PER_S);
	CU_ASSERT_EQUAL(udpmig_mig_timeouts_validate(&tmo, NULL, 0), 0);

	/* The bounds themselves are accepted. */
	for (int s = 1; s < UDPMIG_MIG_S_MAX; s++)
		t.ns[s] = 1;
	t.ns[S(DST_EXPECTING)] = 2;
	CU_ASSERT_EQUAL(udpmig_mig_timeouts_validate(&t, NULL, 0), 0);
	for (int s = 1; s < UDPMIG_MIG_S_MAX; s++)
		t.ns[s] = UDPMIG_MIG_TIMEOUT_MAX_NS;
	CU_ASSERT_EQUAL(udpmig_mig_timeouts_validate(&t, NULL, 0), -EINVAL);
	t.ns[S(SRC_PRECOPY)] = UDPMIG_MIG_TIMEOUT_MAX_NS / 2;
	t.ns[S(SRC_OFFLINE)] = UDPMIG_MIG_TIMEOUT_MAX_NS / 2;
	CU_ASSERT_EQUAL(udpmig_mig_timeouts_validate(&t, NULL, 0), 0);
}

static void
test_init(void)
{
	struct udpmig_mig m;

	memset(&m, 0xff, sizeof(m));
	udpmig_mig_init(&m, 1234);
	CU_ASSERT_EQUAL(m.state, S(IDLE));
	CU_ASSERT_EQUAL(m.entered_ns, 1234);
	CU_ASSERT_EQUAL(m.deadline_ns, UINT64_MAX);
	CU_ASSERT_FALSE(m.end_seen);
	CU_ASSERT_FALSE(m.drained);
}

/* Each legal pair: target, actions, timing. */
static void
test_legal_transitions(void)
{
	struct udpmig_mig m, before;
	struct udpmig_mig_result r;

	for (size_t i = 0; i < DIM(legal); i++) {
		const struct exp_trans *x = &legal[i];

		reach(&m, x->from);
		before = m;
		poison(&r);
		CU_ASSERT_EQUAL_FATAL(udpmig_mig_step(&m, x->ev, 130, &tmo, &r), 0);
		CU_ASSERT_EQUAL(r.from, x->from);
		CU_ASSERT_EQUAL(r.to, x->to);
		CU_ASSERT_EQUAL(r.event, x->ev);
		CU_ASSERT_EQUAL(r.actions, x->actions);
		CU_ASSERT_EQUAL(r.elapsed_ns, 30);
		CU_ASSERT_EQUAL(m.state, x->to);
		if (x->to == x->from) {
			CU_ASSERT_EQUAL(m.entered_ns, before.entered_ns);
			CU_ASSERT_EQUAL(m.deadline_ns, before.deadline_ns);
		} else {
			CU_ASSERT_EQUAL(m.entered_ns, 130);
			CU_ASSERT_EQUAL(
				m.deadline_ns, x->to == S(IDLE) ? UINT64_MAX : 130 + tmo.ns[x->to]);
		}
		if (x->to == S(IDLE)) {
			CU_ASSERT_FALSE(m.end_seen);
			CU_ASSERT_FALSE(m.drained);
		}
		/* Actions only with a change of state. */
		if (x->to == x->from)
			CU_ASSERT_EQUAL(r.actions, 0);
		CU_ASSERT_EQUAL(r.actions & ~UDPMIG_MIG_A_ALL, 0);
		/* Intercepting states are entered with START_INTERCEPT, left with STOP. */
		if (!udpmig_mig_intercepts(x->from) && udpmig_mig_intercepts(x->to))
			CU_ASSERT(r.actions & A(START_INTERCEPT));
		if (udpmig_mig_intercepts(x->from) && !udpmig_mig_intercepts(x->to))
			CU_ASSERT(r.actions & A(STOP_INTERCEPT));
		if (udpmig_mig_intercepts(x->from) == udpmig_mig_intercepts(x->to))
			CU_ASSERT_EQUAL(r.actions & (A(START_INTERCEPT) | A(STOP_INTERCEPT)), 0);
	}
}

static void
test_source_path(void)
{
	struct udpmig_mig m;
	struct udpmig_mig_result r;

	udpmig_mig_init(&m, 0);
	step_ok(&m, E(START), 10, &r);
	CU_ASSERT_EQUAL(r.to, S(SRC_PRECOPY));
	CU_ASSERT_EQUAL(r.actions, A(OPEN_CHANNEL));
	CU_ASSERT_EQUAL(r.elapsed_ns, 10);
	CU_ASSERT_EQUAL(m.deadline_ns, 1010);
	CU_ASSERT(udpmig_mig_is_source(m.state));
	CU_ASSERT_FALSE(udpmig_mig_intercepts(m.state));

	/* LOG_ALL seen again, then the explicit command: no-ops. */
	step_ok(&m, E(START), 20, &r);
	CU_ASSERT_EQUAL(r.to, S(SRC_PRECOPY));
	CU_ASSERT_EQUAL(r.actions, 0);
	CU_ASSERT_EQUAL(m.deadline_ns, 1010);

	step_ok(&m, E(OFFLINE), 500, &r);
	CU_ASSERT_EQUAL(r.to, S(SRC_OFFLINE));
	CU_ASSERT_EQUAL(r.actions, A(START_INTERCEPT) | A(STREAM));
	CU_ASSERT_EQUAL(r.elapsed_ns, 490);
	CU_ASSERT_EQUAL(m.deadline_ns, 700);
	CU_ASSERT(udpmig_mig_intercepts(m.state));

	/* One OFFLINE per vring. */
	step_ok(&m, E(OFFLINE), 501, &r);
	CU_ASSERT_EQUAL(r.actions, 0);
	CU_ASSERT_EQUAL(m.entered_ns, 500);

	step_ok(&m, E(RESUMED_REMOTE), 580, &r);
	CU_ASSERT_EQUAL(r.to, S(SRC_FORWARDING));
	CU_ASSERT_EQUAL(r.actions, A(STREAM)); /* a store-and-forward channel starts now */
	CU_ASSERT_EQUAL(r.elapsed_ns, 80); /* the blackout as the source saw it */
	CU_ASSERT_EQUAL(m.deadline_ns, 880);

	step_ok(&m, E(TAIL_QUIET), 700, &r);
	CU_ASSERT_EQUAL(r.to, S(SRC_GONE));
	CU_ASSERT_EQUAL(r.actions, A(STOP_INTERCEPT) | A(SEND_END));
	CU_ASSERT_EQUAL(m.deadline_ns, 740);
	CU_ASSERT_FALSE(udpmig_mig_intercepts(m.state));

	CU_ASSERT_EQUAL(udpmig_mig_poll(&m, 739, &tmo, &r), 0);
	CU_ASSERT_EQUAL(udpmig_mig_poll(&m, 740, &tmo, &r), 1);
	CU_ASSERT_EQUAL(r.from, S(SRC_GONE));
	CU_ASSERT_EQUAL(r.to, S(IDLE));
	CU_ASSERT_EQUAL(r.event, E(TIMEOUT));
	CU_ASSERT_EQUAL(r.actions, A(DROP) | A(CLOSE_CHANNEL));
	CU_ASSERT_EQUAL(m.state, S(IDLE));
	CU_ASSERT_EQUAL(m.deadline_ns, UINT64_MAX);

	/* Explicit migrate-offline on an IDLE VM starts and stops at once. */
	step_ok(&m, E(OFFLINE), 800, &r);
	CU_ASSERT_EQUAL(r.to, S(SRC_OFFLINE));
	CU_ASSERT_EQUAL(r.actions, A(OPEN_CHANNEL) | A(START_INTERCEPT) | A(STREAM));

	/* GONE may end early on REMOVE (END acked). */
	step_ok(&m, E(RESUMED_REMOTE), 810, &r);
	step_ok(&m, E(TAIL_QUIET), 820, &r);
	step_ok(&m, E(REMOVE), 821, &r);
	CU_ASSERT_EQUAL(r.to, S(IDLE));
	CU_ASSERT_EQUAL(r.actions, A(DROP) | A(CLOSE_CHANNEL));
}

static void
test_abort_offline(void)
{
	struct udpmig_mig m;
	struct udpmig_mig_result r;
	char buf[128];

	reach(&m, S(SRC_OFFLINE));
	step_ok(&m, E(ABORT), 150, &r);
	CU_ASSERT_EQUAL(r.from, S(SRC_OFFLINE));
	CU_ASSERT_EQUAL(r.to, S(IDLE));
	CU_ASSERT(r.actions & A(INJECT));
	CU_ASSERT(r.actions & A(SEND_ABORT));
	CU_ASSERT_FALSE(r.actions & A(DROP));
	udpmig_mig_actions_str(r.actions, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "SEND_ABORT|INJECT|STOP_INTERCEPT|CLOSE_CHANNEL");
	/* The second signal of the same abort (explicit after rings restart). */
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(ABORT), 160, &tmo, &r), -EPERM);

	/* After the VM resumed on the peer, there is nothing to abort. */
	reach(&m, S(SRC_FORWARDING));
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(ABORT), 160, &tmo, &r), -EPERM);
	CU_ASSERT_EQUAL(m.state, S(SRC_FORWARDING));
}

static void
test_cancel_precopy(void)
{
	struct udpmig_mig m;
	struct udpmig_mig_result r;

	reach(&m, S(SRC_PRECOPY));
	step_ok(&m, E(CANCEL), 140, &r);
	CU_ASSERT_EQUAL(r.to, S(IDLE));
	CU_ASSERT_EQUAL(r.actions, A(SEND_ABORT) | A(CLOSE_CHANNEL));
	CU_ASSERT_FALSE(r.actions & (A(INJECT) | A(DROP) | A(STOP_INTERCEPT)));
	CU_ASSERT_EQUAL(m.deadline_ns, UINT64_MAX);
	/* A new migration can start at once. */
	step_ok(&m, E(START), 141, &r);
	CU_ASSERT_EQUAL(m.state, S(SRC_PRECOPY));
	CU_ASSERT_EQUAL(m.deadline_ns, 1141);
}

static void
test_dest_end_before_resume(void)
{
	struct udpmig_mig m;
	struct udpmig_mig_result r;

	udpmig_mig_init(&m, 0);
	step_ok(&m, E(EXPECT), 10, &r);
	CU_ASSERT_EQUAL(r.to, S(DST_EXPECTING));
	CU_ASSERT_EQUAL(r.actions, A(START_INTERCEPT));
	CU_ASSERT_EQUAL(m.deadline_ns, 5010);
	CU_ASSERT(udpmig_mig_is_destination(m.state));

	step_ok(&m, E(END_RECEIVED), 20, &r);
	CU_ASSERT_EQUAL(r.to, S(DST_EXPECTING));
	CU_ASSERT_EQUAL(r.actions, 0);
	CU_ASSERT(m.end_seen);
	CU_ASSERT_EQUAL(m.entered_ns, 10);
	CU_ASSERT_EQUAL(m.deadline_ns, 5010);

	step_ok(&m, E(RESUMED_LOCAL), 30, &r);
	CU_ASSERT_EQUAL(r.to, S(DST_DRAINING));
	CU_ASSERT_EQUAL(r.actions, A(INJECT) | A(ANNOUNCE));
	CU_ASSERT(m.end_seen);
	CU_ASSERT_FALSE(m.drained);
	CU_ASSERT_EQUAL(m.deadline_ns, 90);

	step_ok(&m, E(DRAINED), 40, &r);
	CU_ASSERT_EQUAL(r.from, S(DST_DRAINING));
	CU_ASSERT_EQUAL(r.to, S(IDLE));
	CU_ASSERT_EQUAL(r.event, E(DRAINED));
	CU_ASSERT_EQUAL(r.actions, A(STOP_INTERCEPT) | A(CLOSE_CHANNEL));
	CU_ASSERT_EQUAL(r.elapsed_ns, 10);
	CU_ASSERT_FALSE(m.end_seen);
	CU_ASSERT_FALSE(m.drained);
	CU_ASSERT_EQUAL(m.deadline_ns, UINT64_MAX);
}

static void
test_dest_end_after_drained(void)
{
	struct udpmig_mig m;
	struct udpmig_mig_result r;

	reach(&m, S(DST_DRAINING));
	CU_ASSERT_FALSE(m.end_seen);
	step_ok(&m, E(DRAINED), 110, &r);
	CU_ASSERT_EQUAL(r.to, S(DST_DRAINING));
	CU_ASSERT_EQUAL(r.actions, 0);
	CU_ASSERT(m.drained);
	/* Found empty again: still waiting for END, timer untouched. */
	step_ok(&m, E(DRAINED), 120, &r);
	CU_ASSERT_EQUAL(r.to, S(DST_DRAINING));
	CU_ASSERT_EQUAL(m.entered_ns, 100);
	CU_ASSERT_EQUAL(m.deadline_ns, 160);
	/* new_device again (a second vring): no-op. */
	step_ok(&m, E(RESUMED_LOCAL), 125, &r);
	CU_ASSERT_EQUAL(r.actions, 0);

	step_ok(&m, E(END_RECEIVED), 130, &r);
	CU_ASSERT_EQUAL(r.to, S(IDLE));
	CU_ASSERT_EQUAL(r.event, E(END_RECEIVED));
	CU_ASSERT_EQUAL(r.actions, A(STOP_INTERCEPT) | A(CLOSE_CHANNEL));
	CU_ASSERT_EQUAL(r.elapsed_ns, 30);
	CU_ASSERT_FALSE(udpmig_mig_intercepts(m.state));
	/* A late, duplicated END finds IDLE. */
	CU_ASSERT_EQUAL(udpmig_mig_step(&m, E(END_RECEIVED), 131, &tmo, &r), -EPERM);
}

/* Flags never leak into the next migration. */
static void
test_dest_flags_reset(void)
{
	struct udpmig_mig m;
	struct udpmig_mig_result r;

	reach(&m, S(DST_EXPECTING));
	step_ok(&m, E(END_RECEIVED), 110, &r);
	step_ok(&m, E(PEER_ABORT), 120, &r);
	CU_ASSERT_EQUAL(r.to, S(IDLE));
	CU_ASSERT_EQUAL(r.actions, A(DROP) | A(STOP_INTERCEPT) | A(CLOSE_CHANNEL));
	CU_ASSERT_FALSE(m.end_seen);
	step_ok(&m, E(EXPECT), 130, &r);
	step_ok(&m, E(RESUMED_LOCAL), 140, &r);
	step_ok(&m, E(DRAINED), 150, &r);
	CU_ASSERT_EQUAL(m.state, S(DST_DRAINING));

	/* The drained flag from DRAINING does not survive a timeout either. */
	CU_ASSERT_EQUAL(udpmig_mig_poll(&m, 200, &tmo, &r), 1);
	CU_ASSERT_EQUAL(r.to, S(IDLE));
	CU_ASSERT_FALSE(m.drained);
	step_ok(&m, E(EXPECT), 210, &r);
	step_ok(&m, E(RESUMED_LOCAL), 220, &r);
	step_ok(&m, E(END_RECEIVED), 230, &r);
	CU_ASSERT_EQUAL(m.state, S(DST_DRAINING));

	/* The source aborts after the VM came up here: keep what is held. */
	step_ok(&m, E(PEER_ABORT), 240, &r);
	CU_ASSERT_EQUAL(r.to, S(IDLE));
	CU_ASSERT_EQUAL(r.actions, A(STOP_INTERCEPT) | A(CLOSE_CHANNEL));
}

/* Each state's TIMEOUT fires at its deadline, not 1 ns before. */
static void
test_timeouts_fire(void)
{
	for (int s = 0; s < UDPMIG_MIG_S_MAX; s++) {
		const struct exp_trans *x = find_legal(s, E(TIMEOUT));
		struct udpmig_mig m, before;
		struct udpmig_mig_result r;
		uint64_t dl;

		if (s == S(IDLE)) {
			CU_ASSERT_PTR_NULL(x);
			continue;
		}
		CU_ASSERT_PTR_NOT_NULL_FATAL(x);
		reach(&m, s);
		dl = 100 + tmo.ns[s];
		CU_ASSERT_EQUAL(m.deadline_ns, dl);
		before = m;
		poison(&r);
		CU_ASSERT_EQUAL(udpmig_mig_poll(&m, dl - 1, &tmo, &r), 0);
		CU_ASSERT(memcmp(&m, &before, sizeof(m)) == 0);
		CU_ASSERT_EQUAL((int)r.from, s);
		CU_ASSERT_EQUAL((int)r.to, s);
		CU_ASSERT_EQUAL(r.event, E(TIMEOUT));
		CU_ASSERT_EQUAL(r.actions, 0);
		CU_ASSERT_EQUAL(r.elapsed_ns, tmo.ns[s] - 1);

		CU_ASSERT_EQUAL(udpmig_mig_poll(&m, dl, &tmo, &r), 1);
		CU_ASSERT_EQUAL((int)r.from, s);
		CU_ASSERT_EQUAL(r.to, x->to);
		CU_ASSERT_EQUAL(r.event, E(TIMEOUT));
		CU_ASSERT_EQUAL(r.actions, x->actions);
		CU_ASSERT_EQUAL(r.elapsed_ns, tmo.ns[s]);
		CU_ASSERT_EQUAL(m.state, x->to);
		CU_ASSERT_EQUAL(m.entered_ns, dl);
		CU_ASSERT_NOT_EQUAL((int)m.state, s);
	}

	/* Documented meanings of the timeouts that need one. */
	CU_ASSERT(find_legal(S(SRC_OFFLINE), E(TIMEOUT))->actions & A(INJECT));
	CU_ASSERT(find_legal(S(SRC_OFFLINE), E(TIMEOUT))->actions & A(SEND_ABORT));
	CU_ASSERT(find_legal(S(DST_EXPECTING), E(TIMEOUT))->actions & A(DROP));
	CU_ASSERT_FALSE(find_legal(S(DST_DRAINING), E(TIMEOUT))->actions & A(DROP));

	/* Late polls still fire, once; a whole source path by timeouts alone. */
	{
		struct udpmig_mig m;
		struct udpmig_mig_result r;

		reach(&m, S(SRC_FORWARDING));
		CU_ASSERT_EQUAL(udpmig_mig_poll(&m, 100000, &tmo, &r), 1);
		CU_ASSERT_EQUAL(r.to, S(SRC_GONE));
		CU_ASSERT_EQUAL(m.deadline_ns, 100040);
		CU_ASSERT_EQUAL(udpmig_mig_poll(&m, 100039, &tmo, &r), 0);
		CU_ASSERT_EQUAL(udpmig_mig_poll(&m, 100040, &tmo, &r), 1);
		CU_ASSERT_EQUAL(r.to, S(IDLE));
		CU_ASSERT_EQUAL(udpmig_mig_poll(&m, 200000, &tmo, &r), 0);

		/* TIMEOUT through step() applies at once, due or not. */
		reach(&m, S(SRC_PRECOPY));
		step_ok(&m, E(TIMEOUT), 101, &r);
		CU_ASSERT_EQUAL(r.to, S(IDLE));
	}
}

static void
test_poll_idle(void)
{
	static const uint64_t nows[] = { 0, 1, 1000, UINT64_MAX - 1, UINT64_MAX };
	struct udpmig_mig m;
	struct udpmig_mig_result r;

	for (size_t i = 0; i < DIM(nows); i++) {
		udpmig_mig_init(&m, 0);
		CU_ASSERT_EQUAL(udpmig_mig_poll(&m, nows[i], &tmo, &r), 0);
		CU_ASSERT_EQUAL(m.state, S(IDLE));
		CU_ASSERT_EQUAL(r.from, S(IDLE));
		CU_ASSERT_EQUAL(r.to, S(IDLE));
		CU_ASSERT_EQUAL(r.actions, 0);
		CU_ASSERT_EQUAL(r.elapsed_ns, nows[i]);
	}
	/* Even a corrupted deadline does not fire in IDLE. */
	udpmig_mig_init(&m, 0);
	m.deadline_ns = 0;
	CU_ASSERT_EQUAL(udpmig_mig_poll(&m, 5, &tmo, &r), 0);
}

/* Clock edge cases: deadline saturates; a clock going back gives 0 elapsed. */
static void
test_clock_edges(void)
{
	struct udpmig_mig m;
	struct udpmig_mig_result r;

	udpmig_mig_init(&m, UINT64_MAX - 10);
	step_ok(&m, E(START), UINT64_MAX - 10, &r);
	CU_ASSERT_EQUAL(m.deadline_ns, UINT64_MAX);
	CU_ASSERT_EQUAL(udpmig_mig_poll(&m, UINT64_MAX - 1, &tmo, &r), 0);
	CU_ASSERT_EQUAL(udpmig_mig_poll(&m, UINT64_MAX, &tmo, &r), 1);
	CU_ASSERT_EQUAL(m.state, S(IDLE));

	udpmig_mig_init(&m, 500);
	step_ok(&m, E(EXPECT), 400, &r);
	CU_ASSERT_EQUAL(r.elapsed_ns, 0);
	CU_ASSERT_EQUAL(m.entered_ns, 400);
	CU_ASSERT_EQUAL(m.deadline_ns, 5400);
}

static void
test_roles(void)
{
	static const struct {
		enum udpmig_mig_state s;
		bool src, dst, icpt;
	} exp[] = {
		{ S(IDLE), false, false, false },
		{ S(SRC_PRECOPY), true, false, false },
		{ S(SRC_OFFLINE), true, false, true },
		{ S(SRC_FORWARDING), true, false, true },
		{ S(SRC_GONE), true, false, false },
		{ S(DST_EXPECTING), false, true, true },
		{ S(DST_DRAINING), false, true, true },
		{ S(MAX), false, false, false },
		{ (enum udpmig_mig_state)99, false, false, false },
		{ (enum udpmig_mig_state) - 1, false, false, false },
	};

	CU_ASSERT_EQUAL(DIM(exp), UDPMIG_MIG_S_MAX + 3);
	for (size_t i = 0; i < DIM(exp); i++) {
		CU_ASSERT_EQUAL(udpmig_mig_is_source(exp[i].s), exp[i].src);
		CU_ASSERT_EQUAL(udpmig_mig_is_destination(exp[i].s), exp[i].dst);
		CU_ASSERT_EQUAL(udpmig_mig_intercepts(exp[i].s), exp[i].icpt);
	}
}

static void
test_names(void)
{
	static const char *const states[] = {
		"IDLE",
		"SRC_PRECOPY",
		"SRC_OFFLINE",
		"SRC_FORWARDING",
		"SRC_GONE",
		"DST_EXPECTING",
		"DST_DRAINING",
	};
	static const char *const events[] = {
		"START",
		"OFFLINE",
		"CANCEL",
		"ABORT",
		"RESUMED_REMOTE",
		"TAIL_QUIET",
		"EXPECT",
		"RESUMED_LOCAL",
		"END_RECEIVED",
		"DRAINED",
		"PEER_ABORT",
		"TIMEOUT",
		"REMOVE",
	};
	static const char *const actions[] = {
		"OPEN_CHANNEL",
		"START_INTERCEPT",
		"STREAM",
		"SEND_ABORT",
		"DROP",
		"INJECT",
		"ANNOUNCE",
		"STOP_INTERCEPT",
		"SEND_END",
		"CLOSE_CHANNEL",
	};

	CU_ASSERT_EQUAL_FATAL(DIM(states), UDPMIG_MIG_S_MAX);
	CU_ASSERT_EQUAL_FATAL(DIM(events), UDPMIG_MIG_E_MAX);
	CU_ASSERT_EQUAL_FATAL(DIM(actions), UDPMIG_MIG_AB_MAX);
	for (int i = 0; i < UDPMIG_MIG_S_MAX; i++)
		CU_ASSERT_STRING_EQUAL(udpmig_mig_state_name(i), states[i]);
	for (int i = 0; i < UDPMIG_MIG_E_MAX; i++)
		CU_ASSERT_STRING_EQUAL(udpmig_mig_event_name(i), events[i]);
	for (int i = 0; i < UDPMIG_MIG_AB_MAX; i++)
		CU_ASSERT_STRING_EQUAL(udpmig_mig_action_name(UINT32_C(1) << i), actions[i]);
	CU_ASSERT_EQUAL(A(CLOSE_CHANNEL), 1u << 9);
	CU_ASSERT_EQUAL(UDPMIG_MIG_A_ALL, 0x3ffu);

	CU_ASSERT_STRING_EQUAL(udpmig_mig_state_name(UDPMIG_MIG_S_MAX), "?");
	CU_ASSERT_STRING_EQUAL(udpmig_mig_state_name((enum udpmig_mig_state) - 1), "?");
	CU_ASSERT_STRING_EQUAL(udpmig_mig_event_name(UDPMIG_MIG_E_MAX), "?");
	CU_ASSERT_STRING_EQUAL(udpmig_mig_event_name((enum udpmig_mig_event) - 1), "?");
	CU_ASSERT_STRING_EQUAL(udpmig_mig_action_name(0), "?");
	CU_ASSERT_STRING_EQUAL(udpmig_mig_action_name(A(STREAM) | A(DROP)), "?");
	CU_ASSERT_STRING_EQUAL(udpmig_mig_action_name(UINT32_C(1) << UDPMIG_MIG_AB_MAX), "?");
	CU_ASSERT_STRING_EQUAL(udpmig_mig_action_name(UINT32_C(1) << 31), "?");
	CU_ASSERT_STRING_EQUAL(udpmig_mig_action_name(UINT32_MAX), "?");
}

static void
test_actions_str(void)
{
	const char *full = "OPEN_CHANNEL|START_INTERCEPT|STREAM|SEND_ABORT|DROP|INJECT|ANNOUNCE|"
			   "STOP_INTERCEPT|SEND_END|CLOSE_CHANNEL";
	char buf[256];
	char small[64];
	int n;

	CU_ASSERT_EQUAL(udpmig_mig_actions_str(0, buf, sizeof(buf)), 4);
	CU_ASSERT_STRING_EQUAL(buf, "none");
	CU_ASSERT_EQUAL(udpmig_mig_actions_str(A(STREAM), buf, sizeof(buf)), 6);
	CU_ASSERT_STRING_EQUAL(buf, "STREAM");
	/* Execution order, whatever order the bits were named in. */
	udpmig_mig_actions_str(A(CLOSE_CHANNEL) | A(OPEN_CHANNEL), buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "OPEN_CHANNEL|CLOSE_CHANNEL");
	n = udpmig_mig_actions_str(UDPMIG_MIG_A_ALL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, full);
	CU_ASSERT_EQUAL(n, (int)strlen(full));
	udpmig_mig_actions_str(A(STREAM) | (UINT32_C(1) << 10), buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "STREAM|0x400");
	udpmig_mig_actions_str(UINT32_C(0xfffffc00), buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "0xfffffc00");
	n = udpmig_mig_actions_str(UINT32_MAX, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, (int)strlen(full) + (int)strlen("|0xfffffc00"));

	/* Measuring. */
	CU_ASSERT_EQUAL(udpmig_mig_actions_str(UDPMIG_MIG_A_ALL, NULL, 0), (int)strlen(full));
	CU_ASSERT_EQUAL(udpmig_mig_actions_str(0, NULL, 0), 4);

	/* Truncation at every size: a NUL-terminated prefix, no write past it. */
	for (size_t size = 1; size < sizeof(small); size++) {
		const char *want = "SEND_ABORT|INJECT|STOP_INTERCEPT|0x800";
		uint32_t mask = A(SEND_ABORT) | A(INJECT) | A(STOP_INTERCEPT) | (UINT32_C(1) << 11);

		memset(small, 'x', sizeof(small));
		n = udpmig_mig_actions_str(mask, small, size);
		CU_ASSERT_EQUAL(n, (int)strlen(want));
		CU_ASSERT_EQUAL(strlen(small), size - 1 < strlen(want) ? size - 1 : strlen(want));
		CU_ASSERT(strncmp(small, want, strlen(small)) == 0);
		for (size_t i = size; i < sizeof(small); i++)
			CU_ASSERT_EQUAL(small[i], 'x');
	}
	memset(small, 'x', sizeof(small));
	CU_ASSERT_EQUAL(udpmig_mig_actions_str(A(DROP), small, 0), 4);
	CU_ASSERT_EQUAL(small[0], 'x');
}

static int
register_mig(int argc, char **argv)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "NULL arguments", test_null_args },
		{ "event out of range", test_event_out_of_range },
		{ "state out of range", test_state_out_of_range },
		{ "every illegal (state, event)", test_illegal_pairs },
		{ "invalid timeouts", test_timeouts_invalid },
		{ "step into a bad timeout", test_step_bad_timeout },
		{ "default timeouts", test_timeouts_default },
		{ "init", test_init },
		{ "every legal transition", test_legal_transitions },
		{ "source path", test_source_path },
		{ "abort from SRC_OFFLINE", test_abort_offline },
		{ "cancel from SRC_PRECOPY", test_cancel_precopy },
		{ "destination, END before resume", test_dest_end_before_resume },
		{ "destination, END after DRAINED", test_dest_end_after_drained },
		{ "destination flags reset", test_dest_flags_reset },
		{ "timeouts fire at the deadline", test_timeouts_fire },
		{ "poll in IDLE", test_poll_idle },
		{ "clock edges", test_clock_edges },
		{ "roles", test_roles },
		{ "names", test_names },
		{ "actions_str", test_actions_str },
	};
	CU_pSuite suite;

	(void)argc;
	(void)argv;
	suite = CU_add_suite("mig", NULL, NULL);
	if (suite == NULL)
		return -1;
	for (size_t i = 0; i < DIM(tests); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}

UNIT_MAIN(register_mig)
