package server

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// handleExport downloads every active contact as CSV: ?excel=1 for the
// Excel-ready form (a byte-order mark, ids kept as text). The file is
// streamed; an error after the first bytes can only cut it short, so it
// is logged.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	if s.cfg.ExportCSV == nil {
		writeError(w, http.StatusNotFound, "export is not available")
		return
	}
	excel := r.URL.Query().Get("excel") == "1"
	name := "shopsync-contacts-" + strings.TrimSuffix(s.cfg.Shop, ".myshopify.com") + "-" + time.Now().UTC().Format("2006-01-02")
	if excel {
		name += "-excel"
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// The change feed's last event before the export: the export holds
	// every change up to it (and maybe some after, which following the
	// feed from it applies again, harmlessly).
	if _, last, err := s.cfg.Store.FeedBounds(r.Context()); err == nil {
		w.Header().Set("X-Shopsync-Change-Seq", strconv.FormatInt(last, 10))
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := s.cfg.ExportCSV(r.Context(), bw, excel); err != nil {
		s.logger.Error("export contacts", "error", err)
		return
	}
	if err := bw.Flush(); err != nil {
		s.logger.Debug("export contacts: client gone", "error", err)
	}
}
