/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of udpmig_vm: configuration parsing and validation (each
 * error names its field), the table's error contract, lookups by every
 * key, removal, counters and the JSON dump. EAL only for the last test
 * (a VM's buffer).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>

#include "udpmig_vm.h"
#include "unit.h"

static char err[256];

static struct udpmig_vm_conf
vm_conf(const char *name, const char *mac, const char *ip)
{
	struct udpmig_vm_conf c;

	udpmig_vm_conf_default(&c);
	CU_ASSERT(udpmig_vm_conf_set(&c, "name", name, err, sizeof(err)) == 0);
	CU_ASSERT(udpmig_vm_conf_set(&c, "mac", mac, err, sizeof(err)) == 0);
	if (ip != NULL)
		CU_ASSERT(udpmig_vm_conf_set(&c, "ip", ip, err, sizeof(err)) == 0);
	return c;
}

static void
test_conf_set_errors(void)
{
	struct udpmig_vm_conf c;
	char longname[64];
	int i;

	udpmig_vm_conf_default(&c);
	CU_ASSERT(udpmig_vm_conf_set(NULL, "name", "x", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(udpmig_vm_conf_set(&c, NULL, "x", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(udpmig_vm_conf_set(&c, "name", NULL, NULL, 0) == -EINVAL);
	CU_ASSERT(udpmig_vm_conf_set(&c, "colour", "red", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strstr(err, "unknown key 'colour'") != NULL && strstr(err, "t1-quota") != NULL);
	CU_ASSERT(udpmig_vm_conf_set(&c, "name", "a b", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strncmp(err, "name:", 5) == 0);
	CU_ASSERT(udpmig_vm_conf_set(&c, "name", "", err, sizeof(err)) == -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CU_ASSERT(udpmig_vm_conf_set(&c, "name", longname, err, sizeof(err)) == -ENAMETOOLONG);
	CU_ASSERT(udpmig_vm_conf_set(&c, "mac", "00:11:22:33:44", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strncmp(err, "mac:", 4) == 0);
	CU_ASSERT(udpmig_vm_conf_set(&c, "ip", "10.0.0.256", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strncmp(err, "ip:", 3) == 0);
	for (i = 0; i < UDPMIG_VM_MAX_IP4; i++)
		CU_ASSERT(udpmig_vm_conf_set(&c, "ip", "10.0.0.1", err, sizeof(err)) == 0);
	CU_ASSERT(udpmig_vm_conf_set(&c, "ip", "10.0.0.1", err, sizeof(err)) == -ENOSPC);
	for (i = 0; i < UDPMIG_VM_MAX_IP6; i++)
		CU_ASSERT(udpmig_vm_conf_set(&c, "ip", "fd00::1", err, sizeof(err)) == 0);
	CU_ASSERT(udpmig_vm_conf_set(&c, "ip", "fd00::2", err, sizeof(err)) == -ENOSPC);
	CU_ASSERT(udpmig_vm_conf_set(&c, "t1-quota", "-1", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(udpmig_vm_conf_set(&c, "t1-quota", "12x", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(udpmig_vm_conf_set(&c, "t1-quota", "1073741825", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strncmp(err, "t1-quota:", 9) == 0);
	CU_ASSERT(udpmig_vm_conf_set(&c, "t2-slots", "", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(udpmig_vm_conf_set(&c, "t2-slot-size", "63", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(udpmig_vm_conf_set(&c, "t2-slot-size", "65537", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(udpmig_vm_conf_set(&c, "policy", "drop-random", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strstr(err, "drop-newest or drop-oldest") != NULL);
	CU_ASSERT(udpmig_vm_conf_set(&c, "hold-timeout-ms", "0", err, sizeof(err)) == -EINVAL);
	CU_ASSERT(udpmig_vm_conf_set(&c, "hold-timeout-ms", "99999999999", err, sizeof(err)) ==
		-EINVAL);
}

static void
test_conf_validate_errors(void)
{
	struct udpmig_vm_conf c;

	CU_ASSERT(udpmig_vm_conf_validate(NULL, err, sizeof(err)) == -EINVAL);
	udpmig_vm_conf_default(&c);
	CU_ASSERT(udpmig_vm_conf_validate(&c, err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strncmp(err, "name:", 5) == 0);
	c = vm_conf("vm1", "02:00:00:00:00:01", NULL);
	CU_ASSERT(udpmig_vm_conf_validate(&c, NULL, 0) == 0);
	memset(&c.mac, 0, sizeof(c.mac));
	CU_ASSERT(udpmig_vm_conf_validate(&c, err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strncmp(err, "mac:", 4) == 0);
	c = vm_conf("vm1", "01:00:5e:00:00:01", NULL); /* multicast */
	CU_ASSERT(udpmig_vm_conf_validate(&c, err, sizeof(err)) == -EINVAL);
	c = vm_conf("vm1", "02:00:00:00:00:01", NULL);
	c.t1_quota = 0;
	c.t2_slots = 0;
	CU_ASSERT(udpmig_vm_conf_validate(&c, err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strstr(err, "t1-quota") != NULL);
	c = vm_conf("vm1", "02:00:00:00:00:01", NULL);
	c.t2_slot_size = 10;
	CU_ASSERT(udpmig_vm_conf_validate(&c, err, sizeof(err)) == -EINVAL);
	c = vm_conf("vm1", "02:00:00:00:00:01", NULL);
	c.hold_timeout_ms = 0;
	CU_ASSERT(udpmig_vm_conf_validate(&c, err, sizeof(err)) == -EINVAL);
	c = vm_conf("vm1", "02:00:00:00:00:01", NULL);
	c.policy = (enum udpmig_buf_policy)5;
	CU_ASSERT(udpmig_vm_conf_validate(&c, err, sizeof(err)) == -EINVAL);
}

static void
test_conf_set_values(void)
{
	struct udpmig_vm_conf c = vm_conf("vm-1.a_b", "02:aa:bb:cc:dd:ee", "192.0.2.7");
	uint8_t v6[16];

	CU_ASSERT(udpmig_vm_conf_set(&c, "ip", "2001:db8::7", err, sizeof(err)) == 0);
	CU_ASSERT(udpmig_vm_conf_set(&c, "t1-quota", "0", err, sizeof(err)) == 0);
	CU_ASSERT(udpmig_vm_conf_set(&c, "t2-slots", "1000", err, sizeof(err)) == 0);
	CU_ASSERT(udpmig_vm_conf_set(&c, "t2-slot-size", "9216", err, sizeof(err)) == 0);
	CU_ASSERT(udpmig_vm_conf_set(&c, "t2-file", "/var/lib/x", err, sizeof(err)) == 0);
	CU_ASSERT(udpmig_vm_conf_set(&c, "policy", "drop-oldest", err, sizeof(err)) == 0);
	CU_ASSERT(udpmig_vm_conf_set(&c, "hold-timeout-ms", "250", err, sizeof(err)) == 0);
	CU_ASSERT(strcmp(c.name, "vm-1.a_b") == 0);
	CU_ASSERT(c.mac.addr_bytes[0] == 0x02 && c.mac.addr_bytes[5] == 0xee);
	CU_ASSERT(c.n_ip4 == 1 && c.ip4[0] == inet_addr("192.0.2.7"));
	inet_pton(AF_INET6, "2001:db8::7", v6);
	CU_ASSERT(c.n_ip6 == 1 && memcmp(c.ip6[0], v6, 16) == 0);
	CU_ASSERT(c.t1_quota == 0 && c.t2_slots == 1000 && c.t2_slot_size == 9216);
	CU_ASSERT(strcmp(c.t2_file, "/var/lib/x") == 0);
	CU_ASSERT(c.policy == UDPMIG_BUF_DROP_OLDEST && c.hold_timeout_ms == 250);
	CU_ASSERT(udpmig_vm_conf_validate(&c, err, sizeof(err)) == 0);
}

static void
test_table_errors(void)
{
	struct udpmig_vm_table *t;
	struct udpmig_vm_conf c = vm_conf("vm1", "02:00:00:00:00:01", "10.1.0.1");
	struct udpmig_vm_conf bad;

	errno = 0;
	CU_ASSERT(udpmig_vm_table_create(0) == NULL && errno == EINVAL);
	CU_ASSERT(udpmig_vm_table_create(65537) == NULL && errno == EINVAL);
	udpmig_vm_table_free(NULL);
	CU_ASSERT(udpmig_vm_table_add(NULL, &c, err, sizeof(err)) == NULL && errno == EINVAL);
	t = udpmig_vm_table_create(2);
	CU_ASSERT_FATAL(t != NULL);
	udpmig_vm_conf_default(&bad);
	CU_ASSERT(udpmig_vm_table_add(t, &bad, err, sizeof(err)) == NULL && errno == EINVAL);
	CU_ASSERT(udpmig_vm_table_add(t, NULL, err, sizeof(err)) == NULL && errno == EINVAL);
	CU_ASSERT(udpmig_vm_table_add(t, &c, err, sizeof(err)) != NULL);
	/* Same name, same MAC, same address: each refused, named. */
	CU_ASSERT(udpmig_vm_table_add(t, &c, err, sizeof(err)) == NULL && errno == EEXIST);
	CU_ASSERT(strncmp(err, "name:", 5) == 0);
	bad = vm_conf("vm2", "02:00:00:00:00:01", NULL);
	CU_ASSERT(udpmig_vm_table_add(t, &bad, err, sizeof(err)) == NULL && errno == EEXIST);
	CU_ASSERT(strncmp(err, "mac:", 4) == 0);
	bad = vm_conf("vm2", "02:00:00:00:00:02", "10.1.0.1");
	CU_ASSERT(udpmig_vm_table_add(t, &bad, err, sizeof(err)) == NULL && errno == EEXIST);
	CU_ASSERT(strncmp(err, "ip:", 3) == 0);
	bad = vm_conf("vm2", "02:00:00:00:00:02", "10.1.0.2");
	udpmig_vm_conf_set(&bad, "ip", "10.1.0.2", NULL, 0);
	CU_ASSERT(udpmig_vm_table_add(t, &bad, err, sizeof(err)) == NULL && errno == EINVAL);
	bad = vm_conf("vm2", "02:00:00:00:00:02", NULL);
	CU_ASSERT(udpmig_vm_table_add(t, &bad, err, sizeof(err)) != NULL);
	bad = vm_conf("vm3", "02:00:00:00:00:03", NULL);
	CU_ASSERT(udpmig_vm_table_add(t, &bad, err, sizeof(err)) == NULL && errno == ENOSPC);
	CU_ASSERT(udpmig_vm_table_del(t, "nope") == NULL && errno == ENOENT);
	CU_ASSERT(udpmig_vm_table_del(t, NULL) == NULL && errno == EINVAL);
	CU_ASSERT(udpmig_vm_table_del(NULL, "vm1") == NULL && errno == EINVAL);
	CU_ASSERT(udpmig_vm_lookup_name(t, NULL) == NULL);
	CU_ASSERT(udpmig_vm_lookup_mac(t, NULL) == NULL);
	CU_ASSERT(udpmig_vm_lookup_mac(NULL, &c.mac) == NULL);
	CU_ASSERT(udpmig_vm_lookup_ip6(t, NULL) == NULL);
	CU_ASSERT(udpmig_vm_lookup_ip4(NULL, 0) == NULL);
	CU_ASSERT(udpmig_vm_foreach(t, NULL, NULL) == -EINVAL);
	CU_ASSERT(udpmig_vm_count(NULL) == 0);
	CU_ASSERT(udpmig_vm_stats_get(NULL, NULL) == -EINVAL);
	CU_ASSERT(udpmig_vm_dump_json(NULL, stdout) == -EINVAL);
	CU_ASSERT(udpmig_vm_buf_create(NULL, 1, 0) == -EINVAL);
	udpmig_vm_free(NULL);
	udpmig_vm_table_free(t);
}

static int
count_cb(struct udpmig_vm *vm, void *arg)
{
	(void)vm;
	(*(int *)arg)++;
	return 0;
}

static int
stop_cb(struct udpmig_vm *vm, void *arg)
{
	(void)vm;
	(void)arg;
	return 42;
}

static void
test_table_lookups(void)
{
	struct udpmig_vm_table *t = udpmig_vm_table_create(256);
	struct udpmig_vm *vm, *vms[200];
	struct rte_ether_addr mac;
	char name[32], macs[32], ip[32];
	uint8_t v6[16];
	int i, n = 0;

	CU_ASSERT_FATAL(t != NULL);
	for (i = 0; i < 200; i++) {
		struct udpmig_vm_conf c;

		snprintf(name, sizeof(name), "vm%d", i);
		snprintf(macs, sizeof(macs), "02:00:00:00:%02x:%02x", i >> 8, i & 0xff);
		snprintf(ip, sizeof(ip), "10.2.%d.%d", i >> 8, i & 0xff);
		c = vm_conf(name, macs, ip);
		snprintf(ip, sizeof(ip), "fd00::%x", i);
		udpmig_vm_conf_set(&c, "ip", ip, NULL, 0);
		vms[i] = udpmig_vm_table_add(t, &c, err, sizeof(err));
		CU_ASSERT_FATAL(vms[i] != NULL);
	}
	CU_ASSERT(udpmig_vm_count(t) == 200);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "vm%d", i);
		CU_ASSERT(udpmig_vm_lookup_name(t, name) == vms[i]);
		mac = vms[i]->conf.mac;
		CU_ASSERT(udpmig_vm_lookup_mac(t, &mac) == vms[i]);
		CU_ASSERT(udpmig_vm_lookup_ip4(t, vms[i]->conf.ip4[0]) == vms[i]);
		CU_ASSERT(udpmig_vm_lookup_ip6(t, vms[i]->conf.ip6[0]) == vms[i]);
	}
	inet_pton(AF_INET6, "fd00::ffff", v6);
	CU_ASSERT(udpmig_vm_lookup_ip6(t, v6) == NULL);
	CU_ASSERT(udpmig_vm_lookup_ip4(t, inet_addr("10.9.9.9")) == NULL);
	CU_ASSERT(udpmig_vm_foreach(t, count_cb, &n) == 0 && n == 200);
	CU_ASSERT(udpmig_vm_foreach(t, stop_cb, NULL) == 42);

	/* Remove: gone from every lookup; the others still found. */
	vm = udpmig_vm_table_del(t, "vm7");
	CU_ASSERT_FATAL(vm == vms[7]);
	CU_ASSERT(udpmig_vm_lookup_mac(t, &vm->conf.mac) == NULL);
	CU_ASSERT(udpmig_vm_lookup_ip4(t, vm->conf.ip4[0]) == NULL);
	CU_ASSERT(udpmig_vm_lookup_name(t, "vm7") == NULL);
	CU_ASSERT(udpmig_vm_lookup_mac(t, &vms[8]->conf.mac) == vms[8]);
	CU_ASSERT(udpmig_vm_count(t) == 199);
	/* Its keys can be taken again, and its id is reused. */
	{
		struct udpmig_vm_conf c = vm->conf;
		struct udpmig_vm *again;

		snprintf(c.name, sizeof(c.name), "vm7b");
		again = udpmig_vm_table_add(t, &c, err, sizeof(err));
		CU_ASSERT(again != NULL && again->id == vm->id);
		CU_ASSERT(udpmig_vm_lookup_mac(t, &c.mac) == again);
	}
	udpmig_vm_free(vm);
	udpmig_vm_table_free(t);
}

static void
test_stats_and_json(void)
{
	struct udpmig_vm_table *t = udpmig_vm_table_create(4);
	struct udpmig_vm_conf c = vm_conf("vmj", "02:00:00:00:00:09", "10.3.0.9");
	struct udpmig_vm_stats sum;
	struct udpmig_vm *vm;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	udpmig_vm_conf_set(&c, "ip", "fd00::9", NULL, 0);
	vm = udpmig_vm_table_add(t, &c, err, sizeof(err));
	CU_ASSERT_FATAL(vm != NULL);
	vm->stats[0].rx_pkts = 5;
	vm->stats[3].rx_pkts = 7;
	vm->stats[UDPMIG_VM_MAX_QUEUES - 1].intercepted_pkts = 2;
	CU_ASSERT(udpmig_vm_stats_get(vm, &sum) == 0);
	CU_ASSERT(sum.rx_pkts == 12 && sum.intercepted_pkts == 2 && sum.drop_pkts == 0);
	f = open_memstream(&text, &len);
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(udpmig_vm_dump_json(vm, f) == 0);
	fclose(f);
	CU_ASSERT(strstr(text, "\"name\": \"vmj\"") != NULL);
	CU_ASSERT(strstr(text, "\"ip\": [\"10.3.0.9\", \"fd00::9\"]") != NULL);
	CU_ASSERT(strstr(text, "\"rx_pkts\": 12") != NULL);
	CU_ASSERT(strstr(text, "\"policy\": \"drop-newest\"") != NULL);
	free(text);
	udpmig_vm_table_free(t);
}

static void
test_buf_create(void)
{
	struct udpmig_vm_table *t = udpmig_vm_table_create(4);
	struct udpmig_vm_conf c = vm_conf("vmb", "02:00:00:00:00:0b", NULL);
	struct udpmig_vm *vm;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	udpmig_vm_conf_set(&c, "t2-slots", "64", NULL, 0);
	vm = udpmig_vm_table_add(t, &c, err, sizeof(err));
	CU_ASSERT_FATAL(vm != NULL);
	CU_ASSERT(udpmig_vm_buf_create(vm, 0, SOCKET_ID_ANY) == -EINVAL);
	CU_ASSERT(udpmig_vm_buf_create(vm, 2, SOCKET_ID_ANY) == 0);
	CU_ASSERT(vm->buf != NULL && strcmp(udpmig_buf_name(vm->buf), "vmb") == 0);
	CU_ASSERT(udpmig_vm_buf_create(vm, 2, SOCKET_ID_ANY) == -EINVAL);
	f = open_memstream(&text, &len);
	CU_ASSERT(udpmig_vm_dump_json(vm, f) == 0);
	fclose(f);
	CU_ASSERT(strstr(text, "\"buf\": {\"enq_pkts\": 0") != NULL);
	free(text);
	udpmig_vm_table_free(t); /* frees the buffer too */
}

static int
reg(int argc, char **argv)
{
	CU_pSuite pure, eal;

	(void)argc;
	(void)argv;
	pure = CU_add_suite("udpmig_vm", NULL, NULL);
	if (pure == NULL ||
		CU_add_test(pure, "conf: bad keys and values", test_conf_set_errors) == NULL ||
		CU_add_test(pure, "conf: validate", test_conf_validate_errors) == NULL ||
		CU_add_test(pure, "conf: every key", test_conf_set_values) == NULL ||
		CU_add_test(pure, "table: errors", test_table_errors) == NULL ||
		CU_add_test(pure, "table: lookups and removal", test_table_lookups) == NULL ||
		CU_add_test(pure, "stats and JSON", test_stats_and_json) == NULL)
		return -1;
	/* The buffer needs EAL: started only for this suite. */
	if (unit_eal_init("test_vm", "0") < 0)
		return -1;
	eal = CU_add_suite("udpmig_vm with EAL", NULL, NULL);
	if (eal == NULL || CU_add_test(eal, "buffer of a VM", test_buf_create) == NULL)
		return -1;
	return 0;
}

UNIT_MAIN(reg)
