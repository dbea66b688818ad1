# Convenience targets; the scripts are the source of truth (README.md).
.PHONY: run test build release package bench clean
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
build:
	swift build
# The commit goes into `imagegate --version` (scripts/build-flags.sh; a new commit rebuilds everything).
release:
	swift build -c release --product imagegate $$(scripts/build-flags.sh)
package:
	bash scripts/package-deb.sh
bench:
	bash bench/run.sh
clean:
	rm -rf .build
