/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receive-side accounting of the test stream (see seqstream.h), and its
 * state file:
 *
 *   "UMIGSTAT" | u32 version | u32 streams | u32 sizeof(counters) | u32 0
 *   then per stream: counters | bitmap (max_seq/8 rounded up to 8 bytes)
 *                    | timeline (timeline_ms u32)
 *
 * Host byte order: the file is written and read on the same host.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seqstream.h"

#define STATE_MAGIC   "UMIGSTAT"
#define STATE_VERSION 1
#define NS_PER_MS     1000000u

struct state_head {
	char magic[8];
	uint32_t version;
	uint32_t streams;
	uint32_t counters_size;
	uint32_t zero;
};

static size_t
bitmap_words(uint64_t max_seq)
{
	return (size_t)((max_seq + 63) / 64);
}

static bool
bit_test(const uint64_t *bm, uint64_t i)
{
	return (bm[i / 64] >> (i % 64)) & 1;
}

int
seqstream_rx_init(struct seqstream_rx *rx, uint32_t stream, uint64_t max_seq, uint32_t timeline_ms)
{
	memset(rx, 0, sizeof(*rx));
	if (max_seq == 0)
		return -EINVAL;
	rx->bitmap = calloc(bitmap_words(max_seq), sizeof(uint64_t));
	rx->timeline = calloc(timeline_ms ? timeline_ms : 1, sizeof(uint32_t));
	if (rx->bitmap == NULL || rx->timeline == NULL) {
		seqstream_rx_fini(rx);
		return -ENOMEM;
	}
	rx->c.stream = stream;
	rx->c.max_seq = max_seq;
	rx->c.timeline_ms = timeline_ms;
	rx->c.instances = 1;
	return 0;
}

void
seqstream_rx_fini(struct seqstream_rx *rx)
{
	free(rx->bitmap);
	free(rx->timeline);
	rx->bitmap = NULL;
	rx->timeline = NULL;
}

void
seqstream_rx_account(struct seqstream_rx *rx, uint64_t seq, uint64_t tx_ns, uint64_t rx_ns)
{
	struct seqstream_counters *c = &rx->c;
	uint64_t ms;

	c->received++;
	if (!c->any) {
		c->any = 1;
		c->first_seq = seq;
		c->highest_seq = seq;
		c->first_rx_ns = rx_ns;
		c->last_rx_ns = rx_ns;
	}
	if (rx_ns > c->last_rx_ns && rx_ns - c->last_rx_ns > c->max_gap_ns) {
		c->max_gap_ns = rx_ns - c->last_rx_ns;
		c->max_gap_after_seq = c->last_seq;
		c->max_gap_at_ns = rx_ns;
	}
	if (rx_ns > c->last_rx_ns)
		c->last_rx_ns = rx_ns;
	c->last_seq = seq;
	if (rx_ns >= tx_ns) {
		uint64_t d = rx_ns - tx_ns;

		if (d > c->delay_max_ns)
			c->delay_max_ns = d;
		c->delay_sum_ns += d;
		c->delay_count++;
	}
	ms = (rx_ns - c->first_rx_ns) / NS_PER_MS;
	if (rx_ns >= c->first_rx_ns && ms < c->timeline_ms)
		rx->timeline[ms]++;
	else
		c->timeline_overflow++;

	if (seq >= c->max_seq) {
		c->out_of_range++;
		return;
	}
	if (bit_test(rx->bitmap, seq)) {
		c->duplicated++;
		return;
	}
	rx->bitmap[seq / 64] |= UINT64_C(1) << (seq % 64);
	c->unique++;
	if (seq < c->highest_seq)
		c->reordered++;
	else
		c->highest_seq = seq;
}

/* Number of seq below @p end (clamped to max_seq) that were received. */
static uint64_t
count_below(const struct seqstream_rx *rx, uint64_t end)
{
	uint64_t n = 0, i;

	if (end > rx->c.max_seq)
		end = rx->c.max_seq;
	for (i = 0; i + 64 <= end; i += 64)
		n += (uint64_t)__builtin_popcountll(rx->bitmap[i / 64]);
	for (; i < end; i++)
		n += bit_test(rx->bitmap, i);
	return n;
}

static uint64_t
stream_end(const struct seqstream_rx *rx, uint64_t expect)
{
	if (expect != 0)
		return expect;
	return rx->c.any ? rx->c.highest_seq + 1 : 0;
}

