// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec: configure the kipsec IPsec datapath module.
 *
 * The command lines of `ip xfrm state|policy ...` work with `kipsec` in
 * place of `ip xfrm`; see docs/cli.md.  Exit codes follow iproute2:
 * 0 success, 1 usage or parse error, 2 the kernel refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "cli.h"

int show_stats;
int json;
int pretty;
int preferred_family;

static void __noreturn usage(int code)
{
	fprintf(stderr,
		"Usage: kipsec [ OPTIONS ] OBJECT { COMMAND | help }\n"
		"       kipsec [ -V | -h ]\n"
		"where  OBJECT := { state | sa | policy | stats | info }\n"
		"       OPTIONS := { -j[son] | -p[retty] | -s[tats] [ -s ] | -4 | -6 |\n"
		"                    -n[etns] NAME | -V[ersion] | -h[elp] }\n"
		"Commands follow `ip xfrm state|policy`; try \"kipsec state help\",\n"
		"\"kipsec policy help\". \"kipsec stats\": global counters,\n"
		"\"kipsec info\": module version and capabilities.\n");
	exit(code);
}

static int do_version(void)
{
	struct kinfo info;

	printf("kipsec utility, version %s\n", KIPSEC_TOOL_VERSION);
	if (nl_family_present() && nl_info_get(&info, true) == 0)
		printf("kipsec module, version %s\n", info.version);
	else
		printf("kipsec module not loaded\n");
	return 0;
}

static const struct {
	uint32_t bit;
	const char *name;
} caps[] = {
	{ KIPSEC_CAP_ESP, "esp" },
	{ KIPSEC_CAP_AH, "ah" },
	{ KIPSEC_CAP_ESN, "esn" },
	{ KIPSEC_CAP_IPV6, "ipv6" },
	{ KIPSEC_CAP_TUNNEL, "tunnel" },
	{ KIPSEC_CAP_TRANSPORT, "transport" },
};

static int do_info(int argc, char **argv)
{
	struct kinfo info;
	unsigned int i;

	if (argc > 0 && matches(*argv, "show") != 0) {
		if (matches(*argv, "help") == 0) {
			fprintf(stderr, "Usage: kipsec info [ show ]\n");
			return 0;
		}
		invarg("unknown keyword", *argv);
	}
	nl_info_get(&info, false);
	if (nl_dryrun())
		return 0;
	new_json_obj();
	open_json_object(NULL);
	print_string(PRINT_ANY, "version", "version %s\n", info.version);
	print_uint(PRINT_ANY, "genl_version", "genl-version %u\n",
		   KIPSEC_GENL_VERSION);
	print_fp("capabilities ");
	open_json_array("capabilities");
	for (i = 0; i < ARRAY_SIZE(caps); i++)
		if (info.caps & caps[i].bit)
			print_string(PRINT_ANY, NULL, "%s ", caps[i].name);
	close_json_array();
	print_nl();
	print_uint(PRINT_ANY, "replay_window_max", "replay-window-max %u\n",
		   info.replay_max);
	print_uint(PRINT_ANY, "sa_count", "sa-count %u\n", info.sa_count);
	print_uint(PRINT_ANY, "policy_count", "policy-count %u\n",
		   info.policy_count);
	close_json_object();
	delete_json_obj();
	return 0;
}

static int stats_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NL_TB_MAX];

	if (nl_parse(nlh, tb) || stats_get(tb[KIPSEC_A_STATS], data)) {
		fprintf(stderr, "Error: malformed statistics from the kernel.\n");
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int do_stats(int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct kstats st;

	if (argc > 0 && matches(*argv, "show") != 0 &&
	    matches(*argv, "list") != 0) {
		if (matches(*argv, "help") == 0) {
			fprintf(stderr,
				"Usage: kipsec stats [ show ]\n"
				"Prints the global drop counters of the network namespace.\n");
			return 0;
		}
		invarg("unknown keyword", *argv);
	}
	memset(&st, 0, sizeof(st));
	nl_talk(nl_new(buf, KIPSEC_CMD_STATS_GET, 0), stats_cb, &st, false);
	if (nl_dryrun())
		return 0;
	new_json_obj();
	stats_print_table(&st);
	delete_json_obj();
	return 0;
}

static void enter_netns(const char *name)
{
	char path[256];
	int fd;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "Error: cannot open network namespace \"%s\": %s.\n",
			name, strerror(errno));
		exit(EXIT_USAGE);
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "Error: setting the network namespace \"%s\" failed: %s.\n",
			name, strerror(errno));
		exit(EXIT_KERNEL);
	}
	close(fd);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} objects[] = {
	/* order decides abbreviations: "s" is state */
	{ "state", do_state },
	{ "sa", do_state },
	{ "policy", do_policy },
	{ "stats", do_stats },
	{ "info", do_info },
};

int main(int argc, char **argv)
{
	unsigned int i;

	while (argc > 1 && argv[1][0] == '-') {
		char *opt = argv[1];

		if (opt[1] == '-' && opt[2])
			opt++;	/* --json is -json */
		if (matches(opt, "-json") == 0) {
			json = 1;
		} else if (matches(opt, "-pretty") == 0) {
			pretty = 1;
		} else if (matches(opt, "-stats") == 0 ||
			   matches(opt, "-statistics") == 0) {
			show_stats++;
		} else if (strcmp(opt, "-ss") == 0) {
			show_stats += 2;
		} else if (strcmp(opt, "-4") == 0) {
			preferred_family = AF_INET;
		} else if (strcmp(opt, "-6") == 0) {
			preferred_family = AF_INET6;
		} else if (matches(opt, "-netns") == 0) {
			if (argc < 3)
				incomplete("-netns");
			enter_netns(argv[2]);
			argc--;
			argv++;
		} else if (matches(opt, "-Version") == 0) {
			return do_version();
		} else if (matches(opt, "-help") == 0) {
			usage(0);
		} else {
			fprintf(stderr,
				"Option \"%s\" is unknown, try \"kipsec -help\".\n",
				argv[1]);
			exit(EXIT_USAGE);
		}
		argc--;
		argv++;
	}
	if (argc < 2)
		usage(EXIT_USAGE);
	if (matches(argv[1], "help") == 0)
		usage(0);
	for (i = 0; i < ARRAY_SIZE(objects); i++)
		if (matches(argv[1], objects[i].name) == 0)
			return objects[i].fn(argc - 2, argv + 2);
	fprintf(stderr, "Object \"%s\" is unknown, try \"kipsec help\".\n",
		argv[1]);
	return EXIT_USAGE;
}
