package segment_test

import (
	"testing"

	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/segment"
)

// newCompiler returns a Compiler for the default mapping's attributes.
func newCompiler(tb testing.TB) *segment.Compiler {
	tb.Helper()
	m, err := mapping.New(mapping.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := segment.NewCompiler(m.AttributeTypes())
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
