/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The in-order buffer. Layout of the shared state, by writer:
 *
 *   next_seq            producers (fetch-add), own cache line
 *   t1_held             producers add, the consumer subtracts
 *   prod[p].inflight    producer p; read by the consumer (watermark)
 *   prod[p].counters    producer p only (single writer, relaxed)
 *   cons.*              the consumer only
 *
 * Order: a producer publishes a lower bound of the sequence numbers it
 * is about to take (inflight) before it takes them, and clears it after
 * its packets are in its rings. The consumer reads next_seq and then
 * every inflight; everything below the minimum is settled: held in a
 * ring or dropped. Both sides use sequentially consistent accesses for
 * that store-load pair; the rest is acquire/release or relaxed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_memcpy.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "udpmig_buf.h"

RTE_LOG_REGISTER(udpmig_buf_logtype, udpmig.buf, INFO);
#define BUF_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, udpmig_buf_logtype, "udpmig.buf: " fmt "\n", ##__VA_ARGS__)

#define STAGE_SIZE 32
#define NO_SEQ     UINT64_MAX
#define MAX_QUOTA  (1u << 30)
#define MIN_SLOT   64
#define MAX_SLOT   65536

int udpmig_buf_seq_offset = -1;

/* A tier-2 slot: header then packet bytes. */
struct slot_hdr {
	uint64_t seq;
	uint32_t len;
	uint32_t pad;
};

/* A tier-1 ring entry: the consumer orders without touching the mbuf. */
struct t1_ent {
	struct rte_mbuf *m;
	uint64_t seq;
};

/* Consumer-private look-ahead into one ring: items already dequeued. */
struct stage {
	uint64_t seq[STAGE_SIZE];
	uintptr_t item[STAGE_SIZE]; /* mbuf pointer (tier 1) or slot index (tier 2) */
	uint16_t head;
	uint16_t n;
};

struct prod {
	/* Written by this producer, read by the consumer. */
	uint64_t inflight __rte_cache_aligned;
	/* Single writer: this producer. */
	uint64_t enq_pkts __rte_cache_aligned;
	uint64_t t1_pkts;
	uint64_t t2_pkts;
	uint64_t t2_bytes;
	uint64_t drop_newest;
	uint64_t spill_too_big;
	struct rte_ring *t1; /* SP/SC, struct t1_ent */
	struct rte_ring *t2; /* SP/SC, uint32 slot indices */
};

struct udpmig_buf {
	char name[RTE_RING_NAMESIZE];
	enum udpmig_buf_policy policy;
	uint16_t n_producers;
	uint32_t t1_quota;
	uint32_t t1_limit; /* quota, plus a burst of headroom for drop-oldest */
	uint32_t t2_slots;
	uint32_t slot_size;
	size_t slot_stride;
	uint8_t *slab; /* tier 2 slots */
	size_t slab_len;
	bool slab_mapped; /* mmap'd file, not rte_malloc */
	struct rte_ring *t2_free; /* MP/MC, uint32 slot indices */

	uint64_t next_seq __rte_cache_aligned;
	uint64_t t1_held __rte_cache_aligned;

	struct {
		uint64_t deq_pkts;
		uint64_t drop_oldest;
		uint64_t drop_flush;
		uint64_t deq_nomem;
		struct stage *stages; /* 2 per producer: [2p] tier 1, [2p + 1] tier 2 */
	} cons __rte_cache_aligned;

	struct prod prod[];
};

#define CNT_ADD(field, v) __atomic_store_n(&(field), (field) + (v), __ATOMIC_RELAXED)
#define CNT_GET(field)    __atomic_load_n(&(field), __ATOMIC_RELAXED)

static inline struct slot_hdr *
slot_at(const struct udpmig_buf *buf, uint32_t idx)
{
	return (struct slot_hdr *)(buf->slab + (size_t)idx * buf->slot_stride);
}

int
udpmig_buf_seq_register(void)
{
	static const struct rte_mbuf_dynfield desc = {
		.name = UDPMIG_BUF_SEQ_DYNFIELD,
		.size = sizeof(uint64_t),
		.align = __alignof__(uint64_t),
	};
	int off;

	if (udpmig_buf_seq_offset >= 0)
		return 0;
	off = rte_mbuf_dynfield_register(&desc);
	if (off < 0)
		return -rte_errno;
	udpmig_buf_seq_offset = off;
	return 0;
}

