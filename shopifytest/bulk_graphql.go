package shopifytest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The GraphQL side of bulk operations: the root fields and mutations, the
// customers bulk query's validation, and the encoder of its JSONL lines.

// gqlSince gives the first API version with a field, for fields newer than
// the oldest version served (shopify.dev/changelog/new-queries-for-bulk-operations).
var gqlSince = map[string]string{
	"QueryRoot.bulkOperation":  "2026-01",
	"QueryRoot.bulkOperations": "2026-01",
}

// fieldType returns the type of field name of type typ in API version
// version.
func fieldType(typ, name, version string) (string, bool) {
	if since, ok := gqlSince[typ+"."+name]; ok && version < since {
		return "", false
	}
	// bulkOperationRunQuery's userErrors are UserError (no code) before
	// 2025-01 (shopify.dev/docs/api/admin-graphql/2024-10/payloads/BulkOperationRunQueryPayload).
	if typ == "BulkOperationRunQueryPayload" && name == "userErrors" && version < "2025-01" {
		return "UserError", true
	}
	ft, ok := gqlSchema[typ][name]
	return ft, ok
}

// bulkObject is op as a GraphQL BulkOperation.
func (s *Server) bulkObject(op *bulkOp, host string) *gqlObject {
	v := s.bulkView(op, s.now(), host)
	return &gqlObject{typ: "BulkOperation", fields: map[string]any{
		"id":              op.gid(),
		"status":          v.status,
		"errorCode":       v.errorCode,
		"objectCount":     strconv.FormatInt(v.objectCount, 10),
		"rootObjectCount": strconv.FormatInt(v.objectCount, 10),
		"fileSize":        v.fileSize,
		"url":             v.url,
		"partialDataUrl":  v.partialDataURL,
		"query":           op.query,
		"createdAt":       gqlTime(op.created),
		"completedAt":     v.completedAt,
		"type":            "QUERY",
	}}
}

// bulkByGID finds an operation by its GraphQL id; s.bulk.mu is held.
func (s *Server) bulkByGID(gid string) *bulkOp {
	n, ok := strings.CutPrefix(gid, "gid://shopify/BulkOperation/")
	if !ok {
		return nil
	}
	id, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return nil
	}
	for _, op := range s.bulk.ops {
		if op.id == id {
			return op
		}
	}
	return nil
}

// resolveBulkRoot runs the root fields of bulk operations, counts and
// scopes; ok is false for other fields.
func (ex *gqlExec) resolveBulkRoot(sel *gqlSel) (any, bool) {
	s := ex.s
	switch sel.Name {
	case "customersCount":
		ex.cost++
		s.cmu.RLock()
		n := len(s.customers)
		s.cmu.RUnlock()
		precision := "EXACT"
		limit := 10_000 // the default since 2025-07 (shopify.dev/changelog/uncapped-graphql-counts)
		if v, ok := ex.arg(sel, "limit"); ok {
			if v == nil {
				limit = -1
			} else {
				limit = intArg(v)
			}
		} else if ex.version < "2025-07" {
			limit = -1 // before 2025-07 the simulator counts them all
		}
		if limit >= 0 && n > limit {
			n, precision = limit, "AT_LEAST"
		}
		return &gqlObject{typ: "Count", fields: map[string]any{"count": n, "precision": precision}}, true
	case "currentAppInstallation":
		ex.cost++
		var scopes []*gqlObject
		for _, sc := range s.scopes() {
			scopes = append(scopes, &gqlObject{typ: "AccessScope", fields: map[string]any{"handle": sc, "description": sc}})
		}
		return &gqlObject{typ: "AppInstallation", fields: map[string]any{"accessScopes": scopes}}, true
	case "currentBulkOperation":
		ex.cost++
		s.bulk.mu.Lock()
		defer s.bulk.mu.Unlock()
		if len(s.bulk.ops) == 0 {
			return (*gqlObject)(nil), true
		}
		return s.bulkObject(s.bulk.ops[len(s.bulk.ops)-1], ex.host), true
	case "bulkOperation", "node":
		ex.cost++
		v, _ := ex.arg(sel, "id")
		gid, _ := v.(string)
		if sel.Name == "node" && strings.HasPrefix(gid, "gid://shopify/WebhookSubscription/") {
			if sub, ok := s.apiSubscription(gid); ok {
				return subscriptionObject(sub), true
			}
			return (*gqlObject)(nil), true
		}
		s.bulk.mu.Lock()
		defer s.bulk.mu.Unlock()
		if op := s.bulkByGID(gid); op != nil {
			return s.bulkObject(op, ex.host), true
		}
		return (*gqlObject)(nil), true
	case "bulkOperations":
		return ex.listBulk(sel), true
	case "bulkOperationRunQuery":
		ex.cost += 10
		return ex.runBulk(sel), true
	case "bulkOperationCancel":
		ex.cost += 10
		return ex.cancelBulk(sel), true
	case "customers":
		return (*gqlObject)(nil), true // only bulk queries read customers here
	}
	return nil, false
}

