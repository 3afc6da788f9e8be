# SPDX-License-Identifier: LGPL-2.1-or-later
# The libFuzzer harnesses (run by tests/fuzz/run.sh, which sets B and CC): the library
# built once with ASan+UBSan and coverage into $(B)/libarmimmutable-fuzz.a, each
# tests/fuzz/fuzz-NAME.c linked against it as $(B)/fuzz-NAME. The sources and dependency
# flags are the top Makefile's (tools/deps.mk), warnings -Wall -Wextra.
B ?= build-fuzz
ifeq ($(origin CC),default)
CC := clang-14
endif
include tools/deps.mk
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -MMD -MP -Ilib \
	-DAIM_VERSION='"fuzz"' -DAIM_LIBEXECDIR='"/usr/libexec/armimmutable"' \
	-DAIM_HOOKSDIR='"/usr/share/armimmutable/hooks"' -Wall -Wextra -O1 -g $(SAN)

LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/%)

all: $(FUZZ_BIN)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(DEP_CFLAGS) -c -o $@ $<

$(B)/libarmimmutable-fuzz.a: $(LIB_OBJ)
	@rm -f $@ && ar rcs $@ $^

# fuzz-aimboot.c includes initramfs/aim-boot.c (its parsers are static).
$(B)/fuzz-aimboot: EXTRA := -DAIM_BOOT_FUZZ
$(B)/fuzz-aimboot: initramfs/aim-boot.c

$(B)/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(B)/libarmimmutable-fuzz.a
	@echo "  LD      $@"
	@$(CC) $(FUZZ_CFLAGS) $(EXTRA) -fsanitize=fuzzer $(DEP_CFLAGS) -o $@ $< \
		$(B)/libarmimmutable-fuzz.a $(DEP_LIBS)

-include $(LIB_OBJ:.o=.d) $(FUZZ_BIN:=.d)
.PHONY: all
