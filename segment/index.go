package segment

// The store indexes the expressions that the built-in segments read
// (store/migrations/0014_audience_indexes.sql), so that a segment reading
// nothing else is counted from one index, without reading a row. Each
// index starts with the contact's id, so that an import, which writes
// contacts in id order, appends to it rather than writing all over it;
// it holds deleted_at, which every count tests, and the expressions below,
// written exactly as the SQL of segments writes them: SQLite reads an
// expression from an index only when it is the same expression.
//
// A segment that reads anything else is counted by reading the rows
// (store.Filter): a count through an index that must look each row up is
// slower than reading the table in order, unless the index picks few
// rows, which only the data can tell.

// storeIndex is one of the store's indexes and the expressions its
// entries hold, besides shopify_id and deleted_at.
type storeIndex struct {
	name  string
	exprs []string
}

// storeIndexes are the store's indexes for segments. A segment that reads
// no field (true) is counted from the first.
var storeIndexes = []storeIndex{
	{"contacts_email_consent_orders", []string{
		lower(attrColumn("email_marketing_consent")), attrColumn("orders_count"), attrColumn("total_spent")}},
	{"contacts_sms_consent_created", []string{
		lower(attrColumn("sms_marketing_consent")), "shopify_created_at"}},
}

// indexFor returns the name of the first store index holding every one of
// reads; "" when none does.
func indexFor(reads map[string]bool) string {
	for _, ix := range storeIndexes {
		holds := true
		for r := range reads {
			found := false
			for _, e := range ix.exprs {
				found = found || e == r
			}
			holds = holds && found
		}
		if holds {
			return ix.name
		}
	}
	return ""
}
