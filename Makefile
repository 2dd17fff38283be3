# SPDX-License-Identifier: Apache-2.0
# The front door. `make demo` runs the demo, `make test` runs every test.
#   make deps   install the Debian packages Otter needs (as root; idempotent)
#   make        build into build/
#   make test   deps + build + all tests, then the same tests under ASan+UBSan
#   make test-release  a Release (-O3, -Werror) build and its unit tests (CI runs it too)
#   make fuzz   build the libFuzzer targets with clang and run each for FUZZ_SECONDS

BUILD      ?= build
ASAN_BUILD ?= build-asan
RELEASE_BUILD ?= build-release
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS       ?= $(shell nproc)

# Libraries (-dev), tools the tests drive for interop, and the services the tests start.
DEB_PACKAGES = build-essential cmake pkg-config clang libclang-rt-14-dev \
  libssl-dev libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev libzip-dev \
  libarchive-dev libzstd-dev libsqlite3-dev libpq-dev libinih-dev libubootenv-dev \
  libcmocka-dev libcrypt-dev libdivsufsort-dev \
  zstd zip unzip openssl curl grub-common libubootenv-tool valgrind nginx-light time bc \
  jq sqlite3 swupdate cpio chromium postgresql tinyproxy-bin python3-yaml python3-jsonschema \
  shellcheck systemd groff-base man-db clang-format \
  libp11-dev softhsm2 opensc \
  libtss2-dev swtpm swtpm-tools tpm2-tools tpm2-openssl \
  libgnutls28-dev \
  qemu-system-x86 linux-image-amd64 busybox-static grub-pc-bin fdisk e2fsprogs kmod \
  mmdebstrap debhelper lintian dpkg-dev fakeroot \
  tzdata \
  liblzma-dev \
  nbdkit \
  mtd-utils squashfs-tools \
  mosquitto libmosquitto-dev mosquitto-clients \
  libblkid-dev \
  ovmf sbsigntool efitools systemd-boot-efi cryptsetup-bin dosfstools mtools \
  u-boot-qemu u-boot-tools \
  device-tree-compiler

.PHONY: all build deps demo test test-plain test-asan test-release fuzz clean vm vm-long deb test-deb

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install packages" >&2; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing || \
	    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; }; \
	fi
	@# node and npm (dashboard assets and browser tests): Debian's, unless some node is there already
	@# (e.g. NodeSource's nodejs, which carries its own npm and conflicts with Debian's npm package).
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install nodejs and npm" >&2; exit 1; fi; \
	  echo "installing: nodejs npm"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm || \
	    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; }; \
	fi

# The test builds have the test-only hooks (OTTER_TEST_HOOKS: the power-loss crash points);
# a plain `cmake`, the Release build and the packages do not.
build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTTER_TEST_HOOKS=ON
	cmake --build $(BUILD) -j $(JOBS)

# The demo: server, tenant, users, a signed release and a simulated fleet in a staged rollout.
demo: deps build
	bash demo/demo.sh $(BUILD)

test-plain: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE 'deb|vm-extra'

# The Debian packages in a bookworm chroot (CTest label deb, needs root): builds them (make deb)
# and a cached chroot: 2.5 minutes from a clean tree on 2 cores (45 s warm), so not part of
# test-plain, whose budget is the 20-minute suite; .ci/run runs it after the tests.
test-deb: build
	cd $(BUILD) && ctest --output-on-failure -L deb

test-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DOTTER_SANITIZE=ON -DOTTER_TEST_HOOKS=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -LE no-asan

