# Test entry points. See scripts/test.sh for details.
#
#   make test                                  servers + gofmt + vet + go test
#   make test TESTFLAGS='-run TestS3 -v'       extra go test flags
#   make check                                 gofmt + go vet only
#   make testenv                               start MinIO/Azurite, print exports, wait for Ctrl-C

# Extra flags for `go test` (replace the default, they are not appended).
TESTFLAGS ?= -race -timeout 30m
export TESTFLAGS

.PHONY: test check testenv

test:
	bash scripts/test.sh

check:
	bash scripts/test.sh --check

testenv:
	bash scripts/test.sh --env-only
