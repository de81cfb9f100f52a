package segment_test

import (
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/contacttest"
	"github.com/shopsync/shopsync/internal/decimal"
	"github.com/shopsync/shopsync/segment"
)

// randDecimal is a decimal of up to maxDigits digits, zeros common, a
// point anywhere or none.
func randDecimal(r *rand.Rand, maxDigits int) string {
	n := 1 + r.IntN(maxDigits)
	var b strings.Builder
	point := -1
	if r.IntN(3) > 0 {
		point = r.IntN(n + 1)
	}
	for i := range n {
		if i == point {
			b.WriteByte('.')
		}
		d := byte('0' + r.IntN(10))
		if r.IntN(3) == 0 {
			d = '0'
		}
		b.WriteByte(d)
	}
	if point == n {
		b.WriteByte('.')
	}
	return b.String()
}

// TestCastMatchesParseFloat: for the stored values the decimal fast path
// takes (at most 15 characters, digits and a point), SQLite's CAST(v AS
// REAL) is the double nearest to v, as Go's strconv.ParseFloat gives it,
// bit for bit (fast.go relies on it).
func TestCastMatchesParseFloat(t *testing.T) {
	db := contacttest.OpenDB(t)
	r := rand.New(rand.NewPCG(3, 4))
	vals := []string{"0", "0.", ".0", "1", "0.1", "0.2", "0.3", "0.30", "100.00", "999999999999999", "99999999999999.9",
		"0.00000000000001", "123456789012345", "12345678901234.5", "9007199254740993", "4503599627370497.",
		"0.99999999999999", "1.00000000000001", "5e-324"}
	for range 200_000 {
		vals = append(vals, randDecimal(r, 15))
	}
	if _, err := db.Exec(`CREATE TEMP TABLE v (s TEXT)`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		if _, err := tx.Exec(`INSERT INTO v VALUES (?)`, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT s, CAST(s AS REAL) FROM v WHERE octet_length(s) <= 15 AND length(s) = octet_length(s)
		AND s GLOB '*[0-9]*' AND s NOT GLOB '*[^0-9.]*' AND s NOT GLOB '*.*.*'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var s string
		var got float64
		if err := rows.Scan(&s, &got); err != nil {
			t.Fatal(err)
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("CAST(%q AS REAL) = %v (%x), ParseFloat %v (%x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 150_000 {
		t.Errorf("only %d values checked", n)
	}
}

// near returns decimals close to s: the same value written otherwise
// (zeros, sign), and one unit more or less in its last digits.
func near(s string) []string {
	out := []string{s, s + "0", "-" + s}
	if !strings.Contains(s, ".") {
		out = append(out, s+".000")
	}
	for _, d := range []string{"1", "0000000000001", "000000000000001"} {
		if strings.Contains(s, ".") {
			out = append(out, s+d)
		} else {
			out = append(out, s+"."+d)
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		out = append(out, strconv.FormatFloat(math.Nextafter(f, math.Inf(1)), 'f', -1, 64),
			strconv.FormatFloat(math.Nextafter(f, math.Inf(-1)), 'f', -1, 64))
	}
	return out
}

// TestDecimalFastPathAgrees: decimal comparisons through the fast path
// select what Match (decimal.Cmp, dec_cmp's comparison) selects, over
// stored values and literals that are close, equal in other writings,
// long, negative zero, and stored text that is not a decimal.
func TestDecimalFastPathAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	stored := []string{"", "abc", "1e3", "1.2.3", ".", "-", "+", "12a", " 1", "5.", ".5", "+1.50", "-0", "-0.00", "0"}
	var lits []string
	for range 60 {
		s := randDecimal(r, 16)
		if s[0] == '.' || s[len(s)-1] == '.' {
			s = "0" + strings.TrimSuffix(s, ".")
		}
		for _, v := range near(s) {
			stored = append(stored, v)
			if decimal.Valid(v) && !strings.HasPrefix(v, "+") && !strings.HasPrefix(v, ".") && !strings.HasSuffix(v, ".") {
				lits = append(lits, v)
			}
		}
	}
	lits = append(lits, "0", "-0", "0.000", "100", "100.000000000000001", "999999999999999", "1000000000000000")
	var contacts []*shopsync.Contact
	for i, v := range stored {
		c := &shopsync.Contact{ShopifyID: int64(i + 1), Tags: []string{},
			Attributes: shopsync.Attributes{shopsync.DecimalAttr("total_spent", &v)}}
		contacts = append(contacts, c)
	}
	db := contacttest.OpenDB(t)
	contacttest.Insert(t, db, contacts...)
	c := newCompiler(t)
	for i, lit := range lits {
		ops := []string{"=", "!=", "<", "<=", ">", ">="}
		srcs := []string{}
		for _, op := range ops {
			srcs = append(srcs, "total_spent "+op+" "+lit)
		}
		srcs = append(srcs, fmt.Sprintf("total_spent in (%s, %s)", lit, lits[(i+1)%len(lits)]),
			fmt.Sprintf("total_spent not in (%s)", lit))
		for _, src := range srcs {
			agree(t, db, c.Parse, src, contacts)
		}
	}
}

// FuzzDecimalFastPath: one stored value, one literal, every comparison:
// the SQL and Match agree.
func FuzzDecimalFastPath(f *testing.F) {
	for _, s := range [][2]string{
		{"100.00", "100"}, {"-0", "0"}, {"0.1", "0.10"}, {"999999999999999", "999999999999999.0"},
		{"1000000000000000", "999999999999999"}, {"100.000000000000001", "100"}, {"5.", "5"}, {".5", "0.5"},
		{"abc", "1"}, {"", "0"}, {"1e3", "1000"}, {"0.30000000000000004", "0.3"}, {"0.3", "0.30000000000000004"},
		{"123456789012345", "123456789012344.99"}, {"0.00000000000001", "0.000000000000010"},
		// Literals of more than 15 digits: doubles decide unless they tie.
		{"100", "100.0000000000000001"}, {"0.1", "0.1000000000000000055511151231257827"},
		{"0.1", "0.1000000000000000055511151231257828"}, {"99999999999999.9", "99999999999999.90000000001"},
	} {
		f.Add(s[0], s[1])
	}
	c := newCompiler(f)
	db := contacttest.OpenDB(f)
	f.Fuzz(func(t *testing.T, stored, lit string) {
		if !decimal.Valid(lit) || strings.ContainsAny(lit, "+") || strings.HasPrefix(lit, ".") || strings.HasSuffix(lit, ".") ||
			strings.HasPrefix(lit, "-.") {
			return // not a number of the language
		}
		if _, err := db.Exec(`DELETE FROM contacts`); err != nil {
			t.Fatal(err)
		}
		k := &shopsync.Contact{ShopifyID: 1, Tags: []string{}, Attributes: shopsync.Attributes{shopsync.DecimalAttr("total_spent", &stored)}}
		contacttest.Insert(t, db, k)
		for _, op := range []string{"=", "!=", "<", "<=", ">", ">="} {
			agree(t, db, c.Parse, "total_spent "+op+" "+lit, []*shopsync.Contact{k})
		}
	})
}

// agree checks that src's SQL on db selects the contacts Match selects.
func agree(t testing.TB, db *sql.DB, parse func(string) (*segment.Segment, error), src string, contacts []*shopsync.Contact) {
	t.Helper()
	s, err := parse(src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	where, args := s.SQL(now)
	want := []int64{}
	for _, k := range contacts {
		if s.Match(k, now) {
			want = append(want, k.ShopifyID)
		}
	}
	got := selectIDs(t, db, where, args)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		var vals []string
		for _, k := range contacts {
			if a, ok := k.Attributes.Get("total_spent"); ok && slices.Contains(got, k.ShopifyID) != slices.Contains(want, k.ShopifyID) {
				vals = append(vals, fmt.Sprintf("%d:%v", k.ShopifyID, a.Value))
			}
		}
		t.Fatalf("%s\nSQL %s %v\ndiffer on %v (-SQL +Match):\n%s", src, where, args, vals, cmp.Diff(got, want))
	}
}
