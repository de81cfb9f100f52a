package shopify

import (
	"encoding/json"
	"testing"
)

func TestOptPresence(t *testing.T) {
	var c Customer
	if err := json.Unmarshal([]byte(`{"id":706405506930370084,"email":null,"note":"hi","total_spent":"100.10"}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.ID != 706405506930370084 {
		t.Errorf("got id %d", c.ID)
	}
	if !c.Email.Set || !c.Email.Null {
		t.Errorf("email: got %+v, want set and null", c.Email)
	}
	if c.Phone.Set {
		t.Errorf("phone: got %+v, want absent", c.Phone)
	}
	if !c.Note.Valid() || c.Note.V != "hi" {
		t.Errorf("note: got %+v", c.Note)
	}
	if c.TotalSpent.V != "100.10" {
		t.Errorf("total_spent: got %q, want 100.10", c.TotalSpent.V)
	}
}