const char *
udpmig_buf_policy_name(enum udpmig_buf_policy policy)
{
	switch (policy) {
	case UDPMIG_BUF_DROP_NEWEST:
		return "drop-newest";
	case UDPMIG_BUF_DROP_OLDEST:
		return "drop-oldest";
	}
	return "?";
}

int
udpmig_buf_policy_parse(const char *name, enum udpmig_buf_policy *policy)
{
	if (name == NULL || policy == NULL)
		return -EINVAL;
	if (strcmp(name, "drop-newest") == 0)
		*policy = UDPMIG_BUF_DROP_NEWEST;
	else if (strcmp(name, "drop-oldest") == 0)
		*policy = UDPMIG_BUF_DROP_OLDEST;
	else
		return -EINVAL;
	return 0;
}

const char *
udpmig_buf_name(const struct udpmig_buf *buf)
{
	return buf == NULL ? "" : buf->name;
}

/* A ring in rte_malloc memory: no global name, so any number of buffers. */
static struct rte_ring *
ring_new(const char *name, unsigned int esize, unsigned int count, unsigned int flags, int socket)
{
	struct rte_ring *r;
	ssize_t sz;

	sz = rte_ring_get_memsize_elem(esize, rte_align32pow2(count + 1));
	if (sz < 0) {
		rte_errno = (int)-sz;
		return NULL;
	}
	r = rte_zmalloc_socket(name, (size_t)sz, RTE_CACHE_LINE_SIZE, socket);
	if (r == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	if (rte_ring_init(r, name, count, flags | RING_F_EXACT_SZ) != 0) {
		rte_free(r);
		return NULL;
	}
	return r;
}

static int
slab_map_file(struct udpmig_buf *buf, const char *path)
{
	int fd, err = 0;
	void *p;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)buf->slab_len) != 0) {
		err = -errno;
		goto out;
	}
	p = mmap(NULL, buf->slab_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	buf->slab = p;
	buf->slab_mapped = true;
out:
	close(fd);
	return err;
}

