package shopify

import (
	"encoding/json"
	"fmt"
)

// Decimal is an exact decimal amount exactly as Shopify wrote it, such as
// "199.65". Money never passes through float64: the text is validated and
// kept, so "100.10" stays "100.10".
type Decimal string

// ParseDecimal validates s as a plain decimal number: an optional minus
// sign, digits, and optionally a point followed by digits.
func ParseDecimal(s string) (Decimal, error) {
	if !isDecimal(s) {
		return "", fmt.Errorf("invalid decimal %q", s)
	}
	return Decimal(s), nil
}

func isDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if digits == 0 {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' {
		return false
	}
	i++
	frac := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		frac++
	}
	return frac > 0 && i == len(s)
}

// UnmarshalJSON accepts a JSON string holding a decimal (Shopify's form)
// and, defensively, a bare JSON number, whose literal text is kept as is.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		var ok bool
		if s, ok = plainString(b); !ok {
			if err := json.Unmarshal(b, &s); err != nil {
				return err
			}
		}
	} else {
		s = string(b)
	}
	v, err := ParseDecimal(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
