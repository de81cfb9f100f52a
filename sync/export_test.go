package sync

import "time"

// SetMinBulk lowers the shop size below which EngineAuto does not consider
// a bulk import, so that tests can exercise the choice on small shops.
func SetMinBulk(im *Importer, n int64) { im.minBulk = n }

// FastPolls makes the importer poll bulk jobs every few milliseconds and
// wait at most busy for jobs it did not start.
func FastPolls(im *Importer, busy time.Duration) {
	im.poll = pollTimes{min: 5 * time.Millisecond, max: 20 * time.Millisecond, busy: busy}
}

// ChooseBulk is chooseBulk.
var ChooseBulk = chooseBulk
