/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UDPMIG_MIG_H
#define UDPMIG_MIG_H

/**
 * @file
 * udpmig migration state machine: where one VM is in a migration, for
 * both roles a switch can play (source and destination, DESIGN.md §4),
 * as data plus one pure step function.
 *
 * The machine does no I/O, no allocation, no logging and needs no EAL.
 * Its callers (the vhost-hook driver and udpmig-switch) turn what they
 * see into events (vhost-user callbacks, control commands, tunnel
 * messages, timers), call udpmig_mig_step() or udpmig_mig_poll(), then
 * log the transition once, count it, and perform the returned actions
 * on the VM's buffer (udpmig_buf), its datapath flag and its tunnel
 * channel. Time is the caller's monotonic clock in nanoseconds.
 *
 * @code
 * source:       IDLE -START-> SRC_PRECOPY -OFFLINE-> SRC_OFFLINE -RESUMED_REMOTE-> SRC_FORWARDING
 *                 ^               |                      |                              |
 *                 +-CANCEL/ABORT--+------ABORT: INJECT---+              TAIL_QUIET: SEND_END
 *                 |                                                                     v
 *                 +-------------------------- TIMEOUT/REMOVE ---------------------- SRC_GONE
 * destination:  IDLE -EXPECT-> DST_EXPECTING -RESUMED_LOCAL-> DST_DRAINING -END+DRAINED-> IDLE
 *                                   |  (END_RECEIVED may come first)
 *                                   +-- PEER_ABORT/ABORT/TIMEOUT: DROP --> IDLE
 * @endcode
 *
 * Every state but IDLE has a timeout (struct udpmig_mig_timeouts);
 * udpmig_mig_poll() raises #UDPMIG_MIG_E_TIMEOUT at the deadline. The
 * full table of transitions is in docs/ and in udpmig_mig.c.
 *
 * Thread safety: a struct udpmig_mig is plain data owned by one control
 * thread; datapath threads never read it (they follow a flag the owner
 * sets from the actions). The functions without a struct udpmig_mig
 * argument are safe anywhere.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The states, one list for both roles (X-macro; the order is the enum's).
 *
 * - IDLE: running here (or not here at all), no migration. DESIGN's
 *   RUNNING and "(none)". No timeout.
 * - SRC_PRECOPY: source, migration indicated (migrate-start, or
 *   VHOST_F_LOG_ALL set); the channel to the peer is being opened;
 *   traffic is still delivered to the VM normally.
 * - SRC_OFFLINE: source, the VM is stopped here (rings stopped, or
 *   migrate-offline): every packet for it is intercepted, buffered in
 *   sequence and streamed to the peer. The source keeps its copy.
 * - SRC_FORWARDING: source, the VM has resumed on the peer: tail packets
 *   that still arrive here are intercepted and streamed after the
 *   buffered ones.
 * - SRC_GONE: source, the tail was quiet and END has been sent; the entry
 *   lingers so that END and the last packets can be retransmitted.
 * - DST_EXPECTING: destination, a source opened a channel (or
 *   migrate-expect); tunnel packets are kept in sequence; live packets
 *   sent to the VM's port here are held behind them. The VM is not here.
 * - DST_DRAINING: destination, the VM's device came up here: the held
 *   tunnel packets are injected in sequence, live packets wait behind
 *   them until END (and the queue drained) or the hold timeout.
 */
#define UDPMIG_MIG_STATES(X) \
	X(IDLE)              \
	X(SRC_PRECOPY)       \
	X(SRC_OFFLINE)       \
	X(SRC_FORWARDING)    \
	X(SRC_GONE)          \
	X(DST_EXPECTING)     \
	X(DST_DRAINING)

