package shopifytest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The GraphQL Admin API, as far as webhook subscriptions go:
//
//	mutation webhookSubscriptionCreate(topic: WebhookSubscriptionTopic!, webhookSubscription: WebhookSubscriptionInput!)
//	mutation webhookSubscriptionDelete(id: ID!)
//	query    webhookSubscriptions(first: Int, after: String, topics: [WebhookSubscriptionTopic!])
//	query    webhookSubscription(id: ID!)
//
// Shapes follow shopify.dev/docs/api/admin-graphql (WebhookSubscription,
// WebhookSubscriptionEndpoint) and Shopify/shopify-app-js
// packages/apps/shopify-api/lib/webhooks/register.ts, which lists with
// endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } }.
// Answers hold exactly the selected fields, aliases included. Cost-based
// rate limiting is simplified: GraphQL requests are not counted in the
// REST bucket, never throttled, and report a fixed cost in
// extensions.cost with a full bucket.

// gqlSchema maps each object type to its fields' types; a type missing
// here is a scalar or enum, one in gqlUnions a union.
var gqlSchema = map[string]map[string]string{
	"QueryRoot": {"webhookSubscriptions": "WebhookSubscriptionConnection", "webhookSubscription": "WebhookSubscription",
		"customersCount": "Count", "currentAppInstallation": "AppInstallation", "currentBulkOperation": "BulkOperation",
		"bulkOperation": "BulkOperation", "bulkOperations": "BulkOperationConnection", "node": "Node",
		"customers": "CustomerConnection"},
	"Mutation": {"webhookSubscriptionCreate": "WebhookSubscriptionCreatePayload",
		"webhookSubscriptionDelete": "WebhookSubscriptionDeletePayload",
		"bulkOperationRunQuery":     "BulkOperationRunQueryPayload", "bulkOperationCancel": "BulkOperationCancelPayload"},
	// Bulk operations, counts and scopes (bulk_graphql.go).
	"Node":            {"id": "ID"},
	"Count":           {"count": "Int", "precision": "CountPrecision"},
	"AppInstallation": {"accessScopes": "AccessScope"},
	"AccessScope":     {"handle": "String", "description": "String"},
	"BulkOperation": {"id": "ID", "status": "BulkOperationStatus", "errorCode": "BulkOperationErrorCode",
		"objectCount": "UnsignedInt64", "rootObjectCount": "UnsignedInt64", "fileSize": "UnsignedInt64", "url": "URL",
		"partialDataUrl": "URL", "query": "String", "createdAt": "DateTime", "completedAt": "DateTime",
		"type": "BulkOperationType"},
	"BulkOperationRunQueryPayload": {"bulkOperation": "BulkOperation", "userErrors": "BulkOperationUserError"},
	"BulkOperationUserError":       {"field": "String", "message": "String", "code": "BulkOperationUserErrorCode"},
	"BulkOperationCancelPayload":   {"bulkOperation": "BulkOperation", "userErrors": "UserError"},
	"BulkOperationConnection":      {"edges": "BulkOperationEdge", "nodes": "BulkOperation", "pageInfo": "PageInfo"},
	"BulkOperationEdge":            {"cursor": "String", "node": "BulkOperation"},
	// The customers connection, as far as the bulk query reads it.
	"CustomerConnection": {"edges": "CustomerEdge", "nodes": "Customer", "pageInfo": "PageInfo"},
	"CustomerEdge":       {"cursor": "String", "node": "Customer"},
	"Customer": {"id": "ID", "legacyResourceId": "UnsignedInt64", "email": "String", "firstName": "String",
		"lastName": "String", "displayName": "String", "phone": "String", "note": "String", "state": "CustomerState",
		"tags": "String", "verifiedEmail": "Boolean", "taxExempt": "Boolean", "createdAt": "DateTime",
		"updatedAt": "DateTime", "numberOfOrders": "UnsignedInt64", "amountSpent": "MoneyV2",
		"emailMarketingConsent": "CustomerEmailMarketingConsentState",
		"smsMarketingConsent":   "CustomerSmsMarketingConsentState", "defaultAddress": "MailingAddress",
		"lastOrder": "Order"},
	"MoneyV2": {"amount": "Decimal", "currencyCode": "CurrencyCode"},
	"CustomerEmailMarketingConsentState": {"marketingState": "CustomerEmailMarketingState",
		"marketingOptInLevel": "CustomerMarketingOptInLevel", "consentUpdatedAt": "DateTime"},
	"CustomerSmsMarketingConsentState": {"marketingState": "CustomerSmsMarketingState",
		"marketingOptInLevel": "CustomerMarketingOptInLevel", "consentUpdatedAt": "DateTime",
		"consentCollectedFrom": "CustomerConsentCollectedFrom"},
	"MailingAddress": {"address1": "String", "address2": "String", "city": "String", "company": "String",
		"country": "String", "countryCode": "String", "countryCodeV2": "CountryCode", "province": "String",
		"provinceCode": "String", "zip": "String", "phone": "String", "name": "String", "firstName": "String",
		"lastName": "String"},
	"Order":                            {"id": "ID", "name": "String", "legacyResourceId": "UnsignedInt64"},
	"WebhookSubscriptionCreatePayload": {"webhookSubscription": "WebhookSubscription", "userErrors": "UserError"},
	"WebhookSubscriptionDeletePayload": {"deletedWebhookSubscriptionId": "ID", "userErrors": "UserError"},
	"UserError":                        {"field": "String", "message": "String"},
	"WebhookSubscriptionConnection": {"edges": "WebhookSubscriptionEdge", "nodes": "WebhookSubscription",
		"pageInfo": "PageInfo"},
	"WebhookSubscriptionEdge": {"cursor": "String", "node": "WebhookSubscription"},
	"PageInfo": {"hasNextPage": "Boolean", "hasPreviousPage": "Boolean", "startCursor": "String",
		"endCursor": "String"},
	"WebhookSubscription": {"id": "ID", "legacyResourceId": "UnsignedInt64", "topic": "WebhookSubscriptionTopic",
		"format": "WebhookSubscriptionFormat", "callbackUrl": "URL", "uri": "String",
		"endpoint": "WebhookSubscriptionEndpoint", "includeFields": "String", "metafieldNamespaces": "String",
		"filter": "String", "createdAt": "DateTime", "updatedAt": "DateTime", "apiVersion": "ApiVersion"},
	"ApiVersion":                 {"handle": "String", "displayName": "String", "supported": "Boolean"},
	"WebhookHttpEndpoint":        {"callbackUrl": "URL"},
	"WebhookEventBridgeEndpoint": {"arn": "ARN"},
	"WebhookPubSubEndpoint":      {"pubSubProject": "String", "pubSubTopic": "String"},
}

