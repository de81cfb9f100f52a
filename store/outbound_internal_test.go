package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
)

// TestEndpointState: an endpoint starts at the end of the feed; an
// acknowledgement moves it unless a resume or replay moved its generation
// meanwhile; a changed configuration resumes a paused endpoint; a replay
// before the feed's start is refused.
func TestEndpointState(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	email := "e@example.com"
	for id := int64(1); id <= 3; id++ {
		if err := db.update(ctx, func(tx *Tx) error {
			return tx.writeChange(ctx, nil, testRecord(shopsync.Contact{ShopifyID: id, Email: &email}), shopsync.SourceImport)
		}); err != nil {
			t.Fatal(err)
		}
	}
	e, err := db.OpenEndpoint(ctx, "crm", "cfg1")
	if err != nil || e.Cursor != 3 || e.Generation != 0 {
		t.Fatalf("new endpoint: %+v %v, want at 3", e, err)
	}
	if ok, err := db.PauseEndpoint(ctx, "crm", 0, "it failed"); !ok || err != nil {
		t.Fatalf("pause: %v %v", ok, err)
	}
	if e, _ = db.OpenEndpoint(ctx, "crm", "cfg1"); e.PausedAt == nil || e.PauseReason != "it failed" {
		t.Errorf("reopened with the same configuration: %+v, want still paused", e)
	}
	if e, _ = db.OpenEndpoint(ctx, "crm", "cfg2"); e.PausedAt != nil || e.Generation != 1 {
		t.Errorf("reopened with another configuration: %+v, want resumed, generation 1", e)
	}
	if ok, _ := db.AckEndpoint(ctx, "crm", 0, 3, 1); ok {
		t.Error("an acknowledgement of generation 0 moved generation 1")
	}
	if ok, err := db.AckEndpoint(ctx, "crm", 1, 2, 2); !ok || err != nil {
		t.Errorf("ack: %v %v", ok, err)
	}
	if ok, _ := db.EndpointFailing(ctx, "crm", 1, time.Unix(100, 0)); !ok {
		t.Error("failing")
	}
	if e, _ = db.EndpointState(ctx, "crm"); e.Cursor != 2 || e.Delivered != 2 || e.FailingSince == nil || e.LastSuccessAt == nil {
		t.Errorf("after ack and failure: %+v", e)
	}
	if e, err = db.ReplayEndpoint(ctx, "crm", 1); err != nil || e.Cursor != 0 || e.Generation != 2 || e.FailingSince != nil {
		t.Errorf("replay from 1: %+v %v", e, err)
	}
	if _, err := db.ReplayEndpoint(ctx, "crm", 5); err == nil {
		t.Error("replay from 5, past the next event: no error")
	}
	if _, err := db.ReplayEndpoint(ctx, "nobody", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("replay of an unknown endpoint: %v", err)
	}
	if _, err := db.PruneChanges(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var expired *CursorExpiredError
	if _, err := db.ReplayEndpoint(ctx, "crm", 2); !errors.As(err, &expired) || expired.Oldest != 4 {
		t.Errorf("replay of a pruned event: %v", err)
	}
	if e, err = db.ReplayEndpoint(ctx, "crm", 4); err != nil || e.Cursor != 3 {
		t.Errorf("replay from the feed's next event: %+v %v", e, err)
	}
	if e, err = db.ResumeEndpoint(ctx, "crm"); err != nil || e.Generation != 4 {
		t.Errorf("resume: %+v %v", e, err)
	}
	all, err := db.Endpoints(ctx)
	if err != nil || len(all) != 1 || all[0].Name != "crm" {
		t.Errorf("endpoints: %+v %v", all, err)
	}
}
