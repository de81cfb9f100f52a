package shopify

import (
	"context"
	"errors"
	"fmt"
)

// TopicStatus is what EnsureSubscriptions did about a topic.
type TopicStatus string

// The outcomes of EnsureSubscriptions for a topic.
const (
	TopicCreated  TopicStatus = "created"
	TopicExisting TopicStatus = "existing"
	TopicSkipped  TopicStatus = "skipped"
	TopicFailed   TopicStatus = "failed"
)

// TopicResult is the outcome for one topic.
type TopicResult struct {
	Topic        string
	Status       TopicStatus
	Subscription Subscription // created, or existing when listed; zero otherwise
	Note         string       // skipped: what to do instead
	Err          error        // failed: why
}

// EnsureResult is the outcome of EnsureSubscriptions, one entry a topic
// in the order asked.
type EnsureResult struct {
	Address string
	Topics  []TopicResult
}

// Count returns how many topics ended with status s.
func (r EnsureResult) Count(s TopicStatus) int {
	n := 0
	for _, t := range r.Topics {
		if t.Status == s {
			n++
		}
	}
	return n
}

// Err joins the failures, or returns nil when no topic failed.
func (r EnsureResult) Err() error {
	var errs []error
	for _, t := range r.Topics {
		if t.Status == TopicFailed {
			errs = append(errs, fmt.Errorf("%s: %w", t.Topic, t.Err))
		}
	}
	return errors.Join(errs...)
}

// EnsureSubscriptions subscribes address to every topic not yet
// subscribed, and leaves existing subscriptions alone, so that it is safe
// to run at every start and after every run. A duplicate met while
// creating (another process got there first) counts as existing.
// Compliance topics are skipped with a note: only the app's configuration
// sets them. Subscriptions of the same topics to other addresses are left
// as they are. The error is the address's, the list's (every topic to
// subscribe then fails with it), the context's, or result.Err().
func (c *Client) EnsureSubscriptions(ctx context.Context, address string, topics []string) (EnsureResult, error) {
	res := EnsureResult{Address: address}
	if err := ValidateWebhookAddress(address); err != nil {
		return res, fmt.Errorf("webhook address: %w", err)
	}
	var todo []int // indexes in res.Topics of the topics to subscribe
	seen := map[string]bool{}
	for _, t := range topics {
		if seen[t] {
			continue
		}
		seen[t] = true
		if compliance(t) {
			res.Topics = append(res.Topics, TopicResult{Topic: t, Status: TopicSkipped, Note: fmt.Sprintf(
				"compliance topic: Shopify takes it only from the app's configuration (Dev Dashboard or Partner Dashboard, compliance webhooks), not the API; set it there to %s", address)})
			continue
		}
		todo = append(todo, len(res.Topics))
		res.Topics = append(res.Topics, TopicResult{Topic: t})
	}
	if len(todo) == 0 {
		return res, nil
	}
	existing, err := c.ListSubscriptions(ctx)
	if err != nil {
		for _, i := range todo {
			res.Topics[i].Status, res.Topics[i].Err = TopicFailed, err
		}
		return res, err
	}
	have := map[string]Subscription{}
	for _, s := range existing {
		have[subscriptionKey(s.Topic, s.Address)] = s
	}
	for _, i := range todo {
		r := &res.Topics[i]
		if ctx.Err() != nil {
			r.Status, r.Err = TopicFailed, ctx.Err()
		} else if s, ok := have[subscriptionKey(r.Topic, address)]; ok {
			r.Status, r.Subscription = TopicExisting, s
		} else if s, err := c.CreateSubscription(ctx, r.Topic, address); errors.Is(err, ErrSubscriptionExists) {
			r.Status = TopicExisting
		} else if err != nil {
			r.Status, r.Err = TopicFailed, err
		} else {
			r.Status, r.Subscription = TopicCreated, s
		}
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, res.Err()
}
