/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The VM table. Lookups by MAC and address go through one open-addressing
 * map whose keys are a kind byte plus the address bytes. A slot's key is
 * written before its VM pointer is published (release) and read after
 * the pointer (acquire), so a lock-free reader never sees a half-made
 * slot. Removal leaves a tombstone; a slot is reused only by a later add,
 * which the caller orders after a grace period (see the header).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>

#include "udpmig_priv.h"
#include "udpmig_vm.h"

#define KEY_MAC   1
#define KEY_IP4   2
#define KEY_IP6   3
#define KEY_LEN   17
#define MAX_VMS   65536u
#define MAX_QUOTA (1u << 30)

#define TOMBSTONE ((struct udpmig_vm *)(uintptr_t)1)

struct slot {
	uint8_t key[KEY_LEN];
	struct udpmig_vm *vm; /* NULL: never used; TOMBSTONE: removed */
};

struct udpmig_vm_table {
	uint32_t max_vms;
	uint32_t n_vms;
	uint32_t mask; /* map size - 1 */
	struct udpmig_vm **by_id;
	struct slot *map;
};

void
udpmig_vm_conf_default(struct udpmig_vm_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->t1_quota = 4096;
	conf->t2_slots = 65536;
	conf->t2_slot_size = UDPMIG_BUF_T2_SLOT_DEFAULT;
	conf->policy = UDPMIG_BUF_DROP_NEWEST;
	conf->hold_timeout_ms = 5000;
}

static bool
name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

static int
parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long x;
	char *end;

	if (v == NULL || !isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || x < min || x > max)
		return -EINVAL;
	*out = (uint32_t)x;
	return 0;
}

int
udpmig_vm_conf_set(
	struct udpmig_vm_conf *conf, const char *key, const char *value, char *err, size_t errlen)
{
	uint32_t u;
	int ret;

	if (conf == NULL || key == NULL || value == NULL) {
		udpmig_set_err(err, errlen, "missing key or value");
		return -EINVAL;
	}
	if (strcmp(key, "name") == 0) {
		if (strlen(value) >= sizeof(conf->name)) {
			udpmig_set_err(err, errlen, "name: longer than %zu characters",
				sizeof(conf->name) - 1);
			return -ENAMETOOLONG;
		}
		if (!name_ok(value)) {
			udpmig_set_err(err, errlen, "name: '%s' is not [A-Za-z0-9_.-]+", value);
			return -EINVAL;
		}
		snprintf(conf->name, sizeof(conf->name), "%s", value);
	} else if (strcmp(key, "mac") == 0) {
		if (rte_ether_unformat_addr(value, &conf->mac) != 0) {
			udpmig_set_err(
				err, errlen, "mac: '%s' is not a MAC (xx:xx:xx:xx:xx:xx)", value);
			return -EINVAL;
		}
	} else if (strcmp(key, "ip") == 0) {
		uint8_t a[16];

		if (inet_pton(AF_INET, value, a) == 1) {
			if (conf->n_ip4 >= UDPMIG_VM_MAX_IP4) {
				udpmig_set_err(err, errlen, "ip: more than %d IPv4 addresses",
					UDPMIG_VM_MAX_IP4);
				return -ENOSPC;
			}
			memcpy(&conf->ip4[conf->n_ip4++], a, 4);
		} else if (inet_pton(AF_INET6, value, a) == 1) {
			if (conf->n_ip6 >= UDPMIG_VM_MAX_IP6) {
				udpmig_set_err(err, errlen, "ip: more than %d IPv6 addresses",
					UDPMIG_VM_MAX_IP6);
				return -ENOSPC;
			}
			memcpy(conf->ip6[conf->n_ip6++], a, 16);
		} else {
			udpmig_set_err(
				err, errlen, "ip: '%s' is not an IPv4 or IPv6 address", value);
			return -EINVAL;
		}
	} else if (strcmp(key, "t1-quota") == 0) {
		if (parse_u32(value, 0, MAX_QUOTA, &conf->t1_quota) < 0) {
			udpmig_set_err(err, errlen, "t1-quota: '%s' is not a number in 0..%u",
				value, MAX_QUOTA);
			return -EINVAL;
		}
	} else if (strcmp(key, "t2-slots") == 0) {
		if (parse_u32(value, 0, MAX_QUOTA, &conf->t2_slots) < 0) {
			udpmig_set_err(err, errlen, "t2-slots: '%s' is not a number in 0..%u",
				value, MAX_QUOTA);
			return -EINVAL;
		}
	} else if (strcmp(key, "t2-slot-size") == 0) {
		if (parse_u32(value, 64, 65536, &conf->t2_slot_size) < 0) {
			udpmig_set_err(err, errlen,
				"t2-slot-size: '%s' is not a number in 64..65536", value);
			return -EINVAL;
		}
	} else if (strcmp(key, "t2-file") == 0) {
		if (strlen(value) >= sizeof(conf->t2_file)) {
			udpmig_set_err(err, errlen, "t2-file: longer than %zu characters",
				sizeof(conf->t2_file) - 1);
			return -ENAMETOOLONG;
		}
		snprintf(conf->t2_file, sizeof(conf->t2_file), "%s", value);
	} else if (strcmp(key, "policy") == 0) {
		ret = udpmig_buf_policy_parse(value, &conf->policy);
		if (ret < 0) {
			udpmig_set_err(err, errlen,
				"policy: '%s' is not drop-newest or drop-oldest", value);
			return ret;
		}
	} else if (strcmp(key, "hold-timeout-ms") == 0) {
		if (parse_u32(value, 1, 3600000, &u) < 0) {
			udpmig_set_err(err, errlen,
				"hold-timeout-ms: '%s' is not a number in 1..3600000", value);
			return -EINVAL;
		}
		conf->hold_timeout_ms = u;
	} else {
		udpmig_set_err(err, errlen,
			"unknown key '%s' (accepted: name, mac, ip, t1-quota, t2-slots, t2-slot-size, t2-file, policy, hold-timeout-ms)",
			key);
		return -EINVAL;
	}
	return 0;
}