var gqlUnions = map[string][]string{
	"WebhookSubscriptionEndpoint": {"WebhookHttpEndpoint", "WebhookEventBridgeEndpoint", "WebhookPubSubEndpoint"},
	"Node":                        {"BulkOperation", "WebhookSubscription"}, // an interface, as far as fragments go
}

// gqlError is an entry of a GraphQL answer's errors.
type gqlError struct {
	Message   string        `json:"message"`
	Locations []gqlLocation `json:"locations,omitempty"`
}

type gqlLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func selError(sel *gqlSel, format string, args ...any) gqlError {
	return gqlError{Message: fmt.Sprintf(format, args...), Locations: []gqlLocation{{sel.Line, sel.Col}}}
}

// gqlObject is a resolved object: its type and field values (scalars,
// []string, *gqlObject, []*gqlObject).
type gqlObject struct {
	typ    string
	fields map[string]any
}

// handleGraphQL serves POST graphql.json for the webhook subscription
// operations.
func (s *Server) handleGraphQL(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"errors": "Request body too large"})
		return
	}
	var req struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/graphql" {
		req.Query = string(raw)
	} else {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if dec.Decode(&req) != nil || req.Query == "" {
			writeJSON(w, http.StatusBadRequest, map[string]map[string]string{"errors": {"query": "Required parameter missing or invalid"}})
			return
		}
	}
	doc, err := parseGraphQL(req.Query)
	if err != nil {
		ge := gqlError{Message: err.Error()}
		if pe, ok := errors.AsType[*gqlParseError](err); ok {
			ge.Locations = []gqlLocation{{pe.line, pe.col}}
		}
		s.writeGraphQL(w, nil, []gqlError{ge}, 0)
		return
	}
	op, gerr := pickOperation(doc, req.OperationName)
	if gerr != nil {
		s.writeGraphQL(w, nil, []gqlError{*gerr}, 0)
		return
	}
	root := "QueryRoot"
	switch op.Kind {
	case "mutation":
		root = "Mutation"
	case "subscription":
		s.writeGraphQL(w, nil, []gqlError{{Message: "Subscriptions are not supported"}}, 0)
		return
	}
	version, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/admin/api/"), "/")
	version, _ = s.servedVersion(version)
	var errs []gqlError
	validateSels(doc, op.Sels, root, version, &errs)
	ex := &gqlExec{s: s, doc: doc, op: op, vars: req.Variables, version: version, host: r.Host}
	if len(errs) == 0 {
		ex.checkArgs(op.Sels, &errs)
	}
	if len(errs) > 0 {
		s.writeGraphQL(w, nil, errs, 0)
		return
	}
	data := &gqlObject{typ: root, fields: map[string]any{}}
	for _, sel := range flatten(doc, op.Sels, root) {
		if sel.Name != "__typename" {
			data.fields[sel.Name] = ex.resolveRoot(sel)
		}
	}
	var buf bytes.Buffer
	writeObject(&buf, doc, data, op.Sels)
	s.writeGraphQL(w, buf.Bytes(), nil, ex.cost)
}

