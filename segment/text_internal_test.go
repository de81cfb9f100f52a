package segment

import (
	"slices"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestASCIIPreimages: the runes other than ASCII that Go lower-cases to
// ASCII are exactly asciiPre's, in the Unicode tables of the Go in use.
// The text fast paths are exact only if so (text.go).
func TestASCIIPreimages(t *testing.T) {
	got := map[byte]rune{}
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if l := unicode.ToLower(r); l < utf8.RuneSelf {
			if prev, ok := got[byte(l)]; ok {
				t.Errorf("%q and %q both lower-case to %q", prev, r, l)
			}
			got[byte(l)] = r
		}
	}
	if len(got) != len(asciiPre) {
		t.Errorf("got %q, want %q", got, asciiPre)
	}
	for c, r := range asciiPre {
		if got[c] != r {
			t.Errorf("%q: got %q, want %q", c, got[c], r)
		}
	}
	// No ASCII rune lower-cases to anything but ASCII.
	for r := rune(0); r < utf8.RuneSelf; r++ {
		if unicode.ToLower(r) >= utf8.RuneSelf {
			t.Errorf("%q lower-cases to %q", r, unicode.ToLower(r))
		}
	}
}

func TestVariants(t *testing.T) {
	tests := []struct {
		lits []string
		want []string
		ok   bool
	}{
		{[]string{"abc"}, []string{"abc"}, true},
		{[]string{"vip"}, []string{"vip", "v\u0130p"}, true},
		{[]string{"kiki"}, []string{"kiki", "\u212aiki", "k\u0130ki", "\u212a\u0130ki", "ki\u212ai", "\u212ai\u212ai",
			"k\u0130\u212ai", "\u212a\u0130\u212ai", "kik\u0130", "\u212aik\u0130", "k\u0130k\u0130", "\u212a\u0130k\u0130",
			"ki\u212a\u0130", "\u212ai\u212a\u0130", "k\u0130\u212a\u0130", "\u212a\u0130\u212a\u0130"}, true},
		{[]string{"", "a"}, []string{"", "a"}, true},
		{[]string{"léon"}, []string{"léon", "lÉon", "lÉon"}, true},
		{[]string{"θ"}, []string{"θ", "Θ", "ϴ"}, true},
		{[]string{"中村"}, []string{"中村"}, true},
		{[]string{"a\ufffd"}, nil, false},
		{[]string{"éééé"}, nil, false},    // 81
		{[]string{"iiiiii"}, nil, true},   // 64
		{[]string{"iiiiiii"}, nil, false}, // 128
		{[]string{"iiiii", "kkkkk"}, nil, true},
		{[]string{"iiiii", "kkkkk", "x"}, nil, false}, // 65
	}
	for _, tt := range tests {
		got, ok := variants(tt.lits)
		if ok != tt.ok {
			t.Errorf("variants(%q): ok %v, want %v", tt.lits, ok, tt.ok)
			continue
		}
		if tt.want != nil {
			slices.Sort(got)
			slices.Sort(tt.want)
			if !slices.Equal(got, tt.want) {
				t.Errorf("variants(%q) = %q, want %q", tt.lits, got, tt.want)
			}
		}
		if ok && len(got) > maxVariants {
			t.Errorf("variants(%q): %d, more than %d", tt.lits, len(got), maxVariants)
		}
	}
}

func TestTagKind(t *testing.T) {
	for lit, want := range map[string]tagKind{
		"vip": tagPlain, "": tagPlain, "a,b": tagPlain, "a b": tagPlain, "10%_club": tagPlain,
		",": tagGap, " , ": tagGap, " ": tagGap,
		`a"b`: tagEscaped, `a\b`: tagEscaped, "a\tb": tagEscaped, "léon": tagEscaped, "\x7f": tagEscaped,
	} {
		if got := tagKindOf(lit); got != want {
			t.Errorf("tagKindOf(%q) = %d, want %d", lit, got, want)
		}
	}
}

func TestFastDecimal(t *testing.T) {
	tests := []struct {
		s    string
		want float64
		ok   bool
	}{
		{"100", 100, true},
		{"100.00", 100, true},
		{"-0", 0, true},
		{"-0.00", 0, true},
		{"0.1", 0.1, true},
		{"999999999999999", 999999999999999, true},
		{"999999999999999.0000", 999999999999999, true},
		{"0000999999999999999", 999999999999999, true},
		{"1000000000000000", 0, false}, // 16 digits
		{"0.000000000000001", 1e-15, true},
		{"0.0000000000000001", 0, false},
		{"100.000000000000001", 0, false},
		{"12345678901234567890.5", 0, false},
	}
	for _, tt := range tests {
		got, ok := fastDecimal(tt.s)
		if ok != tt.ok || got != tt.want || (ok && got == 0 && 1/got < 0) {
			t.Errorf("fastDecimal(%q) = %v, %v; want %v, %v", tt.s, got, ok, tt.want, tt.ok)
		}
	}
}

// TestLowerPreimages: every rune that Go lower-cases to a rune other than
// ASCII is among lowerPre of that rune, which is in Go's lower case: the
// prefilter of a literal that is not ASCII rules out no row that could
// match.
func TestLowerPreimages(t *testing.T) {
	for c := rune(0); c <= unicode.MaxRune; c++ {
		if !utf8.ValidRune(c) {
			continue
		}
		r := unicode.ToLower(c)
		if r < utf8.RuneSelf || r == utf8.RuneError {
			continue
		}
		if unicode.ToLower(r) != r {
			t.Fatalf("%U lower-cases to %U, which lower-cases to %U", c, r, unicode.ToLower(r))
		}
		if pre := lowerPre(r); !slices.Contains(pre, c) || len(pre) > maxPre {
			t.Fatalf("%U lower-cases to %U, not in lowerPre(%U) = %U", c, r, r, lowerPre(r))
		}
	}
	if got := lowerPre('é'); !slices.Equal(got, []rune{'é', 'É'}) {
		t.Errorf("lowerPre(é) = %q", got)
	}
}
