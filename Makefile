# Convenience targets; the scripts are the source of truth (README.md).
.PHONY: run test build release package bench clean
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
build:
	swift build
# Every build names its commit in `imagegate --version` (the GitCommitStamp plugin, Docs/operations.md).
release:
	swift build -c release --product imagegate
package:
	bash scripts/package-deb.sh
bench:
	bash bench/run.sh
clean:
	rm -rf .build
