package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
)

// likePattern makes q a LIKE pattern matching it anywhere, its own % and _
// taken literally.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// SearchContacts returns up to limit active contacts whose email, name
// (first, last, or both) or phone contains q, ignoring case and accents
// ("nguyen" finds "Nguyễn"; see Fold), most recently updated in Shopify
// first. Phones match ignoring spaces, dashes and brackets. A Shopify
// customer id (or its gid://shopify/Customer/ form, or an admin URL
// ending in it) finds that contact first. The search scans the contacts
// table, without attributes: it serves the status page's search box, not
// bulk reads.
func (db *DB) SearchContacts(ctx context.Context, q string, limit int) ([]*shopsync.Contact, error) {
	q = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1 // the haystack's separator is a control character
		}
		return r
	}, strings.TrimSpace(q))
	if q == "" {
		return nil, nil
	}
	pat := likePattern(Fold(q))
	phone := likePattern(strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(q))
	id := searchID(q)
	rows, err := db.read.QueryContext(ctx, contactSelect+` WHERE deleted_at IS NULL AND (
			shopify_id = ?4
			OR `+foldFunc+`(coalesce(email, '') || char(31) || coalesce(first_name, '') || ' ' || coalesce(last_name, '')
				|| char(31) || coalesce(last_name, '') || coalesce(first_name, '')) LIKE ?1 ESCAPE '\'
			OR replace(replace(replace(replace(phone, ' ', ''), '-', ''), '(', ''), ')', '') LIKE ?2 ESCAPE '\')
		ORDER BY shopify_id = ?4 DESC, shopify_updated_at DESC, shopify_id LIMIT ?3`, pat, phone, limit, id)
	if err != nil {
		return nil, fmt.Errorf("search contacts: %w", err)
	}
	defer rows.Close()
	var out []*shopsync.Contact
	for rows.Next() {
		c, err := db.scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("search contacts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// searchID is the Shopify customer id a search names: digits alone, the
// gid://shopify/Customer/{id} form, or a URL ending in /customers/{id}
// (the admin's address of a customer). 0 when q names none.
func searchID(q string) int64 {
	s := strings.TrimSuffix(q, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		rest := strings.ToLower(s[:i])
		if !strings.HasSuffix(rest, "/customer") && !strings.HasSuffix(rest, "/customers") {
			return 0
		}
		s = s[i+1:]
	}
	if s == "" || len(s) > 19 || strings.Trim(s, "0123456789") != "" {
		return 0
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// LastChange says when something was last changed, and by what: "import",
// "refetch", "reconcile" or a webhook topic.
type LastChange struct {
	At time.Time `json:"updated_at"`
	By string    `json:"changed_by"`
}

// ContactChanges tells when an active contact's row and each of its
// attributes last changed, and by what. ErrNotFound for unknown or
// deleted contacts.
func (db *DB) ContactChanges(ctx context.Context, id int64) (row LastChange, attrs map[string]LastChange, err error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return row, nil, fmt.Errorf("contact %d changes: %w", id, err)
	}
	defer tx.Rollback()
	var at, attrJSON, meta, types string
	err = tx.QueryRowContext(ctx, `SELECT updated_at, changed_by, attributes, attribute_meta, `+typesColumn+`
		FROM contacts WHERE shopify_id = ? AND deleted_at IS NULL`, id).
		Scan(&at, &row.By, &attrJSON, &meta, &types)
	if err == sql.ErrNoRows {
		return row, nil, ErrNotFound
	}
	if err != nil {
		return row, nil, fmt.Errorf("contact %d changes: %w", id, err)
	}
	if row.At, err = parseTime(at); err != nil {
		return row, nil, fmt.Errorf("contact %d changes: %w", id, err)
	}
	_, state, err := db.decodeAttributes(attrJSON, meta, types, at, row.By)
	if err != nil {
		return row, nil, fmt.Errorf("contact %d changes: %w", id, err)
	}
	changes := make(map[string]LastChange, len(state))
	for _, s := range state {
		t, err := parseTime(s.at)
		if err != nil {
			return row, nil, fmt.Errorf("contact %d changes: attribute %s: %w", id, s.name, err)
		}
		changes[s.name] = LastChange{At: t, By: s.by}
	}
	return row, changes, nil
}

// MergeRecord is a customers/merge the store received: MergedID was
// merged into KeptID at At (the delivery's trigger time).
type MergeRecord struct {
	KeptID   int64     `json:"kept_id"`
	MergedID int64     `json:"merged_id"`
	At       time.Time `json:"merged_at"`
}

// Merges returns the merges a customer took part in, kept or merged away,
// oldest first.
func (db *DB) Merges(ctx context.Context, id int64) ([]MergeRecord, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT kept_id, merged_id, merged_at FROM contact_merges
		WHERE kept_id = ?1 OR merged_id = ?1 ORDER BY merged_at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("merges of %d: %w", id, err)
	}
	defer rows.Close()
	var out []MergeRecord
	for rows.Next() {
		var (
			m  MergeRecord
			at string
		)
		if err := rows.Scan(&m.KeptID, &m.MergedID, &at); err != nil {
			return nil, fmt.Errorf("merges of %d: %w", id, err)
		}
		if m.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("merges of %d: %w", id, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
