package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/store"
)

// activeIDs returns the ids of the active contacts.
func activeIDs(t *testing.T, db *store.DB) map[int64]bool {
	t.Helper()
	ids := map[int64]bool{}
	if err := db.ExportContacts(context.Background(), func(c *shopsync.Contact) error {
		ids[c.ShopifyID] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestApplyBulkLateContactIsNotDeleted applies a bulk file out of id
// order: a page leaves out a stored contact that comes later in the file
// (its range is applied, so it is noted missing); applied late, it is
// struck from the missing ones and survives FinishImport, while a contact
// the file never had is deleted as a REST import would.
func TestApplyBulkLateContactIsNotDeleted(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	t0 := time.Date(2024, 4, 2, 14, 23, 53, 0, time.UTC)
	run, _ := beginRun(t, db)
	if _, err := db.ApplyPage(ctx, run, 0, 40, t0, []shopsync.Contact{
		contact(10, "a@example.com", t0, 1), contact(20, "b@example.com", t0, 1), contact(30, "c@example.com", t0, 1),
		contact(40, "d@example.com", t0, 1),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishImport(ctx, run, t0); err != nil {
		t.Fatal(err)
	}

	run, cp := beginRun(t, db)
	if err := db.BeginBulkImport(ctx, run); err != nil {
		t.Fatal(err)
	}
	created := t0.Add(time.Hour)
	if err := db.SetBulkOperation(ctx, run.ImportID, "gid://shopify/BulkOperation/1", created, 4); err != nil {
		t.Fatal(err)
	}
	// First chunk of the file: 10, 30 (20 comes later; 40 is gone).
	counts, err := db.ApplyBulk(ctx, run, shopsync.BulkBatch{
		Pages: []shopsync.ImportPage{{After: cp, Last: 30, Fetched: created,
			Contacts: []shopsync.Contact{contact(10, "a@example.com", t0, 1), contact(30, "c@example.com", t0, 1)}}},
		Lines: 2, Bytes: 100,
	})
	if err != nil || counts.Unchanged != 2 {
		t.Fatalf("first batch: %+v, %v", counts, err)
	}
	job, ok, err := db.BulkJob(ctx, run.ImportID)
	if err != nil || !ok || job.Lines != 2 || job.Bytes != 100 || job.OperationID != "gid://shopify/BulkOperation/1" ||
		!job.CreatedAt.Equal(created) || job.Expected != 4 {
		t.Fatalf("bulk job %+v, %v, %v", job, ok, err)
	}
	// Second chunk: 20, late, with a newer email.
	newer := contact(20, "b2@example.com", t0.Add(time.Minute), 1)
	if counts, err = db.ApplyBulk(ctx, run, shopsync.BulkBatch{Late: []shopsync.Contact{newer}, Fetched: created,
		Lines: 3, Bytes: 150}); err != nil || counts.Updated != 1 {
		t.Fatalf("late batch: %+v, %v", counts, err)
	}
	deleted, err := db.FinishImport(ctx, run, created)
	if err != nil || deleted != 1 {
		t.Fatalf("finish: deleted %d, %v; want 1 (contact 40)", deleted, err)
	}
	ids := activeIDs(t, db)
	if !ids[10] || !ids[20] || !ids[30] || ids[40] {
		t.Fatalf("active %v, want 10, 20, 30", ids)
	}
	if c, err := db.Contact(ctx, 20); err != nil || *c.Email != "b2@example.com" {
		t.Fatalf("late contact %v, %v", c, err)
	}
	got, err := db.Run(ctx, run.ID)
	if err != nil || got.Engine != shopsync.EngineBulk || got.Fetched != 3 {
		t.Fatalf("run %+v, %v", got, err)
	}
}

// TestRestartImportDeletesNothing gives up a bulk import whose pages noted
// contacts missing (a short file): nothing is deleted, the run moves to a
// new import from the first customer, and that import's completion alone
// decides deletions.
func TestRestartImportDeletesNothing(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	t0 := time.Date(2024, 4, 2, 14, 23, 53, 0, time.UTC)
	run, _ := beginRun(t, db)
	all := []shopsync.Contact{contact(10, "a@example.com", t0, 1), contact(20, "b@example.com", t0, 1), contact(30, "c@example.com", t0, 1)}
	if _, err := db.ApplyPage(ctx, run, 0, 30, t0, all); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishImport(ctx, run, t0); err != nil {
		t.Fatal(err)
	}
	run, _ = beginRun(t, db)
	if err := db.BeginBulkImport(ctx, run); err != nil {
		t.Fatal(err)
	}
	old := run.ImportID
	// A short file: 20 is missing from its range.
	if _, err := db.ApplyBulk(ctx, run, shopsync.BulkBatch{Pages: []shopsync.ImportPage{{After: 0, Last: 30, Fetched: t0,
		Contacts: []shopsync.Contact{all[0], all[2]}}}, Lines: 2, Bytes: 10}); err != nil {
		t.Fatal(err)
	}
	if err := db.RestartImport(ctx, run, shopsync.EngineREST); err != nil {
		t.Fatal(err)
	}
	if run.ImportID == old || run.Engine != shopsync.EngineREST {
		t.Fatalf("run after restart %+v", run)
	}
	if _, ok, _ := db.BulkJob(ctx, run.ImportID); ok {
		t.Fatal("a REST import has a bulk job")
	}
	if _, err := db.ApplyPage(ctx, run, 0, 30, t0, all); err != nil {
		t.Fatal(err)
	}
	if deleted, err := db.FinishImport(ctx, run, t0); err != nil || deleted != 0 {
		t.Fatalf("finish: deleted %d, %v", deleted, err)
	}
	if ids := activeIDs(t, db); len(ids) != 3 {
		t.Fatalf("active %v", ids)
	}
	// The next run starts a new import: the given-up one is closed.
	next, cp := beginRun(t, db)
	if next.Resumed || cp != 0 {
		t.Fatalf("next run %+v, checkpoint %d", next, cp)
	}
}
