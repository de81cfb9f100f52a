// Package audience makes the store the audience source of a CRM: named
// segments (built in, or saved by the merchant), their counts and
// contacts, marketing lists that keep only the contacts a channel may
// reach, and exports of any of them as the CRM sees contacts (the
// mapping's projection). The CLI, the API and the page all go through a
// Service, so they answer alike.
package audience

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/marketing"
	"github.com/shopsync/shopsync/segment"
	"github.com/shopsync/shopsync/store"
)

// Options configure a Service.
type Options struct {
	// ExcludeDisabledAccounts leaves out of marketing lists the contacts
	// whose account state is disabled (marketing.exclude_disabled_accounts).
	ExcludeDisabledAccounts bool
	// Now is the clock relative dates and computed fields are taken
	// from; nil is time.Now.
	Now func() time.Time
}

// Service answers audience questions over one store, with one mapping.
type Service struct {
	db       *store.DB
	compiler *segment.Compiler
	proj     *mapping.Projection
	attrs    []string // the attributes the mapping keeps
	country  string   // mapping.default_country
	opts     Options
	builtins []segment.Builtin // those the mapping can run
	saved    *savedCache       // the saved segments, compiled, for InSegment (feed.go)
}

// New returns a Service over db for the mapper's attributes and the
// projection cfg describes.
func New(db *store.DB, mapper *mapping.Mapper, cfg mapping.ProjectionConfig, opts Options) (*Service, error) {
	compiler, err := segment.NewCompiler(mapper.AttributeTypes())
	if err != nil {
		return nil, err
	}
	proj, err := mapping.NewProjection(cfg, mapper.Attributes())
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{db: db, compiler: compiler, proj: proj, attrs: mapper.Attributes(),
		country: cfg.DefaultCountry, opts: opts, saved: &savedCache{}}
	for _, b := range segment.Builtins() {
		// A built-in naming an attribute the mapping does not keep
		// cannot run: it is left out.
		if _, err := compiler.Parse(b.Expr); err == nil {
			s.builtins = append(s.builtins, b)
		}
	}
	return s, nil
}

// Projection is how contacts look to the CRM.
func (s *Service) Projection() *mapping.Projection { return s.proj }

