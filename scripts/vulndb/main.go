// Command vulndb builds a local Go vulnerability database, in the layout
// govulncheck reads with -db file:///path, from the golang.org/x/vulndb
// module that the module proxy serves: the public database
// (vuln.go.dev) need not be reachable, only the proxy.
//
// The module holds every report as OSV JSON in data/osv/<ID>.json.
// govulncheck's v1 layout (https://go.dev/security/vuln/database#api)
// wants those entries under ID/ and an index:
//
//	index/db.json       {"modified": time of the newest entry}
//	index/modules.json  [{"path": module, "vulns": [{"id", "modified"}]}]
//	index/vulns.json    [{"id", "modified", "aliases"}]
//	ID/<ID>.json        the OSV entry, as it is
//
// The index leaves out each vuln's "fixed" version, an optimisation that
// lets govulncheck skip reading entries fixed before the version in use:
// without it every entry of a module in use is read, and govulncheck
// checks its affected ranges itself. The module's entries carry no
// modification time (the public database takes it from git history), so
// the module version's time stands in.
//
// Usage, with the output of go mod download -json on stdin:
//
//	go mod download -json golang.org/x/vulndb@latest | go run ./scripts/vulndb -out bin/vulndb
//
// A database already built from the same module version is kept.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	out := flag.String("out", "", "directory to write the database to (required)")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go mod download -json golang.org/x/vulndb@latest | vulndb -out DIR")
		os.Exit(2)
	}
	if err := run(os.Stdin, *out); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

// module is what go mod download -json says about the vulndb module.
type module struct {
	Path, Version, Dir, Info, Error string
}

// entry is the part of an OSV entry the index needs.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}

type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vulnMeta struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

const stampFile = "VERSION" // the vulndb module version the database was built from

func run(stdin io.Reader, out string) error {
	var mod module
	if err := json.NewDecoder(stdin).Decode(&mod); err != nil {
		return fmt.Errorf("read go mod download -json output: %w", err)
	}
	if mod.Error != "" {
		return errors.New(mod.Error)
	}
	if b, err := os.ReadFile(filepath.Join(out, stampFile)); err == nil && strings.TrimSpace(string(b)) == mod.Version {
		fmt.Printf("vulndb: %s is up to date (%s)\n", out, mod.Version)
		return nil
	}
	var info struct{ Time time.Time }
	if b, err := os.ReadFile(mod.Info); err != nil {
		return fmt.Errorf("module info: %w", err)
	} else if err := json.Unmarshal(b, &info); err != nil {
		return fmt.Errorf("module info %s: %w", mod.Info, err)
	}

	// Build beside out, then swap, so that a cut build leaves no half
	// database behind.
	tmp := out + ".new"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "ID"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "index"), 0o755); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(mod.Dir, "data", "osv", "*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no OSV entries in %s", filepath.Join(mod.Dir, "data", "osv"))
	}
	modules := map[string]*moduleMeta{}
	var vulns []vulnMeta
	newest := info.Time
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if e.ID+".json" != filepath.Base(f) {
			return fmt.Errorf("%s: holds entry %q", f, e.ID)
		}
		if e.Modified.IsZero() || e.Modified.Year() < 2000 {
			e.Modified = info.Time
		}
		if e.Modified.After(newest) {
			newest = e.Modified
		}
		if err := os.WriteFile(filepath.Join(tmp, "ID", e.ID+".json"), b, 0o644); err != nil {
			return err
		}
		vulns = append(vulns, vulnMeta{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		seen := map[string]bool{}
		for _, a := range e.Affected {
			path := a.Package.Name
			if path == "" || seen[path] {
				continue
			}
			seen[path] = true
			m := modules[path]
			if m == nil {
				m = &moduleMeta{Path: path}
				modules[path] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified})
		}
	}
	list := make([]*moduleMeta, 0, len(modules))
	for _, m := range modules {
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	sort.Slice(vulns, func(i, j int) bool { return vulns[i].ID < vulns[j].ID })
	for name, v := range map[string]any{
		"db.json":      map[string]time.Time{"modified": newest},
		"modules.json": list,
		"vulns.json":   vulns,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, "index", name), b, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, stampFile), []byte(mod.Version+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Printf("vulndb: %d entries for %d modules from %s@%s in %s\n", len(vulns), len(list), mod.Path, mod.Version, out)
	return nil
}
