package main

import (
	"github.com/shopsync/shopsync/store"
	ssync "github.com/shopsync/shopsync/sync"
	"github.com/shopsync/shopsync/webhook"
)

// The store is what the sync runs and the webhook receiver need of one:
// they declare it as small interfaces of the root package's types, and
// only the wiring knows it is a *store.DB.
var (
	_ ssync.Store       = (*store.DB)(nil)
	_ ssync.ChangeStore = (*store.DB)(nil)
	_ ssync.BulkStore   = (*store.DB)(nil)
	_ webhook.Applier   = (*store.DB)(nil)
)
