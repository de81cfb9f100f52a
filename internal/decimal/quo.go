package decimal

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
)

// ErrDivisionByZero is returned by Quo for a zero divisor.
var ErrDivisionByZero = errors.New("division by zero")

// MaxScale is the largest scale Quo and Round accept.
const MaxScale = 30

// Quo returns num / den rounded to scale digits after the point, half away
// from zero (0.005 rounds to 0.01, -0.005 to -0.01), written with exactly
// scale digits after the point: Quo("100.00", 3, 2) is "33.33",
// Quo("100", 3, 0) is "33", Quo("0.01", 2, 2) is "0.01". A zero result has
// no sign.
func Quo(num string, den int64, scale int) (string, error) {
	p, ok := split(num)
	if !ok {
		return "", fmt.Errorf("%q: %w", num, ErrSyntax)
	}
	if den == 0 {
		return "", ErrDivisionByZero
	}
	if scale < 0 || scale > MaxScale {
		return "", fmt.Errorf("scale %d: want 0 to %d", scale, MaxScale)
	}
	neg := p.neg != (den < 0)
	dmag := uint64(den)
	if den < 0 {
		dmag = uint64(-(den + 1)) + 1 // |math.MinInt64| fits a uint64
	}
	if q, ok := quo64(p, dmag, scale); ok {
		return format(neg && q != 0, strconv.AppendUint(nil, q, 10), scale), nil
	}
	return quoBig(p, dmag, scale, neg), nil
}

// Round returns s rounded to scale digits after the point, half away from
// zero, with exactly scale digits after the point: Round("19.995", 2) is
// "20.00", Round("7", 2) is "7.00".
func Round(s string, scale int) (string, error) {
	if canonical(s, scale) {
		return s, nil // what Quo would write: the common case, without allocating
	}
	return Quo(s, 1, scale)
}

// canonical reports whether s is written as Quo writes a result of
// scale places: an optional "-", digits without a leading zero (or a
// single 0), then exactly scale digits after a point, and not zero if
// negative.
func canonical(s string, scale int) bool {
	i := 0
	neg := i < len(s) && s[i] == '-'
	if neg {
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intg := s[start:i]
	if intg == "" || len(intg) > 1 && intg[0] == '0' {
		return false
	}
	nonzero := intg != "0"
	if scale > 0 {
		if i >= len(s) || s[i] != '.' {
			return false
		}
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			if s[i] != '0' {
				nonzero = true
			}
			i++
		}
		if i-fs != scale {
			return false
		}
	}
	return i == len(s) && (!neg || nonzero)
}

// pow10 holds 10^0 to 10^19, the powers a uint64 holds.
var pow10 = func() (t [20]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// quo64 is Quo in uint64 arithmetic; false when a number does not fit.
func quo64(p parts, den uint64, scale int) (uint64, bool) {
	digits := len(p.intg) + len(p.frac)
	if digits > 19 {
		return 0, false
	}
	m, err := strconv.ParseUint(p.intg+p.frac, 10, 64)
	if digits == 0 {
		m, err = 0, nil
	}
	if err != nil {
		return 0, false
	}
	e := len(p.frac)
	n, d := m, den
	if scale >= e {
		if scale-e >= len(pow10) {
			return 0, false
		}
		hi, lo := bits.Mul64(m, pow10[scale-e])
		if hi != 0 {
			return 0, false
		}
		n = lo
	} else {
		if e-scale >= len(pow10) {
			return 0, false
		}
		hi, lo := bits.Mul64(den, pow10[e-scale])
		if hi != 0 {
			return 0, false
		}
		d = lo
	}
	q, r := n/d, n%d
	if r >= d-r { // 2r >= d without overflow: the half rounds away from zero
		if q == math.MaxUint64 {
			return 0, false
		}
		q++
	}
	return q, true
}

// quoBig is Quo in math/big, for numbers beyond a uint64.
func quoBig(p parts, den uint64, scale int, neg bool) string {
	m := new(big.Int)
	if digits := p.intg + p.frac; digits != "" {
		m.SetString(digits, 10) // digits only: cannot fail
	}
	e := len(p.frac)
	n := new(big.Int).Set(m)
	d := new(big.Int).SetUint64(den)
	ten := big.NewInt(10)
	if scale >= e {
		n.Mul(n, new(big.Int).Exp(ten, big.NewInt(int64(scale-e)), nil))
	} else {
		d.Mul(d, new(big.Int).Exp(ten, big.NewInt(int64(e-scale)), nil))
	}
	q, r := new(big.Int).QuoRem(n, d, new(big.Int))
	if r.Lsh(r, 1).Cmp(d) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	return format(neg && q.Sign() != 0, q.Append(nil, 10), scale)
}

// format writes the unsigned integer digits q, scaled by 10^-scale.
func format(neg bool, q []byte, scale int) string {
	for len(q) <= scale {
		q = append([]byte{'0'}, q...)
	}
	out := make([]byte, 0, len(q)+2)
	if neg {
		out = append(out, '-')
	}
	out = append(out, q[:len(q)-scale]...)
	if scale > 0 {
		out = append(out, '.')
		out = append(out, q[len(q)-scale:]...)
	}
	return string(out)
}
