package contacttest_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/contacttest"
	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
)

// TestMatchesStore writes customers through the real store and checks
// that Encode gives the columns the store wrote, byte for byte: what the
// segment and marketing tests insert is what a store holds.
func TestMatchesStore(t *testing.T) {
	ctx := context.Background()
	m, err := mapping.New(mapping.Config{Attributes: names(mapping.Catalog())})
	if err != nil {
		t.Fatal(err)
	}
	var contacts []shopsync.Contact
	for _, f := range []string{"customer_2024_04_rest.json", "customer_big_numbers.json", "customer_cjk_nulls.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "mapping", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		var c shopify.Customer
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		k, err := m.Contact(&c)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		contacts = append(contacts, k)
	}
	// A page is in ascending id order.
	for i := 1; i < len(contacts); i++ {
		for j := i; j > 0 && contacts[j].ShopifyID < contacts[j-1].ShopifyID; j-- {
			contacts[j], contacts[j-1] = contacts[j-1], contacts[j]
		}
	}
	db := testutil.MustOpenDB(t)
	run, _, err := db.BeginRun(ctx, shopsync.TriggerCLI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyPage(ctx, run, 0, contacts[len(contacts)-1].ShopifyID, time.Now(), contacts); err != nil {
		t.Fatal(err)
	}

	raw, err := contacttest.Open(ctx, db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, k := range contacts {
		stored, err := db.Contact(ctx, k.ShopifyID)
		if err != nil {
			t.Fatal(err)
		}
		var got contacttest.Row
		var email, norm, first, last, phone, state, created, updated, deleted sql.NullString
		err = raw.QueryRowContext(ctx, `SELECT email, email_norm, first_name, last_name, phone, state, tags,
			shopify_created_at, shopify_updated_at, deleted_at, attributes,
			(SELECT types FROM attribute_type_sets WHERE id = attribute_types)
			FROM contacts WHERE shopify_id = ?`, k.ShopifyID).Scan(&email, &norm, &first, &last, &phone,
			&state, &got.Tags, &created, &updated, &deleted, &got.Attributes, &got.Types)
		if err != nil {
			t.Fatal(err)
		}
		got.Email, got.EmailNorm, got.FirstName, got.LastName = v(email), v(norm), v(first), v(last)
		got.Phone, got.State, got.CreatedAt, got.UpdatedAt, got.DeletedAt = v(phone), v(state), v(created), v(updated), v(deleted)
		if diff := cmp.Diff(got, contacttest.Encode(stored)); diff != "" {
			t.Errorf("contact %d: store columns vs Encode (-store +Encode):\n%s", k.ShopifyID, diff)
		}
	}
}

func v(s sql.NullString) any {
	if !s.Valid {
		return nil
	}
	return s.String
}

func names(specs []mapping.Spec) []string {
	var out []string
	for _, s := range specs {
		out = append(out, s.Name)
	}
	return out
}
