# SPDX-License-Identifier: LGPL-2.1-or-later
# The library's sources and its dependencies' flags, shared by the top Makefile and
# tests/fuzz/build.mk. Evaluated when make starts: on a fresh machine that is before
# tools/deps.sh has installed anything, which is why make check/demo build in a second make.
PKG_CONFIG ?= pkg-config
DEPS := libsquashfs1 ext2fs e2p com_err liblzma libzstd libcryptsetup mount blkid libsodium \
	libcrypto zlib libcurl
DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(DEPS) 2>/dev/null)
DEP_LIBS := $(shell $(PKG_CONFIG) --libs $(DEPS) 2>/dev/null) -lpthread
LIB_SRC := $(wildcard lib/*.c lib/util/*.c lib/base/*.c lib/sig/*.c)
