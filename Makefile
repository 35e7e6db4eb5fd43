# kvmarm-bot - build, test, fuzz and benchmark.
#
#   make            ./kvmarm-bot (optimised, warnings are errors)
#   make test       ASan+UBSan build of everything, then tests/run
#   make fuzz       libFuzzer targets under build/fuzz/ (needs clang)
#   make bench      benchmarks (scripts/bench), numbers only, no targets
#
# Every bot/*.c except main.c goes into a static library that the
# program, the tests and the fuzz targets share; a new module needs no
# change here.

CC	?= cc
PKGS	 = libcurl json-c openssl zlib lmdb
PKG_CFLAGS := $(shell pkg-config --cflags libetpan $(PKGS))
# libetpan's .pc adds dpkg's no-PIE link specs and its static deps; the
# shared library needs neither.
PKG_LIBS   := -letpan $(shell pkg-config --libs $(PKGS))

WARN	 = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-unused-parameter
CFLAGS	?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude $(PKG_CFLAGS) $(CFLAGS)

SAN	 = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
TEST_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -Itests $(PKG_CFLAGS) \
	   -O1 -g $(SAN)

SRCS	 := $(filter-out bot/main.c,$(wildcard bot/*.c))
HDRS	 := $(wildcard include/*.h)
OBJS	 := $(SRCS:bot/%.c=build/rel/%.o)
TOBJS	 := $(SRCS:bot/%.c=build/asan/%.o)
TESTS	 := $(wildcard tests/test_*.c)
TSUPPORT := tests/testutil.c tests/e2eutil.c
FUZZERS  := $(wildcard tests/fuzz/fuzz_*.c)

all: kvmarm-bot

kvmarm-bot: build/rel/main.o build/rel/libbot.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(PKG_LIBS)

build/rel/%.o: bot/%.c $(HDRS) | build/rel
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/rel/libbot.a: $(OBJS)
	rm -f $@ && ar rcs $@ $^

# --- tests (sanitizers on) -------------------------------------------

build/asan/%.o: bot/%.c $(HDRS) | build/asan
	$(CC) $(TEST_CFLAGS) -c -o $@ $<

build/asan/libbot.a: $(TOBJS)
	rm -f $@ && ar rcs $@ $^

build/asan/kvmarm-bot: build/asan/main.o build/asan/libbot.a
	$(CC) $(TEST_CFLAGS) -o $@ $^ $(PKG_LIBS)

# One cmocka group for the whole suite, so the last line of a run is the
# framework's own verdict on everything.  Each tests/test_X.c defines
# X_tests[] and X_tests_count; the list is generated from the file names.
build/asan/suites.h: $(TESTS) | build/asan
	for t in $(TESTS); do n=$${t#tests/test_}; echo "SUITE($${n%.c})"; done > $@.tmp
	mv $@.tmp $@

build/asan/unit-tests: $(TESTS) $(TSUPPORT) tests/runner.c tests/testutil.h \
		build/asan/suites.h build/asan/libbot.a $(FUZZERS) tests/e2eutil.h
	$(CC) $(TEST_CFLAGS) -Ibuild/asan -o $@ tests/runner.c $(TSUPPORT) \
		$(TESTS) build/asan/libbot.a $(PKG_LIBS) -lcmocka

# The fuzz targets double as corpus replayers in the test suite.
build/asan/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c build/asan/libbot.a
	$(CC) $(TEST_CFLAGS) -o $@ $< tests/fuzz/replay.c build/asan/libbot.a $(PKG_LIBS)

# kvmarm-bot too: the kill -9 test drives the fast release binary.
test: kvmarm-bot build/asan/kvmarm-bot build/asan/unit-tests \
		$(FUZZERS:tests/fuzz/%.c=build/asan/%)
	bash tests/run

# --- fuzzing (clang + libFuzzer) -------------------------------------

FUZZ_CC ?= clang
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(SRCS) $(HDRS) | build/fuzz
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Iinclude $(PKG_CFLAGS) -g -O1 \
		-fsanitize=fuzzer,address,undefined -o $@ $< $(SRCS) $(PKG_LIBS)

fuzz: $(FUZZERS:tests/fuzz/%.c=build/fuzz/%)

bench: kvmarm-bot
	bash scripts/bench

build/rel build/asan build/fuzz:
	mkdir -p $@

clean:
	rm -rf build kvmarm-bot

.PHONY: all test fuzz bench clean
.DELETE_ON_ERROR:
