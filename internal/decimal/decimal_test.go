package decimal_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/shopsync/shopsync/internal/decimal"
)

func TestCmp(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"199.65", "100", 1},
		{"100", "100.00", 0},
		{"1.5", "1.50", 0},
		{"-0", "0", 0},
		{"-0.00", "+0", 0},
		{"0.5", "0.49", 1},
		{"0.49", "0.5", -1},
		{"9", "10", -1},
		{"-9", "-10", 1},
		{"-1", "1", -1},
		{"007.10", "7.1", 0},
		{".5", "0.5", 0},
		{"12.", "12", 0},
		{"99999999999999999999999.01", "99999999999999999999999.1", -1},
		{"0.1", "0.30000000000000004", -1}, // 0.1 + 0.2 as a float; not so here
	}
	for _, tt := range tests {
		got, err := decimal.Cmp(tt.a, tt.b)
		if err != nil {
			t.Fatalf("Cmp(%q, %q): %v", tt.a, tt.b, err)
		}
		if got != tt.want {
			t.Errorf("Cmp(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if back, _ := decimal.Cmp(tt.b, tt.a); back != -tt.want {
			t.Errorf("Cmp(%q, %q) = %d, want %d", tt.b, tt.a, back, -tt.want)
		}
	}
}

func TestNotDecimals(t *testing.T) {
	for _, s := range []string{"", "-", "+", ".", "1e3", "1,000", " 1", "1 ", "NaN", "Inf", "--1", "1.2.3", "0x10", "١٢"} {
		if decimal.Valid(s) {
			t.Errorf("Valid(%q) = true, want false", s)
		}
		if _, err := decimal.Cmp(s, "1"); !errors.Is(err, decimal.ErrSyntax) {
			t.Errorf("Cmp(%q, 1): got %v, want ErrSyntax", s, err)
		}
		if _, err := decimal.Quo(s, 1, 2); !errors.Is(err, decimal.ErrSyntax) {
			t.Errorf("Quo(%q): got %v, want ErrSyntax", s, err)
		}
	}
}

func TestScale(t *testing.T) {
	for s, want := range map[string]int{"199.65": 2, "100.00": 2, "100": 0, "12.": 0, ".5": 1, "-0.125": 3} {
		if got, ok := decimal.Scale(s); !ok || got != want {
			t.Errorf("Scale(%q) = %d, %v, want %d, true", s, got, ok, want)
		}
	}
}

func TestQuo(t *testing.T) {
	tests := []struct {
		num   string
		den   int64
		scale int
		want  string
	}{
		{"100.00", 3, 2, "33.33"},
		{"200.00", 3, 2, "66.67"},
		{"199.65", 3, 2, "66.55"},
		{"100", 3, 0, "33"},
		{"0.01", 2, 2, "0.01"},   // 0.005 rounds away from zero
		{"-0.01", 2, 2, "-0.01"}, // and so does -0.005
		{"0.01", 3, 2, "0.00"},   // no "-0.00" either way
		{"-0.01", 3, 2, "0.00"},
		{"1", -4, 2, "-0.25"},
		{"10", 4, 0, "3"}, // 2.5 rounds to 3
		{"14", 4, 0, "4"}, // 3.5 rounds to 4, not to even
		{"7", 1, 2, "7.00"},
		{"0", 7, 3, "0.000"},
		{"123456789012345678901234567890.55", 1, 1, "123456789012345678901234567890.6"},
		{"99999999999999999.99", 1, 2, "99999999999999999.99"},
		{"9999999999999999999", 1, 5, "9999999999999999999.00000"}, // beyond uint64 once scaled
		{"1", -9223372036854775808, 20, "-0.00000000000000000011"},
	}
	for _, tt := range tests {
		got, err := decimal.Quo(tt.num, tt.den, tt.scale)
		if err != nil {
			t.Fatalf("Quo(%q, %d, %d): %v", tt.num, tt.den, tt.scale, err)
		}
		if got != tt.want {
			t.Errorf("Quo(%q, %d, %d) = %q, want %q", tt.num, tt.den, tt.scale, got, tt.want)
		}
	}
	if _, err := decimal.Quo("1", 0, 2); !errors.Is(err, decimal.ErrDivisionByZero) {
		t.Errorf("Quo by zero: got %v, want ErrDivisionByZero", err)
	}
	if _, err := decimal.Quo("1", 1, decimal.MaxScale+1); err == nil {
		t.Errorf("Quo with scale %d: got no error", decimal.MaxScale+1)
	}
}

func TestRound(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"19.995", "20.00"}, {"19.994", "19.99"}, {"-19.995", "-20.00"}, {"5", "5.00"},
		{"199.65", "199.65"}, {"-0.00", "0.00"}, {"007.10", "7.10"}, {"+1.00", "1.00"}, {".50", "0.50"}, {"-1.50", "-1.50"},
	} {
		if got, err := decimal.Round(tt.in, 2); err != nil || got != tt.want {
			t.Errorf("Round(%q, 2) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

// rat reads a decimal as an exact rational, the reference.
func rat(s string) *big.Rat {
	if strings.HasSuffix(s, ".") {
		s += "0"
	}
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "-.") || strings.HasPrefix(s, "+.") {
		s = strings.Replace(s, ".", "0.", 1)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("rat: " + s)
	}
	return r
}

// refQuo is Quo in big.Rat: the exact quotient, scaled, rounded half
// away from zero.
func refQuo(num string, den int64, scale int) string {
	q := new(big.Rat).Quo(rat(num), new(big.Rat).SetInt64(den))
	q.Mul(q, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	neg := q.Sign() < 0
	q.Abs(q)
	i, r := new(big.Int).QuoRem(q.Num(), q.Denom(), new(big.Int))
	if r.Lsh(r, 1).Cmp(q.Denom()) >= 0 {
		i.Add(i, big.NewInt(1))
	}
	if neg && i.Sign() != 0 {
		i.Neg(i)
	}
	out := new(big.Rat).SetFrac(i, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	return out.FloatString(scale)
}

func FuzzCmp(f *testing.F) {
	f.Add("199.65", "100")
	f.Add("-0.5", "-0.50")
	f.Add("123456789012345678901234567890", "123456789012345678901234567891")
	f.Add(".5", "12.")
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := decimal.Cmp(a, b)
		if !decimal.Valid(a) || !decimal.Valid(b) {
			if err == nil {
				t.Fatalf("Cmp(%q, %q): no error for a non-decimal", a, b)
			}
			return
		}
		if err != nil {
			t.Fatalf("Cmp(%q, %q): %v", a, b, err)
		}
		if want := rat(a).Cmp(rat(b)); got != want {
			t.Fatalf("Cmp(%q, %q) = %d, want %d", a, b, got, want)
		}
	})
}

func FuzzRound(f *testing.F) {
	f.Add("199.65", 2)
	f.Add("-0.00", 2)
	f.Add("007", 0)
	f.Fuzz(func(t *testing.T, s string, scale int) {
		if !decimal.Valid(s) || scale < 0 || scale > decimal.MaxScale {
			return
		}
		got, err := decimal.Round(s, scale)
		if err != nil {
			t.Fatalf("Round(%q, %d): %v", s, scale, err)
		}
		if want, _ := decimal.Quo(s, 1, scale); got != want {
			t.Fatalf("Round(%q, %d) = %q, want %q as Quo writes it", s, scale, got, want)
		}
	})
}

func FuzzQuo(f *testing.F) {
	f.Add("199.65", int64(3), 2)
	f.Add("-0.005", int64(1), 2)
	f.Add("99999999999999999999.5", int64(-7), 0)
	f.Fuzz(func(t *testing.T, num string, den int64, scale int) {
		if !decimal.Valid(num) || den == 0 || scale < 0 || scale > decimal.MaxScale {
			return
		}
		got, err := decimal.Quo(num, den, scale)
		if err != nil {
			t.Fatalf("Quo(%q, %d, %d): %v", num, den, scale, err)
		}
		if want := refQuo(num, den, scale); got != want {
			t.Fatalf("Quo(%q, %d, %d) = %q, want %q", num, den, scale, got, want)
		}
	})
}

func BenchmarkCmp(b *testing.B) {
	for b.Loop() {
		decimal.Cmp("199.65", "100")
	}
}

func BenchmarkQuo(b *testing.B) {
	for b.Loop() {
		decimal.Quo("199.65", 3, 2)
	}
}
