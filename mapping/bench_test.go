package mapping_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
)

// pageSize is Shopify's largest REST page (limit=250).
const pageSize = 250

// benchPage returns a REST page body, {"customers":[...]}, of pageSize
// customers cycled from the fixtures, each with its own id.
func benchPage(b *testing.B) []byte {
	b.Helper()
	var fixtures []map[string]json.RawMessage
	for _, file := range fixtureFiles(b) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(readFixture(b, file), &m); err != nil {
			b.Fatal(err)
		}
		fixtures = append(fixtures, m)
	}
	customers := make([]map[string]json.RawMessage, pageSize)
	for i := range customers {
		m := map[string]json.RawMessage{}
		for k, v := range fixtures[i%len(fixtures)] {
			m[k] = v
		}
		id, err := json.Marshal(706405506930370084 + int64(i))
		if err != nil {
			b.Fatal(err)
		}
		m["id"] = id
		customers[i] = m
	}
	body, err := json.Marshal(map[string]any{"customers": customers})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

type page struct {
	Customers []shopify.Customer `json:"customers"`
}

func BenchmarkDecodeAndMap(b *testing.B) {
	body := benchPage(b)
	m := newMapper(b, mapping.Config{})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var p page
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&p); err != nil {
			b.Fatal(err)
		}
		if len(p.Customers) != pageSize {
			b.Fatalf("got %d customers, want %d", len(p.Customers), pageSize)
		}
		for i := range p.Customers {
			if _, err := m.Contact(&p.Customers[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)*pageSize/b.Elapsed().Seconds(), "customers/s")
}

func BenchmarkMap(b *testing.B) {
	var p page
	if err := json.Unmarshal(benchPage(b), &p); err != nil {
		b.Fatal(err)
	}
	m := newMapper(b, mapping.Config{})
	b.ReportAllocs()
	for b.Loop() {
		for i := range p.Customers {
			if _, err := m.Contact(&p.Customers[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)*pageSize/b.Elapsed().Seconds(), "customers/s")
}
