// Package sqlfunc holds the SQLite functions that the SQL of segments and
// marketing audiences calls. SQLite has no exact decimals, its lower()
// folds ASCII letters only, and it knows nothing of phone numbers; these
// functions, written in Go, fill the gap. Every connection that runs such
// SQL must have them: register them in the driver's ConnectHook,
//
//	&sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
//		return sqlfunc.Register(c)
//	}}
//
// They are deterministic (registered as pure), but no index or view of
// the store should use them: the sqlite3 shell and other tools reading
// the file do not have them.
package sqlfunc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shopsync/shopsync/internal/decimal"
	"github.com/shopsync/shopsync/internal/phone"
)

// The functions' SQL names.
const (
	// Fold is casefold(x): x lower-cased with Unicode rules (Go's
	// strings.ToLower, as the store's email_norm); NULL for NULL; numbers
	// unchanged.
	Fold = "casefold"

	// DecCmp is dec_cmp(a, b): -1, 0 or 1 as the decimal a is less than,
	// equal to or greater than b, compared exactly. Text is read as a
	// decimal ("199.65"), integers as themselves, reals by their shortest
	// decimal form. NULL when either is NULL or not a decimal ("abc",
	// "1e3"), so that the comparison is false, as with NULL.
	DecCmp = "dec_cmp"

	// E164 is e164(phone, country): phone in E.164, reading a national
	// number as country's (an ISO code, or '' for none); NULL when it has
	// no E.164 form. See internal/phone for what is normalised.
	E164 = "e164"
)

// Func is one SQLite function: its name, its Go implementation (as
// go-sqlite3's RegisterFunc takes it) and whether it is pure.
type Func struct {
	Name string
	Impl any
	Pure bool
}

// Functions returns the functions to register.
func Functions() []Func {
	return []Func{
		{Name: Fold, Impl: fold, Pure: true},
		{Name: DecCmp, Impl: decCmp, Pure: true},
		{Name: E164, Impl: e164, Pure: true},
	}
}

// Registrar is a connection that takes Go functions: *sqlite3.SQLiteConn.
type Registrar interface {
	RegisterFunc(name string, impl any, pure bool) error
}

// Register registers Functions on conn.
func Register(conn Registrar) error {
	for _, f := range Functions() {
		if err := conn.RegisterFunc(f.Name, f.Impl, f.Pure); err != nil {
			return fmt.Errorf("register sqlite function %s: %w", f.Name, err)
		}
	}
	return nil
}

// go-sqlite3 hands an any argument over as int64, float64, string,
// []byte, or a nil []byte for NULL; a nil any result is NULL.

func fold(x any) any {
	switch v := x.(type) {
	case string:
		return strings.ToLower(v)
	case []byte:
		if v == nil {
			return nil
		}
		return strings.ToLower(string(v))
	}
	return x
}

func decCmp(a, b any) any {
	as, ok := decText(a)
	if !ok {
		return nil
	}
	bs, ok := decText(b)
	if !ok {
		return nil
	}
	c, err := decimal.Cmp(as, bs)
	if err != nil {
		return nil
	}
	return int64(c)
}

// decText returns the decimal text of a SQLite value.
func decText(x any) (string, bool) {
	switch v := x.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), v != nil
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

func e164(p, country any) any {
	s, ok := text(p)
	if !ok {
		return nil
	}
	c, _ := text(country)
	out, ok := phone.E164(s, c)
	if !ok {
		return nil
	}
	return out
}

func text(x any) (string, bool) {
	switch v := x.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), v != nil
	}
	return "", false
}
