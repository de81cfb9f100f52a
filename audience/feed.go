package audience

import (
	"context"
	"fmt"
	gosync "sync"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/segment"
	"github.com/shopsync/shopsync/store"
)

// The change feed's view of audiences (issue 19): an event carries its
// contact as the CRM sees it, and a contact entering or leaving a saved
// segment is an event, computed by the same segment definitions that
// count and export it.

// EventContact encodes contact c, as of an event at time at, as the CRM
// sees it: the mapping's projection, in the JSON of a JSON lines export,
// with computed values (days_since_created) as of the event, so that a
// replay sends what the first delivery did. It is the change feed's
// projection (store.DB.SetProjection).
func (s *Service) EventContact(c *shopsync.Contact, at time.Time) ([]byte, error) {
	r, err := s.proj.Project(c, at)
	if err != nil {
		return nil, err
	}
	return r.AppendJSON(nil), nil
}

// compiledSegment is a saved segment, compiled.
type compiledSegment struct {
	name string
	seg  *segment.Segment
}

// compileSaved compiles the saved segments against the mapping. One that
// no longer compiles (it names an attribute the mapping stopped keeping)
// is left out, with its error.
func (s *Service) compileSaved(saved []store.SavedSegment) ([]compiledSegment, []error) {
	var (
		out  []compiledSegment
		errs []error
	)
	for _, ss := range saved {
		seg, err := s.compiler.Parse(ss.Query)
		if err != nil {
			errs = append(errs, fmt.Errorf("segment %s: %w", ss.Name, err))
			continue
		}
		out = append(out, compiledSegment{ss.Name, seg})
	}
	return out, errs
}

// SegmentHook returns the change feed's segment hook for the saved
// segments (store.DB.SetSegmentHook): with each change to a contact it
// reports the saved segments the contact joined or left, by evaluating
// each on the contact before and after the change at the change's time
// (segment.Segment.Match, the meaning of the segment's SQL). A contact
// deleted, or not yet stored, is in none. A saved segment that no longer
// compiles against the mapping is left out, and its error returned in
// errs. Nil when no segment is left: a change reports nothing.
func (s *Service) SegmentHook(saved []store.SavedSegment) (hook store.SegmentHook, errs []error) {
	segs, errs := s.compileSaved(saved)
	if len(segs) == 0 {
		return nil, errs
	}
	return func(before, after *shopsync.Contact, now time.Time) []shopsync.SegmentChange {
		var out []shopsync.SegmentChange
		for _, cs := range segs {
			was := before != nil && before.DeletedAt == nil && cs.seg.Match(before, now)
			is := after.DeletedAt == nil && cs.seg.Match(after, now)
			if was != is {
				out = append(out, shopsync.SegmentChange{Segment: cs.name, Joined: is})
			}
		}
		return out
	}, errs
}

// segmentsRecheck is how often InSegment asks the store whether the
// saved segments changed.
const segmentsRecheck = time.Second

// savedCache holds the saved segments, compiled, for InSegment, with the
// store's count of their changes when they were read.
type savedCache struct {
	mu      gosync.Mutex
	loaded  bool
	gen     int64
	checked time.Time
	segs    map[string]*segment.Segment
}

// InSegment reports whether contact c, as of an event at at, is in the
// saved segment called name: for the outbound endpoints limited to a
// segment (outbound.Config.InSegment). As in Segment.Match, deletion is
// not looked at, so a member's contact.deleted reaches such an endpoint
// (and the segment.left that follows it). The saved segments are read
// again when they changed, which is asked of the store at most once a
// second (store.DB.SegmentsGeneration). A name not saved, or whose
// segment no longer compiles, holds no contact.
func (s *Service) InSegment(name string, c *shopsync.Contact, at time.Time) bool {
	seg := s.savedSegment(name)
	return seg != nil && seg.Match(c, at)
}

// savedSegment returns the saved segment name, compiled, reading the
// saved segments again when they changed; nil when there is none.
func (s *Service) savedSegment(name string) *segment.Segment {
	sc := s.saved
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if !sc.loaded || time.Since(sc.checked) >= segmentsRecheck {
		sc.refresh(s)
	}
	return sc.segs[name]
}

// refresh reads the saved segments again if they changed. A store that
// does not answer keeps the segments read last.
func (sc *savedCache) refresh(s *Service) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gen, err := s.db.SegmentsGeneration(ctx)
	if err != nil {
		return
	}
	sc.checked = time.Now()
	if sc.loaded && gen == sc.gen {
		return
	}
	saved, err := s.db.SavedSegments(ctx)
	if err != nil {
		return
	}
	segs, _ := s.compileSaved(saved) // the segment hook reports those that fail
	sc.segs = make(map[string]*segment.Segment, len(segs))
	for _, cs := range segs {
		sc.segs[cs.name] = cs.seg
	}
	sc.gen, sc.loaded = gen, true
}