/**
 * The events (X-macro). What raises each, and where it is legal (any
 * other state answers -EPERM):
 *
 * - START: migrate-start, or VHOST_F_LOG_ALL set. IDLE; a repeat in
 *   SRC_PRECOPY is a no-op.
 * - OFFLINE: the VM's rings stopped (GET_VRING_BASE, destroy_device,
 *   vring disabled) while SRC_PRECOPY, or migrate-offline. Also legal in
 *   IDLE, which starts the migration at once: raise it there only for the
 *   explicit command, never for a plain stop of a VM. A repeat in
 *   SRC_OFFLINE is a no-op (one per vring is fine).
 * - CANCEL: VHOST_F_LOG_ALL cleared while SRC_PRECOPY (migration failed
 *   or cancelled before the blackout; nothing is buffered). Not legal in
 *   SRC_OFFLINE: there LOG_ALL going away does not prove the VM runs here
 *   again; ABORT does.
 * - ABORT: migrate-abort (SRC_PRECOPY, SRC_OFFLINE, DST_EXPECTING), or
 *   the VM's rings restarting on this switch while SRC_OFFLINE.
 * - RESUMED_REMOTE: the peer reports the VM resumed there. SRC_OFFLINE,
 *   and SRC_PRECOPY too (the stop was missed: intercept from now on); a
 *   repeat in SRC_FORWARDING is a no-op.
 * - TAIL_QUIET: no tail packet for the caller's quiet time.
 *   SRC_FORWARDING.
 * - EXPECT: a source opened a channel for the VM, or migrate-expect.
 *   IDLE; a repeat in DST_EXPECTING is a no-op.
 * - RESUMED_LOCAL: new_device here for an expected VM, or
 *   migrate-resumed. DST_EXPECTING; a repeat in DST_DRAINING is a no-op.
 * - END_RECEIVED: the source's END, reached in sequence (every tunnel
 *   packet before it received). DST_EXPECTING (remembered) and
 *   DST_DRAINING.
 * - DRAINED: the injector found the queue of held tunnel packets empty.
 *   DST_DRAINING only; raise it every time the queue is found empty
 *   (at least once after RESUMED_LOCAL, even with nothing to inject).
 * - PEER_ABORT: the source sent ABORT. DST_EXPECTING (drop the copy) and
 *   DST_DRAINING (the VM runs here: keep injecting what is held, stop
 *   waiting for END).
 * - TIMEOUT: the state's deadline passed (udpmig_mig_poll() raises it;
 *   udpmig_mig_step() applies it whenever asked). Every state but IDLE.
 * - REMOVE: the caller drops the VM's migration context: vm-del, switch
 *   shutdown, or END acked in SRC_GONE. Every state, IDLE included
 *   (no-op); what is held is dropped. Do not raise it for a source
 *   socket closing in SRC_OFFLINE: the stream must go on.
 */
#define UDPMIG_MIG_EVENTS(X) \
	X(START)             \
	X(OFFLINE)           \
	X(CANCEL)            \
	X(ABORT)             \
	X(RESUMED_REMOTE)    \
	X(TAIL_QUIET)        \
	X(EXPECT)            \
	X(RESUMED_LOCAL)     \
	X(END_RECEIVED)      \
	X(DRAINED)           \
	X(PEER_ABORT)        \
	X(TIMEOUT)           \
	X(REMOVE)

/**
 * The actions (X-macro), one bit each. The list order is the order in
 * which the caller performs the actions of one result (lowest bit first):
 * it opens before it intercepts before it streams, injects or drops before
 * it stops intercepting, stops intercepting before it sends END, and
 * sends END or ABORT before it closes the channel.
 *
 * - OPEN_CHANNEL: source, open the tunnel channel to the peer for the VM
 *   (asynchronous; the peer answers with EXPECT on its side).
 * - START_INTERCEPT: the datapath stops writing the VM's packets to its
 *   virtqueue and gives them to the VM's buffer, stamped in sequence.
 *   Source: they are what STREAM sends. Destination: live packets held
 *   behind the tunnel ones.
 * - STREAM: source, send the buffer to the peer over the channel, in
 *   sequence, and whatever is intercepted later, until SEND_END or
 *   SEND_ABORT. Keep every packet sent until the VM has resumed on the
 *   peer (an ABORT delivers them here), then until acked. A channel
 *   opened with --store-and-forward ignores STREAM while the VM is
 *   offline and starts on the one that comes with RESUMED_REMOTE.
 * - SEND_ABORT: tell the peer to drop its copy and forget the VM (if the
 *   channel is up; otherwise nothing to do).
 * - DROP: drop every packet held for the VM (buffered, tunnel and live),
 *   counting each.
 * - INJECT: put the held packets into the VM's local virtqueue in
 *   sequence, as soon as it is ready, respecting ring space. Destination:
 *   the tunnel packets. Source after an abort: its own buffer.
 * - ANNOUNCE: send a RARP for the VM's MAC on the uplink.
 * - STOP_INTERCEPT: the datapath writes the VM's packets to its virtqueue
 *   again, but never ahead of a packet still held for INJECT: held live
 *   packets, then new ones, go after the last injected packet.
 * - SEND_END: source, send END after the last streamed packet.
 * - CLOSE_CHANNEL: release the channel's state here (sends nothing by
 *   itself; tunnel packets for it are then dropped and counted).
 */
