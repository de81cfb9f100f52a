// Package corpus locates the corpus of real Shopify payloads kept in
// testdata/shopify at the repository root, so that tests in any package can
// read the same files. SOURCES.md there says where each file comes from,
// EXPECT.md what a correct sync stores from it, FACTS.md the documented
// behaviour the files illustrate.
package corpus

import (
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the absolute path of testdata/shopify. It is found from the
// location of this source file, so it does not depend on the working
// directory of the test that calls it. A binary built with -trimpath has no
// absolute source path, and Dir panics there rather than guess.
func Dir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		panic("corpus: no absolute source path for corpus.go (built with -trimpath?)")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "shopify")
}

// Files returns the corpus files matching glob, a filepath.Match pattern
// relative to Dir such as "webhooks/customers_update/*.json", in lexical
// order. It fails tb when the pattern is malformed or matches nothing, so a
// renamed file cannot silently empty a table test.
func Files(tb testing.TB, glob string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(Dir(), filepath.FromSlash(glob)))
	if err != nil {
		tb.Fatalf("corpus.Files(%q): %v", glob, err)
	}
	if len(files) == 0 {
		tb.Fatalf("corpus.Files(%q): no file matches", glob)
	}
	return files
}
