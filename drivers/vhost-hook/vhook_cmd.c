/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_vhook's control socket commands. The server (lib/udpmig_ctl)
 * checks the argument counts; each handler here takes the lock, finds
 * the VM, calls one function and replies. They run on the vhook control
 * thread, so the migration machines need no other protection.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhook.h"

typedef void (*reply_fn)(struct vhook_port *p, FILE *f);

/* Reply with what @fn writes, or an error if the stream fails. */
static void
reply_with(struct udpmig_ctl_conn *c, struct vhook_port *p, reply_fn fn)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL) {
		udpmig_ctl_reply_error(c, "out of memory");
		return;
	}
	fn(p, f);
	if (fclose(f) != 0 || buf == NULL)
		udpmig_ctl_reply_error(c, "out of memory");
	else
		udpmig_ctl_reply(c, buf);
	free(buf);
}

/* Find the VM or reply with an error naming the known ones. */
static struct vhook_port *
find_vm(struct udpmig_ctl_conn *c, const char *name)
{
	struct vhook_port *p = vhook_port_by_name(name);
	char known[512];
	size_t off = 0;
	uint32_t i;

	if (p != NULL)
		return p;
	known[0] = '\0';
	for (i = 0; i < RTE_DIM(vhook_global.ports) && off < sizeof(known); i++)
		if (vhook_global.ports[i] != NULL)
			off += snprintf(known + off, sizeof(known) - off, "%s%s", off ? ", " : "",
				vhook_global.ports[i]->args.vm.name);
	udpmig_ctl_reply_error(c, "unknown VM '%s' (known: %s)", name, off ? known : "none");
	return NULL;
}

/* Queue pairs whose two vrings are both ready. */
static unsigned int
pairs_ready(uint32_t mask)
{
	unsigned int q, n = 0;

	for (q = 0; q < VHOOK_MAX_QUEUES; q++)
		n += ((mask >> VHOOK_VRING_GUEST_RX(q)) & 1) &&
			((mask >> VHOOK_VRING_GUEST_TX(q)) & 1);
	return n;
}

static void
port_brief(struct vhook_port *p, FILE *f)
{
	uint32_t vr = __atomic_load_n(&p->vrings_ready, __ATOMIC_RELAXED);

	fprintf(f, "{\"vm\":");
	udpmig_ctl_json_str(f, p->args.vm.name);
	fprintf(f, ",\"port_id\":%u,\"iface\":", p->port_id);
	udpmig_ctl_json_str(f, p->args.iface);
	fprintf(f,
		",\"client\":%s,\"queues\":%u,\"vrings_ready\":%" PRIu32 ",\"queues_ready\":%u,"
		"\"attached\":%s,\"state\":\"%s\",\"mode\":\"%s\",\"held\":%" PRIu64 "}",
		p->args.client ? "true" : "false", p->args.queues, vr, pairs_ready(vr),
		__atomic_load_n(&p->attached, __ATOMIC_RELAXED) ? "true" : "false",
		udpmig_mig_state_name(p->mig.state), vhook_mode_name(p->mode),
		udpmig_buf_count(p->buf));
}

