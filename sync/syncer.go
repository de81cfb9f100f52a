package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/shopsync/shopsync"
)

// Syncer is the daemon's single flight of full imports: the "Sync now"
// button and the schedule call Trigger, which starts a run unless one is
// going — here, or in another process on the same store — and then
// answers with that run. Runs use the daemon's context, never a request's.
type Syncer struct {
	im     *Importer
	ctx    context.Context
	logger *slog.Logger

	// OnFinish, when set before the first Trigger, is called after every
	// run with its final record and error.
	OnFinish func(*shopsync.SyncRun, error)

	mu      gosync.Mutex
	current *shopsync.SyncRun // the run this process is doing; nil when idle
	done    chan struct{}     // closed when current ends
	wg      gosync.WaitGroup
}

// NewSyncer returns a Syncer whose runs live as long as ctx.
func NewSyncer(ctx context.Context, im *Importer, logger *slog.Logger) *Syncer {
	return &Syncer{im: im, ctx: ctx, logger: logger.With("component", "syncer")}
}

// Trigger starts a full import, or returns the run already going with
// started false. The run continues after Trigger returns; Wait waits for it.
func (s *Syncer) Trigger(trigger shopsync.Trigger) (run *shopsync.SyncRun, started bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current != nil {
		cur := *s.current
		return &cur, false, nil
	}
	if err := s.ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("shutting down: %w", err)
	}
	run, perform, err := s.im.Begin(s.ctx, trigger)
	var busy *RunningError
	if errors.As(err, &busy) {
		if busy.Run == nil {
			return nil, false, busy
		}
		return busy.Run, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	s.current = run
	done := make(chan struct{})
	s.done = done
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		final, err := s.finish(perform)
		s.mu.Lock()
		s.current = nil
		s.mu.Unlock()
		if s.OnFinish != nil {
			s.OnFinish(final, err)
		}
	}()
	cur := *run
	return &cur, true, nil
}

// finish performs the import Begin claimed, turning a panic into a failed
// run: one bad run never stops the daemon or later runs.
func (s *Syncer) finish(perform func() (*shopsync.SyncRun, error)) (run *shopsync.SyncRun, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sync run panicked: %v", p)
			s.logger.Error("sync run panicked", "error", err)
		}
	}()
	return perform()
}

// Running returns the run this process is doing, if any.
func (s *Syncer) Running() (*shopsync.SyncRun, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == nil {
		return nil, false
	}
	cur := *s.current
	return &cur, true
}

// WaitRun waits until the run this process is doing, if any, ends, or ctx
// is done.
func (s *Syncer) WaitRun(ctx context.Context) error {
	s.mu.Lock()
	done := s.done
	cur := s.current
	s.mu.Unlock()
	if cur == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait waits for every run started to end (after the daemon's context is
// cancelled, a run stops at its next page; its checkpoint stays).
func (s *Syncer) Wait() { s.wg.Wait() }

// RunAndWait triggers a run and waits for it, for the schedule. It returns
// the run (one already going when started is false).
func (s *Syncer) RunAndWait(trigger shopsync.Trigger) (*shopsync.SyncRun, bool, error) {
	run, started, err := s.Trigger(trigger)
	if err != nil || !started {
		return run, started, err
	}
	ctx, cancel := context.WithTimeout(s.ctx, 24*time.Hour)
	defer cancel()
	return run, started, s.WaitRun(ctx)
}
