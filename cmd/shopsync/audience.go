package main

import (
	"github.com/shopsync/shopsync/audience"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/store"
)

// newAudience is the audience service of the configuration over db.
func newAudience(cfg Config, db *store.DB) (*audience.Service, error) {
	mapper, err := mapping.New(cfg.Mapping)
	if err != nil {
		return nil, err
	}
	return audience.New(db, mapper, cfg.Mapping.ProjectionConfig,
		audience.Options{ExcludeDisabledAccounts: cfg.Marketing.ExcludeDisabledAccounts})
}
