package focal

// Every function of the installed <focal/focal.h> is bound: cgo checks the
// types of each call against the header at build time, so what remains to
// check is that none is missing.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func headerPath() string {
	if prefix := os.Getenv("FOCAL_PREFIX"); prefix != "" {
		return filepath.Join(prefix, "include", "focal", "focal.h")
	}
	return filepath.Join("..", "..", "include", "focal", "focal.h")
}

func TestEveryHeaderFunctionIsBound(t *testing.T) {
	header, err := os.ReadFile(headerPath())
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(header), " ")
	code = regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(code, "")
	var functions []string
	for _, m := range regexp.MustCompile(`FOCAL_API[^;(]*?\b(focal_\w+)\s*\(`).FindAllStringSubmatch(code, -1) {
		functions = append(functions, m[1])
	}
	if len(functions) < 45 {
		t.Fatalf("only %d functions parsed from %s", len(functions), headerPath())
	}

	sources, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var binding strings.Builder
	for _, name := range sources {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		binding.Write(src)
	}
	for _, f := range functions {
		if !strings.Contains(binding.String(), "C."+f+"(") {
			t.Errorf("%s (in %s) is not called by the binding", f, headerPath())
		}
	}
}