uint64_t
seqstream_rx_lost(const struct seqstream_rx *rx, uint64_t expect)
{
	uint64_t end = stream_end(rx, expect);

	/* Seq beyond the bitmap cannot be known: count them as received. */
	if (end > rx->c.max_seq)
		return rx->c.max_seq - count_below(rx, rx->c.max_seq);
	return end - count_below(rx, end);
}

uint64_t
seqstream_rx_loss_runs(const struct seqstream_rx *rx, uint64_t expect)
{
	uint64_t end = stream_end(rx, expect), runs = 0, i;
	bool in_run = false;

	if (end > rx->c.max_seq)
		end = rx->c.max_seq;
	for (i = 0; i < end; i++) {
		if ((i % 64) == 0 && i + 64 <= end && rx->bitmap[i / 64] == UINT64_MAX) {
			in_run = false;
			i += 63;
			continue;
		}
		if (!bit_test(rx->bitmap, i)) {
			runs += !in_run;
			in_run = true;
		} else {
			in_run = false;
		}
	}
	return runs;
}

void
seqstream_set_init(struct seqstream_set *set, uint64_t max_seq, uint32_t timeline_ms)
{
	memset(set, 0, sizeof(*set));
	set->max_seq = max_seq;
	set->timeline_ms = timeline_ms;
}

void
seqstream_set_fini(struct seqstream_set *set)
{
	unsigned int i;

	for (i = 0; i < set->n; i++)
		seqstream_rx_fini(&set->rx[i]);
	set->n = 0;
}

struct seqstream_rx *
seqstream_set_get(struct seqstream_set *set, uint32_t stream)
{
	unsigned int i;

	if (set->n > 0 && set->rx[set->last].c.stream == stream)
		return &set->rx[set->last];
	for (i = 0; i < set->n; i++)
		if (set->rx[i].c.stream == stream) {
			set->last = i;
			return &set->rx[i];
		}
	if (set->n == SEQSTREAM_MAX_STREAMS ||
		seqstream_rx_init(&set->rx[set->n], stream, set->max_seq, set->timeline_ms) != 0)
		return NULL;
	set->last = set->n++;
	return &set->rx[set->last];
}

void
seqstream_set_sum(const struct seqstream_set *set, uint64_t expect, struct seqstream_sum *s)
{
	uint64_t delay_sum = 0, delay_n = 0;
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->instances = 1;
	for (i = 0; i < set->n; i++) {
		const struct seqstream_rx *rx = &set->rx[i];
		const struct seqstream_counters *c = &rx->c;

		s->received += c->received;
		s->unique += c->unique;
		s->duplicated += c->duplicated;
		s->reordered += c->reordered;
		s->out_of_range += c->out_of_range;
		s->lost += seqstream_rx_lost(rx, expect);
		s->loss_runs += seqstream_rx_loss_runs(rx, expect);
		if (i == 0)
			s->first_seq = c->first_seq;
		if (c->highest_seq > s->highest_seq)
			s->highest_seq = c->highest_seq;
		if (c->max_gap_ns >= s->max_gap_ns) {
			s->max_gap_ns = c->max_gap_ns;
			s->max_gap_after_seq = c->max_gap_after_seq;
			s->max_gap_at_ns = c->max_gap_at_ns;
		}
		if (c->delay_max_ns > s->delay_max_ns)
			s->delay_max_ns = c->delay_max_ns;
		delay_sum += c->delay_sum_ns;
		delay_n += c->delay_count;
		if (c->any && (s->first_rx_ns == 0 || c->first_rx_ns < s->first_rx_ns))
			s->first_rx_ns = c->first_rx_ns;
		if (c->last_rx_ns > s->last_rx_ns)
			s->last_rx_ns = c->last_rx_ns;
		if (c->instances > s->instances)
			s->instances = c->instances;
	}
	/* Nothing received at all: every expected packet is lost. */
	if (set->n == 0)
		s->lost = expect;
	s->delay_mean_ns = delay_n ? (double)delay_sum / (double)delay_n : 0;
}

