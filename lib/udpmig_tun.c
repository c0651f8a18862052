/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udpmig migration tunnel: codec, sender window, receiver window.
 *
 * Why keyed BLAKE2b (libsodium's crypto_generichash) for the tag: a real
 * MAC with a 128-bit tag, no nonce to manage (a retransmission is the same
 * message and gets the same tag; a Poly1305 one-time key would need a
 * nonce per transmission), a few hundred nanoseconds for a small packet,
 * and libsodium is a well-kept Debian package with a stable API. Only the
 * tag matters here, not secrecy: the VM's packets would have crossed the
 * physical network in clear anyway.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "udpmig_tun.h"

#define TAG_LEN   16
#define OPT_WORDS (sizeof(struct udpmig_tun_opt) / 4)
/* How far apart two retransmission rounds started by acks must be, as a
 * fraction of the timeout: every ack during a recovery shows the same hole. */
#define FAST_ROUND_SPACING 4

/* libsodium picks its implementations once, before any use. */
RTE_INIT(udpmig_tun_sodium_init)
{
	if (sodium_init() < 0)
		rte_panic("udpmig.tun: libsodium cannot initialise\n");
}

/* --- codec ------------------------------------------------------------------ */

static int
tag_compute(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint32_t tag_off,
	const uint8_t *key, uint8_t out[TAG_LEN])
{
	static const uint8_t zero[TAG_LEN];
	crypto_generichash_state st;
	uint8_t tmp[256];
	uint32_t end = off + len;

	if (crypto_generichash_init(&st, key, UDPMIG_TUN_KEY_LEN, TAG_LEN) != 0)
		return -1;
	while (off < end) {
		uint32_t chunk = RTE_MIN(end - off, (uint32_t)sizeof(tmp));
		const uint8_t *p;

		/* The tag field counts as zero bytes. */
		if (off == tag_off) {
			crypto_generichash_update(&st, zero, TAG_LEN);
			off += TAG_LEN;
			continue;
		}
		if (off < tag_off && off + chunk > tag_off)
			chunk = tag_off - off;
		p = rte_pktmbuf_read(m, off, chunk, tmp);
		if (p == NULL)
			return -1;
		crypto_generichash_update(&st, p, chunk);
		off += chunk;
	}
	return crypto_generichash_final(&st, out, TAG_LEN);
}

struct rte_mbuf *
udpmig_tun_encap(struct rte_mempool *mp, const struct udpmig_tun_path *path,
	const struct udpmig_tun_msg *msg, const struct rte_mbuf *inner,
	const struct udpmig_tun_range *sack, uint16_t n_sack, const uint8_t *key)
{
	uint32_t l3 = path->family == AF_INET6 ? sizeof(struct rte_ipv6_hdr) :
						 sizeof(struct rte_ipv4_hdr);
	uint32_t hdrs = sizeof(struct rte_ether_hdr) + l3 + sizeof(struct rte_udp_hdr);
	uint32_t plen, total, goff, i;
	struct rte_ether_hdr *eth;
	struct rte_udp_hdr *udp;
	struct udpmig_geneve_hdr *gh;
	struct udpmig_tun_opt *opt;
	struct rte_mbuf *m;
	uint8_t *pay;

	if ((path->family != AF_INET && path->family != AF_INET6) || n_sack > UDPMIG_TUN_SACK_MAX ||
		(inner != NULL && rte_pktmbuf_pkt_len(inner) < sizeof(struct rte_ether_hdr)) ||
		(msg->type == UDPMIG_TUN_DATA) != (inner != NULL) ||
		(n_sack > 0 && (sack == NULL || msg->type != UDPMIG_TUN_ACK))) {
		rte_errno = EINVAL;
		return NULL;
	}
	plen = inner != NULL ? rte_pktmbuf_pkt_len(inner) :
			       n_sack * (uint32_t)sizeof(struct udpmig_tun_wire_range);
	total = hdrs + UDPMIG_TUN_HDR_LEN + plen;
	m = rte_pktmbuf_alloc(mp);
	if (m == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	if (total > UINT16_MAX || rte_pktmbuf_append(m, (uint16_t)total) == NULL) {
		rte_pktmbuf_free(m);
		rte_errno = EMSGSIZE;
		return NULL;
	}

	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	rte_ether_addr_copy(&path->dst_mac, &eth->dst_addr);
	rte_ether_addr_copy(&path->src_mac, &eth->src_addr);
	if (path->family == AF_INET) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		memset(ip, 0, sizeof(*ip));
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(total - sizeof(*eth)));
		ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		memcpy(&ip->src_addr, path->src_ip, 4);
		memcpy(&ip->dst_addr, path->dst_ip, 4);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		udp = (struct rte_udp_hdr *)(ip + 1);
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16((uint16_t)(total - sizeof(*eth) - sizeof(*ip)));
		ip->proto = IPPROTO_UDP;
		ip->hop_limits = 64;
		memcpy(ip->src_addr, path->src_ip, 16);
		memcpy(ip->dst_addr, path->dst_ip, 16);
		udp = (struct rte_udp_hdr *)(ip + 1);
	}
	udp->src_port = rte_cpu_to_be_16(path->src_port);
	udp->dst_port = rte_cpu_to_be_16(path->dst_port);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(total - hdrs + sizeof(*udp)));
	udp->dgram_cksum = 0;

	gh = (struct udpmig_geneve_hdr *)(udp + 1);
	gh->ver_optlen = (uint8_t)OPT_WORDS;
	gh->flags = UDPMIG_GENEVE_F_C | (msg->type != UDPMIG_TUN_DATA ? UDPMIG_GENEVE_F_O : 0);
	gh->proto = rte_cpu_to_be_16(UDPMIG_TUN_PROTO_TEB);
	gh->vni[0] = (uint8_t)(msg->vni >> 16);
	gh->vni[1] = (uint8_t)(msg->vni >> 8);
	gh->vni[2] = (uint8_t)msg->vni;
	gh->reserved = 0;
	opt = (struct udpmig_tun_opt *)(gh + 1);
	opt->opt_class = rte_cpu_to_be_16(UDPMIG_TUN_OPT_CLASS);
	opt->type = UDPMIG_TUN_OPT_TYPE;
	opt->len = (uint8_t)(OPT_WORDS - 1);
	opt->msg = msg->type;
	opt->flags = msg->flags;
	opt->n_sack = rte_cpu_to_be_16(n_sack);
	opt->session = rte_cpu_to_be_32(msg->session);
	opt->seq = rte_cpu_to_be_64(msg->seq);
	memset(opt->tag, 0, TAG_LEN);
	pay = (uint8_t *)(opt + 1);
	if (inner != NULL) {
		const void *src = rte_pktmbuf_read(inner, 0, plen, pay);

		if (src != pay)
			memcpy(pay, src, plen);
	} else {
		struct udpmig_tun_wire_range *r = (struct udpmig_tun_wire_range *)pay;

		for (i = 0; i < n_sack; i++) {
			r[i].start = rte_cpu_to_be_64(sack[i].start);
			r[i].end = rte_cpu_to_be_64(sack[i].end);
		}
	}
	goff = hdrs;
	if (tag_compute(m, goff, UDPMIG_TUN_HDR_LEN + plen,
		    (uint32_t)((uint8_t *)opt->tag - rte_pktmbuf_mtod(m, uint8_t *)), key,
		    opt->tag) != 0) {
		rte_pktmbuf_free(m);
		rte_errno = EINVAL;
		return NULL;
	}
	/* IPv6 needs the UDP checksum (RFC 8200), over the tag too. */
	if (path->family == AF_INET6)
		udp->dgram_cksum = rte_ipv6_udptcp_cksum((struct rte_ipv6_hdr *)(eth + 1), udp);
	return m;
}

