#!/usr/bin/env bash
# make vulncheck: govulncheck, pinned as a tool in go.mod, over every
# package, against the Go vulnerability database. The public database
# (vuln.go.dev) may be unreachable; the module proxy serves the same
# reports as the module golang.org/x/vulndb, which scripts/vulndb turns
# into the layout govulncheck reads with -db file://. Exit status 3 means
# vulnerable code is called.
#
#   VULNDB=v0.0.0-2026...  make vulncheck    a given database version (default: latest)
#   GOVERSION=go1.26.8     make vulncheck    report for another Go release's standard library
set -euo pipefail
cd "$(dirname "$0")/.."

db=bin/vulndb
go mod download -json "golang.org/x/vulndb@${VULNDB:-latest}" | go run ./scripts/vulndb -out "$db"
go tool govulncheck -db "file://$PWD/$db" "${@:-./...}"