# Release: -O3 finds warnings (maybe-uninitialized, dangling-pointer) that -O2 misses, and
# with -Werror they break `cmake -DCMAKE_BUILD_TYPE=Release`. The whole tree is built; only
# the fast in-process tests run (label "unit"), the integration tests run in test-plain.
# Built as a product is, without test hooks: no_test_hooks checks the programs have none.
test-release:
	cmake -S . -B $(RELEASE_BUILD) -DCMAKE_BUILD_TYPE=Release -DOTTER_TEST_HOOKS=OFF
	cmake --build $(RELEASE_BUILD) -j $(JOBS)
	cd $(RELEASE_BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

# The *_pg tests need a PostgreSQL: tests/pg/ensure.sh starts one (or reuses a running one)
# and prints its URL, unless OTTER_TEST_PG_URL names one already. Without it they are skipped,
# or fail when CI=true.
test: deps
	@url="$${OTTER_TEST_PG_URL:-$$(bash tests/pg/ensure.sh $(BUILD)/pg)}" || \
	  echo "make test: no PostgreSQL, the *_pg tests cannot run" >&2; \
	export OTTER_TEST_PG_URL="$$url"; \
	$(MAKE) test-plain && $(MAKE) test-asan

# The reference device in QEMU (tests/vm/README.md): every VM scenario, the CI sample (label
# vm: GRUB, Secure Boot, UBI) with Secure Boot's negative controls (VM_SB_FULL=1), and the
# U-Boot variant CI leaves out for time (label vm-extra).
vm: deps build
	cd $(BUILD) && VM_SB_FULL=1 ctest --output-on-failure -L '^vm(-extra)?$$'

# The full campaign: the same scenarios, then updates with power cuts until 50 cuts
# (scenario 3, tests/vm/README.md "Power cuts"; VM_CUTS, VM_CUTS_PER_ROLLOUT, VM_SEED),
# with a longer bound for each marker. Run as a script: CTest's TIMEOUT (30 min) is for CI.
vm-long: deps build
	mkdir -p $(BUILD)/test-tmp && cd $(BUILD) && OTTER_BUILD_DIR=$(abspath $(BUILD)) \
	  OTTER_SOURCE_DIR=$(CURDIR) OTTER_TEST_TMP=$(abspath $(BUILD))/test-tmp \
	  VM_WAIT=900 VM_CUTS=$${VM_CUTS:-50} bash $(CURDIR)/tests/vm/vm.sh

# The Secure Boot variant alone (tests/vm/README.md "Secure Boot and dm-verity") in full: the
# CI sample (label vm) plus 3.1 and the negative controls (VM_SB_FULL=1; `make vm` sets it too).
.PHONY: vm-secureboot
vm-secureboot: deps build
	cd $(BUILD) && VM_SB_FULL=1 ctest --output-on-failure -R '^vm_secureboot$$'

# The U-Boot variant (tests/vm/README.md), not in the CI sample (label vm-extra: too long).
.PHONY: vm-uboot
vm-uboot: deps build
	cd $(BUILD) && ctest --output-on-failure -R '^vm_uboot$$'

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTTER_FUZZ=ON -DOTTER_WERROR=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Debian packages (debian/, docs/operations.md "Debian packages"): the tree's files (tracked
# and untracked, not ignored; plus web/node_modules when present, so the dashboard's
# vendored files need no npm) are copied to $(BUILD)/deb/otter-<version>/ and built there
# with dpkg-buildpackage; the .debs, .changes and .buildinfo land in $(BUILD)/deb/. The copy is
# fresh every time but for CMake's build dir (obj-*) and the web/node_modules `npm ci` made
# there, kept so a rebuild compiles only what changed (hence -nc: no `debian/rules clean`,
# which would remove the build dir).
DEB_DIR = $(BUILD)/deb
deb:
	@v=$$(dpkg-parsechangelog -l debian/changelog -S Version); \
	src=$(DEB_DIR)/otter-$$v; keep=$(DEB_DIR)/keep; \
	obj=obj-$$(dpkg-architecture -qDEB_HOST_GNU_TYPE); \
	rm -rf $$keep $(DEB_DIR)/*.deb $(DEB_DIR)/*.changes $(DEB_DIR)/*.buildinfo; mkdir -p $$keep; \
	for d in $$obj web/node_modules; do \
	  if [ -d $$src/$$d ]; then mkdir -p $$keep/$$(dirname $$d) && mv $$src/$$d $$keep/$$d; fi; done; \
	rm -rf $$src; mkdir -p $$src; \
	git ls-files -z -co --exclude-standard | tar --null -T - --ignore-failed-read -cf - | tar -xf - -C $$src; \
	if [ -d web/node_modules ]; then cp -a web/node_modules $$src/web/; rm -rf $$keep/web; fi; \
	(cd $$keep && find . -mindepth 1 -maxdepth 2 \( -name "$$obj" -o -name node_modules \) -prune -print) | \
	  while read -r d; do mv $$keep/$$d $$src/$$d; done; \
	cd $$src && DEB_BUILD_OPTIONS="parallel=$(JOBS) $$DEB_BUILD_OPTIONS" dpkg-buildpackage -us -uc -b -nc
	lintian --fail-on error,warning --info $(DEB_DIR)/*.changes

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(RELEASE_BUILD) $(FUZZ_BUILD)
