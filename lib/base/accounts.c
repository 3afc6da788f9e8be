// SPDX-License-Identifier: LGPL-2.1-or-later
/* Three-way merge of passwd-style account databases (lib/base/accounts.h). libc only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/accounts.h"

static const char *const dbs[] = {"passwd", "shadow", "group", "gshadow", "subuid", "subgid"};

int aim_accounts_is_db(const char *name)
{
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (!strcmp(name, dbs[i]))
			return 1;
	return 0;
}

struct lines {
	char **l;
	size_t n;
	char *buf;
};

static void lines_free(struct lines *v)
{
	free(v->l);
	free(v->buf);
}

/* Splits a copy of text into lines (no newline kept); NULL text: no lines. */
static int lines_split(const char *text, struct lines *v)
{
	size_t cap = 1;

	v->l = NULL;
	v->n = 0;
	v->buf = strdup(text ? text : "");
	if (!v->buf)
		return -ENOMEM;
	for (const char *c = v->buf; *c; c++)
		cap += *c == '\n';
	v->l = calloc(cap, sizeof(*v->l));
	if (!v->l)
		return -ENOMEM;
	for (char *s = v->buf, *e; *s; s = e + 1) {
		e = strchr(s, '\n');
		v->l[v->n++] = s;
		if (!e)
			break;
		*e = 0;
	}
	return 0;
}

/* The length of the key (the name before the first ':'); 0: not an entry. */
static size_t key_len(const char *line)
{
	const char *c = strchr(line, ':');

	return c && c != line && line[0] != '#' ? (size_t)(c - line) : 0;
}

static const char *find(const struct lines *v, const char *line)
{
	size_t k = key_len(line);

	for (size_t i = 0; k && i < v->n; i++)
		if (key_len(v->l[i]) == k && !strncmp(v->l[i], line, k))
			return v->l[i];
	return NULL;
}

/* Field i (0-based) of a colon line: start and length. */
static const char *field(const char *line, int i, size_t *len)
{
	for (; i > 0 && line; i--) {
		line = strchr(line, ':');
		if (line)
			line++;
	}
	if (!line) {
		*len = 0;
		return "";
	}
	*len = strcspn(line, ":");
	return line;
}

/* Is name (n bytes) in the comma list l (ll bytes)? */
static int in_list(const char *l, size_t ll, const char *name, size_t n)
{
	for (const char *e = l + ll; l < e;) {
		size_t k = strcspn(l, ",:");

		if (k > (size_t)(e - l))
			k = (size_t)(e - l);
		if (k == n && !strncmp(l, name, n))
			return 1;
		l += k + 1;
	}
	return 0;
}

struct out {
	char *buf;
	size_t len, cap;
	int err;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = (o->cap + n + 1) * 2;
		char *b = realloc(o->buf, cap);