int
udpmig_vm_conf_validate(const struct udpmig_vm_conf *conf, char *err, size_t errlen)
{
	if (conf == NULL) {
		udpmig_set_err(err, errlen, "no configuration");
		return -EINVAL;
	}
	if (memchr(conf->name, '\0', sizeof(conf->name)) == NULL || !name_ok(conf->name)) {
		udpmig_set_err(err, errlen, "name: missing or not [A-Za-z0-9_.-]+");
		return -EINVAL;
	}
	if (rte_is_zero_ether_addr(&conf->mac) || !rte_is_unicast_ether_addr(&conf->mac)) {
		udpmig_set_err(err, errlen, "mac: missing, zero or multicast");
		return -EINVAL;
	}
	if (conf->t1_quota == 0 && conf->t2_slots == 0) {
		udpmig_set_err(
			err, errlen, "t1-quota, t2-slots: both 0, nothing could be buffered");
		return -EINVAL;
	}
	if (conf->t1_quota > MAX_QUOTA || conf->t2_slots > MAX_QUOTA) {
		udpmig_set_err(err, errlen, "t1-quota, t2-slots: over %u", MAX_QUOTA);
		return -EINVAL;
	}
	if (conf->t2_slot_size < 64 || conf->t2_slot_size > 65536) {
		udpmig_set_err(
			err, errlen, "t2-slot-size: %u is not in 64..65536", conf->t2_slot_size);
		return -EINVAL;
	}
	if (conf->policy != UDPMIG_BUF_DROP_NEWEST && conf->policy != UDPMIG_BUF_DROP_OLDEST) {
		udpmig_set_err(err, errlen, "policy: not drop-newest or drop-oldest");
		return -EINVAL;
	}
	if (conf->hold_timeout_ms == 0) {
		udpmig_set_err(err, errlen, "hold-timeout-ms: 0");
		return -EINVAL;
	}
	if (conf->n_ip4 > UDPMIG_VM_MAX_IP4 || conf->n_ip6 > UDPMIG_VM_MAX_IP6 ||
		memchr(conf->t2_file, '\0', sizeof(conf->t2_file)) == NULL) {
		udpmig_set_err(err, errlen, "ip or t2-file: out of range");
		return -EINVAL;
	}
	return 0;
}

struct udpmig_vm_table *
udpmig_vm_table_create(uint32_t max_vms)
{
	struct udpmig_vm_table *tbl;
	uint32_t size;

	if (max_vms == 0 || max_vms > MAX_VMS) {
		errno = EINVAL;
		return NULL;
	}
	/* Every VM has up to 1 + 4 + 4 keys; keep the map under half full. */
	size = rte_align32pow2(2 * max_vms * (1 + UDPMIG_VM_MAX_IP4 + UDPMIG_VM_MAX_IP6));
	tbl = calloc(1, sizeof(*tbl));
	if (tbl == NULL)
		return NULL;
	tbl->max_vms = max_vms;
	tbl->mask = size - 1;
	tbl->by_id = calloc(max_vms, sizeof(*tbl->by_id));
	tbl->map = calloc(size, sizeof(*tbl->map));
	if (tbl->by_id == NULL || tbl->map == NULL) {
		udpmig_vm_table_free(tbl);
		errno = ENOMEM;
		return NULL;
	}
	return tbl;
}

