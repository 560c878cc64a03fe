// SPDX-License-Identifier: GPL-2.0
/*
 * kipsec CLI: one print call serves both outputs, in the spirit of
 * iproute2's print_*(PRINT_ANY, key, fmt, value): in text mode @fmt is
 * printed with the value, in JSON mode (-j) the value is emitted under
 * @key.  PRINT_FP items only appear in text, PRINT_JSON items only in JSON.
 *
 * The JSON writer keeps a small stack: one "first member" flag per
 * nesting level decides where commas go; -p adds newlines and a
 * four-space indent.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define JSON_DEPTH_MAX 16

static int depth;
static bool first[JSON_DEPTH_MAX + 1] = { true };
static bool emitted;

/* forget a half-printed document (a batch line that failed mid-way) */
void json_reset(void)
{
	depth = 0;
	memset(first, 0, sizeof(first));
	first[0] = true;
	emitted = false;
}

bool is_json_context(void)
{
	return json;
}

static void indent(void)
{
	int i;

	if (!pretty)
		return;
	putchar('\n');
	for (i = 0; i < depth; i++)
		fputs("    ", stdout);
}

static void json_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\b':
			fputs("\\b", stdout);
			break;
		case '\f':
			fputs("\\f", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		}
	}
	putchar('"');
}

/* separator and key before a member */
static void member(const char *key)
{
	if (!first[depth])
		putchar(',');
	if (depth > 0)
		indent();
	first[depth] = false;
	emitted = true;
	if (key) {
		json_escape(key);
		fputs(pretty ? ": " : ":", stdout);
	}
}

static void open_any(const char *key, char c)
{
	if (!json)
		return;
	member(key);
	putchar(c);
	if (depth < JSON_DEPTH_MAX)
		depth++;
	first[depth] = true;
}

static void close_any(char c)
{
	bool empty;

	if (!json)
		return;
	empty = first[depth];
	if (depth > 0)
		depth--;
	if (!empty)
		indent();
	putchar(c);
}

void open_json_object(const char *key)
{
	open_any(key, '{');
}

void close_json_object(void)
{
	close_any('}');
}

void open_json_array(const char *key)
{
	open_any(key, '[');
}

void close_json_array(void)
{
	close_any(']');
}

void new_json_obj(void)
{
	depth = 0;
	first[0] = true;
	emitted = false;
}

void delete_json_obj(void)
{
	if (json && emitted)
		putchar('\n');
	fflush(stdout);
}

static bool want_fp(enum output_type t)
{
	return !json && (t & PRINT_FP);
}

static bool want_json(enum output_type t)
{
	return json && (t & PRINT_JSON) && t != PRINT_FP;
}

void print_string(enum output_type t, const char *key, const char *fmt,
		  const char *val)
{
	if (want_json(t)) {
		member(key);
		json_escape(val);
	} else if (want_fp(t)) {
		printf(fmt ? fmt : "%s", val);
	}
}

void print_uint(enum output_type t, const char *key, const char *fmt,
		unsigned int val)
{
	if (want_json(t)) {
		member(key);
		printf("%u", val);
	} else if (want_fp(t)) {
		printf(fmt ? fmt : "%u", val);
	}
}

void print_u64(enum output_type t, const char *key, const char *fmt,
	       uint64_t val)
{
	if (want_json(t)) {
		member(key);
		printf("%" PRIu64, val);
	} else if (want_fp(t)) {
		printf(fmt ? fmt : "%" PRIu64, val);
	}
}

void print_bool(enum output_type t, const char *key, const char *fmt,
		bool val)
{
	if (want_json(t)) {
		member(key);
		fputs(val ? "true" : "false", stdout);
	} else if (want_fp(t)) {
		printf(fmt ? fmt : "%s", val ? "true" : "false");
	}
}

void print_fp(const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void print_nl(void)
{
	if (!json)
		putchar('\n');
}
