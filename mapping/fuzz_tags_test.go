package mapping_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shopsync/shopsync/mapping"
)

// FuzzSplitTags adds what FuzzContact lacks: SplitTags on its own, with
// the property that makes re-imports stable: joining the tags as Shopify
// writes them (", ") and splitting again gives the same list, and no
// non-space byte of the input is lost or invented.
func FuzzSplitTags(f *testing.F) {
	for _, s := range []string{
		"", ",", " , ,", "a", "Léon, Noël", " a ,, b ", "\u00a0,\u3000x\u2028", "a,a,A",
		"\xff,\xfe x", "tag with spaces,  trailing ,", strings.Repeat("x,", 300),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags := mapping.SplitTags(s)
		if tags == nil {
			t.Fatal("got nil, want a non-nil list")
		}
		for _, tag := range tags {
			if tag == "" || tag != strings.TrimSpace(tag) || strings.Contains(tag, ",") {
				t.Fatalf("SplitTags(%q): entry %q", s, tag)
			}
		}
		if again := mapping.SplitTags(strings.Join(tags, ", ")); !slices.Equal(again, tags) {
			t.Fatalf("SplitTags(%q) = %q, but split again after joining: %q", s, tags, again)
		}
		squash := func(s string) string {
			return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ',' || strings.TrimSpace(string(r)) == "" }), "")
		}
		var content strings.Builder // tag by tag: bytes of two tags must not merge into a rune
		for _, tag := range tags {
			content.WriteString(squash(tag))
		}
		if got, want := content.String(), squash(s); got != want {
			t.Fatalf("SplitTags(%q) = %q: content %q, want %q", s, tags, got, want)
		}
	})
}
