package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// UserError is one of a GraphQL mutation's userErrors.
type UserError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
}

// UserErrors are a mutation's userErrors, which Shopify sends with HTTP 200.
type UserErrors []UserError

func (u UserErrors) Error() string {
	msgs := make([]string, len(u))
	for i, e := range u {
		msgs[i] = e.Message
		if len(e.Field) > 0 {
			msgs[i] = strings.Join(e.Field, ".") + ": " + e.Message
		}
	}
	return "shopify refused the mutation: " + strings.Join(msgs, "; ")
}

// GraphQLError is a GraphQL answer with top-level errors (HTTP 200): a
// malformed query, a missing scope, or throttling that outlasted retries.
type GraphQLError struct {
	Messages []string
	Codes    []string // extensions.code of each error, e.g. THROTTLED, ACCESS_DENIED
}

func (e *GraphQLError) Error() string {
	return "shopify graphql: " + strings.Join(e.Messages, "; ")
}

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	} `json:"errors"`
	Extensions struct {
		Cost struct {
			RequestedQueryCost float64 `json:"requestedQueryCost"`
			ActualQueryCost    float64 `json:"actualQueryCost"`
			ThrottleStatus     struct {
				MaximumAvailable   float64 `json:"maximumAvailable"`
				CurrentlyAvailable float64 `json:"currentlyAvailable"`
				RestoreRate        float64 `json:"restoreRate"`
			} `json:"throttleStatus"`
		} `json:"cost"`
	} `json:"extensions"`
}

// Cost is the extensions.cost of a GraphQL answer: what the query cost
// and the state of the app's cost bucket after it (shopify.dev/docs/api/usage/limits,
// "GraphQL Admin API rate limits"). A zero Cost means the answer had none.
type Cost struct {
	Requested, Actual float64 // points
	Maximum           float64 // the bucket's size
	Available         float64 // points left in it
	RestoreRate       float64 // points restored a second: 100 Standard, 200 Advanced, 1,000 Plus
}

// Wait is how long to wait before a query of cost points fits in the
// bucket again; zero when it fits now or the answer had no cost.
func (c Cost) Wait(points float64) time.Duration {
	if c.RestoreRate <= 0 || c.Available >= points {
		return 0
	}
	return time.Duration((points - c.Available) / c.RestoreRate * float64(time.Second))
}

func (r *gqlResponse) cost() Cost {
	c := r.Extensions.Cost
	return Cost{Requested: c.RequestedQueryCost, Actual: c.ActualQueryCost, Maximum: c.ThrottleStatus.MaximumAvailable,
		Available: c.ThrottleStatus.CurrentlyAvailable, RestoreRate: c.ThrottleStatus.RestoreRate}
}

// retryAfter is how long the cost bucket needs to hold the query again.
func (r *gqlResponse) retryAfter() time.Duration {
	c := r.Extensions.Cost
	d := 2 * time.Second
	if rate := c.ThrottleStatus.RestoreRate; rate > 0 {
		d = time.Duration((c.RequestedQueryCost - c.ThrottleStatus.CurrentlyAvailable) / rate * float64(time.Second))
	}
	return min(max(d, 100*time.Millisecond), time.Minute)
}

// graphql posts a query to graphql.json through go-shopify and the
// client's transport (base URL, token on every attempt, pacing, retries),
// under c.mu like every request, and decodes its data into out. GraphQL
// answers have no call-limit header; the pacer keeps its estimate then.
// A THROTTLED answer (HTTP 200) is retried once the cost bucket refills:
// Shopify did not run the query.
func (c *Client) graphql(ctx context.Context, query string, vars any, out any) error {
	_, err := c.graphqlCost(ctx, query, vars, out)
	return err
}

// graphqlCost is graphql, returning the cost extension of the answer too,
// so that a caller that polls can stay within the cost bucket.
func (c *Client) graphqlCost(ctx context.Context, query string, vars any, out any) (Cost, error) {
	body := struct {
		Query     string `json:"query"`
		Variables any    `json:"variables,omitempty"`
	}{query, vars}
	var cost Cost
	err := c.do(ctx, func() error {
		for throttled := 0; ; throttled++ {
			var resp gqlResponse
			if err := c.gs.Post(ctx, "graphql.json", body, &resp); err != nil {
				return err
			}
			cost = resp.cost()
			if len(resp.Errors) == 0 {
				if len(resp.Data) == 0 || string(resp.Data) == "null" {
					return errors.New("shopify graphql: answer without data")
				}
				return json.Unmarshal(resp.Data, out)
			}
			ge := &GraphQLError{}
			retry := false
			for _, e := range resp.Errors {
				ge.Messages = append(ge.Messages, e.Message)
				ge.Codes = append(ge.Codes, e.Extensions.Code)
				retry = retry || e.Extensions.Code == "THROTTLED"
			}
			if !retry || throttled >= maxThrottled {
				return ge
			}
			c.tr.stats.throttled.Add(1)
			if err := sleep(ctx, resp.retryAfter()); err != nil {
				return err
			}
		}
	})
	return cost, err
}