// listBulk runs bulkOperations(first, query): newest first, filtered by
// status and operation_type terms of the search syntax.
func (ex *gqlExec) listBulk(sel *gqlSel) *gqlObject {
	first := 50
	if v, ok := ex.arg(sel, "first"); ok && v != nil {
		first = intArg(v)
	}
	ex.cost += 2 + first
	var statuses []string
	if v, ok := ex.arg(sel, "query"); ok && v != nil {
		q, _ := v.(string)
		for _, term := range strings.FieldsFunc(q, func(r rune) bool { return r == ' ' || r == '(' || r == ')' }) {
			if st, ok := strings.CutPrefix(strings.ToLower(term), "status:"); ok {
				statuses = append(statuses, strings.ToUpper(st))
			}
		}
	}
	s := ex.s
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	nodes, edges := []*gqlObject{}, []*gqlObject{}
	for i := len(s.bulk.ops) - 1; i >= 0 && len(nodes) < first; i-- {
		obj := s.bulkObject(s.bulk.ops[i], ex.host)
		if statuses != nil && !slices.Contains(statuses, obj.fields["status"].(string)) {
			continue
		}
		nodes = append(nodes, obj)
		edges = append(edges, &gqlObject{typ: "BulkOperationEdge", fields: map[string]any{"cursor": obj.fields["id"], "node": obj}})
	}
	return &gqlObject{typ: "BulkOperationConnection", fields: map[string]any{"nodes": nodes, "edges": edges,
		"pageInfo": &gqlObject{typ: "PageInfo", fields: map[string]any{"hasNextPage": false, "hasPreviousPage": false,
			"startCursor": nil, "endCursor": nil}}}}
}

func bulkUserError(msg, code string) []*gqlObject {
	return []*gqlObject{{typ: "BulkOperationUserError", fields: map[string]any{"field": []string{"query"}, "message": msg, "code": code}}}
}

// runBulk runs bulkOperationRunQuery(query:): the query must be a
// customers connection with edges { node { … } } and fields of Customer.
func (ex *gqlExec) runBulk(sel *gqlSel) *gqlObject {
	out := &gqlObject{typ: "BulkOperationRunQueryPayload", fields: map[string]any{
		"bulkOperation": (*gqlObject)(nil), "userErrors": []*gqlObject{}}}
	v, _ := ex.arg(sel, "query")
	query, _ := v.(string)
	plan, lastOrder, msg := compileBulkQuery(query, ex.version)
	if msg != "" {
		out.fields["userErrors"] = bulkUserError(msg, "INVALID")
		return out
	}
	op, msg, code := ex.s.submitBulk(query, ex.version, plan, lastOrder)
	if op == nil {
		out.fields["userErrors"] = bulkUserError(msg, code)
		return out
	}
	ex.s.bulk.mu.Lock()
	out.fields["bulkOperation"] = ex.s.bulkObject(op, ex.host)
	ex.s.bulk.mu.Unlock()
	return out
}

// cancelBulk runs bulkOperationCancel(id:): the operation is CANCELING for
// Options.BulkCancelDelay (default 100 ms), then CANCELED.
func (ex *gqlExec) cancelBulk(sel *gqlSel) *gqlObject {
	out := &gqlObject{typ: "BulkOperationCancelPayload", fields: map[string]any{
		"bulkOperation": (*gqlObject)(nil), "userErrors": []*gqlObject{}}}
	v, _ := ex.arg(sel, "id")
	gid, _ := v.(string)
	s := ex.s
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	op := s.bulkByGID(gid)
	if op == nil {
		out.fields["userErrors"] = userErrors([]string{"id"}, "Bulk operation does not exist")
		return out
	}
	s.bulk.stats.Canceled++
	switch s.bulkView(op, s.now(), ex.host).status {
	case "CREATED", "RUNNING":
		delay := s.opts.BulkCancelDelay
		if delay == 0 {
			delay = 100 * time.Millisecond
		}
		op.canceledAt, op.cancelFor = s.now(), delay
	default:
		out.fields["userErrors"] = userErrors(nil, "A bulk operation cannot be canceled when it is "+strings.ToLower(s.bulkView(op, s.now(), ex.host).status))
	}
	out.fields["bulkOperation"] = s.bulkObject(op, ex.host)
	return out
}

