// SPDX-License-Identifier: LGPL-2.1-or-later
/* Test helper: aim-mkscr BODY.cmd OUT.scr [no-count]: the A/B boot script generated from
 * BODY by aim_bootscript_generate(), compiled by aim_bootscript_compile(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootscript.h"
#include "base/log.h"

int main(int argc, char **argv)
{
	struct aim_bootscript_opts o = {0};
	char body[65536], *text = NULL;
	uint8_t *scr = NULL;
	size_t n, len;
	FILE *f;

	if (argc < 3 || !(f = fopen(argv[1], "r")))
		return 2;
	n = fread(body, 1, sizeof(body) - 1, f);
	fclose(f);
	body[n] = 0;
	o.no_count = argc > 3 && !strcmp(argv[3], "no-count");
	if (aim_bootscript_generate(body, &o, &text) < 0 ||
	    aim_bootscript_compile(text, strlen(text), 0, NULL, &scr, &len) < 0) {
		fprintf(stderr, "aim-mkscr: %s\n", aim_error_detail());
		return 1;
	}
	if (!(f = fopen(argv[2], "wb")) || fwrite(scr, 1, len, f) != len || fclose(f))
		return 1;
	free(text);
	free(scr);
	return 0;
}
