# SPDX-License-Identifier: LGPL-2.1-or-later
# armimmutable: one non-recursive GNU Makefile.
#   make              host CLI + device-side binaries (arm64, armhf, x86_64); the device
#                     build of the CLI for each arch whose static libraries are there
#   make device       fetch those (tools/sysroot.sh) and build every device binary
#   make check        unit + integration tests (TAP, under prove); T=name selects
#   make check-qemu   the QEMU boot tests (slow; needs tools/deps.sh --qemu)
#   make SANITIZE=1   ASan+UBSan build (objects under build-san/)
#   make demo         build, make the bootable sample, convert it, boot it
#   make fuzz         libFuzzer harnesses, FUZZ_TIME s each (make check replays the corpus)
#   make soak         update soak: SOAK_CYCLES cycles cut at random points (SEED= to replay)
#   make bench        conversion (vs loop-mount + mksquashfs), install (vs dd),
#                     compressed output (vs convert + xz/zstd -T0) and delta-update
#                     (bytes fetched per method, docs/delta.md) benchmarks
#   make deps         install the Debian packages (root)
#   make deb          build/deb/armimmutable_<version>_<arch>.deb (debian/), lintian
#   make check-deb    install that .deb into a clean bookworm chroot, convert there (root)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
CC ?= cc
CFLAGS ?= -O2 -g
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

ifeq ($(SANITIZE),1)
B ?= build-san
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS := -O1 -g
else
B ?= build
SAN :=
endif

WARN := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wwrite-strings -Wformat=2 -Wundef -Wvla -Wnull-dereference \
	-Wjump-misses-init -Wlogical-op -Wduplicated-cond -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN += -Werror
endif
AIM_CFLAGS := -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -MMD -MP -Ilib \
	-DAIM_VERSION='"$(VERSION)"' -DAIM_LIBEXECDIR='"$(LIBEXECDIR)/armimmutable"' \
	-DAIM_HOOKSDIR='"$(DATADIR)/armimmutable/hooks"' $(WARN) $(SAN)

include tools/deps.mk

Q := @
ifeq ($(V),1)
Q :=
endif

LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
CLI_SRC := $(wildcard tools/armimmutable/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(B)/%.o)
UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
# Helpers of the QEMU tests, built like the unit tests (sanitized under SANITIZE=1).
QEMU_HELPERS := $(B)/tests/aim-mkscr $(B)/tests/aim-mkgrub
# Helpers of the integration tests, likewise.
INTEG_HELPERS := $(B)/tests/aim-carry

