package shopifytest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Subscription is a webhook subscription made through the Admin API, over
// REST (webhooks.json) or GraphQL (webhookSubscriptionCreate): both
// kinds live in one list, as at Shopify.
type Subscription struct {
	// ID is the REST id; GraphQL calls it gid://shopify/WebhookSubscription/{ID}.
	ID int64
	// Topic is the REST topic name, e.g. "customers/update".
	Topic string
	// Address is the callback URL.
	Address string
	// Format is "json", the only format the simulator delivers.
	Format string
	// APIVersion is the payload version: the app's webhook API version
	// (Options.WebhookAPIVersion), not the version of the creating URL.
	APIVersion string
	// Fields, when not empty, keeps only these top-level keys of each
	// payload (REST fields, GraphQL includeFields).
	Fields []string
	// MetafieldNamespaces is stored and echoed; the simulator has no
	// metafields.
	MetafieldNamespaces []string
	// CreatedAt and UpdatedAt are the simulator clock at creation.
	CreatedAt, UpdatedAt time.Time
	// Failures counts consecutive failed delivery attempts; the
	// subscription is deleted when it reaches 8.
	Failures int
}

func (sub *Subscription) clone() Subscription {
	c := *sub
	c.Fields = slices.Clone(sub.Fields)
	c.MetafieldNamespaces = slices.Clone(sub.MetafieldNamespaces)
	return c
}

// restTopics are the topics an app with read_customers may subscribe to
// over REST (SHOPIFY.md §6); app/uninstalled and shop/update need no
// scope.
var restTopics = []string{"app/uninstalled", TopicCustomersCreate, TopicCustomersDelete, TopicCustomersDisable,
	TopicCustomersEnable, TopicCustomersMerge, TopicCustomersUpdate, TopicCustomersEmailConsent,
	TopicCustomersSMSConsent, "shop/update"}

// graphQLTopics are restTopics plus the topics only GraphQL (or the app
// configuration) can subscribe to. The compliance topics
// (customers/redact, shop/redact, customers/data_request) are app
// configuration only: neither API takes them.
var graphQLTopics = append(slices.Clone(restTopics), TopicCustomerTagsAdded, TopicCustomerTagsRemoved,
	TopicCustomersPurchasingSummary)

// topicEnum is a topic's WebhookSubscriptionTopic name:
// "customer.tags_added" is CUSTOMER_TAGS_ADDED.
func topicEnum(topic string) string {
	return strings.ToUpper(strings.NewReplacer("/", "_", ".", "_").Replace(topic))
}

// topicFromEnum is the REST topic of a WebhookSubscriptionTopic value the
// simulator knows.
func topicFromEnum(enum string) (string, bool) {
	for _, t := range graphQLTopics {
		if topicEnum(t) == enum {
			return t, true
		}
	}
	return "", false
}

// subError is a validation error on one attribute: REST writes
// {"errors":{attr:[msg]}}, GraphQL a userError "Attr msg".
type subError struct{ attr, msg string }

// subscriptionInput is what both APIs create a subscription from.
type subscriptionInput struct {
	Topic, Address, Format string
	Fields, Namespaces     []string
}

// validAddress checks a callback URL. Shopify takes only https; the
// simulator also takes http to a loopback host, so that tests can
// receive on httptest servers.
func validAddress(addr string) *subError {
	if strings.TrimSpace(addr) == "" {
		return &subError{"address", "can't be blank"}
	}
	u, err := url.Parse(addr)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return &subError{"address", "is invalid"}
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || net.ParseIP(h).IsLoopback() {
			return nil
		}
	}
	return &subError{"address", "protocol " + u.Scheme + ":// is not supported"}
}

