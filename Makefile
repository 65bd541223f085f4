# Tolk: make builds build/tolk and build/tolkctl; make run starts it on
# channels.yaml; make test runs every test. See README.md.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
PLUGINDIR  ?= $(LIBDIR)/tolk/plugins
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
SYSTEMDUNITDIR ?= $(LIBDIR)/systemd/system
DESTDIR    ?=
CC         ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS     ?= -O2 -g -DNDEBUG
LDFLAGS    ?=
CONFIG     ?= channels.yaml

VERSION    := 0.1.0
BUILD      := build
PKGS       := jack yaml-0.1 sndfile flac opus ogg libopusenc libcrypto libsodium libebur128 liblo lilv-0 lv2 \
              libmicrohttpd shout libsystemd

# Flags every build needs, whatever the user's CFLAGS.
TOLK_CFLAGS := -std=c11 -Wall -Wextra -D_GNU_SOURCE -DTOLK_VERSION='"$(VERSION)"' -pthread \
               -DTOLK_PLUGINDIR='"$(PLUGINDIR)"'
PKG_CFLAGS   = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS     = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# The pure core sees libyaml (the config loader) and nothing else.
CORE_PKGS   := yaml-0.1
CORE_CFLAGS  = $(shell $(PKG_CONFIG) --cflags $(CORE_PKGS) 2>/dev/null)
CORE_LIBS    = $(shell $(PKG_CONFIG) --libs $(CORE_PKGS) 2>/dev/null)