void
udpmig_vm_free(struct udpmig_vm *vm)
{
	if (vm == NULL)
		return;
	udpmig_buf_free(vm->buf);
	free(vm);
}

void
udpmig_vm_table_free(struct udpmig_vm_table *tbl)
{
	uint32_t i;

	if (tbl == NULL)
		return;
	if (tbl->by_id != NULL)
		for (i = 0; i < tbl->max_vms; i++)
			udpmig_vm_free(tbl->by_id[i]);
	free(tbl->by_id);
	free(tbl->map);
	free(tbl);
}

/* FNV-1a: keys are short, and it needs no EAL. */
static inline uint32_t
key_hash(const uint8_t *key)
{
	uint32_t h = 2166136261u;
	int i;

	for (i = 0; i < KEY_LEN; i++)
		h = (h ^ key[i]) * 16777619u;
	return h ^ (h >> 15);
}

static inline void
key_make(uint8_t *key, uint8_t kind, const void *addr, size_t len)
{
	memset(key, 0, KEY_LEN);
	key[0] = kind;
	memcpy(key + 1, addr, len);
}

static struct udpmig_vm *
map_find(const struct udpmig_vm_table *tbl, const uint8_t *key)
{
	uint32_t i = key_hash(key) & tbl->mask, n;

	for (n = 0; n <= tbl->mask; n++, i = (i + 1) & tbl->mask) {
		const struct slot *s = &tbl->map[i];
		struct udpmig_vm *vm = __atomic_load_n(&s->vm, __ATOMIC_ACQUIRE);

		if (vm == NULL)
			return NULL;
		if (vm != TOMBSTONE && memcmp(s->key, key, KEY_LEN) == 0)
			return vm;
	}
	return NULL;
}

static void
map_put(struct udpmig_vm_table *tbl, const uint8_t *key, struct udpmig_vm *vm)
{
	uint32_t i = key_hash(key) & tbl->mask;

	/* The map is sized so that a free slot always exists. */
	while (tbl->map[i].vm != NULL && tbl->map[i].vm != TOMBSTONE)
		i = (i + 1) & tbl->mask;
	memcpy(tbl->map[i].key, key, KEY_LEN);
	__atomic_store_n(&tbl->map[i].vm, vm, __ATOMIC_RELEASE);
}

static void
map_del(struct udpmig_vm_table *tbl, const uint8_t *key)
{
	uint32_t i = key_hash(key) & tbl->mask, n;

	for (n = 0; n <= tbl->mask; n++, i = (i + 1) & tbl->mask) {
		struct slot *s = &tbl->map[i];

		if (s->vm == NULL)
			return;
		if (s->vm != TOMBSTONE && memcmp(s->key, key, KEY_LEN) == 0) {
			__atomic_store_n(&s->vm, TOMBSTONE, __ATOMIC_RELEASE);
			return;
		}
	}
}

/* Each key of a VM in turn: returns false past the last. */
static bool
vm_key(const struct udpmig_vm_conf *c, unsigned int k, uint8_t *key)
{
	if (k == 0) {
		key_make(key, KEY_MAC, &c->mac, RTE_ETHER_ADDR_LEN);
		return true;
	}
	k--;
	if (k < c->n_ip4) {
		key_make(key, KEY_IP4, &c->ip4[k], 4);
		return true;
	}
	k -= c->n_ip4;
	if (k < c->n_ip6) {
		key_make(key, KEY_IP6, c->ip6[k], 16);
		return true;
	}
	return false;
}

struct udpmig_vm *
udpmig_vm_table_add(
	struct udpmig_vm_table *tbl, const struct udpmig_vm_conf *conf, char *err, size_t errlen)
{
	uint8_t key[KEY_LEN];
	struct udpmig_vm *vm;
	unsigned int k, j;
	uint32_t id;

