package shopifytest

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// encodedCustomer is a stored customer's JSON with the span of each
// top-level key, so that a listing copies bytes, with or without fields,
// instead of encoding the customer again. Stored customers are never
// changed (a change stores a new *Customer), so the encoding stays right
// until the customer is replaced; the server then forgets it.
type encodedCustomer struct {
	json  []byte
	spans []keySpan // `"key":value` spans, in jsonKeys order
}

type keySpan struct {
	key        uint8 // index into jsonKeys
	start, end int32
}

func encodeCustomer(c *Customer) (*encodedCustomer, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	e := &encodedCustomer{json: make([]byte, 0, len(b)), spans: make([]keySpan, 0, len(all))}
	e.json = append(e.json, '{')
	for i, k := range jsonKeys {
		v, ok := all[k]
		if !ok {
			continue
		}
		if len(e.spans) > 0 {
			e.json = append(e.json, ',')
		}
		start := len(e.json)
		e.json = strconv.AppendQuote(e.json, k)
		e.json = append(e.json, ':')
		e.json = append(e.json, v...)
		e.spans = append(e.spans, keySpan{uint8(i), int32(start), int32(len(e.json))})
	}
	e.json = append(e.json, '}')
	return e, nil
}

// keptKeys turns a fields set into a mask over jsonKeys; nil keeps all.
func keptKeys(fields map[string]bool) []bool {
	if fields == nil {
		return nil
	}
	keep := make([]bool, len(jsonKeys))
	for i, k := range jsonKeys {
		keep[i] = fields[k]
	}
	return keep
}

// appendTo appends the customer's JSON to buf; keep, when not nil, keeps
// only the keys it marks (keptKeys).
func (e *encodedCustomer) appendTo(buf *bytes.Buffer, keep []bool) {
	if keep == nil {
		buf.Write(e.json)
		return
	}
	buf.WriteByte('{')
	first := true
	for _, s := range e.spans {
		if !keep[s.key] {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		buf.Write(e.json[s.start:s.end])
	}
	buf.WriteByte('}')
}

// encoded returns c's encoding, from the cache when it is there.
func (s *Server) encoded(c *Customer) (*encodedCustomer, error) {
	if e, ok := s.encCache.Load(c); ok {
		return e.(*encodedCustomer), nil
	}
	e, err := encodeCustomer(c)
	if err != nil {
		return nil, err
	}
	s.encCache.Store(c, e)
	return e, nil
}

// forget drops a replaced or deleted customer's encoding.
func (s *Server) forget(c *Customer) {
	if c != nil {
		s.encCache.Delete(c)
	}
}

// EncodeAll encodes every stored customer now, so that listings copy
// bytes from the first request on: benchmarks call it to measure the
// client, not the simulator's first json.Marshal of each customer.
func (s *Server) EncodeAll() error {
	s.cmu.RLock()
	cs := slices.Clone(s.customers)
	s.cmu.RUnlock()
	for _, c := range cs {
		if _, err := s.encoded(c); err != nil {
			return err
		}
	}
	return nil
}
