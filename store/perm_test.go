package store_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/store"
)

// withUmask runs the test under umask, the usual 022 by default.
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

// TestNewStoreFilesPrivate: under umask 022 a new store, its -wal and
// -shm, and its sync lock are readable by their owner alone.
func TestNewStoreFilesPrivate(t *testing.T) {
	withUmask(t, 0o022)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shopsync.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, err := db.BeginRun(ctx, shopsync.TriggerCLI); err != nil { // a write: the WAL has frames
		t.Fatal(err)
	}
	release, err := db.LockSync()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for _, name := range []string{path, path + "-wal", path + "-shm", path + ".sync-lock"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode %#o, want 0600", filepath.Base(name), got)
		}
	}
	if err := db.PermissionProblem(); err != nil {
		t.Errorf("new store: %v", err)
	}
}

// TestOpenFlagsReadableStore: a store an older release left 0644 opens,
// and PermissionProblem names the files and the fix.
func TestOpenFlagsReadableStore(t *testing.T) {
	withUmask(t, 0o022)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shopsync.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	problem := db.PermissionProblem()
	var perr *store.PermissionError
	if !errors.As(problem, &perr) {
		t.Fatalf("PermissionProblem() = %v, want a *store.PermissionError", problem)
	}
	if perr.Files[0] != path || perr.Modes[0] != fs.FileMode(0o644) {
		t.Errorf("got files %v modes %v", perr.Files, perr.Modes)
	}
	for _, want := range []string{path + " (0644)", "chmod 600 " + path, path + "-wal"} {
		if !strings.Contains(problem.Error(), want) {
			t.Errorf("%q lacks %q", problem, want)
		}
	}
}
