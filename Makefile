# hdp — one binary, built with plain make.
#   make            build/hdp (release, -O2)
#   make asan       build/asan/hdp with AddressSanitizer + UBSan
#   make test       deps, build, unit tests (release + asan), integration tests
#   make demo       deps, build, local stack with a live order stream
#   make bench      every benchmark side by side, one report with a goal table and perf
#                   profiles: bench/results/report-<date>.md/.json (bench/report.py;
#                   REPORT_ARGS, and BENCH_ARGS / LAKE_BENCH_ARGS / VAULT_BENCH_ARGS /
#                   MARTS_BENCH_ARGS / WAL_BENCH_ARGS are passed on to bench/run.py,
#                   lake_compact.py, vault_load.py, marts_merge.py, walsender_cost.py)
#   make bench-quick  the same with small sizes (< 3 min): report-<date>-quick.md
#   make lint       cppcheck + clang-format check
#   make fuzz       each libFuzzer target for FUZZ_SECONDS (default 60) on its corpus
#   make fuzz-smoke the same for 20 s each (CI)
#   make deps       install missing Debian packages, the test virtualenv and node_modules/

.DEFAULT_GOAL := all
CC      ?= cc
PKGS    := libpq hiredis jansson libcrypto libcurl libzstd libxxhash
CSTD    := -std=c17 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
INCS    := -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lsnappy -lpthread -lm
OPT     ?= -O2 -g
CFLAGS  += $(CSTD) $(WARN) $(OPT) $(INCS) -MMD -MP

