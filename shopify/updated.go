package shopify

import (
	"context"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
)

// ListCustomersUpdatedSince returns the first page of customers whose
// updated_at is at or after since, for reconciliation sweeps; follow it
// with NextPage. Shopify orders these pages by its cursor, not by id.
func (c *Client) ListCustomersUpdatedSince(ctx context.Context, since time.Time, limit int) (*Page, error) {
	return c.list(ctx, &goshopify.ListOptions{UpdatedAtMin: since.UTC(), Limit: limit})
}