#define UDPMIG_MIG_ACTIONS(X) \
	X(OPEN_CHANNEL)       \
	X(START_INTERCEPT)    \
	X(STREAM)             \
	X(SEND_ABORT)         \
	X(DROP)               \
	X(INJECT)             \
	X(ANNOUNCE)           \
	X(STOP_INTERCEPT)     \
	X(SEND_END)           \
	X(CLOSE_CHANNEL)

/* clang-format would take the X-macro expansions below for expressions. */
/* clang-format off */
/** Migration state of one VM; see #UDPMIG_MIG_STATES. */
enum udpmig_mig_state {
#define UDPMIG_MIG_S_ENUM_(name) UDPMIG_MIG_S_##name,
	UDPMIG_MIG_STATES(UDPMIG_MIG_S_ENUM_)
#undef UDPMIG_MIG_S_ENUM_
	UDPMIG_MIG_S_MAX /**< number of states, not a state */
};

/** What happened to a VM; see #UDPMIG_MIG_EVENTS. */
enum udpmig_mig_event {
#define UDPMIG_MIG_E_ENUM_(name) UDPMIG_MIG_E_##name,
	UDPMIG_MIG_EVENTS(UDPMIG_MIG_E_ENUM_)
#undef UDPMIG_MIG_E_ENUM_
	UDPMIG_MIG_E_MAX /**< number of events, not an event */
};

/** Bit number of each action; see #UDPMIG_MIG_ACTIONS. */
enum udpmig_mig_action_bit {
#define UDPMIG_MIG_AB_ENUM_(name) UDPMIG_MIG_AB_##name,
	UDPMIG_MIG_ACTIONS(UDPMIG_MIG_AB_ENUM_)
#undef UDPMIG_MIG_AB_ENUM_
	UDPMIG_MIG_AB_MAX /**< number of actions, not an action */
};

/** Mask of each action (UDPMIG_MIG_A_OPEN_CHANNEL, ...); see #UDPMIG_MIG_ACTIONS. */
enum udpmig_mig_action {
#define UDPMIG_MIG_A_ENUM_(name) UDPMIG_MIG_A_##name = 1u << UDPMIG_MIG_AB_##name,
	UDPMIG_MIG_ACTIONS(UDPMIG_MIG_A_ENUM_)
#undef UDPMIG_MIG_A_ENUM_
};
/* clang-format on */

/** Every action bit. */
#define UDPMIG_MIG_A_ALL ((UINT32_C(1) << UDPMIG_MIG_AB_MAX) - 1)

/** One second in nanoseconds. */
#define UDPMIG_MIG_NS_PER_S UINT64_C(1000000000)
/** Longest timeout of a state: one day. */
#define UDPMIG_MIG_TIMEOUT_MAX_NS (86400 * UDPMIG_MIG_NS_PER_S)

/** Timeout of each state, in nanoseconds. */
struct udpmig_mig_timeouts {
	uint64_t ns[UDPMIG_MIG_S_MAX];
	/**< indexed by state: 0 for IDLE (no timeout), 1 .. UDPMIG_MIG_TIMEOUT_MAX_NS for others */
};

