package shopifytest

import (
	"encoding/json"
	"math/big"
	"slices"
	"strings"
)

// Merge merges the customer mergedID into keptID, as the Admin API's
// customerMerge does (shopify.dev/docs/api/admin-graphql/latest/mutations/
// customerMerge): the kept customer takes the merged one's orders (their
// count and total spent add up, the later last order wins) and tags, and
// an email, phone or names it lacks; the merged customer is gone. It
// reports whether both existed.
//
// With Options.WebhookSecret set it queues customers/merge
// ({"admin_graphql_api_customer_kept_id", "…_deleted_id",
// "admin_graphql_api_job_id", "status", "errors"}, the shape of Shopify's
// 2026-07 reference sample, with status "completed"), then what the kept
// customer's change causes (customers/update and its related topics).
// Whether Shopify also sends customers/delete for the merged-away customer
// is not documented; the simulator does not.
func (s *Server) Merge(keptID, mergedID int64) bool {
	if keptID == mergedID {
		return false
	}
	merged, ok := s.Customer(mergedID)
	if !ok {
		return false
	}
	if _, ok := s.Customer(keptID); !ok {
		return false
	}
	s.cmu.Lock()
	if i, ok := s.find(mergedID); ok {
		old := s.customers[i]
		s.customers = slices.Delete(s.customers, i, i+1)
		s.forget(old)
	}
	s.cmu.Unlock()
	if s.opts.WebhookSecret != "" && s.hooks.topics()[TopicCustomersMerge] {
		s.enqueue(s.stamped([]Delivery{{Topic: TopicCustomersMerge, Body: mergeBody(keptID, mergedID)}}, s.now()))
	}
	s.Update(keptID, func(k *Customer) {
		k.OrdersCount += merged.OrdersCount
		k.TotalSpent = addDecimal(k.TotalSpent, merged.TotalSpent)
		if merged.LastOrderID != nil && (k.LastOrderID == nil || *merged.LastOrderID > *k.LastOrderID) {
			k.LastOrderID, k.LastOrderName = merged.LastOrderID, merged.LastOrderName
		}
		tags := splitTags(k.Tags)
		for _, t := range splitTags(merged.Tags) {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		slices.Sort(tags)
		k.Tags = strings.Join(tags, ", ")
		if k.Email == nil {
			k.Email = merged.Email
		}
		if k.Phone == nil {
			k.Phone = merged.Phone
		}
		if k.FirstName == nil && k.LastName == nil {
			k.FirstName, k.LastName = merged.FirstName, merged.LastName
		}
	})
	return true
}

func mergeBody(keptID, mergedID int64) []byte {
	b, _ := json.Marshal(struct {
		KeptID    string  `json:"admin_graphql_api_customer_kept_id"`
		DeletedID string  `json:"admin_graphql_api_customer_deleted_id"`
		JobID     *string `json:"admin_graphql_api_job_id"`
		Status    string  `json:"status"`
		Errors    []any   `json:"errors"`
	}{customerGID(keptID), customerGID(mergedID), nil, "completed", []any{}})
	return b
}

// addDecimal adds two decimal strings exactly, keeping the larger number
// of fraction digits ("1.50" + "2" = "3.50"); an empty string is zero.
func addDecimal(a, b string) string {
	scale := max(fracDigits(a), fracDigits(b))
	sum := new(big.Rat)
	for _, s := range []string{a, b} {
		if s == "" {
			continue
		}
		if r, ok := new(big.Rat).SetString(s); ok {
			sum.Add(sum, r)
		}
	}
	return sum.FloatString(scale)
}

func fracDigits(s string) int {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}