// createSubscription validates in's address and format, refuses a
// duplicate topic and address, and adds the subscription. The caller
// checks the topic against what its API allows.
func (s *Server) createSubscription(in subscriptionInput) (Subscription, *subError) {
	if e := validAddress(in.Address); e != nil {
		return Subscription{}, e
	}
	switch strings.ToLower(in.Format) {
	case "", "json":
	default:
		return Subscription{}, &subError{"format", "is not included in the list"}
	}
	now := s.now().UTC().Truncate(time.Second)
	h := &s.hooks
	h.smu.Lock()
	defer h.smu.Unlock()
	for _, sub := range h.subs {
		if sub.Topic == in.Topic && sub.Address == in.Address {
			return Subscription{}, &subError{"address", "for this topic has already been taken"}
		}
	}
	if h.nextID == 0 {
		h.nextID = 1_014_196_360 // Shopify's ids are about this size
	}
	h.nextID += 7
	sub := &Subscription{ID: h.nextID, Topic: in.Topic, Address: in.Address, Format: "json",
		APIVersion: s.webhookAPIVersion(), Fields: nonEmpty(in.Fields), MetafieldNamespaces: nonEmpty(in.Namespaces),
		CreatedAt: now, UpdatedAt: now}
	h.subs = append(h.subs, sub)
	return sub.clone(), nil
}

func nonEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// webhookAPIVersion is Options.WebhookAPIVersion, or the newest version.
func (s *Server) webhookAPIVersion() string {
	if s.opts.WebhookAPIVersion != "" {
		return s.opts.WebhookAPIVersion
	}
	return s.versions[len(s.versions)-1]
}

// Subscribe subscribes address to topic as webhooks.json or
// webhookSubscriptionCreate would, keeping only the top-level keys fields
// of each payload when fields is not empty (include_fields). It returns
// the subscription, or an error for an address or a duplicate Shopify
// would refuse.
func (s *Server) Subscribe(topic, address string, fields []string) (Subscription, error) {
	sub, e := s.createSubscription(subscriptionInput{Topic: topic, Address: address, Fields: fields})
	if e != nil {
		return Subscription{}, fmt.Errorf("shopifytest: subscribe %s: %s %s", topic, e.attr, e.msg)
	}
	return sub, nil
}

// Subscriptions returns every subscription, by ascending id.
func (s *Server) Subscriptions() []Subscription {
	h := &s.hooks
	h.smu.Lock()
	defer h.smu.Unlock()
	out := make([]Subscription, len(h.subs))
	for i, sub := range h.subs {
		out[i] = sub.clone()
	}
	return out
}

// DeleteSubscription deletes the subscription with id and reports
// whether it existed. Its queued deliveries are dropped.
func (s *Server) DeleteSubscription(id int64) bool {
	h := &s.hooks
	h.smu.Lock()
	defer h.smu.Unlock()
	i := slices.IndexFunc(h.subs, func(sub *Subscription) bool { return sub.ID == id })
	if i < 0 {
		return false
	}
	h.subs = slices.Delete(h.subs, i, i+1)
	return true
}

// subscription returns the subscription with id.
func (s *Server) subscription(id int64) (Subscription, bool) {
	h := &s.hooks
	h.smu.Lock()
	defer h.smu.Unlock()
	for _, sub := range h.subs {
		if sub.ID == id {
			return sub.clone(), true
		}
	}
	return Subscription{}, false
}

// restWebhook is a subscription in REST, keys in Shopify's order
// (Shopify/shopify-api-ruby test/rest/2025_01/webhook_test.rb).
type restWebhook struct {
	ID                         int64    `json:"id"`
	Address                    string   `json:"address"`
	Topic                      string   `json:"topic"`
	CreatedAt                  string   `json:"created_at"`
	UpdatedAt                  string   `json:"updated_at"`
	Format                     string   `json:"format"`
	Fields                     []string `json:"fields"`
	MetafieldNamespaces        []string `json:"metafield_namespaces"`
	APIVersion                 string   `json:"api_version"`
	PrivateMetafieldNamespaces []string `json:"private_metafield_namespaces"`
}

func toREST(sub Subscription) restWebhook {
	return restWebhook{ID: sub.ID, Address: sub.Address, Topic: sub.Topic, CreatedAt: shopifyTime(sub.CreatedAt),
		UpdatedAt: shopifyTime(sub.UpdatedAt), Format: sub.Format, Fields: nonEmpty(sub.Fields),
		MetafieldNamespaces: nonEmpty(sub.MetafieldNamespaces), APIVersion: sub.APIVersion,
		PrivateMetafieldNamespaces: []string{}}
}