# Device side: static, one per architecture: libc, lib/base and lib/sig (minisign
# verification of slot.env, so libsodium.a: the host's for x86_64, the sysroot's of
# tools/sysroot.sh for arm64/armhf). Without it the build stops with a clear message:
# an aim-boot that cannot check signatures is never built.
DEV_ARCHES := arm64 armhf x86_64
CROSS_arm64 := aarch64-linux-gnu-
CROSS_armhf := arm-linux-gnueabihf-
CROSS_x86_64 :=
DEV_SRC := $(wildcard initramfs/*.c)
DEV_LIB_SRC := $(wildcard lib/base/*.c lib/sig/*.c)
DEV_BINS := $(foreach a,$(DEV_ARCHES),$(patsubst initramfs/%.c,$(B)/dev/$(a)/%,$(DEV_SRC)))

# Device build of the CLI: $(B)/dev/<arch>/armimmutable, static, so that it runs on any
# Armbian (Debian or Ubuntu, any glibc); convert installs it as /usr/sbin/armimmutable. The
# device verbs only (-DAIM_DEVICE_BUILD: no convert/inspect, 'bundle create --from-image'
# refuses), no libmount (Debian ships no libmount.a: AIM_WITH_LIBMOUNT=0 calls mount(2)).
# Links libsodium.a and libcrypto.a: the host's for x86_64, for arm64/armhf those
# tools/sysroot.sh unpacks from Debian's -dev packages into $(SYSROOT_CACHE)/sysroot-<arch>
# (as root) or $(B)/sysroot-<arch>. http(s): Debian's libcurl.a cannot be linked statically,
# so tools/curl-static.sh builds a minimal one (HTTP/HTTPS over OpenSSL) from Debian's curl
# source package into the same sysroot (x86_64: sysroot-x86_64, curl only); an arch whose
# libcurl.a is there is built with AIM_WITH_CURL=1 and links libcurl.a, libssl.a and
# libcrypto.a, else with AIM_WITH_CURL=0 (http(s) refused, libcrypto.a only for SHA-256).
# 'make' builds an arch only when its libraries are there (a sysroot without libcrypto.a,
# from before it was added, counts as none); 'make device' fetches them and builds curl.
SYSROOT_CACHE ?= /var/cache/armimmutable
DEVCLI_ARCHES := arm64 armhf x86_64
TRIPLET_arm64 := aarch64-linux-gnu
TRIPLET_armhf := arm-linux-gnueabihf
TRIPLET_x86_64 := x86_64-linux-gnu
DEVCLI_SRC := $(filter-out tools/armimmutable/cmd-convert.c tools/armimmutable/cmd-inspect.c, \
	$(CLI_SRC)) \
	$(addprefix lib/,sign.c bundle.c bundle-manifest.c install.c target.c target-image.c \
	target-device.c target-disk.c slotenv.c slotenv-write.c mtools.c source.c source-range.c \
	fat.c bootscript.c extlinux.c rpi.c delta.c delta-index.c delta-tree.c) \
	$(wildcard lib/util/*.c lib/base/*.c lib/sig/*.c)
DEVCLI_CFLAGS := -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -MMD -MP -Ilib \
	-DAIM_VERSION='"$(VERSION)"' -DAIM_LIBEXECDIR='"$(LIBEXECDIR)/armimmutable"' \
	-DAIM_HOOKSDIR='"$(DATADIR)/armimmutable/hooks"' -DAIM_DEVICE_BUILD \
	-DAIM_WITH_LIBMOUNT=0 $(WARN) -Os -ffunction-sections -fdata-sections
# armhf: a 64-bit time_t (glibc 2.34+), so that 'installed=' and the like survive 2038.
DEVCLI_CFLAGS_armhf := -D_TIME_BITS=64
# The sysroot of an arch ("" when there is none yet); x86_64 uses the host's libraries.
devcli_sysroot = $(firstword $(foreach d,$(SYSROOT_CACHE)/sysroot-$(1) $(B)/sysroot-$(1), \
	$(if $(wildcard $(d)/.done),$(if $(wildcard $(d)/usr/lib/$(TRIPLET_$(1))/libcrypto.a),$(d)))))
devcli_have = $(strip $(if $(filter x86_64,$(1)), \
	$(and $(wildcard /usr/lib/x86_64-linux-gnu/libsodium.a), \
	$(wildcard /usr/lib/x86_64-linux-gnu/libcrypto.a)),$(call devcli_sysroot,$(1))))
devcli_flags = $(if $(filter x86_64,$(1)),,-I$(call devcli_sysroot,$(1))/usr/include \
	-I$(call devcli_sysroot,$(1))/usr/include/$(TRIPLET_$(1)))
devcli_libdir = $(if $(filter x86_64,$(1)),,-L$(call devcli_sysroot,$(1))/usr/lib/$(TRIPLET_$(1)))
# The directory holding the static libcurl of tools/curl-static.sh ("" when there is none).
devcli_curl = $(firstword $(foreach d,$(if $(filter x86_64,$(1)),$(SYSROOT_CACHE)/sysroot-x86_64 \
	$(B)/sysroot-x86_64,$(call devcli_sysroot,$(1))),$(if $(wildcard $(d)/.curl-done), \
	$(if $(wildcard $(d)/usr/lib/$(TRIPLET_$(1))/libcurl.a),$(d)))))
devcli_curl_flags = $(if $(call devcli_curl,$(1)),-DAIM_WITH_CURL=1 \
	-I$(call devcli_curl,$(1))/usr/include,-DAIM_WITH_CURL=0)
devcli_curl_libs = $(if $(call devcli_curl,$(1)),$(call devcli_curl,$(1))/usr/lib/$(TRIPLET_$(1))/libcurl.a \
	-l:libssl.a)
DEVCLI_BINS := $(foreach a,$(DEVCLI_ARCHES), \
	$(if $(call devcli_have,$(a)),$(B)/dev/$(a)/armimmutable))

all: have-deps $(B)/armimmutable $(DEV_BINS) $(DEVCLI_BINS)

# A plain 'make' on a machine without the -dev packages: one clear line, not a missing header.
have-deps:
	@$(PKG_CONFIG) --exists $(DEPS) 2>/dev/null || { echo "make: the build needs Debian \
packages that are missing: run 'make deps' (as root) first, or 'make demo'/'make check', \
which install them" >&2; exit 1; }

$(B)/%.o: %.c | have-deps
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) $(AIM_CFLAGS) $(DEP_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/libarmimmutable.a: $(LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/armimmutable: $(CLI_OBJ) $(B)/libarmimmutable.a
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(SAN) $(LDFLAGS) -o $@ $^ $(DEP_LIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libarmimmutable.a tests/tap.h
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) $(AIM_CFLAGS) -Itests $(DEP_CFLAGS) $(CFLAGS) -o $@ $< $(B)/libarmimmutable.a $(DEP_LIBS)

$(B)/tests/aim-mkscr: tests/qemu/aim-mkscr.c $(B)/libarmimmutable.a
$(B)/tests/aim-mkgrub: tests/qemu/aim-mkgrub.c $(B)/libarmimmutable.a
$(B)/tests/aim-carry: tests/integ/aim-carry.c $(B)/libarmimmutable.a
$(QEMU_HELPERS) $(INTEG_HELPERS):
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) $(AIM_CFLAGS) $(DEP_CFLAGS) $(CFLAGS) -o $@ $< $(B)/libarmimmutable.a $(DEP_LIBS)

# The libsodium.a aim-boot links for an arch ("" when there is none).
dev_sodium = $(strip $(if $(filter x86_64,$(1)),$(wildcard /usr/lib/x86_64-linux-gnu/libsodium.a), \
	$(firstword $(foreach d,$(SYSROOT_CACHE)/sysroot-$(1) $(B)/sysroot-$(1), \
	$(wildcard $(d)/usr/lib/$(TRIPLET_$(1))/libsodium.a)))))
dev_sodium_inc = $(if $(filter x86_64,$(1)),,$(foreach d,$(patsubst \
	%/usr/lib/$(TRIPLET_$(1))/libsodium.a,%,$(call dev_sodium,$(1))), \
	-I$(d)/usr/include -I$(d)/usr/include/$(TRIPLET_$(1))))
define dev_rules
$(B)/dev/$(1)/%: initramfs/%.c $(DEV_LIB_SRC) $(wildcard lib/base/*.h lib/sig/*.h)
	@mkdir -p $$(dir $$@)
	@[ -n "$(call dev_sodium,$(1))" ] || { echo "make: $$@ needs libsodium.a for $(1) (it \
verifies slot.env signatures): run 'make device' or 'sh tools/sysroot.sh $(1)' (x86_64: \
apt-get install libsodium-dev)" >&2; exit 1; }
	@[ -n "$(Q)" ] && echo "  CC      $$@" || true
	$(Q)$(CROSS_$(1))gcc -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Ilib $(WARN) \
		$(call dev_sodium_inc,$(1)) -Os -static -o $$@ $$< $(DEV_LIB_SRC) \
		$(call dev_sodium,$(1))
endef
$(foreach a,$(DEV_ARCHES),$(eval $(call dev_rules,$(a))))

define devcli_rules
# The objects depend on the curl marker: a libcurl built later recompiles them with it.
$(B)/dev/$(1)/obj/%.o: %.c $(wildcard $(call devcli_curl,$(1))/.curl-done)
	@mkdir -p $$(dir $$@)
	@[ -n "$(Q)" ] && echo "  CC      $$@" || true
	$(Q)$(CROSS_$(1))gcc $(DEVCLI_CFLAGS) $(DEVCLI_CFLAGS_$(1)) $(call devcli_curl_flags,$(1)) \
		$(call devcli_flags,$(1)) -c -o $$@ $$<

$(B)/dev/$(1)/armimmutable: $(DEVCLI_SRC:%.c=$(B)/dev/$(1)/obj/%.o)
	@[ -n "$(Q)" ] && echo "  LD      $$@" || true
	$(Q)$(CROSS_$(1))gcc -static -s -Wl,--gc-sections -o $$@ $$(filter %.o,$$^) \
		$(call devcli_libdir,$(1)) $(call devcli_curl_libs,$(1)) -l:libsodium.a -l:libcrypto.a
endef
$(foreach a,$(DEVCLI_ARCHES),$(eval $(call devcli_rules,$(a))))

device:
	$(Q)for a in $(filter-out x86_64,$(DEVCLI_ARCHES)); do \
		B=$(B) SYSROOT_CACHE=$(SYSROOT_CACHE) sh tools/sysroot.sh $$a || exit 1; done
	$(Q)B=$(B) SYSROOT_CACHE=$(SYSROOT_CACHE) sh tools/curl-static.sh --all
	$(Q)$(MAKE) --no-print-directory B=$(B) device-bins
	$(Q)for a in $(DEVCLI_ARCHES); do ls -l $(B)/dev/$$a/armimmutable || exit 1; done

device-bins: $(DEV_BINS) $(DEVCLI_BINS)

# timed_build: the binaries and unit tests in a new make (see below), in parallel unless
# -j was given, and a timing line.
NPROC := $(shell nproc 2>/dev/null || echo 2)
define timed_build
t0=$$(date +%s); $(MAKE) --no-print-directory B=$(B) \
	$(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC)) all $(UNIT_BIN) $(QEMU_HELPERS) $(INTEG_HELPERS) && \
	echo "timing: build ($(B)) $$(( $$(date +%s) - t0 )) s"
endef

# make check and make demo work as the very first command on a fresh machine: they install
# the packages first (check-deps/deps-qemu), then run the rest in a new make, whose
# $(shell pkg-config ...) above sees the just-installed libraries (this make evaluated it
# before any package was there). The new make also sees the sysroots check-deps may have
# just fetched, so it builds the device CLIs for them.
check: check-deps
	$(Q)$(call timed_build)
	$(Q)B=$(B) AIM_QEMU=1 tests/run $(T)

# The fast part only (no QEMU): what the sanitizer build runs.
check-fast: deps
	$(Q)$(call timed_build)
	$(Q)B=$(B) tests/run $(T)

check-qemu: check-deps
	$(Q)$(call timed_build)
	$(Q)B=$(B) AIM_QEMU=1 AIM_QEMU_ONLY=1 tests/run $(T)

# QEMU tests that are written but not yet reliable (tests/qemu/x-*.sh).
check-qemu-extra: check-deps
	$(Q)$(MAKE) --no-print-directory B=$(B) all
	$(Q)B=$(B) AIM_QEMU_EXTRA=1 tests/run x- $(T)

check-deps:
	$(Q)if [ "$$(id -u)" = 0 ]; then sh tools/deps.sh --qemu; else sh tools/deps.sh; fi

demo: deps-qemu
	$(Q)$(call timed_build)
	$(Q)B=$(B) tests/demo.sh

bench: check-deps
	$(Q)if [ "$$(id -u)" = 0 ]; then sh tools/deps.sh --qemu --bench; fi
	$(Q)$(MAKE) --no-print-directory B=$(B) all
	$(Q)B=$(B) bench/convert.sh
	$(Q)B=$(B) bench/install.sh
	$(Q)B=$(B) bench/boot.sh
	$(Q)B=$(B) bench/boot-shapes.sh
	$(Q)B=$(B) bench/compress.sh
	$(Q)B=$(B) bench/delta.sh
	$(Q)B=$(B) bench/delta-install.sh

# Fuzzing (tests/fuzz/README.md) and the update soak (docs/soak.md), longer than make check.
FUZZ_TIME ?= 120
fuzz: deps
	$(Q)B=build-fuzz tests/fuzz/run.sh --time $(FUZZ_TIME)

SOAK_CYCLES ?= 300
soak: deps
	$(Q)$(call timed_build)
	$(Q)B=$(B) tests/soak/soak.sh --cycles $(SOAK_CYCLES) $(if $(SEED),--seed $(SEED))

deps:
	sh tools/deps.sh

deps-qemu:
	sh tools/deps.sh --qemu

# A host install never hooks the host's own boot: the initramfs-tools hook and script and
# the systemd units go to a private directory ($(DATADIR)/armimmutable/hooks), from which
# convert copies them into the images it writes (AIM_HOOKSDIR; docs/install.md). Nothing
# goes under /usr/share/initramfs-tools, /etc or a systemd directory of the host.
HOOK_FILES := initramfs-tools/hooks/armimmutable initramfs-tools/scripts/local-bottom/armimmutable \
	$(patsubst hooks/%,%,$(wildcard hooks/systemd/*.service))
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
install: all
	install -D -m 0755 $(B)/armimmutable $(DESTDIR)$(BINDIR)/armimmutable
	install -D -m 0644 docs/armimmutable.1 $(DESTDIR)$(MANDIR)/man1/armimmutable.1
	install -D -m 0644 tools/completion/armimmutable.bash $(DESTDIR)$(BASHCOMPDIR)/armimmutable
	for a in $(DEV_ARCHES); do for f in $(sort $(notdir $(DEV_BINS))); do \
		install -D -m 0755 $(B)/dev/$$a/$$f $(DESTDIR)$(LIBEXECDIR)/armimmutable/$$a/$$f; done; done
	for f in $(DEVCLI_BINS); do a=$${f%/*}; a=$${a##*/}; \
		install -D -m 0755 $$f $(DESTDIR)$(LIBEXECDIR)/armimmutable/$$a/armimmutable; done
	for f in $(HOOK_FILES); do case $$f in *.service) m=0644 ;; *) m=0755 ;; esac; \
		install -D -m $$m hooks/$$f $(DESTDIR)$(DATADIR)/armimmutable/hooks/$$f || exit 1; done
	install -D -m 0644 extensions/armimmutable.sh $(DESTDIR)$(DATADIR)/armimmutable/armbian/armimmutable.sh

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/armimmutable $(DESTDIR)$(MANDIR)/man1/armimmutable.1 \
		$(DESTDIR)$(BASHCOMPDIR)/armimmutable
	rm -rf $(DESTDIR)$(LIBEXECDIR)/armimmutable $(DESTDIR)$(DATADIR)/armimmutable
	@# What installs before issue 15 put into the host's initramfs-tools (it broke
	@# update-initramfs there): taken away when it is still there.
	rm -f $(DESTDIR)/usr/share/initramfs-tools/hooks/armimmutable \
		$(DESTDIR)/usr/share/initramfs-tools/scripts/local-bottom/armimmutable

