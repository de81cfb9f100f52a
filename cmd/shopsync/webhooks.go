package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/shopsync/shopsync/shopify"
)

// webhooksCommand manages the app's webhook subscriptions on the shop.
func (e *env) webhooksCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "webhooks", Short: "Manage the shop's webhook subscriptions"}
	var address string
	register := &cobra.Command{
		Use:   "register",
		Short: "Subscribe shopsync's webhook address to every customer topic (safe to repeat)",
		Long: `register subscribes the address where shopsync receives webhooks (--address,
or the webhooks.address key) to every customer topic shopsync handles, and
leaves existing subscriptions alone, so it is safe to run again. It prints
one line per topic: created, already subscribed, skipped (compliance topics,
which only the app's settings can set) or failed. Exit code 0 when no topic failed, 1 otherwise, 2 on bad
configuration or address.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.config(false)
			if err != nil {
				return err
			}
			if address == "" {
				address = cfg.Webhooks.Address
			}
			if address == "" {
				return usageError{errors.New("--address or webhooks.address: required: the public https URL where shopsync serve receives webhooks, e.g. https://sync.example.com/webhooks/shopify")}
			}
			if err := shopify.ValidateWebhookAddress(address); err != nil {
				return usageError{fmt.Errorf("--address: %w", err)}
			}
			client, err := shopify.NewClient(cfg.shopifyConfig(), e.logger(cfg.Log))
			if err != nil {
				return usageError{err}
			}
			topics := append(shopify.SubscriptionTopics(), shopify.ComplianceTopics()...)
			res, err := client.EnsureSubscriptions(cmd.Context(), address, topics)
			printEnsureResult(e.stdout, res)
			if n := res.Count(shopify.TopicFailed); n > 0 {
				return fmt.Errorf("%d of %d topics failed", n, len(res.Topics))
			}
			return err
		},
	}
	register.Flags().StringVar(&address, "address", "", "public https URL where shopsync serve receives webhooks (default: webhooks.address)")
	list := &cobra.Command{
		Use:   "list",
		Short: "Print the app's webhook subscriptions on the shop",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.config(false)
			if err != nil {
				return err
			}
			client, err := shopify.NewClient(cfg.shopifyConfig(), e.logger(cfg.Log))
			if err != nil {
				return usageError{err}
			}
			subs, err := client.ListSubscriptions(cmd.Context())
			if err != nil {
				return err
			}
			if len(subs) == 0 {
				fmt.Fprintln(e.stdout, "no webhook subscriptions (shopsync webhooks register makes them)")
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TOPIC\tADDRESS\tAPI VERSION\tVIA")
			for _, s := range subs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Topic, displayAddress(s.Address), s.APIVersion, s.Via)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(register, list)
	return cmd
}

// printEnsureResult prints one line per topic.
func printEnsureResult(w io.Writer, res shopify.EnsureResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range res.Topics {
		var what string
		switch t.Status {
		case shopify.TopicCreated:
			what = "created (" + t.Subscription.Via + ")"
		case shopify.TopicExisting:
			what = "already subscribed"
		case shopify.TopicSkipped:
			what = fmt.Sprintf("skipped: compliance topic; set it in the app's settings (Dev Dashboard or Partner Dashboard, compliance webhooks) to %s", displayAddress(res.Address))
		case shopify.TopicFailed:
			what = "failed: " + t.Err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\n", t.Topic, what)
	}
	tw.Flush()
}

// displayAddress hides what an address might carry as a secret: a
// password, and query values.
func displayAddress(address string) string {
	u, err := url.Parse(address)
	if err != nil {
		return "<unparsable address>"
	}
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	return u.Redacted()
}