// methodAllowed reports whether route key takes method; others are 404.
func methodAllowed(key, method string) bool {
	switch key {
	case "webhooks.json":
		return method == http.MethodGet || method == http.MethodPost
	case "webhooks/{id}.json":
		return method == http.MethodGet || method == http.MethodDelete
	case "graphql.json":
		return method == http.MethodPost
	}
	return method == http.MethodGet
}

// handleWebhooks serves the REST webhook endpoints.
func (s *Server) handleWebhooks(w http.ResponseWriter, r *http.Request, key, route string) {
	switch {
	case key == "webhooks.json" && r.Method == http.MethodPost:
		s.handleWebhookCreate(w, r)
	case key == "webhooks.json":
		s.handleWebhookList(w, r)
	case key == "webhooks/count.json":
		q := r.URL.Query()
		n := 0
		for _, sub := range s.Subscriptions() {
			if matchREST(sub, q) {
				n++
			}
		}
		writeJSON(w, http.StatusOK, map[string]int{"count": n})
	default:
		id, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(route, "webhooks/"), ".json"), 10, 64)
		sub, ok := s.subscription(id)
		switch {
		case !ok:
			writeJSON(w, http.StatusNotFound, errNotFound)
		case r.Method == http.MethodDelete:
			s.DeleteSubscription(id)
			writeJSON(w, http.StatusOK, struct{}{})
		default:
			writeJSON(w, http.StatusOK, map[string]restWebhook{"webhook": toREST(sub)})
		}
	}
}

// matchREST applies the list filters topic and address.
func matchREST(sub Subscription, q url.Values) bool {
	return (!q.Has("topic") || q.Get("topic") == sub.Topic) && (!q.Has("address") || q.Get("address") == sub.Address)
}

// handleWebhookList serves GET webhooks.json with since_id, limit, topic
// and address.
func (s *Server) handleWebhookList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, perr := parseLimit(q)
	if perr != nil {
		perr.write(w)
		return
	}
	var since int64
	if v := q.Get("since_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			(&paramError{"since_id", "Invalid value: want a webhook id"}).write(w)
			return
		}
		since = n
	}
	out := []restWebhook{}
	for _, sub := range s.Subscriptions() {
		if sub.ID > since && matchREST(sub, q) && len(out) < limit {
			out = append(out, toREST(sub))
		}
	}
	writeJSON(w, http.StatusOK, map[string][]restWebhook{"webhooks": out})
}

// handleWebhookCreate serves POST webhooks.json:
// {"webhook":{"topic","address","format","fields","metafield_namespaces"}}.
func (s *Server) handleWebhookCreate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Webhook *struct {
			Topic               string   `json:"topic"`
			Address             string   `json:"address"`
			Format              string   `json:"format"`
			Fields              []string `json:"fields"`
			MetafieldNamespaces []string `json:"metafield_namespaces"`
		} `json:"webhook"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil || body.Webhook == nil {
		writeJSON(w, http.StatusBadRequest, map[string]map[string]string{"errors": {"webhook": "Required parameter missing or invalid"}})
		return
	}
	wh := body.Webhook
	errs := map[string][]string{}
	switch {
	case wh.Topic == "":
		errs["topic"] = []string{"can't be blank"}
	case !slices.Contains(restTopics, wh.Topic):
		errs["topic"] = []string{"Invalid topic specified: " + wh.Topic +
			". Does it exist? Is there a missing access scope? Topics allowed: " + strings.Join(restTopics, ", ")}
	}
	if e := validAddress(wh.Address); e != nil {
		errs[e.attr] = append(errs[e.attr], e.msg)
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]map[string][]string{"errors": errs})
		return
	}
	sub, e := s.createSubscription(subscriptionInput{Topic: wh.Topic, Address: wh.Address, Format: wh.Format,
		Fields: wh.Fields, Namespaces: wh.MetafieldNamespaces})
	if e != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]map[string][]string{"errors": {e.attr: {e.msg}}})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]restWebhook{"webhook": toREST(sub)})
}
