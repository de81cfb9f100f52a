package shopifytest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shopsync/shopsync/shopifytest"
)

const tok = "shpat_sim"

// get fetches rawURL with this file's token, through the package's fetch.
func get(t *testing.T, rawURL string) (response, []byte) {
	t.Helper()
	r := fetch(t, rawURL, tok)
	return r, r.body
}

var linkRE = regexp.MustCompile(`<([^>]+)>; rel="(previous|next)"`)

func links(h string) map[string]string {
	out := map[string]string{}
	for _, m := range linkRE.FindAllStringSubmatch(h, -1) {
		out[m[2]] = m[1]
	}
	return out
}

func TestPaginationLikeShopify(t *testing.T) {
	sim := shopifytest.NewServer(shopifytest.Options{Customers: 620, Seed: 1, Token: tok})
	defer sim.Close()
	next := sim.URL + "/admin/api/2024-04/customers.json?limit=250&since_id=0"
	var ids []int64
	for page := 1; next != ""; page++ {
		resp, body := get(t, next)
		if resp.status != 200 {
			t.Fatalf("page %d: %d %s", page, resp.status, body)
		}
		var res struct {
			Customers []struct {
				ID         json.Number `json:"id"`
				TotalSpent any         `json:"total_spent"`
			} `json:"customers"`
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.UseNumber()
		if err := dec.Decode(&res); err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Customers {
			id, _ := c.ID.Int64()
			if id <= 1<<53 {
				t.Fatalf("id %d is not above 2^53", id)
			}
			if _, ok := c.TotalSpent.(string); !ok {
				t.Fatalf("total_spent %T, want a decimal string", c.TotalSpent)
			}
			ids = append(ids, id)
		}
		h := resp.header.Get("Link")
		l := links(h)
		if page > 1 && (!strings.HasPrefix(h, "<") || strings.Index(h, `rel="previous"`) > strings.Index(h, `rel="next"`) && l["next"] != "") {
			t.Errorf("page %d: Link %q, want previous listed first", page, h)
		}
		if page == 1 && l["previous"] != "" {
			t.Errorf("page 1 has a previous link")
		}
		if l["next"] != "" {
			u, _ := url.Parse(l["next"])
			if q := u.Query(); q.Get("limit") != "250" || q.Get("page_info") == "" || len(q) != 2 {
				t.Errorf("next link %q, want only limit and page_info", l["next"])
			}
		}
		next = l["next"]
	}
	want := sim.CustomerIDs()
	if len(ids) != len(want) {
		t.Fatalf("walked %d customers, want %d", len(ids), len(want))
	}
	for i := range ids {
		if ids[i] != want[i] {
			t.Fatalf("customer %d: %d, want %d (ascending, each once)", i, ids[i], want[i])
		}
	}
}

func TestBadRequests(t *testing.T) {
	sim := shopifytest.NewServer(shopifytest.Options{Customers: 300, Seed: 1, Token: tok})
	defer sim.Close()
	base := sim.URL + "/admin/api/2024-04/"
	resp, _ := get(t, base+"customers.json?limit=2")
	next := links(resp.header.Get("Link"))["next"]
	for _, u := range []string{
		base + "customers.json?limit=251",
		base + "customers.json?limit=0",
		next + "&since_id=5", // page_info takes only limit and fields
		base + "customers.json?page_info=not-a-cursor@@",
		base + "customers.json?updated_at_min=yesterday",
	} {
		if resp, body := get(t, u); resp.status != 400 {
			t.Errorf("%s: %d %.200s, want 400", u, resp.status, body)
		}
	}
	if resp, _ := get(t, sim.URL+"/admin/api/2024-4/customers.json"); resp.status != 404 {
		t.Errorf("malformed version: %d, want 404", resp.status)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"customers.json", nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil || r.StatusCode != 401 {
		t.Errorf("no token: %v %v, want 401", r.StatusCode, err)
	}
}

func TestFiltersCountGet(t *testing.T) {
	sim := shopifytest.NewServer(shopifytest.Options{Customers: 100, Seed: 2, Token: tok})
	defer sim.Close()
	ids := sim.CustomerIDs()
	base := sim.URL + "/admin/api/2024-04/"
	_, body := get(t, fmt.Sprintf("%scustomers.json?ids=%d,%d&fields=id,email", base, ids[3], ids[7]))
	var res struct{ Customers []map[string]any }
	json.Unmarshal(body, &res)
	if len(res.Customers) != 2 || len(res.Customers[0]) != 2 {
		t.Errorf("ids+fields: %s", body)
	}
	_, body = get(t, fmt.Sprintf("%scustomers.json?since_id=%d&limit=250", base, ids[89]))
	json.Unmarshal(body, &res)
	if len(res.Customers) != 10 {
		t.Errorf("since_id: got %d customers, want 10", len(res.Customers))
	}
	if _, body = get(t, base+"customers/count.json"); string(body) != `{"count":100}` {
		t.Errorf("count: %s", body)
	}
	if resp, body := get(t, fmt.Sprintf("%scustomers/%d.json", base, ids[0])); resp.status != 200 || !strings.Contains(string(body), fmt.Sprint(ids[0])) {
		t.Errorf("get: %d %s", resp.status, body)
	}
	if resp, _ := get(t, base+"customers/1.json"); resp.status != 404 {
		t.Errorf("get unknown: %d", resp.status)
	}
	// An unsupported version is served as the oldest supported one.
	if resp, _ := get(t, sim.URL+"/admin/api/2023-01/customers/count.json"); resp.header.Get("X-Shopify-API-Version") != "2024-04" {
		t.Errorf("served version %q", resp.header.Get("X-Shopify-API-Version"))
	}
}

func TestBucketAndTokens(t *testing.T) {
	sim := shopifytest.NewServer(shopifytest.Options{Customers: 5, Seed: 3, Token: tok, BucketSize: 10, LeakRate: 1,
		ClientID: "cid", ClientSecret: "csecret"})
	defer sim.Close()
	u := sim.URL + "/admin/api/2024-04/customers/count.json"
	var throttled int
	for i := range 15 {
		resp, _ := get(t, u)
		switch resp.status {
		case 200:
			if want := fmt.Sprintf("%d/10", i+1); resp.header.Get("X-Shopify-Shop-Api-Call-Limit") != want && i < 10 {
				t.Errorf("request %d: call limit %q, want %q", i, resp.header.Get("X-Shopify-Shop-Api-Call-Limit"), want)
			}
		case 429:
			throttled++
			if ra := resp.header.Get("Retry-After"); !regexp.MustCompile(`^[0-9]+\.[0-9]$`).MatchString(ra) {
				t.Errorf("Retry-After %q, want seconds like 1.0", ra)
			}
		}
	}
	if throttled < 4 || sim.Stats().Throttled != int64(throttled) {
		t.Errorf("%d throttled (stats %d), want at least 4", throttled, sim.Stats().Throttled)
	}

	grant := func(secret string) (int, string) {
		resp, err := http.PostForm(sim.URL+"/admin/oauth/access_token",
			url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {secret}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.AccessToken
	}
	if code, _ := grant("wrong"); code != 400 {
		t.Errorf("wrong secret: %d", code)
	}
	code, granted := grant("csecret")
	if code != 200 || !strings.HasPrefix(granted, "shpat_") {
		t.Fatalf("grant: %d %q", code, granted)
	}
	sim.ExpireTokens()
	if r := fetch(t, u, granted); r.status != 401 {
		t.Errorf("expired token: %d, want 401", r.status)
	}
}

func TestGeneratorDeterministicAndVaried(t *testing.T) {
	sim := shopifytest.NewHandler(shopifytest.Options{})
	a, b := sim.Generate(2000, 9), sim.Generate(2000, 9)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("same seed, different customers")
	}
	var nullEmail, cjk, caseDup int
	seen := map[string]bool{}
	for _, c := range a {
		if c.Email == nil {
			nullEmail++
			continue
		}
		if seen[strings.ToLower(*c.Email)] {
			caseDup++
		}
		seen[strings.ToLower(*c.Email)] = true
		if c.LastName != nil && strings.ContainsAny(*c.LastName, "山田王김佐藤李") {
			cjk++
		}
	}
	if nullEmail == 0 || cjk == 0 || caseDup == 0 {
		t.Errorf("null emails %d, CJK names %d, case duplicates %d: want some of each", nullEmail, cjk, caseDup)
	}
}
