package shopify

import (
	"testing"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/google/go-cmp/cmp"
)

// TestNextPage reads Link headers: the cases go-shopify v4.7.0 tests its
// own reading with (customer_test.go, TestCustomerListWithPagination, and
// goshopify_test.go, TestListWithPagination), and the forms RFC 8288
// allows that Shopify's documented syntax (SHOPIFY.md §3) leaves open.
func TestNextPage(t *testing.T) {
	for _, tc := range []struct {
		header  string
		want    *goshopify.ListOptions
		wantErr bool
	}{
		// go-shopify's cases.
		{header: "", want: nil},
		{header: "invalid link", wantErr: true},
		{header: `<:invalid.url>; rel="next"`, wantErr: true},
		{header: `<http://valid.url?%invalid_query>; rel="next"`, wantErr: true},
		{header: `<http://valid.url>; rel="next"`, wantErr: true},
		{header: `<http://valid.url?page_info=foo&limit=invalid>; rel="next"`, wantErr: true},
		{header: `<http://valid.url?page_info=foo&limit=2>; rel="next"`, want: &goshopify.ListOptions{PageInfo: "foo", Limit: 2}},
		{header: `<http://valid.url?page_info=foo>; rel="next", <http://valid.url?page_info=bar>; rel="previous"`,
			want: &goshopify.ListOptions{PageInfo: "foo"}},
		{header: `<https://fooshop.myshopify.com/admin/api/2024-04/locations.json?page_info=abc&limit=10>; rel="next", ` +
			`<https://fooshop.myshopify.com/admin/api/2024-04/locations.json?page_info=123&limit=10>; rel="previous"`,
			want: &goshopify.ListOptions{PageInfo: "abc", Limit: 10}},
		// Previous first, as Shopify often sends it; previous alone.
		{header: `<https://a/admin/api/2024-04/customers.json?limit=250&page_info=p>; rel="previous", ` +
			`<https://a/admin/api/2024-04/customers.json?limit=250&page_info=n>; rel="next"`,
			want: &goshopify.ListOptions{PageInfo: "n", Limit: 250}},
		{header: `<https://a/?page_info=p>; rel="previous"`, want: nil},
		// Unquoted, several relations, other parameters, other case.
		{header: `<https://a/?page_info=n>; rel=next`, want: &goshopify.ListOptions{PageInfo: "n"}},
		{header: `<https://a/?page_info=n>; title="x"; REL="last next"`, want: &goshopify.ListOptions{PageInfo: "n"}},
		{header: `<https://a/?page_info=n>; rel="nextish"`, want: nil},
		// The link's fields are not taken: the client asks for its own.
		{header: `<https://a/?page_info=n&fields=id>; rel="next"`, want: &goshopify.ListOptions{PageInfo: "n"}},
		{header: `<https://a/?page_info=n&limit=0>; rel="next"`, wantErr: true},
		{header: `https://a/?page_info=n; rel="next"`, wantErr: true},
	} {
		got, err := nextPage(tc.header)
		if (err != nil) != tc.wantErr {
			t.Errorf("nextPage(%q): error %v, want error %v", tc.header, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(got, tc.want); diff != "" {
			t.Errorf("nextPage(%q) (-got +want):\n%s", tc.header, diff)
		}
	}
}
