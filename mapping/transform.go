package mapping

import (
	"strings"

	"github.com/shopsync/shopsync/internal/phone"
)

// transform changes a text value (or each text of a list) before it is
// converted to the field's type.
type transform struct {
	applies func(FieldType) bool
	apply   func(*Value)
}

func textOrList(t FieldType) bool { return t == TypeString || t == TypeList }

// eachText applies f to a text value, or to every text of a list.
func eachText(f func(string) string) func(*Value) {
	return func(v *Value) {
		if !v.valid {
			return
		}
		if v.kind == kList {
			out := make([]string, len(v.list))
			for i, s := range v.list {
				out[i] = f(s)
			}
			v.list = out
			return
		}
		v.str = f(v.str)
	}
}

// transforms returns the transforms by name; e164 reads national numbers
// as country's.
func transforms(country string) map[string]transform {
	return map[string]transform{
		"trim":  {applies: textOrList, apply: eachText(strings.TrimSpace)},
		"lower": {applies: textOrList, apply: eachText(strings.ToLower)},
		"upper": {applies: textOrList, apply: eachText(strings.ToUpper)},
		"e164": {
			applies: func(t FieldType) bool { return t == TypeString },
			apply: func(v *Value) {
				if !v.valid {
					return
				}
				p, ok := phone.E164(v.str, country)
				if !ok {
					*v = nullValue(TypeString)
					return
				}
				v.str = p
			},
		},
	}
}