// writeGraphQL writes an answer: data (raw JSON) or errors, and the cost,
// with the bucket of Options.GraphQLRestoreRate (Standard's 100 points a
// second by default, and a bucket of twenty seconds of it).
func (s *Server) writeGraphQL(w http.ResponseWriter, data []byte, errs []gqlError, cost int) {
	s.mu.Lock()
	restore := s.gqlRestore
	s.mu.Unlock()
	if restore <= 0 {
		restore = 100
	}
	bucket := 20 * restore
	var buf bytes.Buffer
	buf.WriteByte('{')
	if errs != nil {
		b, _ := json.Marshal(errs)
		buf.WriteString(`"errors":`)
		buf.Write(b)
	} else {
		buf.WriteString(`"data":`)
		buf.Write(data)
	}
	fmt.Fprintf(&buf, `,"extensions":{"cost":{"requestedQueryCost":%d,"actualQueryCost":%d,`+
		`"throttleStatus":{"maximumAvailable":%.1f,"currentlyAvailable":%.1f,"restoreRate":%.1f}}}}`,
		cost, cost, bucket, bucket-float64(cost), restore)
	writeBody(w, http.StatusOK, buf.Bytes())
}

func pickOperation(doc *gqlDoc, name string) (*gqlOp, *gqlError) {
	if name == "" {
		if len(doc.Ops) > 1 {
			return nil, &gqlError{Message: "An operation name is required"}
		}
		return doc.Ops[0], nil
	}
	for _, op := range doc.Ops {
		if op.Name == name {
			return op, nil
		}
	}
	return nil, &gqlError{Message: fmt.Sprintf("No operation named %q", name)}
}

// validateSels checks sels against typ's fields in API version version.
func validateSels(doc *gqlDoc, sels []gqlSel, typ, version string, errs *[]gqlError) {
	for i := range sels {
		sel := &sels[i]
		switch {
		case sel.Spread:
			frag, ok := doc.Frags[sel.Name]
			if !ok {
				*errs = append(*errs, selError(sel, "Fragment %s was used, but not defined", sel.Name))
				continue
			}
			validateFragment(doc, frag, typ, version, errs)
		case sel.Fragment:
			validateFragment(doc, sel, typ, version, errs)
		case sel.Name == "__typename":
			if sel.Sels != nil {
				*errs = append(*errs, selError(sel, "Selections can't be made on scalars (field '__typename' returns String but has selections)"))
			}
		default:
			ft, ok := fieldType(typ, sel.Name, version)
			if !ok {
				*errs = append(*errs, selError(sel, "Field '%s' doesn't exist on type '%s'", sel.Name, typ))
				continue
			}
			_, isObj := gqlSchema[ft]
			_, isUnion := gqlUnions[ft]
			switch {
			case (isObj || isUnion) && sel.Sels == nil:
				*errs = append(*errs, selError(sel, "Field must have selections (field '%s' returns %s but has no selections. Did you mean '%s { ... }'?)", sel.Name, ft, sel.Name))
			case !isObj && !isUnion && sel.Sels != nil:
				*errs = append(*errs, selError(sel, "Selections can't be made on scalars (field '%s' returns %s but has selections)", sel.Name, ft))
			case sel.Sels != nil:
				validateSels(doc, sel.Sels, ft, version, errs)
			}
		}
	}
}