SRC      := $(shell find src -name '*.c' | sort)
LIB_SRC  := $(filter-out src/hdp.c,$(SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
EMBED    := $(sort $(wildcard sql/postgres/*.sql sql/clickhouse/*.sql web/*.html web/*.css web/*.js web/*.json))

# The portal's browser libraries, from npm (package.json, package-lock.json; `make deps` runs
# npm ci). Compiled in as assets/<name>, served at /assets/<name>.
VENDOR   := node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css \
            node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css

# Files compiled into the binary (DDL, portal, its libraries); regenerated when any changes.
build/gen/embedded.c: $(EMBED) $(VENDOR) scripts/embed.sh
	@mkdir -p $(@D)
	@scripts/embed.sh $@ $(EMBED) $(foreach f,$(VENDOR),assets/$(notdir $(f))=$(f))

node_modules/%:
	@echo "$@ is missing: run 'make deps' (npm ci installs the portal's libraries)" >&2; exit 1

# Build flavours share the source list; each gets its own object folder (and may name its
# own compiler as the 4th argument).
define flavour
$(1)_CC   := $(or $(4),$$(CC))
$(1)_OBJ  := $$(LIB_SRC:%.c=$(2)/obj/%.o) $(2)/obj/embedded.o
$(1)_TEST := $$(UNIT_SRC:tests/unit/%.c=$(2)/tests/%)
$(2)/obj/%.o: %.c
	@mkdir -p $$(@D)
	$$($(1)_CC) $$(CFLAGS) $(3) -c $$< -o $$@
$(2)/obj/embedded.o: build/gen/embedded.c
	@mkdir -p $$(@D)
	$$($(1)_CC) $$(CFLAGS) $(3) -c $$< -o $$@
$(2)/libhdp.a: $$($(1)_OBJ)
	@rm -f $$@
	ar rcs $$@ $$^
$(2)/hdp: $(2)/obj/src/hdp.o $(2)/libhdp.a
	$$($(1)_CC) $(3) $$^ -o $$@ $$(LIBS)
$(2)/tests/%: tests/unit/%.c $(2)/libhdp.a tests/unit/unit.h
	@mkdir -p $$(@D)
	$$($(1)_CC) $$(CFLAGS) $(3) -Itests/unit $$< $(2)/libhdp.a -o $$@ $$(LIBS) $$(shell pkg-config --libs cmocka)
-include $$($(1)_OBJ:.o=.d) $(2)/obj/src/hdp.d
endef

SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
$(eval $(call flavour,REL,build,))
$(eval $(call flavour,ASAN,build/asan,$(SAN)))
# The library again with libFuzzer's coverage hooks, for tests/fuzz/ (clang only; clang's
# -Wstring-concatenation flags the multi-line SQL literals of tables of statements).
FUZZ_CC  ?= clang
FUZZ_SAN := $(SAN) -Wno-string-concatenation
$(eval $(call flavour,FUZZ,build/fuzz,$(FUZZ_SAN) -fsanitize=fuzzer-no-link,$(FUZZ_CC)))

# Fuzzing: one libFuzzer target per parser of outside bytes (tests/fuzz/fuzz_<name>.c), each
# with a committed seed corpus tests/fuzz/corpus/<name>/. The same target linked with a
# plain main() (tests/fuzz/replay.c) against the ASan library replays that corpus as a unit
# test. `make fuzz` writes new inputs to build/fuzz/work/<name>/ and crashes to
# build/fuzz/crash/, never into the committed corpus.
FUZZ_NAMES   := $(sort $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BIN     := $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
FUZZ_REPLAY  := $(FUZZ_NAMES:%=build/asan/fuzz/replay_%)
FUZZ_SECONDS ?= 60
FUZZ_ARGS    ?=
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build/fuzz/libhdp.a
	$(FUZZ_CC) $(CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -Itests/fuzz $< build/fuzz/libhdp.a -o $@ $(LIBS)
build/asan/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h build/asan/libhdp.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -Itests/fuzz -DFUZZ_CORPUS='"tests/fuzz/corpus/$*"' $< \
	  tests/fuzz/replay.c build/asan/libhdp.a -o $@ $(LIBS)

.PHONY: all asan deps test unit unit-asan integration integration-asan demo bench bench-quick lint format clean readme-config \
	fuzz fuzz-build fuzz-smoke
all: build/hdp

asan: build/asan/hdp

deps:
	@scripts/deps.sh

unit: $(REL_TEST)
	@tests/unit/run.sh build/tests $(REL_TEST)

unit-asan: $(ASAN_TEST) $(FUZZ_REPLAY)
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 tests/unit/run.sh build/asan/tests $(ASAN_TEST) $(FUZZ_REPLAY)

fuzz-build: $(FUZZ_BIN)

# Each target for FUZZ_SECONDS; stops at the first crash, leak, timeout or failed invariant.
fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_ARGS) -- $(FUZZ_NAMES)

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20

integration: build/hdp
	@.venv/bin/python -m pytest -q -x --durations=15 tests/integration $(PYTEST_ARGS)

# The exactness scenario of the Lambda merge (orders flowing, capture, speed and a running
# marts killed -9, batch runs, serve answering) once against the ASan/UBSan binary: every
# sanitizer report of any hdp process lands in build/asan/reports/ and fails the target.
ASAN_SCENARIO ?= tests/integration/test_marts.py -k "first_batch or exact_under_motion"
integration-asan: build/asan/hdp
	@rm -rf build/asan/reports && mkdir -p build/asan/reports
	@HDP_BIN=$(CURDIR)/build/asan/hdp \
	  ASAN_OPTIONS=log_path=$(CURDIR)/build/asan/reports/asan:detect_leaks=1 \
	  UBSAN_OPTIONS=log_path=$(CURDIR)/build/asan/reports/ubsan:print_stacktrace=1 \
	  .venv/bin/python -m pytest -q -x $(ASAN_SCENARIO)
	@if ls build/asan/reports/* >/dev/null 2>&1; then \
	  echo "sanitizer reports from hdp processes:"; head -n 60 build/asan/reports/*; exit 1; fi
	@echo "integration-asan: no sanitizer report"

test: deps
	@$(MAKE) --no-print-directory all asan
	@$(MAKE) --no-print-directory unit unit-asan
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory integration-asan

demo: deps
	@$(MAKE) --no-print-directory all
	build/hdp up --generate-rate 20

REPORT_ARGS ?= --profile
BENCH_ENV = BENCH_ARGS="$(BENCH_ARGS)" LAKE_BENCH_ARGS="$(LAKE_BENCH_ARGS)" \
	VAULT_BENCH_ARGS="$(VAULT_BENCH_ARGS)" MARTS_BENCH_ARGS="$(MARTS_BENCH_ARGS)" \
	WAL_BENCH_ARGS="$(WAL_BENCH_ARGS)"
bench: deps
	@$(MAKE) --no-print-directory all
	@$(BENCH_ENV) .venv/bin/python bench/report.py $(REPORT_ARGS)

bench-quick: deps
	@$(MAKE) --no-print-directory all
	@$(BENCH_ENV) .venv/bin/python bench/report.py --quick $(QUICK_REPORT_ARGS)

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --std=c11 -Isrc $(SRC)
	clang-format --dry-run --Werror $(SRC) $(shell find src -name '*.h')

format:
	clang-format -i $(SRC) $(shell find src -name '*.h')

readme-config: build/hdp
	scripts/readme-config.sh

clean:
	rm -rf build
