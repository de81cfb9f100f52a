package audience

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/marketing"
	"github.com/shopsync/shopsync/store"
)

// Format is the form of an export.
type Format string

// The formats.
const (
	JSONL    Format = "jsonl"     // one JSON object a line, as the CRM sees the contact
	CSV      Format = "csv"       // a header of the CRM's field names, then a row a contact
	CSVExcel Format = "csv-excel" // CSV that Excel and LibreOffice read: a byte-order mark, long numbers as text
)

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case JSONL, CSV, CSVExcel:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want jsonl, csv or csv-excel", s)
}

// ContentType is the format's media type, for a download.
func (f Format) ContentType() string {
	if f == JSONL {
		return "application/jsonl; charset=utf-8"
	}
	return "text/csv; charset=utf-8"
}

// Ext is the format's file extension.
func (f Format) Ext() string {
	if f == JSONL {
		return "jsonl"
	}
	return "csv"
}

// ExportRequest says what to export and how.
type ExportRequest struct {
	Segment string            // a segment's name; "" for every active contact
	For     marketing.Channel // a marketing purpose: only contacts that may receive it; "" for none
	Format  Format
}

// ExportReport is what an export wrote.
type ExportReport struct {
	Rows      int64             `json:"rows"`
	Marketing *marketing.Report `json:"marketing,omitempty"` // with a marketing purpose: what was left out, and why
}

// Export writes the contacts req asks for to w, as the CRM sees them (the
// mapping's projection): in Shopify id order, or with a marketing purpose
// one contact per address, in address order. It streams from one read
// transaction, so memory does not grow with the store; an error after the
// first bytes can only cut the output short.
func (s *Service) Export(ctx context.Context, w io.Writer, req ExportRequest) (ExportReport, error) {
	var rep ExportReport
	query := ""
	if req.Segment != "" {
		seg, err := s.Segment(ctx, req.Segment)
		if err != nil {
			return rep, err
		}
		query = seg.Query
	}
	now := s.opts.Now()
	f, err := s.filter(query, now)
	if err != nil {
		return rep, err
	}
	var rule marketing.Rule
	if req.For != "" {
		if rule, err = s.rule(req.For); err != nil {
			return rep, err
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	write, finish, err := s.writer(bw, req.Format, now)
	if err != nil {
		return rep, err
	}
	each := func(c *shopsync.Contact) error {
		rep.Rows++
		return write(c)
	}
	if req.For == "" {
		err = s.db.EachContact(ctx, store.Scan{Filter: f}, func(c *shopsync.Contact, _ bool) error { return each(c) })
	} else {
		el := marketing.NewEligibility(rule, each)
		err = s.db.EachContact(ctx, audienceScan(rule, f), func(c *shopsync.Contact, member bool) error {
			if member {
				return el.Add(c)
			}
			return el.AddHolder(c)
		})
		if err == nil {
			err = el.Flush()
		}
		r := el.Report()
		rep.Marketing = &r
	}
	if err == nil {
		err = finish()
	}
	if err != nil {
		return rep, err
	}
	return rep, bw.Flush()
}

// audienceScan is what a marketing list of channel rule reads: every
// contact of the segment f (marked), so that the rule counts what it
// leaves out, and every other contact holding one of their addresses
// (unmarked), so that a customer who unsubscribed under a record outside
// the segment is not reached through one in it; in address order.
func audienceScan(rule marketing.Rule, f store.Filter) store.Scan {
	orderBy, orderArgs := rule.OrderBy()
	scan := store.Scan{Filter: f, OrderBy: orderBy, OrderArgs: orderArgs}
	if f.Where == "" {
		return scan // every contact: each holder is in it
	}
	key, keyArgs := rule.KeySQL()
	scan.Mark = &f
	scan.Filter = store.Filter{
		Where: `(` + f.Where + `) OR (` + key + `) IN (SELECT ` + key + ` FROM contacts WHERE deleted_at IS NULL AND (` + f.Where + `))`,
		Args:  slices.Concat(f.Args, keyArgs, keyArgs, f.Args),
	}
	return scan
}

// writer writes the header of format to w, and returns what writes one
// contact and what ends the output.
func (s *Service) writer(w *bufio.Writer, format Format, now time.Time) (write func(*shopsync.Contact) error, finish func() error, err error) {
	var rec mapping.Record
	switch format {
	case JSONL:
		var buf []byte
		write = func(c *shopsync.Contact) error {
			var err error
			if rec, err = s.proj.Append(rec[:0], c, now); err != nil {
				return err
			}
			buf = append(rec.AppendJSON(buf[:0]), '\n')
			_, err = w.Write(buf)
			return err
		}
		return write, func() error { return nil }, nil
	case CSV, CSVExcel:
		opts := csvOptions{excel: format == CSVExcel}
		if opts.excel {
			if _, err := w.WriteString(utf8BOM); err != nil {
				return nil, nil, err
			}
		}
		cw := csv.NewWriter(w)
		if err := cw.Write(csvRow(slices.Clone(s.proj.Header()), opts)); err != nil {
			return nil, nil, err
		}
		var cells []string
		write = func(c *shopsync.Contact) error {
			var err error
			if rec, err = s.proj.Append(rec[:0], c, now); err != nil {
				return err
			}
			cells = rec.Cells(cells[:0])
			return cw.Write(csvRow(cells, opts))
		}
		finish = func() error {
			cw.Flush()
			return cw.Error()
		}
		return write, finish, nil
	}
	return nil, nil, fmt.Errorf("format %q: want jsonl, csv or csv-excel", format)
}
