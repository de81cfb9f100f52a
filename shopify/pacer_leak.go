package shopify

import "time"

// planLeak is the leak of every Shopify plan, a twentieth of its bucket
// per second (40 → 2/s, 80 → 4/s, 400 → 20/s): the estimate until the
// answers say otherwise.
func planLeak(size int) float64 { return float64(size) / 20 }

// leakEstimator learns how fast the bucket leaks for us, from the
// call-limit headers of successive answers.
//
// Between two answers (t1, used u1) and (t2, used u2) with exactly one
// request of ours counted in between, the bucket leaked u1 + 1 − u2 in
// t2 − t1, if it did not run empty meanwhile. Answers linked that way
// make a run; over a run, what leaked between any two of its answers is
// the requests of ours counted in between, less the rise in used.
// Requests of other clients of the app look like a smaller leak: the
// estimate is the leak left to us, which is what to pace to.
//
// The header rounds the level up to a whole request, so what leaked
// between two answers is known to within one request either way; over a
// run, the rounding of the answers between its ends cancels out. The
// estimate is the ratio of the runs' leaks, each less the one request its
// two ends may be off by, to their times, summed over a window of the
// last leakWindow requests' worth of leak (within [minLeakWindow,
// maxLeakWindow]), so that a leak that changes is followed within the
// window. Taking the request off makes the estimate err low: a low
// estimate costs little (the mirror is corrected at every answer, and the
// room that leaked meanwhile is used at once), a high one costs 429s.
//
// Runs shorter than minLeakRun are left out: they come when the bucket
// keeps running empty, where the leak does not hold us back, and would be
// mostly rounding. Until the window holds leakEvidence requests' worth of
// leak, or minLeakWindow of runs, the estimate is the plan's; it never
// falls below a tenth of it, so that a bucket taken whole by other clients
// for a while does not stall us for minutes.
type leakEstimator struct {
	prior  float64
	est    float64
	points []leakPoint // oldest first
	last   time.Time   // the previous answer; zero before the first
	ours   int         // requests of ours counted since the run began
}

// leakPoint is an answer in a run: y is the requests of ours counted since
// the run began less the answer's used, so that between two answers of a
// run the bucket leaked the rise in y.
type leakPoint struct {
	at    time.Time
	y     float64
	first bool // begins a run
}

const (
	leakWindow    = 16 // requests' worth of leak in the window
	minLeakWindow = 4 * time.Second
	maxLeakWindow = 30 * time.Second
	leakEvidence  = 4 // requests' worth of leak before the estimate replaces the plan's
	minLeakRun    = time.Second
	maxLeakPoints = 1024
)

// reset starts learning again from prior, the plan's leak.
func (e *leakEstimator) reset(prior float64) {
	*e = leakEstimator{prior: prior, est: prior, points: e.points[:0]}
}

// rate is the estimate in requests/s.
func (e *leakEstimator) rate() float64 { return e.est }

// add takes an answer at now reporting used, after added requests of ours
// (1, or 0 for a 429) since the previous answer. linked says the two
// answers are in one run: exactly one request of ours went between them
// and the bucket did not run empty.
func (e *leakEstimator) add(now time.Time, used, added int, linked bool) {
	linked = linked && !e.last.IsZero() && now.After(e.last)
	if linked {
		e.ours += added
	} else {
		e.ours = 0
	}
	e.last = now
	e.points = append(e.points, leakPoint{at: now, y: float64(e.ours - used), first: !linked})

	window := time.Duration(leakWindow / e.est * float64(time.Second))
	window = min(max(window, minLeakWindow), maxLeakWindow)
	drop := 0
	for drop < len(e.points) && (now.Sub(e.points[drop].at) > window || len(e.points)-drop > maxLeakPoints) {
		drop++
	}
	e.points = append(e.points[:0], e.points[drop:]...)
	if len(e.points) > 0 {
		e.points[0].first = true
	}
	e.estimate()
}

// breakRun ends the current run: the next answer begins a new one.
func (e *leakEstimator) breakRun() { e.last = time.Time{} }

// estimate sets est from the points in the window.
func (e *leakEstimator) estimate() {
	var leaked, secs float64
	begin := 0
	for i := range e.points {
		if i+1 < len(e.points) && !e.points[i+1].first {
			continue
		}
		first, last := e.points[begin], e.points[i]
		begin = i + 1
		if span := last.at.Sub(first.at).Seconds(); span >= minLeakRun.Seconds() {
			leaked += last.y - first.y - 1 // the rounding at the run's two ends
			secs += span
		}
	}
	if secs == 0 || (leaked < leakEvidence-1 && secs < minLeakWindow.Seconds()) {
		return // too little evidence: keep the estimate
	}
	e.est = max(leaked/secs, e.prior/10)
}
