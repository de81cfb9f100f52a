package mapping_test

import (
	"testing"

	"github.com/shopsync/shopsync/mapping"
)

// BenchmarkProjection projects one contact with the SmartPush-style
// mapping (20 prefixed attributes and the email): the budget is 2 µs.
func BenchmarkProjection(b *testing.B) {
	m := newMapper(b, mapping.Config{})
	k, err := m.Contact(decode(b, readFixture(b, "customer_2024_04_rest.json")))
	if err != nil {
		b.Fatal(err)
	}
	k.Tags = append(k.Tags, "VIP")
	k.Phone = ptr("(613) 612-0707") // national: e164 does its work
	for _, bm := range []struct {
		name string
		cfg  mapping.ProjectionConfig
	}{
		{"smartpush", smartPush()},
		{"default", mapping.ProjectionConfig{}},
	} {
		p, err := mapping.NewProjection(bm.cfg, m.Attributes())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bm.name+"/project", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Project(&k, projNow); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bm.name+"/append", func(b *testing.B) {
			// The projection as an export and the change feed run it: into
			// a record they reuse.
			b.ReportAllocs()
			var r mapping.Record
			for b.Loop() {
				if r, err = p.Append(r[:0], &k, projNow); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bm.name+"/append+json", func(b *testing.B) {
			b.ReportAllocs()
			var r mapping.Record
			var buf []byte
			for b.Loop() {
				if r, err = p.Append(r[:0], &k, projNow); err != nil {
					b.Fatal(err)
				}
				buf = r.AppendJSON(buf[:0])
			}
		})
		b.Run(bm.name+"/append+csv", func(b *testing.B) {
			b.ReportAllocs()
			var r mapping.Record
			var cells []string
			for b.Loop() {
				if r, err = p.Append(r[:0], &k, projNow); err != nil {
					b.Fatal(err)
				}
				cells = r.Cells(cells[:0])
			}
		})
	}
}
