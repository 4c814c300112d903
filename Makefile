# sbir — top-level build. Plain make: every .c under src/ goes into the library, src/cli/ into the
# program, each tests/test_*.c becomes its own test binary.
#
#   make            build/sbir, build/libsbir.a, build/libsbir.so
#   make test       build and run the test suite (prints "N passed, N failed")
#   make SAN=1 test the same under ASan + UBSan, in build-san/
#   make demo       install dependencies (Debian), build, run `sbir demo`
#   make bench      the benchmarks of SPEC section 5

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
BUILD ?= build
OPT := -O3 -march=native -g
endif

CC ?= gcc
CXX ?= g++
PKGS := cairo libpng libcjson sqlite3 libmicrohttpd zlib libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# MPI is optional: with OpenMPI's development files (libopenmpi-dev) sbir can run under mpirun
# (data-parallel training, sharded search); without them it builds the same single-process program.
# MPI=0 forces a build without it.
MPI ?= $(shell pkg-config --exists ompi-c 2>/dev/null && echo 1 || echo 0)
ifeq ($(MPI),1)
PKG_CFLAGS += -DSBIR_WITH_MPI $(shell pkg-config --cflags ompi-c)
PKG_LIBS += $(shell pkg-config --libs ompi-c)
endif
CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -fopenmp -fPIC -MMD -MP $(OPT) -Iinclude -Isrc -Itests $(PKG_CFLAGS)
CXXFLAGS := -std=c++17 -Wall -Wextra -Werror -fopenmp -fPIC -MMD -MP $(OPT) -Iinclude -Isrc
LDLIBS := -ldnnl $(PKG_LIBS) -ljpeg -lfaiss -lopenblas -lstdc++ -lm -lpthread
LDFLAGS := -fopenmp $(if $(filter 1,$(SAN)),-fsanitize=address -fsanitize=undefined)

