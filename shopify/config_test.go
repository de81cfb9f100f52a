package shopify_test

import (
	"strings"
	"testing"

	"github.com/shopsync/shopsync/shopify"
)

func TestNormalizeShop(t *testing.T) {
	tests := []struct {
		name, in, want, errHas string
	}{
		{name: "bare name", in: "acme", want: "acme.myshopify.com"},
		{name: "full domain", in: "acme.myshopify.com", want: "acme.myshopify.com"},
		{name: "url with slash", in: "https://acme.myshopify.com/", want: "acme.myshopify.com"},
		{name: "hyphens and case", in: " My-Shop-2.MyShopify.com ", want: "my-shop-2.myshopify.com"},
		{name: "custom domain", in: "shop.acme.com", errHas: "custom domain"},
		{name: "custom domain url", in: "https://www.acme.com", errHas: "custom domain"},
		{name: "empty", in: "", errHas: "required"},
		{name: "old admin url", in: "https://acme.myshopify.com/admin", want: "acme.myshopify.com"},
		{name: "old admin page", in: "acme.myshopify.com/admin/customers/1", want: "acme.myshopify.com"},
		{name: "storefront path", in: "https://acme.myshopify.com/collections/all", errHas: "not a myshopify"},
		{name: "admin url", in: "https://admin.shopify.com/store/acme", want: "acme.myshopify.com"},
		{name: "admin url with page", in: "https://admin.shopify.com/store/My-Shop/customers/706405506930370084?x=1", want: "my-shop.myshopify.com"},
		{name: "admin url no scheme", in: "admin.shopify.com/store/acme/", want: "acme.myshopify.com"},
		{name: "admin url without store", in: "https://admin.shopify.com/", errHas: "admin.shopify.com/store/{name}"},
		{name: "admin url bad name", in: "https://admin.shopify.com/store/a%20b", errHas: "admin.shopify.com/store/{name}"},
		{name: "space inside", in: "ac me", errHas: "not a myshopify store name"},
		{name: "leading hyphen", in: "-acme", errHas: "not a myshopify store name"},
		{name: "only suffix", in: ".myshopify.com", errHas: "not a myshopify store name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := shopify.NormalizeShop(tt.in)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("NormalizeShop(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.errHas)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeShop(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzNormalizeShop(f *testing.F) {
	for _, s := range []string{"acme", "acme.myshopify.com", "https://acme.myshopify.com/", "shop.acme.com", "", "-", "a.myshopify.com.evil.com",
		"https://admin.shopify.com/store/acme", "admin.shopify.com/store/a/b", "acme.myshopify.com/admin"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := shopify.NormalizeShop(in)
		if err != nil {
			return
		}
		name, ok := strings.CutSuffix(got, ".myshopify.com")
		if !ok || name == "" || strings.ContainsAny(name, "./:@ ") {
			t.Fatalf("NormalizeShop(%q) = %q: not a myshopify host", in, got)
		}
		again, err := shopify.NormalizeShop(got)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, got, again, err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	valid := shopify.Config{Shop: "acme", AccessToken: "shpat_secret", APIVersion: "2024-04"}
	tests := []struct {
		name   string
		edit   func(*shopify.Config)
		errHas []string // empty: valid
	}{
		{name: "static token", edit: func(*shopify.Config) {}},
		{name: "client credentials", edit: func(c *shopify.Config) { c.AccessToken, c.ClientID, c.ClientSecret = "", "id", "shpss_x" }},
		{name: "token plus webhook secret", edit: func(c *shopify.Config) { c.ClientSecret = "shpss_x" }},
		{name: "no credentials", edit: func(c *shopify.Config) { c.AccessToken = "" }, errHas: []string{"shopify.access_token: required"}},
		{name: "id without secret", edit: func(c *shopify.Config) { c.AccessToken, c.ClientID = "", "id" }, errHas: []string{"shopify.client_secret: required"}},
		{name: "secret without id", edit: func(c *shopify.Config) { c.AccessToken, c.ClientSecret = "", "shpss_only_secret" }, errHas: []string{"shopify.client_id: required"}},
		{name: "bad version", edit: func(c *shopify.Config) { c.APIVersion = "2024-4" }, errHas: []string{"shopify.api_version", "2024-04"}},
		{name: "non-quarter version", edit: func(c *shopify.Config) { c.APIVersion = "2024-05" }, errHas: []string{"shopify.api_version"}},
		{name: "custom domain", edit: func(c *shopify.Config) { c.Shop = "shop.example.com" }, errHas: []string{"shopify.shop", "custom domain"}},
		{name: "bad base url", edit: func(c *shopify.Config) { c.APIBaseURL = "127.0.0.1:9000" }, errHas: []string{"shopify.api_base_url"}},
		{name: "https base url", edit: func(c *shopify.Config) { c.APIBaseURL = "https://proxy.example/shopify" }},
		{name: "http loopback base url", edit: func(c *shopify.Config) { c.APIBaseURL = "http://127.0.0.1:9000" }},
		{name: "http localhost base url", edit: func(c *shopify.Config) { c.APIBaseURL = "http://localhost:9000/" }},
		{name: "http ipv6 loopback base url", edit: func(c *shopify.Config) { c.APIBaseURL = "http://[::1]:9000" }},
		{name: "http base url beyond loopback", edit: func(c *shopify.Config) { c.APIBaseURL = "http://proxy.example:8080" },
			errHas: []string{"shopify.api_base_url", "https://proxy.example:8080"}},
		{name: "http base url with credentials", edit: func(c *shopify.Config) { c.APIBaseURL = "http://user:shpat_secret@10.0.0.5/" },
			errHas: []string{"shopify.api_base_url", "https://10.0.0.5"}},
		{name: "several at once", edit: func(c *shopify.Config) { c.Shop, c.APIVersion = "", "x" }, errHas: []string{"shopify.shop", "shopify.api_version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.edit(&cfg)
			err := cfg.Validate()
			if len(tt.errHas) == 0 {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			if err == nil {
				t.Fatal("got valid, want an error")
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			for _, secret := range []string{cfg.AccessToken, cfg.ClientSecret} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains a secret", err)
				}
			}
		})
	}
}
