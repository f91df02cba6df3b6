# Builds every lesson into build/ and runs the tests. `make help` lists the targets.

BUILD ?= build
CXX ?= g++
OPT ?= -O2 -g
CXXFLAGS := -std=c++20 -Wall -Wextra -pedantic -I. $(OPT) $(EXTRA_CXXFLAGS)
ifeq ($(WERROR),1)
  CXXFLAGS += -Werror
endif
ifeq ($(SAN),1)
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
JOBS := $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)

# The event loop's back end: epoll on Linux, poll(2) elsewhere or with POLL=1.
ifneq ($(shell uname -s),Linux)
  POLL := 1
endif
LOOP_BACKEND := $(if $(filter 1,$(POLL)),common/loop_poll.cpp,common/loop_epoll.cpp)
# The back end this build was made with, rewritten only when it changes. Its object
# depends on it, so after `make POLL=1` a plain `make` recompiles loop_epoll.cpp and
# relinks (both objects stay side by side; make test's two builds still share OBJ).
LOOP_STAMP = $(BUILD)/loop-backend

COMMON_SRC := common/loop.cpp $(LOOP_BACKEND) common/net.cpp common/log.cpp \
  common/flags.cpp common/http1.cpp common/http_server.cpp common/json.cpp \
  common/utf8.cpp common/chat.cpp common/store.cpp common/trace_page.cpp
PAGE := common/client/index.html common/client/chat.js common/client/style.css

