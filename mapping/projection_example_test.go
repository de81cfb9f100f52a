package mapping_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/viper"

	"github.com/shopsync/shopsync/mapping"
)

// exampleMapping reads config.example.yaml through viper, as cmd does,
// with the commented SmartPush example used as the file says (the keys
// it sets deleted above, its lines uncommented) when smartPush is set.
// (viper stays in cmd/ otherwise: this test checks the documented YAML.)
func exampleMapping(t *testing.T, smartPush bool) mapping.ProjectionConfig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if smartPush {
		var out []string
		in := false
		for _, line := range strings.Split(text, "\n") {
			switch {
			case strings.HasPrefix(line, "  # --- SmartPush-style example"):
				in = true
				continue
			case strings.HasPrefix(line, "  # --- end of the example"):
				in = false
			case in:
				line = "  " + strings.TrimPrefix(strings.TrimPrefix(line, "  #"), " ")
			case line == `  prefix: ""`, line == `  default_country: ""`, line == `  fields: []`:
				continue // as the file says: deleted, for the example's own
			}
			out = append(out, line)
		}
		text = strings.Join(out, "\n")
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(strings.NewReader(text)); err != nil {
		t.Fatalf("config.example.yaml: %v\n%s", err, text)
	}
	var cfg mapping.ProjectionConfig
	if err := v.UnmarshalKey("mapping", &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestConfigExample: the documented SmartPush example is valid YAML that
// decodes to the mapping the tests use, and the file's own mapping is
// the default projection.
func TestConfigExample(t *testing.T) {
	kept := newMapper(t, mapping.Config{}).Attributes()
	plain := exampleMapping(t, false)
	if len(plain.Fields) != 0 || plain.Prefix != "" {
		t.Errorf("config.example.yaml maps %+v, want the default", plain)
	}
	sp := exampleMapping(t, true)
	if diff := cmp.Diff(sp, smartPush()); diff != "" {
		t.Errorf("the example (-yaml +smartPush()):\n%s", diff)
	}
	if err := sp.Validate(kept); err != nil {
		t.Error(err)
	}
}