LIB_SRC := $(shell find src -name '*.c' ! -path 'src/cli/*' | sort)
LIB_CXX := $(shell find src -name '*.cc' | sort)
CLI_SRC := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_SUPPORT := $(sort $(wildcard tests/support/*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(LIB_CXX:%.cc=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT_OBJ := $(TEST_SUPPORT:%.c=$(BUILD)/obj/%.o)

.PHONY: all test test-only test-mpi demo bench clean deps
.SECONDARY:
all: $(BUILD)/sbir $(BUILD)/libsbir.a $(BUILD)/libsbir.so

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo '  CC   $<'
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	@echo '  CXX  $<'
	@$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/libsbir.a: $(LIB_OBJ)
	@rm -f $@
	@echo '  AR   $@'
	@ar rcs $@ $^

$(BUILD)/libsbir.so: $(LIB_OBJ)
	@echo '  LD   $@'
	@$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The web page's files are compiled into the binary (src/serve generates them); the CLI links the
# static library so the program runs from the build folder without LD_LIBRARY_PATH.
$(BUILD)/sbir: $(CLI_OBJ) $(BUILD)/libsbir.a
	@echo '  LD   $@'
	@$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libsbir.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_SUPPORT_OBJ) $(BUILD)/libsbir.a
	@mkdir -p $(dir $@)
	@echo '  LD   $@'
	@$(CC) $(CFLAGS) -o $@ $< $(TEST_SUPPORT_OBJ) $(BUILD)/libsbir.a $(LDFLAGS) $(LDLIBS)

test: deps
	@$(MAKE) --no-print-directory all $(TEST_BIN)
	@BUILD=$(BUILD) tests/run_tests.sh $(TEST_BIN)

test-only: all $(TEST_BIN)
	@BUILD=$(BUILD) tests/run_tests.sh $(TEST_BIN)

# MPI tests (tests/mpi/test_*.c): each runs under `mpirun -np 2` on loopback. Installs nothing;
# .ci/run installs OpenMPI first. See SCALING.md.
MPI_TEST_SRC := $(sort $(wildcard tests/mpi/test_*.c))
MPI_TEST_BIN := $(MPI_TEST_SRC:tests/mpi/%.c=$(BUILD)/tests/mpi/%)
$(BUILD)/tests/mpi/%: tests/mpi/%.c $(TEST_SUPPORT_OBJ) $(BUILD)/libsbir.a
	@mkdir -p $(dir $@)
	@echo '  LD   $@'
	@$(CC) $(CFLAGS) -Wno-format-zero-length -o $@ $< $(TEST_SUPPORT_OBJ) $(BUILD)/libsbir.a $(LDFLAGS) $(LDLIBS)

test-mpi:
	@if [ "$(MPI)" != 1 ]; then echo "make test-mpi: OpenMPI development files not found (apt-get install libopenmpi-dev openmpi-bin)"; exit 1; fi
	@$(MAKE) --no-print-directory all $(MPI_TEST_BIN)
	@BUILD=$(BUILD) tests/mpi/run_mpi_tests.sh $(MPI_TEST_BIN)

demo: deps
	$(MAKE) all
	$(BUILD)/sbir demo --out demo-out

bench: all
	$(BUILD)/sbir bench train-step --torch

deps:
	@scripts/install-deps.sh

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- fuzzing: make fuzz [FUZZ_SECONDS=10] — libFuzzer targets fuzz/fuzz_*.c (clang, ASan + UBSan) ----
# The library is rebuilt with clang and sanitizer coverage in build-fuzz-clang/; each target runs for
# FUZZ_SECONDS on its seeds (fuzz/corpus/<target>/ plus seeds generated from ../shared/data by
# fuzz/make_seeds.c); any crash, leak, timeout or memory blow-up fails the run. See RELIABILITY.md.
FUZZ_BUILD := build-fuzz-clang
FUZZ_SECONDS ?= 10
FUZZ_CC ?= clang
FUZZ_CXX ?= clang++
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unknown-warning-option -Wno-format-truncation -fopenmp -fPIC -MMD -MP -O1 -g -fno-omit-frame-pointer -Iinclude -Isrc -Itests $(PKG_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_CXXFLAGS := -std=c++17 -Wall -Wextra -Werror -fopenmp -fPIC -MMD -MP -O1 -g -fno-omit-frame-pointer -Iinclude -Isrc -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o) $(LIB_CXX:%.cc=$(FUZZ_BUILD)/obj/%.o)
FUZZ_TARGETS := $(basename $(notdir $(sort $(wildcard fuzz/fuzz_*.c))))
FUZZ_BIN := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz/%)
.PHONY: fuzz fuzz-build
$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo '  CC   $< (fuzz)'
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@
$(FUZZ_BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	@echo '  CXX  $< (fuzz)'
	@$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -c $< -o $@
$(FUZZ_BUILD)/libsbir.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^
$(FUZZ_BUILD)/fuzz/%: fuzz/%.c fuzz/fuzz_common.h $(FUZZ_BUILD)/libsbir.a
	@mkdir -p $(dir $@)
	@echo '  LD   $@'
	@$(FUZZ_CXX) -x c $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< -x none $(FUZZ_BUILD)/libsbir.a -fopenmp $(LDLIBS)
$(FUZZ_BUILD)/make_seeds: fuzz/make_seeds.c $(FUZZ_BUILD)/libsbir.a
	@echo '  LD   $@'
	@$(FUZZ_CXX) -x c $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -o $@ $< -x none $(FUZZ_BUILD)/libsbir.a -fopenmp $(LDLIBS)
fuzz-build: $(FUZZ_BIN) $(FUZZ_BUILD)/make_seeds
fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh $(FUZZ_TARGETS)
ifneq ($(filter fuzz fuzz-build,$(MAKECMDGOALS)),)
-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
endif

# ---- valgrind: make test-valgrind [VG_TESTS="test_a test_b"] [VG_JOBS=2] — the suite under memcheck ----
# A plain -O1 -g build in build-vg/ (no sanitizers: valgrind and ASan do not mix; GCC's
# maybe-uninitialized guesses differ at -O1 and are not errors here: valgrind checks the real thing),
# then tests/run_valgrind.sh runs every test, and every `sbir` a test starts, under memcheck; any
# error or definitely lost block fails. About 30 times slower than `make test` (RELIABILITY.md).
VG_BUILD := build-vg
VG_OPT := -O1 -g -fno-omit-frame-pointer -Wno-error=maybe-uninitialized
VG_TESTS ?= $(TEST_SRC:tests/%.c=%)
.PHONY: test-valgrind
test-valgrind:
	@command -v valgrind > /dev/null || { echo "make test-valgrind: valgrind not found (apt-get install valgrind)"; exit 1; }
	@$(MAKE) --no-print-directory BUILD=$(VG_BUILD) SAN=0 OPT='$(VG_OPT)' $(VG_BUILD)/sbir $(VG_BUILD)/libsbir.a $(VG_BUILD)/libsbir.so $(VG_TESTS:%=$(VG_BUILD)/tests/%)
	@BUILD=$(VG_BUILD) tests/run_valgrind.sh $(VG_TESTS:%=$(VG_BUILD)/tests/%)

# make install PREFIX=DIR: the library (static and shared), its header and pkg-config file, the program
# and its man page. Programs then build with: cc app.c $(pkg-config --cflags --libs sbir)
PREFIX ?= /usr/local
SBIR_VERSION := 0.1.0
.PHONY: install
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/sbir $(DESTDIR)$(PREFIX)/bin/sbir
	install -m 644 $(BUILD)/libsbir.a $(DESTDIR)$(PREFIX)/lib/libsbir.a
	install -m 755 $(BUILD)/libsbir.so $(DESTDIR)$(PREFIX)/lib/libsbir.so
	install -m 644 include/sbir.h $(DESTDIR)$(PREFIX)/include/sbir.h
	install -m 644 man/sbir.1 $(DESTDIR)$(PREFIX)/share/man/man1/sbir.1
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(SBIR_VERSION)|g' sbir.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/sbir.pc

# ---- the web page (sbir serve): web/* compiled into the program as src/serve/web_assets.c ----
# Generated by src/serve/embed_web.sh and committed, so a build needs nothing extra; remade here when
# a file in web/ changes (same input, same bytes). tests/test_serve.c checks it matches web/.
WEB_FILES := $(sort $(wildcard web/*))
src/serve/web_assets.c: $(WEB_FILES) src/serve/embed_web.sh
	@echo '  GEN  $@'
	@sh src/serve/embed_web.sh web > $@.tmp.$$$$ && mv -f $@.tmp.$$$$ $@
.PHONY: web-assets
web-assets: src/serve/web_assets.c
