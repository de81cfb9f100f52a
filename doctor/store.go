package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

func checkStoreFile(path string) Check {
	c := Check{ID: "store_file", Name: "Store file"}
	if path == "" {
		c.Status, c.Summary, c.Fix = Fail, "store.path is not set.", "Set store.path to the SQLite file to keep contacts in."
		return c
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if dirWritable(filepath.Dir(path)) {
			c.Status, c.Summary = OK, fmt.Sprintf("%s does not exist yet: the first sync creates it.", path)
			return c
		}
		c.Status = Fail
		c.Summary = fmt.Sprintf("%s does not exist, and its folder cannot be written by this user.", path)
		c.Fix = "Create the folder and give the user that runs shopsync write access to it (the systemd unit in deploy/ uses StateDirectory for this)."
		return c
	}
	if err != nil {
		c.Status, c.Summary, c.Detail = Fail, "Cannot read "+path+".", err.Error()
		c.Fix = "Give the user that runs shopsync access to store.path and its folder."
		return c
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		c.Status, c.Summary, c.Detail = Fail, path+" cannot be written by this user.", err.Error()
		c.Fix = "Give the user that runs shopsync write access to store.path and its folder (SQLite writes files beside it)."
		return c
	}
	f.Close()
	if !dirWritable(filepath.Dir(path)) {
		c.Status = Fail
		c.Summary = "The folder of " + path + " cannot be written: SQLite keeps its write-ahead log beside the store."
		c.Fix = "Give the user that runs shopsync write access to the folder."
		return c
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		c.Status = Warn
		c.Summary = fmt.Sprintf("%s (%s) can be read by other users of this machine; it holds customers' personal data.", path, sizeWords(fi.Size()))
		c.Fix = fmt.Sprintf("chmod 600 %s %s-wal %s-shm (and chmod 700 its folder).", path, path, path)
		return c
	}
	c.Status, c.Summary = OK, fmt.Sprintf("%s (%s) is readable and writable by this user only.", path, sizeWords(fi.Size()))
	return c
}

func dirWritable(dir string) bool {
	return unix.Access(dir, unix.W_OK|unix.X_OK) == nil
}

// Free space limits: the store grows, and a checkpoint needs room for the
// write-ahead log beside it.
const (
	minFree  = 64 << 20
	warnFree = 512 << 20
)

// freeSpace returns the bytes an unprivileged user may still write on
// the file system holding dir.
func freeSpace(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * st.Bsize, nil
}

func checkDisk(path string, freeSpace func(string) (int64, error)) Check {
	c := Check{ID: "disk", Name: "Free disk space"}
	if path == "" {
		c.Status, c.Summary = Skip, "store.path is not set."
		return c
	}
	dir := filepath.Dir(path)
	free, err := freeSpace(dir)
	if err != nil {
		c.Status, c.Summary, c.Detail = Warn, "Could not read the free space of "+dir+".", err.Error()
		return c
	}
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	need := max(int64(minFree), size) // the store may double while an import rewrites it
	switch {
	case free < need:
		c.Status = Fail
		c.Summary = fmt.Sprintf("Only %s free where the store is (%s): too little to sync safely.", sizeWords(free), dir)
		c.Fix = fmt.Sprintf("Free at least %s on that disk, or move store.path to a larger one.", sizeWords(need))
	case free < max(int64(warnFree), 4*size):
		c.Status = Warn
		c.Summary = fmt.Sprintf("%s free where the store is (%s).", sizeWords(free), dir)
		c.Fix = "Keep an eye on it: a full disk stops syncs (nothing stored is lost)."
	default:
		c.Status, c.Summary = OK, fmt.Sprintf("%s free where the store is.", sizeWords(free))
	}
	return c
}

func sizeWords(n int64) string {
	switch {
	case n >= 10<<30:
		return fmt.Sprintf("%d GB", n>>30)
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 10<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KB", (n+1023)>>10)
}