# Each lesson: its folder's sources, what it reuses from earlier lessons, its libraries.
LESSON1_SRC := $(wildcard 01-polling/*.cpp)
LESSON2_SRC := $(wildcard 02-http2-push/*.cpp)
LESSON2_LIBS := -lssl -lcrypto
LESSON2_TEST_LIBS := -lnghttp2
LESSON3_SRC := $(wildcard 03-raw-websocket/*.cpp)
LESSON3_LIBS := -lcrypto
LESSON4_SRC := $(wildcard 04-socketio-lite/*.cpp) \
  $(filter-out 03-raw-websocket/server.cpp,$(LESSON3_SRC))
LESSON4_LIBS := -lcrypto
LESSON_DIR_1 := 01-polling
LESSON_DIR_2 := 02-http2-push
LESSON_DIR_3 := 03-raw-websocket
LESSON_DIR_4 := 04-socketio-lite
# Scripts a lesson's client.js imports, served beside it (URL path=file).
LESSON_ASSETS_4 := /engineio-client.js=04-socketio-lite/engineio-client.js

# A lesson exists once its server.cpp does.
LESSONS := $(foreach n,1 2 3 4,$(if $(wildcard $(LESSON_DIR_$(n))/server.cpp),$(n)))
BINARIES := $(foreach n,$(LESSONS),$(BUILD)/lesson-$(n))

# Objects go to $(OBJ); builds with the same flags may share it (make test's
# two back ends differ only in common/loop_epoll.o and common/loop_poll.o).
OBJ ?= $(BUILD)/obj
obj = $(patsubst %.cpp,$(OBJ)/%.o,$(1))

.PHONY: all help trust-cert FORCE test unit units e2e bench valgrind fuzz fuzz-build format clean \
  exercises exercises-build lesson-4-cluster \
  $(foreach n,1 2 3 4,lesson-$(n) diff-$(n) exercise-$(n) solution-$(n) check-$(n))
all: $(BINARIES)

help:
	@echo "make              build every lesson into $(BUILD)/"
	@echo "make lesson-N     build lesson N and run it (ARGS='--trace' adds flags)"
	@echo "make test         every test, under AddressSanitizer and UBSan, both loop back ends"
	@echo "make diff-N       lesson N next to the lesson it builds on"
	@echo "make exercise-N   cut lesson N's exercises out (EX=name for one); make solution-N"
	@echo "make check-N      build your lesson N and run its stages, first failure explained"
	@echo "make bench        our servers against Node's, Bun's, h2o and the machine's limit"
	@echo "make fuzz         every fuzz target for FUZZ_SECONDS (default 60) each"
	@echo "make format       clang-format every C++ file"
	@echo "make POLL=1       use the poll(2) back end instead of epoll"
	@echo "make trust-cert   trust lesson 2's certificate in Chromium's NSS database (Linux)"

$(OBJ)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(SANFLAGS) -MMD -MP -c $< -o $@

$(call obj,$(LOOP_BACKEND)): $(LOOP_STAMP)
$(LOOP_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo $(LOOP_BACKEND) | cmp -s - $@ || echo $(LOOP_BACKEND) > $@
FORCE:

$(BUILD)/embed: common/embed.cpp
	@mkdir -p $(dir $@)
	$(CXX) -std=c++20 -O1 -o $@ $<

# The page and the lesson's client.js (and what it imports), compiled into the
# binary (common/assets.h).
$(BUILD)/gen/lesson-%-assets.cpp: $(PAGE) $(BUILD)/embed
	@mkdir -p $(dir $@)
	$(BUILD)/embed $@ /=common/client/index.html /chat.js=common/client/chat.js \
	  /style.css=common/client/style.css /client.js=$(LESSON_DIR_$*)/client.js \
	  $(LESSON_ASSETS_$*)

define lesson_rules
$(BUILD)/gen/lesson-$(1)-assets.cpp: $(LESSON_DIR_$(1))/client.js \
    $(foreach a,$(LESSON_ASSETS_$(1)),$(lastword $(subst =, ,$(a))))
$(BUILD)/lesson-$(1): $(call obj,$(COMMON_SRC) $(LESSON$(1)_SRC)) \
    $(OBJ)/gen/lesson-$(1)-assets.o
	$(CXX) $(CXXFLAGS) $(SANFLAGS) -o $$@ $$^ $(EXTRA_LDFLAGS) $(LESSON$(1)_LIBS)
lesson-$(1): $(BUILD)/lesson-$(1)
	./$(BUILD)/lesson-$(1) $(ARGS)
endef
$(foreach n,$(LESSONS),$(eval $(call lesson_rules,$(n))))

# Lesson 04 as a cluster: redis-server, two nodes and HAProxy on 8004 in front
# (04-socketio-lite/cluster/); Ctrl-C stops all of it.
lesson-4-cluster: $(BUILD)/lesson-4
	04-socketio-lite/cluster/run.sh $(BUILD) $(ARGS)

$(OBJ)/gen/%.o: $(BUILD)/gen/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(SANFLAGS) -c $< -o $@

# Unit tests: one binary for common/ and one per lesson that has tests in
# tests/unit/lessonN/, linking that lesson's protocol files (never its server.cpp).
UNIT_MAIN := tests/unit/main.cpp
UNIT_LESSONS := $(foreach n,$(LESSONS),$(if $(wildcard tests/unit/lesson$(n)/*.cpp),$(n)))
$(BUILD)/unit-common: $(call obj,$(UNIT_MAIN) $(wildcard tests/unit/common/*.cpp) $(COMMON_SRC))
	$(CXX) $(CXXFLAGS) $(SANFLAGS) -o $@ $^ $(EXTRA_LDFLAGS)
define unit_rules
$(BUILD)/unit-lesson-$(1): $(call obj,$(UNIT_MAIN) $(wildcard tests/unit/lesson$(1)/*.cpp) \
    $(filter-out %/server.cpp,$(LESSON$(1)_SRC)) $(COMMON_SRC))
	$(CXX) $(CXXFLAGS) $(SANFLAGS) -o $$@ $$^ $(EXTRA_LDFLAGS) $(LESSON$(1)_LIBS) $(LESSON$(1)_TEST_LIBS)
endef
$(foreach n,$(UNIT_LESSONS),$(eval $(call unit_rules,$(n))))

# What `make unit` and `make e2e` run: every lesson, or TEST_LESSONS="3" for one.
TEST_LESSONS ?= $(LESSONS)
UNIT_BINARIES := $(BUILD)/unit-common \
  $(foreach n,$(filter $(TEST_LESSONS),$(UNIT_LESSONS)),$(BUILD)/unit-lesson-$(n))
E2E_TESTS := $(sort $(foreach n,$(TEST_LESSONS),$(wildcard tests/e2e/lesson$(n)*.test.mjs)))

# make test: check the tools (installing them when it can), build everything with
# the sanitizers and -Werror for each loop back end, then run unit and e2e tests.
# Each back end's build, with the same variables for every step that uses it.
TEST_EPOLL := BUILD=build/test-epoll POLL=0 SAN=1 WERROR=1 OPT="-O1 -g"
TEST_POLL := BUILD=build/test-poll OBJ=build/test-epoll/obj POLL=1 SAN=1 WERROR=1 OPT="-O1 -g"
# The poll(2) back end differs from epoll only in common/loop_poll.cpp, so its e2e pass
# runs the files that work the loop hardest (the main file, chaos, abuse, HTTP/1.1
# rules and shutdown of each lesson) rather than all of them again.
E2E_POLL_TESTS := $(sort $(foreach n,$(TEST_LESSONS),$(wildcard \
  $(foreach f,.test _chaos.test _abuse.test _http1.test _rules.test _shutdown.test, \
    tests/e2e/lesson$(n)$(f).mjs))))
# While the unit and e2e tests run (they wait on sockets more than they compute),
# the exercise, valgrind and fuzz binaries are built beside them at the lowest
# priority, so `make test` fits CI's time on two cores. Their log:
# build/side-builds.log.
SIDE_BUILDS = $(MAKE) exercises-build && $(MAKE) -j$(JOBS) $(VALGRIND_BUILD) all && \
  $(MAKE) -j$(JOBS) $(FUZZ_BUILD) fuzz-build
test:
	@sh tests/setup.sh
	$(MAKE) -j$(JOBS) $(TEST_EPOLL) all units
	$(MAKE) -j$(JOBS) $(TEST_POLL) all
	@mkdir -p build; echo "== building exercise, valgrind and fuzz binaries in the background (build/side-builds.log)"; \
	setsid nice -n 19 sh -c '$(SIDE_BUILDS)' >build/side-builds.log 2>&1 & side=$$!; \
	$(MAKE) $(TEST_EPOLL) unit && $(MAKE) $(TEST_EPOLL) e2e && \
	  $(MAKE) $(TEST_POLL) e2e E2E_TESTS="$(E2E_POLL_TESTS)"; rc=$$?; \
	if [ $$rc -ne 0 ]; then kill -- -$$side 2>/dev/null; wait; exit $$rc; fi; \
	wait $$side || { tail -40 build/side-builds.log; echo "the background builds failed"; exit 1; }
	$(MAKE) exercises
	$(MAKE) valgrind
	$(MAKE) fuzz FUZZ_SECONDS=5

units: $(UNIT_BINARIES)

unit: $(UNIT_BINARIES)
	@for t in $(UNIT_BINARIES); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 ./$$t || exit 1; done

# One file at a time (each starts its own servers), so nothing competes for the CPU.
# A file is stopped after E2E_FILE_TIMEOUT seconds: a test that times out while
# sockets are still open would otherwise keep node, and CI, waiting.
E2E_FILE_TIMEOUT ?= 600
e2e: $(foreach n,$(TEST_LESSONS),$(BUILD)/lesson-$(n))
	@for t in $(E2E_TESTS); do echo "== $$t ($(BUILD))"; start=$$(date +%s); \
	  ASAN_OPTIONS=detect_leaks=1 BUILD_DIR=$(BUILD) \
	  timeout -k 10 $(E2E_FILE_TIMEOUT) node --test $$t || exit 1; \
	  echo "== $$t passed in $$(($$(date +%s) - start)) s"; done

# valgrind: the poll(2) build without sanitizers, each lesson's main end-to-end
# file run with the server under memcheck; any error or leak fails the exit code.
VALGRIND := valgrind --quiet --error-exitcode=99 --leak-check=full \
  --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
VALGRIND_TESTS := $(foreach n,$(LESSONS),$(wildcard tests/e2e/lesson$(n).test.mjs))
VALGRIND_BUILD := BUILD=build/valgrind POLL=1 OPT="-O1 -g"
valgrind:
	$(MAKE) -j$(JOBS) $(VALGRIND_BUILD) all
	@for t in $(VALGRIND_TESTS); do echo "== $$t (valgrind, poll back end)"; \
	  LESSON_WRAPPER="$(VALGRIND)" BUILD_DIR=build/valgrind \
	  timeout -k 10 $(E2E_FILE_TIMEOUT) node --test $$t || exit 1; done

# Fuzzing (libFuzzer, clang): tests/fuzz/common_NAME.cpp fuzzes common/,
# tests/fuzz/lessonN_NAME.cpp lesson N's protocol files (once lesson N exists),
# and tests/fuzz/lessonN_server.cpp the whole of lesson N: it includes the
# lesson's server.cpp itself, so it links the rest of the lesson and its
# embedded page, as the lesson's binary does.
# `make fuzz` runs each target for FUZZ_SECONDS; `make test` runs each for 10 s.
FUZZ_SECONDS ?= 60
FUZZ_CXX ?= clang++
FUZZ_TARGETS := $(basename $(notdir $(wildcard tests/fuzz/common_*.cpp))) \
  $(foreach n,$(LESSONS),$(basename $(notdir $(wildcard tests/fuzz/lesson$(n)_*.cpp))))
ifeq ($(FUZZ),1)
  CXX := $(FUZZ_CXX)
  SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
endif
fuzz_lesson = $(patsubst lesson%,%,$(firstword $(subst _, ,$(1))))
define fuzz_rules
$(BUILD)/fuzz-$(1): $(call obj,tests/fuzz/$(1).cpp $(COMMON_SRC) \
    $(if $(filter common_%,$(1)),,$(filter-out %/server.cpp,$(LESSON$(call fuzz_lesson,$(1))_SRC)))) \
    $(if $(filter %_server,$(1)),$(OBJ)/gen/lesson-$(call fuzz_lesson,$(1))-assets.o)
	$(CXX) $(CXXFLAGS) -fsanitize=fuzzer,address,undefined -o $$@ $$^ $(EXTRA_LDFLAGS) \
	  $(if $(filter common_%,$(1)),,$(LESSON$(call fuzz_lesson,$(1))_LIBS) $(LESSON$(call fuzz_lesson,$(1))_TEST_LIBS))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rules,$(t))))
fuzz-build: $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz-$(t))

FUZZ_BUILD := FUZZ=1 BUILD=build/fuzz OPT="-O1 -g"
fuzz:
	$(MAKE) -j$(JOBS) $(FUZZ_BUILD) fuzz-build
	sh tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# make bench: our lessons against the servers learners would otherwise use, on
# fixed scenarios (tests/bench/README.md), printed as one Markdown table.
# Release builds, no sanitizers. The load generator is tests/bench/*.cpp on
# common/'s event loop, reusing lesson 03's frame codec.
BENCH_SRC := $(wildcard tests/bench/*.cpp) $(COMMON_SRC) 03-raw-websocket/websocket.cpp
$(BUILD)/loadgen: $(call obj,$(BENCH_SRC))
	$(CXX) $(CXXFLAGS) $(SANFLAGS) -o $@ $^ $(EXTRA_LDFLAGS) -lcrypto
# The limit probe: plain sockets and epoll, no common/ (tests/bench/README.md).
$(BUILD)/limit: tests/bench/limit/limit.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(SANFLAGS) -o $@ $< $(EXTRA_LDFLAGS)
bench:
	@sh tests/setup.sh bench
	$(MAKE) -j$(JOBS) BUILD=build/bench OPT="-O2 -DNDEBUG" all build/bench/loadgen \
	  build/bench/limit
	node tests/bench/run.mjs build/bench

# make trust-cert: Chromium and Chrome on Linux trust lesson 02's certificate
# ($(BUILD)/localhost.pem), in $$HOME/.pki/nssdb; it prints what it changed and
# how to undo it (tests/tools/trust-cert.sh).
trust-cert: $(BUILD)/lesson-2
	@sh tests/tools/trust-cert.sh $(BUILD)

# make diff-N: what lesson N changes in the lesson it builds on.
DIFF_BASE_2 := 1
DIFF_BASE_3 := 1
DIFF_BASE_4 := 3
# Exercise markers (tests/exercise/) are left out of both sides.
EXERCISE_MARKER := ^[[:space:]]*// (END )?EXERCISE[[:space:]]
define diff_rule
diff-$(1):
	@mkdir -p $(BUILD)/diff
	@for f in server.cpp client.js; do \
	  grep -Ev '$(EXERCISE_MARKER)' $(LESSON_DIR_$(DIFF_BASE_$(1)))/$$$$f > $(BUILD)/diff/a; \
	  grep -Ev '$(EXERCISE_MARKER)' $(LESSON_DIR_$(1))/$$$$f > $(BUILD)/diff/b; \
	  diff -u --label $(LESSON_DIR_$(DIFF_BASE_$(1)))/$$$$f --label $(LESSON_DIR_$(1))/$$$$f \
	    $(BUILD)/diff/a $(BUILD)/diff/b; done; true
endef
$(foreach n,2 3 4,$(eval $(call diff_rule,$(n))))

# Exercise mode (tests/exercise/): a lesson's marked regions cut out into stubs, and
# its stages run against the learner's build, ASan on, at -O0 so it builds fast.
EXERCISE_LESSONS := $(foreach n,$(LESSONS),$(if $(wildcard tests/exercise/check$(n).mjs),$(n)))
define exercise_rules
exercise-$(1):
	@node tests/exercise/exercise.mjs blank $(1) $(EX)
solution-$(1):
	@node tests/exercise/exercise.mjs solution $(1)
check-$(1):
	@$(MAKE) -s -j$(JOBS) BUILD=build/exercise SAN=1 WERROR=0 OPT="-O0 -g" build/exercise/lesson-$(1)
	@node tests/exercise/exercise.mjs check $(1) build/exercise/lesson-$(1)
endef
$(foreach n,$(LESSONS),$(eval $(call exercise_rules,$(n))))
# What tests/exercise/guarantee.mjs links a changed copy of one lesson file with.
exercise-vars-%:
	@echo 'CXX=$(CXX) $(CXXFLAGS) $(SANFLAGS)'
	@echo 'OBJS=$(call obj,$(COMMON_SRC) $(LESSON$*_SRC)) $(OBJ)/gen/lesson-$*-assets.o'
	@echo 'LIBS=$(EXTRA_LDFLAGS) $(LESSON$*_LIBS)'
# make exercises (in make test): the finished lessons pass their stages, each
# exercise blanked alone compiles and fails its own stage, and check's output for
# a few broken servers is golden. No sanitizers, -O0: only the changed file is
# compiled again for each variant.
EXERCISE_BUILD := BUILD=build/exercise-test SAN=0 WERROR=0 OPT=-O0
exercises-build:
	$(MAKE) -s -j$(JOBS) $(EXERCISE_BUILD) \
	  $(foreach n,$(EXERCISE_LESSONS),build/exercise-test/lesson-$(n))
exercises: exercises-build
	node tests/exercise/guarantee.mjs build/exercise-test $(EXERCISE_LESSONS)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