		if (!b) {
			o->err = -ENOMEM;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = 0;
}

/* The member list field fi: theirs, less the names the owner removed from base, plus
 * those the owner added. */
static void merge_members(struct out *o, const char *b, const char *ours, const char *t, int fi)
{
	size_t bl, ol, tl;
	const char *bf = b ? field(b, fi, &bl) : "", *of = field(ours, fi, &ol);
	const char *tf = field(t, fi, &tl);
	int first = 1;

	if (!b)
		bl = 0;
	for (const char *s = tf, *e = tf + tl; s < e;) {
		size_t k = strcspn(s, ",:");

		if (k > (size_t)(e - s))
			k = (size_t)(e - s);
		if (k && !(in_list(bf, bl, s, k) && !in_list(of, ol, s, k))) {
			if (!first)
				put(o, ",", 1);
			put(o, s, k);
			first = 0;
		}
		s += k + 1;
	}
	for (const char *s = of, *e = of + ol; s < e;) {
		size_t k = strcspn(s, ",:");

		if (k > (size_t)(e - s))
			k = (size_t)(e - s);
		if (k && !in_list(bf, bl, s, k) && !in_list(tf, tl, s, k)) {
			if (!first)
				put(o, ",", 1);
			put(o, s, k);
			first = 0;
		}
		s += k + 1;
	}
}

/* Both sides changed the entry: the owner's fields, the member lists merged. */
static void put_both(struct out *o, const char *name, const char *b, const char *ours,
		     const char *t)
{
	int nf = 1, m1 = -1, m2 = -1;

	if (!strcmp(name, "group"))
		m1 = 3;
	else if (!strcmp(name, "gshadow"))
		m1 = 2, m2 = 3;
	for (const char *c = ours; *c; c++)
		nf += *c == ':';
	for (int i = 0; i < nf; i++) {
		size_t l;
		const char *f = field(ours, i, &l);

		if (i)
			put(o, ":", 1);
		if (i == m1 || i == m2)
			merge_members(o, b, ours, t, i);
		else
			put(o, f, l);
	}
	put(o, "\n", 1);
}

static void note(FILE *log, const char *name, const char *line, const char *what)
{
	if (log)
		fprintf(log, "merge /etc/%s: %.*s: %s\n", name, (int)key_len(line), line, what);
}

/* An id (field 2) of an entry the owner added that an entry the update added has too. */
static void check_ids(const char *name, const struct lines *b, const struct lines *t,
		      const char *line, FILE *log)
{
	size_t l, l2;
	const char *id = field(line, 2, &l);

	if (!log || (strcmp(name, "passwd") && strcmp(name, "group")) || !l)
		return;
	for (size_t i = 0; i < t->n; i++) {
		const char *id2 = field(t->l[i], 2, &l2);

		if (key_len(t->l[i]) && !find(b, t->l[i]) && l2 == l && !strncmp(id, id2, l))
			fprintf(log, "warning /etc/%s: id %.*s of %.*s (the owner's) is also "
				     "%.*s's (the update's)\n", name, (int)l, id,
				(int)key_len(line), line, (int)key_len(t->l[i]), t->l[i]);
	}
}

int aim_accounts_merge(const char *name, const char *base, const char *ours, const char *theirs,
		       char **ret, FILE *log)
{
	struct lines b = {0}, o = {0}, t = {0};
	struct out out = {0};
	int r;

	if ((r = lines_split(base, &b)) < 0 || (r = lines_split(ours, &o)) < 0 ||
	    (r = lines_split(theirs, &t)) < 0)
		goto done;
	put(&out, "", 0);
	for (size_t i = 0; i < t.n; i++) {
		const char *tl = t.l[i], *ol = find(&o, tl), *bl = find(&b, tl);

		if (!key_len(tl) || (!ol && !bl) || (ol && !strcmp(ol, tl)) ||
		    (ol && bl && !strcmp(ol, bl))) {
			/* the update's line: new, the same on both sides, or only it changed */
			put(&out, tl, strlen(tl));
			put(&out, "\n", 1);
		} else if (!ol) {
			note(log, name, tl, "removed by the owner: stays removed");
		} else if (bl && !strcmp(tl, bl)) {
			put(&out, ol, strlen(ol));
			put(&out, "\n", 1);
		} else {
			note(log, name, tl, "changed on both sides: the owner's entry kept"
					    " (member lists merged)");
			put_both(&out, name, bl, ol, tl);
		}
	}
	for (size_t i = 0; i < o.n; i++) {
		const char *ol = o.l[i], *bl = find(&b, ol);

		if (!key_len(ol) || find(&t, ol))
			continue;
		if (bl && !strcmp(bl, ol)) {
			note(log, name, ol, "removed by the update");
			continue;
		}
		if (bl)
			note(log, name, ol, "removed by the update but changed by the owner: kept");
		else
			check_ids(name, &b, &t, ol, log);
		put(&out, ol, strlen(ol));
		put(&out, "\n", 1);
	}
	r = out.err;
done:
	lines_free(&b);
	lines_free(&o);
	lines_free(&t);
	if (r < 0) {
		free(out.buf);
		return r;
	}
	*ret = out.buf;
	return 0;
}
