# Convenience targets; the scripts are the source of truth (README.md).
.PHONY: run test build release bench clean
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
build:
	swift build
release:
	swift build -c release --product imagegate
bench:
	bash bench/run.sh
clean:
	rm -rf .build
