package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/problem"
	"github.com/shopsync/shopsync/store"
)

// SubscriptionState is what the daemon's last check of the webhook
// subscriptions found.
type SubscriptionState struct {
	State     string    `json:"state"` // not_configured, ok, missing, unknown
	Address   string    `json:"address,omitempty"`
	Missing   []string  `json:"missing,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
	Error     string    `json:"error,omitempty"`
}

type connection struct {
	OK                bool             `json:"ok"`
	LastCallAt        *time.Time       `json:"last_call_at"`
	LastStatus        int              `json:"last_status"`
	ServedVersion     string           `json:"served_version"`
	ConfiguredVersion string           `json:"configured_version"`
	TokenKind         string           `json:"token_kind"`
	Requests          int64            `json:"requests"`
	Throttled         int64            `json:"throttled"`
	Problem           *problem.Problem `json:"problem,omitempty"` // why the last call failed, when it did
}

// pageRun is a run as the page shows it: with its failure explained.
type pageRun struct {
	*shopsync.SyncRun
	Problem *problem.Problem `json:"problem,omitempty"`
}

func (s *Server) pageRun(r *shopsync.SyncRun) *pageRun {
	if r == nil {
		return nil
	}
	pr := &pageRun{SyncRun: r}
	if r.State == shopsync.RunFailed {
		p := problem.ExplainText(r.Error, s.problemContext())
		pr.Problem = &p
	}
	return pr
}

func (s *Server) problemContext() problem.Context {
	return problem.Context{Shop: s.cfg.Shop, StorePath: s.cfg.Store.Path(), ClientCredentials: s.cfg.ClientCredentials}
}

// copyState answers "is my copy exact?": the contacts in the store
// against Shopify's own count.
type copyState struct {
	// State is one of:
	//   no_import      no full import has completed: the copy is partial
	//   import_failed  no full import has completed and the last one failed
	//   importing      a full import is running
	//   exact          as many active contacts as Shopify counts customers
	//   differs        not as many
	//   unknown        Shopify's count is not known
	State      string     `json:"state"`
	Active     int64      `json:"active"`
	Shopify    *countAt   `json:"shopify"`    // Shopify's last count; null when unknown
	Difference int64      `json:"difference"` // Active - Shopify.Count
	Since      *time.Time `json:"exact_since,omitempty"`
}

type countAt struct {
	Count     int64     `json:"count"`
	CountedAt time.Time `json:"counted_at"`
	Source    string    `json:"source"` // "count": a periodic count; "import": the last import's
}

type sweepCatch struct {
	Run      *pageRun       `json:"run"`
	Contacts []caughtRecord `json:"contacts"`
	Listed   bool           `json:"listed"` // false: the run is older than the record of its contacts
}

type caughtRecord struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Email   *string `json:"email"`
	Created bool    `json:"created"`
	Active  bool    `json:"active"`
}

type rejection struct {
	Reason  string    `json:"reason"`
	Count   int64     `json:"count"`
	LastAt  time.Time `json:"last_at"`
	What    string    `json:"what"`
	Fix     string    `json:"fix"`
	Serious bool      `json:"serious"`
}

type webhooksView struct {
	Since              time.Time             `json:"since"`
	Deliveries         []store.DeliveryCount `json:"deliveries"`
	Accepted           int64                 `json:"accepted"` // in the 24 hours
	LastDeliveryAt     *time.Time            `json:"last_delivery_at"`
	Rejected           int64                 `json:"rejected"` // in the 24 hours, across restarts
	RejectedByReason   []rejection           `json:"rejected_by_reason"`
	RejectedSinceStart int64                 `json:"rejected_since_start"`
	Subscriptions      SubscriptionState     `json:"subscriptions"`
	TestDeliveryAt     *time.Time            `json:"test_delivery_at,omitempty"`
}

type overview struct {
	Shop     string `json:"shop"`
	AdminURL string `json:"admin_url,omitempty"`
	status
	Copy           copyState    `json:"copy"`
	LastGoodImport *pageRun     `json:"last_good_import"` // the newest that completed
	LastSweep      *pageRun     `json:"last_sweep"`
	LastCatch      *sweepCatch  `json:"last_catch"` // the newest sweep that caught changes
	Connection     connection   `json:"connection"`
	Webhooks       webhooksView `json:"webhooks"`
	CanCheck       bool         `json:"can_check"`
	Now            time.Time    `json:"now"`
}

// adminURL is the shop's admin, https://admin.shopify.com/store/{name}.
func adminURL(shop string) string {
	name, ok := strings.CutSuffix(shop, ".myshopify.com")
	if !ok || name == "" {
		return ""
	}
	return "https://admin.shopify.com/store/" + name
}

// handleOverview is everything the status page shows at a glance.
func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) {
	o, err := s.overview(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) overview(r *http.Request) (*overview, error) {
	ctx := r.Context()
	st, err := s.status(r)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	o := &overview{Shop: s.cfg.Shop, AdminURL: adminURL(s.cfg.Shop), status: st, Now: now, CanCheck: s.cfg.Doctor != nil}
	s.fillConnection(&o.Connection)

	last := func(f store.RunFilter) (*pageRun, error) {
		run, err := s.cfg.Store.LastRun(ctx, f)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return s.pageRun(run), nil
	}
	if o.LastGoodImport, err = last(store.RunFilter{Triggers: store.FullImports, State: shopsync.RunSucceeded}); err != nil {
		return nil, err
	}
	reconcile := []shopsync.Trigger{shopsync.TriggerReconcile}
	if o.LastSweep, err = last(store.RunFilter{Triggers: reconcile}); err != nil {
		return nil, err
	}
	catch, err := last(store.RunFilter{Triggers: reconcile, Changed: true})
	if err != nil {
		return nil, err
	}
	if catch != nil {
		if o.LastCatch, err = s.sweepCatch(ctx, catch); err != nil {
			return nil, err
		}
	}
	if err := s.fillCopy(ctx, o); err != nil {
		return nil, err
	}
	if err := s.fillWebhooks(ctx, &o.Webhooks, now); err != nil {
		return nil, err
	}
	return o, nil
}

func (s *Server) fillConnection(c *connection) {
	c.ConfiguredVersion = s.cfg.APIVersion
	if s.cfg.ClientStats == nil {
		return
	}
	cs := s.cfg.ClientStats()
	c.LastStatus, c.ServedVersion, c.TokenKind = cs.LastStatus, cs.ServedVersion, cs.TokenKind
	c.Requests, c.Throttled = cs.Requests, cs.Throttled
	if !cs.LastAt.IsZero() {
		t := cs.LastAt.UTC()
		c.LastCallAt = &t
	}
	c.OK = cs.LastStatus >= 200 && cs.LastStatus < 300
	if cs.LastStatus >= 400 {
		p := problem.ExplainText("shopify answered HTTP "+strconv.Itoa(cs.LastStatus), s.problemContext())
		p.Detail = ""
		c.Problem = &p
	}
}

func (s *Server) fillCopy(ctx context.Context, o *overview) error {
	c := &o.Copy
	c.Active = o.Contacts.Active
	count, ok, err := s.cfg.Store.CustomerCount(ctx)
	if err != nil {
		return err
	}
	if ok {
		c.Shopify = &countAt{Count: count.Count, CountedAt: count.CountedAt, Source: "count"}
	}
	// The last import's count, when newer.
	if li := o.LastImport; li != nil && li.Total > 0 && (c.Shopify == nil || li.StartedAt.After(c.Shopify.CountedAt)) {
		c.Shopify = &countAt{Count: li.Total, CountedAt: li.StartedAt, Source: "import"}
	}
	if c.Shopify != nil {
		c.Difference = c.Active - c.Shopify.Count
	}
	importing := o.Running && o.LastImport != nil && o.LastImport.State == shopsync.RunRunning
	switch {
	case importing:
		c.State = "importing"
	case o.LastGoodImport == nil && o.LastImport != nil && o.LastImport.State == shopsync.RunFailed:
		c.State = "import_failed"
	case o.LastGoodImport == nil:
		c.State = "no_import"
	case c.Shopify == nil:
		c.State = "unknown"
	case c.Difference == 0:
		c.State = "exact"
	default:
		c.State = "differs"
	}
	return nil
}

func (s *Server) fillWebhooks(ctx context.Context, wv *webhooksView, now time.Time) error {
	var err error
	wv.Since = now.Add(-24 * time.Hour)
	if wv.Deliveries, err = s.cfg.Store.DeliveryCounts(ctx, wv.Since); err != nil {
		return err
	}
	if wv.Deliveries == nil {
		wv.Deliveries = []store.DeliveryCount{}
	}
	for _, d := range wv.Deliveries {
		wv.Accepted += d.Count
	}
	if at, ok, err := s.cfg.Store.LastDelivery(ctx); err != nil {
		return err
	} else if ok {
		wv.LastDeliveryAt = &at
	}
	wv.RejectedByReason = []rejection{}
	if s.cfg.Rejections != nil {
		counts, err := s.cfg.Rejections.Counts(ctx, wv.Since)
		if err != nil {
			return err
		}
		for _, rc := range counts {
			what, fix, serious := problem.Rejection(rc.Reason)
			wv.RejectedByReason = append(wv.RejectedByReason, rejection{Reason: rc.Reason, Count: rc.Count, LastAt: rc.LastAt,
				What: what, Fix: fix, Serious: serious})
			wv.Rejected += rc.Count
		}
		wv.RejectedSinceStart = s.cfg.Rejections.Total()
	}
	wv.Subscriptions = SubscriptionState{State: "not_configured"}
	if s.cfg.Subscriptions != nil {
		wv.Subscriptions = s.cfg.Subscriptions()
	}
	if s.cfg.TestDeliveries != nil {
		if at := s.cfg.TestDeliveries.LastAt(); !at.IsZero() {
			at = at.UTC()
			wv.TestDeliveryAt = &at
		}
	}
	return nil
}

func (s *Server) sweepCatch(ctx context.Context, run *pageRun) (*sweepCatch, error) {
	cs, err := s.cfg.Store.RunContacts(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	sc := &sweepCatch{Run: run, Contacts: make([]caughtRecord, 0, len(cs)), Listed: len(cs) > 0}
	for _, c := range cs {
		name := strings.TrimSpace(deref(c.FirstName) + " " + deref(c.LastName))
		sc.Contacts = append(sc.Contacts, caughtRecord{ID: strconv.FormatInt(c.ShopifyID, 10), Name: name,
			Email: c.Email, Created: c.Created, Active: c.Active})
	}
	return sc, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// handleRuns is the run history, newest first: ?limit= (1 to 1000, 50),
// ?trigger= (import: every full import; or button, schedule, cli,
// reconcile), ?state=, and ?before= (a run id) for the next page, which
// next_before names while older runs match.
func (s *Server) handleRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.RunFilter{Limit: 50}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit: want 1 to 1000")
			return
		}
		f.Limit = n
	}
	switch t := q.Get("trigger"); t {
	case "", "all":
	case "import":
		f.Triggers = store.FullImports
	case string(shopsync.TriggerButton), string(shopsync.TriggerSchedule), string(shopsync.TriggerCLI), string(shopsync.TriggerReconcile):
		f.Triggers = []shopsync.Trigger{shopsync.Trigger(t)}
	default:
		writeError(w, http.StatusBadRequest, "trigger: want import, reconcile, button, schedule or cli")
		return
	}
	switch st := q.Get("state"); st {
	case "":
	case string(shopsync.RunRunning), string(shopsync.RunSucceeded), string(shopsync.RunFailed):
		f.State = shopsync.RunState(st)
	default:
		writeError(w, http.StatusBadRequest, "state: want running, succeeded or failed")
		return
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "before: want a run id")
			return
		}
		f.Before = n
	}
	runs, more, err := s.cfg.Store.RunsPage(r.Context(), f)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := make([]*pageRun, len(runs))
	for i, run := range runs {
		out[i] = s.pageRun(run)
	}
	body := map[string]any{"runs": out, "next_before": nil}
	if more {
		body["next_before"] = runs[len(runs)-1].ID
	}
	writeJSON(w, http.StatusOK, body)
}
