// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec CLI: lifetimes (ip xfrm's "limit"), shared by `kipsec state` and
 * `kipsec policy`: parsing, the KIPSEC_A_*_LIFETIME nest, printing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

const char *const lft_names[N_LFT] = {
	"byte-soft", "byte-hard", "packet-soft", "packet-hard",
	"time-soft", "time-hard", "time-use-soft", "time-use-hard",
};

/**
 * lft_parse - limit LIMIT [ LIMIT ... ]
 * @v: the limits, in enum kipsec_lft_attr order, set as given
 * @argcp: argc, on "limit"; left on the last value
 * @argvp: argv, likewise
 *
 * ip takes one LIMIT after each "limit"; several are accepted too.
 */
void lft_parse(uint64_t v[N_LFT], int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp;
	unsigned int i, n = 0;

	while (NEXT_ARG_OK()) {
		for (i = 0; i < N_LFT; i++)
			if (strcmp(argv[1], lft_names[i]) == 0)
				break;
		if (i == N_LFT)
			break;
		NEXT_ARG();
		NEXT_ARG();
		if (get_u64(&v[i], *argv))
			invarg("value after \"limit\" is invalid", *argv);
		n++;
	}
	if (!n) {
		if (NEXT_ARG_OK())
			invarg("LIMIT value is invalid", argv[1]);
		incomplete(*argv);
	}
	*argcp = argc;
	*argvp = argv;
}

/* the nest @type holding the limits that are set (0: none) */
void lft_put(struct nlmsghdr *nlh, uint16_t type, const uint64_t v[N_LFT])
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);
	unsigned int i;

	for (i = 0; i < N_LFT; i++)
		if (v[i])
			mnl_attr_put_u64(nlh, KIPSEC_A_LFT_SOFT_BYTES + i, v[i]);
	mnl_attr_nest_end(nlh, nest);
}

/* one limit line as ip xfrm prints it: (INF) for none */
static void print_limit(const char *what, const char *unit, uint64_t soft,
			uint64_t hard)
{
	print_fp("	  %s: soft ", what);
	if (soft)
		print_fp("%" PRIu64, soft);
	else
		print_fp("(INF)");
	print_fp("(%s), hard ", unit);
	if (hard)
		print_fp("%" PRIu64, hard);
	else
		print_fp("(INF)");
	print_fp("(%s)\n", unit);
}

/**
 * lft_print - the limits: JSON "lifetime" object, or with -s ip's block
 * @v: the limits, in enum kipsec_lft_attr order
 */
void lft_print(const uint64_t v[N_LFT])
{
	unsigned int i;

	if (is_json_context()) {
		open_json_object("lifetime");
		for (i = 0; i < N_LFT; i++)
			print_u64(PRINT_JSON, lft_names[i], NULL, v[i]);
		close_json_object();
		return;
	}
	if (!show_stats)
		return;
	print_fp("\tlifetime config:\n");
	print_limit("limit", "bytes", v[0], v[1]);
	print_limit("limit", "packets", v[2], v[3]);
	print_fp("\t  expire add: soft %" PRIu64 "(sec), hard %" PRIu64
		 "(sec)\n", v[4], v[5]);
	print_fp("\t  expire use: soft %" PRIu64 "(sec), hard %" PRIu64
		 "(sec)\n", v[6], v[7]);
}

/* seconds since the epoch as ip prints them, "-" for 0 */
void lft_time_str(uint64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = t;

	if (!t || !localtime_r(&tt, &tm))
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}
