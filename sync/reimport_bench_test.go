package sync_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
	ssync "github.com/shopsync/shopsync/sync"
)

// BenchmarkReimport measures ApplyPage for the nightly import of a shop
// already stored: 50,000 mapped customers, pages of 250, into a store that
// holds them. "unchanged": the same customers again, nothing written.
// "changed": every customer's note differs from the stored one (two
// versions applied in turn), every row rewritten. Mapping is done before
// the clock starts: this is the store's side of an import.
//
//	go test -run '^$' -bench Reimport -benchtime 5x ./sync/
func BenchmarkReimport(b *testing.B) {
	const n = 50_000
	customers := benchCustomers(b, n)
	mapper, _ := mapping.New(mapping.Config{})
	ctx := context.Background()
	version := func(note string) []shopsync.Contact {
		out := make([]shopsync.Contact, n)
		for i := range customers {
			c := customers[i]
			if note != "" {
				c.Note = shopify.Some(note)
			}
			var err error
			if out[i], err = mapper.Contact(&c); err != nil {
				b.Fatal(err)
			}
		}
		return out
	}
	a, alt := version(""), version("changed by the benchmark")

	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "reimport.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	release, err := db.LockSync()
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	fetched := time.Now()
	importAll := func(b *testing.B, contacts []shopsync.Contact) shopsync.PageCounts {
		b.Helper()
		run, _, err := db.BeginRun(ctx, shopsync.TriggerCLI)
		if err != nil {
			b.Fatal(err)
		}
		fetched = fetched.Add(time.Second) // each import reads later than the last
		var total shopsync.PageCounts
		after := int64(0)
		for i := 0; i < n; i += ssync.PageSize {
			page := contacts[i:min(i+ssync.PageSize, n)]
			last := page[len(page)-1].ShopifyID
			counts, err := db.ApplyPage(ctx, run, after, last, fetched, page)
			if err != nil {
				b.Fatal(err)
			}
			total.Created += counts.Created
			total.Updated += counts.Updated
			total.Unchanged += counts.Unchanged
			after = last
		}
		if _, err := db.FinishImport(ctx, run, fetched); err != nil {
			b.Fatal(err)
		}
		return total
	}
	importAll(b, a)

	b.Run("unchanged", func(b *testing.B) {
		for b.Loop() {
			if got := importAll(b, a); got.Unchanged != n {
				b.Fatalf("re-import of the same customers: %+v, want %d unchanged", got, n)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "customers/s")
	})
	b.Run("changed", func(b *testing.B) {
		i := 0
		for b.Loop() {
			next := alt
			if i%2 == 1 {
				next = a
			}
			i++
			if got := importAll(b, next); got.Updated != n {
				b.Fatalf("re-import of changed customers: %+v, want %d updated", got, n)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "customers/s")
	})
}