static void
port_counters(struct vhook_port *p, FILE *f)
{
	uint64_t v[VHOOK_N_COUNTERS];
	unsigned int i;

	vhook_counters_get(p, v);
	fputc('{', f);
	for (i = 0; i < VHOOK_N_COUNTERS; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", vhook_counter_name(i), v[i]);
	fputc('}', f);
}

int
vhook_port_dump_json(struct vhook_port *p, FILE *f)
{
	uint64_t now = vhook_now_ns();

	fprintf(f, "{\"port\":");
	port_brief(p, f);
	fprintf(f, ",\"config\":");
	udpmig_vm_dump_json(p->vm, f);
	fprintf(f,
		",\"migration\":{\"state\":\"%s\",\"in_state_ms\":%.1f,\"auto_detect\":%s,"
		"\"dirty_logging\":%s,\"returning_held\":%s,\"timeout_ms\":",
		udpmig_mig_state_name(p->mig.state), (double)(now - p->mig.entered_ns) / 1e6,
		p->args.auto_detect ? "true" : "false", p->log_all ? "true" : "false",
		p->inject ? "true" : "false");
	if (p->mig.deadline_ns == UINT64_MAX)
		fprintf(f, "null");
	else
		fprintf(f, "%.1f", (double)(p->mig.deadline_ns - p->mig.entered_ns) / 1e6);
	fprintf(f, "},\"tunnel\":");
	vhook_tun_dump_json(p, f);
	fprintf(f, ",\"counters\":");
	port_counters(p, f);
	fputc('}', f);
	return ferror(f) ? -EIO : 0;
}

static void
dump_port(struct vhook_port *p, FILE *f)
{
	vhook_port_dump_json(p, f);
}

static void
dump_status(struct vhook_port *unused __rte_unused, FILE *f)
{
	uint32_t i, n = 0;

	fprintf(f, "{\"driver\":\"net_vhook\",\"version\":\"%s\",\"ctl\":", UDPMIG_VERSION);
	udpmig_ctl_json_str(f, vhook_global.ctl_path);
	fprintf(f,
		",\"migration_work\":{\"by\":\"%s\",\"polls\":%" PRIu64 ",\"lock_busy\":%" PRIu64
		",\"lock_yields\":%" PRIu64 "}",
		vhook_global.mig_external ? "application" : "control thread",
		vhook_global.mig_polls,
		__atomic_load_n(&vhook_global.mig_busy_skips, __ATOMIC_RELAXED),
		vhook_global.lock_yields);
	fprintf(f, ",\"tunnel\":");
	vhook_tun_dump_global_json(f);
	fprintf(f, ",\"ports\":[");
	for (i = 0; i < RTE_DIM(vhook_global.ports); i++)
		if (vhook_global.ports[i] != NULL) {
			if (n++ > 0)
				fputc(',', f);
			port_brief(vhook_global.ports[i], f);
		}
	fprintf(f, "]}");
}

static void
dump_stats(struct vhook_port *unused __rte_unused, FILE *f)
{
	uint32_t i, n = 0;

	fputc('{', f);
	for (i = 0; i < RTE_DIM(vhook_global.ports); i++) {
		struct vhook_port *p = vhook_global.ports[i];

		if (p == NULL)
			continue;
		if (n++ > 0)
			fputc(',', f);
		udpmig_ctl_json_str(f, p->args.vm.name);
		fputc(':', f);
		port_counters(p, f);
	}
	fputc('}', f);
}

static void
cmd_status(struct udpmig_ctl_conn *c, int argc __rte_unused, const char *argv[] __rte_unused,
	void *aux __rte_unused)
{
	vhook_lock();
	reply_with(c, NULL, dump_status);
	vhook_unlock();
}

static void
cmd_stats(struct udpmig_ctl_conn *c, int argc __rte_unused, const char *argv[] __rte_unused,
	void *aux __rte_unused)
{
	vhook_lock();
	reply_with(c, NULL, dump_stats);
	vhook_unlock();
}

static void
cmd_vm_show(struct udpmig_ctl_conn *c, int argc __rte_unused, const char *argv[],
	void *aux __rte_unused)
{
	struct vhook_port *p;

	vhook_lock();
	p = find_vm(c, argv[1]);
	if (p != NULL)
		reply_with(c, p, dump_port);
	vhook_unlock();
}

/* migrate-start, migrate-offline, migrate-abort: aux is the event. */
static void
cmd_migrate(struct udpmig_ctl_conn *c, int argc, const char *argv[], void *aux)
{
	enum udpmig_mig_event ev = (enum udpmig_mig_event)(uintptr_t)aux;
	struct vhook_chan_res made = { 0 };
	struct udpmig_mig_result res;
	struct vhook_chan_conf cc = { 0 };
	struct vhook_port *p;
	bool premade = false;
	char acts[256];
	int ret;

	/*
	 * A command that opens a channel (migrate-expect; migrate-start or
	 * -offline naming the peer) makes its buffers first, without the lock:
	 * 100-300 ms here, that a vhost callback of any port would otherwise
	 * wait (docs/vhost-hook.md). vhook_tun_open() takes them if it opens.
	 */
	if (ev == UDPMIG_MIG_E_EXPECT ||
		(argc > 2 && (ev == UDPMIG_MIG_E_START || ev == UDPMIG_MIG_E_OFFLINE))) {
		vhook_lock();
		p = vhook_port_by_name(argv[1]);
		premade = p != NULL && p->mig.state == UDPMIG_MIG_S_IDLE && !p->chan.open &&
			p->chan.hold == NULL;
		if (premade)
			vhook_tun_res_conf(p, &cc);
		vhook_unlock();
		premade = premade && vhook_tun_res_make(&cc, ev != UDPMIG_MIG_E_EXPECT, &made) == 0;
	}
	vhook_lock();
	p = find_vm(c, argv[1]);
	if (p == NULL)
		goto out;
	if (premade && p->gen == cc.gen && p->slot == cc.slot)
		p->chan_res = &made;
	p->open_sync = true; /* the reply says whether the channel opened */
	/* Where the channel goes: options of the command that leaves IDLE. */
	if (argc > 2 || ev == UDPMIG_MIG_E_EXPECT ||
		(p->mig.state == UDPMIG_MIG_S_IDLE &&
			(ev == UDPMIG_MIG_E_START || ev == UDPMIG_MIG_E_OFFLINE))) {
		bool dest = ev == UDPMIG_MIG_E_EXPECT;
		struct vhook_peer peer;
		char err[160];

		if (p->mig.state != UDPMIG_MIG_S_IDLE) {
			udpmig_ctl_reply_error(c,
				"%s: VM %s is in state %s, where it does not apply", argv[0],
				p->args.vm.name, udpmig_mig_state_name(p->mig.state));
			goto out;
		}
		if (vhook_tun_parse_peer(&peer, argc, argv, 2, dest, err, sizeof(err)) != 0) {
			udpmig_ctl_reply_error(c, "%s: %s", argv[0], err);
			goto out;
		}
		p->peer = peer;
		if (dest) {
			ret = vhook_tun_open(p, false);
			if (ret < 0) {
				udpmig_ctl_reply_error(c, "%s: VM %s: cannot open the channel: %s",
					argv[0], p->args.vm.name, strerror(-ret));
				goto out;
			}
		}
	}
	ret = vhook_mig_event(p, ev, argv[0], &res);
	if (ret == -EPERM) {
		udpmig_ctl_reply_error(c, "%s: VM %s is in state %s, where it does not apply",
			argv[0], p->args.vm.name, udpmig_mig_state_name(p->mig.state));
	} else if (ret < 0) {
		udpmig_ctl_reply_error(
			c, "%s: VM %s: %s", argv[0], p->args.vm.name, strerror(-ret));
	} else {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		udpmig_mig_actions_str(res.actions, acts, sizeof(acts));
		if (f != NULL) {
			fprintf(f, "{\"vm\":");
			udpmig_ctl_json_str(f, p->args.vm.name);
			fprintf(f, ",\"from\":\"%s\",\"to\":\"%s\",\"actions\":\"%s\"}",
				udpmig_mig_state_name(res.from), udpmig_mig_state_name(res.to),
				acts);
		}
		if (f == NULL || fclose(f) != 0 || buf == NULL)
			udpmig_ctl_reply_error(c, "out of memory");
		else
			udpmig_ctl_reply(c, buf);
		free(buf);
	}
out:
	if (p != NULL) {
		p->chan_res = NULL;
		p->open_sync = false;
	}
	vhook_unlock();
	vhook_tun_res_free(&made); /* what the channel did not take */
}

/* peer-add ADDR --key HEX, peer-del ADDR: aux is 1 for add. */
static void
cmd_peer(struct udpmig_ctl_conn *c, int argc, const char *argv[], void *aux)
{
	char err[160];
	int ret;

	vhook_lock();
	ret = vhook_tun_peer_set(argc, argv, aux != NULL, err, sizeof(err));
	if (ret < 0)
		udpmig_ctl_reply_error(c, "%s: %s", argv[0], err);
	else
		reply_with(c, NULL, dump_status);
	vhook_unlock();
}

int
vhook_cmd_register(struct udpmig_ctl_server *srv)
{
	static const struct {
		const char *name;
		const char *usage;
		int min, max;
		udpmig_ctl_handler_t fn;
		enum udpmig_mig_event ev;
	} cmds[] = {
		{ "status", "status", 0, 0, cmd_status, 0 },
		{ "stats", "stats", 0, 0, cmd_stats, 0 },
		{ "vm-show", "vm-show VM", 1, 1, cmd_vm_show, 0 },
		{ "migrate-start",
			"migrate-start VM [--to ADDR --key HEX [--vni N] [--store-and-forward]]", 1,
			8, cmd_migrate, UDPMIG_MIG_E_START },
		{ "migrate-offline",
			"migrate-offline VM [--to ADDR --key HEX [--vni N] [--store-and-forward]]",
			1, 8, cmd_migrate, UDPMIG_MIG_E_OFFLINE },
		{ "migrate-expect", "migrate-expect VM [--from ADDR --key HEX] [--vni N]", 1, 7,
			cmd_migrate, UDPMIG_MIG_E_EXPECT },
		{ "migrate-resumed", "migrate-resumed VM", 1, 1, cmd_migrate,
			UDPMIG_MIG_E_RESUMED_LOCAL },
		{ "migrate-abort", "migrate-abort VM", 1, 1, cmd_migrate, UDPMIG_MIG_E_ABORT },
		/* aux: 1 add, 0 delete */
		{ "peer-add", "peer-add ADDR --key HEX", 3, 3, cmd_peer, 1 },
		{ "peer-del", "peer-del ADDR", 1, 1, cmd_peer, 0 },
	};
	unsigned int i;
	int ret;

	for (i = 0; i < RTE_DIM(cmds); i++) {
		ret = udpmig_ctl_register(srv, cmds[i].name, cmds[i].usage, cmds[i].min,
			cmds[i].max, cmds[i].fn, (void *)(uintptr_t)cmds[i].ev);
		if (ret < 0)
			return ret;
	}
	return 0;
}
