/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kipsec CLI: declarations shared by the tool's units.
 *
 *   kipsec.c     global options, object dispatch, help, info, stats, -V
 *   nl.c         generic netlink over libmnl: family, requests, dumps,
 *                extended ACK errors, KIPSEC_DRYRUN
 *   json_print.c one print call serves text and JSON output
 *   utils.c      argument parsing helpers and iproute2-style errors
 *   sel.c        selectors, templates, counters: parse, print, filter
 *   state.c      `kipsec state ...` (ip xfrm state)
 *   policy.c     `kipsec policy ...` (ip xfrm policy)
 *   lft.c        lifetimes ("limit") of SAs and policies
 */
#ifndef _KIPSEC_CLI_H
#define _KIPSEC_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include <libmnl/libmnl.h>
#include <uapi/linux/kipsec.h>

#define KIPSEC_TOOL_VERSION	"0.1.0"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define __noreturn		__attribute__((noreturn))
#define __printf(a, b)		__attribute__((format(printf, a, b)))

/* exit codes, iproute2 convention */
#define EXIT_USAGE	1	/* usage or parse error */
#define EXIT_KERNEL	2	/* the kernel refused */

/* largest key the CLI accepts (ip xfrm: XFRM_ALGO_KEY_BUF_SIZE) */
#define KEY_MAX_BYTES	512

/* global options */
extern int show_stats;		/* -s, -s -s */
extern int json;		/* -j */
extern int pretty;		/* -p */
extern int preferred_family;	/* -4, -6: family of address-less selectors */

/* ------------------------------------------------------------ utils.c */

/* A parsed address or prefix. */
struct kaddr {
	int family;		/* AF_INET or AF_INET6 */
	int bytelen;		/* 4 or 16 */
	int bitlen;		/* prefix length, full length when absent */
	bool has_len;		/* "/N" was given */
	uint8_t data[16];
};

void __noreturn invarg(const char *msg, const char *arg);
void __noreturn missarg(const char *key);
void __noreturn duparg(const char *key, const char *arg);
void __noreturn unsupported(const char *key, const char *why);
void __noreturn incomplete(const char *key);
void __noreturn __printf(1, 2) usage_error(const char *fmt, ...);

/* ip's matches(): 0 when @cmd is a non-empty prefix of @pattern */
int matches(const char *cmd, const char *pattern);

/* strtoul base 0 (decimal, 0x hex, 0 octal), no sign, within range */
int get_u64(uint64_t *val, const char *arg);
int get_u32(uint32_t *val, const char *arg);
int get_u16(uint16_t *val, const char *arg);
int get_u8(uint8_t *val, const char *arg);

/* ADDR or ADDR/PLEN; -1 when invalid */
int get_prefix(struct kaddr *a, const char *arg);
const char *addr_str(int family, const void *data, char *buf, size_t len);
int af_bytelen(int family);

/* "0x" + hex, or a plain string used as bytes; returns length or -1 */
int get_keymat(uint8_t *buf, size_t max, const char *arg);

/* IP protocol names for selectors (tcp, udp, icmp, ...) */
int proto_getbyname(const char *name);		/* -1 unknown */
const char *proto_name(uint8_t proto, char *buf, size_t len);
/* IPsec protocol: esp, ah */
int xfrmproto_getbyname(const char *name);	/* -1 unknown */
const char *xfrmproto_name(uint8_t proto, char *buf, size_t len);

const char *mode_name(uint8_t mode);
int mode_parse(const char *arg);		/* exits on error */
const char *dir_name(uint8_t dir);
int dir_parse(const char *arg);			/* exits on error */
const char *family_name(int family);

/* argv walking, like iproute2's NEXT_ARG() */
#define NEXT_ARG() do {				\
	if (argc <= 1)				\
		incomplete(*argv);		\
	argv++; argc--;				\
} while (0)
#define NEXT_ARG_OK() (argc > 1)
#define PREV_ARG() do { argv--; argc++; } while (0)

/* --------------------------------------------------------- json_print.c */

enum output_type {
	PRINT_FP = 1,
	PRINT_JSON = 2,
	PRINT_ANY = PRINT_FP | PRINT_JSON,
};

void new_json_obj(void);		/* start of a command's output */
void delete_json_obj(void);		/* end: newline after JSON */
void open_json_object(const char *key);	/* key NULL in arrays / top */
void close_json_object(void);
void open_json_array(const char *key);
void close_json_array(void);
void print_string(enum output_type t, const char *key, const char *fmt,
		  const char *val);
void print_uint(enum output_type t, const char *key, const char *fmt,
		unsigned int val);
void print_u64(enum output_type t, const char *key, const char *fmt,
	       uint64_t val);
void print_bool(enum output_type t, const char *key, const char *fmt,
		bool val);
/* text only */
void __printf(1, 2) print_fp(const char *fmt, ...);
void print_nl(void);
bool is_json_context(void);
void json_reset(void);			/* batch: drop a partial document */