func validateFragment(doc *gqlDoc, frag *gqlSel, typ, version string, errs *[]gqlError) {
	on := frag.On
	if on == "" {
		on = typ
	}
	if on != typ && !slices.Contains(gqlUnions[typ], on) {
		*errs = append(*errs, selError(frag, "Fragment on %s can't be spread inside %s", on, typ))
		return
	}
	_, isObj := gqlSchema[on]
	_, isUnion := gqlUnions[on]
	if !isObj && !isUnion {
		*errs = append(*errs, selError(frag, "No such type %s, so it can't be a fragment condition", on))
		return
	}
	validateSels(doc, frag.Sels, on, version, errs)
}

// flatten returns the fields sels select on an object of type typ,
// fragments expanded and repeated keys dropped.
func flatten(doc *gqlDoc, sels []gqlSel, typ string) []*gqlSel {
	var out []*gqlSel
	seen := map[string]bool{}
	var walk func(sels []gqlSel)
	walk = func(sels []gqlSel) {
		for i := range sels {
			sel := &sels[i]
			switch {
			case sel.Spread:
				if frag := doc.Frags[sel.Name]; frag != nil && applies(frag.On, typ) {
					walk(frag.Sels)
				}
			case sel.Fragment:
				if applies(sel.On, typ) {
					walk(sel.Sels)
				}
			case !seen[sel.key()]:
				seen[sel.key()] = true
				out = append(out, sel)
			}
		}
	}
	walk(sels)
	return out
}

// applies reports whether a fragment on type condition on applies to an
// object of type typ.
func applies(on, typ string) bool {
	return on == "" || on == typ || slices.Contains(gqlUnions[on], typ)
}

// writeObject writes obj with the fields sels select, in their order.
func writeObject(buf *bytes.Buffer, doc *gqlDoc, obj *gqlObject, sels []gqlSel) {
	buf.WriteByte('{')
	for i, sel := range flatten(doc, sels, obj.typ) {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(sel.key())
		buf.Write(k)
		buf.WriteByte(':')
		if sel.Name == "__typename" {
			writeScalar(buf, obj.typ)
			continue
		}
		switch v := obj.fields[sel.Name].(type) {
		case *gqlObject:
			if v == nil {
				buf.WriteString("null")
			} else {
				writeObject(buf, doc, v, sel.Sels)
			}
		case []*gqlObject:
			buf.WriteByte('[')
			for j, o := range v {
				if j > 0 {
					buf.WriteByte(',')
				}
				writeObject(buf, doc, o, sel.Sels)
			}
			buf.WriteByte(']')
		default:
			writeScalar(buf, v)
		}
	}
	buf.WriteByte('}')
}

func writeScalar(buf *bytes.Buffer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte("null")
	}
	buf.Write(b)
}

// gqlExec runs one operation.
type gqlExec struct {
	s       *Server
	doc     *gqlDoc
	op      *gqlOp
	vars    map[string]any
	cost    int
	version string // the API version served
	host    string // the request's Host, for URLs in answers
}

// arg resolves a field argument: variables substituted, enums as
// strings. It reports whether the argument was given.
func (ex *gqlExec) arg(sel *gqlSel, name string) (any, bool) {
	v, ok := sel.Args[name]
	if !ok {
		return nil, false
	}
	return ex.resolve(v), true
}