struct udpmig_buf *
udpmig_buf_create(const struct udpmig_buf_conf *conf)
{
	struct udpmig_buf *buf;
	uint32_t i, t1_cap;
	char rname[RTE_RING_NAMESIZE];
	int ret;

	if (conf == NULL || conf->n_producers == 0 ||
		conf->n_producers > UDPMIG_BUF_MAX_PRODUCERS ||
		(conf->t1_quota == 0 && conf->t2_slots == 0) || conf->t1_quota > MAX_QUOTA ||
		conf->t2_slots > MAX_QUOTA ||
		(conf->t2_slot_size != 0 &&
			(conf->t2_slot_size < MIN_SLOT || conf->t2_slot_size > MAX_SLOT)) ||
		(conf->policy != UDPMIG_BUF_DROP_NEWEST &&
			conf->policy != UDPMIG_BUF_DROP_OLDEST)) {
		rte_errno = EINVAL;
		return NULL;
	}
	ret = udpmig_buf_seq_register();
	if (ret < 0) {
		rte_errno = -ret;
		return NULL;
	}

	buf = rte_zmalloc_socket("udpmig_buf",
		sizeof(*buf) + conf->n_producers * sizeof(struct prod), RTE_CACHE_LINE_SIZE,
		conf->socket_id);
	if (buf == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	snprintf(buf->name, sizeof(buf->name), "%s", conf->name != NULL ? conf->name : "buf");
	buf->policy = conf->policy;
	buf->n_producers = conf->n_producers;
	buf->t1_quota = conf->t1_quota;
	buf->t1_limit = conf->t1_quota +
		(conf->policy == UDPMIG_BUF_DROP_OLDEST ? UDPMIG_BUF_MAX_BURST : 0);
	buf->t2_slots = conf->t2_slots;
	buf->slot_size = conf->t2_slot_size != 0 ? conf->t2_slot_size : UDPMIG_BUF_T2_SLOT_DEFAULT;
	buf->slot_stride = RTE_ALIGN_CEIL(sizeof(struct slot_hdr) + buf->slot_size, 64);

	buf->cons.stages = rte_zmalloc_socket("udpmig_buf_stage",
		2 * conf->n_producers * sizeof(struct stage), RTE_CACHE_LINE_SIZE, conf->socket_id);
	if (buf->cons.stages == NULL) {
		rte_errno = ENOMEM;
		goto fail;
	}

	if (buf->t2_slots > 0) {
		buf->slab_len = (size_t)buf->t2_slots * buf->slot_stride;
		if (conf->t2_file != NULL) {
			ret = slab_map_file(buf, conf->t2_file);
			if (ret < 0) {
				rte_errno = -ret;
				goto fail;
			}
		} else {
			buf->slab = rte_malloc_socket("udpmig_buf_slab", buf->slab_len,
				RTE_CACHE_LINE_SIZE, conf->socket_id);
			if (buf->slab == NULL) {
				rte_errno = ENOMEM;
				goto fail;
			}
		}
		buf->t2_free = ring_new(
			"udpmig_t2_free", sizeof(uint32_t), buf->t2_slots, 0, conf->socket_id);
		if (buf->t2_free == NULL)
			goto fail;
		for (i = 0; i < buf->t2_slots; i++)
			rte_ring_enqueue_elem(buf->t2_free, &i, sizeof(i));
	}

	t1_cap = RTE_MAX(buf->t1_limit, 1u);
	for (i = 0; i < conf->n_producers; i++) {
		struct prod *p = &buf->prod[i];

		p->inflight = NO_SEQ;
		snprintf(rname, sizeof(rname), "udpmig_t1_%u", i);
		p->t1 = ring_new(rname, sizeof(struct t1_ent), t1_cap,
			RING_F_SP_ENQ | RING_F_SC_DEQ, conf->socket_id);
		if (p->t1 == NULL)
			goto fail;
		if (buf->t2_slots > 0) {
			snprintf(rname, sizeof(rname), "udpmig_t2_%u", i);
			p->t2 = ring_new(rname, sizeof(uint32_t), buf->t2_slots,
				RING_F_SP_ENQ | RING_F_SC_DEQ, conf->socket_id);
			if (p->t2 == NULL)
				goto fail;
		}
	}
	BUF_LOG(DEBUG, "%s: created, tier 1 quota %u, tier 2 %u x %u B%s%s, %s, %u producers",
		buf->name, buf->t1_quota, buf->t2_slots, buf->slot_size,
		conf->t2_file != NULL ? " in " : "", conf->t2_file != NULL ? conf->t2_file : "",
		udpmig_buf_policy_name(buf->policy), buf->n_producers);
	return buf;
fail:
	ret = rte_errno;
	udpmig_buf_free(buf);
	rte_errno = ret;
	return NULL;
}

void
udpmig_buf_free(struct udpmig_buf *buf)
{
	uint16_t i;

	if (buf == NULL)
		return;
	if (buf->cons.stages != NULL)
		udpmig_buf_flush(buf);
	for (i = 0; i < buf->n_producers; i++) {
		rte_free(buf->prod[i].t1);
		rte_free(buf->prod[i].t2);
	}
	rte_free(buf->t2_free);
	if (buf->slab_mapped)
		munmap(buf->slab, buf->slab_len);
	else
		rte_free(buf->slab);
	rte_free(buf->cons.stages);
	rte_free(buf);
}

/* Take up to @p want tier-1 places, below @p limit held in all. */
static inline uint32_t
t1_reserve(struct udpmig_buf *buf, uint32_t want, uint32_t limit)
{
	uint64_t held = __atomic_load_n(&buf->t1_held, __ATOMIC_RELAXED);
	uint32_t take;

	do {
		if (held >= limit)
			return 0;
		take = (uint32_t)RTE_MIN((uint64_t)want, limit - held);
	} while (!__atomic_compare_exchange_n(
		&buf->t1_held, &held, held + take, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return take;
}

/* Copy packets into tier-2 slots; returns how many went (a prefix of pkts). */
static inline unsigned int
t2_spill(struct udpmig_buf *buf, struct prod *p, struct rte_mbuf **pkts, unsigned int n)
{
	uint32_t idx[UDPMIG_BUF_MAX_BURST];
	unsigned int got, k;
	uint64_t bytes = 0;

	if (buf->t2_slots == 0 || n == 0)
		return 0;
	/* Packets go in order: stop at the first that does not fit a slot. */
	for (k = 0; k < n; k++)
		if (rte_pktmbuf_pkt_len(pkts[k]) > buf->slot_size)
			break;
	if (k < n)
		CNT_ADD(p->spill_too_big, 1);
	n = k;
	got = rte_ring_mc_dequeue_burst_elem(buf->t2_free, idx, sizeof(uint32_t), n, NULL);
	for (k = 0; k < got; k++) {
		struct slot_hdr *s = slot_at(buf, idx[k]);
		uint8_t *data = (uint8_t *)(s + 1);
		uint32_t len = rte_pktmbuf_pkt_len(pkts[k]);
		const void *src = rte_pktmbuf_read(pkts[k], 0, len, data);

		if (src != data)
			rte_memcpy(data, src, len);
		s->seq = udpmig_buf_seq_get(pkts[k]);
		s->len = len;
		bytes += len;
	}
	/* The ring holds every slot, so this never falls short. */
	rte_ring_sp_enqueue_burst_elem(p->t2, idx, sizeof(uint32_t), got, NULL);
	rte_pktmbuf_free_bulk(pkts, got);
	CNT_ADD(p->t2_pkts, got);
	CNT_ADD(p->t2_bytes, bytes);
	return got;
}

unsigned int
udpmig_buf_enqueue_burst(
	struct udpmig_buf *buf, uint16_t producer, struct rte_mbuf **pkts, unsigned int n)
{
	struct t1_ent ent[UDPMIG_BUF_MAX_BURST];
	struct prod *p;
	unsigned int i, t1, t2, extra, held;
	uint64_t seq;

	RTE_ASSERT(producer < buf->n_producers && n <= UDPMIG_BUF_MAX_BURST);
	if (unlikely(producer >= buf->n_producers || n > UDPMIG_BUF_MAX_BURST || n == 0))
		return 0;
	p = &buf->prod[producer];

	/* Publish a lower bound of our sequence numbers, then take them. */
	__atomic_store_n(
		&p->inflight, __atomic_load_n(&buf->next_seq, __ATOMIC_RELAXED), __ATOMIC_SEQ_CST);
	seq = __atomic_fetch_add(&buf->next_seq, n, __ATOMIC_SEQ_CST);
	for (i = 0; i < n; i++) {
		udpmig_buf_seq_set(pkts[i], seq + i);
		ent[i].m = pkts[i];
		ent[i].seq = seq + i;
	}
	CNT_ADD(p->enq_pkts, n);

	t1 = t1_reserve(buf, n, buf->t1_quota);
	if (t1 > 0)
		rte_ring_sp_enqueue_burst_elem(p->t1, ent, sizeof(ent[0]), t1, NULL);
	held = t1;
	if (t1 < n) {
		t2 = t2_spill(buf, p, pkts + t1, n - t1);
		held += t2;
		if (held < n && buf->policy == UDPMIG_BUF_DROP_OLDEST) {
			/* Over capacity: hold it in the headroom, the consumer trims. */
			extra = t1_reserve(buf, n - held, buf->t1_limit);
			if (extra > 0) {
				rte_ring_sp_enqueue_burst_elem(
					p->t1, ent + held, sizeof(ent[0]), extra, NULL);
				t1 += extra;
				held += extra;
			}
		}
		if (held < n) {
			rte_pktmbuf_free_bulk(pkts + held, n - held);
			CNT_ADD(p->drop_newest, n - held);
		}
	}
	CNT_ADD(p->t1_pkts, t1);
	/* Our packets are in the rings (or counted): release the watermark. */
	__atomic_store_n(&p->inflight, NO_SEQ, __ATOMIC_RELEASE);
	return held;
}

/* Everything below the watermark is settled: held in a ring, or dropped. */
static inline uint64_t
watermark(const struct udpmig_buf *buf)
{
	uint64_t w = __atomic_load_n(&buf->next_seq, __ATOMIC_SEQ_CST);
	uint16_t i;

	for (i = 0; i < buf->n_producers; i++) {
		uint64_t f = __atomic_load_n(&buf->prod[i].inflight, __ATOMIC_SEQ_CST);

		if (f < w)
			w = f;
	}
	return w;
}

static inline void
stage_refill(struct udpmig_buf *buf, uint32_t s)
{
	struct stage *st = &buf->cons.stages[s];
	struct prod *p = &buf->prod[s >> 1];
	unsigned int k, got;

	if (st->head < st->n)
		return;
	st->head = 0;
	st->n = 0;
	if ((s & 1) == 0) {
		struct t1_ent e[STAGE_SIZE];

		if (p->t1 == NULL) /* a buffer half made, being freed */
			return;
		got = rte_ring_sc_dequeue_burst_elem(p->t1, e, sizeof(e[0]), STAGE_SIZE, NULL);
		for (k = 0; k < got; k++) {
			st->item[k] = (uintptr_t)e[k].m;
			st->seq[k] = e[k].seq;
		}
	} else {
		uint32_t idx[STAGE_SIZE];

		if (p->t2 == NULL)
			return;
		got = rte_ring_sc_dequeue_burst_elem(
			p->t2, idx, sizeof(uint32_t), STAGE_SIZE, NULL);
		for (k = 0; k < got; k++) {
			st->item[k] = idx[k];
			st->seq[k] = slot_at(buf, idx[k])->seq;
		}
	}
	st->n = (uint16_t)got;
}

/*
 * The stream whose head has the lowest sequence number; *next gets the
 * lowest head of the others (NO_SEQ if none). Returns -1 when all are empty.
 */
static inline int
pick_stream(struct udpmig_buf *buf, uint64_t *next)
{
	uint64_t best = NO_SEQ, second = NO_SEQ;
	uint32_t s, ns = 2u * buf->n_producers;
	int bi = -1;

	for (s = 0; s < ns; s++) {
		struct stage *st = &buf->cons.stages[s];
		uint64_t q;

		stage_refill(buf, s);
		if (st->head == st->n)
			continue;
		q = st->seq[st->head];
		if (q < best) {
			second = best;
			best = q;
			bi = (int)s;
		} else if (q < second) {
			second = q;
		}
	}
	*next = second;
	return bi;
}

/* Release what an item holds; for trims and flushes. */
static inline void
item_drop(struct udpmig_buf *buf, uint32_t s, uintptr_t item)
{
	if ((s & 1) == 0) {
		rte_pktmbuf_free((struct rte_mbuf *)item);
		__atomic_fetch_sub(&buf->t1_held, 1, __ATOMIC_RELAXED);
	} else {
		uint32_t idx = (uint32_t)item;

		rte_ring_mp_enqueue_elem(buf->t2_free, &idx, sizeof(idx));
	}
}

static inline uint64_t
t2_held(const struct udpmig_buf *buf)
{
	if (buf->t2_slots == 0)
		return 0;
	return buf->t2_slots - rte_ring_count(buf->t2_free);
}

/* Held over capacity: only drop-oldest admits that, into the headroom. */
static inline uint64_t
over_capacity(const struct udpmig_buf *buf)
{
	uint64_t held = __atomic_load_n(&buf->t1_held, __ATOMIC_RELAXED) + t2_held(buf);
	uint64_t cap = (uint64_t)buf->t1_quota + buf->t2_slots;

	return held > cap ? held - cap : 0;
}

unsigned int
udpmig_buf_trim(struct udpmig_buf *buf)
{
	unsigned int dropped = 0;
	uint64_t next;
	int s;

	if (buf->policy != UDPMIG_BUF_DROP_OLDEST)
		return 0;
	while (over_capacity(buf) > 0) {
		struct stage *st;

		s = pick_stream(buf, &next);
		if (s < 0)
			break;
		st = &buf->cons.stages[s];
		item_drop(buf, (uint32_t)s, st->item[st->head]);
		st->head++;
		dropped++;
	}
	CNT_ADD(buf->cons.drop_oldest, dropped);
	return dropped;
}

/* A packet rebuilt from tier-2 bytes, chained when one mbuf is too small. */
static struct rte_mbuf *
mbuf_from_bytes(struct rte_mempool *mp, const void *data, uint32_t len)
{
	struct rte_mbuf *head = NULL, *last = NULL;
	uint32_t off = 0;

	if (mp == NULL)
		return NULL;
	do {
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
		uint32_t chunk;

		if (m == NULL)
			goto fail;
		chunk = RTE_MIN((uint32_t)rte_pktmbuf_tailroom(m), len - off);
		if (chunk == 0 && len > off) {
			rte_pktmbuf_free(m);
			goto fail;
		}
		rte_memcpy(rte_pktmbuf_mtod(m, uint8_t *), (const uint8_t *)data + off, chunk);
		m->data_len = (uint16_t)chunk;
		if (head == NULL) {
			head = m;
		} else {
			last->next = m;
			head->nb_segs++;
		}
		head->pkt_len += chunk;
		last = m;
		off += chunk;
	} while (off < len);
	return head;
fail:
	rte_pktmbuf_free(head);
	return NULL;
}

unsigned int
udpmig_buf_dequeue_burst(
	struct udpmig_buf *buf, struct rte_mbuf **out, unsigned int n, struct rte_mempool *mp)
{
	unsigned int k = 0, t1_out = 0;
	uint64_t w, next, limit;
	int s;

	if (unlikely(buf->policy == UDPMIG_BUF_DROP_OLDEST))
		udpmig_buf_trim(buf);
	w = watermark(buf);
	while (k < n) {
		struct stage *st;

		s = pick_stream(buf, &next);
		if (s < 0)
			break;
		st = &buf->cons.stages[s];
		if (st->seq[st->head] >= w)
			break;
		limit = RTE_MIN(next, w);
		/* A run from one stream: its heads stay below every other head. */
		while (k < n && st->head < st->n && st->seq[st->head] < limit) {
			if ((s & 1) == 0) {
				out[k++] = (struct rte_mbuf *)st->item[st->head];
				t1_out++;
			} else {
				uint32_t idx = (uint32_t)st->item[st->head];
				struct slot_hdr *h = slot_at(buf, idx);
				struct rte_mbuf *m = mbuf_from_bytes(mp, h + 1, h->len);

				if (m == NULL) {
					CNT_ADD(buf->cons.deq_nomem, 1);
					goto out;
				}
				udpmig_buf_seq_set(m, h->seq);
				out[k++] = m;
				rte_ring_mp_enqueue_elem(buf->t2_free, &idx, sizeof(idx));
			}
			st->head++;
		}
		/* Another stream's head is next, or this stage ran dry: pick again. */
	}
out:
	if (t1_out > 0)
		__atomic_fetch_sub(&buf->t1_held, t1_out, __ATOMIC_RELAXED);
	CNT_ADD(buf->cons.deq_pkts, k);
	return k;
}

unsigned int
udpmig_buf_flush(struct udpmig_buf *buf)
{
	uint32_t s, ns = 2u * buf->n_producers;
	unsigned int dropped = 0;

	for (s = 0; s < ns; s++) {
		struct stage *st = &buf->cons.stages[s];

		for (;;) {
			stage_refill(buf, s);
			if (st->head == st->n)
				break;
			while (st->head < st->n) {
				item_drop(buf, s, st->item[st->head]);
				st->head++;
				dropped++;
			}
		}
	}
	CNT_ADD(buf->cons.drop_flush, dropped);
	return dropped;
}

uint64_t
udpmig_buf_count(const struct udpmig_buf *buf)
{
	return __atomic_load_n(&buf->t1_held, __ATOMIC_RELAXED) + t2_held(buf);
}

uint64_t
udpmig_buf_next_seq(const struct udpmig_buf *buf)
{
	return __atomic_load_n(&buf->next_seq, __ATOMIC_RELAXED);
}

uint64_t
udpmig_buf_consumed(struct udpmig_buf *buf)
{
	uint64_t w = watermark(buf), head;
	int s = pick_stream(buf, &head);

	if (s < 0)
		return w;
	head = buf->cons.stages[s].seq[buf->cons.stages[s].head];
	return RTE_MIN(w, head);
}

int
udpmig_buf_stats_get(const struct udpmig_buf *buf, struct udpmig_buf_stats *st)
{
	uint16_t i;

	if (buf == NULL || st == NULL)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	for (i = 0; i < buf->n_producers; i++) {
		const struct prod *p = &buf->prod[i];

		st->enq_pkts += CNT_GET(p->enq_pkts);
		st->t1_pkts += CNT_GET(p->t1_pkts);
		st->t2_pkts += CNT_GET(p->t2_pkts);
		st->t2_bytes += CNT_GET(p->t2_bytes);
		st->drop_newest += CNT_GET(p->drop_newest);
		st->spill_too_big += CNT_GET(p->spill_too_big);
	}
	st->deq_pkts = CNT_GET(buf->cons.deq_pkts);
	st->drop_oldest = CNT_GET(buf->cons.drop_oldest);
	st->drop_flush = CNT_GET(buf->cons.drop_flush);
	st->deq_nomem = CNT_GET(buf->cons.deq_nomem);
	st->t1_held = __atomic_load_n(&buf->t1_held, __ATOMIC_RELAXED);
	st->t2_held = t2_held(buf);
	st->held = st->t1_held + st->t2_held;
	st->next_seq = __atomic_load_n(&buf->next_seq, __ATOMIC_RELAXED);
	return 0;
}
