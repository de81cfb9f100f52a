package segment_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopsync/shopsync/segment"
)

// TestDocs: the segments docs/audiences.md shows compile, and its table
// of built-in segments is Builtins.
func TestDocs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "audiences.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	c := newCompiler(t)

	start := strings.Index(doc, "**Three segments a merchant builds**")
	end := strings.Index(doc, "### How contacts look")
	if start < 0 || end < start {
		t.Fatal("docs/audiences.md: no merchant segments section")
	}
	blocks := strings.Split(doc[start:end], "```text\n")[1:]
	if len(blocks) != 3 {
		t.Fatalf("got %d merchant segments, want 3", len(blocks))
	}
	for _, b := range blocks {
		src := b[:strings.Index(b, "```")]
		if _, err := c.Parse(src); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}

	for _, b := range segment.Builtins() {
		row := "| `" + b.Name + "` | `" + b.Expr + "` |"
		if !strings.Contains(doc, row) && !strings.Contains(doc, "| `"+b.Name+"` | `"+b.Expr+"` (") {
			t.Errorf("docs/audiences.md lacks the row %s", row)
		}
	}
}