func (ex *gqlExec) resolve(v any) any {
	switch v := v.(type) {
	case gqlVarRef:
		if val, ok := ex.vars[string(v)]; ok {
			return val
		}
		return ex.resolve(ex.op.VarDefault[string(v)])
	case gqlEnumValue:
		return string(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = ex.resolve(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = ex.resolve(e)
		}
		return out
	}
	return v
}

// checkArgs validates the root fields' arguments before anything runs,
// as GraphQL coerces arguments before executing.
func (ex *gqlExec) checkArgs(sels []gqlSel, errs *[]gqlError) {
	root := "QueryRoot"
	if ex.op.Kind == "mutation" {
		root = "Mutation"
	}
	for _, sel := range flatten(ex.doc, sels, root) {
		var required []string
		switch sel.Name {
		case "webhookSubscriptionCreate":
			required = []string{"topic", "webhookSubscription"}
		case "webhookSubscriptionDelete", "webhookSubscription", "bulkOperation", "bulkOperationCancel", "node":
			required = []string{"id"}
		case "bulkOperationRunQuery":
			required = []string{"query"}
		case "customersCount":
			// limit arrived in 2025-07 (shopify.dev/changelog/uncapped-graphql-counts).
			if _, ok := sel.Args["limit"]; ok && ex.version < "2025-07" {
				*errs = append(*errs, selError(sel, "Field 'customersCount' doesn't accept argument 'limit'"))
			}
		}
		var missing []string
		for _, a := range required {
			if v, ok := ex.arg(sel, a); !ok || v == nil {
				missing = append(missing, a)
			}
		}
		if missing != nil {
			*errs = append(*errs, selError(sel, "Field '%s' is missing required arguments: %s", sel.Name, strings.Join(missing, ", ")))
			continue
		}
		if sel.Name == "webhookSubscriptionCreate" {
			raw := sel.Args["topic"]
			v, _ := ex.arg(sel, "topic")
			topic, _ := v.(string)
			if _, ok := topicFromEnum(topic); !ok || (!isEnum(raw) && !isVar(raw)) {
				if name, ok := raw.(gqlVarRef); ok {
					*errs = append(*errs, selError(sel, "Variable $%s of type %s was provided invalid value", name, ex.op.VarTypes[string(name)]))
				} else {
					*errs = append(*errs, selError(sel, "Argument 'topic' on Field 'webhookSubscriptionCreate' has an invalid value (%v). Expected type 'WebhookSubscriptionTopic!'.", v))
				}
			}
			if in, _ := ex.arg(sel, "webhookSubscription"); in != nil {
				if _, ok := in.(map[string]any); !ok {
					*errs = append(*errs, selError(sel, "Argument 'webhookSubscription' on Field 'webhookSubscriptionCreate' has an invalid value. Expected type 'WebhookSubscriptionInput!'."))
				}
			}
		}
	}
}

func isEnum(v any) bool { _, ok := v.(gqlEnumValue); return ok }
func isVar(v any) bool  { _, ok := v.(gqlVarRef); return ok }

// resolveRoot runs one root field.
func (ex *gqlExec) resolveRoot(sel *gqlSel) any {
	if v, ok := ex.resolveBulkRoot(sel); ok {
		return v
	}
	switch sel.Name {
	case "webhookSubscriptionCreate":
		ex.cost += 10
		return ex.create(sel)
	case "webhookSubscriptionDelete":
		ex.cost += 10
		return ex.delete(sel)
	case "webhookSubscription":
		ex.cost++
		v, _ := ex.arg(sel, "id")
		id, _ := v.(string)
		if sub, ok := ex.s.apiSubscription(id); ok {
			return subscriptionObject(sub)
		}
		return (*gqlObject)(nil)
	case "webhookSubscriptions":
		return ex.list(sel)
	}
	return nil
}

func userErrors(field []string, msg string) []*gqlObject {
	return []*gqlObject{{typ: "UserError", fields: map[string]any{"field": field, "message": msg}}}
}

func (ex *gqlExec) create(sel *gqlSel) *gqlObject {
	v, _ := ex.arg(sel, "topic")
	topic, _ := topicFromEnum(v.(string))
	in, _ := ex.arg(sel, "webhookSubscription")
	input := in.(map[string]any)
	field := "callbackUrl"
	addr, _ := input["callbackUrl"].(string)
	if u, ok := input["uri"].(string); ok && addr == "" {
		addr, field = u, "uri"
	}
	format, _ := input["format"].(string)
	out := &gqlObject{typ: "WebhookSubscriptionCreatePayload", fields: map[string]any{
		"webhookSubscription": (*gqlObject)(nil), "userErrors": []*gqlObject{}}}
	sub, e := ex.s.createSubscription(subscriptionInput{Topic: topic, Address: addr, Format: format,
		Fields: stringList(input["includeFields"]), Namespaces: stringList(input["metafieldNamespaces"])})
	if e != nil {
		attr := "Address"
		path := []string{"webhookSubscription", field}
		if e.attr == "format" {
			attr, path = "Format", []string{"webhookSubscription", "format"}
		}
		out.fields["userErrors"] = userErrors(path, attr+" "+e.msg)
		return out
	}
	out.fields["webhookSubscription"] = subscriptionObject(sub)
	return out
}

func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (ex *gqlExec) delete(sel *gqlSel) *gqlObject {
	v, _ := ex.arg(sel, "id")
	gid, _ := v.(string)
	out := &gqlObject{typ: "WebhookSubscriptionDeletePayload", fields: map[string]any{
		"deletedWebhookSubscriptionId": nil, "userErrors": []*gqlObject{}}}
	if sub, ok := ex.s.apiSubscription(gid); ok && ex.s.DeleteSubscription(sub.ID) {
		out.fields["deletedWebhookSubscriptionId"] = gid
		return out
	}
	out.fields["userErrors"] = userErrors([]string{"id"}, "Webhook subscription does not exist")
	return out
}

// apiSubscription finds a subscription by its GraphQL id.
func (s *Server) apiSubscription(gid string) (Subscription, bool) {
	n, ok := strings.CutPrefix(gid, "gid://shopify/WebhookSubscription/")
	if !ok {
		return Subscription{}, false
	}
	id, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return Subscription{}, false
	}
	return s.subscription(id)
}

