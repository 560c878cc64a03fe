// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec CLI: `kipsec monitor`, as `ip xfrm monitor`: one event a
 * paragraph (or, with -j, one JSON object a line), flushed at once so
 * that a reader on a pipe sees each event as it happens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	MON_EXPIRE = 1 << 0,
	MON_SA = 1 << 1,
	MON_POLICY = 1 << 2,
	MON_ACQUIRE = 1 << 3,
	MON_MAPPING = 1 << 4,
	MON_ALL = MON_EXPIRE | MON_SA | MON_POLICY | MON_ACQUIRE | MON_MAPPING,
};

static void __noreturn usage(void)
{
	fprintf(stderr,
		"Usage: kipsec monitor [ -j ] [ all | OBJECTS ]\n"
		"OBJECTS := { acquire | expire | sa | policy | mapping } [ OBJECTS ]\n");
	exit(0);
}

static void flush_event(const char *ev, uint8_t proto)
{
	char pb[8];

	open_json_object(NULL);
	print_string(PRINT_JSON, "event", NULL, ev);
	if (strcmp(ev, "flush_sa") == 0) {
		print_string(PRINT_ANY, "proto", "Flushed state proto %s",
			     proto ? xfrmproto_name(proto, pb, sizeof(pb)) :
			     "any");
	} else {
		print_fp("Flushed policy");
	}
	print_nl();
	close_json_object();
}

static uint8_t flush_proto(const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[NL_TB_MAX];

	if (nl_parse(nlh, tb) || !tb[KIPSEC_A_EV_PROTO] ||
	    mnl_attr_get_payload_len(tb[KIPSEC_A_EV_PROTO]) != 1)
		return 0;
	return mnl_attr_get_u8(tb[KIPSEC_A_EV_PROTO]);
}

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	unsigned int want = *(unsigned int *)data;
	uint8_t cmd = nl_genl_cmd(nlh);
	int err = 0;

	new_json_obj();
	switch (cmd) {
	case KIPSEC_CMD_SA_EXPIRE:
		if (!(want & MON_EXPIRE))
			goto skip;
		err = sa_event_print(nlh, "expire", "Expired ", true);
		break;
	case KIPSEC_CMD_SA_NEW:
	case KIPSEC_CMD_SA_UPD:
	case KIPSEC_CMD_SA_DEL:
		if (!(want & MON_SA))
			goto skip;
		err = sa_event_print(nlh,
				     cmd == KIPSEC_CMD_SA_NEW ? "add_sa" :
				     cmd == KIPSEC_CMD_SA_UPD ? "update_sa" :
				     "delete_sa",
				     cmd == KIPSEC_CMD_SA_NEW ? NULL :
				     cmd == KIPSEC_CMD_SA_UPD ? "Updated " :
				     "Deleted ", false);
		break;
	case KIPSEC_CMD_SA_FLUSH:
		if (!(want & MON_SA))
			goto skip;
		flush_event("flush_sa", flush_proto(nlh));
		break;
	case KIPSEC_CMD_POLICY_NEW:
	case KIPSEC_CMD_POLICY_UPD:
	case KIPSEC_CMD_POLICY_DEL:
		if (!(want & MON_POLICY))
			goto skip;
		err = pol_event_print(nlh,
				      cmd == KIPSEC_CMD_POLICY_NEW ?
				      "add_policy" :
				      cmd == KIPSEC_CMD_POLICY_UPD ?
				      "update_policy" : "delete_policy",
				      cmd == KIPSEC_CMD_POLICY_NEW ? NULL :
				      cmd == KIPSEC_CMD_POLICY_UPD ?
				      "Updated " : "Deleted ", false);
		break;
	case KIPSEC_CMD_POLICY_EXPIRE:
		/* as xfrm: in the expire group, with SA expiries */
		if (!(want & MON_EXPIRE))
			goto skip;
		err = pol_event_print(nlh, "expire_policy", "Expired ", true);
		break;
	case KIPSEC_CMD_ACQUIRE:
		if (!(want & MON_ACQUIRE))
			goto skip;
		err = acq_event_print(nlh);
		break;
	case KIPSEC_CMD_MAPPING:
		if (!(want & MON_MAPPING))
			goto skip;
		err = mapping_event_print(nlh);
		break;
	case KIPSEC_CMD_POLICY_FLUSH:
		if (!(want & MON_POLICY))
			goto skip;
		flush_event("flush_policy", 0);
		break;
	default:
		goto skip;
	}
	if (err)
		json_reset();
	delete_json_obj();
	fflush(stdout);
	return MNL_CB_OK;
skip:
	json_reset();
	return MNL_CB_OK;
}

int do_monitor(int argc, char **argv)
{
	unsigned int want = 0;

	while (argc > 0) {
		if (strcmp(*argv, "-j") == 0 || strcmp(*argv, "-json") == 0)
			json = 1;
		else if (matches(*argv, "all") == 0)
			want |= MON_ALL;
		else if (matches(*argv, "acquire") == 0)
			want |= MON_ACQUIRE;
		else if (matches(*argv, "expire") == 0)
			want |= MON_EXPIRE;
		else if (strcmp(*argv, "sa") == 0 || matches(*argv, "SA") == 0)
			want |= MON_SA;
		else if (matches(*argv, "policy") == 0)
			want |= MON_POLICY;
		else if (matches(*argv, "mapping") == 0)
			want |= MON_MAPPING;
		else if (matches(*argv, "help") == 0)
			usage();
		else
			invarg("unknown monitor object", *argv);
		argc--;
		argv++;
	}
	if (!want)
		want = MON_ALL;
	return nl_monitor(event_cb, &want) < 0 ? EXIT_KERNEL : 0;
}
