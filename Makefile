# Build and install the mwha agents. `make install` puts every agent where Pacemaker looks for
# provider "mwha": /usr/lib/ocf/resource.d/mwha/ (the OCF standard fixes this path; no prefix).
OCF_PROVIDER_DIR ?= /usr/lib/ocf/resource.d/mwha
AGENTS := flowsvc sharedfs warp-fixup omflow-booster omflow-server
# Admin tools on PATH: links to agents that are also command-line tools.
CLI_LINKS := warp-fixup
SBINDIR ?= /usr/sbin
CARGO ?= cargo

.PHONY: build install uninstall test
build:
	$(CARGO) build --release --locked

install: build
	install -d -m 0755 $(DESTDIR)$(OCF_PROVIDER_DIR)
	for agent in $(AGENTS); do install -m 0755 target/release/$$agent $(DESTDIR)$(OCF_PROVIDER_DIR)/$$agent; done
	install -d -m 0755 $(DESTDIR)$(SBINDIR)
	for cli in $(CLI_LINKS); do ln -sf $(OCF_PROVIDER_DIR)/$$cli $(DESTDIR)$(SBINDIR)/$$cli; done

uninstall:
	for cli in $(CLI_LINKS); do rm -f $(DESTDIR)$(SBINDIR)/$$cli; done
	for agent in $(AGENTS); do rm -f $(DESTDIR)$(OCF_PROVIDER_DIR)/$$agent; done
	-rmdir $(DESTDIR)$(OCF_PROVIDER_DIR)

test:
	tests/run