// compileBulkQuery validates a bulk query and compiles the selection of its
// customers' nodes. msg is the refusal when it is not valid.
func compileBulkQuery(query, version string) (plan []gqlField, lastOrder bool, msg string) {
	doc, err := parseGraphQL(query)
	if err != nil {
		return nil, false, "Invalid bulk query: " + err.Error()
	}
	op, gerr := pickOperation(doc, "")
	if gerr != nil {
		return nil, false, "Invalid bulk query: " + gerr.Message
	}
	if op.Kind != "query" {
		return nil, false, "Invalid bulk query: bulk queries must be queries"
	}
	var errs []gqlError
	validateSels(doc, op.Sels, "QueryRoot", version, &errs)
	if len(errs) > 0 {
		return nil, false, "Invalid bulk query: " + errs[0].Message
	}
	roots := flatten(doc, op.Sels, "QueryRoot")
	if len(roots) != 1 || roots[0].Name != "customers" {
		return nil, false, "Bulk queries must contain at least one connection. (The simulator runs customers bulk queries only.)"
	}
	var node *gqlSel
	for _, e := range flatten(doc, roots[0].Sels, "CustomerConnection") {
		if e.Name != "edges" {
			continue
		}
		for _, n := range flatten(doc, e.Sels, "CustomerEdge") {
			if n.Name == "node" {
				node = n
			}
		}
	}
	if node == nil {
		return nil, false, "Invalid bulk query: select customers { edges { node { … } } }"
	}
	plan = compilePlan(doc, node.Sels, "Customer")
	for _, f := range plan {
		lastOrder = lastOrder || f.name == "lastOrder"
	}
	return plan, lastOrder, ""
}

// gqlField is a compiled selection: the response key, already written as
// a JSON key, the field and its own selection.
type gqlField struct {
	key  []byte
	name string
	sub  []gqlField
}

func compilePlan(doc *gqlDoc, sels []gqlSel, typ string) []gqlField {
	var out []gqlField
	for _, sel := range flatten(doc, sels, typ) {
		f := gqlField{key: append(appendJSONString(nil, sel.key()), ':'), name: sel.Name}
		if sel.Sels != nil {
			f.sub = compilePlan(doc, sel.Sels, gqlSchema[typ][sel.Name])
		}
		out = append(out, f)
	}
	return out
}

// appendBulkRow appends c's JSONL line: the plan's fields, as GraphQL
// serialises them (enums upper case, UnsignedInt64 and Decimal as strings,
// Decimal without trailing zeros, times in UTC), then a newline.
func appendBulkRow(b []byte, plan []gqlField, c *Customer) []byte {
	b = append(b, '{')
	for i := range plan {
		f := &plan[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f.key...)
		switch f.name {
		case "__typename":
			b = appendJSONString(b, "Customer")
		case "id":
			b = appendJSONString(b, "gid://shopify/Customer/"+strconv.FormatInt(c.ID, 10))
		case "legacyResourceId":
			b = appendJSONString(b, strconv.FormatInt(c.ID, 10))
		case "email":
			b = appendNullable(b, c.Email)
		case "firstName":
			b = appendNullable(b, c.FirstName)
		case "lastName":
			b = appendNullable(b, c.LastName)
		case "phone":
			b = appendNullable(b, c.Phone)
		case "note":
			b = appendNullable(b, c.Note)
		case "displayName":
			b = appendJSONString(b, displayName(c))
		case "state":
			b = appendJSONString(b, strings.ToUpper(c.State))
		case "tags":
			b = append(b, '[')
			first := true
			for t := range strings.SplitSeq(c.Tags, ",") {
				if t = strings.TrimSpace(t); t == "" {
					continue
				}
				if !first {
					b = append(b, ',')
				}
				first = false
				b = appendJSONString(b, t)
			}
			b = append(b, ']')
		case "verifiedEmail":
			b = strconv.AppendBool(b, c.VerifiedEmail)
		case "taxExempt":
			b = strconv.AppendBool(b, c.TaxExempt)
		case "createdAt":
			b = appendJSONString(b, gqlTime(c.created))
		case "updatedAt":
			b = appendJSONString(b, gqlTime(c.updated))
		case "numberOfOrders":
			b = appendJSONString(b, strconv.FormatInt(c.OrdersCount, 10))
		case "amountSpent":
			b = appendObject(b, f.sub, func(b []byte, name string) []byte {
				switch name {
				case "amount":
					return appendJSONString(b, gqlDecimal(c.TotalSpent))
				case "currencyCode":
					return appendJSONString(b, c.Currency)
				}
				return append(b, "null"...)
			})
		case "emailMarketingConsent":
			if e := c.EmailMarketingConsent; e == nil {
				b = append(b, "null"...)
			} else {
				b = appendObject(b, f.sub, func(b []byte, name string) []byte {
					return appendConsent(b, name, e.State, e.OptInLevel, e.ConsentUpdatedAt, "")
				})
			}
		case "smsMarketingConsent":
			if sc := c.SMSMarketingConsent; sc == nil {
				b = append(b, "null"...)
			} else {
				b = appendObject(b, f.sub, func(b []byte, name string) []byte {
					return appendConsent(b, name, sc.State, sc.OptInLevel, sc.ConsentUpdatedAt, sc.ConsentCollectedFrom)
				})
			}
		case "defaultAddress":
			if a := c.DefaultAddress; a == nil {
				b = append(b, "null"...)
			} else {
				b = appendObject(b, f.sub, func(b []byte, name string) []byte { return appendAddress(b, name, a) })
			}
		case "lastOrder":
			if c.LastOrderID == nil {
				b = append(b, "null"...)
			} else {
				b = appendObject(b, f.sub, func(b []byte, name string) []byte {
					switch name {
					case "id":
						return appendJSONString(b, "gid://shopify/Order/"+strconv.FormatInt(*c.LastOrderID, 10))
					case "legacyResourceId":
						return appendJSONString(b, strconv.FormatInt(*c.LastOrderID, 10))
					case "name":
						return appendNullable(b, c.LastOrderName)
					}
					return append(b, "null"...)
				})
			}
		default:
			b = append(b, "null"...)
		}
	}
	return append(b, '}', '\n')
}