// Segment is a segment by name: built in, or saved.
type Segment struct {
	Name        string     `json:"name"`
	Query       string     `json:"query"`
	Builtin     bool       `json:"builtin"`
	Title       string     `json:"title,omitempty"`
	Description string     `json:"description,omitempty"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
}

// ErrNotFound is a segment name that is neither built in nor saved.
var ErrNotFound = errors.New("no such segment")

// NameError is a segment name that cannot be saved.
type NameError struct{ Name, Reason string }

func (e *NameError) Error() string { return fmt.Sprintf("segment name %q: %s", e.Name, e.Reason) }

// ErrBuiltin is a change asked of a built-in segment.
var ErrBuiltin = errors.New("built-in segments cannot be changed or deleted")

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Segments returns the built-in segments, then the saved ones by name.
func (s *Service) Segments(ctx context.Context) ([]Segment, error) {
	saved, err := s.db.SavedSegments(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Segment, 0, len(s.builtins)+len(saved))
	for _, b := range s.builtins {
		out = append(out, builtinSegment(b))
	}
	for _, ss := range saved {
		out = append(out, savedSegment(ss))
	}
	return out, nil
}

// Segment returns the segment called name; ErrNotFound when there is none.
func (s *Service) Segment(ctx context.Context, name string) (Segment, error) {
	for _, b := range s.builtins {
		if b.Name == name {
			return builtinSegment(b), nil
		}
	}
	ss, err := s.db.SavedSegment(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return Segment{}, fmt.Errorf("%w: %q (shopsync segments list shows them)", ErrNotFound, name)
	}
	if err != nil {
		return Segment{}, err
	}
	return savedSegment(ss), nil
}

func builtinSegment(b segment.Builtin) Segment {
	return Segment{Name: b.Name, Query: b.Expr, Builtin: true, Title: b.Title, Description: b.Description}
}

func savedSegment(ss store.SavedSegment) Segment {
	return Segment{Name: ss.Name, Query: ss.Query, CreatedAt: &ss.CreatedAt, UpdatedAt: &ss.UpdatedAt}
}

// Save saves query as the segment name: a new one, or with replace a new
// text for a saved one. The name is lower-case letters, digits, _ and -,
// and not a built-in's; the query must compile (its error is a
// *segment.Error pointing at the position).
func (s *Service) Save(ctx context.Context, name, query string, replace bool) error {
	if !nameRE.MatchString(name) {
		return &NameError{name, "use 1 to 64 lower-case letters, digits, _ and -, starting with a letter or digit"}
	}
	for _, b := range segment.Builtins() {
		if b.Name == name {
			return &NameError{name, "the name of a built-in segment"}
		}
	}
	if _, err := s.compiler.Parse(query); err != nil {
		return err
	}
	return s.db.SaveSegment(ctx, name, query, replace)
}

// Delete deletes the saved segment name.
func (s *Service) Delete(ctx context.Context, name string) error {
	for _, b := range segment.Builtins() {
		if b.Name == name {
			return ErrBuiltin
		}
	}
	err := s.db.DeleteSegment(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return err
}

// Check parses query; its error is a *segment.Error.
func (s *Service) Check(query string) error {
	_, err := s.compiler.Parse(query)
	return err
}

// Fields returns what segments can test.
func (s *Service) Fields() []segment.Field { return s.compiler.Fields() }

// filter compiles query ("" or "true": every contact) at now.
func (s *Service) filter(query string, now time.Time) (store.Filter, error) {
	if strings.TrimSpace(query) == "" {
		return store.Filter{}, nil
	}
	seg, err := s.compiler.Parse(query)
	if err != nil {
		return store.Filter{}, err
	}
	where, args := seg.SQL(now)
	return store.Filter{Where: where, Args: args, Index: seg.Index()}, nil
}

// Count counts the active contacts query picks.
func (s *Service) Count(ctx context.Context, query string) (int64, error) {
	f, err := s.filter(query, s.opts.Now())
	if err != nil {
		return 0, err
	}
	return s.db.CountContacts(ctx, f)
}

// Contacts returns up to limit active contacts query picks with an id
// above after, in id order.
func (s *Service) Contacts(ctx context.Context, query string, after int64, limit int) ([]*shopsync.Contact, error) {
	f, err := s.filter(query, s.opts.Now())
	if err != nil {
		return nil, err
	}
	return s.db.ContactsPage(ctx, f, after, limit)
}

// Project returns contact c as the CRM sees it.
func (s *Service) Project(c *shopsync.Contact) (mapping.Record, error) {
	return s.proj.Project(c, s.opts.Now())
}

// rule is the marketing rule of channel ch.
func (s *Service) rule(ch marketing.Channel) (marketing.Rule, error) {
	r := marketing.Rule{Channel: ch, DefaultCountry: s.country, ExcludeDisabledAccounts: s.opts.ExcludeDisabledAccounts}
	if err := r.Validate(s.attrs); err != nil {
		return r, err
	}
	return r, nil
}

// Preview is one contact before and after the mapping's projection.
type Preview struct {
	Contact *shopsync.Contact
	Record  mapping.Record
}

// Preview returns the contact with Shopify id id (0: the newest) and its
// record; store.ErrNotFound when there is none.
func (s *Service) Preview(ctx context.Context, id int64) (Preview, error) {
	var (
		c   *shopsync.Contact
		err error
	)
	if id != 0 {
		c, err = s.db.Contact(ctx, id)
	} else {
		c, err = s.db.NewestContact(ctx)
	}
	if err != nil {
		return Preview{}, err
	}
	r, err := s.Project(c)
	return Preview{Contact: c, Record: r}, err
}