/* ------------------------------------------------------------- nl.c */

/* attribute table filled by nl_parse()/nl_parse_nested() */
#define NL_TB_MAX 64

struct nlmsghdr *nl_new(void *buf, uint8_t cmd, uint16_t flags);
/*
 * Send @nlh; call @cb for every reply message.  On a kernel error print
 * "Error: <extack>." and exit(EXIT_KERNEL) unless @soft, in which case
 * return the negative errno.
 */
int nl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data, bool soft);
/* NLM_F_DUMP request of @cmd with no attributes */
int nl_dump(uint8_t cmd, mnl_cb_t cb, void *data);
/* true when the genl family "kipsec" exists (module loaded) */
bool nl_family_present(void);
bool nl_dryrun(void);
int nl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb);
int nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb);

/* INFO_GET reply */
struct kinfo {
	char version[64];
	uint32_t caps;
	uint32_t replay_max;
	uint32_t sa_count;
	uint32_t policy_count;
};

int nl_info_get(struct kinfo *info, bool soft);

/* ------------------------------------------------------------- sel.c */

/* what the CLI knows about one selector */
struct ksel {
	bool set;		/* any selector keyword given */
	int family;
	uint8_t src[16], dst[16];
	uint8_t splen, dplen;
	bool has_src, has_dst;
	uint8_t proto;
	bool has_proto;
	uint16_t sport, dport;	/* host order; ICMP type/code */
	bool has_sport, has_dport;
};

/* parse SELECTOR; stops at the first word that is not a selector keyword */
void sel_parse(struct ksel *sel, int *argcp, char ***argvp);
/* fill defaults (family, zero prefixes) once parsing is done */
void sel_finish(struct ksel *sel, int default_family);
void sel_put(struct nlmsghdr *nlh, uint16_t type, const struct ksel *sel);
/* from a dumped nest; returns -1 when malformed */
int sel_get(const struct nlattr *nest, struct ksel *sel);
void sel_print(const struct ksel *sel, const char *json_key);
/* filter: only the fields set in @f count; prefixes match under f's len */
bool sel_match(const struct ksel *f, const struct ksel *s);

bool addr_match(const uint8_t *a, const uint8_t *b, int bits);

/* ip xfrm's ID: [ src ADDR ] [ dst ADDR ] [ proto XFRM-PROTO ] [ spi SPI ] */
struct kid {
	int family;
	uint8_t src[16], dst[16];
	uint8_t splen, dplen;		/* filters: match under these */
	bool has_src, has_dst;
	uint8_t proto;
	bool has_proto;
	uint32_t spi;			/* host order */
	bool has_spi;
};

/*
 * When *argv is an ID keyword, consume it and its value (argv left on the
 * value) and return true; otherwise return false and touch nothing.
 */
bool id_parse(struct kid *id, int *argcp, char ***argvp);
bool id_match(const struct kid *f, const struct kid *s);

/* one counter per enum kipsec_stat */
extern const char *const stat_names[__KIPSEC_STAT_MAX];
struct kstats {
	bool present;
	uint64_t v[__KIPSEC_STAT_MAX];
};

int stats_get(const struct nlattr *nest, struct kstats *st);
/* SA/policy: lifetime-current line plus drop reasons */
void stats_print_object(const struct kstats *st, const char *cur);
/* kipsec stats: one line per counter */
void stats_print_table(const struct kstats *st);

/* ------------------------------------------------------------- lft.c */

/* ip xfrm's "limit" keywords, in enum kipsec_lft_attr order */
#define N_LFT	8
extern const char *const lft_names[N_LFT];

void lft_parse(uint64_t v[N_LFT], int *argcp, char ***argvp);
void lft_put(struct nlmsghdr *nlh, uint16_t type, const uint64_t v[N_LFT]);
void lft_print(const uint64_t v[N_LFT]);
void lft_time_str(uint64_t t, char *buf, size_t len);

/* --------------------------------------------------- state.c, policy.c */

int do_state(int argc, char **argv);
int do_policy(int argc, char **argv);
/* events: print one SA / policy message; -1 when malformed */
int sa_event_print(const struct nlmsghdr *nlh, const char *ev,
		   const char *prefix, bool expire);
int acq_event_print(const struct nlmsghdr *nlh);	/* ACQUIRE event */
int mapping_event_print(const struct nlmsghdr *nlh);	/* MAPPING event */
int pol_event_print(const struct nlmsghdr *nlh, const char *ev,
		    const char *prefix, bool expire);
/* u64 attributes first..first+n-1 of @nest into @v; -1 when absent */
int u64_nest(const struct nlattr *nest, int first, uint64_t *v,
	     unsigned int n);

/* --------------------------------------------------------- monitor.c */

int do_monitor(int argc, char **argv);
/* join the "events" group and call @cb for each event, forever */
int nl_monitor(mnl_cb_t cb, void *data);
uint8_t nl_genl_cmd(const struct nlmsghdr *nlh);

#endif /* _KIPSEC_CLI_H */
