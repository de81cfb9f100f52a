package webhook

// An internal test: it watches the committer's queue (len(c.jobs)) to know
// when submitted changes are waiting, so that batching is shown without
// depending on timing.

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
)

// gatedApplier wraps an Applier, records each call's batch size, and holds
// the first call until release is closed.
type gatedApplier struct {
	next    Applier
	entered chan struct{} // closed when the first call starts
	release chan struct{}
	err     error // returned instead of applying, when set

	mu      gosync.Mutex
	batches []int
}

func newGatedApplier(next Applier) *gatedApplier {
	return &gatedApplier{next: next, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedApplier) ApplyChanges(ctx context.Context, changes []shopsync.Change) ([]shopsync.Result, error) {
	g.mu.Lock()
	first := len(g.batches) == 0
	g.batches = append(g.batches, len(changes))
	g.mu.Unlock()
	if first {
		close(g.entered)
		<-g.release
	}
	if g.err != nil {
		return nil, g.err
	}
	return g.next.ApplyChanges(ctx, changes)
}

func (g *gatedApplier) sizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.batches...)
}

// waitQueued waits until n submitted changes wait in the committer's queue.
func waitQueued(t *testing.T, c *Committer, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(c.jobs) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d changes queued, want %d", len(c.jobs), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func profileChange(id int64) shopsync.Change {
	email := fmt.Sprintf("c%d@example.com", id)
	k := shopsync.Contact{ShopifyID: id, Email: &email, Fields: shopsync.FieldEmail, Parts: shopsync.Set(shopsync.PartProfile)}
	k.Clocks[shopsync.PartProfile] = shopsync.Clock{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Kind: shopsync.ClockUpdatedAt}
	return shopsync.Change{Kind: shopsync.ChangeUpsert, ShopifyID: id, Contact: &k, Seen: k.Clocks[0].Time, Source: "test",
		Delivery: &shopsync.Delivery{WebhookID: fmt.Sprintf("w%d", id), Topic: shopify.TopicCustomersUpdate}}
}

// submitAll submits changes for ids concurrently and returns their results.
func submitAll(c *Committer, ids []int64) ([]shopsync.Result, []error, *gosync.WaitGroup) {
	res := make([]shopsync.Result, len(ids))
	errs := make([]error, len(ids))
	var wg gosync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { res[i], errs[i] = c.Submit(context.Background(), profileChange(id)) })
	}
	return res, errs, &wg
}

func TestCommitterBatchesConcurrentSubmits(t *testing.T) {
	ctx := context.Background()
	db := testutil.MustOpenDB(t)
	g := newGatedApplier(db)
	c := NewCommitter(g)
	defer c.Close()

	// The first change holds the commit; the other 63 gather meanwhile and
	// must share the next one.
	const n = 64
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(1<<53 + i + 1)
	}
	first, firstErr, wg1 := submitAll(c, ids[:1])
	<-g.entered
	res, errs, wg := submitAll(c, ids[1:])
	waitQueued(t, c, n-1)
	close(g.release)
	wg1.Wait()
	wg.Wait()

	res, errs = append(first, res...), append(firstErr, errs...)
	for i := range ids {
		if errs[i] != nil || res[i].Err != nil || res[i].Outcome != shopsync.OutcomeApplied || !res[i].Created {
			t.Errorf("submit %d: got %+v, %v; want applied and created", i, res[i], errs[i])
		}
		if _, err := db.Contact(ctx, ids[i]); err != nil {
			t.Errorf("contact %d after its result: %v", ids[i], err)
		}
	}
	if got := g.sizes(); len(got) != 2 || got[0] != 1 || got[1] != n-1 {
		t.Errorf("got batches %v, want [1 %d]: %d submits in 2 commits", got, n-1, n)
	}
}

func TestCommitterCloseDrains(t *testing.T) {
	db := testutil.MustOpenDB(t)
	g := newGatedApplier(db)
	c := NewCommitter(g)

	ids := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	first, firstErr, wg1 := submitAll(c, ids[:1])
	<-g.entered
	res, errs, wg := submitAll(c, ids[1:])
	waitQueued(t, c, len(ids)-1)

	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned before the submitted changes were committed")
	case <-time.After(20 * time.Millisecond):
	}
	close(g.release)
	<-closed
	wg1.Wait()
	wg.Wait()
	res, errs = append(first, res...), append(firstErr, errs...)
	for i := range ids {
		if errs[i] != nil || res[i].Outcome != shopsync.OutcomeApplied {
			t.Errorf("submit %d: got %+v, %v; want applied", i, res[i], errs[i])
		}
	}
	if active, _, _ := db.ContactCounts(context.Background()); active != int64(len(ids)) {
		t.Errorf("got %d contacts after Close, want %d", active, len(ids))
	}

	if _, err := c.Submit(context.Background(), profileChange(99)); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: got %v, want ErrClosed", err)
	}
	c.Close() // a second Close is harmless
	if _, err := db.Contact(context.Background(), 99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("change submitted after Close was applied: %v", err)
	}
}

func TestCommitterCommitFailureReachesEverySubmit(t *testing.T) {
	db := testutil.MustOpenDB(t)
	g := newGatedApplier(db)
	boom := errors.New("disk full")
	g.err = boom
	c := NewCommitter(g)
	defer c.Close()

	first, firstErr, wg1 := submitAll(c, []int64{1})
	<-g.entered
	_, errs, wg := submitAll(c, []int64{2, 3, 4})
	waitQueued(t, c, 3)
	close(g.release)
	wg1.Wait()
	wg.Wait()
	for i, err := range append(firstErr, errs...) {
		if !errors.Is(err, boom) {
			t.Errorf("submit %d: got %v, want the commit's error", i, err)
		}
	}
	if first[0].Outcome != "" {
		t.Errorf("failed commit reported outcome %q", first[0].Outcome)
	}
}
