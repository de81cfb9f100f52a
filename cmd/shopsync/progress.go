package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/shopsync/shopsync"
)

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar draws a one-line progress bar, at most ten times a second.
type progressBar struct {
	w     io.Writer
	start time.Time

	mu    sync.Mutex
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer) *progressBar {
	return &progressBar{w: w, start: time.Now()}
}

func (p *progressBar) update(run shopsync.SyncRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && run.Fetched < run.Total {
		return
	}
	p.last = now
	p.drawn = true
	fmt.Fprint(p.w, "\r\x1b[K"+progressLine(run, now.Sub(p.start)))
}

// finish ends the bar's line, so what follows starts on a fresh one.
func (p *progressBar) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// progressLine renders e.g. "[=====>      ] 12500/20000  62%  1234/s  ETA 6s";
// while Shopify builds a bulk import's file, "Shopify is preparing the
// file [===>    ] 340000/1000000  34%".
func progressLine(run shopsync.SyncRun, elapsed time.Duration) string {
	const width = 30
	if run.Engine == shopsync.EngineBulk && run.Fetched == 0 && run.State == shopsync.RunRunning {
		total := max(run.Total, run.Prepared)
		frac := 0.0
		if total > 0 {
			frac = float64(run.Prepared) / float64(total)
		}
		n := int(frac * width)
		bar := strings.Repeat("=", n)
		if n < width {
			bar += ">" + strings.Repeat(" ", width-n-1)
		}
		return fmt.Sprintf("Shopify is preparing the file [%s] %d/%d %3.0f%%", bar, run.Prepared, total, frac*100)
	}
	total := max(run.Total, run.Fetched)
	frac := 0.0
	if total > 0 {
		frac = float64(run.Fetched) / float64(total)
	}
	n := int(frac * width)
	bar := strings.Repeat("=", n)
	if n < width {
		bar += ">" + strings.Repeat(" ", width-n-1)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(run.Fetched) / s
	}
	eta := "?"
	if rate > 0 && total >= run.Fetched {
		eta = (time.Duration(float64(total-run.Fetched)/rate) * time.Second).Round(time.Second).String()
	}
	return fmt.Sprintf("[%s] %d/%d %3.0f%%  %.0f/s  ETA %s", bar, run.Fetched, total, frac*100, rate, eta)
}