func appendObject(b []byte, sub []gqlField, value func(b []byte, name string) []byte) []byte {
	b = append(b, '{')
	for i := range sub {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, sub[i].key...)
		if sub[i].name == "__typename" {
			b = append(b, `""`...)
			continue
		}
		b = value(b, sub[i].name)
	}
	return append(b, '}')
}

func appendConsent(b []byte, name, state string, level, updated *string, from string) []byte {
	switch name {
	case "marketingState":
		return appendJSONString(b, strings.ToUpper(state))
	case "marketingOptInLevel":
		if level == nil {
			return append(b, "null"...)
		}
		return appendJSONString(b, strings.ToUpper(*level))
	case "consentUpdatedAt":
		if updated == nil {
			return append(b, "null"...)
		}
		t, err := time.Parse(time.RFC3339, *updated)
		if err != nil {
			return append(b, "null"...)
		}
		return appendJSONString(b, gqlTime(t))
	case "consentCollectedFrom":
		return appendJSONString(b, strings.ToUpper(from))
	}
	return append(b, "null"...)
}

func appendAddress(b []byte, name string, a *Address) []byte {
	switch name {
	case "address1":
		return appendNullable(b, a.Address1)
	case "address2":
		return appendNullable(b, a.Address2)
	case "city":
		return appendNullable(b, a.City)
	case "company":
		return appendNullable(b, a.Company)
	case "country":
		return appendNullable(b, a.Country)
	case "countryCode", "countryCodeV2":
		return appendNullable(b, a.CountryCode)
	case "province":
		return appendNullable(b, a.Province)
	case "provinceCode":
		return appendNullable(b, a.ProvinceCode)
	case "zip":
		return appendNullable(b, a.Zip)
	case "phone":
		return appendNullable(b, a.Phone)
	case "name":
		return appendNullable(b, a.Name)
	case "firstName":
		return appendNullable(b, a.FirstName)
	case "lastName":
		return appendNullable(b, a.LastName)
	}
	return append(b, "null"...)
}

func displayName(c *Customer) string {
	var parts []string
	for _, p := range []*string{c.FirstName, c.LastName} {
		if p != nil && *p != "" {
			parts = append(parts, *p)
		}
	}
	switch {
	case len(parts) > 0:
		return strings.Join(parts, " ")
	case c.Email != nil:
		return *c.Email
	case c.Phone != nil:
		return *c.Phone
	}
	return ""
}

func appendNullable(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

// gqlDecimal writes a REST decimal string ("12.50", "0.00") as GraphQL's
// Decimal scalar serialises it: without trailing zeros, one digit after
// the point at least ("12.5", "0.0"). Shopify answers {"amount":"0.0"} for
// a customer who spent nothing (GraphQL fixtures of two unrelated Shopify
// apps in the code corpus agree).
func gqlDecimal(s string) string {
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return s + ".0"
	}
	end := len(s)
	for end > dot+2 && s[end-1] == '0' {
		end--
	}
	return s[:end]
}

// appendJSONString appends s as a JSON string the way Shopify's files
// write strings: slashes escaped ("gid:\/\/shopify\/…", as a result file
// quoted in Shopify/shopify-api-ruby#729 shows), and <, > and & as
// \u003c, \u003e and \u0026, as Rails escapes HTML entities in JSON.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '/' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\', '/':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = fmt.Appendf(b, `\u%04x`, r)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