// list runs webhookSubscriptions(first, after, topics): ascending ids,
// cursors opaque.
func (ex *gqlExec) list(sel *gqlSel) *gqlObject {
	first := 50
	if v, ok := ex.arg(sel, "first"); ok && v != nil {
		first = intArg(v)
	}
	first = min(max(first, 0), 250)
	ex.cost += 2 + first
	var after int64
	if v, ok := ex.arg(sel, "after"); ok && v != nil {
		if b, err := base64.RawURLEncoding.DecodeString(fmt.Sprint(v)); err == nil {
			after, _ = strconv.ParseInt(strings.TrimPrefix(string(b), "WebhookSubscription:"), 10, 64)
		}
	}
	var topics []string
	if v, ok := ex.arg(sel, "topics"); ok {
		for _, e := range stringList(v) {
			if t, ok := topicFromEnum(e); ok {
				topics = append(topics, t)
			}
		}
		if topics == nil {
			topics = []string{}
		}
	}
	var page []Subscription
	hasPrev, hasNext := false, false
	for _, sub := range ex.s.Subscriptions() {
		if topics != nil && !slices.Contains(topics, sub.Topic) {
			continue
		}
		switch {
		case sub.ID <= after:
			hasPrev = true
		case len(page) < first:
			page = append(page, sub)
		default:
			hasNext = true
		}
	}
	edges, nodes := []*gqlObject{}, []*gqlObject{}
	var start, end any
	for i, sub := range page {
		cur := base64.RawURLEncoding.EncodeToString([]byte("WebhookSubscription:" + strconv.FormatInt(sub.ID, 10)))
		if i == 0 {
			start = cur
		}
		end = cur
		node := subscriptionObject(sub)
		nodes = append(nodes, node)
		edges = append(edges, &gqlObject{typ: "WebhookSubscriptionEdge", fields: map[string]any{"cursor": cur, "node": node}})
	}
	return &gqlObject{typ: "WebhookSubscriptionConnection", fields: map[string]any{"edges": edges, "nodes": nodes,
		"pageInfo": &gqlObject{typ: "PageInfo", fields: map[string]any{"hasNextPage": hasNext,
			"hasPreviousPage": hasPrev, "startCursor": start, "endCursor": end}}}}
}

func intArg(v any) int {
	switch v := v.(type) {
	case int64:
		return int(v)
	case json.Number:
		n, _ := v.Int64()
		return int(n)
	case float64:
		return int(v)
	}
	return 0
}

// subscriptionObject is sub as a GraphQL WebhookSubscription.
func subscriptionObject(sub Subscription) *gqlObject {
	gqlTime := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	return &gqlObject{typ: "WebhookSubscription", fields: map[string]any{
		"id":                  "gid://shopify/WebhookSubscription/" + strconv.FormatInt(sub.ID, 10),
		"legacyResourceId":    strconv.FormatInt(sub.ID, 10),
		"topic":               topicEnum(sub.Topic),
		"format":              strings.ToUpper(sub.Format),
		"callbackUrl":         sub.Address,
		"uri":                 sub.Address,
		"endpoint":            &gqlObject{typ: "WebhookHttpEndpoint", fields: map[string]any{"callbackUrl": sub.Address}},
		"includeFields":       nonEmpty(sub.Fields),
		"metafieldNamespaces": nonEmpty(sub.MetafieldNamespaces),
		"filter":              nil,
		"createdAt":           gqlTime(sub.CreatedAt),
		"updatedAt":           gqlTime(sub.UpdatedAt),
		"apiVersion": &gqlObject{typ: "ApiVersion", fields: map[string]any{"handle": sub.APIVersion,
			"displayName": sub.APIVersion, "supported": true}},
	}}
}
