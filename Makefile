# Build and install the mwha agents. `make install` puts every agent where Pacemaker looks for
# provider "mwha": /usr/lib/ocf/resource.d/mwha/ (the OCF standard fixes this path; no prefix),
# the admin commands (warp-fixup, mwha-timeline) in /usr/sbin and the alert agent in /usr/lib/mwha.
# What gets installed comes from one list, packaging/agents (also used by packaging/build).
OCF_PROVIDER_DIR ?= /usr/lib/ocf/resource.d/mwha
SBINDIR ?= /usr/sbin
# Pacemaker alert agents (run by the cluster as hacluster, referenced by path in alert definitions).
ALERT_DIR ?= /usr/lib/mwha
CARGO ?= cargo
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

# $(call kinds,CONDITION): the binaries of packaging/agents whose kinds k (" ocf cli ") match.
kinds = $(shell awk '$$1 ~ /^[[:alnum:]]/ { k = " "; for (i = 2; i <= NF; i++) k = k $$i " "; if ($(1)) print $$1 }' packaging/agents)
AGENTS := $(call kinds,k ~ / ocf /)
ALERTS := $(call kinds,k ~ / alert /)
# Admin commands: a link to the agent or alert binary they also are (warp-fixup), else the
# binary itself (mwha-timeline).
CLI_AGENT_LINKS := $(call kinds,k ~ / cli / && k ~ / ocf /)
CLI_ALERT_LINKS := $(call kinds,k ~ / cli / && k !~ / ocf / && k ~ / alert /)
CLI_BINS := $(call kinds,k ~ / cli / && k !~ / ocf / && k !~ / alert /)
CLI_ALL := $(CLI_AGENT_LINKS) $(CLI_ALERT_LINKS) $(CLI_BINS)

.PHONY: build install uninstall test package
build:
	$(CARGO) build --release --locked

install: build
	install -d -m 0755 $(DESTDIR)$(OCF_PROVIDER_DIR)
	for agent in $(AGENTS); do install -m 0755 $(TARGET_DIR)/release/$$agent $(DESTDIR)$(OCF_PROVIDER_DIR)/$$agent; done
	install -d -m 0755 $(DESTDIR)$(SBINDIR)
	for cli in $(CLI_AGENT_LINKS); do ln -sf $(OCF_PROVIDER_DIR)/$$cli $(DESTDIR)$(SBINDIR)/$$cli; done
	for cli in $(CLI_BINS); do rm -f $(DESTDIR)$(SBINDIR)/$$cli; install -m 0755 $(TARGET_DIR)/release/$$cli $(DESTDIR)$(SBINDIR)/$$cli; done
	install -d -m 0755 $(DESTDIR)$(ALERT_DIR)
	for alert in $(ALERTS); do install -m 0755 $(TARGET_DIR)/release/$$alert $(DESTDIR)$(ALERT_DIR)/$$alert; done
	for cli in $(CLI_ALERT_LINKS); do ln -sf $(ALERT_DIR)/$$cli $(DESTDIR)$(SBINDIR)/$$cli; done

uninstall:
	for cli in $(CLI_ALL); do rm -f $(DESTDIR)$(SBINDIR)/$$cli; done
	for alert in $(ALERTS); do rm -f $(DESTDIR)$(ALERT_DIR)/$$alert; done
	-rmdir $(DESTDIR)$(ALERT_DIR)
	for agent in $(AGENTS); do rm -f $(DESTDIR)$(OCF_PROVIDER_DIR)/$$agent; done
	-rmdir $(DESTDIR)$(OCF_PROVIDER_DIR)

test:
	tests/run

package:
	packaging/build
