package server_test

import (
	"bufio"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/kepu/kepu/internal/apptest"
)

// openapiFile is docs/openapi.yaml, relative to this package.
const openapiFile = "../../docs/openapi.yaml"

var (
	specPath   = regexp.MustCompile(`^  (/\S*):\s*(#.*)?$`)
	specMethod = regexp.MustCompile(`^    (get|put|post|delete|patch|options|head|trace):\s*(#.*)?$`)
	specParam  = regexp.MustCompile(`\{(\w+)\}`)
)

// documentedRoutes reads "METHOD /path/:param" for every operation under
// `paths:` of the OpenAPI file. The file keeps the simple layout its header
// describes (two-space path lines, four-space method lines), so no YAML
// library is needed.
func documentedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(openapiFile)
	if err != nil {
		t.Fatalf("open %s: %v", openapiFile, err)
	}
	defer f.Close()
	out := map[string]bool{}
	inPaths, path := false, ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case !inPaths || strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
		case !strings.HasPrefix(line, " "):
			inPaths = false // the next top-level key
		case specPath.MatchString(line):
			path = specParam.ReplaceAllString(specPath.FindStringSubmatch(line)[1], ":$1")
		case specMethod.MatchString(line):
			if path == "" {
				t.Fatalf("%s:%d: method outside a path", openapiFile, n)
			}
			route := strings.ToUpper(specMethod.FindStringSubmatch(line)[1]) + " " + path
			if out[route] {
				t.Errorf("%s:%d: %s documented twice", openapiFile, n, route)
			}
			out[route] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenAPIMatchesRoutes fails when a route under /api/v1 is registered
// but not documented in docs/openapi.yaml, or documented but not registered.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	doc := documentedRoutes(t)
	if len(doc) == 0 {
		t.Fatalf("no operations found under paths: in %s", openapiFile)
	}
	inst := apptest.Start(t, apptest.Options{NoSeed: true})
	registered := map[string]bool{}
	for _, r := range inst.App.Server.App.GetRoutes(true) {
		if r.Method == "HEAD" || !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		registered[r.Method+" "+r.Path] = true
	}
	var missing, stale []string
	for r := range registered {
		if !doc[r] {
			missing = append(missing, r)
		}
	}
	for r := range doc {
		if !registered[r] {
			stale = append(stale, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	for _, r := range missing {
		t.Errorf("route %s is registered but not documented in docs/openapi.yaml", r)
	}
	for _, r := range stale {
		t.Errorf("route %s is documented in docs/openapi.yaml but not registered", r)
	}
}

// The spec declares OpenAPI 3.1 and the one error shape.
func TestOpenAPIErrorShape(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(openapiFile)
	if err != nil {
		t.Fatal(err)
	}
	spec := string(b)
	for _, want := range []string{"openapi: 3.1", "    Error:", "code:", "message:", "field:", "request_id:"} {
		if !strings.Contains(spec, want) {
			t.Errorf("%s lacks %q", openapiFile, want)
		}
	}
}
