package shopify_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/shopifytest"
)

type listing struct {
	Customers []shopify.Customer `json:"customers"`
}

// simPage returns the body of a customers.json page of n simulated
// customers, as the simulator serves it (all fields when fields is "").
func simPage(tb testing.TB, n int, fields string) []byte {
	tb.Helper()
	sim := shopifytest.NewServer(shopifytest.Options{Customers: n, Seed: 7, Token: "t", BucketSize: 1000, LeakRate: 1000})
	defer sim.Close()
	url := fmt.Sprintf("%s/admin/api/2024-04/customers.json?limit=%d&since_id=0", sim.URL, n)
	if fields != "" {
		url += "&fields=" + fields
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("X-Shopify-Access-Token", "t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("simulator page: HTTP %d, %v", resp.StatusCode, err)
	}
	return body
}

// FuzzDecodeCustomers holds the listing's decoder to encoding/json: for
// any body, both fail, or both give the same customers. The seeds are a
// simulated page (CJK names, null emails, 2^53+ ids, decimal strings,
// both consents), the same page with every key in upper case, and the
// corners where a decoder could part from encoding/json: duplicate keys
// (a repeated list decodes into the customers already there), key case
// and its folding (İ, ſ, K), delimiters in keys, escaped keys, invalid
// UTF-8, numbers of the wrong form, nulls, values of the wrong kind,
// trailing data and cut bodies.
func FuzzDecodeCustomers(f *testing.F) {
	page := simPage(f, 40, "")
	f.Add(page)
	f.Add(upperKeys(page))
	for _, s := range []string{
		`{"customers":[]}`,
		`{}`,
		`{"customers":null}`,
		`null`,
		`{"customers":[{"id":9007199254740993,"email":null,"first_name":"太郎","total_spent":"199.65"}]}`,
		`{"customers":[{"id":1,"email":"a@x","email":"b@x"}]}`,
		`{"customers":[{"id":1,"EMAIL":"a@x","First_Name":"A","firstname":"B","first-name":"C","ſtate":"enabled"}]}`,
		`{"customers":[{"id":1,"note":"caf\u00e9 \"q\" \ud83d\ude00","first_name":"\xff\xfe"}]}`,
		`{"customers":[{"id":1,"orders_count":1.5}]}`,
		`{"customers":[{"id":1,"orders_count":1e3}]}`,
		`{"customers":[{"id":1,"orders_count":"3"}]}`,
		`{"customers":[{"id":1.0}]}`,
		`{"customers":[{"id":-0}]}`,
		`{"customers":[{"id":null,"tags":null,"total_spent":null}]}`,
		`{"customers":[{"id":1,"total_spent":12.50}]}`,
		`{"customers":[{"id":1,"total_spent":"12.5.0"}]}`,
		`{"customers":[{"id":1,"verified_email":"true"}]}`,
		`{"customers":[{"id":1,"created_at":"2024-04-01T10:00:00-04:00","updated_at":"2024-04-01"}]}`,
		`{"customers":[{"id":1,"email_marketing_consent":{"state":"subscribed","opt_in_level":null,"state":"pending"}}]}`,
		`{"customers":[{"id":1,"default_address":{"city":"東京","city":"大阪","zip":7}}]}`,
		`{"customers":[{"id":1,"default_address":[]}]}`,
		`{"customers":[{"id":1}]} `,
		`{"customers":[{"id":1}]}{}`,
		`{"customers":[{"id":1,"email":"a@x"`,
		`{"customers":[{"id":1,"addresses":[{"id":2}],"unknown":{"deep":[1,2,{"x":null}]}}]}`,
		`{"customers":[{"id":1,"email":"a@x"},{"id":2}],"customers":[{"id":3}],"customers":[{},{}]}`,
		`{"customers":[{"id":1}],"customers":null,"customers":[{"note":"n"}]}`,
		`{"customers":[null,{"id":2},null]}`,
		`{"CUSTOMERS":[{"İd":5,"\u0069d":6,"ta\u212ax_exempt":true,"TOTAL_spent":"1.00"}]}`,
		`{"customers":[{"id":1,"sms_marketing_consent":{"consent_collected_from":"OTHER","STATE":"subscribed"},"default_address":{"Zip":"1","zip":null}}]}`,
		`{"customers":[{"id":1,"email_marketing_consent":"subscribed"}]}`,
		`{"customers":[{"id":"1"}]}`,
		`{"customers":[1]}`,
		`{"customers":{}}`,
		`{"customers":"x"}`,
		`[]`,
		`""`,
		``,
		`{"customers":[{"id":1,"total_spent":"1.5","total_spent":"\u0032.50","created_at":"2024-04-01T10:00:00.123456+09:00"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var want listing
		werr := json.Unmarshal(body, &want)
		got, gerr := shopify.DecodeCustomers(body)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("encoding/json error %v, decodeCustomers error %v", werr, gerr)
		}
		if werr != nil {
			return
		}
		// An empty page is empty either way; nil or not does not matter.
		if diff := cmp.Diff(want.Customers, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("decodeCustomers differs from encoding/json (-want +got):\n%s", diff)
		}
	})
}

// upperKeys returns a listing body with every key in upper case, which
// encoding/json matches to its field without case.
func upperKeys(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // ids above 2^53 stay exact
	var v any
	if err := dec.Decode(&v); err != nil {
		panic(err)
	}
	var upper func(v any) any
	upper = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(v))
			for k, x := range v {
				out[strings.ToUpper(k)] = upper(x)
			}
			return out
		case []any:
			for i := range v {
				v[i] = upper(v[i])
			}
		}
		return v
	}
	b, err := json.Marshal(upper(v))
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkDecodePage decodes a page of 250 customers as the import asks
// for it (fields=...), with encoding/json as go-shopify would and with
// decodeCustomers.
func BenchmarkDecodePage(b *testing.B) {
	body := simPage(b, 250, shopify.CustomerFields)
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			var v any = &listing{} // go-shopify decodes into an interface{}
			if err := json.NewDecoder(bytes.NewReader(body)).Decode(&v); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*250)/1000, "µs/customer")
	})
	b.Run("decodeCustomers", func(b *testing.B) {
		for b.Loop() {
			if _, err := shopify.DecodeCustomers(body); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*250)/1000, "µs/customer")
	})
}
