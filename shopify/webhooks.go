package shopify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	goshopify "github.com/bold-commerce/go-shopify/v4"
)

// Webhook subscriptions (SHOPIFY.md §6).
//
// Sources:
//   - REST: shopify.dev/docs/api/admin-rest/latest/resources/webhook
//     (GET/POST webhooks.json; a duplicate answers 422
//     {"errors":{"address":["for this topic has already been taken"]}}).
//   - GraphQL: shopify.dev/docs/api/admin-graphql/latest/queries/webhookSubscriptions,
//     .../mutations/webhookSubscriptionCreate, .../objects/WebhookSubscription
//     ("created by an app using the REST Admin API or GraphQL Admin API": one
//     object, so GraphQL lists REST-made subscriptions too).
//   - The uri input and field: shopify.dev/changelog/consolidate-webhook-graphql-surfaces
//     (effective 2025-10; callbackUrl deprecated, still present in 2025-10).
//   - Topic enum names: Shopify/shopify-api-js lib/webhooks/registry.ts
//     topicForStorage (upper case, "/" and "." become "_"); GraphQL-only
//     customer tag topics: shopify.dev/changelog/additional-webhook-subscription-topics-for-customer-tags.
//   - The shape of the list query and of the duplicate userError:
//     Shopify/shopify-api-js lib/webhooks/register.ts.
//   - go-shopify v4.7.0's WebhookService is not used: its Webhook type
//     sends "id":0 and null fields in a create, and its GraphQL.Query sleeps
//     with time.Sleep on THROTTLED without watching the context.

// topicRE is a REST-style topic: customers/update, customer.tags_added.
var topicRE = regexp.MustCompile(`^[a-z][a-z_]*([/.][a-z_]+)+$`)

// GraphQLTopic returns the WebhookSubscriptionTopic enum value for a
// REST-style topic: customers/create → CUSTOMERS_CREATE,
// customer.tags_added → CUSTOMER_TAGS_ADDED.
func GraphQLTopic(topic string) string {
	return strings.ToUpper(strings.NewReplacer("/", "_", ".", "_").Replace(topic))
}

// restTopic maps an enum value back to the REST-style topic, for the
// topics shopsync knows; any other value is returned unchanged.
func restTopic(enum string) string {
	known := append(append(SubscriptionTopics(), ComplianceTopics()...), TopicCustomersMerge)
	for _, t := range known {
		if GraphQLTopic(t) == enum {
			return t
		}
	}
	return enum
}

// Via values: the API that listed or created a subscription.
const (
	ViaREST    = "rest"
	ViaGraphQL = "graphql"
)

// Subscription is one of the app's webhook subscriptions on the shop.
type Subscription struct {
	ID         int64  // the REST id, which is also the number ending the GraphQL gid
	GID        string // gid://shopify/WebhookSubscription/{id}, when GraphQL answered
	Topic      string // REST style: customers/update
	Address    string // where Shopify delivers
	Format     string // json or xml
	APIVersion string // the payloads' API version (the app's webhook version)
	Via        string // ViaREST or ViaGraphQL
}

// ErrSubscriptionExists reports that the app already subscribes the
// address to the topic; callers that want the subscription can treat it
// as success.
var ErrSubscriptionExists = errors.New("webhook subscription already exists")

// errRESTRefusedTopic is a REST 422 about the topic itself: the topic may
// exist over GraphQL only.
var errRESTRefusedTopic = errors.New("the REST API refused the topic")

// ValidateWebhookAddress checks a subscription address: an absolute https
// URL (Shopify delivers only over HTTPS), or http on a loopback host for
// tests against a local simulator. Credentials in the URL are refused, so
// that no secret is stored at Shopify or printed.
func ValidateWebhookAddress(address string) error {
	u, err := url.Parse(address)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%q: want an absolute https URL such as https://sync.example.com/webhooks", address)
	}
	if u.User != nil {
		return errors.New("the address must not contain a user name or password")
	}
	if u.Fragment != "" {
		return errors.New("the address must not contain a #fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || net.ParseIP(h).IsLoopback() {
			return nil
		}
		return fmt.Errorf("%s: Shopify delivers webhooks only over https (http is accepted for loopback hosts only)", u.Redacted())
	}
	return fmt.Errorf("%s: want an https URL", u.Redacted())
}

// ListSubscriptions returns the app's webhook subscriptions on the shop:
// those the REST API lists (Via "rest"), then those only GraphQL lists
// (Via "graphql"). Both are asked because the REST list may leave out
// topics REST cannot create; GraphQL lists every subscription made through
// either API. Subscriptions made in the app's configuration or in the
// store admin are listed by neither.
func (c *Client) ListSubscriptions(ctx context.Context) ([]Subscription, error) {
	rest, err := c.listREST(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhook subscriptions: %w", err)
	}
	gql, err := c.listGraphQL(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhook subscriptions: %w", err)
	}
	return mergeSubscriptions(rest, gql), nil
}

