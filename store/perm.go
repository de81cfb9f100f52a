package store

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// storeFileMode is the mode of a new store file: the owner alone reads
// and writes it. SQLite gives the -wal and -shm files it creates beside
// the database the database's mode, so they are private too.
const storeFileMode = 0o600

// PermissionError says that users other than the owner can read or
// write store files, and how to fix it.
type PermissionError struct {
	Files []string      // the store's files as found, the database first
	Modes []fs.FileMode // their permissions
}

func (e *PermissionError) Error() string {
	var bad []string
	for i, f := range e.Files {
		if e.Modes[i]&0o066 != 0 {
			bad = append(bad, fmt.Sprintf("%s (%#o)", f, e.Modes[i]))
		}
	}
	return fmt.Sprintf("%s can be read or written by group or others: they hold the shop's customers; run chmod 600 %s",
		strings.Join(bad, ", "), strings.Join(e.Files, " "))
}

// checkPermissions returns a *PermissionError when group or others may
// read or write the store at path or its side files. A file it cannot
// stat is left out: SQLite has opened them, and this is a warning.
func checkPermissions(path string) *PermissionError {
	perr := &PermissionError{}
	bad := false
	for _, name := range append([]string{path}, sidePaths(path)...) {
		fi, err := os.Stat(name)
		if err != nil {
			continue
		}
		perr.Files, perr.Modes = append(perr.Files, name), append(perr.Modes, fi.Mode().Perm())
		bad = bad || fi.Mode().Perm()&0o066 != 0
	}
	if !bad {
		return nil
	}
	return perr
}

// sidePaths are the files SQLite keeps beside the database at path in
// WAL mode; the -wal holds recent changes, contacts included.
func sidePaths(path string) []string {
	return []string{path + "-wal", path + "-shm"}
}

// PermissionProblem returns what Open found wrong with the permissions of
// the store's files (a *PermissionError), or nil. Open does not fail on
// it: the caller warns, with the fix.
func (db *DB) PermissionProblem() error { return db.permProblem }
