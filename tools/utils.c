// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec CLI: argument parsing helpers and iproute2-style error messages.
 * Every parse error names the keyword or the argument at fault and exits
 * with EXIT_USAGE before anything reaches the kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli.h"

void invarg(const char *msg, const char *arg)
{
	fprintf(stderr, "Error: argument \"%s\" is wrong: %s\n", arg, msg);
	exit(EXIT_USAGE);
}

void missarg(const char *key)
{
	fprintf(stderr, "Error: missing \"%s\"\n", key);
	exit(EXIT_USAGE);
}

void duparg(const char *key, const char *arg)
{
	fprintf(stderr,
		"Error: duplicate \"%s\": \"%s\" is the second value.\n",
		key, arg);
	exit(EXIT_USAGE);
}

void unsupported(const char *key, const char *why)
{
	fprintf(stderr, "Error: \"%s\" %s.\n", key, why);
	exit(EXIT_USAGE);
}

void incomplete(const char *key)
{
	fprintf(stderr,
		"Error: \"%s\" needs a value. Command line is not complete. Try option \"help\"\n",
		key);
	exit(EXIT_USAGE);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

int matches(const char *cmd, const char *pattern)
{
	size_t len = strlen(cmd);

	if (!len || len > strlen(pattern))
		return -1;
	return memcmp(pattern, cmd, len);
}

int get_u64(uint64_t *val, const char *arg)
{
	unsigned long long res;
	char *end;

	if (!arg || !*arg || *arg == '-' || *arg == '+' || *arg == ' ')
		return -1;
	errno = 0;
	res = strtoull(arg, &end, 0);
	if (errno || *end)
		return -1;
	*val = res;
	return 0;
}

static int get_bounded(uint64_t *val, const char *arg, uint64_t max)
{
	if (get_u64(val, arg) || *val > max)
		return -1;
	return 0;
}

int get_u32(uint32_t *val, const char *arg)
{
	uint64_t v;

	if (get_bounded(&v, arg, UINT32_MAX))
		return -1;
	*val = v;
	return 0;
}

int get_u16(uint16_t *val, const char *arg)
{
	uint64_t v;

	if (get_bounded(&v, arg, UINT16_MAX))
		return -1;
	*val = v;
	return 0;
}

int get_u8(uint8_t *val, const char *arg)
{
	uint64_t v;

	if (get_bounded(&v, arg, UINT8_MAX))
		return -1;
	*val = v;
	return 0;
}

int af_bytelen(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

int get_prefix(struct kaddr *a, const char *arg)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;

	memset(a, 0, sizeof(*a));
	if (strlen(arg) >= sizeof(buf))
		return -1;
	strcpy(buf, arg);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';

	if (inet_pton(AF_INET, buf, a->data) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->data) == 1)
		a->family = AF_INET6;
	else
		return -1;
	a->bytelen = af_bytelen(a->family);
	a->bitlen = a->bytelen * 8;

	if (slash) {
		uint8_t plen;

		/* decimal only: "/024" is not a prefix length */
		if (!slash[1] || (slash[1] == '0' && slash[2]))
			return -1;
		if (get_u8(&plen, slash + 1) || plen > a->bytelen * 8 ||
		    strspn(slash + 1, "0123456789") != strlen(slash + 1))
			return -1;
		a->bitlen = plen;
		a->has_len = true;
	}
	return 0;
}

const char *addr_str(int family, const void *data, char *buf, size_t len)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, data, buf,
		       len))
		snprintf(buf, len, "???");
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int get_keymat(uint8_t *buf, size_t max, const char *arg)
{
	size_t slen = strlen(arg);

	if (slen > 2 && strncmp(arg, "0x", 2) == 0) {
		const char *p = arg + 2;
		size_t plen = slen - 2;
		size_t len = (plen + 1) / 2, i;
		/* an odd number of digits gets a leading zero, as ip does */
		long pos = -(long)(plen % 2);

		if (len > max)
			return -1;
		for (i = 0; i < len; i++, pos += 2) {
			int hi = pos >= 0 ? hexval(p[pos]) : 0;
			int lo = hexval(p[pos + 1]);

			if (hi < 0 || lo < 0)
				return -1;
			buf[i] = hi << 4 | lo;
		}
		return len;
	}
	/* "" is an empty key, as with ip (enc cipher_null "") */
	if (slen > max)
		return -1;
	memcpy(buf, arg, slen);
	return slen;
}