// maxListPages bounds a list, against a server that never ends it.
const maxListPages = 100

type restWebhook struct {
	ID         int64  `json:"id"`
	Topic      string `json:"topic"`
	Address    string `json:"address"`
	Format     string `json:"format"`
	APIVersion string `json:"api_version"`
}

func (w restWebhook) subscription() Subscription {
	return Subscription{ID: w.ID, Topic: w.Topic, Address: w.Address, Format: w.Format, APIVersion: w.APIVersion, Via: ViaREST}
}

func (c *Client) listREST(ctx context.Context) ([]Subscription, error) {
	var out []Subscription
	opts := &goshopify.ListOptions{Limit: 250}
	for range maxListPages {
		var (
			res struct {
				Webhooks []restWebhook `json:"webhooks"`
			}
			pag *goshopify.Pagination
		)
		err := c.do(ctx, func() (err error) {
			res.Webhooks = nil
			pag, err = c.gs.ListWithPagination(ctx, "webhooks.json", &res, opts)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, w := range res.Webhooks {
			out = append(out, w.subscription())
		}
		if pag.NextPageOptions == nil {
			return out, nil
		}
		opts = pag.NextPageOptions // rel="next" only: page_info and limit
	}
	return nil, fmt.Errorf("GET webhooks.json: more than %d pages", maxListPages)
}

// usesURI reports whether the configured version has the uri field
// (2025-10 and later). Shopify serves an unsupported version as a newer
// one, where callbackUrl is still present, deprecated.
func (c *Client) usesURI() bool { return c.tr.version >= "2025-10" }

// subscriptionFields selects a WebhookSubscription.
func (c *Client) subscriptionFields() string {
	where := "endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } }"
	if c.usesURI() {
		where = "uri"
	}
	return "id topic format apiVersion { handle } " + where
}

type gqlSubscription struct {
	ID         string `json:"id"`
	Topic      string `json:"topic"`
	Format     string `json:"format"`
	APIVersion *struct {
		Handle string `json:"handle"`
	} `json:"apiVersion"`
	URI      string `json:"uri"`
	Endpoint *struct {
		CallbackURL string `json:"callbackUrl"`
	} `json:"endpoint"`
}

func (s gqlSubscription) subscription() Subscription {
	out := Subscription{GID: s.ID, Topic: restTopic(s.Topic), Format: strings.ToLower(s.Format), Address: s.URI, Via: ViaGraphQL}
	if i := strings.LastIndexByte(s.ID, '/'); i >= 0 {
		out.ID, _ = strconv.ParseInt(s.ID[i+1:], 10, 64)
	}
	if s.APIVersion != nil {
		out.APIVersion = s.APIVersion.Handle
	}
	if out.Address == "" && s.Endpoint != nil {
		out.Address = s.Endpoint.CallbackURL
	}
	return out
}

func (c *Client) listGraphQL(ctx context.Context) ([]Subscription, error) {
	query := `query shopsyncWebhookSubscriptions($after: String) {
  webhookSubscriptions(first: 250, after: $after) {
    edges { node { ` + c.subscriptionFields() + ` } }
    pageInfo { hasNextPage endCursor }
  }
}`
	var (
		out   []Subscription
		after *string
	)
	for range maxListPages {
		var data struct {
			WebhookSubscriptions struct {
				Edges []struct {
					Node gqlSubscription `json:"node"`
				} `json:"edges"`
				PageInfo struct {
					HasNextPage bool   `json:"hasNextPage"`
					EndCursor   string `json:"endCursor"`
				} `json:"pageInfo"`
			} `json:"webhookSubscriptions"`
		}
		if err := c.graphql(ctx, query, map[string]any{"after": after}, &data); err != nil {
			return nil, err
		}
		for _, e := range data.WebhookSubscriptions.Edges {
			out = append(out, e.Node.subscription())
		}
		pi := data.WebhookSubscriptions.PageInfo
		if !pi.HasNextPage || pi.EndCursor == "" {
			return out, nil
		}
		after = &pi.EndCursor
	}
	return nil, fmt.Errorf("graphql webhookSubscriptions: more than %d pages", maxListPages)
}

// mergeSubscriptions keeps every REST subscription and adds those only
// GraphQL listed, matched by id, or by topic and address.
func mergeSubscriptions(rest, gql []Subscription) []Subscription {
	out := append([]Subscription(nil), rest...)
	byID := map[int64]int{}
	byKey := map[string]int{}
	for i, s := range out {
		byID[s.ID] = i
		byKey[subscriptionKey(s.Topic, s.Address)] = i
	}
	for _, s := range gql {
		i, ok := byID[s.ID]
		if !ok || s.ID == 0 {
			i, ok = byKey[subscriptionKey(s.Topic, s.Address)]
		}
		if ok {
			out[i].GID = s.GID
			continue
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Address < out[j].Address
	})
	return out
}

// subscriptionKey identifies a subscription as Shopify does for duplicates.
func subscriptionKey(topic, address string) string {
	return GraphQLTopic(topic) + " " + address
}

// CreateSubscription subscribes address to topic (REST style), over REST
// for the topics REST takes and over GraphQL for the others, or when REST
// refuses the topic. A subscription that already exists is an error
// wrapping ErrSubscriptionExists.
func (c *Client) CreateSubscription(ctx context.Context, topic, address string) (Subscription, error) {
	if err := checkTopic(topic); err != nil {
		return Subscription{}, err
	}
	if err := ValidateWebhookAddress(address); err != nil {
		return Subscription{}, fmt.Errorf("subscribe %s: %w", topic, err)
	}
	if !graphQLOnly(topic) {
		s, err := c.createREST(ctx, topic, address)
		if !errors.Is(err, errRESTRefusedTopic) {
			return s, err
		}
	}
	return c.createGraphQL(ctx, topic, address)
}

func checkTopic(topic string) error {
	switch {
	case !topicRE.MatchString(topic):
		return fmt.Errorf("webhook topic %q: want a name such as customers/update", topic)
	case compliance(topic):
		return fmt.Errorf("webhook topic %s: a compliance topic can only be set in the app's configuration", topic)
	}
	return nil
}

func (c *Client) createREST(ctx context.Context, topic, address string) (Subscription, error) {
	type input struct {
		Topic   string `json:"topic"`
		Address string `json:"address"`
		Format  string `json:"format"`
	}
	body := struct {
		Webhook input `json:"webhook"`
	}{input{Topic: topic, Address: address, Format: "json"}}
	var res struct {
		Webhook restWebhook `json:"webhook"`
	}
	err := c.do(ctx, func() error {
		return restCreateError(c.gs.Post(ctx, "webhooks.json", body, &res))
	})
	if err != nil {
		return Subscription{}, fmt.Errorf("subscribe %s: %w", topic, err)
	}
	return res.Webhook.subscription(), nil
}

// restCreateError picks out the 422s that callers act on: a duplicate,
// and a topic REST does not take.
func restCreateError(err error) error {
	var re goshopify.ResponseError
	if !errors.As(err, &re) || re.Status != 422 {
		return err
	}
	msgs := append([]string{re.Message}, re.Errors...)
	for _, m := range msgs {
		if strings.Contains(m, "already been taken") {
			return fmt.Errorf("%w: %s", ErrSubscriptionExists, m)
		}
	}
	for _, m := range msgs {
		if strings.HasPrefix(m, "topic") {
			return fmt.Errorf("%w: %s", errRESTRefusedTopic, m)
		}
	}
	return err
}

func (c *Client) createGraphQL(ctx context.Context, topic, address string) (Subscription, error) {
	mutation := `mutation shopsyncWebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { ` + c.subscriptionFields() + ` }
    userErrors { field message }
  }
}`
	where := "callbackUrl"
	if c.usesURI() {
		where = "uri"
	}
	vars := map[string]any{
		"topic":               GraphQLTopic(topic),
		"webhookSubscription": map[string]any{where: address, "format": "JSON"},
	}
	var data struct {
		WebhookSubscriptionCreate *struct {
			WebhookSubscription *gqlSubscription `json:"webhookSubscription"`
			UserErrors          UserErrors       `json:"userErrors"`
		} `json:"webhookSubscriptionCreate"`
	}
	if err := c.graphql(ctx, mutation, vars, &data); err != nil {
		return Subscription{}, fmt.Errorf("subscribe %s: %w", topic, err)
	}
	res := data.WebhookSubscriptionCreate
	switch {
	case res == nil:
		return Subscription{}, fmt.Errorf("subscribe %s: graphql answered no webhookSubscriptionCreate", topic)
	case len(res.UserErrors) > 0:
		for _, ue := range res.UserErrors {
			if strings.Contains(ue.Message, "already been taken") {
				return Subscription{}, fmt.Errorf("subscribe %s: %w: %s", topic, ErrSubscriptionExists, ue.Message)
			}
		}
		return Subscription{}, fmt.Errorf("subscribe %s: %w", topic, res.UserErrors)
	case res.WebhookSubscription == nil:
		return Subscription{}, fmt.Errorf("subscribe %s: graphql answered no subscription and no error", topic)
	}
	return res.WebhookSubscription.subscription(), nil
}
