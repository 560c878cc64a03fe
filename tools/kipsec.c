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
#include <setjmp.h>
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
		"where  OBJECT := { state | sa | policy | monitor | stats | info }\n"
		"       kipsec [ OPTIONS ] -b[atch] FILE [ -f[orce] ]\n"
		"       OPTIONS := { -j[son] | -p[retty] | -s[tats] [ -s ] | -4 | -6 |\n"
		"                    -n[etns] NAME | -V[ersion] | -h[elp] }\n"
		"Commands follow `ip xfrm state|policy`; try \"kipsec state help\",\n"
		"\"kipsec policy help\", \"kipsec monitor help\" (events, as ip xfrm\n"
		"monitor). \"kipsec stats\": global counters, \"kipsec info\": module\n"
		"version and capabilities.\n");
	exit(code);
}

static int do_version(void)
{
	struct kinfo info;

	printf("kipsec utility, version %s\n", KIPSEC_TOOL_VERSION);
	if (!nl_family_present())
		printf("kipsec module not loaded\n");
	else if (nl_info_get(&info, true) == 0)
		printf("kipsec module, version %s\n", info.version);
	else	/* loaded, but reading it needs CAP_NET_ADMIN */
		printf("kipsec module loaded (its version: permission denied)\n");
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
	{ KIPSEC_CAP_NATT, "natt" },
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
	{ "monitor", do_monitor },
};

/* argv[0] is the object */
static int do_cmd(int argc, char **argv)
{
	unsigned int i;

	if (matches(argv[0], "help") == 0)
		usage(0);
	for (i = 0; i < ARRAY_SIZE(objects); i++)
		if (matches(argv[0], objects[i].name) == 0)
			return objects[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "Object \"%s\" is unknown, try \"kipsec help\".\n",
		argv[0]);
	return EXIT_USAGE;
}

#define BATCH_MAX_ARGS 256

/*
 * Split @line in place into words: blanks separate, '...' and "..." group,
 * a backslash escapes the next character, '#' starts a comment.
 */
static int split_line(char *line, char **argv, int max)
{
	char *in = line, *out = line;
	int argc = 0;

	for (;;) {
		char quote = 0;

		while (*in == ' ' || *in == '\t' || *in == '\n' || *in == '\r')
			in++;
		if (!*in || *in == '#')
			break;
		if (argc == max)
			return -1;
		argv[argc++] = out;
		while (*in && (quote || !strchr(" \t\n\r", *in))) {
			if (!quote && (*in == '\'' || *in == '"')) {
				quote = *in++;
			} else if (quote && *in == quote) {
				quote = 0;
				in++;
			} else if (*in == '\\' && in[1] && quote != '\'') {
				in++;
				*out++ = *in++;
			} else {
				*out++ = *in++;
			}
		}
		if (quote)
			return -1;
		if (*in)
			in++;
		*out++ = '\0';
	}
	return argc;
}

/* the whole file: a child's exit() must not move a shared file offset */
static char *slurp(const char *name)
{
	FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "r");
	size_t len = 0, cap = 4096, n;
	char *buf = malloc(cap + 1);

	if (!f || !buf) {
		fprintf(stderr, "Error: cannot read \"%s\": %s.\n", name,
			strerror(errno));
		exit(EXIT_USAGE);
	}
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			char *nb = realloc(buf, 2 * cap + 1);

			if (!nb)
				exit(EXIT_KERNEL);
			buf = nb;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "Error: cannot read \"%s\".\n", name);
		exit(EXIT_USAGE);
	}
	if (f != stdin)
		fclose(f);
	buf[len] = '\0';
	return buf;
}

/*
 * Batch lines run in this process, as with ip -batch: no fork and no
 * netlink family lookup per line.  A usage error calls exit() from deep
 * inside a parser; while a batch line runs, exit() (wrapped at link time
 * with -Wl,--wrap=exit, see the Makefile) returns to the batch loop
 * through batch_jmp instead of ending the process, so that a bad line
 * fails alone, as it did when each line had its own process.
 */
static jmp_buf batch_jmp;
static volatile bool in_batch_line;
static volatile int batch_exit_code;

void __real_exit(int code) __noreturn;
void __wrap_exit(int code) __noreturn;

void __wrap_exit(int code)
{
	if (in_batch_line) {
		in_batch_line = false;
		batch_exit_code = code;
		longjmp(batch_jmp, 1);
	}
	__real_exit(code);
}

static int run_line(int argc, char **argv)
{
	int rc;

	if (setjmp(batch_jmp)) {
		json_reset();
		fflush(stdout);
		return batch_exit_code;
	}
	in_batch_line = true;
	rc = do_cmd(argc, argv);
	in_batch_line = false;
	fflush(stdout);
	return rc;
}

/* ip -batch: one command a line, all in this process */
static int do_batch(const char *name, bool force)
{
	char *text = slurp(name), *line = text, *next;
	char *argv[BATCH_MAX_ARGS + 1];
	int lineno = 0, ret = 0;

	for (; *line; line = next) {
		char **av = argv;
		int argc, rc;

		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		lineno++;
		argc = split_line(line, argv, BATCH_MAX_ARGS);
		if (argc < 0) {
			fprintf(stderr, "Error: %s:%d: unbalanced quote or too many words.\n",
				name, lineno);
			rc = EXIT_USAGE;
		} else {
			if (argc > 0 && strcmp(argv[0], "xfrm") == 0) {
				av++;	/* a line of an `ip -batch` file */
				argc--;
			}
			if (argc == 0)
				continue;
			av[argc] = NULL;
			rc = run_line(argc, av);
		}
		if (!rc)
			continue;
		fprintf(stderr, "Command failed %s:%d\n", name, lineno);
		ret = rc;
		if (!force)
			break;
	}
	free(text);
	return ret;
}

int main(int argc, char **argv)
{
	const char *batch = NULL;
	bool force = false;

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
		} else if (matches(opt, "-batch") == 0) {
			if (argc < 3)
				incomplete("-batch");
			batch = argv[2];
			argc--;
			argv++;
		} else if (matches(opt, "-force") == 0) {
			force = true;
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
	if (batch) {
		if (argc > 1)
			usage_error("-batch takes its commands from the file, not \"%s\"",
				    argv[1]);
		return do_batch(batch, force);
	}
	if (argc < 2)
		usage(EXIT_USAGE);
	return do_cmd(argc - 1, argv + 1);
}