static const struct {
	const char *name;
	uint8_t proto;
} protos[] = {
	{ "icmp", IPPROTO_ICMP },
	{ "tcp", IPPROTO_TCP },
	{ "udp", IPPROTO_UDP },
	{ "ipv6-icmp", IPPROTO_ICMPV6 },
	{ "icmpv6", IPPROTO_ICMPV6 },
	{ "sctp", IPPROTO_SCTP },
	{ "dccp", IPPROTO_DCCP },
	{ "udplite", IPPROTO_UDPLITE },
	{ "gre", IPPROTO_GRE },
	{ "esp", IPPROTO_ESP },
	{ "ah", IPPROTO_AH },
	{ "ipip", IPPROTO_IPIP },
	{ "ipv6", IPPROTO_IPV6 },
	{ "ipv6-mh", 135 },
	{ "mh", 135 },
};

int proto_getbyname(const char *name)
{
	struct protoent *pe;
	unsigned int i;
	uint8_t v;

	for (i = 0; i < ARRAY_SIZE(protos); i++)
		if (strcmp(protos[i].name, name) == 0)
			return protos[i].proto;
	if (get_u8(&v, name) == 0)
		return v;
	pe = getprotobyname(name);
	if (pe)
		return pe->p_proto;
	return -1;
}

const char *proto_name(uint8_t proto, char *buf, size_t len)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(protos); i++)
		if (protos[i].proto == proto)
			return protos[i].name;
	snprintf(buf, len, "%u", proto);
	return buf;
}

int xfrmproto_getbyname(const char *name)
{
	if (strcmp(name, "esp") == 0)
		return IPPROTO_ESP;
	if (strcmp(name, "ah") == 0)
		return IPPROTO_AH;
	return -1;
}

const char *xfrmproto_name(uint8_t proto, char *buf, size_t len)
{
	if (proto == IPPROTO_ESP)
		return "esp";
	if (proto == IPPROTO_AH)
		return "ah";
	snprintf(buf, len, "%u", proto);
	return buf;
}

const char *mode_name(uint8_t mode)
{
	switch (mode) {
	case KIPSEC_MODE_TRANSPORT:
		return "transport";
	case KIPSEC_MODE_TUNNEL:
		return "tunnel";
	}
	return "unknown";
}

int mode_parse(const char *arg)
{
	if (matches(arg, "transport") == 0)
		return KIPSEC_MODE_TRANSPORT;
	if (matches(arg, "tunnel") == 0)
		return KIPSEC_MODE_TUNNEL;
	if (matches(arg, "beet") == 0 || matches(arg, "ro") == 0 ||
	    matches(arg, "in_trigger") == 0)
		invarg("MODE value is not supported by kipsec (transport | tunnel)",
		       arg);
	invarg("\"MODE\" is invalid", arg);
}

const char *dir_name(uint8_t dir)
{
	switch (dir) {
	case KIPSEC_DIR_IN:
		return "in";
	case KIPSEC_DIR_OUT:
		return "out";
	case KIPSEC_DIR_FWD:
		return "fwd";
	}
	return "unknown";
}

int dir_parse(const char *arg)
{
	if (strcmp(arg, "in") == 0)
		return KIPSEC_DIR_IN;
	if (strcmp(arg, "out") == 0)
		return KIPSEC_DIR_OUT;
	if (strcmp(arg, "fwd") == 0)
		return KIPSEC_DIR_FWD;
	invarg("DIR value is invalid", arg);
}

const char *family_name(int family)
{
	return family == AF_INET6 ? "inet6" : "inet";
}