/* Copy @p len bytes at @p off into @p buf, or fail when the packet is shorter. */
static inline const void *
hdr_at(const struct rte_mbuf *m, uint32_t off, uint32_t len, void *buf)
{
	if (off + len > rte_pktmbuf_pkt_len(m))
		return NULL;
	return rte_pktmbuf_read(m, off, len, buf);
}

enum udpmig_tun_err
udpmig_tun_parse(const struct rte_mbuf *m, uint16_t udp_port, struct udpmig_tun_parsed *out)
{
	struct rte_ether_hdr eb;
	struct rte_udp_hdr ub;
	struct udpmig_geneve_hdr gb;
	struct udpmig_tun_opt obuf;
	const struct rte_ether_hdr *eth;
	const struct rte_udp_hdr *udp;
	const struct udpmig_geneve_hdr *gh;
	const struct udpmig_tun_opt *opt = NULL;
	uint32_t off, l3_end, udp_len, opt_len, o, opt_off = 0;

	memset(out, 0, sizeof(*out));
	eth = hdr_at(m, 0, sizeof(eb), &eb);
	if (eth == NULL)
		return UDPMIG_TUN_E_NOT_TUNNEL;
	off = sizeof(*eth);
	rte_ether_addr_copy(&eth->src_addr, &out->src_mac);
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		struct rte_ipv4_hdr ib;
		const struct rte_ipv4_hdr *ip = hdr_at(m, off, sizeof(ib), &ib);
		uint32_t ihl, tot;

		if (ip == NULL || (ip->version_ihl >> 4) != 4 || ip->next_proto_id != IPPROTO_UDP)
			return UDPMIG_TUN_E_NOT_TUNNEL;
		/* Fragments are not the tunnel's: it never sends any (DF). */
		if ((rte_be_to_cpu_16(ip->fragment_offset) &
			    (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0)
			return UDPMIG_TUN_E_NOT_TUNNEL;
		ihl = (ip->version_ihl & 0xf) * 4u;
		tot = rte_be_to_cpu_16(ip->total_length);
		if (ihl < sizeof(*ip) || tot < ihl || off + tot > rte_pktmbuf_pkt_len(m))
			return UDPMIG_TUN_E_NOT_TUNNEL;
		out->family = AF_INET;
		memcpy(out->src_ip, &ip->src_addr, 4);
		l3_end = off + tot;
		off += ihl;
	} else if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
		struct rte_ipv6_hdr ib;
		const struct rte_ipv6_hdr *ip = hdr_at(m, off, sizeof(ib), &ib);

		/* Extension headers: not the tunnel's, it never sends any. */
		if (ip == NULL || (rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6 ||
			ip->proto != IPPROTO_UDP)
			return UDPMIG_TUN_E_NOT_TUNNEL;
		l3_end = off + sizeof(*ip) + rte_be_to_cpu_16(ip->payload_len);
		if (l3_end > rte_pktmbuf_pkt_len(m))
			return UDPMIG_TUN_E_NOT_TUNNEL;
		out->family = AF_INET6;
		memcpy(out->src_ip, ip->src_addr, 16);
		off += sizeof(*ip);
	} else {
		return UDPMIG_TUN_E_NOT_TUNNEL;
	}

	udp = hdr_at(m, off, sizeof(ub), &ub);
	if (udp == NULL || off + sizeof(ub) > l3_end || rte_be_to_cpu_16(udp->dst_port) != udp_port)
		return UDPMIG_TUN_E_NOT_TUNNEL;
	/* From here on the packet claims to be ours: refusals are counted. */
	out->src_port = rte_be_to_cpu_16(udp->src_port);
	udp_len = rte_be_to_cpu_16(udp->dgram_len);
	if (udp_len < sizeof(ub) + sizeof(gb) || off + udp_len > l3_end)
		return UDPMIG_TUN_E_MALFORMED;
	off += sizeof(ub);
	out->geneve_off = off;
	gh = hdr_at(m, off, sizeof(gb), &gb);
	if (gh == NULL || (gh->ver_optlen >> 6) != 0 ||
		gh->proto != rte_cpu_to_be_16(UDPMIG_TUN_PROTO_TEB))
		return UDPMIG_TUN_E_MALFORMED;
	opt_len = (gh->ver_optlen & 0x3fu) * 4u;
	if (sizeof(gb) + opt_len > udp_len - sizeof(ub))
		return UDPMIG_TUN_E_MALFORMED;
	out->msg.vni = (uint32_t)gh->vni[0] << 16 | (uint32_t)gh->vni[1] << 8 | gh->vni[2];

	/* Options: find ours; an unknown critical one means "do not deliver". */
	for (o = 0; o < opt_len;) {
		uint8_t ob[4];
		const uint8_t *oh = hdr_at(m, off + sizeof(gb) + o, 4, ob);
		uint32_t olen;

		if (oh == NULL)
			return UDPMIG_TUN_E_MALFORMED;
		olen = 4u + (oh[3] & 0x1fu) * 4u;
		if (o + olen > opt_len)
			return UDPMIG_TUN_E_MALFORMED;
		if (oh[0] == (UDPMIG_TUN_OPT_CLASS >> 8) &&
			oh[1] == (UDPMIG_TUN_OPT_CLASS & 0xff) && oh[2] == UDPMIG_TUN_OPT_TYPE) {
			if (olen != sizeof(obuf) || opt != NULL)
				return UDPMIG_TUN_E_OPTION;
			opt_off = off + sizeof(gb) + o;
			opt = hdr_at(m, opt_off, sizeof(obuf), &obuf);
			if (opt == NULL)
				return UDPMIG_TUN_E_MALFORMED;
		} else if (oh[2] & 0x80) {
			return UDPMIG_TUN_E_OPTION;
		}
		o += olen;
	}
	if (opt == NULL)
		return UDPMIG_TUN_E_OPTION;
	out->msg.type = opt->msg;
	out->msg.flags = opt->flags;
	out->msg.session = rte_be_to_cpu_32(opt->session);
	out->msg.seq = rte_be_to_cpu_64(opt->seq);
	out->tag_off = opt_off + (uint32_t)offsetof(struct udpmig_tun_opt, tag);
	out->payload_off = off + sizeof(gb) + opt_len;
	out->payload_len = udp_len - (uint32_t)sizeof(ub) - (uint32_t)sizeof(gb) - opt_len;
	switch (out->msg.type) {
	case UDPMIG_TUN_DATA:
		if (out->payload_len < sizeof(struct rte_ether_hdr))
			return UDPMIG_TUN_E_MALFORMED;
		break;
	case UDPMIG_TUN_ACK:
		out->n_sack = rte_be_to_cpu_16(opt->n_sack);
		if (out->n_sack > UDPMIG_TUN_SACK_MAX ||
			out->payload_len != out->n_sack * sizeof(struct udpmig_tun_wire_range))
			return UDPMIG_TUN_E_MALFORMED;
		break;
	case UDPMIG_TUN_END:
	case UDPMIG_TUN_ABORT:
		break;
	case UDPMIG_TUN_HELLO:
		if (out->payload_len != 0)
			return UDPMIG_TUN_E_MALFORMED;
		break;
	default:
		return UDPMIG_TUN_E_MSG;
	}
	return UDPMIG_TUN_OK;
}

bool
udpmig_tun_verify(const struct rte_mbuf *m, const struct udpmig_tun_parsed *p, const uint8_t *key)
{
	uint8_t want[TAG_LEN], got[TAG_LEN];
	uint32_t len = p->payload_off + p->payload_len - p->geneve_off;

	const uint8_t *have;

	if (tag_compute(m, p->geneve_off, len, p->tag_off, key, want) != 0)
		return false;
	have = hdr_at(m, p->tag_off, TAG_LEN, got);
	if (have == NULL)
		return false;
	return sodium_memcmp(want, have, TAG_LEN) == 0;
}

uint16_t
udpmig_tun_sack_read(const struct rte_mbuf *m, const struct udpmig_tun_parsed *p,
	struct udpmig_tun_range *out, uint16_t n)
{
	uint16_t i, k = 0;

	if (p->msg.type != UDPMIG_TUN_ACK)
		return 0;
	for (i = 0; i < p->n_sack && k < n; i++) {
		struct udpmig_tun_wire_range wb;
		const struct udpmig_tun_wire_range *w =
			hdr_at(m, p->payload_off + i * (uint32_t)sizeof(wb), sizeof(wb), &wb);

		if (w == NULL)
			break;
		out[k].start = rte_be_to_cpu_64(w->start);
		out[k].end = rte_be_to_cpu_64(w->end);
		if (out[k].start < out[k].end)
			k++;
	}
	return k;
}

/* --- sender ----------------------------------------------------------------- */

/*
 * A kept packet: an acked one, retained, copied out of its mbuf into the
 * keep store, a FIFO of 8-byte aligned records in one block of bytes.
 */
struct keep_rec {
	uint32_t len; /* packet bytes; KEEP_WRAP: the next record is at the start */
	uint32_t dyn[RTE_DIM(((struct rte_mbuf *)0)->dynfield1)]; /* the mbuf's dynamic fields */
	uint8_t data[];
};
#define KEEP_WRAP UINT32_MAX
static_assert(sizeof(struct keep_rec) + 7 <= UDPMIG_TUN_KEEP_OVERHEAD, "keep record header");

struct tx_ent {
	struct rte_mbuf *m; /* NULL once acked (the receiver holds it), unless retained */
	bool sacked; /* selectively acked: no retransmission */
	bool rexmit; /* sent more than once: no round-trip sample (Karn) */
	uint64_t sent_ns; /* first transmission */
};

struct udpmig_tun_tx {
	char name[32];
	uint32_t mask;
	struct udpmig_tun_tx_conf conf;
	/* base <= una <= nxt <= next: [base, una) acked but retained, [una, nxt)
	 * sent and unacked, [nxt, next) not sent yet. */
	uint64_t base, una, nxt, next;
	bool retain;
	/* The keep store: [khead, ktail) in bytes (offsets modulo ksize),
	 * kept_n packets, the oldest ones, just below base. */
	uint8_t *kbuf;
	uint64_t ksize, khead, ktail;
	uint32_t kept_n;
	/* A retransmission round: [rtx, rtx_end) to send again. */
	uint64_t rtx, rtx_end;
	uint64_t rto_ns; /* now: rto_base, doubled per timeout round */
	uint64_t rto_base; /* from the round trip: srtt + 4 rttvar, >= conf.rto_ns */
	uint64_t srtt_ns, rttvar_ns;
	uint64_t progress_ns; /* last ack progress or round start */
	uint64_t fast_round_ns; /* last round started by an ack */
	uint32_t last_new; /* new packets in the last udpmig_tun_tx_due() */
	/* Congestion window (conf.cwnd_init != 0): cwnd packets outstanding
	 * at most; ca_acked counts acks toward the next +1 above ssthresh; no
	 * second cut before una passes recover. */
	uint32_t cwnd, ssthresh, ca_acked;
	uint64_t recover;
	struct udpmig_tun_tx_stats st;
	struct tx_ent ent[];
};

struct udpmig_tun_tx *
udpmig_tun_tx_create(const char *name, const struct udpmig_tun_tx_conf *conf, int socket_id)
{
	struct udpmig_tun_tx *tx;

	if (conf == NULL || conf->window < 2 || conf->window > UDPMIG_TUN_WINDOW_MAX ||
		!rte_is_power_of_2(conf->window) || conf->rto_ns == 0 ||
		conf->rto_max_ns < conf->rto_ns ||
		(conf->rto_init_ns != 0 &&
			(conf->rto_init_ns < conf->rto_ns ||
				conf->rto_init_ns > conf->rto_max_ns))) {
		rte_errno = EINVAL;
		return NULL;
	}
	if ((conf->keep_bytes != 0 && conf->keep_pool == NULL) ||
		(conf->cwnd_init != 0 &&
			(conf->cwnd_min < 2 || conf->cwnd_init < conf->cwnd_min ||
				(conf->cwnd_max != 0 && conf->cwnd_max < conf->cwnd_init)))) {
		rte_errno = EINVAL;
		return NULL;
	}
	tx = rte_zmalloc_socket(name, sizeof(*tx) + conf->window * sizeof(tx->ent[0]),
		RTE_CACHE_LINE_SIZE, socket_id);
	if (tx == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	if (conf->keep_bytes != 0) {
		tx->ksize = RTE_ALIGN_CEIL(conf->keep_bytes, 8);
		tx->kbuf = rte_malloc_socket(name, tx->ksize, RTE_CACHE_LINE_SIZE, socket_id);
		if (tx->kbuf == NULL) {
			rte_free(tx);
			rte_errno = ENOMEM;
			return NULL;
		}
	}
	strlcpy(tx->name, name != NULL ? name : "tun_tx", sizeof(tx->name));
	tx->conf = *conf;
	tx->mask = conf->window - 1;
	tx->rto_base = conf->rto_init_ns != 0 ? conf->rto_init_ns : conf->rto_ns;
	tx->rto_ns = tx->rto_base;
	if (conf->cwnd_max == 0 || conf->cwnd_max > conf->window)
		tx->conf.cwnd_max = conf->window;
	tx->cwnd =
		conf->cwnd_init != 0 ? RTE_MIN(conf->cwnd_init, tx->conf.cwnd_max) : conf->window;
	tx->ssthresh = tx->conf.cwnd_max;
	return tx;
}

void
udpmig_tun_tx_free(struct udpmig_tun_tx *tx)
{
	uint64_t s;

	if (tx == NULL)
		return;
	for (s = tx->base; s < tx->next; s++)
		rte_pktmbuf_free(tx->ent[s & tx->mask].m);
	rte_free(tx->kbuf);
	rte_free(tx);
}

uint32_t
udpmig_tun_tx_space(const struct udpmig_tun_tx *tx)
{
	return tx->conf.window - (uint32_t)(tx->next - tx->base);
}

uint32_t
udpmig_tun_tx_held(const struct udpmig_tun_tx *tx)
{
	return (uint32_t)(tx->next - tx->base) + tx->kept_n;
}

uint64_t
udpmig_tun_tx_next_seq(const struct udpmig_tun_tx *tx)
{
	return tx->next;
}

uint32_t
udpmig_tun_tx_push(struct udpmig_tun_tx *tx, struct rte_mbuf **pkts, uint32_t n)
{
	uint32_t i;

	n = RTE_MIN(n, udpmig_tun_tx_space(tx));
	for (i = 0; i < n; i++) {
		struct tx_ent *e = &tx->ent[(tx->next + i) & tx->mask];

		e->m = pkts[i];
		e->sacked = false;
		e->rexmit = false;
		e->sent_ns = 0;
	}
	tx->next += n;
	tx->st.pushed += n;
	return n;
}

/*
 * A loss: halve the congestion window (a hole in an ack) or take it to
 * its floor (a timeout), once per window of data.
 */
static void
cwnd_cut(struct udpmig_tun_tx *tx, bool timeout)
{
	if (tx->conf.cwnd_init == 0 || (!timeout && tx->una < tx->recover))
		return;
	tx->ssthresh = RTE_MAX(tx->cwnd / 2, tx->conf.cwnd_min);
	tx->cwnd = timeout ? tx->conf.cwnd_min : tx->ssthresh;
	tx->ca_acked = 0;
	tx->recover = tx->nxt;
	tx->st.cwnd_cuts++;
}

/* @n packets newly acked in order: the window grows (slow start, then by one a window). */
static void
cwnd_grow(struct udpmig_tun_tx *tx, uint64_t n)
{
	if (tx->conf.cwnd_init == 0)
		return;
	while (n > 0 && tx->cwnd < tx->conf.cwnd_max) {
		if (tx->cwnd < tx->ssthresh) {
			tx->cwnd++;
		} else if (++tx->ca_acked >= tx->cwnd) {
			tx->ca_acked = 0;
			tx->cwnd++;
		}
		n--;
	}
}

static void
round_start(struct udpmig_tun_tx *tx, uint64_t end, uint64_t now_ns)
{
	tx->rtx = tx->una;
	tx->rtx_end = end;
	tx->progress_ns = now_ns;
}

uint32_t
udpmig_tun_tx_due(struct udpmig_tun_tx *tx, uint64_t now_ns, uint64_t *seq, struct rte_mbuf **pkts,
	uint32_t n)
{
	uint32_t k = 0;

	/* Nothing acked for a timeout: send again what is outstanding. */
	if (tx->rtx >= tx->rtx_end && tx->una < tx->nxt && now_ns - tx->progress_ns >= tx->rto_ns) {
		round_start(tx, tx->nxt, now_ns);
		tx->rto_ns = RTE_MIN(tx->rto_ns * 2, tx->conf.rto_max_ns);
		tx->st.rto_rounds++;
		cwnd_cut(tx, true);
	}
	while (k < n && tx->rtx < tx->rtx_end) {
		uint64_t s = tx->rtx++;
		struct rte_mbuf *m;

		if (s < tx->una)
			continue;
		m = tx->ent[s & tx->mask].m;
		if (m == NULL || tx->ent[s & tx->mask].sacked)
			continue;
		seq[k] = s;
		pkts[k++] = m;
		tx->ent[s & tx->mask].rexmit = true;
		tx->st.retransmits++;
	}
	tx->last_new = 0;
	while (k < n && tx->nxt < tx->next && tx->nxt - tx->una < tx->cwnd) {
		seq[k] = tx->nxt;
		pkts[k++] = tx->ent[tx->nxt & tx->mask].m;
		tx->ent[tx->nxt & tx->mask].sent_ns = now_ns;
		if (tx->nxt == tx->una)
			tx->progress_ns = now_ns; /* the timer runs from the oldest send */
		tx->nxt++;
		tx->last_new++;
		tx->st.sent++;
	}
	return k;
}

void
udpmig_tun_tx_unsent(struct udpmig_tun_tx *tx, uint32_t n)
{
	uint32_t back = RTE_MIN(n, tx->last_new);

	/* New packets are due again; retransmissions wait for the next round. */
	tx->nxt -= back;
	tx->st.sent -= back;
	tx->st.retransmits -= n - back;
	tx->last_new -= back;
}

/* Copy @m into the keep store; false when there is no room. */
static bool
keep_put(struct udpmig_tun_tx *tx, const struct rte_mbuf *m)
{
	uint64_t need = RTE_ALIGN_CEIL(sizeof(struct keep_rec) + m->pkt_len, 8);
	uint64_t off = tx->ktail % tx->ksize, to_end = tx->ksize - off;
	uint64_t used = tx->ktail - tx->khead;
	struct keep_rec *r;
	const void *d;

	/* A record never wraps: past the end's room, it starts at 0. */
	if (to_end < need && used + to_end + need <= tx->ksize) {
		((struct keep_rec *)(tx->kbuf + off))->len = KEEP_WRAP;
		tx->ktail += to_end;
		used += to_end;
		off = 0;
	}
	if (off + need > tx->ksize || used + need > tx->ksize)
		return false;
	r = (struct keep_rec *)(tx->kbuf + off);
	r->len = m->pkt_len;
	memcpy(r->dyn, m->dynfield1, sizeof(r->dyn));
	d = rte_pktmbuf_read(m, 0, m->pkt_len, r->data);
	if (d != r->data)
		memcpy(r->data, d, m->pkt_len);
	tx->ktail += need;
	tx->kept_n++;
	return true;
}

/* The oldest kept packet in a new mbuf (chained if it needs more than one), or NULL. */
static struct rte_mbuf *
keep_get(struct udpmig_tun_tx *tx)
{
	struct rte_mempool *mp = tx->conf.keep_pool;
	struct rte_mbuf *head, *seg;
	const struct keep_rec *r;
	uint32_t done = 0;
	uint64_t off;

	off = tx->khead % tx->ksize;
	r = (const struct keep_rec *)(tx->kbuf + off);
	if (r->len == KEEP_WRAP) {
		tx->khead += tx->ksize - off;
		r = (const struct keep_rec *)tx->kbuf;
	}
	head = rte_pktmbuf_alloc(mp);
	if (head == NULL)
		return NULL;
	for (seg = head;;) {
		uint32_t k = RTE_MIN(r->len - done, (uint32_t)rte_pktmbuf_tailroom(seg));
		struct rte_mbuf *next;

		memcpy(rte_pktmbuf_append(seg, (uint16_t)k), r->data + done, k);
		done += k;
		if (seg != head && rte_pktmbuf_chain(head, seg) != 0) {
			rte_pktmbuf_free(seg);
			break;
		}
		if (done == r->len)
			break;
		next = rte_pktmbuf_alloc(mp);
		if (next == NULL)
			break;
		seg = next;
	}
	if (done != r->len) {
		rte_pktmbuf_free(head);
		return NULL;
	}
	memcpy(head->dynfield1, r->dyn, sizeof(r->dyn));
	tx->khead += RTE_ALIGN_CEIL(sizeof(struct keep_rec) + r->len, 8);
	tx->kept_n--;
	return head;
}

/*
 * Retained and acked in order below una: out of the window into the keep
 * store, while it has room, so that the window takes new packets.
 */
static void
keep_acked(struct udpmig_tun_tx *tx)
{
	while (tx->base < tx->una) {
		struct tx_ent *e = &tx->ent[tx->base & tx->mask];

		if (e->m != NULL) {
			if (!keep_put(tx, e->m)) {
				tx->st.keep_full++;
				return;
			}
			rte_pktmbuf_free(e->m);
			e->m = NULL;
			tx->st.kept++;
		}
		tx->base++;
	}
}

/*
 * [a, b) arrived: the receiver holds them, so their mbufs can go, unless
 * retained. *rexmit is set when one of them had been sent again.
 */
static uint32_t
mark_acked(struct udpmig_tun_tx *tx, uint64_t a, uint64_t b, bool *rexmit)
{
	uint32_t freed = 0;
	uint64_t s;

	for (s = a; s < b; s++) {
		struct tx_ent *e = &tx->ent[s & tx->mask];

		*rexmit |= e->rexmit;
		e->sacked = true;
		if (e->m != NULL && !tx->retain) {
			rte_pktmbuf_free(e->m);
			e->m = NULL;
			freed++;
		}
	}
	return freed;
}

/*
 * A round trip: @e, sent once, is acked now (RFC 6298 2.2/2.3, with
 * alpha 1/8, beta 1/4, K 4). A fixed 20 ms timeout fired again and again
 * on a tunnel whose queue (window + the application's ring) took 30-80 ms
 * to drain: every packet was sent about twice.
 */
static void
rtt_sample(struct udpmig_tun_tx *tx, const struct tx_ent *e, uint64_t now_ns)
{
	uint64_t r;

	if (e->rexmit || e->sent_ns == 0 || now_ns < e->sent_ns)
		return;
	r = now_ns - e->sent_ns;
	if (tx->st.rtt_samples++ == 0) {
		tx->srtt_ns = r;
		tx->rttvar_ns = r / 2;
	} else {
		uint64_t d = r > tx->srtt_ns ? r - tx->srtt_ns : tx->srtt_ns - r;

		tx->rttvar_ns = (3 * tx->rttvar_ns + d) / 4;
		tx->srtt_ns = (7 * tx->srtt_ns + r) / 8;
	}
	tx->rto_base = RTE_MAX(tx->srtt_ns + 4 * tx->rttvar_ns, tx->conf.rto_ns);
	tx->rto_base = RTE_MIN(tx->rto_base, tx->conf.rto_max_ns);
}

uint32_t
udpmig_tun_tx_ack(struct udpmig_tun_tx *tx, uint64_t now_ns, uint64_t cum,
	const struct udpmig_tun_range *sack, uint16_t n_sack)
{
	uint32_t freed = 0;
	uint64_t hole_end = 0;
	bool rexmit = false;
	uint16_t i;

	if (cum > tx->nxt) {
		tx->st.bad_acks++;
		return 0;
	}
	if (cum > tx->una) {
		freed += mark_acked(tx, tx->una, cum, &rexmit);
		/* A jump over a hole just filled says when the hole was filled,
		 * not how long the newest packet took: no sample then. */
		if (!rexmit)
			rtt_sample(tx, &tx->ent[(cum - 1) & tx->mask], now_ns);
		tx->st.acked += cum - tx->una;
		cwnd_grow(tx, cum - tx->una);
		tx->una = cum;
		if (!tx->retain)
			tx->base = cum;
		else if (tx->kbuf != NULL)
			keep_acked(tx);
		tx->progress_ns = now_ns;
		tx->rto_ns = tx->rto_base;
	}
	for (i = 0; i < n_sack; i++) {
		uint64_t a = RTE_MAX(sack[i].start, tx->una);
		uint64_t b = RTE_MIN(sack[i].end, tx->nxt);

		if (sack[i].end > tx->nxt)
			tx->st.bad_acks++;
		freed += mark_acked(tx, a, b, &rexmit);
		if (a < b)
			hole_end = RTE_MAX(hole_end, a);
	}
	/* A hole below a selectively acked range: resend it without waiting. */
	if (hole_end > tx->una && tx->rtx >= tx->rtx_end &&
		now_ns - tx->fast_round_ns >= tx->conf.rto_ns / FAST_ROUND_SPACING) {
		round_start(tx, hole_end, now_ns);
		tx->fast_round_ns = now_ns;
		tx->st.fast_rounds++;
		cwnd_cut(tx, false);
	}
	return freed;
}

void
udpmig_tun_tx_retain(struct udpmig_tun_tx *tx, bool on)
{
	uint64_t s;

	tx->retain = on;
	if (on)
		return;
	for (s = tx->base; s < tx->next; s++) {
		struct tx_ent *e = &tx->ent[s & tx->mask];

		if (e->sacked && e->m != NULL) {
			rte_pktmbuf_free(e->m);
			e->m = NULL;
		}
	}
	tx->base = tx->una;
	/* The kept ones too: the peer has them. */
	tx->khead = tx->ktail;
	tx->kept_n = 0;
}

uint32_t
udpmig_tun_tx_reclaim(struct udpmig_tun_tx *tx, struct rte_mbuf **pkts, uint32_t n)
{
	uint32_t k = 0;

	/* The kept ones first: they are the oldest. */
	while (k < n && tx->kept_n > 0) {
		struct rte_mbuf *m = keep_get(tx);

		if (m == NULL) {
			tx->st.keep_nombuf++;
			return k;
		}
		pkts[k++] = m;
	}
	while (k < n && tx->base < tx->next) {
		struct tx_ent *e = &tx->ent[tx->base & tx->mask];

		if (e->m != NULL)
			pkts[k++] = e->m;
		e->m = NULL;
		tx->base++;
	}
	/* Whatever was taken back is neither outstanding nor due. */
	tx->una = RTE_MAX(tx->una, tx->base);
	tx->nxt = RTE_MAX(tx->nxt, tx->base);
	tx->rtx = tx->rtx_end;
	tx->last_new = 0;
	return k;
}

void
udpmig_tun_tx_stats_get(const struct udpmig_tun_tx *tx, struct udpmig_tun_tx_stats *st)
{
	*st = tx->st;
	st->cwnd = tx->cwnd;
	st->srtt_ns = tx->srtt_ns;
	st->rto_ns = tx->rto_ns;
}

/* --- receiver --------------------------------------------------------------- */

struct udpmig_tun_rx {
	char name[32];
	uint32_t mask, window, held;
	/* base <= cum <= end: [base, cum) stored and in order; end = 1 + highest stored. */
	uint64_t base, cum, end;
	struct udpmig_tun_rx_stats st;
	struct rte_mbuf *slot[];
};

struct udpmig_tun_rx *
udpmig_tun_rx_create(const char *name, uint32_t window, int socket_id)
{
	struct udpmig_tun_rx *rx;

	if (window < 2 || window > UDPMIG_TUN_WINDOW_MAX || !rte_is_power_of_2(window)) {
		rte_errno = EINVAL;
		return NULL;
	}
	rx = rte_zmalloc_socket(
		name, sizeof(*rx) + window * sizeof(rx->slot[0]), RTE_CACHE_LINE_SIZE, socket_id);
	if (rx == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	strlcpy(rx->name, name != NULL ? name : "tun_rx", sizeof(rx->name));
	rx->window = window;
	rx->mask = window - 1;
	return rx;
}

void
udpmig_tun_rx_free(struct udpmig_tun_rx *rx)
{
	uint32_t i;

	if (rx == NULL)
		return;
	for (i = 0; i < rx->window; i++)
		rte_pktmbuf_free(rx->slot[i]);
	rte_free(rx);
}

enum udpmig_tun_rx_verdict
udpmig_tun_rx_data(struct udpmig_tun_rx *rx, uint64_t seq, struct rte_mbuf *m)
{
	struct rte_mbuf **slot;

	if (seq < rx->cum) {
		rx->st.duplicates++;
		return UDPMIG_TUN_RX_DUPLICATE;
	}
	if (seq - rx->base >= rx->window) {
		rx->st.out_of_window++;
		return UDPMIG_TUN_RX_OUT_OF_WINDOW;
	}
	slot = &rx->slot[seq & rx->mask];
	if (*slot != NULL) {
		rx->st.duplicates++;
		return UDPMIG_TUN_RX_DUPLICATE;
	}
	*slot = m;
	rx->held++;
	rx->st.accepted++;
	if (seq >= rx->end)
		rx->end = seq + 1;
	while (rx->cum < rx->end && rx->slot[rx->cum & rx->mask] != NULL)
		rx->cum++;
	return UDPMIG_TUN_RX_STORED;
}

uint32_t
udpmig_tun_rx_pull(struct udpmig_tun_rx *rx, struct rte_mbuf **pkts, uint32_t n)
{
	uint32_t k = 0;

	while (k < n && rx->base < rx->cum) {
		struct rte_mbuf **slot = &rx->slot[rx->base & rx->mask];

		pkts[k++] = *slot;
		*slot = NULL;
		rx->base++;
	}
	rx->held -= k;
	rx->st.delivered += k;
	return k;
}

uint64_t
udpmig_tun_rx_cum(const struct udpmig_tun_rx *rx)
{
	return rx->cum;
}

uint32_t
udpmig_tun_rx_held(const struct udpmig_tun_rx *rx)
{
	return rx->held;
}

uint16_t
udpmig_tun_rx_sack(const struct udpmig_tun_rx *rx, struct udpmig_tun_range *out, uint16_t n)
{
	uint64_t s = rx->cum;
	uint16_t k = 0;

	while (k < n && s < rx->end) {
		while (s < rx->end && rx->slot[s & rx->mask] == NULL)
			s++;
		if (s >= rx->end)
			break;
		out[k].start = s;
		while (s < rx->end && rx->slot[s & rx->mask] != NULL)
			s++;
		out[k++].end = s;
	}
	return k;
}

void
udpmig_tun_rx_stats_get(const struct udpmig_tun_rx *rx, struct udpmig_tun_rx_stats *st)
{
	*st = rx->st;
}