CORE_SRC    := $(wildcard engine/core/*.c)
ENGINE_SRC  := $(wildcard engine/*.c) $(wildcard engine/jack/*.c) $(wildcard engine/control/*.c) \
               $(wildcard engine/disk/*.c) $(wildcard engine/meters/*.c) \
               $(wildcard engine/inserts/*.c)
WEB_OBJ     := $(BUILD)/engine/web/page_blob.o $(BUILD)/engine/web/console_blob.o $(BUILD)/engine/web/listen_blob.o
CORE_OBJ    := $(CORE_SRC:%.c=$(BUILD)/%.o)
INSERT_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard engine/inserts/*.c))
ENGINE_OBJ  := $(ENGINE_SRC:%.c=$(BUILD)/%.o)

# Tests: the core again, with sanitizers and assertions on.
SAN         := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TEST_CFLAGS := -O1 -g -Werror $(TOLK_CFLAGS)
PLUGIN_SRC  := $(wildcard plugins/*.c)
PLUGINS     := $(PLUGIN_SRC:plugins/%.c=$(BUILD)/plugins/%.so)
PLUGIN_LIBS_leveller := -lebur128
UNIT_SRC    := $(wildcard test/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/unit/%)
TEST_CLIENTS := $(BUILD)/test/tonegen $(BUILD)/test/probe $(BUILD)/test/filetone $(BUILD)/test/osc_client \
                $(BUILD)/test/sockhold $(BUILD)/test/midi_client $(BUILD)/test/notify_listen \
                $(BUILD)/bench/latency_probe \
                $(BUILD)/test/continuity $(BUILD)/test/rtp_listen \
                $(BUILD)/test/rtguard.so $(BUILD)/test/tolk-rtinject

.PHONY: all deps run test bench fuzz soak unit integration test-clients install uninstall clean man deb

all: $(BUILD)/tolk $(BUILD)/tolkctl $(BUILD)/tolk-verify $(PLUGINS)

deps:
	@sh tools/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(TOLK_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

# The core: without the packages' flags, and refused if a JACK, audio
# file, codec, socket, HTTP or file header reaches it (see the script).
$(BUILD)/engine/core/%.o: engine/core/%.c tools/check-core-includes.sh
	@mkdir -p $(@D)
	@sh tools/check-core-includes.sh $(CC) $< $(TOLK_CFLAGS) $(CPPFLAGS) $(CORE_CFLAGS)
	$(CC) $(TOLK_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(CORE_CFLAGS) -MMD -MP -c $< -o $@

# The pages go into the binary as they are (see engine/web/): the control
# room's, the interpreter's console and the listener's page.
$(BUILD)/engine/web/page_blob.o: engine/web/page_blob.S engine/web/page.html
	@mkdir -p $(@D)
	$(CC) -DPAGE_HTML='"engine/web/page.html"' -DPAGE_NAME=tolk_page_html -c $< -o $@

$(BUILD)/engine/web/console_blob.o: engine/web/page_blob.S engine/web/console.html
	@mkdir -p $(@D)
	$(CC) -DPAGE_HTML='"engine/web/console.html"' -DPAGE_NAME=tolk_console_html -c $< -o $@

$(BUILD)/engine/web/listen_blob.o: engine/web/page_blob.S engine/web/listen.html
	@mkdir -p $(@D)
	$(CC) -DPAGE_HTML='"engine/web/listen.html"' -DPAGE_NAME=tolk_listen_html -c $< -o $@

$(BUILD)/tolk: $(ENGINE_OBJ) $(CORE_OBJ) $(WEB_OBJ)
	$(CC) $(TOLK_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(PKG_LIBS) -lm -o $@

# tolkctl cuts clips itself (tolkctl clip): the archive's encoders and the
# clip cutter come with it.
CLIP_OBJ := $(addprefix $(BUILD)/engine/disk/,clip.o wav_encoder.o flac_encoder.o ogg_opus_encoder.o \
              libopusenc_encoder.o encoder_fd.o encoder_tags.o encoder_s24.o segment_loudness.o sha256_file.o \
              whole_file.o) \
            $(addprefix $(BUILD)/engine/core/,clip_time.o json_writer.o utc_time.o sha256.o)
CLIP_PKGS := sndfile flac opus ogg libopusenc libebur128 libcrypto
$(BUILD)/tolkctl: $(BUILD)/tools/tolkctl.o $(BUILD)/tools/top_view.o $(BUILD)/tools/clip_command.o \
                  $(BUILD)/engine/core/json_reader.o $(BUILD)/engine/control/control_socket.o $(CLIP_OBJ)
	$(CC) $(TOLK_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ $$($(PKG_CONFIG) --libs $(CLIP_PKGS)) -lm -o $@

$(BUILD)/tolk-verify: $(BUILD)/tools/tolk_verify.o $(BUILD)/tools/manifest_reader.o $(BUILD)/engine/core/json_reader.o \
                     $(BUILD)/engine/core/sha256.o $(BUILD)/engine/disk/sha256_file.o \
                     $(BUILD)/engine/disk/manifest_signature.o $(BUILD)/engine/disk/whole_file.o
	$(CC) $(TOLK_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ $$($(PKG_CONFIG) --libs libcrypto libsodium) -o $@

# Built-in plugins: one C file each, one shared object each, nothing
# exported but the descriptor.
$(BUILD)/plugins/%.so: plugins/%.c plugins/plugin_util.h engine/plugin.h engine/core/touched_alloc.h $(wildcard dsp/*.h)
	@mkdir -p $(@D)
	$(CC) $(TOLK_CFLAGS) $(CPPFLAGS) $(CFLAGS) -fPIC -shared -fvisibility=hidden $< \
		$(LDFLAGS) $(PLUGIN_LIBS_$*) -lm -o $@

# ---- benchmarks (make bench): numbers, never pass/fail -------------------

BENCH_BIN := $(BUILD)/bench/routing_bench $(BUILD)/bench/latency_probe $(BUILD)/bench/dsp_load \
             $(BUILD)/bench/opus_speed

$(BUILD)/bench/routing_bench: $(BUILD)/bench/routing_bench.o $(CORE_OBJ) $(INSERT_OBJ)
	$(CC) $(TOLK_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(PKG_LIBS) -ldl -lm -o $@

$(BUILD)/bench/opus_speed: $(BUILD)/bench/opus_speed.o $(BUILD)/engine/disk/ogg_opus_encoder.o \
                           $(BUILD)/engine/disk/libopusenc_encoder.o $(BUILD)/engine/disk/encoder_fd.o \
                           $(BUILD)/engine/disk/encoder_tags.o
	$(CC) $(TOLK_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(PKG_LIBS) -lm -o $@

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(TOLK_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) $< $(PKG_LIBS) -lm -o $@

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN) test-clients
	@bash bench/run.sh

run: deps all
	@sh tools/run.sh $(CONFIG)

# ---- fuzzing (make fuzz): libFuzzer, clang ---------------------------------
# Each target runs FUZZ_SECONDS from its seeds in test/fuzz/corpus/<target>
# (the inputs it finds stay in build/fuzz/corpus). A crash is written to
# build/fuzz/crashes/; put it in test/fuzz/regressions/<target>/ and make
# test replays it for ever after.

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_TARGETS := config command osc manifest
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SRC_config   := $(CORE_SRC)
FUZZ_SRC_command  := $(CORE_SRC)
FUZZ_SRC_osc      := $(CORE_SRC) engine/control/osc_server.c
FUZZ_SRC_manifest := tools/manifest_reader.c engine/core/json_reader.c

FUZZ_HDRS    := test/fuzz/fuzz_room.h $(wildcard engine/core/*.h)

.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz_%: test/fuzz/fuzz_%.c $$(FUZZ_SRC_$$*) $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -O1 -g -std=c11 -D_GNU_SOURCE -pthread -fsanitize=fuzzer $(FUZZ_SAN) $(PKG_CFLAGS) \
		test/fuzz/fuzz_$*.c $(FUZZ_SRC_$*) $(PKG_LIBS) -lm -o $@

# The same entry points without libFuzzer, for make test.
$(BUILD)/test/replay_%: test/fuzz/replay.c test/fuzz/fuzz_%.c $$(FUZZ_SRC_$$*) $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SAN) $(PKG_CFLAGS) test/fuzz/replay.c test/fuzz/fuzz_$*.c $(FUZZ_SRC_$*) \
		$(PKG_LIBS) -lm -o $@

fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh test/fuzz/run.sh $(FUZZ_TARGETS)

# ---- soak (make soak): an 8-hour meeting, compressed; see test/soak/soak.sh

SOAK_HOURS   ?= 8
SOAK_MINUTES ?= 24

soak: deps
	@$(MAKE) --no-print-directory all test-clients
	@SOAK_HOURS=$(SOAK_HOURS) SOAK_MINUTES=$(SOAK_MINUTES) bash test/soak/soak.sh

# ---- tests ----------------------------------------------------------------

$(BUILD)/test/unit/%: test/unit/%.c $(CORE_SRC) $(wildcard engine/core/*.h) test/unit/helpers.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SAN) $(CORE_CFLAGS) $< $(CORE_SRC) $(CORE_LIBS) -lcmocka -lm -o $@

# A plugin's unit test links that plugin's one C file.
$(BUILD)/test/unit/test_plugin_%: test/unit/test_plugin_%.c plugins/%.c plugins/plugin_util.h engine/core/touched_alloc.h \
                                  $(wildcard dsp/*.h) test/unit/helpers.h test/unit/plugin_harness.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SAN) $< plugins/$*.c $(PLUGIN_LIBS_$*) -lcmocka -lm -o $@

# The Ogg Opus encoders, ours against libopusenc's, on the same input.
OPUS_TEST_PKGS := opus ogg libopusenc
OPUS_TEST_SRC  := engine/disk/ogg_opus_encoder.c engine/disk/libopusenc_encoder.c engine/disk/encoder_fd.c \
                  engine/disk/encoder_tags.c
$(BUILD)/test/unit/test_ogg_opus: test/unit/test_ogg_opus.c $(OPUS_TEST_SRC) engine/disk/encoder.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SAN) $$($(PKG_CONFIG) --cflags $(OPUS_TEST_PKGS)) $< $(OPUS_TEST_SRC) \
		$$($(PKG_CONFIG) --libs $(OPUS_TEST_PKGS)) -lcmocka -lm -o $@

$(BUILD)/test/unit/test_segment_loudness: test/unit/test_segment_loudness.c engine/disk/segment_loudness.c \
                                          engine/disk/segment_loudness.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SAN) $< engine/disk/segment_loudness.c -lebur128 -lcmocka -lm -o $@

$(BUILD)/test/unit/test_sha256_file: test/unit/test_sha256_file.c engine/disk/sha256_file.c engine/core/sha256.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SAN) $< engine/disk/sha256_file.c engine/core/sha256.c \
		$$($(PKG_CONFIG) --libs libcrypto) -lcmocka -o $@

$(BUILD)/test/ring_stress: test/unit/ring_stress.c engine/core/ring.c engine/core/ring.h engine/core/touched_alloc.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -fsanitize=thread $< engine/core/ring.c engine/core/touched_alloc.c -o $@

$(BUILD)/test/plugin_no_alloc: test/unit/plugin_no_alloc.c engine/plugin.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< -ldl -o $@

$(BUILD)/test/%: test/integration/%.c
	@mkdir -p $(@D)
	$(CC) $(TOLK_CFLAGS) $(CFLAGS) -Werror $(PKG_CFLAGS) $< $(PKG_LIBS) -lm -o $@

# The realtime-safety guard (LD_PRELOAD), and a tolk that breaks the rule
# on purpose to show that the guard catches it.
$(BUILD)/test/rtguard.so: test/rtguard/rtguard.c
	@mkdir -p $(@D)
	$(CC) $(TOLK_CFLAGS) $(CFLAGS) -Werror -fPIC -shared $(PKG_CFLAGS) $< -ldl -o $@

$(BUILD)/test/rtinject/jack_client.o: engine/jack/jack_client.c
	@mkdir -p $(@D)
	$(CC) $(TOLK_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -DTOLK_RT_INJECT_MALLOC -c $< -o $@

$(BUILD)/test/tolk-rtinject: $(filter-out $(BUILD)/engine/jack/jack_client.o,$(ENGINE_OBJ)) $(CORE_OBJ) $(WEB_OBJ) \
                             $(BUILD)/test/rtinject/jack_client.o
	$(CC) $(TOLK_CFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(PKG_LIBS) -lm -o $@

test-clients: $(TEST_CLIENTS)

# Man pages: scdoc sources in docs/man, roff in build/man.
SCDOC      ?= scdoc
MAN_SRC    := $(wildcard docs/man/*.scd)
MAN_PAGES  := $(MAN_SRC:docs/man/%.scd=$(BUILD)/man/%)

man: $(MAN_PAGES)

$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(@D)
	$(SCDOC) <$< >$@

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(BUILD)/test/ring_stress $(BUILD)/test/plugin_no_alloc \
		test-clients man $(FUZZ_TARGETS:%=$(BUILD)/test/replay_%) \
		CFLAGS='$(CFLAGS) -Werror'
	@sh test/web/install.sh
	@sh test/run.sh

install: all man
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BUILD)/tolk $(BUILD)/tolkctl $(BUILD)/tolk-verify $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(PLUGINDIR)
	install -m 0755 $(PLUGINS) $(DESTDIR)$(PLUGINDIR)/
	install -d $(DESTDIR)$(DATADIR)/tolk/mediaconch
	install -m 0644 contrib/mediaconch/tolk-archive-wav.xml $(DESTDIR)$(DATADIR)/tolk/mediaconch/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man5/
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|/usr/bin/tolk|$(BINDIR)/tolk|' contrib/systemd/tolk@.service >$(DESTDIR)$(SYSTEMDUNITDIR)/tolk@.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/tolk@.service
	install -d $(DESTDIR)$(DATADIR)/tolk/prometheus
	install -m 0644 contrib/prometheus/tolk-alerts.yml contrib/prometheus/tolk-alerts.test.yml \
		$(DESTDIR)$(DATADIR)/tolk/prometheus/
	install -d $(DESTDIR)$(DATADIR)/tolk/janus
	install -m 0644 contrib/janus/janus.jcfg contrib/janus/janus.transport.http.jcfg $(DESTDIR)$(DATADIR)/tolk/janus/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tolk $(DESTDIR)$(BINDIR)/tolkctl $(DESTDIR)$(BINDIR)/tolk-verify
	rm -f $(PLUGIN_SRC:plugins/%.c=$(DESTDIR)$(PLUGINDIR)/%.so)
	rm -f $(DESTDIR)$(DATADIR)/tolk/mediaconch/tolk-archive-wav.xml
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/tolk@.service
	rm -f $(patsubst %.1,$(DESTDIR)$(MANDIR)/man1/%.1,$(filter %.1,$(notdir $(MAN_PAGES)))) \
	      $(patsubst %.5,$(DESTDIR)$(MANDIR)/man5/%.5,$(filter %.5,$(notdir $(MAN_PAGES))))
	rm -f $(DESTDIR)$(DATADIR)/tolk/prometheus/tolk-alerts.yml $(DESTDIR)$(DATADIR)/tolk/prometheus/tolk-alerts.test.yml
	rm -f $(DESTDIR)$(DATADIR)/tolk/janus/janus.jcfg $(DESTDIR)$(DATADIR)/tolk/janus/janus.transport.http.jcfg

# A Debian package (debian/, debhelper), built from a copy of the source
# tree in build/deb so that nothing lands beside the checkout: the .deb,
# .changes and .buildinfo are left in build/deb.
DEB_SRC := $(BUILD)/deb/tolk-$(VERSION)

deb:
	rm -rf $(BUILD)/deb
	mkdir -p $(DEB_SRC)
	git ls-files -z --cached --others --exclude-standard | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] && cp --parents -- "$$f" $(DEB_SRC)/; done' sh
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b
	@ls $(BUILD)/deb/*.deb

clean:
	rm -rf $(BUILD)

-include $(CORE_OBJ:.o=.d) $(ENGINE_OBJ:.o=.d) $(BUILD)/test/rtinject/jack_client.d $(wildcard $(BUILD)/tools/*.d) $(wildcard $(BUILD)/bench/*.d)