	if (tbl == NULL || udpmig_vm_conf_validate(conf, err, errlen) < 0) {
		if (tbl == NULL)
			udpmig_set_err(err, errlen, "no table");
		errno = EINVAL;
		return NULL;
	}
	if (udpmig_vm_lookup_name(tbl, conf->name) != NULL) {
		udpmig_set_err(err, errlen, "name: VM '%s' exists", conf->name);
		errno = EEXIST;
		return NULL;
	}
	for (k = 0; vm_key(conf, k, key); k++) {
		uint8_t other[KEY_LEN];

		if (map_find(tbl, key) != NULL) {
			udpmig_set_err(
				err, errlen, "%s: used by another VM", k == 0 ? "mac" : "ip");
			errno = EEXIST;
			return NULL;
		}
		for (j = 0; j < k && vm_key(conf, j, other); j++)
			if (memcmp(other, key, KEY_LEN) == 0) {
				udpmig_set_err(err, errlen, "ip: given twice");
				errno = EINVAL;
				return NULL;
			}
	}
	if (tbl->n_vms == tbl->max_vms) {
		udpmig_set_err(err, errlen, "table full (%u VMs)", tbl->max_vms);
		errno = ENOSPC;
		return NULL;
	}
	for (id = 0; tbl->by_id[id] != NULL; id++)
		;
	vm = aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(sizeof(*vm), RTE_CACHE_LINE_SIZE));
	if (vm == NULL) {
		udpmig_set_err(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	memset(vm, 0, sizeof(*vm));
	vm->conf = *conf;
	vm->id = id;
	tbl->by_id[id] = vm;
	tbl->n_vms++;
	for (k = 0; vm_key(conf, k, key); k++)
		map_put(tbl, key, vm);
	return vm;
}

struct udpmig_vm *
udpmig_vm_table_del(struct udpmig_vm_table *tbl, const char *name)
{
	struct udpmig_vm *vm;
	uint8_t key[KEY_LEN];
	unsigned int k;

	if (tbl == NULL || name == NULL) {
		errno = EINVAL;
		return NULL;
	}
	vm = udpmig_vm_lookup_name(tbl, name);
	if (vm == NULL) {
		errno = ENOENT;
		return NULL;
	}
	for (k = 0; vm_key(&vm->conf, k, key); k++)
		map_del(tbl, key);
	tbl->by_id[vm->id] = NULL;
	tbl->n_vms--;
	return vm;
}

int
udpmig_vm_buf_create(struct udpmig_vm *vm, uint16_t n_producers, int socket_id)
{
	struct udpmig_buf_conf bc;

	if (vm == NULL || vm->buf != NULL || n_producers == 0)
		return -EINVAL;
	memset(&bc, 0, sizeof(bc));
	bc.name = vm->conf.name;
	bc.socket_id = socket_id;
	bc.t1_quota = vm->conf.t1_quota;
	bc.t2_slots = vm->conf.t2_slots;
	bc.t2_slot_size = vm->conf.t2_slot_size;
	bc.t2_file = vm->conf.t2_file[0] != '\0' ? vm->conf.t2_file : NULL;
	bc.policy = vm->conf.policy;
	bc.n_producers = n_producers;
	vm->buf = udpmig_buf_create(&bc);
	return vm->buf == NULL ? -rte_errno : 0;
}

struct udpmig_vm *
udpmig_vm_lookup_name(const struct udpmig_vm_table *tbl, const char *name)
{
	uint32_t i;

	if (tbl == NULL || name == NULL)
		return NULL;
	for (i = 0; i < tbl->max_vms; i++)
		if (tbl->by_id[i] != NULL && strcmp(tbl->by_id[i]->conf.name, name) == 0)
			return tbl->by_id[i];
	return NULL;
}

struct udpmig_vm *
udpmig_vm_lookup_mac(const struct udpmig_vm_table *tbl, const struct rte_ether_addr *mac)
{
	uint8_t key[KEY_LEN];

	if (tbl == NULL || mac == NULL)
		return NULL;
	key_make(key, KEY_MAC, mac, RTE_ETHER_ADDR_LEN);
	return map_find(tbl, key);
}

struct udpmig_vm *
udpmig_vm_lookup_ip4(const struct udpmig_vm_table *tbl, uint32_t ip4)
{
	uint8_t key[KEY_LEN];

	if (tbl == NULL)
		return NULL;
	key_make(key, KEY_IP4, &ip4, 4);
	return map_find(tbl, key);
}

struct udpmig_vm *
udpmig_vm_lookup_ip6(const struct udpmig_vm_table *tbl, const uint8_t *ip6)
{
	uint8_t key[KEY_LEN];

	if (tbl == NULL || ip6 == NULL)
		return NULL;
	key_make(key, KEY_IP6, ip6, 16);
	return map_find(tbl, key);
}

int
udpmig_vm_foreach(
	const struct udpmig_vm_table *tbl, int (*fn)(struct udpmig_vm *vm, void *arg), void *arg)
{
	uint32_t i;
	int ret;

	if (tbl == NULL || fn == NULL)
		return -EINVAL;
	for (i = 0; i < tbl->max_vms; i++) {
		if (tbl->by_id[i] == NULL)
			continue;
		ret = fn(tbl->by_id[i], arg);
		if (ret != 0)
			return ret;
	}
	return 0;
}

uint32_t
udpmig_vm_count(const struct udpmig_vm_table *tbl)
{
	return tbl == NULL ? 0 : tbl->n_vms;
}

int
udpmig_vm_stats_get(const struct udpmig_vm *vm, struct udpmig_vm_stats *sum)
{
	int q;

	if (vm == NULL || sum == NULL)
		return -EINVAL;
	memset(sum, 0, sizeof(*sum));
	for (q = 0; q < UDPMIG_VM_MAX_QUEUES; q++) {
		const struct udpmig_vm_stats *s = &vm->stats[q];

		sum->rx_pkts += __atomic_load_n(&s->rx_pkts, __ATOMIC_RELAXED);
		sum->rx_bytes += __atomic_load_n(&s->rx_bytes, __ATOMIC_RELAXED);
		sum->delivered_pkts += __atomic_load_n(&s->delivered_pkts, __ATOMIC_RELAXED);
		sum->intercepted_pkts += __atomic_load_n(&s->intercepted_pkts, __ATOMIC_RELAXED);
		sum->injected_pkts += __atomic_load_n(&s->injected_pkts, __ATOMIC_RELAXED);
		sum->tunneled_pkts += __atomic_load_n(&s->tunneled_pkts, __ATOMIC_RELAXED);
		sum->drop_pkts += __atomic_load_n(&s->drop_pkts, __ATOMIC_RELAXED);
	}
	return 0;
}

int
udpmig_vm_dump_json(const struct udpmig_vm *vm, FILE *f)
{
	char mac[RTE_ETHER_ADDR_FMT_SIZE], ip[INET6_ADDRSTRLEN];
	struct udpmig_vm_stats st;
	struct udpmig_buf_stats bs;
	int i;

	if (vm == NULL || f == NULL)
		return -EINVAL;
	udpmig_vm_stats_get(vm, &st);
	rte_ether_format_addr(mac, sizeof(mac), &vm->conf.mac);
	fprintf(f, "{\"name\": \"%s\", \"id\": %u, \"mac\": \"%s\", \"ip\": [", vm->conf.name,
		vm->id, mac);
	for (i = 0; i < vm->conf.n_ip4 + vm->conf.n_ip6; i++) {
		if (i < vm->conf.n_ip4)
			inet_ntop(AF_INET, &vm->conf.ip4[i], ip, sizeof(ip));
		else
			inet_ntop(AF_INET6, vm->conf.ip6[i - vm->conf.n_ip4], ip, sizeof(ip));
		fprintf(f, "%s\"%s\"", i > 0 ? ", " : "", ip);
	}
	fprintf(f,
		"], \"t1_quota\": %u, \"t2_slots\": %u, \"t2_slot_size\": %u, \"policy\": \"%s\", \"hold_timeout_ms\": %u",
		vm->conf.t1_quota, vm->conf.t2_slots, vm->conf.t2_slot_size,
		udpmig_buf_policy_name(vm->conf.policy), vm->conf.hold_timeout_ms);
	fprintf(f,
		", \"rx_pkts\": %" PRIu64 ", \"rx_bytes\": %" PRIu64
		", \"delivered_pkts\": %" PRIu64 ", \"intercepted_pkts\": %" PRIu64
		", \"injected_pkts\": %" PRIu64 ", \"tunneled_pkts\": %" PRIu64
		", \"drop_pkts\": %" PRIu64,
		st.rx_pkts, st.rx_bytes, st.delivered_pkts, st.intercepted_pkts, st.injected_pkts,
		st.tunneled_pkts, st.drop_pkts);
	if (vm->buf != NULL && udpmig_buf_stats_get(vm->buf, &bs) == 0)
		fprintf(f,
			", \"buf\": {\"enq_pkts\": %" PRIu64 ", \"t1_pkts\": %" PRIu64
			", \"t2_pkts\": %" PRIu64 ", \"deq_pkts\": %" PRIu64
			", \"drop_newest\": %" PRIu64 ", \"drop_oldest\": %" PRIu64
			", \"drop_flush\": %" PRIu64 ", \"held\": %" PRIu64 "}",
			bs.enq_pkts, bs.t1_pkts, bs.t2_pkts, bs.deq_pkts, bs.drop_newest,
			bs.drop_oldest, bs.drop_flush, bs.held);
	fputs("}", f);
	return ferror(f) ? -EIO : 0;
}