/** One VM's machine. Plain data, owned by one control thread. */
struct udpmig_mig {
	enum udpmig_mig_state state; /**< current state */
	bool end_seen; /**< destination: END received (cleared on entering IDLE) */
	bool drained; /**< destination: held queue found empty (cleared on entering IDLE) */
	uint64_t entered_ns; /**< when the current state was entered */
	uint64_t deadline_ns; /**< when TIMEOUT is due; UINT64_MAX in IDLE */
};

/** What one step did, for the caller to perform and log. */
struct udpmig_mig_result {
	enum udpmig_mig_state from; /**< state before the event */
	enum udpmig_mig_state to; /**< state after it (== from if it did not change) */
	enum udpmig_mig_event event; /**< the event */
	uint32_t actions; /**< UDPMIG_MIG_A_* to perform, lowest bit first */
	uint64_t elapsed_ns; /**< time spent in @c from until the event */
};

/**
 * Fill a timeout table with the defaults: IDLE none, SRC_PRECOPY 600 s
 * (precopy of a big, busy VM is long), SRC_OFFLINE 10 s (blackout plus
 * the peer's resume report), SRC_FORWARDING 30 s (cap on the tail; it
 * normally ends on TAIL_QUIET), SRC_GONE 2 s (END retransmissions),
 * DST_EXPECTING 660 s (must outlast the source's SRC_PRECOPY plus
 * SRC_OFFLINE, since it starts when the channel opens), DST_DRAINING 5 s
 * (how long live packets may wait for END; the VM's hold timeout).
 *
 * @param t
 *   The table to fill; NULL is ignored.
 */
void udpmig_mig_timeouts_default(struct udpmig_mig_timeouts *t);

/**
 * Check a timeout table: IDLE 0, every other state 1 ns ..
 * #UDPMIG_MIG_TIMEOUT_MAX_NS, and DST_EXPECTING at least SRC_PRECOPY +
 * SRC_OFFLINE (the same table is expected on both hosts; otherwise a
 * destination gives up while its source is still in precopy).
 *
 * @param t
 *   The table.
 * @param err
 *   On failure, one line naming the state and what it accepts; may be NULL.
 * @param errlen
 *   Size of @p err.
 * @return
 *   0, or -EINVAL (@p t NULL, or a timeout out of range as above).
 */
int udpmig_mig_timeouts_validate(const struct udpmig_mig_timeouts *t, char *err, size_t errlen);

/**
 * Start a machine in IDLE at @p now_ns.
 *
 * @param m
 *   The machine; NULL is ignored.
 * @param now_ns
 *   The caller's monotonic clock.
 */
void udpmig_mig_init(struct udpmig_mig *m, uint64_t now_ns);

/**
 * Apply one event: the pure step.
 *
 * On a legal event the machine moves to the target state (entered_ns =
 * @p now_ns, deadline from @p t) and @p res says what to do. A legal
 * event that keeps the state (a repeat, END_RECEIVED in DST_EXPECTING,
 * REMOVE in IDLE, DRAINED before END) returns 0 with res->to == res->from,
 * leaves entered_ns and deadline_ns alone (a repeat never extends a
 * timeout) and only updates end_seen/drained. In DST_DRAINING,
 * END_RECEIVED and DRAINED move to IDLE once both have been seen, in
 * either order.
 *
 * @param m
 *   The machine.
 * @param ev
 *   The event.
 * @param now_ns
 *   The caller's monotonic clock.
 * @param t
 *   Timeouts; only the target state's entry is read, on a change to a
 *   state other than IDLE.
 * @param res
 *   Filled on 0 and on -EPERM; untouched on -EINVAL.
 * @return
 *   - 0: legal; @p res filled.
 *   - -EINVAL: @p m, @p t or @p res NULL, @p ev out of range, m->state
 *     out of range, or the timeout of the state to enter out of range
 *     (see udpmig_mig_timeouts_validate(); never for IDLE, so that
 *     leaving a migration is never refused); nothing changed.
 *   - -EPERM: @p ev is not legal in m->state; nothing changed,
 *     res->from == res->to == m->state, res->actions == 0, so that the
 *     caller can answer e.g. "migrate-offline: VM vm1 is in state
 *     DST_EXPECTING".
 */
