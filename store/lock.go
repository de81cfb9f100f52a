package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/shopsync/shopsync"
)

// LockSync takes the store's sync lock, so that only one run works on a
// store file at a time, even across processes. It is an flock(2) on a file
// beside the database: the kernel releases it when the process dies, so a
// killed run never leaves a stale lock. Call the returned func to release.
func (db *DB) LockSync() (release func(), err error) {
	f, err := os.OpenFile(db.path+".sync-lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sync lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, shopsync.ErrSyncRunning
		}
		return nil, fmt.Errorf("sync lock: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// SyncLocked reports whether some process holds the sync lock: whether a
// run marked running in the store is really going (a killed process
// leaves its run marked running until the next run starts).
func (db *DB) SyncLocked() bool {
	f, err := os.OpenFile(db.path+".sync-lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
