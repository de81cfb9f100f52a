package store

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/shopsync/shopsync"
)

// appendContactJSON appends the JSON of c, byte for byte what
// json.Marshal(c) writes (GET /contacts/{id}, the feed's default
// projection), without reflection: every event read goes through it, and
// json.Marshal was most of an outbound delivery's work
// (BenchmarkDeliveryThroughput). FuzzContactJSON holds it to
// json.Marshal.
func appendContactJSON(b []byte, c *shopsync.Contact) ([]byte, error) {
	var err error
	b = append(b, `{"shopify_id":`...)
	b = strconv.AppendInt(b, c.ShopifyID, 10)
	for _, f := range [...]struct {
		key string
		v   *string
	}{{`,"email":`, c.Email}, {`,"first_name":`, c.FirstName}, {`,"last_name":`, c.LastName},
		{`,"phone":`, c.Phone}, {`,"state":`, c.State}} {
		b = append(b, f.key...)
		if f.v == nil {
			b = append(b, "null"...)
		} else {
			b = appendJSONText(b, *f.v)
		}
	}
	b = append(b, `,"tags":`...)
	if c.Tags == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, t := range c.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONText(b, t)
		}
		b = append(b, ']')
	}
	b = append(b, `,"shopify_created_at":`...)
	if b, err = appendJSONTime(b, c.ShopifyCreatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"shopify_updated_at":`...)
	if b, err = appendJSONTime(b, c.ShopifyUpdatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"attributes":{`...)
	for i := range c.Attributes {
		a := &c.Attributes[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONText(b, a.Name)
		b = append(b, ':')
		switch v := a.Value.(type) {
		case nil:
			b = append(b, "null"...)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		case bool:
			b = strconv.AppendBool(b, v)
		default:
			s, _ := a.Text()
			b = appendJSONText(b, s)
		}
	}
	b = append(b, '}')
	if c.DeletedAt != nil {
		b = append(b, `,"deleted_at":`...)
		if b, err = appendJSONTime(b, c.DeletedAt); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendJSONText appends s as encoding/json writes a string: printable
// ASCII but " \ < > & as it is, anything else through encoding/json.
func appendJSONText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONTime appends t as time.Time's MarshalJSON does, null for nil.
func appendJSONTime(b []byte, t *time.Time) ([]byte, error) {
	if t == nil {
		return append(b, "null"...), nil
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, errors.New("contact time out of the years 0 to 9999")
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}