int udpmig_mig_step(struct udpmig_mig *m, enum udpmig_mig_event ev, uint64_t now_ns,
	const struct udpmig_mig_timeouts *t, struct udpmig_mig_result *res);

/**
 * Raise TIMEOUT if the current state's deadline has come (@p now_ns >=
 * m->deadline_ns). Never fires in IDLE.
 *
 * @param m
 *   The machine.
 * @param now_ns
 *   The caller's monotonic clock.
 * @param t
 *   Timeouts, as for udpmig_mig_step().
 * @param res
 *   On 1, the transition, as udpmig_mig_step() fills it. On 0, from ==
 *   to == m->state, event TIMEOUT, no actions, elapsed time so far.
 * @return
 *   - 1: TIMEOUT fired; @p res filled.
 *   - 0: nothing due.
 *   - -EINVAL: as udpmig_mig_step().
 */
int udpmig_mig_poll(struct udpmig_mig *m, uint64_t now_ns, const struct udpmig_mig_timeouts *t,
	struct udpmig_mig_result *res);

/**
 * Whether a state belongs to the source role.
 *
 * @param s
 *   A state.
 * @return
 *   true for SRC_PRECOPY, SRC_OFFLINE, SRC_FORWARDING, SRC_GONE; false
 *   otherwise, out-of-range values included.
 */
bool udpmig_mig_is_source(enum udpmig_mig_state s);

/**
 * Whether a state belongs to the destination role.
 *
 * @param s
 *   A state.
 * @return
 *   true for DST_EXPECTING, DST_DRAINING; false otherwise, out-of-range
 *   values included.
 */
bool udpmig_mig_is_destination(enum udpmig_mig_state s);

/**
 * Whether the datapath intercepts the VM's packets in a state (between
 * START_INTERCEPT and STOP_INTERCEPT). The datapath follows the actions,
 * not this: after STOP_INTERCEPT it may still queue behind packets held
 * for INJECT.
 *
 * @param s
 *   A state.
 * @return
 *   true for SRC_OFFLINE, SRC_FORWARDING, DST_EXPECTING, DST_DRAINING;
 *   false otherwise, out-of-range values included.
 */
bool udpmig_mig_intercepts(enum udpmig_mig_state s);

/**
 * Name of a state, for logs, telemetry and replies.
 *
 * @param s
 *   A state.
 * @return
 *   A static string, the enum's suffix ("IDLE", "SRC_PRECOPY", ...); "?"
 *   for UDPMIG_MIG_S_MAX or any value out of range. Never NULL.
 */
const char *udpmig_mig_state_name(enum udpmig_mig_state s);

/**
 * Name of an event.
 *
 * @param ev
 *   An event.
 * @return
 *   A static string, the enum's suffix ("START", ...); "?" for
 *   UDPMIG_MIG_E_MAX or any value out of range. Never NULL.
 */
const char *udpmig_mig_event_name(enum udpmig_mig_event ev);

/**
 * Name of one action.
 *
 * @param action
 *   One UDPMIG_MIG_A_* mask (a single bit).
 * @return
 *   A static string, the enum's suffix ("OPEN_CHANNEL", ...); "?" for 0,
 *   several bits, or an unknown bit. Never NULL.
 */
const char *udpmig_mig_action_name(uint32_t action);

/**
 * Format an action mask as "OPEN_CHANNEL|STREAM" (execution order), "none"
 * for 0; unknown bits are appended as one hexadecimal number
 * ("STREAM|0x400"). Truncates like snprintf().
 *
 * @param mask
 *   UDPMIG_MIG_A_* bits.
 * @param buf
 *   Where to write; always NUL-terminated when @p size > 0. May be NULL
 *   if @p size is 0 (to measure).
 * @param size
 *   Size of @p buf.
 * @return
 *   The length of the whole text (without NUL), so a value >= @p size
 *   means it was truncated; -EINVAL if @p buf is NULL and @p size > 0.
 */
int udpmig_mig_actions_str(uint32_t mask, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* UDPMIG_MIG_H */