int
seqstream_set_save(const struct seqstream_set *set, const char *path)
{
	struct state_head h = { .version = STATE_VERSION };
	char tmp[4096];
	unsigned int i;
	bool ok;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(h.magic, STATE_MAGIC, sizeof(h.magic));
	h.streams = set->n;
	h.counters_size = sizeof(struct seqstream_counters);
	f = fopen(tmp, "wb");
	if (f == NULL)
		return -errno;
	ok = fwrite(&h, sizeof(h), 1, f) == 1;
	for (i = 0; ok && i < set->n; i++) {
		const struct seqstream_rx *rx = &set->rx[i];
		size_t words = bitmap_words(rx->c.max_seq);

		ok = fwrite(&rx->c, sizeof(rx->c), 1, f) == 1 &&
			fwrite(rx->bitmap, sizeof(uint64_t), words, f) == words &&
			fwrite(rx->timeline, sizeof(uint32_t), rx->c.timeline_ms, f) ==
				rx->c.timeline_ms;
	}
	if (fclose(f) != 0 || !ok) {
		unlink(tmp);
		return -EIO;
	}
	if (rename(tmp, path) != 0) {
		int ret = -errno;

		unlink(tmp);
		return ret;
	}
	return 0;
}

int
seqstream_set_load(struct seqstream_set *set, const char *path)
{
	struct seqstream_counters c;
	struct state_head h;
	int ret = -EINVAL;
	unsigned int i;
	FILE *f;

	if (set->n != 0)
		return -EINVAL;
	f = fopen(path, "rb");
	if (f == NULL)
		return -errno;
	if (fread(&h, sizeof(h), 1, f) != 1 || memcmp(h.magic, STATE_MAGIC, 8) != 0 ||
		h.version != STATE_VERSION || h.counters_size != sizeof(c) ||
		h.streams > SEQSTREAM_MAX_STREAMS)
		goto out;
	for (i = 0; i < h.streams; i++) {
		struct seqstream_rx *rx = &set->rx[i];
		size_t words;

		if (fread(&c, sizeof(c), 1, f) != 1 || c.max_seq == 0 || c.timeline_ms > UINT32_MAX)
			goto out;
		ret = seqstream_rx_init(rx, (uint32_t)c.stream, c.max_seq, (uint32_t)c.timeline_ms);
		if (ret != 0)
			goto out;
		set->n++;
		ret = -EINVAL;
		rx->c = c;
		rx->c.instances++;
		words = bitmap_words(c.max_seq);
		if (fread(rx->bitmap, sizeof(uint64_t), words, f) != words ||
			fread(rx->timeline, sizeof(uint32_t), c.timeline_ms, f) != c.timeline_ms)
			goto out;
	}
	ret = 0;
out:
	fclose(f);
	if (ret != 0)
		seqstream_set_fini(set);
	return ret;
}

int
seqstream_set_write_timeline(const struct seqstream_set *set, const char *path)
{
	uint64_t t0 = UINT64_MAX, end = 0, ms;
	char tmp[4096];
	unsigned int i;
	bool ok = true;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (i = 0; i < set->n; i++)
		if (set->rx[i].c.any && set->rx[i].c.first_rx_ns < t0)
			t0 = set->rx[i].c.first_rx_ns;
	/* Each stream's timeline starts at its own first packet: shift to t0. */
	for (i = 0; i < set->n; i++) {
		const struct seqstream_counters *c = &set->rx[i].c;
		uint64_t last;

		if (!c->any)
			continue;
		last = (c->last_rx_ns - t0) / NS_PER_MS + 1;
		if (last > (c->first_rx_ns - t0) / NS_PER_MS + c->timeline_ms)
			last = (c->first_rx_ns - t0) / NS_PER_MS + c->timeline_ms;
		if (last > end)
			end = last;
	}
	f = fopen(tmp, "w");
	if (f == NULL)
		return -errno;
	ok = fprintf(f, "ms,count\n") > 0;
	for (ms = 0; ok && ms < end; ms++) {
		uint64_t n = 0;

		for (i = 0; i < set->n; i++) {
			const struct seqstream_rx *rx = &set->rx[i];
			uint64_t off;

			if (!rx->c.any)
				continue;
			off = (rx->c.first_rx_ns - t0) / NS_PER_MS;
			if (ms >= off && ms - off < rx->c.timeline_ms)
				n += rx->timeline[ms - off];
		}
		ok = fprintf(f, "%" PRIu64 ",%" PRIu64 "\n", ms, n) > 0;
	}
	if (fclose(f) != 0 || !ok) {
		unlink(tmp);
		return -EIO;
	}
	if (rename(tmp, path) != 0) {
		int ret = -errno;

		unlink(tmp);
		return ret;
	}
	return 0;
}
