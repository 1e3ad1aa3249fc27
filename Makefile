# Prism build.  One tree, outputs under build/, generated files never committed.
#   make            build/prism, BPF objects and skeletons
#   make test       unit, BPF and end-to-end tests (root)
#   make asan       build/asan/prism with AddressSanitizer + UBSan
#   make demo       install deps, build, run the demo on the testbed
#   make check      clang-tidy + cppcheck;  make fmt   clang-format in place
#   V=1             show commands
ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BUILD   ?= build
CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
ARCH    := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -MD -MP -D_GNU_SOURCE \
           -Isrc -Isrc/include -I$(BUILD)/bpf
LDLIBS  += -lbpf -lelf -lz -lssl -lcrypto -lpthread -lm
# -mcpu=v3: atomic compare-and-exchange (the in-band claim), kernel >= 5.12.
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall \
              -Werror -Isrc/include -I/usr/include/$(MULTIARCH)

# The data plane (src/bpf) and the lab's own programs (src/lab: loss).
BPF_SRC  := $(wildcard src/bpf/*.bpf.c src/lab/*.bpf.c)
BPF_OBJ  := $(patsubst %.bpf.c,$(BUILD)/bpf/%.bpf.o,$(notdir $(BPF_SRC)))
BPF_SKEL := $(patsubst %.bpf.c,$(BUILD)/bpf/%.skel.h,$(notdir $(BPF_SRC)))

# The product (the daemons and their library) and the lab (testbed, up,
# benchmarks, packet builder) are two archives: the product never links the
# lab.  build/prism is src/cli/main.c over both; tests link both too.
LIB_SRC  := $(wildcard src/lib/*.c src/switch/*.c src/controller/*.c \
             src/backend/*.c)
LIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
LAB_SRC  := $(filter-out %.bpf.c,$(wildcard src/lab/*.c))
LAB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LAB_SRC))
TEST_SRC := $(wildcard tests/unit/test_*.c tests/bpf/test_*.c)
TEST_BIN := $(patsubst %.c,$(BUILD)/%,$(TEST_SRC))
TEST_LIB := $(wildcard tests/lib/*.c)
TEST_LIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(TEST_LIB))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
# Fuzz targets exercise decoders of the lower layers only; linking just those
# keeps `make fuzz` fast and independent of work in progress further up.
FUZZ_LIB := $(wildcard src/lib/*.c) src/switch/ctl.c

.SECONDARY:
.PHONY: all test asan demo check fmt clean install deps bench fuzz
all: $(BUILD)/prism $(BPF_OBJ) $(TEST_BIN)

$(BUILD)/bpf/%.tmp.bpf.o: src/bpf/%.bpf.c $(wildcard src/bpf/*.h src/include/*.h)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.tmp.bpf.o: src/lab/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.bpf.o: $(BUILD)/bpf/%.tmp.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/obj/%.o: %.c | $(BPF_SKEL)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libprism.a: $(LIB_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/liblab.a: $(LAB_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/prism: $(BUILD)/obj/src/cli/main.o $(BUILD)/liblab.a $(BUILD)/libprism.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(BUILD)/liblab.a $(BUILD)/libprism.a $(TEST_LIB_OBJ) | $(BPF_SKEL)
	$(call msg,TEST-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/lib $< $(TEST_LIB_OBJ) $(BUILD)/liblab.a $(BUILD)/libprism.a -o $@ $(LDFLAGS) $(LDLIBS)

# The sanitizer build is a separate tree so that both can coexist.
asan:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/asan \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	    LDFLAGS="-fsanitize=address,undefined" $(BUILD)/asan/prism

fuzz: $(BPF_SKEL)
	$(Q)for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "  FUZZ     $(BUILD)/fuzz/$$n"; mkdir -p $(BUILD)/fuzz; \
	  $(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -Isrc -Isrc/include -I$(BUILD)/bpf \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $$f $(FUZZ_LIB) -o $(BUILD)/fuzz/$$n $(LDLIBS) || exit 1; done

deps:
	$(Q)scripts/deps.sh

test: all asan
	$(Q)tests/run.sh

bench: all
	$(Q)$(BUILD)/prism bench

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

SRC_ALL := $(shell find src tests -name '*.[ch]' 2>/dev/null)
# clang-tidy reports (bug-finding checks in .clang-tidy); cppcheck must pass.
check: all
	$(Q)clang-tidy --quiet $(filter %.c,$(filter-out src/bpf/% tests/fuzz/%,$(SRC_ALL))) \
	    -- $(CFLAGS) -Itests/lib 2>&1 | grep -E 'warning:|error:' || true
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr --suppress=missingIncludeSystem --suppress=unknownMacro \
	    -isrc/bpf -Isrc -Isrc/include src tests
	@echo "check: cppcheck clean"

fmt:
	$(Q)clang-format -i $(SRC_ALL)

# make install [DESTDIR=...] [PREFIX=/usr/local]: the binary (the BPF
# programs are inside it), an example configuration per role (never over a
# file already there), the systemd units and the deploy guide.  The units
# run as user prism: `useradd --system prism` first (docs/deploy.md).
# UNITDIR must be one systemd reads (/etc/systemd/system for a PREFIX
# outside /usr and /usr/local).
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc/prism
UNITDIR ?= $(PREFIX)/lib/systemd/system
install: $(BUILD)/prism
	install -D -m 0755 $(BUILD)/prism "$(DESTDIR)$(PREFIX)/bin/prism"
	install -d -m 0755 "$(DESTDIR)$(SYSCONFDIR)" "$(DESTDIR)$(UNITDIR)" \
	    "$(DESTDIR)$(PREFIX)/share/doc/prism"
	set -e; for r in controller backend switch; do \
	    f="$(DESTDIR)$(SYSCONFDIR)/$$r.conf"; [ -e "$$f" ] && continue; \
	    sed 's|/etc/prism/|$(SYSCONFDIR)/|g' examples/deploy/$$r.conf > "$$f"; \
	    chmod 0644 "$$f"; \
	done
	set -e; for u in dist/systemd/*.service; do \
	    f="$(DESTDIR)$(UNITDIR)/$$(basename $$u)"; \
	    sed 's|/usr/local/|$(PREFIX)/|g; s|/etc/prism/|$(SYSCONFDIR)/|g' $$u > "$$f"; \
	    chmod 0644 "$$f"; \
	done
	install -m 0644 docs/deploy.md "$(DESTDIR)$(PREFIX)/share/doc/prism/"

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