# The Debian package (docs/packaging.md): debhelper on the plain build directory 'build'
# (never the sanitized one), so that a built tree packages in seconds; the packages and
# sysroots first, as make check does (tools/deps.sh --deb), then debian/rules in a new
# make, which sees them. lintian runs on the result: errors fail, warnings are shown.
DEB_OUT := build/deb
deb:
	$(Q)sh tools/deps.sh --deb
	$(Q)dpkg-checkbuilddeps
	$(Q)mkdir -p $(DEB_OUT) && rm -f $(DEB_OUT)/*.deb
	$(Q)t0=$$(date +%s); AIM_B=build DEB_DESTDIR=$(abspath $(DEB_OUT)) \
		$(MAKE) --no-print-directory -f debian/rules binary $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC)) && \
		echo "timing: deb $$(( $$(date +%s) - t0 )) s"
	$(Q)ls -l $(DEB_OUT)/*.deb
	$(Q)lintian --fail-on error --info $(DEB_OUT)/armimmutable_*.deb

check-deb: deb
	$(Q)B=build tests/run t0142

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(wildcard lib/*.h lib/base/*.h lib/util/*.h tools/armimmutable/*.h)

clean:
	rm -rf build build-san build-fuzz build-deb debian/.debhelper debian/armimmutable \
		debian/armimmutable.substvars debian/debhelper-build-stamp debian/files

.PHONY: all have-deps device device-bins check check-fast check-deps check-qemu \
	check-qemu-extra demo bench fuzz soak deps deps-qemu install uninstall deb check-deb \
	format clean
.SECONDARY:
-include $(shell find $(B) -name '*.d' 2>/dev/null)
