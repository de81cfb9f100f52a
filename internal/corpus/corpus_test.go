package corpus_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shopsync/shopsync/internal/corpus"
)

// walk returns every regular file under corpus.Dir, as slash paths relative
// to it.
func walk(tb testing.TB) []string {
	tb.Helper()
	var files []string
	err := filepath.WalkDir(corpus.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(corpus.Dir(), path)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// sources returns the paths SOURCES.md lists: the first cell of every table
// row, written as `path`, relative to corpus.Dir.
func sources(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open(filepath.Join(corpus.Dir(), "SOURCES.md"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var paths []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cell, ok := strings.CutPrefix(sc.Text(), "| `")
		if !ok {
			continue
		}
		path, _, ok := strings.Cut(cell, "`")
		if !ok {
			tb.Fatalf("SOURCES.md: unterminated path in %q", sc.Text())
		}
		paths = append(paths, path)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return paths
}

func TestDir(t *testing.T) {
	if !filepath.IsAbs(corpus.Dir()) {
		t.Fatalf("Dir() = %q, want an absolute path", corpus.Dir())
	}
	if got := corpus.Files(t, "rest/customers_ids_*.json"); len(got) != 1 {
		t.Errorf("Files(rest/customers_ids_*.json) = %q, want one file", got)
	}
}

func TestSourcesListsEveryFile(t *testing.T) {
	listed := make(map[string]bool)
	for _, p := range sources(t) {
		if listed[p] {
			t.Errorf("SOURCES.md lists %s twice", p)
		}
		listed[p] = true
		if _, err := os.Stat(filepath.Join(corpus.Dir(), filepath.FromSlash(p))); err != nil {
			t.Errorf("SOURCES.md lists %s: %v", p, err)
		}
	}
	for _, p := range walk(t) {
		if !strings.HasSuffix(p, ".md") && !listed[p] {
			t.Errorf("%s is not listed in SOURCES.md", p)
		}
	}
}

// TestPayloads checks that every .json file is one valid JSON value and that
// every number under an "id" or "…_id" key decodes exactly as an int64:
// Shopify ids pass 2^53 (706405506930370084), where float64 loses digits.
func TestPayloads(t *testing.T) {
	ids := 0
	for _, p := range walk(t) {
		if !strings.HasSuffix(p, ".json") {
			continue
		}
		t.Run(p, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpus.Dir(), filepath.FromSlash(p)))
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				t.Fatalf("data after the first JSON value (err %v)", err)
			}
			checkIDs(t, "", v, &ids)
		})
	}
	if ids == 0 {
		t.Fatal("no numeric id in the corpus: the id check tested nothing")
	}
}

func checkIDs(t *testing.T, key string, v any, ids *int) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			checkIDs(t, k, e, ids)
		}
	case []any:
		for _, e := range v {
			checkIDs(t, key, e, ids)
		}
	case json.Number:
		if key != "id" && !strings.HasSuffix(key, "_id") {
			return
		}
		*ids++
		n, err := strconv.ParseInt(v.String(), 10, 64)
		if err != nil || strconv.FormatInt(n, 10) != v.String() {
			t.Errorf("%q: %s is not an exact int64 (err %v)", key, v, err)
		}
	}
}
