package sqlfunc_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/shopsync/shopsync/internal/contacttest"
	"github.com/shopsync/shopsync/sqlfunc"
)

// query runs one SELECT of a single value on a real SQLite connection
// with the functions registered.
func query(t *testing.T, db *sql.DB, q string, args ...any) any {
	t.Helper()
	var v any
	if err := db.QueryRow(q, args...).Scan(&v); err != nil {
		t.Fatalf("%s %v: %v", q, args, err)
	}
	return v
}

func TestDecCmp(t *testing.T) {
	db := contacttest.OpenDB(t)
	tests := []struct {
		name string
		a, b any
		want any
	}{
		{"text and text", "199.65", "100", int64(1)},
		{"equal scales differ", "100.00", "100", int64(0)},
		{"integer", int64(100), "100.00", int64(0)},
		{"real", 0.5, "0.50", int64(0)},
		{"negative", "-0.01", "0", int64(-1)},
		{"beyond float64", "100.000000000000001", "100", int64(1)},
		{"null", nil, "1", nil},
		{"not a decimal", "abc", "1", nil},
		{"exponent", "1e3", "1000", nil},
		{"blob", []byte("2.5"), "2.50", int64(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := query(t, db, `SELECT dec_cmp(?, ?)`, tt.a, tt.b); got != tt.want {
				t.Errorf("dec_cmp(%v, %v) = %v (%T), want %v", tt.a, tt.b, got, got, tt.want)
			}
		})
	}
	// What dec_cmp is for: SQLite's own comparison of decimal text is
	// textual, and as REAL it rounds.
	if got := query(t, db, `SELECT '99.5' >= '100'`); got != int64(1) {
		t.Errorf("SQLite compares decimal text as text: '99.5' >= '100' = %v", got)
	}
	if got := query(t, db, `SELECT CAST('100.000000000000001' AS REAL) = CAST('100' AS REAL)`); got != int64(1) {
		t.Errorf("REAL rounds: got %v", got)
	}
}

func TestFold(t *testing.T) {
	db := contacttest.OpenDB(t)
	tests := []struct {
		in, want any
	}{
		{"ÉLODIE Noël", "élodie noël"},
		{"VIP", "vip"},
		{int64(3), int64(3)},
		{nil, nil},
	}
	for _, tt := range tests {
		if got := query(t, db, `SELECT casefold(?)`, tt.in); got != tt.want {
			t.Errorf("casefold(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	// What casefold is for: SQLite's lower() folds ASCII only.
	if got := query(t, db, `SELECT lower('ÉLODIE')`); got != "Élodie" {
		t.Errorf("lower('ÉLODIE') = %v, want the É left as is", got)
	}
}

func TestE164(t *testing.T) {
	db := contacttest.OpenDB(t)
	tests := []struct {
		phone, country, want any
	}{
		{"+1 613-555-0123", "", "+16135550123"},
		{"06 12 34 56 78", "FR", "+33612345678"},
		{"06 12 34 56 78", "", nil},
		{"call me", "FR", nil},
		{nil, "FR", nil},
		{"06 12 34 56 78", nil, nil},
	}
	for _, tt := range tests {
		if got := query(t, db, `SELECT e164(?, ?)`, tt.phone, tt.country); got != tt.want {
			t.Errorf("e164(%v, %v) = %v, want %v", tt.phone, tt.country, got, tt.want)
		}
	}
}

type failing struct{ names []string }

func (f *failing) RegisterFunc(name string, impl any, pure bool) error {
	f.names = append(f.names, name)
	if name == sqlfunc.DecCmp {
		return errors.New("boom")
	}
	return nil
}

func TestRegisterError(t *testing.T) {
	f := &failing{}
	err := sqlfunc.Register(f)
	if err == nil || err.Error() != "register sqlite function dec_cmp: boom" {
		t.Fatalf("Register: got %v, want the failing function named", err)
	}
}

func BenchmarkDecCmpSQL(b *testing.B) {
	db := contacttest.OpenDB(b)
	st, err := db.Prepare(`WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 1000)
		SELECT count(*) FROM n WHERE dec_cmp(value || '.50', '500') >= 0`)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for b.Loop() {
		var n int
		if err := st.QueryRow().Scan(&n); err != nil || n != 501 {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/call")
}
